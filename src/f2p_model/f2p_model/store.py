"""A versioned skill effect model store on disk.

Layout::

    ROOT/
      versions/
        v0001/  weights.pt  (state_dict, torch.save)
                meta.json   (schema version, version id, parent, configs, data hash, metrics,
                             validated, created time, sha256 of weights.pt)
        v0002/  ...
      .tmp-<random>/        a publish in progress (never read; removed by a later publish after an hour)

A version is written completely into a temporary directory inside ROOT (files fsynced), then
renamed into ``versions/`` in one ``rename`` (atomic on POSIX), so a reader sees a version either
whole or not at all. Version ids count up (``v0001``, ``v0002``, ...): the creation order is the
number, never a file time. ``"latest"`` is the newest *validated* version whose meta parses and
whose weights match the recorded sha256; broken versions are skipped with a warning, so a bad
publish never hides the previous good one. Asking for a broken version by name raises
:class:`ModelStoreError` naming the offending path.

The checkpoint carries its configs: ``load`` rebuilds the model from ``meta.configs["model"]``.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from f2p_model.config import ModelConfig
from f2p_model.model import SkillEffectModel
from f2p_sim.fileio import atomic_write_bytes, sha256_file

log = logging.getLogger(__name__)

STORE_SCHEMA_VERSION = 1
WEIGHTS = "weights.pt"
META = "meta.json"
LATEST = "latest"
TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600.0  # a temp dir untouched this long belongs to a killed publisher (a publish takes seconds)
_VERSION_RE = re.compile(r"^v(\d{4,})$")


class ModelStoreError(RuntimeError):
    """A version that cannot be used as asked (missing, corrupt, unvalidated, wrong schema)."""


@dataclass
class VersionMeta:
    """Contents of ``meta.json``."""

    version: str  # "v0001", also the directory name
    sequence: int  # creation order (the number in the version id)
    parent: str | None  # version this one was fine-tuned from; None for a model trained from scratch
    configs: dict[str, dict[str, Any]]  # "model" (required to rebuild), and e.g. "loss", "train"
    data_hash: str  # hash of the training-data manifest(s)
    metrics: dict[str, Any]  # validation metrics
    validated: bool  # only validated versions are served as "latest"
    created: float  # unix time of publishing (informational; ordering uses `sequence`)
    weights_sha256: str  # of weights.pt, checked on load
    schema_version: int = STORE_SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # torch version, free-form notes

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.configs["model"])


def version_id(sequence: int) -> str:
    return f"v{sequence:04d}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _meta_bytes(meta: VersionMeta) -> bytes:
    return (json.dumps(dataclasses.asdict(meta), indent=1, sort_keys=True) + "\n").encode()


def _config_dict(cfg: Any) -> dict[str, Any]:
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return dataclasses.asdict(cfg)
    if isinstance(cfg, Mapping):
        return dict(cfg)
    raise TypeError(f"a config must be a config dataclass or a dict, got {type(cfg).__name__}")


class ModelStore:
    """Versioned model store rooted at ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.versions_dir.mkdir(parents=True, exist_ok=True)

    # --- paths and ids ------------------------------------------------------------------------

    def path(self, version: str) -> Path:
        if not _VERSION_RE.match(version):
            raise ModelStoreError(f"{version!r} is not a version id (expected like 'v0001' or 'latest')")
        return self.versions_dir / version

    def _sequences(self) -> list[int]:
        """Numbers of every version directory, readable or not, ascending."""
        out = []
        for p in self.versions_dir.iterdir():
            m = _VERSION_RE.match(p.name)
            if m and p.is_dir():
                out.append(int(m.group(1)))
        return sorted(out)

    # --- reading ------------------------------------------------------------------------------

    def read_meta(self, version: str, *, check_weights: bool = True) -> VersionMeta:
        """Parse and check one version's meta (and, by default, its weights' sha256)."""
        vdir = self.path(version)
        meta_path = vdir / META
        if not vdir.is_dir():
            raise ModelStoreError(f"no version {version}: {vdir} does not exist")
        try:
            raw = json.loads(meta_path.read_text())
        except FileNotFoundError as exc:
            raise ModelStoreError(f"corrupt version {version}: {meta_path} is missing") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelStoreError(f"corrupt version {version}: {meta_path} is not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise ModelStoreError(f"corrupt version {version}: {meta_path} is not a JSON object")
        if raw.get("schema_version") != STORE_SCHEMA_VERSION:
            raise ModelStoreError(
                f"{meta_path}: schema version {raw.get('schema_version')!r}, this code reads {STORE_SCHEMA_VERSION}"
            )
        try:
            meta = VersionMeta(**raw)
            _ = meta.model_config  # the model config must rebuild
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelStoreError(f"corrupt version {version}: {meta_path} has bad fields ({exc})") from exc
        if meta.version != version:
            raise ModelStoreError(f"corrupt version {version}: {meta_path} says it is {meta.version}")
        if check_weights:
            weights = vdir / WEIGHTS
            if not weights.is_file():
                raise ModelStoreError(f"corrupt version {version}: {weights} is missing")
            sha = sha256_file(weights)
            if sha != meta.weights_sha256:
                raise ModelStoreError(f"corrupt version {version}: {weights} sha256 {sha[:12]}… != meta's "
                                      f"{meta.weights_sha256[:12]}…")
        return meta

    def list(self) -> list[VersionMeta]:
        """Every readable version (validated or not), oldest first; broken ones are logged and left out."""
        metas = []
        for seq in self._sequences():
            try:
                metas.append(self.read_meta(version_id(seq)))
            except ModelStoreError as exc:
                log.warning("model store: skipping %s", exc)
        return metas

    def latest(self) -> str:
        """Id of the newest validated, intact version."""
        for seq in reversed(self._sequences()):
            v = version_id(seq)
            try:
                meta = self.read_meta(v)
            except ModelStoreError as exc:
                log.warning("model store: skipping %s", exc)
                continue
            if meta.validated:
                return v
        raise ModelStoreError(f"no validated version in {self.versions_dir}")

    def resolve(self, version: str = LATEST) -> str:
        return self.latest() if version == LATEST else version

    def load(
        self, version: str = LATEST, map_location: str | torch.device = "cpu"
    ) -> tuple[SkillEffectModel, VersionMeta]:
        """Rebuild the model of ``version`` (or of the latest validated one), in eval mode.

        A named version is loaded whether or not it is validated (fine-tuning candidates);
        ``"latest"`` falls back past versions whose weights fail to load.
        """
        if version != LATEST:
            return self._load(version, map_location)
        for seq in reversed(self._sequences()):
            v = version_id(seq)
            try:
                if not self.read_meta(v, check_weights=False).validated:
                    continue
                return self._load(v, map_location)
            except ModelStoreError as exc:
                log.warning("model store: skipping %s", exc)
        raise ModelStoreError(f"no validated, loadable version in {self.versions_dir}")

    def _load(self, version: str, map_location: str | torch.device) -> tuple[SkillEffectModel, VersionMeta]:
        meta = self.read_meta(version)
        weights = self.path(version) / WEIGHTS
        model = SkillEffectModel(meta.model_config)
        try:
            state = torch.load(weights, map_location=map_location, weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:  # unpickling / shape errors all mean the same thing here
            raise ModelStoreError(f"corrupt version {version}: cannot load {weights} ({exc})") from exc
        return model.eval(), meta

    # --- writing ------------------------------------------------------------------------------

    def publish(
        self,
        model: SkillEffectModel,
        configs: Mapping[str, Any] | None = None,
        parent: str | None = None,
        data_hash: str = "",
        metrics: Mapping[str, Any] | None = None,
        validated: bool = False,
    ) -> str:
        """Write a new version atomically and return its id.

        ``configs`` holds the other configs worth keeping (e.g. ``{"loss": ..., "train": ...}``);
        the model's own config is always stored under ``"model"``.
        """
        cfgs = {k: _config_dict(v) for k, v in (configs or {}).items()}
        model_cfg = model.config.to_dict()
        if "model" in cfgs and cfgs["model"] != model_cfg:
            raise ValueError("configs['model'] differs from model.config; leave it out, it is taken from the model")
        cfgs["model"] = model_cfg
        if parent is not None:
            self.path(parent)  # a well-formed id; the parent may since have been deleted
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}

        self._remove_stale_tmp()
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=self.root))
        try:
            torch.save(state, tmp / WEIGHTS)
            with open(tmp / WEIGHTS, "rb+") as f:
                os.fsync(f.fileno())
            meta = VersionMeta(
                version="",
                sequence=0,
                parent=parent,
                configs=cfgs,
                data_hash=data_hash,
                metrics=dict(metrics or {}),
                validated=bool(validated),
                created=time.time(),
                weights_sha256=sha256_file(tmp / WEIGHTS),
                extra={"torch_version": torch.__version__},
            )
            # Claim the next id by renaming into place; a concurrent publisher that took the same id
            # first makes the rename fail (the target is a non-empty directory) and we take the next.
            seq = (self._sequences() or [0])[-1] + 1
            while True:
                meta.version, meta.sequence = version_id(seq), seq
                _write_file(tmp / META, _meta_bytes(meta))
                _fsync_dir(tmp)
                try:
                    os.rename(tmp, self.versions_dir / meta.version)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    seq = max(seq + 1, (self._sequences() or [0])[-1] + 1)
            _fsync_dir(self.versions_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("model store: published %s (parent %s, validated %s)", meta.version, parent, validated)
        return meta.version

    def _remove_stale_tmp(self) -> None:
        now = time.time()
        for p in self.root.glob(TMP_PREFIX + "*"):
            try:
                if p.is_dir() and now - p.stat().st_mtime > STALE_TMP_S:
                    shutil.rmtree(p, ignore_errors=True)
                    log.info("model store: removed %s left by an interrupted publish", p)
            except FileNotFoundError:
                pass

    def set_validated(
        self, version: str, validated: bool = True, metrics: Mapping[str, Any] | None = None
    ) -> VersionMeta:
        """Mark a version (in)valid after the fact, merging ``metrics``; meta.json is replaced atomically."""
        meta = self.read_meta(version)
        meta.validated = bool(validated)
        meta.metrics.update(dict(metrics or {}))
        vdir = self.path(version)
        atomic_write_bytes(vdir / META, _meta_bytes(meta))
        _fsync_dir(vdir)
        return meta
