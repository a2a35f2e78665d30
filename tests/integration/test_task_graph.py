"""The whole simulation graph as installed (sim_robot, perception, planner, monitor, learner) with a
tiny model: an ExecuteTask for the robot's task detects a failure, stores the event on disk before
learning starts, publishes it, has the learner learn from it, the new version reaches the planner,
and the task ends with a result, while the recorder (`f2p bringup --record`) writes every topic to
an MCAP bag whose messages all decode with the bag's own definitions and whose counts are those
this test received; a malformed task is aborted with a message and every node stays up.
"""

from __future__ import annotations

import time

from action_msgs.msg import GoalStatus
from graph_nodes import SMALL_LEARNER, tiny_store
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image
from visualization_msgs.msg import MarkerArray

from f2p_msgs.action import ExecuteTask
from f2p_msgs.msg import FailureEvent, ModelVersion, Task
from f2p_ros import names
from f2p_ros.bag import bag_info, read_bag
from f2p_ros.convert import stamp_key, step_to_msg, task_from_msg
from f2p_ros.qos import topic_qos
from f2p_ros.recorder import discovered_line, message_class, recording_qos


def start_graph(procs, tmp_path, learn: bool = True) -> None:
    models, failures = tmp_path / "models", tmp_path / "failures"
    procs.start("f2p_robot", "sim_robot", task="organize", n_objects=3, seed=1, real=True, n_points=64)
    procs.start("f2p_perception", "perception", backend="sim_gt", n_points=16)
    procs.start("f2p_planner", "planner", model_store=models, num_samples=16, threads=1)
    procs.start("f2p_monitor", "monitor", failures_dir=failures, n_points=16, max_replans=2, relations="goal",
                observed_relations="sim_gt")
    if learn:
        procs.start("f2p_learner", "learner", model_store=models, failures_dir=failures, work_dir=tmp_path / "learn",
                    min_failure_accuracy=0.0, **SMALL_LEARNER)


def receive_every_topic(ros) -> list[tuple[str, bytes]]:
    """(topic, CDR bytes) of every message this test receives on the graph's topics, subscribed as
    the recorder is (raw, the recorder's profiles)."""
    received: list[tuple[str, bytes]] = []
    for e in names.GRAPH:
        if e.kind == "topic":
            ros.node.create_subscription(message_class(e.type), e.name,
                                         lambda m, t=e.name: received.append((t, bytes(m))),
                                         recording_qos(e.name), raw=True)
    return received


#: Latched topics: their publisher keeps the latest message only (`f2p_ros.qos.latched_qos`).
LATCHED = {e.name for e in names.GRAPH if e.kind == "topic" and e.latched}
#: seconds without a message before the recorder is stopped (beyond Fast DDS's 3 s heartbeat)
QUIET_S = 4.5
#: Topics only the task's execution publishes on (after the goal).
TASK_TOPICS = (names.STEPS_TOPIC, names.FAILURES_TOPIC)


def check_same_messages(bag, received) -> None:
    """The bag holds what this test received, message by message (CDR bytes), whatever each
    process's lag (a receive time is not a send time on a loaded machine), within what the QoS
    promises a subscriber, the recorder or this test:
    - a volatile topic (reliable, publisher history 10): every message; only at its start may a
      message published before one of the two subscribers was matched by DDS discovery reach the
      other alone (never a task topic: those start after the goal);
    - a latched topic (publisher history 1): the same latest message and the same order, but a
      subscriber that lost a packet under load misses an intermediate message when the publisher
      has replaced it before the repair (measured: one capture of five, on 2 busy cores)."""
    for topic in sorted({m.topic for m in bag} | {t for t, _ in received}):
        in_bag = [m.data for m in bag if m.topic == topic]
        in_test = [d for t, d in received if t == topic]
        if topic in LATCHED:
            common = set(in_bag) & set(in_test)
            assert in_bag and in_test and in_bag[-1] == in_test[-1], f"{topic}: not the same latest message"
            assert [d for d in in_bag if d in common] == [d for d in in_test if d in common], f"{topic}: order"
            continue
        only_bag = next((i for i, d in enumerate(in_bag) if d in set(in_test)), len(in_bag))
        only_test = next((i for i, d in enumerate(in_test) if d in set(in_bag)), len(in_test))
        assert in_bag[only_bag:] == in_test[only_test:], f"{topic}: bag and test differ after the start"
        assert topic not in TASK_TOPICS or only_bag == only_test == 0, f"{topic}: a task message missed"


