"""How joint goals (stretch_kinematics.JointGoal) reach a Stretch RE2: two interchangeable backends.

* `StretchBodyBackend`: Hello Robot's Python driver, in this process. stretch_body raises at import
  without HELLO_FLEET_PATH and *exits the process* when the fleet directory is missing or empty
  (SIM_NOTES.md), so the environment is checked before it is imported and every problem is
  reported at once, by name. Only one process may own the hardware: stop stretch_driver first.
* `TrajectoryBackend`: stretch_ros2's stretch_driver, through its control_msgs
  FollowJointTrajectory action at /stretch_controller/follow_joint_trajectory (position mode).
  control_msgs exists on a full ROS 2 distro only (not on PyPI): without it, a clear error.

Both run goals one after the other, each to completion, and check `should_stop` between goals
(a cancel stops the skill at the next goal boundary; the robot is never left mid-motion by us).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from f2p_robot.stretch_kinematics import EXTENSION, GRIPPER, LIFT, ROTATE, TRANSLATE, YAW, JointGoal

BACKENDS = ("stretch_body", "trajectory")
TRAJECTORY_ACTION = "/stretch_controller/follow_joint_trajectory"
POSITION_MODE_SERVICE = "/switch_to_position_mode"

# Finger angle (rad) -> stretch_body gripper command ("robotis" percent), the linear model of
# hello_helpers' GripperConversion with its defaults: aperture = 2 * 0.171 m * angle, and 0.09 m
# of aperture at robotis 70, 0 at robotis 0.
FINGER_LENGTH_M = 0.171
APERTURE_PER_ROBOTIS = 0.09 / 70.0

# Every stretch_body call the backend makes: (module, class, method, example args, kwargs). The
# tests call the recording double this way and, where stretch_body is importable, check that the
# real methods accept these arguments.
STRETCH_BODY_CALLS: tuple[tuple[str, str, str, tuple, dict], ...] = (
    ("stretch_body.robot", "Robot", "startup", (), {}),
    ("stretch_body.robot", "Robot", "stop", (), {}),
    ("stretch_body.robot", "Robot", "push_command", (), {}),
    ("stretch_body.robot", "Robot", "wait_command", (), {"timeout": 10.0}),
    ("stretch_body.base", "Base", "translate_by", (0.1,), {}),
    ("stretch_body.base", "Base", "rotate_by", (0.1,), {}),
    ("stretch_body.lift", "Lift", "move_to", (0.5,), {}),
    ("stretch_body.arm", "Arm", "move_to", (0.2,), {}),
    ("stretch_body.end_of_arm", "EndOfArm", "move_to", ("wrist_yaw", 0.0), {}),
)


class BackendError(RuntimeError):
    """The robot cannot be driven: what is missing or what failed, in words."""


class Backend(Protocol):
    name: str

    def execute(self, goals: Sequence[JointGoal], should_stop: Callable[[], bool] = ...,
                on_goal: Callable[[int, JointGoal], None] | None = None) -> bool:
        """Run `goals` in order; False if `should_stop` stopped it between goals."""
        ...

    def close(self) -> None: ...


def finger_to_robotis(finger_rad: float) -> float:
    return 2.0 * FINGER_LENGTH_M * finger_rad / APERTURE_PER_ROBOTIS


def check_stretch_body_environment(environ: Mapping[str, str] | None = None) -> Path:
    """The fleet directory stretch_body will read, or BackendError listing every problem. Nothing
    is imported: stretch_body ends the process when its fleet directory is missing."""
    env = os.environ if environ is None else environ
    problems = []
    if importlib.util.find_spec("stretch_body") is None:
        problems.append("stretch_body is not installed (pip install hello-robot-stretch-body; it comes with "
                        "the robot's software)")
    path, fleet_id = env.get("HELLO_FLEET_PATH", ""), env.get("HELLO_FLEET_ID", "")
    fleet = Path(path) / fleet_id if path and fleet_id else None
    if not path:
        problems.append("HELLO_FLEET_PATH is not set (the directory holding the robot's calibration, "
                        "e.g. ~/stretch_user)")
    if not fleet_id:
        problems.append("HELLO_FLEET_ID is not set (the robot's name, e.g. stretch-re2-1234)")
    if fleet is not None and (not fleet.is_dir() or not any(fleet.iterdir())):
        problems.append(f"the fleet directory {fleet} is missing or empty")
    if problems:
        raise BackendError("the stretch_body backend cannot start: " + "; ".join(problems))
    return fleet


class StretchBodyBackend:
    """Joint goals through stretch_body's Robot. `robot` injects a stand-in (tests); without it
    the environment is checked, stretch_body imported, the robot started and its homing checked."""

    name = "stretch_body"

    def __init__(self, robot: Any = None, environ: Mapping[str, str] | None = None,
                 wait_timeout_s: float = 30.0) -> None:
        if robot is None:
            check_stretch_body_environment(environ)
            import stretch_body.robot  # only now: see the module docstring

            robot = stretch_body.robot.Robot()
            if not robot.startup():
                raise BackendError("stretch_body could not start the robot: is it powered on, and does no other "
                                   "process (stretch_driver, a teleop tool) hold it?")
        homed = getattr(robot, "is_homed", None) or getattr(robot, "is_calibrated", None)
        if homed is not None and not homed():
            robot.stop()
            raise BackendError("the robot is not homed: run stretch_robot_home.py first")
        self.robot, self.wait_timeout_s = robot, wait_timeout_s

    def _command(self, joint: str, value: float) -> None:
        r = self.robot
        if joint == TRANSLATE:
            r.base.translate_by(value)
        elif joint == ROTATE:
            r.base.rotate_by(value)
        elif joint == LIFT:
            r.lift.move_to(value)
        elif joint == EXTENSION:
            r.arm.move_to(value)
        elif joint == YAW:
            r.end_of_arm.move_to("wrist_yaw", value)
        elif joint == GRIPPER:
            r.end_of_arm.move_to("stretch_gripper", finger_to_robotis(value))
        else:
            raise BackendError(f"no stretch_body command for joint '{joint}'")

    def execute(self, goals: Sequence[JointGoal], should_stop: Callable[[], bool] = lambda: False,
                on_goal: Callable[[int, JointGoal], None] | None = None) -> bool:
        for i, goal in enumerate(goals):
            if should_stop():
                return False
            if on_goal is not None:
                on_goal(i, goal)
            for joint, value in goal.positions.items():
                self._command(joint, value)
            self.robot.push_command()
            timeout = max(self.wait_timeout_s, 3.0 * goal.duration_s)
            if self.robot.wait_command(timeout=timeout) is False:
                raise BackendError(f"stage '{goal.stage}' did not finish within {timeout:.0f} s")
        return True

    def close(self) -> None:
        self.robot.stop()


def joint_trajectory(goal: JointGoal):
    """trajectory_msgs/JointTrajectory of one goal: one point at the goal's duration."""
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    ns = round(goal.duration_s * 1e9)
    point = JointTrajectoryPoint(positions=[float(v) for v in goal.positions.values()],
                                 time_from_start=Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000))
    return JointTrajectory(joint_names=list(goal.positions), points=[point])


