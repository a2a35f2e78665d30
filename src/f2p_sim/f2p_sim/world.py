"""`World`: a MuJoCo model and state built from a `Scene`, with named accessors.

Everything downstream reads the simulation through this class: relation ground truth (A.9) uses
`object_boxes` and `contact_pairs`, skills (A.10) use the gripper/pusher/weld helpers, data
generation uses `to_scene`. Arrays are always in `Scene.objects` order (README). MuJoCo is run
single-threaded with no randomness, so the same scene and the same calls give bit-identical states.
"""
from __future__ import annotations

import copy

import mujoco
import numpy as np

from f2p_core.classes import ObjectClass

from .mjcf import GRIPPER_PARK, PUSHER_PARK, scene_to_mjcf
from .reach import BaseModel
from .scene import Scene
from .validate import validate_layout, validate_specs

# Default physics step (s): dt 0.004 was measured stable for these scenes (SIM_NOTES) and halves
# the cost of the 0.002 s default.
DEFAULT_TIMESTEP = 0.004
# Settling: at most this long, and stop early once no dof moves faster than SETTLE_VEL (m/s or
# rad/s), checked every SETTLE_CHUNK seconds after the first chunk.
SETTLE_SECONDS = 0.5
SETTLE_VEL = 0.01
SETTLE_CHUNK = 0.05
# Active MuJoCo contacts (skill monitors) are those up to this signed distance (m).
CONTACT_DIST_TOL = 1e-4
# Two objects are "in contact" for the A.9 relation up to this gap (m). Objects resting side by
# side relax to a hair's gap where MuJoCo reports no contact (margins would add forces in 4.0),
# so the relation measures geom distances instead of flickering with the contact list.
TOUCH_TOL = 0.002


def quat_conj(q: np.ndarray) -> np.ndarray:
    return np.array([q[0], -q[1], -q[2], -q[3]])


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(4)
    mujoco.mju_mulQuat(out, np.asarray(a, float), np.asarray(b, float))
    return out


