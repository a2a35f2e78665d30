"""A real rclpy node that only spins, named by ``--ros-args -r __node:=NAME``: a graph member for
the bringup test that checks nodes are seen in the ROS graph and stop on SIGINT."""

from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException


def main() -> int:
    rclpy.init(args=sys.argv)
    node = None
    try:  # from the node's creation on: it is in the graph from then, so a Ctrl-C may come at once
        node = rclpy.create_node("idle_node")
        node.get_logger().info("up")
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
