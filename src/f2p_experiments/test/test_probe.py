"""The contents probe on a few simulated transport transitions: it finds every item inside the
acted container and scores a model's predictions for them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from f2p_core.relations import BINARY
from f2p_experiments.probe import probe_contents
from f2p_model.config import tiny_model_config
from f2p_model.data import TransitionDataset
from f2p_model.model import SkillEffectModel
from f2p_sim import dataset
from f2p_sim.transitions import GenerationConfig, make_record


@pytest.fixture(scope="module")
def transport(tmp_path_factory):
    out = tmp_path_factory.mktemp("transport") / "data"
    cfg = GenerationConfig(distribution="transport", seed=3, n_points=16, width=160, height=120)
    dataset.generate(make_record, cfg, out, n=4, shard_size=4)
    return out


def test_the_probe_counts_the_contents_and_scores_within_range(transport):
    torch.manual_seed(0)
    model = SkillEffectModel(tiny_model_config()).eval()
    ds = TransitionDataset([transport], model.config)
    a = ds.arrays
    k = BINARY.index("inside")
    expected = sum(int(a["binary_t"][t, :, int(a["acted"][t]), k][a["object_mask"][t]].sum()) for t in range(len(ds)))
    assert expected > 0  # every transport scene starts with its items in the container
    p = probe_contents(model, str(transport))
    assert p.contents == expected and p.transitions == len(ds)
    for score in (p.front_behind_after, p.inside_after):
        assert 0.0 <= score <= 1.0
    assert math.isfinite(p.acted_slope)  # a pick-and-place moves its container
    assert probe_contents(model, str(transport)).to_dict() == p.to_dict()  # deterministic
    none = probe_contents(model, str(transport), n_objects=int(ds.n_objects.max()) + 1)
    assert none.contents == 0 and np.isnan(none.front_behind_after)
