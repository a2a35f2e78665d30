"""``f2p eval perception`` and ``f2p eval noise``: scores of the perception backends (issue 8).

`perception`: segment precision / recall (IoU ≥ 0.5), class accuracy, identity consistency over a
task and the downstream relation-detection F1 of one backend on the task distributions
(`f2p_perception.evaluate`). `noise`: the point-cloud noise sweep of the paper's Fig. 3b
(`noise_sweep.py`). Both print a table and write a results JSON (`progress.write_results`) and a
PNG beside it. Registered under `f2p eval` by `eval_cmd.register`.
"""

from __future__ import annotations

import argparse
import logging
import pathlib

from f2p_bringup import argtypes
from f2p_bringup.progress import progress_callback, write_results

log = logging.getLogger("f2p.eval.perception")

SCORES = ("precision", "recall", "class_accuracy", "identity_consistency", "name_accuracy", "relation_macro_f1")
# The names of f2p_perception.backends.BACKENDS (a test keeps them equal); listed here so that
# building the parser imports nothing heavy (cli.py).
BACKEND_NAMES = ("dino_sam", "geometric", "sim_gt")


def _params(pairs: list[str]) -> dict:
    """`KEY=VALUE` backend parameters; values parsed as int, float, comma list or kept as text."""
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param takes KEY=VALUE, got {pair!r}")
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value.split(",") if "," in value else value
    return out


def _backend_params(args: argparse.Namespace) -> dict | None:
    """`--param KEY=VALUE` and `--weights` as the backend's parameters; None (after logging why) when they
    cannot be used: a malformed pair, `--weights` for another backend, dino_sam without weights."""
    try:
        params = _params(args.param)
    except ValueError as exc:
        log.error("%s", exc)
        return None
    if args.weights is not None:
        if args.backend != "dino_sam":
            log.error("--weights is for --backend dino_sam")
            return None
        params.update(dino_model=args.weights[0], sam_model=args.weights[1])
    if args.backend == "dino_sam" and not (params.get("dino_model") and params.get("sam_model")):
        log.error("dino_sam needs local GroundingDINO and SAM checkpoints (they are never downloaded): pass "
                  "--weights DINO_DIR SAM_PATH, e.g. --weights ~/models/grounding-dino-tiny ~/models/sam-vit-base "
                  "(a transformers GroundingDINO directory with its vocab.txt; a transformers SAM directory or a "
                  "Meta segment_anything .pth with --param sam_type=vit_b)")
        return None
    return params


def _fmt(v) -> str:
    return "   -  " if v is None else f"{v:6.3f}"


def _plot_bars(rows: list[dict], path: pathlib.Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(2.2 * len(rows) + 2, 3.6))
    width = 0.8 / len(SCORES)
    for k, score in enumerate(SCORES):
        vals = [r[score] if r[score] is not None else 0.0 for r in rows]
        ax.bar(np.arange(len(rows)) + (k - (len(SCORES) - 1) / 2) * width, vals, width, label=score.replace("_", " "))
    ax.set_xticks(np.arange(len(rows)), [r["task"] for r in rows])
    ax.set_ylim(0, 1.05)
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def perception(args: argparse.Namespace) -> int:
    from f2p_perception.evaluate import evaluate, summarise

    params = _backend_params(args)
    if params is None:
        return argtypes.EXIT_USAGE
    rows, results_all = [], []
    for task in args.task:
        update, close = progress_callback(f"{args.backend}: {task}", unit="trial")
        try:
            summary, results = evaluate(args.backend, task, args.objects, args.trials, seed=args.seed, progress=update,
                                        camera=args.camera, noise_sigma=args.noise, width=args.width,
                                        height=args.height, backend_params=params)
        except (ValueError, FileNotFoundError, ImportError) as exc:
            log.error("%s", exc)
            return argtypes.EXIT_USAGE
        finally:
            close()
        rows.append({"task": task, **summary})
        results_all += results
    pooled = summarise(results_all)
    print(f"backend {args.backend}, camera {args.camera} {args.width}x{args.height}, noise {args.noise} m, "
          f"objects {args.objects}, {args.trials} trial(s) each, seeds {args.seed}..{args.seed + args.trials - 1}")
    print(f"{'task':<10} {'obs':>4} {'objects':>7} {'prec.':>6} {'recall':>6} {'≥10pt':>6} {'class':>6} "
          f"{'ident.':>6} {'names':>6} {'rel F1':>6} {'ms/obs':>7}")
    for r in [*rows, {"task": "all", **pooled}]:
        print(f"{r['task']:<10} {r['observations']:>4} {r['objects_scored']:>7} {_fmt(r['precision'])} "
              f"{_fmt(r['recall'])} {_fmt(r['recall_well_seen'])} {_fmt(r['class_accuracy'])} "
              f"{_fmt(r['identity_consistency'])} {_fmt(r['name_accuracy'])} {_fmt(r['relation_macro_f1'])} "
              f"{r['perceive_ms']:7.0f}")
    print("recall: objects with ≥ 1 visible point; ≥10pt: recall over objects seen by ≥ 10 points; names: matched "
          "objects carrying their own task name (bound once, at the first observation)")
    command = (f"f2p eval perception --backend {args.backend} --task {' '.join(args.task)} "
               f"--objects {' '.join(map(str, args.objects))} --trials {args.trials} --seed {args.seed} "
               f"--camera {args.camera} --noise {args.noise} --width {args.width} --height {args.height}"
               + "".join(f" --param {p}" for p in args.param))
    out = write_results(args.out or f"experiments/results/eval_perception_{args.backend}.json", command,
                        {"backend": args.backend, "params": params, "rows": rows, "pooled": pooled,
                         "trials": [r.to_dict() for r in results_all]})
    _plot_bars(rows, out.with_suffix(".png"), f"perception: {args.backend} ({args.camera}, σ = {args.noise} m)")
    print(f"results written to {out} and {out.with_suffix('.png')}")
    return 0


