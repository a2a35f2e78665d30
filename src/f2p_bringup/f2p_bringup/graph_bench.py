"""``f2p bench graph``: what the running graph delivers, and what recording it costs (issue 16 §1, §4).

The simulation graph's robot, perception and planner nodes run as processes (the Supervisor, as
``f2p bringup`` starts them) with the store's model; this process is the client. Two figures:

- **Planning under load**: PlanTask goals for the robot's task and scene, kept `c` in flight at once
  (closed loop: each result sends the next goal) for c = 1, 10, 50 "clients"; plans per second and
  the p50/p99 latency from sending a goal to its result.
- **Observing**: ``/f2p/camera/capture`` makes the robot publish a fresh cloud with its label map,
  relations and poses, perception turns it into a scene; the latency from the request to the
  scene's arrival, the path every skill's outcome takes to the monitor.

With ``record`` both are measured twice, alternately without and with the recorder node
(``f2p bringup --record``) in the graph, and the overhead is the relative change of each median.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from f2p_bringup.graph_config import (
    GraphConfig,
    apply_overrides,
    find_config,
    load_graph,
    perception_overrides,
    with_recorder,
)
from f2p_bringup.supervisor import StopTimeouts, Supervisor

#: the nodes the bench needs of config/sim.yaml (no monitor, no learner: nothing else asks the planner)
NODES = ("sim_robot", "perception", "planner")


@dataclass(frozen=True)
class GraphBenchConfig:
    store: str = "models"
    clients: tuple[int, ...] = (1, 10, 50)
    goals_per_level: int = 60          # PlanTask goals at each client count (at least the count)
    captures: int = 20                 # capture -> scene round trips per condition
    planner_samples: int = 1000        # K of every plan (config/sim.yaml's default)
    record: bool = True                # measure without and with the recorder
    repeats: int = 1                   # alternations of the two conditions
    compression: str = "lz4"           # the recorder's chunk compression (f2p_ros.bag.COMPRESSIONS)
    task: str = "transport"
    objects: int = 3
    seed: int = 0
    ready_timeout_s: float = 120.0
    perception: str = "sim_gt"         # the perception node's backend (graph_config.perception_overrides)


@dataclass
class Level:
    clients: int
    goals: int
    wall_s: float
    latencies_s: list[float] = field(default_factory=list)

    @property
    def plans_per_s(self) -> float:
        return self.goals / self.wall_s

    def to_dict(self) -> dict:
        return {"clients": self.clients, "goals": self.goals, "wall_s": round(self.wall_s, 3),
                "plans_per_s": round(self.plans_per_s, 3), "p50_s": round(percentile(self.latencies_s, 50), 4),
                "p99_s": round(percentile(self.latencies_s, 99), 4)}


@dataclass
class Condition:
    recording: bool
    levels: list[Level]
    capture_s: list[float]
    bag_messages: int = 0

    def to_dict(self) -> dict:
        return {"recording": self.recording, "levels": [lv.to_dict() for lv in self.levels],
                "capture_to_scene_p50_s": round(percentile(self.capture_s, 50), 4),
                "capture_to_scene_p99_s": round(percentile(self.capture_s, 99), 4),
                "captures": len(self.capture_s), "bag_messages": self.bag_messages}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 60 values is the largest but none)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def bench_graph(config: GraphBenchConfig, log_root: Path, progress: Callable[[str], None] = print) -> dict:
    """Run the bench; the results file's payload."""
    graph = bench_graph_config(config)
    conditions: list[Condition] = []
    order = [False, True] if config.record else [False]
    for r in range(config.repeats):
        for recording in order:
            what = "with" if recording else "without"
            progress(f"[bench graph] repeat {r + 1}/{config.repeats}: {what} the recorder")
            conditions.append(run_condition(graph, config, recording, log_root / f"{r}-{int(recording)}", progress))
    out = {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()},
           "conditions": [c.to_dict() for c in conditions]}
    if config.record:
        out["recording_overhead"] = overhead(conditions)
    if config.perception != "sim_gt":
        out["library_perceive_s"] = library_perceive_s(config)
        progress(f"  the library alone on the same scene (SimCameraPerception, in this process): perceive p50 "
                 f"{percentile(out['library_perceive_s'], 50):.3f} s over {len(out['library_perceive_s'])}")
    return out


