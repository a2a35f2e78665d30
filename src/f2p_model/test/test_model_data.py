"""Transition datasets as loss batches: field mapping, trimming, filters, stable splits, hashes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from f2p_model_testlib import generate_dataset, tiny_config

from f2p_model.data import DataError, TransitionDataset, data_manifest_hash, epoch_order, iter_batches
from f2p_model.losses import BATCH_KEYS, transition_loss
from f2p_model.model import SkillEffectModel


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return generate_dataset(root / "a", 16, seed=0), generate_dataset(root / "b", 8, seed=1)


def test_batches_follow_the_loss_contract(data):
    cfg = tiny_config(max_objects=14)
    ds = TransitionDataset([data[0]], cfg)
    assert len(ds) == 16
    batch = next(iter_batches(ds, np.arange(5), 5))
    assert set(batch) == set(BATCH_KEYS)
    n = int(ds.n_objects[:5].max())
    assert n < 14  # pre-training scenes have fewer objects than the padding
    assert batch["points_t"].shape == (5, n, 16, 3) and batch["points_t"].dtype == torch.float32
    assert batch["mask"].dtype == torch.bool and batch["mask"].shape == (5, n)
    assert batch["binary_t1"].shape == (5, n, n, cfg.n_binary) and batch["unary_t"].shape == (5, n, cfg.n_unary)
    assert batch["skill"].dtype == torch.long and batch["params"].shape == (5, cfg.max_param_dim)
    assert (batch["mask"].sum(1).numpy() == ds.n_objects[:5]).all()
    loss, _ = transition_loss(SkillEffectModel(cfg), batch)
    assert torch.isfinite(loss)
    assert ds[3]["mask"].shape == (1, ds.n_objects[3]) and bool(ds[3]["mask"].all())


def test_concatenation_and_status_filter(data):
    cfg = tiny_config(max_objects=14)
    both = TransitionDataset(list(data), cfg)
    assert len(both) == 24 and [s.n for s in both.sources] == [16, 8]
    assert (both.source_of(np.array([0, 15, 16, 23])) == [0, 0, 1, 1]).all()
    ok = TransitionDataset(list(data), cfg, statuses=["ok"])
    assert len(ok) == int((both.arrays["status"] == 0).sum())
    with pytest.raises(DataError, match="unknown statuses"):
        TransitionDataset(list(data), cfg, statuses=["fine"])


def test_split_is_stable_and_seeded(data):
    cfg = tiny_config(max_objects=14)
    ab = TransitionDataset(list(data), cfg)
    ba = TransitionDataset(list(reversed(data)), cfg)
    tr, va = ab.split(0.25, seed=0)
    assert len(va) >= 1 and len(tr) >= 1
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(24))
    assert np.array_equal(ab.split(0.25, seed=0)[1], va)  # deterministic
    assert not np.array_equal(ab.split(0.25, seed=1)[1], va)  # seeded

    def ids(ds, rows):  # (dataset generation seed, sample index) of rows
        src = ds.source_of(rows)
        return {(ds.sources[s].path.name, int(ds.arrays["index"][r])) for s, r in zip(src, rows, strict=True)}

    assert ids(ab, va) == ids(ba, ba.split(0.25, seed=0)[1])  # path order does not matter
    only_a = TransitionDataset([data[0]], cfg)
    assert ids(only_a, only_a.split(0.25, seed=0)[1]) == {x for x in ids(ab, va) if x[0] == "a"}


def test_epoch_order_depends_on_seed_and_epoch_only():
    rows = np.arange(50)
    assert np.array_equal(epoch_order(rows, 3, 1), epoch_order(rows, 3, 1))
    assert not np.array_equal(epoch_order(rows, 3, 1), epoch_order(rows, 3, 2))
    assert sorted(epoch_order(rows, 3, 1).tolist()) == rows.tolist()


def test_manifest_hash(data):
    h = data_manifest_hash(list(data))
    assert h == data_manifest_hash(list(data)) and len(h) == 64
    assert h != data_manifest_hash(list(reversed(data))) != data_manifest_hash([data[0]])


def test_clear_errors(data, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        TransitionDataset([tmp_path / "nope"], tiny_config(max_objects=14))
    with pytest.raises(DataError, match="n_points"):
        TransitionDataset([data[0]], tiny_config(max_objects=14, n_points=32))
    with pytest.raises(DataError, match="max_objects"):
        TransitionDataset([data[0]], tiny_config(max_objects=3))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="manifest"):
        TransitionDataset([tmp_path / "empty"], tiny_config(max_objects=14))
