"""The task executive (DESIGN.md §1, paper §4): plan → execute one skill → observe → compare the
observed relations with the plan's prediction → on a mismatch: store the failure *first*, classify
it, hand it to the learner, and replan from the current scene — until the goal holds, the skeleton
is used up, or `max_replans` is reached.

With the monitor on, every step is judged against a prediction made from the observation just
before it: after each step the rest of the plan (its skills and parameters, unchanged) is predicted
again from the new observation (`Planner.score`). A prediction carried over several skills from the
first scene drifts, and its errors about objects no skill touches showed up as "failures" at every
step. §4's failure event is (O_{k−1}, R̂_{k−1}, φ_k, R̂_k) against the model's prediction *from
O_{k−1}*, and that is now the prediction it stores.

After a mismatch the robot carries on with its plan while the model still expects the rest of it,
predicted from what was just observed, to reach the goal (p(goal) >= `replan_below`, 0.5: more
likely than not). Below that it plans again, and switches to the new plan only when the model
believes in it (p(goal) >= `replan_below`) and rates it above the rest of the current one
(`max_replans` counts the switches); when the plan is used up and the goal does not hold, any new
plan is taken. A new plan's p(goal) is the best of K samples, biased upwards against the one rest it
is compared with, and a model that believes in neither gains nothing from a retry: switching on
"rated higher" alone kept a replan after most mismatches and re-placed objects that were already
right (experiments/RESULTS.md, "Replanning undid right plans"). Replanning on every mismatch re-did steps that had
worked: with a learned HTO model (experiments/RESULTS.md, "Replanning undid right plans") 15 of 15
scenes succeeded open loop and 10 of 15 with the monitor and one replan, every one of the 5 lost to a
re-placement of an object that was already where the goal wanted it.

A replan starts with the step that failed (`ExecutiveConfig.retry`, `RetryRule`): its outcome was not
what the plan needed, so it is planned again from the scene it left, now with the model the learner
may have just published. Without the retry a one-skill task (Multi-object Transport) could never
show learning at work: its only step is the one that failed. With `RetryRule.GOAL_MISMATCH` a step
is retried only when it missed something the goal asks of what it moves: a goal atom about its acted
object or one that object holds (`moved_by`) that the model predicted to hold after it and which does
not (`missed_goal`). A mismatch elsewhere (a relation between two capsules,
a detection error about an object the step did not touch) says the model was wrong, not that the
step did not do its job; with a strong search the retry then re-placed an object that was already
right, the model rating its own predicted state above the observed one (experiments/RESULTS.md,
"A retry undid a step that had worked"). The goal is checked after every step
that failed, so a failure that happens to reach the goal ends the task as a success; such a failure
is stored and classified but not learned from while the task waits (`f2p learn --event` learns
from it later): learning takes minutes on a CPU and the task needs nothing more.

ROS-free and shared by the monitor node and the experiments. The robot, the perception, the
planner and the learner sit behind small interfaces (`Robot`, `Perception`, `Planner`, `Learner`),
so the same loop runs in simulation, on the Stretch RE2, in one process or across the ROS graph
(the monitor node implements them as action clients), and with any of the paper's methods: with
`learner=None` it is the *Replanning* baseline; with `max_replans=0` and no monitoring it is
*Original*. Without a `planner`, `run_task` plans in process with `make_planner` over `model`
(`InProcessPlanner`). An `Observer` sees every plan, observation and failure as it happens (the
monitor node turns them into feedback, rviz markers and /f2p/failures).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import numpy as np

from f2p_core.failure import FailureClass, FailureEvent, Mismatch, StepJudgement
from f2p_core.goal import Goal
from f2p_core.relations import table_lookup
from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillStatus
from f2p_core.task import TaskPlan, TaskStage
from f2p_monitor.belief import carry_occluded
from f2p_monitor.classify import classify
from f2p_monitor.failure import DetectionConfig, compare
from f2p_monitor.failure_store import FailureStore
from f2p_planner.planner import PlannerConfig, PlanResult, make_planner
from f2p_planner.skeleton import Skeleton
from f2p_sim.permanence import contents

log = logging.getLogger(__name__)

#: How `run_task` judges each step with the monitor on (module docstring): recorded with the experiments'
#: failure searches, so a search made under another judgement is made again (f2p_experiments.runner).
STEP_JUDGEMENT = StepJudgement.ONE_STEP


class Robot(Protocol):
    def execute(self, call: SkillCall) -> SkillStatus: ...


class Perception(Protocol):
    def perceive(self, rng: np.random.Generator) -> PerceivedScene: ...

    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        """Observed relations (N, U), (N, N, R) booleans of `scene`'s objects, in its order."""
        ...


