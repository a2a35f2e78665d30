"""How many of the planner's random samples solve an HTO scene? An oracle with the simulator, no model: for each
trial scene, K decision sequences drawn by the planner's own sampler (`f2p_planner.sampling.ParameterSampler`,
the shooting round of A.11) from the perceived segments, each executed open loop in a fresh world and checked
against the goal over ground truth. One JSON line per scene: the share solved and which goal atoms the samples
miss most.

Why: at 7 objects (4 cups, 7 capsules, 7–11 skills) no model believes any of the 1,000 sequences it scores
(RESULTS.md, "Five and seven objects"). This says whether the sampled sequences hold solutions at all, and so
whether a better search or a better model is what such a cell needs.

    python experiments/tools/organize_oracle.py --objects 3 5 7 --scenes 500000 5 --samples 40 \\
        --out experiments/results/organize-diagnostics/oracle.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from f2p_core.skills import PARAM_NAMES, SkillCall, SkillStatus
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import draw_scene, trial_perception
from f2p_learner.methods import Method
from f2p_monitor.executive import _segments
from f2p_planner.planner import PlannerConfig, ShootingPlanner
from f2p_planner.skeleton import Skeleton
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

N_POINTS = 128  # segment cloud size: the sampler reads only the segments' boxes


def scene_line(n_objects: int, seed: int, samples: int) -> dict:
    spec = TrialSpec("organize_oracle", "points2plans", Method.ORIGINAL, "organize", n_objects, "default", 0.0, seed)
    drawn = draw_scene(spec, N_POINTS)
    goal, skeleton = drawn.sample.goal, Skeleton.from_task(drawn.sample)
    scene = trial_perception(spec, World(drawn.sample.scene), N_POINTS).perceive(np.random.default_rng(0))
    planner = ShootingPlanner(model=None, config=PlannerConfig(num_samples=samples))
    problem = planner._problem(*_segments(scene), goal, skeleton)
    decisions = problem.sampler.sample_decisions(samples, np.random.default_rng(seed))
    params = problem.sampler.to_params(decisions)
    solved, missed, statuses = 0, Counter(), Counter()
    for k in range(samples):
        world = World(drawn.sample.scene)
        status = SkillStatus.OK
        for t, step in enumerate(problem.skeleton):
            call = SkillCall(step.type, step.object_ids, params[k, t, : len(PARAM_NAMES[step.type])])
            status = execute(world, call).status
            if status is not SkillStatus.OK:
                break
        statuses[status.value] += 1
        unmet = [a.text for a in goal.unmet(world_relations(world).holds)]
        solved += int(status is SkillStatus.OK and not unmet)
        missed.update(unmet)
    return {"objects": n_objects, "seed": seed, "skills": len(problem.skeleton), "samples": samples,
            "solved": solved, "statuses": dict(statuses), "missed": dict(missed.most_common(6))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, nargs="+", default=[3, 5, 7])
    ap.add_argument("--scenes", type=int, nargs=2, metavar=("FIRST_SEED", "N"), required=True)
    ap.add_argument("--samples", type=int, default=40, help="sequences executed per scene")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = args.out.open("a") if args.out else None
    first, n = args.scenes
    for n_objects in args.objects:
        total = tried = 0
        for seed in range(first, first + n):
            line = scene_line(n_objects, seed, args.samples)
            total, tried = total + line["solved"], tried + line["samples"]
            print(json.dumps(line))
            if out:
                out.write(json.dumps(line) + "\n")
        print(f"{n_objects} objects: {total} of {tried} sampled sequences solve their scene")


if __name__ == "__main__":
    main()
