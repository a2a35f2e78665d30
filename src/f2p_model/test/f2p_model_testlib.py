"""Tiny models and synthetic transitions for the f2p_model tests (seeded, CPU, fast).

A uniquely named module, not conftest.py helpers: test directories of several packages share one
pytest session and ``import conftest`` would be ambiguous.
"""

from __future__ import annotations

import math

import torch

from f2p_model.config import ModelConfig, tiny_model_config


def tiny_config(**overrides) -> ModelConfig:
    """The A.11 architecture at toy widths: 16 points per segment, latent 32, 8 objects at most."""
    return tiny_model_config(**{"max_objects": 8, **overrides})


def relations(centres: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Toy ground truth that is a simple function of object centres (B, N, 3).

    unary: (x > 0, y > 0, z > 0.1); binary (10): left/right/front/behind/above/below by
    coordinate comparison, "near" for the other four columns' first, the rest False.
    """
    x, y, z = centres.unbind(-1)
    unary = torch.stack([x > 0, y > 0, z > 0.1], dim=-1) & mask.unsqueeze(-1)
    d = centres.unsqueeze(2) - centres.unsqueeze(1)  # (B, N, N, 3) i minus j
    near = d.norm(dim=-1) < 0.25
    false = torch.zeros_like(near)
    binary = torch.stack(
        [d[..., 1] > 0, d[..., 1] < 0, d[..., 0] < 0, d[..., 0] > 0, d[..., 2] > 0, d[..., 2] < 0,
         near, false, false, false], dim=-1,
    )
    n = mask.shape[1]
    valid = mask.unsqueeze(2) & mask.unsqueeze(1) & ~torch.eye(n, dtype=torch.bool)
    return unary, binary & valid.unsqueeze(-1)


def make_batch(config: ModelConfig, b: int = 8, n: int = 4, seed: int = 0, n_real=None) -> dict[str, torch.Tensor]:
    """Synthetic transitions: cube-shaped segments, a pick_place (dx, dy, dz, dyaw) or push
    (angle, distance) moving the acted object, relations from :func:`relations`."""
    g = torch.Generator().manual_seed(seed)
    p = config.n_points
    mask = torch.ones(b, n, dtype=torch.bool)
    if n_real is not None:
        for i, k in enumerate(n_real):
            mask[i, k:] = False
    centres = torch.cat([torch.rand(b, n, 2, generator=g) * 0.6 - 0.3, torch.rand(b, n, 1, generator=g) * 0.2], -1)
    offsets = (torch.rand(b, n, p, 3, generator=g) - 0.5) * 0.06  # 6 cm cubes
    skill = torch.randint(0, 2, (b,), generator=g)
    acted = torch.stack([torch.randint(0, int(mask[i].sum()), (1,), generator=g)[0] for i in range(b)])
    params = torch.zeros(b, config.max_param_dim)
    move = torch.zeros(b, 3)
    for i in range(b):
        if skill[i] == 0:  # pick_place: dx, dy, dz, dyaw
            params[i, :3] = (torch.rand(3, generator=g) - 0.5) * 0.3
            move[i] = params[i, :3]
        else:  # push: angle, distance
            ang, dist = torch.rand(1, generator=g)[0] * 2 * math.pi, torch.rand(1, generator=g)[0] * 0.2
            params[i, :2] = torch.stack([ang, dist])
            move[i] = torch.stack([dist * torch.cos(ang), dist * torch.sin(ang), torch.tensor(0.0)])
    centres_t1 = centres.clone()
    centres_t1[torch.arange(b), acted] += move
    unary_t, binary_t = relations(centres, mask)
    unary_t1, binary_t1 = relations(centres_t1, mask)
    return {
        "points_t": centres.unsqueeze(2) + offsets,
        "points_t1": centres_t1.unsqueeze(2) + offsets,
        "mask": mask,
        "skill": skill,
        "acted": acted,
        "params": params,
        "unary_t": unary_t,
        "binary_t": binary_t,
        "pos_t": centres * mask.unsqueeze(-1),
        "unary_t1": unary_t1,
        "binary_t1": binary_t1,
        "pos_t1": centres_t1 * mask.unsqueeze(-1),
    }


def generate_dataset(out, n: int, seed: int = 0, n_points: int = 16):
    """A small real pre-training dataset (simulated, 160x120 views) at ``out``; returns ``out``."""
    from f2p_sim import dataset
    from f2p_sim.transitions import GenerationConfig, make_record

    cfg = GenerationConfig(distribution="pretrain", seed=seed, n_points=n_points, width=160, height=120)
    dataset.generate(make_record, cfg, out, n=n, shard_size=8)
    return out
