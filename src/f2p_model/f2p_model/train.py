"""Training of the skill effect model on transition datasets (paper A.11 "Training Details").

Adam (lr 1e-4) on L = L_detection + L_regularization + L_pos + L_prediction
(:func:`f2p_model.losses.transition_loss`), a fixed number of epochs over the training split,
then per epoch the validation loss and the relation F1 of detection and 1-step prediction on the
validation split (:mod:`f2p_model.metrics`).

Files in ``out_dir``:

* ``checkpoint.pt``: model + optimiser state, finished epochs, the configs as plain dicts, the
  data hash and the metric history; replaced atomically (temp file + ``os.replace``) after every
  epoch (``RunOptions.checkpoint_every``), so a kill loses at most the epoch in progress;
* ``metrics.csv``: one row per finished epoch, rewritten from the checkpoint's history (a rerun
  after a kill never duplicates rows);
* ``loss_curves.png``: the CSV as curves.

``resume=True`` continues from the checkpoint's last finished epoch. Data order and dropout depend
only on (seed, epoch), so a resumed run takes the same steps an uninterrupted one would.
Resuming with different model / loss / optimiser settings or different data is refused; more
epochs (to extend a run) are fine.

At the end the model is published to a :class:`f2p_model.store.ModelStore` (no parent), marked
validated iff the validation detection macro F1 reaches ``RunOptions.min_val_f1``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from f2p_model.augment import random_slots, scatter_objects, static_objects
from f2p_model.config import ConfigBase, LossConfig, ModelConfig, TrainConfig
from f2p_model.data import TransitionDataset, check_vocabulary, data_manifest_hash, iter_batches, n_batches
from f2p_model.losses import relation_pos_weights, transition_loss
from f2p_model.metrics import model_relation_f1
from f2p_model.model import SkillEffectModel
from f2p_sim.fileio import atomic_write, atomic_write_bytes

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS_CSV = "metrics.csv"
CURVES_PNG = "loss_curves.png"
CHECKPOINT_SCHEMA = 1
LOSS_PARTS: tuple[str, ...] = ("total", "detection", "regularization", "position", "prediction")
CSV_COLUMNS: tuple[str, ...] = (
    "epoch",
    *(f"train_{p}" for p in LOSS_PARTS),
    *(f"val_{p}" for p in LOSS_PARTS),
    "val_detection_f1", "val_prediction_f1", "val_copy_baseline_f1", "n_train", "n_val", "lr", "epoch_s",
)

#: ``progress(done, total, message)``: steps done of all steps of the run, and a short status.
Progress = Callable[[int, int, str], None]


class TrainError(RuntimeError):
    """A run that cannot go on as asked (incompatible checkpoint, diverged loss)."""


@dataclass
class RunOptions(ConfigBase):
    """Settings of a training run that are not the optimiser's (TrainConfig) or the model's."""

    val_fraction: float = 0.1  # share of records held out for validation (stable per-sample hash, data.py)
    threads: int = 0  # torch intra-op threads; 0 = every core this process may run on
    # Validation detection macro F1 needed to publish as validated (what the planner loads as "latest").
    # Not in the paper; 0.8 is above what a model that has not learned the relations reaches.
    min_val_f1: float = 0.8
    statuses: tuple[str, ...] = ()  # keep only records with these execution statuses; () keeps all
    eval_batch_size: int = 64  # validation batch size (no gradients: larger is cheaper)
    plot_interval_s: float = 30.0  # redraw loss_curves.png at most this often (and after the last epoch)
    # Epochs between checkpoints (and CSV rows on disk); the last epoch always checkpoints. 1: a kill
    # loses at most the epoch in progress. Larger values save the ~40 ms torch.save of many tiny epochs.
    checkpoint_every: int = 1
    # Train Dyn and the decoders only: the PointConv encoder's weights stay as given, and each record's
    # X_t, X_{t+1} are encoded once before the first epoch instead of in every step (fine-tuning, where
    # the encoder is most of an epoch's time; `f2p_learner.finetune`).
    freeze_encoder: bool = False
    # Train Dyn (MLP_para and the per-skill transformers) only: the decoders Dec_u, Dec_b, Dec_p keep
    # the weights they were given as well (fine-tuning; `f2p_learner.finetune.FinetuneConfig.freeze_decoders`).
    freeze_decoders: bool = False
    # Each training batch with its objects scattered into this many rows at random, a fresh draw every
    # step (`f2p_model.augment`: an effect learned for the objects, not for their rows); 0 = off. At
    # least the batch's own width is used.
    object_slots: int = 0
    # The data paths (indices in `train`'s order) whose transitions `object_slots` scatters; () = all.
    # Fine-tuning scatters D+ alone (`f2p_learner.finetune.FinetuneConfig.scatter_replay`): the replay
    # stays in the rows the parent learned it in.
    object_slots_paths: tuple[int, ...] = ()
    # With `object_slots`, the acted object keeps its row and only the others are scattered (False): the
    # skill token finds the acted object by its row's identity (ID_acted), which the parent learned for
    # the rows its tasks act on.
    object_slots_acted: bool = True
    # With `object_slots`, the objects that cannot move (unary `movable` false: the tables) keep their rows
    # and only the movable ones are scattered (False): every scene the parent learned has the tables in
    # rows 0-1 (the task samplers' order), and a child trained with tables in any row lost held-out
    # prediction F1 (experiments/RESULTS.md).
    object_slots_static: bool = True
    # Records of each data path (in `train`'s order) drawn afresh every epoch; 0 = all of them, () =
    # all of every path. Fine-tuning draws its replay this way from a pool larger than an epoch's
    # share (`f2p_learner.finetune.FinetuneConfig.replay_per_epoch`): D+ keeps its weight in every
    # epoch while, over the epochs, the model is reminded of many more pre-training scenes.
    epoch_draw: tuple[int, ...] = ()
    # Times each data path's records of an epoch (after `epoch_draw`) appear in it, in `train`'s order;
    # () = once each. Fine-tuning repeats D+ (`f2p_learner.finetune.FinetuneConfig.dplus_repeats`), so
    # one failure's ~27 transitions are not outweighed by the replay drawn beside them.
    epoch_repeat: tuple[int, ...] = ()
    # L2-SP (Li et al., ICML 2018): `weight` × Σ (θ − θ0)² over the trained parameters added to every
    # step's loss, θ0 the weights the run started from (`init_state`); 0 = off. Fine-tuning uses it
    # against forgetting (`f2p_learner.finetune.FinetuneConfig.l2_to_parent`): it pulls back every
    # direction D+ does not need. Not in the logged loss parts.
    l2_to_init: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0 = all cores), got {self.threads}")
        if not 0.0 <= self.min_val_f1 <= 1.0:
            raise ValueError(f"min_val_f1 must be in [0, 1], got {self.min_val_f1}")
        if self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be >= 1, got {self.eval_batch_size}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.plot_interval_s < 0:
            raise ValueError(f"plot_interval_s must be >= 0, got {self.plot_interval_s}")
        if self.object_slots < 0:
            raise ValueError(f"object_slots must be >= 0 (0 = off), got {self.object_slots}")
        if self.l2_to_init < 0:
            raise ValueError(f"l2_to_init must be >= 0 (0 = off), got {self.l2_to_init}")
        if any(k < 0 for k in self.epoch_draw):
            raise ValueError(f"epoch_draw must be >= 0 per data path (0 = all), got {self.epoch_draw}")
        if any(k < 1 for k in self.epoch_repeat):
            raise ValueError(f"epoch_repeat must be >= 1 per data path, got {self.epoch_repeat}")


def epoch_rows(dataset: TransitionDataset, rows: np.ndarray, draw: Sequence[int], seed: int,
               epoch: int, repeat: Sequence[int] = ()) -> np.ndarray:
    """The training rows of one epoch: of each source `i` of `dataset`, all its `rows`, or `draw[i]`
    of them drawn without replacement by a generator seeded with (seed, epoch) alone (a resumed run
    draws the same), each `repeat[i]` times (`RunOptions.epoch_repeat`). `draw` and `repeat` empty:
    `rows` as given."""
    if not draw and not repeat:
        return rows
    n = len(dataset.sources)
    draw, repeat = tuple(draw) or (0,) * n, tuple(repeat) or (1,) * n
    if len(draw) != len(repeat):
        raise ValueError(f"epoch_draw ({len(draw)}) and epoch_repeat ({len(repeat)}) name different numbers "
                         f"of data paths")
    rng = np.random.default_rng(np.random.SeedSequence([seed, epoch, 1]))
    source = dataset.source_of(rows)
    parts = []
    for i, (k, r) in enumerate(zip(draw, repeat, strict=True)):
        own = rows[source == i]
        own = own if k == 0 or k >= len(own) else np.sort(rng.choice(own, size=k, replace=False))
        parts.append(np.tile(own, r))
    return np.concatenate(parts)


def _scattered(model: SkillEffectModel, batch: dict, object_slots: int, generator: torch.Generator,
               keep: torch.Tensor | None = None, acted: bool = True, static: bool = True) -> dict:
    """`batch` with its objects in random rows of max(object_slots, its width) (`RunOptions.object_slots`),
    but for the transitions `keep` (B,) marks, which stay in their rows; with `acted` False the acted
    object of each transition keeps its row (`RunOptions.object_slots_acted`), and with `static` False
    so does every object that cannot move (`RunOptions.object_slots_static`)."""
    b, n = batch["mask"].shape
    slots = max(object_slots, n)
    pinned = None
    if not (acted and static):
        pinned = torch.zeros(b, n, dtype=torch.bool) if static else static_objects(batch, model.config.unary_names)
        if not acted:
            pinned[torch.arange(b), batch["acted"]] = True
    slot = random_slots(b, n, slots, generator, keep, pinned)
    return scatter_objects(batch, slot, slots, model.identity, model.config.feat_dim)


@dataclass
class TrainResult:
    out_dir: Path
    epochs_done: int
    history: list[dict[str, Any]]  # one row per epoch, the CSV's columns
    val_f1: dict[str, Any]  # last epoch's validation F1 reports ("detection", "prediction", "copy_baseline")
    version: str | None = None  # published store version
    validated: bool = False
    files: dict[str, Path] = field(default_factory=dict)  # checkpoint, metrics_csv, curves


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _epoch_seed(seed: int, epoch: int) -> int:
    """Torch seed of one epoch (dropout): a function of (seed, epoch) only, so resuming replays it."""
    return int(np.random.SeedSequence([seed, epoch, 7]).generate_state(1)[0])


def save_checkpoint(path: Path, ckpt: dict[str, Any]) -> None:
    atomic_write(path, lambda f: torch.save(ckpt, f))


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint dict (plain data and tensors only: loaded with ``weights_only=True``)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("schema") != CHECKPOINT_SCHEMA:
        raise TrainError(f"{path} is not a training checkpoint of schema {CHECKPOINT_SCHEMA}")
    return ckpt


def model_from_checkpoint(path: str | os.PathLike[str]) -> SkillEffectModel:
    """Rebuild the model of a checkpoint (eval mode)."""
    ckpt = load_checkpoint(path)
    model = SkillEffectModel(ModelConfig.from_dict(ckpt["configs"]["model"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def write_metrics_csv(path: Path, history: Sequence[dict[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for row in history:
        w.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()})
    atomic_write_bytes(path, buf.getvalue().encode())


def plot_curves(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """Losses per part (train solid, validation dashed, log scale) and validation F1 per epoch."""
    # The Agg canvas directly, no pyplot: no global backend switch, no figure registry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    ax_l, ax_f = fig.subplots(1, 2)
    for k, part in enumerate(LOSS_PARTS):
        color = f"C{k}"
        ax_l.plot(epochs, [r[f"train_{part}"] for r in history], "-o", ms=3, color=color, label=f"train {part}")
        val = [r.get(f"val_{part}") for r in history]
        if any(v is not None and not math.isnan(v) for v in val):
            ax_l.plot(epochs, [math.nan if v is None else v for v in val], "--", color=color, label=f"val {part}")
    ax_l.set_yscale("log")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("loss")
    ax_l.legend(fontsize=7, ncol=2)
    ax_l.grid(alpha=0.3)
    for key, label in (("val_detection_f1", "detection"), ("val_prediction_f1", "prediction (1 step)"),
                       ("val_copy_baseline_f1", "copy baseline R_t+1 = R_t")):
        vals = [math.nan if r.get(key) is None else r[key] for r in history]
        ax_f.plot(epochs, vals, "-o" if "copy" not in key else ":", ms=3, label=label)
    ax_f.set_ylim(0, 1)
    ax_f.set_xlabel("epoch")
    ax_f.set_ylabel("validation macro F1")
    ax_f.legend(fontsize=8)
    ax_f.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())


@torch.no_grad()
def _validate(model: SkillEffectModel, dataset: TransitionDataset, rows: np.ndarray, loss_cfg: LossConfig,
              batch_size: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Mean loss parts and F1 reports on ``rows`` (eval mode)."""
    model.eval()
    sums = dict.fromkeys(LOSS_PARTS, 0.0)
    for batch in iter_batches(dataset, rows, batch_size):
        _, parts = transition_loss(model, batch, loss_cfg)
        b = batch["mask"].shape[0]
        for k in LOSS_PARTS:
            sums[k] += parts[k] * b
    losses = {k: v / len(rows) for k, v in sums.items()}
    f1 = model_relation_f1(model, iter_batches(dataset, rows, batch_size))
    return losses, {k: v.compute() for k, v in f1.items()}


