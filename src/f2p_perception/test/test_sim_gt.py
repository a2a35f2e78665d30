"""The sim_gt backend: real clouds, simulator segmentation, stable identities."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillStatus
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim import tasks
from f2p_sim.skills import execute
from f2p_sim.world import World


def test_segments_boxes_and_identities_survive_a_pick_and_place():
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    world = World(sample.scene)
    perception = SimGroundTruthPerception(world, n_points=32)
    before = perception.perceive(np.random.default_rng(0))
    assert before.names == [n for n in sample.scene.names if n != "ground"]
    assert before.points.shape == (8, 32, 3) and before.visible.all()
    box = sample.skeleton[0].object_ids[0]
    k = before.index(box)
    seg = before.segments[k]
    assert np.all(seg >= before.box_lo[k] - 1e-6) and np.all(seg <= before.box_hi[k] + 1e-6)
    call = SkillCall(sample.skeleton[0].type, sample.skeleton[0].object_ids,
                     tasks.place_params(sample.scene, box, (0.3, 0.3), "table_B"))
    assert execute(world, call).status is SkillStatus.OK
    after = perception.perceive(np.random.default_rng(1))
    assert after.names == before.names and after.classes == before.classes
    moved = np.linalg.norm((after.box_lo[k] + after.box_hi[k]) / 2 - (before.box_lo[k] + before.box_hi[k]) / 2)
    assert moved > 0.3


def test_real2sim_input_and_bad_scenes():
    world = World(tasks.sample("organize", np.random.default_rng(1), 3).scene)
    scene = SimGroundTruthPerception(world, n_points=8).perceive(np.random.default_rng(0))
    segments, _ = scene.segment_dict()
    assert set(segments) == {n for n, v in zip(scene.names, scene.visible, strict=True) if v}
    with pytest.raises(KeyError, match="no object 'ghost'"):
        scene.index("ghost")
    with pytest.raises(ValueError, match="unique"):
        PerceivedScene(["a", "a"], ["cuboid"] * 2, np.zeros((2, 4, 3)), np.ones(2, bool), np.zeros((2, 3)),
                       np.zeros((2, 3)), [np.zeros((1, 3))] * 2)
