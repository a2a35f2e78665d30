"""Typed records of an experiment, one JSON line each (schema `SCHEMA_VERSION`).

Three kinds, in the order the protocol makes them (experiments/README.md):

- `FailureSearch`: for one learning seed, the scenes of the training task the executive ran until
  the first failure classified as an incorrect prediction, and that event's id. Every learning
  method of that seed learns from this one event.
- `LearningRun`: one method learning from that event, from the same parent, into its own model
  store: the child version, whether it was validated, the A.15 statistics of its D+, stage times,
  and the version its trials are run with (`served_version`, `served_sha256`).
- `TrialResult`: one fresh scene (`TrialSpec`) planned and executed with one method's model:
  first-attempt success (the first plan executed open loop) and success within the replanning
  budget, side by side, unmet goal atoms, statuses, times, the model that planned it.

Every record names the pre-trained parent's weights (`parent_sha256`, its first 16 hex digits); a
record made from another parent is stale and the runner does it again. A trial also names the
weights it was planned with, so a learning run that is redone (its store lost, say) and gives
other weights makes its old trials stale too. Records are plain dataclasses; `to_json` and
`from_json` are the only codec.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from f2p_core.failure import StepJudgement
from f2p_learner.methods import Method

SCHEMA_VERSION = 1


def _strict_kwargs(cls, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    return dict(data)


@dataclass(frozen=True)
class TrialSpec:
    """One trial: a fresh scene of `task` (seed `seed`) run with `method`'s model.

    `learning_seed` names the learning run whose model plans (None for methods that do not learn,
    which use the pre-trained model)."""

    experiment: str
    architecture: str
    method: Method
    task: str
    n_objects: int
    camera: str
    noise: float
    seed: int
    learning_seed: int | None = None
    perception: str = "sim_gt"  # the backend segmenting the trial's clouds (records before 2026-12-06: sim_gt)

    @property
    def key(self) -> str:
        ls = "-" if self.learning_seed is None else str(self.learning_seed)
        seg = "" if self.perception == "sim_gt" else f"/{self.perception}"  # older keys unchanged
        return (f"{self.architecture}/{self.method.value}/{self.task}/{self.n_objects}/{self.camera}/"
                f"{self.noise:g}/{ls}/{self.seed}{seg}")

    @property
    def cell(self) -> tuple[str, str, str, int, str, float, str]:
        """What a table cell groups by: (architecture, method, task, objects, camera, noise, perception)."""
        return (self.architecture, self.method.value, self.task, self.n_objects, self.camera, self.noise,
                self.perception)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "method": self.method.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialSpec:
        d = _strict_kwargs(cls, data)
        d["method"] = Method.parse(d["method"])
        return cls(**d)


@dataclass
class TrialResult:
    spec: TrialSpec
    first_attempt_success: bool  # the first plan, executed open loop (no monitor, no replanning)
    success: bool  # within the replanning budget (Original: the same as first_attempt_success)
    unmet_first: list[str]  # goal atoms that did not hold after the first attempt
    unmet: list[str]  # goal atoms that did not hold at the end of the budgeted run
    statuses: list[str]  # skill statuses of the budgeted run, in execution order
    mismatched_steps: int  # steps whose observed relations contradicted the plan (budgeted run)
    replans: int
    goal_probability: float  # the model's belief in its first plan
    plan_s: float  # seconds of the budgeted run spent in the planner
    execute_s: float  # seconds of the budgeted run spent executing and observing
    model_version: str
    model_sha256: str
    parent_sha256: str
    error: str = ""  # why no plan was made
    redraws: int = 0  # scenes drawn before this one and rejected: a goal object unseen at the start (trial.py)
    # the experiment's `TrialSettings` the trial was made with (asdict); {} in records made before
    # 2026-12-07 (session 23), which are taken as made with their config's settings (`made_with`)
    trial: dict[str, Any] = field(default_factory=dict)
    kind: str = "trial"
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "spec": self.spec.to_dict()}

    def made_with(self, settings: dict[str, Any]) -> bool:
        """Whether this trial was made with the trial `settings` (an asdict of `TrialSettings`): a trial of
        other settings (a planner option turned on in the config) is made again, as `LearningRun.learned_with`.
        A record without settings counts as made with its config's, a setting added after it was made as
        what the trials did before it existed (`TRIAL_SETTINGS_ADDED`)."""
        made = {**settings, **TRIAL_SETTINGS_ADDED} if not self.trial else {
            **{k: v for k, v in TRIAL_SETTINGS_ADDED.items() if k not in self.trial}, **self.trial}
        return made == settings

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        d = _strict_kwargs(cls, data)
        d["spec"] = TrialSpec.from_dict(d["spec"])
        return cls(**d)


@dataclass(frozen=True)
class LearningSpec:
    """One method learning from learning seed `learning_seed`'s failure event."""

    experiment: str
    architecture: str
    method: Method
    learning_seed: int

    @property
    def key(self) -> str:
        return f"{self.architecture}/{self.method.value}/{self.learning_seed}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "method": self.method.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearningSpec:
        d = _strict_kwargs(cls, data)
        d["method"] = Method.parse(d["method"])
        return cls(**d)


