"""``f2p demo``: the main job. Bring the simulation graph up, run the robot's task with the model
of the store, watch it fail, learn and replan, and write an episode report.

1. A validated model must be in the store; if there is none, a small one is trained first with
   progress bars (a pre-training dataset of ``--pretrain-n`` transitions, ``--pretrain-epochs``
   epochs of the full A.11 model: a few minutes on 2 cores; ``./experiments/pretrain.sh`` trains
   the full-scale model).
2. The graph of ``config/sim.yaml`` starts through the pip-only Supervisor (the same processes
   ``f2p bringup sim`` runs), with the task, seed and object count of the options, the store of
   ``--store``, and failures, learning runs and node logs inside the episode directory.
3. One ExecuteTask goal for the task the simulated robot publishes on /f2p/sim/task; a live
   timeline is printed from its feedback, /f2p/failures and /f2p/model_version.
4. ``runs/demo/<timestamp>/``: ``report.json`` (timeline, result, failure event ids, model
   versions), ``step_<k>.png`` (predicted vs observed relations after each step, drawn from the
   monitor's markers), ``failures/`` (the failure store), ``learn/`` (the learner's reports) and
   ``logs/`` (one log per node).

Ctrl-C (or SIGTERM) cancels the task, writes what there is of the report and stops every node.
Exit codes: 0 the goal was reached, 1 it was not, 2 bad options or no way to get a model,
3 the graph did not come up or a node died, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from f2p_bringup import argtypes
from f2p_core.relations import relation_text
from f2p_core.task import TaskStage

EXIT_OK, EXIT_NOT_REACHED, EXIT_CONFIG, EXIT_GRAPH, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# for the time estimate only, measured here by `f2p demo` on a fresh store (2 cores, 2026-12-01):
# 2,000 transitions in 118 s; 4 epochs of the full model on 1,806 of them, validation included, 273 s
SECONDS_PER_SAMPLE_EPOCH = 0.038
TRANSITIONS_PER_S = 17.0
# the learner's data the demo makes when config/sim.yaml names it and it is missing: (parameter, n, seed)
LEARNER_DATASETS = (("heldout", 300, 99), ("replay", 480, 7))  # replay: the pool FinetuneConfig draws 96 from


def say(msg: str) -> None:
    print(msg, flush=True)


class Timeline:
    """The printed timeline, kept for report.json."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.entries: list[dict] = []
        self.last_key: tuple = ()

    def add(self, stage: str, message: str, step: int | None = None, **extra) -> None:
        t = time.monotonic() - self.t0
        self.entries.append({"t_s": round(t, 2), "stage": stage, "step": step, "message": message, **extra})
        where = f" step {step}" if step is not None else ""
        say(f"[{t:7.1f} s] {stage}{where}: {message}")


# --- the model -------------------------------------------------------------------------------


def ensure_model(store_root: str, n: int, epochs: int, work: Path) -> str | None:
    """The newest validated version of the store, training a small one first if there is none."""
    from f2p_model.store import ModelStore, ModelStoreError

    store = ModelStore(store_root)
    try:
        version = store.latest()
        say(f"model: {store_root}:{version} (newest validated version)")
        return version
    except ModelStoreError:
        pass
    minutes = (n / TRANSITIONS_PER_S + n * epochs * SECONDS_PER_SAMPLE_EPOCH) / 60
    say(f"no validated model in {store_root}/: training a small one first ({n} pre-training transitions, "
        f"{epochs} epoch(s) of the full model; about {max(minutes, 1.0):.0f} min on 2 cores). "
        "./experiments/pretrain.sh trains the full-scale model (12,000 transitions, 10 epochs, ~35 min).")
    from f2p_bringup.progress import progress_callback
    from f2p_model.config import LossConfig, ModelConfig, TrainConfig
    from f2p_model.train import RunOptions, TrainError, train
    from f2p_sim import dataset
    from f2p_sim.transitions import GenerationConfig, make_record

    data = work / "pretrain_data"
    update, close = progress_callback(f"pre-training data -> {data}", unit="transition")
    try:
        dataset.generate(make_record, GenerationConfig(distribution="pretrain", seed=0), data, n=n, workers=2,
                         progress=update)
    finally:
        close()
    # A constant 3e-4, not the cosine decay of full-scale pre-training: at this size the decay ends
    # the run before the model has learned (2,000 transitions, 4 epochs: validation detection F1
    # 0.785 with the decay, below the 0.8 bar; 0.878 constant, README "Model, planner, monitor").
    train_cfg = TrainConfig(epochs=epochs, schedule="constant")
    update, close = progress_callback(f"pre-training -> {store_root}", unit="step")
    def pretrain(resume: bool):
        return train(ModelConfig(), train_cfg, LossConfig(), [data], work / "pretrain", store=store_root,
                     progress=update, resume=resume)

    try:
        try:
            result = pretrain(resume=True)
        except TrainError as exc:  # an earlier demo trained there with other settings
            say(f"not resuming the earlier small-model run ({exc}): starting it over")
            result = pretrain(resume=False)
    finally:
        close()
    f1 = (result.history[-1] if result.history else {}).get("val_detection_f1")
    if not result.validated:
        say(f"the small model reached validation detection F1 {f1:.3f} < the bar of {RunOptions().min_val_f1}: "
            f"published {result.version} unvalidated. Train longer (--pretrain-n, --pretrain-epochs) or run "
            "./experiments/pretrain.sh")
        return None
    say(f"model: {store_root}:{result.version} (validation detection F1 {f1:.3f})")
    return result.version


