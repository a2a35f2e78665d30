"""Skills of paper A.10 (f2p_sim.skills) with real contact physics: carried contents move with
their container, pushes propagate to neighbours, drawers slide by the asked distance, infeasible
calls come back as statuses, and the same scene and call give bit-identical states."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.skills import PARAM_NAMES, SkillCall, SkillStatus, SkillType
from f2p_sim.scenes import (
    example_container_scene,
    example_cups_scene,
    example_drawer_scene,
    example_push_scene,
    example_shelf_scene,
)
from f2p_sim.skills import execute
from f2p_sim.world import World

CUBES = ("cube_1", "cube_2", "cube_3")


def pick_place(obj, dx=0.0, dy=0.0, dz=0.0, dyaw=0.0, support="table") -> SkillCall:
    return SkillCall(SkillType.PICK_PLACE, (obj, support), np.array([dx, dy, dz, dyaw]))


def contained(world: World, inner: str, outer: str, tol: float = 1e-3) -> bool:
    lo, hi = world.object_boxes()
    i, o = world.index(inner), world.index(outer)
    return bool(np.all(lo[i] >= lo[o] - tol) and np.all(hi[i] <= hi[o] + tol))


def test_param_layouts():
    assert PARAM_NAMES[SkillType.PICK_PLACE] == ("dx", "dy", "dz", "dyaw")
    assert PARAM_NAMES[SkillType.PUSH] == ("angle", "distance")
    assert PARAM_NAMES[SkillType.OPEN_DRAWER] == PARAM_NAMES[SkillType.CLOSE_DRAWER] == ("distance",)


def test_container_carries_its_contents():
    world = World(example_container_scene())
    before = {n: world.body_pose(n)[0] for n in (*CUBES, "container_1")}
    result = execute(world, pick_place("container_1", dy=0.5))
    assert result.status is SkillStatus.OK, result.message
    assert 0.5 < result.sim_time < 3.0
    moved = np.linalg.norm(world.body_pose("container_1")[0] - before["container_1"])
    assert abs(moved - 0.5) < 0.01
    for cube in CUBES:
        assert np.linalg.norm(world.body_pose(cube)[0] - before[cube]) >= 0.45, cube
        assert contained(world, cube, "container_1"), cube


def test_capsule_stays_in_cup():
    world = World(example_cups_scene())
    start = world.body_pose("capsule_1")[0]
    result = execute(world, pick_place("cup_1", dy=0.2, dyaw=1.0))
    assert result.status is SkillStatus.OK, result.message
    assert world.body_pose("capsule_1")[0][1] - start[1] > 0.15
    assert contained(world, "capsule_1", "cup_1", tol=0.005)
    assert frozenset({"capsule_1", "cup_1"}) in world.contact_pairs()


def test_pick_into_cup():
    world = World(example_cups_scene())
    result = execute(world, pick_place("capsule_1", dy=0.4, support="cup_2"))
    assert result.status is SkillStatus.OK, result.message
    assert contained(world, "capsule_1", "cup_2", tol=0.005)


def test_push_moves_the_neighbour():
    world = World(example_push_scene())
    before = world.body_pose("cube_2")[0]
    bystander = world.body_pose("cylinder_1")[0]
    result = execute(world, SkillCall(SkillType.PUSH, ("cube_1",), np.array([np.pi / 2, 0.1])))
    assert result.status is SkillStatus.OK, result.message
    assert world.body_pose("cube_2")[0][1] - before[1] >= 0.05
    assert np.allclose(world.body_pose("cylinder_1")[0], bystander, atol=1e-3)


def test_push_into_occupied_pose_or_jam_is_a_collision():
    world = World(example_push_scene())
    before = world.data.qpos.copy()
    # Pushing cube_2 towards +y needs the paddle where cube_1 stands: refused, nothing moves.
    result = execute(world, SkillCall(SkillType.PUSH, ("cube_2",), np.array([np.pi / 2, 0.1])))
    assert result.status is SkillStatus.COLLISION and "cube_1" in result.message
    assert np.array_equal(world.data.qpos, before)
    # Three books pushed 0.3 m towards the shelf side wall with only 0.23 m free: jammed.
    world = World(example_shelf_scene())
    result = execute(world, SkillCall(SkillType.PUSH, ("book_3",), np.array([-np.pi / 2, 0.3])))
    assert result.status is SkillStatus.COLLISION, result.message
    for book in ("book_1", "book_2", "book_3"):
        assert frozenset({book, "shelf_1"}) in world.contact_pairs()  # still standing in it
        assert world.body_pose(book)[1][0] > 0.99  # upright
    assert frozenset({"book_1", "book_2"}) in world.contact_pairs()


def test_drawer_opens_and_closes_by_distance():
    world = World(example_drawer_scene())
    cube = world.body_pose("cube_1")[0]
    result = execute(world, SkillCall(SkillType.OPEN_DRAWER, ("drawer_1",), np.array([0.15])))
    assert result.status is SkillStatus.OK, result.message
    assert abs(world.drawer_opening("drawer_1") - 0.15) < 0.01
    assert abs((cube - world.body_pose("cube_1")[0])[0] - 0.15) < 0.01  # contents ride along
    result = execute(world, SkillCall(SkillType.CLOSE_DRAWER, ("drawer_1",), np.array([0.15])))
    assert result.status is SkillStatus.OK, result.message
    assert world.drawer_opening("drawer_1") < 0.01


def test_infeasible_calls_return_statuses():
    world = World(example_container_scene())
    far = execute(world, pick_place("cube_1", dx=3.0))
    high = execute(world, pick_place("cube_1", dz=2.0))
    assert far.status is high.status is SkillStatus.UNREACHABLE
    assert far.sim_time == 0.0 and not far.base_moved
    invalid = [
        pick_place("table"),
        pick_place("no_such_object"),
        SkillCall(SkillType.PICK_PLACE, ("cube_1",), np.array([0.1, 0.0])),
        SkillCall(SkillType.PUSH, ("cube_1",), np.array([0.0, np.nan])),
        SkillCall(SkillType.PUSH, ("cube_1",), np.array([0.0, -0.1])),
        SkillCall(SkillType.OPEN_DRAWER, ("cube_1",), np.array([0.1])),
        SkillCall("fly", ("cube_1",), np.array([0.1])),
    ]
    for call in invalid:
        assert execute(world, call).status is SkillStatus.INVALID, call


def test_lifting_out_of_a_closed_drawer_collides():
    world = World(example_drawer_scene())
    result = execute(world, pick_place("cube_1", dx=-0.3, dz=0.2, support="ground"))
    assert result.status is SkillStatus.COLLISION, result.message
    assert world.grasped is None


def test_far_target_moves_the_base():
    world = World(example_container_scene())
    start = world.base.xy
    result = execute(world, pick_place("cube_1", dx=0.35, dy=0.3))
    assert result.status is SkillStatus.OK and result.base_moved
    assert world.base.xy[0] > start[0] and world.base.xy[1] == start[1]
    assert world.to_scene().base_xy == world.base.xy


@pytest.mark.parametrize("call", [
    pick_place("container_1", dy=0.5, dyaw=0.5),
    SkillCall(SkillType.PUSH, ("cube_1",), np.array([0.3, 0.15])),
])
def test_deterministic(call):
    scene = example_container_scene() if call.type is SkillType.PICK_PLACE else example_push_scene()
    states = []
    for _ in range(2):
        world = World(scene)
        result = execute(world, call)
        states.append((result.status, result.sim_time, world.data.qpos.copy(), world.data.qvel.copy()))
    assert states[0][:2] == states[1][:2]
    assert np.array_equal(states[0][2], states[1][2]) and np.array_equal(states[0][3], states[1][3])
