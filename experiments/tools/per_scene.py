"""Which fresh scenes each model solves: one JSON line per (model, scene) with the first-attempt
outcome, the model's belief in its plan, the unmet goal atoms and what the scene is (the class of the
transported box, the object count), so children can be compared scene by scene rather than by
their totals (RESULTS.md, "how much of a learning run is chance").

    python experiments/tools/per_scene.py --model experiments/parent:v0001 \\
        runs/finetune_seeds/transport-l0/store-k0:v0002 --scenes 1000 100 \\
        --out runs/per_scene.jsonl

With --ensemble the models are planned with as one (the mean of their predictions: `Ensemble`).
A rerun skips the (model, scene) pairs already in --out. Prints, per model, success by box class
and by where the box starts, and how many first plans the model believed.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import torch
from tqdm import tqdm

from f2p_core.classes import OPEN_BOX_CLASSES
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, draw_scene, run_trial
from f2p_learner.methods import Method
from f2p_model.model import RolloutOutput
from f2p_model.store import ModelStore

BELIEVED = 1e-5  # a first plan the model believes: p(goal) above this (the parent's are 1e-20 and below)


def scene_facts(spec: TrialSpec, n_points: int) -> dict:
    """What the scene is: the class of its open box (transport: bag or container, '' when none), where
    the box starts (x, y) and the markers' x (transport), as `draw_scene` draws it."""
    objects = {o.name: o for o in draw_scene(spec, n_points).sample.scene.objects}
    box = next((o for o in objects.values() if o.cls.value in OPEN_BOX_CLASSES), None)
    return {"box": box.cls.value if box else "",
            "box_xy": [round(float(v), 4) for v in box.pos[:2]] if box else None,
            "markers_x": [round(float(o.pos[0]), 4) for n, o in sorted(objects.items()) if n.startswith("marker_")]}


def summarise(rows: list[dict], far_x: float = 0.40) -> None:
    """Per model: scenes solved, by box class and by where the box starts (x below / from `far_x`),
    and how many first plans the model believed (p(goal) > BELIEVED)."""
    by = defaultdict(list)
    for r in rows:
        by[r["model"]].append(r)
    for model, mine in by.items():
        parts = []
        for name, sel in [*((c, [r for r in mine if r["box"] == c]) for c in sorted({r["box"] for r in mine})),
                          (f"box x<{far_x}", [r for r in mine if r["box_xy"] and r["box_xy"][0] < far_x]),
                          (f"box x>={far_x}", [r for r in mine if r["box_xy"] and r["box_xy"][0] >= far_x])]:
            believed = sum(r["goal_probability"] > BELIEVED for r in sel)
            parts.append(f"{name} {sum(r['first_attempt_success'] for r in sel)}/{len(sel)} (believed {believed})")
        print(f"{model}: {sum(r['first_attempt_success'] for r in mine)}/{len(mine)}; " + ", ".join(parts))


class Ensemble(torch.nn.Module):
    """Several models planned with as one: the mean of their predicted relation probabilities and
    positions (`rollout_many`, all the planner calls). A diagnostic of whether children that miss the
    goal band on opposite sides cancel out; it is not a learner (experiments/RESULTS.md)."""

    def __init__(self, members: list) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.config = members[0].config

    def rollout_many(self, *args) -> RolloutOutput:
        outs = [m.rollout_many(*args) for m in self.members]

        def mean(field: str) -> torch.Tensor:
            return torch.stack([getattr(o, field) for o in outs]).mean(0)

        return RolloutOutput(unary=mean("unary"), binary=mean("binary"), pos=mean("pos"), latent=outs[0].latent,
                             mask=outs[0].mask)


def load_models(refs: list[str], ensemble: bool) -> list[tuple[str, object, str, str]]:
    """(name, model in eval mode, version, sha256) per STORE:VERSION ref, or one for their ensemble."""
    loaded = []
    for ref in refs:
        store, _, version = ref.rpartition(":")
        model, meta = ModelStore(Path(store)).load(version)
        loaded.append((ref, model.eval(), version, meta.weights_sha256[:16]))
    if not ensemble:
        return loaded
    return [("ensemble(" + " ".join(refs) + ")", Ensemble([m for _, m, _, _ in loaded]).eval(), "ensemble",
             "+".join(sha for _, _, _, sha in loaded))]


def scene_arguments(ap: argparse.ArgumentParser, task: str = "transport",
                    model_help: str = "STORE:VERSION, one or more") -> None:
    """The options every per-scene diagnostic shares: the models, the fresh scenes, the planner's K."""
    ap.add_argument("--model", nargs="+", required=True, help=model_help)
    ap.add_argument("--scenes", type=int, nargs=2, metavar=("FIRST_SEED", "N"), required=True)
    ap.add_argument("--task", default=task)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--planner-samples", type=int, default=1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scene_arguments(ap)
    ap.add_argument("--camera", default="default")
    ap.add_argument("--perception", default="sim_gt", help="sim_gt (labels) or geometric (unlabelled cloud, "
                    "segments bound to the task's names)")
    ap.add_argument("--ensemble", action="store_true", help="plan with the mean prediction of all --model")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    done = {(r["model"], r["task"], r["objects"], r["camera"], r.get("perception", "sim_gt"), r["seed"]) for r in rows}
    settings = TrialSettings(planner_samples=args.planner_samples)
    first, n = args.scenes
    names = []
    for ref, model, version, sha in load_models(args.model, args.ensemble):
        names.append(ref)
        todo = [s for s in range(first, first + n)
                if (ref, args.task, args.objects, args.camera, args.perception, s) not in done]
        for seed in tqdm(todo, desc=ref, unit="scene"):
            spec = TrialSpec("per_scene", "points2plans", Method.ORIGINAL, args.task, args.objects,
                             args.camera, 0.0, seed, perception=args.perception)
            result = run_trial(spec, model, version, settings)
            row = {"model": ref, "sha256": sha, "task": args.task, "objects": args.objects,
                   "camera": args.camera, "perception": args.perception, "seed": seed,
                   **scene_facts(spec, model.config.n_points),
                   "first_attempt_success": result.first_attempt_success,
                   "goal_probability": result.goal_probability, "unmet_first": result.unmet_first}
            rows.append(row)
            with out.open("a") as f:
                f.write(json.dumps(row, sort_keys=True) + "\n")
    summarise([r for r in rows if r["model"] in names and r.get("perception", "sim_gt") == args.perception])


if __name__ == "__main__":
    main()
