"""Real2Sim (paper A.12): rebuild a simulation of the scene from its segmented point cloud.

The reconstruction sees only what perception gives: one point segment and one class per object.
Each object becomes its class's shape prior fitted to the segment's axis-aligned bounding box,
with the class-default mass and friction (`scene.default_physics`): open boxes for containers,
cups and bags, cuboids for cuboids *and* cylinders (a box is the prior), capsules for capsules,
static tables and shelves. The true shapes, masses and frictions of the "real" world are lost,
which is what makes the Sim2Real gap real (DESIGN.md §3).

Partial views make boxes too small at the hidden sides and noise makes them too large, so the fit
is made physically consistent before simulation: every movable object is set down on the highest
support under it (a table top, a shelf board, an open box's inner floor), objects found inside an
open box are shrunk to fit between its walls, and remaining overlaps between neighbours are
removed by shrinking both footprints. Tables are extended down to the floor (only the top is seen).

Not reconstructed: drawers and cabinets (articulation cannot be read off one cloud); asking for
them raises `SceneError` rather than building something wrong.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from f2p_core.classes import ObjectClass

from .relations import box_from_points
from .scene import DEFAULT_BASE_XY, ObjectSpec, Scene, SceneError, default_wall
from .scenes import ground
from .validate import validate

# Class of the prior for each perceived class.
PRIOR = {
    "table": ObjectClass.TABLE, "shelf": ObjectClass.SHELF, "cuboid": ObjectClass.CUBOID,
    "cylinder": ObjectClass.CUBOID, "capsule": ObjectClass.CAPSULE, "container": ObjectClass.CONTAINER,
    "cup": ObjectClass.CUP, "bag": ObjectClass.BAG,
}
MIN_SIZE = 0.01  # smallest extent of a fitted object (m): a segment seen edge-on is still a solid
SETTLE_LIFT = 0.001  # objects are spawned this far above their support and settle (m)
OVERLAP_CLEARANCE = 0.002  # clearance left between shrunk neighbours (m)
FOOTPRINT_SHRINK_STEPS = (0.0, 0.001, 0.002, 0.004)  # per side (m), tried in order until valid
TRIM_PERCENTILE = 0.5  # stray points ignored per side when fitting boxes (%), for noisy clouds


def _fit_boxes(segments: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    boxes = {}
    for name, raw in segments.items():
        pts = np.asarray(raw, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0 or not np.isfinite(pts).all():
            raise SceneError(f"object '{name}': its segment must be a non-empty finite (M, 3) array")
        lo, hi = box_from_points(pts, TRIM_PERCENTILE if len(pts) > 50 else 0.0)
        mid, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, MIN_SIZE / 2)
        boxes[name] = (mid - half, mid + half)
    return boxes


def _overlap_xy(a, b) -> bool:
    return bool(np.all(a[0][:2] < b[1][:2]) and np.all(b[0][:2] < a[1][:2]))


def _inner_floor(cls: ObjectClass, lo, hi) -> float:
    return float(lo[2] + default_wall(cls))


Boxes = dict[str, tuple[np.ndarray, np.ndarray]]  # object -> (lo, hi) corners of its fitted box


def _find_containers(boxes: Boxes, prior: Mapping[str, ObjectClass], movable: list[str]) -> dict[str, str]:
    """Containment: an object whose footprint centre lies in an open box's footprint and whose bottom is
    below the box's rim is inside it (object -> its box)."""
    container_of: dict[str, str] = {}
    for n in movable:
        lo, hi = boxes[n]
        c = (lo + hi) / 2
        for b in movable:
            if b == n or not prior[b].is_open_box:
                continue
            blo, bhi = boxes[b]
            fits = hi[2] - lo[2] < bhi[2] - blo[2]
            if np.all(c[:2] > blo[:2]) and np.all(c[:2] < bhi[:2]) and lo[2] < bhi[2] and fits:
                container_of[n] = b
                break
    return container_of


def _fit_inside(boxes: Boxes, prior: Mapping[str, ObjectClass], container_of: Mapping[str, str]) -> None:
    """Each content between its box's walls (in place)."""
    for n, b in container_of.items():
        blo, bhi = boxes[b]
        w = default_wall(prior[b]) + OVERLAP_CLEARANCE
        lo, hi = boxes[n][0].copy(), boxes[n][1].copy()
        lo[:2] = np.maximum(lo[:2], blo[:2] + w)
        hi[:2] = np.minimum(hi[:2], bhi[:2] - w)
        hi[:2] = np.maximum(hi[:2], lo[:2] + MIN_SIZE)
        boxes[n] = (lo, hi)


