"""Skills executed by the simulated Stretch RE2 (issue 20), ROS-free.

`execute(world, call)` turns a skill into joint goals with **the same** `stretch_kinematics.plan_skill`
the real robot's backends send (stretch_robot node), and plays each goal on the actuators of the robot
model in a `f2p_sim.stretch_world.StretchWorld`: every commanded joint moves from where it is to its
goal in the goal's duration (the kinematics' nominal speeds), smoothly, then the skill waits until the
joints arrive. Contents, pushed objects and drawers move by contact physics, as with the floating
gripper (`f2p_sim.skills`).

Grasping closes the real fingers; once they have closed on the object, a weld at the grasp centre
(`StretchWorld.hold`) holds it (fingers alone would need a friction model the scenes were not tuned
for), and opening the fingers to release switches the weld off first.

Statuses, as `f2p_sim.skills`: `unreachable` when the kinematics refuses (a joint outside its limits,
an object wider than the gripper opens; nothing moves); `collision` when the robot touches a static
object (a table) or, in pick-and-place and the drawer skills, a movable object other than the one it
acts on (and what that one carries), or when a joint cannot reach its goal; `dropped` when the fingers
close on nothing or the held object falls behind the weld; `invalid` for a malformed call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from f2p_core.skills import SkillCall, SkillResult, SkillStatus, SkillType
from f2p_robot.stretch_kinematics import (
    DEFAULT_GEOMETRY,
    EXTENSION,
    GRIPPER,
    LIFT,
    ROTATE,
    TRANSLATE,
    YAW,
    JointGoal,
    ObjectBox,
    StretchGeometry,
    StretchState,
    UnreachableError,
    plan_skill,
    skill_boxes,
)
from f2p_sim.motion import CONTROL_STEPS
from f2p_sim.skill_impl import SETTLE_AFTER, carried_by
from f2p_sim.skills import check_call
from f2p_sim.skills import execute as sim_execute
from f2p_sim.stretch_model import ARM_LINKS, FINGERS
from f2p_sim.stretch_world import WORKSPACE_CENTRE, RobotModel, StretchWorld
from f2p_sim.world import SETTLE_VEL, World


@dataclass(frozen=True)
class StretchSimConfig:
    geometry: StretchGeometry = DEFAULT_GEOMETRY
    position_tol: float = 0.005  # m: a prismatic joint (and the base) has arrived within this
    angle_tol: float = 0.02  # rad: a revolute joint (and the base heading) has arrived within this
    arrive_s: float = 2.0  # s after a goal's duration for its joints to arrive
    drop_tol: float = 0.04  # m: the held object this far from its weld is lost
    # the fingers are at least this far from closed when they hold something (rad): closed on nothing below it
    holding_angle: float = 0.0


DEFAULT_CONFIG = StretchSimConfig()


def robot_state(world: StretchWorld) -> StretchState:
    x, y, theta = world.base_pose
    return StretchState(base_x=x, base_y=y, base_theta=theta, lift=world.joint("joint_lift"),
                        extension=world.extension, wrist_yaw=world.joint("joint_wrist_yaw"),
                        gripper=world.joint(FINGERS[0]))


def world_boxes(world: StretchWorld, name: str) -> tuple[ObjectBox, list[ObjectBox]]:
    """Object `name` and its movable neighbours as the kinematics sees them, from the world's boxes and
    classes through the robot node's `skill_boxes` (test_stretch_sim.py: the node and this agree)."""
    lo, hi = world.object_boxes()
    return skill_boxes(name, world.object_names, [world.spec(n).cls.value for n in world.object_names], lo, hi)


def _targets(world: StretchWorld, goal: JointGoal) -> dict[str, float]:
    """Actuator targets (model joint names) of `goal`, base increments turned into absolute poses."""
    out: dict[str, float] = {}
    x, y, theta = (world.target(j) for j in ("base_x", "base_y", "base_yaw"))
    for name, value in goal.positions.items():
        if name == TRANSLATE:
            out["base_x"], out["base_y"] = x + value * math.cos(theta), y + value * math.sin(theta)
        elif name == ROTATE:
            out["base_yaw"] = theta + value
        elif name == EXTENSION:
            out.update({link: value / len(ARM_LINKS) for link in ARM_LINKS})
        elif name == GRIPPER:
            out.update({finger: value for finger in FINGERS})
        elif name in (LIFT, YAW):
            out[name] = value
        else:
            raise ValueError(f"joint goal names an unknown joint {name!r}")
    return out


