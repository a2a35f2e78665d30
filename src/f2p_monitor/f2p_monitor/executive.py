"""The task executive (DESIGN.md §1, paper §4): plan → execute one skill → observe → compare the
observed relations with the plan's prediction → on a mismatch: store the failure *first*, classify
it, hand it to the learner, and replan from the current scene — until the goal holds, the skeleton
is used up, or `max_replans` is reached.

ROS-free and shared by the monitor node and the experiments. The robot, the perception and the
learner sit behind small interfaces (`Robot`, `Perception`, `Learner`), so the same loop runs in
simulation, on the Stretch RE2, and with any of the paper's methods: with `learner=None` it is the
*Replanning* baseline; with `max_replans=0` and no monitoring it is *Original*.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from f2p_monitor.belief import carry_occluded
from f2p_monitor.classify import classify
from f2p_monitor.failure import INCORRECT_PREDICTION, DetectionConfig, FailureEvent, compare
from f2p_monitor.failure_store import FailureStore
from f2p_perception.scene import PerceivedScene
from f2p_planner.goal import Goal
from f2p_planner.planner import PlannerConfig, PlanResult, make_planner
from f2p_planner.skeleton import Skeleton
from f2p_sim.skills import SkillCall, SkillStatus

log = logging.getLogger(__name__)


class Robot(Protocol):
    def execute(self, call: SkillCall) -> SkillStatus: ...


class Perception(Protocol):
    def perceive(self, rng: np.random.Generator) -> PerceivedScene: ...

    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        """Observed relations (N, U), (N, N, R) booleans of `scene`'s objects, in its order."""
        ...


class Learner(Protocol):
    def learn(self, event: FailureEvent) -> tuple[object, str] | None:
        """Learn from an incorrect-prediction failure; return (new model, its version) or None."""
        ...


@dataclass
class ExecutiveConfig:
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    max_replans: int = 3
    monitor: bool = True  # False: execute the first plan open loop (Original)
    classify_failures: bool = True


@dataclass
class StepLog:
    step: int
    skill: str
    status: str
    mismatches: int
    event_id: str = ""
    classification: str = ""


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


def goal_holds(goal: Goal, names: list[str], unary: np.ndarray, binary: np.ndarray) -> bool:
    from f2p_sim.relations import BINARY, UNARY

    for atom in goal.atoms:
        if atom.subject not in names or (atom.object and atom.object not in names):
            return False
        i = names.index(atom.subject)
        value = (bool(binary[i, names.index(atom.object), BINARY.index(atom.relation)]) if atom.object
                 else bool(unary[i, UNARY.index(atom.relation)]))
        if value == atom.negated:
            return False
    return True


def run_task(task_id: str, goal: Goal, skeleton: Skeleton, robot: Robot, perception: Perception, model,
             model_version: str, config: ExecutiveConfig, rng: np.random.Generator,
             store: FailureStore | None = None, learner: Learner | None = None,
             progress: Callable[[str, float, str], None] | None = None) -> TaskOutcome:
    """Run one task to its end (module docstring). `progress(stage, fraction, message)`."""
    t0 = time.perf_counter()
    say = progress or (lambda stage, frac, msg: None)
    steps: list[StepLog] = []
    failures: list[str] = []
    replans = 0
    remaining = list(skeleton.steps)
    relations = config.detection.names({a.relation for a in goal.atoms})
    done_steps = 0
    total = len(remaining)
    scene = perception.perceive(rng)
    while remaining:
        say("planning", done_steps / max(total, 1), f"{len(remaining)} skill(s) left, model {model_version}")
        try:
            plan: PlanResult = make_planner(model, config.planner, model_version).plan(
                scene.points, scene.visible, scene.names, np.stack([scene.box_lo, scene.box_hi], axis=1),
                scene.classes, goal, Skeleton(remaining), rng)
        except ValueError as exc:  # GoalError/SkeletonError: e.g. an object the camera does not see
            log.error("task %s cannot be planned: %s", task_id, str(exc).splitlines()[0])
            u, b = perception.relations(scene)
            say("done", 1.0, "planning failed")
            return TaskOutcome(False, steps, failures, replans, model_version, u, b, scene.names,
                               time.perf_counter() - t0, error=str(exc).splitlines()[0])
        replanned = False
        for h, call in enumerate(plan.skill_calls):
            before_u, before_b = perception.relations(scene)
            say("executing", done_steps / max(total, 1), f"{call.type.value}{call.object_ids}")
            status = robot.execute(call)
            after_scene, _ = carry_occluded(scene, perception.perceive(rng), call, status)  # object permanence
            after_u, after_b = perception.relations(after_scene)
            mism = []
            if config.monitor:
                mism = compare(plan.predicted_unary[h + 1][: len(scene.names)],
                               plan.predicted_binary[h + 1][: len(scene.names), : len(scene.names)],
                               after_u, after_b, scene.names, relations, config.detection.threshold)
            entry = StepLog(done_steps, f"{call.type.value}({', '.join(call.object_ids)})", status.value, len(mism))
            steps.append(entry)
            done_steps += 1
            remaining.pop(0)
            if mism and store is not None:
                event = FailureEvent(task_id, entry.step, scene, before_u, before_b, call, after_u, after_b,
                                     plan.predicted_unary[h + 1][: len(scene.names)],
                                     plan.predicted_binary[h + 1][: len(scene.names), : len(scene.names)],
                                     mism, model_version, goal.text)
                store.save(event)  # persisted before anything else happens
                entry.event_id = event.event_id
                failures.append(event.event_id)
                log.info("failure %s at step %d: %s", event.event_id, entry.step, "; ".join(m.text() for m in mism[:3]))
                if config.classify_failures:
                    say("classifying", done_steps / max(total, 1), event.event_id)
                    c = classify(event)
                    store.update_classification(event.event_id, c.label)
                    event.classification = entry.classification = c.label
                    if c.label == INCORRECT_PREDICTION and learner is not None:
                        say("learning", done_steps / max(total, 1), event.event_id)
                        learned = learner.learn(event)
                        if learned is not None:
                            model, model_version = learned
            scene = after_scene
            if mism and config.monitor and remaining and replans < config.max_replans:
                replans += 1
                replanned = True
                break
        if not replanned:
            break
    final_u, final_b = perception.relations(scene)
    success = goal_holds(goal, scene.names, final_u, final_b)
    say("done", 1.0, "goal reached" if success else "goal not reached")
    return TaskOutcome(success, steps, failures, replans, model_version, final_u, final_b, scene.names,
                       time.perf_counter() - t0)
