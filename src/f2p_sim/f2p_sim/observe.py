"""Partial-view, segmented point clouds from a simulated depth camera (paper Sec. 3, A.7, A.11.2).

The skill effect model takes a segmented point cloud ``O_t = {O_t^0, ..., O_t^n}``, one segment
per object (A.11.2), whose first PointConv layer samples 128 points per segment.  This module
renders depth and per-pixel geom ids with MuJoCo, back-projects them to world-frame points
(:class:`DepthCamera`), splits them by object (:func:`segment_points`) and resamples each
segment to a fixed size (:func:`sample_fixed`), with optional Gaussian sensor noise
(:func:`add_noise`).  In simulation the segmentation is exact (A.7: "In simulation, ground-truth
object segmentation are readily available").

Works on a raw ``mujoco.MjModel``/``MjData``; set ``MUJOCO_GL=egl`` (or ``osmesa``) before
importing mujoco on a headless machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from f2p_core.scene import SEGMENT_POINTS

#: MuJoCo cameras look along -z of their frame with y up; the optical frame looks along +z with y down.
MJ_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


def optical_pose(data: mujoco.MjData, cam_id: int) -> np.ndarray:
    """(4, 4) pose of MuJoCo camera `cam_id`'s optical frame (x right, y down, z forward) in the world."""
    out = np.eye(4)
    out[:3, :3] = data.cam_xmat[cam_id].reshape(3, 3) @ MJ_TO_OPTICAL
    out[:3, 3] = data.cam_xpos[cam_id]
    return out


