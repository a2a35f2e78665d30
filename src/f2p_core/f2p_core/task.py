"""What a task asks for: the steps of a plan skeleton φ_{1:H} (§3). The task distributions make them
(`f2p_sim.tasks`), the planner parses, validates and plans them (`f2p_planner.skeleton.Skeleton`), the
ROS graph carries them (`f2p_msgs/Skill` without parameters)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import numpy as np

from f2p_core.goal import Goal
from f2p_core.skills import PARAM_NAMES, SkillCall, SkillType

__all__ = ["SkeletonStep", "TaskPlan", "TaskStage"]


@dataclass(frozen=True)
class SkeletonStep:
    """One step of a plan skeleton: a skill type and the objects it acts on (A.10), `object_ids[0]` the
    acted object. The same field names as the `SkillCall` that carries it out with parameters."""

    type: SkillType
    object_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", SkillType(self.type))
        object.__setattr__(self, "object_ids", tuple(self.object_ids))

    @property
    def acted(self) -> str:
        """The manipulated object (the model's `acted` index, A.11 "Dynamics")."""
        return self.object_ids[0]

    @property
    def target(self) -> str:
        """pick_place's target support, "" for the other skills."""
        return self.object_ids[1] if self.type is SkillType.PICK_PLACE and len(self.object_ids) > 1 else ""

    @property
    def n_params(self) -> int:
        """Continuous parameters of the skill (`f2p_core.skills.PARAM_NAMES`)."""
        return len(PARAM_NAMES[self.type])

    @property
    def text(self) -> str:
        return f"{self.type.value}({', '.join(self.object_ids)})"

    def to_dict(self) -> dict:
        return {"type": self.type.value, "object_ids": list(self.object_ids)}


class TaskStage(str, Enum):
    """What a running task is doing: the executive's progress reports and ExecuteTask's feedback `stage`
    (str-valued, so the message carries the value)."""

    PLANNING = "planning"
    REPLANNING = "replanning"
    EXECUTING = "executing"
    CLASSIFYING = "classifying"  # a failure is re-simulated to tell a wrong model from a Sim2Real gap (§5.1)
    LEARNING = "learning"  # a learner works on a failure (the monitor passes on its own stages as messages)
    DONE = "done"  # the task ended; the result follows

    def __str__(self) -> str:
        return self.value


class TaskPlan(Protocol):
    """What the executive reads of a plan, and what travels in `f2p_msgs/Plan`: the planner's
    `PlanResult` is one, `f2p_ros.convert.ReceivedPlan` (a Plan message read back) another.

    skill_calls: the H skills to run; predicted_unary (H+1, N', U) / predicted_binary (H+1, N', N', R):
    relation probabilities, step 0 the scene as planned from, step h+1 after skill h, objects in the
    scene's order (N' >= N: extra rows are padding); model_version: the model that made the plan."""

    goal: Goal
    skill_calls: list[SkillCall]
    predicted_unary: np.ndarray
    predicted_binary: np.ndarray
    goal_probability: float
    model_version: str
