"""``f2p bringup`` as a user runs it: a process that starts a graph, reports it, and stops it.

Ctrl-C (SIGINT to the bringup process only, as a terminal sends it: the nodes run in their own
sessions) and SIGTERM must leave no process behind; a node dying must end the bringup with
exit code 1 and a message naming the node, its exit code and its log tail; real rclpy nodes
must be seen in the ROS graph and receive their parameters exactly as typed in the YAML.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from bringup_helpers import PEERS, child_pid, graph_yaml, make_prefix, wait_gone
from conftest import REPO

from f2p_bringup.graph_config import parse_graph, ros_args


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bringup(tmp_path, prefix, config_text: str, *extra: str, sigint_ignored: bool = False,
             installed: bool = False) -> subprocess.Popen:
    """`f2p bringup`; `sigint_ignored`: started as a shell without job control starts `cmd &`;
    `installed`: the workspace's packages (the recorder) are found too, after the fake ones."""
    cfg = tmp_path / "graph.yaml"
    cfg.write_text(config_text)
    path = str(prefix) + (os.pathsep + os.environ["AMENT_PREFIX_PATH"] if installed else "")
    env = {**os.environ, "AMENT_PREFIX_PATH": path}
    return subprocess.Popen(
        [sys.executable, "-m", "f2p_bringup.cli", "bringup", "test", "--config", str(cfg),
         "--log-dir", str(tmp_path / "logs"), "--stop-timeout", "3", "--ready-timeout", "20", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
        preexec_fn=_ignore_sigint if sigint_ignored else None)  # noqa: PLW1509 - one syscall


def _read_until(proc: subprocess.Popen, marker: str, timeout_s: float) -> list[str]:
    """stdout lines up to the one containing ``marker`` (fails with what was printed if it never comes)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"no {marker!r} from f2p bringup:\n" + "\n".join(lines) + out + err)


def _started_pids(lines: list[str]) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in (re.search(r"started (\w+) \(pid (\d+)\)", s) for s in lines) if m}


@pytest.fixture
def prefix(tmp_path):
    return make_prefix(tmp_path, {
        "sleeper": ("fakepkg", "fake_node.py", []),
        "parent": ("fakepkg", "fake_node.py", ["--child"]),
        "crasher": ("fakepkg", "fake_node.py", ["--exit-after", "2.0", "--code", "7"]),
        "idle": ("fakepkg", "idle_node.py", []),
    })


@pytest.mark.parametrize(("sig", "sigint_ignored"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                                    (signal.SIGINT, True), (signal.SIGTERM, True)],
                         ids=["ctrl-c", "sigterm", "ctrl-c-started-ignoring-it", "sigterm-started-ignoring-sigint"])
def test_interrupt_stops_every_node_and_their_children(tmp_path, prefix, sig, sigint_ignored):
    # started ignoring SIGINT (`nohup f2p bringup sim &` in a script), the nodes must still exit 0 on
    # the supervisor's SIGINT, not die of the SIGTERM that follows it 3 s later (issue 16 §2)
    proc = _bringup(tmp_path, prefix, graph_yaml({"alpha": "sleeper", "beta": "parent"}), "--no-graph-check",
                    sigint_ignored=sigint_ignored)
    try:
        lines = _read_until(proc, "Ctrl-C stops them all", 20)
        pids = _started_pids(lines)
        assert set(pids) == {"alpha", "beta"}
        assert any("all 2 nodes up" in s for s in lines)
        grandchild = child_pid(tmp_path / "logs/beta.log")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert wait_gone([*pids.values(), grandchild], 2.0) == []
        assert "stopped: alpha (exited with code 0), beta (exited with code 0)" in out
        assert (tmp_path / "logs/graph.yaml").is_file() and (tmp_path / "logs/params.yaml").is_file()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_dying_node_ends_the_bringup_with_its_name_code_and_log(tmp_path, prefix):
    proc = _bringup(tmp_path, prefix, graph_yaml({"steady": "sleeper", "flaky": "crasher"}), "--no-graph-check")
    try:
        out, err = proc.communicate(timeout=25)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    assert "node 'flaky' exited with code 7" in err
    assert "fatal: fake node flaky gives up with code 7" in err  # the log tail
    assert str(tmp_path / "logs" / "flaky.log") in err
    pids = _started_pids(out.splitlines())
    assert wait_gone(pids.values(), 2.0) == []
    assert "stopped: steady (exited with code 0), flaky (exited with code 7)" in out


def test_a_node_that_is_not_required_may_exit_and_the_graph_goes_on(tmp_path, prefix):
    """`required: false` (the robot config's hardware node with no robot attached): its exit is reported
    once, with its log tail, and the rest stays up until the user stops the graph."""
    text = graph_yaml({"steady": "sleeper", "flaky": "crasher"}) + "    required: false\n"
    proc = _bringup(tmp_path, prefix, text, "--no-graph-check")
    try:
        lines = _read_until(proc, "gives up with code 7", 20.0)  # the report's last line: the log tail
        time.sleep(2.0)  # well past the crash: still running
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text_out = "\n".join(lines) + out
    assert proc.returncode == 0, text_out + err
    assert "node 'flaky' exited with code 7; it is not required, the rest of the graph keeps running" in text_out
    assert "fatal: fake node flaky gives up with code 7" in text_out  # the log tail, once
    assert text_out.count("it is not required") == 1
    assert "stopped: steady (exited with code 0), flaky (exited with code 7)" in out


def test_missing_executable_is_a_clear_error(tmp_path, prefix):
    text = graph_yaml({"alpha": "sleeper"}) + "  planner:\n    package: f2p_nothing\n    executable: planner\n"
    proc = _bringup(tmp_path, prefix, text)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "package 'f2p_nothing' is not installed" in err and "./scripts/setup.sh" in err
    assert "started" not in out


def test_bad_config_names_file_and_line(tmp_path, prefix):
    proc = _bringup(tmp_path, prefix, "schema: 1\nnodes:\n  a:\n    package: fakepkg\n    executabel: x\n")
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "graph.yaml:5: nodes.a.executabel: unknown key" in err


def test_ros_nodes_join_the_graph_and_stop_on_ctrl_c(tmp_path, prefix):
    proc = _bringup(tmp_path, prefix, graph_yaml({"idle_one": "idle", "idle_two": "idle"}), "--ready-timeout", "25")
    try:
        lines = _read_until(proc, "Ctrl-C stops them all", 28)
        assert any("all 2 nodes up" in s for s in lines), lines
        assert any("up: idle_one" in s for s in lines) and any("up: idle_two" in s for s in lines)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped: idle_one (exited with code 0), idle_two (exited with code 0)" in out
        assert "[idle_one]: up" in (tmp_path / "logs/idle_one.log").read_text()
        assert wait_gone(_started_pids(lines).values(), 2.0) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_record_writes_a_closed_bag_of_what_was_published(tmp_path, prefix, ros):
    """`--record DIR`: the recorder starts with the graph, records what is published on the graph's
    topics (a latched one before it subscribed, events after), and Ctrl-C closes the bag."""
    from f2p_msgs.msg import FailureEvent, Task
    from f2p_ros import names
    from f2p_ros.qos import topic_qos

    task = ros.node.create_publisher(Task, names.SIM_TASK_TOPIC, topic_qos(names.SIM_TASK_TOPIC))
    task.publish(Task(distribution="transport"))  # latched: recorded though sent first
    bag = tmp_path / "bag"
    proc = _bringup(tmp_path, prefix, graph_yaml({"idle_one": "idle"}), "--record", str(bag), installed=True)
    try:
        lines = _read_until(proc, "Ctrl-C stops them all", 28)
        assert any("up: recorder" in s for s in lines), lines
        failures = ros.node.create_publisher(FailureEvent, names.FAILURES_TOPIC, topic_qos(names.FAILURES_TOPIC))
        ros.wait(lambda: failures.get_subscription_count() >= 1, 10, "the recorder subscribed to /f2p/failures")
        for i in range(3):
            failures.publish(FailureEvent(event_id=f"e{i}"))
        ros.spin(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "recorder (exited with code 0)" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (bag / "metadata.yaml").is_file()
    info = subprocess.run([sys.executable, "-m", "f2p_bringup.cli", "bag", "info", str(bag)], capture_output=True,
                          text=True, timeout=30, check=False)
    assert info.returncode == 0, info.stderr
    rows = [line.split() for line in info.stdout.splitlines()]
    counts = {r[0]: int(r[1]) for r in rows if r and r[0].startswith("/")}
    assert counts[names.SIM_TASK_TOPIC] == 1 and counts[names.FAILURES_TOPIC] == 3
    assert sum(counts.values()) == 4 and "Closed:" not in info.stdout


def test_record_refuses_a_directory_that_holds_files(tmp_path, prefix):
    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "old.mcap").write_text("")
    proc = _bringup(tmp_path, prefix, graph_yaml({"idle_one": "idle"}), "--record", str(tmp_path / "bag"),
                    installed=True)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "not an empty directory" in err and "Traceback" not in err
    assert "started" not in out


def test_parameters_reach_a_real_node_with_their_yaml_types(tmp_path):
    """The ``-p name:=value`` spelling, checked against rcl's own parser in a real node."""
    graph = parse_graph("""
schema: 1
nodes:
  echo:
    package: fakepkg
    executable: echo
    parameters:
      task: transport
      looks_bool: "true"
      looks_int: "3"
      empty: ""
      n_objects: 3
      noise_sigma: 0.0
      small: 1.0e-05
      real: true
      relations: [goal, "on"]
      weights: [0.5, 1.0]
      nested: {depth: {max: 2}}
""", "echo.yaml")
    node = graph.nodes["echo"]
    out = subprocess.run([sys.executable, str(PEERS / "param_echo.py"), *ros_args(node)],
                         capture_output=True, text=True, timeout=20, cwd=REPO, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["node"] == "echo"
    kinds = {"bool": "BOOL", "int": "INTEGER", "float": "DOUBLE", "str": "STRING"}
    for name, value in node.parameters.items():
        kind = kinds[type(value[0] if isinstance(value, list) else value).__name__]
        expected = [kind + ("_ARRAY" if isinstance(value, list) else ""), value]
        assert got["params"][name] == expected, name