def _check_resumable(ckpt: dict[str, Any], configs: dict[str, dict[str, Any]], data_hash: str, path: Path) -> None:
    old = ckpt["configs"]
    hint = "use another output directory, or start over (resume=False / --no-resume)"
    for name in ("model", "loss"):
        if old[name] != configs[name]:
            raise TrainError(f"{path} was trained with a different {name} config; {hint}")
    ignored = {
        "train": ("epochs", "finetune_epochs"),
        "options": ("threads", "eval_batch_size", "plot_interval_s", "checkpoint_every"),
    }
    for name, ignore in ignored.items():
        a = {k: v for k, v in old[name].items() if k not in ignore}
        b = {k: v for k, v in configs[name].items() if k not in ignore}
        if a != b:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise TrainError(f"{path} was trained with different {name} settings {diff}; {hint}")
    if ckpt["data_hash"] != data_hash:
        raise TrainError(f"{path} was trained on different data (manifest hash differs); {hint}")


def _balanced(loss_cfg: LossConfig, dataset: TransitionDataset, rows: np.ndarray) -> LossConfig:
    """Fill the relation pos weights from the training split (LossConfig.balance_relations)."""
    if not loss_cfg.balance_relations or loss_cfg.unary_pos_weight or loss_cfg.binary_pos_weight:
        return loss_cfg
    a = dataset.arrays  # relations only: no point clouds are copied
    rows = np.sort(rows)
    unary = torch.from_numpy(np.concatenate([a["unary_t"][rows], a["unary_t1"][rows]]))
    binary = torch.from_numpy(np.concatenate([a["binary_t"][rows], a["binary_t1"][rows]]))
    mask = torch.from_numpy(np.concatenate([a["object_mask"][rows], a["object_mask"][rows]]))
    uw, bw = relation_pos_weights(unary, binary, mask, loss_cfg.max_pos_weight)
    log.info("relation pos weights: unary %s, binary %s", [round(v, 1) for v in uw], [round(v, 1) for v in bw])
    return dataclasses.replace(loss_cfg, unary_pos_weight=uw, binary_pos_weight=bw)