def ensure_dataset(path: str, n: int, seed: int, what: str) -> None:
    """A small pre-training dataset the learner validates or replays with, made if missing (it is
    what `f2p data generate --distribution pretrain --n N --seed S --out PATH` makes)."""
    from f2p_bringup.progress import progress_callback
    from f2p_sim import dataset
    from f2p_sim.transitions import GenerationConfig, make_record

    update, close = progress_callback(f"{what} -> {path}", unit="transition")
    try:
        dataset.generate(make_record, GenerationConfig(distribution="pretrain", seed=seed), path, n=n, workers=2,
                         progress=update)
    finally:
        close()


# --- the graph -------------------------------------------------------------------------------


def demo_graph(args: argparse.Namespace, run_dir: Path):
    """config/sim.yaml with the options applied; returns (graph, notes)."""
    from f2p_bringup.graph_config import (
        apply_overrides,
        check_parameters,
        find_config,
        load_graph,
        perception_overrides,
    )

    graph = load_graph(Path(args.config) if args.config else find_config("sim"))
    sets = [f"sim_robot.task={args.task}", f"sim_robot.seed={args.seed}", f"sim_robot.n_objects={args.objects}",
            f"planner.model_store={args.store}", f"learner.model_store={args.store}",
            f"monitor.failures_dir={run_dir / 'failures'}", f"learner.failures_dir={run_dir / 'failures'}",
            f"learner.work_dir={run_dir / 'learn'}", *perception_overrides(args.perception)]
    notes = []
    learner = graph.nodes.get("learner")
    for key, n, seed in LEARNER_DATASETS:
        path = learner.parameters.get(key) if learner is not None else None
        if isinstance(path, str) and path and not Path(path).is_dir():
            ensure_dataset(path, n, seed, f"learner.{key}")
            notes.append(f"made {path}: {n} pre-training transitions (seed {seed}) for the learner's {key} data")
    graph, _ = apply_overrides(graph, sets)  # the demo's own settings: no notes about them
    graph, more = apply_overrides(graph, args.set or [])
    check_parameters(graph)
    return graph, notes + more


