"""The sim_robot node's ExecuteSkill logic, called directly with a stand-in goal handle (no
client, no DDS traffic): cancel before execution, invalid goals, a skill and the capture after it.
The same node over DDS: tests/integration/test_robot_graph.py."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest
import rclpy

from f2p_msgs.action import ExecuteSkill
from f2p_msgs.msg import Skill
from f2p_robot.sim_robot_node import SimRobotNode
from f2p_ros.convert import cloud_from_msg, label_map_from_msg, task_from_msg, task_to_msg


class GoalHandle:
    def __init__(self, skill: Skill, cancel: bool = False) -> None:
        self.request = ExecuteSkill.Goal(skill=skill)
        self.goal_id = SimpleNamespace(uuid=bytes(range(16)))
        self.is_cancel_requested = cancel
        self.state, self.feedback = None, []

    def publish_feedback(self, msg) -> None:
        self.feedback.append(msg.stage)

    def succeed(self) -> None:
        self.state = "succeeded"

    def abort(self) -> None:
        self.state = "aborted"

    def canceled(self) -> None:
        self.state = "canceled"


@pytest.fixture(scope="module")
def node():
    rclpy.init(domain_id=random.randint(150, 199))
    n = SimRobotNode()
    published = {"clouds": [], "maps": [], "tasks": []}
    for pub, key in ((n.cloud_pub, "clouds"), (n.label_map_pub, "maps"), (n.task_pub, "tasks")):
        pub.publish = published[key].append
    n.published = published
    n.task_pub.publish(task_to_msg(n.sample))  # the start-up one went out before the recorder
    yield n
    n.destroy_node()
    rclpy.try_shutdown()


def test_captures_carry_labels_that_match_the_label_map(node):
    node.capture()
    cloud, label_map = node.published["clouds"][-1], node.published["maps"][-1]
    assert cloud.header.stamp == label_map.header.stamp and cloud.header.frame_id == "world"
    points, labels = cloud_from_msg(cloud, require_labels=True)
    values, ids, _ = label_map_from_msg(label_map)
    assert ids == node.ids and "ground" not in ids and len(points) > 10000
    assert set(np.unique(labels)) <= set(values.tolist()) | {0xFFFFFFFF}
    assert (labels == 0xFFFFFFFF).any() and len(set(np.unique(labels)) - {0xFFFFFFFF}) >= len(ids) - 1
    assert task_from_msg(node.published["tasks"][-1]).skeleton == node.sample.skeleton


def test_cancel_before_execution_and_invalid_goals(node):
    before = len(node.published["clouds"])
    skill = Skill(type="push", object_ids=["item_1"], parameters=[0.0, 0.05])
    handle = GoalHandle(skill, cancel=True)
    result = node.on_execute(handle)
    assert handle.state == "canceled" and result.status == ExecuteSkill.Result.STATUS_ABORTED
    handle = GoalHandle(Skill(type="push", object_ids=["ghost"], parameters=[0.0, 0.05]))
    result = node.on_execute(handle)
    assert handle.state == "aborted" and result.status == ExecuteSkill.Result.STATUS_INVALID
    assert result.error == "unknown object 'ghost'"
    handle = GoalHandle(Skill(type="push", object_ids=["item_1"], parameters=[0.0]))
    assert node.on_execute(handle).error.startswith("push takes 2 parameters")
    assert len(node.published["clouds"]) == before  # nothing moved: nothing observed


def test_a_skill_runs_and_is_observed(node):
    before = len(node.published["clouds"])
    box = node.sample.skeleton[0].object_ids[0]
    handle = GoalHandle(Skill(type="pick_place", object_ids=[box, "table_B"], parameters=[0.0, 0.05, 0.01, 0.0]))
    result = node.on_execute(handle)
    assert result.status in (ExecuteSkill.Result.STATUS_OK, ExecuteSkill.Result.STATUS_COLLISION), result.error
    assert handle.state == ("succeeded" if result.success else "aborted") and result.duration_s > 0
    assert handle.feedback[-1] == "done" and "executing" in handle.feedback
    assert len(node.published["clouds"]) == before + 1
    assert node.on_cancel(SimpleNamespace(goal_id=SimpleNamespace(uuid=bytes(16)))).name == "ACCEPT"


def test_the_stretch_executes_and_its_head_camera_observes():
    """robot: stretch, camera: head: the skill goes through the Stretch's joint goals (a placement beyond
    its arm is refused by name), and the head camera's capture sees the scene's objects."""
    from rclpy.parameter import Parameter

    from f2p_sim.stretch_world import StretchWorld

    context = rclpy.Context()  # beside the module's node
    rclpy.init(context=context, domain_id=random.randint(150, 199))
    try:
        n = SimRobotNode(context=context, parameter_overrides=[
            Parameter("robot", value="stretch"), Parameter("camera", value="head"),
            Parameter("publish_image", value=False)])
        clouds = []
        n.cloud_pub.publish = clouds.append
        assert isinstance(n.world, StretchWorld) and n.capture() > 1000
        _, labels = cloud_from_msg(clouds[-1], require_labels=True)
        assert len(set(np.unique(labels)) - {0xFFFFFFFF}) >= 3  # tables and the task's objects in view
        box = n.sample.skeleton[0].object_ids[0]
        far = GoalHandle(Skill(type="pick_place", object_ids=[box, "table_B"], parameters=[1.5, 0.0, 0.0, 0.0]))
        result = n.on_execute(far)
        assert result.status == ExecuteSkill.Result.STATUS_UNREACHABLE and "wrist_extension" in result.error
        n.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
