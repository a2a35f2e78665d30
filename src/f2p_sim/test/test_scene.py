"""Scene description and validation (f2p_sim.scene / validate): JSON round trips, every
example scene valid, and each kind of bad input rejected with a SceneError naming the object."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from f2p_core.classes import ObjectClass
from f2p_sim.mjcf import camera_xyaxes
from f2p_sim.scene import (
    CAMERA_VIEWPOINTS,
    SCENE_SCHEMA_VERSION,
    CameraSpec,
    ObjectSpec,
    Scene,
    SceneError,
    camera_pose_name,
    camera_spec,
    default_physics,
    validate,
)
from f2p_sim.scenes import EXAMPLE_SCENES, example_container_scene, example_drawer_scene, on_surface


@pytest.mark.parametrize("name", sorted(EXAMPLE_SCENES))
def test_example_scenes_round_trip(name, tmp_path):
    scene = EXAMPLE_SCENES[name]()
    validate(scene)
    again = Scene.from_json(scene.to_json())
    assert again == scene
    path = tmp_path / "scene.json"
    scene.save(path)
    assert Scene.load(path) == scene
    assert json.loads(scene.to_json())["schema_version"] == SCENE_SCHEMA_VERSION


def test_class_helpers_and_defaults():
    assert ObjectClass.TABLE.is_static and not ObjectClass.TABLE.is_movable
    assert ObjectClass.CUP.is_movable and ObjectClass.CUP.is_open_box
    assert ObjectClass.DRAWER.is_open_box and not ObjectClass.DRAWER.is_movable
    assert not ObjectClass.DRAWER.is_static
    mass, friction = default_physics("cuboid")
    assert mass > 0 and friction > 0
    spec = ObjectSpec("c", "cuboid", (0.05, 0.05, 0.05), (0, 0, 0.025))
    assert spec.cls is ObjectClass.CUBOID and (spec.mass, spec.friction) == (mass, friction)


def test_scene_accessors():
    scene = example_container_scene()
    assert scene.names[:3] == ["ground", "table", "container_1"]
    assert scene.index("cube_2") == 4
    assert scene.object("cube_2").cls is ObjectClass.CUBOID
    with pytest.raises(KeyError):
        scene.index("missing")


def test_viewpoints_look_at_workspace_from_robot_side():
    cams = {k: f() for k, f in CAMERA_VIEWPOINTS.items()}
    assert set(cams) == {"default", "view1", "view2"}
    poses = {tuple(np.round(c.pos, 6)) for c in cams.values()}
    assert len(poses) == 3
    for cam in cams.values():
        assert cam.pos[0] < cam.lookat[0] and (cam.width, cam.height) == (320, 240)
        axes = np.asarray(camera_xyaxes(cam)).reshape(2, 3)
        fwd = np.asarray(cam.lookat) - np.asarray(cam.pos)
        assert abs(axes[0] @ fwd) < 1e-9 and abs(axes[1] @ fwd) < 1e-9
        assert axes[1, 2] > 0  # image up is world up-ish


def test_a_camera_is_a_named_viewpoint_or_a_pose():
    for name, make in CAMERA_VIEWPOINTS.items():
        assert camera_spec(name) == make()
    default = camera_spec("default")
    # the default camera as a pose: its position, yaw 0 (it looks along +x), pitch 45° down
    pose = camera_spec(camera_pose_name(*default.pos, 0.0, math.pi / 4, 0.0))
    assert pose.name.startswith("pose:") and np.allclose(pose.pos, default.pos, atol=1e-5)
    assert np.allclose(camera_xyaxes(pose), camera_xyaxes(default), atol=1e-5)
    looking_left = camera_spec("pose:0,0,1,0,0,1.5707963")  # yaw 90°: along +y, level
    assert np.allclose(np.subtract(looking_left.lookat, looking_left.pos), (0, 1, 0), atol=1e-6)
    for bad, says in (("view3", "choose from default, view1, view2"), ("pose:1,2,3", "six numbers"),
                      ("pose:a,b,c,d,e,f", "six numbers"), ("pose:0,0,1,0,1.5707963267948966,0", "straight")):
        with pytest.raises(ValueError, match=says):
            camera_spec(bad)


def test_camera_roll_turns_the_image_about_the_optical_axis():
    level = CameraSpec("c", pos=(0, 0, 1), lookat=(1, 0, 1))
    right, up = np.asarray(camera_xyaxes(level)).reshape(2, 3)
    assert np.allclose(right, (0, -1, 0)) and np.allclose(up, (0, 0, 1))
    r90 = np.asarray(camera_xyaxes(CameraSpec("c", pos=(0, 0, 1), lookat=(1, 0, 1), roll=math.pi / 2))).reshape(2, 3)
    assert np.allclose(r90[0], -up, atol=1e-9) and np.allclose(r90[1], right, atol=1e-9)  # right side down


def _bad(mutate) -> Scene:
    scene = example_container_scene()
    mutate(scene)
    return scene


def _json_with(scene: Scene, name: str, **fields) -> str:
    data = scene.to_dict()
    for o in data["objects"]:
        if o["name"] == name:
            o.update(fields)
    return json.dumps(data)


def test_unknown_class_names_object():
    text = _json_with(example_container_scene(), "cube_1", cls="banana")
    with pytest.raises(SceneError, match=r"cube_1.*unknown class"):
        Scene.from_json(text)


def test_duplicate_name():
    scene = _bad(lambda s: s.objects.append(copy.deepcopy(s.objects[-1])))
    with pytest.raises(SceneError, match=r"cylinder_1.*duplicate"):
        validate(scene)


@pytest.mark.parametrize("field,value", [("pos", (0.3, math.nan, 0.5)),
                                         ("quat", (math.inf, 0, 0, 0))])
def test_non_finite_pose(field, value):
    scene = _bad(lambda s: setattr(s.object("cube_2"), field, value))
    with pytest.raises(SceneError, match=r"cube_2.*non-finite pose"):
        validate(scene)


def test_non_unit_quaternion_and_bad_size():
    scene = _bad(lambda s: setattr(s.object("cube_2"), "quat", (1.0, 0.2, 0.0, 0.0)))
    with pytest.raises(SceneError, match=r"cube_2.*not unit"):
        validate(scene)
    scene = _bad(lambda s: setattr(s.object("cube_3"), "size", (0.04, 0.0, 0.04)))
    with pytest.raises(SceneError, match=r"cube_3.*size"):
        validate(scene)


def test_interpenetrating_movables():
    def overlap(s):
        x, y, z = s.object("cube_1").pos
        s.object("cube_2").pos = (x, y, z + 0.01)

    with pytest.raises(SceneError, match=r"cube_1.*cube_2.*interpenetrate"):
        validate(_bad(overlap))


def test_object_through_container_wall_rejected_but_inside_allowed():
    scene = example_container_scene()
    box = scene.object("container_1")
    validate(scene)  # three cubes inside: the inner volume is free
    wall_x = box.pos[0] + box.size[0] / 2  # the back wall's outer face
    scene.object("cube_2").pos = (wall_x, box.pos[1], scene.object("cube_2").pos[2])
    with pytest.raises(SceneError, match=r"container_1.*cube_2.*interpenetrate"):
        validate(scene)


def test_off_every_support():
    scene = example_container_scene()
    scene.objects.append(on_surface("floating", ObjectClass.CUBOID, (0.04,) * 3, (0.3, 0.2),
                                    surface_z=0.45))
    validate(scene)
    scene.object("floating").pos = (0.3, 0.2, 0.43)  # sunk 2 cm into the table top
    with pytest.raises(SceneError, match=r"table.*floating.*interpenetrate"):
        validate(scene)
    scene.object("floating").pos = (0.3, 2.5, 0.6)  # beyond the 4 x 4 m ground
    with pytest.raises(SceneError, match=r"floating.*off every support"):
        validate(scene)


def test_drawer_without_cabinet():
    scene = example_drawer_scene()
    scene.object("drawer_1").parent = "cabinet_9"
    with pytest.raises(SceneError, match=r"drawer_1.*cabinet"):
        validate(scene)
    scene = example_drawer_scene()
    scene.objects = [o for o in scene.objects if o.cls is not ObjectClass.CABINET]
    with pytest.raises(SceneError, match=r"drawer_1"):
        validate(scene)


def test_drawer_opening_range():
    scene = example_drawer_scene()
    scene.object("drawer_1").opening = 1.0
    with pytest.raises(SceneError, match=r"drawer_1.*opening"):
        validate(scene)
