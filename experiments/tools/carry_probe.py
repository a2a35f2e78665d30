"""What a model believes a carried cup takes along: for fresh organize scenes, each cup carried to random
places on table B, predicted in one step from the perceived scene, against the executive's permanence rule
(`f2p_sim.permanence`: the cup and what sits in its footprint move, nothing else does).

The trials' success on HTO hinges on two beliefs at once: the capsules in a cup travel with it, and the other
cups and loose capsules do not. A trial run mixes them with planning noise (2 seeds x 15 scenes moved by 3-6 of 30
between settings); this probe measures each belief directly over many carries, so a learner setting can be
chosen on it (RESULTS.md, "Rollouts drift, and the other cup").

    python experiments/tools/carry_probe.py --scenes 500000 30 --objects 3 --carries 8 \\
        --model experiments/parent_slots16:v0001 \\
        runs/frozen/runs/experiments/organize-dev-slots16-grounded/stores/points2plans-fail2progress-s0:v0002

Per model: of the contents, the share predicted to travel (displacement >= half the cup's); of the objects that
must stay, the share predicted to move more than 10 cm, split by kind (the other cups, capsules in another cup,
loose capsules) and by the side of the carried cup they stand on (+y: left). With --out, one JSON line per
(model, scene, carry) for later looks.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from f2p_core.skills import MAX_PARAMS, SKILL_NAMES, SkillCall, SkillStatus, SkillType
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import draw_scene, trial_perception
from f2p_learner.methods import Method
from f2p_sim.permanence import contents, skill_motion
from f2p_sim.world import World

MOVED_M = 0.10  # an object that must stay, predicted to move more than this, is believed carried along
MARGIN_M = 0.10  # carry targets keep this far inside table B's top


def carries(scene, rng: np.random.Generator, n: int) -> list[SkillCall]:
    """`n` carries of each cup to uniform places on table B's top (parameters: placement minus grasp, A.10)."""
    names = list(scene.names)
    t = names.index("table_B")
    lo, hi = scene.box_lo[t, :2] + MARGIN_M, scene.box_hi[t, :2] - MARGIN_M
    calls = []
    for k, name in enumerate(names):
        if not name.startswith("cup_"):
            continue
        centre = (scene.box_lo[k] + scene.box_hi[k]) / 2
        for _ in range(n):
            target = rng.uniform(lo, hi)
            calls.append(SkillCall(SkillType.PICK_PLACE, (name, "table_B"),
                                   (float(target[0] - centre[0]), float(target[1] - centre[1]), 0.0, 0.0)))
    return calls


def predicted_shifts(model, scene, call: SkillCall) -> np.ndarray:
    """(N,) predicted xy displacement of every object after `call`, one step from the perceived scene."""
    names = list(scene.names)
    points = torch.as_tensor(np.asarray(scene.points), dtype=torch.float32)[None]
    mask = torch.as_tensor(np.asarray(scene.visible))[None]
    params = torch.zeros(1, 1, MAX_PARAMS)
    params[0, 0, :len(call.params)] = torch.as_tensor(call.params)
    skills = torch.tensor([[SKILL_NAMES.index(call.type.value)]])
    acted = torch.tensor([[names.index(call.object_ids[0])]])
    with torch.no_grad():
        pos = model.rollout(points, mask, skills, acted, params).pos[0].numpy()
    return np.linalg.norm(pos[1, :, :2] - pos[0, :, :2], axis=1)


def kinds(names: list[str], lo: np.ndarray, hi: np.ndarray, visible: np.ndarray) -> list[str]:
    """Per object: "cup", "capsule in a cup" (inside some cup by the permanence rule) or "loose capsule"."""
    held = np.zeros(len(names), bool)
    for j, name in enumerate(names):
        if name.startswith("cup_"):
            held |= contents(lo, hi, visible, j)
    return ["cup" if n.startswith("cup_") else "capsule in a cup" if held[i] else "loose capsule"
            for i, n in enumerate(names)]


def probe(model, scene, calls: list[SkillCall]) -> list[dict]:
    """One record per carry: which objects the rule moves, and what the model predicts for each."""
    names = list(scene.names)
    visible = np.asarray(scene.visible, bool)
    lo, hi = scene.box_lo, scene.box_hi
    centre = (lo + hi) / 2
    kind = kinds(names, lo, hi, visible)
    rows = []
    for call in calls:
        k = names.index(call.object_ids[0])
        motion = skill_motion(lo, hi, visible, k, call, SkillStatus.OK)
        shift = predicted_shifts(model, scene, call)
        cup_shift = float(np.linalg.norm(call.params[:2]))
        objects = []
        for i, name in enumerate(names):
            if i == k or not visible[i] or name.startswith("table"):
                continue
            objects.append({"name": name, "moves": bool(motion.moved[i]), "predicted_m": float(shift[i]),
                            "side": "left" if centre[i, 1] > centre[k, 1] else "right",
                            "kind": kind[i]})
        rows.append({"cup": call.object_ids[0], "shift_m": cup_shift, "cup_predicted_m": float(shift[k]),
                     "objects": objects})
    return rows


def summarise(ref: str, rows: list[dict]) -> str:
    travel, stay = [], defaultdict(list)
    for r in rows:
        for o in r["objects"]:
            if o["moves"]:
                travel.append(o["predicted_m"] >= r["shift_m"] / 2)
            else:
                stay[(o["kind"], o["side"])].append(o["predicted_m"] > MOVED_M)
    parts = [f"{ref}: {len(rows)} carries; contents travel {sum(travel)}/{len(travel)}"]
    for (cls, side), v in sorted(stay.items()):
        parts.append(f"{cls} {side} carried along {sum(v)}/{len(v)}")
    return "; ".join(parts)


def main() -> None:
    from per_scene import load_models

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", nargs="+", required=True, help="STORE:VERSION, one or more")
    ap.add_argument("--scenes", type=int, nargs=2, metavar=("FIRST_SEED", "N"), required=True)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--carries", type=int, default=8, help="carries of each cup per scene")
    ap.add_argument("--out", help="JSONL of every carry")
    args = ap.parse_args()
    models = load_models(args.model, False)
    n_points = models[0][1].config.n_points
    first, n = args.scenes
    rows: dict[str, list[dict]] = defaultdict(list)
    out = Path(args.out).open("w") if args.out else None
    for seed in range(first, first + n):
        spec = TrialSpec("carry_probe", "points2plans", Method.ORIGINAL, "organize", args.objects, "default", 0.0,
                         seed)
        drawn = draw_scene(spec, n_points)
        scene = trial_perception(spec, World(drawn.sample.scene), n_points).perceive(drawn.rng)
        calls = carries(scene, np.random.default_rng(seed), args.carries)
        for ref, model, _, _ in models:
            got = probe(model, scene, calls)
            rows[ref] += got
            if out:
                for r in got:
                    out.write(json.dumps({"model": ref, "seed": seed, **r}) + "\n")
    for ref, got in rows.items():
        print(summarise(ref, got))


if __name__ == "__main__":
    main()
