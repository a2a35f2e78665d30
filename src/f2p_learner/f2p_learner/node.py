"""The `learner` node: /f2p/learn_from_failure (LearnFromFailure) over `Fail2ProgressLearner`.

Thin by design: a FailureEvent message in (`f2p_ros.convert.failure_from_msg`), the learner library
in the middle (state and action inference, D+ in simulation, fine-tune, validate, publish to the
model store), a result with the new version and its validation metrics out, and the version on the
latched /f2p/model_version, where the planner picks it up.

Why it behaves as it does:
- **One goal at a time; a second is rejected**, not queued: learning takes the machine's cores for
  minutes, and a queued failure would be learned against a model that is stale by the time it runs.
  The rejection is logged with the event being learned; the client sees `accepted == False` and
  may send again later.
- **Bad goals end aborted with a message** (the goal is accepted first, so the message can travel
  in `result.error`): an event with no segments, an unknown skill, NaN anywhere, a relation or
  object that does not exist, an unknown method. Nothing is written to the model store for them.
- **Cancel is honoured within 1 s**: learning runs in a worker thread; the goal ends *canceled* as
  soon as the cancel request is seen (polled every 0.1 s) and the run stops at its next progress
  call (every SVGD iteration, optimiser step and stage) by raising `LearningCancelled`. Should the
  run have published a validated version before it saw the request, that version is marked
  unvalidated again, so a canceled goal never changes what is served. A new goal is accepted once
  the worker has stopped.
- The event is learned from as the message carries it, its segments re-sampled to the model's points
  per segment (the monitor's stored copy may have another count), and saved to the failure store
  (`failures_dir`) first if it is not there yet (the monitor normally stored it already).
- An event learned from again (its earlier run killed, canceled or not validated) gets a fresh
  work directory: the learner moves the earlier `work_dir/<event_id>` aside to
  `<event_id>.earlier-<k>` (`f2p_learner.learner.fresh_work_dir`).
- At start the node announces the store's newest validated version (if any) on /f2p/model_version,
  so the latched topic always names the model the graph should serve.

Parameters: the fields of `f2p_learner.parameters.LearnerParameters` (name, type, default and meaning,
declared from there by `f2p_ros.params.declare`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from f2p_learner.learner import Fail2ProgressLearner, LearnerConfig, LearningCancelled, LearningStage
from f2p_learner.methods import Method
from f2p_learner.parameters import LearnerParameters
from f2p_learner.svgd import preload_optimizer
from f2p_model.runtime import retain_freed_memory
from f2p_model.store import ModelStore, ModelStoreError
from f2p_monitor.failure_store import FailureStore, FailureStoreError
from f2p_msgs.action import LearnFromFailure
from f2p_msgs.msg import ModelVersion
from f2p_ros import names
from f2p_ros.convert import failure_from_msg, metrics_to_msg, model_version_to_msg
from f2p_ros.params import declare
from f2p_ros.qos import action_server_qos, topic_qos
from f2p_ros.spin import run_node

RESULT_TIMEOUT_S = 600  # keep finished goals' results this long (Humble and Jazzy defaults differ)
POLL_S = 0.1  # how often the goal checks for a cancel request and the worker's end
FEEDBACK_PERIOD_S = 0.2  # at most this often per stage (SVGD reports every iteration)


@dataclass
class Run:
    """One learning run, shared by the goal's thread and the worker thread."""

    event_id: str
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    stage: str = "starting"
    fraction: float = 0.0
    message: str = "loading the model"
    version: str | None = None  # the validated version learned, if any
    error: str = ""
    canceled: bool = False
    last_feedback: float = 0.0
    last_stage: str = ""
    report: dict = field(default_factory=dict)  # the learner's report.json of this run

    def eta_s(self) -> float:
        """Seconds left at the current rate; -1 while the rate is unknown (LearnFromFailure.eta_s)."""
        elapsed = time.monotonic() - self.started
        if self.fraction < 0.02 or elapsed < 1.0:
            return -1.0
        return elapsed * (1.0 - self.fraction) / self.fraction


