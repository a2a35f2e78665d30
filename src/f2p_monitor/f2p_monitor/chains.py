"""Prediction F1 after 1..H skills: chains of skills executed in simulation, predicted in latent space.

The datasets hold independent single transitions, so they only give 1-step prediction F1
(:mod:`f2p_model.evaluate`). What a planner relies on is the rollout Γ(O_0, φ_{1:H}, a_{1:H}) of
A.11 — the dynamics applied recurrently to the latent state of the *first* observation, never
re-encoding. A chain here is that, checked against the world: sample a scene of a task
distribution, execute its skeleton step by step in the simulated "real" world with parameters
drawn from the robot's workspace (`f2p_sim.tasks.sample_params` on the current state), observe the
ground-truth relations (A.9) after each step, and score the model's step-h prediction from O_0
against them. The copy baseline predicts R_h = R_0 (nothing changes).

A chain stops at its first skill that does not succeed (unreachable, collision, dropped): the
model has no notion of reachability, and what follows such a step is not what was planned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from f2p_core.scene import SEGMENT_POINTS
from f2p_core.skills import SkillStatus
from f2p_core.task import SkeletonStep
from f2p_model.metrics import THRESHOLD, RelationF1
from f2p_model.model import SkillEffectModel
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim import tasks
from f2p_sim.scene import camera_spec
from f2p_sim.skills import execute
from f2p_sim.world import World

#: third word of every chain's seed sequence, so chain scenes never coincide with other seeded draws
CHAIN_STREAM = 4099


@dataclass(frozen=True)
class ChainConfig:
    distribution: str  # a task distribution with a skeleton (place, transport, organize, packing)
    n_chains: int = 50
    n_objects: int = 3
    horizon: int = 3  # at most this many skills of the skeleton
    seed: int = 0
    camera: str = "default"
    n_points: int = SEGMENT_POINTS
    real: bool = True  # the richer "real" world of f2p_sim.tasks

    def __post_init__(self) -> None:
        if self.distribution not in tasks.DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {self.distribution!r}; known: {sorted(tasks.DISTRIBUTIONS)}")
        if self.n_chains < 1 or self.horizon < 1:
            raise ValueError(f"n_chains and horizon must be >= 1, got {self.n_chains}, {self.horizon}")


def _steps(sample: tasks.TaskSample, horizon: int) -> list[SkeletonStep]:
    if sample.skeleton:
        return list(sample.skeleton[:horizon])
    if sample.skill is not None:  # pre-training: one random skill, no skeleton
        return [SkeletonStep(sample.skill.type, sample.skill.object_ids)]
    return []


@torch.no_grad()
def chain_f1(model: SkillEffectModel, config: ChainConfig, *, threshold: float = THRESHOLD,
             progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """``{"config", "chains", "cut", "steps": [{"h", "n", "prediction", "copy_baseline"}]}``; each
    F1 entry is a :meth:`RelationF1.compute` report over every chain that reached step h."""
    cfg = model.config
    pred = [RelationF1(cfg.unary_names, cfg.binary_names, threshold) for _ in range(config.horizon)]
    copy = [RelationF1(cfg.unary_names, cfg.binary_names, threshold) for _ in range(config.horizon)]
    reached = np.zeros(config.horizon, dtype=int)
    cut = 0
    was_training = model.training
    model.eval()
    try:
        for i in range(config.n_chains):
            rng = np.random.default_rng(np.random.SeedSequence([config.seed, i, CHAIN_STREAM]))
            sample = tasks.sample(config.distribution, rng, config.n_objects, real=config.real)
            sample.scene.cameras = [camera_spec(config.camera)]
            world = World(sample.scene)
            perception = SimGroundTruthPerception(world, config.camera, config.n_points)
            scene = perception.perceive(rng)
            u0, b0 = perception.relations(scene)
            calls, observed = [], []
            for step in _steps(sample, config.horizon):
                if step.object_ids[0] not in scene.names or not scene.visible[scene.index(step.object_ids[0])]:
                    break  # the model cannot act on an object it does not see
                call = tasks.sample_params(world.to_scene(), step, rng)
                if execute(world, call).status is not SkillStatus.OK:
                    cut += 1
                    break
                calls.append(call)
                observed.append(perception.relations(scene))
            if progress:
                progress(i + 1, config.n_chains, f"{config.distribution}: {len(calls)} step(s)")
            if not calls:
                continue
            h = len(calls)
            skills = torch.tensor([[cfg.skill_types.index(c.type.value) for c in calls]])
            acted = torch.tensor([[scene.index(c.object_ids[0]) for c in calls]])
            params = torch.zeros(1, h, cfg.max_param_dim)
            for k, c in enumerate(calls):
                params[0, k, : len(c.params)] = torch.as_tensor(c.params[: cfg.max_param_dim], dtype=torch.float32)
            points = torch.as_tensor(scene.points, dtype=torch.float32)[None]
            mask = torch.as_tensor(scene.visible)[None]
            out = model.rollout(points, mask, skills, acted, params)
            for k, (uk, bk) in enumerate(observed):
                ut, bt = torch.as_tensor(uk)[None], torch.as_tensor(bk)[None]
                pred[k].update(out.unary[:, k + 1], out.binary[:, k + 1], ut, bt, mask)
                copy[k].update(torch.as_tensor(u0, dtype=torch.float32)[None],
                               torch.as_tensor(b0, dtype=torch.float32)[None], ut, bt, mask)
                reached[k] += 1
    finally:
        model.train(was_training)
    return {"config": asdict(config), "chains": config.n_chains, "cut": cut,
            "steps": [{"h": k + 1, "n": int(reached[k]), "prediction": pred[k].compute(),
                       "copy_baseline": copy[k].compute()} for k in range(config.horizon) if reached[k]]}


def format_chains(report: dict[str, Any]) -> str:
    c = report["config"]
    lines = [f"{c['distribution']}: {report['chains']} chains of up to {c['horizon']} skills, {c['n_objects']} objects "
             f"({report['cut']} cut at a failed skill)",
             f"  {'after':<8}{'chains':>8}{'prediction F1':>15}{'copy R_0':>10}"]
    for s in report["steps"]:
        p, b = s["prediction"]["macro_f1"], s["copy_baseline"]["macro_f1"]
        lines.append(f"  {s['h']:<8}{s['n']:>8}{_f(p):>15}{_f(b):>10}")
    return "\n".join(lines) + "\n"


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


__all__ = ["ChainConfig", "chain_f1", "format_chains"]
