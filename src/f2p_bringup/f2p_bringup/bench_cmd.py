"""``f2p bench ...``: benchmarks that print their figures and write a results file."""

from __future__ import annotations

import argparse
from pathlib import Path

from f2p_bringup import argtypes
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


def bench_learner(args: argparse.Namespace) -> int:
    import logging

    from f2p_experiments.learning import SearchSettings, find_failure
    from f2p_learner import bench
    from f2p_learner.finetune import FinetuneConfig
    from f2p_learner.inference import InferenceConfig
    from f2p_model.store import ModelStore, ModelStoreError
    from f2p_monitor.failure_store import FailureStore, FailureStoreError

    log = logging.getLogger("f2p.bench")
    models, failures = ModelStore(args.store), FailureStore(args.failures)
    try:
        event_id = args.event
        if event_id is None:
            model, meta = models.load(args.version)
            print(f"no --event: running {args.task} tasks with {meta.version} until one fails as an incorrect "
                  "prediction ...", flush=True)
            search = find_failure("bench", "points2plans", 0, model, meta.version, meta.weights_sha256, failures,
                                  SearchSettings(task=args.task, max_scenes=20))
            event_id = search.event_id
            if not event_id:
                log.error("no %s task failed as an incorrect prediction in 20 scenes: nothing to learn from",
                          args.task)
                return 1
        event = failures.load(event_id)
        config = bench.LearnerBenchConfig(
            inference=InferenceConfig(particles=args.particles, state_iterations=args.state_iterations,
                                      action_iterations=args.action_iterations),
            finetune=FinetuneConfig(epochs=args.epochs, freeze_encoder=not args.train_encoder),
            heldout=args.heldout, replay=args.replay, repeats=args.repeats,
            work_dir=args.work_dir)
        result = bench.run(models, args.version, event, config,
                           progress=lambda stage, msg: print(f"[bench learner] {stage}: {msg}", flush=True))
    except (ModelStoreError, FailureStoreError, ValueError) as exc:
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    print(bench.summary(result))
    command = (f"f2p bench learner --event {event_id} --failures {args.failures} --store {args.store} "
               f"--particles {args.particles} --state-iterations {args.state_iterations} "
               f"--action-iterations {args.action_iterations} --epochs {args.epochs} --repeats {args.repeats}"
               + (" --train-encoder" if args.train_encoder else "")
               + (f" --heldout {args.heldout}" if args.heldout else "") + (f" --replay {args.replay}" if args.replay
                                                                           else ""))
    out = write_results(args.out, command, result)
    print(f"results written to {out}")
    return 0


def bench_classify(args: argparse.Namespace) -> int:
    from f2p_bringup.progress import progress_callback
    from f2p_monitor.classify_bench import ClassifyBenchConfig, confusion, format_confusion

    config = ClassifyBenchConfig(distribution=args.distribution, trials=args.trials, seed=args.seed,
                                 heavy_mass=args.heavy_mass)
    update, close = progress_callback("classify: generated failures", unit="trial")
    try:
        result = confusion(config, progress=update)
    finally:
        close()
    print(format_confusion(result))
    command = (f"f2p bench classify --distribution {args.distribution} --trials {args.trials} --seed {args.seed} "
               f"--heavy-mass {args.heavy_mass}")
    out = write_results(args.out, command, result)
    print(f"results written to {out}")
    return 0


