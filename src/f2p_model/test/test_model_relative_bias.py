"""Dyn's relative-geometry attention bias (`ModelConfig.dyn_relative_bias`): A.11's transformer at
initialisation, offsets not places, a real effect once trained, and a parent without it upgraded."""

from __future__ import annotations

import pytest
import torch
from f2p_model_testlib import make_batch, tiny_config

from f2p_model.losses import transition_loss
from f2p_model.model import SkillEffectModel, segment_centroids, with_relative_bias


def _pair(seed: int = 0) -> tuple[SkillEffectModel, SkillEffectModel]:
    """A.11's model with acting dynamics, and the same weights with a fresh relative-geometry bias."""
    torch.manual_seed(seed)
    plain = SkillEffectModel(tiny_config())
    for lin in plain.dynamics_out.values():
        torch.nn.init.normal_(lin.weight, std=0.2)
    return plain.eval(), with_relative_bias(plain).eval()


def _acting_bias(model: SkillEffectModel) -> SkillEffectModel:
    for mlp in model.dynamics_bias.values():
        torch.nn.init.normal_(mlp[-1].weight, std=1.0)
    return model


def test_a_fresh_bias_is_the_transformer_of_a11():
    plain, biased = _pair()
    b = make_batch(plain.config, b=4, n=5, seed=1, n_real=[5, 4, 3, 5])
    params = torch.randn(3, 2, plain.config.max_param_dim) * 0.2
    with torch.no_grad():
        a = plain(b["points_t"], b["mask"], b["skill"], b["acted"], b["params"])
        c = biased(b["points_t"], b["mask"], b["skill"], b["acted"], b["params"])
        ra = plain.rollout_many(b["points_t"][0], b["mask"][0], torch.tensor([0, 1]), torch.tensor([2, 0]), params)
        rc = biased.rollout_many(b["points_t"][0], b["mask"][0], torch.tensor([0, 1]), torch.tensor([2, 0]), params)
    torch.testing.assert_close(c.latent_next, a.latent_next, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c.delta_pos, a.delta_pos, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rc.binary, ra.binary, atol=1e-5, rtol=1e-5)
    assert (c.latent_next - c.latent).abs().max() > 1e-3  # the dynamics act: the comparison means something


def test_the_bias_reads_offsets_between_objects_not_their_places():
    _, biased = _pair()
    biased = _acting_bias(biased)
    b = make_batch(biased.config, b=3, n=4, seed=2)
    x = biased.encode(b["points_t"], b["mask"])
    pos = segment_centroids(b["points_t"], b["mask"])
    args = (x, b["mask"], b["skill"], b["acted"], b["params"])
    with torch.no_grad():
        base, _ = biased.dynamics(*args, pos)
        shifted, _ = biased.dynamics(*args, pos + torch.tensor([0.7, -0.3, 0.2]))
        one_moved = pos.clone()
        one_moved[:, 1] += torch.tensor([0.0, 0.05, 0.0])
        changed, _ = biased.dynamics(*args, one_moved)
    torch.testing.assert_close(shifted, base, atol=1e-5, rtol=1e-5)
    assert (changed - base).abs().max() > 1e-3
    with pytest.raises(ValueError, match="centroids"):
        biased.dynamics(*args)


def test_the_bias_is_trained_by_the_loss_of_a11():
    _, biased = _pair()
    biased.train()
    b = make_batch(biased.config, b=4, n=4, seed=3)
    loss, _ = transition_loss(biased, b)
    loss.backward()
    assert any(mlp[-1].weight.grad.abs().max() > 0 for mlp in biased.dynamics_bias.values())


def test_upgrading_keeps_every_weight_and_refuses_a_model_that_has_the_bias():
    plain, biased = _pair()
    state = biased.state_dict()
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(state[key], value)
    assert biased.config.dyn_relative_bias and not plain.config.dyn_relative_bias
    assert {k.split(".")[0] for k in state if k not in plain.state_dict()} == {"dynamics_bias"}
    with pytest.raises(ValueError, match="already"):
        with_relative_bias(biased)
