"""Failure detection and the failure store."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from f2p_core.failure import FailureClass, FailureEvent
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import SkillCall, SkillType
from f2p_monitor.failure import DetectionConfig, compare
from f2p_monitor.failure_store import FailureStore, FailureStoreError
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim import tasks
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


def _rel(world, names):
    rel = world_relations(world)
    idx = [rel.index(n) for n in names]
    return rel.unary[idx], rel.binary[np.ix_(idx, idx)]


@pytest.fixture(scope="module")
def transport_failure():
    """A container carried to table B: the 'model' predicted its items stay behind (they moved)."""
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    world = World(sample.scene)
    scene = SimGroundTruthPerception(world, n_points=16).perceive(np.random.default_rng(0))
    u0, b0 = _rel(world, scene.names)
    box = sample.skeleton[0].object_ids[0]
    call = SkillCall(SkillType.PICK_PLACE, (box, "table_B"), tasks.place_params(sample.scene, box, (0.3, 0.3),
                                                                              "table_B"))
    execute(world, call)
    u1, b1 = _rel(world, scene.names)
    # the wrong prediction: relations after = before, except the box itself is on table_B
    pu, pb = u0.astype(float), b0.astype(float)
    i, j = scene.index(box), scene.index("table_B")
    k_on = BINARY.index("on")
    pb[i, :, k_on], pb[i, j, k_on] = 0.0, 0.9
    return scene, (u0, b0), (u1, b1), (pu, pb), call, sample


def test_compare_finds_the_items_that_moved(transport_failure):
    scene, _, (u1, b1), (pu, pb), _, sample = transport_failure
    goal_rel = {atom.relation for atom in sample.goal}
    names = DetectionConfig().names(goal_rel)
    assert set(names) == {"on", "inside", "above", "front", "behind"}
    mism = compare(pu, pb, u1, b1, scene.names, names)
    texts = {(m.relation, m.subject, m.object) for m in mism}
    for item in [n for n in scene.names if n.startswith("item_")]:
        assert ("above", item, "table_B") in texts  # observed above table B, predicted not
    assert all(not m.observed or m.predicted < 0.5 for m in mism)
    # a perfect prediction has no mismatch
    assert compare(u1.astype(float), b1.astype(float), u1, b1, scene.names, DetectionConfig("all").names(set())) == []


def test_detection_config_is_checked():
    with pytest.raises(ValueError, match="unknown relations"):
        DetectionConfig(relations=("levitating",))
    with pytest.raises(ValueError, match="threshold"):
        DetectionConfig(threshold=1.5)
    assert DetectionConfig("all").names(set()) == tuple(UNARY) + tuple(BINARY)


def _event(failure, **kw) -> FailureEvent:
    scene, (u0, b0), (u1, b1), (pu, pb), call, sample = failure
    mism = compare(pu, pb, u1, b1, scene.names, ("above",))
    fields = dict(task_id="t1", step_index=0, scene_before=scene, unary_before=u0, binary_before=b0, skill=call,
                  unary_after=u1, binary_after=b1, predicted_unary=pu, predicted_binary=pb, mismatched=mism,
                  model_version="v0001", goal=sample.goal_text)
    fields.update(kw)
    return FailureEvent(**fields)


def test_store_round_trip_and_classification(tmp_path, transport_failure):
    store = FailureStore(tmp_path)
    event = _event(transport_failure)
    store.save(event)
    assert store.list() == [event.event_id]
    back = store.load(event.event_id)
    for f in dataclasses.fields(FailureEvent):
        a, b = getattr(event, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        elif f.name == "scene_before":
            assert a.names == b.names and all(np.array_equal(x, y) for x, y in zip(a.segments, b.segments,
                                                                                    strict=True))
        elif f.name == "skill":
            assert a.type == b.type and a.object_ids == b.object_ids and np.array_equal(a.params, b.params)
        else:
            assert a == b, f.name
    store.update_classification(event.event_id, FailureClass.INCORRECT_PREDICTION)
    assert store.load(event.event_id).classification == FailureClass.INCORRECT_PREDICTION
    with pytest.raises(FailureStoreError, match="already exists"):
        store.save(back)


def test_a_half_written_event_is_invisible_and_cleaned(tmp_path, transport_failure):
    store = FailureStore(tmp_path)
    stale = tmp_path / ".tmp-event-killed"
    stale.mkdir()
    (stale / "arrays.npz").write_bytes(b"half")
    assert store.list() == []
    store.save(_event(transport_failure))
    assert not stale.exists() and len(store.list()) == 1


def test_bad_events_are_rejected_and_the_store_untouched(tmp_path, transport_failure):
    store = FailureStore(tmp_path)
    scene, _, _, _, call, _ = transport_failure
    bad_params = SkillCall(call.type, call.object_ids, [np.nan, 0, 0, 0])
    unknown_obj = SkillCall(call.type, ("ghost", "table_B"), call.params)
    empty = dataclasses.replace(scene, visible=np.zeros_like(scene.visible))
    for kw, msg in ((dict(skill=bad_params), "NaN"), (dict(skill=unknown_obj), "ghost"),
                    (dict(scene_before=empty), "no visible segment"),
                    (dict(unary_after=np.zeros((2, 3), bool)), "shape")):
        with pytest.raises(ValueError, match=msg):
            store.save(_event(transport_failure, **kw))
    assert store.list() == [] and not list(tmp_path.glob(".tmp-event-*"))
    with pytest.raises(FailureStoreError, match="no event"):
        store.load("nope")


def test_classification_of_a_reproducible_failure(transport_failure):
    """The items really move with their container, and the reconstruction moves them too: the
    model's prediction was wrong (incorrect symbolic prediction)."""
    from f2p_monitor.classify import classify

    result = classify(_event(transport_failure))
    assert result.label == FailureClass.INCORRECT_PREDICTION, result.reason
    assert result.checked >= 3 and result.reproduced == result.checked


