"""One camera observation, the input every perception backend shares (paper §3: a partial-view
point cloud O_t that perception turns into one segment per object).

A `CameraObservation` is what a depth camera driver delivers, converted once to numpy (the ROS
adapter does that; nothing here imports rclpy): a point cloud in the world frame, organised
(H, W, 3) like a depth image or unorganised (P, 3), and, when the camera has them, the RGB image,
the depth image, the pinhole intrinsics and the camera pose (GroundingDINO + SAM need those to
back-project masks). Simulated observations also carry the simulator's per-point object labels
(the `sim_gt` backend and the scores read them; a robot has none).

`check_observation` is the one input validation all backends run, so a NaN, an empty cloud or a
wrong shape fails the same way, with a message, whatever backend was chosen.

Conventions: world frame z up (f2p_sim README); the camera pose `cam_to_world` maps the *optical*
frame (x right, y down, z forward, as ROS `*_optical_frame` and OpenCV) to the world; depth is the
distance along the optical axis, 0 where there is no measurement; pixel (u, v) has its centre at
integer coordinates (OpenCV).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (OpenCV convention: x = (u - cx) / fx · z)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0 and self.width > 0 and self.height > 0):
            raise ValueError(f"intrinsics need positive focal lengths and image size, got {self}")
        if not (np.isfinite(self.cx) and np.isfinite(self.cy)):
            raise ValueError(f"principal point must be finite, got ({self.cx}, {self.cy})")

    def matrix(self) -> np.ndarray:
        """The 3×3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def backproject(depth: np.ndarray, intrinsics: Intrinsics, cam_to_world: np.ndarray) -> np.ndarray:
    """World points (H, W, 3) of a depth image (H, W) (m along the optical axis); pixels without a
    measurement (depth <= 0 or not finite) come out as zeros (callers mask them with depth > 0)."""
    h, w = depth.shape
    if (w, h) != (intrinsics.width, intrinsics.height):
        raise ValueError(f"depth image is {w}x{h}, the intrinsics are for {intrinsics.width}x{intrinsics.height}")
    z = np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float64)
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))  # (H, W)
    cam = np.stack([(u - intrinsics.cx) / intrinsics.fx * z, (v - intrinsics.cy) / intrinsics.fy * z, z], -1)
    pose = np.asarray(cam_to_world, dtype=np.float64)
    world = cam @ pose[:3, :3].T + pose[:3, 3]  # (H, W, 3)
    world[z == 0] = 0.0
    return world.astype(np.float32)


@dataclass
class CameraObservation:
    """A point cloud in the world frame plus what the camera delivered alongside it.

    points        (H, W, 3) organised or (P, 3) unorganised float, world frame, m
    valid         (H, W) bool, organised only: pixels with a measurement (None: every pixel);
                  points at invalid pixels are ignored (they may be NaN), valid ones must be finite
    rgb           (H, W, 3) uint8 colour image registered with the depth image, or None
    depth         (H, W) float, m along the optical axis, 0 = no measurement, or None
    intrinsics    `Intrinsics` of rgb/depth, or None
    cam_to_world  (4, 4) pose of the optical frame in the world, or None
    labels        simulator object index per point, same leading shape as points, -1 for none
                  (simulation only), with `label_names` / `label_classes` indexed by it
    """

    points: np.ndarray
    valid: np.ndarray | None = None
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    intrinsics: Intrinsics | None = None
    cam_to_world: np.ndarray | None = None
    labels: np.ndarray | None = None
    label_names: tuple[str, ...] = field(default_factory=tuple)
    label_classes: tuple[str, ...] = field(default_factory=tuple)
    camera: str = ""
    frame_id: str = "world"

    @property
    def organised(self) -> bool:
        return np.ndim(self.points) == 3

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of an organised cloud."""
        if not self.organised:
            raise ValueError("an unorganised cloud has no image shape")
        return self.points.shape[:2]

    def valid_mask(self) -> np.ndarray:
        """Bool mask over the points' leading shape: where a measurement is."""
        lead = self.points.shape[:-1]
        return np.ones(lead, bool) if self.valid is None else np.asarray(self.valid, bool)

    def flat_points(self) -> np.ndarray:
        """(M, 3) float32 valid points, in row-major pixel order for organised clouds."""
        return np.asarray(self.points, np.float32)[self.valid_mask()].reshape(-1, 3)

    def flat_labels(self) -> np.ndarray:
        """(M,) simulator labels of `flat_points` (requires labels)."""
        if self.labels is None:
            raise ValueError("this observation has no simulator labels")
        return np.asarray(self.labels)[self.valid_mask()].reshape(-1)


def check_observation(obs: CameraObservation, *, organised: bool = False, image: bool = False,
                      labels: bool = False) -> None:
    """Raise ValueError, naming the problem, if `obs` cannot be segmented.

    organised: the backend needs an (H, W, 3) cloud; image: it needs rgb, depth, intrinsics and
    the camera pose; labels: it needs simulator labels. An observation whose cloud shows no object
    is fine (the backend returns an empty scene); a cloud with no valid point at all is not.
    """
    pts = np.asarray(obs.points)
    if pts.ndim not in (2, 3) or pts.shape[-1] != 3:
        raise ValueError(f"points must be (P, 3) or organised (H, W, 3), got shape {pts.shape}")
    if not np.issubdtype(pts.dtype, np.floating):
        raise ValueError(f"points must be floating point, got {pts.dtype}")
    if organised and pts.ndim != 3:
        raise ValueError(f"this backend needs an organised (H, W, 3) cloud (a depth image's pixels), "
                         f"got an unorganised one of shape {pts.shape}")
    valid = obs.valid_mask()
    if obs.valid is not None and (pts.ndim != 3 or valid.shape != pts.shape[:2]):
        raise ValueError(f"valid must be (H, W) for an organised cloud of shape {pts.shape}, got {valid.shape}")
    kept = pts[valid]
    if kept.size == 0:
        raise ValueError("the point cloud is empty: no valid point")
    bad = ~np.isfinite(kept).all(axis=-1)
    if bad.any():
        raise ValueError(f"the point cloud has {int(bad.sum())} NaN/inf points; mark missing pixels of an organised "
                         "cloud with valid=False instead")
    if image:
        missing = [n for n in ("rgb", "depth", "intrinsics", "cam_to_world") if getattr(obs, n) is None]
        if missing:
            raise ValueError(f"this backend needs the camera image: missing {', '.join(missing)}")
        h, w = pts.shape[:2]
        k = obs.intrinsics
        if obs.rgb.shape != (h, w, 3) or obs.depth.shape != (h, w) or (k.width, k.height) != (w, h):
            raise ValueError(f"rgb {obs.rgb.shape}, depth {obs.depth.shape} and intrinsics {k.width}x{k.height} "
                             f"must match the organised cloud {h}x{w}")
        if np.asarray(obs.cam_to_world).shape != (4, 4) or not np.isfinite(obs.cam_to_world).all():
            raise ValueError("cam_to_world must be a finite 4x4 pose")
    if labels:
        if obs.labels is None:
            raise ValueError("this backend needs simulator labels (labels=None: not a simulated observation)")
        if np.shape(obs.labels) != pts.shape[:-1]:
            raise ValueError(f"labels must have shape {pts.shape[:-1]}, got {np.shape(obs.labels)}")
        if len(obs.label_names) != len(obs.label_classes):
            raise ValueError("label_names and label_classes differ in length")
        top = int(np.max(obs.labels, initial=-1))
        if top >= len(obs.label_names):
            raise ValueError(f"label {top} has no name ({len(obs.label_names)} label names)")
