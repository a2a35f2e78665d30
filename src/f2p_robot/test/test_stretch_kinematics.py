"""Stretch RE2 joint goals of the A.10 skills: forward kinematics of the planned goals lands the
grasp centre where the skill says, every goal respects the joint limits, and targets outside
them are refused with the joint named."""

from __future__ import annotations

import math

import numpy as np
import pytest

from f2p_core.skills import SkillCall, SkillType
from f2p_robot.stretch_kinematics import (
    DEFAULT_GEOMETRY,
    JOINTS,
    RELATIVE_JOINTS,
    ObjectBox,
    StretchState,
    UnreachableError,
    plan_skill,
)

G = DEFAULT_GEOMETRY
# The robot beside the tables of f2p_sim's scenes, heading +y so that its arm points along +x.
START = StretchState(base_x=-0.3, base_y=0.0, base_theta=math.pi / 2, lift=0.6)
CUBE = ObjectBox("cube_1", (0.3, -0.4, 0.475), (0.05, 0.05, 0.05))


def replay(state: StretchState, goals):
    """States after each goal, integrated independently of the planner."""
    out = []
    x, y, th = state.base_x, state.base_y, state.base_theta
    joints = {"joint_lift": state.lift, "wrist_extension": state.extension, "joint_wrist_yaw": state.wrist_yaw,
              "joint_gripper_finger_left": state.gripper}
    for goal in goals:
        for name, value in goal.positions.items():
            if name == "translate_mobile_base":
                x, y = x + value * math.cos(th), y + value * math.sin(th)
            elif name == "rotate_mobile_base":
                th += value
            else:
                joints[name] = value
        out.append((goal.stage, x, y, th, dict(joints)))
    return out


def grasp_centre(x, y, th, joints) -> np.ndarray:
    h, a = np.array([math.cos(th), math.sin(th)]), np.array([math.sin(th), -math.cos(th)])
    w = joints["joint_wrist_yaw"]
    xy = (np.array([x, y]) + (G.arm_offset_x + G.gripper_length * math.sin(w)) * h
          + (G.wrist_reach_retracted + joints["wrist_extension"] + G.gripper_length * math.cos(w)) * a)
    return np.array([*xy, joints["joint_lift"] + G.grasp_height_offset])


def at(states, stage):
    return next(s for s in states if s[0] == stage)


def check_limits(goals):
    limits = {"joint_lift": G.lift, "wrist_extension": G.extension, "joint_wrist_yaw": G.wrist_yaw,
              "joint_gripper_finger_left": G.gripper}
    for goal in goals:
        assert set(goal.positions) <= set(JOINTS) and goal.duration_s >= G.settle_s
        for name, value in goal.positions.items():
            if name in RELATIVE_JOINTS:
                assert abs(value) <= G.max_base_travel or name == "rotate_mobile_base"
            else:
                assert limits[name][0] <= value <= limits[name][1], (goal.stage, name, value)