def library_perceive_s(config: GraphBenchConfig) -> list[float]:
    """Seconds of `config.captures` perceptions of the bench's scene by the library alone (camera, backend,
    tracker, samples; no ROS): the figure the node's capture-to-scene latency stands beside."""
    import time

    import numpy as np

    from f2p_perception.perception import SimCameraPerception
    from f2p_sim import tasks
    from f2p_sim.world import World

    task_rng = np.random.SeedSequence(config.seed).spawn(2)[0]  # as sim_robot draws its task
    world = World(tasks.sample(config.task, np.random.default_rng(task_rng), config.objects, real=True).scene)
    perception = SimCameraPerception(world, config.perception, task_names=True)
    rng = np.random.default_rng(0)
    out = []
    for _ in range(config.captures):
        t0 = time.perf_counter()
        perception.perceive(rng)
        out.append(time.perf_counter() - t0)
    return out


def bench_graph_config(config: GraphBenchConfig) -> GraphConfig:
    graph = load_graph(find_config("sim"))
    graph = dataclasses.replace(graph, nodes={n: graph.nodes[n] for n in NODES})
    graph, _ = apply_overrides(graph, [f"sim_robot.task={config.task}", f"sim_robot.n_objects={config.objects}",
                                       f"sim_robot.seed={config.seed}", f"planner.model_store={config.store}",
                                       f"planner.num_samples={config.planner_samples}",
                                       *perception_overrides(config.perception)])
    return graph


def overhead(conditions: list[Condition]) -> dict:
    """Relative change of each median with the recorder (positive: slower with it)."""
    def med(recording: bool, get) -> float:
        return statistics.median(get(c) for c in conditions if c.recording == recording)

    out = {"capture_to_scene_p50": med(True, lambda c: percentile(c.capture_s, 50))
           / med(False, lambda c: percentile(c.capture_s, 50)) - 1}
    for i, level in enumerate(conditions[0].levels):
        out[f"plan_p50_{level.clients}_clients"] = (med(True, lambda c, i=i: percentile(c.levels[i].latencies_s, 50))
                                                   / med(False, lambda c, i=i: percentile(c.levels[i].latencies_s, 50))
                                                   - 1)
        out[f"plans_per_s_{level.clients}_clients"] = (med(False, lambda c, i=i: c.levels[i].plans_per_s)
                                                      / med(True, lambda c, i=i: c.levels[i].plans_per_s) - 1)
    return {k: round(v, 4) for k, v in out.items()}


def run_condition(graph: GraphConfig, config: GraphBenchConfig, recording: bool, log_dir: Path,
                  progress: Callable[[str], None]) -> Condition:
    from f2p_bringup.ros_graph import RosGraphProbe

    with tempfile.TemporaryDirectory(prefix="f2p-bench-bag-") as tmp:
        bag = Path(tmp) / "bag"
        g = with_recorder(graph, bag, config.compression) if recording else graph
        with Supervisor(g, log_dir, timeouts=StopTimeouts(sigint=10.0, sigterm=5.0, sigkill=5.0), log=lambda m: None) \
                as sup:
            with RosGraphProbe() as probe:
                sup.wait_ready(config.ready_timeout_s, probe=probe.has_node)
            client = BenchClient()
            try:
                goal = client.plan_goal(config.ready_timeout_s, sup.check)
                client.plan_level(goal, 1, 3, sup.check)  # warm-up: the first plans build the planner's caches
                levels = []
                for c in config.clients:
                    n = max(c, config.goals_per_level)
                    levels.append(client.plan_level(goal, c, n, sup.check))
                    lv = levels[-1].to_dict()
                    progress(f"  {c:>3} clients: {lv['plans_per_s']:.2f} plans/s, p50 {lv['p50_s']:.3f} s, "
                             f"p99 {lv['p99_s']:.3f} s")
                captures = client.captures(config.captures, sup.check)
                progress(f"  capture -> scene: p50 {percentile(captures, 50):.3f} s over {len(captures)}")
            finally:
                client.close()
        messages = 0
        if recording:
            from f2p_ros.bag import bag_info

            messages = bag_info(bag).message_count
            progress(f"  the recorder wrote {messages} messages")
    return Condition(recording, levels, captures, messages)


