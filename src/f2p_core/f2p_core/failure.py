"""A failure event F = (O^F, R^F, φ^F, R^F') of paper §4 and its classification (§5.1): the record every
stage of the loop shares. The monitor makes it (`f2p_monitor.failure.compare` finds the mismatches), the
failure store writes it, the classifier labels it, the learner reads it and the ROS graph carries it
(`f2p_msgs/FailureEvent`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from f2p_core.relations import BINARY, UNARY, relation_text
from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall

__all__ = ["FailureClass", "FailureEvent", "Mismatch", "StepJudgement"]


class FailureClass(str, Enum):
    """What caused a failure (§5.1): the model predicted wrong (learn from it), or the simulation of the
    scene disagrees with what happened (a Sim2Real gap: store it, do not learn)."""

    UNCLASSIFIED = "unclassified"
    INCORRECT_PREDICTION = "incorrect_prediction"
    SIM2REAL_GAP = "sim2real_gap"

    def __str__(self) -> str:  # the value in f-strings and logs, on every Python version
        return self.value


class StepJudgement(str, Enum):
    """What the monitor judged a step's observed relations against: the prediction an event's R^F' is
    compared with (§4). Which steps of a multi-skill plan count as failures depends on it."""

    FIRST_PLAN = "first_plan"  # the plan's rollout from the first scene (the executive before 2026-12-07)
    ONE_STEP = "one_step"  # the rest of the plan predicted again from the observation just before the step

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Mismatch:
    relation: str
    subject: str
    object: str  # "" for unary relations
    predicted: float  # predicted probability
    observed: bool

    def text(self) -> str:
        return f"{relation_text(self.relation, self.subject, self.object)}: predicted {self.predicted:.2f}, " \
               f"observed {self.observed}"



@dataclass
class FailureEvent:
    """F = (O^F, R^F, φ^F, R^F') plus what the monitor knew (paper §4); stored before anything else."""

    task_id: str
    step_index: int  # k, 0-based
    scene_before: PerceivedScene  # O^F = O_{k−1}
    unary_before: np.ndarray  # R^F (N, U) bool
    binary_before: np.ndarray  # R^F (N, N, R) bool
    skill: SkillCall  # φ^F(a)
    unary_after: np.ndarray  # R^F' (N, U) bool
    binary_after: np.ndarray  # R^F' (N, N, R) bool
    predicted_unary: np.ndarray  # R'_k (N, U) probabilities
    predicted_binary: np.ndarray  # R'_k (N, N, R) probabilities
    mismatched: list[Mismatch]
    model_version: str
    goal: str = ""
    classification: FailureClass = FailureClass.UNCLASSIFIED
    created: float = field(default_factory=time.time)
    event_id: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8])
    # O^F' as perceived after the skill, object for object as `scene_before` (None: not recorded, as in
    # events made before 2026-12-07 and those carried by ROS messages). The learner reads it to tell a
    # wrong effect from the decoders misreading a right one (`f2p_learner.inference.effect_relations`).
    points_after: np.ndarray | None = None  # (N, P, 3)
    visible_after: np.ndarray | None = None  # (N,) bool

    def __post_init__(self) -> None:
        self.classification = FailureClass(self.classification)  # a stored or received label: its enum

    def validate(self) -> None:
        """Reject an event no learner could use, with the reason."""
        n = len(self.scene_before.names)
        if n == 0 or not self.scene_before.visible.any():
            raise ValueError(f"event {self.event_id}: the scene before the failure has no visible segment")
        if self.skill.object_ids[0] not in self.scene_before.names:
            raise ValueError(f"event {self.event_id}: the failed skill acts on '{self.skill.object_ids[0]}', "
                             f"which is not in the scene ({self.scene_before.names})")
        if not np.isfinite(self.scene_before.points).all() or not np.isfinite(self.skill.params).all():
            raise ValueError(f"event {self.event_id}: NaN or inf in the points or the skill parameters")
        for name, arr, shape in (("unary_before", self.unary_before, (n, len(UNARY))),
                                 ("binary_before", self.binary_before, (n, n, len(BINARY))),
                                 ("unary_after", self.unary_after, (n, len(UNARY))),
                                 ("binary_after", self.binary_after, (n, n, len(BINARY))),
                                 ("predicted_unary", self.predicted_unary, (n, len(UNARY))),
                                 ("predicted_binary", self.predicted_binary, (n, n, len(BINARY)))):
            if arr.shape != shape:
                raise ValueError(f"event {self.event_id}: {name} has shape {arr.shape}, expected {shape}")
        if (self.points_after is None) != (self.visible_after is None):
            raise ValueError(f"event {self.event_id}: points_after and visible_after go together")
        if self.points_after is not None:
            if self.points_after.shape != self.scene_before.points.shape or self.visible_after.shape != (n,):
                raise ValueError(f"event {self.event_id}: the scene after has shapes {self.points_after.shape}, "
                                 f"{self.visible_after.shape}; the scene before {self.scene_before.points.shape}")
            if not np.isfinite(self.points_after).all():
                raise ValueError(f"event {self.event_id}: NaN or inf in the points after the skill")
