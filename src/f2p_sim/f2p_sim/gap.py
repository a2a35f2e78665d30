"""The Sim2Real gap, measured: re-simulate "real" transitions in their Real2Sim reconstruction.

For each sample of a task distribution in the richer "real" world (tasks.py, `real=True`): observe
the scene with sensor noise, execute a skill there and record the relations after it (R^F'); then
rebuild the scene from the observed segments alone (real2sim.py), execute the same skill in the
reconstruction and record its relations (R''). The fraction of transitions where R'' equals R^F'
is how often the failure classifier (paper §4) can trust a re-simulation; the rest is the gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from f2p_core.classes import ObjectClass
from f2p_core.skills import SkillCall, SkillStatus

from . import tasks
from .observe import RayCastCamera, observe
from .real2sim import real2sim
from .relations import RelationSet
from .scene import SceneError
from .skills import execute
from .transitions import world_relations
from .world import World


def observed_segments(world: World, noise_sigma: float, rng: np.random.Generator,
                      camera: str = "default") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Full-resolution point segments (world frame) and classes of every visible non-ground
    object: what a perfect segmenter would hand to Real2Sim."""
    cam = RayCastCamera(world.model, camera)
    n = len(world.object_names)
    obs = observe(world.model, world.data, cam, world.geom_object_index, n, n_points=1,
                  noise_sigma=noise_sigma, rng=rng)
    segments, classes = {}, {}
    for k, name in enumerate(world.object_names):
        spec = world.spec(name)
        pts = obs.points[obs.labels == k]
        if spec.cls is ObjectClass.GROUND or len(pts) == 0:
            continue
        segments[name], classes[name] = pts, spec.cls.value
    return segments, classes


def replay_in_reconstruction(segments: dict[str, np.ndarray], classes: dict[str, str],
                             call: SkillCall) -> tuple[RelationSet, SkillStatus]:
    """Rebuild the scene from segments (Real2Sim), run `call` there, return the relations after
    it and the skill status (R'' of the failure classification, paper §4)."""
    world = World(real2sim(segments, classes))
    result = execute(world, call)
    return world_relations(world), result.status


def _restricted(rel: RelationSet, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    idx = [rel.index(n) for n in names]
    return rel.unary[idx], rel.binary[np.ix_(idx, idx)]


@dataclass
class GapResult:
    distribution: str
    n: int
    noise_sigma: float
    seed: int
    same_relations: float  # fraction of transitions whose relations after the skill agree exactly
    relation_accuracy: float  # fraction of individual (relation, subject, object) values that agree
    same_status: float  # fraction where the skill status agrees
    reconstruction_failures: int  # scenes Real2Sim could not make valid (counted as disagreeing)

    def to_dict(self) -> dict:
        return asdict(self)


def measure_gap(distribution: str, n: int, seed: int = 0, noise_sigma: float = 0.002, n_objects: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> GapResult:
    same, acc, status_same, failures = 0, [], 0, 0
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        sample = tasks.sample(distribution, rng, n_objects, real=True)
        call = sample.skill or tasks.sample_params(sample.scene, sample.skeleton[0], rng)
        real = World(sample.scene)
        segments, classes = observed_segments(real, noise_sigma, rng)
        real_status = execute(real, call).status
        after_real = world_relations(real)
        try:
            after_sim, sim_status = replay_in_reconstruction(segments, classes, call)
        except SceneError:
            failures += 1
            acc.append(0.0)
            if progress:
                progress(i + 1, n)
            continue
        names = list(segments)
        ur, br = _restricted(after_real, names)
        us, bs = _restricted(after_sim, names)
        agree = np.concatenate([(ur == us).ravel(), (br == bs).ravel()])
        acc.append(float(agree.mean()))
        same += int(agree.all())
        status_same += int(real_status is sim_status)
        if progress:
            progress(i + 1, n)
    return GapResult(distribution, n, noise_sigma, seed, same / n, float(np.mean(acc)), status_same / n, failures)
