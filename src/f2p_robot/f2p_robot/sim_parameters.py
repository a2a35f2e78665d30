"""The `sim_robot` node's parameters: one declaration (`f2p_ros.params.declare` makes each field a ROS 2
parameter with the field's default), checked when made."""

from __future__ import annotations

from dataclasses import dataclass

from f2p_core.scene import SEGMENT_POINTS
from f2p_sim import tasks
from f2p_sim.scene import camera_spec
from f2p_sim.stretch_world import HEAD_CAMERA, RobotModel

#: where sim_robot publishes its cloud: the world frame, or the camera's optical frame (names.CAMERA_OPTICAL_FRAME)
CLOUD_FRAMES = ("world", "camera")


@dataclass(frozen=True)
class SimRobotParameters:
    task: str = "transport"  # the task distribution (A.2): place, transport, organize, packing
    n_objects: int = 3  # objects of the task (3, 5 or 7 in the paper)
    seed: int = 0  # the task sample and the sensor noise
    real: bool = True  # the richer "real" world (shapes, noise), not the Real2Sim one
    camera: str = "default"  # default | view1 | view2 | pose:x,y,z,roll,pitch,yaw | head (robot stretch)
    n_points: int = SEGMENT_POINTS  # points per segment
    noise_sigma: float = 0.0  # depth noise (m)
    ground_truth_labels: bool = True  # per-point segment labels in the cloud (for perception's sim_gt)
    publish_image: bool = True  # the capture's colour and label images (rviz, the demo report)
    cloud_frame: str = "world"  # world | camera: the cloud in the camera's optical frame, as a driver's
    robot: str = "floating"  # floating (the fast gripper of data generation) | stretch (the RE2's model, issue 20)

    def __post_init__(self) -> None:
        if self.task not in tasks.DISTRIBUTIONS:
            raise ValueError(f"unknown task '{self.task}'; choose from {sorted(tasks.DISTRIBUTIONS)}")
        robot = RobotModel(self.robot)  # a ValueError naming the value
        if self.camera == HEAD_CAMERA:
            if robot is not RobotModel.STRETCH:
                raise ValueError("camera 'head' is the Stretch's head camera: it needs robot 'stretch'")
        else:
            camera_spec(self.camera)  # a ValueError naming the accepted cameras
        if self.cloud_frame not in CLOUD_FRAMES:
            raise ValueError(f"cloud_frame must be one of {CLOUD_FRAMES}, got '{self.cloud_frame}'")
        if self.n_objects <= 0 or self.n_points <= 0 or not self.noise_sigma >= 0:
            raise ValueError("n_objects and n_points must be positive and noise_sigma >= 0")


__all__ = ["SimRobotParameters"]
