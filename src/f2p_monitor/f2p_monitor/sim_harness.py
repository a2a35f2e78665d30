"""The simulated "real" world behind the executive's interfaces: a `World` as the robot, the
sim_gt backend as perception, simulator ground truth (A.9) as the observed relations."""

from __future__ import annotations

import numpy as np

from f2p_perception.scene import PerceivedScene
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim.skills import SkillCall, SkillStatus, execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


class SimRobot:
    def __init__(self, world: World):
        self.world = world

    def execute(self, call: SkillCall) -> SkillStatus:
        return execute(self.world, call).status


class SimPerception(SimGroundTruthPerception):
    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        rel = world_relations(self.world)
        idx = [rel.index(n) for n in scene.names]
        return rel.unary[idx], rel.binary[np.ix_(idx, idx)]


def first_failure(model, model_version: str, store, *, distribution: str = "transport", n_objects: int = 3,
                  seeds=range(20), num_samples: int = 1000, learner=None) -> str | None:
    """Run the closed-loop executive on seeded tasks of `distribution` in the simulated "real"
    world until one stores a failure event; returns its id (None if no seed failed). A
    reproducible way to get a real failure of a given model, for benchmarks and tests."""
    from f2p_monitor.executive import ExecutiveConfig, run_task
    from f2p_planner.goal import Goal
    from f2p_planner.planner import PlannerConfig
    from f2p_planner.skeleton import Skeleton
    from f2p_sim import tasks

    for seed in seeds:
        sample = tasks.sample(distribution, np.random.default_rng(seed), n_objects, real=True)
        world = World(sample.scene)
        out = run_task(f"{distribution}-{seed}", Goal.from_triples(sample.goal), Skeleton.from_task(sample),
                       SimRobot(world), SimPerception(world, n_points=model.config.n_points), model, model_version,
                       ExecutiveConfig(planner=PlannerConfig(num_samples=num_samples), max_replans=0),
                       np.random.default_rng(seed), store=store, learner=learner)
        if out.failures:
            return out.failures[0]
    return None
