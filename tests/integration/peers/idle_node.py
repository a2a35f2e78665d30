"""A real rclpy node that only spins, named by ``--ros-args -r __node:=NAME``: a graph member for
the bringup test that checks nodes are seen in the ROS graph and stop on SIGINT."""

from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException


def main() -> int:
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("idle_node")
    node.get_logger().info("up")
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
