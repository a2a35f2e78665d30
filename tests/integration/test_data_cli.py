"""`f2p data generate` as a user runs it: killed with SIGKILL mid-run, resumed by rerunning the
same command, the result is identical to an uninterrupted run (nothing lost, nothing duplicated)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import numpy as np
from conftest import REPO

from f2p_sim import dataset


def _cmd(out) -> list[str]:
    f2p = shutil.which("f2p") or str(REPO / ".venv/bin/f2p")
    return [f2p, "data", "generate", "--distribution", "pretrain", "--n", "30", "--shard-size", "5",
            "--points", "16", "--seed", "7", "--out", str(out)]


def _finished_shards(out) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["shards"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def test_killed_generation_resumes_to_the_same_data(tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _finished_shards(killed) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = _finished_shards(killed)
    assert 2 <= kept < 6, f"the kill should land mid-run, {kept} shards were done"

    subprocess.run(_cmd(killed), check=True, capture_output=True, timeout=300)
    subprocess.run(_cmd(tmp_path / "whole"), check=True, capture_output=True, timeout=300)
    a, b = dataset.load(killed), dataset.load(tmp_path / "whole")
    np.testing.assert_array_equal(a["index"], np.arange(30))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not list(killed.glob(".*.tmp")), "the resumed run must clear half-written files"
