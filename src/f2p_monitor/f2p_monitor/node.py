"""The `monitor` node: /f2p/execute_task (ExecuteTask) running the task executive over the graph.

Thin by design: `f2p_monitor.executive.run_task` (the same loop the experiments run in one
process) with its interfaces implemented as ROS clients:

* Robot: /f2p/execute_skill (ExecuteSkill); a skill the robot aborts (STATUS_ABORTED) ends the task.
* Perception: the latest /f2p/scene after the skill (the robot captures after every skill; if no
  newer scene comes within `observation_timeout_s`, a capture is requested on
  /f2p/camera/capture once). Observed relations: with `observed_relations:=sim_gt` the
  simulator's ground truth on /f2p/observed_relations of the same stamp as the scene; with
  `perceived` the relations of the perceived boxes (`f2p_perception.evaluate.perceived_relations`),
  as on a robot.
* Planner: /f2p/plan_task (PlanTask). After the learner published a new version the planner node
  hot-swaps to it from /f2p/model_version; a plan that still states an older version is asked for
  again for up to `swap_timeout_s`, so the replan after learning uses the new model.
* Learner: /f2p/learn_from_failure (LearnFromFailure), its feedback forwarded as ours (stage
  "learning"). A busy, missing or timed-out learner costs the event its learning, not the task:
  the task goes on with the model it has.

Each failure event is stored (`failures_dir`), classified, and only then published on
/f2p/failures, before it is sent to the learner. Markers on /f2p/markers: the objects, the
relations predicted and observed after the latest step and the mismatches, one namespace per layer
(`f2p_monitor.markers_layout`). Every executed skill on /f2p/steps (StepOutcome): its parameters
and status, every relation predicted after it with its probability, those observed, the mismatches,
under the stamp of the observation after it.

Goal: `learn_from_failures` learns only if the `learn_from_failures` parameter allows it too;
`max_replans` 0 means the parameter's value. One task at a time (the robot has one world): a
second goal is rejected while one runs. The goal succeeds when the goal relations hold in the
final observation, else it is aborted with `error` saying why (planning impossible, goal not
reached, robot or node missing); cancel stops at the next step, learning goal included.

Parameters: the fields of `f2p_monitor.parameters.MonitorParameters` (name, type, default and meaning,
declared from there by `f2p_ros.params.declare`).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient, ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from f2p_core.failure import FailureEvent, Mismatch
from f2p_core.goal import Goal
from f2p_core.relations import THRESHOLD, table_lookup
from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillStatus
from f2p_core.task import TaskStage
from f2p_monitor.executive import ExecutiveConfig, Observer, RetryRule, TaskOutcome, run_task
from f2p_monitor.failure_store import FailureStore
from f2p_monitor.markers_layout import OBJECTS, relation_lines
from f2p_monitor.parameters import MonitorParameters
from f2p_msgs.action import ExecuteSkill, ExecuteTask, LearnFromFailure, PlanTask
from f2p_msgs.msg import FailureEvent as FailureEventMsg
from f2p_msgs.msg import SegmentedScene, StepOutcome, SymbolicState
from f2p_planner.skeleton import Skeleton
from f2p_ros import names
from f2p_ros.convert import (
    ReceivedPlan,
    failure_to_msg,
    plan_from_msg,
    relations_from_msg,
    relations_to_msg,
    scene_from_msg,
    scene_to_msg,
    skill_to_msg,
    stamp_key,
    status_from_code,
    step_from_msg,
    step_outcome_to_msg,
    step_to_msg,
)
from f2p_ros.markers import box_markers, relation_markers
from f2p_ros.params import declare
from f2p_ros.qos import action_client_qos, action_server_qos, topic_qos
from f2p_ros.spin import run_node

RESULT_TIMEOUT_S = 600  # keep finished goals' results this long (Humble and Jazzy defaults differ)
POLL_S = 0.1  # waits check for a cancel request this often
SERVER_WAIT_S = 10.0  # how long to wait for an action server to appear
class TaskCanceled(RuntimeError):
    """The ExecuteTask goal was canceled; raised from inside the executive to stop it."""


class TaskAborted(RuntimeError):
    """The task cannot go on (a node missing or timing out, the robot stopped); the message says why."""


def version_number(version: str) -> int | None:
    """12 of "v0012" (model store ids), None for anything else."""
    m = re.match(r"^v(\d+)$", version or "")
    return int(m.group(1)) if m else None


class Observations:
    """The latest scene and the recent observed relations, for the executive's thread to wait on."""

    def __init__(self, keep: int = 8):
        self.cond = threading.Condition()
        self.scene: SegmentedScene | None = None
        self.relations: OrderedDict[tuple[int, int], SymbolicState] = OrderedDict()
        self.keep = keep

    def on_scene(self, msg: SegmentedScene) -> None:
        with self.cond:
            self.scene = msg
            self.cond.notify_all()

    def on_relations(self, msg: SymbolicState) -> None:
        with self.cond:
            self.relations[stamp_key(msg.header.stamp)] = msg
            while len(self.relations) > self.keep:
                self.relations.popitem(last=False)
            self.cond.notify_all()

    def latest_key(self) -> tuple[int, int] | None:
        with self.cond:
            return stamp_key(self.scene.header.stamp) if self.scene is not None else None

    def wait(self, predicate: Callable[[], object], timeout_s: float, guard: Callable[[], None]):
        """The first true value of `predicate()` (called under the lock), None after `timeout_s`;
        `guard()` (which raises on cancel) runs between checks, outside the lock."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.cond:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, POLL_S))
            guard()


class ActionCaller:
    """Send one goal and wait for its result from the executive's thread, honouring our cancel."""

    def __init__(self, node: Node, action_type, name: str, owner: str, guard: Callable[[], None], group) -> None:
        self.client = ActionClient(node, action_type, name, callback_group=group, **action_client_qos())
        self.name, self.owner, self.guard = name, owner, guard

    def wait_future(self, future, timeout_s: float, what: str):
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        deadline = time.monotonic() + timeout_s
        while not done.wait(POLL_S):
            self.guard()
            if time.monotonic() > deadline:
                raise TaskAborted(f"{what}: no answer from {self.name} within {timeout_s:g} s")
        return future.result()

    def call(self, goal, timeout_s: float, what: str, feedback: Callable | None = None):
        """The action's response (`.status`, `.result`), or None if the server rejected the goal."""
        if not self.client.wait_for_server(timeout_sec=SERVER_WAIT_S):
            raise TaskAborted(f"{what}: no {self.name} server; is the {self.owner} node running?")
        sent = self.client.send_goal_async(goal, feedback_callback=feedback)
        handle = self.wait_future(sent, SERVER_WAIT_S, what)
        if not handle.accepted:
            return None
        try:
            return self.wait_future(handle.get_result_async(), timeout_s, what)
        except (TaskCanceled, TaskAborted):
            handle.cancel_goal_async()
            raise


