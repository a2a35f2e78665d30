"""A LearnFromFailure action server in its own process, for the DDS integration test.

It exercises the interface as the learner node will use it: feedback with stage, progress and
ETA; cancel honoured between steps; a result that reflects the goal it was given. It prints
``READY`` once the server is up so the test knows when to start.
"""

from __future__ import annotations

import sys
import time

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

from f2p_msgs.action import LearnFromFailure
from f2p_msgs.msg import Metric

STEPS = 20
STEP_S = 0.05


def execute(goal_handle):
    feedback = LearnFromFailure.Feedback()
    for i in range(STEPS):
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            return LearnFromFailure.Result(success=False, error="canceled")
        feedback.stage = "state_inference" if i < STEPS // 2 else "action_inference"
        feedback.progress = (i + 1) / STEPS
        feedback.eta_s = (STEPS - i - 1) * STEP_S
        feedback.message = f"step {i + 1}/{STEPS}"
        goal_handle.publish_feedback(feedback)
        time.sleep(STEP_S)
    goal_handle.succeed()
    result = LearnFromFailure.Result(success=True)
    result.model_version.version = "from_" + goal_handle.request.failure.event_id
    result.metrics = [Metric(name="num_particles", value=float(goal_handle.request.num_particles))]
    return result


def main() -> int:
    rclpy.init()
    node = rclpy.create_node("learn_server_peer")
    ActionServer(
        node, LearnFromFailure, sys.argv[1] if len(sys.argv) > 1 else "learn_from_failure",
        execute_callback=execute,
        goal_callback=lambda _goal: GoalResponse.ACCEPT,
        cancel_callback=lambda _handle: CancelResponse.ACCEPT,
        callback_group=ReentrantCallbackGroup(),
        result_timeout=60,
    )
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    print("READY", flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
