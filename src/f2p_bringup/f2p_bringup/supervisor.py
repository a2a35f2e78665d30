"""Run every node of a graph config as its own process, and never leave one behind.

This is the pip-only stand-in for ``ros2 launch`` (which does not exist without a full distro,
``ROS2_PIP.md`` §5), used by ``f2p bringup`` and, as a library, by ``f2p demo`` and the tests::

    with Supervisor(graph, log_dir) as nodes:     # starts all, or none if one cannot be found
        nodes.wait_ready(timeout_s=60, probe=...)  # raises NodeDied / TimeoutError
        while True:
            nodes.check()                          # raises NodeDied naming the node, code, log tail
            time.sleep(0.2)
    # leaving the block stops them all: SIGINT, then SIGTERM, then SIGKILL

Why it is built this way:
- each node runs in its own session (process group), so a Ctrl-C in the terminal reaches only
  the supervisor, which then stops the nodes in a known order with timeouts, and a signal to
  the group also reaches anything a node started itself (worker pools);
- on Linux each node also gets ``PR_SET_PDEATHSIG``: if the supervisor is killed outright
  (SIGKILL, OOM) its nodes get SIGTERM instead of living on as orphans. The kernel ties this to
  the *thread* that started the node, so start a Supervisor from a thread that outlives it
  (the main thread in practice);
- executables are resolved like ``ros2 run`` does (``<prefix>/lib/<package>/<executable>`` of
  the package's ament prefix) before anything starts, so a missing build is one clear error;
- node output goes to ``<log_dir>/<node>.log`` (stdout and stderr, unbuffered), and ROS's own
  file logs to ``<log_dir>/ros`` unless ``ROS_LOG_DIR`` is set, so one run is one folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from f2p_bringup.graph_config import GraphConfig, NodeSpec, ros_args

BUILD_HINT = "build the workspace: ./scripts/setup.sh (then: source scripts/env.sh)"


class BringupError(RuntimeError):
    """The graph cannot be started or kept running; the message says what to do."""


class ExecutableNotFound(BringupError):
    """One or more nodes' executables are not installed (the message lists every one)."""


class NodeDied(BringupError):
    """A node exited while the graph was supposed to be running."""

    def __init__(self, name: str, returncode: int, log_path: Path, tail: str):
        self.name, self.returncode, self.log_path, self.tail = name, returncode, log_path, tail
        super().__init__(f"node '{name}' {describe_exit(returncode)} (log: {log_path})\n"
                         f"--- last lines of {log_path.name} ---\n{tail}".rstrip())


def describe_exit(returncode: int) -> str:
    """``exited with code 1`` / ``was killed by SIGSEGV (signal 11)``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by {name} (signal {-returncode})"
    return f"exited with code {returncode}"


@dataclass(frozen=True)
class StopTimeouts:
    """How long to wait for the nodes after each signal of the shutdown sequence (seconds)."""

    sigint: float = 10.0   # rclpy nodes shut down on SIGINT (KeyboardInterrupt); learning may need a moment
    sigterm: float = 5.0
    sigkill: float = 5.0


@dataclass
class NodeStatus:
    """What a caller may want to print about one node."""

    name: str
    pid: int | None
    alive: bool
    returncode: int | None
    restarts: int
    log_path: Path
    command: list[str]


# --------------------------------------------------------------------------------------------
# executables


def ament_prefixes(environ: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    return [Path(p) for p in env.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def find_executable(package: str, executable: str, prefixes: Sequence[Path]) -> Path:
    """``<prefix>/lib/<package>/<executable>`` of the first prefix whose ament index has ``package``.

    The same lookup as ``ros2 run`` (ament_index ``packages`` marker, then ``lib/<package>``), so
    whatever runs here also runs there.
    """
    for prefix in prefixes:
        if (prefix / "share" / "ament_index" / "resource_index" / "packages" / package).is_file():
            path = prefix / "lib" / package / executable
            if path.is_file() and os.access(path, os.X_OK):
                return path
            have = sorted(p.name for p in (prefix / "lib" / package).glob("*") if p.is_file())
            raise ExecutableNotFound(
                f"package '{package}' (at {prefix}) has no executable '{executable}' in lib/{package} "
                f"(it has: {', '.join(have) or 'none'}); it must be a console_script in {package}'s setup.py; "
                f"then {BUILD_HINT}")
    where = ", ".join(map(str, prefixes)) or "AMENT_PREFIX_PATH is empty"
    raise ExecutableNotFound(f"package '{package}' is not installed (looked in: {where}); {BUILD_HINT}")


# --------------------------------------------------------------------------------------------


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to SIGTERM the child when its parent dies and gives the child
    SIGINT's default action (a supervisor started with SIGINT ignored, as a shell without job control
    starts background commands, would pass the ignore on through exec, and the node would not stop
    on the SIGINT of the shutdown sequence), or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl, set_handler = libc.prctl, libc.signal
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sig_dfl = 1, 0

    def preexec() -> None:  # runs in the child between fork and exec: keep it to two syscalls
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        set_handler(signal.SIGINT, sig_dfl)

    return preexec


def tail(path: Path, lines: int = 20, max_bytes: int = 64_000) -> str:
    """The last ``lines`` lines of a (possibly large, possibly still written) log file."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return "(no log)"
    text = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:]) if text else "(log is empty)"


