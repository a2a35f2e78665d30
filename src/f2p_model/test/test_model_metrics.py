"""Relation F1 on hand-made arrays with known answers; model F1 plumbing on a tiny model."""

from __future__ import annotations

import pytest
import torch
from f2p_model_testlib import make_batch, tiny_config

from f2p_model.metrics import RelationF1, model_relation_f1, relation_f1
from f2p_model.model import SkillEffectModel

U_NAMES = ("u0", "u1")
B_NAMES = ("b0", "b1", "b2")


def _scene(seed: int = 0, n: int = 3):
    """Random ground truth for one scene of n real objects (+1 padded), valid entries only."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.tensor([[True] * n + [False]])
    unary = torch.rand(1, n + 1, 2, generator=g) > 0.5
    binary = torch.rand(1, n + 1, n + 1, 3, generator=g) > 0.5
    unary[:, n:] = False
    binary[:, n:], binary[:, :, n:] = False, False
    binary[:, torch.arange(n + 1), torch.arange(n + 1)] = False
    unary[0, 0, :], binary[0, 0, 1, :] = True, True  # every relation occurs at least once
    return unary, binary, mask


def test_perfect_prediction_scores_one():
    unary, binary, mask = _scene()
    r = relation_f1(unary.float(), binary.float(), unary, binary, mask, U_NAMES, B_NAMES)
    assert r["macro_f1"] == 1.0 and r["n_occurring"] == 5
    assert all(v["f1"] == 1.0 and v["fp"] == 0 and v["fn"] == 0 for v in r["per_relation"].values())


def test_all_wrong_scores_zero():
    unary, binary, mask = _scene()
    r = relation_f1(1 - unary.float(), 1 - binary.float(), unary, binary, mask, U_NAMES, B_NAMES)
    assert r["macro_f1"] == 0.0
    assert all(v["f1"] == 0.0 and v["tp"] == 0 for v in r["per_relation"].values())


def test_padding_and_diagonal_are_ignored():
    unary, binary, mask = _scene()
    ref = relation_f1(unary.float(), binary.float(), unary, binary, mask, U_NAMES, B_NAMES)
    pu, pb = unary.float().clone(), binary.float().clone()
    pu[0, 3] = 1.0  # padded object predicted true everywhere
    pb[0, 3, :], pb[0, :, 3] = 1.0, 1.0  # pairs with the padded object
    pb[0, torch.arange(4), torch.arange(4)] = 1.0  # the diagonal
    assert relation_f1(pu, pb, unary, binary, mask, U_NAMES, B_NAMES) == ref


def test_known_counts_and_threshold():
    mask = torch.tensor([[True, True, True]])
    unary = torch.tensor([[[True, False], [True, False], [False, False]]])
    # u0: object 0 right (tp), object 1 missed (fn, 0.49 < 0.5), object 2 false alarm (fp, 0.5 counts as true)
    pu = torch.tensor([[[0.9, 0.0], [0.49, 0.0], [0.5, 0.0]]])
    binary = torch.zeros(1, 3, 3, 3, dtype=torch.bool)
    binary[0, 0, 1, 0] = True
    pb = torch.zeros(1, 3, 3, 3)
    pb[0, 0, 1, 0] = 1.0
    pb[0, 1, 0, 2] = 1.0  # b2 never holds but is predicted once
    r = relation_f1(pu, pb, unary, binary, mask, U_NAMES, B_NAMES)
    u0 = r["per_relation"]["u0"]
    assert (u0["tp"], u0["fp"], u0["fn"]) == (1, 1, 1)
    assert u0["f1"] == pytest.approx(0.5) and u0["precision"] == 0.5 and u0["recall"] == 0.5
    assert r["per_relation"]["u1"]["f1"] is None  # never true, never predicted: undefined
    assert r["per_relation"]["b2"]["f1"] == 0.0 and r["per_relation"]["b2"]["support"] == 0
    # macro over the relations that occur (u0, b0) only
    assert r["n_occurring"] == 2
    assert r["macro_f1"] == pytest.approx((0.5 + 1.0) / 2)
    assert r["unary_macro_f1"] == pytest.approx(0.5) and r["binary_macro_f1"] == 1.0


def test_accumulating_batches_equals_one_big_batch():
    u1, b1, m1 = _scene(1)
    u2, b2, m2 = _scene(2)
    g = torch.Generator().manual_seed(3)
    p = [torch.rand(u1.shape, generator=g), torch.rand(b1.shape, generator=g),
         torch.rand(u2.shape, generator=g), torch.rand(b2.shape, generator=g)]
    acc = RelationF1(U_NAMES, B_NAMES).update(p[0], p[1], u1, b1, m1).update(p[2], p[3], u2, b2, m2)
    whole = relation_f1(torch.cat([p[0], p[2]]), torch.cat([p[1], p[3]]), torch.cat([u1, u2]),
                        torch.cat([b1, b2]), torch.cat([m1, m2]), U_NAMES, B_NAMES)
    assert acc.compute() == whole


def test_model_f1_kinds_and_copy_baseline():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = SkillEffectModel(cfg).train()
    batch = make_batch(cfg, b=6, n=4, seed=0, n_real=[4, 3, 2, 4, 4, 3])
    scores = model_relation_f1(model, [batch])
    assert set(scores) == {"detection", "prediction", "copy_baseline"}
    assert model.training  # mode restored
    for s in scores.values():
        f1 = s.compute()["macro_f1"]
        assert f1 is not None and 0.0 <= f1 <= 1.0
    # With nothing moving, the copy baseline is perfect.
    still = dict(batch, unary_t1=batch["unary_t"], binary_t1=batch["binary_t"])
    assert model_relation_f1(model, [still])["copy_baseline"].compute()["macro_f1"] == 1.0
