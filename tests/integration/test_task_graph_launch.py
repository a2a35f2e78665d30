"""The main graph test (test_task_graph.py) as a launch_pytest test: the same five nodes, started by
`launch` as `launch_ros.actions.Node`s (package + executable, as `ros2 run` finds them), run an
ExecuteTask for the robot's task with a tiny model: the failure is detected, stored before learning
starts and published, the learner publishes a new version, the planner serves it, the task ends
with a result, and no node exits on the way.

launch, launch_ros and launch_pytest exist on a full ROS 2 distro only (PyPI has none of them), so
this module skips as a whole where launch_pytest or launch_ros is not importable, as in the pip-only
workspace. Written against the Humble API (unchanged through Kilted): `@launch_pytest.fixture`
returning a `LaunchDescription` with a `launch_pytest.actions.ReadyToTest()`, tests marked
`@pytest.mark.launch(fixture=...)` (a plain function runs in a worker thread while the launch
service runs), `RegisterEventHandler(OnProcessExit(on_exit=...))` for every process.
The launch service shuts every process down when the test ends, passed or failed (SIGINT, then
SIGTERM and SIGKILL if one does not stop).
"""

from __future__ import annotations

import time

import pytest

launch_pytest = pytest.importorskip("launch_pytest", reason="launch_pytest is not importable (a ROS 2 distro has it)")
pytest.importorskip("launch_ros", reason="launch_ros is not importable (a ROS 2 distro has it)")

from action_msgs.msg import GoalStatus  # noqa: E402
from graph_nodes import SMALL_LEARNER, tiny_store  # noqa: E402
from launch import LaunchDescription  # noqa: E402  (the real package, which launch_pytest imported already)
from launch.actions import RegisterEventHandler  # noqa: E402
from launch.event_handlers import OnProcessExit  # noqa: E402
from launch_pytest.actions import ReadyToTest  # noqa: E402
from launch_ros.actions import Node  # noqa: E402

from f2p_bringup.launch_actions import _typed_parameters  # noqa: E402
from f2p_model.store import ModelStore  # noqa: E402
from f2p_msgs.action import ExecuteTask, PlanTask  # noqa: E402
from f2p_msgs.msg import FailureEvent, ModelVersion, SegmentedScene, Task  # noqa: E402
from f2p_ros import names  # noqa: E402
from f2p_ros.convert import step_to_msg, task_from_msg  # noqa: E402
from f2p_ros.qos import topic_qos  # noqa: E402


def graph_nodes(tmp_path) -> list[tuple[str, str, dict]]:
    """(package, executable, parameters) of each node, as test_task_graph.start_graph starts them."""
    models, failures = str(tmp_path / "models"), str(tmp_path / "failures")
    return [
        ("f2p_robot", "sim_robot", {"task": "organize", "n_objects": 3, "seed": 1, "real": True, "n_points": 64}),
        ("f2p_perception", "perception", {"backend": "sim_gt", "n_points": 16}),
        ("f2p_planner", "planner", {"model_store": models, "num_samples": 16, "threads": 1}),
        ("f2p_monitor", "monitor", {"failures_dir": failures, "n_points": 16, "max_replans": 2, "relations": "goal",
                                    "observed_relations": "sim_gt"}),
        ("f2p_learner", "learner", {"model_store": models, "failures_dir": failures,
                                    "work_dir": str(tmp_path / "learn"), "min_failure_accuracy": 0.0,
                                    **SMALL_LEARNER}),
    ]


class ProcessExits:
    """Processes of the launch that exited, for the waits to fail at once (the `procs` of graph_nodes)."""

    def __init__(self) -> None:
        self.exits: list[tuple[str, int]] = []

    def on_exit(self, event, _context) -> None:
        self.exits.append((event.process_name, event.returncode))  # launch.events.process.ProcessExited

    def check_alive(self) -> None:
        if self.exits:
            raise AssertionError(f"node process(es) exited during the test (name, return code): {self.exits}")


@pytest.fixture
def exits() -> ProcessExits:
    return ProcessExits()


