"""Continuous skill parameters a_{1:H} sampled from the robot's workspace (paper A.11 "Planning
Details": "we sample a set of continuous parameters {a^j_{1:H}}_{j=1}^{K_a} from the robot's
workspace").

The planner sees segments, not a simulator scene (§3: the model works on segmented point clouds),
so all geometry here comes from the segments' axis-aligned boxes (``f2p_sim.relations.
box_from_points``) and their classes. Per skill (parameters as ``f2p_sim.skills.PARAM_NAMES``):

* ``pick_place (dx, dy, dz, dyaw)`` = placement minus grasp pose of the object (A.10). The target
  xy is uniform in a window of the target support: on a surface (table, cabinet top, ...) its top
  shrunk by ``edge_margin`` plus the object's footprint radius, x clipped to the arm's reach
  ``reach_x`` (``f2p_sim.tasks.table_region`` computed from the segment's box); in an open box or
  a shelf bay, inside its walls. The target z puts the object's bottom on the support: the box top
  (surface) or the inner floor, box min z + the class's wall thickness (open box, shelf).
  dyaw is uniform in ±``dyaw_max`` on surfaces and 0 into open boxes and shelves, as the
  pre-training data (``f2p_sim.tasks.sample_place_params``) does.
* ``push (angle, distance)``: angle uniform in (−π, π], distance in ``push_distance``.
* ``open_drawer`` / ``close_drawer (distance)``: distance in ``drawer_distance``.

The sampler works in *decision* space, where every sample lies in a fixed box ``[low, high]``
(H, A) -- what CEM refits and clips --, and converts decisions to the model's relative
parameters with :meth:`ParameterSampler.to_params`. A pick_place decision is the object's target
centre ``(x, y, z, dyaw)`` in the frame of the support as observed. The conversion tracks, per
sample, where earlier steps of the skeleton put things: an object that an earlier step placed is
grasped at that step's sampled target, objects inside a moved open box move with it, and a
support that an earlier step moved carries its window along. Push and drawer motions are not
tracked (their effect is what the model predicts); an object they moved is grasped where it was
observed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from f2p_core.classes import MOVABLE_CLASSES, OPEN_BOX_CLASSES, ObjectClass
from f2p_core.skills import (
    DRAWER_DISTANCE,
    MAX_PARAMS,
    PARAM_NAMES,
    PUSH_ANGLE,
    PUSH_DISTANCE,
    YAW_CHANGE_MAX,
    SkillType,
)
from f2p_sim.relations import box_from_points
from f2p_sim.scene import default_wall
from f2p_sim.tasks import MIN_GAP, SPAWN_MARGIN, SPAWN_X

from .skeleton import Skeleton

# Supports whose placements go between walls onto an inner floor: open boxes (A.9 ``inside``) and
# shelf bays (the packing task's books stand on the shelf's bottom board).
ENCLOSED_SUPPORT_CLASSES: frozenset[str] = OPEN_BOX_CLASSES | {ObjectClass.SHELF.value}


@dataclass(frozen=True)
class SamplingConfig:
    """Workspace bounds of the sampled parameters; defaults are those of ``f2p_sim.tasks``."""

    dyaw_max: float = YAW_CHANGE_MAX  # rad; pick_place yaw change on surfaces is uniform in ±dyaw_max
    push_distance: tuple[float, float] = PUSH_DISTANCE  # m; (0.02, 0.15)
    drawer_distance: tuple[float, float] = DRAWER_DISTANCE  # m; (0.02, 0.25)
    reach_x: tuple[float, float] = SPAWN_X  # m; x range of placements on surfaces the arm reaches
    edge_margin: float = SPAWN_MARGIN  # m; object centres keep this (plus their radius) from a top's edges
    inside_tol: float = 0.01  # m; a box within another's box by this is its content (A.9 ``inside``)
    free_space: bool = False  # placements on tops only where no other movable object stands (module docstring)
    free_gap: float = MIN_GAP  # m; free room kept between footprints when free_space is on
    free_tries: int = 20  # re-draws of a blocked placement before it is kept as it is

    def __post_init__(self) -> None:
        if not 0.0 <= self.dyaw_max <= math.pi:
            raise ValueError(f"dyaw_max must be in [0, π], got {self.dyaw_max}")
        for name in ("push_distance", "drawer_distance", "reach_x"):
            lo, hi = getattr(self, name)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                raise ValueError(f"{name} must be a finite (low, high) with low <= high, got {(lo, hi)}")
        if self.push_distance[0] < 0 or self.drawer_distance[0] < 0:
            raise ValueError("push and drawer distances must be >= 0")
        if self.edge_margin < 0 or self.inside_tol < 0 or self.free_gap < 0:
            raise ValueError("edge_margin, inside_tol and free_gap must be >= 0")
        if self.free_tries < 0:
            raise ValueError(f"free_tries must be >= 0, got {self.free_tries}")


@dataclass(frozen=True)
class SceneGeometry:
    """What the planner knows about the scene's segments, in the model's object order.

    ``names`` (N,) with ``""`` for padded rows, ``box_min`` / ``box_max`` (N, 3) world AABBs (m),
    ``classes`` (N,) ``f2p_sim.scene.ObjectClass`` values (``""`` for padding), ``mask`` (N,) real rows.
    """

    names: tuple[str, ...]
    box_min: np.ndarray
    box_max: np.ndarray
    classes: tuple[str, ...]
    mask: np.ndarray

    def __post_init__(self) -> None:
        names, classes = tuple(str(n) for n in self.names), tuple(str(c) for c in self.classes)
        n = len(names)
        lo = np.asarray(self.box_min, dtype=np.float64)
        hi = np.asarray(self.box_max, dtype=np.float64)
        mask = np.asarray(self.mask, dtype=bool)
        if lo.shape != (n, 3) or hi.shape != (n, 3) or mask.shape != (n,) or len(classes) != n:
            raise ValueError(
                f"{n} names need boxes ({n}, 3), classes ({n},) and mask ({n},); got {lo.shape}, {hi.shape}, "
                f"{len(classes)}, {mask.shape}"
            )
        real = [names[i] for i in np.flatnonzero(mask)]
        if "" in real or len(set(real)) != len(real):
            raise ValueError(f"real objects need unique, non-empty names, got {real}")
        valid = {c.value for c in ObjectClass}
        for i in np.flatnonzero(mask):
            if classes[i] not in valid:
                raise ValueError(f"object {names[i]!r} has unknown class {classes[i]!r}; known: {sorted(valid)}")
            if not (np.all(np.isfinite(lo[i])) and np.all(np.isfinite(hi[i])) and np.all(lo[i] <= hi[i])):
                raise ValueError(f"object {names[i]!r}: box {lo[i]} .. {hi[i]} is not a finite box")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "box_min", lo)
        object.__setattr__(self, "box_max", hi)
        object.__setattr__(self, "mask", mask)

    @classmethod
    def from_boxes(
        cls, names: Sequence[str], boxes: np.ndarray, classes: Sequence[str], mask: np.ndarray | None = None
    ) -> SceneGeometry:
        """``boxes`` (N, 2, 3): [min, max] corners per object; ``mask`` defaults to non-empty names."""
        b = np.asarray(boxes, dtype=np.float64)
        if b.ndim != 3 or b.shape[1:] != (2, 3):
            raise ValueError(f"boxes must be (N, 2, 3) [min, max] corners, got {b.shape}")
        m = np.array([bool(n) for n in names]) if mask is None else np.asarray(mask, dtype=bool)
        return cls(tuple(names), b[:, 0], b[:, 1], tuple(classes), m)

    @classmethod
    def from_points(
        cls, points: np.ndarray, mask: np.ndarray, names: Sequence[str], classes: Sequence[str], percentile: float = 0.0
    ) -> SceneGeometry:
        """Boxes of the segments (N, P, 3) with :func:`boxes_from_points`."""
        return cls.from_boxes(names, boxes_from_points(points, mask, percentile), classes, mask)

    @property
    def real_names(self) -> list[str]:
        return [self.names[i] for i in np.flatnonzero(self.mask)]

    @property
    def centre(self) -> np.ndarray:
        """(N, 3) box centres (the model's positions p, A.11)."""
        return 0.5 * (self.box_min + self.box_max)

    @property
    def size(self) -> np.ndarray:
        """(N, 3) box extents."""
        return self.box_max - self.box_min

    def index(self, name: str) -> int:
        for i in np.flatnonzero(self.mask):
            if self.names[i] == name:
                return int(i)
        raise KeyError(f"unknown object {name!r}; objects are {self.real_names}")

    def class_map(self) -> dict[str, str]:
        return {self.names[i]: self.classes[i] for i in np.flatnonzero(self.mask)}


def boxes_from_points(points: np.ndarray, mask: np.ndarray, percentile: float = 0.0) -> np.ndarray:
    """(N, 2, 3) [min, max] of each real segment of ``points`` (N, P, 3) (``box_from_points``);
    padded rows are zero."""
    pts = np.asarray(points, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if pts.ndim != 3 or pts.shape[-1] != 3 or m.shape != pts.shape[:1]:
        raise ValueError(f"points must be (N, P, 3) with mask (N,), got {pts.shape} and {m.shape}")
    out = np.zeros((pts.shape[0], 2, 3))
    for i in np.flatnonzero(m):
        out[i] = box_from_points(pts[i], percentile)
    return out


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles wrapped into (−π, π]."""
    return math.pi - np.mod(math.pi - a, 2.0 * math.pi)


@dataclass(frozen=True)
class PlacementWindow:
    """Where a pick_place step may put its object, in the support's frame as observed (m)."""

    x: tuple[float, float]
    y: tuple[float, float]
    z: float  # target centre z: support surface + half the object's height
    dyaw_max: float  # rad
    enclosed: bool  # between walls (open box, shelf) rather than on a top


class ParameterSampler:
    """Samples K parameter sequences (K, H, A) for one skeleton in one scene (A.11).

    ``low`` / ``high`` (H, A) bound the decision space, ``periodic`` (H, A) marks angles (wrapped,
    not clipped); slots beyond a skill's parameters are fixed at 0. See the module docstring for
    decisions vs parameters.
    """

    def __init__(
        self,
        geometry: SceneGeometry,
        skeleton: Skeleton,
        param_width: int = MAX_PARAMS,
        config: SamplingConfig | None = None,
    ) -> None:
        self.geometry = geometry
        self.skeleton = skeleton
        self.config = config if config is not None else SamplingConfig()
        self.param_width = int(param_width)
        if len(skeleton) == 0:
            raise ValueError("the skeleton has no steps")
        skeleton.validate(geometry.real_names, geometry.class_map())
        widest = max(step.n_params for step in skeleton)
        if self.param_width < widest:
            raise ValueError(f"param_width {self.param_width} is below the skeleton's {widest} parameters")
        h, a = len(skeleton), self.param_width
        self.low = np.zeros((h, a))
        self.high = np.zeros((h, a))
        self.periodic = np.zeros((h, a), dtype=bool)
        self.windows: list[PlacementWindow | None] = []
        # Who holds whom (index of the open box an object lies in, -1 if none), step by step: the
        # objects a pick_place carries are the acted object and everything inside it.
        holder = self._initial_holders()
        self._carried: list[np.ndarray] = []
        # Per step, the objects a placement on a top must keep clear of with free_space (empty otherwise).
        self._obstacles: list[np.ndarray] = []
        self._radius = 0.5 * np.hypot(geometry.size[:, 0], geometry.size[:, 1])  # (N,) footprint discs
        none = np.zeros(0, dtype=np.int64)
        self._acted = [geometry.index(step.acted) for step in skeleton]
        self._support = [geometry.index(step.target) if step.target else -1 for step in skeleton]
        cfg = self.config
        for t, step in enumerate(skeleton):
            if step.type is SkillType.PICK_PLACE:
                o, s = self._acted[t], self._support[t]
                carried = _descendants(o, holder)
                if s in carried:
                    raise ValueError(f"step {t} ({step.text}) places {step.acted!r} onto something it carries")
                win = self._window(o, s)
                self.windows.append(win)
                self.low[t, :4] = (win.x[0], win.y[0], win.z, -win.dyaw_max)
                self.high[t, :4] = (win.x[1], win.y[1], win.z, win.dyaw_max)
                self._carried.append(np.array(sorted(carried), dtype=np.int64))
                self._obstacles.append(self._movable_besides(carried | {s}) if not win.enclosed else none)
                holder[o] = s if win.enclosed and geometry.classes[s] in OPEN_BOX_CLASSES else -1
            else:
                self.windows.append(None)
                self._carried.append(none)
                self._obstacles.append(none)
                if step.type is SkillType.PUSH:
                    self.low[t, :2] = (PUSH_ANGLE[0], cfg.push_distance[0])
                    self.high[t, :2] = (PUSH_ANGLE[1], cfg.push_distance[1])
                    self.periodic[t, 0] = True
                else:
                    self.low[t, 0], self.high[t, 0] = cfg.drawer_distance

    # --- geometry ------------------------------------------------------------------------------

    def _movable_besides(self, excluded: set[int]) -> np.ndarray:
        """Indices of the real movable objects not in ``excluded``."""
        g = self.geometry
        keep = [i for i in np.flatnonzero(g.mask) if g.classes[i] in MOVABLE_CLASSES and int(i) not in excluded]
        return np.array(keep, dtype=np.int64)

    def _initial_holders(self) -> np.ndarray:
        """(N,) index of the smallest open box whose box contains each object's box, or -1."""
        g, tol = self.geometry, self.config.inside_tol
        n = len(g.names)
        holder = np.full(n, -1, dtype=np.int64)
        boxes = [j for j in np.flatnonzero(g.mask) if g.classes[j] in OPEN_BOX_CLASSES]
        volume = np.prod(g.size, axis=1)
        for i in np.flatnonzero(g.mask):
            inside = [
                j for j in boxes
                if j != i and np.all(g.box_min[i] >= g.box_min[j] - tol) and np.all(g.box_max[i] <= g.box_max[j] + tol)
                and volume[j] > volume[i]
            ]
            if inside:
                holder[i] = min(inside, key=lambda j: volume[j])
        return holder

    def _window(self, obj: int, support: int) -> PlacementWindow:
        """Placement window of object ``obj`` on ``support`` (module docstring)."""
        g, cfg = self.geometry, self.config
        lo, hi, size = g.box_min[support], g.box_max[support], g.size[obj]
        cls = g.classes[support]
        if cls in ENCLOSED_SUPPORT_CLASSES:
            wall = default_wall(cls)
            half = np.maximum(0.0, 0.5 * (hi[:2] - lo[:2]) - wall - 0.5 * size[:2])
            mid = 0.5 * (lo[:2] + hi[:2])
            return PlacementWindow(
                x=(mid[0] - half[0], mid[0] + half[0]),
                y=(mid[1] - half[1], mid[1] + half[1]),
                z=lo[2] + wall + 0.5 * size[2],
                dyaw_max=0.0,
                enclosed=True,
            )
        # A top surface: tasks.table_region from the segment's box; the footprint radius keeps a
        # rotated object on the top.
        r = 0.5 * math.hypot(size[0], size[1])
        x = _interval(
            max(lo[0] + cfg.edge_margin + r, cfg.reach_x[0] + 0.5 * r), min(hi[0] - cfg.edge_margin - r, cfg.reach_x[1])
        )
        y = _interval(lo[1] + cfg.edge_margin + r, hi[1] - cfg.edge_margin - r)
        return PlacementWindow(x=x, y=y, z=hi[2] + 0.5 * size[2], dyaw_max=cfg.dyaw_max, enclosed=False)

    def moved(self, t: int) -> np.ndarray:
        """Indices of the objects step ``t`` is meant to move: its acted object and, for a pick_place, what
        that holds at that step (as tracked from the observation and the earlier placements)."""
        return np.union1d([self._acted[t]], self._carried[t]).astype(np.int64)

    # --- sampling ------------------------------------------------------------------------------

    @property
    def horizon(self) -> int:
        return len(self.skeleton)

    def sample_decisions(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """(K, H, A) decisions uniform in [low, high]; angles uniform in (−π, π]; placements in free
        space with ``free_space`` (:meth:`make_free`)."""
        u = rng.random((int(k), *self.low.shape))  # [0, 1)
        dec = self.low + u * (self.high - self.low)
        return self.make_free(np.where(self.periodic, math.pi - 2.0 * math.pi * u, dec), rng)

    def clip(self, decisions: np.ndarray) -> np.ndarray:
        """Decisions moved into the workspace: clipped to [low, high], angles wrapped."""
        return np.where(self.periodic, wrap_angle(decisions), np.clip(decisions, self.low, self.high))

    def into_workspace(self, decisions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """:meth:`clip`, then :meth:`make_free`: what CEM does to the samples of a refitted Gaussian."""
        return self.make_free(self.clip(decisions), rng)

    def make_free(self, decisions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A copy of ``decisions`` (K, H, A) whose placements on tops are drawn again, uniform in their
        window, while they are blocked (:meth:`blocked`), step by step, so that a re-drawn step moves
        the obstacles of the steps after it; unchanged when ``free_space`` is off."""
        dec = np.array(decisions, dtype=np.float64, copy=True)
        if not self.config.free_space:
            return dec
        for t, disp in self._walk(dec):
            if len(self._obstacles[t]) == 0:
                continue
            for _ in range(self.config.free_tries):
                blocked = self.blocked(dec, t, disp)
                if not blocked.any():
                    break
                u = rng.random((int(blocked.sum()), 4))
                dec[blocked, t, :4] = self.low[t, :4] + u * (self.high[t, :4] - self.low[t, :4])
        return dec

    def blocked(self, decisions: np.ndarray, t: int, disp: np.ndarray) -> np.ndarray:
        """(K,) whether step ``t``'s target footprint comes within ``free_gap`` of another movable
        object (not carried, not the support) whose height span overlaps the target's, with the objects
        moved by ``disp`` (K, N, 3); all False for a step with nothing to keep clear of."""
        obs = self._obstacles[t]
        if len(obs) == 0:
            return np.zeros(len(decisions), dtype=bool)
        o, size = self._acted[t], self.geometry.size
        target, _ = self._placement(decisions, t, disp)  # (K, 3)
        pos = self.geometry.centre[obs] + disp[:, obs]  # (K, M, 3)
        dist = np.linalg.norm(target[:, None, :2] - pos[..., :2], axis=-1)  # (K, M)
        near = dist < self._radius[o] + self._radius[obs] + self.config.free_gap
        level = np.abs(target[:, None, 2] - pos[..., 2]) < 0.5 * (size[o, 2] + size[obs, 2])
        return np.any(near & level, axis=1)

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """(K, H, A) model parameters of K sequences sampled from the workspace."""
        return self.to_params(self.sample_decisions(k, rng))

    def to_params(self, decisions: np.ndarray) -> np.ndarray:
        """(K, H, A) relative parameters (``PARAM_NAMES`` order, zero-padded) of decisions (K, H, A)."""
        return self.rollout_geometry(decisions)[0]

    def rollout_geometry(self, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Parameters (K, H, A) and each pick_place's target centre (K, H, 3) (NaN for other skills).

        ``disp`` (K, N, 3) is where each object is assumed to have moved since the observation.
        """
        dec = np.asarray(decisions, dtype=np.float64)
        if dec.ndim != 3 or dec.shape[1:] != self.low.shape:
            raise ValueError(f"decisions must be (K, {self.low.shape[0]}, {self.low.shape[1]}), got {dec.shape}")
        params = np.zeros_like(dec)  # (K, H, A)
        targets = np.full((dec.shape[0], self.horizon, 3), np.nan)  # (K, H, 3)
        for t, disp in self._walk(dec):
            step = self.skeleton[t]
            if step.type is SkillType.PICK_PLACE:
                targets[:, t], params[:, t, :3] = self._placement(dec, t, disp)
                params[:, t, 3] = dec[:, t, 3]
            else:
                n = len(PARAM_NAMES[step.type])
                params[:, t, :n] = dec[:, t, :n]
        return params, targets

    def _placement(self, dec: np.ndarray, t: int, disp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pick_place step ``t``'s target centre (K, 3) and displacement, placement minus grasp (K, 3)."""
        o, s = self._acted[t], self._support[t]
        target = dec[:, t, :3] + disp[:, s]  # the support carries its window along
        return target, target - (self.geometry.centre[o] + disp[:, o])

    def _walk(self, dec: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Steps through the skeleton for decisions ``dec`` (K, H, A): yields ``(t, disp)`` with ``disp``
        (K, N, 3) where the placements before step ``t`` moved each object, then applies step ``t``'s
        placement as ``dec[:, t]`` is when the walk resumes (so a caller may re-draw it in between)."""
        disp = np.zeros((dec.shape[0], len(self.geometry.names), 3))
        for t, step in enumerate(self.skeleton):
            yield t, disp
            if step.type is SkillType.PICK_PLACE:
                _, delta = self._placement(dec, t, disp)
                disp[:, self._carried[t]] += delta[:, None, :]


def _interval(lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)``, or the midpoint twice when the window is empty (support too small)."""
    if lo <= hi:
        return float(lo), float(hi)
    mid = 0.5 * (lo + hi)
    return float(mid), float(mid)


def _descendants(root: int, holder: np.ndarray) -> set[int]:
    """``root`` and every object held by it, directly or through other boxes."""
    out = {root}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for child in np.flatnonzero(holder == parent):
            if int(child) not in out:
                out.add(int(child))
                frontier.append(int(child))
    return out