def test_classification_of_a_sim2real_gap(transport_failure):
    """An observation the simulator cannot reproduce (items reported still on table A although
    they moved) is a Sim2Real gap."""
    from f2p_core.failure import FailureClass
    from f2p_monitor.classify import classify

    scene, (u0, b0), _, (pu, pb), _, _ = transport_failure
    k = BINARY.index("above")
    pb_wrong = pb.copy()
    items = [scene.index(n) for n in scene.names if n.startswith("item_")]
    pb_wrong[items, scene.index("table_B"), k] = 0.9  # predicted: items above table B
    # the "observation" says they stayed: what the real world would show if the bag had been lifted
    # out from under them (a physics mismatch the simulator will not reproduce)
    event = _event(transport_failure, unary_after=u0, binary_after=b0, predicted_binary=pb_wrong,
                   mismatched=compare(pu, pb_wrong, u0, b0, scene.names, ("above",)))
    result = classify(event)
    assert result.label == FailureClass.SIM2REAL_GAP and result.reproduced < result.checked, result.reason


def test_the_scene_after_is_stored_with_the_event(tmp_path, transport_failure):
    """O^F' (points and visibility after the skill) goes to disk and back; events without it still load."""
    event = _event(transport_failure)
    rng = np.random.default_rng(1)
    after = dataclasses.replace(event, points_after=event.scene_before.points + rng.normal(0, 0.01, (1, 1, 3)),
                                visible_after=event.scene_before.visible.copy(), event_id="with-after")
    store = FailureStore(tmp_path)
    store.save(after)
    store.save(event)
    back = store.load("with-after")
    np.testing.assert_array_equal(back.points_after, after.points_after)
    np.testing.assert_array_equal(back.visible_after, after.visible_after)
    assert store.load(event.event_id).points_after is None
    with pytest.raises(ValueError, match="scene after"):
        dataclasses.replace(after, points_after=after.points_after[:, :3]).validate()