@pytest.mark.parametrize("dyaw", [0.0, 0.7, -1.2])
def test_pick_place_grasps_the_object_and_places_it_at_the_target(dyaw):
    call = SkillCall(SkillType.PICK_PLACE, ("cube_1", "table_B"), [0.05, 0.6, 0.0, dyaw])
    plan = plan_skill(call, CUBE, START)
    check_limits(plan.goals)
    states = replay(START, plan.goals)
    assert [s[0] for s in states] == ["raise", "prepare", "align_base", "reach", "descend", "grasp", "lift", "carry",
                                      "place_reach", "lower", "release", "clear", "retreat", "stow_wrist", "stow"]
    # the grasp centre over the cube's centre, as high as the fingertips need to clear the table
    point = np.array([*CUBE.centre[:2], CUBE.centre[2] - CUBE.size[2] / 2 + G.fingertip_drop + G.support_gap])
    assert point[2] > CUBE.centre[2]
    grasp = at(states, "grasp")
    assert np.allclose(grasp_centre(*grasp[1:]), point, atol=1e-9)
    assert grasp[4]["joint_gripper_finger_left"] == G.gripper_closed
    opened = at(states, "prepare")[4]["joint_gripper_finger_left"]  # to the cube's width and the margin
    assert opened * G.aperture_per_rad == pytest.approx(CUBE.size[0] + G.grasp_margin)
    reached = at(states, "reach")  # above the cube: the fingers come down around it
    assert np.allclose(grasp_centre(*reached[1:])[:2], point[:2]) and grasp_centre(*reached[1:])[2] > point[2] + 0.1
    released = at(states, "release")
    assert np.allclose(grasp_centre(*released[1:]), np.add(point, [0.05, 0.6, 0.0]), atol=1e-9)
    assert released[4]["joint_wrist_yaw"] == pytest.approx(dyaw)
    carried = at(states, "carry")
    assert carried[4]["joint_lift"] > CUBE.centre[2] + CUBE.size[2] / 2  # lifted clear before driving
    assert states[-1][4]["wrist_extension"] == 0.0 and states[-1][4]["joint_lift"] == G.stow_lift
    assert states[-1][4]["joint_wrist_yaw"] == G.stow_yaw  # stowed: out of the cameras' view
    assert at(states, "raise")[4]["joint_lift"] == at(states, "prepare")[4]["joint_lift"]  # up before turning
    final = plan.final  # the planner's dead reckoning agrees with the replay
    assert (final.base_x, final.base_y) == pytest.approx(states[-1][1:3]) and final.extension == 0.0


def test_push_moves_the_fingertips_from_behind_the_object_along_the_push():
    angle, distance = 0.0, 0.1  # along +x: the arm's own direction
    plan = plan_skill(SkillCall(SkillType.PUSH, ("cube_1",), [angle, distance]), CUBE, START)
    check_limits(plan.goals)
    states = replay(START, plan.goals)
    start = grasp_centre(*at(states, "lower")[1:])
    end = grasp_centre(*at(states, "push")[1:])
    assert start[0] == pytest.approx(CUBE.centre[0] - CUBE.size[0] / 2 - G.push_gap)
    assert start[2] == pytest.approx(CUBE.centre[2] - CUBE.size[2] / 2 + min(CUBE.size[2] / 2, G.push_max_height))
    assert np.allclose(end - start, [distance + G.push_gap, 0.0, 0.0], atol=1e-9)
    assert at(states, "prepare")[4]["joint_lift"] > CUBE.centre[2] + CUBE.size[2] / 2
    sideways = plan_skill(SkillCall(SkillType.PUSH, ("cube_1",), [math.pi / 2, 0.05]), CUBE, START)
    push = next(g for g in sideways.goals if g.stage == "push")
    assert push.positions["translate_mobile_base"] == pytest.approx(0.05 + G.push_gap)  # the base drives it


@pytest.mark.parametrize("kind", [SkillType.OPEN_DRAWER, SkillType.CLOSE_DRAWER])
def test_drawers_slide_the_handle_along_the_drawer_axis(kind):
    drawer = ObjectBox("drawer_1", (0.45, 0.0, 0.3), (0.3, 0.3, 0.12))
    plan = plan_skill(SkillCall(kind, ("drawer_1",), [0.15]), drawer, START)
    check_limits(plan.goals)
    states = replay(START, plan.goals)
    handle = grasp_centre(*at(states, "grasp")[1:])
    assert np.allclose(handle, [0.3, 0.0, 0.36], atol=1e-9)
    moved = grasp_centre(*at(states, "slide")[1:]) - handle
    assert np.allclose(moved, [-0.15 if kind is SkillType.OPEN_DRAWER else 0.15, 0, 0], atol=1e-9)


def test_objects_on_the_other_side_turn_the_base_first():
    behind = StretchState(base_x=0.9, base_y=-0.4, base_theta=math.pi / 2, lift=0.6)  # arm points away
    plan = plan_skill(SkillCall(SkillType.PUSH, ("cube_1",), [math.pi, 0.05]), CUBE, behind)
    assert plan.goals[0].stage == "turn_base" and plan.goals[0].positions == {"rotate_mobile_base": math.pi}
    states = replay(behind, plan.goals)
    assert grasp_centre(*at(states, "lower")[1:])[0] > CUBE.centre[0]  # pushing towards -x from behind


