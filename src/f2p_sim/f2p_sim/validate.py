"""Scene validation: reject scenes that would simulate wrongly, naming the object and the problem.

Sampled scenes (task distributions, A.2) and fitted ones (Real2Sim, A.12) both pass through here
before MuJoCo sees them: an object spawned inside another is thrown out by the contact solver and
an unsupported one falls, either of which silently changes the relations (A.9) the sample was
meant to have. The tests use the same solid parts as the simulation (shapes.py), so the free inner
volume of open boxes is allowed and their walls are not. Overlaps are measured by MuJoCo on the
compiled scene; support uses the solid parts of shapes.py.
"""
from __future__ import annotations

import math

import mujoco
import numpy as np

from f2p_core.classes import ObjectClass

from .mjcf import scene_to_mjcf
from .scene import RESERVED_NAMES, CameraSpec, ObjectSpec, Scene, SceneError
from .shapes import DRAWER_MAX_OPEN_FRACTION, WorldBox, world_boxes

# Spawn overlap tolerated between solid parts (m): resting contacts are exactly 0, and Real2Sim
# fits are good to a few mm; more than this would be resolved violently by the solver.
PENETRATION_TOL = 0.002
# How far below the object's bottom a supporting surface's top may lie... any distance (objects
# may be spawned a little above and settle); it may lie at most this much *above* it (m).
SUPPORT_TOL = 0.003
# Largest |norm - 1| accepted for a quaternion: loose enough for JSON round trips of rounded values.
QUAT_NORM_TOL = 1e-4


def _finite(values) -> bool:
    return all(math.isfinite(v) for v in values)


def _check_object(o: ObjectSpec) -> None:
    n = o.name
    if not isinstance(o.cls, ObjectClass):
        raise SceneError(f"object '{n}': unknown class {o.cls!r}")
    if not _finite(o.size) or min(o.size) <= 0.0:
        raise SceneError(f"object '{n}': size must be finite and positive, got {o.size}")
    if not _finite(o.pos) or not _finite(o.quat):
        raise SceneError(f"object '{n}': non-finite pose pos={o.pos} quat={o.quat}")
    norm = math.sqrt(sum(v * v for v in o.quat))
    if abs(norm - 1.0) > QUAT_NORM_TOL:
        raise SceneError(f"object '{n}': quaternion {o.quat} is not unit (norm {norm:.6f})")
    if not math.isfinite(o.friction) or o.friction <= 0.0:
        raise SceneError(f"object '{n}': friction must be positive, got {o.friction}")
    if (o.cls.is_movable or o.cls is ObjectClass.DRAWER) and not (
            math.isfinite(o.mass) and o.mass > 0.0):
        raise SceneError(f"object '{n}': mass must be positive, got {o.mass}")
    sx, sy, sz = o.size
    needs_wall = o.cls.is_open_box or o.cls in (ObjectClass.TABLE, ObjectClass.SHELF,
                                                ObjectClass.CABINET)
    if needs_wall and not (math.isfinite(o.wall) and 0.0 < o.wall and 2.2 * o.wall < min(sx, sy)
                           and 2.0 * o.wall < sz):
        raise SceneError(f"object '{n}': wall {o.wall} does not fit size {o.size}")
    if o.cls in (ObjectClass.CYLINDER, ObjectClass.CAPSULE) and abs(sx - sy) > 1e-6:
        raise SceneError(f"object '{n}': {o.cls.value} size must be (diameter, diameter, height)")
    if o.cls is ObjectClass.CAPSULE and sz <= sx:
        raise SceneError(f"object '{n}': capsule height {sz} must exceed its diameter {sx}")
    if o.cls is ObjectClass.DRAWER:
        max_open = DRAWER_MAX_OPEN_FRACTION * sx
        if not (math.isfinite(o.opening) and 0.0 <= o.opening <= max_open + 1e-9):
            raise SceneError(f"object '{n}': drawer opening {o.opening} outside [0, {max_open}]")
    elif o.opening != 0.0:
        raise SceneError(f"object '{n}': only drawers have an opening")


def _check_camera(c: CameraSpec) -> None:
    if not (_finite(c.pos) and _finite(c.lookat)) or c.pos == c.lookat:
        raise SceneError(f"camera '{c.name}': needs finite, distinct pos and lookat")
    if not (0.0 < c.fovy_deg < 180.0) or c.width <= 0 or c.height <= 0:
        raise SceneError(f"camera '{c.name}': bad fovy {c.fovy_deg} or size {c.width}x{c.height}")


