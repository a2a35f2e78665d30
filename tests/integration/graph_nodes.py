"""Helpers for the tests that run the planner, monitor and learner nodes as installed processes:
start and stop them (every process is stopped at teardown, killed if it does not stop), talk to
them from this process, and make the tiny model store and real failure events they work on.

The nodes run in the test's private DDS domain (``ros_domain`` fixture in conftest.py) because the
graph's names are fixed (/f2p/...) and another graph may be running on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from conftest import REPO
from rclpy.action import ActionClient

SMALL_LEARNER = {"particles": 2, "state_iterations": 4, "action_iterations": 4, "epochs": 1, "threads": 1}


def executable(package: str, name: str) -> str:
    path = REPO / "install" / package / "lib" / package / name
    if not path.is_file():
        pytest.fail(f"{path} is not installed: run ./scripts/setup.sh")
    return str(path)


class NodeProcs:
    """Installed node executables started with ``-p name:=value`` parameters, logs in ``log_dir``."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: dict[str, tuple[subprocess.Popen, object]] = {}

    def start(self, package: str, name: str, **params) -> subprocess.Popen:
        args = [executable(package, name)]
        if params:
            args.append("--ros-args")
            for key, value in params.items():
                text = str(value).lower() if isinstance(value, bool) else value
                args += ["-p", f"{key}:={text}"]
        log = open(self.log_dir / f"{name}.log", "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.log_dir)
        self.procs[name] = (proc, log)
        return proc

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    def check_alive(self) -> None:
        for name, (proc, _) in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")

    def wait_log(self, name: str, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            self.check_alive()
            time.sleep(0.1)
        raise AssertionError(f"'{text}' not in the {name} log after {timeout_s} s:\n{self.log(name)[-3000:]}")

    def stop_node(self, name: str, timeout_s: float = 10.0) -> int:
        """SIGINT to one node (as the supervisor stops it); its exit code."""
        proc, log = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=timeout_s)
        log.flush()
        return code

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, log in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


class RosClient:
    """This process's end of the graph: a node, waits that spin it, and action calls."""

    def __init__(self, domain: int, name: str = "graph_test"):
        self.context = rclpy.Context()
        rclpy.init(domain_id=domain, context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.settled: set[int] = set()  # action clients past their first goal (see send)

    def spin(self, seconds: float = 0.05) -> None:
        self.executor.spin_once(timeout_sec=seconds)

    def wait(self, predicate, timeout_s: float, what: str, procs: NodeProcs | None = None):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if procs is not None:
                procs.check_alive()
            self.spin()
        raise AssertionError(f"no {what} within {timeout_s} s")

    def action(self, action_type, name: str) -> ActionClient:
        from f2p_ros.qos import action_client_qos

        return ActionClient(self.node, action_type, name, **action_client_qos())

    def send(self, client: ActionClient, goal, timeout_s: float = 30.0, feedback=None, procs=None):
        """The goal handle (accepted or not)."""
        assert client.wait_for_server(timeout_sec=timeout_s), f"no {client._action_name} server"
        if id(client) not in self.settled:
            # wait_for_server sees the server's endpoints; the server may not see this client's
            # response reader yet, and a goal sent now can lose its response ("failed to send
            # response (timeout)", seen in CI): let discovery finish both ways once per client
            self.spin(1.0)
            self.settled.add(id(client))
        sent = client.send_goal_async(goal, feedback_callback=feedback)
        return self.wait(lambda: sent.done() and sent.result(), timeout_s, "goal response", procs)

    def result(self, handle, timeout_s: float, procs=None):
        future = handle.get_result_async()
        return self.wait(lambda: future.done() and future.result(), timeout_s, "result", procs)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def tiny_store(root: Path, versions: int = 1) -> list[str]:
    """A model store with `versions` validated tiny models (f2p_model.config.tiny_model_config)."""
    import torch

    from f2p_model.config import tiny_model_config
    from f2p_model.model import SkillEffectModel
    from f2p_model.store import ModelStore

    store = ModelStore(root)
    out = []
    for k in range(versions):
        torch.manual_seed(k)
        out.append(store.publish(SkillEffectModel(tiny_model_config()).eval(), validated=True,
                                 parent=out[-1] if out else None))
    return out


def real_failure(store_root: Path, failures: Path, seeds=range(10)):
    """A failure event of the store's latest model on a simulated transport task, as the
    executive stores it (in `failures`); the first seed that fails."""
    from f2p_model.store import ModelStore
    from f2p_monitor.executive import ExecutiveConfig, run_task
    from f2p_monitor.failure_store import FailureStore
    from f2p_monitor.sim_harness import SimRobot
    from f2p_perception.sim_gt import SimGroundTruthPerception
    from f2p_planner.planner import PlannerConfig
    from f2p_planner.skeleton import Skeleton
    from f2p_sim import tasks
    from f2p_sim.world import World

    model, meta = ModelStore(store_root).load()
    store = FailureStore(failures)
    for seed in seeds:
        sample = tasks.sample("transport", np.random.default_rng(seed), 3, real=True)
        world = World(sample.scene)
        out = run_task(f"transport-{seed}", sample.goal, Skeleton.from_task(sample),
                       SimRobot(world), SimGroundTruthPerception(world, n_points=model.config.n_points), model,
                       meta.version,
                       ExecutiveConfig(planner=PlannerConfig(num_samples=16), max_replans=0, classify_failures=False),
                       np.random.default_rng(seed), store=store)
        if out.failures:
            return store.load(out.failures[0])
    raise AssertionError("the tiny model did not fail on any seed")
