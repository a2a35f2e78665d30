"""Reachability of a Stretch-like mobile manipulator (paper A.10: "if the grasp pose or placement
pose is outside the robot's current reachable space, the robot will first move its base").

The arm is modelled by what matters for feasibility: a horizontal reach annulus around the base
centre and a lift height range. The base drives along one line (the world x axis, towards and
away from the workspace) between limits; moving it is kinematic and takes no simulated time (the
base never touches objects in these scenes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Base driving limits along x (m). The workspace starts at x ≈ 0.05 (table front edge); the
# Stretch RE2 base is a 0.34 m disc, so its centre must stay behind -0.15 to keep clear of it.
# Behind -1.2 the cameras (placed for the workspace) would lose sight of the robot's targets.
BASE_X_MIN = -1.2
BASE_X_MAX = -0.15
# Horizontal gripper reach from the base centre (m): Stretch's retracted arm already sticks out
# about 0.2 m from the base centre; fully extended (0.52 m telescope) it reaches about 0.85 m.
ARM_REACH_MIN = 0.20
ARM_REACH_MAX = 0.85
# Gripper height range (m): Stretch RE2 lift travel is about 1.1 m; below 0.03 m the wrist would
# scrape the floor.
LIFT_Z_MIN = 0.03
LIFT_Z_MAX = 1.10
_EPS = 1e-9


@dataclass
class BaseModel:
    """Mobile base state and arm limits. `xy` changes when a skill moves the base."""

    xy: tuple[float, float] = (-0.45, 0.0)
    x_limits: tuple[float, float] = (BASE_X_MIN, BASE_X_MAX)
    reach: tuple[float, float] = (ARM_REACH_MIN, ARM_REACH_MAX)
    lift: tuple[float, float] = (LIFT_Z_MIN, LIFT_Z_MAX)

    def __post_init__(self) -> None:
        self.xy = (float(self.xy[0]), float(self.xy[1]))
        if not (self.x_limits[0] <= self.x_limits[1] and 0 <= self.reach[0] < self.reach[1]
                and self.lift[0] < self.lift[1]):
            raise ValueError(f"inconsistent base limits: {self}")

    def reachable_from(self, base_xy, points) -> bool:
        """True if every gripper position in `points` (K, 3) is reachable from `base_xy`."""
        pts = np.atleast_2d(np.asarray(points, dtype=float))
        if not np.all(np.isfinite(pts)):
            return False
        r = np.hypot(pts[:, 0] - base_xy[0], pts[:, 1] - base_xy[1])
        z = pts[:, 2]
        eps = _EPS  # interval ends computed by plan() lie exactly on the annulus edges
        return bool(np.all((r >= self.reach[0] - eps) & (r <= self.reach[1] + eps)
                           & (z >= self.lift[0]) & (z <= self.lift[1])))

    def reachable(self, points) -> bool:
        return self.reachable_from(self.xy, points)

    def _x_intervals(self, p) -> list[tuple[float, float]]:
        """Base x positions (on the driving line y = xy[1]) from which point p is in reach."""
        dy = self.xy[1] - p[1]
        r_lo, r_hi = self.reach
        if abs(dy) > r_hi:
            return []
        outer = math.sqrt(r_hi * r_hi - dy * dy)
        if abs(dy) >= r_lo:
            return [(p[0] - outer, p[0] + outer)]
        inner = math.sqrt(r_lo * r_lo - dy * dy)
        return [(p[0] - outer, p[0] - inner), (p[0] + inner, p[0] + outer)]

    def plan(self, points) -> tuple[float, float] | None:
        """Base position from which all `points` are reachable: the current one if possible,
        else the nearest one along the driving line within limits, else None (unreachable)."""
        pts = np.atleast_2d(np.asarray(points, dtype=float))
        if not np.all(np.isfinite(pts)):
            return None
        if np.any(pts[:, 2] < self.lift[0]) or np.any(pts[:, 2] > self.lift[1]):
            return None
        if self.reachable(pts):
            return self.xy
        feasible = [self.x_limits]
        for p in pts:
            nxt = []
            for a0, a1 in feasible:
                for b0, b1 in self._x_intervals(p):
                    lo, hi = max(a0, b0), min(a1, b1)
                    if lo <= hi:
                        nxt.append((lo, hi))
            feasible = nxt
        if not feasible:
            return None
        x0 = self.xy[0]
        best = min((min(max(x0, lo), hi) for lo, hi in feasible), key=lambda x: abs(x - x0))
        candidate = (float(best), self.xy[1])
        return candidate if self.reachable_from(candidate, pts) else None