@torch.no_grad()
def encode_records(model: SkillEffectModel, dataset: TransitionDataset, batch_size: int,
                   keys: Sequence[str] = ("points_t", "points_t1")) -> list[Tensor]:
    """The latents Enc(O) of every record's clouds `keys` (X_t, X_{t+1} by default): (S, N_pad, D) each."""
    s, n = dataset.arrays["object_mask"].shape
    out = [torch.zeros(s, n, model.config.latent_dim) for _ in keys]
    model.eval()
    for start in range(0, s, batch_size):
        rows = np.arange(start, min(start + batch_size, s))
        batch = dataset.batch(rows, trim=False)
        for lat, key in zip(out, keys, strict=True):
            lat[rows] = model.encode(batch[key], batch["mask"])
    return out


def learning_rate(cfg: TrainConfig, step: int, total: int) -> float:
    """The learning rate of optimiser step `step` of `total`: constant, or a cosine from cfg.lr down
    to cfg.lr * cfg.lr_final_ratio. A function of the step alone, so a resumed run continues it."""
    if cfg.schedule == "constant" or total <= 1:
        return cfg.lr
    lo = cfg.lr * cfg.lr_final_ratio
    return lo + 0.5 * (cfg.lr - lo) * (1.0 + math.cos(math.pi * min(step, total) / total))


