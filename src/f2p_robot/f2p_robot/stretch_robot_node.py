"""The `stretch_robot` node: a Hello Robot Stretch RE2 behind /f2p/execute_skill.

Parameters in (`f2p_robot.stretch_parameters.StretchRobotParameters`: `backend`, stretch_body | trajectory;
the base's starting pose in the scene frame),
library calls in the middle (stretch_kinematics.plan_skill, then a stretch_backends backend),
result out. The target object's box comes from the latest /f2p/scene. The base pose is dead
reckoned from the goals the node sends (the scene frame is the robot's odometry frame at start
unless base_x/base_y/base_theta say otherwise): a localisation source can replace that later.

Without a robot (no stretch_body fleet directory, no stretch_driver, no control_msgs) the node
fails fast: it prints what is missing and exits with status 1, before serving anything.

Result statuses: INVALID (malformed skill, object not in the scene), UNREACHABLE (outside the
joint limits: stretch_kinematics), ABORTED (no scene yet, the driver failed, cancelled), OK.
"""

from __future__ import annotations

import sys
import threading
import time

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from f2p_msgs.action import ExecuteSkill
from f2p_msgs.msg import SegmentedScene
from f2p_robot.stretch_backends import BackendError, make_backend
from f2p_robot.stretch_kinematics import UnreachableError, plan_skill, skill_boxes
from f2p_robot.stretch_parameters import StretchRobotParameters
from f2p_ros import names
from f2p_ros.convert import aborted_result, invalid_result, scene_from_msg, skill_from_msg
from f2p_ros.params import declare
from f2p_ros.qos import action_server_qos, topic_qos
from f2p_ros.spin import run_node

RESULT_TIMEOUT_S = 60


class StretchRobotNode(Node):
    def __init__(self) -> None:
        super().__init__("stretch_robot")
        params = declare(self, StretchRobotParameters)
        self.state = params.state()
        group = ReentrantCallbackGroup()
        self.backend = make_backend(params.backend, self, group)  # BackendError: fail fast (main)
        self.lock = threading.Lock()  # one skill at a time: one process owns the hardware
        self.scene = None
        self.create_subscription(SegmentedScene, names.SCENE_TOPIC, self.on_scene, topic_qos(names.SCENE_TOPIC),
                                 callback_group=group)
        self.action = ActionServer(self, ExecuteSkill, names.EXECUTE_SKILL_ACTION, execute_callback=self.on_execute,
                                   goal_callback=lambda _goal: GoalResponse.ACCEPT,
                                   cancel_callback=lambda _handle: CancelResponse.ACCEPT, callback_group=group,
                                   result_timeout=RESULT_TIMEOUT_S, **action_server_qos())
        self.get_logger().info(f"stretch_robot: backend {self.backend.name}, base at "
                               f"({self.state.base_x}, {self.state.base_y}, {self.state.base_theta})")

    def on_scene(self, msg: SegmentedScene) -> None:
        try:
            self.scene = scene_from_msg(msg, n_points=1)  # only the boxes are needed here
        except ValueError as exc:
            self.get_logger().error(f"ignoring a malformed scene: {exc}")

    def on_execute(self, goal_handle) -> ExecuteSkill.Result:
        t0 = time.monotonic()
        try:
            call = skill_from_msg(goal_handle.request.skill)
        except ValueError as exc:
            goal_handle.abort()
            return invalid_result(str(exc))
        scene = self.scene
        if scene is None:
            goal_handle.abort()
            return aborted_result(f"no scene on {names.SCENE_TOPIC} yet: is perception running?")
        name = call.object_ids[0]
        if name not in scene.names:
            goal_handle.abort()
            return invalid_result(f"unknown object '{name}'; the scene has {scene.names}")
        k = scene.index(name)
        if not scene.visible[k]:
            goal_handle.abort()
            return invalid_result(f"'{name}' is not visible: its box is unknown")
        result = ExecuteSkill.Result()
        with self.lock:
            try:
                box, neighbours = skill_boxes(name, scene.names, scene.classes, scene.box_lo, scene.box_hi)
                plan = plan_skill(call, box, self.state, neighbours=neighbours)
            except UnreachableError as exc:
                result.status, result.error = ExecuteSkill.Result.STATUS_UNREACHABLE, str(exc)
                goal_handle.abort()
                return result
            except ValueError as exc:
                goal_handle.abort()
                return invalid_result(str(exc))

            def on_goal(i: int, goal) -> None:
                goal_handle.publish_feedback(ExecuteSkill.Feedback(
                    stage=goal.stage, progress=i / len(plan.goals), message=str(goal.positions)))

            try:
                finished = self.backend.execute(plan.goals, lambda: goal_handle.is_cancel_requested, on_goal)
            except BackendError as exc:
                goal_handle.abort()
                return aborted_result(str(exc), time.monotonic() - t0)
            if not finished:
                goal_handle.canceled()
                return aborted_result("canceled", time.monotonic() - t0)
            self.state = plan.final
        goal_handle.succeed()
        return ExecuteSkill.Result(status=ExecuteSkill.Result.STATUS_OK, success=True, error="",
                                   duration_s=time.monotonic() - t0)

    def destroy_node(self) -> None:
        self.backend.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(StretchRobotNode, "stretch_robot", threads=3, fatal=(BackendError,), fatal_code=1, args=args)


if __name__ == "__main__":
    sys.exit(main())