def _separate(boxes: Boxes, movable: list[str], container_of: Mapping[str, str]) -> None:
    """Neighbours that overlap (noise, partial views): shrink both footprints along the axis of least
    overlap so they just touch with a small clearance (in place)."""
    for i, a in enumerate(movable):
        for b in movable[i + 1:]:
            if container_of.get(a) == b or container_of.get(b) == a:
                continue
            A, B = boxes[a], boxes[b]
            if not (_overlap_xy(A, B) and A[0][2] < B[1][2] and B[0][2] < A[1][2]):
                continue
            depth = np.minimum(A[1][:2], B[1][:2]) - np.maximum(A[0][:2], B[0][:2])
            k = int(np.argmin(depth))
            cut = depth[k] / 2 + OVERLAP_CLEARANCE / 2
            first, second = (A, B) if (A[0][k] + A[1][k]) < (B[0][k] + B[1][k]) else (B, A)
            first[1][k] -= cut
            second[0][k] += cut


def _surface_under(n: str, boxes: Boxes, prior: Mapping[str, ObjectClass], container_of: Mapping[str, str]) -> float:
    """The height object `n` rests at: its box's inner floor, else the highest surface below its footprint
    centre (a shelf's floor, a table's top; never an open box's rim), else the floor."""
    lo, hi = boxes[n]
    c = (lo + hi) / 2
    if n in container_of:
        b = container_of[n]
        return _inner_floor(prior[b], *boxes[b])
    best = 0.0  # the floor
    for s, (slo, shi) in boxes.items():
        if s == n or container_of.get(s) == n:
            continue
        if not (np.all(c[:2] >= slo[:2]) and np.all(c[:2] <= shi[:2])):
            continue
        top = float(shi[2])
        if prior[s] is ObjectClass.SHELF:
            top = float(slo[2] + default_wall(ObjectClass.SHELF))
        elif prior[s].is_open_box:
            continue  # resting on a box's rim is not a support we rebuild
        if top <= lo[2] + 0.03 and top > best:
            best = top
    return best


def _set_down(boxes: Boxes, prior: Mapping[str, ObjectClass], movable: list[str],
              container_of: Mapping[str, str]) -> None:
    """Every movable object set down on its support (`_surface_under`), boxes before their contents so
    contents follow their box's final floor (in place)."""
    for n in sorted(movable, key=lambda n: n in container_of):
        lo, hi = boxes[n]
        z = _surface_under(n, boxes, prior, container_of) + SETTLE_LIFT
        height = hi[2] - lo[2]
        boxes[n] = (np.array([lo[0], lo[1], z]), np.array([hi[0], hi[1], z + height]))


def real2sim(segments: Mapping[str, np.ndarray], classes: Mapping[str, str],
             base_xy=DEFAULT_BASE_XY) -> Scene:
    """Build a valid `Scene` from per-object point segments (world frame, m) and their classes.

    The ground is added (it is the floor, not a segment). Raises `SceneError` naming the object
    for an unknown or unsupported class, an empty or non-finite segment, or a fit that cannot be
    made valid.
    """
    if set(segments) != set(classes):
        raise SceneError(f"segments and classes name different objects: {sorted(set(segments) ^ set(classes))}")
    for name, cls in classes.items():
        if cls not in PRIOR:
            raise SceneError(f"object '{name}': Real2Sim has no shape prior for class '{cls}' "
                             f"(supported: {', '.join(sorted(PRIOR))})")
    boxes = _fit_boxes(segments)
    prior = {n: PRIOR[c] for n, c in classes.items()}
    static = [n for n in boxes if prior[n].is_static]
    movable = [n for n in boxes if not prior[n].is_static]
    for n in static:  # a table stands on the floor; its legs are not seen
        if prior[n] is ObjectClass.TABLE:
            boxes[n] = (np.array([*boxes[n][0][:2], 0.0]), boxes[n][1])
    container_of = _find_containers(boxes, prior, movable)
    _fit_inside(boxes, prior, container_of)
    _separate(boxes, movable, container_of)
    _set_down(boxes, prior, movable, container_of)
    # Boxes fitted to noisy partial views can still touch a little too deep (rounded shapes,
    # walls): shrink the movable footprints in small steps until the scene is valid.
    last: SceneError | None = None
    for shrink in FOOTPRINT_SHRINK_STEPS:
        scene = _scene(boxes, prior, static, movable, shrink, base_xy)
        try:
            validate(scene)
            return scene
        except SceneError as exc:
            last = exc
    raise SceneError(f"Real2Sim could not make the fitted scene valid: {last}")


def _scene(boxes, prior, static, movable, shrink: float, base_xy) -> Scene:
    objects = [ground()]
    for n in [*static, *movable]:
        lo, hi = boxes[n]
        size = hi - lo
        if n in movable:
            size = np.maximum(size - [2 * shrink, 2 * shrink, 0.0], MIN_SIZE)
        cls = prior[n]
        if cls is ObjectClass.CAPSULE:
            d = float(min(size[0], size[1]))
            size = np.array([d, d, max(size[2], d * 1.05)])
        if cls.is_open_box:
            wall = default_wall(cls)
            size = np.maximum(size, [2.5 * wall, 2.5 * wall, 2.5 * wall])
        objects.append(ObjectSpec(n, cls, tuple(float(v) for v in size), tuple(float(v) for v in (lo + hi) / 2)))
    return Scene(objects=objects, base_xy=tuple(base_xy))
