"""Typed, JSON-serialisable scene description (objects, cameras, robot base).

A `Scene` is the single exchange format of f2p_sim: task distributions (paper A.2) sample it,
Real2Sim (A.12) fits it, `mjcf.scene_to_mjcf` compiles it and `World.to_scene` writes it back.
Conventions (frames, names, classes) are those of the package README. Every pose is the pose of
the centre of the object's full extents at identity orientation; a drawer's pose is its *closed*
pose and `opening` says how far it is pulled out along its local -x axis.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from f2p_core.classes import ObjectClass

SCENE_SCHEMA_VERSION = 1

# Robot base start position (x, y) in the world frame. The robot stands at negative x facing +x
# (README); 0.45 m in front of the usual table edge leaves room for the base (Stretch RE2 is a
# 0.34 m disc) and puts the near half of a table within the arm's reach (see skills/reach.py).
DEFAULT_BASE_XY = (-0.45, 0.0)

# Names the MJCF builder uses for its own bodies; objects may not take them.
RESERVED_NAMES = frozenset({"gripper", "pusher", "floor", "world"})


class SceneError(ValueError):
    """An invalid scene; the message names the offending object and the problem."""


# Class defaults: (mass kg, sliding friction, wall/board thickness m). Masses are those of light
# household items (a 5 cm wooden block ≈ 0.1 kg, a plastic tub ≈ 0.3 kg); static masses are unused.
# Thicknesses: static boards 2 cm, a table top 3 cm, a plastic tub 1 cm, a cup 6 mm, a bag 4 mm
# (thinner walls risk tunnelling at dt 0.004 when things fall in).
_DEFAULTS: dict[ObjectClass, tuple[float, float, float]] = {
    ObjectClass.GROUND: (0.0, 0.8, 0.0),
    ObjectClass.TABLE: (0.0, 0.7, 0.03),
    ObjectClass.SHELF: (0.0, 0.7, 0.02),
    ObjectClass.CABINET: (0.0, 0.7, 0.02),
    ObjectClass.CUBOID: (0.1, 0.6, 0.0),
    ObjectClass.CYLINDER: (0.1, 0.6, 0.0),
    ObjectClass.CAPSULE: (0.08, 0.6, 0.0),
    ObjectClass.CONTAINER: (0.3, 0.7, 0.01),
    ObjectClass.CUP: (0.1, 0.7, 0.006),
    ObjectClass.BAG: (0.05, 0.8, 0.004),
    ObjectClass.DRAWER: (0.5, 0.6, 0.01),
}

_DEFAULT_RGBA: dict[ObjectClass, tuple[float, float, float, float]] = {
    ObjectClass.GROUND: (0.55, 0.55, 0.55, 1.0),
    ObjectClass.TABLE: (0.60, 0.45, 0.30, 1.0),
    ObjectClass.SHELF: (0.50, 0.38, 0.25, 1.0),
    ObjectClass.CABINET: (0.75, 0.75, 0.70, 1.0),
    ObjectClass.CUBOID: (0.85, 0.25, 0.20, 1.0),
    ObjectClass.CYLINDER: (0.20, 0.55, 0.85, 1.0),
    ObjectClass.CAPSULE: (0.95, 0.75, 0.15, 1.0),
    ObjectClass.CONTAINER: (0.25, 0.70, 0.35, 1.0),
    ObjectClass.CUP: (0.90, 0.90, 0.95, 1.0),
    ObjectClass.BAG: (0.80, 0.70, 0.50, 1.0),
    ObjectClass.DRAWER: (0.65, 0.60, 0.55, 1.0),
}


def default_physics(cls: ObjectClass | str) -> tuple[float, float]:
    """Class-default (mass kg, sliding friction); Real2Sim (A.12) starts from these."""
    mass, friction, _ = _DEFAULTS[ObjectClass(cls)]
    return mass, friction


def default_wall(cls: ObjectClass | str) -> float:
    """Class-default wall/board thickness in m (0 for solid objects)."""
    return _DEFAULTS[ObjectClass(cls)][2]


def _floats(value, n: int, what: str, name: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise SceneError(f"object '{name}': {what} must be {n} numbers, got {value!r}") from err
    if len(out) != n:
        raise SceneError(f"object '{name}': {what} must have {n} numbers, got {len(out)}")
    return out


@dataclass
class ObjectSpec:
    """One object. `size` is the full extents (x, y, z) in m; cylinders and capsules use
    (diameter, diameter, height) with the height tip to tip. `mass`, `friction` and `wall` left
    as None take the class defaults. `parent` names a drawer's cabinet; `opening` is a drawer's
    slide position (m pulled out towards the robot, 0 = closed)."""

    name: str
    cls: ObjectClass
    size: tuple[float, float, float]
    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    mass: float | None = None
    friction: float | None = None
    wall: float | None = None
    parent: str = ""
    opening: float = 0.0
    rgba: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        self.name = str(self.name)
        try:
            self.cls = ObjectClass(self.cls)
        except ValueError as err:
            raise SceneError(f"object '{self.name}': unknown class {self.cls!r}") from err
        self.size = _floats(self.size, 3, "size", self.name)
        self.pos = _floats(self.pos, 3, "pos", self.name)
        self.quat = _floats(self.quat, 4, "quat", self.name)
        d_mass, d_friction, d_wall = _DEFAULTS[self.cls]
        self.mass = d_mass if self.mass is None else float(self.mass)
        self.friction = d_friction if self.friction is None else float(self.friction)
        self.wall = d_wall if self.wall is None else float(self.wall)
        self.opening = float(self.opening)
        self.parent = str(self.parent)
        if self.rgba is None:
            self.rgba = _DEFAULT_RGBA[self.cls]
        self.rgba = _floats(self.rgba, 4, "rgba", self.name)


@dataclass
class CameraSpec:
    """A fixed pinhole camera looking from `pos` at `lookat` (z up), `fovy_deg` vertical."""

    name: str
    pos: tuple[float, float, float]
    lookat: tuple[float, float, float]
    fovy_deg: float = 58.0  # RealSense D435 colour camera vertical field of view
    width: int = 320
    height: int = 240
    roll: float = 0.0  # rad about the optical axis (REP 103: positive turns the image's right side down)

    def __post_init__(self) -> None:
        self.pos = _floats(self.pos, 3, "pos", self.name)
        self.lookat = _floats(self.lookat, 3, "lookat", self.name)
        self.fovy_deg = float(self.fovy_deg)
        self.roll = float(self.roll)
        self.width, self.height = int(self.width), int(self.height)


# Centre of the usual workspace: above the middle of a table top at z 0.45 (scenes.py).
WORKSPACE_CENTER = (0.40, 0.0, 0.45)


def camera_from_spherical(name: str, azimuth_deg: float, elevation_deg: float,
                          distance: float = 1.3, lookat=WORKSPACE_CENTER, **kw) -> CameraSpec:
    """A camera on a sphere around `lookat`; azimuth 0 is the robot side (-x), positive turns
    towards +y, elevation is above the horizontal."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    offset = (-math.cos(el) * math.cos(az), -math.cos(el) * math.sin(az), math.sin(el))
    pos = tuple(c + distance * o for c, o in zip(lookat, offset, strict=True))
    return CameraSpec(name=name, pos=pos, lookat=tuple(lookat), **kw)


