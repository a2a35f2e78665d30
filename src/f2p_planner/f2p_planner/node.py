"""The `planner` node: /f2p/plan_task (PlanTask) over the skill effect model, with model hot-swap.

Thin by design: a SegmentedScene, a goal and a skeleton in; `make_planner(...).plan` (the library)
in the middle (`.score` when the goal asks `score_only`: the skeleton's own parameters predicted from
the scene, no search); a Plan out, with the relations the model predicts after every skill (all of them,
as probabilities, so the monitor compares them with its own threshold) and the model version that
made it.

Models: at start the node loads the newest validated version of the store (`model_store`); a store
without one is an error that says how to make one. It then follows the latched
/f2p/model_version (the learner's newest validated version): a new version is loaded *beside* the
serving one and swapped in with one reference assignment, so a plan in flight finishes on the
model it started with and every Plan states the version that made it. Versions that are not
validated, not in this node's store or that fail to load are logged and ignored (the previous model
keeps serving).

Goal states: succeeded with a plan; aborted with `error` when the goal or the skeleton does not fit
the scene (unknown object or relation, empty skeleton, ...) or the scene message is malformed;
canceled when a cancel arrives before planning starts (a plan takes well under a second and is not
interrupted).

Parameters: the fields of `f2p_planner.parameters.PlannerParameters` (name, type, default and meaning,
declared from there by `f2p_ros.params.declare`); with seed s, plans are reproducible per goal count.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from dataclasses import dataclass

import numpy as np
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from f2p_core.goal import GoalError
from f2p_core.scene import SEGMENT_POINTS
from f2p_model.runtime import retain_freed_memory
from f2p_model.store import ModelStore, ModelStoreError
from f2p_msgs.action import PlanTask
from f2p_msgs.msg import ModelVersion
from f2p_planner.parameters import PlannerParameters
from f2p_planner.planner import make_planner
from f2p_planner.skeleton import Skeleton, SkeletonError
from f2p_ros import names
from f2p_ros.convert import plan_to_msg, scene_from_msg, skill_from_msg, step_from_msg
from f2p_ros.params import declare
from f2p_ros.qos import action_server_qos, topic_qos
from f2p_ros.spin import run_node

RESULT_TIMEOUT_S = 60  # keep finished goals' results this long (Humble and Jazzy defaults differ)
NO_MODEL_HINT = ("train one: f2p model pretrain --data data/pretrain --epochs 10 --out runs/pretrain --store {store} "
                 "(./experiments/pretrain.sh does data and training; `f2p demo` trains a small one)")


class NoModelError(RuntimeError):
    """The store has no validated model to plan with."""


@dataclass(frozen=True)
class Serving:
    """The model that plans now and its version; replaced as a whole, never mutated."""

    model: object
    version: str


class PlannerNode(Node):
    def __init__(self) -> None:
        super().__init__("planner")
        params = declare(self, PlannerParameters)
        store, threads, self.seed = params.model_store, params.threads, params.seed
        self.config = params.to_config()
        if threads > 0:
            import torch

            torch.set_num_threads(threads)
        self.store = ModelStore(store)
        try:
            model, meta = self.store.load("latest")
        except ModelStoreError as exc:
            raise NoModelError(f"no validated model in {self.store.root}: {exc}. "
                               + NO_MODEL_HINT.format(store=store)) from None
        self.serving = Serving(model, meta.version)
        self.swap_lock = threading.Lock()  # one load at a time; planning never waits for it
        self.goals = 0
        self.count_lock = threading.Lock()
        group = ReentrantCallbackGroup()
        self.create_subscription(ModelVersion, names.MODEL_VERSION_TOPIC, self.on_model_version,
                                 topic_qos(names.MODEL_VERSION_TOPIC), callback_group=group)
        self.action = ActionServer(self, PlanTask, names.PLAN_TASK_ACTION, execute_callback=self.on_plan,
                                   goal_callback=lambda _goal: GoalResponse.ACCEPT,
                                   cancel_callback=lambda _goal: CancelResponse.ACCEPT, callback_group=group,
                                   result_timeout=RESULT_TIMEOUT_S, **action_server_qos())
        self.get_logger().info(f"planner: model {meta.version} from {self.store.root}, {params.method}, "
                               f"K={params.num_samples}")

    # --- models --------------------------------------------------------------------------------
    def on_model_version(self, msg: ModelVersion) -> None:
        if not msg.validated:
            self.get_logger().warning(f"ignoring model {msg.version}: not validated")
            return
        with self.swap_lock:
            if msg.version == self.serving.version:
                return
            try:
                model, meta = self.store.load(msg.version)
            except ModelStoreError as exc:
                self.get_logger().error(f"cannot use model {msg.version} (announced at {msg.path!r}): {exc}; "
                                        f"still planning with {self.serving.version}")
                return
            if not meta.validated:
                self.get_logger().error(f"model {msg.version} is announced as validated but the store says it is "
                                        f"not; still planning with {self.serving.version}")
                return
            old = self.serving.version
            self.serving = Serving(model, meta.version)  # one assignment: plans in flight keep their model
        self.get_logger().info(f"hot-swapped the model: {old} -> {meta.version}")

    # --- PlanTask ------------------------------------------------------------------------------
    def on_plan(self, goal_handle) -> PlanTask.Result:
        serving = self.serving  # read once: this plan uses this model, whatever arrives meanwhile
        with self.count_lock:
            self.goals += 1
            rng = np.random.default_rng([self.seed, self.goals])
        req = goal_handle.request
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            return PlanTask.Result(success=False, error="canceled before planning")
        goal_handle.publish_feedback(PlanTask.Feedback(stage="planning", progress=0.0,
                                                       message=f"model {serving.version}"))
        try:
            n_points = int(getattr(getattr(serving.model, "config", None), "n_points", SEGMENT_POINTS))
            scene = scene_from_msg(req.scene, n_points=n_points, rng=rng)
            if not req.skeleton:
                raise ValueError("the skeleton is empty: nothing to plan")
            config = self.config
            if req.num_samples:
                config = dataclasses.replace(config, num_samples=int(req.num_samples))
            planner = make_planner(serving.model, config, serving.version)
            boxes = np.stack([scene.box_lo, scene.box_hi], axis=1)
            if req.score_only:
                plan = planner.score(scene.points, scene.visible, scene.names, boxes, scene.classes, req.goal,
                                     [skill_from_msg(s) for s in req.skeleton])
            else:
                skeleton = Skeleton.from_steps([step_from_msg(s) for s in req.skeleton])
                plan = planner.plan(scene.points, scene.visible, scene.names, boxes, scene.classes, req.goal,
                                    skeleton, rng)
        except (GoalError, SkeletonError, ValueError) as exc:
            error = str(exc)
            self.get_logger().error(f"cannot plan '{req.goal}': {error.splitlines()[0]}")
            goal_handle.abort()
            return PlanTask.Result(success=False, error=error)
        msg = plan_to_msg(plan, scene.names, self.get_clock().now().to_msg())
        goal_handle.publish_feedback(PlanTask.Feedback(stage="done", progress=1.0,
                                                       message=f"p(goal) = {plan.goal_probability:.3f}"))
        goal_handle.succeed()
        verb = "predicted" if req.score_only else "planned"
        self.get_logger().info(f"{verb} {len(plan.skill_calls)} skill(s) for '{req.goal}' with {serving.version}: "
                               f"p(goal) = {plan.goal_probability:.3f} in {plan.timing.total_s:.2f} s")
        return PlanTask.Result(success=True, error="", plan=msg)


def main(args: list[str] | None = None) -> int:
    retain_freed_memory()  # f2p_model.runtime: rollouts re-allocate large tensors every call
    return run_node(PlannerNode, "planner", threads=3, fatal=(ValueError, NoModelError), args=args)


if __name__ == "__main__":
    sys.exit(main())