@launch_pytest.fixture
def sim_graph(tmp_path, ros_domain, exits):
    """The simulation graph with a tiny model in a tmp store, in the test's private DDS domain."""
    tiny_store(tmp_path / "models")  # the planner needs a validated model when it starts
    env = {"ROS_DOMAIN_ID": str(ros_domain), "PYTHONUNBUFFERED": "1", "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
    nodes = [Node(package=package, executable=executable, parameters=_typed_parameters([params]),
                  additional_env=env, output="screen", cwd=str(tmp_path))
             for package, executable, params in graph_nodes(tmp_path)]
    return LaunchDescription([
        RegisterEventHandler(OnProcessExit(on_exit=exits.on_exit)),  # every process (no target_action)
        *nodes,
        ReadyToTest(),  # fires once the processes are started; the test waits for their servers itself
    ])


@pytest.mark.launch(fixture=sim_graph)
def test_a_launched_graph_fails_learns_and_ends_with_a_result(ros, tmp_path, exits):
    run_main_task(ros, exits, tmp_path)


def run_main_task(ros, nodes, tmp_path) -> None:
    """The main graph test's checks over ROS only (no node logs here): `nodes.check_alive()` raises
    once a node process has exited."""
    t0 = time.monotonic()
    v1 = ModelStore(tmp_path / "models").latest()
    seen: dict = {"task": None, "scene": None, "failures": [], "versions": []}
    ros.node.create_subscription(Task, names.SIM_TASK_TOPIC, lambda m: seen.__setitem__("task", m),
                                 topic_qos(names.SIM_TASK_TOPIC))
    ros.node.create_subscription(SegmentedScene, names.SCENE_TOPIC,
                                 lambda m: seen["scene"] is None and seen.__setitem__("scene", m),
                                 topic_qos(names.SCENE_TOPIC))
    ros.node.create_subscription(FailureEvent, names.FAILURES_TOPIC, seen["failures"].append,
                                 topic_qos(names.FAILURES_TOPIC))
    ros.node.create_subscription(ModelVersion, names.MODEL_VERSION_TOPIC, seen["versions"].append,
                                 topic_qos(names.MODEL_VERSION_TOPIC))
    task = task_from_msg(ros.wait(lambda: seen["task"], 60, "the sampled task", nodes))
    first_scene = ros.wait(lambda: seen["scene"], 30, "the first scene from perception", nodes)

    events = tmp_path / "failures" / "events"
    stored_when_learning: dict[str, bool] = {}
    feedback: list = []

    def on_feedback(msg) -> None:
        fb = msg.feedback
        feedback.append(fb)
        if fb.stage == "learning" and seen["failures"]:
            event_id = seen["failures"][-1].event_id
            stored_when_learning.setdefault(event_id, (events / event_id / "event.json").is_file())

    client = ros.action(ExecuteTask, names.EXECUTE_TASK_ACTION)
    skeleton = [step_to_msg(s) for s in task.skeleton]
    goal = ExecuteTask.Goal(task_id="launch-graph-test", goal=task.goal, skeleton=skeleton,
                            learn_from_failures=True, max_replans=2)
    handle = ros.send(client, goal, timeout_s=60, feedback=on_feedback, procs=nodes)
    assert handle.accepted
    response = ros.result(handle, 80 - (time.monotonic() - t0), nodes)
    result = response.result
    assert response.status == (GoalStatus.STATUS_SUCCEEDED if result.success else GoalStatus.STATUS_ABORTED)
    assert result.success or result.error

    # a failure was detected, stored, published, and stored before learning started
    assert result.num_failures >= 1 and len(result.failure_event_ids) == result.num_failures
    assert sorted(p.name for p in events.iterdir()) == sorted(result.failure_event_ids)
    ros.wait(lambda: len(seen["failures"]) >= result.num_failures, 5, "every failure on /f2p/failures", nodes)
    assert [f.event_id for f in seen["failures"]] == list(result.failure_event_ids)
    stages = [f.stage for f in feedback]
    assert stages[0] == "planning" and "executing" in stages
    learned = [f for f in seen["failures"] if f.classification == FailureEvent.CLASS_INCORRECT_PREDICTION]
    if learned:  # learning was triggered: the event was on disk first, a version was published and served
        assert "learning" in stages and stored_when_learning and all(stored_when_learning.values())
        ros.wait(lambda: seen["versions"] and seen["versions"][-1].version != v1, 10, "a new model version", nodes)
        new = seen["versions"][-1].version
        assert result.final_model_version == new
        planner = ros.action(PlanTask, names.PLAN_TASK_ACTION)  # the planner hot-swapped: its plans say so
        plan = ros.result(ros.send(planner, PlanTask.Goal(scene=first_scene, goal=task.goal, skeleton=skeleton,
                                                          num_samples=16), procs=nodes), 30, nodes)
        assert plan.result.success and plan.result.plan.model_version == new, plan.result.error
    else:
        assert result.final_model_version == v1
    nodes.check_alive()
    node_names = set(ros.node.get_node_names())
    assert {"sim_robot", "perception", "planner", "monitor", "learner"} <= node_names, node_names
    assert time.monotonic() - t0 < 90
