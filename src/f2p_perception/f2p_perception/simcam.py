"""Camera observations of a simulated `World`, in the format a real depth camera delivers.

Every backend is scored on the simulator's clouds (issue 8: "each backend on rendered scenes with
known answers"), so this module produces what a RealSense driver gives a robot -- an organised
cloud with a validity mask, a depth image, intrinsics, the optical-frame pose, an RGB image --
plus the simulator's per-pixel object labels, which only `sim_gt` and the scores read.

Depth and labels come from one `mujoco.mj_multiRay` per pixel, the same pinhole model as
`f2p_sim.observe.RayCastCamera` (no GL context per model: every trial is a new model). The RGB
image is the flat colour of the geom each ray hits (`geom_rgba`, no lighting); it exercises the
image code path of GroundingDINO + SAM, it is not photo-realistic. Sensor noise is Gaussian on
every point coordinate (`f2p_sim.observe.add_noise`), and the depth image is recomputed from the
noisy points, as a depth camera's own noise would show in both.
"""

from __future__ import annotations

import mujoco
import numpy as np

from f2p_perception.observation import CameraObservation, Intrinsics
from f2p_sim.observe import add_noise, optical_pose
from f2p_sim.world import World

BACKGROUND_RGB = (40, 40, 48)  # what a ray that hits nothing shows (dark grey)


class SimCamera:
    """One camera of a `World` (a `Scene.cameras` name), rendering `CameraObservation`s."""

    def __init__(self, world: World, camera: str = "default", width: int = 320, height: int = 240) -> None:
        m = world.model
        cam_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        if cam_id < 0:
            names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(m.ncam)]
            raise ValueError(f"the world has no camera {camera!r}; cameras: {names}")
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        self.world, self.camera, self.cam_id = world, camera, cam_id
        focal = 0.5 * height / np.tan(0.5 * np.deg2rad(float(m.cam_fovy[cam_id])))
        self.intrinsics = Intrinsics(focal, focal, 0.5 * width - 0.5, 0.5 * height - 0.5, width, height)
        u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
        rays = np.stack([(u - self.intrinsics.cx) / focal, (v - self.intrinsics.cy) / focal, np.ones_like(u)], -1)
        self._rays = rays.reshape(-1, 3)  # (H*W, 3) optical frame, z = 1
        self._unit = self._rays / np.linalg.norm(self._rays, axis=1, keepdims=True)
        self._geom = np.empty(width * height, np.int32)
        self._dist = np.empty(width * height, np.float64)
        names = world.object_names
        self.label_names = tuple(names)
        self.label_classes = tuple(world.spec(n).cls.value for n in names)

    def pose(self) -> np.ndarray:
        """(4, 4) optical frame -> world, from the current `data.cam_xpos/cam_xmat`."""
        return optical_pose(self.world.data, self.cam_id)

    def observe(self, noise_sigma: float = 0.0, rng: np.random.Generator | None = None,
                rgb: bool = True) -> CameraObservation:
        """Cast one ray per pixel and return the organised observation (labels: object index in
        `World.object_names` order, -1 where the ray hit nothing or a non-object geom)."""
        w = self.world
        mujoco.mj_forward(w.model, w.data)  # current camera pose
        pose = self.pose()
        dirs = np.ascontiguousarray(self._unit @ pose[:3, :3].T)  # (H*W, 3) world
        origin = pose[:3, 3].copy()
        n = dirs.shape[0]
        mujoco.mj_multiRay(w.model, w.data, origin, dirs.reshape(-1), None, 1, -1, self._geom, self._dist, None, n,
                           float("inf"))
        hit = self._geom >= 0
        h, wd = self.intrinsics.height, self.intrinsics.width
        points = np.zeros((n, 3), np.float64)
        points[hit] = origin + dirs[hit] * self._dist[hit, None]
        rng = rng if rng is not None else np.random.default_rng(0)
        points[hit] = add_noise(points[hit], noise_sigma, rng)
        depth = np.zeros(n, np.float32)
        depth[hit] = (points[hit] - origin) @ pose[:3, 2]  # along the optical axis
        hit &= depth > 0  # noise can push a point behind the camera (never at sane sigmas)
        depth[~hit] = 0.0
        labels = np.full(n, -1, np.int32)
        gobj = w.geom_object_index
        labels[hit] = gobj[self._geom[hit]]
        image = None
        if rgb:
            colour = np.tile(np.array(BACKGROUND_RGB, np.uint8), (n, 1))
            colour[hit] = np.clip(w.model.geom_rgba[self._geom[hit], :3] * 255.0, 0, 255).astype(np.uint8)
            image = colour.reshape(h, wd, 3)
        return CameraObservation(points=points.reshape(h, wd, 3).astype(np.float32), valid=hit.reshape(h, wd),
                                 rgb=image, depth=depth.reshape(h, wd), intrinsics=self.intrinsics,
                                 cam_to_world=pose, labels=labels.reshape(h, wd), label_names=self.label_names,
                                 label_classes=self.label_classes, camera=self.camera)
