"""The Stretch RE2 in MuJoCo (issue 20): the model the setup builds from Hello Robot's URDF, the kinematics'
offsets against it, and skills executed by the same joint-goal translation the robot uses."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from f2p_core.classes import ObjectClass
from f2p_core.skills import SkillCall, SkillStatus, SkillType
from f2p_robot.stretch_kinematics import DEFAULT_GEOMETRY, UnreachableError, plan_skill
from f2p_robot.stretch_sim import _targets, execute, robot_state, world_box
from f2p_sim import stretch_model, tasks
from f2p_sim.scene import Scene
from f2p_sim.scenes import on_surface
from f2p_sim.stretch_world import StretchWorld


@pytest.fixture(scope="module")
def model():
    path = stretch_model.model_path()
    if not path.is_file():
        pytest.fail(f"no Stretch model at {path}: the README's setup builds it (python -m f2p_sim.stretch_model)")
    return mujoco.MjModel.from_xml_path(str(path))


def _cuboid_scene(xy) -> Scene:
    return Scene(objects=[*tasks.tables(), on_surface("cuboid_1", ObjectClass.CUBOID, (0.05, 0.05, 0.08), xy)])


def test_a_second_build_is_a_no_op(model):
    path = stretch_model.model_path()
    before = path.stat().st_mtime_ns
    assert stretch_model.build(log=lambda _: None) == path and path.stat().st_mtime_ns == before
    assert model.nu == 13 and {model.actuator(i).name for i in range(model.nu)} >= {
        "base_x", "base_y", "base_yaw", "joint_lift", "joint_arm_l0", "joint_wrist_yaw", "joint_gripper_finger_left"}
    assert model.camera("head") is not None and model.site("grasp_center") is not None


@pytest.mark.parametrize("lift, extension, yaw", [(0.5, 0.0, 0.0), (0.9, 0.4, 0.0), (0.3, 0.2, 1.0), (0.6, 0.52, -1.2)])
def test_the_kinematics_offsets_are_the_urdf_s(model, lift, extension, yaw):
    """The grasp centre of the model at joint positions equals where stretch_kinematics puts it (2 mm)."""
    d = mujoco.MjData(model)
    q = {model.joint(j).name: model.jnt_qposadr[j] for j in range(model.njnt)}
    d.qpos[q["base_yaw"]] = 0.0
    d.qpos[q["joint_lift"]] = lift
    for link in stretch_model.ARM_LINKS:
        d.qpos[q[link]] = extension / 4
    d.qpos[q["joint_wrist_yaw"]] = yaw
    mujoco.mj_kinematics(model, d)
    g = DEFAULT_GEOMETRY  # base at the origin, heading +x, the arm along -y (stretch_kinematics docstring)
    reach = g.wrist_reach_retracted + extension + g.gripper_length * math.cos(yaw)
    want = [g.arm_offset_x + g.gripper_length * math.sin(yaw), -reach, lift + g.grasp_height_offset]
    assert np.allclose(d.site_xpos[model.site("grasp_center").id], want, atol=0.002)


def test_a_cuboid_goes_from_one_table_to_the_other_where_the_skill_said():
    world = StretchWorld(_cuboid_scene((0.35, -0.30)))
    params = tasks.place_params(world.to_scene(), "cuboid_1", (0.42, 0.28), "table_B", 0.3)
    result = execute(world, SkillCall(SkillType.PICK_PLACE, ("cuboid_1", "table_B"), params))
    assert result.status is SkillStatus.OK, result.message
    pos, _ = world.body_pose("cuboid_1")
    assert np.allclose(pos[:2], (0.42, 0.28), atol=0.02) and abs(pos[2] - 0.49) < 0.01
    assert world.held is None and result.base_moved


def test_a_placement_beyond_reach_is_unreachable_and_moves_nothing():
    world = StretchWorld(_cuboid_scene((0.35, -0.30)))
    qpos = world.data.qpos.copy()
    params = tasks.place_params(world.to_scene(), "cuboid_1", (1.20, 0.28), "table_B")
    result = execute(world, SkillCall(SkillType.PICK_PLACE, ("cuboid_1", "table_B"), params))
    assert result.status is SkillStatus.UNREACHABLE and "wrist_extension" in result.message
    assert np.array_equal(world.data.qpos, qpos) and not result.base_moved


@pytest.mark.parametrize("task", ["pretrain", "organize"])
def test_joint_goals_stay_within_the_urdf_limits(model, task):
    """Every goal of every skill the kinematics accepts, over a task sample, lies in the model's joint ranges.
    (Transport's carries are all refused today: the bag is wider than the gripper opens, issue 20's note.)"""
    planned = 0
    for seed in range(4):
        sample = tasks.sample(task, np.random.default_rng(seed), 5, real=True)
        world = StretchWorld(sample.scene, settle_seconds=0)
        for step in sample.skeleton:
            call = tasks.sample_params(world.to_scene(), step, np.random.default_rng(seed))
            try:
                plan = plan_skill(call, world_box(world, call.object_ids[0]), robot_state(world))
            except UnreachableError:
                continue
            planned += 1
            for goal in plan.goals:
                for joint, value in _targets(world, goal).items():
                    lo, hi = model.jnt_range[model.joint(joint).id]
                    inside = lo - 1e-6 <= value <= hi + 1e-6
                    assert joint.startswith("base_") or inside, (task, goal.stage, joint, value)
    assert planned > 0
