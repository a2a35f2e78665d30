"""The learning baselines of A.16 behind one interface: shapes, bounds, what each one holds fixed."""

from __future__ import annotations

import math

import pytest
import torch
from test_inference import event, model  # noqa: F401  (module-scoped fixtures: a real transport failure)

from f2p_learner.inference import InferenceConfig, action_bounds, failure_tensors
from f2p_learner.learner import Fail2ProgressLearner, LearnerConfig
from f2p_learner.methods import (
    LEARNING_METHODS,
    METHODS,
    Method,
    MethodConfig,
    executive_settings,
    mean_pairwise_distance,
    propose,
)

CFG = InferenceConfig(particles=5, state_iterations=3, action_iterations=3)


@pytest.mark.parametrize("method", ["fail2progress", "gradient", "sampling", "small", "domain_randomization"])
def test_every_method_proposes_bounded_particles(method, event, model):  # noqa: F811
    ft = failure_tensors(event, model)
    p = propose(method, model, ft, CFG, MethodConfig(max_draws=128, batch=32))
    m = 20 if method == "small" else CFG.particles
    n = len(event.scene_before.names)
    assert p.states.shape == (m, n, 3) and p.actions.shape == (m, ft.params.shape[0])
    assert torch.all(p.states[:, ~ft.movable] == 0), "static objects never move"
    assert torch.all(p.states[..., :2].abs() <= CFG.max_offset + 1e-6)
    assert torch.all(p.states[..., 2].abs() <= math.pi / 4 + 1e-6)
    low, high = action_bounds(ft, p.states, CFG)  # each particle's placement follows its own state
    assert torch.all(p.actions >= low - 1e-6) and torch.all(p.actions <= high + 1e-6)
    assert 0.0 <= p.satisfaction <= 1.0 and 0.0 <= p.entropy <= math.log(2) + 1e-6
    assert set(p.times_s) == {"state_inference", "action_inference"}


def test_domain_randomization_holds_the_failed_action(event, model):  # noqa: F811
    ft = failure_tensors(event, model)
    p = propose("domain_randomization", model, ft, CFG)
    torch.testing.assert_close(p.actions, ft.params.expand(CFG.particles, -1))
    assert p.states[:, ft.movable].abs().sum() > 0


def test_sampling_counts_its_draws_and_keeps_what_meets_the_target(event, model):  # noqa: F811
    ft = failure_tensors(event, model)
    easy = propose("sampling", model, ft, CFG, MethodConfig(target_satisfaction=0.0, target_entropy=0.0, batch=8))
    # every draw meets a zero target: one batch of states, one action per state particle
    assert easy.draws == {"states": 8, "actions": CFG.particles}
    hard = propose("sampling", model, ft, CFG, MethodConfig(target_satisfaction=1.01, max_draws=64, batch=16))
    assert hard.draws["states"] == 64  # never met: gave up at max_draws, kept the best
    assert hard.states.shape[0] == CFG.particles


def test_the_same_seed_gives_the_same_particles(event, model):  # noqa: F811
    ft = failure_tensors(event, model)
    for method in ("small", "domain_randomization", "sampling"):
        a = propose(method, model, ft, CFG, MethodConfig(max_draws=64, batch=16))
        b = propose(method, model, ft, CFG, MethodConfig(max_draws=64, batch=16))
        torch.testing.assert_close(a.states, b.states)
        torch.testing.assert_close(a.actions, b.actions)


def test_executive_settings_and_unknown_names():
    assert executive_settings("original") == {"monitor": False, "max_replans": 0, "learn": False}
    assert executive_settings("replanning")["learn"] is False
    assert all(executive_settings(m)["learn"] for m in LEARNING_METHODS)
    assert set(METHODS) == {*LEARNING_METHODS, "original", "replanning"}
    with pytest.raises(ValueError, match="unknown method"):
        executive_settings("magic")
    with pytest.raises(ValueError, match="'original' does not learn"):
        Fail2ProgressLearner(None, "latest", LearnerConfig(method="original"))
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        Fail2ProgressLearner(None, "latest", LearnerConfig(method="magic"))
    assert Method.parse("fail2progress") is Method.FAIL2PROGRESS and Method.FAIL2PROGRESS.learns
    assert not Method.REPLANNING.learns


def test_mean_pairwise_distance():
    s = torch.zeros(3, 2, 3)
    s[1, 0, 0], s[2, 0, 1] = 0.3, 0.4
    movable = torch.tensor([True, False])
    expected = (0.3 + 0.4 + 0.5) * 2 / 6
    assert mean_pairwise_distance(s, movable) == pytest.approx(expected)
    assert mean_pairwise_distance(s[:1], movable) == 0.0
