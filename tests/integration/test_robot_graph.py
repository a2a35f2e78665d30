"""The robot end of the ROS graph, as installed: `sim_robot` and `perception` as real processes,
a client in this one. A skill sent over /f2p/execute_skill changes the world, and a new scene, new
ground-truth relations and a new camera image with its per-pixel labels (same stamp) arrive, the
moved object's pixels where it went; a bad goal is refused with STATUS_INVALID; the
Stretch node without a robot fails fast, naming what is missing.

Each test runs its processes in a private DDS domain (the one the test command chose, else a
random one), because the graph's names are fixed (/f2p/...) and another graph may be running.
"""

from __future__ import annotations

import importlib.util
import os
import random
import subprocess
import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from conftest import REPO
from rclpy.action import ActionClient
from sensor_msgs.msg import Image, PointCloud2
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from f2p_core.geometry import transform_points
from f2p_core.relations import BINARY
from f2p_msgs.action import ExecuteSkill
from f2p_msgs.msg import LabelMap, SegmentedScene, Skill, SymbolicState, Task
from f2p_perception.frames import pose_to_text
from f2p_ros import names
from f2p_ros.convert import (
    cloud_to_msg,
    image_from_msg,
    label_map_from_msg,
    relations_from_msg,
    scene_from_msg,
    stamp_key,
    task_from_msg,
)
from f2p_ros.qos import topic_qos

TABLE_TOP_Z = 0.45  # f2p_sim.tasks: both tables' tops


def executable(package: str, name: str) -> str:
    path = REPO / "install" / package / "lib" / package / name
    if not path.is_file():
        pytest.fail(f"{path} is not installed: run ./scripts/setup.sh")
    return str(path)


@pytest.fixture
def domain(monkeypatch) -> int:
    value = os.environ.get("ROS_DOMAIN_ID") or str(random.randint(150, 199))
    monkeypatch.setenv("ROS_DOMAIN_ID", value)
    return int(value)


