"""The `perception` node: camera cloud in, segmented scene out (/f2p/scene).

Thin by design: parameters in, the library in the middle, messages out. Backend `sim_gt` pairs each
labelled cloud (/f2p/camera/points) with its label map (/f2p/camera/label_map) by stamp
(`scene_from_labelled_cloud`); `geometric` segments the cloud alone, labels or not, through
`perception.Perception` (backend + identity tracker + fixed-size samples: the code path of the experiments),
so the same node runs on a camera that knows nothing of the scene. An organised cloud (height > 1, a depth
camera's) stays organised, its NaN pixels marked missing. A cloud in another frame than the planning frame
is brought over first (`frames.FrameResolver`: a static `camera_pose` parameter, or TF where tf2_ros
imports); one the node cannot place is skipped with a throttled error naming the frames. The scene keeps the
cloud's stamp, so the monitor can match it with the robot's observed relations of the same capture. With
`task_names` (simulation) the node waits for the task (/f2p/sim/task) and publishes its object names, bound
once to the segments found where the task says each object is (`binding.NameBinding`). A
malformed message is logged and skipped: one bad capture must not take perception down. (`dino_sam` needs
the RGB image, depth and camera info beside the cloud: not in the node yet.)

Parameters: the fields of `f2p_perception.parameters.PerceptionParameters` (declared from there by
`f2p_ros.params.declare`; the backend's own in `backend_params`, a YAML mapping); the node runs `BACKENDS`.
"""

from __future__ import annotations

import sys

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2

from f2p_core.geometry import transform_points
from f2p_msgs.msg import LabelMap, SegmentedScene, Task
from f2p_perception.binding import NameBinding, PointedObject
from f2p_perception.frames import FrameResolver, Lookup, UnknownFrame
from f2p_perception.labelled import scene_from_labelled_cloud
from f2p_perception.observation import CameraObservation
from f2p_perception.parameters import PerceptionParameters
from f2p_perception.perception import Perception
from f2p_ros import names
from f2p_ros.convert import (
    cloud_from_msg,
    label_indices,
    label_map_from_msg,
    scene_to_msg,
    stamp_key,
    task_from_msg,
)
from f2p_ros.params import declare
from f2p_ros.qos import topic_qos
from f2p_ros.spin import run_node
from f2p_ros.sync import StampPairer

