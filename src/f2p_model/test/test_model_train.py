"""Training: a tiny real dataset is overfitted; a killed run resumes exactly; the result is published."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from f2p_model_testlib import generate_dataset, tiny_config

from f2p_model.config import LossConfig, TrainConfig
from f2p_model.data import TransitionDataset, iter_batches
from f2p_model.losses import LATENT_KEYS, transition_loss
from f2p_model.metrics import model_relation_f1
from f2p_model.model import SkillEffectModel
from f2p_model.store import ModelStore
from f2p_model.train import (
    CSV_COLUMNS,
    RunOptions,
    TrainError,
    _scattered,
    encode_records,
    epoch_rows,
    load_checkpoint,
    model_from_checkpoint,
    train,
)

OPTS = RunOptions(val_fraction=0.25, threads=2, min_val_f1=0.0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("data") / "pre", 12)


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("data") / "six", 6)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_overfit_tiny_dataset(six, tmp_path):
    # The full A.11 loss on 6 transitions, one batch per epoch, 250 steps at lr 1e-2 (100x A.11's:
    # a toy model memorising 6 samples). The rare relations (inside, boundary: a few positives)
    # are the last to fit; detection F1 passes 0.95 after ~200 steps.
    cfg = tiny_config(max_objects=14, dec_hidden=64)
    res = train(cfg, TrainConfig(lr=1e-2, batch_size=6, epochs=250, seed=0), LossConfig(), [six], tmp_path,
                options=RunOptions(val_fraction=0.0, threads=2, checkpoint_every=50))
    hist = res.history
    assert len(hist) == 250 and hist[-1]["val_detection_f1"] is None  # no validation split
    assert hist[-1]["train_total"] < 0.5 * hist[0]["train_total"]
    assert hist[-1]["train_detection"] < 0.1 * hist[0]["train_detection"]
    assert len(_rows(tmp_path / "metrics.csv")) == 250
    model = model_from_checkpoint(tmp_path / "checkpoint.pt")
    ds = TransitionDataset([six], cfg)
    det = model_relation_f1(model, iter_batches(ds, np.arange(6), 6))["detection"].compute()
    assert det["macro_f1"] >= 0.95, det


def _train(data, out, epochs, **kw):
    return train(tiny_config(max_objects=14), TrainConfig(lr=1e-3, batch_size=4, epochs=epochs, seed=1),
                 LossConfig(), [data], out, options=kw.pop("options", OPTS), **kw)


def test_resume_after_kill_matches_an_uninterrupted_run(data, tmp_path):
    straight = _train(data, tmp_path / "straight", 3)

    class Killed(Exception):
        pass

    def kill_in_epoch_3(done, total, message):
        if message.startswith("epoch 3/3") and done == total - 1:
            raise Killed

    run = tmp_path / "run"  # killed in its last epoch; the cosine schedule is a function of the step
    with pytest.raises(Killed):
        _train(data, run, 3, progress=kill_in_epoch_3)
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == 2  # the killed epoch is lost, nothing else
    assert [r["epoch"] for r in _rows(run / "metrics.csv")] == ["1", "2"]
    calls = []
    resumed = _train(data, run, 3, progress=lambda d, t, m: calls.append((d, t)))
    rows = _rows(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and list(rows[0]) == list(CSV_COLUMNS)
    assert calls[0][0] == 2 * calls[0][1] // 3  # progress starts after the two finished epochs
    a, b = model_from_checkpoint(tmp_path / "straight" / "checkpoint.pt"), model_from_checkpoint(run / "checkpoint.pt")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(va, vb, msg=k)
    for ra, rb in zip(straight.history, resumed.history, strict=True):
        for key in ("train_total", "val_total", "val_detection_f1"):
            assert ra[key] == pytest.approx(rb[key]), key
    assert (run / "loss_curves.png").stat().st_size > 0


def test_resume_refuses_other_settings(data, tmp_path):
    _train(data, tmp_path, 1)
    with pytest.raises(TrainError, match="train settings"):
        train(tiny_config(max_objects=14), TrainConfig(lr=5e-4, batch_size=4, epochs=2, seed=1), LossConfig(),
              [data], tmp_path, options=OPTS)
    with pytest.raises(TrainError, match="model config"):
        train(tiny_config(max_objects=14, dec_hidden=8), TrainConfig(lr=1e-3, batch_size=4, epochs=2, seed=1),
              LossConfig(), [data], tmp_path, options=OPTS)
    res = train(tiny_config(max_objects=14), TrainConfig(lr=5e-4, batch_size=4, epochs=1, seed=1), LossConfig(),
                [data], tmp_path, options=OPTS, resume=False)  # starting over is allowed
    assert res.epochs_done == 1


def test_publishes_once_with_validation_flag(data, tmp_path):
    store = tmp_path / "models"
    res = _train(data, tmp_path / "run", 1, store=store, options=RunOptions(val_fraction=0.25, threads=2,
                                                                            min_val_f1=1.0))
    assert res.version == "v0001" and not res.validated  # an epoch-1 toy model does not reach F1 1.0
    meta = ModelStore(store).read_meta("v0001")
    assert meta.parent is None and not meta.validated and len(meta.data_hash) == 64
    assert meta.metrics["val_detection_f1"] == res.history[-1]["val_detection_f1"]
    assert "detection" in meta.metrics["val_f1"] and meta.configs["train"]["epochs"] == 1
    again = _train(data, tmp_path / "run", 1, store=store, options=RunOptions(val_fraction=0.25, threads=2,
                                                                              min_val_f1=1.0))
    assert again.version == "v0001" and [m.version for m in ModelStore(store).list()] == ["v0001"]
    ok = _train(data, tmp_path / "run2", 1, store=store)  # min_val_f1 0: validated
    assert ok.version == "v0002" and ok.validated and ModelStore(store).latest() == "v0002"


def test_a_caller_can_stop_a_run_after_an_epoch(data, tmp_path):
    asked = []

    def stop(epoch, model):
        assert not model.training  # asked with the model in eval mode, without gradients
        asked.append(epoch)
        return epoch == 2

    result = train(tiny_config(max_objects=14), TrainConfig(epochs=5, batch_size=4), LossConfig(), [data], tmp_path,
                   options=OPTS, store=tmp_path / "store", resume=False, stop_after_epoch=stop)
    assert asked == [1, 2] and result.epochs_done == 2 and len(_rows(tmp_path / "metrics.csv")) == 2
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 2  # the stopped run is saved and published
    assert ModelStore(tmp_path / "store").read_meta(result.version).metrics["epoch"] == 2


def test_a_frozen_encoder_keeps_its_weights_and_trains_on_latents_equal_to_the_encoders(data, tmp_path):
    cfg = tiny_config(max_objects=14)
    torch.manual_seed(3)
    start = SkillEffectModel(cfg).state_dict()
    opts = RunOptions(val_fraction=0.25, threads=2, min_val_f1=0.0, freeze_encoder=True)
    res = train(cfg, TrainConfig(lr=1e-2, batch_size=4, epochs=3, seed=1), LossConfig(), [data], tmp_path,
                options=opts, init_state=start)
    end = model_from_checkpoint(tmp_path / "checkpoint.pt").state_dict()
    enc = [k for k in start if k.startswith("encoder.")]
    assert enc and all(torch.equal(start[k], end[k]) for k in enc)
    assert any(not torch.equal(start[k], end[k]) for k in start if k not in enc)  # Dyn and decoders learned
    assert res.history[-1]["train_total"] < res.history[0]["train_total"]

    # the cached latents are the encoder's, and the loss on them is the loss on the points
    model = model_from_checkpoint(tmp_path / "checkpoint.pt")
    ds = TransitionDataset([data], cfg)
    plain = ds.batch(np.arange(4))
    ds.attach_latents(*encode_records(model, ds, batch_size=5))
    cached = ds.batch(np.arange(4))
    assert set(cached) == set(plain) | set(LATENT_KEYS)
    torch.testing.assert_close(cached["latent_t"], model.encode(plain["points_t"], plain["mask"]))
    with torch.no_grad():
        a, _ = transition_loss(model, plain, LossConfig())
        b, _ = transition_loss(model, cached, LossConfig())
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="latents must be"):
        ds.attach_latents(cached["latent_t"], cached["latent_t1"])


def test_frozen_decoders_leave_only_dyn_to_learn(data, tmp_path):
    cfg = tiny_config(max_objects=14)
    torch.manual_seed(3)
    start = SkillEffectModel(cfg).state_dict()
    opts = RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, freeze_encoder=True, freeze_decoders=True)
    train(cfg, TrainConfig(lr=1e-2, batch_size=4, epochs=2, seed=1), LossConfig(), [data], tmp_path,
          options=opts, init_state=start)
    end = model_from_checkpoint(tmp_path / "checkpoint.pt").state_dict()
    dyn = [k for k in start if k.startswith(("param_mlp.", "dynamics_nets.", "dynamics_out."))]
    assert dyn and any(not torch.equal(start[k], end[k]) for k in dyn)
    assert all(torch.equal(start[k], end[k]) for k in start if k not in dyn)  # encoder and decoders kept


def test_object_slots_train_on_scattered_rows_within_the_identity_table(data, tmp_path):
    cfg = tiny_config(max_objects=14)
    opts = RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, freeze_encoder=True, object_slots=14)
    res = train(cfg, TrainConfig(lr=1e-2, batch_size=4, epochs=3, seed=1), LossConfig(), [data], tmp_path / "a",
                options=opts)
    assert res.epochs_done == 3 and res.history[-1]["train_total"] < res.history[0]["train_total"]
    with pytest.raises(TrainError, match="identity table"):
        train(cfg, TrainConfig(epochs=1, batch_size=4), LossConfig(), [data], tmp_path / "b",
              options=RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, object_slots=15))


def test_object_slots_scatter_only_the_paths_named(data, tmp_path):
    """`object_slots_paths`: a path not named trains as without object slots (its transitions keep their
    rows; only the padding to the slots differs), a path named is scattered."""
    cfg = tiny_config(max_objects=14)
    tc = TrainConfig(lr=1e-2, batch_size=4, epochs=2, seed=1)

    def weights(name, **kw):
        opts = RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, freeze_encoder=True, **kw)
        train(cfg, tc, LossConfig(), [data], tmp_path / name, options=opts, init_state=start)
        return model_from_checkpoint(tmp_path / name / "checkpoint.pt").state_dict()

    torch.manual_seed(0)
    start = SkillEffectModel(cfg).state_dict()
    plain, unnamed = weights("plain"), weights("unnamed", object_slots=14, object_slots_paths=(1,))
    named = weights("named", object_slots=14, object_slots_paths=(0,))
    def gap(other):
        return max(float((plain[k] - other[k]).abs().max()) for k in plain)

    # padded rows change the attention's float sums, which Adam at 1e-2 carries to ~4e-4 here; the
    # scattered run differs by ~7e-2
    assert gap(unnamed) < 5e-3 < 2e-2 < gap(named)


def test_scattered_batches_keep_the_static_objects_and_the_acted_one_in_their_rows_when_asked(data):
    """`RunOptions.object_slots_static` / `object_slots_acted` False: the tables (unary movable false)
    and the acted object stay in their rows; every other object is drawn into another row."""
    cfg = tiny_config(max_objects=14)
    model = SkillEffectModel(cfg)
    ds = TransitionDataset([data], cfg)
    batch = next(iter_batches(ds, np.arange(len(ds)), 12, shuffle=False))
    movable = batch["unary_t"][..., cfg.unary_names.index("movable")].bool()
    static = batch["mask"].bool() & ~movable
    assert static.any() and (batch["mask"].bool() & movable).any()

    def rows_of(out):  # where each object's cloud went: (B, N) row index, -1 for padding
        hit = (out["points_t"].unsqueeze(2) == batch["points_t"].unsqueeze(1)).flatten(3).all(-1)  # (B, S, N)
        return torch.where(batch["mask"].bool(), hit.float().argmax(1), torch.tensor(-1))

    own = torch.arange(batch["mask"].shape[1]).expand_as(batch["mask"])
    for acted, static_free in ((True, False), (False, False), (False, True)):
        out = _scattered(model, batch, 14, torch.Generator().manual_seed(0), acted=acted, static=static_free)
        rows = rows_of(out)
        pinned = torch.zeros_like(static) if static_free else static.clone()
        if not acted:
            pinned[torch.arange(len(rows)), batch["acted"]] = True
            assert torch.equal(out["acted"], batch["acted"])
        assert torch.equal(rows[pinned], own[pinned])
        free = batch["mask"].bool() & ~pinned
        assert (rows[free] != own[free]).any()
    out = _scattered(model, batch, 14, torch.Generator().manual_seed(0), static=True)
    assert (rows_of(out)[static] != own[static]).any()  # scattered by default, as before


def test_epoch_draw_takes_a_fresh_share_of_one_source_each_epoch(data, six, tmp_path):
    cfg = tiny_config(max_objects=14)
    ds = TransitionDataset([six, data], cfg)
    rows = np.arange(len(ds))
    first, pool = ds.rows_of(0), ds.rows_of(1)
    draws = [epoch_rows(ds, rows, (0, 4), seed=3, epoch=e) for e in range(6)]
    for drawn in draws:
        assert len(drawn) == len(first) + 4 and set(first) <= set(drawn)  # all of the first source
        assert len(set(drawn)) == len(drawn) and set(drawn) - set(first) <= set(pool)
    assert len({tuple(d) for d in draws}) > 1  # another draw in another epoch
    assert np.array_equal(draws[2], epoch_rows(ds, rows, (0, 4), seed=3, epoch=2))  # resumable
    assert np.array_equal(epoch_rows(ds, rows, (), seed=3, epoch=0), rows)
    assert len(epoch_rows(ds, rows, (0, 100), seed=3, epoch=0)) == len(rows)  # a draw above the pool takes it all
    opts = RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, freeze_encoder=True, epoch_draw=(0, 4))
    res = train(cfg, TrainConfig(lr=1e-2, batch_size=4, epochs=2, seed=1), LossConfig(), [six, data],
                tmp_path / "a", options=opts)
    assert [h["n_train"] for h in res.history] == [len(first) + 4] * 2
    with pytest.raises(TrainError, match="epoch_draw names 1 data paths"):
        train(cfg, TrainConfig(epochs=1, batch_size=4), LossConfig(), [six, data], tmp_path / "b",
              options=RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, epoch_draw=(4,)))


def test_epoch_repeat_puts_a_source_several_times_in_every_epoch(data, six, tmp_path):
    cfg = tiny_config(max_objects=14)
    ds = TransitionDataset([six, data], cfg)
    rows = np.arange(len(ds))
    first, pool = ds.rows_of(0), ds.rows_of(1)
    drawn = epoch_rows(ds, rows, (0, 4), seed=3, epoch=1, repeat=(3, 1))
    counts = np.bincount(drawn, minlength=len(ds))
    assert (counts[first] == 3).all() and counts[pool].sum() == 4 and counts[pool].max() == 1
    assert np.array_equal(np.unique(drawn), np.unique(epoch_rows(ds, rows, (0, 4), seed=3, epoch=1)))  # same draw
    assert len(epoch_rows(ds, rows, (), seed=3, epoch=0, repeat=(2, 1))) == 2 * len(first) + len(pool)
    opts = RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, freeze_encoder=True, epoch_repeat=(2, 1))
    res = train(cfg, TrainConfig(lr=1e-2, batch_size=4, epochs=2, seed=1), LossConfig(), [six, data],
                tmp_path / "a", options=opts)
    assert [h["n_train"] for h in res.history] == [2 * len(first) + len(pool)] * 2
    with pytest.raises(TrainError, match="epoch_repeat names 1 data paths"):
        train(cfg, TrainConfig(epochs=1, batch_size=4), LossConfig(), [six, data], tmp_path / "b",
              options=RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, epoch_repeat=(2,)))
    with pytest.raises(ValueError, match="epoch_repeat must be >= 1"):
        RunOptions(epoch_repeat=(0, 1))
    with pytest.raises(ValueError, match="epoch_draw"):
        RunOptions(epoch_draw=(0, -1))


def test_l2_to_init_keeps_a_fine_tuned_model_near_its_start(data, tmp_path):
    cfg = tiny_config(max_objects=14)
    start = SkillEffectModel(cfg).state_dict()

    def moved(weight: float) -> float:
        opts = RunOptions(val_fraction=0.0, threads=2, min_val_f1=0.0, freeze_encoder=True, l2_to_init=weight)
        train(cfg, TrainConfig(lr=1e-2, batch_size=4, epochs=2, seed=1), LossConfig(), [data], tmp_path / str(weight),
              options=opts, init_state=start)
        end = model_from_checkpoint(tmp_path / str(weight) / "checkpoint.pt").state_dict()
        return sum(float((end[k] - start[k]).pow(2).sum()) for k in start if start[k].dtype.is_floating_point)

    free, held = moved(0.0), moved(10.0)
    assert free > 0 and held < 0.5 * free
    with pytest.raises(ValueError, match="l2_to_init"):
        RunOptions(l2_to_init=-1.0)


def test_resume_refuses_to_switch_the_encoder_freeze(data, tmp_path):
    _train(data, tmp_path, 1)
    with pytest.raises(TrainError, match="freeze_encoder"):
        _train(data, tmp_path, 2, options=RunOptions(val_fraction=0.25, threads=2, min_val_f1=0.0,
                                                       freeze_encoder=True))