def _wait(future, timeout_s: float, what: str):
    """Result of an rclpy future resolved by the executor's other threads (never spins here)."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(timeout_s):
        raise BackendError(f"{what}: no answer within {timeout_s:.0f} s")
    return future.result()


class TrajectoryBackend:
    """Joint goals through stretch_driver's FollowJointTrajectory action (needs control_msgs).
    `execute` must run on an executor thread while other threads spin the node (the action
    servers of this package use a MultiThreadedExecutor)."""

    name = "trajectory"

    def __init__(self, node, action_name: str = TRAJECTORY_ACTION, server_timeout_s: float = 10.0,
                 callback_group=None) -> None:
        try:
            action_module = importlib.import_module("control_msgs.action")
        except ImportError:
            raise BackendError("the trajectory backend needs control_msgs, which is not installed: it comes "
                               "with a full ROS 2 distro (apt install ros-$ROS_DISTRO-control-msgs), not with "
                               "PyPI") from None
        from rclpy.action import ActionClient
        from std_srvs.srv import Trigger

        self.action_type = action_module.FollowJointTrajectory
        self.client = ActionClient(node, self.action_type, action_name, callback_group=callback_group)
        if not self.client.wait_for_server(timeout_sec=server_timeout_s):
            raise BackendError(f"no FollowJointTrajectory server at {action_name} after {server_timeout_s:.0f} s: "
                               "is stretch_driver running (ros2 launch stretch_core stretch_driver.launch.py)?")
        self.mode_client = node.create_client(Trigger, POSITION_MODE_SERVICE, callback_group=callback_group)
        self.position_mode = False

    def _ensure_position_mode(self) -> None:
        if self.position_mode:
            return
        from std_srvs.srv import Trigger

        if not self.mode_client.wait_for_service(timeout_sec=5.0):
            raise BackendError(f"stretch_driver offers no {POSITION_MODE_SERVICE} service")
        reply = _wait(self.mode_client.call_async(Trigger.Request()), 10.0, POSITION_MODE_SERVICE)
        if not reply.success:
            raise BackendError(f"{POSITION_MODE_SERVICE} failed: {reply.message}")
        self.position_mode = True

    def execute(self, goals: Sequence[JointGoal], should_stop: Callable[[], bool] = lambda: False,
                on_goal: Callable[[int, JointGoal], None] | None = None) -> bool:
        self._ensure_position_mode()
        for i, goal in enumerate(goals):
            if should_stop():
                return False
            if on_goal is not None:
                on_goal(i, goal)
            request = self.action_type.Goal(trajectory=joint_trajectory(goal))
            handle = _wait(self.client.send_goal_async(request), 10.0, f"stage '{goal.stage}' goal")
            if not handle.accepted:
                raise BackendError(f"stretch_driver rejected stage '{goal.stage}' ({list(goal.positions)})")
            response = _wait(handle.get_result_async(), 3.0 * goal.duration_s + 10.0, f"stage '{goal.stage}'")
            if response.result.error_code != 0:
                raise BackendError(f"stage '{goal.stage}' failed: {response.result.error_string} "
                                   f"(error code {response.result.error_code})")
        return True

    def close(self) -> None:
        self.client.destroy()


def make_backend(name: str, node=None, callback_group=None) -> Backend:
    """The backend called `name` (one of BACKENDS), or BackendError saying why it cannot run."""
    if name == "stretch_body":
        return StretchBodyBackend()
    if name == "trajectory":
        return TrajectoryBackend(node, callback_group=callback_group)
    raise BackendError(f"unknown backend '{name}'; accepted: {', '.join(BACKENDS)}")
