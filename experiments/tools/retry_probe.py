"""How each model plans the retry, from the same retry starts: on each fresh scene, one model (the
"start" model, default the first --model) makes the first plan and executes it the way a trial's budgeted
run does (monitor on, one replan); where the goal does not hold after it, the replan is made by each
model in turn, from the very scene the executive observed (object permanence included), executed, and
judged by the simulator. So every model's retry starts from the same box on table B, and the only
difference is the model that plans the second placement (RESULTS.md, "SVGD stopped before it converged":
Fail2Progress's children recovered 23 % of their first-attempt failures, Gradient's 54 %).

Besides success, each row has what the planning model predicted for the items' x (the axis of the
markers' band, A.9 front/behind) against where they ended: a mean signed error above 0 is a model that
believes the items end further along x than they do.

    python experiments/tools/retry_probe.py --model experiments/parent_slots16:v0001 STORE:VERSION ... \\
        --start experiments/parent_slots16:v0001 --scenes 1000 40 --out runs/retry_probe.jsonl

A rerun skips the (start, model, scene) triples already in --out. Prints, per model, retries solved and
the items' mean signed and absolute x error of the retry plan (and of the first plan, for the start model).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TRIAL_STREAM, TrialSettings, budget_config, draw_scene, trial_perception
from f2p_learner.methods import Method
from f2p_monitor.executive import InProcessPlanner, run_task
from f2p_monitor.sim_harness import SimRobot
from f2p_planner.skeleton import Skeleton
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

PROBE_STREAM = 4243  # the rng of a probed episode: (scene seed, PROBE_STREAM), the same for every model


class SwitchPlanner:
    """The first plan from `first`, every later one from `later`; keeps each plan and the scene's names."""

    def __init__(self, first: InProcessPlanner, later: InProcessPlanner):
        self.first, self.later = first, later
        self.plans: list[tuple[object, list[str]]] = []

    def plan(self, scene, goal, skeleton, rng):
        planner = self.first if not self.plans else self.later
        result = planner.plan(scene, goal, skeleton, rng)
        self.plans.append((result, list(scene.names)))
        return result

    def use_model(self, model, version):  # nothing learns during a probe
        raise RuntimeError("a retry probe does not learn")


def item_x_error(plan, names: list[str], world: World) -> tuple[float, float]:
    """(mean signed, mean absolute) error of the plan's predicted final x of the items against the world's."""
    errs = []
    for i, name in enumerate(names):
        if name.startswith("item_"):
            errs.append(float(plan.predicted_pos[-1][i][0]) - float(world.body_pose(name)[0][0]))
    return (float(np.mean(errs)), float(np.mean(np.abs(errs)))) if errs else (float("nan"), float("nan"))


def probe(spec: TrialSpec, start, models: list[tuple[str, object, str]], settings: TrialSettings) -> list[dict]:
    """One scene: the start model's first attempt, then each model's retry from where it left the scene."""
    rows = []
    config = budget_config(settings)
    start_ref, start_model, start_version = start
    for ref, model, version in models:
        drawn = draw_scene(spec, model.config.n_points)
        world = World(drawn.sample.scene)
        planner = SwitchPlanner(InProcessPlanner(start_model, config.planner, start_version),
                                InProcessPlanner(model, config.planner, version))
        rng = np.random.default_rng(np.random.SeedSequence([spec.seed, TRIAL_STREAM, PROBE_STREAM]))
        out = run_task(f"probe-{spec.seed}", drawn.sample.goal, Skeleton.from_task(drawn.sample), SimRobot(world),
                       trial_perception(spec, world, model.config.n_points), model, version, config, rng,
                       planner=planner)
        rel = world_relations(world)
        row = {"start": start_ref, "model": ref, "seed": spec.seed, "objects": spec.n_objects,
               "first_attempt_success": out.replans == 0 and bool(out.success), "retried": out.replans > 0,
               "success": bool(out.success), "unmet": [a.text for a in drawn.sample.goal.unmet(rel.holds)]}
        if out.replans:
            plan, names = planner.plans[-1]
            row["retry_goal_probability"] = float(plan.goal_probability)
            row["retry_x_error"], row["retry_x_abs_error"] = item_x_error(plan, names, world)
        rows.append(row)
        if not out.replans:  # no retry to compare: the other models would repeat the same first attempt
            break
    return rows


def summarise(rows: list[dict]) -> None:
    by = defaultdict(list)
    for r in rows:
        if r["retried"]:
            by[(r["start"], r["model"])].append(r)
    for (start, model), mine in by.items():
        err = np.nanmean([r["retry_x_error"] for r in mine])
        abs_err = np.nanmean([r["retry_x_abs_error"] for r in mine])
        print(f"start {start} | retry by {model}: {sum(r['success'] for r in mine)}/{len(mine)} solved; item x "
              f"error of the retry plan mean {err:+.3f} m, |.| {abs_err:.3f} m")


def main() -> None:
    from per_scene import load_models, scene_arguments  # the same models and scenes as per_scene.py

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scene_arguments(ap, model_help="STORE:VERSION of each model that plans the retry")
    ap.add_argument("--start", required=True, help="STORE:VERSION of the model that makes the first plan")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    done = {(r["start"], r["model"], r["seed"], r["objects"]) for r in rows}
    no_retry = {(r["start"], r["seed"], r["objects"]) for r in rows if not r["retried"]}
    settings = TrialSettings(planner_samples=args.planner_samples)
    start = load_models([args.start], False)[0][:3]
    models = [m[:3] for m in load_models(args.model, False)]
    first, n = args.scenes
    for seed in tqdm(range(first, first + n), unit="scene"):
        todo = [m for m in models if (args.start, m[0], seed, args.objects) not in done]
        if not todo or (args.start, seed, args.objects) in no_retry:
            continue
        spec = TrialSpec("retry_probe", "points2plans", Method.REPLANNING, args.task, args.objects, "default", 0.0,
                         seed)
        new = probe(spec, start, todo, settings)
        rows += new
        with out.open("a") as f:
            f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in new)
    summarise([r for r in rows if r["start"] == args.start and r["objects"] == args.objects])


if __name__ == "__main__":
    main()
