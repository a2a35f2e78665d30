"""The geometric backend on rendered scenes with known answers (issue 8)."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_perception.evaluate import match_segments
from f2p_perception.geometric import GeometricBackend, GeometricConfig
from f2p_perception.observation import CameraObservation
from f2p_perception.shape_class import ShapeContext, classify_segment
from f2p_perception.simcam import SimCamera
from f2p_sim import scenes, tasks
from f2p_sim.world import World


def _segment(scene, **params):
    obs = SimCamera(World(scene)).observe()
    seg = GeometricBackend(**params).segment(obs)
    m = match_segments(obs.flat_labels(), obs.label_names, obs.label_classes, seg.labels, len(seg))
    return obs, seg, m


@pytest.mark.parametrize("task, seed, n", [("transport", 0, 5), ("organize", 2, 3), ("packing", 0, 5)])
def test_every_visible_object_is_one_segment(task, seed, n):
    """Items packed 12 mm apart in a container, capsules inside cups, books on a shelf board."""
    _, seg, m = _segment(tasks.sample(task, np.random.default_rng(seed), n).scene)
    assert set(m.pairs) == set(m.gt_names), f"missed {set(m.gt_names) - set(m.pairs)}"
    assert min(m.ious.values()) >= 0.5
    classes = {g: seg.classes[p] for g, p in m.pairs.items()}
    assert classes["table_A"] == classes["table_B"] == "table"
    if task == "packing":
        assert classes["shelf_1"] == "shelf" and all(classes[f"book_{i}"] == "cuboid" for i in range(1, n + 1))
    if task == "organize":
        assert all(c == "cup" for g, c in classes.items() if g.startswith("cup"))
    assert np.all((seg.confidences > 0) & (seg.confidences <= 1))


def test_boxes_rest_on_the_table_and_cover_their_segment():
    _, seg, m = _segment(tasks.sample("transport", np.random.default_rng(0), 3).scene)
    lo, hi = seg.boxes()
    box = m.pairs["container_1"]
    assert lo[box, 2] == pytest.approx(0.45, abs=1e-3)  # set down on the table top (step 5)
    pts = seg.segment(box)
    assert np.all(pts >= lo[box] - 1e-6) and np.all(pts <= hi[box] + 1e-6)


def test_cabinet_and_closed_drawer_come_out_as_one_cabinet():
    """The measured weakness, handled as documented: the closed drawer's front is flush with the
    cabinet, so both are one segment of class cabinet (the cube on top stays separate)."""
    obs, seg, m = _segment(scenes.example_drawer_scene())
    assert seg.classes[m.pairs["cabinet_1"]] == "cabinet"
    assert "drawer_1" not in m.pairs and "cube_2" in m.pairs
    drawer = obs.label_names.index("drawer_1")
    assert np.all(seg.labels[obs.flat_labels() == drawer] == m.pairs["cabinet_1"])


def test_an_unorganised_cloud_is_segmented_too():
    obs = SimCamera(World(tasks.sample("organize", np.random.default_rng(2), 3).scene)).observe()
    flat = CameraObservation(obs.flat_points(), labels=obs.flat_labels(), label_names=obs.label_names,
                             label_classes=obs.label_classes)
    seg = GeometricBackend().segment(flat)
    m = match_segments(flat.flat_labels(), obs.label_names, obs.label_classes, seg.labels, len(seg))
    assert len(m.pairs) >= m.n_gt - 1  # no pixel grid: grazing sides may fall apart, objects are still found


def test_segmentation_is_reproducible():
    scene = tasks.sample("packing", np.random.default_rng(1), 3).scene
    a, b = _segment(scene)[1], _segment(scene)[1]
    assert np.array_equal(a.labels, b.labels) and a.classes == b.classes


def test_shape_classes_from_synthetic_geometry():
    rng = np.random.default_rng(0)
    ctx = ShapeContext()
    # A cube seen from above: top and one side, flat faces 90° apart.
    top = np.c_[rng.uniform(0, 0.05, (60, 2)), np.full(60, 0.5)]
    side = np.c_[np.zeros(40), rng.uniform(0, 0.05, 40), rng.uniform(0.45, 0.5, 40)]
    pts = np.r_[top, side]
    nrm = np.r_[np.tile([0, 0, 1.0], (60, 1)), np.tile([-1.0, 0, 0], (40, 1))]
    assert classify_segment(pts, nrm, pts.min(0), pts.max(0), ctx)[0] == "cuboid"
    # A round side (cylinder with a flat top) and a capsule (no flat top).
    ang = rng.uniform(-np.pi / 2, np.pi / 2, 80) + np.pi
    ring = np.c_[0.02 * np.cos(ang), 0.02 * np.sin(ang), rng.uniform(0.45, 0.52, 80)]
    ring_n = np.c_[np.cos(ang), np.sin(ang), np.zeros(80)]
    cap = np.c_[rng.uniform(-0.015, 0.015, (30, 2)), np.full(30, 0.52)]
    pts = np.r_[ring, cap]
    assert classify_segment(pts, np.r_[ring_n, np.tile([0, 0, 1.0], (30, 1))], pts.min(0), pts.max(0),
                            ctx)[0] == "cylinder"
    assert classify_segment(ring, ring_n, ring.min(0), ring.max(0), ctx)[0] == "capsule"
    few = np.zeros((5, 3))
    assert classify_segment(few, np.tile([0, 0, 1.0], (5, 1)), few.min(0), few.max(0) + 0.02, ctx) == ("capsule", 0.3)


def test_config_checks():
    with pytest.raises(ValueError, match="grazing_distance"):
        GeometricConfig(eps=0.05)
    with pytest.raises(ValueError, match="not both"):
        GeometricBackend(GeometricConfig(), eps=0.01)
