"""Backend + identity tracker + fixed-size samples: a `CameraObservation` in, a `PerceivedScene`
with stable names out (paper §3: "one segment per object with a semantic class"; issue 8).

`Perception` is what a node or a robot loop holds; `SimCameraPerception` renders the observation from a
simulated `World` first and has the `perceive(rng)` method the task executive calls
(`f2p_monitor.executive.Perception`), so any backend can stand in for `sim_gt` in the experiments.
"""

from __future__ import annotations

import numpy as np

from f2p_core.scene import SEGMENT_POINTS, PerceivedScene
from f2p_perception.backends import Backend, make_backend
from f2p_perception.binding import NameBinding, PointedObject
from f2p_perception.observation import CameraObservation
from f2p_perception.segmentation import Segmentation, to_scene
from f2p_perception.tracking import IdentityTracker, TrackerConfig


class Perception:
    """One backend and one tracker; call `perceive` once per observation, in time order."""

    def __init__(self, backend: Backend | str, n_points: int = SEGMENT_POINTS, tracker: TrackerConfig | None = None,
                 **backend_params) -> None:
        self.backend = make_backend(backend, **backend_params) if isinstance(backend, str) else backend
        if n_points <= 0:
            raise ValueError(f"n_points must be positive, got {n_points}")
        self.n_points = n_points
        self.tracker = IdentityTracker(tracker)
        self.last: Segmentation | None = None  # the latest segmentation (per-point labels), for scoring

    def perceive(self, obs: CameraObservation, rng: np.random.Generator | None = None) -> PerceivedScene:
        seg = self.backend.segment(obs)
        names = self.tracker.assign(seg.classes, seg.centres(), seg.names)
        self.last = seg
        return to_scene(seg, names, self.n_points, rng, obs.frame_id)


def pointed_objects(world) -> list[PointedObject]:
    """Every object of the `World` but the ground, where it is now (its box centre): the task's object list
    as a user pointing at the objects gives it (`binding`)."""
    from f2p_core.classes import ObjectClass

    lo, hi = world.object_boxes()
    return [PointedObject(n, world.spec(n).cls.value, tuple(float(v) for v in (lo[k] + hi[k]) / 2))
            for k, n in enumerate(world.object_names) if world.spec(n).cls is not ObjectClass.GROUND]


class SimCameraPerception:
    """Perceive a simulated `World` through one of its cameras with any backend.

    With `task_names` the perceived segments are published under the world's object names, bound once from
    where the objects are when it is made (`binding.NameBinding`): the executive's perception of a simulated
    trial with a label-free backend (`f2p_monitor.executive.Perception`), whose observed relations, as the
    simulated robot publishes them, are the world's ground truth (`relations`)."""

    def __init__(self, world, backend: Backend | str = "sim_gt", camera: str = "default",
                 n_points: int = SEGMENT_POINTS, noise_sigma: float = 0.0, width: int = 320, height: int = 240,
                 tracker: TrackerConfig | None = None, task_names: bool = False, **backend_params) -> None:
        from f2p_perception.simcam import SimCamera

        self.world = world
        self.camera = SimCamera(world, camera, width, height)
        self.noise_sigma = noise_sigma
        self.perception = Perception(backend, n_points, tracker, **backend_params)
        self.binding = NameBinding(pointed_objects(world)) if task_names else None
        self.last_observation: CameraObservation | None = None

    def observe(self, rng: np.random.Generator | None = None) -> CameraObservation:
        return self.camera.observe(self.noise_sigma, rng, rgb=self.perception.backend.name == "dino_sam")

    def perceive(self, rng: np.random.Generator | None = None) -> PerceivedScene:
        obs = self.observe(rng)
        self.last_observation = obs
        scene = self.perception.perceive(obs, rng)
        return self.binding.apply(scene) if self.binding is not None else scene

    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        """The world's ground-truth relations (A.9) among `scene`'s objects, in its order (`sim_gt`)."""
        from f2p_perception.sim_gt import ground_truth_relations

        return ground_truth_relations(self.world, scene.names)
