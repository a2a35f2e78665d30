"""The failure classifier's confusion matrix on generated failures whose cause is known (§4).

Two kinds of failure, built in the simulated "real" world (`tasks.sample(..., real=True)`), each a
random skill of the distribution executed once:

* **incorrect prediction** (truth): the real world has its ordinary physics; the "prediction" is
  the relations before the skill ("nothing changes"), wrong wherever the skill changed something.
  Simulation can reproduce the outcome, so the right label is *incorrect symbolic prediction*.
* **Sim2Real gap** (truth): the acted object's physics in the real world is perturbed (mass ×
  `heavy_mass` kg, friction `slippery`: an object much heavier than it looks, which sags in the
  gripper); the "prediction" is what the unperturbed world does — a perfect simulator of ordinary
  physics. The observed outcome differs because of physics the simulator does not have, so the
  right label is *Sim2Real gap*.

A trial where the observation matches the prediction is no failure and is counted, not scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from f2p_core.failure import FailureClass, FailureEvent
from f2p_core.relations import BINARY, UNARY
from f2p_core.scene import SEGMENT_POINTS
from f2p_monitor.classify import classify
from f2p_monitor.failure import compare
from f2p_monitor.stats import wilson_interval
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim import tasks
from f2p_sim.scene import Scene
from f2p_sim.skills import execute
from f2p_sim.transitions import random_skill
from f2p_sim.world import World

LABELS = (FailureClass.INCORRECT_PREDICTION, FailureClass.SIM2REAL_GAP)


@dataclass(frozen=True)
class ClassifyBenchConfig:
    distribution: str = "pretrain"
    trials: int = 40  # per truth label
    seed: int = 0
    heavy_mass: float = 100.0  # kg of the acted object in a Sim2Real trial (class defaults: 0.05-0.3)
    slippery: float = 0.01  # its sliding friction (defaults 0.4-1.0)
    n_points: int = SEGMENT_POINTS
    noise_sigma: float = 0.002  # sensor noise on the real camera (m)


def _perturbed(scene: Scene, name: str, mass: float, friction: float) -> Scene:
    return dataclasses.replace(scene, objects=[dataclasses.replace(o, mass=mass, friction=friction) if o.name == name
                                               else o for o in scene.objects])


def _trial(config: ClassifyBenchConfig, truth: str, i: int) -> FailureEvent | None:
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, i, LABELS.index(truth)]))
    sample = tasks.sample(config.distribution, rng, 3, real=True)
    call = random_skill(sample, rng)
    scene = sample.scene
    if truth == FailureClass.SIM2REAL_GAP:
        scene = _perturbed(scene, call.object_ids[0], config.heavy_mass, config.slippery)
    world = World(scene)
    perception = SimGroundTruthPerception(world, n_points=config.n_points, noise_sigma=config.noise_sigma)
    before = perception.perceive(rng)
    u0, b0 = perception.relations(before)
    if truth == FailureClass.SIM2REAL_GAP:  # a perfect simulator of ordinary physics predicts
        twin = World(sample.scene)
        execute(twin, call)
        twin_perception = SimGroundTruthPerception(twin, n_points=config.n_points)
        pu, pb = (a.astype(float) for a in twin_perception.relations(before))
    else:  # a model that believes nothing changes
        pu, pb = u0.astype(float), b0.astype(float)
    execute(world, call)
    u1, b1 = perception.relations(before)
    mism = compare(pu, pb, u1, b1, before.names, tuple(UNARY) + tuple(BINARY))
    if not mism:
        return None
    return FailureEvent(f"classify-{truth}-{i}", 0, before, u0, b0, call, u1, b1, pu, pb, mism, "bench")


def confusion(config: ClassifyBenchConfig, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """``{"matrix": {truth: {label: count}}, "no_failure": {truth: n}, "accuracy", "accuracy_95ci", ...}``."""
    matrix = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    no_failure = dict.fromkeys(LABELS, 0)
    total = 2 * config.trials
    done = 0
    for truth in LABELS:
        for i in range(config.trials):
            event = _trial(config, truth, i)
            done += 1
            if event is None:
                no_failure[truth] += 1
            else:
                matrix[truth][classify(event).label] += 1
            if progress:
                progress(done, total, truth)
    right = sum(matrix[t][t] for t in LABELS)
    scored = sum(sum(row.values()) for row in matrix.values())
    lo, hi = wilson_interval(right, scored) if scored else (float("nan"), float("nan"))
    return {"config": dataclasses.asdict(config), "matrix": matrix, "no_failure": no_failure, "scored": scored,
            "accuracy": right / scored if scored else float("nan"), "accuracy_95ci": [lo, hi]}


def format_confusion(r: dict) -> str:
    w = max(len(label) for label in LABELS) + 2
    header = "truth / classified"
    lines = [f"{header:<{w + 2}}" + "".join(f"{label:>{w}}" for label in LABELS) + f"{'no failure':>12}"]
    for t in LABELS:
        lines.append(f"{t:<{w + 2}}" + "".join(f"{r['matrix'][t][label]:>{w}}" for label in LABELS)
                     + f"{r['no_failure'][t]:>12}")
    lo, hi = r["accuracy_95ci"]
    lines.append(f"accuracy {r['accuracy']:.1%} [{lo:.0%}, {hi:.0%}] over {r['scored']} failures")
    return "\n".join(lines)


__all__ = ["ClassifyBenchConfig", "confusion", "format_confusion"]
