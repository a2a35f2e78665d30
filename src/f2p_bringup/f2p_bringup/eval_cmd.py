"""``f2p eval ...``: experiments that report success rates with 95 % intervals."""

from __future__ import annotations

import argparse
import logging
import pathlib

from f2p_bringup import argtypes, perception_cmd
from f2p_bringup.progress import progress_callback, write_results

log = logging.getLogger("f2p.eval")


def _plot(rows: list[dict], path: pathlib.Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['task']}\n{r['objects']} obj" for r in rows]
    rate = [r["success_rate"] for r in rows]
    err = [[r["success_rate"] - r["ci95"][0] for r in rows], [r["ci95"][1] - r["success_rate"] for r in rows]]
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 3.5))
    ax.bar(labels, rate, yerr=err, capsize=4, color="#4C72B0")
    ax.set_ylim(0, 1)
    ax.set_ylabel("success rate (95 % CI)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def original(args: argparse.Namespace) -> int:
    """The pre-trained model planning fresh scenes open loop: `f2p_experiments.trial.run_trial` with
    Method.ORIGINAL, the one trial of the experiments (experiments/README.md)."""
    from f2p_experiments.records import TrialSpec
    from f2p_experiments.trial import TrialSettings, run_trial
    from f2p_learner.methods import Method
    from f2p_model.store import ModelStore, ModelStoreError
    from f2p_monitor.stats import wilson_interval

    try:
        model, meta = ModelStore(args.store).load(args.version)
    except ModelStoreError as exc:
        log.error("%s (train one with 'f2p model pretrain')", exc)
        return argtypes.EXIT_USAGE
    settings = TrialSettings(replan_budget=0, planner_samples=args.samples)
    rows, episodes = [], []
    for task in args.task:
        for n in args.objects:
            update, close = progress_callback(f"{task}, {n} objects", unit="trial")
            results = []
            try:
                for t in range(args.trials):
                    spec = TrialSpec("eval_original", "points2plans", Method.ORIGINAL, task, n, args.camera,
                                     args.noise, args.seed + t)
                    results.append(run_trial(spec, model, meta.version, settings))
                    update(t + 1, args.trials)
            finally:
                close()
            k = sum(r.success for r in results)
            lo, hi = wilson_interval(k, len(results))
            rows.append({"task": task, "objects": n, "trials": len(results), "successes": k,
                         "success_rate": k / len(results), "ci95": [lo, hi],
                         "plan_s_mean": sum(r.plan_s for r in results) / len(results),
                         "not_planned": sum(bool(r.error) for r in results)})
            episodes += [r.to_dict() for r in results]
    print(f"model {meta.version} ({args.store}), shooting planner K={args.samples}, camera {args.camera}")
    print(f"{'task':<10} {'objects':>7} {'trials':>6} {'success':>8}  95 % interval  not planned")
    for r in rows:
        print(f"{r['task']:<10} {r['objects']:>7} {r['trials']:>6} {r['success_rate']:>8.0%}  "
              f"[{r['ci95'][0]:.0%}, {r['ci95'][1]:.0%}]{r['not_planned']:>13}")
    command = (f"f2p eval original --task {' '.join(args.task)} --objects {' '.join(map(str, args.objects))} "
               f"--trials {args.trials} --seed {args.seed} --samples {args.samples} "
               f"--camera {args.camera} --noise {args.noise}")
    out = write_results(args.out, command, {"model_version": meta.version, "rows": rows, "trials": episodes})
    _plot(rows, out.with_suffix(".png"), f"Original (pre-trained {meta.version})")
    print(f"results written to {out} and {out.with_suffix('.png')}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="experiments: success rates with 95 %% intervals")
    esub = p.add_subparsers(dest="eval_command", metavar="METHOD", required=True)
    o = esub.add_parser("original", help="plan with the pre-trained model and execute, no learning (Original)")
    o.add_argument("--task", nargs="+", default=["place", "transport", "organize", "packing"])
    o.add_argument("--objects", nargs="+", type=argtypes.positive_int, default=[3])
    o.add_argument("--trials", type=argtypes.positive_int, default=20)
    o.add_argument("--seed", type=argtypes.nonnegative_int, default=1000, help="trial t uses seed + t")
    o.add_argument("--store", default="models", help="model store directory")
    o.add_argument("--version", default="latest")
    o.add_argument("--samples", type=argtypes.positive_int, default=1000, help="shooting samples K")
    argtypes.add_camera_arguments(o)
    o.add_argument("--noise", type=argtypes.nonnegative_float, default=0.0)
    o.add_argument("--out", default="experiments/results/eval_original.json")
    o.set_defaults(func=original)
    perception_cmd.register(esub)
