"""Scores: IoU matching, perceived relations, a scored task trial (sim_gt is the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.relations import BINARY, UNARY
from f2p_perception.evaluate import TrialConfig, match_segments, perceived_relations, run_trial, summarise
from f2p_perception.perception import Perception
from f2p_perception.simcam import SimCamera
from f2p_sim import tasks
from f2p_sim.world import World


def test_iou_matching_counts_splits_merges_and_misses():
    names, classes = ("ground", "a", "b", "c"), ("ground", "cuboid", "cuboid", "cup")
    gt = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3])
    # a and c: exact; b: cut in two halves (IoU 0.5: matched, the other half is a spurious segment).
    pred = np.array([-1, -1, 0, 0, 0, 0, 1, 1, 2, 2, 3])
    m = match_segments(gt, names, classes, pred, 4)
    assert m.gt_names == ["a", "b", "c"] and m.n_pred == 4 and m.n_invisible == 0
    assert m.pairs["a"] == 0 and m.ious["a"] == 1.0
    assert m.ious["b"] == pytest.approx(0.5) and m.pairs["c"] == 3
    two = match_segments(gt, names, classes, pred, 4, min_gt_points=2)
    assert two.gt_names == ["a", "b"] and two.n_invisible == 1
    with pytest.raises(ValueError, match="different points"):
        match_segments(gt, names, classes, pred[:-1], 4)


def test_perceived_relations_of_sim_gt_boxes():
    world = World(tasks.sample("organize", np.random.default_rng(2), 3).scene)
    scene = Perception("sim_gt", n_points=8).perceive(SimCamera(world, width=160, height=120).observe())
    unary, binary = perceived_relations(scene)
    n = len(scene.names)
    assert unary.shape == (n, len(UNARY)) and binary.shape == (n, n, len(BINARY))
    i, j = scene.index("cup_1"), scene.index("table_A")
    assert binary[i, j, BINARY.index("on")] and unary[i, UNARY.index("movable")] and not unary[j, 0]


def test_a_trial_with_sim_gt_is_the_perfect_reference():
    result = run_trial(TrialConfig(backend="sim_gt", task="organize", n_objects=3, seed=3, width=160, height=120))
    assert result.observations == 1 + len(result.statuses) and result.n_gt > 0
    s = summarise([result])
    assert s["precision"] == s["recall"] == s["class_accuracy"] == s["identity_consistency"] == 1.0
    assert 0.7 < s["relation_macro_f1"] <= 1.0  # boxes of a partial view, no contacts: not 1
    assert set(s["relation_f1"]) == set(UNARY + BINARY)


def test_a_trial_with_the_geometric_backend_scores_every_field():
    result = run_trial(TrialConfig(backend="geometric", task="transport", n_objects=3, seed=0))
    s = summarise([result])
    for key in ("precision", "recall", "class_accuracy", "identity_consistency", "relation_macro_f1"):
        assert 0.0 <= s[key] <= 1.0, key
    assert s["recall"] >= 0.75 and s["perceive_ms"] > 0
