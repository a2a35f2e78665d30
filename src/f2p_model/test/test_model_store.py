"""Versioned model store: round trip, ordering, validation, atomicity, corrupt versions."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest
import torch
from f2p_model_testlib import tiny_config

from f2p_model.config import LossConfig, TrainConfig
from f2p_model.model import SkillEffectModel
from f2p_model.store import ModelStore, ModelStoreError


def _model(seed: int) -> SkillEffectModel:
    torch.manual_seed(seed)
    return SkillEffectModel(tiny_config())


def _same_weights(a: SkillEffectModel, b: SkillEffectModel) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip(tmp_path):
    store = ModelStore(tmp_path)
    model = _model(0)
    v = store.publish(
        model, {"loss": LossConfig(), "train": TrainConfig(seed=7)}, parent=None,
        data_hash="abc123", metrics={"f1": 0.9}, validated=True,
    )
    assert v == "v0001"
    loaded, meta = store.load(v)
    assert _same_weights(model, loaded) and not loaded.training
    assert loaded.config == model.config
    assert (meta.version, meta.sequence, meta.parent) == ("v0001", 1, None)
    assert meta.data_hash == "abc123" and meta.validated
    assert meta.metrics == {"f1": 0.9}
    assert TrainConfig.from_dict(meta.configs["train"]).seed == 7
    assert store.load("latest")[1].version == v
    assert list(tmp_path.iterdir()) == [tmp_path / "versions"]  # no temp dir left behind


def test_versions_count_up_and_latest_is_newest_validated(tmp_path):
    store = ModelStore(tmp_path)
    v1 = store.publish(_model(1), validated=True)
    v2 = store.publish(_model(2), parent=v1, validated=False)
    assert (v1, v2) == ("v0001", "v0002")
    assert store.latest() == v1  # the unvalidated candidate is not served
    loaded, meta = store.load(v2)  # but can be loaded by name
    assert not meta.validated and meta.parent == v1 and _same_weights(loaded, _model(2))
    store.set_validated(v2, metrics={"f1": 0.8})
    assert store.latest() == v2 and store.read_meta(v2).metrics == {"f1": 0.8}
    assert [m.version for m in store.list()] == [v1, v2]


def test_partial_and_corrupt_versions_never_hide_the_good_one(tmp_path, caplog):
    store = ModelStore(tmp_path)
    good = store.publish(_model(1), validated=True)
    # A publisher killed mid-write leaves a temp dir inside ROOT ...
    (tmp_path / ".tmp-dead").mkdir()
    (tmp_path / ".tmp-dead" / "weights.pt").write_bytes(b"\x80partial")
    # ... a newer version whose meta is garbage, and one whose weights were truncated.
    bad_meta = store.publish(_model(2), validated=True)
    (store.path(bad_meta) / "meta.json").write_text("{not json")
    bad_weights = store.publish(_model(3), validated=True)
    w = store.path(bad_weights) / "weights.pt"
    w.write_bytes(w.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="f2p_model.store"):
        assert store.latest() == good
        model, meta = store.load("latest")
    assert meta.version == good and _same_weights(model, _model(1))
    assert bad_meta in caplog.text and bad_weights in caplog.text
    # New versions never reuse the number of a broken one; an old temp dir is cleaned up.
    old = time.time() - 2 * 3600
    os.utime(tmp_path / ".tmp-dead", (old, old))
    assert store.publish(_model(4)) == "v0004"
    assert not (tmp_path / ".tmp-dead").exists()


@pytest.mark.parametrize("damage", ["garbage_meta", "no_meta", "no_weights", "truncated_weights", "wrong_id"])
def test_explicit_load_of_corrupt_version_names_the_path(tmp_path, damage):
    store = ModelStore(tmp_path)
    v = store.publish(_model(0), validated=True)
    vdir = store.path(v)
    if damage == "garbage_meta":
        (vdir / "meta.json").write_text("{not json")
        culprit = vdir / "meta.json"
    elif damage == "no_meta":
        (vdir / "meta.json").unlink()
        culprit = vdir / "meta.json"
    elif damage == "no_weights":
        (vdir / "weights.pt").unlink()
        culprit = vdir / "weights.pt"
    elif damage == "truncated_weights":
        (vdir / "weights.pt").write_bytes(b"\x00" * 10)
        culprit = vdir / "weights.pt"
    else:
        meta = json.loads((vdir / "meta.json").read_text())
        meta["version"] = "v0009"
        (vdir / "meta.json").write_text(json.dumps(meta))
        culprit = vdir / "meta.json"
    with pytest.raises(ModelStoreError, match=str(culprit)):
        store.load(v)
    with pytest.raises(ModelStoreError, match="no validated"):
        store.load("latest")


def test_missing_and_malformed_versions(tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelStoreError, match="no validated"):
        store.latest()
    with pytest.raises(ModelStoreError, match="does not exist"):
        store.load("v0042")
    with pytest.raises(ModelStoreError, match="not a version id"):
        store.load("../etc")