class GraphClient:
    """The demo's own ROS node: the task, failures, model versions, markers and the ExecuteTask goal."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.signals import SignalHandlerOptions
        from sensor_msgs.msg import Image
        from visualization_msgs.msg import MarkerArray

        from f2p_msgs.action import ExecuteTask
        from f2p_msgs.msg import FailureEvent, LabelMap, ModelVersion, StepOutcome, Task
        from f2p_ros import names
        from f2p_ros.qos import action_client_qos, topic_qos

        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("f2p_demo", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.task = None
        self.failures: list = []
        self.versions: list = []
        self.markers: list = []
        self.steps: list = []  # f2p_msgs/StepOutcome, one per executed skill
        self.captures: dict[str, dict] = {"image": {}, "labels": {}, "label_map": {}}  # by stamp_key
        for msg_type, topic, sink in ((Task, names.SIM_TASK_TOPIC, lambda m: setattr(self, "task", m)),
                                      (FailureEvent, names.FAILURES_TOPIC, self.failures.append),
                                      (ModelVersion, names.MODEL_VERSION_TOPIC, self.versions.append),
                                      (MarkerArray, names.MARKERS_TOPIC, self.markers.append),
                                      (StepOutcome, names.STEPS_TOPIC, self.steps.append),
                                      (Image, names.CAMERA_IMAGE_TOPIC, self._keep("image")),
                                      (Image, names.CAMERA_LABEL_IMAGE_TOPIC, self._keep("labels")),
                                      (LabelMap, names.CAMERA_LABEL_MAP_TOPIC, self._keep("label_map"))):
            self.node.create_subscription(msg_type, topic, sink, topic_qos(topic, 100))
        from rclpy.action import ActionClient

        self.action = ActionClient(self.node, ExecuteTask, names.EXECUTE_TASK_ACTION, **action_client_qos())
        self.handle = None  # the ExecuteTask goal while it runs

    def _keep(self, kind: str):
        from f2p_ros.convert import stamp_key

        return lambda msg: self.captures[kind].__setitem__(stamp_key(msg.header.stamp), msg)

    def spin(self, seconds: float = 0.05) -> None:
        self.executor.spin_once(timeout_sec=seconds)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


# --- the episode -------------------------------------------------------------------------------


def learning_note(graph) -> str:
    """What the graph does with an incorrect-prediction failure, for the timeline: "learning", or why
    it does not learn (the monitor's `learn_from_failures` off, no learner node)."""
    monitor = graph.nodes.get("monitor")
    if monitor is not None and not bool(monitor.parameters.get("learn_from_failures", True)):
        return "stored, not learned from (monitor.learn_from_failures is false)"
    if "learner" not in graph.nodes:
        return "stored, not learned from (the graph has no learner node)"
    return "learning"


def run_episode(args: argparse.Namespace, sup, client: GraphClient, timeline: Timeline, report: dict,
                learning: str = "learning") -> int:
    """One ExecuteTask goal on the running graph; `learning` (`learning_note`) is what the timeline
    says happens to an incorrect-prediction failure."""
    from action_msgs.msg import GoalStatus

    from f2p_msgs.action import ExecuteTask
    from f2p_msgs.msg import FailureEvent
    from f2p_ros import names
    from f2p_ros.convert import step_to_msg, task_from_msg
    from f2p_ros.recorder import discovered_line

    deadline = time.monotonic() + args.timeout

    def wait(predicate, what: str):
        while not predicate():
            sup.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within --timeout {args.timeout:g} s")
            client.spin()

    wait(lambda: client.task is not None, "task on /f2p/sim/task")
    task = task_from_msg(client.task)
    report["task"] = {"distribution": task.distribution, "goal": task.goal,
                      "skeleton": [f"{s.type.value}({', '.join(s.object_ids)})" for s in task.skeleton],
                      "objects": task.objects}
    timeline.add("task", f"{task.distribution}: {task.goal}")
    wait(client.action.server_is_ready, "ExecuteTask server")
    # volatile topics reach a subscriber only once discovery matched it (f2p_ros.recorder): the
    # report's and the bag's step outcomes and failures must not miss the task's first ones
    for topic in (names.STEPS_TOPIC, names.FAILURES_TOPIC):
        wait(lambda t=topic: client.node.count_publishers(t) > 0, f"publisher of {topic}")
        if "recorder" in sup.graph.nodes:
            wait(lambda t=topic: discovered_line(t) in sup.log_tail("recorder", 400), f"recorder's {topic}")
    seen = {"failures": 0, "versions": 0, "feedback": ()}

    def on_feedback(msg) -> None:
        fb = msg.feedback
        # learning reports every SVGD iteration and optimiser step: print it once per stage, 20 % and
        # 10 s (an early-stopped fine-tuning never crosses 20 %: its fraction counts all 200 epochs)
        key = ((fb.stage, fb.message.split(" ")[0], int(fb.progress * 5), int(time.monotonic() / 10))
               if fb.stage == TaskStage.LEARNING else (fb.stage, fb.message))
        if key == seen["feedback"] or fb.stage == TaskStage.DONE:  # "done" comes with the result
            return
        seen["feedback"] = key
        timeline.add(fb.stage, fb.message)

    goal = ExecuteTask.Goal(task_id=f"demo-{report['id']}", goal=task.goal,
                            skeleton=[step_to_msg(s) for s in task.skeleton], learn_from_failures=True,
                            max_replans=args.max_replans)
    sent = client.action.send_goal_async(goal, feedback_callback=on_feedback)
    wait(sent.done, "answer to the ExecuteTask goal")
    handle = sent.result()
    if not handle.accepted:
        timeline.add("error", "the monitor rejected the task (is another task running?)")
        return EXIT_NOT_REACHED
    client.handle = handle
    result_future = handle.get_result_async()
    classes = {FailureEvent.CLASS_INCORRECT_PREDICTION: f"incorrect prediction (the model was wrong): {learning}",
               FailureEvent.CLASS_SIM2REAL_GAP: "Sim2Real gap (simulation disagrees): stored, not learned from",
               FailureEvent.CLASS_UNCLASSIFIED: "unclassified"}

    def watch() -> bool:
        for f in client.failures[seen["failures"]:]:
            timeline.add("failure", f"{f.event_id}: {len(f.mismatched)} relation(s) differ from the prediction, "
                         f"e.g. {_relation_text(f.mismatched[:2])}; {classes.get(f.classification, '?')}",
                         int(f.step_index), event_id=f.event_id)
        seen["failures"] = len(client.failures)
        for v in client.versions[seen["versions"]:]:
            known = [report["model_versions"]["start"], *report["model_versions"]["published"]]
            if v.version in known:  # the learner announces the serving version at start (latched)
                continue
            timeline.add("model", f"new model version {v.version} (from {v.parent_version}) is served", None,
                         version=v.version)
            report["model_versions"]["published"].append(v.version)
        seen["versions"] = len(client.versions)
        return result_future.done()

    wait(watch, "task result")
    watch()
    client.handle = None
    response = result_future.result()
    result = response.result
    report["result"] = {"status": {GoalStatus.STATUS_SUCCEEDED: "succeeded", GoalStatus.STATUS_ABORTED: "aborted",
                                   GoalStatus.STATUS_CANCELED: "canceled"}.get(response.status, str(response.status)),
                        "success": result.success, "error": result.error, "num_failures": result.num_failures,
                        "num_replans": result.num_replans, "final_model_version": result.final_model_version}
    report["failure_event_ids"] = list(result.failure_event_ids)
    report["model_versions"]["end"] = result.final_model_version
    timeline.add("success" if result.success else "done",
                 "the goal holds" if result.success else f"the goal does not hold: {result.error}")
    return EXIT_OK if result.success else EXIT_NOT_REACHED


def _relation_text(relations) -> str:
    return ", ".join(f"{relation_text(r.name, r.subject, r.object)} predicted {r.probability:.2f}"
                     for r in relations) or "-"


def write_report(run_dir: Path, report: dict, timeline: Timeline, client: GraphClient | None) -> Path:
    """report.json, report.html and the step figures (step_<k>.png: image and goal table;
    relations_<k>.png: every relation); returns report.json's path."""
    from f2p_bringup.demo_report import render_step, step_view
    from f2p_bringup.episode_report import render_step_page, write_html

    markers = client.markers if client is not None else []
    relation_images: dict[int, str] = {}
    arrays = [m for m in markers if any(mk.ns == "observed" for mk in m.markers)]
    for k, array in enumerate(arrays):  # the monitor draws one observed array per executed step
        try:
            relation_images[k] = render_step(step_view(array), run_dir / f"relations_{k}.png",
                                             f"after step {k}: predicted (left) vs observed (right) relations").name
        except Exception as exc:  # an image must never cost the report
            say(f"could not draw the relations of step {k}: {exc!r}")
    pages = []
    for k, msg in enumerate(client.steps if client is not None else []):
        try:
            page = step_page(msg, client.captures, report.get("task", {}).get("goal", ""))
            image = render_step_page(page, run_dir / f"step_{k}.png").name
            pages.append({"index": page.index, "title": page.title, "image": image,
                          "relations": relation_images.get(k)})
        except Exception as exc:
            say(f"could not draw step {k}: {exc!r}")
    report["images"] = [p["image"] for p in pages]
    report["relation_images"] = list(relation_images.values())
    report["timeline"] = timeline.entries
    path = run_dir / "report.json"
    path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    write_html(run_dir, report, pages)
    return path


def step_page(msg, captures: dict[str, dict], goal_text: str):
    """An `episode_report.StepPage` of a StepOutcome and the capture of the same stamp (`captures`:
    "image", "labels", "label_map" messages by `stamp_key`; messages of rclpy or read from a bag)."""
    from f2p_bringup.episode_report import StepPage, goal_rows
    from f2p_core.goal import Goal
    from f2p_ros.convert import image_from_msg, label_map_from_msg, stamp_key, status_from_code

    key = stamp_key(msg.header.stamp)
    predicted = {(r.name, r.subject, r.object): float(r.probability) for r in msg.predicted.relations}
    observed = {(r.name, r.subject, r.object) for r in msg.observed.relations}
    atoms = Goal.parse(goal_text).atoms if goal_text else ()
    image, labels, label_map = (captures.get(k, {}).get(key) for k in ("image", "labels", "label_map"))
    names_of = {}
    if label_map is not None:
        values, ids, _ = label_map_from_msg(label_map)
        names_of = {int(v): i for v, i in zip(values, ids, strict=True)}
    status = status_from_code(msg.status)
    mismatches = [f"{r.name}({r.subject}{', ' + r.object if r.object else ''}): predicted {r.probability:.2f}"
                  for r in msg.mismatched]
    return StepPage(index=int(msg.step_index),
                    skill=f"{msg.skill.type}({', '.join(msg.skill.object_ids)})",
                    parameters=list(zip(msg.skill.parameter_names, msg.skill.parameters, strict=False)),
                    status=status.value if status is not None else "aborted", model_version=msg.model_version,
                    goal=goal_rows(atoms, predicted, observed, set(msg.object_ids)), mismatches=mismatches,
                    rgb=image_from_msg(image) if image is not None else None,
                    labels=image_from_msg(labels) if labels is not None else None, label_names=names_of)


def demo(args: argparse.Namespace) -> int:
    from f2p_bringup.bringup_cmd import (
        BagDirError,
        check_bag_dir,
        new_run_dir,
        record_run,
        stop_signals_raise_interrupt,
    )
    from f2p_bringup.graph_config import GraphConfigError, with_recorder
    from f2p_bringup.ros_graph import RosGraphProbe
    from f2p_bringup.supervisor import BringupError, ExecutableNotFound, NodeDied, StopTimeouts, Supervisor

    run_dir = new_run_dir(Path(args.out))
    run_dir.mkdir(parents=True)
    say(f"f2p demo: episode directory {run_dir}")
    version = ensure_model(args.store, args.pretrain_n, args.pretrain_epochs, Path(args.out) / "pretrain")
    if version is None:
        return EXIT_CONFIG
    bag = None if args.record is None else Path(args.record) if args.record else run_dir / "bag"
    try:
        graph, notes = demo_graph(args, run_dir)
        if bag is not None:
            graph = with_recorder(graph, check_bag_dir(bag))
    except (GraphConfigError, BagDirError) as exc:
        print(f"f2p demo: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for note in notes:
        say(f"note: {note}")
    record_run(graph, run_dir / "logs")
    timeline = Timeline()
    report: dict = {"id": run_dir.name, "command": " ".join(sys.argv), "options": {k: v for k, v in vars(args).items()
                                                                                  if k != "func"},
                    "model_versions": {"start": version, "published": [], "end": None}, "failure_event_ids": [],
                    "bag": str(bag) if bag is not None else None}
    code = EXIT_GRAPH
    client = None
    sup = Supervisor(graph, run_dir / "logs", timeouts=StopTimeouts(sigint=10.0, sigterm=5.0, sigkill=5.0),
                     log=lambda m: say(f"  {m}"))
    with stop_signals_raise_interrupt():
        try:
            with sup:
                timeline.add("bringup", f"starting {len(graph.nodes)} nodes (logs in {run_dir / 'logs'})")
                with RosGraphProbe() as probe:
                    sup.wait_ready(args.ready_timeout, probe=probe.has_node,
                                   on_up=lambda name: timeline.add("bringup", f"{name} is up"))
                client = GraphClient()
                try:
                    code = run_episode(args, sup, client, timeline, report, learning_note(graph))
                except KeyboardInterrupt:
                    _cancel(client, timeline)
                    code = EXIT_INTERRUPTED
                except TimeoutError as exc:
                    timeline.add("timeout", str(exc))
                    _cancel(client, timeline)
                    code = EXIT_NOT_REACHED
                finally:
                    timeline.add("shutdown", "stopping the graph")
        except ExecutableNotFound as exc:
            print(f"f2p demo: {exc}", file=sys.stderr)
            code = EXIT_CONFIG
        except NodeDied as exc:
            print(f"f2p demo: {exc}", file=sys.stderr, flush=True)
            timeline.add("error", f"node '{exc.name}' died (log: {exc.log_path})")
            code = EXIT_GRAPH
        except (TimeoutError, BringupError) as exc:
            print(f"f2p demo: {exc}", file=sys.stderr, flush=True)
            code = EXIT_GRAPH
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        finally:
            if client is not None:
                client.spin(0.5)  # the last step's messages
                client.close()
            path = write_report(run_dir, report, timeline, client)
    say(f"report: {path.with_suffix('.html')} ({len(report.get('images', []))} steps; report.json beside it); "
        f"node logs: {run_dir / 'logs'}")
    if bag is not None:
        say(f"bag: {bag} (f2p bag info {bag}; ros2 bag play {bag} on a distro)")
    return code


def _cancel(client: GraphClient, timeline: Timeline) -> None:
    handle, client.handle = client.handle, None
    if handle is None:
        return
    timeline.add("cancel", "canceling the task")
    future = handle.cancel_goal_async()
    deadline = time.monotonic() + 5.0
    while not future.done() and time.monotonic() < deadline:
        client.spin()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="run a task in the simulated graph: fail, learn, replan; writes an episode report",
        description="Bring the simulation graph up (config/sim.yaml), run the task the simulated robot samples "
        "with the store's model (a small one is trained first if there is none), print the timeline of "
        "planning, execution, failures, learning and replanning, and write runs/demo/<timestamp>/.")
    p.add_argument("--task", default="transport", help="task distribution: transport, organize or packing")
    p.add_argument("--seed", type=argtypes.nonnegative_int, default=0, help="seed of the sampled scene")
    p.add_argument("--objects", type=argtypes.positive_int, default=3, help="objects of the task (3, 5 or 7)")
    p.add_argument("--timeout", type=argtypes.positive_float, default=1200.0,
                   help="seconds for the task, learning included")
    p.add_argument("--store", default="models", help="model store")
    p.add_argument("--out", default="runs/demo", help="episode directories go here")
    p.add_argument("--config", default=None, help="graph config (default: the installed config/sim.yaml)")
    p.add_argument("--set", action="append", metavar="NODE.PARAM=VALUE",
                   help="override a node parameter (repeatable), e.g. --set learner.epochs=50")
    p.add_argument("--perception", choices=("sim_gt", "geometric"), default="sim_gt",
                   help="segmentation: the simulator's labels (sim_gt) or the geometric backend on the unlabelled "
                   "cloud, its segments bound to the task's names at the first observation")
    p.add_argument("--max-replans", type=argtypes.nonnegative_int, default=3, help="replans of the task")
    p.add_argument("--record", nargs="?", const="", default=None, metavar="DIR",
                   help="record every topic of the graph to an MCAP bag (default DIR: the episode's bag/)")
    p.add_argument("--ready-timeout", type=argtypes.positive_float, default=120.0,
                   help="seconds for every node to come up")
    p.add_argument("--pretrain-n", type=argtypes.positive_int, default=2000,
                   help="transitions of the small model, if one is trained")
    p.add_argument("--pretrain-epochs", type=argtypes.positive_int, default=4,
                   help="epochs of the small model, if one is trained")
    p.set_defaults(func=demo)
