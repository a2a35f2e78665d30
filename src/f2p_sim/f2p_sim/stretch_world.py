"""A scene with the Hello Robot Stretch RE2 standing in it (issue 20): `StretchWorld`.

The same `World` (objects, relations, contacts, welds), with the robot model of
`f2p_sim.stretch_model` attached at the world origin (its names prefixed `stretch/`) and its base
joints set to the `STATION` pose: heading +y, so the arm (which extends along the base's -y)
reaches over both tables along +x, the base front 10 cm from the tables' front edge. The planar base
joints are world coordinates (x, y, heading). A second weld, `stretch/grasp`, holds a grasped object
at the gripper's grasp centre (`link_grasp_center`) once the fingers have closed on it (the fingers
are simulated; the weld is what holds the object, as issue 20 allows). The head looks at the
workspace (`look_at`), and its D435i is the camera `stretch/head`.

What moves the joints is not here: `f2p_robot.stretch_sim` translates skills into joint goals with
the same `stretch_kinematics` the real robot uses and plays them on the actuators.
"""

from __future__ import annotations

import math
from enum import Enum

import mujoco
import numpy as np

from .mjcf import scene_to_mjcf
from .scene import CameraSpec, Scene, camera_spec
from .stretch_model import ARM_LINKS, BASE_JOINTS, FINGERS, HEAD_JOINTS, load_spec
from .world import DEFAULT_TIMESTEP, SETTLE_SECONDS, World

PREFIX = "stretch/"
# Base x, y (m) and heading (rad) where the robot stands: the base's front (0.18 m ahead of base_link
# sideways, as the arm sees it) 10 cm before the tables (front edge x = 0.10): with the arm retracted
# the grasp centre is at x = 0.17, the start of f2p_sim.tasks.SPAWN_X; fully extended at x = 0.69.
STATION = (-0.18, 0.0, math.pi / 2)
# The stowed arm, where the robot waits between skills: retracted, the wrist turned back over the base
# and the lift low, below the tables' tops, out of the cameras' view of the tables (a stowed arm over
# the tables hid objects from the default camera). f2p_robot.stretch_kinematics ends every skill here.
STOW_LIFT = 0.2
STOW_YAW = math.pi
WORKSPACE_CENTRE = (0.40, 0.0, 0.45)  # what the head looks at: the middle of the two tables' tops
GRASP_WELD = PREFIX + "grasp"
HEAD_CAMERA = "head"  # the camera name a user gives (sim_robot's `camera`); in the model: PREFIX + "head"


class RobotModel(str, Enum):
    """What executes the skills in simulation: the floating gripper (data generation: fast, reaches
    anything) or the Stretch RE2's own model driven by its joint goals (f2p_robot.stretch_sim)."""

    FLOATING = "floating"
    STRETCH = "stretch"

    def __str__(self) -> str:
        return self.value


def make_world(scene: Scene, robot: RobotModel | str = RobotModel.FLOATING, **kwargs) -> World:
    """The world of `scene` with `robot` in it."""
    robot = RobotModel(robot)
    return StretchWorld(scene, **kwargs) if robot is RobotModel.STRETCH else World(scene, **kwargs)


def scene_camera(camera: str) -> CameraSpec:
    """The scene's camera for a user's camera name: `camera_spec`'s, or for `head` (the robot model's own
    camera: `camera_view`) the default one, which the scene keeps beside it."""
    return camera_spec("default" if camera == HEAD_CAMERA else camera)


# The head camera's image (width, height): upright portrait, 87 x 58 deg as the D435i's depth camera
# (f2p_sim.stretch_model.HEAD_FOVY over the height; the width gives the other 58 deg)
HEAD_RESOLUTION = (188, 320)


def camera_view(world: World, camera: str, width: int, height: int) -> tuple[str, int, int]:
    """(MuJoCo camera, width, height) of a user's camera name: `head` is the Stretch's D435i at its own
    resolution (a StretchWorld only); any other camera is the scene's, at `width` x `height`."""
    if camera != HEAD_CAMERA:
        return camera, width, height
    if not isinstance(world, StretchWorld):
        raise ValueError("camera 'head' is the Stretch's head camera: it needs robot 'stretch'")
    return PREFIX + HEAD_CAMERA, *HEAD_RESOLUTION


