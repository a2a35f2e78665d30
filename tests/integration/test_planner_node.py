"""The `planner` node as installed: plans for a scene and says which model made the plan, predicts a
given plan again without searching (score_only, what the monitor asks after every step), hot-swaps
when a new validated version is announced on /f2p/model_version, refuses a goal that does not fit
the scene with a message, and without a validated model exits saying how to make one."""

from __future__ import annotations

import subprocess
import time

import numpy as np
from action_msgs.msg import GoalStatus
from graph_nodes import executable, tiny_store

from f2p_msgs.action import PlanTask
from f2p_msgs.msg import ModelVersion
from f2p_ros import names
from f2p_ros.convert import model_version_to_msg, plan_from_msg, scene_to_msg, skill_to_msg, step_to_msg
from f2p_ros.qos import topic_qos


def task_scene(seed: int = 0):
    """A transport task and its scene as perception sees it (in process: no robot node needed)."""
    from f2p_perception.sim_gt import SimGroundTruthPerception
    from f2p_sim import tasks
    from f2p_sim.world import World

    sample = tasks.sample("transport", np.random.default_rng(seed), 3, real=True)
    scene = SimGroundTruthPerception(World(sample.scene), n_points=16).perceive(np.random.default_rng(seed))
    return sample, scene


def plan_goal(sample, scene, goal: str | None = None) -> PlanTask.Goal:
    return PlanTask.Goal(scene=scene_to_msg(scene), goal=goal or sample.goal_text,
                         skeleton=[step_to_msg(s) for s in sample.skeleton], num_samples=16)


def test_planner_plans_states_its_model_and_hot_swaps(procs, ros, tmp_path):
    t0 = time.monotonic()
    v1, v2 = tiny_store(tmp_path / "models", versions=2)
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    store.set_validated(v2, False)  # the planner must start on v1, the newest validated one
    procs.start("f2p_planner", "planner", model_store=tmp_path / "models", num_samples=16, threads=1)
    client = ros.action(PlanTask, names.PLAN_TASK_ACTION)
    sample, scene = task_scene()

    handle = ros.send(client, plan_goal(sample, scene), timeout_s=60, procs=procs)
    assert handle.accepted
    response = ros.result(handle, 30, procs)
    assert response.status == GoalStatus.STATUS_SUCCEEDED, response.result.error
    plan = response.result.plan
    assert plan.model_version == v1 and plan.goal == sample.goal_text
    assert len(plan.skills) == len(sample.skeleton) == len(plan.predicted_states)
    assert 0.0 <= plan.goal_probability <= 1.0
    received = plan_from_msg(plan, scene.names)
    assert received.predicted_binary.shape == (len(plan.skills) + 1, len(scene.names), len(scene.names), 10)
    assert len(plan.predicted_states[0].relations) > 0  # every relation travels, with its probability

    # score_only: the plan's own skills and parameters predicted from the scene, no search: the same plan back
    scored = ros.result(ros.send(client, PlanTask.Goal(
        scene=scene_to_msg(scene), goal=sample.goal_text, skeleton=[skill_to_msg(c) for c in received.skill_calls],
        score_only=True), procs=procs), 30, procs)
    assert scored.status == GoalStatus.STATUS_SUCCEEDED, scored.result.error
    again = plan_from_msg(scored.result.plan, scene.names)
    assert [list(c.params) for c in again.skill_calls] == [list(c.params) for c in received.skill_calls]
    # the node re-samples each goal's segments to the model's point count with that goal's generator, so the two
    # encodings see other samples of the same clouds (0.004 apart here): the same plan, not the same digits
    assert abs(again.goal_probability - received.goal_probability) < 0.05
    np.testing.assert_allclose(again.predicted_binary, received.predicted_binary, atol=0.05)
    procs.wait_log("planner", "predicted 1 skill(s)", 10)

    # a new validated version is announced: the planner loads it and the next plans say so
    meta = store.set_validated(v2, True)
    pub = ros.node.create_publisher(ModelVersion, names.MODEL_VERSION_TOPIC, topic_qos(names.MODEL_VERSION_TOPIC))
    pub.publish(model_version_to_msg(meta, str(store.path(v2))))
    procs.wait_log("planner", f"hot-swapped the model: {v1} -> {v2}", 20)
    response = ros.result(ros.send(client, plan_goal(sample, scene), procs=procs), 30, procs)
    assert response.result.success and response.result.plan.model_version == v2

    # a goal naming an object the scene does not have: aborted with the reason, the node stays up
    response = ros.result(ros.send(client, plan_goal(sample, scene, "on(ghost_1, table_B)"), procs=procs), 30, procs)
    assert response.status == GoalStatus.STATUS_ABORTED and not response.result.success
    assert "ghost_1" in response.result.error
    procs.check_alive()
    assert time.monotonic() - t0 < 90


def test_planner_without_a_validated_model_says_how_to_make_one(ros_domain, tmp_path):
    proc = subprocess.run([executable("f2p_planner", "planner"), "--ros-args", "-p",
                           f"model_store:={tmp_path / 'empty'}"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no validated model" in proc.stderr and "f2p model pretrain" in proc.stderr