class RosPerception:
    """`executive.Perception` over /f2p/scene and /f2p/observed_relations (module docstring)."""

    def __init__(self, node: MonitorNode, observations: Observations, mode: str, n_points: int):
        self.node, self.obs, self.mode, self.n_points = node, observations, mode, n_points
        self.stale: tuple[int, int] | None = None  # a scene at or before this stamp is from before the skill
        self.current: tuple[int, int] | None = None  # stamp of the scene perceive() returned last
        self.current_msg: SegmentedScene | None = None

    def expect_new_scene(self) -> None:
        self.stale = self.obs.latest_key()

    def perceive(self, rng: np.random.Generator) -> PerceivedScene:
        timeout = self.node.observation_timeout_s

        def fresh():
            s = self.obs.scene
            return s if s is not None and (self.stale is None or stamp_key(s.header.stamp) > self.stale) else None

        msg = self.obs.wait(fresh, timeout, self.node.guard)
        if msg is None and self.stale is not None:
            self.node.get_logger().warning(f"no new scene {timeout:g} s after the skill: requesting a capture")
            self.node.request_capture()
            msg = self.obs.wait(fresh, timeout, self.node.guard)
        if msg is None:
            raise TaskAborted(f"no {'new ' if self.stale else ''}scene on {names.SCENE_TOPIC} within {timeout:g} s: "
                              "are the robot and perception nodes running?")
        self.stale, self.current, self.current_msg = None, stamp_key(msg.header.stamp), msg
        try:
            return scene_from_msg(msg, n_points=self.n_points, rng=rng)
        except ValueError as exc:
            raise TaskAborted(f"malformed scene from perception: {exc}") from None

    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        """Observed relations of the latest perceived capture, over `scene.names` (executive order)."""
        if self.mode == "perceived":
            from f2p_perception.evaluate import perceived_relations

            return perceived_relations(scene)
        key = self.current
        msg = self.obs.wait(lambda: self.obs.relations.get(key), self.node.observation_timeout_s, self.node.guard)
        if msg is None:
            raise TaskAborted(f"no {names.OBSERVED_RELATIONS_TOPIC} for the scene of {key}: observed_relations:=sim_gt "
                              "needs the simulator's ground truth (sim_robot ground_truth_labels:=true)")
        try:
            unary, binary = relations_from_msg(msg, scene.names)
        except ValueError as exc:
            raise TaskAborted(f"observed relations do not fit the scene: {exc}") from None
        return unary >= THRESHOLD, binary >= THRESHOLD