def _allowed(world: StretchWorld, kind: SkillType, target: int) -> np.ndarray:
    """(N,) objects the robot may touch in this skill: the target and what rests on or in it (a rim
    grasp's inner finger goes into a container) and, in a push, every movable object (it moves what is
    in its way)."""
    ok = np.zeros(len(world.object_names), bool)
    ok[carried_by(world, target, *world.object_boxes())] = True
    if kind is SkillType.PUSH:
        ok |= ~world.static_mask
    return ok


def _play(world: StretchWorld, goal: JointGoal, allowed: np.ndarray, cfg: StretchSimConfig,
          gripping: bool) -> tuple[SkillStatus, str]:
    """Move the goal's joints to their targets in its duration, then wait for them to arrive."""
    end = _targets(world, goal)
    start = {j: world.target(j) for j in end}
    dt = CONTROL_STEPS * world.sim_dt
    n = max(1, math.ceil(goal.duration_s / dt))
    wait = math.ceil(cfg.arrive_s / dt)
    for k in range(1, n + wait + 1):
        s = min(1.0, k / n)
        s = s * s * (3 - 2 * s)  # smooth start and stop
        for j, v in end.items():
            world.command(j, start[j] + (v - start[j]) * s)
        world.step(CONTROL_STEPS)
        problem = _contact_problem(world, allowed)
        if problem and goal.stage == "lower":
            return SkillStatus.OK, ""  # a guarded move (the lift stops on contact): released from here
        if problem:
            return SkillStatus.COLLISION, f"{goal.stage}: {problem}"
        if world.held is not None and world.hold_error() > cfg.drop_tol:
            return SkillStatus.DROPPED, f"{goal.stage}: '{world.held}' slipped from the gripper"
        if k >= n and _arrived(world, end, cfg, skip=FINGERS if gripping else ()):
            return SkillStatus.OK, ""
        if goal.stage == "lower" and _resting(world, allowed):
            return SkillStatus.OK, ""  # a guarded move: the lift stops where the held object lands
    if goal.stage == "descend" and _touching(world, allowed):
        return SkillStatus.OK, ""  # a guarded descent: stopped on the target or what it holds, grasp there
    late = [j for j in end if j not in (FINGERS if gripping else ()) and not _arrived(world, {j: end[j]}, cfg)]
    return SkillStatus.COLLISION, f"{goal.stage}: {', '.join(late)} did not reach the goal (blocked)"


def _touching(world: StretchWorld, allowed: np.ndarray) -> bool:
    """The robot touches one of the `allowed` objects (the target, what it carries)."""
    contacts = world.robot_contacts()
    return bool(len(contacts)) and bool(np.any(allowed[contacts[:, 1]]))


def _resting(world: StretchWorld, carried: np.ndarray) -> bool:
    """The held object touches something that does not ride with it (it has landed)."""
    held = world.held
    if held is None:
        return False
    k = world.index(held)
    pairs = world.contact_object_pairs()
    other = np.concatenate([pairs[pairs[:, 0] == k, 1], pairs[pairs[:, 1] == k, 0]])
    return bool(np.any(~carried[other]))


def _arrived(world: StretchWorld, end: dict[str, float], cfg: StretchSimConfig, skip=()) -> bool:
    for j, v in end.items():
        if j in skip:
            continue
        tol = cfg.angle_tol if j in ("base_yaw", "joint_wrist_yaw", *FINGERS) else cfg.position_tol
        if abs(world.joint(j) - v) > tol:
            return False
    return True


def _contact_problem(world: StretchWorld, allowed: np.ndarray) -> str:
    contacts = world.robot_contacts()
    if not len(contacts):
        return ""
    held = world.held
    for geom, k in contacts:
        if allowed[k] or (held is not None and world.object_names[k] == held):
            continue
        what = "static" if world.static_mask[k] else "movable"
        body = world.model.body(world.model.geom_bodyid[geom]).name.removeprefix("stretch/")
        return f"{body} touched the {what} object '{world.object_names[k]}'"
    return ""


