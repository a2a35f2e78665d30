"""D+ shows the model the scene as the executive believes it (`dplus.remember_unseen`): an object the
re-rendered particle cannot show keeps its (particle-moved) segment, and one hidden by the skill is carried
by the rule of `f2p_sim.permanence`, as `f2p_monitor.belief` carries it during a task."""

from __future__ import annotations

import numpy as np

from f2p_core.skills import SkillCall, SkillStatus, SkillType
from f2p_learner.dplus import remember_unseen
from f2p_sim.transitions import STATUS_NAMES

P = 16


def _cloud(centre, half, rng) -> np.ndarray:
    return (np.asarray(centre) + rng.uniform(-1, 1, (200, 3)) * np.asarray(half)).astype(np.float32)


def _record(status: SkillStatus, rng) -> tuple[dict, dict]:
    """box_1 (acted, seen), item_1 inside it (unseen before and after), cup_1 beside it (seen, then hidden)."""
    box, item, cup = (_cloud(c, h, rng) for c, h in (((0.3, -0.3, 0.5), (0.08, 0.08, 0.05)),
                                                      ((0.3, -0.3, 0.47), (0.02, 0.02, 0.02)),
                                                      ((0.5, 0.2, 0.5), (0.04, 0.04, 0.05))))
    n, width = 3, 5
    points_t = np.zeros((width, P, 3), np.float32)
    points_t[0], points_t[2] = box[:P], cup[:P]
    rec = {"n_objects": np.int8(n), "names": np.array(["box_1", "item_1", "cup_1", "", ""]),
           "acted": np.int8(0), "status": np.int8(STATUS_NAMES.index(status.value)),
           "points_t": points_t, "points_t1": np.zeros_like(points_t),
           "visible_t": np.array([True, False, True, False, False]),
           "visible_t1": np.array([True, False, False, False, False])}
    rec["points_t1"][0] = box[:P] + np.float32([0.1, 0.6, 0.02])
    return rec, {"box_1": box, "item_1": item, "cup_1": cup}


def test_unseen_contents_get_their_segment_and_move_with_their_container():
    rng = np.random.default_rng(0)
    rec, segments = _record(SkillStatus.OK, rng)
    call = SkillCall(SkillType.PICK_PLACE, ("box_1", "table_B"), np.array([0.1, 0.6, 0.02, 0.0]))
    assert remember_unseen(rec, segments, call, rng) == 3  # item before, item after, cup after
    assert rec["visible_t"][:3].all() and rec["visible_t1"][:3].all() and not rec["visible_t"][3:].any()
    item = rec["points_t"][1]
    assert np.isin(item, segments["item_1"]).all(axis=1).all()  # sampled from its own segment
    np.testing.assert_allclose(rec["points_t1"][1], item + np.float32([0.1, 0.6, 0.02]), atol=1e-6)
    np.testing.assert_array_equal(rec["points_t1"][2], rec["points_t"][2])  # a bystander stays where it was seen
    np.testing.assert_array_equal(rec["points_t"][3:], 0)  # padding untouched


def test_a_failed_skill_moves_nothing_it_hid():
    rng = np.random.default_rng(1)
    rec, segments = _record(SkillStatus.UNREACHABLE, rng)
    call = SkillCall(SkillType.PICK_PLACE, ("box_1", "table_B"), np.array([0.1, 0.6, 0.02, 0.0]))
    remember_unseen(rec, segments, call, rng)
    np.testing.assert_array_equal(rec["points_t1"][1], rec["points_t"][1])


def test_a_scene_seen_whole_is_left_as_rendered():
    rng = np.random.default_rng(2)
    rec, segments = _record(SkillStatus.OK, rng)
    rec["visible_t"][1] = rec["visible_t1"][1] = rec["visible_t1"][2] = True
    before = {k: v.copy() for k, v in rec.items()}
    call = SkillCall(SkillType.PICK_PLACE, ("box_1", "table_B"), np.array([0.1, 0.6, 0.02, 0.0]))
    assert remember_unseen(rec, segments, call, rng) == 0
    for k, v in before.items():
        np.testing.assert_array_equal(rec[k], v)
