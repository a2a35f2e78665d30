"""Transition datasets on disk: sharded ``.npz`` files plus a JSON manifest.

A dataset is a directory::

    manifest.json        schema version, the generating config, one entry per finished shard
    shard_00000.npz      records [0, shard_size), arrays stacked along a leading axis
    shard_00001.npz      ...

Every record is a dict of fixed-shape numpy arrays (the keys and shapes are listed in
``manifest.json`` under ``"fields"`` and documented in the package README). Sample ``i`` is
generated from ``numpy.random.SeedSequence([seed, i])`` alone, so the data do not depend on the
number of workers, on the shard size or on where a killed run resumed.

Crash safety: a shard is written to a temporary file and renamed into place, then the manifest is
rewritten the same way. A kill at any moment leaves complete shards and a manifest that lists only
complete shards; a rerun skips every shard the manifest lists (and whose file checks out) and
regenerates the rest, so nothing is duplicated or lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .fileio import atomic_write_bytes, sha256_file

log = logging.getLogger(__name__)

DATASET_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

Record = dict[str, np.ndarray]
#: ``make_record(config, index) -> Record``: must be a picklable top-level function.
RecordFn = Callable[[Any, int], Record]


class DatasetError(RuntimeError):
    """A dataset directory that cannot be used as asked (wrong config, corrupt shard, ...)."""


def shard_name(shard: int) -> str:
    return f"shard_{shard:05d}.npz"


def stack_records(records: list[Record]) -> Record:
    """Stack records along a new leading axis; every record must have the same keys and shapes."""
    keys = list(records[0])
    for i, r in enumerate(records):
        if list(r) != keys:
            raise DatasetError(f"record {i} has fields {sorted(r)}, expected {sorted(keys)}")
    return {k: np.stack([r[k] for r in records]) for k in keys}


def write_shard(path: Path, records: list[Record]) -> str:
    """Write records as one compressed npz atomically; return the file's sha256."""
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **stack_records(records))
    atomic_write_bytes(path, buf.getvalue())
    return sha256_file(path)


def _config_dict(config: Any) -> dict:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)


def read_manifest(out: Path) -> dict:
    path = Path(out) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DatasetError(f"{out} is not a dataset: no {MANIFEST}") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("schema_version") != DATASET_SCHEMA_VERSION:
        raise DatasetError(f"{path}: schema version {manifest.get('schema_version')} != {DATASET_SCHEMA_VERSION}")
    return manifest


