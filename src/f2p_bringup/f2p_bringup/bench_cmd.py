"""``f2p bench ...``: benchmarks that print their figures and write a results file."""

from __future__ import annotations

import argparse

from f2p_bringup.progress import write_results


def bench_sim(args: argparse.Namespace) -> int:
    from f2p_sim import bench

    result = bench.run(n=args.n, workers=args.workers)
    print(result.summary())
    out = write_results(args.out, f"f2p bench sim --n {args.n} --workers {args.workers}", result.to_dict())
    print(f"results written to {out}")
    return 0


def bench_real2sim(args: argparse.Namespace) -> int:
    from f2p_bringup.progress import progress_callback
    from f2p_sim import gap

    rows = []
    for dist in args.distributions:
        update, close = progress_callback(f"real2sim gap: {dist}", unit="transition")
        try:
            result = gap.measure_gap(dist, args.n, seed=args.seed, noise_sigma=args.noise, progress=update)
        finally:
            close()
        rows.append(result.to_dict())
    print(f"{'distribution':<12} {'n':>4} {'same relations':>15} {'relation acc.':>14} {'same status':>12} "
          f"{'fit failed':>10}")
    for r in rows:
        print(f"{r['distribution']:<12} {r['n']:>4} {r['same_relations']:>15.1%} {r['relation_accuracy']:>14.2%} "
              f"{r['same_status']:>12.1%} {r['reconstruction_failures']:>10}")
    command = (f"f2p bench real2sim --n {args.n} --seed {args.seed} --noise {args.noise} "
               f"--distributions {' '.join(args.distributions)}")
    out = write_results(args.out, command, {"results": rows})
    print(f"results written to {out}")
    return 0


def bench_planner(args: argparse.Namespace) -> int:
    import torch

    from f2p_planner import bench

    if args.threads:
        torch.set_num_threads(args.threads)
    result = bench.run(n_objects=args.objects, horizon=args.horizon, samples=args.samples, method=args.method,
                       dyn_ff=args.width)
    print(result.summary())
    command = (f"f2p bench planner --objects {args.objects} --horizon {args.horizon} --samples {args.samples} "
               f"--method {args.method}" + (f" --width {args.width}" if args.width else ""))
    out = write_results(args.out, command, result.to_dict())
    print(f"results written to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (print figures, write results files)")
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH", required=True)
    s = bsub.add_parser("sim", help="simulation throughput: mj_step, point clouds, transitions per second")
    s.add_argument("--n", type=int, default=200, help="transitions per measurement")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--out", default="experiments/results/bench_sim.json")
    s.set_defaults(func=bench_sim)
    pl = bsub.add_parser("planner", help="plan latency, model FLOPs per plan and the machine's matmul limit")
    pl.add_argument("--objects", type=int, default=7)
    pl.add_argument("--horizon", type=int, default=3)
    pl.add_argument("--samples", type=int, default=1000)
    pl.add_argument("--method", default="shooting", choices=["shooting", "cem"])
    pl.add_argument("--width", type=int, default=None, help="transformer feed-forward width (default: the model's)")
    pl.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    pl.add_argument("--out", default="experiments/results/bench_planner.json")
    pl.set_defaults(func=bench_planner)
    r = bsub.add_parser("real2sim", help="Sim2Real gap: re-simulate 'real' transitions in their reconstruction")
    r.add_argument("--n", type=int, default=50, help="transitions per distribution")
    r.add_argument("--distributions", nargs="+", default=["pretrain", "transport", "organize", "packing"])
    r.add_argument("--noise", type=float, default=0.002, help="sensor noise sigma (m)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default="experiments/results/real2sim_gap.json")
    r.set_defaults(func=bench_real2sim)
