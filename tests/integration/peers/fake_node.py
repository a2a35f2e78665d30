"""A stand-in for a node process (no ROS), for the supervisor tests.

It accepts and ignores ``--ros-args ...`` like a node, prints what it is, and can be told to
die, to ignore SIGINT (so the supervisor must escalate) or to start a child of its own (which
must not outlive it). Options come before ``--ros-args``:

    fake_node.py [--exit-after S] [--code N] [--ignore-sigint] [--child] --ros-args -r __node:=NAME ...
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    argv = sys.argv[1:]
    ros = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit-after", type=float, default=None)
    parser.add_argument("--code", type=int, default=3)
    parser.add_argument("--ignore-sigint", action="store_true")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args(argv[:ros])
    name = next((a.split(":=", 1)[1] for a in argv[ros:] if a.startswith("__node:=")), "?")
    print(f"fake node {name} pid {os.getpid()} ros-args {argv[ros:]}", flush=True)
    if args.ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(f"child pid {child.pid}", flush=True)
    t0 = time.monotonic()
    try:
        while args.exit_after is None or time.monotonic() - t0 < args.exit_after:
            time.sleep(0.05)
    except KeyboardInterrupt:
        print(f"fake node {name}: SIGINT, bye", flush=True)
        return 0
    print(f"fatal: fake node {name} gives up with code {args.code}", flush=True)
    return args.code


if __name__ == "__main__":
    sys.exit(main())