@dataclass
class LearningRun:
    spec: LearningSpec
    event_id: str
    parent_version: str
    parent_sha256: str
    child_version: str  # "" when nothing was published
    validated: bool
    reason: str  # the validation's verdict, as finetune reports it
    served_version: str  # the model this run's trials plan with: the child if validated, else the parent
    served_sha256: str
    store: str  # the run's own model store (a copy of the parent's; nothing else writes into it)
    dplus_recorded: int
    dplus_requested: int
    failure_satisfaction: float  # A.15: share of the failure relations that hold in D+ (simulated)
    action_std_m: float  # A.15: std of D+'s placement parameters (m)
    model_satisfaction: float  # share of R^F the model keeps under the state particles
    failure_accuracy: float  # share of the failure relations the child predicts right
    times_s: dict[str, float] = field(default_factory=dict)
    # the experiment's `LearningSettings` the run was made with (asdict); {} in records made before
    # 2026-12-04, which are taken as made with their config's settings (`learned_with`)
    learner: dict[str, Any] = field(default_factory=dict)
    # A.15 satisfaction over the relations the state particles were asked to keep (`StateRelations`;
    # dplus.DPlusStats.kept_relation_satisfaction); None in records made before 2026-12-06
    kept_satisfaction: float | None = None
    kind: str = "learning"
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "spec": self.spec.to_dict()}

    def learned_with(self, settings: dict[str, Any]) -> bool:
        """Whether this run was made with the learner `settings` (an asdict of `LearningSettings`): a
        run of other settings (a changed default, an edited config) is not a record of this
        experiment any more and is made again. A record without settings (made before they were
        recorded) counts as made with its config's; a setting added to `LearningSettings` after the
        record was made counts as what the learner did before it existed (`LEARNER_SETTINGS_ADDED`)."""
        if not self.learner:
            return True
        missing = {k: v for k, v in LEARNER_SETTINGS_ADDED.items() if k not in self.learner}
        return {**missing, **self.learner} == settings

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearningRun:
        d = _strict_kwargs(cls, data)
        d["spec"] = LearningSpec.from_dict(d["spec"])
        return cls(**d)


# A `TrialSettings` field added after trial records carried their settings (or added with them) -> the
# value every trial made before it had, so adding a setting does not void them (`TrialResult.made_with`).
TRIAL_SETTINGS_ADDED: dict[str, Any] = {
    "grounded_top_k": 0,  # 2026-12-07 (session 23): PlannerConfig.grounded_top_k (latent rollouts decided)
    # 2026-12-07 (session 26): ExecutiveConfig.replan_below. Trials before it replanned after every mismatch and
    # judged each step against the first plan's prediction. For a one-skill task (transport) that is exactly what
    # the executive does now at any replan_below (its plan has no rest after its step), so its configs say 1.0 and
    # keep their records; a multi-step task's config must not set 1.0 while it holds records from before.
    "replan_below": 1.0,
    "robot": "floating",  # 2026-12-07 (session 27): TrialSettings.robot (issue 20); every trial before it floated
    "cem_grounded": False,  # 2026-12-07 (session 28): PlannerConfig.cem_grounded (CEM's elite by latent rollouts)
    "free_space": False,  # 2026-12-08 (session 29): SamplingConfig.free_space (placements anywhere in the window)
    "cem_factored": False,  # 2026-12-08 (session 29): PlannerConfig.cem_factored (one elite for every step)
    "retry": "always",  # 2026-12-08 (session 29): ExecutiveConfig.retry (a replan always began with the failed step)
}