class Learner(Protocol):
    def learn(self, event: FailureEvent) -> tuple[object, str] | None:
        """Learn from an incorrect-prediction failure; return (new model, its version) or None.
        The model may be None where the learner runs elsewhere (the planner node loads it)."""
        ...


class Planner(Protocol):
    def plan(self, scene: PerceivedScene, goal: Goal, skeleton: Skeleton, rng: np.random.Generator) -> TaskPlan:
        """Plan `skeleton` from `scene` towards `goal`; ValueError (GoalError, SkeletonError) when the
        goal or skeleton does not fit the scene."""
        ...

    def score(self, scene: PerceivedScene, goal: Goal, calls: list[SkillCall]) -> TaskPlan:
        """The plan of exactly `calls` (parameters as given, no search) predicted from `scene`: what the
        model expects after each and p(goal) (`f2p_planner.planner.Planner.score`)."""
        ...

    def use_model(self, model, version: str) -> None:
        """A learner produced `version` (`model` is None when it lives elsewhere): plan with it next."""
        ...


def _segments(scene: PerceivedScene) -> tuple:
    """A scene as `f2p_planner.planner.Planner` takes it: points, mask, names, boxes (N, 2, 3), classes."""
    return scene.points, scene.visible, scene.names, np.stack([scene.box_lo, scene.box_hi], axis=1), scene.classes


class InProcessPlanner:
    """`make_planner` over a model held in this process (the default of `run_task`)."""

    def __init__(self, model, config: PlannerConfig, model_version: str):
        self.model, self.config, self.model_version = model, config, model_version

    def plan(self, scene: PerceivedScene, goal: Goal, skeleton: Skeleton, rng: np.random.Generator) -> PlanResult:
        return make_planner(self.model, self.config, self.model_version).plan(*_segments(scene), goal, skeleton, rng)

    def score(self, scene: PerceivedScene, goal: Goal, calls: list[SkillCall]) -> PlanResult:
        return make_planner(self.model, self.config, self.model_version).score(*_segments(scene), goal, calls)

    def use_model(self, model, version: str) -> None:
        if model is None:
            raise ValueError(f"an in-process planner needs the model of {version}, got None")
        self.model, self.model_version = model, version


class Observer:
    """Hooks into `run_task` as it runs; every method is a no-op here, override what you need.
    Hooks must not raise (an exception aborts the task), except to cancel it on purpose."""

    def planned(self, plan: TaskPlan, scene: PerceivedScene, first_step: int) -> None:
        """A plan was made from `scene`; its skill 0 will be step `first_step` of the task."""

    def rescored(self, plan: TaskPlan, scene: PerceivedScene, first_step: int) -> None:
        """The rest of the plan, predicted again from `scene` (the observation after the step before
        `first_step`); it is what the next step is judged against unless a replan replaces it."""

    def executing(self, step: int, call: SkillCall) -> None:
        """Step `step` (0-based over the whole task) is about to run."""

    def observed(self, step: int, call: SkillCall, status: SkillStatus, before: PerceivedScene,
                 after: PerceivedScene, predicted: tuple[np.ndarray, np.ndarray],
                 observed: tuple[np.ndarray, np.ndarray], mismatches: list[Mismatch]) -> None:
        """Step `step` ran: the relations it predicted after it ((N, U), (N, N, R) probabilities)
        and those observed after it (booleans), objects in `before.names` order."""

    def failure(self, event: FailureEvent) -> None:
        """`event` is in the failure store (classified if the executive classifies), before learning."""

    def learned(self, event: FailureEvent, version: str | None) -> None:
        """The learner finished with `event`: the new model version, or None (no validated model)."""


class RetryRule(str, Enum):
    """When a replan starts with the step that failed (module docstring)."""

    ALWAYS = "always"  # after every mismatch
    GOAL_MISMATCH = "goal_mismatch"  # only when the step missed a goal atom it was predicted to make true
    NEVER = "never"  # the replan covers only the steps left


def missed_goal(mismatches: list[Mismatch], goal: Goal, involved: Collection[str] | None = None) -> bool:
    """Whether one of a step's `mismatches` is a goal atom that does not hold (and so, being a mismatch,
    was predicted to hold after the step) about an object in `involved` (None: any object)."""
    wanted = {atom.key: not atom.negated for atom in goal.atoms}
    return any(wanted.get((m.relation, m.subject, m.object), m.observed) != m.observed
               and (involved is None or m.subject in involved or m.object in involved) for m in mismatches)


def moved_by(call: SkillCall, before: PerceivedScene) -> set[str]:
    """The objects a skill is meant to move: its acted object and what that holds in the scene before it
    (`f2p_sim.permanence.contents`, the rule object permanence carries contents by), so a carried
    container's contents are part of what the step is for; not the support it places onto."""
    acted = call.object_ids[0]
    if acted not in before.names:
        return {acted}
    held = contents(before.box_lo, before.box_hi, before.visible, before.index(acted))
    return {acted} | {before.names[i] for i in np.flatnonzero(held)}


