"""``f2p model ...``: pre-train, evaluate and list skill effect models (f2p_model.train / evaluate / store)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from pathlib import Path

from f2p_bringup import argtypes
from f2p_bringup.progress import progress_callback

log = logging.getLogger("f2p.model")

_VERSION_SUFFIX = re.compile(r"^(?P<root>.+):(?P<version>v\d{4,}|latest)$")


def parse_model_ref(ref: str) -> tuple[str, str]:
    """``STORE[:VERSION]`` -> (store root, version or "latest")."""
    m = _VERSION_SUFFIX.match(ref)
    return (m.group("root"), m.group("version")) if m else (ref, "latest")


def _missing_dirs(paths: list[str]) -> list[str]:
    return [p for p in paths if not Path(p).is_dir()]


def pretrain(args: argparse.Namespace) -> int:
    from f2p_model.config import LossConfig, ModelConfig, TrainConfig
    from f2p_model.data import DataError
    from f2p_model.store import ModelStoreError
    from f2p_model.train import RunOptions, TrainError, train

    missing = _missing_dirs(args.data)
    if missing:
        log.error("dataset directory not found: %s", ", ".join(missing))
        return argtypes.EXIT_USAGE
    try:
        if args.model_config:
            model_cfg = ModelConfig.from_dict(json.loads(Path(args.model_config).read_text()))
        else:
            model_cfg = ModelConfig()
        if args.width is not None:
            model_cfg = ModelConfig.from_dict(model_cfg.to_dict() | {"dyn_ff": args.width})
        train_cfg = TrainConfig(lr=args.lr, schedule=args.schedule, batch_size=args.batch_size, epochs=args.epochs,
                                seed=args.seed)
        options = RunOptions(val_fraction=args.val_fraction, threads=args.threads, min_val_f1=args.min_val_f1,
                             statuses=tuple(args.statuses or ()), object_slots=args.object_slots)
    except (OSError, ValueError, TypeError) as exc:
        log.error("bad settings: %s", exc)
        return argtypes.EXIT_USAGE
    update, close = progress_callback(f"pretrain -> {args.out}", unit="step")
    t0 = time.perf_counter()
    try:
        result = train(model_cfg, train_cfg, LossConfig(), args.data, args.out, options=options,
                       store=None if args.no_publish else args.store, resume=not args.no_resume, progress=update)
    except (DataError, TrainError, ModelStoreError) as exc:
        close()
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    finally:
        close()
    last = result.history[-1] if result.history else {}
    print(f"trained {result.epochs_done} epochs in {time.perf_counter() - t0:.0f} s; "
          f"validation detection F1 {_f(last.get('val_detection_f1'))}, "
          f"1-step prediction F1 {_f(last.get('val_prediction_f1'))} "
          f"(copy baseline {_f(last.get('val_copy_baseline_f1'))})")
    print(f"metrics: {result.files['metrics_csv']}  curves: {result.files['curves']}  "
          f"checkpoint: {result.files['checkpoint']}")
    if result.version:
        state = "validated" if result.validated else f"NOT validated (detection F1 < {args.min_val_f1})"
        print(f"published {args.store}:{result.version} ({state})")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from f2p_model.data import DataError
    from f2p_model.evaluate import evaluate as run_eval
    from f2p_model.evaluate import format_report
    from f2p_model.store import ModelStore, ModelStoreError
    from f2p_monitor.chains import ChainConfig, chain_f1, format_chains

    if not args.data and not args.chains:
        log.error("nothing to evaluate: give --data DIR... and/or --chains DISTRIBUTION...")
        return argtypes.EXIT_USAGE
    missing = _missing_dirs(args.data)
    if missing:
        log.error("dataset directory not found: %s", ", ".join(missing))
        return argtypes.EXIT_USAGE
    root, version = parse_model_ref(args.model)
    if not Path(root).is_dir():
        log.error("model store %s not found", root)
        return argtypes.EXIT_USAGE
    try:
        model, meta = ModelStore(root).load(version)
        report = run_eval(model, args.data, batch_size=args.batch_size) if args.data else {"datasets": {}}
        chain_configs = [ChainConfig(d, n_chains=args.n_chains, n_objects=args.objects, horizon=args.horizon,
                                     seed=args.seed) for d in args.chains]
    except (ModelStoreError, DataError, ValueError) as exc:
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    report["model"] = {"store": str(root), "version": meta.version, "validated": meta.validated}
    print(f"model {root}:{meta.version}{'' if meta.validated else ' (not validated)'}")
    if args.data:
        print(f"F1 at threshold {report['threshold']}, support = positives in R_t")
        print(format_report(report), end="")
    if chain_configs:
        print("prediction F1 after 1..H skills (rollout from O_0 in latent space vs simulator ground truth):")
        report["chains"] = {}
        for cc in chain_configs:
            update, close = progress_callback(f"chains {cc.distribution}", unit="chain")
            try:
                report["chains"][cc.distribution] = chain_f1(model, cc, progress=update)
            finally:
                close()
            print(format_chains(report["chains"][cc.distribution]), end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


def list_versions(args: argparse.Namespace) -> int:
    from f2p_model.store import ModelStore, ModelStoreError

    if not Path(args.store).is_dir():
        log.error("model store %s not found", args.store)
        return argtypes.EXIT_USAGE
    try:
        metas = ModelStore(args.store).list()
    except ModelStoreError as exc:
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    if not metas:
        print(f"no versions in {args.store}")
        return 0
    print(f"{'version':<9}{'parent':<9}{'validated':<11}{'created':<21}{'data':<14}{'det F1':>8}{'pred F1':>9}")
    for m in metas:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.created))
        print(f"{m.version:<9}{m.parent or '-':<9}{'yes' if m.validated else 'no':<11}{created:<21}"
              f"{m.data_hash[:12]:<14}{_f(m.metrics.get('val_detection_f1')):>8}"
              f"{_f(m.metrics.get('val_prediction_f1')):>9}")
    return 0


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def register(sub: argparse._SubParsersAction) -> None:
    from f2p_model.config import TrainConfig

    p = sub.add_parser("model", help="pre-train, evaluate and list skill effect models")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    t = msub.add_parser("pretrain", help="train a model from scratch on datasets (resumable: rerun the same command)")
    t.add_argument("--data", nargs="+", required=True, metavar="DIR", help="dataset directories (concatenated)")
    t.add_argument("--epochs", type=argtypes.positive_int, default=10, help="epochs (A.11: 10 for pre-training)")
    t.add_argument("--out", default="runs/pretrain", help="run directory: checkpoint.pt, metrics.csv, loss_curves.png")
    t.add_argument("--batch-size", type=argtypes.positive_int, default=16)
    t.add_argument("--lr", type=argtypes.nonnegative_float, default=TrainConfig.lr,
                   help="Adam peak learning rate (A.11: 1e-4 at 40k)")
    t.add_argument("--schedule", choices=("cosine", "constant"), default=TrainConfig.schedule)
    t.add_argument("--store", default="models", help="model store to publish the result to")
    t.add_argument("--no-publish", action="store_true", help="do not publish to the store")
    t.add_argument("--threads", type=argtypes.nonnegative_int, default=0, help="torch threads (0: all cores)")
    t.add_argument("--val-fraction", type=argtypes.fraction, default=0.1)
    t.add_argument("--seed", type=argtypes.nonnegative_int, default=0)
    t.add_argument("--min-val-f1", type=float, default=0.8,
                   help="validation detection macro F1 needed to publish as validated")
    t.add_argument("--width", type=argtypes.positive_int, default=None,
                   help="transformer feed-forward width (ModelConfig.dyn_ff)")
    t.add_argument("--model-config", default=None, metavar="JSON", help="ModelConfig as JSON (ModelConfig.to_dict)")
    t.add_argument("--statuses", nargs="+", default=None, metavar="STATUS",
                   help="keep only records with these execution statuses (default: all)")
    t.add_argument("--object-slots", type=argtypes.nonnegative_int, default=0, metavar="N",
                   help="train each batch with its objects in random rows of N, a fresh draw every step "
                        "(RunOptions.object_slots: the order of segments is an accident of perception); 0: off")
    t.add_argument("--no-resume", action="store_true", help="start over even if --out holds a checkpoint")
    t.set_defaults(func=pretrain)

    e = msub.add_parser("eval", help="relation F1 of a stored model: detection and 1-step prediction per dataset, "
                                              "prediction after 1..H skills on simulated chains")
    e.add_argument("--model", default="models", metavar="STORE[:VERSION]", help="default version: latest validated")
    e.add_argument("--data", nargs="*", default=[], metavar="DIR", help="held-out transition datasets")
    e.add_argument("--chains", nargs="*", default=[], metavar="DISTRIBUTION",
                   help="also score prediction F1 after 1..H skills on chains executed in simulation")
    e.add_argument("--n-chains", type=argtypes.positive_int, default=50, help="chains per distribution")
    e.add_argument("--horizon", type=argtypes.positive_int, default=3,
                   help="H: skills per chain (at most the skeleton's length)")
    e.add_argument("--objects", type=argtypes.positive_int, default=3, help="objects per chain scene")
    e.add_argument("--seed", type=argtypes.nonnegative_int, default=0)
    e.add_argument("--out", default=None, help="write the full report as JSON")
    e.add_argument("--batch-size", type=argtypes.positive_int, default=64)
    e.set_defaults(func=evaluate)

    ls = msub.add_parser("list", help="versions in a model store")
    ls.add_argument("--store", default="models")
    ls.set_defaults(func=list_versions)
