"""Which failure each learning seed of a config would learn from, without learning: the runner's
failure search (`f2p_experiments.learning.find_failure`, the config's search settings and parent) for
learning seeds 0..L-1, printing per seed the scene, the failed step and skill, and each mismatch with
whether it is a failure relation (`effect_relations` with the config's learner settings) or left out
(a misreading or an unsure prediction).

    python experiments/tools/failure_events.py experiments/configs/organize.yaml --scale slots16 \\
        --seeds 5 --store runs/failure_events/organize-slots16 [--learner skip_misread=false contradiction_margin=0]

The failure store (--store) is written afresh (events are timestamped: a rerun finds the same scenes).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from f2p_core.relations import BINARY, UNARY
from f2p_experiments.config import load, with_learner
from f2p_experiments.learning import find_failure
from f2p_learner.inference import effect_relations
from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--scale", default="full")
    ap.add_argument("--seeds", type=int, default=None, help="learning seeds 0..N-1 (default: the config's)")
    ap.add_argument("--store", required=True, help="a failure store directory, replaced")
    ap.add_argument("--learner", nargs="*", default=[], metavar="KEY=VALUE",
                    help="learner settings over the config's, e.g. skip_misread=false contradiction_margin=0")
    args = ap.parse_args()
    cfg = with_learner(load(args.config, args.scale), args.learner)
    model, meta = ModelStore(cfg.model.store).load(cfg.model.version)
    model.eval()
    store_dir = Path(args.store)
    shutil.rmtree(store_dir, ignore_errors=True)
    store = FailureStore(store_dir)
    names = [*UNARY, *BINARY]
    for seed in range(args.seeds if args.seeds is not None else cfg.learning_seeds):
        search = find_failure(cfg.experiment, cfg.architecture, seed, model, cfg.model.version, meta.weights_sha256,
                              store, cfg.search, cfg.learner)
        misread = sum(len(t.get("misread", [])) for t in search.tried)
        if not search.event_id:
            print(f"learning seed {seed}: none in {len(search.tried)} scenes ({misread} misread)")
            continue
        event = store.load(search.event_id)
        kept = {(names[r], event.scene_before.names[i], event.scene_before.names[j] if j >= 0 else "")
                for r, i, j in effect_relations(event, model, skip_misread=cfg.learner.skip_misread,
                                                contradiction_margin=cfg.learner.contradiction_margin)}
        print(f"learning seed {seed}: scene {search.scene_seed}, step {event.step_index} "
              f"{event.skill.type.value}{tuple(event.skill.object_ids)}; {len(search.tried)} scenes tried, "
              f"{misread} misread event(s) skipped")
        for m in event.mismatched:
            what = "effect" if (m.relation, m.subject, m.object) in kept else "left out"
            print(f"    {what:8s} {m.text()}")


if __name__ == "__main__":
    main()