@pytest.fixture
def graph(domain, tmp_path):
    """Start installed executables (logs in tmp_path); all are stopped at teardown."""
    procs: list[tuple[subprocess.Popen, object]] = []

    def start(package: str, name: str, **params) -> subprocess.Popen:
        args = [executable(package, name)]
        if params:
            args.append("--ros-args")
            for key, value in params.items():
                args += ["-p", f"{key}:={value}"]
        log = open(tmp_path / f"{name}.log", "w")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        procs.append((proc, log))
        return proc

    yield start
    for proc, _ in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc, log in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class Client:
    """This process's view of the graph: latest scene, relations and task, and the action."""

    def __init__(self, domain: int) -> None:
        rclpy.init(domain_id=domain)
        self.node = rclpy.create_node("robot_graph_test")
        self.scenes: list[SegmentedScene] = []
        self.relations: list[SymbolicState] = []
        self.task: Task | None = None
        self.images: list[Image] = []
        self.label_images: list[Image] = []
        self.label_maps: list[LabelMap] = []
        for msg_type, topic, sink in ((SegmentedScene, names.SCENE_TOPIC, self.scenes.append),
                                      (SymbolicState, names.OBSERVED_RELATIONS_TOPIC, self.relations.append),
                                      (Task, names.SIM_TASK_TOPIC, self._task),
                                      (Image, names.CAMERA_IMAGE_TOPIC, self.images.append),
                                      (Image, names.CAMERA_LABEL_IMAGE_TOPIC, self.label_images.append),
                                      (LabelMap, names.CAMERA_LABEL_MAP_TOPIC, self.label_maps.append)):
            self.node.create_subscription(msg_type, topic, sink, topic_qos(topic))
        self.action = ActionClient(self.node, ExecuteSkill, names.EXECUTE_SKILL_ACTION)

    def _task(self, msg: Task) -> None:
        self.task = msg

    def wait(self, predicate, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            rclpy.spin_once(self.node, timeout_sec=0.05)
        raise AssertionError(f"no {what} within {timeout_s} s")

    def ready(self, timeout_s: float = 30.0):
        """Task, first scene and first relations (the robot publishes them at start, latched)."""
        self.wait(lambda: self.task and self.scenes and self.relations, timeout_s, "task, scene and relations")
        assert self.action.wait_for_server(timeout_sec=10.0), "no ExecuteSkill server"
        return task_from_msg(self.task), self.scenes[-1]

    def execute(self, skill: Skill, timeout_s: float = 20.0):
        feedback = []
        sent = self.action.send_goal_async(ExecuteSkill.Goal(skill=skill),
                                           feedback_callback=lambda m: feedback.append(m.feedback))
        handle = self.wait(lambda: sent.done() and sent.result(), timeout_s, "goal response")
        assert handle.accepted
        result = handle.get_result_async()
        response = self.wait(lambda: result.done() and result.result(), timeout_s, "result")
        return response, feedback

    def at(self, msgs: list, stamp, what: str):
        """The message of `msgs` with header stamp `stamp` (waiting for it)."""
        return self.wait(lambda: next((m for m in msgs if stamp_key(m.header.stamp) == stamp_key(stamp)), None),
                         15.0, what)

    def pixels_of(self, stamp, object_id: str) -> np.ndarray:
        """(row, col) of the pixels showing `object_id` in the label image of the capture `stamp`."""
        labels = image_from_msg(self.at(self.label_images, stamp, "label image"))
        values, ids, _classes = label_map_from_msg(self.at(self.label_maps, stamp, "label map"))
        return np.argwhere(labels == values[ids.index(object_id)])

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.try_shutdown()


@pytest.fixture
def client(domain):
    c = Client(domain)
    yield c
    c.close()


def start_robot_and_perception(graph) -> None:
    graph("f2p_robot", "sim_robot", task="transport", n_objects=3, seed=0, real="true")
    graph("f2p_perception", "perception", backend="sim_gt", n_points=64)


def holds(state: SymbolicState, names_: list[str], relation: str, a: str, b: str) -> bool:
    _, binary = relations_from_msg(state, names_)
    return bool(binary[names_.index(a), names_.index(b), BINARY.index(relation)] >= 0.5)


def test_a_skill_changes_the_world_and_new_observations_follow(graph, client):
    start_robot_and_perception(graph)
    task, first_msg = client.ready()
    first = scene_from_msg(first_msg, n_points=8)
    assert first.names == [i for i, _ in task.objects] and first.visible.all()
    assert stamp_key(client.relations[-1].header.stamp) == stamp_key(first_msg.header.stamp)
    box, support = task.skeleton[0].object_ids  # transport: the container to table_B
    k = first.index(box)
    centre, height = (first.box_lo[k] + first.box_hi[k]) / 2, first.box_hi[k, 2] - first.box_lo[k, 2]
    target = np.array([0.35, 0.30, TABLE_TOP_Z + height / 2])
    assert not holds(client.relations[-1], first.names, "on", box, support)

    skill = Skill(type="pick_place", object_ids=[box, support], parameters=[*(target - centre).tolist(), 0.0],
                  parameter_names=["dx", "dy", "dz", "dyaw"])
    response, feedback = client.execute(skill)
    result = response.result
    assert response.status == GoalStatus.STATUS_SUCCEEDED, result.error
    assert result.status == ExecuteSkill.Result.STATUS_OK and result.success and result.error == ""
    assert 0.5 < result.duration_s < 10.0  # simulated seconds
    assert [f.stage for f in feedback][-1] == "done" and "executing" in [f.stage for f in feedback]

    stamp = stamp_key(first_msg.header.stamp)
    after_msg = client.wait(lambda: next((s for s in client.scenes if stamp_key(s.header.stamp) > stamp), None),
                            15.0, "scene after the skill")
    after_rel = client.wait(lambda: next((r for r in client.relations
                                          if stamp_key(r.header.stamp) == stamp_key(after_msg.header.stamp)), None),
                            15.0, "relations of the new capture")
    after = scene_from_msg(after_msg, n_points=8)
    moved = (after.box_lo[k] + after.box_hi[k]) / 2 - centre
    assert np.linalg.norm(moved[:2] - (target - centre)[:2]) < 0.05, moved
    assert holds(after_rel, after.names, "on", box, support)

    # the capture's image and label image: same stamp, every object seen, the box where it went
    rgb = image_from_msg(client.at(client.images, first_msg.header.stamp, "image of the first capture"))
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.std() > 5  # a picture, not a blank
    labels = image_from_msg(client.at(client.label_images, first_msg.header.stamp, "label image"))
    values, _ids, _ = label_map_from_msg(client.at(client.label_maps, first_msg.header.stamp, "label map"))
    assert labels.shape == rgb.shape[:2] and set(np.unique(labels)) <= {*values.tolist(), names.NO_LABEL}
    assert all(len(client.pixels_of(first_msg.header.stamp, i)) > 0 for i in first.names)
    before_px = client.pixels_of(first_msg.header.stamp, box).mean(axis=0)
    after_px = client.pixels_of(after_msg.header.stamp, box).mean(axis=0)
    assert np.linalg.norm(after_px - before_px) > 10  # pixels: the box crossed to the other table


def test_bad_goals_are_invalid_and_capture_publishes_a_new_scene(graph, client):
    t0 = time.monotonic()
    start_robot_and_perception(graph)
    _, first_msg = client.ready()
    for skill, match in ((Skill(type="pick_place", object_ids=["ghost", "table_B"], parameters=[0.1, 0, 0, 0]),
                          "unknown object 'ghost'"),
                         (Skill(type="pick_place", object_ids=["table_A"], parameters=[0.1, 0.0]),
                          "takes 4 parameters"),
                         (Skill(type="teleport", object_ids=["table_A"]), "unknown skill type 'teleport'")):
        response, _ = client.execute(skill)
        assert response.status == GoalStatus.STATUS_ABORTED
        assert response.result.status == ExecuteSkill.Result.STATUS_INVALID and not response.result.success
        assert match in response.result.error
    capture = client.node.create_client(Trigger, names.CAMERA_CAPTURE_SERVICE)
    assert capture.wait_for_service(timeout_sec=10.0)
    future = capture.call_async(Trigger.Request())
    reply = client.wait(lambda: future.done() and future.result(), 15.0, "capture reply")
    assert reply.success and "points" in reply.message
    stamp = stamp_key(first_msg.header.stamp)
    client.wait(lambda: any(stamp_key(s.header.stamp) > stamp for s in client.scenes), 15.0, "scene after capture")
    assert time.monotonic() - t0 < 60


@pytest.mark.parametrize(("backend", "message"), [
    ("stretch_body", "HELLO_FLEET_PATH is not set"),
    ("trajectory", "needs control_msgs"),
    ("teleport", "accepted: stretch_body, trajectory"),
])
def test_stretch_robot_fails_fast_without_a_robot(domain, backend, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELLO_FLEET")}
    if backend == "trajectory" and importlib.util.find_spec("control_msgs") is not None:
        message = "no FollowJointTrajectory server"  # a full distro: control_msgs, but no stretch_driver
    proc = subprocess.run([executable("f2p_robot", "stretch_robot"), "--ros-args", "-p", f"backend:={backend}"],
                          capture_output=True, text=True, env=env, timeout=30, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert message in proc.stderr


def default_camera_pose() -> np.ndarray:
    """(4, 4) optical-frame pose of the simulator's default camera, computed in this process from a world
    of our own (the camera is fixed in every scene): what a user reads off a calibration."""
    from f2p_perception.simcam import SimCamera
    from f2p_sim import tasks
    from f2p_sim.world import World

    return SimCamera(World(tasks.sample("transport", np.random.default_rng(0), 3).scene), "default").pose()


def boxes_of(markers: MarkerArray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Object id -> (lo, hi) of the robot's ground-truth box markers (world frame)."""
    cubes = {m.id: m for m in markers.markers if m.type == Marker.CUBE}
    labels = {m.id - len(cubes): m.text for m in markers.markers if m.type == Marker.TEXT_VIEW_FACING}
    out = {}
    for i, cube in cubes.items():
        c = np.array([cube.pose.position.x, cube.pose.position.y, cube.pose.position.z])
        half = np.array([cube.scale.x, cube.scale.y, cube.scale.z]) / 2
        out[labels[i]] = (c - half, c + half)
    return out


def assert_segments_on_objects(scene, boxes: dict[str, tuple[np.ndarray, np.ndarray]], margin: float = 0.03):
    """Every perceived segment's centre lies in (or within `margin` of) one ground-truth object's box."""
    for k, name in enumerate(scene.names):
        centre = (scene.box_lo[k] + scene.box_hi[k]) / 2
        inside = [i for i, (lo, hi) in boxes.items() if np.all(centre > lo - margin) and np.all(centre < hi + margin)]
        assert inside, f"segment {name} ({scene.classes[k]}) at {centre.round(3)} lies on no object"


def _subset_scene(scene, rows: list[int]):
    """The scene's objects `rows` alone (to check one object against one box)."""
    import dataclasses

    return dataclasses.replace(scene, names=[scene.names[i] for i in rows], classes=[scene.classes[i] for i in rows],
                               points=scene.points[rows], visible=scene.visible[rows], box_lo=scene.box_lo[rows],
                               box_hi=scene.box_hi[rows], segments=[scene.segments[i] for i in rows],
                               confidences=scene.confidences[rows])


@pytest.mark.parametrize("cloud_frame", ["world", "camera"])
def test_geometric_perception_segments_an_unlabelled_cloud_in_the_graph(graph, client, cloud_frame):
    """Perception with nothing from the simulator but the cloud: sim_robot publishes no labels, the
    perception node runs the geometric backend through `Perception` and publishes a scene whose segments
    lie on the objects the robot's world holds (their boxes, the robot's ground-truth markers), under the
    task's names (`task_names`: bound once from where the task says each object is). With
    `cloud_frame:=camera` the robot publishes the cloud in its camera's optical frame, as a driver does, and
    perception brings it to the world with a static camera pose (computed here, not read from the robot)."""
    graph("f2p_robot", "sim_robot", task="transport", n_objects=3, seed=0, real="true",
          ground_truth_labels="false", cloud_frame=cloud_frame)
    extra = {}
    if cloud_frame == "camera":
        extra = {"camera_pose": pose_to_text(default_camera_pose()), "camera_frame": names.CAMERA_OPTICAL_FRAME}
    graph("f2p_perception", "perception", backend="geometric", n_points=64, task_names="true", **extra)
    markers: list[MarkerArray] = []
    client.node.create_subscription(MarkerArray, names.OBJECT_POSES_TOPIC, markers.append,
                                    topic_qos(names.OBJECT_POSES_TOPIC))
    client.wait(lambda: client.task and client.scenes and markers and client.relations, 30.0,
                "task, scene, object boxes and observed relations")  # relations: the robot's, labels or not
    task, scene = task_from_msg(client.task), scene_from_msg(client.scenes[-1], n_points=8)
    # the task's names, in its order, bound to the segments found where each object was at the start
    ids = [i for i, _ in task.objects]
    assert scene.names[: len(ids)] == ids and scene.classes[: len(ids)] == [c for _, c in task.objects]
    assert len(set(scene.names)) == len(scene.names) and all(scene.names)
    assert scene.frame_id == names.WORLD_FRAME
    boxes = boxes_of(markers[-1])
    assert_segments_on_objects(scene, boxes)
    seen = [n for k, n in enumerate(scene.names[: len(ids)]) if scene.visible[k]]
    assert {n for n, c in task.objects if c in ("table", "bag", "container")} <= set(seen)  # the big ones
    for name in seen:  # each bound segment lies on its own object, not a neighbour's
        k = scene.index(name)
        assert_segments_on_objects(_subset_scene(scene, [k]), {name: boxes[name]})
    trigger = client.node.create_client(Trigger, names.CAMERA_CAPTURE_SERVICE)
    assert trigger.wait_for_service(timeout_sec=10.0)
    n = len(client.scenes)
    trigger.call_async(Trigger.Request())
    again = scene_from_msg(client.wait(lambda: client.scenes[n:] and client.scenes[-1], 20.0, "a second scene"),
                           n_points=8)
    assert again.names == scene.names  # the tracker keeps identities (and so the task's names) over captures


def test_perception_skips_clouds_it_cannot_use_and_stays_up(graph, client, tmp_path):
    """Bad input to the geometric node: a cloud in a frame it cannot place, an empty cloud, a cloud of NaNs
    are each logged with what is wrong and skipped; the organised camera-frame cloud that follows (NaN at
    the pixels without a measurement) is segmented onto the objects."""
    from f2p_perception.simcam import SimCamera
    from f2p_sim import tasks
    from f2p_sim.world import World

    world = World(tasks.sample("transport", np.random.default_rng(7), 3).scene)
    camera = SimCamera(world, "default")
    pose = camera.pose()
    proc = graph("f2p_perception", "perception", backend="geometric", n_points=64,
                 camera_pose=pose_to_text(pose), camera_frame="head_optical",
                 backend_params='"{eps: 0.01}"')  # quoted: rcl reads -p values as YAML
    pub = client.node.create_publisher(PointCloud2, names.CAMERA_POINTS_TOPIC, topic_qos(names.CAMERA_POINTS_TOPIC))
    client.wait(lambda: pub.get_subscription_count() > 0, 30.0, "the perception node's subscription")
    log = tmp_path / "perception.log"

    def send(cloud: PointCloud2, expect: str) -> None:
        pub.publish(cloud)
        client.wait(lambda: expect in log.read_text(), 15.0, f"'{expect}' in the perception log")

    obs = camera.observe()
    grid = np.where(obs.valid[..., None], obs.points, np.nan).astype(np.float32)
    in_camera = transform_points(grid, np.linalg.inv(pose))
    send(cloud_to_msg(in_camera, frame_id="wrist_optical"), "'wrist_optical'")
    send(cloud_to_msg(np.zeros((0, 3)), frame_id="world"), "the point cloud is empty")
    send(cloud_to_msg(np.full((4, 5, 3), np.nan, np.float32), frame_id="world"), "no valid point")
    assert not client.scenes and proc.poll() is None
    pub.publish(cloud_to_msg(in_camera, frame_id="head_optical"))
    scene = scene_from_msg(client.wait(lambda: client.scenes and client.scenes[-1], 30.0, "a scene"), n_points=8)
    lo, hi = world.object_boxes()
    boxes = {n: (lo[i], hi[i]) for i, n in enumerate(world.object_names) if n != "ground"}
    assert len(scene.names) >= len(boxes) - 2  # the items in the box may join, never fewer than the rest
    assert_segments_on_objects(scene, boxes)
    assert proc.poll() is None


def test_the_robot_graph_comes_up_without_a_robot_and_segments_a_camera_cloud(client, tmp_path):
    """`f2p bringup robot` on a machine with no Stretch: stretch_robot exits naming what is missing, every
    other node comes up and stays, and perception segments a cloud published where the head RealSense
    publishes it (the config's remapping), in the camera's optical frame, placed by a static camera pose."""
    import signal
    import sys

    from graph_nodes import tiny_store

    tiny_store(tmp_path / "models")  # the config's model store, relative to where the graph starts
    pose = default_camera_pose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELLO_FLEET")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "f2p_bringup.cli", "bringup", "robot", "--config", str(REPO / "config" / "robot.yaml"),
         "--log-dir", str(tmp_path / "logs"), "--stop-timeout", "5", "--ready-timeout", "120",
         "--set", "learner.heldout=", "--set", f"perception.camera_pose={pose_to_text(pose)}",
         "--set", "perception.camera_frame=camera_color_optical_frame"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        lines = []
        while not any(" up in " in s for s in lines):
            line = proc.stdout.readline()
            assert line, "f2p bringup robot ended early:\n" + "".join(lines)
            lines.append(line)
        out = "".join(lines)
        assert "node 'stretch_robot' exited with code 1; it is not required" in out and "HELLO_FLEET_PATH" in out
        assert "4 nodes up in" in out and "not running: stretch_robot (not required)" in out
        from f2p_perception.simcam import SimCamera
        from f2p_sim import tasks
        from f2p_sim.world import World

        scene_world = World(tasks.sample("transport", np.random.default_rng(3), 3).scene)
        obs = SimCamera(scene_world, "default").observe()
        grid = transform_points(np.where(obs.valid[..., None], obs.points, np.nan).astype(np.float32),
                                np.linalg.inv(pose))
        pub = client.node.create_publisher(PointCloud2, "/camera/depth/color/points",
                                           topic_qos(names.CAMERA_POINTS_TOPIC))
        client.wait(lambda: pub.get_subscription_count() > 0, 30.0, "perception on the RealSense topic")
        pub.publish(cloud_to_msg(grid, frame_id="camera_color_optical_frame"))
        scene = scene_from_msg(client.wait(lambda: client.scenes and client.scenes[-1], 30.0, "a scene"), n_points=8)
        assert scene.frame_id == "odom"  # the robot config's planning frame
        lo, hi = scene_world.object_boxes()
        assert_segments_on_objects(scene, {n: (lo[i], hi[i]) for i, n in enumerate(scene_world.object_names)
                                           if n != "ground"})
        assert proc.poll() is None  # still running
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + rest
    assert "stretch_robot (exited with code 1)" in rest and "perception (exited with code 0)" in rest


def test_dino_sam_in_the_graph_reads_the_rgbd_images_and_without_weights_stays_up(graph, client, tmp_path):
    """dino_sam in the node: the colour image, the depth image paired with it by stamp and the camera info,
    in the camera's optical frame placed by a static pose. With tiny random-weight checkpoints (no download:
    `tiny_dino_sam`) a scene of the prompts' classes is published for the capture; a second node without
    weights logs why and stays up."""
    pytest.importorskip("transformers")
    from f2p_perception.tiny_dino_sam import save_tiny_dino_sam

    weights = save_tiny_dino_sam(tmp_path / "weights")
    graph("f2p_robot", "sim_robot", task="organize", n_objects=3, seed=0, real="true", ground_truth_labels="false",
          publish_image="true")
    pose = {"camera_pose": pose_to_text(default_camera_pose()), "camera_frame": names.CAMERA_OPTICAL_FRAME}
    params = (f'"{{dino_model: {weights["dino_model"]}, sam_model: {weights["sam_model"]}, image_size: 96, '
              f'box_threshold: 0.0, prompts: [cup, capsule, table]}}"')
    proc = graph("f2p_perception", "perception", backend="dino_sam", n_points=16, backend_params=params, **pose)
    scene = scene_from_msg(client.wait(lambda: client.scenes and client.scenes[-1], 120.0, "a dino_sam scene"),
                           n_points=8)
    assert scene.frame_id == names.WORLD_FRAME and set(scene.classes) <= {"cup", "capsule", "table"}
    assert proc.poll() is None

    # the same graph, a second perception node without weights: it says what is missing and stays up
    pose_args = [arg for k, v in pose.items() for arg in ("-p", f"{k}:={v}")]
    unweighted = subprocess.Popen(
        [executable("f2p_perception", "perception"), "--ros-args", "-r", "__node:=perception_unweighted",
         "-r", f"{names.SCENE_TOPIC}:=/unused_scene", "-p", "backend:=dino_sam", *pose_args],
        stdout=open(tmp_path / "unweighted.log", "w"), stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        trigger = client.node.create_client(Trigger, names.CAMERA_CAPTURE_SERVICE)
        assert trigger.wait_for_service(timeout_sec=10.0)
        log = tmp_path / "unweighted.log"
        client.wait(lambda: "dino_model" in log.read_text() and "stays up" in log.read_text(), 60.0,
                    "the unweighted node's start-up error")
        trigger.call_async(Trigger.Request())
        client.wait(lambda: "no scene: backend dino_sam cannot run" in log.read_text(), 30.0,
                    "the unweighted node's error on a capture")
        assert unweighted.poll() is None
    finally:
        unweighted.terminate()
        unweighted.wait(timeout=10)


@pytest.mark.parametrize(("params", "message"), [
    (["backend:=geometric", 'backend_params:="{epsilon: 0.01}"'], "unknown parameter(s) ['epsilon']"),
    (["backend:=geometric", "camera_pose:=1,2"], "x,y,z,roll,pitch,yaw"),
    (["backend:=yolo"], "unknown perception backend 'yolo'"),
])
def test_a_wrongly_configured_perception_node_does_not_start(domain, params, message):
    """A configuration the node cannot use is a start-up error naming it (bad input at run time is not)."""
    args = [executable("f2p_perception", "perception"), "--ros-args"]
    for p in params:
        args += ["-p", p]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert message in proc.stdout + proc.stderr
