"""The f2p graph contract: every topic, service and action name, its type, who serves or
publishes it and whether it is latched. One place, so nodes, launch files, the pip-only bringup
and the tests cannot drift apart (the README's table is generated from the same facts by hand
and checked against `GRAPH` in the tests).

Names are absolute (``/f2p/...``): the graph has one robot, and absolute names survive a node
being started in a namespace by mistake. Run two graphs side by side with separate
``ROS_DOMAIN_ID`` values instead.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- the robot (sim_robot or stretch_robot) --------------------------------------------------
EXECUTE_SKILL_ACTION = "/f2p/execute_skill"
CAMERA_POINTS_TOPIC = "/f2p/camera/points"
CAMERA_LABEL_MAP_TOPIC = "/f2p/camera/label_map"
CAMERA_IMAGE_TOPIC = "/f2p/camera/image"
CAMERA_LABEL_IMAGE_TOPIC = "/f2p/camera/label_image"
CAMERA_DEPTH_TOPIC = "/f2p/camera/depth"
CAMERA_INFO_TOPIC = "/f2p/camera/camera_info"
CAMERA_CAPTURE_SERVICE = "/f2p/camera/capture"
OBSERVED_RELATIONS_TOPIC = "/f2p/observed_relations"
OBJECT_POSES_TOPIC = "/f2p/object_poses"
SIM_TASK_TOPIC = "/f2p/sim/task"
# --- perception -----------------------------------------------------------------------------
SCENE_TOPIC = "/f2p/scene"
# --- planner, monitor, learner --------------------------------------------------------------
PLAN_TASK_ACTION = "/f2p/plan_task"
EXECUTE_TASK_ACTION = "/f2p/execute_task"
FAILURES_TOPIC = "/f2p/failures"
STEPS_TOPIC = "/f2p/steps"
MARKERS_TOPIC = "/f2p/markers"
LEARN_FROM_FAILURE_ACTION = "/f2p/learn_from_failure"
MODEL_VERSION_TOPIC = "/f2p/model_version"

WORLD_FRAME = "world"
"""Frame of clouds, scenes and markers in simulation (f2p_sim's world frame: z up, the robot at
-x looking along +x)."""
CAMERA_OPTICAL_FRAME = "f2p_camera_optical_frame"
"""The simulated camera's optical frame (x right, y down, z forward): sim_robot's clouds with
`cloud_frame:=camera`, as a camera driver publishes them."""

NO_LABEL = 0xFFFFFFFF
"""`label` value of a cloud point that belongs to no object (LabelMap.msg)."""

LABEL_FIELD = "label"
"""Name of the uint32 segmentation field of a labelled PointCloud2."""


@dataclass(frozen=True)
class Endpoint:
    """One name of the graph.

    kind: "topic", "service" or "action"; type: the ROS interface ("pkg/msg/Name"); owner: the
    node that publishes (topic) or serves (service, action) it; latched: a topic whose last
    message late subscribers still receive (transient local, see `qos.py`).
    """

    name: str
    kind: str
    type: str
    owner: str
    latched: bool = False
    doc: str = ""


GRAPH: tuple[Endpoint, ...] = (
    Endpoint(EXECUTE_SKILL_ACTION, "action", "f2p_msgs/action/ExecuteSkill", "sim_robot | stretch_robot",
             doc="execute one skill; result status STATUS_*, simulated time in simulation"),
    Endpoint(CAMERA_POINTS_TOPIC, "topic", "sensor_msgs/msg/PointCloud2", "sim_robot", latched=True,
             doc="fields x, y, z float32 (m, frame 'world' in simulation) plus `label` uint32 when "
                 "ground-truth segmentation is on; published at start, after every skill and on capture"),
    Endpoint(CAMERA_LABEL_MAP_TOPIC, "topic", "f2p_msgs/msg/LabelMap", "sim_robot", latched=True,
             doc="label value -> object id and class; same stamp as its cloud (ground truth only)"),
    Endpoint(CAMERA_IMAGE_TOPIC, "topic", "sensor_msgs/msg/Image", "sim_robot", latched=True,
             doc="the camera's colour image (rgb8) of the capture, same stamp as its cloud (for people: "
                 "rviz, the demo report; `publish_image`)"),
    Endpoint(CAMERA_LABEL_IMAGE_TOPIC, "topic", "sensor_msgs/msg/Image", "sim_robot", latched=True,
             doc="the object label of each pixel of that image (32SC1: the cloud's label values, -1 for "
                 "none), same stamp (ground truth only)"),
    Endpoint(CAMERA_DEPTH_TOPIC, "topic", "sensor_msgs/msg/Image", "sim_robot", latched=True,
             doc="the capture's depth image (32FC1, m along the optical axis, 0 = none), pixel-aligned with the "
                 "colour image, same stamp (`publish_image`; perception's dino_sam reads it)"),
    Endpoint(CAMERA_INFO_TOPIC, "topic", "sensor_msgs/msg/CameraInfo", "sim_robot", latched=True,
             doc="the pinhole intrinsics of those images (no distortion), same stamp (`publish_image`)"),
    Endpoint(CAMERA_CAPTURE_SERVICE, "service", "std_srvs/srv/Trigger", "sim_robot",
             doc="publish a fresh cloud (with label map, relations and poses) now"),
    Endpoint(OBSERVED_RELATIONS_TOPIC, "topic", "f2p_msgs/msg/SymbolicState", "sim_robot", latched=True,
             doc="simulator ground-truth relations (A.9) of the objects, probability 1.0 for the true "
                 "ones; same stamp as its cloud (what the simulated robot observes, labels or not)"),
    Endpoint(OBJECT_POSES_TOPIC, "topic", "visualization_msgs/msg/MarkerArray", "sim_robot", latched=True,
             doc="simulator object boxes for rviz"),
    Endpoint(SIM_TASK_TOPIC, "topic", "f2p_msgs/msg/Task", "sim_robot", latched=True,
             doc="the sampled task: distribution, goal text, skeleton, the objects that exist (ids, classes) and "
                 "where each is at the start (perception's task_names binds its segments to them)"),
    Endpoint(SCENE_TOPIC, "topic", "f2p_msgs/msg/SegmentedScene", "perception", latched=True,
             doc="one segment per object, stamp of the cloud it came from"),
    Endpoint(PLAN_TASK_ACTION, "action", "f2p_msgs/action/PlanTask", "planner"),
    Endpoint(EXECUTE_TASK_ACTION, "action", "f2p_msgs/action/ExecuteTask", "monitor"),
    Endpoint(FAILURES_TOPIC, "topic", "f2p_msgs/msg/FailureEvent", "monitor",
             doc="every failure event, after it was stored"),
    Endpoint(STEPS_TOPIC, "topic", "f2p_msgs/msg/StepOutcome", "monitor",
             doc="every executed skill: its parameters, status, the relations predicted and observed after "
                 "it, the mismatches; stamp of the observation (the capture's image has it too)"),
    Endpoint(MARKERS_TOPIC, "topic", "visualization_msgs/msg/MarkerArray", "monitor",
             doc="plan, predicted and observed relations for rviz"),
    Endpoint(LEARN_FROM_FAILURE_ACTION, "action", "f2p_msgs/action/LearnFromFailure", "learner"),
    Endpoint(MODEL_VERSION_TOPIC, "topic", "f2p_msgs/msg/ModelVersion", "learner", latched=True,
             doc="the newest validated model version"),
)


def endpoint(name: str) -> Endpoint:
    """The contract entry of `name` (KeyError naming the known names otherwise)."""
    for e in GRAPH:
        if e.name == name:
            return e
    raise KeyError(f"'{name}' is not part of the f2p graph; known: {[e.name for e in GRAPH]}")