# A `LearningSettings` field added after learning records carried their settings -> the value every
# run made before it had (the learner's behaviour then), so adding a setting does not void them.
LEARNER_SETTINGS_ADDED: dict[str, Any] = {
    "init_spread": 0.03,  # 2026-12-05: InferenceConfig.init_spread, recorded from then on
    "action_starts": 1,  # 2026-12-05: InferenceConfig.action_starts (one uniform draw per particle before)
    "state_init": "local",  # 2026-12-06: InferenceConfig.state_init (StateInit.LOCAL before)
    "state_starts": 1,  # 2026-12-06: InferenceConfig.state_starts
    "state_relations": "all",  # 2026-12-06: InferenceConfig.state_relations (Eq. 4 over every relation before)
    "max_offset": 0.15,  # 2026-12-06: InferenceConfig.max_offset, recorded from then on
    "reachable": False,  # 2026-12-06: InferenceConfig.reachable
    "rigid_contents": False,  # 2026-12-06: InferenceConfig.rigid_contents (contents stepped on their own)
    "scatter_acted": True,  # 2026-12-06: FinetuneConfig.scatter_acted
    "scatter_static": True,  # 2026-12-06: FinetuneConfig.scatter_static (the tables scattered too)
    "scatter_replay": True,  # 2026-12-06: FinetuneConfig.scatter_replay (object_slots scattered every path)
    "position_power": 0.0,  # 2026-12-06: FinetuneConfig.position_power (the parent's, A.11's 0.5)
    "position_weight": 1.0,  # 2026-12-06: FinetuneConfig.position_weight
    "remember_occluded": False,  # 2026-12-06: LearnerConfig.remember_occluded (unseen objects empty in D+)
    "skip_misread": False,  # 2026-12-07: LearnerConfig.skip_misread (misreadings of O^F' were failure relations)
    "contradiction_margin": 0.0,  # 2026-12-07: LearnerConfig.contradiction_margin (every mismatch counted)
    "unmoved_anywhere": False,  # 2026-12-07 (session 23): InferenceConfig.unmoved_anywhere (within max_offset)
    "other_supports": False,  # 2026-12-07 (session 23): InferenceConfig.other_supports (each object on its own)
    "relocated_contents": False,  # 2026-12-07 (session 24): InferenceConfig.relocated_contents (own box only)
    "relative_bias": False,  # 2026-12-07 (session 25): FinetuneConfig.relative_bias (Dyn as the parent's)
    "gate_relations": "all",  # 2026-12-06 (session 19): FinetuneConfig.gate_relations
    "state_iterations": 8,  # 2026-12-06 (session 20): InferenceConfig.state_iterations, recorded from then on
    "action_iterations": 10,  # 2026-12-06 (session 20): InferenceConfig.action_iterations, recorded from then on
    "state_lr": 0.04,  # 2026-12-06 (session 20): InferenceConfig.state_lr (the states took `lr`'s step before)
}


@dataclass
class FailureSearch:
    """The failure of one learning seed: scenes tried in order until one was an incorrect prediction."""

    experiment: str
    architecture: str
    learning_seed: int
    task: str
    n_objects: int
    event_id: str  # "" when no scene of the search range failed that way
    scene_seed: int  # the scene that gave the event (-1 when none)
    tried: list[dict[str, Any]]  # per scene: seed, success, classification of its failure ("" if none)
    parent_version: str
    parent_sha256: str
    seconds: float
    # what the executive judged each step against (f2p_monitor.executive.STEP_JUDGEMENT); records made before
    # 2026-12-07 (session 27) say nothing and were judged against the first plan's rollout
    judged: StepJudgement = StepJudgement.FIRST_PLAN
    kind: str = "failure_search"
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> str:
        return f"{self.architecture}/{self.learning_seed}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "judged": self.judged.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FailureSearch:
        d = _strict_kwargs(cls, data)
        if "judged" in d:
            d["judged"] = StepJudgement(d["judged"])
        return cls(**d)


RECORD_TYPES = {"trial": TrialResult, "learning": LearningRun, "failure_search": FailureSearch}


def to_json(record) -> str:
    """One compact JSON line (no spaces, floats to 5 significant digits: what a table needs)."""
    return json.dumps(_round(record.to_dict()), separators=(",", ":"), sort_keys=True)


def from_json(line: str):
    data = json.loads(line)
    kind = data.get("kind")
    if kind not in RECORD_TYPES:
        raise ValueError(f"record of unknown kind {kind!r}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"record schema {data.get('schema_version')} (this code reads {SCHEMA_VERSION})")
    return RECORD_TYPES[kind].from_dict(data)


def _round(x):
    if isinstance(x, float):
        return float(f"{x:.5g}")
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_round(v) for v in x]
    return x


SHA_DIGITS = 16


def short_sha(sha256: str) -> str:
    """The first `SHA_DIGITS` hex digits of a weights file's sha256: what records name a model by
    (64 bits tell the models of an experiment apart and keep a trial's line short)."""
    return sha256[:SHA_DIGITS]


def record_key(record) -> str:
    return record.spec.key if hasattr(record, "spec") else record.key
