"""``f2p experiment run|report CONFIG``: the paper's comparison (f2p_experiments, experiments/README.md);
``f2p experiment probe --model STORE[:VERSION] ... --data DIR``: what models predict for the contents
of the object a skill moves (`f2p_experiments.probe`)."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from f2p_bringup import argtypes

log = logging.getLogger("f2p.experiment")


def _config(args: argparse.Namespace):
    from f2p_experiments.config import ConfigError, load

    try:
        return load(args.config, args.scale)
    except ConfigError as exc:
        print(f"f2p experiment: {exc}", file=sys.stderr)
        return None


def _command(args: argparse.Namespace) -> str:
    scale = f" --scale {args.scale}" if args.scale != "full" else ""
    return f"f2p experiment {args.experiment_command} {shlex.quote(args.config)}{scale}"


def run(args: argparse.Namespace) -> int:
    from f2p_experiments.runner import Paths, Runner, make_executor
    from f2p_model.store import ModelStoreError

    config = _config(args)
    if config is None:
        return 2
    if args.workers < 1 or args.threads < 0:
        print("f2p experiment: --workers must be >= 1 and --threads >= 0", file=sys.stderr)
        return 2
    paths = Paths.for_config(config, args.results_root, args.work_root)
    # the workers' torch threads: the cores shared out (a learning run or a plan uses them all)
    threads = args.threads or max(1, _cores() // args.workers)
    try:
        executor = make_executor(args.executor, args.workers, threads, args.address)
    except (RuntimeError, ValueError) as exc:
        print(f"f2p experiment: {exc}", file=sys.stderr)
        return 2
    try:
        runner = Runner(config, paths, executor, threads=threads)
        if args.dry_run:
            print(runner.estimate(runner.parent())[1])
            return 0
        counts = runner.run()
    except ModelStoreError as exc:
        print(f"f2p experiment: {exc} (pre-train one with ./experiments/pretrain.sh, or run --scale smoke)",
              file=sys.stderr)
        return 2
    finally:
        executor.close()
    print(f"done: {counts['failure_search']} failure searches, {counts['learning']} learning runs, "
          f"{counts['trial']} trials recorded in {paths.results}")
    if not args.no_report:
        return report(args)
    return 0


def report(args: argparse.Namespace) -> int:
    from f2p_experiments import report as rep
    from f2p_experiments.runner import Paths

    config = _config(args)
    if config is None:
        return 2
    paths = Paths.for_config(config, args.results_root, args.work_root)
    built = rep.build(config, paths)
    results_md = Path(args.results_md) if args.results_md else None
    out = rep.write(built, paths, _command(argparse.Namespace(**{**vars(args), "experiment_command": "run"})),
                    results_md)
    print(rep.markdown(built, _command(args)))
    print("written: " + ", ".join(str(p) for p in out))
    return 0


def probe(args: argparse.Namespace) -> int:
    from f2p_bringup.model_cmd import parse_model_ref
    from f2p_experiments.probe import probe_contents
    from f2p_model.store import ModelStore, ModelStoreError

    if not Path(args.data).is_dir():
        print(f"f2p experiment probe: dataset directory not found: {args.data}", file=sys.stderr)
        return 2
    print(f"contents of the acted object in {args.data}" + (f" ({args.objects} objects)" if args.objects else ""))
    print("model | transitions | contents | displacement slope | acted slope | front/behind after | inside after")
    for ref in args.model:
        root, version = parse_model_ref(ref)
        try:
            model, meta = ModelStore(root).load(version)
        except ModelStoreError as exc:
            print(f"f2p experiment probe: {exc}", file=sys.stderr)
            return 2
        p = probe_contents(model, args.data, args.objects)
        print(f"{root}:{meta.version} | {p.transitions} | {p.contents} | {p.displacement_slope:.2f} | "
              f"{p.acted_slope:.2f} | {p.front_behind_after:.3f} | {p.inside_after:.3f}")
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiment", help="the paper's comparison: run an experiment config, report its tables")
    esub = p.add_subparsers(dest="experiment_command", metavar="ACTION", required=True)
    for name, func, text in (("run", run, "run (or resume) every failure search, learning run and trial"),
                             ("report", report, "tables, PNGs and the RESULTS.md section from the records")):
        q = esub.add_parser(name, help=text)
        q.add_argument("config", help="experiments/configs/<name>.yaml")
        q.add_argument("--scale", default="full", help="a scale the config defines (e.g. smoke), or full")
        q.add_argument("--results-root", default="experiments/results", help="records and reports go under here")
        q.add_argument("--work-root", default="runs/experiments", help="failure store, model stores, learner work")
        q.add_argument("--results-md", default="experiments/RESULTS.md" if name == "report" else None,
                       help="the RESULTS.md whose section of this experiment is rewritten ('' for none)")
        q.set_defaults(func=func)
        if name == "run":
            q.add_argument("--workers", type=argtypes.positive_int, default=2,
                           help="processes (pool) or CPUs of a local Ray")
            q.add_argument("--threads", type=argtypes.nonnegative_int, default=0,
                           help="torch threads per worker (0: cores / workers)")
            q.add_argument("--executor", default="pool", choices=["pool", "ray"])
            q.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
            q.add_argument("--dry-run", action="store_true", help="print what is left and the time estimate")
            q.add_argument("--no-report", action="store_true", help="do not write the report after the run")
    q = esub.add_parser("probe", help="what models predict for the contents of the moved object, on a dataset")
    q.add_argument("--model", nargs="+", required=True, help="STORE[:VERSION] of each model (default latest)")
    q.add_argument("--data", required=True, help="a dataset directory (e.g. data/heldout_transport)")
    q.add_argument("--objects", type=argtypes.positive_int, default=None, help="only scenes with this many objects")
    q.set_defaults(func=probe)
