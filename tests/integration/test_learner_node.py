"""The `learner` node as installed: bad goals end aborted with a message and leave the model store
as it was; while one goal runs a second is rejected; a cancel ends the goal within 1 s and nothing
is published; a goal that learns publishes a version with its metrics and announces it, latched."""

from __future__ import annotations

import math
import time

from action_msgs.msg import GoalStatus
from graph_nodes import SMALL_LEARNER, real_failure, tiny_store

from f2p_model.store import ModelStore
from f2p_msgs.action import LearnFromFailure
from f2p_msgs.msg import ModelVersion
from f2p_ros import names
from f2p_ros.convert import failure_to_msg
from f2p_ros.qos import topic_qos


def start_learner(procs, tmp_path, **overrides):
    params = {"model_store": tmp_path / "models", "failures_dir": tmp_path / "learner_failures",
              "work_dir": tmp_path / "learn", **SMALL_LEARNER, **overrides}
    procs.start("f2p_learner", "learner", **params)


def versions(tmp_path) -> list[tuple[str, bool]]:
    return [(m.version, m.validated) for m in ModelStore(tmp_path / "models").list()]


def test_bad_goals_are_aborted_with_a_message_and_the_store_is_untouched(procs, ros, tmp_path):
    t0 = time.monotonic()
    tiny_store(tmp_path / "models")
    event = real_failure(tmp_path / "models", tmp_path / "failures")
    start_learner(procs, tmp_path)
    client = ros.action(LearnFromFailure, names.LEARN_FROM_FAILURE_ACTION)
    before = versions(tmp_path)

    no_segments = failure_to_msg(event)
    no_segments.scene_before.segments = []
    unknown_skill = failure_to_msg(event)
    unknown_skill.skill.type = "teleport"
    nan = failure_to_msg(event)
    nan.skill.parameters[0] = math.nan
    unknown_method = LearnFromFailure.Goal(failure=failure_to_msg(event), method="guessing")
    for goal, match in ((LearnFromFailure.Goal(failure=no_segments), "has no segments"),
                        (LearnFromFailure.Goal(failure=unknown_skill), "unknown skill type 'teleport'"),
                        (LearnFromFailure.Goal(failure=nan), "non-finite"),
                        (unknown_method, "unknown method 'guessing'")):
        handle = ros.send(client, goal, timeout_s=60, procs=procs)
        assert handle.accepted
        response = ros.result(handle, 30, procs)
        assert response.status == GoalStatus.STATUS_ABORTED
        assert not response.result.success and match in response.result.error, response.result.error
        assert response.result.model_version.version == ""
    assert versions(tmp_path) == before
    assert not (tmp_path / "learner_failures" / "events").exists() or not any(
        (tmp_path / "learner_failures" / "events").iterdir())
    procs.check_alive()
    assert time.monotonic() - t0 < 90


def test_a_second_goal_is_rejected_and_a_cancel_ends_the_goal_within_a_second(procs, ros, tmp_path):
    t0 = time.monotonic()
    (v1,) = tiny_store(tmp_path / "models")
    event = real_failure(tmp_path / "models", tmp_path / "failures")
    # long enough to cancel in the middle: many SVGD iterations
    start_learner(procs, tmp_path, state_iterations=400, action_iterations=400, min_failure_accuracy=0.0)
    announced: list[ModelVersion] = []
    ros.node.create_subscription(ModelVersion, names.MODEL_VERSION_TOPIC, announced.append,
                                 topic_qos(names.MODEL_VERSION_TOPIC))
    client = ros.action(LearnFromFailure, names.LEARN_FROM_FAILURE_ACTION)
    feedback: list = []
    first = ros.send(client, LearnFromFailure.Goal(failure=failure_to_msg(event)), timeout_s=60,
                     feedback=lambda m: feedback.append(m.feedback), procs=procs)
    assert first.accepted
    ros.wait(lambda: any(f.stage == "state_inference" for f in feedback), 30, "state inference feedback", procs)
    assert announced and announced[-1].version == v1  # the store's latest, announced at start

    second = ros.send(client, LearnFromFailure.Goal(failure=failure_to_msg(event)), procs=procs)
    assert not second.accepted
    procs.wait_log("learner", "one goal at a time", 5)

    asked = time.monotonic()
    cancel = first.cancel_goal_async()
    ros.wait(cancel.done, 5, "cancel response", procs)
    response = ros.result(first, 5, procs)
    assert response.status == GoalStatus.STATUS_CANCELED
    assert time.monotonic() - asked < 1.0
    assert "canceled" in response.result.error
    assert versions(tmp_path) == [(v1, True)]
    stages = [f.stage for f in feedback]
    assert stages and set(stages) <= {"starting", "state_inference", "action_inference", "simulate", "finetune",
                                      "publish"}
    assert all(0.0 <= f.progress <= 1.0 for f in feedback)

    # once the canceled run has stopped, the next goal is accepted
    procs.wait_log("learner", "stopped: canceled", 20)
    again = ros.send(client, LearnFromFailure.Goal(failure=failure_to_msg(event)), procs=procs)
    assert again.accepted, "the learner did not accept a goal after the canceled run stopped"
    again.cancel_goal_async()
    assert ros.result(again, 5, procs).status == GoalStatus.STATUS_CANCELED
    assert versions(tmp_path) == [(v1, True)]
    procs.check_alive()
    assert time.monotonic() - t0 < 90


def test_a_learned_version_is_published_with_its_metrics_and_announced(procs, ros, tmp_path):
    t0 = time.monotonic()
    (v1,) = tiny_store(tmp_path / "models")
    event = real_failure(tmp_path / "models", tmp_path / "failures")
    start_learner(procs, tmp_path, min_failure_accuracy=0.0)  # a tiny model cannot learn; validate anyway
    announced: list[ModelVersion] = []
    ros.node.create_subscription(ModelVersion, names.MODEL_VERSION_TOPIC, announced.append,
                                 topic_qos(names.MODEL_VERSION_TOPIC))
    client = ros.action(LearnFromFailure, names.LEARN_FROM_FAILURE_ACTION)
    feedback: list = []
    handle = ros.send(client, LearnFromFailure.Goal(failure=failure_to_msg(event)), timeout_s=60,
                      feedback=lambda m: feedback.append(m.feedback), procs=procs)
    response = ros.result(handle, 60, procs)
    assert response.status == GoalStatus.STATUS_SUCCEEDED, response.result.error
    result = response.result
    assert result.success and result.model_version.version == "v0002"
    assert result.model_version.parent_version == v1 and result.model_version.validated
    assert {"failure_accuracy", "failure_accuracy_parent"} <= {m.name for m in result.metrics}
    ros.wait(lambda: announced and announced[-1].version == "v0002", 10, "the new version on /f2p/model_version")
    assert versions(tmp_path) == [(v1, True), ("v0002", True)]
    assert event.event_id in [p.name for p in (tmp_path / "learner_failures" / "events").iterdir()]
    assert [f.stage for f in feedback][-1] in ("finetune", "publish")
    assert any(f.eta_s >= 0 for f in feedback)
    assert time.monotonic() - t0 < 90
