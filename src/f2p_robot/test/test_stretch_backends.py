"""The Stretch backends without a robot: a recording double of stretch_body's Robot (checked
against the real classes where stretch_body is importable), the environment checks that must
run before stretch_body is imported, and the trajectory backend's messages and missing
control_msgs."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import sys

import pytest

from f2p_core.skills import SkillCall, SkillType
from f2p_robot import stretch_backends as sb
from f2p_robot.stretch_kinematics import JointGoal, ObjectBox, StretchState, plan_skill


class _Part:
    def __init__(self, log: list, name: str) -> None:
        self._log, self._name = log, name


class _Base(_Part):
    def translate_by(self, x_m, v_m=None, a_m=None, stiffness=None, contact_thresh_N=None):
        self._log.append(("base.translate_by", x_m))

    def rotate_by(self, x_r, v_r=None, a_r=None, stiffness=None, contact_thresh_N=None):
        self._log.append(("base.rotate_by", x_r))


class _Prismatic(_Part):
    def move_to(self, x_m, v_m=None, a_m=None, stiffness=None, contact_thresh_pos_N=None,
                contact_thresh_neg_N=None):
        self._log.append((f"{self._name}.move_to", x_m))


class _EndOfArm(_Part):
    def move_to(self, joint, x_r, v_r=None, a_r=None):
        self._log.append(("end_of_arm.move_to", joint, x_r))


class RecordingRobot:
    """Stand-in for stretch_body.robot.Robot: records every call the backend makes."""

    def __init__(self, homed: bool = True, finishes: bool = True) -> None:
        self.log: list = []
        self.homed, self.finishes = homed, finishes
        self.base, self.lift = _Base(self.log, "base"), _Prismatic(self.log, "lift")
        self.arm = _Prismatic(self.log, "arm")
        self.end_of_arm = _EndOfArm(self.log, "end_of_arm")

    def startup(self):
        self.log.append(("startup",))
        return True

    def stop(self):
        self.log.append(("stop",))

    def is_homed(self):
        return self.homed

    def push_command(self):
        self.log.append(("push_command",))

    def wait_command(self, timeout=15.0, use_motion_generator=True):
        self.log.append(("wait_command", timeout))
        return self.finishes


DOUBLE_PARTS = {"Robot": lambda r: r, "Base": lambda r: r.base, "Lift": lambda r: r.lift, "Arm": lambda r: r.arm,
                "EndOfArm": lambda r: r.end_of_arm}


def test_the_double_accepts_every_call_the_backend_makes():
    robot = RecordingRobot()
    for _module, cls, method, args, kwargs in sb.STRETCH_BODY_CALLS:
        getattr(DOUBLE_PARTS[cls](robot), method)(*args, **kwargs)
    assert len(robot.log) == len(sb.STRETCH_BODY_CALLS)


def test_the_calls_match_the_real_stretch_body_signatures():
    if importlib.util.find_spec("stretch_body") is None:
        pytest.skip("stretch_body is not installed here")
    try:  # importing stretch_body without a fleet directory ends the process: check first
        sb.check_stretch_body_environment()
    except sb.BackendError as exc:
        pytest.skip(str(exc))
    for module, cls, method, args, kwargs in sb.STRETCH_BODY_CALLS:
        real = getattr(getattr(importlib.import_module(module), cls), method)
        inspect.signature(real).bind(None, *args, **kwargs)  # TypeError if the API changed
        double = getattr(DOUBLE_PARTS[cls](RecordingRobot()), method)
        real_names = list(inspect.signature(real).parameters)[1 : 1 + len(args)]
        assert list(inspect.signature(double).parameters)[: len(args)] == real_names, (cls, method)


def _plan():
    cube = ObjectBox("cube_1", (0.3, -0.4, 0.475), (0.05, 0.05, 0.05))
    start = StretchState(base_x=-0.3, base_theta=math.pi / 2)
    return plan_skill(SkillCall(SkillType.PICK_PLACE, ("cube_1",), [0.0, 0.3, 0.0, 0.5]), cube, start).goals


def test_stretch_body_backend_sends_each_goal_then_waits_for_it():
    robot = RecordingRobot()
    backend = sb.StretchBodyBackend(robot=robot, wait_timeout_s=5.0)
    goals = _plan()
    seen = []
    assert backend.execute(goals, on_goal=lambda i, g: seen.append(g.stage))
    assert seen == [g.stage for g in goals]
    pushes = [i for i, call in enumerate(robot.log) if call[0] == "push_command"]
    assert len(pushes) == len(goals) and all(robot.log[i + 1][0] == "wait_command" for i in pushes)
    first = robot.log[: pushes[1]]  # "raise" and "prepare": retract, lift, wrist yaw, open the gripper
    assert ("arm.move_to", 0.0) in first and ("end_of_arm.move_to", "wrist_yaw", 0.0) in first
    gripper = [c for c in first if c[:2] == ("end_of_arm.move_to", "stretch_gripper")]
    opened = goals[1].positions["joint_gripper_finger_left"]  # to the object's width (stretch_kinematics)
    assert gripper and gripper[0][2] == pytest.approx(sb.finger_to_robotis(opened)) and 0 < opened <= 0.26
    assert sb.finger_to_robotis(0.045 / sb.FINGER_LENGTH_M) == pytest.approx(70.0)  # 9 cm aperture
    translations = [c[1] for c in robot.log if c[0] == "base.translate_by"]
    assert translations == [g.positions[k] for g in goals for k in g.positions if k == "translate_mobile_base"]
    backend.close()
    assert robot.log[-1] == ("stop",)


def test_cancel_timeouts_and_homing():
    robot = RecordingRobot()
    backend = sb.StretchBodyBackend(robot=robot)
    calls = iter([False, False, True])
    assert backend.execute(_plan(), should_stop=lambda: next(calls)) is False
    assert sum(c[0] == "push_command" for c in robot.log) == 2  # stopped at a goal boundary
    stuck = sb.StretchBodyBackend(robot=RecordingRobot(finishes=False))
    with pytest.raises(sb.BackendError, match="stage 'raise' did not finish within 30 s"):
        stuck.execute(_plan())
    unhomed = RecordingRobot(homed=False)
    with pytest.raises(sb.BackendError, match="not homed"):
        sb.StretchBodyBackend(robot=unhomed)
    assert unhomed.log[-1] == ("stop",)
    with pytest.raises(sb.BackendError, match="no stretch_body command for joint 'joint_head_pan'"):
        backend.execute([JointGoal("look", {"joint_head_pan": 0.1}, 1.0)])


def test_environment_is_checked_before_stretch_body_is_imported(tmp_path):
    installed = importlib.util.find_spec("stretch_body") is not None
    with pytest.raises(sb.BackendError) as info:
        sb.check_stretch_body_environment({})
    message = str(info.value)
    assert "HELLO_FLEET_PATH is not set" in message and "HELLO_FLEET_ID is not set" in message
    assert ("stretch_body is not installed" in message) is not installed
    (tmp_path / "stretch-re2-0001").mkdir()
    env = {"HELLO_FLEET_PATH": str(tmp_path), "HELLO_FLEET_ID": "stretch-re2-0001"}
    with pytest.raises(sb.BackendError, match="stretch-re2-0001 is missing or empty"):
        sb.check_stretch_body_environment(env)
    (tmp_path / "stretch-re2-0001" / "stretch_configuration_params.yaml").write_text("robot: {}\n")
    if not installed:
        with pytest.raises(sb.BackendError, match="the stretch_body backend cannot start: stretch_body is not"):
            sb.StretchBodyBackend(environ=env)
        assert "stretch_body" not in sys.modules
    else:
        assert sb.check_stretch_body_environment(env) == tmp_path / "stretch-re2-0001"


def test_trajectory_backend_messages_and_missing_control_msgs():
    goal = JointGoal("reach", {"translate_mobile_base": 0.1, "wrist_extension": 0.3}, 2.25)
    traj = sb.joint_trajectory(goal)
    assert list(traj.joint_names) == ["translate_mobile_base", "wrist_extension"]
    assert list(traj.points[0].positions) == [0.1, 0.3]
    assert (traj.points[0].time_from_start.sec, traj.points[0].time_from_start.nanosec) == (2, 250_000_000)
    if importlib.util.find_spec("control_msgs") is None:
        with pytest.raises(sb.BackendError, match="needs control_msgs, which is not installed"):
            sb.TrajectoryBackend(node=None)
    with pytest.raises(sb.BackendError, match="unknown backend 'teleport'; accepted: stretch_body, trajectory"):
        sb.make_backend("teleport")