class World:
    """A compiled scene. `World(scene)` validates, compiles, applies drawer openings and lets
    objects settle (`settle_seconds=0` skips it)."""

    def __init__(self, scene: Scene, *, timestep: float = DEFAULT_TIMESTEP,
                 settle_seconds: float = SETTLE_SECONDS) -> None:
        validate_specs(scene)  # before compiling: MuJoCo's own errors would not name objects
        self.scene = copy.deepcopy(scene)
        self.model = self._compile(scene, timestep)
        validate_layout(scene, self.model)
        self.data = mujoco.MjData(self.model)
        self.base = BaseModel(xy=tuple(scene.base_xy))
        m = self.model
        self._specs = {o.name: o for o in self.scene.objects}  # the World's own copy
        self._names = [o.name for o in scene.objects]
        self._body = np.array([m.body(n).id for n in self._names], dtype=int)
        self._qadr: dict[str, int] = {}
        self._dadr: dict[str, int] = {}
        for o in scene.objects:
            suffix = "free" if o.cls.is_movable else "slide" if o.cls is ObjectClass.DRAWER else ""
            if suffix:
                j = m.joint(f"{o.name}/{suffix}").id
                self._qadr[o.name] = int(m.jnt_qposadr[j])
                self._dadr[o.name] = int(m.jnt_dofadr[j])
        self._geom_obj = np.full(m.ngeom, -1, dtype=int)
        for k, b in enumerate(self._body):
            adr, num = m.body_geomadr[b], m.body_geomnum[b]
            self._geom_obj[adr:adr + num] = k
        # Object geoms are contiguous and in object order (one body per object, built in order),
        # which lets object_boxes reduce per object with one reduceat.
        self._obj_geoms = np.flatnonzero(self._geom_obj >= 0)
        starts = np.searchsorted(self._geom_obj[self._obj_geoms], np.arange(len(self._names)))
        self._geom_starts = starts
        self._ground = np.array([o.cls is ObjectClass.GROUND for o in scene.objects])
        self._static = np.array([o.cls.is_static for o in scene.objects])
        self.gripper_mocap = int(m.body_mocapid[m.body("gripper").id])
        self.pusher_mocap = int(m.body_mocapid[m.body("pusher").id])
        self.gripper_body = m.body("gripper").id
        self.grasp_eq = m.equality("grasp").id
        self.pusher_geom = m.geom("pusher/paddle").id
        obj = self._geom_obj
        planes = m.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
        self._static_geoms = np.flatnonzero((obj >= 0) & ~planes & self._static[np.maximum(obj, 0)])
        self._movable_geoms = np.flatnonzero((obj >= 0) & ~self._static[np.maximum(obj, 0)])
        for o in scene.objects:
            if o.cls is ObjectClass.DRAWER:
                self.data.qpos[self._qadr[o.name]] = o.opening
        mujoco.mj_forward(m, self.data)
        if settle_seconds > 0:
            self.settle(settle_seconds)

    def _compile(self, scene: Scene, timestep: float) -> mujoco.MjModel:
        """The MuJoCo model of `scene` (a robot model is attached here: f2p_sim.stretch_world)."""
        return mujoco.MjModel.from_xml_string(scene_to_mjcf(scene, timestep=timestep))

    # --- names and indices -------------------------------------------------------------
    @property
    def object_names(self) -> list[str]:
        return list(self._names)

    def spec(self, name: str):
        return self._specs[name]

    def index(self, name: str) -> int:
        return self._names.index(name)

    def body_id(self, name: str) -> int:
        return int(self._body[self.index(name)])

    @property
    def geom_object_index(self) -> np.ndarray:
        """geom id -> object index in Scene order, -1 for gripper, pusher and floor."""
        return self._geom_obj

    def object_geom_ids(self, name: str) -> np.ndarray:
        return np.flatnonzero(self._geom_obj == self.index(name))

    @property
    def static_mask(self) -> np.ndarray:
        """(N,) True for objects welded to the world (ground, table, shelf, cabinet)."""
        return self._static.copy()

    def static_geoms(self) -> np.ndarray:
        """Geom ids of static objects except planes (their AABBs are unbounded)."""
        return self._static_geoms

    def movable_geoms(self) -> np.ndarray:
        """Geom ids of movable objects and drawers."""
        return self._movable_geoms

    # --- time ----------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    @property
    def sim_dt(self) -> float:
        return float(self.model.opt.timestep)

    def step(self, n: int = 1) -> None:
        if n > 0:
            mujoco.mj_step(self.model, self.data, nstep=int(n))

    def max_speed(self) -> float:
        return float(np.max(np.abs(self.data.qvel))) if self.model.nv else 0.0

    def settle(self, seconds: float = SETTLE_SECONDS, vel_tol: float = SETTLE_VEL) -> float:
        """Step until every dof is slower than `vel_tol` (checked each SETTLE_CHUNK after the
        first) or `seconds` passed; returns the simulated time spent."""
        chunk = max(1, round(SETTLE_CHUNK / self.sim_dt))
        total = max(1, round(seconds / self.sim_dt))
        done = 0
        while done < total:
            n = min(chunk, total - done)
            self.step(n)
            done += n
            if done >= 2 * chunk and self.max_speed() < vel_tol:
                break
        return done * self.sim_dt

    # --- poses -----------------------------------------------------------------------------
    def body_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """World position (3) and quaternion (4, w x y z) of the object's body."""
        b = self.body_id(name)
        return self.data.xpos[b].copy(), self.data.xquat[b].copy()

    def set_body_pose(self, name: str, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> None:
        """Teleport a movable object (zero velocity); for scene setup, never inside a skill."""
        if not self._specs[name].cls.is_movable:
            raise ValueError(f"object '{name}' is not movable")
        q = np.asarray(quat, dtype=float)
        adr, dadr = self._qadr[name], self._dadr[name]
        self.data.qpos[adr:adr + 3] = pos
        self.data.qpos[adr + 3:adr + 7] = q / np.linalg.norm(q)
        self.data.qvel[dadr:dadr + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def drawer_opening(self, name: str) -> float:
        """Slide position of a drawer (m pulled out towards the robot)."""
        if self._specs[name].cls is not ObjectClass.DRAWER:
            raise ValueError(f"object '{name}' is not a drawer")
        return float(self.data.qpos[self._qadr[name]])

    def drawer_limit(self, name: str) -> float:
        j = self.model.joint(f"{name}/slide").id
        return float(self.model.jnt_range[j, 1])

    def object_boxes(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned world boxes (lo (N, 3), hi (N, 3)) of every object from its geoms'
        AABBs (m.geom_aabb in the geom frame, rotated by geom_xmat); the ground's box is its
        spec box (a plane's AABB is infinite)."""
        glo, ghi = self.geom_boxes(self._obj_geoms)
        lo = np.minimum.reduceat(glo, self._geom_starts, axis=0)
        hi = np.maximum.reduceat(ghi, self._geom_starts, axis=0)
        for k in np.flatnonzero(self._ground):
            o = self.scene.objects[k]
            lo[k] = np.asarray(o.pos) - np.asarray(o.size) / 2
            hi[k] = np.asarray(o.pos) + np.asarray(o.size) / 2
        return lo, hi

    def geom_boxes(self, geom_ids) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned world boxes (lo (G, 3), hi (G, 3)) of the given geoms (not planes)."""
        m, d = self.model, self.data
        g = np.asarray(geom_ids, dtype=int)
        aabb = m.geom_aabb[g]  # (G, 6): centre (3), half extents (3), geom frame
        rot = d.geom_xmat[g].reshape(-1, 3, 3)  # (G, 3, 3)
        centre = d.geom_xpos[g] + np.einsum("gij,gj->gi", rot, aabb[:, :3])
        half = np.einsum("gij,gj->gi", np.abs(rot), aabb[:, 3:])
        return centre - half, centre + half

    # --- contacts --------------------------------------------------------------------------
    def contact_object_pairs(self) -> np.ndarray:
        """(K, 2) object indices of touching geom pairs (gripper, pusher and floor dropped)."""
        d = self.data
        if d.ncon == 0:
            return np.zeros((0, 2), dtype=int)
        con = d.contact
        touching = con.dist <= CONTACT_DIST_TOL
        obj = self._geom_obj[con.geom[touching]]
        keep = (obj[:, 0] >= 0) & (obj[:, 1] >= 0) & (obj[:, 0] != obj[:, 1])
        return obj[keep]

    def contact_pairs(self, tol: float = TOUCH_TOL) -> set[frozenset[str]]:
        """Names of objects in contact (A.9 `in-contact`) as unordered pairs: geoms closer than
        `tol` by MuJoCo's exact geom distance, static-static pairs excluded (they never
        interact). Gripper and pusher are never part of it."""
        lo, hi = self.object_boxes()
        near = np.all((lo[:, None, :] <= hi[None, :, :] + tol)
                      & (hi[:, None, :] >= lo[None, :, :] - tol), axis=2)  # (N, N)
        near &= ~(self._static[:, None] & self._static[None, :])
        pairs = set()
        for a, b in zip(*np.nonzero(np.triu(near, 1)), strict=True):
            if self._touching(self.object_geom_ids(self._names[a]),
                              self.object_geom_ids(self._names[b]), tol):
                pairs.add(frozenset((self._names[a], self._names[b])))
        return pairs

    def _touching(self, geoms_a: np.ndarray, geoms_b: np.ndarray, tol: float) -> bool:
        for ga in geoms_a:
            for gb in geoms_b:
                if mujoco.mj_geomDistance(self.model, self.data, int(ga), int(gb), tol, None) < tol:
                    return True
        return False

    # --- gripper, weld and pusher (used by skills) ------------------------------------------
    def set_gripper(self, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> None:
        self.data.mocap_pos[self.gripper_mocap] = pos
        self.data.mocap_quat[self.gripper_mocap] = quat

    def set_pusher(self, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> None:
        self.data.mocap_pos[self.pusher_mocap] = pos
        self.data.mocap_quat[self.pusher_mocap] = quat

    def park(self) -> None:
        """Move gripper and pusher out of the scene (they are invisible there too)."""
        self.set_gripper(GRIPPER_PARK)
        self.set_pusher(PUSHER_PARK)

    def attach(self, name: str, solref: tuple[float, float] = (0.02, 1.0)) -> None:
        """Switch the `grasp` weld on between the gripper (at its current mocap pose) and
        object `name`, at their current relative pose so nothing jumps (SIM_NOTES)."""
        d = self.data
        self.weld(self.grasp_eq, d.mocap_pos[self.gripper_mocap].copy(), d.mocap_quat[self.gripper_mocap].copy(),
                  name, solref)

    def weld(self, eq: int, pos, quat, name: str, solref: tuple[float, float]) -> None:
        """Switch weld `eq` on between its first body, now at `pos` / `quat` (w x y z), and object `name`
        (its second body from now on), at their current relative pose."""
        m, d = self.model, self.data
        b = self.body_id(name)
        rot = np.empty(9)
        mujoco.mju_quat2Mat(rot, np.asarray(quat, float))
        m.eq_obj2id[eq] = b
        m.eq_data[eq, 0:3] = 0.0  # anchor at the object's origin
        m.eq_data[eq, 3:6] = rot.reshape(3, 3).T @ (d.xpos[b] - pos)
        m.eq_data[eq, 6:10] = quat_mul(quat_conj(quat), d.xquat[b])
        m.eq_data[eq, 10] = 1.0
        m.eq_solref[eq] = solref
        d.eq_active[eq] = 1

    def release(self) -> None:
        self.data.eq_active[self.grasp_eq] = 0

    @property
    def grasped(self) -> str | None:
        return self.welded(self.grasp_eq)

    def welded(self, eq: int) -> str | None:
        """The object weld `eq` holds, None while it is off."""
        if not self.data.eq_active[eq]:
            return None
        return self._names[list(self._body).index(int(self.model.eq_obj2id[eq]))]

    def grasp_error(self) -> float:
        """Distance (m) between the grasped object and where the weld wants it."""
        d = self.data
        return self.weld_error(self.grasp_eq, d.mocap_pos[self.gripper_mocap], d.mocap_quat[self.gripper_mocap])

    def weld_error(self, eq: int, pos, quat) -> float:
        """Distance (m) between weld `eq`'s object and where the weld wants it, its first body at `pos` / `quat`."""
        m, d = self.model, self.data
        rot = np.empty(9)
        mujoco.mju_quat2Mat(rot, np.asarray(quat, float))
        want = pos + rot.reshape(3, 3) @ m.eq_data[eq, 3:6]
        return float(np.linalg.norm(d.xpos[int(m.eq_obj2id[eq])] - want))

    # --- export ------------------------------------------------------------------------------
    def to_scene(self) -> Scene:
        """The current state as a Scene: movable poses, drawer openings and base position."""
        scene = copy.deepcopy(self.scene)
        for o in scene.objects:
            if o.cls.is_movable:
                pos, quat = self.body_pose(o.name)
                o.pos = tuple(float(v) for v in pos)
                o.quat = tuple(float(v) for v in quat / np.linalg.norm(quat))
            elif o.cls is ObjectClass.DRAWER:
                o.opening = min(max(self.drawer_opening(o.name), 0.0), self.drawer_limit(o.name))
        scene.base_xy = tuple(float(v) for v in self.base.xy)
        return scene