def _write_manifest(out: Path, manifest: dict) -> None:
    atomic_write_bytes(out / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def write_records(out: str | Path, records: list[Record], config: Any) -> dict:
    """A complete one-shard dataset from records made elsewhere (e.g. a learner's D+), with the
    same manifest as `generate`, so every reader treats both alike. Refuses an existing dataset."""
    out = Path(out)
    if not records:
        raise DatasetError(f"no records to write to {out}")
    if (out / MANIFEST).exists():
        raise DatasetError(f"{out} already holds a dataset")
    out.mkdir(parents=True, exist_ok=True)
    sha = write_shard(out / shard_name(0), records)
    manifest = {"schema_version": DATASET_SCHEMA_VERSION, "config": json.loads(json.dumps(_config_dict(config))),
                "n": len(records), "shard_size": len(records), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "fields": {k: [str(v.dtype), list(v.shape)] for k, v in records[0].items()},
                "shards": {"0": {"file": shard_name(0), "start": 0, "n": len(records), "sha256": sha}}}
    _write_manifest(out, manifest)
    return manifest


def _generate_shard(make_record: RecordFn, config: Any, out: Path, shard: int, start: int, stop: int):
    # Records are made of many tiny numpy products; a multi-threaded BLAS in each of several
    # worker processes oversubscribes the cores (measured: 2 workers ran *slower* than 1).
    with threadpool_limits(limits=1):
        records = [make_record(config, i) for i in range(start, stop)]
    sha = write_shard(out / shard_name(shard), records)
    fields = {k: [str(v.dtype), list(v.shape)] for k, v in records[0].items()}
    return shard, sha, fields


def generate(
    make_record: RecordFn,
    config: Any,
    out: str | Path,
    n: int,
    shard_size: int = 100,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Generate ``n`` records into ``out``; resume what a previous run left.

    ``config`` (a dataclass) is stored in the manifest; resuming with a different config or
    shard size is refused rather than mixing two datasets in one directory.
    ``progress(done, total)`` is called after each finished shard.
    """
    if n <= 0 or shard_size <= 0:
        raise DatasetError(f"n ({n}) and shard_size ({shard_size}) must be positive")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        for stale in out.glob(".*.tmp"):  # half-written files of a killed run
            stale.unlink()
        return _generate_locked(make_record, config, out, n, shard_size, workers, progress)


@contextlib.contextmanager
def _exclusive(out: Path):
    """One generator per directory: a second one would interleave shards and manifests."""
    with open(out / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DatasetError(f"another process is generating into {out}") from exc
        yield


def _generate_locked(make_record: RecordFn, config: Any, out: Path, n: int, shard_size: int, workers: int,
                     progress: Callable[[int, int], None] | None) -> dict:
    cfg = json.loads(json.dumps(_config_dict(config)))  # tuples -> lists, as the manifest stores them
    if (out / MANIFEST).exists():
        manifest = read_manifest(out)
        for key, want in (("config", cfg), ("shard_size", shard_size), ("n", n)):
            if manifest[key] != want:
                raise DatasetError(
                    f"{out} holds a dataset made with a different {key} ({manifest[key]} != {want}); "
                    "use another --out or delete it")
    else:
        manifest = {"schema_version": DATASET_SCHEMA_VERSION, "config": cfg, "n": n, "shard_size": shard_size,
                    "fields": {}, "shards": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _write_manifest(out, manifest)

    n_shards = (n + shard_size - 1) // shard_size
    todo = []
    for s in range(n_shards):
        entry = manifest["shards"].get(str(s))
        path = out / shard_name(s)
        if entry and path.exists() and sha256_file(path) == entry["sha256"]:
            continue
        if entry:
            log.warning("shard %d is listed but missing or corrupt: regenerating it", s)
            del manifest["shards"][str(s)]
        todo.append((s, s * shard_size, min(n, (s + 1) * shard_size)))
    done = sum(e["n"] for e in manifest["shards"].values())
    if todo and done:
        log.info("resuming: %d of %d records already on disk", done, n)
    if progress:
        progress(done, n)

    def record(shard: int, sha: str, fields: dict) -> None:
        nonlocal done
        start, stop = shard * shard_size, min(n, (shard + 1) * shard_size)
        manifest["shards"][str(shard)] = {"file": shard_name(shard), "start": start, "n": stop - start, "sha256": sha}
        manifest["fields"] = fields
        _write_manifest(out, manifest)
        done += stop - start
        if progress:
            progress(done, n)

    if workers <= 1:
        for s, start, stop in todo:
            record(*_generate_shard(make_record, config, out, s, start, stop))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_generate_shard, make_record, config, out, s, a, b) for s, a, b in todo]
            for fut in as_completed(futures):
                record(*fut.result())
    return manifest


def iter_shards(path: str | Path) -> Iterator[Record]:
    """Yield the shards of a dataset in index order, each a dict of stacked arrays."""
    path = Path(path)
    manifest = read_manifest(path)
    n_shards = (manifest["n"] + manifest["shard_size"] - 1) // manifest["shard_size"]
    missing = [s for s in range(n_shards) if str(s) not in manifest["shards"]]
    if missing:
        raise DatasetError(f"{path} is incomplete: shards {missing[:5]}{'...' if len(missing) > 5 else ''} missing; "
                           "rerun the same generate command to finish it")
    for s in range(n_shards):
        with np.load(path / shard_name(s)) as data:
            yield {k: data[k] for k in data.files}


def load(path: str | Path) -> Record:
    """Load a whole dataset into memory, shards concatenated."""
    shards = list(iter_shards(path))
    return {k: np.concatenate([s[k] for s in shards]) for k in shards[0]}