def _check_run(model_cfg: ModelConfig, options: RunOptions, n_paths: int) -> None:
    """TrainError for options that do not fit the model or the data paths."""
    check_vocabulary(model_cfg)
    if options.object_slots > model_cfg.max_objects:
        raise TrainError(f"object_slots {options.object_slots} exceeds the identity table (max_objects="
                         f"{model_cfg.max_objects})")
    if options.epoch_draw and len(options.epoch_draw) != n_paths:
        raise TrainError(f"epoch_draw names {len(options.epoch_draw)} data paths, the run has {n_paths}")
    if options.epoch_repeat and len(options.epoch_repeat) != n_paths:
        raise TrainError(f"epoch_repeat names {len(options.epoch_repeat)} data paths, the run has {n_paths}")


def _new_model(model_cfg: ModelConfig, seed: int, options: RunOptions,
               init_state: Mapping[str, Any] | None) -> SkillEffectModel:
    """The model a run starts from (seeded; `init_state` when fine-tuning), with what the options freeze."""
    torch.manual_seed(seed)
    model = SkillEffectModel(model_cfg)
    if init_state is not None:
        model.load_state_dict(init_state)
    if options.freeze_encoder:
        model.encoder.requires_grad_(False)
    if options.freeze_decoders:
        for decoder in (model.dec_u, model.dec_b, model.dec_p):
            decoder.requires_grad_(False)
    return model


