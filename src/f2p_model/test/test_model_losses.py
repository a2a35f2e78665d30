"""The A.11 losses: masking, finite gradients, and that a tiny batch can be fitted."""

from __future__ import annotations

import pytest
import torch
from f2p_model_testlib import make_batch, tiny_config

from f2p_model.config import LossConfig
from f2p_model.losses import BATCH_KEYS, latent_regularization, position_loss, relation_loss, transition_loss
from f2p_model.model import SkillEffectModel


def test_overfit_tiny_batch_decreases_every_loss():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = SkillEffectModel(cfg)
    batch = make_batch(cfg, b=8, n=4, seed=0, n_real=[4, 4, 3, 3, 2, 4, 4, 3])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)  # a toy model on 8 transitions: large steps
    history = []
    for _ in range(60):
        loss, parts = transition_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(parts)
    first, last = history[0], history[-1]
    for name, factor in (("total", 0.5), ("detection", 0.7), ("prediction", 0.7), ("position", 0.5)):
        assert last[name] < factor * first[name], (name, first[name], last[name])
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)


def test_regularization_pulls_the_prediction_to_the_next_encoding():
    """δX starts at zero (ModelConfig.dyn_out_proj): X'_{t+1} = X_t, the "nothing moves" guess.
    Trained on L_regularization alone, the dynamics must land much closer to Enc(O_{t+1})."""
    torch.manual_seed(0)
    cfg = tiny_config()
    model = SkillEffectModel(cfg)
    batch = make_batch(cfg, b=8, n=4, seed=0, n_real=[4, 4, 3, 3, 2, 4, 4, 3])
    with torch.no_grad():
        target = model.encode(batch["points_t1"], batch["mask"])
    params = [*model.param_mlp.parameters(), *model.dynamics_nets.parameters(), *model.dynamics_out.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    losses = []
    for _ in range(60):
        out = model(batch["points_t"], batch["mask"], batch["skill"], batch["acted"], batch["params"])
        loss = latent_regularization(out.latent_next, target, batch["mask"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_relation_loss_ignores_padding_and_diagonal():
    torch.manual_seed(0)
    mask = torch.tensor([[True, True, False]])
    u_logits, b_logits = torch.randn(1, 3, 3), torch.randn(1, 3, 3, 10)
    u, b = torch.rand(1, 3, 3) > 0.5, torch.rand(1, 3, 3, 10) > 0.5
    ref = relation_loss(u_logits, b_logits, u, b, mask)
    u2, b2 = u.clone(), b.clone()
    u2[0, 2] = ~u2[0, 2]  # padded object
    b2[0, 2] = ~b2[0, 2]
    b2[0, :, 2] = ~b2[0, :, 2]
    b2[0, 0, 0] = ~b2[0, 0, 0]  # diagonal
    torch.testing.assert_close(relation_loss(u_logits, b_logits, u2, b2, mask), ref)


def test_position_loss_matches_formula_and_has_finite_gradient_at_zero():
    cfg = LossConfig()
    pos_t = torch.zeros(1, 2, 3)
    pos_t1 = torch.tensor([[[0.3, 0.4, 0.0], [0.0, 0.0, 0.0]]])
    delta = torch.zeros(1, 2, 3, requires_grad=True)
    loss = position_loss(delta, pos_t, pos_t1, torch.tensor([[True, True]]), cfg)
    expected = (5.0 * (12.0 * 0.5) ** 0.5 + 5.0 * (12.0 * 1e-6) ** 0.5) / 2  # object 2's error is exactly 0
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    loss.backward()
    assert torch.isfinite(delta.grad).all() and (delta.grad[0, 1] == 0).all()


def test_position_loss_power_sets_how_the_loss_grows_with_the_error():
    """p = 1 is linear in the error (b·a·||e||); p = 0.5 (A.11) pulls hardest on the smallest errors."""
    pos_t, mask = torch.zeros(1, 2, 3), torch.tensor([[True, True]])
    pos_t1 = torch.tensor([[[0.3, 0.4, 0.0], [0.01, 0.0, 0.0]]])  # errors 0.5 and 0.01 m at δp = 0
    grads = {}
    for power in (0.5, 1.0):
        delta = torch.zeros(1, 2, 3, requires_grad=True)
        loss = position_loss(delta, pos_t, pos_t1, mask, LossConfig(pos_power=power))
        if power == 1.0:
            assert loss.item() == pytest.approx(5.0 * 12.0 * (0.5 + 0.01) / 2, rel=1e-4)
        loss.backward()
        grads[power] = delta.grad[0].norm(dim=-1)  # per object
    assert grads[0.5][1] > 5 * grads[0.5][0]  # concave: the small error pulls harder
    torch.testing.assert_close(grads[1.0][0], grads[1.0][1])  # linear: every error alike
    with pytest.raises(ValueError, match="pos_power"):
        LossConfig(pos_power=0.0)


def test_stop_grad_target_changes_encoder_gradient():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = SkillEffectModel(cfg)
    batch = make_batch(cfg, b=4, n=3, seed=1)
    grads = []
    for stop in (True, False):
        model.zero_grad()
        only_reg = LossConfig(w_detection=0, w_position=0, w_prediction=0, stop_grad_target=stop)
        transition_loss(model, batch, only_reg)[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.encoder.parameters()]))
    assert (grads[0] - grads[1]).abs().max() > 0


def test_missing_batch_key_is_named():
    cfg = tiny_config()
    batch = make_batch(cfg, b=2, n=2)
    del batch["pos_t1"]
    with pytest.raises(KeyError, match="pos_t1"):
        transition_loss(SkillEffectModel(cfg), batch)
    assert "pos_t1" in BATCH_KEYS


def test_relation_pos_weights_count_real_entries_only():
    import torch

    from f2p_model.losses import relation_pos_weights

    mask = torch.tensor([[True, True, True, False]])  # 3 real objects -> 6 ordered pairs
    unary = torch.zeros(1, 4, 2, dtype=torch.bool)
    unary[0, 0, 0] = True  # 1 of 3 real objects: weight 2
    unary[0, 3, 1] = True  # padding only: never holds -> 1
    binary = torch.zeros(1, 4, 4, 1, dtype=torch.bool)
    binary[0, 0, 1, 0] = True  # 1 of 6 pairs: weight 5, capped at 4
    binary[0, 2, 2, 0] = True  # the diagonal does not count
    uw, bw = relation_pos_weights(unary, binary, mask, cap=4.0)
    assert uw == (2.0, 1.0) and bw == (4.0,)