def default_camera() -> CameraSpec:
    """Training viewpoint: behind the robot's head, straight down the workspace (head camera)."""
    return camera_from_spherical("default", azimuth_deg=0.0, elevation_deg=45.0)


def view1_camera() -> CameraSpec:
    """Unseen test viewpoint 1 (A.14): turned 35° to the left and lower."""
    return camera_from_spherical("view1", azimuth_deg=35.0, elevation_deg=35.0)


def view2_camera() -> CameraSpec:
    """Unseen test viewpoint 2 (A.14): turned 30° to the right and higher."""
    return camera_from_spherical("view2", azimuth_deg=-30.0, elevation_deg=60.0)


CAMERA_VIEWPOINTS = {"default": default_camera, "view1": view1_camera, "view2": view2_camera}

#: A camera name of this form is a user-defined pose (`camera_spec`).
CAMERA_POSE_PREFIX = "pose:"


def camera_pose_name(x: float, y: float, z: float, roll: float, pitch: float, yaw: float) -> str:
    """The camera name standing for a camera at (x, y, z) m with orientation roll, pitch, yaw (rad)."""
    return CAMERA_POSE_PREFIX + ",".join(f"{v:g}" for v in (x, y, z, roll, pitch, yaw))


def camera_spec(name: str) -> CameraSpec:
    """The camera `name` stands for: a named viewpoint of `CAMERA_VIEWPOINTS`, or a user-defined pose
    ``pose:x,y,z,roll,pitch,yaw`` in the world frame (m, rad; REP 103 as `tf2` takes it: the camera
    looks along its body x, roll/pitch/yaw intrinsic about x/y/z, positive pitch looks down). The
    spec keeps `name`, so the scene's MJCF camera is found by it. A bad name is a ValueError naming
    what is accepted."""
    if name in CAMERA_VIEWPOINTS:
        return CAMERA_VIEWPOINTS[name]()
    if not name.startswith(CAMERA_POSE_PREFIX):
        raise ValueError(f"unknown camera {name!r}; choose from {', '.join(CAMERA_VIEWPOINTS)} or "
                         f"{CAMERA_POSE_PREFIX}x,y,z,roll,pitch,yaw (m, rad)")
    try:
        values = [float(v) for v in name[len(CAMERA_POSE_PREFIX):].split(",")]
    except ValueError:
        values = []
    if len(values) != 6 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"camera {name!r}: a pose is {CAMERA_POSE_PREFIX}x,y,z,roll,pitch,yaw "
                         f"(six numbers, m and rad)")
    x, y, z, roll, pitch, yaw = values
    forward = (math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), -math.sin(pitch))
    if abs(forward[2]) > 1 - 1e-9:
        raise ValueError(f"camera {name!r}: looking straight up or down (pitch ±π/2) leaves yaw undefined; "
                         f"tilt it a little")
    return CameraSpec(name=name, pos=(x, y, z), lookat=(x + forward[0], y + forward[1], z + forward[2]), roll=roll)


