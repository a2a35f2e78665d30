"""Where a plan's predictions of its pick-and-place steps go wrong: for each model and fresh scene, the
first plan (the trial's planner), then, step by step as the plan is executed open loop, where each placed
object was planned (its target), where the latent rollout of the plan's parameters puts it, where their
grounded rollout puts it (`SkillEffectModel.rollout_grounded`), where a 1-step prediction from the scene
*perceived* just before the step puts it, and the largest displacement that 1-step prediction gives any
other object of the same class (an object the skill should leave where it is). RESULTS.md, "Rollouts drift".

    python experiments/tools/rollout_drift.py --task organize --scenes 500000 8 --grounded-top-k 64 \\
        --model experiments/parent_slots16:v0001 \\
        runs/frozen/runs/experiments/organize-dev-slots16-grounded/stores/points2plans-fail2progress-s1:v0002

One line per (scene, model, step that places an object), y coordinates (m, +y = table B) and a summary per
model: mean |error| of each prediction against where the object ended, and how many steps predicted another
object of the acted class to move by more than 10 cm.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
import torch

from f2p_core.skills import MAX_PARAMS, SKILL_NAMES, SkillType
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, draw_scene, trial_perception
from f2p_learner.methods import Method
from f2p_monitor.sim_harness import SimRobot
from f2p_planner.skeleton import Skeleton
from f2p_sim.world import World

MOVED_M = 0.10  # another object of the acted class predicted to move more than this counts as carried along


def _tensors(names: list[str], calls) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """skills (H,), acted (H,), params (1, H, A) of `calls` in a scene whose objects are `names`."""
    skills = torch.tensor([SKILL_NAMES.index(c.type.value) for c in calls])
    acted = torch.tensor([names.index(c.object_ids[0]) for c in calls])
    params = torch.zeros(1, len(calls), MAX_PARAMS)
    for h, c in enumerate(calls):
        params[0, h, :len(c.params)] = torch.as_tensor(c.params)
    return skills, acted, params


def drift(spec: TrialSpec, model, version: str, settings: TrialSettings) -> list[dict]:
    """One record per pick-and-place step of the first plan of `spec`'s scene."""
    from plan_atoms import KeepingPlanner

    drawn = draw_scene(spec, model.config.n_points)
    world = World(drawn.sample.scene)
    perception = trial_perception(spec, world, model.config.n_points)
    scene = perception.perceive(drawn.rng)
    plan = KeepingPlanner(model, settings.planner_config(), version).plan(
        scene, drawn.sample.goal, Skeleton.from_task(drawn.sample), drawn.rng)
    names = list(scene.names)
    pts, mask = torch.as_tensor(scene.points, dtype=torch.float32), torch.as_tensor(scene.visible)
    skills, acted, params = _tensors(names, plan.skill_calls)
    with torch.no_grad():
        latent = model.rollout_many(pts, mask, skills, acted, params).pos[0].numpy()
        grounded = model.rollout_grounded(pts, mask, skills, acted, params).pos[0].numpy()
    robot, rows = SimRobot(world), []
    for t, call in enumerate(plan.skill_calls):
        if call.type is not SkillType.PICK_PLACE:
            robot.execute(call)
            continue
        obs = perception.perceive(drawn.rng)
        seen = list(obs.names)
        s, a, p = _tensors(seen, [call])
        with torch.no_grad():
            points = torch.as_tensor(obs.points, dtype=torch.float32)[None]
            one = model.rollout(points, torch.as_tensor(obs.visible)[None], s[None], a[None], p).pos[0].numpy()
        name, k, j = call.object_ids[0], names.index(call.object_ids[0]), seen.index(call.object_ids[0])
        cls = dict(zip(obs.names, obs.classes, strict=True))[name]
        others = [i for i, n in enumerate(seen) if n != name and obs.classes[i] == cls and obs.visible[i]]
        carried = max((float(np.linalg.norm(one[1, i, :2] - one[0, i, :2])) for i in others), default=0.0)
        robot.execute(call)
        rows.append({"seed": spec.seed, "step": t, "object": name, "target": float(plan.targets[t][1]),
                     "latent": float(latent[t + 1, k, 1]), "grounded": float(grounded[t + 1, k, 1]),
                     "observed": float(one[1, j, 1]), "ended": float(world.body_pose(name)[0][1]),
                     "other_moved_m": carried})
    return rows


def main() -> None:
    from per_scene import load_models, scene_arguments

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scene_arguments(ap, task="organize")
    ap.add_argument("--grounded-top-k", type=int, default=0, help="the planner's PlannerConfig.grounded_top_k")
    args = ap.parse_args()
    settings = TrialSettings(planner_samples=args.planner_samples, grounded_top_k=args.grounded_top_k)
    first, n = args.scenes
    summary: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for seed in range(first, first + n):
        spec = TrialSpec("rollout_drift", "points2plans", Method.ORIGINAL, args.task, args.objects, "default", 0.0,
                         seed)
        for ref, model, version, _ in load_models(args.model, False):
            for r in drift(spec, model, version, settings):
                print(f"{seed} {ref}: step {r['step']} {r['object']} target {r['target']:+.2f} latent "
                      f"{r['latent']:+.2f} grounded {r['grounded']:+.2f} from-observed {r['observed']:+.2f} ended "
                      f"{r['ended']:+.2f}; another {r['object'].split('_')[0]} predicted to move "
                      f"{r['other_moved_m']:.2f} m", flush=True)
                for key in ("latent", "grounded", "observed"):
                    summary[ref][key].append(abs(r[key] - r["ended"]))
                summary[ref]["carried"].append(r["other_moved_m"] > MOVED_M)
    for ref, s in summary.items():
        print(f"{ref}: {len(s['carried'])} placements; mean |y error| latent {np.mean(s['latent']):.3f} m, grounded "
              f"{np.mean(s['grounded']):.3f} m, from the perceived scene {np.mean(s['observed']):.3f} m; another "
              f"object of the acted class predicted to move > {MOVED_M} m in {sum(s['carried'])}")


if __name__ == "__main__":
    main()
