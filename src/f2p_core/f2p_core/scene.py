"""What perception hands to the rest of the stack: one segment per object, ROS-free.

Every backend (simulation ground truth, geometric, GroundingDINO + SAM: `f2p_perception.backends`)
returns a `PerceivedScene`; the planner, the monitor and the learner read only this, never simulator
state, and a failure event keeps the one before the failure (O^F). The ROS adapter turns it into an
`f2p_msgs/SegmentedScene`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENT_POINTS: int = 128
"""P, the points every object segment is resampled to (A.11): what perception hands the model, datasets
store and the model's `n_points` defaults to. A model trained with another P says so in its config."""


@dataclass
class PerceivedScene:
    """Segments of one observation, objects in a fixed order.

    names   (N,) object identities, stable across steps ("cup_1")
    classes (N,) semantic classes (f2p_core.classes.ObjectClass values)
    points  (N, P, 3) float32, P points per segment (world frame, m), zeros where not visible
    visible (N,) bool, the segment had at least one point
    box_lo, box_hi (N, 3) float32 axis-aligned boxes of the full segments (m)
    segments: the full per-object clouds (variable size), for Real2Sim
    confidences (N,) class confidence in [0, 1] (f2p_msgs/ObjectSegment.class_confidence);
        None means certain (1.0), as for simulator labels
    """

    names: list[str]
    classes: list[str]
    points: np.ndarray
    visible: np.ndarray
    box_lo: np.ndarray
    box_hi: np.ndarray
    segments: list[np.ndarray]
    frame_id: str = "world"
    confidences: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.names)
        self.confidences = (np.ones(n, np.float32) if self.confidences is None
                            else np.asarray(self.confidences, np.float32).reshape(-1))
        if self.confidences.shape != (n,):
            raise ValueError(f"confidences must be ({n},), got {self.confidences.shape}")
        if len(self.classes) != n or len(self.segments) != n:
            raise ValueError(f"names ({n}), classes ({len(self.classes)}) and segments ({len(self.segments)}) differ")
        if self.points.ndim != 3 or self.points.shape[0] != n or self.points.shape[2] != 3:
            raise ValueError(f"points must be ({n}, P, 3), got {self.points.shape}")
        if self.box_lo.shape != (n, 3) or self.box_hi.shape != (n, 3) or self.visible.shape != (n,):
            raise ValueError("box_lo, box_hi must be (N, 3) and visible (N,)")
        if len(set(self.names)) != n:
            raise ValueError(f"object names must be unique: {self.names}")

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError as exc:
            raise KeyError(f"no object '{name}' in the perceived scene; objects: {self.names}") from exc

    def segment_dict(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """Visible segments and classes keyed by name (the input of f2p_sim.real2sim)."""
        keep = [i for i in range(len(self.names)) if self.visible[i]]
        return ({self.names[i]: self.segments[i] for i in keep}, {self.names[i]: self.classes[i] for i in keep})