class LearnerNode(Node):
    def __init__(self) -> None:
        super().__init__("learner")
        params = declare(self, LearnerParameters)
        params.check_datasets()
        self.store = ModelStore(params.model_store)
        self.failures = FailureStore(params.failures_dir)
        self.method = params.method
        if params.threads > 0:
            import torch

            torch.set_num_threads(params.threads)
        preload_optimizer()  # torch.optim's lazy imports now, not at the first failure
        self.base = params.to_config()
        self.lock = threading.Lock()
        self.run: Run | None = None
        self.version_pub = self.create_publisher(ModelVersion, names.MODEL_VERSION_TOPIC,
                                                 topic_qos(names.MODEL_VERSION_TOPIC))
        self.action = ActionServer(self, LearnFromFailure, names.LEARN_FROM_FAILURE_ACTION,
                                   execute_callback=self.on_execute, goal_callback=self.on_goal,
                                   cancel_callback=lambda _goal: CancelResponse.ACCEPT,
                                   callback_group=ReentrantCallbackGroup(), result_timeout=RESULT_TIMEOUT_S,
                                   **action_server_qos())
        latest = self.announce_latest()
        self.get_logger().info(f"learner: store {self.store.root} (serving {latest or 'nothing yet'}), method "
                               f"{self.method}, M={params.particles}, {params.epochs} fine-tuning epochs, "
                               f"held-out check {'on ' + params.heldout if params.heldout else 'off'}")

    # --- model versions ------------------------------------------------------------------------
    def announce(self, version: str) -> None:
        meta = self.store.read_meta(version)
        self.version_pub.publish(model_version_to_msg(meta, str(self.store.path(version).resolve())))

    def announce_latest(self) -> str | None:
        try:
            latest = self.store.latest()
        except ModelStoreError:
            self.get_logger().warning(f"no validated model in {self.store.root} yet: nothing to announce")
            return None
        self.announce(latest)
        return latest

    # --- LearnFromFailure ----------------------------------------------------------------------
    def on_goal(self, request: LearnFromFailure.Goal) -> GoalResponse:
        with self.lock:
            if self.run is not None:
                self.get_logger().warning(f"rejected the goal for event '{request.failure.event_id}': still learning "
                                          f"from '{self.run.event_id}' (one goal at a time; send it again later)")
                return GoalResponse.REJECT
            self.run = Run(request.failure.event_id)
            return GoalResponse.ACCEPT

    def on_execute(self, goal_handle) -> LearnFromFailure.Result:
        run = self.run
        assert run is not None, "on_goal sets the run before a goal executes"
        req = goal_handle.request
        try:
            event, config = self.prepare(req)
        except (ValueError, KeyError) as exc:
            return self.finish_early(goal_handle, run, f"bad goal: {exc}")
        worker = threading.Thread(target=self.learn, args=(run, event, config), name=f"learn-{event.event_id}",
                                  daemon=True)
        worker.start()
        while not run.done.wait(POLL_S):
            if goal_handle.is_cancel_requested:
                return self.cancel(goal_handle, run, worker)
            self.feedback(goal_handle, run)
        with self.lock:
            self.run = None
        if goal_handle.is_cancel_requested:  # asked while the run was ending: it finished anyway
            self.get_logger().info(f"cancel for '{run.event_id}' came as the run ended; reporting its result")
        result = LearnFromFailure.Result(success=run.version is not None, error=run.error)
        if run.version is not None:
            meta = self.store.read_meta(run.version)
            path = str(self.store.path(run.version).resolve())
            result.model_version = model_version_to_msg(meta, path)
            result.metrics = metrics_to_msg(meta.metrics | self.result_metrics(run.report))
            self.announce(run.version)
            goal_handle.succeed()
            self.get_logger().info(f"learned from '{run.event_id}': published {run.version} "
                                   f"in {time.monotonic() - run.started:.1f} s")
        else:
            result.metrics = metrics_to_msg(self.result_metrics(run.report))
            goal_handle.abort()
            self.get_logger().warning(f"no new model from '{run.event_id}': {run.error}")
        return result

    def prepare(self, req: LearnFromFailure.Goal):
        """The event and the learner config of a goal; ValueError says what is wrong with it."""
        method = req.method or self.method
        method = Method.parse_learning(method).value
        try:
            meta = self.store.read_meta(self.store.latest())
        except ModelStoreError as exc:
            raise ValueError(f"no model to learn from: {exc}") from None
        if not req.failure.scene_before.segments:
            raise ValueError(f"event '{req.failure.event_id}' has no segments in scene_before: no scene to learn in")
        event = failure_from_msg(req.failure, n_points=meta.model_config.n_points)
        event.validate()
        if not event.mismatched:
            raise ValueError(f"event {event.event_id} lists no mismatched relation: nothing to learn")
        if event.event_id not in self.failures.list():
            try:
                self.failures.save(event)  # every event learned from is on disk first
            except FailureStoreError as exc:
                raise ValueError(str(exc)) from None
        inference = self.base.inference
        if req.num_particles:
            inference = dataclasses.replace(inference, particles=int(req.num_particles))
        return event, dataclasses.replace(self.base, method=method, inference=inference)

    def learn(self, run: Run, event, config: LearnerConfig) -> None:
        """The worker: run the learner; the progress callback raises once the goal is canceled."""
        def progress(stage: LearningStage, fraction: float, message: str) -> None:
            if run.cancel.is_set():
                raise LearningCancelled(f"goal for '{run.event_id}' canceled")
            run.stage, run.fraction, run.message = str(stage), float(fraction), message

        try:
            out = Fail2ProgressLearner(self.store, "latest", config, progress=progress).learn(event)
            if run.cancel.is_set() and out is not None:
                self.store.set_validated(out[1], False, {"canceled": True})
                self.get_logger().warning(f"{out[1]} was published as the goal was canceled: marked unvalidated")
                out = None
            run.report = self.report(config, event.event_id)
            if out is not None:
                run.version = out[1]
            else:
                result = run.report.get("result", {})
                run.error = (f"{result.get('version', 'the fine-tuned model')} did not pass validation: "
                             f"{result.get('reason', 'see the report in ' + config.work_dir)}")
        except LearningCancelled:
            run.canceled = True
            run.error = "canceled"
        except (ModelStoreError, FailureStoreError, ValueError) as exc:
            run.error = f"learning failed: {exc}"
            self.get_logger().error(f"learning from '{run.event_id}' failed: {exc}")
        except Exception as exc:  # a bug in one run must not take the node (and the served model) down
            run.error = f"learning failed: {exc!r}"
            self.get_logger().error(f"learning from '{run.event_id}' raised {exc!r}")
        finally:
            run.done.set()
            if run.cancel.is_set():
                self.get_logger().info(f"the run for '{run.event_id}' stopped: canceled at {run.stage}")
                with self.lock:
                    self.run = None  # the canceled goal ended already: accept the next one now

    @staticmethod
    def report(config: LearnerConfig, event_id: str) -> dict:
        """The run's report.json (written by the learner), or {} if it did not get that far."""
        path = Path(config.work_dir) / event_id / "report.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    @staticmethod
    def result_metrics(report: dict) -> dict:
        """Validation metrics of the run, plus the D+ statistics (prefixed `dplus_`)."""
        metrics = dict(report.get("result", {}).get("metrics", {}))
        metrics.update({f"dplus_{k}": v for k, v in report.get("dplus", {}).items()})
        return metrics

    def cancel(self, goal_handle, run: Run, worker: threading.Thread) -> LearnFromFailure.Result:
        run.cancel.set()
        goal_handle.canceled()
        self.get_logger().info(f"canceled learning from '{run.event_id}' at {run.stage} "
                               f"({run.fraction:.0%}); the run stops at its next step")
        if not worker.is_alive():
            with self.lock:
                self.run = None
        return LearnFromFailure.Result(success=False, error=f"canceled at {run.stage} ({run.fraction:.0%})")

    def finish_early(self, goal_handle, run: Run, error: str) -> LearnFromFailure.Result:
        with self.lock:
            self.run = None
        self.get_logger().error(f"event '{run.event_id}': {error}")
        goal_handle.abort()
        return LearnFromFailure.Result(success=False, error=error)

    def feedback(self, goal_handle, run: Run) -> None:
        now = time.monotonic()
        if run.stage == run.last_stage and now - run.last_feedback < FEEDBACK_PERIOD_S:
            return
        run.last_stage, run.last_feedback = run.stage, now
        eta = run.eta_s()
        goal_handle.publish_feedback(LearnFromFailure.Feedback(
            stage=run.stage, progress=float(min(max(run.fraction, 0.0), 1.0)),
            eta_s=float(eta) if math.isfinite(eta) else -1.0, message=run.message))


def main(args: list[str] | None = None) -> int:
    retain_freed_memory()  # f2p_model.runtime: SVGD and fine-tuning re-allocate large tensors every step
    return run_node(LearnerNode, "learner", threads=4, args=args)


if __name__ == "__main__":
    sys.exit(main())
