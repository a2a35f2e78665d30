"""How much of one learning run is chance: the same failure event, the same D+ (the particles are
seeded by the learning seed), fine-tuned with K different fine-tuning seeds (`FinetuneConfig.seed`:
which 96 replay transitions each epoch draws and the batch order), and each child run open loop on
the same fresh scenes (first attempt, `f2p_experiments.trial.run_trial` as `f2p eval original`).

The failure is found the way the experiment runner finds it (`find_failure` with the config's
search settings and the learning seed), so `--config transport.yaml --learning-seed 0` relearns
the full run's seed-0 failure; the learner settings are the config's. One JSON line per child
(appended to --out; a rerun skips the seeds already there):

    python experiments/tools/finetune_seeds.py --config experiments/configs/transport.yaml \\
        --learning-seed 0 --finetune-seeds 0 1 2 3 --scenes 1000 100 \\
        --out experiments/results/transport-diagnostics/finetune_seeds.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from f2p_experiments.config import load
from f2p_experiments.learning import child_store, find_failure, learner_config
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import run_trial
from f2p_learner.learner import Fail2ProgressLearner
from f2p_learner.methods import Method
from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore
from f2p_monitor.stats import wilson_interval


def plot(rows: list[dict], path: Path) -> None:
    """First-attempt success of each child (95 % Wilson interval), one panel per failure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = sorted({(r.get("scale", "full"), r["learning_seed"]) for r in rows}, key=lambda k: (k[1], k[0]))
    cols = min(4, len(seeds))
    nrows = -(-len(seeds) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    for ax in axes.flat[len(seeds):]:
        ax.axis("off")
    for ax, seed in zip(axes.flat[:len(seeds)], seeds, strict=True):
        mine = sorted((r for r in rows if (r.get("scale", "full"), r["learning_seed"]) == seed),
                      key=lambda r: r["finetune_seed"])
        rates = [r["first_attempt_successes"] / r["scenes"][1] for r in mine]
        lo_hi = [wilson_interval(r["first_attempt_successes"], r["scenes"][1]) for r in mine]
        err = [[p - lo for p, (lo, _) in zip(rates, lo_hi, strict=True)],
               [hi - p for p, (_, hi) in zip(rates, lo_hi, strict=True)]]
        ax.bar([str(r["finetune_seed"]) for r in mine], rates, yerr=err, capsize=3, color="tab:orange")
        ax.set_ylim(0, 1)
        ax.set_xlabel("fine-tuning seed")
        ax.set_title(f"{seed[0]}\nfailure scene {mine[0]['scene_seed']} (learning seed {seed[1]})", fontsize=9)
        ax.set_ylabel("first-attempt success (95 % Wilson)", fontsize=8)
    fig.suptitle("one failure, one D+, several fine-tuning seeds: fresh scenes solved by each child", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--scale", default=None)
    ap.add_argument("--learning-seed", type=int, required=True)
    ap.add_argument("--finetune-seeds", type=int, nargs="+", required=True)
    ap.add_argument("--scenes", type=int, nargs=2, metavar=("FIRST_SEED", "N"), required=True)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--method", default="fail2progress", choices=[m.value for m in Method if m.learns],
                    help="the learning method (its particles and objectives, as the runner's learning run)")
    ap.add_argument("--work", default="runs/finetune_seeds")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cfg = load(args.config, args.scale or "full")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scale = args.scale or "full"  # a failure is its scene; a scale is its learner settings
    done = {(r.get("scale", "full"), r.get("method", "fail2progress"), r["scene_seed"], r["finetune_seed"],
             r["scenes"][0], r["scenes"][1])
            for r in map(json.loads, out.read_text().splitlines() if out.exists() else [])}
    parent_root = Path(cfg.model.store)
    parent_model, meta = ModelStore(parent_root).load(cfg.model.version)
    method = Method(args.method)
    work = Path(args.work) / f"{cfg.experiment}-l{args.learning_seed}"
    failures = FailureStore(work / "failures")
    search = find_failure(cfg.experiment, cfg.architecture, args.learning_seed, parent_model.eval(),
                          cfg.model.version, meta.weights_sha256, failures, cfg.search, cfg.learner)
    if not search.event_id:
        raise SystemExit(f"learning seed {args.learning_seed}: no incorrect-prediction failure found")
    event = failures.load(search.event_id)
    first, n = args.scenes
    for k in args.finetune_seeds:
        if (scale, method.value, search.scene_seed, k, first, n) in done:
            print(f"fine-tuning seed {k}: already in {out}")
            continue
        tag = f"k{k}" if method is Method.FAIL2PROGRESS else f"{method.value}-k{k}"
        store = child_store(parent_root, cfg.model.version, work / f"store-{tag}")
        t0 = time.perf_counter()
        learned = Fail2ProgressLearner(store, cfg.model.version,
                                       learner_config(cfg.learner, method, args.learning_seed,
                                                      work / tag, finetune_seed=k)).learn(event)
        learn_s = time.perf_counter() - t0
        validated = learned is not None  # an unvalidated child is published but not served
        child_version = [m.version for m in store.list() if m.version != cfg.model.version][-1]
        child, child_meta = store.load(child_version)
        served = child_version if validated else cfg.model.version
        model = child if validated else parent_model
        wins = 0
        for seed in range(first, first + n):
            spec = TrialSpec("finetune_seeds", cfg.architecture, Method.ORIGINAL, cfg.search.task, args.objects,
                             "default", 0.0, seed)
            wins += run_trial(spec, model.eval(), served, cfg.trial).first_attempt_success
        row = {"experiment": cfg.experiment, "scale": args.scale or "full", "learning_seed": args.learning_seed,
               "scene_seed": search.scene_seed, "event_id": search.event_id,
               "finetune_seed": k, "method": method.value, "child_sha256": child_meta.weights_sha256[:16],
               "validated": validated,
               "scenes": [first, n], "objects": args.objects, "first_attempt_successes": wins,
               "learn_s": round(learn_s, 1), "learner": dataclasses.asdict(cfg.learner)}
        with out.open("a") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        print(f"fine-tuning seed {k}: child {row['child_sha256']} validated {validated}: "
              f"{wins}/{n} fresh scenes first attempt ({learn_s:.0f} s learning)")
    plot([json.loads(line) for line in out.read_text().splitlines()], out.with_suffix(".png"))
    print(f"plot: {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