def _check_drawer(o: ObjectSpec, by_name: dict[str, ObjectSpec]) -> None:
    cab = by_name.get(o.parent)
    if cab is None or cab.cls is not ObjectClass.CABINET:
        raise SceneError(f"object '{o.name}': drawer needs an existing cabinet parent, "
                         f"got parent '{o.parent}'")
    # The closed drawer must lie within the cabinet's outer box (both boxed in the world).
    closed = ObjectSpec(o.name, o.cls, o.size, o.pos, o.quat, wall=o.wall)
    lo, hi = _aabb(world_boxes(closed))
    clo, chi = _aabb(world_boxes(cab))
    if np.any(lo < clo - PENETRATION_TOL) or np.any(hi > chi + PENETRATION_TOL):
        raise SceneError(f"object '{o.name}': closed drawer sticks out of cabinet '{cab.name}'")


def _aabb(boxes: list[WorldBox]) -> tuple[np.ndarray, np.ndarray]:
    los, his = zip(*(b.aabb() for b in boxes), strict=True)
    return np.min(los, axis=0), np.max(his, axis=0)


def _check_overlaps(scene: Scene, model: mujoco.MjModel | None) -> None:
    """Spawn interpenetration, measured by MuJoCo's own collision detection on the compiled
    scene: exact for every primitive pair (boxing a tilted capsule would over-report by
    several mm). MuJoCo makes no contacts between two static bodies, nor between a drawer and
    its cabinet (excluded in the MJCF), which are the pairs that never interact."""
    if model is None:
        model = mujoco.MjModel.from_xml_string(scene_to_mjcf(scene))
    data = mujoco.MjData(model)
    for o in scene.objects:
        if o.cls is ObjectClass.DRAWER:
            data.qpos[model.jnt_qposadr[model.joint(f"{o.name}/slide").id]] = o.opening
    mujoco.mj_kinematics(model, data)
    mujoco.mj_collision(model, data)
    if data.ncon == 0:
        return
    con = data.contact
    order = {o.name: k for k, o in enumerate(scene.objects)}
    for k in np.argsort(con.dist):
        depth = -float(con.dist[k])
        if depth <= PENETRATION_TOL:
            break
        a, b = (model.geom(int(g)).name.split("/")[0] for g in con.geom[k])
        a, b = sorted((a, b), key=lambda n: order.get(n, -1))
        raise SceneError(f"object '{a}' and object '{b}' interpenetrate by "
                         f"{depth * 1000:.1f} mm at spawn")


def _supported(k: int, objs: list[ObjectSpec], boxes: list[list[WorldBox]],
               floor_z: float | None) -> bool:
    lo, hi = _aabb(boxes[k])
    centre = (lo + hi) / 2
    bottom = lo[2]
    if floor_z is not None and floor_z <= bottom + SUPPORT_TOL:
        return True
    for j in range(len(objs)):
        if j == k:
            continue
        for part in boxes[j]:
            local = part.rot.T @ (centre - part.center)
            if np.all(np.abs(local[:2]) <= part.half[:2] + SUPPORT_TOL):
                top = part.aabb()[1][2]
                if top <= bottom + SUPPORT_TOL:
                    return True
    return False


def validate(scene: Scene, model: mujoco.MjModel | None = None) -> None:
    """Raise SceneError unless every object and camera of `scene` can be simulated as given.
    `model` may be the scene's already compiled MJCF (World passes its own)."""
    validate_specs(scene)
    validate_layout(scene, model)


def validate_specs(scene: Scene) -> None:
    """Checks of each object, camera and the base on its own (these make the MJCF compilable)."""
    seen: dict[str, ObjectSpec] = {}
    for o in scene.objects:
        if not o.name or "/" in o.name or o.name in RESERVED_NAMES:
            raise SceneError(f"object '{o.name}': name must be non-empty, without '/', and not "
                             f"one of {sorted(RESERVED_NAMES)}")
        if o.name in seen:
            raise SceneError(f"object '{o.name}': duplicate name")
        seen[o.name] = o
        _check_object(o)
    for c in scene.cameras:
        _check_camera(c)
    if len(scene.base_xy) != 2 or not _finite(scene.base_xy):
        raise SceneError(f"robot base position {scene.base_xy} must be two finite numbers")
    for o in scene.objects:
        if o.cls is ObjectClass.DRAWER:
            _check_drawer(o, seen)
        elif o.parent:
            raise SceneError(f"object '{o.name}': only drawers have a parent")


def validate_layout(scene: Scene, model: mujoco.MjModel | None = None) -> None:
    """Checks between objects: no spawn interpenetration, every movable object supported."""
    _check_overlaps(scene, model)
    objs = list(scene.objects)
    boxes = [world_boxes(o) for o in objs]
    has_ground = any(o.cls is ObjectClass.GROUND for o in objs)
    floor_z = None if has_ground else 0.0  # mjcf adds a floor at z = 0 when there is no ground
    for k, o in enumerate(objs):
        if o.cls.is_movable and not _supported(k, objs, boxes, floor_z):
            raise SceneError(f"object '{o.name}': off every support (nothing below its "
                             f"footprint centre at {tuple(round(v, 3) for v in o.pos)})")
