"""One trial's budgeted run (monitor on, one replan), step by step: every plan with its skills and parameters,
each step's status and mismatches, where the acted object went, and the rest of the plan's p(goal) predicted
from each observation with its least likely goal atoms (RESULTS.md, "A retry undid a step that had worked").

    python experiments/tools/replan_steps.py --seed 500002 --objects 5 \\
        --model runs/experiments/organize-dev57-f2p/stores/points2plans-fail2progress-s0:v0002 \\
        --planner cem --cem-grounded --grounded-top-k 128 [--free-space] [--retry goal_mismatch] [--open-loop]
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, budget_config, draw_scene, open_loop_config, run_episode
from f2p_learner.methods import Method
from f2p_monitor.executive import Observer, RetryRule


class StepPrinter(Observer):
    """Prints what the executive does, as it does it."""

    def __init__(self, atoms: list[str], least: int = 4):
        self.atoms, self.least = atoms, least

    def planned(self, plan, scene, first_step):
        print(f"  PLAN from step {first_step}: p(goal) {plan.goal_probability:.3g}")
        for c in plan.skill_calls:
            print(f"     {c.type.value}({', '.join(c.object_ids)}) {[round(float(v), 3) for v in c.params]}")

    def rescored(self, plan, scene, first_step):
        atoms = sorted(zip(plan.atom_probabilities, self.atoms, strict=True))[:self.least]
        print(f"  rest from step {first_step}: p(goal) {plan.goal_probability:.3g}; least: "
              + ", ".join(f"{t} {p:.2g}" for p, t in atoms))

    def observed(self, step, call, status, before, after, predicted, observed, mismatches):
        print(f" step {step} {call.type.value}({', '.join(call.object_ids)}) -> {status.value}; "
              f"{len(mismatches)} mismatches: " + "; ".join(m.text() for m in mismatches[:6]))
        name = call.object_ids[0]
        i, j = before.index(name), after.index(name)
        print(f"     {name}: segment centre {_xyz(before.points[i])} -> {_xyz(after.points[j])}")


def _xyz(points: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in points.mean(axis=0)) + ")"


def main() -> None:
    from per_scene import load_models  # the same model loading as the other per-scene tools

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="STORE:VERSION")
    ap.add_argument("--seed", type=int, required=True, help="the trial's scene seed")
    ap.add_argument("--task", default="organize")
    ap.add_argument("--objects", type=int, default=5)
    ap.add_argument("--planner", default="shooting", help="TrialSettings.planner: shooting or cem")
    ap.add_argument("--grounded-top-k", type=int, default=64)
    ap.add_argument("--cem-grounded", action="store_true")
    ap.add_argument("--free-space", action="store_true")
    ap.add_argument("--retry", default=RetryRule.ALWAYS.value, choices=[r.value for r in RetryRule])
    ap.add_argument("--open-loop", action="store_true", help="the first attempt instead (no monitor)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    (_, model, version, _), = load_models([args.model], False)
    settings = TrialSettings(planner=args.planner, grounded_top_k=args.grounded_top_k, cem_grounded=args.cem_grounded,
                             free_space=args.free_space, retry=args.retry)
    spec = TrialSpec("replan_steps", "points2plans", Method.FAIL2PROGRESS, args.task, args.objects, "default", 0.0,
                     args.seed, 0)
    atoms = [a.text for a in draw_scene(spec, model.config.n_points).sample.goal.atoms]
    print("goal:", " & ".join(atoms))
    config = open_loop_config(settings) if args.open_loop else budget_config(settings)
    ep = run_episode(spec, model, version, config, observer=StepPrinter(atoms))
    print(f"success {ep.outcome.success}, replans {ep.outcome.replans}, unmet {ep.unmet}")


if __name__ == "__main__":
    main()
