"""The `stretch_robot` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a
ROS 2 parameter with the field's default), checked when made."""

from __future__ import annotations

from dataclasses import dataclass

from f2p_robot.stretch_backends import BACKENDS
from f2p_robot.stretch_kinematics import StretchState


@dataclass(frozen=True)
class StretchRobotParameters:
    backend: str = "stretch_body"  # `stretch_backends.BACKENDS`: stretch_body (in this process) or trajectory
    base_x: float = 0.0  # the base's starting pose in the scene frame (m, m, rad); the scene frame is the
    base_y: float = 0.0  # robot's odometry frame at start unless these say otherwise
    base_theta: float = 0.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend '{self.backend}'; accepted: {', '.join(BACKENDS)}")

    def state(self) -> StretchState:
        """The dead-reckoned robot state the node starts from."""
        return StretchState(base_x=self.base_x, base_y=self.base_y, base_theta=self.base_theta)


__all__ = ["StretchRobotParameters"]
