"""World building (f2p_sim.mjcf / world): invariants over every example scene, named accessors,
contacts, bounding boxes, export, and the reachability model (f2p_sim.reach)."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.classes import ObjectClass
from f2p_sim.mjcf import scene_to_mjcf
from f2p_sim.reach import ARM_REACH_MAX, BASE_X_MAX, BaseModel
from f2p_sim.scene import Scene, SceneError
from f2p_sim.scenes import EXAMPLE_SCENES, example_container_scene, example_drawer_scene
from f2p_sim.world import World


@pytest.mark.parametrize("name", sorted(EXAMPLE_SCENES))
def test_every_example_scene_builds_and_rests(name):
    scene = EXAMPLE_SCENES[name]()
    world = World(scene)
    assert world.object_names == scene.names
    for o in scene.objects:
        if o.cls.is_movable:
            pos, _ = world.body_pose(o.name)
            assert np.linalg.norm(pos - np.asarray(o.pos)) < 0.005, o.name  # spawned at rest
    lo, hi = world.object_boxes()
    assert lo.shape == hi.shape == (len(scene.objects), 3) and np.all(hi > lo)
    for k, o in enumerate(scene.objects):
        if o.cls is not ObjectClass.GROUND:
            pos, _ = world.body_pose(o.name)
            assert np.all(lo[k] - 1e-6 <= pos) and np.all(pos <= hi[k] + 1e-6), o.name
            assert np.allclose(hi[k] - lo[k], o.size, atol=0.01), o.name


def test_geom_naming_and_index():
    world = World(example_container_scene())
    m = world.model
    index = world.geom_object_index
    for g in range(m.ngeom):
        name = m.geom(g).name
        owner = name.split("/")[0]
        expected = world.index(owner) if owner in world.object_names else -1
        assert index[g] == expected, name
    walls = [m.geom(g).name for g in world.object_geom_ids("container_1")]
    assert len(walls) == 5 and all(n.startswith("container_1/") for n in walls)


def test_contact_pairs_ignore_gripper_and_find_contents():
    world = World(example_container_scene())
    pairs = world.contact_pairs()
    for cube in ("cube_1", "cube_2", "cube_3"):
        assert frozenset({cube, "container_1"}) in pairs
        assert frozenset({cube, "table"}) not in pairs
    assert frozenset({"container_1", "table"}) in pairs
    assert frozenset({"table", "ground"}) not in pairs  # static pairs make no contacts


def test_contact_pairs_tolerate_a_hair_gap():
    world = World(example_container_scene())
    x, y, z = world.body_pose("cylinder_1")[0]
    world.set_body_pose("cube_1", (x, y + 0.025 + 0.02 + 0.001, z - 0.03))  # 1 mm from it
    assert frozenset({"cube_1", "cylinder_1"}) in world.contact_pairs()
    world.set_body_pose("cube_1", (x, y + 0.025 + 0.02 + 0.005, z - 0.03))  # 5 mm
    assert frozenset({"cube_1", "cylinder_1"}) not in world.contact_pairs()


def test_to_scene_round_trip_and_set_pose():
    world = World(example_drawer_scene())
    world.set_body_pose("cube_2", (0.3, -0.1, 0.426))
    world.settle()
    saved = world.to_scene()
    again = World(Scene.from_json(saved.to_json()))
    for name in world.object_names:
        assert np.allclose(world.body_pose(name)[0], again.body_pose(name)[0], atol=2e-3), name
    with pytest.raises(ValueError):
        world.set_body_pose("cabinet_1", (0, 0, 0))


def test_drawer_opening_is_applied():
    scene = example_drawer_scene()
    scene.object("drawer_1").opening = 0.1
    world = World(scene)
    assert abs(world.drawer_opening("drawer_1") - 0.1) < 1e-3
    assert abs(world.to_scene().object("drawer_1").opening - 0.1) < 1e-3


def test_world_validates_first():
    scene = example_container_scene()
    scene.object("cube_1").pos = scene.object("cube_2").pos
    with pytest.raises(SceneError):
        World(scene)


def test_mjcf_has_gripper_pusher_weld():
    xml = scene_to_mjcf(example_container_scene())
    assert 'name="gripper"' in xml and 'mocap="true"' in xml
    assert 'name="pusher/paddle"' in xml and 'name="grasp"' in xml


def test_base_plan_moves_along_x_only_when_needed():
    base = BaseModel(xy=(-0.45, 0.0))
    near = [(0.2, 0.0, 0.5)]
    assert base.plan(near) == (-0.45, 0.0)
    far = [(0.6, 0.0, 0.5)]
    planned = base.plan(far)
    assert planned is not None and planned[0] > -0.45 and planned[1] == 0.0
    assert base.reachable_from(planned, far)
    assert base.plan([(BASE_X_MAX + ARM_REACH_MAX + 0.1, 0.0, 0.5)]) is None
    assert base.plan([(0.2, 0.0, 3.0)]) is None  # above the lift
    assert base.plan([(0.2, 0.0, np.nan)]) is None