class DepthCamera:
    """A pinhole depth camera with per-pixel geom segmentation, for one MJCF camera.

    The ``mujoco.Renderer`` (the costly part: a GL context and buffers) is created once and
    reused by every :meth:`render`; call :meth:`close` (or use ``with``) to free it.

    Intrinsics come from the camera's vertical field of view ``m.cam_fovy`` (degrees) with
    square pixels and the principal point at the image centre, which is how MuJoCo builds the
    frustum of a ``fovy`` camera; cameras specified by ``sensorsize``/``focal`` are refused.
    The pose comes from ``d.cam_xpos``/``d.cam_xmat``: MuJoCo cameras look along -z of their
    frame, x to the right of the image and y up.
    """

    def __init__(self, model: mujoco.MjModel, camera: str | int, width: int = 320, height: int = 240) -> None:
        if isinstance(camera, str):
            cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if cam_id < 0:
                raise ValueError(f"the model has no camera named {camera!r}")
        else:
            cam_id = int(camera)
            if not 0 <= cam_id < model.ncam:
                raise ValueError(f"camera id {cam_id} out of range [0, {model.ncam})")
        if np.any(model.cam_sensorsize[cam_id] > 0):
            raise ValueError("cameras defined by sensorsize/focal are not supported; define the camera with fovy")
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        self.model = model
        self.cam_id = cam_id
        self.name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, cam_id) or str(cam_id)
        self.width = width
        self.height = height
        fovy = np.deg2rad(float(model.cam_fovy[cam_id]))
        self.focal = 0.5 * height / np.tan(0.5 * fovy)
        """Focal length in pixels (same for both axes)."""
        # Ray direction per pixel in the camera frame, scaled so that its z is -1: a pixel of
        # depth D (distance along the optical axis) is at D * ray.  Rows run top to bottom.
        u = (np.arange(width, dtype=np.float64) + 0.5 - 0.5 * width) / self.focal
        v = -(np.arange(height, dtype=np.float64) + 0.5 - 0.5 * height) / self.focal
        uu, vv = np.meshgrid(u, v)  # (H, W) each
        self._rays = np.stack([uu, vv, -np.ones_like(uu)], axis=-1).reshape(-1, 3)  # (H*W, 3)
        self._renderer: mujoco.Renderer | None = mujoco.Renderer(model, height, width) if self.uses_gl else None

    uses_gl = True
    """Subclasses that compute depth without OpenGL set this to False (no renderer is made)."""

    def optical_pose(self, data: mujoco.MjData) -> np.ndarray:
        """(4, 4) pose of the camera's *optical* frame in the world (x right, y down, z forward, as ROS
        ``*_optical_frame`` and OpenCV), from ``data.cam_xpos/cam_xmat`` (call ``mj_forward`` first after
        the world moved): what a driver's cloud frame is, and what TF would say of it."""
        return optical_pose(data, self.cam_id)

    def render(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Render ``data`` and return world-frame points (P, 3) float32 and geom ids (P,) int32.

        Only pixels that show a geom are kept: background, the far plane and non-geom
        decorations (sites, tendons, ...) are dropped.  ``data`` must be forwarded
        (``mj_forward``) so that ``cam_xpos``/``cam_xmat`` are current.
        """
        if self._renderer is None:
            raise RuntimeError("DepthCamera.render called after close()")
        r = self._renderer
        r.update_scene(data, camera=self.cam_id)
        r.enable_depth_rendering()
        depth = r.render()  # (H, W) float32, metres along the optical axis
        r.enable_segmentation_rendering()
        seg = r.render()  # (H, W, 2) int32: (objid, objtype), (-1, -1) for background
        r.disable_segmentation_rendering()

        far = self.model.vis.map.zfar * self.model.stat.extent
        depth = depth.reshape(-1)
        seg = seg.reshape(-1, 2)
        keep = (seg[:, 1] == int(mujoco.mjtObj.mjOBJ_GEOM)) & (depth < 0.999 * far) & (depth > 0)
        pts_cam = self._rays[keep] * depth[keep, None]  # (P, 3) camera frame
        rot_t = data.cam_xmat[self.cam_id].reshape(3, 3).T.copy()  # rows: camera axes in world
        pts_world = pts_cam @ rot_t + data.cam_xpos[self.cam_id]  # (P, 3); contiguous is 2x faster
        return pts_world.astype(np.float32), seg[keep, 0].astype(np.int32)

    def close(self) -> None:
        """Free the renderer (idempotent)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> DepthCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Geom groups the rays hit: all but group 4, where a robot model keeps the geoms that enclose its own
# camera (f2p_sim.stretch_model.SELF_HIDDEN_GROUP; no scene geom is in it)
RAY_GROUPS = np.array([1, 1, 1, 1, 0, 1], dtype=np.uint8)


class RayCastCamera(DepthCamera):
    """The same pinhole camera as :class:`DepthCamera`, with depth and geom ids from
    ``mujoco.mj_multiRay`` (one ray per pixel) instead of OpenGL.

    Why: a GL renderer is bound to one model, and every sample of a dataset is a new model.
    Measured here (2 shared cores, 320x240): a new GL context ≈ 200 ms and a new ``MjrContext``
    ≈ 40 ms per model, against ≈ 16 ms for casting all rays, with no set-up at all. The points
    are the same as the rendered ones up to depth-buffer precision (tested). Rays hit every geom
    group, so hide nothing from the camera that should not be seen (the gripper is parked out of
    view between skills). Group 4 is not cast (`RAY_GROUPS`).
    """

    uses_gl = False

    def __init__(self, model: mujoco.MjModel, camera: str | int, width: int = 320, height: int = 240) -> None:
        super().__init__(model, camera, width, height)
        self._unit = self._rays / np.linalg.norm(self._rays, axis=1, keepdims=True)  # (H*W, 3) camera frame
        self._geom = np.empty(width * height, dtype=np.int32)
        self._dist = np.empty(width * height, dtype=np.float64)
        self._dirs: np.ndarray | None = None
        self._dirs_rot: np.ndarray | None = None
        self._full = False  # the last render cast every pixel (depth_image needs it)

    def render(self, data: mujoco.MjData,
               roi_boxes: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`DepthCamera.render`; with ``roi_boxes`` (lo (K, 3), hi (K, 3)) only the
        pixels inside the image rectangles of those boxes are cast (a pixel showing a point of
        a box always lies in the rectangle its corners project to)."""
        rot = data.cam_xmat[self.cam_id]
        if self._dirs is None or not np.array_equal(rot, self._dirs_rot):  # fixed cameras: once
            self._dirs_rot = rot.copy()
            self._dirs = np.ascontiguousarray(self._unit @ rot.reshape(3, 3).T)  # (H*W, 3) world, unit
        origin = data.cam_xpos[self.cam_id].copy()
        if roi_boxes is None:
            pixels, dirs = None, self._dirs
        else:
            pixels = np.flatnonzero(self._roi_mask(origin, rot.reshape(3, 3), *roi_boxes))
            dirs = np.ascontiguousarray(self._dirs[pixels])
        n = dirs.shape[0]
        geom, dist = self._geom[:n], self._dist[:n]
        if n:
            mujoco.mj_multiRay(self.model, data, origin, dirs.reshape(-1), RAY_GROUPS, 1, -1, geom, dist, None, n,
                               float("inf"))
        keep = np.flatnonzero(geom >= 0)  # misses report geom -1 and distance -1
        pts = origin + dirs[keep] * dist[keep, None]  # (P, 3)
        self._full = roi_boxes is None
        return pts.astype(np.float32), geom[keep].copy()

    def depth_image(self) -> np.ndarray:
        """(H, W) float32 depth along the optical axis (m) of the last full `render` (no `roi_boxes`), 0 where
        the ray hit nothing: what a depth camera's image is, pixel-aligned with this camera's colour image."""
        if not self._full:
            raise RuntimeError("depth_image needs a full render (without roi_boxes) first")
        hit = self._geom >= 0
        depth = np.where(hit, self._dist * -self._unit[:, 2], 0.0)  # camera frame: looking along -z
        return depth.reshape(self.height, self.width).astype(np.float32)

    def intrinsics(self) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy) in pixels, OpenCV convention (pixel centres at integer coordinates)."""
        return self.focal, self.focal, 0.5 * self.width - 0.5, 0.5 * self.height - 0.5

    def _roi_mask(self, origin: np.ndarray, rot: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """(H*W,) bool: pixels inside the projected rectangle of any box (lo, hi (K, 3))."""
        lo, hi = np.atleast_2d(lo), np.atleast_2d(hi)
        corners = np.stack([np.where(np.array(bits, bool), hi, lo)  # (8, K, 3)
                            for bits in np.ndindex(2, 2, 2)])
        cam = (corners - origin) @ rot  # (8, K, 3) camera frame: x right, y up, looking along -z
        depth = np.maximum(-cam[..., 2], 1e-6)
        u = cam[..., 0] / depth * self.focal + 0.5 * self.width  # (8, K) pixel coordinates
        v = -cam[..., 1] / depth * self.focal + 0.5 * self.height
        behind = (cam[..., 2] >= 0).any(axis=0)  # a box reaching behind the camera: cast it all
        mask = np.zeros((self.height, self.width), dtype=bool)
        for k in range(lo.shape[0]):
            if behind[k]:
                mask[:] = True
                break
            u0, u1 = int(np.floor(u[:, k].min())) - 1, int(np.ceil(u[:, k].max())) + 1
            v0, v1 = int(np.floor(v[:, k].min())) - 1, int(np.ceil(v[:, k].max())) + 1
            mask[max(v0, 0):max(v1, 0), max(u0, 0):max(u1, 0)] = True
        return mask.reshape(-1)

    def close(self) -> None:
        pass


class _GLImageCamera(DepthCamera):
    def render_image(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        if self._renderer is None:
            raise RuntimeError("ImageCamera.render_image called after close()")
        r = self._renderer
        r.update_scene(data, camera=self.cam_id)
        rgb = r.render().copy()
        r.enable_segmentation_rendering()
        seg = r.render()
        r.disable_segmentation_rendering()
        geom = np.where(seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), seg[..., 0], -1).astype(np.int32)
        return rgb, geom


class ImageCamera:
    """The same camera's colour image and its per-pixel geom ids (OpenGL), for people to look at:
    the `sim_robot` node publishes it beside the cloud (``/f2p/camera/image``) and the `f2p demo`
    report draws each segment's outline on it. The cloud itself still comes from the depth
    cameras above; this one only shows what they measured.

    A GL context is current in the thread that made it so, and EGL refuses to make it current in
    another (``EGL_BAD_ACCESS``, seen when a node's executor threads rendered): the renderer is
    made, used and freed in one private thread, whichever thread calls."""

    def __init__(self, model: mujoco.MjModel, camera: str | int, width: int = 320, height: int = 240) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2p-gl")
        try:
            self._camera = self._thread.submit(_GLImageCamera, model, camera, width, height).result()
        except BaseException:
            self._thread.shutdown()
            raise
        self.width, self.height = width, height

    def render_image(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """RGB (H, W, 3) uint8 and geom id per pixel (H, W) int32 (-1: no geom), rows top to bottom.
        ``data`` must be forwarded and not change while this runs (hold the world's lock)."""
        return self._thread.submit(self._camera.render_image, data).result()

    def close(self) -> None:
        """Free the renderer and its thread (idempotent)."""
        if self._camera is not None:
            self._thread.submit(self._camera.close).result()
            self._thread.shutdown()
            self._camera = None


def object_index_of_geoms(model: mujoco.MjModel, object_names: Sequence[str]) -> np.ndarray:
    """(ngeom,) int array: geom id -> index of its object in ``object_names``, or -1.

    Uses the naming convention of ``f2p_sim/README.md``: the geoms of object ``NAME`` are
    called ``NAME/<part>``; unnamed geoms and geoms of unlisted objects map to -1.
    """
    index = {name: i for i, name in enumerate(object_names)}
    out = np.full(model.ngeom, -1, dtype=np.int64)
    for g in range(model.ngeom):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g)
        if name and "/" in name:
            out[g] = index.get(name.split("/", 1)[0], -1)
    return out


def segment_points(
    points: np.ndarray, geom_ids: np.ndarray, geom_object_index: np.ndarray, n_objects: int
) -> list[np.ndarray]:
    """Split points (P, 3) by object: element ``i`` holds the points of object ``i`` (P_i, 3).

    ``geom_object_index[g]`` is the object index of geom ``g`` or -1 (points dropped).
    """
    labels = np.asarray(geom_object_index)[geom_ids]  # (P,)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_objects + 1))
    return [points[order[bounds[i] : bounds[i + 1]]] for i in range(n_objects)]


def _farthest_point_indices(points: np.ndarray, n: int, start: int) -> np.ndarray:
    """Farthest point sampling: ``n`` indices into points (M, 3), M >= n (distinct as long as
    there are n distinct positions; repeated positions are picked again once all are covered).

    Each step adds the point farthest from those chosen so far (squared Euclidean distance),
    starting at ``start``; vectorised over the points, O(n * M).
    """
    pts = np.ascontiguousarray(points.T, dtype=np.float32)  # (3, M): rows are contiguous
    idx = np.empty(n, dtype=np.int64)
    idx[0] = start
    diff = pts - pts[:, start : start + 1]
    dist = np.einsum("ij,ij->j", diff, diff)  # (M,) squared distance to the chosen set
    new = np.empty_like(dist)
    for k in range(1, n):
        i = int(dist.argmax())
        idx[k] = i
        np.subtract(pts, pts[:, i : i + 1], out=diff)
        np.multiply(diff, diff, out=diff)
        np.add(diff[0], diff[1], out=new)
        np.add(new, diff[2], out=new)
        np.minimum(dist, new, out=dist)
    return idx


def sample_fixed(
    points: np.ndarray,
    n: int,
    rng: np.random.Generator,
    method: str = "fps",
    max_candidates: int | None = None,
) -> np.ndarray:
    """Exactly ``n`` points (n, 3) from points (M, 3) (A.11.2 samples 128 per segment).

    With M >= n: ``"fps"`` farthest point sampling from a random start, or ``"random"``
    sampling without replacement.  With M < n: all M points, then n - M of them drawn again
    at random (with replacement).  Zero points is an error.  The same ``rng`` state gives the
    same output.

    ``max_candidates`` (FPS only): when M exceeds it, FPS runs on that many points drawn at
    random without replacement -- FPS costs O(n * M), and a table or the ground can cover most
    of a 320x240 image (about 8 ms for 128 of 65,000 points against 1.5 ms of 4,096).
    ``None`` runs exact FPS on all points.
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points must be (M, 3), got {pts.shape}")
    m = pts.shape[0]
    if m == 0:
        raise ValueError("cannot sample from zero points")
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if method not in ("fps", "random"):
        raise ValueError(f"method must be 'fps' or 'random', got {method!r}")
    if max_candidates is not None and max_candidates < n:
        raise ValueError(f"max_candidates ({max_candidates}) must be at least n ({n})")
    if m < n:
        idx = np.concatenate([np.arange(m), rng.integers(0, m, size=n - m)])
    elif method == "fps":
        if max_candidates is not None and m > max_candidates:
            candidates = rng.choice(m, size=max_candidates, replace=False)
            idx = candidates[_farthest_point_indices(pts[candidates], n, int(rng.integers(max_candidates)))]
        else:
            idx = _farthest_point_indices(pts, n, int(rng.integers(m)))
    else:
        idx = rng.choice(m, size=n, replace=False)
    return pts[idx]


def add_noise(points: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Points plus i.i.d. Gaussian noise of std ``sigma`` (m) per coordinate (A.7: real clouds
    are noisier).  ``sigma == 0`` returns an unchanged copy without drawing from ``rng``."""
    if not sigma >= 0.0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    pts = np.asarray(points)
    if sigma == 0.0:
        return pts.copy()
    return (pts + rng.normal(0.0, sigma, size=pts.shape)).astype(pts.dtype, copy=False)


@dataclass
class Observation:
    """One segmented partial-view point cloud ``O_t`` (A.11.2).

    ``points`` (P, 3) float32 world frame (with noise if any), ``labels`` (P,) int32 object
    index or -1 (not an object: e.g. an unlisted geom), ``segments`` (n_objects, n_per_segment,
    3) float32 in object order, ``visible`` (n_objects,) bool -- False where the object has no
    visible point, its segment then being zeros -- ``counts`` (n_objects,) int visible points
    per object, and the camera's name.
    """

    points: np.ndarray
    labels: np.ndarray
    segments: np.ndarray
    visible: np.ndarray
    counts: np.ndarray
    camera: str


def observe(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    camera: DepthCamera,
    geom_object_index: np.ndarray,
    n_objects: int,
    n_points: int = SEGMENT_POINTS,
    noise_sigma: float = 0.0,
    rng: np.random.Generator | None = None,
    method: str = "fps",
    max_candidates: int | None = 4096,
    roi_boxes: tuple[np.ndarray, np.ndarray] | None = None,
) -> Observation:
    """Render ``camera`` and build the segmented, fixed-size observation of ``n_objects``.

    ``geom_object_index`` maps geom id -> object index or -1 (see :func:`object_index_of_geoms`).
    Noise (``noise_sigma``, m) is added to every point before segmentation and sampling.
    ``max_candidates`` caps the points FPS runs on per segment (see :func:`sample_fixed`).
    ``rng`` drives the noise and the sampling; ``None`` uses ``default_rng(0)`` so that a call
    without one is reproducible -- pass the task's own generator to vary draws.
    ``roi_boxes`` (lo (K, 3), hi (K, 3) world boxes of the objects of interest) lets a
    :class:`RayCastCamera` cast only the pixels those boxes project to; points of the objects
    inside them are exactly the same, pixels of everything else are not computed.
    """
    if camera.model is not model:
        raise ValueError("the camera was built for another MjModel")
    rng = rng if rng is not None else np.random.default_rng(0)
    gidx = np.asarray(geom_object_index)
    if gidx.shape != (model.ngeom,):
        raise ValueError(f"geom_object_index must be ({model.ngeom},), got {gidx.shape}")
    points, geom_ids = camera.render(data, roi_boxes) if roi_boxes is not None else camera.render(data)
    points = add_noise(points, noise_sigma, rng)
    labels = gidx[geom_ids].astype(np.int32)
    per_object = segment_points(points, geom_ids, gidx, n_objects)
    segments = np.zeros((n_objects, n_points, 3), dtype=np.float32)
    counts = np.array([len(p) for p in per_object], dtype=np.int64)
    for i, pts in enumerate(per_object):
        if len(pts):
            segments[i] = sample_fixed(pts, n_points, rng, method, max_candidates)
    return Observation(
        points=points,
        labels=labels,
        segments=segments,
        visible=counts > 0,
        counts=counts,
        camera=camera.name,
    )