def _finger_contact(world: StretchWorld, k: int) -> bool:
    contacts = world.robot_contacts()
    return bool(len(contacts)) and bool(np.any(np.isin(contacts[:, 0], world.finger_geoms) & (contacts[:, 1] == k)))


def _recover(world: StretchWorld, cfg: StretchSimConfig) -> None:
    """After a failed skill, back out as an operator would have the robot do: open the fingers, rise by the
    travel clearance, retract and stow (contacts on the way are not failures: nothing is carried), so the
    next skill starts from the stowed arm instead of where the failure left it."""
    g = cfg.geometry
    lift = min(g.lift[1], world.joint("joint_lift") + g.travel_clearance)
    everything = np.ones(len(world.object_names), bool)
    for stage, positions in (("recover_open", {GRIPPER: g.gripper_open}), ("recover_rise", {LIFT: lift}),
                             ("recover_retract", {EXTENSION: 0.0}), ("recover_wrist", {YAW: g.stow_yaw}),
                             ("recover_stow", {LIFT: g.stow_lift})):
        _play(world, JointGoal(stage, positions, 1.0 + g.settle_s), everything, cfg, gripping=False)


def skill_executor(robot: RobotModel | str) -> Callable[[World, SkillCall], SkillResult]:
    """What runs a skill in a world of `robot`: f2p_sim.skills.execute (the floating gripper) or `execute`."""
    return execute if RobotModel(robot) is RobotModel.STRETCH else sim_execute


def execute(world: StretchWorld, call: SkillCall, config: StretchSimConfig = DEFAULT_CONFIG) -> SkillResult:
    """Run one skill with the simulated Stretch (module docstring); never raises for a bad call."""
    t0 = world.time
    kind, problem = check_call(world, call)
    if kind is None:
        return SkillResult(SkillStatus.INVALID, problem)
    name = call.object_ids[0]
    if kind in (SkillType.PICK_PLACE, SkillType.PUSH) and not world.spec(name).cls.is_movable:
        return SkillResult(SkillStatus.INVALID, f"'{name}' is not movable")
    base0 = np.array(world.base_pose)
    try:
        box, neighbours = world_boxes(world, name)
        plan = plan_skill(call, box, robot_state(world), config.geometry, neighbours)
    except UnreachableError as exc:
        return SkillResult(SkillStatus.UNREACHABLE, str(exc))
    except ValueError as exc:
        return SkillResult(SkillStatus.INVALID, str(exc))
    k = world.index(name)
    allowed = _allowed(world, kind, k)
    status, message, gripping = SkillStatus.OK, f"{kind.value} of '{name}' done", False
    for goal in plan.goals:
        if goal.stage == "release":
            world.let_go()
            gripping = False
        status, why = _play(world, goal, allowed, config, gripping or goal.stage == "grasp")
        if status is not SkillStatus.OK:
            message = why
            break
        if goal.stage == "lower":  # what a guarded lowering stopped on may be touched while letting go
            touching = world.robot_contacts()
            allowed[touching[:, 1]] = True
        if goal.stage == "grasp" and kind is not SkillType.PUSH:
            if not _finger_contact(world, k):
                status, message = SkillStatus.DROPPED, f"the fingers closed on nothing (no contact with '{name}')"
                break
            world.hold(name)
            gripping = True
    world.let_go()
    if status is not SkillStatus.OK:
        _recover(world, config)
    world.look_at(WORKSPACE_CENTRE)  # the head re-aimed from where the base now stands (set, not driven)
    world.settle(SETTLE_AFTER)
    moved = bool(np.linalg.norm(np.array(world.base_pose)[:2] - base0[:2]) > config.position_tol
                 or abs(math.remainder(world.base_pose[2] - base0[2], 2 * math.pi)) > config.angle_tol)
    return SkillResult(status, message, world.time - t0, moved, settled=world.max_speed() < SETTLE_VEL)