class RosRobot:
    """`executive.Robot` over /f2p/execute_skill."""

    def __init__(self, node: MonitorNode, perception: RosPerception, caller: ActionCaller):
        self.node, self.perception, self.caller = node, perception, caller

    def execute(self, call: SkillCall) -> SkillStatus:
        self.perception.expect_new_scene()
        what = f"{call.type.value}({', '.join(call.object_ids)})"
        response = self.caller.call(ExecuteSkill.Goal(skill=skill_to_msg(call)), self.node.skill_timeout_s, what)
        if response is None:
            raise TaskAborted(f"the robot rejected {what}")
        status = status_from_code(response.result.status)
        if status is None:
            raise TaskAborted(f"the robot aborted {what}: {response.result.error}")
        if status is SkillStatus.INVALID:
            self.perception.stale = None  # nothing moved, so no new capture comes
        if status is not SkillStatus.OK:
            self.node.get_logger().warning(f"{what} ended {status.value}: {response.result.error}")
        return status


class RosPlanner:
    """`executive.Planner` over /f2p/plan_task; waits for the planner to serve a learned version."""

    def __init__(self, node: MonitorNode, perception: RosPerception, caller: ActionCaller):
        self.node, self.perception, self.caller = node, perception, caller
        self.expected: str = ""  # the newest version the learner reported

    def _scene_msg(self, scene: PerceivedScene):
        current = self.perception.current_msg
        return scene_to_msg(scene, current.header.stamp if current is not None else None)

    def plan(self, scene: PerceivedScene, goal: Goal, skeleton: Skeleton, rng: np.random.Generator) -> ReceivedPlan:
        request = PlanTask.Goal(scene=self._scene_msg(scene),
                                goal=goal.text, skeleton=[step_to_msg(s) for s in skeleton.to_steps()],
                                num_samples=self.node.num_samples)
        deadline = time.monotonic() + self.node.swap_timeout_s
        while True:
            response = self.caller.call(request, self.node.plan_timeout_s, "planning")
            if response is None:
                raise TaskAborted("the planner rejected the planning goal")
            if response.status != GoalStatus.STATUS_SUCCEEDED or not response.result.success:
                raise ValueError(response.result.error or "the planner failed without saying why")
            plan = plan_from_msg(response.result.plan, scene.names)
            have, want = version_number(plan.model_version), version_number(self.expected)
            if have is None or want is None or have >= want:
                return plan
            if time.monotonic() > deadline:
                self.node.get_logger().warning(f"the planner still serves {plan.model_version}, not the learned "
                                               f"{self.expected}, after {self.node.swap_timeout_s:g} s: using its plan")
                return plan
            self.node.get_logger().info(f"plan made with {plan.model_version}; waiting for the planner to load "
                                        f"{self.expected}")
            self.node.pause(0.5)

    def score(self, scene: PerceivedScene, goal: Goal, calls: list[SkillCall]) -> ReceivedPlan:
        """The planner's prediction of exactly `calls` from `scene` (PlanTask with score_only)."""
        request = PlanTask.Goal(scene=self._scene_msg(scene),
                                goal=goal.text, skeleton=[skill_to_msg(c) for c in calls], score_only=True)
        response = self.caller.call(request, self.node.plan_timeout_s, "predicting the rest of the plan")
        if response is None:
            raise TaskAborted("the planner rejected the scoring goal")
        if response.status != GoalStatus.STATUS_SUCCEEDED or not response.result.success:
            raise ValueError(response.result.error or "the planner failed without saying why")
        return plan_from_msg(response.result.plan, scene.names)

    def use_model(self, model, version: str) -> None:
        self.expected = version


