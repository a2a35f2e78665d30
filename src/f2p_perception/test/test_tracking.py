"""Identity tracking: names survive a moved object, a moved group, a hidden object (issue 8)."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.skills import SkillCall, SkillStatus
from f2p_perception.evaluate import match_segments
from f2p_perception.perception import SimCameraPerception
from f2p_perception.tracking import IdentityTracker, TrackerConfig
from f2p_sim import tasks
from f2p_sim.skills import execute
from f2p_sim.world import World

CLASSES = ["table", "cup", "cup", "capsule"]
CENTRES = np.array([[0.4, -0.3, 0.2], [0.3, -0.2, 0.5], [0.3, -0.4, 0.5], [0.45, -0.3, 0.47]])


def test_first_frame_names_by_class_and_a_static_scene_keeps_them():
    tr = IdentityTracker()
    names = tr.assign(CLASSES, CENTRES)
    assert sorted(names) == ["capsule_1", "cup_1", "cup_2", "table_1"]
    order = np.random.default_rng(0).permutation(4)  # segments come in any order
    again = tr.assign([CLASSES[i] for i in order], CENTRES[order] + 0.005)
    assert again == [names[i] for i in order]


def test_the_moved_object_and_a_moved_group_keep_their_names():
    tr = IdentityTracker()
    names = tr.assign(CLASSES, CENTRES)
    moved = CENTRES.copy()
    moved[1] += [0.05, 0.6, 0.0]  # a cup carried to the other table
    assert tr.assign(CLASSES, moved) == names
    group = moved.copy()
    group[[2, 3]] += [0.1, 0.5, 0.0]  # a cup and the capsule in it, moved together
    assert tr.assign(CLASSES, group) == names


def test_new_objects_get_fresh_names_and_hidden_ones_come_back():
    tr = IdentityTracker(TrackerConfig(max_missed=2))
    names = tr.assign(CLASSES, CENTRES)
    hidden = tr.assign(CLASSES[:3], CENTRES[:3])  # the capsule disappears into its cup
    assert hidden == names[:3]
    back = tr.assign(CLASSES, CENTRES)
    assert back == names
    more = tr.assign([*CLASSES, "cup"], np.r_[CENTRES, [[0.6, 0.3, 0.5]]])
    assert more[:4] == names and more[4] == "cup_3"
    with pytest.raises(ValueError, match="classes"):
        tr.assign(["cup"], CENTRES)


def test_given_names_are_kept_and_numbering_continues_after_them():
    tr = IdentityTracker()
    assert tr.assign(["cup", "cup"], CENTRES[1:3], names=["cup_4", "mug"]) == ["cup_4", "mug"]
    assert tr.assign(["cup"] * 3, np.r_[CENTRES[1:3], [[0.9, 0.9, 0.5]]]) == ["cup_4", "mug", "cup_5"]


def test_identities_survive_a_pick_and_place_with_the_geometric_backend():
    sample = tasks.sample("organize", np.random.default_rng(2), 3)
    world = World(sample.scene)
    perception = SimCameraPerception(world, "geometric", n_points=16)

    def names_by_object() -> dict[str, str]:
        scene = perception.perceive(np.random.default_rng(0))
        obs, seg = perception.last_observation, perception.perception.last
        m = match_segments(obs.flat_labels(), obs.label_names, obs.label_classes, seg.labels, len(seg))
        return {g: scene.names[p] for g, p in m.pairs.items()}

    before = names_by_object()
    cup = "cup_1"
    call = SkillCall(sample.skeleton[-1].type, (cup, "table_B"),
                     tasks.place_params(world.to_scene(), cup, (0.35, 0.3), "table_B"))
    assert execute(world, call).status is SkillStatus.OK
    after = names_by_object()
    common = set(before) & set(after)
    assert cup in common and len(common) >= len(before) - 1
    assert all(before[g] == after[g] for g in common), {g: (before[g], after[g]) for g in common}
