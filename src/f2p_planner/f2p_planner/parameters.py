"""The `planner` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a ROS 2
parameter with the field's default), checked when made; `to_config` the `PlannerConfig` they give."""

from __future__ import annotations

from dataclasses import dataclass

from f2p_planner.planner import PlanMethod, PlannerConfig
from f2p_planner.sampling import SamplingConfig


@dataclass(frozen=True)
class PlannerParameters:
    model_store: str = "models"  # serves its newest validated version (hot-swapped on /f2p/model_version)
    num_samples: int = PlannerConfig.num_samples  # K of A.11 (a goal's num_samples > 0 overrides)
    method: str = PlanMethod.SHOOTING.value  # `PlanMethod`: shooting or cem
    grounded_top_k: int = PlannerConfig.grounded_top_k  # the best K re-scored by grounded rollouts (0: off)
    cem_grounded: bool = PlannerConfig.cem_grounded  # cem only: its elite chosen by grounded rollouts
    cem_factored: bool = PlannerConfig.cem_factored  # cem only: each step refitted to its own elite
    free_space: bool = SamplingConfig.free_space  # placements on tops only where no other object stands
    seed: int = 0  # the planner's generator
    threads: int = 0  # torch threads (0: torch's default)

    def __post_init__(self) -> None:
        methods = [m.value for m in PlanMethod]
        if self.method not in methods:
            raise ValueError(f"unknown method '{self.method}'; choose from {methods}")
        if self.num_samples < 1 or self.threads < 0:
            raise ValueError(f"num_samples must be >= 1 and threads >= 0, got {self.num_samples}, {self.threads}")
        self.to_config()  # PlannerConfig's own checks (cem_grounded needs cem, ...) when the node is configured

    def to_config(self) -> PlannerConfig:
        return PlannerConfig(num_samples=self.num_samples, method=PlanMethod(self.method), seed=self.seed,
                             grounded_top_k=self.grounded_top_k, cem_grounded=self.cem_grounded,
                             cem_factored=self.cem_factored,
                             sampling=SamplingConfig(free_space=self.free_space))


__all__ = ["PlannerParameters"]