def _epoch_batch(model: SkillEffectModel, dataset: TransitionDataset, batch_rows, plain: dict, options: RunOptions,
                 slots_rng: torch.Generator) -> dict:
    """A batch as trained on: with `options.object_slots`, its objects scattered into random rows
    (`_scattered`; the sources of `object_slots_paths` keep theirs)."""
    if not options.object_slots:
        return plain
    keep = (torch.as_tensor(~np.isin(dataset.source_of(batch_rows), options.object_slots_paths))
            if options.object_slots_paths else None)
    return _scattered(model, plain, options.object_slots, slots_rng, keep, options.object_slots_acted,
                      options.object_slots_static)


def _optimiser_step(model: SkillEffectModel, opt: torch.optim.Optimizer, batch: dict, loss_cfg: LossConfig,
                    l2_to_init: float, start_weights: list, lr: float, where: str) -> dict[str, float]:
    """One step on `batch` at rate `lr` (the loss of A.11, plus the L2 pull to the start weights when
    asked); returns the loss parts. TrainError on a non-finite loss, naming `where`."""
    loss, parts = transition_loss(model, batch, loss_cfg)
    if start_weights:
        loss = loss + l2_to_init * sum((p - p0).pow(2).sum() for p, p0 in start_weights)
    if not math.isfinite(parts["total"]):
        raise TrainError(f"loss is {parts['total']} at {where}: {parts}")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    return parts


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    loss_cfg: LossConfig,
    data_paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    options: RunOptions | None = None,
    store: str | os.PathLike[str] | None = None,
    resume: bool = True,
    progress: Progress | None = None,
    init_state: Mapping[str, Any] | None = None,
    parent: str | None = None,
    stop_after_epoch: Callable[[int, SkillEffectModel], bool] | None = None,
) -> TrainResult:
    """Train ``train_cfg.epochs`` epochs on ``data_paths`` (concatenated) into ``out_dir``.

    ``store``: model store root to publish the final model to (None: do not publish).
    ``init_state``: weights to start from (fine-tuning) instead of a fresh initialisation;
    ``parent``: the store version they came from, recorded when publishing.
    ``progress(done, total, message)`` is called after every optimiser step.
    ``stop_after_epoch(epoch, model)`` is asked after every epoch (1-based, model in eval mode); True
    ends the run there, checkpointed and published like a last epoch (fine-tuning stops once the
    failure is learned, `f2p_learner.finetune`).
    """
    options = options if options is not None else RunOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"checkpoint": out / CHECKPOINT, "metrics_csv": out / METRICS_CSV, "curves": out / CURVES_PNG}
    threads = options.threads or available_cores()
    torch.set_num_threads(threads)

    _check_run(model_cfg, options, len(data_paths))
    dataset = TransitionDataset(data_paths, model_cfg, statuses=options.statuses or None)
    data_hash = data_manifest_hash(data_paths)
    train_rows, val_rows = dataset.split(options.val_fraction, seed=train_cfg.seed)
    if len(train_rows) == 0:
        raise TrainError("the training split is empty")
    per_epoch = len(epoch_rows(dataset, train_rows, options.epoch_draw, train_cfg.seed, 0, options.epoch_repeat))
    loss_cfg = _balanced(loss_cfg, dataset, train_rows)
    configs = {"model": model_cfg.to_dict(), "train": train_cfg.to_dict(), "loss": loss_cfg.to_dict(),
               "options": options.to_dict()}

    model = _new_model(model_cfg, train_cfg.seed, options, init_state)
    # Not fused=True, though it is faster (8.8 vs 20.8 ms per step for the 4.6 M parameters after the
    # encoder, 2 cores): its rounding differs, and the demo's small model trained with it solves the
    # demo's transport scene open loop, leaving the demo nothing to learn from (2026-12-02).
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=train_cfg.lr)
    start_weights = [(p, p.detach().clone()) for p in model.parameters() if p.requires_grad] \
        if options.l2_to_init > 0 else []
    history: list[dict[str, Any]] = []
    val_f1: dict[str, Any] = {}
    published: dict[str, Any] = {}
    start = 0
    ckpt_path = files["checkpoint"]
    if ckpt_path.exists() and resume:
        ckpt = load_checkpoint(ckpt_path)
        _check_resumable(ckpt, configs, data_hash, ckpt_path)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start, history, val_f1 = ckpt["epoch"], list(ckpt["history"]), ckpt["val_f1"]
        published = ckpt.get("published", {})
        log.info("resuming %s after epoch %d of %d", ckpt_path, start, train_cfg.epochs)
    elif ckpt_path.exists():
        log.warning("starting over: %s will be replaced", ckpt_path)
    log.info("%d training / %d validation transitions from %d dataset(s), %d threads",
             len(train_rows), len(val_rows), len(dataset.sources), threads)
    if options.freeze_encoder:
        dataset.attach_latents(*encode_records(model, dataset, options.eval_batch_size))

    def checkpoint(epoch: int) -> None:
        save_checkpoint(ckpt_path, {
            "schema": CHECKPOINT_SCHEMA, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "epoch": epoch, "configs": configs, "data_hash": data_hash, "history": history, "val_f1": val_f1,
            "published": published,
        })

    steps = n_batches(per_epoch, train_cfg.batch_size)
    total = steps * max(train_cfg.epochs, start)
    done = steps * start
    if progress:
        progress(done, total, f"epoch {start}/{train_cfg.epochs}")
    last_plot = -math.inf
    for epoch in range(start, train_cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        torch.manual_seed(_epoch_seed(train_cfg.seed, epoch))
        sums = dict.fromkeys(LOSS_PARTS, 0.0)
        rows = epoch_rows(dataset, train_rows, options.epoch_draw, train_cfg.seed, epoch, options.epoch_repeat)
        batches = iter_batches(dataset, rows, train_cfg.batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch,
                               with_rows=True)
        slots_rng = torch.Generator().manual_seed(_epoch_seed(train_cfg.seed, epoch))
        for step, (batch_rows, plain) in enumerate(batches):
            batch = _epoch_batch(model, dataset, batch_rows, plain, options, slots_rng)
            rate = learning_rate(train_cfg, done, steps * train_cfg.epochs)
            parts = _optimiser_step(model, opt, batch, loss_cfg, options.l2_to_init, start_weights, rate,
                                    f"epoch {epoch + 1}, step {step}")
            b = batch["mask"].shape[0]
            for k in LOSS_PARTS:
                sums[k] += parts[k] * b
            done += 1
            if progress:
                progress(done, total, f"epoch {epoch + 1}/{train_cfg.epochs} loss {parts['total']:.3f}")
        row: dict[str, Any] = {"epoch": epoch + 1}
        row.update({f"train_{k}": v / len(rows) for k, v in sums.items()})
        if len(val_rows):
            val_loss, val_f1 = _validate(model, dataset, val_rows, loss_cfg, options.eval_batch_size)
            row.update({f"val_{k}": v for k, v in val_loss.items()})
            for k in ("detection", "prediction", "copy_baseline"):
                row[f"val_{k}_f1"] = val_f1[k]["macro_f1"]
        else:
            row.update({c: None for c in CSV_COLUMNS if c.startswith("val_")})
        row.update({"n_train": len(rows), "n_val": len(val_rows), "lr": opt.param_groups[0]["lr"],
                    "epoch_s": round(time.perf_counter() - t0, 3)})
        history.append(row)
        last = epoch + 1 == train_cfg.epochs
        if stop_after_epoch is not None and not last:
            model.eval()
            with torch.no_grad():
                last = bool(stop_after_epoch(epoch + 1, model))
            if last:
                log.info("stopping after epoch %d of %d: the caller's criterion is met", epoch + 1, train_cfg.epochs)
        if last or (epoch + 1 - start) % options.checkpoint_every == 0:
            checkpoint(epoch + 1)
            write_metrics_csv(files["metrics_csv"], history)
        if last or time.monotonic() - last_plot >= options.plot_interval_s:
            plot_curves(files["curves"], history)  # ~0.2 s: not after every epoch of a many-epoch run
            last_plot = time.monotonic()
        log.info("epoch %d/%d: train loss %.4f, val loss %s, val detection F1 %s, prediction F1 %s (%.1f s)",
                 epoch + 1, train_cfg.epochs, row["train_total"], _fmt(row.get("val_total")),
                 _fmt(row.get("val_detection_f1")), _fmt(row.get("val_prediction_f1")), row["epoch_s"])
        if last:
            break
    if history and not (files["metrics_csv"].exists() and files["curves"].exists()):  # resumed a finished run
        write_metrics_csv(files["metrics_csv"], history)
        plot_curves(files["curves"], history)

    det_f1 = history[-1].get("val_detection_f1") if history else None
    validated = det_f1 is not None and det_f1 >= options.min_val_f1
    result = TrainResult(out, len(history), history, val_f1, validated=validated, files=files)
    if store is None:
        return result
    from f2p_model.store import ModelStore

    store_root = str(Path(store).resolve())
    if published.get("store") == store_root and published.get("epoch") == len(history):
        log.info("already published as %s in %s", published["version"], store_root)
        result.version = published["version"]
        return result
    if det_f1 is None:
        log.warning("no validation split: publishing unvalidated")
    elif not validated:
        log.warning("validation detection F1 %.3f < %.3f: publishing unvalidated", det_f1, options.min_val_f1)
    metrics = {k: v for k, v in history[-1].items() if k not in ("lr", "epoch_s")}
    metrics["val_f1"] = val_f1
    version = ModelStore(store_root).publish(
        model.eval(), {"train": train_cfg, "loss": loss_cfg, "options": options}, parent=parent,
        data_hash=data_hash, metrics=metrics, validated=validated,
    )
    published = {"store": store_root, "version": version, "epoch": len(history)}
    checkpoint(len(history))
    result.version = version
    return result


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"
