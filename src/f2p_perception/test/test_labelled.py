"""scene_from_labelled_cloud: the graph's sim_gt backend sees what the in-process one sees."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_perception.labelled import scene_from_labelled_cloud
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim import tasks
from f2p_sim.observe import observe
from f2p_sim.world import World


def test_same_segments_and_boxes_as_sim_gt_from_the_same_cloud():
    world = World(tasks.sample("organize", np.random.default_rng(2), 3, real=True).scene)
    perception = SimGroundTruthPerception(world, n_points=32, noise_sigma=0.002)
    reference = perception.perceive(np.random.default_rng(5))
    # The cloud the robot would publish: the same render and noise (same generator seed).
    obs = observe(world.model, world.data, perception.camera, world.geom_object_index, len(world.object_names),
                  n_points=32, noise_sigma=0.002, rng=np.random.default_rng(5), max_candidates=1024)
    lookup = np.full(len(world.object_names) + 1, -1)  # world object index -> label-map index, ground -1
    lookup[perception.objects] = np.arange(len(perception.objects))
    labels = lookup[obs.labels]
    scene = scene_from_labelled_cloud(obs.points, labels, reference.names, reference.classes, n_points=32,
                                      rng=np.random.default_rng(0))
    assert scene.names == reference.names and scene.classes == reference.classes
    assert np.array_equal(scene.visible, reference.visible)
    assert np.array_equal(scene.box_lo, reference.box_lo) and np.array_equal(scene.box_hi, reference.box_hi)
    for a, b in zip(scene.segments, reference.segments, strict=True):
        assert np.array_equal(a, b)
    assert scene.points.shape == reference.points.shape
    for k, seg in enumerate(scene.segments):
        if len(seg):  # the fixed-size samples are points of the segment
            assert (scene.points[k][:, None, :] == seg[None]).all(axis=2).any(axis=1).all()


def test_hidden_objects_empty_label_maps_and_bad_input():
    pts = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    labels = np.r_[np.zeros(20, int), np.full(30, -1)]
    scene = scene_from_labelled_cloud(pts, labels, ["cube_1", "cup_1"], ["cuboid", "cup"], n_points=8)
    assert scene.visible.tolist() == [True, False] and not scene.points[1].any() and len(scene.segments[1]) == 0
    assert np.array_equal(scene.segments[0], pts[:20])
    empty = scene_from_labelled_cloud(pts, np.full(50, -1), [], [], n_points=8)
    assert empty.names == [] and empty.points.shape == (0, 8, 3)
    nan = pts.copy()
    nan[3, 0] = np.nan
    for args, match in (
        ((nan, labels), "1 non-finite points"),
        ((np.zeros((0, 3)), np.zeros(0, int)), "cloud is empty"),
        ((pts[:, :2], labels), r"must be \(P, 3\)"),
        ((pts, labels[:10]), r"labels must be \(50,\) integers"),
        ((pts, labels.astype(float)), "integers"),
        ((pts, np.r_[labels[:-1], 2]), r"lie in \[-1, 2\)"),
    ):
        with pytest.raises(ValueError, match=match):
            scene_from_labelled_cloud(*args, ["cube_1", "cup_1"], ["cuboid", "cup"])
    with pytest.raises(ValueError, match="2 ids but 1 classes"):
        scene_from_labelled_cloud(pts, labels, ["cube_1", "cup_1"], ["cuboid"])
