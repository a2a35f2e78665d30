"""Bad goals against the whole simulation graph as installed (sim_robot, perception, planner, monitor,
learner; tiny model): each ends aborted (or unsuccessful) with an error that names the problem, no
node crashes or hangs on it, and a valid task still runs to a result afterwards.

ExecuteTask (monitor): an object the scene does not have in the skeleton, an empty skeleton, a skill
type that does not exist, a relation that does not exist in the goal, an unknown object in the goal.
The monitor does not read a skeleton's parameters (ExecuteTask.action: "skill types and object ids";
PlanTask ignores them too), so NaN parameters are sent where they are read: an ExecuteSkill goal to
the robot node, and NaN in a PlanTask goal's scene (a segment's box, a segment's cloud) to the planner.
"""

from __future__ import annotations

import copy
import math
import struct
import time

from action_msgs.msg import GoalStatus
from graph_nodes import SMALL_LEARNER, tiny_store

from f2p_core.skills import PARAM_NAMES, SkillType
from f2p_msgs.action import ExecuteSkill, ExecuteTask, PlanTask
from f2p_msgs.msg import SegmentedScene, Skill, Task
from f2p_ros import names
from f2p_ros.convert import step_to_msg, task_from_msg
from f2p_ros.qos import topic_qos

NODES = ("sim_robot", "perception", "planner", "monitor", "learner")


def start_graph(procs, tmp_path) -> None:
    """As test_task_graph.start_graph, learner included."""
    models, failures = tmp_path / "models", tmp_path / "failures"
    procs.start("f2p_robot", "sim_robot", task="organize", n_objects=3, seed=1, real=True, n_points=64)
    procs.start("f2p_perception", "perception", backend="sim_gt", n_points=16)
    procs.start("f2p_planner", "planner", model_store=models, num_samples=16, threads=1)
    procs.start("f2p_monitor", "monitor", failures_dir=failures, n_points=16, max_replans=2, relations="goal",
                observed_relations="sim_gt")
    procs.start("f2p_learner", "learner", model_store=models, failures_dir=failures, work_dir=tmp_path / "learn",
                min_failure_accuracy=0.0, **SMALL_LEARNER)


def expect_aborted(ros, procs, client, goal, match: str, timeout_s: float = 60.0):
    handle = ros.send(client, goal, timeout_s=timeout_s, procs=procs)
    assert handle.accepted, f"the goal expected to fail with '{match}' was rejected, not aborted"
    response = ros.result(handle, timeout_s, procs)
    assert response.status == GoalStatus.STATUS_ABORTED, (response.status, response.result.error)
    assert not response.result.success
    assert match in response.result.error, f"'{match}' not in the error: {response.result.error!r}"
    procs.check_alive()
    return response


