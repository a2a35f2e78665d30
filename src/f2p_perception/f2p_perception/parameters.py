"""The `perception` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a ROS 2
parameter with the field's default), checked when made, so a graph config with a bad value fails before
anything starts (`f2p_bringup.graph_config.check_parameters`) and the node refuses it at start-up.

The backend's own parameters travel as one YAML mapping (`backend_params`), validated by the backend's
config dataclass (`backends.backend_config`): an unknown key or a value of the wrong type is an error
naming it. The frame parameters say where the camera is (`frames`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from f2p_core.scene import SEGMENT_POINTS
from f2p_perception.backends import BACKENDS, backend_config, parse_backend_params
from f2p_perception.frames import pose_from_text


@dataclass(frozen=True)
class PerceptionParameters:
    backend: str = "sim_gt"  # a segmentation backend of `f2p_perception.backends`
    backend_params: str = ""  # the backend's parameters, a YAML mapping: "{eps: 0.012, floor_z: 0.0}"
    n_points: int = SEGMENT_POINTS  # points per segment (A.11.2)
    seed: int = 0  # farthest point sampling
    planning_frame: str = "world"  # the frame segments are published in (z up)
    camera_pose: str = ""  # x,y,z,roll,pitch,yaw (m, rad) of camera_frame in planning_frame; "": none
    camera_frame: str = ""  # the frame camera_pose is for; "": any cloud frame but planning_frame
    use_tf: bool = True  # other frames from TF, where tf2_ros imports (a ROS distro)
    task_names: bool = False  # simulation: wait for /f2p/sim/task and publish its object names (binding.py)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown perception backend '{self.backend}'; accepted: {', '.join(sorted(BACKENDS))}")
        if self.n_points <= 0:
            raise ValueError(f"n_points must be positive, got {self.n_points}")
        if not self.planning_frame:
            raise ValueError("planning_frame must name a frame")
        backend_config(self.backend, self.backend_config_values())  # ValueError naming the key
        self.static_pose()  # ValueError naming the format

    def backend_config_values(self) -> dict[str, Any]:
        """`backend_params` as a mapping (field -> value)."""
        return parse_backend_params(self.backend_params)

    def static_pose(self) -> np.ndarray | None:
        """The (4, 4) pose of `camera_pose`, or None."""
        return pose_from_text(self.camera_pose) if self.camera_pose.strip() else None


__all__ = ["PerceptionParameters"]