def test_a_task_fails_learns_and_ends_with_a_result_and_the_bag_holds_it_all(procs, ros, tmp_path):
    t0 = time.monotonic()
    (v1,) = tiny_store(tmp_path / "models")
    procs.start("f2p_ros", "recorder", output=tmp_path / "bag")
    procs.wait_log("recorder", "recording", 30)
    received = receive_every_topic(ros)
    start_graph(procs, tmp_path)
    seen: dict = {"task": None, "failures": [], "versions": [], "markers": []}
    ros.node.create_subscription(Task, names.SIM_TASK_TOPIC, lambda m: seen.__setitem__("task", m),
                                 topic_qos(names.SIM_TASK_TOPIC))
    ros.node.create_subscription(FailureEvent, names.FAILURES_TOPIC, seen["failures"].append,
                                 topic_qos(names.FAILURES_TOPIC))
    ros.node.create_subscription(ModelVersion, names.MODEL_VERSION_TOPIC, seen["versions"].append,
                                 topic_qos(names.MODEL_VERSION_TOPIC))
    ros.node.create_subscription(MarkerArray, names.MARKERS_TOPIC, seen["markers"].append,
                                 topic_qos(names.MARKERS_TOPIC))
    task = task_from_msg(ros.wait(lambda: seen["task"], 60, "the sampled task", procs))
    for topic in TASK_TOPICS:  # volatile: a subscriber gets what is published after discovery matched it
        procs.wait_log("recorder", discovered_line(topic), 30)
        ros.wait(lambda t=topic: ros.node.count_publishers(t), 30, f"a publisher of {topic}", procs)

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
    goal = ExecuteTask.Goal(task_id="graph-test", goal=task.goal, skeleton=[step_to_msg(s) for s in task.skeleton],
                            learn_from_failures=True, max_replans=2)
    handle = ros.send(client, goal, timeout_s=60, feedback=on_feedback, procs=procs)
    assert handle.accepted
    response = ros.result(handle, 80 - (time.monotonic() - t0), procs)
    result = response.result
    assert response.status in (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED)
    assert response.status == (GoalStatus.STATUS_SUCCEEDED if result.success else GoalStatus.STATUS_ABORTED)
    assert result.success or result.error

    # a failure was detected, stored, published, and stored before learning started
    assert result.num_failures >= 1 and len(result.failure_event_ids) == result.num_failures
    assert sorted(p.name for p in events.iterdir()) == sorted(result.failure_event_ids)
    ros.wait(lambda: len(seen["failures"]) >= result.num_failures, 5, "every failure on /f2p/failures")
    assert [f.event_id for f in seen["failures"]] == list(result.failure_event_ids)
    assert {f.classification for f in seen["failures"]} <= {FailureEvent.CLASS_INCORRECT_PREDICTION,
                                                             FailureEvent.CLASS_SIM2REAL_GAP}
    stages = [f.stage for f in feedback]
    assert stages[0] == "planning" and "executing" in stages
    learned = [f for f in seen["failures"] if f.classification == FailureEvent.CLASS_INCORRECT_PREDICTION]
    if learned:  # learning was triggered: the event was on disk first, a version was published, served
        assert "learning" in stages and stored_when_learning and all(stored_when_learning.values())
        ros.wait(lambda: seen["versions"] and seen["versions"][-1].version != v1, 10, "a new model version")
        assert result.final_model_version == seen["versions"][-1].version != v1
        procs.wait_log("planner", f"hot-swapped the model: {v1} -> ", 10)
    else:
        assert result.final_model_version == v1
    # some array shows all three layers (the last one may be a replan's, drawn before it is observed)
    assert any({m.ns for m in arr.markers} >= {"objects", "predicted", "observed"} for arr in seen["markers"])
    procs.check_alive()

    # the bag: closed on SIGINT, every message decodes from the bag alone, the counts are ours
    # The graph quiet for longer than Fast DDS's heartbeat period (3 s): a latest message either
    # subscriber lost under load has been repaired by then (measured: with 2 s, CI's recorder once
    # stopped without the last image, which the test had).
    count, quiet_since = len(received), time.monotonic()
    end = time.monotonic() + 30.0
    while time.monotonic() < end and time.monotonic() - quiet_since < QUIET_S:
        ros.spin(0.1)
        if len(received) != count:
            count, quiet_since = len(received), time.monotonic()
    assert procs.stop_node("recorder") == 0
    bag = list(read_bag(tmp_path / "bag"))
    check_same_messages(bag, received)
    assert [m.message.event_id for m in bag if m.topic == names.FAILURES_TOPIC] == list(result.failure_event_ids)
    assert [m.message.version for m in bag if m.topic == names.MODEL_VERSION_TOPIC] == [
        v.version for v in seen["versions"]]
    clouds = [m.message for m in bag if m.topic == names.CAMERA_POINTS_TOPIC]
    assert clouds and all(c.width * c.point_step == len(c.data) for c in clouds)
    # every executed skill on /f2p/steps: its observation's image is in the bag under the same stamp,
    # and a failed step's mismatches are the failure event's
    steps = [m.message for m in bag if m.topic == names.STEPS_TOPIC]
    # (sim_robot published it: the bag has it, or this test does where the recorder missed it)
    image_stamps = {stamp_key(m.message.header.stamp) for m in bag if m.topic == names.CAMERA_IMAGE_TOPIC} | {
        stamp_key(deserialize_message(d, Image).header.stamp) for t, d in received if t == names.CAMERA_IMAGE_TOPIC}
    # The image topic is latched (reliable, keep last 1): under load a capture's image can be replaced by the next
    # capture's before any reader has it (CI, 2026-12-07: one step's image reached neither the recorder nor this
    # test). A step's image may be missing only where a later capture's image is there.
    missing = [stamp_key(s.header.stamp) for s in steps if stamp_key(s.header.stamp) not in image_stamps]
    assert steps and all(any(k > m for k in image_stamps) for m in missing), (missing, sorted(image_stamps))
    assert all(s.task_id == "graph-test" and s.model_version and s.predicted.relations for s in steps)
    for f in (m.message for m in bag if m.topic == names.FAILURES_TOPIC):
        failed = [s for s in steps if s.step_index == f.step_index and s.mismatched]
        assert failed, f"no step {f.step_index} with mismatches for {f.event_id}"
        assert {(r.name, r.subject, r.object) for r in failed[0].mismatched} == {
            (r.name, r.subject, r.object) for r in f.mismatched}
    info = bag_info(tmp_path / "bag")
    assert info.complete and info.message_count == len(bag) and info.topics[names.SCENE_TOPIC].count >= 1
    check_report(bag, task, result, tmp_path / "episode")