def bench_graph(args: argparse.Namespace) -> int:
    from f2p_bringup.bringup_cmd import new_run_dir, stop_signals_raise_interrupt
    from f2p_bringup.graph_bench import GraphBenchConfig
    from f2p_bringup.graph_bench import bench_graph as run
    from f2p_model.store import ModelStore

    version = ModelStore(args.store).latest()  # none: ModelStoreError, one line (cli.USER_ERRORS)
    print(f"[bench graph] the planner serves {args.store} {version}", flush=True)
    config = GraphBenchConfig(store=args.store, clients=tuple(args.clients), goals_per_level=args.goals,
                              captures=args.captures, planner_samples=args.samples, record=not args.no_record,
                              repeats=args.repeats, compression=args.compression, perception=args.perception)
    logs = new_run_dir(Path("runs") / "bench_graph")
    print(f"[bench graph] node logs in {logs}", flush=True)
    with stop_signals_raise_interrupt():
        result = run(config, logs, progress=lambda m: print(m, flush=True))
    command = (f"f2p bench graph --store {args.store} --clients {' '.join(map(str, args.clients))} "
               f"--goals {args.goals} --captures {args.captures} --samples {args.samples} --repeats {args.repeats} "
               f"--compression {args.compression} --perception {args.perception}"
               + (" --no-record" if args.no_record else ""))
    if "recording_overhead" in result:
        print("recording overhead (relative change of the median with the recorder): "
              + ", ".join(f"{k} {v:+.1%}" for k, v in result["recording_overhead"].items()))
    out = write_results(args.out, command, result)
    print(f"results written to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (print figures, write results files)")
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH", required=True)
    s = bsub.add_parser("sim", help="simulation throughput: mj_step, point clouds, transitions per second")
    s.add_argument("--n", type=argtypes.positive_int, default=200, help="transitions per measurement")
    s.add_argument("--workers", type=argtypes.positive_int, default=2)
    s.add_argument("--out", default="experiments/results/bench_sim.json")
    s.set_defaults(func=bench_sim)
    pl = bsub.add_parser("planner", help="plan latency, model FLOPs per plan and the machine's matmul limit")
    pl.add_argument("--objects", type=argtypes.positive_int, default=7)
    pl.add_argument("--horizon", type=argtypes.positive_int, default=3)
    pl.add_argument("--samples", type=argtypes.positive_int, default=1000)
    pl.add_argument("--method", default="shooting", choices=["shooting", "cem"])
    pl.add_argument("--width", type=argtypes.positive_int, default=None,
                    help="transformer feed-forward width (default: the model's)")
    pl.add_argument("--threads", type=argtypes.nonnegative_int, default=0, help="torch threads (0: all cores)")
    pl.add_argument("--out", default="experiments/results/bench_planner.json")
    pl.set_defaults(func=bench_planner)
    r = bsub.add_parser("real2sim", help="Sim2Real gap: re-simulate 'real' transitions in their reconstruction")
    r.add_argument("--n", type=argtypes.positive_int, default=50, help="transitions per distribution")
    r.add_argument("--distributions", nargs="+", default=["pretrain", "transport", "organize", "packing"])
    r.add_argument("--noise", type=argtypes.nonnegative_float, default=0.002, help="sensor noise sigma (m)")
    r.add_argument("--seed", type=argtypes.nonnegative_int, default=0)
    r.add_argument("--out", default="experiments/results/real2sim_gap.json")
    r.set_defaults(func=bench_real2sim)
    lr = bsub.add_parser("learner", help="stage times of learning from one failure; Fail2Progress vs Gradient vs "
                                         "Sampling particles")
    lr.add_argument("--event", default=None, help="failure event id (default: run --task tasks until one fails)")
    lr.add_argument("--task", default="transport", help="task distribution to fail on when no --event is given")
    lr.add_argument("--failures", default="failures", help="failure store directory")
    lr.add_argument("--store", default="models", help="model store")
    lr.add_argument("--version", default="latest")
    lr.add_argument("--particles", type=argtypes.positive_int, default=20, help="M (A.5)")
    lr.add_argument("--state-iterations", type=argtypes.positive_int, default=20,
                    help="InferenceConfig.state_iterations")
    lr.add_argument("--action-iterations", type=argtypes.positive_int, default=10,
                    help="InferenceConfig.action_iterations")
    lr.add_argument("--epochs", type=argtypes.positive_int, default=300,
                    help="fine-tuning epochs (finetune.FinetuneConfig's default; A.11: 200)")
    lr.add_argument("--train-encoder", action="store_true",
                    help="fine-tune the whole model, encoder included (A.11); default: Dyn and decoders only")
    lr.add_argument("--heldout", default=None, help="held-out pre-training dataset (no-regression check)")
    lr.add_argument("--replay", default=None, help="pre-training dataset mixed into fine-tuning")
    lr.add_argument("--repeats", type=argtypes.positive_int, default=5,
                    help="timed runs of the Fail2Progress and Gradient inference; the median is reported")
    lr.add_argument("--work-dir", default="runs/bench_learner")
    lr.add_argument("--out", default="experiments/results/bench_learner.json")
    lr.set_defaults(func=bench_learner)
    c = bsub.add_parser("classify", help="confusion matrix of the failure classifier on failures of known cause")
    c.add_argument("--distribution", default="pretrain")
    c.add_argument("--trials", type=argtypes.positive_int, default=40, help="trials per cause")
    c.add_argument("--seed", type=argtypes.nonnegative_int, default=0)
    c.add_argument("--heavy-mass", type=argtypes.positive_float, default=100.0,
                   help="kg of the acted object in Sim2Real trials")
    c.add_argument("--out", default="experiments/results/bench_classify.json")
    c.set_defaults(func=bench_classify)
    g = bsub.add_parser("graph", help="the running sim graph: plans/s and p50/p99 latency for 1/10/50 concurrent "
                                      "clients, capture-to-scene latency, and what recording costs")
    g.add_argument("--store", default="models", help="model store (its newest validated version is served)")
    g.add_argument("--clients", type=argtypes.positive_int, nargs="+", default=[1, 10, 50],
                   help="PlanTask goals kept in flight at once, one level each")
    g.add_argument("--goals", type=argtypes.positive_int, default=60, help="PlanTask goals per level")
    g.add_argument("--captures", type=argtypes.positive_int, default=20, help="capture -> scene round trips")
    g.add_argument("--samples", type=argtypes.positive_int, default=1000, help="planner samples K per plan")
    g.add_argument("--repeats", type=argtypes.positive_int, default=1,
                   help="alternations of the conditions without and with the recorder")
    g.add_argument("--no-record", action="store_true", help="measure without the recorder only")
    g.add_argument("--perception", choices=("sim_gt", "geometric"), default="sim_gt",
                   help="the perception node's backend; with geometric the library's own perceive time on the same "
                   "scene is measured beside the node's capture-to-scene latency")
    from f2p_ros.bag import COMPRESSIONS, DEFAULT_COMPRESSION  # ROS-free, light

    g.add_argument("--compression", choices=COMPRESSIONS, default=DEFAULT_COMPRESSION,
                   help="the recorder's chunk compression")
    g.add_argument("--out", default="experiments/results/bench_graph.json")
    g.set_defaults(func=bench_graph)
