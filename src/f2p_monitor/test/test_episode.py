"""The open-loop trial: perceive, plan with the model, execute in the "real" world, judge by
ground-truth relations. A random-weight model cannot be trusted to succeed, so the test checks
the mechanics and the judgement, not the rate."""

from __future__ import annotations

import pytest
import torch

from f2p_model.config import tiny_model_config
from f2p_model.model import SkillEffectModel
from f2p_monitor.episode import EpisodeConfig, run_episode
from f2p_monitor.stats import wilson_interval
from f2p_planner.planner import PlannerConfig


def _tiny_model() -> SkillEffectModel:
    torch.manual_seed(0)
    return SkillEffectModel(tiny_model_config()).eval()


@pytest.mark.parametrize("distribution", ["place", "transport"])
def test_episode_runs_and_is_judged_by_ground_truth(distribution):
    config = EpisodeConfig(distribution, 3, seed=1, n_points=16, planner=PlannerConfig(num_samples=16, seed=0))
    a = run_episode(_tiny_model(), "v-test", config)
    b = run_episode(_tiny_model(), "v-test", config)
    assert a.to_dict() | {"plan_s": 0, "execute_s": 0} == b.to_dict() | {"plan_s": 0, "execute_s": 0}
    assert a.model_version == "v-test" and 0.0 <= a.goal_probability <= 1.0
    assert a.statuses and set(a.statuses) <= {"ok", "unreachable", "collision", "dropped", "invalid"}
    assert a.success == (a.unmet == [])
    assert all(atom.split("(")[0] in a.goal for atom in a.unmet)


def test_wilson_interval():
    lo, hi = wilson_interval(8, 10)
    assert 0.49 < lo < 0.5 and 0.94 < hi < 0.95  # the textbook 95 % interval of 8/10
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(20, 20)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
