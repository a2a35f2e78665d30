"""``f2p data ...``: generate and inspect transition datasets (f2p_sim.dataset, transitions)."""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter

from f2p_bringup import argtypes
from f2p_bringup.progress import progress_callback

log = logging.getLogger("f2p.data")


def generate(args: argparse.Namespace) -> int:
    from f2p_sim import dataset, tasks
    from f2p_sim.transitions import GenerationConfig, make_record

    if args.distribution not in tasks.DISTRIBUTIONS:
        log.error("unknown distribution '%s'; choose from %s", args.distribution, ", ".join(tasks.DISTRIBUTIONS))
        return 2
    config = GenerationConfig(distribution=args.distribution, seed=args.seed, n_objects=args.objects, real=args.real,
                              camera=args.camera, n_points=args.points, noise_sigma=args.noise)
    update, close = progress_callback(f"{args.distribution} -> {args.out}", unit="transition")
    try:
        manifest = dataset.generate(make_record, config, args.out, n=args.n, shard_size=args.shard_size,
                                    workers=args.workers, progress=update)
    except dataset.DatasetError as exc:
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    finally:
        close()
    print(f"{manifest['n']} transitions in {len(manifest['shards'])} shards at {args.out}")
    return 0


def info(args: argparse.Namespace) -> int:
    from f2p_core.skills import SKILL_NAMES
    from f2p_sim import dataset
    from f2p_sim.transitions import STATUS_NAMES

    try:
        manifest = dataset.read_manifest(args.path)
        data = dataset.load(args.path)
    except dataset.DatasetError as exc:
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    status = Counter(STATUS_NAMES[s] for s in data["status"])
    skills = Counter(SKILL_NAMES[s] for s in data["skill"])
    print(json.dumps({"n": manifest["n"], "config": manifest["config"], "skills": skills, "status": status,
                      "objects_per_scene": float(data["n_objects"].mean())}, indent=1))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="generate and inspect transition datasets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    g = dsub.add_parser("generate", help="record skill executions in simulation (sharded, resumable)")
    g.add_argument("--distribution", default="pretrain", help="pretrain, transport, organize or packing")
    g.add_argument("--n", type=argtypes.positive_int, required=True, help="number of transitions")
    g.add_argument("--out", required=True, help="dataset directory (rerun the same command to resume)")
    g.add_argument("--workers", type=argtypes.positive_int, default=1, help="processes")
    g.add_argument("--seed", type=argtypes.nonnegative_int, default=0)
    g.add_argument("--objects", type=argtypes.positive_int, default=None,
                   help="objects per scene (default: the distribution's range)")
    g.add_argument("--real", action="store_true", help="sample the richer 'real' world")
    argtypes.add_camera_arguments(g)
    g.add_argument("--points", type=argtypes.positive_int, default=128, help="points per segment")
    g.add_argument("--noise", type=argtypes.nonnegative_float, default=0.0,
                   help="Gaussian noise sigma on the cloud (m)")
    g.add_argument("--shard-size", type=argtypes.positive_int, default=100)
    g.set_defaults(func=generate)
    i = dsub.add_parser("info", help="summarise a dataset")
    i.add_argument("path")
    i.set_defaults(func=info)
