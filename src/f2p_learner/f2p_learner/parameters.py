"""The `learner` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a ROS 2
parameter with the field's default), the library's defaults where a field fills a library config
(`InferenceConfig`, `FinetuneConfig`, `LearnerConfig`), and `to_config` the `LearnerConfig` they give."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from f2p_learner.finetune import FinetuneConfig
from f2p_learner.inference import InferenceConfig
from f2p_learner.learner import LearnerConfig
from f2p_learner.methods import Method

_INF, _FT = InferenceConfig(), FinetuneConfig()


@dataclass(frozen=True)
class LearnerParameters:
    model_store: str = "models"  # the model store the learner reads the served version from and publishes to
    failures_dir: str = "failures"  # failure store: every event learned from is saved here first
    heldout: str = ""  # held-out pre-training dataset of the no-regression check ("": no check)
    replay: str = ""  # pre-training transitions mixed into fine-tuning ("": D+ only)
    particles: int = _INF.particles  # M (A.5); a goal's num_particles > 0 overrides
    method: str = Method.FAIL2PROGRESS.value  # a learning method (`methods.Method`); a goal's non-empty one overrides
    work_dir: str = LearnerConfig.work_dir  # one sub-directory per event
    epochs: int = _FT.epochs  # fine-tuning epochs
    lr: float = _FT.lr  # fine-tuning rate (0: the parent's pre-training rate)
    anchors: int = LearnerConfig.anchors  # re-simulations of the failure itself in D+
    freeze_encoder: bool = _FT.freeze_encoder  # fine-tune Dyn and the decoders only
    schedule: str = _FT.schedule  # fine-tuning rate schedule: "cosine" or "constant"
    replay_per_epoch: int = _FT.replay_per_epoch  # replay drawn afresh each epoch (0: all of it)
    dplus_repeats: int = _FT.dplus_repeats  # times D+ appears in each fine-tuning epoch
    position_power: float = _FT.position_power  # the fine-tuning position loss's power (0: the parent's, A.11's 0.5)
    relative_bias: bool = _FT.relative_bias  # fine-tune a relative-geometry attention bias into Dyn
    state_iterations: int = _INF.state_iterations  # SVGD iterations over the state particles (Eq. 5)
    action_iterations: int = _INF.action_iterations  # SVGD iterations over the action particles (Eq. 7)
    min_failure_accuracy: float = _FT.min_failure_accuracy  # the gate: share of the failure relations learned
    seed: int = 0  # particles and fine-tuning
    threads: int = 0  # torch threads (0: torch's default)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", Method.parse_learning(self.method).value)
        if self.particles < 1 or self.epochs < 1:
            raise ValueError(f"particles and epochs must be >= 1, got {self.particles}, {self.epochs}")
        if min(self.state_iterations, self.action_iterations, self.anchors, self.threads) < 0 or self.lr < 0:
            raise ValueError("state_iterations, action_iterations, anchors, threads and lr must be >= 0")

    def check_datasets(self) -> None:
        """FileNotFoundError naming a held-out or replay dataset that does not exist."""
        for what, path in (("heldout", self.heldout), ("replay", self.replay)):
            if path and not Path(path).is_dir():
                raise FileNotFoundError(f"{what} dataset {path} does not exist (make one with `f2p data generate`, "
                                        f"or set {what}:='' to go without)")

    def to_config(self) -> LearnerConfig:
        """The learner these parameters describe (library defaults for everything they do not set)."""
        return LearnerConfig(
            method=self.method,
            inference=dataclasses.replace(_INF, particles=self.particles, state_iterations=self.state_iterations,
                                          action_iterations=self.action_iterations, seed=self.seed),
            finetune=dataclasses.replace(_FT, epochs=self.epochs, lr=self.lr,
                                         min_failure_accuracy=self.min_failure_accuracy, seed=self.seed,
                                         freeze_encoder=self.freeze_encoder, schedule=self.schedule,
                                         replay_per_epoch=self.replay_per_epoch, dplus_repeats=self.dplus_repeats,
                                         position_power=self.position_power, relative_bias=self.relative_bias),
            work_dir=self.work_dir, heldout=self.heldout or None, replay=self.replay or None, anchors=self.anchors)


__all__ = ["LearnerParameters"]
