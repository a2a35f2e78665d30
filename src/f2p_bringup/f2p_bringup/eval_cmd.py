"""``f2p eval ...``: experiments that report success rates with 95 % intervals."""

from __future__ import annotations

import argparse
import logging
import pathlib
from collections import Counter

from f2p_bringup import argtypes, perception_cmd
from f2p_bringup.progress import progress_callback, write_results
from f2p_sim.stretch_world import RobotModel

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


def _cells(args: argparse.Namespace, unit: str, run_one):
    """(task, objects, results) for each of `args.task` × `args.objects`: `run_one(task, n, seed)` for seeds
    args.seed, args.seed + 1, ... (`args.trials` of them), with a progress bar per cell."""
    for task in args.task:
        for n in args.objects:
            update, close = progress_callback(f"{task}, {n} objects", unit=unit)
            results = []
            try:
                for t in range(args.trials):
                    results.append(run_one(task, n, args.seed + t))
                    update(t + 1, args.trials)
            finally:
                close()
            yield task, n, results


def _load_model(args: argparse.Namespace):
    """(model, meta) of `args.store` / `args.version`, or None after logging why not."""
    from f2p_model.store import ModelStore, ModelStoreError

    try:
        return ModelStore(args.store).load(args.version)
    except ModelStoreError as exc:
        log.error("%s (train one with 'f2p model pretrain')", exc)
        return None


def original(args: argparse.Namespace) -> int:
    """The pre-trained model planning fresh scenes open loop: `f2p_experiments.trial.run_trial` with
    Method.ORIGINAL, the one trial of the experiments (experiments/README.md)."""
    from f2p_experiments.records import TrialSpec
    from f2p_experiments.trial import TrialSettings, run_trial
    from f2p_learner.methods import Method
    from f2p_monitor.stats import wilson_interval

    loaded = _load_model(args)
    if loaded is None:
        return argtypes.EXIT_USAGE
    model, meta = loaded
    settings = TrialSettings(replan_budget=0, planner_samples=args.samples, robot=args.robot)
    rows, episodes = [], []

    def trial(task: str, n: int, seed: int):
        spec = TrialSpec("eval_original", "points2plans", Method.ORIGINAL, task, n, args.camera, args.noise, seed)
        return run_trial(spec, model, meta.version, settings)

    for task, n, results in _cells(args, "trial", trial):
        k = sum(r.success for r in results)
        lo, hi = wilson_interval(k, len(results))
        statuses = Counter(getattr(s, "value", s) for r in results for s in r.statuses)  # every skill run
        rows.append({"task": task, "objects": n, "trials": len(results), "successes": k,
                     "success_rate": k / len(results), "ci95": [lo, hi],
                     "plan_s_mean": sum(r.plan_s for r in results) / len(results),
                     "not_planned": sum(bool(r.error) for r in results),
                     "skills": dict(sorted(statuses.items())),
                     "skills_ok": statuses["ok"] / max(1, sum(statuses.values()))})
        episodes += [r.to_dict() for r in results]
    print(f"model {meta.version} ({args.store}), shooting planner K={args.samples}, camera {args.camera}, "
          f"robot {args.robot}")
    print(f"{'task':<10} {'objects':>7} {'trials':>6} {'success':>8}  95 % interval  not planned  skills ok")
    for r in rows:
        print(f"{r['task']:<10} {r['objects']:>7} {r['trials']:>6} {r['success_rate']:>8.0%}  "
              f"[{r['ci95'][0]:.0%}, {r['ci95'][1]:.0%}]{r['not_planned']:>13}  {r['skills_ok']:>8.0%} {r['skills']}")
    command = (f"f2p eval original --task {' '.join(args.task)} --objects {' '.join(map(str, args.objects))} "
               f"--trials {args.trials} --seed {args.seed} --samples {args.samples} "
               f"--camera {args.camera} --noise {args.noise} --robot {args.robot}")
    out = write_results(args.out, command, {"model_version": meta.version, "robot": args.robot, "rows": rows,
                                            "trials": episodes})
    _plot(rows, out.with_suffix(".png"), f"Original (pre-trained {meta.version}, robot {args.robot})")
    print(f"results written to {out} and {out.with_suffix('.png')}")
    return 0


