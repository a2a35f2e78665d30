"""Symbolic relations between objects, defined once for all of f2p (paper A.9).

Every part of the stack that speaks about relations -- ground truth in simulation, the skill
effect model's decoders (A.11, ``Dec_u`` / ``Dec_b``), goals for the planner, the failure
monitor and the learner -- uses the vocabulary and the definitions of this module, so a
relation means the same thing everywhere.

Relations are computed from axis-aligned world boxes (AABBs), which both the simulator (geom
boxes) and a segmented point cloud (:func:`box_from_points`) provide, plus an optional set of
contacts (from the simulator; A.9 takes ``in_contact`` from the simulator as well).

Frame (see ``f2p_sim/README.md``): world frame, metres, z up; the robot stands at -x and
looks along +x, so "front" is towards the robot (smaller x) and "left" is +y as the robot sees
it.

Definitions (``c`` box centre, ``lo``/``hi`` box min/max, ``t`` a :class:`RelationThresholds`):

Unary (A.9):

* ``movable(A)``: the input flag (static classes -- ground, table, shelf, cabinet -- are not).
* ``is_drawer(A)``: the input flag.
* ``drawer_open(A)``: ``is_drawer(A)`` and ``drawer_opening(A) > t.drawer_open_min``
  (0.05 m).

Binary, ``rel(A, B)`` read "A is rel B"; all are False on the diagonal (A.9; spatial ones
following the paper's reference [4], Paxton et al., CoRL 2021, as used by Points2Plans):

* ``left(A, B)``: ``c_A.y - c_B.y > t.spatial_margin`` (0.02 m); ``right(A, B) := left(B, A)``.
* ``behind(A, B)``: ``c_A.x - c_B.x > t.spatial_margin`` (further from the robot);
  ``front(A, B) := behind(B, A)``.
* ``above(A, B)``: ``lo_A.z >= hi_B.z - t.above_tol`` (A's bottom at or above B's top, 1 cm
  of interpenetration allowed), ``c_A.z > c_B.z``, and the xy footprints overlap (positive
  area); ``below(A, B) := above(B, A)``.
  Hence ``left(A,B) <=> right(B,A)``, ``front(A,B) <=> behind(B,A)``,
  ``above(A,B) <=> below(B,A)``, and each relation is antisymmetric.
* ``in_contact(A, B)``: ``{A, B}`` is in the given contact set (symmetric).  Without a contact
  set (point clouds), the boxes are in contact when the gap between them is at most
  ``t.contact_gap`` (5 mm) along every axis.
* ``boundary(A, B)`` (A.9, ``eps_boundary = 0.1`` m, ``eps_bottom = 0.2`` m): A is above
  B's supporting surface, i.e. A's bottom is near one of B's support heights ``s``
  (``|lo_A.z - s| <= t.support_tol``, 1 cm; see ``on`` for support heights) and the xy
  footprints overlap, both xy dimensions of B exceed ``t.bottom_eps``, and the horizontal
  distance from A's xy centre to the nearest edge of B's footprint is below ``t.boundary_eps``
  (distance to the rectangle's border, whether the centre is inside or outside it).
* ``inside(A, B)`` (A.9): A's box is contained in B's box, each face within ``t.inside_tol``
  (1 cm), and B is an open box (class in :data:`OPEN_BOX_CLASSES`: container, cup, bag,
  drawer).  The class condition keeps objects on a shelf's lower board, or a drawer in its
  cabinet, from being "inside" the shelf or cabinet whose box happens to enclose them.
* ``on(A, B)``: A rests on a support surface of B: ``in_contact(A, B)``, A's xy centre is over
  B's footprint (closed rectangle), ``|lo_A.z - s| <= t.support_tol`` for a support height ``s``
  of B, and not ``inside(A, B)``.  Support heights are B's box top plus
  :attr:`ObjectState.support_z` (e.g. a shelf's lower boards).  An open box's inner floor is not
  a support: a cup stands ON a table, a capsule resting on the cup's floor is INSIDE the cup, so
  ``on`` and ``inside`` never both hold.  The contact condition keeps an object lying in a
  container that stands on a table from being "on" the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from f2p_core.classes import OPEN_BOX_CLASSES
from f2p_core.relations import BINARY, UNARY

_U = {name: k for k, name in enumerate(UNARY)}
_B = {name: k for k, name in enumerate(BINARY)}


@dataclass(frozen=True)
class RelationThresholds:
    """Thresholds of the relation definitions (metres).

    ``boundary_eps`` and ``bottom_eps`` are the paper's values (A.9); the others are ours and
    are chosen for MuJoCo ground truth (soft contacts interpenetrate by about 1 mm) and for
    boxes from point clouds (about 5 mm of noise after percentile trimming).
    """

    boundary_eps: float = 0.1
    """A.9 ``eps_boundary``: A's centre closer than this to the nearest edge of B's top."""
    bottom_eps: float = 0.2
    """A.9 ``eps_bottom``: both xy dimensions of B must exceed this for ``boundary``."""
    spatial_margin: float = 0.02
    """Dead band of left/right/front/behind: centres closer than this along the axis are
    neither, so labels of nearly aligned objects do not flip under 1 cm of noise."""
    above_tol: float = 0.01
    """``above``: A's bottom may lie this far below B's top (resting contact, tilt, noise)."""
    support_tol: float = 0.01
    """``on``/``boundary``: A's bottom within this of a support height of B."""
    contact_gap: float = 0.005
    """Box gap counted as contact when no contact set is given (point clouds)."""
    inside_tol: float = 0.01
    """``inside``: each face of A may stick out of B's box by this much."""
    drawer_open_min: float = 0.05
    """``drawer_open``: the drawer's opening must exceed this."""

    def __post_init__(self) -> None:
        for name in (
            "boundary_eps",
            "bottom_eps",
            "spatial_margin",
            "above_tol",
            "support_tol",
            "contact_gap",
            "inside_tol",
            "drawer_open_min",
        ):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0.0:
                raise ValueError(f"RelationThresholds.{name} must be finite and >= 0, got {value}")


