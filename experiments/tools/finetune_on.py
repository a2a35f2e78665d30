#!/usr/bin/env python3
"""Fine-tune the parent on any dataset instead of a D+, the way the learner fine-tunes, then run it
open loop on fresh transport scenes (experiments/RESULTS.md, "Why one failure did not generalise":
the rows fine-tuned on 28 transport transitions of 28 different scenes).

    f2p data generate --distribution transport --n 28 --workers 1 --seed 5 --out data/oracle_transport_28
    python experiments/tools/finetune_on.py data/oracle_transport_28 \
        --failures runs/experiments/transport-dev/failures --event <event id> --out runs/diag/oracle28 \
        [--epochs 200] [--stop-when-learned] [--trials 15]

The event is only the failure the stop criterion and the "failure relations right" metric score
(any learning seed's event of the dev scale); the trials are the dev scale's seed-0 scenes
(trial seeds 500,000 + k) with the first plan executed open loop.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from f2p_experiments.learning import child_store
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, run_trial
from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish
from f2p_learner.methods import Method
from f2p_monitor.failure_store import FailureStore


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="dataset directory to fine-tune on")
    p.add_argument("--failures", required=True, help="failure store holding --event")
    p.add_argument("--event", required=True)
    p.add_argument("--out", required=True, type=Path, help="child store and fine-tuning run go here")
    p.add_argument("--store", default="models", help="the parent's store (its v0001)")
    p.add_argument("--epochs", type=int, default=FinetuneConfig.epochs)
    p.add_argument("--stop-when-learned", action="store_true")
    p.add_argument("--replay", default="data/replay")
    p.add_argument("--trials", type=int, default=15)
    p.add_argument("--trial-seed-base", type=int, default=500_000)
    args = p.parse_args()
    torch.set_num_threads(2)
    event = FailureStore(args.failures).load(args.event)
    store = child_store(Path(args.store), "v0001", args.out / "store")
    t = time.perf_counter()
    res = finetune_validate_publish(store, "v0001", [args.data], event,
                                    FinetuneConfig(epochs=args.epochs, stop_when_learned=args.stop_when_learned),
                                    heldout=None, replay=args.replay or None, work_dir=args.out / "finetune")
    print(f"fine-tuned {res.version} in {time.perf_counter() - t:.0f} s: {res.reason} {res.metrics}", flush=True)
    model, _ = store.load(res.version)
    solved = 0
    for k in range(args.trials):
        spec = TrialSpec("finetune_on", "points2plans", Method.ORIGINAL, "transport", 3, "default", 0.0,
                         args.trial_seed_base + k)
        r = run_trial(spec, model.eval(), res.version, TrialSettings())
        solved += r.first_attempt_success
        print(f"scene {spec.seed}: {'solved' if r.first_attempt_success else 'missed ' + ', '.join(r.unmet_first)}",
              flush=True)
    print(f"first attempt: {solved}/{args.trials}; probe it with f2p experiment probe --model {args.out / 'store'}")


if __name__ == "__main__":
    main()
