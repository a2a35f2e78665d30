"""Configs: A.11 defaults, JSON round trip, __post_init__ errors."""

from __future__ import annotations

import json

import pytest
from f2p_model_testlib import tiny_config

from f2p_model.config import (
    EncoderConfig,
    LossConfig,
    ModelConfig,
    SetAbstractionConfig,
    TrainConfig,
)


def test_defaults_follow_a11():
    cfg = ModelConfig()
    sas = cfg.encoder.set_abstractions
    layers = [(sa.npoint, sa.nsample, sa.bandwidth, sa.mlp[-1]) for sa in sas[:2]]
    assert layers == [(128, 8, 0.1, 32), (16, 16, 0.2, 64)]
    assert sas[2].group_all and sas[2].bandwidth == 0.4 and sas[2].mlp[-1] == 128
    assert (cfg.feat_dim, cfg.id_dim, cfg.latent_dim) == (128, 128, 256)
    assert (cfg.dyn_layers, cfg.dyn_heads, cfg.param_hidden, cfg.dec_hidden) == (2, 2, 128, 64)
    assert (cfg.dec_p_layers, cfg.dec_u_layers, cfg.dec_b_layers) == (3, 2, 3)
    assert (cfg.n_unary, cfg.n_binary, cfg.max_param_dim) == (3, 10, 4)
    assert (LossConfig().pos_a, LossConfig().pos_b) == (12.0, 5.0)
    # pre-training departs from A.11's constant Adam 1e-4 (TrainConfig.lr says why)
    assert (TrainConfig().lr, TrainConfig().schedule) == (3e-4, "cosine")


def test_cosine_learning_rate_runs_from_peak_to_the_final_ratio():
    from f2p_model.train import learning_rate

    cfg = TrainConfig(lr=1e-3, lr_final_ratio=0.1)
    assert learning_rate(cfg, 0, 100) == pytest.approx(1e-3)
    assert learning_rate(cfg, 50, 100) == pytest.approx(0.55e-3)
    assert learning_rate(cfg, 100, 100) == pytest.approx(1e-4)
    assert learning_rate(TrainConfig(lr=1e-3, schedule="constant"), 70, 100) == 1e-3
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="step")


@pytest.mark.parametrize(
    "config", [ModelConfig(), tiny_config(), LossConfig(stop_grad_target=False), TrainConfig(seed=3)]
)
def test_json_round_trip(config):
    data = json.loads(json.dumps(config.to_dict()))
    back = type(config).from_dict(data)
    assert back == config
    assert back.to_dict() == config.to_dict()


def test_round_trip_restores_tuples_and_nested():
    back = ModelConfig.from_dict(json.loads(json.dumps(ModelConfig().to_dict())))
    assert isinstance(back.skill_types, tuple)
    assert isinstance(back.encoder.set_abstractions[0], SetAbstractionConfig)
    assert isinstance(back.encoder.set_abstractions[0].mlp, tuple)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown keys.*n_layers"):
        ModelConfig.from_dict({"n_layers": 3})


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ModelConfig(dyn_heads=3), "not divisible by dyn_heads"),
        (lambda: ModelConfig(param_dims={"push": 2}), "param_dims keys"),
        (lambda: ModelConfig(n_points=64), "fewer than the first layer"),
        (lambda: ModelConfig(id_dim=127), "id_dim must be even"),
        (lambda: ModelConfig(skill_types=("push", "push"), param_dims={"push": 2}), "unique"),
        (lambda: ModelConfig(dec_u_layers=1), "dec_u_layers"),
        (lambda: SetAbstractionConfig(npoint=4, group_all=True), "group_all layer has npoint 1"),
        (lambda: SetAbstractionConfig(bandwidth=0.0), "bandwidth"),
        (lambda: EncoderConfig(set_abstractions=(SetAbstractionConfig(),)), "must be group_all"),
        (lambda: EncoderConfig(gn_groups=3), "not divisible by gn_groups"),
        (
            lambda: EncoderConfig(
                set_abstractions=(
                    SetAbstractionConfig(npoint=16, nsample=4),
                    SetAbstractionConfig(npoint=32, nsample=4),
                    SetAbstractionConfig(npoint=1, group_all=True),
                )
            ),
            "cannot draw from 16 points",
        ),
        (lambda: LossConfig(pos_eps=0.0), "pos_eps"),
        (lambda: LossConfig(w_position=-1.0), "w_position"),
        (lambda: TrainConfig(lr=0.0), "lr must be > 0"),
        (lambda: TrainConfig(batch_size=0), "batch_size"),
    ],
)
def test_post_init_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
