"""The ``f2p`` command line: one entry point, one subcommand per job.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``func``; this file only lists them. Heavy imports (torch, mujoco, rclpy) happen
inside the subcommands, so ``f2p --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from f2p_bringup import (
    bag_cmd,
    bench_cmd,
    bringup_cmd,
    data_cmd,
    demo_cmd,
    doctor,
    eval_cmd,
    experiment_cmd,
    learn_cmd,
    model_cmd,
)
from f2p_bringup.argtypes import EXIT_USAGE
from f2p_model.runtime import retain_freed_memory

#: Modules providing subcommands, in the order ``f2p --help`` lists them.
SUBCOMMANDS: Sequence[Callable[[argparse._SubParsersAction], None]] = (
    doctor.register, demo_cmd.register, data_cmd.register, model_cmd.register, learn_cmd.register,
    eval_cmd.register, experiment_cmd.register, bench_cmd.register, bringup_cmd.register, bag_cmd.register)


#: Errors that mean "this input cannot be used" (a bad name, a missing or corrupt file or store):
#: ``main`` prints their message as one line and exits 2; ``--verbose`` shows the traceback. The
#: project's own classes are looked up where their modules are already imported (an error of a class
#: whose module was never imported cannot have been raised), so ``f2p --help`` imports no torch.
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError)
PROJECT_USER_ERRORS = (("f2p_model.store", "ModelStoreError"), ("f2p_monitor.failure_store", "FailureStoreError"),
                       ("f2p_sim.dataset", "DatasetError"))


def is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, USER_ERRORS):
        return True
    classes = [getattr(sys.modules.get(module), name, None) for module, name in PROJECT_USER_ERRORS]
    return any(isinstance(exc, cls) for cls in classes if isinstance(cls, type))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="f2p",
        description="f2p: a ROS 2 stack that learns skill effect models from its own failures "
        "(Fail2Progress, CoRL 2025).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # PyOpenGL (pulled in by open3d) announces a missing optional module at INFO on every import.
    logging.getLogger("OpenGL").setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    retain_freed_memory()  # f2p_model.runtime: torch work re-allocates large tensors every step
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose or not is_user_error(exc):
            raise
        print(f"f2p {args.command}: {exc} (--verbose shows the traceback)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
