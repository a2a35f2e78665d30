"""``f2p bringup sim|robot``: start the node graph of a config as processes, watch it, stop it.

The pip-only equivalent of ``ros2 launch f2p_bringup sim.launch.py`` (same YAML, same loader).
Exit codes: 0 stopped by Ctrl-C/SIGTERM, 1 a node died, 2 bad config or missing executable,
3 the nodes did not come up in time.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import time
from pathlib import Path

import yaml

from f2p_bringup import argtypes
from f2p_bringup.graph_config import (
    GraphConfig,
    GraphConfigError,
    apply_overrides,
    check_parameters,
    find_config,
    load_graph,
    params_file_dict,
    ros_args,
    to_dict,
    with_recorder,
)
from f2p_bringup.supervisor import (
    BringupError,
    ExecutableNotFound,
    NodeDied,
    StopTimeouts,
    Supervisor,
    ament_prefixes,
    describe_exit,
    find_executable,
)

EXIT_STOPPED, EXIT_NODE_DIED, EXIT_CONFIG, EXIT_NOT_READY = 0, 1, 2, 3


def say(msg: str) -> None:
    print(msg, flush=True)


def _nodes(n: int) -> str:
    return f"{n} node" if n == 1 else f"{n} nodes"


def new_run_dir(root: Path) -> Path:
    """``runs/bringup/<timestamp>``, suffixed if two runs start in the same second."""
    base = root / time.strftime("%Y%m%d-%H%M%S")
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


@contextlib.contextmanager
def stop_signals_raise_interrupt():
    """SIGTERM and SIGHUP (docker stop, a closed terminal) stop the graph like Ctrl-C does, and
    SIGINT stops it even where it was started with SIGINT ignored: a shell without job control
    (`nohup f2p bringup sim &`, a script, CI) starts background commands so, and Python then
    installs no Ctrl-C handler. A signal handled here is reset to its default in the nodes the
    supervisor executes, so they stop on SIGINT too."""
    def handler(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class BagDirError(ValueError):
    """`--record DIR` names a directory that cannot take a new bag."""


def check_bag_dir(path: Path) -> Path:
    """`--record DIR`: refused before anything starts if DIR holds files (a bag is never appended to)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BagDirError(f"--record {path}: exists and is not an empty directory (a bag goes to a new one)")
    return path


def print_plan(graph: GraphConfig) -> int:
    """``--dry-run``: the command of every node, and which are not built."""
    missing = 0
    for node in graph.nodes.values():
        try:
            exe = str(find_executable(node.package, node.executable, ament_prefixes()))
        except ExecutableNotFound as exc:
            exe, missing = f"<{node.package}/{node.executable}: not built>", missing + 1
            print(f"# {exc}", file=sys.stderr)
        say(shlex.join([exe, *ros_args(node)]))
    return EXIT_CONFIG if missing else 0


def record_run(graph: GraphConfig, log_dir: Path) -> None:
    """The effective config (after --set) and the equivalent ROS params file, beside the logs."""
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "graph.yaml").write_text(yaml.safe_dump(to_dict(graph), sort_keys=False))
    (log_dir / "params.yaml").write_text(yaml.safe_dump(params_file_dict(graph), sort_keys=False))


def watch(sup: Supervisor, graph: GraphConfig, ready_timeout_s: float, graph_check: bool) -> None:
    """Wait until every node is up, then until one dies (NodeDied) or the user interrupts."""
    t0 = time.monotonic()
    how = "join the ROS graph" if graph_check else "start"
    say(f"waiting up to {ready_timeout_s:g} s for the nodes to {how} ...")

    def up(name: str) -> None:
        say(f"  up: {name} ({time.monotonic() - t0:.1f} s)")

    if graph_check:
        from f2p_bringup.ros_graph import RosGraphProbe

        with RosGraphProbe() as probe:
            sup.wait_ready(ready_timeout_s, probe=probe.has_node, on_up=up)
    else:
        sup.wait_ready(ready_timeout_s, on_up=up)
    running = [s for s in sup.nodes if s.alive]
    gone = [s.name for s in sup.nodes if not s.alive]  # exited, not required (reported above)
    say(f"{'all ' if not gone else ''}{_nodes(len(running))} up in {time.monotonic() - t0:.1f} s: "
        + ", ".join(f"{s.name} (pid {s.pid})" for s in running)
        + (f"; not running: {', '.join(gone)} (not required)" if gone else ""))
    say("running; Ctrl-C stops them all")
    sup.wait()


