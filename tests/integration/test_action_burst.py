"""Goals sent together are all answered (issue 16 §1): rclpy's default action services hold ten
requests, and twelve PlanTask goals sent at once once got ten results. With the graph's action QoS
(`f2p_ros.qos.action_server_qos` / `action_client_qos`) 50 concurrent PlanTask goals each get a
goal response and, if accepted, a result; 20 sent while a new model version is announced each name
exactly one of the two versions; 20 concurrent ExecuteSkill goals on the simulated robot are all
answered, executed one at a time."""

from __future__ import annotations

import math

from action_msgs.msg import GoalStatus
from graph_nodes import tiny_store
from rclpy.action import ActionClient
from test_planner_node import plan_goal, task_scene

from f2p_core.skills import PARAM_NAMES, SkillType
from f2p_msgs.action import ExecuteSkill, PlanTask
from f2p_msgs.msg import ModelVersion, Skill, Task
from f2p_ros import names
from f2p_ros.convert import model_version_to_msg, task_from_msg
from f2p_ros.qos import topic_qos


def burst(ros, procs, client: ActionClient, goals: list, timeout_s: float, during=None) -> list:
    """Send `goals` at once; every goal's (accepted, result-or-None) once all are answered.
    `during()` runs once every goal response is in (e.g. announce a model)."""
    assert client.wait_for_server(timeout_sec=30)
    ros.spin(1.0)  # discovery both ways (graph_nodes.RosClient.send)
    sent = [client.send_goal_async(g) for g in goals]
    handles = ros.wait(lambda: all(f.done() for f in sent) and [f.result() for f in sent], timeout_s,
                       f"goal responses to all {len(goals)} goals", procs)
    if during:
        during()
    results = [h.get_result_async() if h.accepted else None for h in handles]
    pending = [r for r in results if r is not None]
    ros.wait(lambda: all(r.done() for r in pending), timeout_s,
             f"results of all {len(pending)} accepted goals", procs)
    return [(h.accepted, r.result() if r else None) for h, r in zip(handles, results, strict=True)]


def test_fifty_plan_goals_at_once_are_all_answered_and_a_swap_splits_them_cleanly(procs, ros, tmp_path):
    v1, v2 = tiny_store(tmp_path / "models", versions=2)
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    store.set_validated(v2, False)
    procs.start("f2p_planner", "planner", model_store=tmp_path / "models", num_samples=8, threads=1)
    client = ros.action(PlanTask, names.PLAN_TASK_ACTION)  # with the graph's action QoS
    sample, scene = task_scene()
    goal = plan_goal(sample, scene)
    goal.num_samples = 8

    answers = burst(ros, procs, client, [goal] * 50, 180)
    assert all(accepted for accepted, _ in answers)  # the planner accepts every goal it can read
    assert all(r.status == GoalStatus.STATUS_SUCCEEDED and r.result.plan.model_version == v1 for _, r in answers)

    # 20 more, and while they are being planned a new validated version is announced: every plan
    # names the one model that made it
    meta = store.set_validated(v2, True)
    pub = ros.node.create_publisher(ModelVersion, names.MODEL_VERSION_TOPIC, topic_qos(names.MODEL_VERSION_TOPIC))
    answers = burst(ros, procs, client, [goal] * 20, 180,
                    during=lambda: pub.publish(model_version_to_msg(meta, str(store.path(v2)))))
    assert all(accepted and r.status == GoalStatus.STATUS_SUCCEEDED for accepted, r in answers)
    assert {r.result.plan.model_version for _, r in answers} <= {v1, v2}
    procs.wait_log("planner", f"hot-swapped the model: {v1} -> {v2}", 30)
    procs.check_alive()


def test_twenty_skill_goals_at_once_are_all_answered(procs, ros):
    procs.start("f2p_robot", "sim_robot", task="transport", n_objects=3, seed=0, real=True, n_points=16)
    seen: list = []
    ros.node.create_subscription(Task, names.SIM_TASK_TOPIC, seen.append, topic_qos(names.SIM_TASK_TOPIC))
    task = task_from_msg(ros.wait(lambda: seen, 60, "the sampled task", procs)[-1])
    step = task.skeleton[0]
    kind = SkillType(step.type)
    # half valid skills (executed one at a time under the world's lock), half with a NaN parameter
    # (refused as invalid before the lock): the answers of both kinds must all come back
    valid = Skill(type=kind.value, object_ids=list(step.object_ids), parameters=[0.0] * len(PARAM_NAMES[kind]),
                  parameter_names=list(PARAM_NAMES[kind]))
    invalid = Skill(type=kind.value, object_ids=list(step.object_ids),
                    parameters=[math.nan] + [0.0] * (len(PARAM_NAMES[kind]) - 1),
                    parameter_names=list(PARAM_NAMES[kind]))
    client = ros.action(ExecuteSkill, names.EXECUTE_SKILL_ACTION)
    answers = burst(ros, procs, client, [ExecuteSkill.Goal(skill=s) for s in [valid, invalid] * 10], 240)
    assert all(accepted and r is not None for accepted, r in answers)
    statuses = [r.result.status for _, r in answers]
    assert statuses[1::2] == [ExecuteSkill.Result.STATUS_INVALID] * 10
    assert all(s != ExecuteSkill.Result.STATUS_INVALID for s in statuses[0::2]), statuses
    procs.check_alive()
