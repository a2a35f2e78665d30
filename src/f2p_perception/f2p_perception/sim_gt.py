"""The `sim_gt` backend: segments from the simulator's per-pixel object labels.

The camera cloud is real (ray-cast or rendered, with optional Gaussian noise); only the
segmentation and the class of each segment come from the simulator, as "ground-truth
segmentation" does in the paper's simulation experiments (A.7). The ground is not an object.
`SimGroundTruthPerception` perceives a `World` directly, through the same ray casting and sampling as
the training data (`f2p_sim.observe`), and reads the world's ground-truth relations (A.9): the
executive's perception in simulated trials (`f2p_monitor.executive.Perception`). `SimGroundTruthBackend`
is the same segmentation on the common observation interface (`backends.py`), for the perception node
and `perception.SimCameraPerception`.
"""

from __future__ import annotations

import numpy as np

from f2p_core.classes import ObjectClass
from f2p_core.scene import SEGMENT_POINTS, PerceivedScene
from f2p_perception.observation import CameraObservation, check_observation
from f2p_perception.segmentation import Segmentation
from f2p_sim.observe import RayCastCamera, observe
from f2p_sim.relations import box_from_points
from f2p_sim.stretch_world import camera_view
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


class SimGroundTruthPerception:
    """Perceive a `World` through one of its cameras, segmented by simulator labels; the relations of a
    perceived scene are the world's ground truth (A.9), as the simulated robot publishes them."""

    def __init__(self, world: World, camera: str = "default", n_points: int = SEGMENT_POINTS, noise_sigma: float = 0.0,
                 width: int = 320, height: int = 240):
        self.world = world
        self.camera = RayCastCamera(world.model, *camera_view(world, camera, width, height))
        self.n_points, self.noise_sigma = n_points, noise_sigma
        self.objects = [k for k, n in enumerate(world.object_names) if world.spec(n).cls is not ObjectClass.GROUND]

    def perceive(self, rng: np.random.Generator) -> PerceivedScene:
        w = self.world
        obs = observe(w.model, w.data, self.camera, w.geom_object_index, len(w.object_names),
                      n_points=self.n_points, noise_sigma=self.noise_sigma, rng=rng, max_candidates=1024)
        names = [w.object_names[k] for k in self.objects]
        segments = [obs.points[obs.labels == k] for k in self.objects]
        lo = np.zeros((len(names), 3), np.float32)
        hi = np.zeros((len(names), 3), np.float32)
        for i, seg in enumerate(segments):
            if len(seg):
                lo[i], hi[i] = box_from_points(seg)
        return PerceivedScene(names=names, classes=[w.spec(n).cls.value for n in names],
                              points=obs.segments[self.objects], visible=obs.visible[self.objects],
                              box_lo=lo, box_hi=hi, segments=segments)

    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        """The world's ground-truth relations (A.9) among `scene`'s objects, in its order: (N, U), (N, N, R)."""
        return ground_truth_relations(self.world, scene.names)


def ground_truth_relations(world: World, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The world's ground-truth relations (A.9) among `names`, in that order: (N, U), (N, N, R); a name the
    world does not hold (a segment under a tracker's name) relates to nothing (all false)."""
    rel = world_relations(world)
    known = [i for i, n in enumerate(names) if n in rel.names]
    idx = [rel.index(names[i]) for i in known]
    n = len(names)
    unary = np.zeros((n, rel.unary.shape[1]), rel.unary.dtype)
    binary = np.zeros((n, n, rel.binary.shape[2]), rel.binary.dtype)
    unary[known] = rel.unary[idx]
    binary[np.ix_(known, known)] = rel.binary[np.ix_(idx, idx)]
    return unary, binary


class SimGroundTruthBackend:
    """`sim_gt` on the common backend interface: a `CameraObservation` with simulator labels
    (`simcam.SimCamera`) in, one segment per labelled object out, names and classes from the
    simulator, confidence 1. Every object of the scene but the ground is listed, visible or not,
    in scene order -- as `SimGroundTruthPerception` does -- so identities never change."""

    name = "sim_gt"

    def segment(self, obs: CameraObservation) -> Segmentation:
        check_observation(obs, labels=True)
        keep = [k for k, c in enumerate(obs.label_classes) if c != ObjectClass.GROUND.value]
        index = np.full(len(obs.label_names) + 1, -1, np.int64)  # label -> segment, last slot: label -1
        index[keep] = np.arange(len(keep))
        labels = index[obs.flat_labels()]
        return Segmentation(obs.flat_points(), labels, [obs.label_classes[k] for k in keep], np.ones(len(keep)),
                            names=[obs.label_names[k] for k in keep])