class _Node:
    """One supervised process (internal state; callers see NodeStatus)."""

    def __init__(self, spec: NodeSpec, command: list[str], env: dict[str, str], log_path: Path):
        self.spec, self.command, self.env, self.log_path = spec, command, env, log_path
        self.proc: subprocess.Popen | None = None
        self.log: IO[bytes] | None = None
        self.started_at = 0.0
        self.died_at: float | None = None
        self.restarts = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def status(self) -> NodeStatus:
        return NodeStatus(self.spec.name, self.proc.pid if self.proc else None, self.alive,
                          self.proc.returncode if self.proc else None, self.restarts, self.log_path, self.command)


class Supervisor:
    """Start, watch and stop the processes of one graph. See the module docstring for usage."""

    def __init__(self, graph: GraphConfig, log_dir: str | os.PathLike, *, prefixes: Sequence[Path] | None = None,
                 cwd: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None,
                 timeouts: StopTimeouts = StopTimeouts(), log: Callable[[str], None] | None = None):
        self.graph = graph
        self.log_dir = Path(log_dir)
        self.prefixes = list(prefixes) if prefixes is not None else ament_prefixes(environ)
        self.cwd = Path(cwd) if cwd is not None else None
        self.environ = dict(os.environ if environ is None else environ)
        self.timeouts = timeouts
        self._say = log or (lambda _msg: None)
        self._nodes: dict[str, _Node] = {}
        self._stopping = False

    # -- context manager ------------------------------------------------------------------------
    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- start -----------------------------------------------------------------------------------
    def commands(self) -> dict[str, list[str]]:
        """The command line of every node; raises ExecutableNotFound listing every missing one."""
        out, missing = {}, []
        for node in self.graph.nodes.values():
            try:
                exe = find_executable(node.package, node.executable, self.prefixes)
            except ExecutableNotFound as exc:
                missing.append(f"node '{node.name}': {exc}")
                continue
            out[node.name] = [str(exe), *ros_args(node)]
        if missing:
            raise ExecutableNotFound("cannot start the graph:\n  " + "\n  ".join(missing))
        return out

    def start(self) -> None:
        """Start every node in config order; if one fails to start, stop those already started."""
        commands = self.commands()  # all resolved before anything runs
        self.log_dir.mkdir(parents=True, exist_ok=True)
        base = dict(self.environ)
        base.setdefault("ROS_LOG_DIR", str(self.log_dir / "ros"))
        base["PYTHONUNBUFFERED"] = "1"  # node output reaches its log as it happens
        base.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "0")
        try:
            for name, command in commands.items():
                env = {**base, **self.graph.node_env(name)}
                node = _Node(self.graph.nodes[name], command, env, self.log_dir / f"{name}.log")
                self._nodes[name] = node
                self._spawn(node)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, node: _Node) -> None:
        node.log = open(node.log_path, "ab")  # kept open for the life of the process, closed in stop()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        node.log.write(f"=== f2p bringup {stamp}: {' '.join(node.command)}\n".encode())
        node.log.flush()
        try:
            node.proc = subprocess.Popen(
                node.command, stdin=subprocess.DEVNULL, stdout=node.log, stderr=subprocess.STDOUT,
                env=node.env, cwd=self.cwd, start_new_session=True,
                preexec_fn=_die_with_parent())  # noqa: PLW1509 - two syscalls, see _die_with_parent
        except OSError as exc:
            raise BringupError(f"node '{node.spec.name}': cannot run {node.command[0]}: {exc}") from exc
        node.started_at = time.monotonic()
        node.died_at = None
        self._say(f"started {node.spec.name} (pid {node.proc.pid})")

    # -- watch -----------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[NodeStatus]:
        return [n.status() for n in self._nodes.values()]

    def log_tail(self, name: str, lines: int = 20) -> str:
        return tail(self._nodes[name].log_path, lines)

    def check(self) -> None:
        """Raise NodeDied for the first node that exited, unless the config says to respawn it or that it is
        not required (then its exit is reported once, with its log's last lines, and the graph goes on)."""
        now = time.monotonic()
        for node in self._nodes.values():
            if node.proc is None or node.proc.poll() is None:
                continue
            code = node.proc.returncode
            if not node.spec.required and not node.spec.respawn:
                if node.died_at is None:
                    node.died_at = now
                    self._say(f"node '{node.spec.name}' {describe_exit(code)}; it is not required, the rest of the "
                              f"graph keeps running (log: {node.log_path})\n{tail(node.log_path, 5)}")
                continue
            if node.spec.respawn and not self._stopping:
                if node.died_at is None:
                    node.died_at = now
                    self._say(f"node '{node.spec.name}' {describe_exit(code)}; respawning in "
                              f"{node.spec.respawn_delay_s:g} s")
                if now - node.died_at >= node.spec.respawn_delay_s:
                    self._close_log(node)
                    node.restarts += 1
                    self._spawn(node)
                continue
            raise NodeDied(node.spec.name, code, node.log_path, tail(node.log_path))

    def wait_ready(self, timeout_s: float = 60.0, probe: Callable[[str], bool] | None = None,
                   settle_s: float = 0.5, poll_s: float = 0.1, on_up: Callable[[str], None] | None = None) -> None:
        """Block until every node is up: its process alive for ``settle_s`` and ``probe(name)`` true.

        ``probe`` is how the caller defines "up" (``f2p bringup`` checks that the node is in the
        ROS graph, see ``ros_graph``); without one, a live process is enough. ``on_up(name)`` is
        called as each node comes up (nodes that import torch can take a while). Raises NodeDied
        as soon as a node exits, TimeoutError naming the nodes that are not up, with their log tails.
        """
        deadline = time.monotonic() + timeout_s
        pending = list(self._nodes)
        while True:
            self.check()
            now = time.monotonic()
            still = []
            for name in pending:
                node = self._nodes[name]
                if node.died_at is not None and not node.spec.required and not node.spec.respawn:
                    continue  # exited, reported by check(): nothing to wait for
                if node.alive and now - node.started_at >= settle_s and (probe is None or probe(name)):
                    if on_up is not None:
                        on_up(name)
                else:
                    still.append(name)
            pending = still
            if not pending:
                return
            if now >= deadline:
                tails = "\n".join(f"--- {n}.log ---\n{self.log_tail(n, 10)}" for n in pending)
                raise TimeoutError(f"not up after {timeout_s:g} s: {', '.join(pending)}\n{tails}")
            time.sleep(poll_s)

    def wait(self, poll_s: float = 0.2) -> None:
        """Block while the graph runs; returns never, raises NodeDied (or KeyboardInterrupt)."""
        while True:
            self.check()
            time.sleep(poll_s)

    # -- stop ------------------------------------------------------------------------------------
    def stop(self) -> dict[str, int | None]:
        """Stop every node (SIGINT, SIGTERM, SIGKILL to each process group, with timeouts).

        Idempotent. A second Ctrl-C while waiting skips straight to SIGKILL. Returns each node's
        exit code (None if it never started).
        """
        self._stopping = True
        steps = ((signal.SIGINT, self.timeouts.sigint), (signal.SIGTERM, self.timeouts.sigterm),
                 (signal.SIGKILL, self.timeouts.sigkill))
        try:
            for sig, timeout in steps:
                if not self._signal_running(sig):
                    break
                self._wait_gone(timeout)
        except KeyboardInterrupt:
            self._say("interrupted again: killing every node now")
            self._signal_running(signal.SIGKILL)
            self._wait_gone(self.timeouts.sigkill)
        codes = {}
        for name, node in self._nodes.items():
            self._close_log(node)
            codes[name] = node.proc.returncode if node.proc else None
            if node.proc is not None and node.proc.returncode is None:
                self._say(f"node '{name}' (pid {node.proc.pid}) did not stop even after SIGKILL")
        return codes

    def _groups(self) -> list[tuple[_Node, int]]:
        """Process groups with anything left in them (a node, or what it started)."""
        out = []
        for node in self._nodes.values():
            if node.proc is None:
                continue
            node.proc.poll()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(node.proc.pid, 0)  # the group id is the node's pid (start_new_session)
                out.append((node, node.proc.pid))
        return out

    def _signal_running(self, sig: signal.Signals) -> bool:
        groups = self._groups()
        for node, pgid in groups:
            self._say(f"sending {sig.name} to {node.spec.name} (pid {pgid})")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        return bool(groups)

    def _wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._groups() and time.monotonic() < deadline:
            time.sleep(0.05)

    @staticmethod
    def _close_log(node: _Node) -> None:
        if node.log is not None and not node.log.closed:
            node.log.close()
