"""The shared input checks of every backend, depth back-projection, and empty scenes."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_perception.backends import BACKENDS, make_backend
from f2p_perception.observation import CameraObservation, Intrinsics, backproject, check_observation
from f2p_perception.perception import Perception
from f2p_perception.simcam import SimCamera
from f2p_sim import tasks
from f2p_sim.scene import Scene
from f2p_sim.scenes import ground
from f2p_sim.world import World


@pytest.fixture(scope="module")
def transport_obs() -> CameraObservation:
    world = World(tasks.sample("transport", np.random.default_rng(0), 3).scene)
    return SimCamera(world, width=160, height=120).observe(rng=np.random.default_rng(0))


def test_organised_observation_and_depth_backprojection_agree(transport_obs):
    obs = transport_obs
    assert obs.points.shape == (120, 160, 3) and obs.valid.shape == (120, 160) and obs.rgb.dtype == np.uint8
    world = backproject(obs.depth, obs.intrinsics, obs.cam_to_world)
    assert np.abs(world[obs.valid] - obs.points[obs.valid]).max() < 1e-4
    assert np.all(world[~obs.valid] == 0)
    assert len(obs.flat_points()) == len(obs.flat_labels()) == obs.valid.sum()
    check_observation(obs, organised=True, image=True, labels=True)


@pytest.mark.parametrize("points, valid, message", [
    (np.zeros((0, 3)), None, "empty"),
    (np.zeros((5, 2)), None, "must be \\(P, 3\\)"),
    (np.array([[0.0, 0.0, np.nan], [1.0, 1.0, 1.0]]), None, "NaN/inf"),
    (np.full((2, 2, 3), np.inf), None, "NaN/inf"),
    (np.zeros((2, 2, 3)), np.zeros((2, 2), bool), "empty"),
    (np.zeros((4, 3), int), None, "floating point"),
])
def test_bad_clouds_are_rejected_with_a_message(points, valid, message):
    with pytest.raises(ValueError, match=message):
        check_observation(CameraObservation(points, valid))
    for name in ("sim_gt", "geometric"):  # every backend runs the same checks
        with pytest.raises(ValueError):
            make_backend(name).segment(CameraObservation(points, valid))


def test_organised_and_image_requirements_are_named():
    cloud = CameraObservation(np.tile([0.3, 0.0, 0.5], (10, 1)))
    with pytest.raises(ValueError, match="organised"):
        check_observation(cloud, organised=True)
    with pytest.raises(ValueError, match="missing rgb, depth, intrinsics, cam_to_world"):
        check_observation(CameraObservation(np.ones((2, 2, 3))), image=True)
    with pytest.raises(ValueError, match="simulator labels"):
        check_observation(cloud, labels=True)
    organised = np.ones((2, 2, 3))
    organised[0, 0] = np.nan  # a missing pixel is fine once it is marked invalid
    check_observation(CameraObservation(organised, np.array([[False, True], [True, True]])))
    with pytest.raises(ValueError, match="positive"):
        Intrinsics(0.0, 1.0, 0.0, 0.0, 4, 4)


def test_a_scene_without_objects_is_an_empty_scene_not_an_error():
    world = World(Scene(objects=[ground()]))
    obs = SimCamera(world, width=80, height=60).observe()
    assert len(obs.flat_points()) > 0  # the floor is seen
    for name in ("sim_gt", "geometric"):
        scene = Perception(name, n_points=8).perceive(obs)
        assert scene.names == [] and scene.points.shape == (0, 8, 3) and scene.confidences.shape == (0,)


def test_registry_names_its_backends():
    assert set(BACKENDS) == {"sim_gt", "geometric", "dino_sam"}
    with pytest.raises(ValueError, match="accepted: dino_sam, geometric, sim_gt"):
        make_backend("yolo")
    with pytest.raises(ValueError, match="geometric"):
        make_backend("geometric", no_such_parameter=1)
    with pytest.raises(ValueError, match="eps"):
        make_backend("geometric", eps=-1.0)
