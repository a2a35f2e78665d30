"""Solid parts of each object class: the one geometry that both MJCF building and validation use.

Each object is a set of primitive parts in its body frame (a table is a top and four legs, an open
box a bottom and four walls, ...). `mjcf.py` turns the parts into geoms named `NAME/<part>`
(README) and `validate.py` checks support on the same parts (and interpenetration on the MJCF
built from them), so the checked geometry is exactly the simulated one; the inside of an open box
is free space by construction, which is what lets objects be `inside` containers (paper A.9).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_core.classes import ObjectClass

from .scene import ObjectSpec

# Table leg cross-section (m): 5 cm square legs, inset to the table corners.
TABLE_LEG_WIDTH = 0.05
# Drawer travel stop as a fraction of its depth: a real drawer runner stops before the drawer
# leaves the cabinet; 0.8 keeps a fifth of it inside so it never hangs free.
DRAWER_MAX_OPEN_FRACTION = 0.8


@dataclass(frozen=True)
class Part:
    """A primitive in the object's body frame. `half` is the half extents of its bounding box
    (for cylinders/capsules: radius, radius, half height tip to tip); `kind` is the MuJoCo geom
    type: box, cylinder, capsule or plane."""

    name: str
    kind: str
    pos: tuple[float, float, float]
    half: tuple[float, float, float]


def _box(name: str, pos, half) -> Part:
    return Part(name, "box", tuple(float(v) for v in pos), tuple(float(v) for v in half))


def _open_box(sx: float, sy: float, sz: float, w: float) -> list[Part]:
    """Bottom and four walls; the ±y walls fit between the ±x walls so parts never overlap."""
    hx, hy, hz = sx / 2, sy / 2, sz / 2
    wz = (sz - w) / 2  # wall half height, walls stand on the bottom
    return [
        _box("bottom", (0, 0, -hz + w / 2), (hx, hy, w / 2)),
        _box("wall_front", (-hx + w / 2, 0, w / 2), (w / 2, hy, wz)),
        _box("wall_back", (hx - w / 2, 0, w / 2), (w / 2, hy, wz)),
        _box("wall_left", (0, hy - w / 2, w / 2), (hx - w, w / 2, wz)),
        _box("wall_right", (0, -hy + w / 2, w / 2), (hx - w, w / 2, wz)),
    ]


def parts(spec: ObjectSpec) -> list[Part]:
    """The solid parts of `spec` in its body frame (origin at the centre of its extents)."""
    sx, sy, sz = spec.size
    hx, hy, hz = sx / 2, sy / 2, sz / 2
    w = float(spec.wall)
    cls = spec.cls
    if cls is ObjectClass.GROUND:
        return [Part("plane", "plane", (0.0, 0.0, hz), (hx, hy, 0.0))]
    if cls is ObjectClass.TABLE:
        lh = (sz - w) / 2
        lw = min(TABLE_LEG_WIDTH, sx / 4, sy / 4) / 2
        legs = [_box(f"leg{i}", (ix * (hx - lw), iy * (hy - lw), -hz + lh), (lw, lw, lh))
                for i, (ix, iy) in enumerate(((-1, -1), (-1, 1), (1, -1), (1, 1)))]
        return [_box("top", (0, 0, hz - w / 2), (hx, hy, w / 2)), *legs]
    if cls is ObjectClass.SHELF:
        # An open-front, open-top bay: objects are placed from above and pushed along it.
        return [
            _box("board", (0, 0, -hz + w / 2), (hx, hy, w / 2)),
            _box("back", (hx - w / 2, 0, w / 2), (w / 2, hy, (sz - w) / 2)),
            _box("side_left", (-w / 2, hy - w / 2, w / 2), (hx - w / 2, w / 2, (sz - w) / 2)),
            _box("side_right", (-w / 2, -hy + w / 2, w / 2), (hx - w / 2, w / 2, (sz - w) / 2)),
        ]
    if cls is ObjectClass.CABINET:
        # Box shell open towards the robot (-x); its drawer slides out through the opening.
        iz = hz - w
        return [
            _box("bottom", (0, 0, -hz + w / 2), (hx, hy, w / 2)),
            _box("top", (0, 0, hz - w / 2), (hx, hy, w / 2)),
            _box("back", (hx - w / 2, 0, 0), (w / 2, hy - w, iz)),
            _box("side_left", (-w / 2, hy - w / 2, 0), (hx - w / 2, w / 2, iz)),
            _box("side_right", (-w / 2, -hy + w / 2, 0), (hx - w / 2, w / 2, iz)),
        ]
    if cls.is_open_box:
        return _open_box(sx, sy, sz, w)
    if cls is ObjectClass.CUBOID:
        return [_box("body", (0, 0, 0), (hx, hy, hz))]
    if cls in (ObjectClass.CYLINDER, ObjectClass.CAPSULE):
        return [Part("body", cls.value, (0.0, 0.0, 0.0), (hx, hx, hz))]
    raise ValueError(f"no parts for class {cls!r}")


def part_volume(p: Part) -> float:
    """Volume used to share an object's mass between its geoms."""
    a, b, c = p.half
    if p.kind == "box":
        return 8 * a * b * c
    if p.kind == "cylinder":
        return np.pi * a * a * 2 * c
    if p.kind == "capsule":
        return np.pi * a * a * (2 * c - 2 * a) + 4 / 3 * np.pi * a**3
    return 0.0


def quat_to_mat(q) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = (float(v) for v in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def spawn_pose(spec: ObjectSpec) -> tuple[np.ndarray, np.ndarray]:
    """World position and rotation matrix of the object at spawn (a drawer at its opening)."""
    rot = quat_to_mat(spec.quat)
    pos = np.asarray(spec.pos, dtype=float)
    if spec.cls is ObjectClass.DRAWER:
        pos = pos + rot @ np.array([-spec.opening, 0.0, 0.0])
    return pos, rot


@dataclass(frozen=True)
class WorldBox:
    """A part in the world: its oriented bounding box (centre, rotation with the box axes as
    columns, half extents) and the exact axis-aligned bounds lo/hi of the primitive."""

    center: np.ndarray
    rot: np.ndarray
    half: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def aabb(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo, self.hi


def make_box(center: np.ndarray, rot: np.ndarray, half: np.ndarray, kind: str = "box") -> WorldBox:
    """WorldBox with the exact world AABB of the primitive (not of its bounding box: a rolled
    cylinder's box corners reach r·(√2 − 1) lower than the cylinder itself)."""
    axis = np.abs(rot[:, 2])  # |world components| of the part's local z axis
    if kind == "capsule":
        ext = axis * (half[2] - half[0]) + half[0]
    elif kind == "cylinder":
        ext = axis * half[2] + half[0] * np.sqrt(np.clip(1.0 - axis**2, 0.0, 1.0))
    else:
        ext = np.abs(rot) @ half
    return WorldBox(center, rot, half, center - ext, center + ext)


def world_boxes(spec: ObjectSpec) -> list[WorldBox]:
    """The parts of `spec` placed in the world at spawn (a drawer at its opening)."""
    pos, rot = spawn_pose(spec)
    out = []
    for p in parts(spec):
        half = np.array(p.half, dtype=float)
        if p.kind == "plane":
            half[2] = 1e-6
        out.append(make_box(pos + rot @ np.asarray(p.pos), rot, half, p.kind))
    return out

