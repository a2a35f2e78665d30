"""Smooth, speed-bounded mocap trajectories and the loop that plays them (skills, paper A.10).

A skill's end effector follows straight segments with a trapezoidal speed profile (bounded speed
and acceleration), sampled once per control step of `CONTROL_STEPS` physics steps. Carried
contents therefore only ever feel bounded accelerations and stay in their container by contact
physics alone. Sampling per control step rather than per physics step keeps Python out of the
inner loop (`mj_step(..., nstep=k)`), which the >= 40 skills/s budget needs (SIM_NOTES).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .world import World

# Physics steps per mocap update: at dt 0.004 a 0.008 s control period moves the target at most
# 4 mm at 0.5 m/s, well below what the weld (time constant 0.02 s) smooths out.
CONTROL_STEPS = 2


def yaw_quat(yaw: float) -> np.ndarray:
    """Quaternion (w, x, y, z) of a rotation by `yaw` about world z."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def trapezoid(dist: float, v_max: float, a_max: float, dt: float) -> np.ndarray:
    """Path fraction s(t) in (0, 1] at t = dt, 2dt, ..., T for a rest-to-rest motion of length
    `dist` with speed <= v_max and |acceleration| <= a_max (triangular if too short to cruise)."""
    if dist <= 1e-9:
        return np.ones(1)
    t_acc = v_max / a_max
    if dist <= v_max * t_acc:  # never reaches v_max
        t_acc = math.sqrt(dist / a_max)
        v_peak, t_cruise = a_max * t_acc, 0.0
    else:
        v_peak, t_cruise = v_max, dist / v_max - t_acc
    total = 2 * t_acc + t_cruise
    t = np.arange(1, max(1, math.ceil(total / dt)) + 1) * dt
    t = np.minimum(t, total)
    d_acc = 0.5 * a_max * t_acc**2
    s = np.where(
        t < t_acc, 0.5 * a_max * t**2,
        np.where(t < t_acc + t_cruise, d_acc + v_peak * (t - t_acc),
                 dist - 0.5 * a_max * np.maximum(total - t, 0.0) ** 2))
    s = s / dist
    s[-1] = 1.0
    return s


def segment(p0, p1, yaw0: float, yaw1: float, v_max: float, a_max: float, dt: float,
            yaw_radius: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Positions (K, 3) and quaternions (K, 4) along a straight segment with yaw interpolated;
    rotation counts as travel of `yaw_radius` m per rad so fast turns are slowed as well."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    dist = max(float(np.linalg.norm(p1 - p0)), abs(yaw1 - yaw0) * yaw_radius)
    s = trapezoid(dist, v_max, a_max, dt)
    pos = p0 + s[:, None] * (p1 - p0)  # (K, 3)
    yaw = yaw0 + s * (yaw1 - yaw0)  # (K,)
    quat = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)  # (K, 4)
    return pos, quat


def control_dt(world: World) -> float:
    return CONTROL_STEPS * world.sim_dt


def play(world: World, setter: Callable, pos: np.ndarray, quat: np.ndarray,
         monitor: Callable[[], str | None] | None = None) -> tuple[int, str | None]:
    """Drive a mocap body through the samples, CONTROL_STEPS physics steps each; stop early
    when `monitor()` returns a reason. Returns (samples played, reason or None)."""
    for k in range(len(pos)):
        setter(pos[k], quat[k])
        world.step(CONTROL_STEPS)
        if monitor is not None:
            reason = monitor()
            if reason is not None:
                return k + 1, reason
    return len(pos), None


def segment_hits_box(p0, p1, lo, hi) -> bool:
    """Whether the segment p0 -> p1 meets the axis-aligned box [lo, hi] (slab test, any dim)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    t0, t1 = 0.0, 1.0
    for i in range(len(p0)):
        if abs(d[i]) < 1e-12:
            if p0[i] < lo[i] or p0[i] > hi[i]:
                return False
            continue
        a, b = (lo[i] - p0[i]) / d[i], (hi[i] - p0[i]) / d[i]
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True
