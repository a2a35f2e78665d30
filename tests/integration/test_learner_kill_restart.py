"""The `learner` node killed (SIGKILL) in the middle of fine-tuning, then started again: the model
store still serves the previous validated version, intact and loadable; the failure event it was
learning from is intact in the failure store; the restarted learner announces that same version on
the latched /f2p/model_version and learns from the same event (same work_dir: what the killed run
left there must not get in the way)."""

from __future__ import annotations

import hashlib
import time

import numpy as np
from action_msgs.msg import GoalStatus
from graph_nodes import SMALL_LEARNER, real_failure, tiny_store

from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore
from f2p_msgs.action import LearnFromFailure
from f2p_msgs.msg import ModelVersion
from f2p_ros import names
from f2p_ros.convert import failure_to_msg
from f2p_ros.qos import topic_qos


def learner_params(tmp_path, **overrides) -> dict:
    # the failure store is shared with the (in-process) monitor that stored the event, as in the graph
    return {"model_store": tmp_path / "models", "failures_dir": tmp_path / "failures", "work_dir": tmp_path / "learn",
            "min_failure_accuracy": 0.0, **SMALL_LEARNER, **overrides}


def digests(directory) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def check_event(tmp_path, event, files_before: dict[str, str]) -> None:
    """The event is in the failure store byte for byte as stored, loads, and is the event sent."""
    store = FailureStore(tmp_path / "failures")
    assert store.list() == [event.event_id]
    assert digests(store.path(event.event_id)) == files_before
    loaded = store.load(event.event_id)
    assert loaded.event_id == event.event_id and loaded.skill.object_ids == event.skill.object_ids
    np.testing.assert_array_equal(loaded.skill.params, event.skill.params)
    assert [m.text() for m in loaded.mismatched] == [m.text() for m in event.mismatched]
    np.testing.assert_array_equal(loaded.binary_after, event.binary_after)
    assert loaded.scene_before.names == event.scene_before.names


def test_learner_killed_while_finetuning_restarts_on_the_served_model_and_the_event_is_intact(procs, ros, tmp_path):
    t0 = time.monotonic()
    (v1,) = tiny_store(tmp_path / "models")
    event = real_failure(tmp_path / "models", tmp_path / "failures")
    event_files = digests(FailureStore(tmp_path / "failures").path(event.event_id))
    model_store = ModelStore(tmp_path / "models")
    weights_before = digests(model_store.path(v1))

    announced: list[ModelVersion] = []
    ros.node.create_subscription(ModelVersion, names.MODEL_VERSION_TOPIC, announced.append,
                                 topic_qos(names.MODEL_VERSION_TOPIC))
    # fine-tuning long enough to be killed in the middle of it
    first = procs.start("f2p_learner", "learner", **learner_params(tmp_path, epochs=100000))
    client = ros.action(LearnFromFailure, names.LEARN_FROM_FAILURE_ACTION)
    feedback: list = []
    handle = ros.send(client, LearnFromFailure.Goal(failure=failure_to_msg(event)), timeout_s=60,
                      feedback=lambda m: feedback.append(m.feedback), procs=procs)
    assert handle.accepted
    ros.wait(lambda: any(f.stage == "finetune" for f in feedback), 60, "fine-tuning feedback", procs)
    assert announced and announced[-1].version == v1
    first.kill()  # SIGKILL: no handler, no cleanup
    assert first.wait(timeout=10) == -9
    _, log = procs.procs.pop("learner")  # its log stays as learner.killed.log; the restart gets a new one
    log.close()
    (tmp_path / "learner.log").rename(tmp_path / "learner.killed.log")
    assert feedback[-1].progress < 1.0 and "publish" not in [f.stage for f in feedback]

    # the store serves what it served before, intact; the event is intact
    assert model_store.latest() == v1
    model, meta = model_store.load("latest")
    assert meta.version == v1 and meta.validated and model is not None
    assert [(m.version, m.validated) for m in model_store.list()] == [(v1, True)]
    assert digests(model_store.path(v1)) == weights_before
    check_event(tmp_path, event, event_files)

    # restarted (a short fine-tuning now), it announces the served version and learns again
    count = len(announced)
    procs.start("f2p_learner", "learner", **learner_params(tmp_path))
    ros.wait(lambda: len(announced) > count, 30, "the restarted learner's /f2p/model_version", procs)
    assert announced[-1].version == v1 and announced[-1].validated
    feedback.clear()
    handle = ros.send(client, LearnFromFailure.Goal(failure=failure_to_msg(event)), timeout_s=30,
                      feedback=lambda m: feedback.append(m.feedback), procs=procs)
    assert handle.accepted, "the restarted learner did not accept a goal"
    response = ros.result(handle, 85 - (time.monotonic() - t0), procs)
    assert response.status == GoalStatus.STATUS_SUCCEEDED, response.result.error
    assert response.result.model_version.version == "v0002"
    assert response.result.model_version.parent_version == v1
    ros.wait(lambda: announced[-1].version == "v0002", 10, "v0002 on /f2p/model_version", procs)
    assert [(m.version, m.validated) for m in model_store.list()] == [(v1, True), ("v0002", True)]
    check_event(tmp_path, event, event_files)
    assert (tmp_path / "learn" / f"{event.event_id}.earlier-1" / "dplus").is_dir()  # the killed run's, set aside
    procs.check_alive()
    assert time.monotonic() - t0 < 90
