"""Which frame a camera's cloud is in, and how it gets to the planning frame (issue 17).

A camera driver publishes its cloud in its own frame (the Stretch head RealSense:
``camera_depth_optical_frame``, z forward, y down), while every segment, relation and skill of f2p lives
in one planning frame (``world``, z up; f2p_sim README). The perception node brings each cloud over
before segmenting it, from one of three sources, in this order:

1. the cloud is already in the planning frame (or names no frame): nothing to do;
2. a static camera pose given as a parameter (``x,y,z,roll,pitch,yaw`` of the cloud's frame in the
   planning frame, m and rad, REP 103 fixed-axis roll-pitch-yaw as ``static_transform_publisher`` takes
   them), for a fixed camera or a robot whose head does not move during the task;
3. a transform lookup (TF, where ``tf2_ros`` imports: a ROS distro; the pip workspace has none).

A cloud none of them can place raises `UnknownFrame` naming both frames: the node logs it and skips the
capture, since a cloud segmented in the wrong frame would put every object somewhere it is not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.spatial.transform import Rotation

#: a transform lookup: (target frame, source frame, stamp) -> (4, 4) source -> target, or raise LookupError
Lookup = Callable[[str, str, object], np.ndarray]


class UnknownFrame(ValueError):
    """A cloud in a frame the node has no transform for."""


def pose_from_text(text: str) -> np.ndarray:
    """(4, 4) pose of ``x,y,z,roll,pitch,yaw`` (m, rad; REP 103 fixed-axis: R = Rz(yaw) Ry(pitch) Rx(roll));
    ValueError naming the format otherwise."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 6 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"a camera pose is x,y,z,roll,pitch,yaw (six numbers, m and rad), got {text!r}")
    out = np.eye(4)
    out[:3, :3] = Rotation.from_euler("xyz", values[3:]).as_matrix()
    out[:3, 3] = values[:3]
    return out


def pose_to_text(pose: np.ndarray) -> str:
    """The ``x,y,z,roll,pitch,yaw`` text of a (4, 4) pose (the inverse of `pose_from_text`)."""
    pose = np.asarray(pose, np.float64)
    rpy = Rotation.from_matrix(pose[:3, :3]).as_euler("xyz")
    return ",".join(f"{v:.6g}" for v in (*pose[:3, 3], *rpy))


class FrameResolver:
    """The transform from a cloud's frame to the planning frame (module docstring: the three sources)."""

    def __init__(self, planning_frame: str = "world", camera_pose: np.ndarray | None = None,
                 camera_frame: str = "", lookup: Lookup | None = None) -> None:
        if not planning_frame:
            raise ValueError("planning_frame must name a frame")
        self.planning_frame, self.camera_frame, self.lookup = planning_frame, camera_frame, lookup
        self.camera_pose = None if camera_pose is None else np.asarray(camera_pose, np.float64)
        if self.camera_pose is not None and self.camera_pose.shape != (4, 4):
            raise ValueError(f"camera_pose must be a (4, 4) pose, got shape {self.camera_pose.shape}")

    def to_planning(self, frame: str, stamp: object = None) -> np.ndarray | None:
        """(4, 4) cloud frame -> planning frame, None when the cloud is already there; UnknownFrame if no
        source knows `frame`."""
        if not frame or frame == self.planning_frame:
            return None
        if self.camera_pose is not None and (not self.camera_frame or frame == self.camera_frame):
            return self.camera_pose
        if self.lookup is not None:
            try:
                return self.lookup(self.planning_frame, frame, stamp)
            except LookupError as exc:
                raise UnknownFrame(f"no transform from the cloud's frame '{frame}' to the planning frame "
                                   f"'{self.planning_frame}': {exc}") from None
        sources = []
        if self.camera_pose is not None:
            sources.append(f"the static camera_pose is for '{self.camera_frame}'")
        sources.append("TF is not available (tf2_ros does not import)" if self.lookup is None else "")
        raise UnknownFrame(f"the cloud is in frame '{frame}', not the planning frame '{self.planning_frame}', and "
                           f"{'; '.join(s for s in sources if s)}: set the perception parameters camera_pose (and "
                           "camera_frame) to the camera's pose in the planning frame")


__all__ = ["FrameResolver", "Lookup", "UnknownFrame", "pose_from_text", "pose_to_text"]
