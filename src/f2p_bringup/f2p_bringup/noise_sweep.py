"""The point-cloud noise sweep of the paper's Fig. 3b (§6: "With noisier point clouds, the Sim2Real
gap increases, leading to a degradation in the performance of Fail2Progress").

Per noise level σ (Gaussian on every point, m):
* perception: the chosen backend's segment recall and relation-detection F1 (`f2p_perception.evaluate`);
* the Sim2Real gap as the paper measures it: relations after the same skill in the "real" world and
  in its Real2Sim reconstruction from the noisy cloud (`f2p_sim.gap.measure_gap`, which segments by
  simulator labels so that only the sensor noise varies);
* the classification outcome: what the failure classifier (`f2p_monitor.classify`, paper §4) says
  about failures of a model that predicted "nothing changes" (the copy baseline of
  `f2p_model.metrics`) -- every such failure is an incorrect symbolic prediction by construction,
  so the fraction classified as one is the classifier's accuracy, and the rest is the noise's
  Sim2Real gap turning learnable failures into unlearnable ones.

It lives in f2p_bringup because it spans f2p_perception, f2p_sim and f2p_monitor (which imports
f2p_perception: the perception package cannot import the monitor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

SIGMAS = (0.0, 0.005, 0.01, 0.02, 0.04)  # m, issue 8 item 6


@dataclass
class ClassificationOutcome:
    distribution: str
    noise_sigma: float
    transitions: int
    failures: int  # transitions where the copy prediction mismatches a goal-type relation
    incorrect_prediction: int  # ... classified as an incorrect symbolic prediction (the right answer)
    sim2real_gap: int

    @property
    def accuracy(self) -> float | None:
        return self.incorrect_prediction / self.failures if self.failures else None

    def to_dict(self) -> dict:
        return {**asdict(self), "accuracy": self.accuracy}


def classification_outcome(distribution: str, n: int, seed: int = 0, noise_sigma: float = 0.0,
                           n_objects: int | None = None,
                           progress: Callable[[int, int], None] | None = None) -> ClassificationOutcome:
    """Classify the failures a "nothing changes" model would have on `n` transitions of
    `distribution` (first skeleton step, parameters from the robot's workspace), observed with
    noise `noise_sigma`; the monitor's default detection compares the goal's relation types."""
    from f2p_core.failure import FailureClass, FailureEvent
    from f2p_monitor.classify import classify
    from f2p_monitor.failure import DetectionConfig, compare
    from f2p_perception.sim_gt import SimGroundTruthPerception
    from f2p_sim import tasks
    from f2p_sim.skills import execute
    from f2p_sim.transitions import world_relations
    from f2p_sim.world import World

    failures = right = 0
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        sample = tasks.sample(distribution, rng, n_objects, real=True)
        call = sample.skill or tasks.sample_params(sample.scene, sample.skeleton[0], rng)
        world = World(sample.scene)
        scene = SimGroundTruthPerception(world, noise_sigma=noise_sigma).perceive(rng)
        idx = [world.object_names.index(name) for name in scene.names]
        before = world_relations(world)
        execute(world, call)
        after = world_relations(world)
        u0, b0 = before.unary[idx], before.binary[np.ix_(idx, idx)]
        u1, b1 = after.unary[idx], after.binary[np.ix_(idx, idx)]
        relations = DetectionConfig().names({atom.relation for atom in sample.goal})
        mismatched = compare(u0.astype(float), b0.astype(float), u1, b1, scene.names, relations)
        if mismatched:
            failures += 1
            event = FailureEvent(task_id=f"{distribution}-{seed}-{i}", step_index=0, scene_before=scene,
                                 unary_before=u0, binary_before=b0, skill=call, unary_after=u1, binary_after=b1,
                                 predicted_unary=u0.astype(float), predicted_binary=b0.astype(float),
                                 mismatched=mismatched, model_version="copy-baseline", goal=sample.goal_text)
            right += int(classify(event).label == FailureClass.INCORRECT_PREDICTION)
        if progress:
            progress(i + 1, n)
    return ClassificationOutcome(distribution, noise_sigma, n, failures, right, failures - right)