def run_graph(graph: GraphConfig, log_dir: Path, ready_timeout_s: float, graph_check: bool,
              timeouts: StopTimeouts | None = None) -> int:
    """Start, wait until up, watch until Ctrl-C or a death, stop. Returns the exit code."""
    sup = Supervisor(graph, log_dir, timeouts=timeouts or StopTimeouts(), log=lambda m: say(f"  {m}"))
    code = EXIT_STOPPED
    with stop_signals_raise_interrupt():
        try:
            with sup:
                try:
                    watch(sup, graph, ready_timeout_s, graph_check)
                except NodeDied as exc:  # reported before the others are stopped, so it is seen first
                    print(f"f2p bringup: {exc}\nstopping the other nodes", file=sys.stderr, flush=True)
                    code = EXIT_NODE_DIED
                except TimeoutError as exc:
                    print(f"f2p bringup: {exc}\nstopping the nodes", file=sys.stderr, flush=True)
                    code = EXIT_NOT_READY
        except ExecutableNotFound as exc:
            print(f"f2p bringup: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        except BringupError as exc:
            print(f"f2p bringup: {exc}", file=sys.stderr)
            code = EXIT_CONFIG
        except KeyboardInterrupt:
            code = EXIT_STOPPED
    states = [(s.name, describe_exit(s.returncode) if s.returncode is not None else "not stopped") for s in sup.nodes]
    say("stopped: " + ", ".join(f"{name} ({state})" for name, state in states))
    say(f"logs: {log_dir}")
    return code


def bringup(args: argparse.Namespace) -> int:
    try:
        path = Path(args.config) if args.config else find_config(args.graph)
        graph, notes = apply_overrides(load_graph(path), args.set or [])
        check_parameters(graph)
        if args.record:
            graph = with_recorder(graph, check_bag_dir(Path(args.record)))
    except (GraphConfigError, BagDirError) as exc:
        print(f"f2p bringup: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for note in notes:
        say(f"note: {note}")
    if args.dry_run:
        return print_plan(graph)
    log_dir = Path(args.log_dir) if args.log_dir else new_run_dir(Path("runs") / "bringup")
    if args.record:
        say(f"recording every topic of the graph to {args.record} (then: f2p bag info {args.record})")
    record_run(graph, log_dir)
    say(f"f2p bringup {args.graph}: {_nodes(len(graph.nodes))} from {path}; logs in {log_dir}")
    timeouts = StopTimeouts(sigint=args.stop_timeout, sigterm=args.stop_timeout / 2, sigkill=5.0)
    return run_graph(graph, log_dir, args.ready_timeout, not args.no_graph_check, timeouts)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bringup", help="start the node graph of a config (sim, robot) as processes; Ctrl-C stops it",
        description="Start every node of config/GRAPH.yaml as its own process (per-node logs), wait until "
        "each is in the ROS graph, and stop them all on Ctrl-C or as soon as one dies. "
        "The pip-only equivalent of 'ros2 launch f2p_bringup GRAPH.launch.py'.")
    p.add_argument("graph", help="graph name: sim or robot (config/GRAPH.yaml), or a path to a YAML file")
    p.add_argument("--config", default=None, help="graph config file (default: found from GRAPH)")
    p.add_argument("--set", action="append", metavar="NODE.PARAM=VALUE",
                   help="override a parameter (repeatable), e.g. --set sim_robot.task=organize")
    p.add_argument("--log-dir", default=None, help="per-node logs (default: runs/bringup/<timestamp>)")
    p.add_argument("--ready-timeout", type=argtypes.positive_float, default=120.0,
                   help="seconds for every node to come up")
    p.add_argument("--stop-timeout", type=argtypes.positive_float, default=10.0,
                   help="seconds after SIGINT before SIGTERM")
    p.add_argument("--no-graph-check", action="store_true",
                   help="count a node as up when its process runs, without looking for it in the ROS graph")
    p.add_argument("--record", default=None, metavar="DIR",
                   help="record every topic of the graph to an MCAP bag in DIR (rosbag2 layout: ros2 bag info/play, "
                        "Foxglove; f2p bag info DIR)")
    p.add_argument("--dry-run", action="store_true", help="print each node's command line and exit")
    p.set_defaults(func=bringup)