class StretchWorld(World):
    """A `World` with the Stretch RE2 (module docstring). `station` is the base pose at the start."""

    def __init__(self, scene: Scene, *, timestep: float = DEFAULT_TIMESTEP, settle_seconds: float = SETTLE_SECONDS,
                 station: tuple[float, float, float] = STATION, model_path=None) -> None:
        self._model_path = model_path
        super().__init__(scene, timestep=timestep, settle_seconds=0)
        m = self.model
        self.joints = (*BASE_JOINTS, "joint_lift", *ARM_LINKS, "joint_wrist_yaw", *FINGERS, *HEAD_JOINTS)
        self._jq = {j: int(m.jnt_qposadr[m.joint(PREFIX + j).id]) for j in self.joints}
        self._jd = {j: int(m.jnt_dofadr[m.joint(PREFIX + j).id]) for j in self.joints}
        self._act = {j: m.actuator(PREFIX + j).id for j in self.joints}
        self.grasp_site = m.site(PREFIX + "grasp_center").id
        self.grasp_body = m.body(PREFIX + "link_grasp_center").id
        self.robot_weld = m.equality(GRASP_WELD).id
        root = m.body(PREFIX + "base_link").id
        robot_bodies = np.flatnonzero(_descends(m, root))
        self.robot_geoms = np.flatnonzero(np.isin(m.geom_bodyid, robot_bodies) & (m.geom_contype != 0))
        self.finger_geoms = np.flatnonzero(np.isin(m.geom_bodyid, [
            m.body(PREFIX + b).id for b in ("link_gripper_finger_left", "link_gripper_fingertip_left",
                                            "link_gripper_finger_right", "link_gripper_fingertip_right")])
            & (m.geom_contype != 0))
        self._is_robot_geom = np.zeros(m.ngeom, bool)
        self._is_robot_geom[self.robot_geoms] = True
        start = {"base_x": station[0], "base_y": station[1], "base_yaw": station[2], "joint_lift": STOW_LIFT,
                 "joint_wrist_yaw": STOW_YAW}
        for j in self.joints:
            self.set_joint(j, start.get(j, 0.0))
        self.look_at(WORKSPACE_CENTRE)
        mujoco.mj_forward(m, self.data)
        if settle_seconds > 0:
            self.settle(settle_seconds)

    def _compile(self, scene: Scene, timestep: float) -> mujoco.MjModel:
        spec = mujoco.MjSpec.from_string(scene_to_mjcf(scene, timestep=timestep))
        robot = load_spec(self._model_path)
        frame = spec.worldbody.add_frame()
        frame.attach_body(robot.body("base_link"), PREFIX, "")
        spec.add_equality(name=GRASP_WELD, type=mujoco.mjtEq.mjEQ_WELD, objtype=mujoco.mjtObj.mjOBJ_BODY,
                          name1=PREFIX + "link_grasp_center", name2="world", active=False)
        return spec.compile()

    # --- joints -------------------------------------------------------------------------------
    def joint(self, name: str) -> float:
        return float(self.data.qpos[self._jq[name]])

    def set_joint(self, name: str, value: float) -> None:
        """Put joint `name` at `value` and its actuator's target there (setup, not inside a skill)."""
        self.data.qpos[self._jq[name]] = value
        self.data.qvel[self._jd[name]] = 0.0
        self.data.ctrl[self._act[name]] = value

    def target(self, name: str) -> float:
        return float(self.data.ctrl[self._act[name]])

    def command(self, name: str, value: float) -> None:
        """The actuator target of joint `name` (the joint follows by physics)."""
        self.data.ctrl[self._act[name]] = value

    @property
    def base_pose(self) -> tuple[float, float, float]:
        return self.joint("base_x"), self.joint("base_y"), self.joint("base_yaw")

    @property
    def extension(self) -> float:
        return sum(self.joint(j) for j in ARM_LINKS)

    def grasp_centre(self) -> np.ndarray:
        return self.data.site_xpos[self.grasp_site].copy()

    def look_at(self, point) -> None:
        """Head pan and tilt so the camera's optical axis passes through `point` (a grid, then a refinement)."""
        m, d = self.model, self.data
        cam = m.camera(PREFIX + "head").id
        lo = [m.jnt_range[m.joint(PREFIX + j).id] for j in HEAD_JOINTS]

        def miss(pan: float, tilt: float) -> float:
            self.set_joint(HEAD_JOINTS[0], pan)
            self.set_joint(HEAD_JOINTS[1], tilt)
            mujoco.mj_kinematics(m, d)
            mujoco.mj_camlight(m, d)
            axis = -d.cam_xmat[cam].reshape(3, 3)[:, 2]
            to = np.asarray(point, float) - d.cam_xpos[cam]
            return float(np.linalg.norm(np.cross(axis, to / np.linalg.norm(to)))) + (axis @ to < 0)

        best = min(((p, t) for p in np.linspace(*lo[0], 40) for t in np.linspace(*lo[1], 24)), key=lambda q: miss(*q))
        step = np.array([(lo[0][1] - lo[0][0]) / 40, (lo[1][1] - lo[1][0]) / 24])
        for _ in range(30):
            cands = [best + step * np.array(o) for o in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]
            cands = [np.clip(c, [lo[0][0], lo[1][0]], [lo[0][1], lo[1][1]]) for c in cands]
            best = min(cands, key=lambda q: miss(*q))
            step = step / 2
        miss(*best)

    # --- contacts and the grasp weld ------------------------------------------------------------
    def robot_contacts(self) -> np.ndarray:
        """(K, 2): robot geom, object index of every touching contact between the robot and a scene object."""
        d = self.data
        if d.ncon == 0:
            return np.zeros((0, 2), int)
        con = d.contact
        g = con.geom[con.dist <= 1e-4]  # (C, 2)
        robot = self._is_robot_geom[g]  # (C, 2)
        obj = self.geom_object_index[g]
        first = robot[:, 0] & (obj[:, 1] >= 0)
        second = robot[:, 1] & (obj[:, 0] >= 0)
        return np.concatenate([np.stack([g[first, 0], obj[first, 1]], 1), np.stack([g[second, 1], obj[second, 0]], 1)])

    def hold(self, name: str, solref: tuple[float, float] = (0.01, 1.0)) -> None:
        """Weld object `name` to the grasp centre at their current relative pose (nothing jumps)."""
        d, g = self.data, self.grasp_body
        self.weld(self.robot_weld, d.xpos[g].copy(), d.xquat[g].copy(), name, solref)

    def let_go(self) -> None:
        self.data.eq_active[self.robot_weld] = 0

    @property
    def held(self) -> str | None:
        return self.welded(self.robot_weld)

    def hold_error(self) -> float:
        """Distance (m) between the held object and where the weld holds it."""
        d, g = self.data, self.grasp_body
        return self.weld_error(self.robot_weld, d.xpos[g], d.xquat[g])


def _descends(m: mujoco.MjModel, root: int) -> np.ndarray:
    """(nbody,) whether each body is `root` or below it."""
    out = np.zeros(m.nbody, bool)
    for b in range(m.nbody):
        a = b
        while a > 0 and a != root:
            a = int(m.body_parentid[a])
        out[b] = a == root
    return out
