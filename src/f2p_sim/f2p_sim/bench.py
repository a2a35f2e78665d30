"""`f2p bench sim`: how fast the simulation produces data, and how much of that is physics.

Three figures measured in one run on one machine, so they can be compared with each other:
- bare physics: ``mj_step`` calls per second on a pre-training scene with nothing else running;
- point clouds per second: ``observe`` (ray-cast 320x240 view, segmentation, 128 points per
  segment) on a fixed scene;
- transitions per second: complete dataset records (sample a scene, build the world, observe,
  execute a skill, observe again) through `dataset.generate` with 1 and with `workers` processes.
The ratio ``physics steps per second inside generation / bare mj_step per second`` says how much
of the generation time is spent stepping physics (1.0 would mean all of it).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from . import dataset, tasks
from .skills import execute
from .transitions import GenerationConfig, _Observer, make_record
from .world import World


@dataclass
class SimBenchResult:
    mj_steps_per_s: float
    clouds_per_s: float
    transitions_per_s_1: float
    transitions_per_s_n: float
    workers: int
    n_transitions: int
    physics_steps_per_transition: float
    physics_fraction: float
    cpu_count: int
    machine: str

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return "\n".join([
            f"bare mj_step:               {self.mj_steps_per_s:10.0f} steps/s",
            f"point clouds (observe):     {self.clouds_per_s:10.1f} /s",
            f"transitions, 1 process:     {self.transitions_per_s_1:10.1f} /s (skill + 2 observations each)",
            f"transitions, {self.workers} workers:     {self.transitions_per_s_n:10.1f} /s",
            f"physics steps / transition: {self.physics_steps_per_transition:10.0f}",
            f"time in physics:            {self.physics_fraction:10.1%} of a 1-process transition",
            f"machine: {self.machine}, {self.cpu_count} CPUs",
        ])


def _bench_scene(seed: int = 0):
    return tasks.sample("pretrain", np.random.default_rng(seed), 5).scene


def bare_step_rate(seconds: float = 1.0) -> float:
    world = World(_bench_scene())
    m, d = world.model, world.data
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        mujoco.mj_step(m, d, nstep=100)
        n += 100
    return n / (time.perf_counter() - t0)


def cloud_rate(n: int = 50) -> float:
    world = World(_bench_scene())
    observer = _Observer(world, GenerationConfig(), np.random.default_rng(0))
    observer()
    t0 = time.perf_counter()
    for _ in range(n):
        observer()
    return n / (time.perf_counter() - t0)


def _steps_per_transition(config: GenerationConfig, n: int) -> float:
    """Physics steps of a record = simulated time / dt (settling included)."""
    total = 0.0
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, i]))
        sample = tasks.sample(config.distribution, rng, config.n_objects)
        world = World(sample.scene)
        execute(world, sample.skill)
        total += world.time / world.model.opt.timestep
    return total / n


def generation_rate(n: int, workers: int, config: GenerationConfig) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        dataset.generate(make_record, config, out, n=n, shard_size=max(1, n // (4 * workers)), workers=workers)
        return n / (time.perf_counter() - t0)


def run(n: int = 200, workers: int = 2, progress=print) -> SimBenchResult:
    config = GenerationConfig(distribution="pretrain", seed=12345)
    progress("bare mj_step ...")
    steps = bare_step_rate()
    progress("point clouds ...")
    clouds = cloud_rate()
    progress(f"{n} transitions in 1 process ...")
    rate_1 = generation_rate(n, 1, config)
    progress(f"{n} transitions with {workers} workers ...")
    rate_n = generation_rate(n, workers, config)
    per = _steps_per_transition(config, min(n, 50))
    return SimBenchResult(
        mj_steps_per_s=steps, clouds_per_s=clouds, transitions_per_s_1=rate_1, transitions_per_s_n=rate_n,
        workers=workers, n_transitions=n, physics_steps_per_transition=per,
        physics_fraction=per * rate_1 / steps, cpu_count=os.cpu_count() or 0,
        machine=f"{platform.machine()} {platform.processor() or platform.system()}")
