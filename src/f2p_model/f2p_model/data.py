"""Transition datasets (f2p_sim.dataset directories) as training batches for :mod:`f2p_model.losses`.

One or more dataset directories are loaded into memory and concatenated (only the fields a batch
needs: ~43 kB per transition at N = 14, P = 128, so 10k transitions are ~0.4 GB). A batch is the
dict of :data:`f2p_model.losses.BATCH_KEYS`; record fields map as

    points_t/t1 -> points_t/t1   object_mask -> mask   unary_t/t1, binary_t/t1, pos_t/t1 -> same
    skill -> skill (re-indexed by name into ModelConfig.skill_types)   acted, params -> same

and the object axis is trimmed to the largest object count in the batch (records pad to 14; most
pre-training scenes have far fewer objects, and the binary decoder is quadratic in N).

Records are kept whatever their execution status by default: a failed execution is a real
transition in which usually nothing moved, and the model should know that too. ``statuses``
keeps only the named ones. Records whose acted object is not a real object are dropped (the
model cannot encode the skill) with a warning.

Splits are by sample, stable: a record is in the validation split iff a hash of
(split seed, its dataset's generating config, its sample index) falls below the fraction. Adding
records to a dataset, or listing the datasets in another order, never moves an existing record
between train and validation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from f2p_model.config import ModelConfig

log = logging.getLogger(__name__)

#: Record fields read from disk (the rest, e.g. scene_json and names, stay on disk).
_FIELDS: tuple[str, ...] = (
    "points_t", "points_t1", "object_mask", "skill", "acted", "params",
    "unary_t", "binary_t", "pos_t", "unary_t1", "binary_t1", "pos_t1", "status", "index",
)


class DataError(ValueError):
    """A dataset that does not fit the model (vocabulary, point count) or cannot be read."""


def data_manifest_hash(paths: Sequence[str | os.PathLike[str]]) -> str:
    """sha256 over the manifests of ``paths`` in the given order (the data identity of a model).

    The manifests list every shard's sha256, so this hash changes with any record's content.
    """
    from f2p_sim.dataset import read_manifest

    h = hashlib.sha256()
    for p in paths:
        manifest = read_manifest(Path(p))
        h.update(json.dumps(manifest, sort_keys=True).encode())
        h.update(b"\0")
    return h.hexdigest()


def _vocabulary() -> dict[str, tuple[str, ...]]:
    """Names of the dataset's index columns, from the simulator that wrote them."""
    from f2p_core.skills import SKILL_NAMES
    from f2p_sim.transitions import BINARY, STATUS_NAMES, UNARY

    return {"unary": tuple(UNARY), "binary": tuple(BINARY), "skills": tuple(SKILL_NAMES), "status": tuple(STATUS_NAMES)}


def check_vocabulary(model_cfg: ModelConfig) -> None:
    """The model's relation columns must be the dataset's, in the same order."""
    voc = _vocabulary()
    for ours, theirs, what in (
        (model_cfg.unary_names, voc["unary"], "unary"), (model_cfg.binary_names, voc["binary"], "binary"),
    ):
        if tuple(ours) != theirs:
            raise DataError(f"model {what} relations {list(ours)} differ from the dataset's {list(theirs)}")
    unknown = set(voc["skills"]) - set(model_cfg.skill_types)
    if unknown:
        log.warning("records with skills %s unknown to the model will be dropped", sorted(unknown))