@dataclass
class ExecutiveConfig:
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    max_replans: int = 3
    monitor: bool = True  # False: execute the first plan open loop (Original)
    classify_failures: bool = True
    retry: RetryRule = RetryRule.ALWAYS  # when a replan plans the failed step again (module docstring)
    # the p(goal) a plan needs to be followed (module docstring): after a mismatch the rest of the plan, predicted
    # from the observation, is kept while it has it; otherwise a new plan replaces it only if the new one has it
    replan_below: float = 0.5

    def __post_init__(self) -> None:
        self.retry = RetryRule(self.retry)
        if not 0.0 < self.replan_below <= 1.0:
            raise ValueError(f"replan_below must lie in (0, 1], got {self.replan_below}")
        if self.max_replans < 0:
            raise ValueError(f"max_replans must be >= 0, got {self.max_replans}")


@dataclass
class StepLog:
    step: int
    skill: str
    status: SkillStatus
    mismatches: int
    event_id: str = ""
    classification: FailureClass | None = None  # set with event_id once the failure is classified


@dataclass
class TaskOutcome:
    success: bool
    steps: list[StepLog]
    failures: list[str]  # event ids
    replans: int
    model_version: str
    final_unary: np.ndarray
    final_binary: np.ndarray
    names: list[str]
    seconds: float
    error: str = ""  # why the task could not be planned (e.g. a goal object that is not perceived)


def _handle_failure(event: FailureEvent, entry: StepLog, reached: bool, config: ExecutiveConfig, store: FailureStore,
                    learner: Learner | None, watch: Observer, say: Callable[[TaskStage, float, str], None],
                    fraction: float) -> tuple[object, str] | None:
    """One failure event of a step (§4, §5.1): persisted before anything else happens, classified, and,
    an incorrect prediction that did not reach the goal anyway, sent to the learner. Returns what the
    learner published, (model, version), or None."""
    store.save(event)
    entry.event_id = event.event_id
    log.info("failure %s at step %d: %s", event.event_id, entry.step, "; ".join(m.text() for m in event.mismatched[:3]))
    if config.classify_failures:
        say(TaskStage.CLASSIFYING, fraction, event.event_id)
        c = classify(event)
        store.update_classification(event.event_id, c.label)
        event.classification = entry.classification = c.label
        log.info("failure %s classified %s: %s", event.event_id, c.label, c.reason)
    watch.failure(event)
    if reached:
        log.info("failure %s: the goal holds anyway; stored for learning later, not learned now", event.event_id)
    if event.classification != FailureClass.INCORRECT_PREDICTION or learner is None or reached:
        return None
    say(TaskStage.LEARNING, fraction, event.event_id)
    learned = learner.learn(event)
    watch.learned(event, learned[1] if learned is not None else None)
    return learned


def _unplannable(task_id: str, exc: ValueError, perception: Perception, scene: PerceivedScene, steps: list[StepLog],
                 failures: list[str], replans: int, model_version: str, say: Callable[[TaskStage, float, str], None],
                 t0: float) -> TaskOutcome:
    """The outcome of a task whose (re)plan was refused (GoalError/SkeletonError: e.g. an object the
    camera does not see)."""
    why = str(exc).splitlines()[0]
    log.error("task %s cannot be planned: %s", task_id, why)
    u, b = perception.relations(scene)
    say(TaskStage.DONE, 1.0, "planning failed")
    return TaskOutcome(False, steps, failures, replans, model_version, u, b, scene.names, time.perf_counter() - t0,
                       error=why)


