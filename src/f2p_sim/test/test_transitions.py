"""Recorded transitions: the documented fields and shapes, determinism, failures recorded."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import MAX_PARAMS, SKILL_NAMES, SkillCall, SkillType
from f2p_sim import tasks
from f2p_sim.scene import Scene
from f2p_sim.transitions import CLASS_NAMES, STATUS_NAMES, GenerationConfig, make_record, record_transition


def test_record_fields_and_shapes():
    config = GenerationConfig(distribution="transport", seed=1, n_objects=3, n_points=32)
    rec = make_record(config, 0)
    N, P = config.max_objects, config.n_points
    n = int(rec["n_objects"])
    assert n == 8  # 2 tables, the box, 3 items and 2 markers; the ground is left out
    assert rec["points_t"].shape == rec["points_t1"].shape == (N, P, 3) and rec["points_t"].dtype == np.float32
    assert rec["unary_t"].shape == (N, len(UNARY)) and rec["binary_t1"].shape == (N, N, len(BINARY))
    assert rec["params"].shape == (MAX_PARAMS,)
    assert rec["object_mask"].sum() == n and not rec["object_mask"][n:].any()
    assert not rec["binary_t"][n:].any() and not rec["points_t"][n:].any()
    names = list(rec["names"][:n])
    assert names[:2] == ["table_A", "table_B"] and CLASS_NAMES[rec["object_class"][0]] == "table"
    assert SKILL_NAMES[rec["skill"]] == "pick_place" and names[rec["acted"]].startswith(("bag", "container"))
    assert STATUS_NAMES[rec["status"]] == "ok"
    Scene.from_json(str(rec["scene_json"]))  # the scene before the skill, valid
    # the box moved by the skill: its position changed and its items moved with it (physics)
    assert np.linalg.norm(rec["pos_t1"][rec["acted"]] - rec["pos_t"][rec["acted"]]) > 0.1
    movable = UNARY.index("movable")
    assert rec["unary_t"][:2, movable].tolist() == [False, False] and rec["unary_t"][2:n, movable].all()


def test_same_seed_and_index_give_identical_records():
    config = GenerationConfig(distribution="pretrain", seed=5, n_points=16)
    a, b, c = make_record(config, 3), make_record(config, 3), make_record(config, 4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["points_t"], c["points_t"])


def test_failed_execution_is_recorded_with_its_status():
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    box = sample.skeleton[0].object_ids[0]
    far = SkillCall(SkillType.PICK_PLACE, (box, "table_B"), [5.0, 5.0, 0.0, 0.0])  # out of every reach
    rec = record_transition(sample.scene, far, GenerationConfig(n_points=16), np.random.default_rng(0))
    assert STATUS_NAMES[rec["status"]] == "unreachable"
    np.testing.assert_allclose(rec["pos_t1"], rec["pos_t"], atol=2e-3)  # nothing moved


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="unknown distribution"):
        GenerationConfig(distribution="nope")
    with pytest.raises(ValueError, match="unknown camera"):
        GenerationConfig(camera="view9")
    with pytest.raises(ValueError, match="more than max_objects"):
        make_record(GenerationConfig(distribution="organize", n_objects=7, max_objects=5, n_points=8), 0)