class RosLearner:
    """`executive.Learner` over /f2p/learn_from_failure; returns (None, version): the planner node
    loads the model itself."""

    def __init__(self, node: MonitorNode, caller: ActionCaller, say: Callable[[str, float, str], None]):
        self.node, self.caller, self.say = node, caller, say

    def learn(self, event: FailureEvent) -> tuple[object, str] | None:
        def feedback(msg) -> None:
            fb = msg.feedback
            eta = f", ETA {fb.eta_s:.0f} s" if fb.eta_s >= 0 else ""
            self.say(TaskStage.LEARNING, -1.0, f"{fb.stage} {fb.progress:.0%}{eta}: {fb.message}")

        log = self.node.get_logger()
        try:
            response = self.caller.call(LearnFromFailure.Goal(failure=failure_to_msg(event)),
                                        self.node.learn_timeout_s, f"learning from {event.event_id}", feedback)
        except TaskAborted as exc:  # no learner, or it timed out: the task goes on with the model it has
            log.warning(f"{exc}: going on without learning")
            self.say(TaskStage.LEARNING, -1.0, f"{exc}: going on without learning")
            return None
        if response is None:
            why = f"the learner rejected {event.event_id} (busy with another failure): going on without it"
            log.warning(why)
            self.say(TaskStage.LEARNING, -1.0, why)
            return None
        result = response.result
        if response.status != GoalStatus.STATUS_SUCCEEDED or not result.success:
            log.warning(f"no new model from {event.event_id}: {result.error}")
            self.say(TaskStage.LEARNING, -1.0, f"no new model from {event.event_id}: {result.error}")
            return None
        log.info(f"the learner published {result.model_version.version} from {event.event_id}")
        self.say(TaskStage.LEARNING, -1.0, f"published {result.model_version.version} from {event.event_id}")
        return None, result.model_version.version


class NodeObserver(Observer):
    """Feedback step index, markers and /f2p/failures as the executive goes."""

    def __init__(self, node: MonitorNode, relations: tuple[str, ...], threshold: float, task_id: str = "",
                 perception: RosPerception | None = None):
        self.node, self.relations, self.threshold = node, relations, threshold
        self.task_id, self.perception = task_id, perception
        self.step = 0
        self.model_version = ""  # of the plan being executed

    def markers(self, scene: PerceivedScene, predicted=None, observed=None, mismatches=()) -> None:
        stamp = self.node.get_clock().now().to_msg()
        visible = scene.visible
        lo = np.where(visible[:, None], scene.box_lo, 0.0)
        hi = np.where(visible[:, None], np.maximum(scene.box_hi, scene.box_lo), 0.0)
        array = box_markers(scene.names, lo, hi, scene.classes, scene.frame_id, stamp, ns=OBJECTS)
        lines = relation_lines(scene.names, lo, hi, self.relations, predicted, observed, mismatches, self.threshold)
        array.markers.extend(relation_markers(lines, scene.frame_id, stamp))
        self.node.markers_pub.publish(array)

    def planned(self, plan, scene: PerceivedScene, first_step: int) -> None:
        self.model_version = plan.model_version
        n = len(scene.names)
        self.markers(scene, (plan.predicted_unary[1][:n], plan.predicted_binary[1][:n, :n]))

    def rescored(self, plan, scene: PerceivedScene, first_step: int) -> None:
        n = len(scene.names)  # the next step's prediction, now made from this scene
        self.markers(scene, (plan.predicted_unary[1][:n], plan.predicted_binary[1][:n, :n]))

    def executing(self, step: int, call: SkillCall) -> None:
        self.step = step

    def observed(self, step: int, call: SkillCall, status: SkillStatus, before: PerceivedScene,
                 after: PerceivedScene, predicted, observed, mismatches: list[Mismatch]) -> None:
        self.markers(after, predicted, observed, mismatches)
        current = self.perception.current_msg if self.perception is not None else None
        self.node.steps_pub.publish(step_outcome_to_msg(
            self.task_id, step, call, status, before.names, predicted, observed, mismatches, self.model_version,
            after.frame_id, current.header.stamp if current is not None else None))

    def failure(self, event: FailureEvent) -> None:
        self.node.failures_pub.publish(failure_to_msg(event))
        self.node.get_logger().info(f"failure {event.event_id} at step {event.step_index} ({event.classification}): "
                                    + "; ".join(m.text() for m in event.mismatched[:3]))