@pytest.mark.parametrize(("box", "params", "match"), [
    (ObjectBox("cube_1", (0.3, -0.4, 1.5), (0.05, 0.05, 0.05)), [0, 0, 0, 0],
     r"raise needs joint_lift = 1\.619 m, outside \[0\.0, 1\.1\] m"),
    (ObjectBox("cube_1", (1.5, -0.4, 0.5), (0.05, 0.05, 0.05)), [0, 0, 0, 0],
     r"grasp needs wrist_extension = 1\.450 m, outside \[0\.0, 0\.52\] m"),
    (CUBE, [0.0, 0.0, 0.8, 0.0], r"lift needs joint_lift = 1\.429"),
    (CUBE, [0.0, 1.6, 0.0, 0.0], r"drive 1\.6.* more than 1\.0 m"),
    # long along the arm: only the wrist at 0 holds it, which cannot turn to -2 rad (a cube would be held the
    # other way, at pi/2, and turned: test_a_grasp_turns_the_wrist_to_clear_its_neighbours has both grasps)
    (ObjectBox("cube_1", (0.3, -0.4, 0.475), (0.12, 0.05, 0.05)), [0.0, 0.0, 0.0, -2.0], r"joint_wrist_yaw = -2\.000"),
    (ObjectBox("cube_1", (0.3, -0.4, 0.5), (0.2, 0.2, 0.05)), [0, 0, 0, 0], r"0\.200 m wide.*opens 0\.082 m"),
])
def test_targets_outside_the_limits_are_unreachable(box, params, match):
    with pytest.raises(UnreachableError, match=match):
        plan_skill(SkillCall(SkillType.PICK_PLACE, ("cube_1",), params), box, START)


def test_malformed_calls_are_invalid_not_unreachable():
    for call, match in ((SkillCall(SkillType.PICK_PLACE, ("cube_1",), [0.1]), "takes 4 finite parameters"),
                        (SkillCall(SkillType.PUSH, ("cube_1",), [0.0, math.nan]), "finite"),
                        (SkillCall(SkillType.PUSH, ("cube_1",), [0.0, -0.1]), "must be positive"),
                        (SkillCall(SkillType.PUSH, ("cup_1",), [0.0, 0.1]), "target box is 'cube_1'")):
        with pytest.raises(ValueError, match=match) as info:
            plan_skill(call, CUBE, START)
        assert not isinstance(info.value, UnreachableError)
    with pytest.raises(ValueError, match="must be 3 finite numbers"):
        ObjectBox("x", (0, 0, math.nan), (1, 1, 1))
    box = ObjectBox.from_aabb("x", [0, 0, 0], [0.2, 0.1, 0.4])
    assert box.centre == pytest.approx((0.1, 0.05, 0.2)) and box.extent_along(np.array([0.0, 1.0])) == 0.1


def test_a_grasp_turns_the_wrist_to_clear_its_neighbours():
    """A capsule between two cups along the base's heading: with the wrist at 0 the fingers (closing along the
    heading) would come down on the cups, so the gripper points along the heading instead (yaw π/2); alone,
    the wrist stays at 0."""
    capsule = ObjectBox("cube_1", (0.3, -0.4, 0.465), (0.03, 0.06, 0.03))
    cups = [ObjectBox(f"cup_{k}", (0.3, -0.4 + dy, 0.5), (0.085, 0.085, 0.1)) for k, dy in ((1, 0.09), (2, -0.09))]
    call = SkillCall(SkillType.PICK_PLACE, ("cube_1", "table_B"), [0.0, 0.5, 0.0, 0.3])
    alone = at(replay(START, plan_skill(call, capsule, START).goals), "grasp")
    crowded = at(replay(START, plan_skill(call, capsule, START, neighbours=cups).goals), "grasp")
    assert alone[4]["joint_wrist_yaw"] == 0.0 and crowded[4]["joint_wrist_yaw"] == pytest.approx(math.pi / 2)
    for state in (alone, crowded):  # either way the grasp centre is on the capsule
        assert np.allclose(grasp_centre(*state[1:])[:2], capsule.centre[:2], atol=1e-9)
