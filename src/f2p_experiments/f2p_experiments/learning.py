"""The two learning stages of the protocol (experiments/README.md "Protocol").

`find_failure`: for one learning seed, scenes of the training task run with the executive (monitor
on, failures stored and classified, no replanning, no learner) until the first failure classified
as an incorrect prediction in a task that did not reach its goal (the executive does not learn from a
failure after which the goal holds either) and that has a failure relation the skill's effect explains
(`f2p_learner.inference.effect_relations`: one whose every mismatch is the parent misreading the scene
before or after teaches D+ nothing; its id is listed under "misread" in the search's `tried`). Scene
seeds come from `failure_seeds`, a range no trial seed can fall into (`ExperimentConfig` checks it).

`run_learning`: one method learns from that event, from the pre-trained parent, into a model store of
its own (`child_store`: a copy holding only the parent), so one method's learning never reaches
another method's trials. The learner is `Fail2ProgressLearner` with the method's particles; the
rest of the pipeline (D+, fine-tuning, validation) is shared. The run's trials plan with the child
when it was validated, else with the parent: what the robot would be serving.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from f2p_core.failure import FailureClass
from f2p_experiments.records import FailureSearch, LearningRun, LearningSpec, TrialSpec, short_sha
from f2p_experiments.trial import run_episode
from f2p_learner.finetune import FinetuneConfig
from f2p_learner.inference import InferenceConfig, effect_relations
from f2p_learner.learner import Fail2ProgressLearner, LearnerConfig
from f2p_learner.methods import Method
from f2p_model.store import ModelStore
from f2p_monitor.executive import STEP_JUDGEMENT, ExecutiveConfig
from f2p_monitor.failure_store import FailureStore
from f2p_planner.planner import PlannerConfig

#: failure seeds of learning seed l: SearchSettings.seed_base + FAILURE_SEED_STRIDE * l + k
FAILURE_SEED_BASE = 1_000_000
FAILURE_SEED_STRIDE = 1_000


@dataclass(frozen=True)
class SearchSettings:
    task: str = "transport"  # the training task (A.14: learned on 3 objects)
    n_objects: int = 3
    max_scenes: int = 50  # scenes tried per learning seed before giving up
    planner_samples: int = 1000
    # first failure seed: a development scale sets its own, so its failures never are the full run's
    seed_base: int = FAILURE_SEED_BASE
    noise: float = 0.0  # sensor noise (m) on the clouds of the failure scenes (Fig. 3b: the robot fails with it)
    robot: str = "floating"  # RobotModel that executes the failure scenes' skills (as the trials': TrialSettings.robot)
    camera: str = "default"  # what the executive sees in them (head: the Stretch's)


@dataclass(frozen=True)
class LearningSettings:
    heldout: str | None = "data/heldout_pretrain"  # the learner's no-regression check
    replay: str | None = "data/replay_480"  # pre-training transitions mixed into fine-tuning
    replay_n: int = 480  # transitions the runner makes at `replay` when it is missing (seed 7, as `f2p demo`)
    replay_per_epoch: int = FinetuneConfig.replay_per_epoch  # replay drawn afresh each epoch (0: all of it)
    dplus_repeats: int = FinetuneConfig.dplus_repeats  # times D+ appears in each fine-tuning epoch
    schedule: str = FinetuneConfig.schedule  # fine-tuning rate "constant" or "cosine"
    l2_to_parent: float = 0.0  # FinetuneConfig.l2_to_parent: L2-SP weight towards the parent (0: off)
    position_power: float = 0.0  # FinetuneConfig.position_power: the position loss's power (0: the parent's)
    position_weight: float = 1.0  # FinetuneConfig.position_weight: a factor on the parent's position weight
    relative_bias: bool = False  # FinetuneConfig.relative_bias: a relative-geometry bias fine-tuned into Dyn
    particles: int = 20  # M (A.5)
    state_iterations: int = InferenceConfig.state_iterations  # SVGD iterations over the state particles (Eq. 5)
    state_lr: float = InferenceConfig.state_lr  # their Adam step (m, rad)
    action_iterations: int = InferenceConfig.action_iterations  # SVGD iterations over the action particles (Eq. 7)
    init_spread: float = InferenceConfig.init_spread  # state particles start within this of O^F (m)
    action_starts: int = InferenceConfig.action_starts  # each action particle starts at the best of this many draws
    state_init: str = InferenceConfig.state_init  # StateInit: where state particles start, what the prior draws
    state_starts: int = InferenceConfig.state_starts  # StateInit.PRIOR: each particle starts at the best of this many
    state_relations: str = InferenceConfig.state_relations  # StateRelations: the relations of R^F the states keep
    max_offset: float = InferenceConfig.max_offset  # the state prior's box: |dx|, |dy| of a particle (m)
    reachable: bool = InferenceConfig.reachable  # particles kept in the robot's workspace (InferenceConfig.reachable)
    rigid_contents: bool = InferenceConfig.rigid_contents  # contents follow their container in the posterior too
    other_supports: bool = InferenceConfig.other_supports  # what the skill does not move may stand on either table
    unmoved_anywhere: bool = InferenceConfig.unmoved_anywhere  # ... and anywhere over it, not within max_offset
    relocated_contents: bool = InferenceConfig.relocated_contents  # ... with their contents (SVGD's bounds)
    epochs: int = FinetuneConfig.epochs  # fine-tuning epochs (A.11: 200)
    lr: float = 0.0  # FinetuneConfig.lr: fine-tuning Adam rate, 0 = the parent's pre-training rate
    stop_when_learned: bool = False  # FinetuneConfig.stop_when_learned: stop once the failure is learned
    freeze_encoder: bool = True  # FinetuneConfig.freeze_encoder: Dyn and decoders only
    freeze_decoders: bool = False  # FinetuneConfig.freeze_decoders: Dyn only
    anchors: int = 8  # LearnerConfig.anchors: re-simulations of the failure itself in D+
    remember_occluded: bool = True  # LearnerConfig.remember_occluded: D+ shows unseen objects as believed
    skip_misread: bool = LearnerConfig.skip_misread  # which mismatches are failure relations (also for the
    contradiction_margin: float = LearnerConfig.contradiction_margin  # failure search: find_failure)
    gate_relations: str = FinetuneConfig.gate_relations  # FinetuneConfig.gate_relations: what the gate counts
    object_slots: int = 0  # FinetuneConfig.object_slots: objects in random rows while fine-tuning (0: off)
    scatter_replay: bool = FinetuneConfig.scatter_replay  # FinetuneConfig.scatter_replay: the replay's rows too
    scatter_acted: bool = FinetuneConfig.scatter_acted  # FinetuneConfig.scatter_acted: the acted object's row too
    scatter_static: bool = FinetuneConfig.scatter_static  # FinetuneConfig.scatter_static: the tables' rows too
    action_objective: str = "joint"  # InferenceConfig.action_objective: Eq. 7's ln H, "joint" or "per_relation"
    action_relations: str = InferenceConfig.action_relations  # ActionRelations: "failure", "moved" or "all"


def failure_seeds(learning_seed: int, max_scenes: int, seed_base: int = FAILURE_SEED_BASE) -> range:
    if max_scenes > FAILURE_SEED_STRIDE:
        raise ValueError(f"max_scenes must be <= {FAILURE_SEED_STRIDE}, got {max_scenes}")
    start = seed_base + FAILURE_SEED_STRIDE * learning_seed
    return range(start, start + max_scenes)


def find_failure(experiment: str, architecture: str, learning_seed: int, model, version: str, parent_sha256: str,
                 failures: FailureStore, settings: SearchSettings, learner: LearningSettings | None = None
                 ) -> FailureSearch:
    """The first incorrect-prediction failure of `learning_seed`'s scenes with a failure relation as
    `learner` chooses them (module docstring; None: `effect_relations`' defaults)."""
    rule = {} if learner is None else {"skip_misread": learner.skip_misread,
                                       "contradiction_margin": learner.contradiction_margin}
    t0 = time.perf_counter()
    config = ExecutiveConfig(planner=PlannerConfig(num_samples=settings.planner_samples), monitor=True,
                             max_replans=0, classify_failures=True)
    tried: list[dict] = []
    for seed in failure_seeds(learning_seed, settings.max_scenes, settings.seed_base):
        spec = TrialSpec(experiment, architecture, Method.REPLANNING, settings.task, settings.n_objects,
                         settings.camera, settings.noise, seed)
        ep = run_episode(spec, model, version, config, store=failures, task_id=f"{settings.task}-{seed}",
                         robot=settings.robot)
        labels = [s.classification for s in ep.outcome.steps if s.event_id]
        tried.append({"seed": seed, "success": bool(ep.outcome.success), "classifications": labels})
        if ep.outcome.success:
            continue
        for step in ep.outcome.steps:
            if step.event_id and step.classification == FailureClass.INCORRECT_PREDICTION:
                if not effect_relations(failures.load(step.event_id), model, **rule):
                    tried[-1].setdefault("misread", []).append(step.event_id)  # nothing for D+ to teach
                    continue
                return FailureSearch(experiment, architecture, learning_seed, settings.task, settings.n_objects,
                                     step.event_id, seed, tried, version, parent_sha256, time.perf_counter() - t0,
                                     STEP_JUDGEMENT)
    return FailureSearch(experiment, architecture, learning_seed, settings.task, settings.n_objects, "", -1, tried,
                         version, parent_sha256, time.perf_counter() - t0, STEP_JUDGEMENT)


def child_store(parent_root: Path, version: str, dest: Path) -> ModelStore:
    """A new model store at `dest` holding only `version` of the store at `parent_root` (an earlier
    store at `dest`, from a killed run, is replaced)."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "versions").mkdir(parents=True)
    shutil.copytree(Path(parent_root) / "versions" / version, dest / "versions" / version)
    return ModelStore(dest)


def learner_config(settings: LearningSettings, method: Method, learning_seed: int, work_dir: Path,
                   finetune_seed: int = 0) -> LearnerConfig:
    """The learner of an experiment's `settings`: the particles seeded by the learning seed, fine-tuning
    by `finetune_seed` (`FinetuneConfig.seed`: the replay drawn each epoch and the batch order; 0 in
    every experiment, other values measure how much of a learning run is chance:
    experiments/tools/finetune_seeds.py)."""
    finetune = FinetuneConfig(epochs=settings.epochs, lr=settings.lr, stop_when_learned=settings.stop_when_learned,
                              freeze_encoder=settings.freeze_encoder, freeze_decoders=settings.freeze_decoders,
                              object_slots=settings.object_slots, scatter_replay=settings.scatter_replay,
                              scatter_acted=settings.scatter_acted, scatter_static=settings.scatter_static,
                              replay_per_epoch=settings.replay_per_epoch, dplus_repeats=settings.dplus_repeats,
                              schedule=settings.schedule, l2_to_parent=settings.l2_to_parent,
                              position_power=settings.position_power, position_weight=settings.position_weight,
                              gate_relations=settings.gate_relations, relative_bias=settings.relative_bias,
                              seed=finetune_seed)
    inference = InferenceConfig(particles=settings.particles, seed=learning_seed, init_spread=settings.init_spread,
                                state_iterations=settings.state_iterations, state_lr=settings.state_lr,
                                action_iterations=settings.action_iterations,
                                action_starts=settings.action_starts, state_init=settings.state_init,
                                state_starts=settings.state_starts, state_relations=settings.state_relations,
                                max_offset=settings.max_offset, reachable=settings.reachable,
                                rigid_contents=settings.rigid_contents, other_supports=settings.other_supports,
                                unmoved_anywhere=settings.unmoved_anywhere,
                                relocated_contents=settings.relocated_contents,
                                action_objective=settings.action_objective,
                                action_relations=settings.action_relations)
    return LearnerConfig(method=method.value, inference=inference, finetune=finetune, work_dir=str(work_dir),
                         heldout=settings.heldout, replay=settings.replay, anchors=settings.anchors,
                         remember_occluded=settings.remember_occluded, skip_misread=settings.skip_misread,
                         contradiction_margin=settings.contradiction_margin)


def run_learning(spec: LearningSpec, search: FailureSearch, failures: FailureStore, parent_root: Path,
                 work: Path, settings: LearningSettings) -> LearningRun:
    """`spec.method` learns from `search`'s event into its own store under `work` (module docstring)."""
    if not search.event_id:
        raise ValueError(f"learning seed {spec.learning_seed} has no failure to learn from")
    method = Method.parse_learning(spec.method)
    event = failures.load(search.event_id)
    name = f"{spec.architecture}-{method.value}-s{spec.learning_seed}"
    store = child_store(parent_root, search.parent_version, work / "stores" / name)
    config = learner_config(settings, method, spec.learning_seed, work / "learn" / name)
    learner = Fail2ProgressLearner(store, search.parent_version, config)
    learned = learner.learn(event)
    report = json.loads((Path(config.work_dir) / event.event_id / "report.json").read_text())
    if "dplus" not in report:  # the learner stopped before D+ (a search made with other failure-relation settings)
        raise ValueError(f"{spec.method.value} on event {event.event_id}: {report['result']['reason']}")
    result, dplus = report["result"], report["dplus"]
    served = learned[1] if learned is not None else search.parent_version
    metrics = result.get("metrics", {})
    return LearningRun(
        spec=spec, event_id=event.event_id, parent_version=search.parent_version,
        parent_sha256=search.parent_sha256, child_version=result.get("version", "") or "",
        validated=bool(result.get("validated")), reason=str(result.get("reason", "")), served_version=served,
        served_sha256=short_sha(store.read_meta(served).weights_sha256), store=str(store.root),
        dplus_recorded=int(dplus["recorded"]), dplus_requested=int(dplus["particles"]),
        failure_satisfaction=float(dplus["failure_relation_satisfaction"]), action_std_m=float(dplus["action_std_m"]),
        model_satisfaction=float(report["proposal"]["model_satisfaction"]),
        failure_accuracy=float(metrics.get("failure_accuracy", float("nan"))),
        times_s={k: float(v) for k, v in report["times_s"].items()}, learner=asdict(settings),
        kept_satisfaction=dplus.get("kept_relation_satisfaction"))
