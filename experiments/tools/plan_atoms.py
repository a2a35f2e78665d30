"""What each model believes of its own best plan: on fresh scenes, the first plan each model makes
(the trial's planner, K samples) and the goal atoms it holds least likely, so a model whose plans are
not believed can be read atom by atom (RESULTS.md, "What HTO's failures teach").

    python experiments/tools/plan_atoms.py --task organize --objects 3 --scenes 500000 8 \\
        --model runs/frozen/runs/experiments/organize-dev-slots16/stores/points2plans-fail2progress-s0:v0002 \\
        experiments/parent_slots16:v0001

One line per (scene, model): p(goal), the four least likely goal atoms with their probabilities, the plan.
With --execute the plan is also executed open loop (the trial's first attempt) and, per object a
pick_place moves, where the plan puts it, where the model predicts it ends and where it ends (x, y).
"""

from __future__ import annotations

import argparse

import numpy as np

from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, draw_scene, open_loop_config, trial_perception
from f2p_learner.methods import Method
from f2p_monitor.executive import InProcessPlanner, run_task
from f2p_monitor.sim_harness import SimRobot
from f2p_planner.skeleton import Skeleton
from f2p_sim.world import World


def executed(spec: TrialSpec, model, version: str, settings: TrialSettings) -> str:
    """The trial's first attempt with `model`, and per moved object: planned, predicted and final (x, y)."""
    drawn = draw_scene(spec, model.config.n_points)
    world = World(drawn.sample.scene)
    config = open_loop_config(settings)
    planner = KeepingPlanner(model, config.planner, version)
    out = run_task(f"plan_atoms-{spec.seed}", drawn.sample.goal, Skeleton.from_task(drawn.sample), SimRobot(world),
                   trial_perception(spec, world, model.config.n_points), model, version, config, drawn.rng,
                   planner=planner)
    plan, names = planner.kept
    parts = []
    for call, target in zip(plan.skill_calls, plan.targets, strict=True):
        name = call.object_ids[0]
        if call.type.value != "pick_place" or name not in names:
            continue
        pred, end = plan.predicted_pos[-1][names.index(name)], world.body_pose(name)[0]
        parts.append(f"{name} planned ({target[0]:.2f}, {target[1]:+.2f}) predicted ({pred[0]:.2f}, {pred[1]:+.2f}) "
                     f"ended ({end[0]:.2f}, {end[1]:+.2f})")
    return f"{'success' if out.success else 'failed'}, p(goal) {plan.goal_probability:.2f}; " + "; ".join(parts)


class KeepingPlanner(InProcessPlanner):
    """The in-process planner, keeping its last plan and the names of the scene it planned in."""

    def plan(self, scene, goal, skeleton, rng):
        result = super().plan(scene, goal, skeleton, rng)
        self.kept = (result, list(scene.names))
        return result


def main() -> None:
    from per_scene import load_models, scene_arguments  # the same models and scenes as per_scene.py

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scene_arguments(ap, task="organize")
    ap.add_argument("--least", type=int, default=4, help="atoms shown per plan")
    ap.add_argument("--execute", action="store_true", help="execute the plan open loop and show where the moved "
                    "objects were planned, predicted and ended")
    ap.add_argument("--grounded-top-k", type=int, default=64, help="PlannerConfig.grounded_top_k (organize.yaml's)")
    ap.add_argument("--planner", default="shooting", help="TrialSettings.planner: shooting or cem")
    ap.add_argument("--cem-grounded", action="store_true", help="TrialSettings.cem_grounded (with --planner cem)")
    ap.add_argument("--free-space", action="store_true", help="TrialSettings.free_space (SamplingConfig.free_space)")
    args = ap.parse_args()
    settings = TrialSettings(planner_samples=args.planner_samples, grounded_top_k=args.grounded_top_k,
                             planner=args.planner, cem_grounded=args.cem_grounded, free_space=args.free_space)
    models = load_models(args.model, False)
    first, n = args.scenes
    for seed in range(first, first + n):
        spec = TrialSpec("plan_atoms", "points2plans", Method.ORIGINAL, args.task, args.objects, "default", 0.0, seed)
        for ref, model, version, _ in models:
            if args.execute:
                print(f"{seed} {ref}: {executed(spec, model, version, settings)}")
                continue
            drawn = draw_scene(spec, model.config.n_points)
            world = World(drawn.sample.scene)
            scene = trial_perception(spec, world, model.config.n_points).perceive(np.random.default_rng(0))
            plan = InProcessPlanner(model, settings.planner_config(), version).plan(
                scene, drawn.sample.goal, Skeleton.from_task(drawn.sample), np.random.default_rng(1))
            atoms = sorted(zip(plan.atom_probabilities, (a.text for a in drawn.sample.goal.atoms), strict=True))
            least = ", ".join(f"{t} {p:.2f}" for p, t in atoms[:args.least])
            steps = " ".join(f"{c.type.value}({', '.join(c.object_ids)})" for c in plan.skill_calls)
            print(f"{seed} {ref}: p(goal) {plan.goal_probability:.1e}; least: {least}; plan: {steps}")


if __name__ == "__main__":
    main()