class BenchClient:
    """This process's node: the task and scene, PlanTask goals in flight, capture requests."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.action import ActionClient
        from rclpy.signals import SignalHandlerOptions
        from std_srvs.srv import Trigger

        from f2p_msgs.action import PlanTask
        from f2p_msgs.msg import SegmentedScene, Task
        from f2p_ros import names
        from f2p_ros.qos import action_client_qos, topic_qos

        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("f2p_bench_graph", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.task = None
        self.scenes: list[tuple[float, object]] = []
        self.node.create_subscription(Task, names.SIM_TASK_TOPIC, lambda m: setattr(self, "task", m),
                                      topic_qos(names.SIM_TASK_TOPIC))
        self.node.create_subscription(SegmentedScene, names.SCENE_TOPIC,
                                      lambda m: self.scenes.append((time.perf_counter(), m)),
                                      topic_qos(names.SCENE_TOPIC))
        self.plan = ActionClient(self.node, PlanTask, names.PLAN_TASK_ACTION, **action_client_qos())
        self.capture = self.node.create_client(Trigger, names.CAMERA_CAPTURE_SERVICE)
        self._plan_type = PlanTask

    def wait(self, predicate, timeout_s: float, what: str, check: Callable[[], None]):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            check()
            self.executor.spin_once(timeout_sec=0.02)
        raise TimeoutError(f"no {what} within {timeout_s:g} s")

    def plan_goal(self, timeout_s: float, check):
        from f2p_ros.convert import step_to_msg, task_from_msg

        self.wait(lambda: self.task is not None and self.scenes, timeout_s, "task and scene from the robot", check)
        task = task_from_msg(self.task)
        if not self.plan.wait_for_server(timeout_sec=timeout_s):
            raise TimeoutError("no PlanTask server")
        self.executor.spin_once(timeout_sec=1.0)  # discovery both ways (tests/integration/graph_nodes.py)
        return self._plan_type.Goal(scene=self.scenes[-1][1], goal=task.goal,
                                    skeleton=[step_to_msg(s) for s in task.skeleton])

    def plan_level(self, goal, clients: int, goals: int, check) -> Level:
        """`goals` PlanTask goals, `clients` in flight at any time; every one must succeed."""
        from action_msgs.msg import GoalStatus

        sent = [0]
        done: list[float] = []
        failed: list[str] = []

        def send() -> None:
            t0 = time.perf_counter()
            sent[0] += 1
            future = self.plan.send_goal_async(goal)
            future.add_done_callback(lambda f, t0=t0: on_response(f, t0))

        def on_response(future, t0: float) -> None:
            handle = future.result()
            if not handle.accepted:
                failed.append("rejected")
                return
            handle.get_result_async().add_done_callback(lambda f, t0=t0: on_result(f, t0))

        def on_result(future, t0: float) -> None:
            response = future.result()
            if response.status != GoalStatus.STATUS_SUCCEEDED:
                failed.append(response.result.error or f"status {response.status}")
            done.append(time.perf_counter() - t0)
            if sent[0] < goals:
                send()

        start = time.perf_counter()
        for _ in range(clients):
            send()
        self.wait(lambda: len(done) + len(failed) >= goals, 60.0 + 5.0 * goals, f"{goals} plans", check)
        if failed:
            raise RuntimeError(f"{len(failed)} of {goals} plans failed: {failed[0]}")
        return Level(clients, goals, time.perf_counter() - start, done)

    def captures(self, n: int, check) -> list[float]:
        """Seconds from each capture request to the scene it produced."""
        from std_srvs.srv import Trigger

        if not self.capture.wait_for_service(timeout_sec=30.0):
            raise TimeoutError("no capture service")
        out = []
        for _ in range(n):
            seen = len(self.scenes)
            t0 = time.perf_counter()
            future = self.capture.call_async(Trigger.Request())
            self.wait(lambda f=future, k=seen: f.done() and len(self.scenes) > k, 30.0, "scene after a capture", check)
            out.append(self.scenes[-1][0] - t0)
        return out

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
