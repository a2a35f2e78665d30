"""The recorder node: every topic of the graph contract into an MCAP bag (`f2p_ros.bag`).

``f2p bringup … --record DIR`` and ``f2p demo --record`` start it beside the other nodes. It
subscribes to every topic of `names.GRAPH` (or the ``topics`` parameter's subset) with the topic's
own durability and reliability, so a latched topic's last message is recorded even when it was
published before the recorder started, and a history of `DEPTH` so a burst is not dropped.
Messages are taken serialized (``raw=True``) and written as they came: no conversion, no copy
into Python message objects. The bag is flushed every second and closed when the node stops
(SIGINT, SIGTERM from the supervisor): then ``metadata.yaml`` is written.

A volatile topic's message reaches a subscriber only once DDS discovery has matched it with the
publisher, which on a loaded machine can take seconds after both exist (measured in CI: the first
``/f2p/failures`` event of a task started right after the graph missed the bag, while another
subscriber had it). The recorder therefore logs each topic the moment it discovers its first
publisher (``publisher of TOPIC discovered``): what a topic published before that line is not in
the bag. A script that records a task waits for those lines before sending the goal.

Parameters: ``output`` (str, required: a new or empty directory), ``topics`` (str list, default
every topic of the graph), ``compression`` (the chunks': ``lz4`` (default), ``zstd`` or ``none``).
"""

from __future__ import annotations

import importlib
import sys
from functools import partial

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from f2p_ros.bag import DEFAULT_COMPRESSION, BagWriter, qos_yaml
from f2p_ros.names import GRAPH
from f2p_ros.qos import topic_qos
from f2p_ros.spin import run_node

#: messages a subscription holds while the recorder is busy writing
DEPTH = 100
FLUSH_PERIOD_S = 1.0
#: how often the recorder looks for publishers it has not discovered yet
DISCOVERY_PERIOD_S = 0.2


def message_class(type_name: str) -> type:
    """The Python class of ``pkg/msg/Name`` (what ``ros2 topic echo`` resolves)."""
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def discovered_line(topic: str) -> str:
    """What the recorder logs when it discovers `topic`'s first publisher (module docstring)."""
    return f"publisher of {topic} discovered"


def recording_qos(topic: str) -> QoSProfile:
    """The graph's profile of `topic` with a history of `DEPTH`."""
    return topic_qos(topic, DEPTH)


class RecorderNode(Node):
    def __init__(self) -> None:
        super().__init__("recorder")
        output = str(self.declare_parameter("output", "").value)
        wanted = [t for t in self.declare_parameter("topics", [""]).value if t]
        if not output:
            raise ValueError("parameter 'output' (the bag directory) is required")
        graph_topics = {e.name: e for e in GRAPH if e.kind == "topic"}
        unknown = sorted(set(wanted) - set(graph_topics))
        if unknown:
            raise ValueError(f"not topics of the graph: {', '.join(unknown)} (topics: {', '.join(graph_topics)})")
        self.bag = BagWriter(output, compression=str(self.declare_parameter("compression", DEFAULT_COMPRESSION).value))
        for name in wanted or list(graph_topics):
            qos = recording_qos(name)
            self.bag.add_topic(name, graph_topics[name].type, qos_yaml(
                reliable=qos.reliability == ReliabilityPolicy.RELIABLE,
                transient_local=qos.durability == DurabilityPolicy.TRANSIENT_LOCAL, depth=topic_qos(name).depth))
            self.create_subscription(message_class(graph_topics[name].type), name, partial(self._on_message, name),
                                     qos, raw=True)
        self._written = 0
        self._flushed = 0
        self.create_timer(FLUSH_PERIOD_S, self._flush)
        self._undiscovered = list(self.bag.info.topics)
        self._discovery_timer = self.create_timer(DISCOVERY_PERIOD_S, self._log_discovered)
        self.get_logger().info(f"recording {len(self.bag.info.topics)} topics to {self.bag.path}")

    def _on_message(self, topic: str, data: bytes) -> None:
        self.bag.write(topic, data, self.get_clock().now().nanoseconds)
        self._written += 1

    def _log_discovered(self) -> None:
        """Log each topic once its first publisher is discovered (module docstring: why)."""
        for topic in list(self._undiscovered):
            count = self.count_publishers(topic)
            if count:
                self._undiscovered.remove(topic)
                self.get_logger().info(f"{discovered_line(topic)} ({count})")
        if not self._undiscovered:
            self._discovery_timer.cancel()

    def _flush(self) -> None:
        if self._written != self._flushed:
            self.bag.flush()
            self._flushed = self._written

    def destroy_node(self) -> None:
        info = self.bag.close()
        self.get_logger().info(f"bag closed: {info.message_count} messages on "
                               f"{sum(1 for t in info.topics.values() if t.count)} topics, {info.duration_s:.1f} s "
                               f"({self.bag.path})")
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(RecorderNode, "recorder", threads=1, args=args)  # BagError is a ValueError: exit 2


if __name__ == "__main__":
    sys.exit(main())
