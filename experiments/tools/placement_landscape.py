"""What a model believes against what happens, along the one parameter a transport trial turns on:
for a trial's scene (the experiment's own `draw_scene`), the model's best plan, then the placement
shifted along x by -0.15..0.15 m (dy, dz, yaw kept): the model's p(goal) and its predicted mean x
(and span, first to last) of the carried items, beside the simulator's outcome of that very
placement (goal met, mean item x and span).

Why: a failed F2P trial whose best plan has p(goal) ≈ 0 can be a model that does not move the
items far enough (predicted item x lags the container's), one that moves them but decodes
front/behind wrongly, or a goal region the planner's samples missed. The landscape tells which
(experiments/RESULTS.md, issue 15).

    python experiments/tools/placement_landscape.py --model experiments/parent:v0001 \\
        runs/experiments/transport/stores/points2plans-fail2progress-s0:v0002 --seeds 1000 1001
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

from f2p_bringup.model_cmd import parse_model_ref
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TRIAL_STREAM, draw_scene
from f2p_learner.methods import Method
from f2p_model.store import ModelStore
from f2p_monitor.executive import InProcessPlanner
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_planner.planner import PlannerConfig, goal_log_probability
from f2p_planner.skeleton import Skeleton
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

OFFSETS = np.round(np.arange(-0.15, 0.151, 0.02), 3)


def load(ref: str):
    """The model of ``STORE[:VERSION]`` (the CLI's `parse_model_ref`; default the latest validated)."""
    store, version = parse_model_ref(ref)
    model, _ = ModelStore(store).load(version)
    return model


def landscape(model, spec: TrialSpec, samples: int) -> list[dict]:
    drawn = draw_scene(spec, model.config.n_points)
    sample = drawn.sample
    goal, skeleton = sample.goal, Skeleton.from_task(sample)
    world = World(sample.scene)
    scene = SimGroundTruthPerception(world, spec.camera, model.config.n_points, spec.noise).perceive(drawn.rng)
    plan = InProcessPlanner(model, PlannerConfig(num_samples=samples), "").plan(scene, goal, skeleton, drawn.rng)
    names = list(scene.names)
    items = [i for i, n in enumerate(names) if n.startswith("item_")]
    skills, acted = skeleton.to_tensors(names, model.config.skill_types)
    index = goal.index(names, model.config.unary_names, model.config.binary_names)
    markers = [float(np.mean([scene.box_lo[names.index(m)][0], scene.box_hi[names.index(m)][0]]))
               for m in ("marker_1", "marker_2")]
    rows = []
    for dx in OFFSETS:
        params = plan.params.copy()
        params[0, 0] += dx
        with torch.no_grad():
            out = model.rollout_many(torch.as_tensor(scene.points), torch.as_tensor(scene.visible), skills, acted,
                                     torch.as_tensor(params[None], dtype=torch.float32))
        p_goal = float(torch.exp(goal_log_probability(out.unary[:, -1], out.binary[:, -1], index))[0])
        pred_items = out.pos[0, -1, items, 0].numpy()
        pred_x = float(pred_items.mean())
        box = int(acted[0])
        pred_box_x = float(out.pos[0, -1, box, 0])
        call = plan.skill_calls[0]
        call = dataclasses.replace(call, params=call.params.copy())
        call.params[0] += dx
        w = World(sample.scene)
        status = execute(w, call).status
        rel = world_relations(w)
        met = sample.goal.holds(rel.holds)
        true_items = np.array([w.body_pose(names[i])[0][0] for i in items])
        true_x = float(true_items.mean())
        true_box_x = float(w.body_pose(names[box])[0][0])
        rows.append({"dx": float(dx), "p_goal": p_goal, "pred_item_x": pred_x, "true_item_x": true_x,
                     "pred_box_x": pred_box_x, "true_box_x": true_box_x,
                     "pred_item_span": [float(pred_items.min()), float(pred_items.max())],
                     "true_item_span": [float(true_items.min()), float(true_items.max())],
                     "met": met, "status": status.value, "markers_x": markers, "best": dx == 0.0})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", required=True, help="STORE[:VERSION] each")
    p.add_argument("--seeds", nargs="+", type=int, default=[1000])
    p.add_argument("--objects", type=int, default=3)
    p.add_argument("--samples", type=int, default=1000)
    args = p.parse_args()
    torch.set_num_threads(1)
    for m in args.model:
        model = load(m)
        model.eval()
        for seed in args.seeds:
            spec = TrialSpec(experiment="landscape", architecture="points2plans", method=Method.ORIGINAL,
                             task="transport", n_objects=args.objects, camera="default", noise=0.0, seed=seed)
            rows = landscape(model, spec, args.samples)
            print(f"{m} seed {seed} (stream {TRIAL_STREAM}) markers x {rows[0]['markers_x'][0]:.3f} "
                  f"{rows[0]['markers_x'][1]:.3f}")
            for r in rows:
                print(f"  dx {r['dx']:+.2f}  p(goal) {r['p_goal']:.1e}  items x pred {r['pred_item_x']:.3f} "
                      f"true {r['true_item_x']:.3f}  box x pred {r['pred_box_x']:.3f} true {r['true_box_x']:.3f}  "
                      f"items span pred {r['pred_item_span'][0]:.3f}..{r['pred_item_span'][1]:.3f} "
                      f"true {r['true_item_span'][0]:.3f}..{r['true_item_span'][1]:.3f}  "
                      f"{'MET' if r['met'] else '-  '} {r['status']}"
                      f"{'  <- best plan' if r['best'] else ''}")


if __name__ == "__main__":
    main()