@dataclass
class ObjectState:
    """What the relations need to know about one object.

    ``box_min``/``box_max`` are the world-frame AABB corners (3,), metres.  ``drawer_opening``
    is how far a drawer is pulled out of its closed position (m; 0 for non-drawers).
    ``support_z`` lists heights of upward-facing support surfaces inside the box besides its
    top (a shelf's lower boards); leave it empty when unknown (point clouds).
    """

    name: str
    cls: str
    box_min: np.ndarray
    box_max: np.ndarray
    movable: bool
    is_drawer: bool = False
    drawer_opening: float = 0.0
    support_z: tuple[float, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.box_min = np.asarray(self.box_min, dtype=np.float64).reshape(3)
        self.box_max = np.asarray(self.box_max, dtype=np.float64).reshape(3)
        if not (np.all(np.isfinite(self.box_min)) and np.all(np.isfinite(self.box_max))):
            raise ValueError(f"object {self.name!r}: box corners must be finite")
        if np.any(self.box_min > self.box_max):
            raise ValueError(f"object {self.name!r}: box_min {self.box_min} exceeds box_max {self.box_max}")
        self.support_z = tuple(float(z) for z in self.support_z)
        self.drawer_opening = float(self.drawer_opening)


class RelationSet:
    """Boolean relations over named objects (A.9).

    ``unary``: (N, len(UNARY)) bool; ``binary``: (N, N, len(BINARY)) bool with
    ``binary[i, j, k]`` = ``BINARY[k](names[i], names[j])`` and a False diagonal.
    """

    __hash__ = None  # mutable arrays inside

    def __init__(self, names: Sequence[str], unary: np.ndarray, binary: np.ndarray) -> None:
        self.names: tuple[str, ...] = tuple(names)
        n = len(self.names)
        if len(set(self.names)) != n:
            raise ValueError(f"object names must be unique, got {self.names}")
        self.unary = np.asarray(unary, dtype=bool)
        self.binary = np.asarray(binary, dtype=bool)
        if self.unary.shape != (n, len(UNARY)):
            raise ValueError(f"unary must be ({n}, {len(UNARY)}), got {self.unary.shape}")
        if self.binary.shape != (n, n, len(BINARY)):
            raise ValueError(f"binary must be ({n}, {n}, {len(BINARY)}), got {self.binary.shape}")
        if n and self.binary[np.arange(n), np.arange(n)].any():
            raise ValueError("binary relations of an object with itself must be False")
        self._index = {name: i for i, name in enumerate(self.names)}

    def index(self, obj: str) -> int:
        """Position of object ``obj`` in :attr:`names`."""
        try:
            return self._index[obj]
        except KeyError:
            raise KeyError(f"unknown object {obj!r}; objects are {self.names}") from None

    def holds(self, name: str, subj: str, obj: str = "") -> bool:
        """Whether relation ``name`` holds: ``name(subj)`` if unary, ``name(subj, obj)`` else."""
        if name in _U:
            if obj:
                raise ValueError(f"{name!r} is unary, got a second object {obj!r}")
            return bool(self.unary[self.index(subj), _U[name]])
        if name in _B:
            if not obj:
                raise ValueError(f"{name!r} is binary, the second object is missing")
            return bool(self.binary[self.index(subj), self.index(obj), _B[name]])
        raise KeyError(f"unknown relation {name!r}; known are {UNARY + BINARY}")

    def as_list(self) -> list[tuple[str, str, str]]:
        """True relations as ``(name, subj, obj)``; ``obj`` is ``""`` for unary ones.

        Ordered by subject, then relation (unary before binary, vocabulary order), then object.
        """
        out: list[tuple[str, str, str]] = []
        for i, subj in enumerate(self.names):
            out.extend((UNARY[k], subj, "") for k in np.flatnonzero(self.unary[i]))
            for k, rel in enumerate(BINARY):
                out.extend((rel, subj, self.names[j]) for j in np.flatnonzero(self.binary[i, :, k]))
        return out

    @classmethod
    def from_list(cls, names: Sequence[str], relations: Iterable[Sequence[str]]) -> RelationSet:
        """Build from object names and true relations ``(name, subj[, obj])``."""
        names = tuple(names)
        index = {name: i for i, name in enumerate(names)}
        unary = np.zeros((len(names), len(UNARY)), dtype=bool)
        binary = np.zeros((len(names), len(names), len(BINARY)), dtype=bool)
        for rel in relations:
            name, subj, obj = (*tuple(rel), "")[:3]
            if subj not in index or (obj and obj not in index):
                raise KeyError(f"relation {tuple(rel)} names an unknown object; objects: {names}")
            if name in _U and not obj:
                unary[index[subj], _U[name]] = True
            elif name in _B and obj:
                binary[index[subj], index[obj], _B[name]] = True
            else:
                raise ValueError(f"malformed relation {tuple(rel)}")
        return cls(names, unary, binary)

    def to_dict(self) -> dict:
        """JSON-able form: object names, the vocabularies, and the true relations."""
        return {
            "objects": list(self.names),
            "unary_vocab": list(UNARY),
            "binary_vocab": list(BINARY),
            "true": [list(rel) for rel in self.as_list()],
        }

    @classmethod
    def from_dict(cls, data: dict) -> RelationSet:
        """Inverse of :meth:`to_dict`; refuses data written with another vocabulary."""
        if tuple(data["unary_vocab"]) != UNARY or tuple(data["binary_vocab"]) != BINARY:
            raise ValueError(
                f"relation vocabulary differs from this module's: {data['unary_vocab']} / {data['binary_vocab']}"
            )
        return cls.from_list(data["objects"], data["true"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RelationSet):
            return NotImplemented
        return (
            self.names == other.names
            and np.array_equal(self.unary, other.unary)
            and np.array_equal(self.binary, other.binary)
        )

    def __repr__(self) -> str:
        return f"RelationSet(objects={self.names}, true={self.as_list()})"


def _pairwise_gt(values: np.ndarray, margin: float) -> np.ndarray:
    """(N, N) ``values[i] - values[j] > margin``."""
    return values[:, None] - values[None, :] > margin


def _footprint_distance_to_border(centre_xy: np.ndarray, lo_xy: np.ndarray, hi_xy: np.ndarray) -> np.ndarray:
    """(N, N) distance from centre i to the border of rectangle j (inside or outside it)."""
    below = lo_xy[None, :, :] - centre_xy[:, None, :]  # (N, N, 2), > 0 left of / under lo
    above = centre_xy[:, None, :] - hi_xy[None, :, :]  # > 0 beyond hi
    outside = np.maximum(np.maximum(below, above), 0.0)  # per-axis distance outside
    dist_out = np.linalg.norm(outside, axis=-1)
    inside = np.all(outside == 0.0, axis=-1)
    dist_in = np.min(np.minimum(-below, -above), axis=-1)  # nearest edge from within
    return np.where(inside, dist_in, dist_out)


def compute_relations(
    objects: Sequence[ObjectState],
    contacts: Iterable[frozenset[str]] | None = None,
    thresholds: RelationThresholds | None = None,
) -> RelationSet:
    """Ground-truth relations (A.9) of ``objects``; the rules are in the module docstring.

    ``contacts``: pairs of object names in contact, e.g. ``{frozenset({"cup_1", "table_A"})}``
    (pairs naming unknown objects, or an object with itself, are ignored).  ``None`` means no
    contact information: ``in_contact`` then comes from box proximity (``contact_gap``).
    """
    t = thresholds if thresholds is not None else RelationThresholds()
    names = [o.name for o in objects]
    n = len(objects)
    unary = np.zeros((n, len(UNARY)), dtype=bool)
    binary = np.zeros((n, n, len(BINARY)), dtype=bool)
    if n == 0:
        return RelationSet(names, unary, binary)

    lo = np.stack([o.box_min for o in objects])  # (N, 3)
    hi = np.stack([o.box_max for o in objects])  # (N, 3)
    centre = 0.5 * (lo + hi)  # (N, 3)
    size = hi - lo  # (N, 3)
    off_diag = ~np.eye(n, dtype=bool)

    is_drawer = np.array([o.is_drawer for o in objects], dtype=bool)
    unary[:, _U["movable"]] = [o.movable for o in objects]
    unary[:, _U["is_drawer"]] = is_drawer
    unary[:, _U["drawer_open"]] = is_drawer & (np.array([o.drawer_opening for o in objects]) > t.drawer_open_min)

    left = _pairwise_gt(centre[:, 1], t.spatial_margin)
    behind = _pairwise_gt(centre[:, 0], t.spatial_margin)
    # xy footprints overlap with positive area: (N, N)
    overlap_xy = np.all(
        np.minimum(hi[:, None, :2], hi[None, :, :2]) > np.maximum(lo[:, None, :2], lo[None, :, :2]),
        axis=-1,
    )
    above = (lo[:, None, 2] >= hi[None, :, 2] - t.above_tol) & (centre[:, None, 2] > centre[None, :, 2]) & overlap_xy

    if contacts is None:
        gap = np.maximum(lo[:, None, :] - hi[None, :, :], lo[None, :, :] - hi[:, None, :])
        contact = np.all(gap <= t.contact_gap, axis=-1)  # (N, N)
    else:
        contact = np.zeros((n, n), dtype=bool)
        index = {name: i for i, name in enumerate(names)}
        for pair in contacts:
            ids = [index[p] for p in pair if p in index]
            if len(ids) == 2:
                contact[ids[0], ids[1]] = contact[ids[1], ids[0]] = True

    # Resting near a support height of B: (N, N).  Support heights: box top plus support_z.
    rests = np.abs(lo[:, None, 2] - hi[None, :, 2]) <= t.support_tol
    for j, o in enumerate(objects):
        for z in o.support_z:
            rests[:, j] |= np.abs(lo[:, 2] - z) <= t.support_tol

    wide = np.all(size[:, :2] > t.bottom_eps, axis=-1)  # (N,) B's dimensions exceed eps_bottom
    edge_dist = _footprint_distance_to_border(centre[:, :2], lo[:, :2], hi[:, :2])
    boundary = rests & overlap_xy & wide[None, :] & (edge_dist < t.boundary_eps)

    open_box = np.array([o.cls in OPEN_BOX_CLASSES for o in objects], dtype=bool)
    contained = np.all(
        (lo[:, None, :] >= lo[None, :, :] - t.inside_tol) & (hi[:, None, :] <= hi[None, :, :] + t.inside_tol),
        axis=-1,
    )
    inside = contained & open_box[None, :]

    centre_over = np.all(
        (centre[:, None, :2] >= lo[None, :, :2]) & (centre[:, None, :2] <= hi[None, :, :2]),
        axis=-1,
    )
    on = contact & centre_over & rests & ~inside

    binary[..., _B["left"]] = left
    binary[..., _B["right"]] = left.T
    binary[..., _B["behind"]] = behind
    binary[..., _B["front"]] = behind.T
    binary[..., _B["above"]] = above
    binary[..., _B["below"]] = above.T
    binary[..., _B["in_contact"]] = contact
    binary[..., _B["boundary"]] = boundary
    binary[..., _B["inside"]] = inside
    binary[..., _B["on"]] = on
    binary &= off_diag[:, :, None]
    return RelationSet(names, unary, binary)


relations_from_boxes = compute_relations
"""Alias of :func:`compute_relations`: boxes from point clouds (:func:`box_from_points`) work
the same way as boxes from the simulator; pass ``contacts=None`` when there are no contacts."""


def box_from_points(points: np.ndarray, percentile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """World AABB ``(min (3,), max (3,))`` of a segment's points (M, 3).

    ``percentile`` trims that percentage of points at each end per axis (e.g. 1.0 uses the 1st
    and 99th percentiles) to be robust to stray points of a noisy segmentation; the default 0
    gives the exact min/max.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points must be (M, 3), got {pts.shape}")
    if pts.shape[0] == 0:
        raise ValueError("cannot take the box of zero points")
    if not 0.0 <= percentile < 50.0:
        raise ValueError(f"percentile must be in [0, 50), got {percentile}")
    if percentile == 0.0:
        return pts.min(axis=0), pts.max(axis=0)
    lo, hi = np.percentile(pts, [percentile, 100.0 - percentile], axis=0)
    return lo, hi
