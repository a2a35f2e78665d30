"""QoS of the f2p graph: one profile per endpoint, taken from `names.GRAPH`.

Latched (transient local, reliable, depth 1) is used for every topic whose *latest* value is
the state of the world as the graph knows it: the sampled task, the model version, and also the
observations (cloud, label map, observed relations, scene, object poses). Observations here are
events (one after each skill or capture), not a sensor stream, so a node that starts late, or
restarts, must still get the current scene without waiting for the next skill. Other topics
(failures, markers) are reliable and volatile with a short history.

A transient-local subscriber does not match a volatile publisher (the subscription silently
receives nothing), so publishers and subscribers of one topic must both take `topic_qos(name)`.

Actions: rclpy's action servers and clients default their goal, result and cancel services to a
history of 10 (`qos_profile_services_default`), so requests or responses beyond ten that arrive
together are dropped: twelve PlanTask goals sent at once were all accepted and only ten results
ever came back. Every action server and client of the graph takes `action_server_qos()` /
`action_client_qos()` (keyword arguments of `ActionServer` / `ActionClient`), whose services hold
`ACTION_SERVICE_DEPTH` requests; a client of another program should do the same.
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


def topic_qos(name: str, depth: int | None = None) -> QoSProfile:
    """The profile of topic `name` of the graph contract, for publishers and subscribers alike;
    `depth` deepens a subscriber's history (the recorder, a report: every message, none dropped
    while busy). Depth does not affect matching; a transient-local subscriber still gets the
    publisher's last message only."""
    e = endpoint(name)
    if e.kind != "topic":
        raise ValueError(f"'{name}' is not a topic (kind: {e.kind})")
    q = latched_qos() if e.latched else events_qos()
    if depth is not None:
        q.depth = depth
    return q


#: Requests (and responses) an action's goal, result and cancel services hold before dropping one.
ACTION_SERVICE_DEPTH = 100


def action_service_qos() -> QoSProfile:
    """Reliable, volatile, keep last `ACTION_SERVICE_DEPTH`: a burst of goals waits, none is dropped."""
    return events_qos(ACTION_SERVICE_DEPTH)


def action_server_qos() -> dict[str, QoSProfile]:
    """Keyword arguments of `rclpy.action.ActionServer` (module docstring: why)."""
    return {"goal_service_qos_profile": action_service_qos(), "result_service_qos_profile": action_service_qos(),
            "cancel_service_qos_profile": action_service_qos(), "feedback_pub_qos_profile": action_service_qos()}


def action_client_qos() -> dict[str, QoSProfile]:
    """Keyword arguments of `rclpy.action.ActionClient` (module docstring: why)."""
    return {"goal_service_qos_profile": action_service_qos(), "result_service_qos_profile": action_service_qos(),
            "cancel_service_qos_profile": action_service_qos(), "feedback_sub_qos_profile": action_service_qos()}