def _plot_noise(rows: list[dict], path: pathlib.Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    sig = [r["sigma"] for r in rows]
    for key, label in (("relation_macro_f1", "relation F1 (perceived)"), ("recall", "segment recall"),
                       ("gap_relation_accuracy", "real vs Real2Sim: relation values agreeing"),
                       ("gap_same_relations", "real vs Real2Sim: all relations agreeing"),
                       ("classified_incorrect_prediction", "failures classified learnable")):
        ax.plot(sig, [r[key] if r[key] is not None else float("nan") for r in rows], marker="o", label=label)
    ax.set_xlabel("point-cloud noise σ (m)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _sweep_task(args: argparse.Namespace, task: str, sigma: float, params: dict):
    """(perception summary, GapResult, ClassificationOutcome) of one task at one noise level."""
    from f2p_bringup.noise_sweep import classification_outcome
    from f2p_perception.evaluate import evaluate
    from f2p_sim.gap import measure_gap

    update, close = progress_callback(f"σ={sigma}: {task}", unit="step")
    total = args.trials * len(args.objects) + 2 * args.transitions

    def stage(offset: int):
        return lambda done, _total: update(offset + done, total)

    try:
        summary, _ = evaluate(args.backend, task, args.objects, args.trials, seed=args.seed, progress=stage(0),
                              noise_sigma=sigma, backend_params=params)
        offset = args.trials * len(args.objects)
        gap = measure_gap(task, args.transitions, seed=args.seed, noise_sigma=sigma, n_objects=args.objects[0],
                          progress=stage(offset))
        outcome = classification_outcome(task, args.transitions, seed=args.seed, noise_sigma=sigma,
                                          n_objects=args.objects[0], progress=stage(offset + args.transitions))
    finally:
        close()
    return summary, gap, outcome


def noise(args: argparse.Namespace) -> int:
    import numpy as np

    params = _backend_params(args)
    if params is None:
        return argtypes.EXIT_USAGE
    rows = []
    for sigma in args.sigmas:
        try:
            per_task = [_sweep_task(args, task, sigma, params) for task in args.task]
        except (ValueError, FileNotFoundError, ImportError) as exc:
            log.error("%s", exc)
            return argtypes.EXIT_USAGE
        perc = [p for p, _, _ in per_task]
        gaps = [g for _, g, _ in per_task]
        outcomes = [o for _, _, o in per_task]
        failures = sum(o.failures for o in outcomes)
        rows.append({
            "sigma": sigma,
            "relation_macro_f1": float(np.mean([p["relation_macro_f1"] for p in perc])),
            "recall": float(np.mean([p["recall"] for p in perc])),
            "precision": float(np.mean([p["precision"] for p in perc])),
            "gap_same_relations": float(np.mean([g.same_relations for g in gaps])),
            "gap_relation_accuracy": float(np.mean([g.relation_accuracy for g in gaps])),
            "gap_same_status": float(np.mean([g.same_status for g in gaps])),
            "failures": failures,
            "classified_incorrect_prediction": (sum(o.incorrect_prediction for o in outcomes) / failures
                                                if failures else None),
            "per_task": {t: {"perception": p, "gap": g.to_dict(), "classification": o.to_dict()}
                         for t, (p, g, o) in zip(args.task, per_task, strict=True)},
        })
    print(f"noise sweep: backend {args.backend}, tasks {args.task}, objects {args.objects}, {args.trials} perception "
          f"trial(s) and {args.transitions} gap transitions per task and σ, seed {args.seed}")
    print(f"{'σ (m)':>6} {'rel F1':>6} {'recall':>6} {'prec.':>6} {'same rel':>8} {'rel acc':>7} {'failures':>8} "
          f"{'learnable':>9}")
    for r in rows:
        print(f"{r['sigma']:6.3f} {_fmt(r['relation_macro_f1'])} {_fmt(r['recall'])} {_fmt(r['precision'])} "
              f"{r['gap_same_relations']:8.3f} {r['gap_relation_accuracy']:7.3f} {r['failures']:8d} "
              f"{_fmt(r['classified_incorrect_prediction']):>9}")
    command = (f"f2p eval noise --backend {args.backend} --task {' '.join(args.task)} "
               f"--objects {' '.join(map(str, args.objects))} --trials {args.trials} "
               f"--transitions {args.transitions} --seed {args.seed} --sigmas {' '.join(map(str, args.sigmas))}"
               + "".join(f" --param {p}" for p in args.param))
    out = write_results(args.out, command, {"backend": args.backend, "params": params, "rows": rows})
    _plot_noise(rows, out.with_suffix(".png"), f"noise sweep ({args.backend}; {', '.join(args.task)})")
    print(f"results written to {out} and {out.with_suffix('.png')}")
    return 0


def register(esub: argparse._SubParsersAction) -> None:
    """Add `perception` and `noise` to the `f2p eval` sub-commands."""
    p = esub.add_parser("perception", help="score a perception backend: segments, classes, identities, relation F1")
    p.add_argument("--backend", default="geometric", choices=BACKEND_NAMES)
    p.add_argument("--task", nargs="+", default=["transport", "organize", "packing"])
    p.add_argument("--objects", nargs="+", type=argtypes.positive_int, default=[3, 5, 7])
    p.add_argument("--trials", type=argtypes.positive_int, default=5, help="trials per task and object count")
    p.add_argument("--seed", type=argtypes.nonnegative_int, default=0, help="trial t uses seed + t")
    argtypes.add_camera_arguments(p)
    p.add_argument("--noise", type=argtypes.nonnegative_float, default=0.0, help="Gaussian noise σ on the cloud (m)")
    p.add_argument("--width", type=argtypes.positive_int, default=320)
    p.add_argument("--height", type=argtypes.positive_int, default=240)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="backend parameter, repeatable (e.g. dino_model=/models/gdino sam_model=/models/sam)")
    p.add_argument("--weights", nargs=2, metavar=("DINO_DIR", "SAM_PATH"), default=None,
                   help="dino_sam: a local GroundingDINO checkpoint directory (transformers) and a SAM checkpoint "
                   "(transformers directory or Meta .pth); the same as --param dino_model=... sam_model=...")
    p.add_argument("--out", default="", help="results JSON (default: experiments/results/eval_perception_BACKEND.json)")
    p.set_defaults(func=perception)
    n = esub.add_parser("noise", help="point-cloud noise sweep (Fig. 3b): relation F1, Sim2Real gap, classification")
    n.add_argument("--backend", default="geometric", choices=BACKEND_NAMES)
    n.add_argument("--task", nargs="+", default=["organize"], help="Fig. 3b is Hierarchical Tabletop Organization")
    n.add_argument("--objects", nargs="+", type=argtypes.positive_int, default=[3])
    n.add_argument("--trials", type=argtypes.positive_int, default=3,
                   help="perception trials per task, object count and σ")
    n.add_argument("--transitions", type=argtypes.positive_int, default=20,
                   help="gap / classification transitions per task and σ")
    n.add_argument("--sigmas", nargs="+", type=argtypes.nonnegative_float, default=[0.0, 0.005, 0.01, 0.02, 0.04])
    n.add_argument("--seed", type=argtypes.nonnegative_int, default=0)
    n.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    n.add_argument("--weights", nargs=2, metavar=("DINO_DIR", "SAM_PATH"), default=None,
                   help="dino_sam: local GroundingDINO and SAM checkpoints, as for f2p eval perception")
    n.add_argument("--out", default="experiments/results/eval_noise.json")
    n.set_defaults(func=noise)
