"""The Stretch RE2 in MuJoCo (issue 20): the model the setup builds from Hello Robot's URDF, the kinematics'
offsets against it, and skills executed by the same joint-goal translation the robot uses."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from f2p_core.classes import ObjectClass
from f2p_core.skills import SkillCall, SkillStatus, SkillType
from f2p_robot.stretch_backends import joint_trajectory
from f2p_robot.stretch_kinematics import DEFAULT_GEOMETRY, UnreachableError, plan_skill, skill_boxes
from f2p_robot.stretch_sim import _targets, execute, robot_state, world_boxes
from f2p_sim import stretch_model, tasks
from f2p_sim.scene import Scene
from f2p_sim.scenes import inside, on_surface
from f2p_sim.stretch_world import StretchWorld
from f2p_sim.transitions import world_relations


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


def _plans(task: str, seeds=range(4), n_objects: int = 5):
    """(world, plan) of every skeleton step of `task`'s samples that the kinematics accepts (parameters
    sampled from the workspace, tasks.sample_params)."""
    for seed in seeds:
        sample = tasks.sample(task, np.random.default_rng(seed), n_objects, real=True)
        world = StretchWorld(sample.scene, settle_seconds=0)
        for step in sample.skeleton:
            call = tasks.sample_params(world.to_scene(), step, np.random.default_rng(seed))
            try:
                box, neighbours = world_boxes(world, call.object_ids[0])
                yield world, plan_skill(call, box, robot_state(world), neighbours=neighbours)
            except UnreachableError:
                continue


@pytest.mark.parametrize("task", ["pretrain", "transport", "organize"])
def test_joint_goals_stay_within_the_urdf_limits(model, task):
    """Every goal of every skill the kinematics accepts, over a task sample, lies in the model's joint ranges."""
    planned = 0
    for world, plan in _plans(task):
        planned += 1
        for goal in plan.goals:
            for joint, value in _targets(world, goal).items():
                lo, hi = model.jnt_range[model.joint(joint).id]
                inside = lo - 1e-6 <= value <= hi + 1e-6
                assert joint.startswith("base_") or inside, (task, goal.stage, joint, value)
    assert planned > 0


def test_a_bag_wider_than_the_gripper_is_carried_by_its_rim_with_its_contents():
    """The transport bag (20 cm) does not fit the fingers: grasped by its near wall, it lands where the skill
    said and what was inside stays inside."""
    bag = on_surface("bag_1", ObjectClass.BAG, (0.20, 0.16, 0.08), (0.35, -0.30))
    items = [inside(f"item_{k}", ObjectClass.CUBOID, (0.04, 0.04, 0.04), bag, (dx, 0.0)) for k, dx in ((1, -0.05),
                                                                                                      (2, 0.05))]
    world = StretchWorld(Scene(objects=[*tasks.tables(), bag, *items]))
    params = tasks.place_params(world.to_scene(), "bag_1", (0.40, 0.30), "table_B")
    result = execute(world, SkillCall(SkillType.PICK_PLACE, ("bag_1", "table_B"), params))
    assert result.status is SkillStatus.OK, result.message
    assert np.allclose(world.body_pose("bag_1")[0][:2], (0.40, 0.30), atol=0.03)
    holds = world_relations(world).holds
    assert holds("on", "bag_1", "table_B") and all(holds("inside", f"item_{k}", "bag_1") for k in (1, 2))


def test_the_robot_node_and_the_simulated_stretch_translate_a_skill_alike():
    """stretch_robot translates a skill from /f2p/scene (target_box over the message's names, classes and
    boxes, then plan_skill); the simulated Stretch from its world: for the same boxes and state, the same goals."""
    from dataclasses import replace

    from f2p_perception.sim_gt import SimGroundTruthPerception
    from f2p_ros.convert import scene_from_msg, scene_to_msg

    sample = tasks.sample("transport", np.random.default_rng(2), 3, real=True)
    world = StretchWorld(sample.scene, settle_seconds=0)
    seen = SimGroundTruthPerception(world, "head").perceive(np.random.default_rng(0))
    lo, hi = world.object_boxes()
    keep = [world.index(n) for n in seen.names]
    seen = replace(seen, box_lo=lo[keep].astype(np.float32), box_hi=hi[keep].astype(np.float32))  # the world's
    received = scene_from_msg(scene_to_msg(seen))  # what the node has
    call = tasks.sample_params(world.to_scene(), sample.skeleton[0], np.random.default_rng(2))
    name = call.object_ids[0]
    box, neighbours = skill_boxes(name, received.names, received.classes, received.box_lo, received.box_hi)
    node = plan_skill(call, box, robot_state(world), neighbours=neighbours)  # the node's path
    sim_box, sim_neighbours = world_boxes(world, name)
    sim = plan_skill(call, sim_box, robot_state(world), neighbours=sim_neighbours)
    assert box.wall > 0 and [g.stage for g in node.goals] == [g.stage for g in sim.goals]
    for a, b in zip(node.goals, sim.goals, strict=True):
        assert list(a.positions) == list(b.positions)
        assert np.allclose(list(a.positions.values()), list(b.positions.values()), atol=1e-5)


def test_trajectory_messages_name_urdf_joints_within_their_limits(model):
    """Every FollowJointTrajectory message of a task sample's skills names a joint stretch_driver takes: a URDF
    joint within the URDF's range, the base's increments, or wrist_extension within the four arm links' sum."""
    arm = sum(model.jnt_range[model.joint(j).id][1] for j in stretch_model.ARM_LINKS)
    sent = 0
    for _, plan in _plans("organize"):
        for goal in plan.goals:
            traj = joint_trajectory(goal)
            for name, value in zip(traj.joint_names, traj.points[0].positions, strict=True):
                sent += 1
                if name in ("translate_mobile_base", "rotate_mobile_base"):
                    continue
                lo, hi = (0.0, arm) if name == "wrist_extension" else model.jnt_range[model.joint(name).id]
                assert lo - 1e-6 <= value <= hi + 1e-6, (goal.stage, name, value)
    assert sent > 0
