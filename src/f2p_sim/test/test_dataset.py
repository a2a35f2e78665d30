"""Sharded datasets: deterministic, resumable after a kill, refusing to mix configs."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from f2p_sim import dataset


@dataclasses.dataclass
class ToyConfig:
    seed: int = 3
    dims: tuple = (2, 3)


def toy_record(config: ToyConfig, index: int) -> dataset.Record:
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, index]))
    return {"x": rng.normal(size=config.dims).astype(np.float32), "index": np.int64(index)}


def test_same_seed_same_arrays_whatever_the_workers(tmp_path):
    dataset.generate(toy_record, ToyConfig(), tmp_path / "a", n=25, shard_size=10, workers=1)
    dataset.generate(toy_record, ToyConfig(), tmp_path / "b", n=25, shard_size=10, workers=2)
    a, b = dataset.load(tmp_path / "a"), dataset.load(tmp_path / "b")
    assert a["x"].shape == (25, 2, 3)
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["index"], np.arange(25))
    dataset.generate(toy_record, ToyConfig(seed=4), tmp_path / "c", n=25, shard_size=10)
    other = dataset.load(tmp_path / "c")
    assert not np.array_equal(a["x"], other["x"])


def test_manifest_documents_fields(tmp_path):
    manifest = dataset.generate(toy_record, ToyConfig(), tmp_path, n=5, shard_size=2)
    on_disk = json.loads((tmp_path / dataset.MANIFEST).read_text())
    assert on_disk["schema_version"] == dataset.DATASET_SCHEMA_VERSION
    assert on_disk["fields"]["x"] == ["float32", [2, 3]]
    assert sorted(on_disk["shards"]) == ["0", "1", "2"] == sorted(manifest["shards"])
    assert on_disk["config"] == {"seed": 3, "dims": [2, 3]}


class Killed(Exception):
    pass


def test_killed_run_resumes_without_duplicates_or_losses(tmp_path):
    calls = []

    def dying_progress(done, total):
        calls.append(done)
        if done >= 20:  # die after the second finished shard
            raise Killed

    with pytest.raises(Killed):
        dataset.generate(toy_record, ToyConfig(), tmp_path, n=45, shard_size=10, progress=dying_progress)
    assert sorted(dataset.read_manifest(tmp_path)["shards"]) == ["0", "1"]
    with pytest.raises(dataset.DatasetError, match="incomplete"):
        dataset.load(tmp_path)
    # a half-written temporary file from the kill must not confuse the resume
    (tmp_path / ".shard_00002.npz.xyz.tmp").write_bytes(b"partial")
    resumed = []
    dataset.generate(toy_record, ToyConfig(), tmp_path, n=45, shard_size=10, progress=lambda d, t: resumed.append(d))
    assert resumed[0] == 20  # the finished shards were kept, not regenerated
    assert not list(tmp_path.glob(".*.tmp"))
    data = dataset.load(tmp_path)
    np.testing.assert_array_equal(data["index"], np.arange(45))
    dataset.generate(toy_record, ToyConfig(), tmp_path / "fresh", n=45, shard_size=10)
    fresh = dataset.load(tmp_path / "fresh")
    np.testing.assert_array_equal(data["x"], fresh["x"])


def test_corrupt_shard_is_regenerated(tmp_path):
    dataset.generate(toy_record, ToyConfig(), tmp_path, n=20, shard_size=10)
    good = dataset.load(tmp_path)["x"].copy()
    (tmp_path / dataset.shard_name(1)).write_bytes(b"garbage")
    dataset.generate(toy_record, ToyConfig(), tmp_path, n=20, shard_size=10)
    np.testing.assert_array_equal(dataset.load(tmp_path)["x"], good)


def test_resume_with_other_config_is_refused(tmp_path):
    dataset.generate(toy_record, ToyConfig(), tmp_path, n=4, shard_size=2)
    with pytest.raises(dataset.DatasetError, match="different config"):
        dataset.generate(toy_record, ToyConfig(seed=9), tmp_path, n=4, shard_size=2)
    with pytest.raises(dataset.DatasetError, match="different shard_size"):
        dataset.generate(toy_record, ToyConfig(), tmp_path, n=4, shard_size=3)


def test_bad_arguments_and_paths(tmp_path):
    with pytest.raises(dataset.DatasetError, match="positive"):
        dataset.generate(toy_record, ToyConfig(), tmp_path, n=0)
    with pytest.raises(dataset.DatasetError, match="not a dataset"):
        dataset.load(tmp_path / "nowhere")


def test_two_generators_in_one_directory_are_refused(tmp_path):
    with dataset._exclusive(tmp_path), pytest.raises(dataset.DatasetError, match="another process"):
        dataset.generate(toy_record, ToyConfig(), tmp_path, n=4, shard_size=2)
