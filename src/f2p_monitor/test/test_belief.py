"""Object permanence: an object that disappears during a skill stays in the planner's scene,
moved by what the skill commanded."""

from __future__ import annotations

import dataclasses

import numpy as np

from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillStatus, SkillType
from f2p_monitor.belief import carry_occluded


def _cube(centre, half, n=8) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32)
    return (np.asarray(centre, np.float32) + corners * np.asarray(half, np.float32))[:n]


def _scene(centres: dict[str, tuple], halves: dict[str, tuple], visible: dict[str, bool]) -> PerceivedScene:
    names = list(centres)
    segs = [_cube(centres[n], halves[n]) for n in names]
    vis = np.array([visible[n] for n in names])
    pts = np.stack([s if v else np.zeros_like(s) for s, v in zip(segs, vis, strict=True)])
    lo = np.stack([s.min(0) if v else np.zeros(3, np.float32) for s, v in zip(segs, vis, strict=True)])
    hi = np.stack([s.max(0) if v else np.zeros(3, np.float32) for s, v in zip(segs, vis, strict=True)])
    return PerceivedScene(names, ["box"] * len(names), pts, vis, lo, hi,
                          [s if v else np.zeros((0, 3), np.float32) for s, v in zip(segs, vis, strict=True)])


CENTRES = {"box_1": (0.3, -0.3, 0.5), "item_1": (0.3, -0.3, 0.47), "cup_1": (0.5, 0.2, 0.5)}
HALVES = {"box_1": (0.08, 0.08, 0.05), "item_1": (0.02, 0.02, 0.02), "cup_1": (0.04, 0.04, 0.05)}


def test_the_acted_object_and_its_contents_move_with_the_skill():
    before = _scene(CENTRES, HALVES, {"box_1": True, "item_1": True, "cup_1": True})
    after = _scene(CENTRES, HALVES, {"box_1": False, "item_1": False, "cup_1": True})
    call = SkillCall(SkillType.PICK_PLACE, ("box_1", "table_B"), np.array([0.1, 0.6, 0.02, 0.0]))
    kept, carried = carry_occluded(before, after, call, SkillStatus.OK)
    assert sorted(carried) == ["box_1", "item_1"] and kept.visible.all()
    for n in carried:
        i = kept.index(n)
        np.testing.assert_allclose((kept.box_lo[i] + kept.box_hi[i]) / 2, np.add(CENTRES[n], (0.1, 0.6, 0.02)),
                                   atol=1e-6)
    j = kept.index("cup_1")
    np.testing.assert_array_equal(kept.points[j], after.points[j])  # still seen: untouched


def test_a_failed_skill_or_a_bystander_stays_where_it_was_seen():
    before = _scene(CENTRES, HALVES, {"box_1": True, "item_1": True, "cup_1": True})
    after = _scene(CENTRES, HALVES, {"box_1": True, "item_1": True, "cup_1": False})
    call = SkillCall(SkillType.PICK_PLACE, ("box_1", "table_B"), np.array([0.1, 0.6, 0.02, 0.3]))
    for status in (SkillStatus.OK, SkillStatus.UNREACHABLE):
        kept, carried = carry_occluded(before, after, call, status)
        assert carried == ["cup_1"]
        np.testing.assert_array_equal(kept.segments[kept.index("cup_1")], before.segments[before.index("cup_1")])


def test_nothing_lost_nothing_changed():
    scene = _scene(CENTRES, HALVES, {"box_1": True, "item_1": False, "cup_1": True})
    call = SkillCall(SkillType.PUSH, ("cup_1",), np.array([0.0, 0.05]))
    kept, carried = carry_occluded(scene, dataclasses.replace(scene), call, SkillStatus.OK)
    assert carried == [] and not kept.visible[kept.index("item_1")]  # never seen: nothing to remember
