"""One trial of a task (DESIGN.md §4): sample a scene from a task distribution in the "real"
world, perceive it, plan the skeleton with the skill effect model, execute the plan, and succeed
iff the goal relations hold at the end (simulator ground truth, A.9).

This is the open-loop executive the *Original* method of the paper runs (no monitoring, no
learning); the monitor and the learner build on the same pieces.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_planner.goal import Goal
from f2p_planner.planner import PlannerConfig, make_planner
from f2p_planner.skeleton import Skeleton
from f2p_sim import tasks
from f2p_sim.skills import SkillStatus, execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


@dataclass
class EpisodeConfig:
    """One trial; its seed fixes the scene, the sensor noise and the planner's samples."""

    distribution: str
    n_objects: int
    seed: int
    camera: str = "default"  # default, view1, view2
    noise_sigma: float = 0.0  # sensor noise on the cloud (m)
    n_points: int = 128
    real: bool = True  # run in the richer "real" world (tasks.py)
    planner: PlannerConfig = field(default_factory=PlannerConfig)


@dataclass
class EpisodeResult:
    distribution: str
    n_objects: int
    seed: int
    success: bool
    goal: str
    goal_probability: float  # the model's belief in its plan
    statuses: list[str]  # skill statuses, in execution order (stops at the first failed skill)
    unmet: list[str]  # goal atoms that do not hold at the end
    plan_s: float
    execute_s: float
    model_version: str
    error: str = ""  # why no plan was made (e.g. a goal object the camera does not see)

    def to_dict(self) -> dict:
        return asdict(self)


def run_episode(model, model_version: str, config: EpisodeConfig) -> EpisodeResult:
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 7919]))
    sample = tasks.sample(config.distribution, rng, config.n_objects, real=config.real)
    world = World(sample.scene)
    perception = SimGroundTruthPerception(world, config.camera, config.n_points, config.noise_sigma)
    scene = perception.perceive(rng)
    goal = Goal.from_triples(sample.goal)
    skeleton = Skeleton.from_task(sample)
    boxes = np.stack([scene.box_lo, scene.box_hi], axis=1)  # (N, 2, 3)
    t0 = time.perf_counter()
    planner = make_planner(model, config.planner, model_version)
    try:
        plan = planner.plan(scene.points, scene.visible, scene.names, boxes, scene.classes, goal, skeleton, rng)
    except ValueError as exc:  # GoalError/SkeletonError: counted as a failed trial, with the reason
        unmet = [f"{r}({s}, {o})" if o else f"{r}({s})" for r, s, o in sample.goal]
        return EpisodeResult(config.distribution, config.n_objects, config.seed, False, goal.text, 0.0, [], unmet,
                             time.perf_counter() - t0, 0.0, model_version, error=str(exc).splitlines()[0])
    t1 = time.perf_counter()
    statuses = []
    for call in plan.skill_calls:
        status = execute(world, call).status
        statuses.append(status.value)
        if status is not SkillStatus.OK:
            break
    t2 = time.perf_counter()
    rel = world_relations(world)
    unmet = [f"{r}({s}, {o})" if o else f"{r}({s})" for r, s, o in sample.goal if not rel.holds(r, s, o)]
    return EpisodeResult(config.distribution, config.n_objects, config.seed, not unmet, goal.text,
                         float(plan.goal_probability), statuses, unmet, t1 - t0, t2 - t1, model_version)
