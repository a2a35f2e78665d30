"""Is Constrained Packing solvable with parameters inside the workspace bounds, and how narrow is it? An
oracle with the simulator's ground truth, no model: for each packing scene, push the outermost shelf book
towards the others (angle straight along the row and ±0.1 rad, distances 0.03–0.15 m), keep the pushes that
leave every shelf book on the shelf and the row in contact, then place the last book at a 3 × 10 grid over the
shelf bay after each of the first two kept pushes, and check the goal in the simulator (`Goal.unmet` over
ground truth). One JSON line per scene.

Why: the experiments README said no packing step was solvable with workspace-sampled parameters; this tells
a task that cannot be solved from one a planner cannot find the solution of.

    python experiments/tools/packing_oracle.py --objects 3 5 7 --seeds 0 1 2 \\
        --out experiments/results/packing-diagnostics/oracle.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
from itertools import pairwise
from pathlib import Path

import numpy as np

from f2p_core.skills import PUSH_DISTANCE, SkillCall, SkillStatus, SkillType
from f2p_sim import tasks
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

ANGLE_OFFSETS = (0.0, -0.1, 0.1)  # rad, around the direction along the row
DISTANCES = (0.03, 0.05, 0.07, 0.09, 0.12, 0.15)  # m, within PUSH_DISTANCE


def run(sample: tasks.TaskSample, calls: list[SkillCall]) -> tuple[World, SkillStatus]:
    world = World(sample.scene)
    status = SkillStatus.OK
    for call in calls:
        status = execute(world, call).status
        if status is not SkillStatus.OK:
            break
    return world, status


def centre(world: World, name: str) -> np.ndarray:
    lo, hi = world.object_boxes()
    k = world.index(name)
    return (lo[k] + hi[k]) / 2


def scene_stats(n_objects: int, seed: int) -> dict:
    sample = tasks.sample("packing", np.random.default_rng(seed), n_objects, real=True)
    m = n_objects - 1
    shelf_books = [f"book_{i + 1}" for i in range(m)]
    pushed, last = shelf_books[-1], f"book_{n_objects}"
    w0 = World(sample.scene)
    along = -math.pi / 2 if centre(w0, pushed)[1] > centre(w0, shelf_books[0])[1] else math.pi / 2
    kept = []
    for da in ANGLE_OFFSETS:
        for dist in DISTANCES:
            push = SkillCall(SkillType.PUSH, (pushed,), [along + da, dist])
            world, status = run(sample, [push])
            rel = world_relations(world)
            row = all(rel.holds("in_contact", a, b) for a, b in pairwise(shelf_books))
            on = all(rel.holds("on", b, "shelf_1") for b in shelf_books)
            if status is SkillStatus.OK and row and on:
                kept.append([round(da, 3), dist])
    lo, hi = w0.object_boxes()
    k = w0.index("shelf_1")
    c_last = centre(w0, last)
    tried = solved = 0
    for da, dist in kept[:2]:
        push = SkillCall(SkillType.PUSH, (pushed,), [along + da, dist])
        for fx in np.linspace(0.3, 0.7, 3):
            for fy in np.linspace(0.05, 0.95, 10):
                tx, ty = lo[k, 0] + fx * (hi[k, 0] - lo[k, 0]), lo[k, 1] + fy * (hi[k, 1] - lo[k, 1])
                place = SkillCall(SkillType.PICK_PLACE, (last, "shelf_1"), [tx - c_last[0], ty - c_last[1], 0.0, 0.0])
                world, status = run(sample, [push, place])
                tried += 1
                solved += int(status is SkillStatus.OK and sample.goal.holds(world_relations(world).holds))
    return {"objects": n_objects, "seed": seed, "pushes_tried": len(ANGLE_OFFSETS) * len(DISTANCES),
            "pushes_keeping_the_row": kept, "placements_tried": tried, "solved": solved,
            "push_distance_bounds": list(PUSH_DISTANCE)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, nargs="+", default=[3, 5, 7])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=None, help="append one JSON line per scene")
    args = ap.parse_args()
    for n in args.objects:
        for seed in args.seeds:
            row = scene_stats(n, seed)
            print(json.dumps(row), flush=True)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
