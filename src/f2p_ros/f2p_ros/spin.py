"""The one way an f2p node process runs: init, build the node, spin, stop cleanly.

Every node's `main` is this with its own node class, executor size and the errors that mean
"bad parameters, or nothing to serve": those print `<name>: <why>` to stderr and exit with
`fatal_code` (the supervisor shows the log tail), Ctrl-C and an external shutdown exit 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node


def run_node(make_node: Callable[[], Node], name: str, *, threads: int = 1,
             fatal: tuple[type[BaseException], ...] = (ValueError,), fatal_code: int = 2,
             args: list[str] | None = None) -> int:
    """Spin the node `make_node()` builds on a MultiThreadedExecutor of `threads` threads
    (action servers with reentrant callbacks need more than one); return the exit code."""
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        executor = MultiThreadedExecutor(num_threads=threads)
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except fatal as exc:
        print(f"{name}: {exc}", file=sys.stderr, flush=True)
        return fatal_code
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


__all__ = ["run_node"]