class MonitorNode(Node):
    def __init__(self) -> None:
        super().__init__("monitor")
        params = declare(self, MonitorParameters)
        self.store = FailureStore(params.failures_dir)
        self.learn = params.learn_from_failures
        self.max_replans = params.max_replans
        self.replan_below = params.replan_below
        self.retry = RetryRule(params.retry)
        self.observed_mode = params.observed_relations
        self.n_points, self.num_samples = params.n_points, params.num_samples
        self.classify, self.seed = params.classify, params.seed
        self.observation_timeout_s, self.skill_timeout_s = params.observation_timeout_s, params.skill_timeout_s
        self.plan_timeout_s, self.learn_timeout_s = params.plan_timeout_s, params.learn_timeout_s
        self.swap_timeout_s = params.swap_timeout_s
        self.detection = params.detection
        self.busy = threading.Lock()
        self.goal_handle = None
        self.tasks = 0
        group = ReentrantCallbackGroup()
        self.group = group
        self.observations = Observations()
        self.create_subscription(SegmentedScene, names.SCENE_TOPIC, self.observations.on_scene,
                                 topic_qos(names.SCENE_TOPIC), callback_group=group)
        self.create_subscription(SymbolicState, names.OBSERVED_RELATIONS_TOPIC, self.observations.on_relations,
                                 topic_qos(names.OBSERVED_RELATIONS_TOPIC), callback_group=group)
        self.failures_pub = self.create_publisher(FailureEventMsg, names.FAILURES_TOPIC,
                                                  topic_qos(names.FAILURES_TOPIC))
        self.markers_pub = self.create_publisher(MarkerArray, names.MARKERS_TOPIC, topic_qos(names.MARKERS_TOPIC))
        self.steps_pub = self.create_publisher(StepOutcome, names.STEPS_TOPIC, topic_qos(names.STEPS_TOPIC))
        self.capture = self.create_client(Trigger, names.CAMERA_CAPTURE_SERVICE, callback_group=group)
        self.robot_caller = ActionCaller(self, ExecuteSkill, names.EXECUTE_SKILL_ACTION, "robot", self.guard, group)
        self.plan_caller = ActionCaller(self, PlanTask, names.PLAN_TASK_ACTION, "planner", self.guard, group)
        self.learn_caller = ActionCaller(self, LearnFromFailure, names.LEARN_FROM_FAILURE_ACTION, "learner",
                                         self.guard, group)
        self.action = ActionServer(self, ExecuteTask, names.EXECUTE_TASK_ACTION, execute_callback=self.on_execute,
                                   goal_callback=self.on_goal, cancel_callback=lambda _g: CancelResponse.ACCEPT,
                                   callback_group=group, result_timeout=RESULT_TIMEOUT_S, **action_server_qos())
        self.get_logger().info(f"monitor: failures in {self.store.root}, relations {params.relations}, observed "
                               f"{self.observed_mode}, learning {'on' if self.learn else 'off'}, "
                               f"max {self.max_replans} replans")

    # --- helpers used by the clients ------------------------------------------------------------
    def guard(self) -> None:
        """Raise TaskCanceled once the running goal has a cancel request."""
        handle = self.goal_handle
        if handle is not None and handle.is_cancel_requested:
            raise TaskCanceled("canceled")

    def pause(self, seconds: float) -> None:
        """Wait `seconds` in the task's thread, still honouring a cancel request."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:  # the task's own thread: the executor's others keep spinning
            time.sleep(min(POLL_S, max(deadline - time.monotonic(), 0.0)))
            self.guard()

    def request_capture(self) -> None:
        if self.capture.wait_for_service(timeout_sec=1.0):
            self.capture.call_async(Trigger.Request())
        else:
            self.get_logger().warning(f"no {names.CAMERA_CAPTURE_SERVICE} service to ask for a capture")

    # --- ExecuteTask ----------------------------------------------------------------------------
    def on_goal(self, request: ExecuteTask.Goal) -> GoalResponse:
        if not self.busy.acquire(blocking=False):
            self.get_logger().warning(f"rejected task '{request.task_id}': a task is running (one at a time)")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT  # the lock is released when the task ends (on_execute)

    def on_execute(self, goal_handle) -> ExecuteTask.Result:
        self.goal_handle = goal_handle
        try:
            return self.execute(goal_handle)
        finally:
            self.goal_handle = None
            self.busy.release()

    def execute(self, goal_handle) -> ExecuteTask.Result:
        req = goal_handle.request
        self.tasks += 1
        task_id = req.task_id or time.strftime("task-%Y%m%dT%H%M%S")
        log = self.get_logger()
        try:
            goal = Goal.parse(req.goal)
            skeleton = Skeleton.from_steps([step_from_msg(s) for s in req.skeleton])
            if len(skeleton) == 0:
                raise ValueError("the skeleton is empty: nothing to execute")
        except ValueError as exc:
            log.error(f"task '{task_id}' is malformed: {exc}")
            goal_handle.abort()
            return ExecuteTask.Result(success=False, error=f"bad goal: {exc}")
        perception = RosPerception(self, self.observations, self.observed_mode, self.n_points)
        observer = NodeObserver(self, self.detection.names({a.relation for a in goal.atoms}),
                                self.detection.threshold, task_id, perception)

        done = [0.0]  # the task's progress; learning feedback (fraction -1) keeps it

        def say(stage: TaskStage, fraction: float, message: str) -> None:
            self.guard()  # every progress report is a point where a cancel takes effect
            if fraction >= 0:
                done[0] = fraction
            goal_handle.publish_feedback(ExecuteTask.Feedback(stage=stage.value, progress=float(done[0]),
                                                              message=message, step_index=observer.step))
            if stage is not TaskStage.LEARNING:
                log.info(f"[{task_id}] {stage}: {message}")

        learn = self.learn and req.learn_from_failures
        max_replans = int(req.max_replans) if req.max_replans > 0 else self.max_replans
        config = ExecutiveConfig(detection=self.detection, max_replans=max_replans, classify_failures=self.classify,
                                 replan_below=self.replan_below, retry=self.retry)
        try:
            outcome = run_task(task_id, goal, skeleton, RosRobot(self, perception, self.robot_caller), perception,
                               None, "", config, np.random.default_rng([self.seed, self.tasks]), store=self.store,
                               learner=RosLearner(self, self.learn_caller, say) if learn else None, progress=say,
                               planner=RosPlanner(self, perception, self.plan_caller), observer=observer)
        except TaskCanceled:
            log.info(f"task '{task_id}' canceled")
            goal_handle.canceled()
            return ExecuteTask.Result(success=False, error="canceled")
        except TaskAborted as exc:
            log.error(f"task '{task_id}' aborted: {exc}")
            goal_handle.abort()
            return ExecuteTask.Result(success=False, error=str(exc))
        except Exception as exc:  # a bug in one task must not take the monitor down
            log.error(f"task '{task_id}' raised {exc!r}")
            goal_handle.abort()
            return ExecuteTask.Result(success=False, error=f"internal error: {exc!r}")
        return self.finish(goal_handle, task_id, goal, outcome)

    def finish(self, goal_handle, task_id: str, goal: Goal, outcome: TaskOutcome) -> ExecuteTask.Result:
        error = outcome.error
        if not outcome.success and not error:
            error = "goal not reached: " + ", ".join(a.text for a in goal.atoms if not _holds(a, outcome))
        result = ExecuteTask.Result(
            success=outcome.success, error=error, num_failures=len(outcome.failures), num_replans=outcome.replans,
            failure_event_ids=list(outcome.failures), final_model_version=outcome.model_version,
            final_state=relations_to_msg(outcome.names, np.asarray(outcome.final_unary, bool),
                                         np.asarray(outcome.final_binary, bool)))
        if outcome.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        self.get_logger().info(f"task '{task_id}' {'succeeded' if outcome.success else 'failed: ' + error} after "
                               f"{len(outcome.steps)} step(s), {len(outcome.failures)} failure(s), "
                               f"{outcome.replans} replan(s), model {outcome.model_version}, {outcome.seconds:.1f} s")
        return result


def _holds(atom, outcome: TaskOutcome) -> bool:
    return Goal((atom,)).holds(table_lookup(outcome.names, outcome.final_unary, outcome.final_binary))


def main(args: list[str] | None = None) -> int:
    return run_node(MonitorNode, "monitor", threads=6, args=args)


if __name__ == "__main__":
    sys.exit(main())