@dataclass
class Scene:
    """Objects (order = array order everywhere), cameras and the robot base position."""

    objects: list[ObjectSpec] = field(default_factory=list)
    cameras: list[CameraSpec] = field(default_factory=lambda: [default_camera()])
    base_xy: tuple[float, float] = DEFAULT_BASE_XY

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objects]

    def index(self, name: str) -> int:
        for i, o in enumerate(self.objects):
            if o.name == name:
                return i
        raise KeyError(f"no object named '{name}'")

    def object(self, name: str) -> ObjectSpec:
        return self.objects[self.index(name)]

    def to_dict(self) -> dict:
        objects = []
        for o in self.objects:
            d = asdict(o)
            d["cls"] = o.cls.value
            objects.append(d)
        return {"schema_version": SCENE_SCHEMA_VERSION, "objects": objects,
                "cameras": [asdict(c) for c in self.cameras], "base_xy": list(self.base_xy)}

    @classmethod
    def from_dict(cls, data: dict) -> Scene:
        version = data.get("schema_version")
        if version != SCENE_SCHEMA_VERSION:
            raise SceneError(f"scene schema version {version!r}, expected {SCENE_SCHEMA_VERSION}")
        objects = [ObjectSpec(**o) for o in data.get("objects", [])]
        cameras = [CameraSpec(**c) for c in data.get("cameras", [])]
        base = tuple(float(v) for v in data.get("base_xy", DEFAULT_BASE_XY))
        scene = cls(objects=objects, cameras=cameras, base_xy=base)
        from .validate import validate  # local import: validate imports this module

        validate(scene)
        return scene

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Scene:
        """Parse and validate; a bad scene raises SceneError naming the object."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Scene:
        return cls.from_json(Path(path).read_text())


def validate(scene: Scene) -> None:
    """Raise SceneError if `scene` cannot be simulated faithfully (see validate.py)."""
    from .validate import validate as _validate

    _validate(scene)
