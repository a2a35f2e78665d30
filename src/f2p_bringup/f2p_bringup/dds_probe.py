"""A tiny echo peer for the DDS round-trip check of ``f2p doctor``.

Run as a separate process (``python -m f2p_bringup.dds_probe PING PONG``): it republishes every
``std_msgs/String`` received on PING to PONG, and exits after the first echo or after a timeout.
Two processes are needed because a round trip inside one process does not exercise discovery
and transport between participants.
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m f2p_bringup.dds_probe PING_TOPIC PONG_TOPIC [TIMEOUT_S]", file=sys.stderr)
        return 2
    ping, pong = argv[0], argv[1]
    timeout = float(argv[2]) if len(argv) > 2 else 20.0

    import rclpy
    from std_msgs.msg import String

    rclpy.init()
    node = rclpy.create_node("f2p_dds_probe")
    pub = node.create_publisher(String, pong, 10)
    echoed = []

    def on_ping(msg: String) -> None:
        pub.publish(String(data="pong:" + msg.data))
        echoed.append(msg.data)

    node.create_subscription(String, ping, on_ping, 10)
    deadline = time.monotonic() + timeout
    try:
        # Keep echoing for a moment after the first ping: the pinger may miss the first pong
        # while its subscription is still being matched.
        while time.monotonic() < deadline and len(echoed) < 5:
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0 if echoed else 1


if __name__ == "__main__":
    sys.exit(main())
