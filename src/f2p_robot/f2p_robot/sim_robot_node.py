"""The `sim_robot` node: the simulated "real world" behind /f2p/execute_skill, with its camera.

At start it samples a task scene (f2p_sim.tasks), builds the MuJoCo world, publishes the task
(latched /f2p/sim/task, with where each object is at the start) and a first capture. A capture is the
camera cloud (RayCastCamera, as f2p_perception.sim_gt observes; in the world frame, or with
`cloud_frame: camera` in the camera's optical frame as a driver publishes it) with, when
`ground_truth_labels` is on, a per-point object label and the label map; the simulator's ground-truth
relations (A.9: what the simulated robot observes of the outcome, whatever segments the cloud) under the
same stamp, plus object box markers for rviz and, with `publish_image`, the camera's colour image, its
depth image and intrinsics (what an RGB-D driver publishes: perception's dino_sam reads them) and (ground
truth) the object label of each of its pixels, under the same stamp (for people: rviz, the demo report).
ExecuteSkill runs the skill (never raises): with `robot: floating` (default) f2p_sim.skills.execute, with
`robot: stretch` the Stretch RE2's model driven by the joint goals the real robot gets
(f2p_robot.stretch_sim; `camera: head` is then its D435i, mounted sideways as on the robot), then captures again;
/f2p/camera/capture captures on demand.

Goal states: succeeded when the skill's status is OK, aborted otherwise (the result's `status`
says why), canceled when a cancel arrived before the skill started. A running MuJoCo skill takes
a fraction of a second and is not interruptible: cancel requests for it are rejected.

Parameters: the fields of `f2p_robot.sim_parameters.SimRobotParameters` (name, type, default and
meaning, declared from there by `f2p_ros.params.declare`). n_points is per segment of the robot-side
observation (the published cloud carries every ray hit and perception re-samples its own);
publish_image needs OpenGL (MUJOCO_GL=egl or osmesa), else the node warns once and publishes no images.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from f2p_core.geometry import transform_points
from f2p_core.skills import SkillStatus
from f2p_msgs.action import ExecuteSkill
from f2p_msgs.msg import LabelMap, SymbolicState, Task
from f2p_robot.sim_parameters import SimRobotParameters
from f2p_robot.stretch_sim import skill_executor
from f2p_ros import names
from f2p_ros.convert import (
    aborted_result,
    camera_info_to_msg,
    cloud_to_msg,
    depth_image_to_msg,
    image_to_msg,
    invalid_result,
    label_image_to_msg,
    label_map_to_msg,
    relations_to_msg,
    skill_from_msg,
    skill_result_to_msg,
    task_to_msg,
)
from f2p_ros.markers import box_markers
from f2p_ros.params import declare
from f2p_ros.qos import action_server_qos, topic_qos
from f2p_ros.spin import run_node
from f2p_sim import tasks
from f2p_sim.observe import ImageCamera, RayCastCamera, observe
from f2p_sim.stretch_world import camera_view, make_world, scene_camera
from f2p_sim.transitions import MAX_FPS_CANDIDATES, model_objects, world_relations

RESULT_TIMEOUT_S = 60  # keep finished goals' results this long (Humble and Jazzy defaults differ)


class SimRobotNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("sim_robot", **node_kwargs)
        params = declare(self, SimRobotParameters)
        task, n_objects, seed, real, camera = params.task, params.n_objects, params.seed, params.real, params.camera
        self.n_points, self.noise_sigma = params.n_points, params.noise_sigma
        self.ground_truth, publish_image = params.ground_truth_labels, params.publish_image
        self.cloud_frame = params.cloud_frame

        task_rng, self.rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.sample = tasks.sample(task, task_rng, n_objects, real=real)
        self.sample.scene.cameras = [scene_camera(camera)]
        self.world = make_world(self.sample.scene, params.robot)
        self.execute_skill = skill_executor(params.robot)
        spec = self.sample.scene.cameras[0]
        model_cam, width, height = camera_view(self.world, camera, spec.width, spec.height)
        self.camera = RayCastCamera(self.world.model, model_cam, width, height)
        self.image_camera = self._image_camera(model_cam, width, height) if publish_image else None
        w = self.world
        self.keep = model_objects(w.scene)  # every object but the ground
        self.ids = [w.object_names[k] for k in self.keep]
        self.classes = [w.spec(n).cls.value for n in self.ids]
        # Ground geoms are not segmented (as in data generation); their points get NO_LABEL.
        self.geom_object = w.geom_object_index.copy()
        self.geom_object[~np.isin(self.geom_object, self.keep)] = -1
        self.label_of = np.full(len(w.object_names) + 1, names.NO_LABEL, dtype=np.uint32)  # [-1] -> NO_LABEL
        self.label_of[self.keep] = np.arange(len(self.keep), dtype=np.uint32)
        self.lock = threading.Lock()  # the MuJoCo world is not thread-safe
        self.started: set[bytes] = set()

        def pub(msg_type, name):
            return self.create_publisher(msg_type, name, topic_qos(name))

        self.task_pub = pub(Task, names.SIM_TASK_TOPIC)
        self.cloud_pub = pub(PointCloud2, names.CAMERA_POINTS_TOPIC)
        self.label_map_pub = pub(LabelMap, names.CAMERA_LABEL_MAP_TOPIC)
        self.relations_pub = pub(SymbolicState, names.OBSERVED_RELATIONS_TOPIC)
        self.poses_pub = pub(MarkerArray, names.OBJECT_POSES_TOPIC)
        self.image_pub = pub(Image, names.CAMERA_IMAGE_TOPIC)
        self.label_image_pub = pub(Image, names.CAMERA_LABEL_IMAGE_TOPIC)
        self.depth_pub = pub(Image, names.CAMERA_DEPTH_TOPIC)
        self.info_pub = pub(CameraInfo, names.CAMERA_INFO_TOPIC)
        group = ReentrantCallbackGroup()
        self.create_service(Trigger, names.CAMERA_CAPTURE_SERVICE, self.on_capture, callback_group=group)
        self.action = ActionServer(self, ExecuteSkill, names.EXECUTE_SKILL_ACTION, execute_callback=self.on_execute,
                                   goal_callback=lambda _goal: GoalResponse.ACCEPT,
                                   cancel_callback=self.on_cancel, callback_group=group,
                                   result_timeout=RESULT_TIMEOUT_S, **action_server_qos())
        lo, hi = w.object_boxes()  # where each object is at the start: the binding of perceived names
        self.task_pub.publish(task_to_msg(self.sample, positions={n: (lo[k] + hi[k]) / 2
                                                                  for k, n in enumerate(w.object_names)}))
        n = self.capture()
        self.get_logger().info(f"sim_robot: {task} with {n_objects} objects (seed {seed}, real={real}), robot "
                               f"{params.robot}, camera {camera}: first cloud of {n} points; "
                               f"goal: {self.sample.goal_text}")

    # --- observation -------------------------------------------------------------------------
    def _image_camera(self, camera: str, width: int, height: int) -> ImageCamera | None:
        try:
            return ImageCamera(self.world.model, camera, width, height)
        except Exception as exc:  # no OpenGL here: the clouds do not need it
            self.get_logger().warning(f"publish_image: cannot render images ({exc!r}); set MUJOCO_GL=egl or "
                                      "osmesa, or publish_image:=false; going on without images")
            return None

    def _publish_images(self, frame: str, stamp) -> None:
        rgb, geom = self.image_camera.render_image(self.world.data)
        self.image_pub.publish(image_to_msg(rgb, frame, stamp))
        # the same pixels' depth from the cast that made the cloud, and the pinhole intrinsics (dino_sam's input)
        self.depth_pub.publish(depth_image_to_msg(self.camera.depth_image(), frame, stamp))
        self.info_pub.publish(camera_info_to_msg(*self.camera.intrinsics(), self.camera.width, self.camera.height,
                                                 frame, stamp))
        if self.ground_truth:
            obj = np.where(geom >= 0, self.geom_object[np.maximum(geom, 0)], -1)
            self.label_image_pub.publish(label_image_to_msg(self.label_of[obj], frame, stamp))

    def capture(self) -> int:
        """Publish one capture (module docstring); returns the number of cloud points."""
        w = self.world
        with self.lock:
            obs = observe(w.model, w.data, self.camera, self.geom_object, len(w.object_names),
                          n_points=self.n_points, noise_sigma=self.noise_sigma, rng=self.rng,
                          max_candidates=MAX_FPS_CANDIDATES)
            relations = world_relations(w)
            lo, hi = w.object_boxes()
            stamp = self.get_clock().now().to_msg()
            frame, points = names.WORLD_FRAME, obs.points
            if self.cloud_frame == "camera":  # as a camera driver publishes it: its own optical frame
                frame = names.CAMERA_OPTICAL_FRAME
                points = transform_points(points, np.linalg.inv(self.camera.optical_pose(w.data)))
            if self.image_camera is not None:  # before the cloud: whoever gets a cloud can find its image
                self._publish_images(names.CAMERA_OPTICAL_FRAME, stamp)  # an image is in its camera's frame
        if self.ground_truth:
            self.label_map_pub.publish(label_map_to_msg(self.ids, self.classes, frame_id=frame, stamp=stamp))
            self.cloud_pub.publish(cloud_to_msg(points, self.label_of[obs.labels], frame, stamp))
        else:
            self.cloud_pub.publish(cloud_to_msg(points, None, frame, stamp))
        keep = self.keep
        self.relations_pub.publish(relations_to_msg(self.ids, relations.unary[keep],
                                                    relations.binary[np.ix_(keep, keep)], stamp))
        self.poses_pub.publish(box_markers(self.ids, lo[self.keep], hi[self.keep], self.classes, names.WORLD_FRAME,
                                           stamp, ns="sim_objects"))
        return len(obs.points)

    def on_capture(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        n = self.capture()
        response.success, response.message = True, f"published a cloud of {n} points"
        return response

    # --- ExecuteSkill --------------------------------------------------------------------------
    def on_cancel(self, goal_handle) -> CancelResponse:
        if bytes(goal_handle.goal_id.uuid) in self.started:
            return CancelResponse.REJECT  # a MuJoCo skill runs to its end (a fraction of a second)
        return CancelResponse.ACCEPT

    def feedback(self, goal_handle, stage: str, progress: float, message: str = "") -> None:
        goal_handle.publish_feedback(ExecuteSkill.Feedback(stage=stage, progress=progress, message=message))

    def on_execute(self, goal_handle) -> ExecuteSkill.Result:
        key = bytes(goal_handle.goal_id.uuid)
        try:
            call = skill_from_msg(goal_handle.request.skill)
        except ValueError as exc:
            goal_handle.abort()
            return invalid_result(str(exc))
        self.feedback(goal_handle, "waiting", 0.0, "waiting for the world")
        with self.lock:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return aborted_result("canceled before execution")
            self.started.add(key)
            self.feedback(goal_handle, "executing", 0.1, f"{call.type.value} {list(call.object_ids)}")
            try:
                result = self.execute_skill(self.world, call)
            except Exception as exc:  # a simulator bug must not kill the robot node
                self.get_logger().error(f"skill {call} raised: {exc!r}")
                self.started.discard(key)
                goal_handle.abort()
                return aborted_result(f"simulator error: {exc!r}")
        self.started.discard(key)
        if result.status is not SkillStatus.INVALID:  # the world may have changed: observe it
            self.feedback(goal_handle, "observing", 0.9, result.message)
            self.capture()
        self.feedback(goal_handle, "done", 1.0, result.message)
        if result.ok:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        return skill_result_to_msg(result)


def main(args: list[str] | None = None) -> int:
    return run_node(SimRobotNode, "sim_robot", threads=3, args=args)


if __name__ == "__main__":
    sys.exit(main())
