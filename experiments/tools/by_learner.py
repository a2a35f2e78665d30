"""First attempts of an experiment's committed trials per cell and method, the learning methods'
split by the learner settings of the run whose child planned them (`LearningRun.learner`; a
record made before runs carried their settings shows as "unrecorded"). `f2p experiment report`
counts only the runs of the config's current settings; this shows the others too, e.g. the
transport run's seeds learned with the defaults of before 2026-12-04 evening. It reads every line
of the logs, not `ResultLog.load()`, which keeps the latest record of each trial only.

    python experiments/tools/by_learner.py experiments/results/transport --parent 37e3be7d
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from f2p_experiments.records import LEARNER_SETTINGS_ADDED

KEYS = ("epochs", "dplus_repeats", "particles", "state_relations", "reachable")


def settings_label(learner: dict) -> str:
    """The settings that told the runs apart so far; a setting a record predates is what the learner
    did before it existed (`LEARNER_SETTINGS_ADDED`)."""
    if not learner:
        return "unrecorded"
    learner = {**LEARNER_SETTINGS_ADDED, **learner}
    return ", ".join(f"{k} {learner[k]}" for k in KEYS if k in learner)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="an experiment's results directory")
    p.add_argument("--parent", default="", help="prefix of the parent's weights sha256 (default: every parent)")
    args = p.parse_args()
    load = [json.loads(line) for line in (args.results / "learning.jsonl").read_text().splitlines() if line.strip()]
    served = {(r["parent_sha256"], r["served_sha256"], r["spec"]["method"], r["spec"]["learning_seed"]):
              settings_label(r.get("learner", {})) for r in load}
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    seeds: dict[tuple, set] = defaultdict(set)
    for line in (args.results / "trials.jsonl").read_text().splitlines():
        t = json.loads(line)
        if not t["parent_sha256"].startswith(args.parent):
            continue
        s = t["spec"]
        label = "—" if s["learning_seed"] is None else served.get(
            (t["parent_sha256"], t["model_sha256"], s["method"], s["learning_seed"]), "no matching run")
        key = (s["task"], s["n_objects"], s["camera"], s["method"], label)
        cells[key][0] += bool(t["first_attempt_success"])
        cells[key][1] += 1
        seeds[key].add(s["learning_seed"] if s["learning_seed"] is not None else s["seed"] // 20)
    print("| cell | method | learner | first attempts | learning seeds |")
    print("|---|---|---|---|---|")
    for key in sorted(cells):
        task, n, camera, method, label = key
        ok, total = cells[key]
        learned = sorted(x for x in seeds[key] if label != "—")
        print(f"| {task} {n} obj {camera} | {method} | {label} | {ok}/{total} ({100 * ok / total:.0f} %) | "
              f"{', '.join(map(str, learned)) or '—'} |")


if __name__ == "__main__":
    main()
