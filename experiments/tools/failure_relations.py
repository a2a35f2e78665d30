"""Each failure relation of a learning run's event, one line each: observed after the skill, the parent's and
the child's predicted probability, and the share of D+'s own particles (anchors left out) whose simulated outcome
agrees with the observation. Shows which relations a refused child missed and whether D+ could have taught them.

    R=runs/frozen/runs/experiments/transport-slots16
    python experiments/tools/failure_relations.py --failures $R/failures --parent experiments/parent_slots16:v0001 \\
        --learning $R/learn/points2plans-fail2progress-s0/20261206T142708-9782cdc6 \\
        --child $R/stores/points2plans-fail2progress-s0:v0002
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from f2p_core.relations import BINARY, THRESHOLD, UNARY
from f2p_learner.finetune import predicted_failure_relations
from f2p_learner.inference import effect_relations, failure_tensors
from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore
from f2p_sim import dataset


def dplus_agreement(records, event, r: int, i: int, j: int, observed: bool, anchors: int) -> float:
    """Share of D+'s particles (after the anchors) whose simulated relation equals the observed one."""
    names = list(event.scene_before.names)
    agree = []
    for a in range(anchors, len(records["names"])):
        rec_names = [str(x) for x in records["names"][a][: int(records["n_objects"][a])]]
        if names[i] not in rec_names or (j >= 0 and names[j] not in rec_names):
            continue
        ii = rec_names.index(names[i])
        value = (records["unary_t1"][a][ii, r] if j < 0
                 else records["binary_t1"][a][ii, rec_names.index(names[j]), r - len(UNARY)])
        agree.append(bool(value) == observed)
    return float(np.mean(agree)) if agree else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--learning", required=True, help="a learning run's directory (report.json, dplus/)")
    ap.add_argument("--failures", required=True, help="the failure store holding its event")
    ap.add_argument("--parent", required=True, help="STORE:VERSION the run learned from")
    ap.add_argument("--child", required=True, help="STORE:VERSION of the child (published or refused)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    learning = Path(args.learning)
    event = FailureStore(args.failures).load(learning.name)
    anchors = int(json.loads((learning / "report.json").read_text())["config"].get("anchors", 0))
    parent, _ = ModelStore(args.parent.partition(":")[0]).load(args.parent.partition(":")[2])
    child, _ = ModelStore(args.child.partition(":")[0]).load(args.child.partition(":")[2])
    relations = effect_relations(event, parent)
    records = dataset.load(learning / "dplus")
    p_parent, p_child = (predicted_failure_relations(m, failure_tensors(event, m, relations)).numpy()
                         for m in (parent, child))
    names, vocab = list(event.scene_before.names), (*UNARY, *BINARY)
    right = 0
    for k, (r, i, j) in enumerate(relations):
        observed = bool(event.unary_after[i, r]) if j < 0 else bool(event.binary_after[i, j, r - len(UNARY)])
        ok = (p_child[k] >= THRESHOLD) == observed
        right += ok
        args_text = f"{names[i]}, {names[j]}" if j >= 0 else names[i]
        print(f"{vocab[r]}({args_text}): observed {int(observed)}  parent {p_parent[k]:.2f}  child {p_child[k]:.2f}  "
              f"D+ agrees {dplus_agreement(records, event, r, i, j, observed, anchors):.2f}{'' if ok else '  MISSED'}")
    print(f"child right on {right} of {len(relations)} failure relations")


if __name__ == "__main__":
    main()
