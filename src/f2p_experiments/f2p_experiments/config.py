"""Experiments as data: `experiments/configs/*.yaml` → `ExperimentConfig` → the specs to run.

A config names the architecture, the methods, the test cells (task, object count, camera, noise),
the number of learning seeds and of fresh trials per learning seed, the training task the failures
come from, and the settings every method shares (replanning budget, planner samples, learner
data). A `scales:` map holds named variants (e.g. `smoke`, which CI runs in seconds with an
untrained toy model); a scale's keys replace the top-level ones (maps are merged one level deep).

Seeds (experiments/README.md "Protocol"): learning seed l's trials use scenes
`trial_seed_base + l * trials_per_seed + t`, t < trials_per_seed; methods that do not learn run the
same L × N scenes with the pre-trained model, so every method of a cell sees the same scenes. Failure
scenes come from `learning.failure_seeds` (from `search.seed_base`), a range no trial seed may reach
(checked here). A development scale sets its own `trial_seed_base` and `search.seed_base`, so what
is tried while developing the method never sees the scenes or the failures of the full run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from f2p_experiments.learning import FAILURE_SEED_STRIDE, LearningSettings, SearchSettings
from f2p_experiments.records import LearningSpec, TrialSpec
from f2p_experiments.trial import TrialSettings
from f2p_learner.finetune import GateRelations
from f2p_learner.inference import ActionRelations, StateInit, StateRelations
from f2p_learner.methods import Method
from f2p_model.config import ARCHITECTURES, SCHEDULES
from f2p_monitor.executive import RetryRule
from f2p_perception.backends import BACKENDS
from f2p_planner.planner import PlanMethod
from f2p_sim.stretch_world import HEAD_CAMERA, RobotModel, scene_camera
from f2p_sim.tasks import DISTRIBUTIONS


class ConfigError(ValueError):
    """An experiment config that cannot be run; the message names the field."""


TASKS = tuple(d for d in DISTRIBUTIONS if d != "pretrain")


@dataclass(frozen=True)
class Cell:
    """One test condition of a table: fresh scenes of `task` with `objects` objects seen by `camera`."""

    task: str
    objects: int
    camera: str = "default"
    noise: float = 0.0  # sensor noise on the cloud (m), Fig. 3b
    perception: str = "sim_gt"  # the backend segmenting the clouds (f2p_perception.backends): sim_gt, geometric

    def check(self, where: str) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"{where}.task: unknown task {self.task!r}; known: {', '.join(TASKS)}")
        if self.perception not in BACKENDS:
            raise ConfigError(f"{where}.perception: unknown backend {self.perception!r}; known: "
                              f"{', '.join(sorted(BACKENDS))}")
        try:
            scene_camera(self.camera)
        except ValueError as exc:
            raise ConfigError(f"{where}.camera: {exc}") from None
        if self.objects < 1:
            raise ConfigError(f"{where}.objects must be >= 1, got {self.objects}")
        if self.noise < 0:
            raise ConfigError(f"{where}.noise must be >= 0, got {self.noise}")

    @property
    def label(self) -> str:
        extra = ("" if self.camera == "default" else f" {self.camera}") + (f" σ={self.noise:g}" if self.noise else "")
        extra += "" if self.perception == "sim_gt" else f" ({self.perception})"
        return f"{self.task} {self.objects} obj{extra}"


@dataclass(frozen=True)
class ModelSource:
    """The pre-trained parent: a version of a store, or (`tiny_seed` set) an untrained toy model
    built and published on the fly, for smoke runs and tests."""

    store: str = "models"
    version: str = "latest"
    tiny_seed: int | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    experiment: str
    methods: tuple[Method, ...]
    cells: tuple[Cell, ...]
    architecture: str = "points2plans"
    description: str = ""
    learning_seeds: int = 5  # L
    trials_per_seed: int = 20  # N per learning seed; a cell holds L × N trials
    trial_seed_base: int = 1000
    trial: TrialSettings = field(default_factory=TrialSettings)
    model: ModelSource = field(default_factory=ModelSource)
    search: SearchSettings = field(default_factory=SearchSettings)
    learner: LearningSettings = field(default_factory=LearningSettings)
    scale: str = "full"
    # the paper's success rates (%) by method name, one per cell (None where the paper has none)
    paper: dict[str, tuple[float | None, ...]] = field(default_factory=dict)

    def _check_robots(self) -> None:
        """`trial.robot` and `search.robot` are RobotModel names; the `head` camera needs the Stretch."""
        for where, robot, cameras in (("trial", self.trial.robot, [c.camera for c in self.cells]),
                                      ("search", self.search.robot, [self.search.camera])):
            try:
                model = RobotModel(robot)
            except ValueError:
                raise ConfigError(f"{where}.robot: unknown {robot!r}; known: "
                                  f"{', '.join(r.value for r in RobotModel)}") from None
            if HEAD_CAMERA in cameras and model is not RobotModel.STRETCH:
                raise ConfigError(f"{where}: camera 'head' is the Stretch's head camera: it needs robot 'stretch'")
        try:
            scene_camera(self.search.camera)
        except ValueError as exc:
            raise ConfigError(f"search.camera: {exc}") from None

    def __post_init__(self) -> None:
        if not self.experiment or "/" in self.experiment:
            raise ConfigError(f"experiment: a name without '/' is required, got {self.experiment!r}")
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture: unknown {self.architecture!r}; known: {', '.join(ARCHITECTURES)}")
        if not self.methods:
            raise ConfigError("methods: at least one method is required")
        if not self.cells:
            raise ConfigError("cells: at least one cell is required")
        for i, cell in enumerate(self.cells):
            cell.check(f"cells[{i}]")
        if self.learning_seeds < 1:
            raise ConfigError(f"learning_seeds must be >= 1, got {self.learning_seeds}")
        if self.trials_per_seed < 1:
            raise ConfigError(f"trials_per_seed must be >= 1, got {self.trials_per_seed}")
        if self.trial.replan_budget < 0 or self.trial.planner_samples < 1:
            raise ConfigError("trial.replan_budget must be >= 0 and trial.planner_samples >= 1")
        if self.trial.planner not in {m.value for m in PlanMethod}:
            raise ConfigError(f"trial.planner: unknown {self.trial.planner!r}; known: "
                              f"{', '.join(m.value for m in PlanMethod)}")
        try:  # the planner's and executive's own checks (cem_grounded needs cem, ...), before any job runs
            self.trial.planner_config()
            RetryRule(self.trial.retry)
        except ValueError as exc:
            raise ConfigError(f"trial: {exc}") from exc
        if self.search.task not in TASKS or self.search.n_objects < 1 or self.search.max_scenes < 1:
            raise ConfigError(f"search: task must be one of {', '.join(TASKS)}, n_objects and max_scenes >= 1")
        if self.search.noise < 0:
            raise ConfigError(f"search.noise must be >= 0, got {self.search.noise}")
        self._check_robots()
        if self.learner.particles < 1 or self.learner.epochs < 1:
            raise ConfigError("learner.particles and learner.epochs must be >= 1")
        if self.learner.action_objective not in ("joint", "per_relation"):
            raise ConfigError(f"learner.action_objective must be 'joint' or 'per_relation', got "
                              f"{self.learner.action_objective!r}")
        try:
            ActionRelations.parse(self.learner.action_relations)
        except ValueError as e:
            raise ConfigError(f"learner.action_relations: {e}") from None
        try:
            StateInit.parse(self.learner.state_init)
        except ValueError as e:
            raise ConfigError(f"learner.state_init: {e}") from None
        try:
            StateRelations.parse(self.learner.state_relations)
        except ValueError as e:
            raise ConfigError(f"learner.state_relations: {e}") from None
        try:
            GateRelations.parse(self.learner.gate_relations)
        except ValueError as e:
            raise ConfigError(f"learner.gate_relations: {e}") from None
        if not self.learner.max_offset > 0:
            raise ConfigError(f"learner.max_offset must be > 0, got {self.learner.max_offset}")
        if self.learner.state_starts < 1 or self.learner.action_starts < 1:
            raise ConfigError(f"learner.state_starts and learner.action_starts must be >= 1, got "
                              f"{self.learner.state_starts}, {self.learner.action_starts}")
        if self.learner.state_iterations < 0 or self.learner.action_iterations < 0:
            raise ConfigError(f"learner.state_iterations and learner.action_iterations must be >= 0, got "
                              f"{self.learner.state_iterations}, {self.learner.action_iterations}")
        if not self.learner.state_lr > 0:
            raise ConfigError(f"learner.state_lr must be > 0, got {self.learner.state_lr}")
        if self.learner.replay_n < 1:
            raise ConfigError(f"learner.replay_n must be >= 1, got {self.learner.replay_n}")
        if self.learner.replay_per_epoch < 0:
            raise ConfigError(f"learner.replay_per_epoch must be >= 0 (0: all of the replay), got "
                              f"{self.learner.replay_per_epoch}")
        if self.learner.dplus_repeats < 1:
            raise ConfigError(f"learner.dplus_repeats must be >= 1, got {self.learner.dplus_repeats}")
        if self.learner.l2_to_parent < 0:
            raise ConfigError(f"learner.l2_to_parent must be >= 0 (0: off), got {self.learner.l2_to_parent}")
        if not 0 <= self.learner.position_power <= 2 or self.learner.position_weight < 0:
            raise ConfigError(f"learner.position_power must be in [0, 2] (0: the parent's) and learner.position_weight "
                              f">= 0, got {self.learner.position_power} and {self.learner.position_weight}")
        if self.learner.schedule not in SCHEDULES:
            raise ConfigError(f"learner.schedule must be one of {', '.join(SCHEDULES)}, got "
                              f"{self.learner.schedule!r}")
        if self.learner.lr < 0:
            raise ConfigError(f"learner.lr must be >= 0 (0: the parent's rate), got {self.learner.lr}")
        if self.learner.anchors < 0:
            raise ConfigError(f"learner.anchors must be >= 0, got {self.learner.anchors}")
        for m, values in self.paper.items():
            if m not in {x.value for x in self.methods} or len(values) != len(self.cells):
                raise ConfigError(f"paper.{m}: a method of this config with one value per cell "
                                  f"({len(self.cells)}) is required")
        if self.search.max_scenes > FAILURE_SEED_STRIDE:
            raise ConfigError(f"search.max_scenes must be <= {FAILURE_SEED_STRIDE}")
        last = self.trial_seed_base + self.learning_seeds * self.trial_seed_stride
        fail_lo = self.search.seed_base
        fail_hi = fail_lo + FAILURE_SEED_STRIDE * self.learning_seeds
        if self.trial_seed_base < 0 or not (last <= fail_lo or self.trial_seed_base >= fail_hi):
            raise ConfigError(f"trial seeds {self.trial_seed_base}..{last - 1} must stay clear of the failure seeds "
                              f"({fail_lo}..{fail_hi - 1})")

    @property
    def learning_methods(self) -> tuple[Method, ...]:
        return tuple(m for m in self.methods if m.learns)

    @property
    def name(self) -> str:
        """Directory name of this scale's results: the experiment, suffixed unless full scale."""
        return self.experiment if self.scale == "full" else f"{self.experiment}-{self.scale}"

    @property
    def trial_seed_stride(self) -> int:
        return self.trials_per_seed

    def trial_seeds(self, learning_seed: int) -> range:
        start = self.trial_seed_base + learning_seed * self.trial_seed_stride
        return range(start, start + self.trials_per_seed)

    def learning_specs(self) -> list[LearningSpec]:
        return [LearningSpec(self.experiment, self.architecture, m, seed)
                for seed in range(self.learning_seeds) for m in self.learning_methods]

    def trial_specs(self) -> list[TrialSpec]:
        """Every trial, learning seed by learning seed (so a partial run covers every method)."""
        specs = []
        for seed in range(self.learning_seeds):
            for cell in self.cells:
                for m in self.methods:
                    for s in self.trial_seeds(seed):
                        specs.append(TrialSpec(self.experiment, self.architecture, m, cell.task, cell.objects,
                                               cell.camera, cell.noise, s, seed if m.learns else None,
                                               cell.perception))
        return specs


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _section(cls, data: Any, where: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a map is required, got {data!r}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known: {sorted(names)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


TOP_KEYS = {"experiment", "architecture", "description", "methods", "cells", "learning_seeds", "trials_per_seed",
            "trial_seed_base", "trial", "model", "search", "learner", "scales", "paper"}


def from_dict(data: dict[str, Any], scale: str = "full") -> ExperimentConfig:
    if not isinstance(data, dict):
        raise ConfigError("an experiment config is a YAML map")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown keys {unknown}; known: {sorted(TOP_KEYS)}")
    scales = data.get("scales") or {}
    if scale != "full":
        if scale not in scales:
            raise ConfigError(f"scale {scale!r} is not defined; defined: full, {', '.join(scales) or '(none)'}")
        data = _merge(data, scales[scale])
    methods = []
    for i, name in enumerate(data.get("methods") or []):
        try:
            methods.append(Method.parse(name))
        except ValueError as exc:
            raise ConfigError(f"methods[{i}]: {exc}") from None
    cells = tuple(_section(Cell, c, f"cells[{i}]") for i, c in enumerate(data.get("cells") or []))
    paper = data.get("paper") or {}
    if not isinstance(paper, dict):
        raise ConfigError("paper: a map of method -> one value per cell is required")
    paper = {str(k): tuple(v) for k, v in paper.items() if isinstance(v, list) or _raise(f"paper.{k}: a list")}
    if scale != "full":  # a scale's cells are not the paper's
        paper = {}
    kw = {k: data[k] for k in ("learning_seeds", "trials_per_seed", "trial_seed_base", "architecture", "description")
          if k in data}
    return ExperimentConfig(
        experiment=str(data.get("experiment", "")), methods=tuple(methods), cells=cells,
        trial=_section(TrialSettings, data.get("trial"), "trial"),
        model=_section(ModelSource, data.get("model"), "model"),
        search=_section(SearchSettings, data.get("search"), "search"),
        learner=_section(LearningSettings, data.get("learner"), "learner"), scale=scale, paper=paper, **kw)


def _raise(message: str):
    raise ConfigError(message)


def with_learner(config: ExperimentConfig, items: list[str]) -> ExperimentConfig:
    """`config` with learner settings changed by "KEY=VALUE" items (values read as YAML scalars, as in a
    config file: `lr=0.001`, `skip_misread=false`); an unknown key is a ConfigError naming the known ones.
    For diagnostics that rerun a config's learner with one setting changed, not for experiments (their
    settings live in the config)."""
    over = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"learner override {item!r}: KEY=VALUE is required")
        over[key] = yaml.safe_load(value)
    learner = _section(LearningSettings, {**asdict(config.learner), **over}, "learner")
    return replace(config, learner=learner)


def load(path: str | Path, scale: str = "full") -> ExperimentConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no experiment config at {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not YAML ({exc})") from None
    try:
        return from_dict(data, scale)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