def stretch(args: argparse.Namespace) -> int:
    """Share of the planned skills the simulated Stretch RE2 executes (f2p_experiments.feasibility)."""
    from f2p_experiments.feasibility import compare, summarise
    from f2p_experiments.trial import TrialSettings
    from f2p_monitor.stats import wilson_interval

    loaded = _load_model(args)
    if loaded is None:
        return argtypes.EXIT_USAGE
    model, meta = loaded
    settings = TrialSettings(replan_budget=0, planner_samples=args.samples, robot="stretch")
    rows, scenes = [], []
    cells = _cells(args, "scene", lambda task, n, seed: compare(task, n, seed, model, meta.version, settings,
                                                              args.camera))
    for task, n, results in cells:
        row = {"task": task, "objects": n, **summarise(results)}
        row["stretch_ok_ci95"] = list(wilson_interval(row["stretch_ok"], row["skills"]))
        rows.append(row)
        scenes += [r.to_dict() for r in results]
    print(f"model {meta.version} ({args.store}), camera {args.camera}: the plan executed by the Stretch, its calls "
          "replayed by the floating gripper")
    print(f"{'task':<10} {'obj':>3} {'skills':>6} {'Stretch ok':>11} {'floating ok':>11}  tasks S/F  reasons")
    for r in rows:
        share = r["stretch_ok"] / max(1, r["skills"])
        print(f"{r['task']:<10} {r['objects']:>3} {r['skills']:>6} {r['stretch_ok']:>5} {share:>5.0%} "
              f"{r['floating_ok']:>11}  {r['stretch_success']:>4}/{r['floating_success']:<4} {r['reasons']}")
    command = (f"f2p eval stretch --task {' '.join(args.task)} --objects {' '.join(map(str, args.objects))} "
               f"--trials {args.trials} --seed {args.seed} --samples {args.samples} --camera {args.camera} "
               f"--store {args.store}")
    out = write_results(args.out, command, {"model_version": meta.version, "rows": rows, "scenes": scenes})
    _plot_stretch(rows, out.with_suffix(".png"))
    print(f"results written to {out} and {out.with_suffix('.png')}")
    return 0


FAILURE_COLOURS = ("#C44E52", "#4C72B0", "#DD8452", "#8172B2", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974")


def _plot_stretch(rows: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['task']}\n{r['objects']} obj" for r in rows]
    reasons = sorted({k for r in rows for k in r["reasons"]})
    fig, ax = plt.subplots(figsize=(1.5 * len(rows) + 4, 4))
    bottom = [r["stretch_ok"] / max(1, r["skills"]) for r in rows]
    ax.bar(labels, bottom, color="#55A868", label="Stretch: executed")
    for i, why in enumerate(reasons):
        share = [r["reasons"].get(why, 0) / max(1, r["skills"]) for r in rows]
        ax.bar(labels, share, bottom=bottom, color=FAILURE_COLOURS[i % len(FAILURE_COLOURS)], label=f"Stretch: {why}")
        bottom = [b + s for b, s in zip(bottom, share, strict=True)]
    ax.plot(labels, [r["floating_ok"] / max(1, r["skills"]) for r in rows], "k_", markersize=30, mew=2,
            label="floating gripper: executed (same calls)")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the planned skills")
    ax.set_title("Planned skills the simulated Stretch RE2 can execute")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
    o.add_argument("--robot", choices=[r.value for r in RobotModel], default=RobotModel.FLOATING.value,
                   help="what executes the skills: the floating gripper, or the Stretch RE2's model (issue 20)")
    o.add_argument("--out", default="experiments/results/eval_original.json")
    o.set_defaults(func=original)
    s = esub.add_parser("stretch", help="share of the planned skills the simulated Stretch RE2 can execute (issue 20)")
    s.add_argument("--task", nargs="+", default=["transport", "organize", "packing"])
    s.add_argument("--objects", nargs="+", type=argtypes.positive_int, default=[3, 5, 7])
    s.add_argument("--trials", type=argtypes.positive_int, default=10, help="scenes per task and object count")
    s.add_argument("--seed", type=argtypes.nonnegative_int, default=1000, help="scene t uses seed + t")
    s.add_argument("--store", default="experiments/parent_slots16", help="model store directory")
    s.add_argument("--version", default="latest")
    s.add_argument("--samples", type=argtypes.positive_int, default=1000, help="shooting samples K")
    s.add_argument("--camera", type=argtypes.camera, default="head",
                   help="what the planner sees (head: the Stretch's D435i; other cameras may see its mast)")
    s.add_argument("--out", default="experiments/results/stretch_feasibility.json")
    s.set_defaults(func=stretch)
    perception_cmd.register(esub)