def check_report(bag, task, result, run_dir) -> None:
    """The demo's episode pages made from the recorded steps and images: one figure per step, and
    report.html opens in a real headless browser with every image loaded and every link there."""
    import re

    from browser import images_loaded, screenshot

    from f2p_bringup.demo_cmd import step_page
    from f2p_bringup.episode_report import render_step_page, write_html

    kinds = {names.CAMERA_IMAGE_TOPIC: "image", names.CAMERA_LABEL_IMAGE_TOPIC: "labels",
             names.CAMERA_LABEL_MAP_TOPIC: "label_map"}
    captures: dict = {k: {} for k in kinds.values()}
    for m in bag:
        if m.topic in kinds:
            captures[kinds[m.topic]][stamp_key(m.message.header.stamp)] = m.message
    run_dir.mkdir()
    pages = []
    steps = [m.message for m in bag if m.topic == names.STEPS_TOPIC]
    recorded = [all(stamp_key(s.header.stamp) in captures[k] for k in ("image", "labels")) for s in steps]
    assert any(recorded)  # a capture the recorder missed under load (check_same_messages) has no picture
    for k, msg in enumerate(steps):
        page = step_page(msg, captures, task.goal)
        assert (page.rgb is not None and page.labels is not None) == recorded[k] and page.goal
        assert {r.atom for r in page.goal} == {a.strip() for a in task.goal.split("&")}
        assert len(page.mismatches) == len(msg.mismatched)
        pages.append({"index": page.index, "title": page.title, "image": render_step_page(page, run_dir /
                                                                                          f"step_{k}.png").name})
    report = {"id": "graph-test", "task": {"distribution": task.distribution, "goal": task.goal, "skeleton": []},
              "result": {"success": result.success, "error": result.error, "num_failures": result.num_failures},
              "timeline": [{"t_s": 0.0, "stage": "failure", "step": 0, "message": "a failure"}]}
    (run_dir / "report.json").write_text("{}")
    page = write_html(run_dir, report, pages)
    text = page.read_text()
    assert all((run_dir / ref).is_file() for ref in re.findall(r"(?:src|href)='([^']+)'", text))
    assert images_loaded(page) == (len(pages), len(pages))
    assert screenshot(page, run_dir / "screenshot.png").stat().st_size > 10_000


def test_malformed_tasks_are_aborted_with_a_message_and_nodes_stay_up(procs, ros, tmp_path):
    t0 = time.monotonic()
    tiny_store(tmp_path / "models")
    start_graph(procs, tmp_path, learn=False)
    client = ros.action(ExecuteTask, names.EXECUTE_TASK_ACTION)
    sub = []
    ros.node.create_subscription(Task, names.SIM_TASK_TOPIC, sub.append, topic_qos(names.SIM_TASK_TOPIC))
    task = task_from_msg(ros.wait(lambda: sub, 60, "the sampled task", procs)[-1])
    skeleton = [step_to_msg(s) for s in task.skeleton]
    for goal, skel, match in (("on(container_1, table_B)", [], "empty skeleton"),
                              ("hovers(container_1, table_B)", skeleton, "hovers"),
                              ("on(ghost_1, table_B)", skeleton, "ghost_1")):
        handle = ros.send(client, ExecuteTask.Goal(task_id="bad", goal=goal, skeleton=skel), timeout_s=60,
                          procs=procs)
        assert handle.accepted
        response = ros.result(handle, 60, procs)
        assert response.status == GoalStatus.STATUS_ABORTED and not response.result.success
        assert match in response.result.error, response.result.error
    procs.check_alive()
    assert time.monotonic() - t0 < 90
