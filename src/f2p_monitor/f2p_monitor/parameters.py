"""The `monitor` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a ROS 2
parameter with the field's default), checked when made; `detection` the `DetectionConfig` they fill."""

from __future__ import annotations

from dataclasses import dataclass

from f2p_core.scene import SEGMENT_POINTS
from f2p_monitor.executive import ExecutiveConfig, RetryRule
from f2p_monitor.failure import DetectionConfig

#: where the relations observed after a skill come from: the simulator's ground truth (A.9) on
#: /f2p/observed_relations, or detected by the served model in the perceived scene
OBSERVED_MODES = ("sim_gt", "perceived")


@dataclass(frozen=True)
class MonitorParameters:
    failures_dir: str = "failures"  # failure store: every failure event is saved here
    learn_from_failures: bool = True  # send incorrect-prediction failures to the learner (a goal may say no)
    max_replans: int = ExecutiveConfig.max_replans  # give up after this many replans (a goal's > 0 overrides)
    replan_below: float = ExecutiveConfig.replan_below  # after a mismatch, replan only when the rest of the plan's
    # p(goal) from the observation is below this (f2p_monitor.executive)
    retry: str = RetryRule.ALWAYS.value  # `RetryRule`: when a replan plans the failed step again
    relations: str = "goal"  # which relations are compared after each skill: "goal" or "all" (`DetectionConfig`)
    observed_relations: str = "sim_gt"  # `OBSERVED_MODES`
    n_points: int = SEGMENT_POINTS  # points per segment kept in failure events (the learner re-samples to its model)
    num_samples: int = 0  # the planner's K for this node's plans (0: the planner's own)
    classify: bool = True  # classify each failure (incorrect prediction or Sim2Real gap, §5.1)
    seed: int = 0  # the executive's generator
    observation_timeout_s: float = 15.0  # wait for a fresh scene after a skill
    skill_timeout_s: float = 120.0  # wait for ExecuteSkill
    plan_timeout_s: float = 120.0  # wait for PlanTask
    learn_timeout_s: float = 3600.0  # wait for LearnFromFailure
    swap_timeout_s: float = 10.0  # wait for the planner to serve a newly learned version

    def __post_init__(self) -> None:
        if self.observed_relations not in OBSERVED_MODES:
            raise ValueError(f"observed_relations must be one of {list(OBSERVED_MODES)}, "
                             f"got '{self.observed_relations}'")
        rules = [r.value for r in RetryRule]
        if self.retry not in rules:
            raise ValueError(f"retry must be one of {rules}, got '{self.retry}'")
        if self.relations not in ("goal", "all"):
            raise ValueError(f"relations must be 'goal' or 'all', got '{self.relations}'")
        if self.max_replans < 0 or self.n_points <= 0 or self.num_samples < 0:
            raise ValueError("max_replans and num_samples must be >= 0, n_points > 0")
        if not 0.0 < self.replan_below <= 1.0:
            raise ValueError(f"replan_below must lie in (0, 1], got {self.replan_below}")

    @property
    def detection(self) -> DetectionConfig:
        return DetectionConfig(relations=self.relations)


__all__ = ["OBSERVED_MODES", "MonitorParameters"]
