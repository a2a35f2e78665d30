"""Judge an experiment's learning runs again under another publication gate (`FinetuneConfig.gate_relations`)
without fine-tuning again: each child is loaded from its store, scored on its event's failure relations as
the gate would count them, and the held-out part of its original verdict is kept. One line per run.

    python experiments/tools/regate.py --records experiments/results/transport-slots16/learning.jsonl \\
        --runs runs/frozen/runs/experiments/transport-slots16 --parent experiments/parent_slots16:v0001 --gate world
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from f2p_learner.finetune import FinetuneConfig, failure_accuracy, gated_relations
from f2p_learner.inference import effect_relations
from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", required=True, help="an experiment's learning.jsonl")
    ap.add_argument("--runs", required=True, help="its runs/experiments/<name> directory (failures/, stores/)")
    ap.add_argument("--parent", required=True, help="STORE:VERSION the runs learned from")
    ap.add_argument("--gate", default="world", help="GateRelations to judge with")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = Path(args.runs)
    parent, _ = ModelStore(args.parent.partition(":")[0]).load(args.parent.partition(":")[2])
    failures = FailureStore(runs / "failures")
    threshold = FinetuneConfig().min_failure_accuracy
    rows = [json.loads(line) for line in Path(args.records).read_text().splitlines() if line.strip()]
    latest = {(r["spec"]["method"], r["spec"]["learning_seed"]): r for r in rows}  # a rerun supersedes
    for (method, seed), r in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        store = runs / "stores" / Path(r["store"]).name
        if not (store / "versions" / r["child_version"]).is_dir():
            print(f"seed {seed} {method}: child {store}:{r['child_version']} not here, skipped")
            continue
        event = failures.load(r["event_id"])
        child, _ = ModelStore(store).load(r["child_version"])
        learner = r.get("learner") or {}  # the failure relations as that run's learner chose them
        relations = effect_relations(event, parent, skip_misread=bool(learner.get("skip_misread", False)),
                                     contradiction_margin=float(learner.get("contradiction_margin", 0.0)))
        scored = gated_relations(event, relations, args.gate)
        right = failure_accuracy(child, event, scored)
        heldout_ok = "held-out" not in r["reason"]
        verdict = right >= threshold and heldout_ok
        print(f"seed {seed} {method:14s} was {'validated' if r['validated'] else 'refused  '} "
              f"({r['failure_accuracy']:.2f} of {len(relations)}); gate {args.gate}: {right:.2f} of {len(scored)}"
              f"{'' if heldout_ok else ', held-out refused'} -> {'validated' if verdict else 'refused'}")


if __name__ == "__main__":
    main()