def test_bad_goals_are_aborted_with_a_message_every_node_stays_up_and_a_valid_goal_works(procs, ros, tmp_path):
    t0 = time.monotonic()
    (v1,) = tiny_store(tmp_path / "models")
    start_graph(procs, tmp_path)
    seen: dict = {"task": [], "scene": []}
    ros.node.create_subscription(Task, names.SIM_TASK_TOPIC, seen["task"].append, topic_qos(names.SIM_TASK_TOPIC))
    ros.node.create_subscription(SegmentedScene, names.SCENE_TOPIC, seen["scene"].append,
                                 topic_qos(names.SCENE_TOPIC))
    task = task_from_msg(ros.wait(lambda: seen["task"], 60, "the sampled task", procs)[-1])
    skeleton = [step_to_msg(s) for s in task.skeleton]
    objects = {o for s in task.skeleton for o in s.object_ids}
    assert "ghost_9" not in objects

    # --- ExecuteTask goals the monitor must refuse ---------------------------------------------
    monitor = ros.action(ExecuteTask, names.EXECUTE_TASK_ACTION)
    ghost_step = copy.deepcopy(skeleton)
    ghost_step[0].object_ids[0] = "ghost_9"  # a skeleton step acting on an object the scene lacks
    teleport = copy.deepcopy(skeleton)
    teleport[0].type = "teleport"
    for goal, skel, match in ((task.goal, ghost_step, "ghost_9"),
                              (task.goal, [], "empty skeleton"),
                              (task.goal, teleport, "teleport"),
                              ("hovers(container_1, table_B)", skeleton, "hovers"),
                              ("on(ghost_1, table_B)", skeleton, "ghost_1")):
        response = expect_aborted(ros, procs, monitor, ExecuteTask.Goal(task_id="bad", goal=goal, skeleton=skel,
                                                                         learn_from_failures=True), match)
        assert response.result.num_failures == 0 and not response.result.failure_event_ids
    assert not (tmp_path / "failures" / "events").exists() or not any((tmp_path / "failures" / "events").iterdir())

    # --- NaN skill parameters, where they are read: ExecuteSkill on the robot ------------------
    robot = ros.action(ExecuteSkill, names.EXECUTE_SKILL_ACTION)
    step = task.skeleton[0]
    kind = SkillType(step.type)
    nan_skill = Skill(type=kind.value, object_ids=list(step.object_ids),
                      parameters=[math.nan] + [0.0] * (len(PARAM_NAMES[kind]) - 1),
                      parameter_names=list(PARAM_NAMES[kind]))
    response = expect_aborted(ros, procs, robot, ExecuteSkill.Goal(skill=nan_skill), "non-finite")
    assert response.result.status == ExecuteSkill.Result.STATUS_INVALID
    wrong_count = Skill(type=kind.value, object_ids=list(step.object_ids), parameters=[0.1])
    response = expect_aborted(ros, procs, robot, ExecuteSkill.Goal(skill=wrong_count), "parameters")
    assert response.result.status == ExecuteSkill.Result.STATUS_INVALID
    ghost_skill = Skill(type=kind.value, object_ids=["ghost_9", *step.object_ids[1:]],
                        parameters=[0.0] * len(PARAM_NAMES[kind]))
    response = expect_aborted(ros, procs, robot, ExecuteSkill.Goal(skill=ghost_skill), "ghost_9")
    assert response.result.status == ExecuteSkill.Result.STATUS_INVALID

    # --- NaN in a PlanTask goal's scene, to the planner ----------------------------------------
    planner = ros.action(PlanTask, names.PLAN_TASK_ACTION)
    scene = ros.wait(lambda: seen["scene"], 30, "a scene from perception", procs)[-1]
    visible = [i for i, seg in enumerate(scene.segments) if seg.cloud.width > 0]
    assert visible, "perception sent a scene without visible segments"
    nan_box = copy.deepcopy(scene)
    nan_box.segments[visible[0]].bbox_pose.position.x = math.nan
    nan_cloud = copy.deepcopy(scene)
    cloud = nan_cloud.segments[visible[0]].cloud
    data = bytearray(bytes(cloud.data))
    x = next(f for f in cloud.fields if f.name == "x")
    struct.pack_into(">f" if cloud.is_bigendian else "<f", data, x.offset, math.nan)  # the first point's x
    cloud.data = bytes(data)
    for bad_scene, match in ((nan_box, "must be finite"), (nan_cloud, "non-finite")):
        goal = PlanTask.Goal(scene=bad_scene, goal=task.goal, skeleton=skeleton, num_samples=16)
        response = expect_aborted(ros, procs, planner, goal, match)
        assert scene.segments[visible[0]].id in response.result.error, response.result.error

    # --- every node is still up, and a valid task runs to a result -----------------------------
    procs.check_alive()
    ros.wait(lambda: set(NODES) <= set(ros.node.get_node_names()), 10, "every node in the ROS graph", procs)
    feedback: list = []
    handle = ros.send(monitor, ExecuteTask.Goal(task_id="valid", goal=task.goal, skeleton=skeleton,
                                                learn_from_failures=False, max_replans=1),
                      timeout_s=30, feedback=lambda m: feedback.append(m.feedback), procs=procs)
    assert handle.accepted
    response = ros.result(handle, 85 - (time.monotonic() - t0), procs)
    result = response.result
    assert response.status == (GoalStatus.STATUS_SUCCEEDED if result.success else GoalStatus.STATUS_ABORTED)
    assert result.success or result.error.startswith("goal not reached"), result.error
    stages = [f.stage for f in feedback]
    assert stages and stages[0] == "planning" and "executing" in stages
    assert result.final_model_version == v1 and len(result.final_state.relations) > 0
    procs.check_alive()
    assert time.monotonic() - t0 < 90
