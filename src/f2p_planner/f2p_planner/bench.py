"""`f2p bench planner`: plan latency against the machine's own matmul speed (issue: ≥ 60 % of
the FLOP limit, < 1 s for 7 objects, H = 3, K = 1000 on 2 CPU cores).

FLOPs of one plan are counted by `torch.utils.flop_counter.FlopCounterMode` (matmuls,
convolutions, attention: the ops that dominate; elementwise work is not counted, so the
utilisation is a lower bound of the work done), with PyTorch's fused transformer fast path
switched off while counting (the counter cannot see inside it). The machine's limit is the measured throughput
of a large float32 matmul in the same process, same thread count.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from f2p_core.scene import SEGMENT_POINTS
from f2p_model.config import ModelConfig
from f2p_model.model import SkillEffectModel
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_planner.planner import PlannerConfig, make_planner
from f2p_planner.skeleton import Skeleton
from f2p_sim import tasks
from f2p_sim.world import World


@dataclass
class PlannerBenchResult:
    objects: int
    horizon: int
    samples: int
    method: str
    threads: int
    dyn_ff: int
    plan_latency_s: float  # median of the timed plans
    flops_per_plan: float
    achieved_gflops: float
    matmul_gflops: float  # the machine's measured limit
    utilisation: float  # achieved / limit

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return "\n".join([
            f"plan: {self.objects} objects, H={self.horizon}, K={self.samples}, {self.method}, "
            f"{self.threads} threads, transformer ff width {self.dyn_ff}",
            f"plan latency (median):   {self.plan_latency_s * 1e3:8.0f} ms",
            f"model FLOPs per plan:    {self.flops_per_plan / 1e9:8.2f} GFLOP",
            f"achieved:                {self.achieved_gflops:8.1f} GFLOP/s",
            f"matmul limit (measured): {self.matmul_gflops:8.1f} GFLOP/s",
            f"utilisation:             {self.utilisation:8.1%}",
        ])


def matmul_gflops(n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    t0 = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def bench_scene(n_objects: int = 7, horizon: int = 3, n_points: int = SEGMENT_POINTS):
    """A perceived pre-training scene cut to `n_objects` segments (tables first) and a skeleton
    of `horizon` pick-and-places of its movable objects onto the tables."""
    for seed in range(100):
        sample = tasks.sample("pretrain", np.random.default_rng(seed), 7)
        scene = SimGroundTruthPerception(World(sample.scene), n_points=n_points).perceive(np.random.default_rng(0))
        if len(scene.names) >= n_objects:
            break
    keep = slice(0, n_objects)
    names, classes = scene.names[keep], scene.classes[keep]
    movable = [n for n, c in zip(names, classes, strict=True) if c not in ("table", "shelf", "ground")]
    steps = "; ".join(f"pick_place({movable[h % len(movable)]}, {'table_B' if h % 2 == 0 else 'table_A'})"
                      for h in range(horizon))
    skeleton = Skeleton.parse(steps)
    boxes = np.stack([scene.box_lo[keep], scene.box_hi[keep]], axis=1)
    return scene.points[keep], scene.visible[keep], names, boxes, classes, skeleton, movable


def run(n_objects: int = 7, horizon: int = 3, samples: int = 1000, method: str = "shooting", repeats: int = 5,
        dyn_ff: int | None = None) -> PlannerBenchResult:
    torch.manual_seed(0)
    cfg = ModelConfig() if dyn_ff is None else ModelConfig(dyn_ff=dyn_ff)
    model = SkillEffectModel(cfg).eval()
    points, mask, names, boxes, classes, skeleton, movable = bench_scene(n_objects, horizon, cfg.n_points)
    goal = f"on({movable[0]}, table_B)"
    planner = make_planner(model, PlannerConfig(num_samples=samples, method=method, chunk_size=samples), "bench")
    planner.plan(points, mask, names, boxes, classes, goal, skeleton, np.random.default_rng(0))  # warm-up
    # The fused transformer fast path is one opaque op the counter does not see: count FLOPs on
    # the decomposed path (same arithmetic), time the fast path.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False) as counter:
            planner.plan(points, mask, names, boxes, classes, goal, skeleton, np.random.default_rng(0))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    flops = float(counter.get_total_flops())
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        planner.plan(points, mask, names, boxes, classes, goal, skeleton, np.random.default_rng(r))
        times.append(time.perf_counter() - t0)
    latency = float(np.median(times))
    limit = matmul_gflops()
    achieved = flops / latency / 1e9
    return PlannerBenchResult(n_objects, horizon, samples, method, torch.get_num_threads(), cfg.dyn_ff, latency,
                              flops, achieved, limit, achieved / limit)