def split_keys(seed: int, config_json: str, index: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers, one per sample index, a pure function of (seed, config, index)."""
    out = np.empty(len(index), dtype=np.float64)
    prefix = f"{seed}|{config_json}|".encode()
    for k, i in enumerate(index.tolist()):
        d = hashlib.blake2b(prefix + str(i).encode(), digest_size=8).digest()
        out[k] = int.from_bytes(d, "little") / 2.0**64
    return out


@dataclass
class _Source:
    path: Path
    config_json: str  # the generating config (sorted JSON), part of the split key
    start: int  # first row of this dataset in the concatenation
    n: int


class TransitionDataset(torch.utils.data.Dataset):
    """All records of ``paths`` concatenated, in memory, as numpy arrays.

    ``dataset[i]`` is one record as a batch of one; :meth:`batch` stacks many and trims the
    padding, and :func:`iter_batches` is the loader the trainer uses.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        model_cfg: ModelConfig | None = None,
        statuses: Sequence[str] | None = None,
    ) -> None:
        from f2p_sim.dataset import DatasetError, iter_shards, read_manifest

        if len(paths) == 0:
            raise DataError("no dataset directories given")
        cfg = model_cfg if model_cfg is not None else ModelConfig()
        voc = _vocabulary()
        self.model_cfg = cfg
        self.latents: dict[str, Tensor] = {}  # attach_latents
        if statuses is not None:
            bad = sorted(set(statuses) - set(voc["status"]))
            if bad:
                raise DataError(f"unknown statuses {bad}; known are {list(voc['status'])}")
        # dataset skill index -> model skill index (-1: the model has no such skill)
        skill_map = np.array([cfg.skill_types.index(s) if s in cfg.skill_types else -1 for s in voc["skills"]])
        keep_status = None if statuses is None else np.array([s in statuses for s in voc["status"]])

        parts: list[dict[str, np.ndarray]] = []
        self.sources: list[_Source] = []
        start = 0
        for p in paths:
            path = Path(p)
            if not path.is_dir():
                raise DataError(f"dataset directory {path} does not exist")
            try:
                manifest = read_manifest(path)
                shards = [{k: s[k] for k in _FIELDS} for s in iter_shards(path)]
            except DatasetError as exc:
                raise DataError(str(exc)) from exc
            except KeyError as exc:
                raise DataError(f"{path}: records lack field {exc}") from exc
            rec = {k: np.concatenate([s[k] for s in shards]) for k in _FIELDS}
            self._check_shapes(path, rec, cfg)
            keep = np.ones(len(rec["index"]), dtype=bool)
            if keep_status is not None:
                keep &= keep_status[rec["status"].astype(np.int64)]
            rec["skill"] = skill_map[rec["skill"].astype(np.int64)]
            acted = rec["acted"].astype(np.int64)
            acted_real = (acted >= 0) & rec["object_mask"][np.arange(len(acted)), np.clip(acted, 0, None)]
            bad = keep & ((rec["skill"] < 0) | ~acted_real)
            if bad.any():
                log.warning("%s: dropping %d records whose skill is unknown to the model or whose acted object "
                            "is not a real object", path, int(bad.sum()))
            keep &= ~bad
            rec = {k: v[keep] for k, v in rec.items()}
            n = len(rec["index"])
            self.sources.append(_Source(path, json.dumps(manifest["config"], sort_keys=True), start, n))
            parts.append(rec)
            start += n
        self.arrays: dict[str, np.ndarray] = {k: np.concatenate([r[k] for r in parts]) for k in _FIELDS}
        # Objects are stored first, padding after: the count is the index of the last real row + 1.
        self.n_objects = self.arrays["object_mask"].sum(axis=1).astype(np.int64)  # (S,)
        if len(self) == 0:
            raise DataError(f"no usable records in {[str(p) for p in paths]}")

    @staticmethod
    def _check_shapes(path: Path, rec: dict[str, np.ndarray], cfg: ModelConfig) -> None:
        _, n, p, _ = rec["points_t"].shape
        if p != cfg.n_points:
            raise DataError(f"{path}: segments have {p} points, the model is configured for n_points={cfg.n_points}")
        most = int(rec["object_mask"].sum(1).max(initial=0))
        if most > cfg.max_objects:
            raise DataError(f"{path}: a record has {most} objects, more than the model's max_objects={cfg.max_objects}")
        if rec["unary_t"].shape[-1] != cfg.n_unary or rec["binary_t"].shape[-1] != cfg.n_binary:
            raise DataError(f"{path}: {rec['unary_t'].shape[-1]} unary / {rec['binary_t'].shape[-1]} binary "
                            f"relations, the model has {cfg.n_unary} / {cfg.n_binary}")
        # Real objects first, padding after (f2p_sim.transitions pads at the end).
        m = rec["object_mask"]
        if not np.array_equal(m, np.arange(n)[None, :] < m.sum(1, keepdims=True)):
            raise DataError(f"{path}: object_mask is not a prefix of real objects")

    def __len__(self) -> int:
        return len(self.arrays["index"])

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        """Record ``i`` as a batch of one (B = 1, N = its object count)."""
        return self.batch(np.array([i]))

    def source_of(self, rows: np.ndarray) -> np.ndarray:
        """Index into :attr:`sources` of each row."""
        starts = np.array([s.start for s in self.sources])
        return np.searchsorted(starts, rows, side="right") - 1

    def rows_of(self, source: int) -> np.ndarray:
        s = self.sources[source]
        return np.arange(s.start, s.start + s.n)

    def split(self, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, validation rows), ascending, by the stable per-sample hash (module docstring).

        With ``val_fraction > 0`` and at least two records the validation split is never empty
        (the record with the smallest key goes there), nor is the training split.
        """
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        keys = np.empty(len(self))
        for src in self.sources:
            rows = np.arange(src.start, src.start + src.n)
            keys[rows] = split_keys(seed, src.config_json, self.arrays["index"][rows])
        is_val = keys < val_fraction
        if val_fraction > 0 and len(self) >= 2:
            if not is_val.any():
                is_val[np.argmin(keys)] = True
            if is_val.all():
                is_val[np.argmax(keys)] = False
        rows = np.arange(len(self))
        return rows[~is_val], rows[is_val]

    def attach_latents(self, latent_t: Tensor, latent_t1: Tensor | None = None) -> None:
        """Serve X_t and X_{t+1} (S, N_pad, D), one row per record, with every batch from now on
        (:data:`f2p_model.losses.LATENT_KEYS`): the latents of a frozen encoder, encoded once. X_t
        alone serves relation detection (`f2p_model.metrics`); the loss needs both."""
        s, n = self.arrays["object_mask"].shape
        latents = {k: t for k, t in (("latent_t", latent_t), ("latent_t1", latent_t1)) if t is not None}
        for t in latents.values():
            if t.dim() != 3 or t.shape[:2] != (s, n):
                raise ValueError(f"latents must be ({s}, {n}, D), got {tuple(t.shape)}")
        self.latents = {k: t.detach() for k, t in latents.items()}

    def batch(self, rows: np.ndarray, trim: bool = True) -> dict[str, Tensor]:
        """Stack ``rows`` into a loss batch (:data:`f2p_model.losses.BATCH_KEYS`), objects trimmed to
        the largest count among them."""
        a = self.arrays
        rows = np.asarray(rows, dtype=np.int64)
        n = int(self.n_objects[rows].max()) if trim else a["object_mask"].shape[1]
        am = self.model_cfg.max_param_dim
        params = np.zeros((len(rows), am), dtype=np.float32)
        k = min(am, a["params"].shape[1])
        params[:, :k] = a["params"][rows, :k]
        out = {
            "points_t": torch.from_numpy(a["points_t"][rows, :n]),  # (B, N, P, 3)
            "points_t1": torch.from_numpy(a["points_t1"][rows, :n]),
            "mask": torch.from_numpy(a["object_mask"][rows, :n]),  # (B, N)
            "skill": torch.from_numpy(a["skill"][rows].astype(np.int64)),  # (B,)
            "acted": torch.from_numpy(a["acted"][rows].astype(np.int64)),
            "params": torch.from_numpy(params),  # (B, A)
            "unary_t": torch.from_numpy(a["unary_t"][rows, :n]),  # (B, N, U)
            "binary_t": torch.from_numpy(a["binary_t"][rows, :n, :n]),  # (B, N, N, R)
            "pos_t": torch.from_numpy(a["pos_t"][rows, :n]),  # (B, N, 3)
            "unary_t1": torch.from_numpy(a["unary_t1"][rows, :n]),
            "binary_t1": torch.from_numpy(a["binary_t1"][rows, :n, :n]),
            "pos_t1": torch.from_numpy(a["pos_t1"][rows, :n]),
        }
        for key in ("points_t", "points_t1", "pos_t", "pos_t1"):
            out[key] = out[key].float()
        idx = torch.from_numpy(rows)
        for key, lat in self.latents.items():
            out[key] = lat[idx, :n]
        return out


def epoch_order(rows: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """``rows`` shuffled by a generator seeded with (seed, epoch) alone: a resumed run sees the same order."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, epoch]))
    return rows[rng.permutation(len(rows))]


def iter_batches(
    dataset: TransitionDataset,
    rows: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    epoch: int = 0,
    with_rows: bool = False,
) -> Iterator[dict[str, Tensor]] | Iterator[tuple[np.ndarray, dict[str, Tensor]]]:
    """Batches over ``rows`` (the last one may be smaller), shuffled per (seed, epoch) if asked;
    ``with_rows``: (the batch's rows, the batch)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = epoch_order(np.asarray(rows), seed, epoch) if shuffle else np.asarray(rows)
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        yield (idx, dataset.batch(idx)) if with_rows else dataset.batch(idx)


def n_batches(n_rows: int, batch_size: int) -> int:
    return (n_rows + batch_size - 1) // batch_size
