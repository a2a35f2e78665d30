"""Integration tests run against the built workspace (``source scripts/env.sh`` first; the
test command does it). They start real processes and talk to them over DDS."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def pytest_configure(config):
    try:
        import f2p_msgs.msg  # noqa: F401
    except ImportError as exc:  # the workspace is not sourced: say how to fix it
        raise pytest.UsageError(f"f2p_msgs is not importable ({exc}); run 'source scripts/env.sh' first") from exc


@pytest.fixture
def peer():
    """Start ``tests/integration/peers/<name>.py`` as a separate process; stopped at teardown."""
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests/integration/peers" / f"{name}.py"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def ros_domain(monkeypatch) -> int:
    """A private DDS domain for the nodes of one test (the test command's, else a random one)."""
    import random

    value = os.environ.get("ROS_DOMAIN_ID") or str(random.randint(150, 199))
    monkeypatch.setenv("ROS_DOMAIN_ID", value)
    return int(value)


@pytest.fixture
def procs(ros_domain, tmp_path):
    """Installed node executables (graph_nodes.NodeProcs), all stopped at teardown."""
    from graph_nodes import NodeProcs

    nodes = NodeProcs(tmp_path)
    yield nodes
    nodes.stop()


@pytest.fixture
def ros(ros_domain):
    """This process's node in the test's domain (graph_nodes.RosClient)."""
    from graph_nodes import RosClient

    client = RosClient(ros_domain)
    yield client
    client.close()