def run_task(task_id: str, goal: Goal, skeleton: Skeleton, robot: Robot, perception: Perception, model,
             model_version: str, config: ExecutiveConfig, rng: np.random.Generator, *,
             store: FailureStore | None = None, learner: Learner | None = None,
             progress: Callable[[TaskStage, float, str], None] | None = None, planner: Planner | None = None,
             observer: Observer | None = None) -> TaskOutcome:
    """Run one task to its end (module docstring). `progress(stage, fraction, message)`.

    `planner` (default: `InProcessPlanner(model, config.planner, model_version)`) makes every plan;
    the outcome's model version is the one the last plan states (or the learner's newest)."""
    t0 = time.perf_counter()
    say = progress or (lambda stage, frac, msg: None)
    watch = observer or Observer()
    planner = planner if planner is not None else InProcessPlanner(model, config.planner, model_version)
    steps: list[StepLog] = []
    failures: list[str] = []
    replans = 0
    remaining = list(skeleton.steps)
    relations = config.detection.names({a.relation for a in goal.atoms})
    done_steps = 0

    def frac() -> float:
        return done_steps / max(done_steps + len(remaining), 1)

    scene = perception.perceive(rng)
    plan: TaskPlan | None = None
    h = 0  # the next step's index in `plan`
    while remaining:
        if plan is None:
            say(TaskStage.PLANNING if not replans else TaskStage.REPLANNING, frac(),
                f"{len(remaining)} skill(s) left" + (f", model {model_version}" if model_version else ""))
            try:
                plan = planner.plan(scene, goal, Skeleton(remaining), rng)
            except ValueError as exc:  # GoalError/SkeletonError: e.g. an object the camera does not see
                return _unplannable(task_id, exc, perception, scene, steps, failures, replans, model_version, say, t0)
            h = 0
            model_version = plan.model_version or model_version
            watch.planned(plan, scene, done_steps)
        n = len(scene.names)
        call = plan.skill_calls[h]
        before_u, before_b = perception.relations(scene)
        involved = moved_by(call, scene)
        say(TaskStage.EXECUTING, frac(), f"step {done_steps}: {call.type.value}{call.object_ids}")
        watch.executing(done_steps, call)
        status = robot.execute(call)
        after_scene, _ = carry_occluded(scene, perception.perceive(rng), call, status)  # object permanence
        after_u, after_b = perception.relations(after_scene)
        pred_u, pred_b = plan.predicted_unary[h + 1][:n], plan.predicted_binary[h + 1][:n, :n]
        mism = []
        if config.monitor:
            mism = compare(pred_u, pred_b, after_u, after_b, scene.names, relations, config.detection.threshold)
        entry = StepLog(done_steps, f"{call.type.value}({', '.join(call.object_ids)})", status, len(mism))
        steps.append(entry)
        watch.observed(done_steps, call, status, scene, after_scene, (pred_u, pred_b), (after_u, after_b), mism)
        done_steps += 1
        h += 1
        step_def = remaining.pop(0)
        # a failure may reach the goal
        reached = bool(mism) and goal.holds(table_lookup(after_scene.names, after_u, after_b))
        if mism and store is not None:
            same = list(after_scene.names) == list(scene.names)  # O^F' object for object, or not recorded
            event = FailureEvent(task_id, entry.step, scene, before_u, before_b, call, after_u, after_b,
                                 pred_u, pred_b, mism, model_version, goal.text,
                                 points_after=after_scene.points if same else None,
                                 visible_after=after_scene.visible if same else None)
            learned = _handle_failure(event, entry, reached, config, store, learner, watch, say, frac())
            failures.append(event.event_id)
            if learned is not None:
                model, model_version = learned
                planner.use_model(model, model_version)
        scene = after_scene
        if reached:
            break  # the goal holds: nothing left to do, whatever the plan expected
        if not config.monitor:
            continue  # open loop: the first plan to its end
        rest = None
        if remaining:  # the rest of the plan, predicted from this observation
            try:
                rest = planner.score(scene, goal, plan.skill_calls[h:])
            except ValueError as exc:
                return _unplannable(task_id, exc, perception, scene, steps, failures, replans, model_version, say, t0)
            model_version = rest.model_version or model_version
            watch.rescored(rest, scene, done_steps)
        plan, h = rest, 0
        if mism and replans < config.max_replans:
            again = config.retry is RetryRule.ALWAYS or (config.retry is RetryRule.GOAL_MISMATCH
                                                         and missed_goal(mism, goal, involved))
            retry = [step_def] if again else []
            if rest is not None and rest.goal_probability >= config.replan_below:
                log.info("task %s: carrying on after the mismatch at step %d: the rest of the plan reaches the goal "
                         "with p %.3g from here", task_id, done_steps - 1, rest.goal_probability)
            elif retry or remaining:
                say(TaskStage.REPLANNING, frac(), f"{len(retry) + len(remaining)} skill(s) left")
                try:
                    candidate = planner.plan(scene, goal, Skeleton(retry + remaining), rng)
                except ValueError as exc:
                    return _unplannable(task_id, exc, perception, scene, steps, failures, replans, model_version,
                                        say, t0)
                if rest is None or candidate.goal_probability >= max(config.replan_below, rest.goal_probability):
                    remaining[:0] = retry
                    replans += 1
                    plan, model_version = candidate, candidate.model_version or model_version
                    watch.planned(candidate, scene, done_steps)
                else:
                    log.info("task %s: keeping the plan after step %d: p(goal) %.3g of its rest from here >= %.3g "
                             "of a new plan", task_id, done_steps - 1, rest.goal_probability,
                             candidate.goal_probability)
    final_u, final_b = perception.relations(scene)
    success = goal.holds(table_lookup(scene.names, final_u, final_b))
    say(TaskStage.DONE, 1.0, "goal reached" if success else "goal not reached")
    return TaskOutcome(success, steps, failures, replans, model_version, final_u, final_b, scene.names,
                       time.perf_counter() - t0)
