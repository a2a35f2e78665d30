"""How often the planner's sampled sequences put HTO's cups in the goal's order, and how the models rank those:
for each scene and model, K sequences from the trial's sampler (free space as set), how many place every cup on
table_B left of the next (y apart by more than `--margin`), their ranks by the latent score, whether any reaches
the best `--top` (the ones the grounded rollout re-scores), the best grounded log p(goal) among the ordered ones
against the top's, and that sequence's least likely atoms (RESULTS.md, "A retry undid a step that had worked").

    python experiments/tools/order_coverage.py --objects 7 --scenes 500002 2 \\
        --model runs/experiments/organize-dev57-f2p/stores/points2plans-fail2progress-s0:v0002 \\
        experiments/parent_slots16:v0001
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, draw_scene, trial_perception
from f2p_learner.methods import Method
from f2p_planner.planner import goal_log_probability, make_planner
from f2p_planner.skeleton import Skeleton
from f2p_sim.world import World


def grounded_log_p(model, problem, decisions: np.ndarray):
    """Grounded log p(goal) (K,) of `decisions` and the rollout."""
    params = torch.as_tensor(problem.sampler.to_params(decisions), dtype=problem.points.dtype)
    out = model.rollout_grounded(problem.points, problem.mask, problem.skills, problem.acted, params)
    return goal_log_probability(out.unary[:, -1], out.binary[:, -1], problem.index).numpy(), out


def main() -> None:
    from per_scene import load_models, scene_arguments  # the same models and scenes as per_scene.py

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scene_arguments(ap, task="organize")
    ap.add_argument("--top", type=int, default=128, help="the latent top the grounded rollout re-scores")
    ap.add_argument("--margin", type=float, default=0.025, help="m between successive cups' target y")
    ap.add_argument("--no-free-space", action="store_true")
    args = ap.parse_args()
    settings = TrialSettings(planner_samples=args.planner_samples, grounded_top_k=args.top,
                             free_space=not args.no_free_space)
    first, n = args.scenes
    for seed in range(first, first + n):
        for ref, model, _, _ in load_models(args.model, False):
            spec = TrialSpec("order_coverage", "points2plans", Method.ORIGINAL, args.task, args.objects, "default", 0.0,
                             seed)
            drawn = draw_scene(spec, model.config.n_points)
            scene = trial_perception(spec, World(drawn.sample.scene), model.config.n_points).perceive(
                np.random.default_rng(0))
            skeleton = Skeleton.from_task(drawn.sample)
            problem = make_planner(model, settings.planner_config())._problem(
                scene.points, scene.visible, scene.names, np.stack([scene.box_lo, scene.box_hi], axis=1),
                scene.classes, drawn.sample.goal, skeleton)
            decisions = problem.sampler.sample_decisions(args.planner_samples, np.random.default_rng(1))
            with torch.no_grad():
                latent = problem.evaluate(decisions)
                _, targets = problem.sampler.rollout_geometry(decisions)
                cups = sorted((s.acted, t) for t, s in enumerate(skeleton) if s.acted.startswith("cup"))
                ys = np.stack([targets[:, t, 1] for _, t in cups], axis=1)
                ordered = np.all(np.diff(ys, axis=1) > args.margin, axis=1)
                rank = np.argsort(np.argsort(-latent))
                top = np.argsort(-latent)[:args.top]
                g_top, _ = grounded_log_p(model, problem, decisions[top])
                line = (f"{seed} {ref}: {ordered.sum()} of {len(decisions)} in order, latent ranks "
                        f"{sorted(int(r) for r in rank[ordered])[:8]}, {int(ordered[top].sum())} in the top "
                        f"{args.top}; grounded log p best of top {g_top.max():.1f}")
                if ordered.any():
                    g_ord, out = grounded_log_p(model, problem, decisions[ordered])
                    b = int(np.argmax(g_ord))
                    atoms = problem.index.atom_probabilities(out.unary[b, -1].numpy(), out.binary[b, -1].numpy())
                    least = sorted(zip(atoms, (a.text for a in drawn.sample.goal.atoms), strict=True))[:4]
                    line += f", best ordered {g_ord.max():.1f}: " + ", ".join(f"{t} {p:.2f}" for p, t in least)
            print(line, flush=True)


if __name__ == "__main__":
    main()
