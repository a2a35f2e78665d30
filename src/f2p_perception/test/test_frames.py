"""Frames (issue 17): the camera pose text, REP 103's roll-pitch-yaw, the resolver's three sources and its
errors, and the backend parameters a node passes as one YAML mapping, checked by the backend's config."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.geometry import transform_points
from f2p_perception.backends import backend_config, parse_backend_params
from f2p_perception.frames import FrameResolver, UnknownFrame, pose_from_text, pose_to_text
from f2p_perception.parameters import PerceptionParameters


def test_pose_text_is_rep103_roll_pitch_yaw_and_round_trips():
    yaw = pose_from_text("1,2,3,0,0,1.5707963267948966")
    assert np.allclose(yaw[:3, :3] @ [1, 0, 0], [0, 1, 0]) and np.allclose(yaw[:3, 3], [1, 2, 3])
    pitch = pose_from_text("0,0,0,0,0.3,0")  # positive pitch turns x down
    assert pitch[:3, :3] @ np.array([1.0, 0, 0]) @ [0, 0, 1] < 0
    pose = pose_from_text("0.1,-0.2,1.3,-1.9,0.2,0.4")
    assert np.allclose(pose_from_text(pose_to_text(pose)), pose, atol=1e-5)
    for bad in ("1,2,3", "a,b,c,d,e,f", "0,0,0,0,0,nan", ""):
        with pytest.raises(ValueError, match="x,y,z,roll,pitch,yaw"):
            pose_from_text(bad)


def test_transform_points_keeps_missing_pixels_missing():
    pose = pose_from_text("1,0,0,0,0,1.5707963267948966")
    cloud = np.array([[[1.0, 0, 0], [np.nan, np.nan, np.nan]]], np.float32)  # an organised 1x2 cloud
    out = transform_points(cloud, pose)
    assert out.shape == cloud.shape and out.dtype == np.float32
    assert np.allclose(out[0, 0], [1, 1, 0], atol=1e-6) and np.isnan(out[0, 1]).all()
    with pytest.raises(ValueError, match="4, 4"):
        transform_points(cloud, np.eye(3))


def test_resolver_sources_in_order_and_errors_that_name_the_frames():
    pose = pose_from_text("0,0,1,0,0.5,0")
    assert FrameResolver().to_planning("world") is None and FrameResolver().to_planning("") is None
    assert FrameResolver(camera_pose=pose).to_planning("any_camera") is pose  # no camera_frame: any frame
    only = FrameResolver(camera_pose=pose, camera_frame="head_optical")
    assert only.to_planning("head_optical") is pose
    with pytest.raises(UnknownFrame, match=r"'wrist_optical'.*'world'.*'head_optical'"):
        only.to_planning("wrist_optical")
    with pytest.raises(UnknownFrame, match=r"'camera_link'.*TF is not available.*camera_pose"):
        FrameResolver().to_planning("camera_link")

    def lookup(target, source, stamp):
        if source != "base_link":
            raise LookupError(f"{source} does not exist")
        return np.eye(4)

    tf = FrameResolver("map", lookup=lookup)
    assert np.array_equal(tf.to_planning("base_link"), np.eye(4))
    with pytest.raises(UnknownFrame, match=r"'odd'.*'map': odd does not exist"):
        tf.to_planning("odd")


def test_backend_parameters_are_checked_by_the_backends_config():
    assert parse_backend_params("") == {} and parse_backend_params("{eps: 0.012}") == {"eps": 0.012}
    config = backend_config("geometric", {"eps": 0.012, "seed": 3, "viewpoint": [0, 0, 1], "floor_z": None})
    assert config.eps == 0.012 and config.viewpoint == (0.0, 0.0, 1.0) and config.floor_z is None
    assert backend_config("geometric", {"plane_distance": 1}).plane_distance == 1.0  # an int for a float
    assert backend_config("sim_gt", {}) is None
    for params, match in (({"epsilon": 0.01}, r"unknown parameter\(s\) \['epsilon'\]"),
                          ({"eps": "small"}, "'eps' must be float"),
                          ({"min_points": 2.5}, "'min_points' must be int"),
                          ({"viewpoint": [0, 1]}, "'viewpoint' must have 3 items"),
                          ({"eps": -0.01}, "eps must be positive")):
        with pytest.raises(ValueError, match=match):
            backend_config("geometric", params)
    with pytest.raises(ValueError, match="'sim_gt' takes no parameters"):
        backend_config("sim_gt", {"eps": 0.01})
    with pytest.raises(ValueError, match="must be a mapping"):
        parse_backend_params("[0.01]")
    with pytest.raises(ValueError, match="not YAML"):
        parse_backend_params("{eps: [")


def test_node_parameters_refuse_bad_backend_params_and_poses():
    p = PerceptionParameters(backend="geometric", backend_params="{eps: 0.012}", camera_pose="0,0,1,0,0.5,0")
    assert p.backend_config_values() == {"eps": 0.012} and p.static_pose().shape == (4, 4)
    assert PerceptionParameters().static_pose() is None
    with pytest.raises(ValueError, match=r"geometric.*epsilon"):
        PerceptionParameters(backend="geometric", backend_params="{epsilon: 0.012}")
    with pytest.raises(ValueError, match="x,y,z,roll,pitch,yaw"):
        PerceptionParameters(camera_pose="1,2,3")
    with pytest.raises(ValueError, match="planning_frame"):
        PerceptionParameters(planning_frame="")
