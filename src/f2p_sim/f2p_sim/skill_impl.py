"""Bodies of the A.10 skills (types and dispatch: skills.py).

The gripper never collides, so its free-space approach is a teleport (no physical effect) and only
the phases in which it holds something are simulated; that keeps a skill at about 1–2.5 s of
simulated time (SIM_NOTES speed budget). The push paddle does collide: it is lowered from above
onto its pre-push pose, so a pose already occupied (or under furniture) is refused as `collision`
before anything moves, and a push whose row jams is stopped as `collision` (guarded move).
"""
from __future__ import annotations

import math

import mujoco
import numpy as np

from f2p_core.classes import ObjectClass
from f2p_core.skills import SkillCall, SkillResult, SkillStatus, SkillType

from .mjcf import PUSHER_HALF
from .motion import control_dt, play, segment, segment_hits_box, yaw_quat
from .world import SETTLE_VEL, World

# Transport of a grasped object: 0.5 m/s and 2.5 m/s² (a quarter g: cubes in a tub and a capsule
# in a cup stay in by friction and walls); lowering slower so placements land gently.
TRANSPORT_SPEED, TRANSPORT_ACCEL = 0.5, 2.5
LOWER_SPEED, LOWER_ACCEL = 0.25, 2.5
# Push and drawer motions: contact-rich, so slower (a Stretch guarded move is ~0.2–0.3 m/s).
PUSH_SPEED, PUSH_ACCEL = 0.25, 1.5
DRAWER_SPEED, DRAWER_ACCEL = 0.25, 1.5
# Lift: the object's bottom clears everything under the transport path by LIFT_CLEARANCE and rises
# at least MIN_LIFT (m) above where it was grasped.
LIFT_CLEARANCE = 0.03
MIN_LIFT = 0.05
# An object counts as carried along (resting on/in the grasped one) if its bottom is no more than
# this below the grasped object's bottom and its centre is over the grasped object's footprint.
CARRIED_TOL = 0.005
# Grasped object this far (m) from where the weld holds it: it was lost (status dropped).
DROP_TOL = 0.04
# Push: the paddle starts this far (m) behind the object and is driven this much further, so the
# object moves by about the asked distance; any contact deeper than PUSH_BLOCK_DEPTH (resting
# contacts are ~1 mm) means the pushed row is jammed: a real arm's contact detection stops there
# (status collision).
PUSH_GAP = 0.02
PUSH_BLOCK_DEPTH = 0.006
# Paddle centre height above the pushed object's bottom: its mid-height, but at most 3 cm. Departure
# from "mid-height": a thin tall object (a book) pushed at 9 cm with friction 0.6 tips over
# (μ·h > half thickness); pushing low slides it, as a careful operator would.
PUSH_MAX_HEIGHT = 0.03
# Drawer weld lagging more than this (m) behind the gripper: the drawer is blocked.
DRAWER_BLOCK_TOL = 0.02
# Welds (time constant s, damping ratio). A weld to a mocap body lags the target by about
# 2 · time constant · speed (the solver sees no mocap velocity): 1 cm at 0.5 m/s with 0.01 s,
# 2 cm with the default 0.02 s. Stiff welds push carried objects through walls (SIM_NOTES), but
# transport stops at the first new static contact, so stiff is safe here; the drawer's slide
# joint holds all its other dofs, so a stiff weld cannot fight contacts either.
CARRY_SOLREF = (0.01, 1.0)
DRAWER_SOLREF = (0.01, 1.0)
# Simulated time after release to let things come to rest (s), stopped early when still.
SETTLE_AFTER = 1.0
HOLD_BEFORE_RELEASE = 0.04


def _finish(world: World, status: SkillStatus, message: str, base_moved: bool) -> SkillResult:
    world.release()
    world.park()
    world.settle(SETTLE_AFTER)
    return SkillResult(status, message, 0.0, base_moved, settled=world.max_speed() < SETTLE_VEL)


def _plan_base(world: World, points) -> tuple[bool, bool]:
    """(reachable, base moved): moves the base first if needed (A.10)."""
    target = world.base.plan(np.asarray(points))
    if target is None:
        return False, False
    moved = tuple(target) != tuple(world.base.xy)
    world.base.xy = tuple(target)
    return True, moved


