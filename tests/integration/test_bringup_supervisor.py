"""The process supervisor behind ``f2p bringup``, with real processes (no ROS needed).

What must hold: every node starts from its ament prefix with its ROS arguments; one node dying
stops all the others and names the dead one with its exit code and log tail; shutdown escalates
SIGINT -> SIGTERM -> SIGKILL; nothing a node started outlives it; a missing executable stops the
bringup before anything runs; a killed supervisor leaves no orphans.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from bringup_helpers import child_pid, graph_yaml, is_gone, make_prefix, wait_for, wait_gone
from conftest import REPO

from f2p_bringup.graph_config import parse_graph
from f2p_bringup.supervisor import ExecutableNotFound, NodeDied, StopTimeouts, Supervisor

FAST = StopTimeouts(sigint=2.0, sigterm=2.0, sigkill=2.0)


@pytest.fixture
def prefix(tmp_path):
    return make_prefix(tmp_path, {
        "sleeper": ("fakepkg", "fake_node.py", []),
        "parent": ("fakepkg", "fake_node.py", ["--child"]),
        "stubborn": ("fakepkg", "fake_node.py", ["--ignore-sigint"]),
        "crasher": ("fakepkg", "fake_node.py", ["--exit-after", "1.0", "--code", "7"]),
        "blip": ("fakepkg", "fake_node.py", ["--exit-after", "0.3", "--code", "1"]),
    })


def _supervisor(prefix, tmp_path, nodes: dict[str, str]) -> Supervisor:
    graph = parse_graph(graph_yaml(nodes), "test.yaml")
    return Supervisor(graph, tmp_path / "logs", prefixes=[prefix], timeouts=FAST)


def test_starts_every_node_with_its_ros_arguments_and_stops_them(prefix, tmp_path):
    with _supervisor(prefix, tmp_path, {"alpha": "sleeper", "beta": "parent"}) as sup:
        sup.wait_ready(timeout_s=10)
        pids = [s.pid for s in sup.nodes]
        assert all(s.alive for s in sup.nodes)
        log = tmp_path / "logs" / "alpha.log"
        wait_for(lambda: "ros-args" in log.read_text(), 5, "alpha's first line")
        text = log.read_text()
        assert "'__node:=alpha'" in text and "'answer:=42'" in text and "'label:=\"forty-two\"'" in text
        grandchild = wait_for(lambda: "child pid" in (tmp_path / "logs/beta.log").read_text()
                              and child_pid(tmp_path / "logs/beta.log"), 5, "beta's child")
        sup.check()  # all alive: no exception
    assert wait_gone([*pids, grandchild], 1.0) == [], "a node or its child outlived the supervisor"
    assert "SIGINT, bye" in (tmp_path / "logs/alpha.log").read_text()  # stopped politely first


def test_a_dead_node_is_named_with_its_exit_code_and_log_and_the_rest_are_stopped(prefix, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(NodeDied) as died:
        with _supervisor(prefix, tmp_path, {"steady": "sleeper", "flaky": "crasher"}) as sup:
            sup.wait_ready(timeout_s=10, settle_s=0.1)
            steady = sup.nodes[0].pid
            sup.wait()
    assert time.monotonic() - t0 < 15
    exc = died.value
    assert exc.name == "flaky" and exc.returncode == 7
    assert "node 'flaky' exited with code 7" in str(exc)
    assert "fatal: fake node flaky gives up with code 7" in exc.tail
    assert str(exc.log_path).endswith("flaky.log")
    assert wait_gone([steady], 1.0) == []


def test_a_node_dying_during_startup_fails_wait_ready(prefix, tmp_path):
    with pytest.raises(NodeDied, match="'early' exited with code 1"):
        with _supervisor(prefix, tmp_path, {"early": "blip", "other": "sleeper"}) as sup:
            sup.wait_ready(timeout_s=10, settle_s=2.0)


def test_shutdown_escalates_to_sigterm_for_a_node_ignoring_sigint(prefix, tmp_path):
    sup = _supervisor(prefix, tmp_path, {"mule": "stubborn"})
    with sup:
        sup.wait_ready(timeout_s=10)
        pid = sup.nodes[0].pid
        t0 = time.monotonic()
    elapsed = time.monotonic() - t0
    assert is_gone(pid)
    assert sup.nodes[0].returncode == -signal.SIGTERM
    assert FAST.sigint - 0.2 <= elapsed < FAST.sigint + FAST.sigterm + 1.0


def test_respawn_restarts_a_node_instead_of_failing(prefix, tmp_path):
    text = graph_yaml({"phoenix": "blip"}) + "    respawn: true\n    respawn_delay_s: 0.2\n"
    sup = Supervisor(parse_graph(text, "t.yaml"), tmp_path / "logs", prefixes=[prefix], timeouts=FAST)
    with sup:
        def restarted():
            sup.check()
            return sup.nodes[0].restarts >= 2
        wait_for(restarted, 10, "two restarts")
    assert (tmp_path / "logs/phoenix.log").read_text().count("=== f2p bringup") >= 3


def test_missing_executables_are_all_named_before_anything_starts(prefix, tmp_path):
    text = graph_yaml({"ok": "sleeper", "ghost": "no_such_exe"})
    text += "  lost:\n    package: not_built_pkg\n    executable: x\n"
    sup = Supervisor(parse_graph(text, "t.yaml"), tmp_path / "logs", prefixes=[prefix], timeouts=FAST)
    with pytest.raises(ExecutableNotFound) as err:
        sup.start()
    msg = str(err.value)
    assert "node 'ghost'" in msg and "no executable 'no_such_exe' in lib/fakepkg" in msg
    assert "package 'not_built_pkg' is not installed" in msg and "./scripts/setup.sh" in msg
    assert sup.nodes == [] and not (tmp_path / "logs").exists()


def test_a_killed_supervisor_leaves_no_orphans(prefix, tmp_path):
    """PR_SET_PDEATHSIG: SIGKILL the supervisor process itself; its nodes must follow it."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from f2p_bringup.graph_config import parse_graph
        from f2p_bringup.supervisor import Supervisor
        graph = parse_graph(Path(sys.argv[1]).read_text(), "t.yaml")
        with Supervisor(graph, sys.argv[2], prefixes=[Path({str(prefix)!r})]) as sup:
            sup.wait_ready(10)
            print(" ".join(str(s.pid) for s in sup.nodes), flush=True)
            sup.wait()
    """)
    cfg = tmp_path / "g.yaml"
    cfg.write_text(graph_yaml({"a": "sleeper", "b": "stubborn"}))
    proc = subprocess.Popen([sys.executable, "-c", script, str(cfg), str(tmp_path / "logs")],
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy(), cwd=REPO)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2, "the supervisor did not report its nodes"
        proc.kill()
        proc.wait(5)
        assert wait_gone(pids, 5.0) == [], "nodes outlived a SIGKILLed supervisor"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
