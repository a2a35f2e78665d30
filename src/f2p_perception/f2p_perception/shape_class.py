"""A semantic class for a segment from its geometry alone (the `geometric` backend, issue 8).

The skill effect model and Real2Sim (A.12: class-default shape priors and physics) need a class
per object; without a detector, the segment's shape has to say it. Rules, in order, on a segment's
points, normals and box (world frame, z up):

* large structure (≥ 15 cm tall, ≥ 20 cm wide): `cabinet` if it stands on the floor, else `shelf`;
* open box: the interior of its footprint (the box shrunk by the wall band) shows no top face --
  points there lie low (a floor seen between the walls) or none are seen at all (a tall cup whose
  floor the front wall hides) -- then `cup` up to 12 cm wide, else `container` (a bag has the same
  shape: thinner walls are below the camera's resolution, so bags come out as containers);
* solid: `cuboid` when the horizontal normals point in directions 90° apart (flat faces), else
  round: `cylinder` with a flat top, `capsule` without;
* a segment of fewer than `FEW_POINTS` points (a capsule's tip seen over a cup's rim) is too small
  for any of this: classed by size, with a low confidence.

Confidences are margin-based scores in [0, 1] (how far the deciding statistic is from its
threshold), not calibrated probabilities; tables come from the support planes (`geometric.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FEW_POINTS = 15  # below this, shape statistics are noise
STRUCTURE_HEIGHT, STRUCTURE_WIDTH = 0.15, 0.20  # shelves, cabinets (m)
ON_FLOOR = 0.05  # a structure whose bottom is this close to the floor stands on it (m)
CUP_MAX_WIDTH = 0.12  # open boxes up to this wide are cups (A.2 cups are 8.5 cm; containers ≥ 15 cm)
WALL_BAND = 0.015  # the interior of a footprint starts this far (or 20 % of the size) inside its edges (m)
TOP_BAND = 0.015  # points this close to a segment's top belong to its top face (m)
HOLLOW_MIN_HEIGHT, HOLLOW_MIN_WIDTH = 0.05, 0.06  # an empty interior means hollow only for boxes this big (m)
SQUARE_FACES = 0.7  # concentration of horizontal normals on directions 90° apart: cuboid above this
FLAT_TOP = 0.15  # fraction of upward normals that makes a round object a cylinder rather than a capsule
CAPSULE_MAX_WIDTH = 0.035  # a few-point segment at most this wide is taken for a capsule's tip (m)


@dataclass
class ShapeContext:
    """What a segment's class may depend on besides its own points."""

    floor_z: float | None = 0.0
    table_tops: list = field(default_factory=list)  # (z, lo_xy, hi_xy) per table
    others: list = field(default_factory=list)  # (lo, hi) of the other segments


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def classify_segment(points: np.ndarray, normals: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     ctx: ShapeContext) -> tuple[str, float]:
    """(class, confidence) of one segment: points (n, 3), unit normals (n, 3), box lo/hi (3,)."""
    n = len(points)
    size = hi - lo
    width = float(max(size[0], size[1]))
    if n < FEW_POINTS:
        return ("capsule" if width <= CAPSULE_MAX_WIDTH else "cuboid"), 0.3
    if size[2] >= STRUCTURE_HEIGHT and width >= STRUCTURE_WIDTH:
        floor = ctx.floor_z if ctx.floor_z is not None else -np.inf
        on_floor = lo[2] - floor <= ON_FLOOR
        return ("cabinet" if on_floor else "shelf"), 0.6
    band = np.maximum(WALL_BAND, 0.2 * size[:2])
    interior = np.all((points[:, :2] >= lo[:2] + band) & (points[:, :2] <= hi[:2] - band), axis=1)
    n_int = int(interior.sum())
    if n_int >= 3:
        top = float(np.mean(points[interior, 2] >= hi[2] - TOP_BAND))
        hollow, margin = top < 0.5, abs(top - 0.5) * 2
    else:
        hollow = size[2] >= HOLLOW_MIN_HEIGHT and min(size[0], size[1]) >= HOLLOW_MIN_WIDTH
        margin = 0.5
    if hollow:
        return ("cup" if width <= CUP_MAX_WIDTH else "container"), 0.4 + 0.5 * margin
    side = np.abs(normals[:, 2]) < 0.3
    if side.sum() >= 5:
        theta = np.arctan2(normals[side, 1], normals[side, 0])
        square = float(np.abs(np.mean(np.exp(4j * theta))))  # 1 when faces are 90° apart
    else:
        square = 1.0  # only a top face is seen: nothing says it is round
    if square >= SQUARE_FACES:
        return "cuboid", 0.5 + 0.5 * _clip01((square - SQUARE_FACES) / (1 - SQUARE_FACES))
    flat_top = float(np.mean(normals[:, 2] > 0.95))
    conf = 0.5 + 0.5 * _clip01((SQUARE_FACES - square) / SQUARE_FACES)
    return ("cylinder" if flat_top >= FLAT_TOP else "capsule"), conf
