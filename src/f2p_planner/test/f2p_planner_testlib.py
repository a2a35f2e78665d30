"""Scenes, segments and an analytic skill effect model for the f2p_planner tests (seeded, CPU).

A uniquely named module, not conftest.py helpers: test directories of several packages share one
pytest session and ``import conftest`` would be ambiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from f2p_core.classes import ObjectClass
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import SKILL_NAMES
from f2p_model.config import ModelConfig
from f2p_model.config import tiny_model_config as library_tiny_config
from f2p_model.model import RolloutOutput
from f2p_sim.scene import ObjectSpec, Scene
from f2p_sim.scenes import inside, on_surface
from f2p_sim.tasks import CUBE, CUP, TABLE_TOP_Z, tables


@dataclass
class Segments:
    """What the planner receives: segments in the model's object order and their metadata."""

    points: np.ndarray  # (N, P, 3) float32
    mask: np.ndarray  # (N,) bool
    names: list[str]
    boxes: np.ndarray  # (N, 2, 3)
    classes: list[str]


def tabletop_scene() -> Scene:
    """Two tables; on table A a cup holding a capsule, an empty cup, a loose capsule and a cube."""
    cup_1 = on_surface("cup_1", ObjectClass.CUP, CUP, (0.30, -0.35))
    cup_2 = on_surface("cup_2", ObjectClass.CUP, CUP, (0.30, -0.20))
    objects = [
        *tables(),
        cup_1,
        cup_2,
        inside("capsule_1", ObjectClass.CAPSULE, (0.03, 0.03, 0.07), cup_1),
        on_surface("capsule_2", ObjectClass.CAPSULE, (0.03, 0.03, 0.07), (0.42, -0.30)),
        on_surface("cube_1", ObjectClass.CUBOID, CUBE, (0.42, -0.18), surface_z=TABLE_TOP_Z),
    ]
    return Scene(objects=objects)


def spec_box(o: ObjectSpec) -> np.ndarray:
    """(2, 3) AABB of an upright object."""
    c, s = np.asarray(o.pos), np.asarray(o.size)
    return np.stack([c - s / 2, c + s / 2])


def segments(scene: Scene, n_points: int = 16, pad: int = 0, seed: int = 0) -> Segments:
    """Points uniform in each object's box (the ground left out, as the model sees scenes), plus
    ``pad`` padded rows."""
    rng = np.random.default_rng(seed)
    objs = [o for o in scene.objects if o.cls is not ObjectClass.GROUND]
    boxes = np.stack([spec_box(o) for o in objs])
    pts = boxes[:, :1] + rng.random((len(objs), n_points, 3)) * (boxes[:, 1:] - boxes[:, :1])
    # Pin two points on opposite corners so the segment's box is exactly the object's box.
    pts[:, 0], pts[:, 1] = boxes[:, 0], boxes[:, 1]
    names = [o.name for o in objs] + [""] * pad
    classes = [o.cls.value for o in objs] + [""] * pad
    points = np.concatenate([pts, np.zeros((pad, n_points, 3))]).astype(np.float32)
    mask = np.array([True] * len(objs) + [False] * pad)
    return Segments(points, mask, names, np.concatenate([boxes, np.zeros((pad, 2, 3))]), classes)


class AnalyticModel(nn.Module):
    """A tiny skill effect model with a known optimum, exposing ``rollout_many``.

    Positions: segment centroids; pick_place moves the acted object by (dx, dy, dz); push moves it
    by distance along angle. Relations: p(on(i, ``support``)) = exp(−|xy_i − goal_xy|² / 2σ²), a
    bump with its maximum 1 at ``goal_xy``; every other relation has p = 0.
    """

    def __init__(self, names: list[str], support: str = "table_B", goal_xy=(0.35, 0.30), sigma: float = 0.02):
        super().__init__()
        self.support = names.index(support)
        self.register_buffer("goal_xy", torch.tensor(goal_xy, dtype=torch.float32))
        self.sigma = sigma
        self.calls = 0

    def rollout_many(self, points, mask, skills, acted, params) -> RolloutOutput:
        self.calls += 1
        k, h, _ = params.shape
        n = mask.shape[0]
        pos = (points.mean(dim=1) * mask.unsqueeze(-1)).expand(k, n, 3)  # (K, N, 3)
        steps = [pos]
        for t in range(h):
            if SKILL_NAMES[int(skills[t])] == "pick_place":
                move = params[:, t, :3]
            else:  # push
                ang, dist = params[:, t, 0], params[:, t, 1]
                move = torch.stack([dist * torch.cos(ang), dist * torch.sin(ang), torch.zeros_like(dist)], dim=-1)
            pos = pos.clone()
            pos[:, int(acted[t])] += move
            steps.append(pos)
        pos = torch.stack(steps, dim=1)  # (K, H+1, N, 3)
        d2 = ((pos[..., :2] - self.goal_xy) ** 2).sum(-1)  # (K, H+1, N)
        binary = torch.zeros(k, h + 1, n, n, len(BINARY))
        on = torch.exp(-d2 / (2 * self.sigma**2)) * mask
        on[..., self.support] = 0.0
        binary[..., :, self.support, BINARY.index("on")] = on
        return RolloutOutput(
            unary=torch.zeros(k, h + 1, n, len(UNARY)),
            binary=binary,
            pos=pos,
            latent=torch.zeros(k, h + 1, n, 1),
            mask=mask.expand(k, n),
        )


def tiny_model_config() -> ModelConfig:
    """The A.11 architecture at toy widths, 8 objects at most, dropout on."""
    return library_tiny_config(max_objects=8, dyn_dropout=0.1)


def angle_close(a: float, b: float, tol: float) -> bool:
    return abs(math.remainder(a - b, 2 * math.pi)) <= tol
