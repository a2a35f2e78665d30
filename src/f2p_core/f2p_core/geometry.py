"""Rigid transforms of point clouds, shared by the robots that publish clouds in a camera frame
(`f2p_robot.sim_robot_node`) and the perception that brings them to the planning frame
(`f2p_perception.frames`)."""

from __future__ import annotations

import numpy as np


def transform_points(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """`points` (..., 3) mapped by the (4, 4) `pose` (x -> R x + t), float dtype kept; non-finite points
    stay non-finite (an organised cloud's missing pixels stay missing)."""
    pts = np.asarray(points)
    pose = np.asarray(pose, np.float64)
    if pose.shape != (4, 4):
        raise ValueError(f"pose must be (4, 4), got shape {pose.shape}")
    if pts.shape[-1:] != (3,):
        raise ValueError(f"points must be (..., 3), got shape {pts.shape}")
    out = pts.astype(np.float64) @ pose[:3, :3].T + pose[:3, 3]
    return out.astype(pts.dtype) if np.issubdtype(pts.dtype, np.floating) else out


__all__ = ["transform_points"]
