"""Two real processes exchange an f2p_msgs action over DDS: goal, feedback, result, cancel."""

from __future__ import annotations

import time
import uuid

import pytest
import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient

from f2p_msgs.action import LearnFromFailure


@pytest.fixture
def client_node():
    rclpy.init()
    node = rclpy.create_node("learn_client_" + uuid.uuid4().hex[:6])
    yield node
    node.destroy_node()
    rclpy.try_shutdown()


def _wait(node, future, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while not future.done() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    assert future.done(), f"no answer within {timeout_s} s"
    return future.result()


def _server(peer, client_node):
    name = "learn_" + uuid.uuid4().hex[:8]
    proc = peer("learn_server", name)
    assert proc.stdout.readline().strip() == "READY", "the server process did not start"
    client = ActionClient(client_node, LearnFromFailure, name)
    assert client.wait_for_server(timeout_sec=20), "action server not discovered over DDS"
    return client


def test_goal_feedback_result(peer, client_node):
    client = _server(peer, client_node)
    feedback = []
    goal = LearnFromFailure.Goal(method="fail2progress", num_particles=20)
    goal.failure.event_id = "evt42"
    sent = client.send_goal_async(goal, feedback_callback=lambda m: feedback.append(m.feedback))
    handle = _wait(client_node, sent, 20)
    assert handle.accepted
    response = _wait(client_node, handle.get_result_async(), 30)
    assert response.status == GoalStatus.STATUS_SUCCEEDED
    assert response.result.success
    assert response.result.model_version.version == "from_evt42"
    assert response.result.metrics[0].name == "num_particles" and response.result.metrics[0].value == 20.0
    assert len(feedback) >= 5
    progress = [f.progress for f in feedback]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert {f.stage for f in feedback} <= {"state_inference", "action_inference"}


def test_cancel_is_honoured(peer, client_node):
    client = _server(peer, client_node)
    feedback = []
    handle = _wait(client_node, client.send_goal_async(LearnFromFailure.Goal(),
                                                       feedback_callback=feedback.append), 20)
    deadline = time.monotonic() + 10
    while not feedback and time.monotonic() < deadline:
        rclpy.spin_once(client_node, timeout_sec=0.05)
    assert feedback, "no feedback before cancel"
    cancel = _wait(client_node, handle.cancel_goal_async(), 10)
    assert len(cancel.goals_canceling) == 1
    response = _wait(client_node, handle.get_result_async(), 10)
    assert response.status == GoalStatus.STATUS_CANCELED
    assert response.result.error == "canceled"
    assert len(feedback) < 20, "the server ran to the end instead of stopping"
