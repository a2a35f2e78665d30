"""``f2p bag info DIR``: what a recorded bag holds (``f2p bringup --record``, ``f2p demo --record``).

The bag is MCAP in the rosbag2 layout (``f2p_ros.bag``), so on a distro ``ros2 bag info DIR`` and
``ros2 bag play DIR`` read it too; this command needs no distro.
"""

from __future__ import annotations

import argparse


def info(args: argparse.Namespace) -> int:
    from f2p_ros.bag import bag_info, format_info

    print(format_info(bag_info(args.bag)))  # a missing or unreadable bag: BagError, one line, exit 2
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bag", help="look into a recorded bag (f2p bringup/demo --record)",
                       description="Recorded bags: MCAP with the ROS 2 message definitions, rosbag2 layout.")
    bag_sub = p.add_subparsers(dest="bag_command", metavar="BAG_COMMAND", required=True)
    i = bag_sub.add_parser("info", help="topics, types, message counts and duration of a bag",
                           description="Print a bag's topics, types, message counts and duration (like ros2 bag info); "
                           "a bag whose recorder was killed is scanned and marked not closed.")
    i.add_argument("bag", help="bag directory (metadata.yaml and one .mcap) or an .mcap file")
    i.set_defaults(func=info)
