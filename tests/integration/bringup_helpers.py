"""Helpers for the bringup tests: a fake ament prefix whose executables are test peers, and
checks that processes are really gone."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

from conftest import REPO

PEERS = REPO / "tests/integration/peers"


def make_prefix(root: Path, executables: dict[str, tuple[str, str, list[str]]]) -> Path:
    """An install prefix like colcon's: ``executables[exe] = (package, peer script, extra args)``.

    Each executable is a shell wrapper that ``exec``s the venv Python on the peer, so the node's
    pid is the wrapper's pid, as with a console script.
    """
    prefix = root / "prefix"
    for exe, (package, peer, extra) in executables.items():
        index = prefix / "share/ament_index/resource_index/packages"
        index.mkdir(parents=True, exist_ok=True)
        (index / package).write_text("")
        lib = prefix / "lib" / package
        lib.mkdir(parents=True, exist_ok=True)
        cmd = shlex.join([sys.executable, str(PEERS / peer), *extra])
        (lib / exe).write_text(f'#!/bin/sh\nexec {cmd} "$@"\n')
        (lib / exe).chmod(0o755)
    return prefix


def graph_yaml(nodes: dict[str, str]) -> str:
    """A schema-1 config where node ``name`` runs executable ``nodes[name]`` of package ``fakepkg``."""
    lines = ["schema: 1", "nodes:"]
    for name, exe in nodes.items():
        lines += [f"  {name}:", "    package: fakepkg", f"    executable: {exe}",
                  "    parameters: {answer: 42, label: forty-two}"]
    return "\n".join(lines) + "\n"


def is_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def wait_gone(pids, timeout_s: float) -> list[int]:
    """Wait until every pid is gone; return those still running after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    left = list(pids)
    while left and time.monotonic() < deadline:
        left = [p for p in left if not is_gone(p)]
        time.sleep(0.05)
    return left


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def child_pid(log: Path) -> int:
    """The pid a ``fake_node.py --child`` printed in its log."""
    for line in log.read_text().splitlines():
        if line.startswith("child pid "):
            return int(line.split()[2])
    raise AssertionError(f"no child pid in {log}")