#: the backends the node runs: sim_gt on labelled clouds and their label maps, the rest on the cloud alone
BACKENDS = ("sim_gt", "geometric")
LABELLED = "sim_gt"


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__("perception")
        params = declare(self, PerceptionParameters)
        self.backend, self.n_points = params.backend, params.n_points
        if self.backend not in BACKENDS:
            raise ValueError(f"perception backend '{self.backend}' is not available in the node yet; accepted: "
                             f"{list(BACKENDS)}")
        self.rng = np.random.default_rng(params.seed)
        # one Perception for the node's life: its identity tracker keeps names stable over captures
        self.perception = (Perception(self.backend, self.n_points, **params.backend_config_values())
                           if self.backend != LABELLED else None)
        self.frames = FrameResolver(params.planning_frame, params.static_pose(), params.camera_frame,
                                    _tf_lookup(self) if params.use_tf else None)
        self.task_names = params.task_names and self.perception is not None  # sim_gt has the task's names
        self.binding: NameBinding | None = None
        self.task_key: tuple | None = None
        self.pending: PointCloud2 | None = None  # the latest cloud that came before the task
        if self.task_names:
            self.create_subscription(Task, names.SIM_TASK_TOPIC, self.on_task, topic_qos(names.SIM_TASK_TOPIC))
        self.pairer: StampPairer[PointCloud2, LabelMap] = StampPairer(keep=4)
        self.pub = self.create_publisher(SegmentedScene, names.SCENE_TOPIC, topic_qos(names.SCENE_TOPIC))
        self.create_subscription(PointCloud2, names.CAMERA_POINTS_TOPIC, self.on_cloud,
                                 topic_qos(names.CAMERA_POINTS_TOPIC))
        self.create_subscription(LabelMap, names.CAMERA_LABEL_MAP_TOPIC, self.on_label_map,
                                 topic_qos(names.CAMERA_LABEL_MAP_TOPIC))
        where = (f"clouds of '{params.camera_frame or 'any frame'}' placed by camera_pose {params.camera_pose}"
                 if params.camera_pose else "other frames from TF" if self.frames.lookup else "no camera_pose, no TF")
        self.get_logger().info(f"perception: backend {self.backend}, {self.n_points} points per segment, planning "
                               f"frame '{params.planning_frame}' ({where})")

    def on_task(self, msg: Task) -> None:
        """A task (simulation): bind its object names at the next observation (binding.NameBinding)."""
        try:
            task = task_from_msg(msg)
        except ValueError as exc:
            self.get_logger().error(f"ignoring the task: {exc}")
            return
        key = (task.goal, tuple(task.objects), tuple(sorted(task.positions.items())))
        if key == self.task_key:
            return
        if len(task.positions) != len(task.objects):
            self.get_logger().error("the task gives no object positions: its names cannot be bound to segments; "
                                    "publishing perception's own names")
            self.task_names = False
        else:
            self.binding = NameBinding([PointedObject(n, c, task.positions[n]) for n, c in task.objects])
            self.get_logger().info(f"task '{task.goal}': binding its {len(task.objects)} object names at the next "
                                   "observation")
        self.task_key = key
        if self.pending is not None:
            cloud, self.pending = self.pending, None
            self.segment(cloud)

    def on_cloud(self, msg: PointCloud2) -> None:
        if self.perception is not None:
            if self.task_names and self.binding is None:
                self.pending = msg  # segmented when the task arrives (its names are bound at the first scene)
                self.get_logger().info("waiting for the task on /f2p/sim/task before publishing scenes",
                                       throttle_duration_sec=10.0)
                return
            self.segment(msg)
            return
        if names.LABEL_FIELD not in {f.name for f in msg.fields}:
            self.get_logger().error("the cloud has no 'label' field: backend sim_gt needs the robot's ground-truth "
                                    "segmentation (sim_robot ground_truth_labels:=true)", throttle_duration_sec=10.0)
            return
        pair = self.pairer.add_first(stamp_key(msg.header.stamp), msg)
        if pair is not None:
            self.perceive(*pair)

    def on_label_map(self, msg: LabelMap) -> None:
        if self.perception is not None:
            return  # a label-free backend does not use them
        pair = self.pairer.add_second(stamp_key(msg.header.stamp), msg)
        if pair is not None:
            self.perceive(*pair)

    def _skip(self, cloud: PointCloud2, exc: Exception) -> None:
        stamp = cloud.header.stamp
        text = f"skipping the capture at {stamp.sec}.{stamp.nanosec:09d}: {exc}"
        if isinstance(exc, UnknownFrame):  # every capture of a camera nobody placed: say it now and then
            self.get_logger().error(text, throttle_duration_sec=10.0)
        else:
            self.get_logger().error(text)

    def _in_planning_frame(self, cloud: PointCloud2, points: np.ndarray) -> np.ndarray:
        """The cloud's points in the planning frame (UnknownFrame if the node cannot place its frame)."""
        pose = self.frames.to_planning(cloud.header.frame_id, cloud.header.stamp)
        return points if pose is None else transform_points(points, pose)

    def segment(self, cloud: PointCloud2) -> None:
        """A label-free backend on one capture (its labels, if any, unused)."""
        try:
            points, _ = cloud_from_msg(cloud, keep_shape=True)
            points = self._in_planning_frame(cloud, points)
            if points.shape[0] > 1:  # organised: a depth image's pixels, the missing ones marked
                valid = np.isfinite(points).all(axis=-1)
                obs = CameraObservation(np.where(valid[..., None], points, 0.0).astype(np.float64), valid=valid,
                                        frame_id=self.frames.planning_frame)
            else:
                flat = points.reshape(-1, 3)
                obs = CameraObservation(flat[np.isfinite(flat).all(axis=1)].astype(np.float64),
                                        frame_id=self.frames.planning_frame)
            scene = self.perception.perceive(obs, self.rng)
            if self.binding is not None:
                scene = self.binding.apply(scene)
        except ValueError as exc:  # UnknownFrame, an empty or malformed cloud
            self._skip(cloud, exc)
            return
        self.pub.publish(scene_to_msg(scene, cloud.header.stamp))

    def perceive(self, cloud: PointCloud2, label_map: LabelMap) -> None:
        try:
            points, labels = cloud_from_msg(cloud, require_labels=True)
            points = self._in_planning_frame(cloud, points)
            values, ids, classes = label_map_from_msg(label_map)
            scene = scene_from_labelled_cloud(points, label_indices(labels, values), ids, classes,
                                              n_points=self.n_points, rng=self.rng,
                                              frame_id=self.frames.planning_frame)
        except ValueError as exc:
            self._skip(cloud, exc)
            return
        self.pub.publish(scene_to_msg(scene, cloud.header.stamp))


def _tf_lookup(node: Node) -> Lookup | None:
    """A TF lookup for `FrameResolver`, or None where tf2_ros does not import (the pip workspace)."""
    try:
        import tf2_ros
        from rclpy.time import Time
        from scipy.spatial.transform import Rotation
    except ImportError:
        return None
    buffer = tf2_ros.Buffer()
    node._tf_listener = tf2_ros.TransformListener(buffer, node)  # kept: it fills the buffer

    def lookup(target: str, source: str, stamp) -> np.ndarray:
        try:
            t = buffer.lookup_transform(target, source, Time.from_msg(stamp) if stamp is not None else Time())
        except (tf2_ros.LookupException, tf2_ros.ConnectivityException, tf2_ros.ExtrapolationException) as exc:
            raise LookupError(str(exc)) from None
        q, p = t.transform.rotation, t.transform.translation
        out = np.eye(4)
        out[:3, :3] = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
        out[:3, 3] = (p.x, p.y, p.z)
        return out

    return lookup


def main(args: list[str] | None = None) -> int:
    return run_node(PerceptionNode, "perception", threads=1, args=args)


if __name__ == "__main__":
    sys.exit(main())
