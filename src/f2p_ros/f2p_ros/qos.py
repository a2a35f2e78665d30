"""QoS of the f2p graph: one profile per endpoint, taken from `names.GRAPH`.

Latched (transient local, reliable, depth 1) is used for every topic whose *latest* value is
the state of the world as the graph knows it: the sampled task, the model version, and also the
observations (cloud, label map, observed relations, scene, object poses). Observations here are
events (one after each skill or capture), not a sensor stream, so a node that starts late, or
restarts, must still get the current scene without waiting for the next skill. Other topics
(failures, markers) are reliable and volatile with a short history.

A transient-local subscriber does not match a volatile publisher (the subscription silently
receives nothing), so publishers and subscribers of one topic must both take `topic_qos(name)`.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from .names import endpoint


def latched_qos() -> QoSProfile:
    """Transient local, reliable, keep last 1: late subscribers get the last message."""
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def events_qos(depth: int = 10) -> QoSProfile:
    """Reliable, volatile, keep last `depth`: every message while connected, nothing replayed."""
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def topic_qos(name: str) -> QoSProfile:
    """The profile of topic `name` of the graph contract, for publishers and subscribers alike."""
    e = endpoint(name)
    if e.kind != "topic":
        raise ValueError(f"'{name}' is not a topic (kind: {e.kind})")
    return latched_qos() if e.latched else events_qos()