def carried_by(world: World, k: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Indices of objects resting on or in object k (moving with it), including k."""
    centre = (lo + hi) / 2
    inside_xy = np.all((centre[:, :2] >= lo[k, :2]) & (centre[:, :2] <= hi[k, :2]), axis=1)
    above = lo[:, 2] >= lo[k, 2] - CARRIED_TOL
    movable = ~world.static_mask
    mask = inside_xy & above & movable
    mask[k] = True
    return np.flatnonzero(mask)


def _path_top(world: World, skip: np.ndarray, p0, p1, half_xy, lo, hi) -> float:
    """Highest top among objects (not in `skip`) whose boxes meet the xy path swept by a
    footprint of half extents `half_xy` from p0 to p1."""
    top = -np.inf
    for j in range(len(lo)):
        if j in skip:
            continue
        if segment_hits_box(p0[:2], p1[:2], lo[j, :2] - half_xy, hi[j, :2] + half_xy):
            top = max(top, hi[j, 2])
    return top


def pick_place(world: World, kind: SkillType, call: SkillCall) -> SkillResult:
    """Grasp from the top, lift over everything on the path, move to the target xy and yaw,
    lower until the object touches something (or reaches the target height), release."""
    name = call.object_ids[0]
    if not world.spec(name).cls.is_movable:
        return SkillResult(SkillStatus.INVALID, f"'{name}' is not movable")
    dx, dy, dz, dyaw = (float(v) for v in call.params)
    dyaw = math.remainder(dyaw, 2 * math.pi)  # same final pose, shortest turn
    k = world.index(name)
    lo, hi = world.object_boxes()
    pos, _ = world.body_pose(name)
    grasp = np.array([pos[0], pos[1], hi[k, 2]])
    place = grasp + np.array([dx, dy, dz])
    carried = carried_by(world, k, lo, hi)
    half_xy = (hi[k, :2] - lo[k, :2]) / 2 + 0.01
    top = _path_top(world, carried, grasp, place, half_xy, lo, hi)
    hang = grasp[2] - lo[k, 2]  # gripper height above the object's bottom
    lift_z = max(grasp[2] + MIN_LIFT, top + LIFT_CLEARANCE + hang, place[2])
    waypoints = [grasp, [grasp[0], grasp[1], lift_z], [place[0], place[1], lift_z], place]
    reachable, moved = _plan_base(world, waypoints)
    if not reachable:
        return SkillResult(SkillStatus.UNREACHABLE, f"waypoints of '{name}' out of reach")

    dt = control_dt(world)
    world.set_gripper(grasp, yaw_quat(0.0))
    world.attach(name, CARRY_SOLREF)
    static = world.static_mask
    touching0 = _static_contacts(world, k, static)

    def transport_monitor() -> str | None:
        if _static_contacts(world, k, static) - touching0:
            return "collision"
        if world.grasp_error() > DROP_TOL:
            return "dropped"
        return None

    outside = np.ones(len(lo), dtype=bool)
    outside[carried] = False

    def lower_monitor() -> str | None:
        pairs = world.contact_object_pairs()
        mine = np.concatenate([pairs[pairs[:, 0] == k, 1], pairs[pairs[:, 1] == k, 0]])
        return "rest" if np.any(outside[mine]) else transport_monitor()

    phases = [
        (segment(grasp, waypoints[1], 0.0, 0.0, TRANSPORT_SPEED, TRANSPORT_ACCEL, dt),
         transport_monitor),
        (segment(waypoints[1], waypoints[2], 0.0, dyaw, TRANSPORT_SPEED, TRANSPORT_ACCEL, dt),
         transport_monitor),
        (segment(waypoints[2], place, dyaw, dyaw, LOWER_SPEED, LOWER_ACCEL, dt), lower_monitor),
    ]
    for (p, q), monitor in phases:
        _, reason = play(world, world.set_gripper, p, q, monitor)
        if reason == "collision":
            return _finish(world, SkillStatus.COLLISION,
                           f"'{name}' hit a static object in transport", moved)
        if reason == "dropped":
            return _finish(world, SkillStatus.DROPPED, f"'{name}' slipped from the gripper", moved)
        if reason == "rest":
            break
    world.step(round(HOLD_BEFORE_RELEASE / world.sim_dt))
    return _finish(world, SkillStatus.OK, f"placed '{name}'", moved)


def _static_contacts(world: World, k: int, static: np.ndarray) -> set[int]:
    pairs = world.contact_object_pairs()
    other = np.concatenate([pairs[pairs[:, 0] == k, 1], pairs[pairs[:, 1] == k, 0]])
    return {int(j) for j in other if static[j]}


def _deepest_contact(world: World) -> float:
    """Deepest penetration (m, >= 0) among contacts of the paddle and of the movable objects
    it pushes directly or through others. A row jammed against a wall shows up at whichever of
    its contacts is softest, not necessarily at the paddle; an object falling elsewhere (say,
    pushed off an edge) is no longer in the chain and its landing does not count."""
    d = world.data
    if d.ncon == 0:
        return 0.0
    con = d.contact
    geoms = con.geom  # (C, 2)
    n = len(world.object_names)
    # Graph nodes: objects 0..n-1, n = the paddle, n+1 = anything else (floor).
    nodes = np.where(geoms == world.pusher_geom, n, world.geom_object_index[geoms])  # (C, 2)
    nodes[nodes < 0] = n + 1
    passes = np.append(~world.static_mask, [True, False])  # (n+2,) may a push go through it
    chain = np.zeros(n + 2, dtype=bool)
    chain[n] = True
    while True:  # grow the chain to a fixed point (at most n rounds)
        hit = chain[nodes]  # (C, 2)
        reached = np.concatenate([nodes[hit[:, 0], 1], nodes[hit[:, 1], 0]])
        reached = reached[passes[reached] & ~chain[reached]]
        if reached.size == 0:
            break
        chain[reached] = True
    mask = chain[nodes].any(axis=1)
    return float(max(0.0, -np.min(con.dist[mask]))) if np.any(mask) else 0.0


def push(world: World, kind: SkillType, call: SkillCall) -> SkillResult:
    """Pre-push pose behind the object (opposite the push direction, low on it: see
    PUSH_MAX_HEIGHT), then a straight paddle motion of `distance` + PUSH_GAP, so the object moves
    by about `distance`; everything it touches is pushed on by contact physics (A.10)."""
    name = call.object_ids[0]
    if not world.spec(name).cls.is_movable:
        return SkillResult(SkillStatus.INVALID, f"'{name}' is not movable")
    angle, distance = (float(v) for v in call.params)
    if distance <= 0.0:
        return SkillResult(SkillStatus.INVALID, f"push distance {distance} must be positive")
    k = world.index(name)
    lo, hi = world.object_boxes()
    centre, half = (lo[k] + hi[k]) / 2, (hi[k] - lo[k]) / 2
    u = np.array([math.cos(angle), math.sin(angle), 0.0])
    reach_back = abs(u[0]) * half[0] + abs(u[1]) * half[1] + PUSHER_HALF[0] + PUSH_GAP
    z = lo[k, 2] + max(PUSHER_HALF[2] + 0.005, min(half[2], PUSH_MAX_HEIGHT))
    start = np.array([centre[0], centre[1], z]) - reach_back * u
    end = start + (distance + PUSH_GAP) * u
    reachable, moved = _plan_base(world, [start, end])
    if not reachable:
        return SkillResult(SkillStatus.UNREACHABLE, f"push of '{name}' out of reach")
    quat = yaw_quat(angle)
    c, s = abs(u[0]), abs(u[1])
    paddle = np.array([c * PUSHER_HALF[0] + s * PUSHER_HALF[1],
                       s * PUSHER_HALF[0] + c * PUSHER_HALF[1], PUSHER_HALF[2]])
    # The paddle cannot be put where something already is (a neighbour behind the object, a
    # container wall around it), nor swept through furniture: refuse before moving.
    mov = world.movable_geoms()
    occupied = _paddle_overlaps(start, u, *world.geom_boxes(mov))
    if np.any(occupied):
        other = world.object_names[world.geom_object_index[mov[np.argmax(occupied)]]]
        return SkillResult(SkillStatus.COLLISION, f"pre-push pose of '{name}' is occupied by "
                           f"'{other}'", 0.0, moved)
    static_geoms = world.static_geoms()
    if len(static_geoms):
        slo, shi = world.geom_boxes(static_geoms)
        above = np.array([start[0], start[1], world.base.lift[1]])  # the paddle comes from above
        for a, b in zip(slo - paddle, shi + paddle, strict=True):
            if segment_hits_box(above, start, a, b) or segment_hits_box(start, end, a, b):
                return SkillResult(SkillStatus.COLLISION,
                                   f"push path of '{name}' runs into furniture", 0.0, moved)
    world.set_pusher(start, quat)
    p, q = segment(start, end, angle, angle, PUSH_SPEED, PUSH_ACCEL, control_dt(world))
    _, stopped = play(world, world.set_pusher, p, q, _push_monitor(world))
    if stopped is not None:
        return _finish(world, SkillStatus.COLLISION, f"push of '{name}' blocked", moved)
    return _finish(world, SkillStatus.OK, f"pushed '{name}'", moved)


def _paddle_overlaps(centre: np.ndarray, u: np.ndarray, lo: np.ndarray,
                     hi: np.ndarray) -> np.ndarray:
    """(G,) whether the paddle (centred at `centre`, facing unit xy direction `u`) overlaps
    each axis-aligned box [lo, hi]: separating-axis test on the world x, y axes and the
    paddle's own axes in the xy plane, plus the z interval."""
    t, w, h = PUSHER_HALF
    v = np.array([-u[1], u[0], 0.0])
    c, half = (lo + hi) / 2 - centre, (hi - lo) / 2  # (G, 3) relative centres, half extents
    ok = np.abs(c[:, 2]) <= h + half[:, 2]
    for axis, r_paddle in ((np.array([1.0, 0, 0]), abs(u[0]) * t + abs(v[0]) * w),
                           (np.array([0, 1.0, 0]), abs(u[1]) * t + abs(v[1]) * w),
                           (u, t), (v, w)):
        r_box = abs(axis[0]) * half[:, 0] + abs(axis[1]) * half[:, 1]
        ok &= np.abs(c @ axis) <= r_paddle + r_box
    return ok


def _push_monitor(world: World):
    # Measured against what was already there, so an old jam elsewhere does not stop every push.
    limit = max(PUSH_BLOCK_DEPTH, _deepest_contact(world) + 0.5 * PUSH_BLOCK_DEPTH)

    def monitor() -> str | None:
        return "blocked" if _deepest_contact(world) > limit else None

    return monitor


def move_drawer(world: World, kind: SkillType, call: SkillCall) -> SkillResult:
    """Weld the gripper to the drawer front and move it along the slide axis; the travel stops
    at the drawer's runner limits (0 .. DRAWER_MAX_OPEN_FRACTION · depth)."""
    name = call.object_ids[0]
    spec = world.spec(name)
    if spec.cls is not ObjectClass.DRAWER:
        return SkillResult(SkillStatus.INVALID, f"'{name}' is not a drawer")
    distance = float(call.params[0])
    if distance < 0.0:
        return SkillResult(SkillStatus.INVALID, f"drawer distance {distance} must be >= 0")
    q0 = world.drawer_opening(name)
    sign = 1.0 if kind is SkillType.OPEN_DRAWER else -1.0
    target = min(max(q0 + sign * distance, 0.0), world.drawer_limit(name))
    pos, quat = world.body_pose(name)
    rot = np.empty(9)
    mujoco.mju_quat2Mat(rot, quat)
    rot = rot.reshape(3, 3)
    handle = pos + rot @ np.array([-spec.size[0] / 2, 0.0, spec.size[2] / 2])
    axis = rot @ np.array([-1.0, 0.0, 0.0])
    end = handle + (target - q0) * axis
    reachable, moved = _plan_base(world, [handle, end])
    if not reachable:
        return SkillResult(SkillStatus.UNREACHABLE, f"handle of '{name}' out of reach")
    gq = np.array([1.0, 0.0, 0.0, 0.0])
    world.set_gripper(handle, gq)
    world.attach(name, DRAWER_SOLREF)
    p, q = segment(handle, end, 0.0, 0.0, DRAWER_SPEED, DRAWER_ACCEL, control_dt(world))

    def monitor() -> str | None:
        return "blocked" if world.grasp_error() > DRAWER_BLOCK_TOL else None

    _, stopped = play(world, world.set_gripper, p, q, monitor)
    if stopped is not None:
        return _finish(world, SkillStatus.COLLISION, f"'{name}' is blocked", moved)
    world.step(round(HOLD_BEFORE_RELEASE / world.sim_dt))
    msg = f"'{name}' at {world.drawer_opening(name):.3f} m (asked {target:.3f} m)"
    return _finish(world, SkillStatus.OK, msg, moved)
