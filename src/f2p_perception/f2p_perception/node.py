"""The `perception` node: camera input in, segmented scene out (/f2p/scene).

Thin by design: parameters in, the library in the middle, messages out. Three kinds of input, by backend:

* `sim_gt` pairs each labelled cloud (/f2p/camera/points) with its label map (/f2p/camera/label_map) by
  stamp (`scene_from_labelled_cloud`);
* `geometric` segments the cloud alone, labels or not. An organised cloud (height > 1, a depth camera's)
  stays organised, its NaN pixels marked missing;
* `dino_sam` reads what an RGB-D driver publishes: the colour image (/f2p/camera/image), the depth image
  registered to it (/f2p/camera/depth, 32FC1 m or 16UC1 mm) paired by stamp, and the latest camera info
  (/f2p/camera/camera_info); the images are in the camera's optical frame, whose pose comes from
  `camera_pose` or TF. Without its weights the node stays up, says why on every capture, publishes nothing.

The label-free backends run through `perception.Perception` (backend + identity tracker + fixed-size samples:
the code path of the experiments), so the same node runs on a camera that knows nothing of the scene. Input in
another frame than the planning frame is brought over first (`frames.FrameResolver`: a static `camera_pose`,
or TF where tf2_ros imports); input the node cannot place is skipped with a throttled error naming the
frames. With `task_names` (simulation) the node waits for the task (/f2p/sim/task) and publishes its object
names, bound once to the segments found where the task says each object is (`binding.NameBinding`). The
scene keeps its capture's stamp, so the monitor can match it with the robot's observed relations of the same
capture. A malformed message is logged and skipped: one bad capture must not take perception down.

Parameters: the fields of `f2p_perception.parameters.PerceptionParameters` (declared from there by
`f2p_ros.params.declare`; the backend's own in `backend_params`, a YAML mapping); the node runs `BACKENDS`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from f2p_core.geometry import transform_points
from f2p_msgs.msg import LabelMap, SegmentedScene, Task
from f2p_perception.binding import NameBinding, PointedObject
from f2p_perception.frames import FrameResolver, Lookup, UnknownFrame
from f2p_perception.labelled import scene_from_labelled_cloud
from f2p_perception.observation import CameraObservation, Intrinsics, backproject
from f2p_perception.parameters import PerceptionParameters
from f2p_perception.perception import Perception
from f2p_ros import names
from f2p_ros.convert import (
    camera_info_from_msg,
    cloud_from_msg,
    depth_image_from_msg,
    image_from_msg,
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

#: the backends the node runs: sim_gt on labelled clouds and their label maps, geometric on the cloud alone,
#: dino_sam on the colour and depth images
BACKENDS = ("sim_gt", "geometric", "dino_sam")
LABELLED = "sim_gt"
IMAGES = ("dino_sam",)


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__("perception")
        params = declare(self, PerceptionParameters)
        self.backend, self.n_points = params.backend, params.n_points
        if self.backend not in BACKENDS:
            raise ValueError(f"perception backend '{self.backend}' is not available in the node; accepted: "
                             f"{list(BACKENDS)}")
        self.rng = np.random.default_rng(params.seed)
        self.frames = FrameResolver(params.planning_frame, params.static_pose(), params.camera_frame,
                                    _tf_lookup(self) if params.use_tf else None)
        # one Perception for the node's life: its identity tracker keeps names stable over captures
        self.perception: Perception | None = None
        self.unavailable = ""  # why the backend could not be loaded (dino_sam without its weights)
        if self.backend != LABELLED:
            try:
                self.perception = Perception(self.backend, self.n_points, **params.backend_config_values())
            except (FileNotFoundError, ImportError, OSError, ValueError) as exc:
                if self.backend not in IMAGES:
                    raise  # a configuration error: the node does not start
                self.unavailable = str(exc)
                self.get_logger().error(f"perception: backend {self.backend} cannot run: {exc}. The node stays up "
                                        "and publishes no scene; restart it with the weights' paths in "
                                        "backend_params")
        self.task_names = params.task_names and self.backend != LABELLED  # sim_gt has the task's names
        self.binding: NameBinding | None = None
        self.task_key: tuple | None = None
        self.pending: Callable[[], None] | None = None  # the latest capture that came before the task
        self.pub = self.create_publisher(SegmentedScene, names.SCENE_TOPIC, topic_qos(names.SCENE_TOPIC))
        if self.task_names:
            self.create_subscription(Task, names.SIM_TASK_TOPIC, self.on_task, topic_qos(names.SIM_TASK_TOPIC))
        if self.backend == LABELLED:
            self.labelled: StampPairer[PointCloud2, LabelMap] = StampPairer(keep=4)
            self.create_subscription(PointCloud2, names.CAMERA_POINTS_TOPIC, self.on_labelled_cloud,
                                     topic_qos(names.CAMERA_POINTS_TOPIC))
            self.create_subscription(LabelMap, names.CAMERA_LABEL_MAP_TOPIC, self.on_label_map,
                                     topic_qos(names.CAMERA_LABEL_MAP_TOPIC))
        elif self.backend in IMAGES:
            self.images: StampPairer[Image, Image] = StampPairer(keep=4)
            self.info: CameraInfo | None = None
            self.waiting_images: tuple[Image, Image] | None = None
            self.create_subscription(Image, names.CAMERA_IMAGE_TOPIC, self.on_rgb, topic_qos(names.CAMERA_IMAGE_TOPIC))
            self.create_subscription(Image, names.CAMERA_DEPTH_TOPIC, self.on_depth,
                                     topic_qos(names.CAMERA_DEPTH_TOPIC))
            self.create_subscription(CameraInfo, names.CAMERA_INFO_TOPIC, self.on_info,
                                     topic_qos(names.CAMERA_INFO_TOPIC))
        else:
            self.create_subscription(PointCloud2, names.CAMERA_POINTS_TOPIC, self.on_cloud,
                                     topic_qos(names.CAMERA_POINTS_TOPIC))
        where = (f"'{params.camera_frame or 'any frame'}' placed by camera_pose {params.camera_pose}"
                 if params.camera_pose else "other frames from TF" if self.frames.lookup else "no camera_pose, no TF")
        self.get_logger().info(f"perception: backend {self.backend}, {self.n_points} points per segment, planning "
                               f"frame '{params.planning_frame}' ({where})")

    # --- the task (simulation) -----------------------------------------------------------------
    def on_task(self, msg: Task) -> None:
        """A task: bind its object names at the next observation (binding.NameBinding)."""
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
            run, self.pending = self.pending, None
            run()

    def _ready(self, run: Callable[[], None]) -> bool:
        """False (and `run` kept for later) while the node waits for the task whose names it publishes."""
        if self.task_names and self.binding is None:
            self.pending = run
            self.get_logger().info("waiting for the task on /f2p/sim/task before publishing scenes",
                                   throttle_duration_sec=10.0)
            return False
        return True

    # --- input ---------------------------------------------------------------------------------
    def on_labelled_cloud(self, msg: PointCloud2) -> None:
        if names.LABEL_FIELD not in {f.name for f in msg.fields}:
            self.get_logger().error("the cloud has no 'label' field: backend sim_gt needs the robot's ground-truth "
                                    "segmentation (sim_robot ground_truth_labels:=true)", throttle_duration_sec=10.0)
            return
        pair = self.labelled.add_first(stamp_key(msg.header.stamp), msg)
        if pair is not None:
            self.perceive_labelled(*pair)

    def on_label_map(self, msg: LabelMap) -> None:
        pair = self.labelled.add_second(stamp_key(msg.header.stamp), msg)
        if pair is not None:
            self.perceive_labelled(*pair)

    def on_cloud(self, msg: PointCloud2) -> None:
        if self._ready(lambda: self.segment_cloud(msg)):
            self.segment_cloud(msg)

    def on_rgb(self, msg: Image) -> None:
        pair = self.images.add_first(stamp_key(msg.header.stamp), msg)
        if pair is not None and self._ready(lambda: self.segment_images(*pair)):
            self.segment_images(*pair)

    def on_depth(self, msg: Image) -> None:
        pair = self.images.add_second(stamp_key(msg.header.stamp), msg)
        if pair is not None and self._ready(lambda: self.segment_images(*pair)):
            self.segment_images(*pair)

    def on_info(self, msg: CameraInfo) -> None:
        first, self.info = self.info is None, msg
        if first and self.waiting_images is not None:  # the images came before the (latched) camera info
            pair, self.waiting_images = self.waiting_images, None
            if self._ready(lambda: self.segment_images(*pair)):
                self.segment_images(*pair)

    # --- segmentation --------------------------------------------------------------------------
    def _skip(self, header, exc: Exception) -> None:
        stamp = header.stamp
        text = f"skipping the capture at {stamp.sec}.{stamp.nanosec:09d}: {exc}"
        if isinstance(exc, UnknownFrame):  # every capture of a camera nobody placed: say it now and then
            self.get_logger().error(text, throttle_duration_sec=10.0)
        else:
            self.get_logger().error(text)

    def _publish(self, obs: CameraObservation, header) -> None:
        scene = self.perception.perceive(obs, self.rng)
        if self.binding is not None:
            scene = self.binding.apply(scene)
        self.pub.publish(scene_to_msg(scene, header.stamp))

    def _in_planning_frame(self, header, points: np.ndarray) -> np.ndarray:
        """Points of a message in the planning frame (UnknownFrame if the node cannot place its frame)."""
        pose = self.frames.to_planning(header.frame_id, header.stamp)
        return points if pose is None else transform_points(points, pose)

    def segment_cloud(self, cloud: PointCloud2) -> None:
        """A cloud backend on one capture (its labels, if any, unused)."""
        try:
            points, _ = cloud_from_msg(cloud, keep_shape=True)
            points = self._in_planning_frame(cloud.header, points)
            if points.shape[0] > 1:  # organised: a depth image's pixels, the missing ones marked
                valid = np.isfinite(points).all(axis=-1)
                obs = CameraObservation(np.where(valid[..., None], points, 0.0).astype(np.float64), valid=valid,
                                        frame_id=self.frames.planning_frame)
            else:
                flat = points.reshape(-1, 3)
                obs = CameraObservation(flat[np.isfinite(flat).all(axis=1)].astype(np.float64),
                                        frame_id=self.frames.planning_frame)
            self._publish(obs, cloud.header)
        except ValueError as exc:  # UnknownFrame, an empty or malformed cloud
            self._skip(cloud.header, exc)

    def segment_images(self, rgb: Image, depth: Image) -> None:
        """An image backend on one capture: colour + registered depth + intrinsics, in the camera's frame."""
        if self.perception is None:
            self.get_logger().error(f"no scene: backend {self.backend} cannot run: {self.unavailable}",
                                    throttle_duration_sec=10.0)
            return
        if self.info is None:
            self.waiting_images = (rgb, depth)  # segmented when the camera info arrives
            self.get_logger().info(f"waiting for the camera info on {names.CAMERA_INFO_TOPIC}",
                                   throttle_duration_sec=10.0)
            return
        try:
            intrinsics = Intrinsics(*camera_info_from_msg(self.info))
            colour, metres = image_from_msg(rgb), depth_image_from_msg(depth)
            if colour.ndim != 3:
                raise ValueError(f"the colour image must be rgb8, got {rgb.encoding}")
            pose = self.frames.to_planning(depth.header.frame_id, depth.header.stamp)
            if pose is None:
                raise ValueError(f"the depth image names the planning frame '{self.frames.planning_frame}': "
                                 f"{self.backend} needs it in the camera's optical frame, with that frame's pose "
                                 "(camera_pose or TF)")
            valid = metres > 0
            obs = CameraObservation(backproject(metres, intrinsics, pose), valid=valid, rgb=colour, depth=metres,
                                    intrinsics=intrinsics, cam_to_world=pose, frame_id=self.frames.planning_frame)
            self._publish(obs, depth.header)
        except ValueError as exc:
            self._skip(depth.header, exc)

    def perceive_labelled(self, cloud: PointCloud2, label_map: LabelMap) -> None:
        try:
            points, labels = cloud_from_msg(cloud, require_labels=True)
            points = self._in_planning_frame(cloud.header, points)
            values, ids, classes = label_map_from_msg(label_map)
            scene = scene_from_labelled_cloud(points, label_indices(labels, values), ids, classes,
                                              n_points=self.n_points, rng=self.rng,
                                              frame_id=self.frames.planning_frame)
        except ValueError as exc:
            self._skip(cloud.header, exc)
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
