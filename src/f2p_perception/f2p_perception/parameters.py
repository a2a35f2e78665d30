"""The `perception` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a ROS 2
parameter with the field's default), checked when made. The backend must be one the library knows
(`backends.BACKENDS`); which of them the node can run today is the node's own check (`node.BACKENDS`)."""

from __future__ import annotations

from dataclasses import dataclass

from f2p_core.scene import SEGMENT_POINTS
from f2p_perception.backends import BACKENDS


@dataclass(frozen=True)
class PerceptionParameters:
    backend: str = "sim_gt"  # a segmentation backend of `f2p_perception.backends`
    n_points: int = SEGMENT_POINTS  # points per segment (A.11.2)
    seed: int = 0  # farthest point sampling

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown perception backend '{self.backend}'; accepted: {', '.join(sorted(BACKENDS))}")
        if self.n_points <= 0:
            raise ValueError(f"n_points must be positive, got {self.n_points}")


__all__ = ["PerceptionParameters"]
