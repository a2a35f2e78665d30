"""One recorded skill execution: (O_t, R_t, p_t, skill, a, O_t+1, R_t+1, p_t+1) (paper §3, A.11).

`make_record(config, index)` is the unit of dataset generation (dataset.py): it samples a task
from a distribution (tasks.py) with the generator of sample `index`, builds the world, observes,
executes the skill, observes again and returns fixed-shape arrays. Failed executions (status other
than ok) are recorded with their status, never dropped: a model should know what an unreachable
placement does (nothing).

Record fields (N = `max_objects`, P = `n_points`; objects in scene order, the ground left out
since it is the floor every scene shares; padding rows have `object_mask` False):

| field | shape, dtype | meaning |
|---|---|---|
| `points_t`, `points_t1` | (N, P, 3) float32 | segment point clouds, world frame, m |
| `visible_t`, `visible_t1` | (N,) bool | the segment had at least one point |
| `object_mask` | (N,) bool | real object (not padding) |
| `object_class` | (N,) int8 | index into `scene.ObjectClass` order (`CLASS_NAMES`) |
| `pos_t`, `pos_t1` | (N, 3) float32 | object positions p (axis-aligned box centre), m |
| `unary_t`, `unary_t1` | (N, U) bool | `relations.UNARY` |
| `binary_t`, `binary_t1` | (N, N, B) bool | `relations.BINARY`, [i, j] = rel(i, j) |
| `skill` | () int8 | index into `skills.SkillType` order (`SKILL_NAMES`) |
| `acted` | () int8 | index of the manipulated object (object_ids[0]) |
| `target` | () int8 | index of the second object argument, -1 if none |
| `params` | (A,) float32 | continuous parameters, zero-padded to `MAX_PARAMS` |
| `status` | () int8 | index into `skills.SkillStatus` order (`STATUS_NAMES`) |
| `n_objects` | () int8 | real objects in the record |
| `scene_json` | () str | the scene before the skill (`Scene.to_json`) |
| `names` | (N,) str | object names, "" for padding |
| `index` | () int64 | sample index (its seed is `SeedSequence([seed, index])`) |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_core.classes import ObjectClass
from f2p_core.relations import BINARY, UNARY
from f2p_core.scene import SEGMENT_POINTS
from f2p_core.skills import MAX_PARAMS, SKILL_NAMES, SkillCall, SkillStatus, SkillType

from . import tasks
from .observe import RayCastCamera, observe
from .relations import ObjectState, RelationSet, compute_relations
from .scene import Scene, camera_spec
from .skills import execute
from .world import World

CLASS_NAMES = tuple(c.value for c in ObjectClass)
STATUS_NAMES = tuple(s.value for s in SkillStatus)
# Farthest-point sampling runs on at most this many random points per segment: 1024 keep a
# table's 128 points spread over its top and cost a quarter of the 4096 default (measured).
MAX_FPS_CANDIDATES = 1024


@dataclass
class GenerationConfig:
    """What `f2p data generate` records; saved in the dataset manifest."""

    distribution: str = "pretrain"  # a key of tasks.DISTRIBUTIONS
    seed: int = 0
    n_objects: int | None = None  # None: the distribution's own range
    real: bool = False  # sample the richer "real" world (tasks.py) instead of the simulated one
    camera: str = "default"  # default, view1, view2 or pose:x,y,z,roll,pitch,yaw (scene.camera_spec)
    n_points: int = SEGMENT_POINTS  # points per segment (A.11)
    noise_sigma: float = 0.0  # Gaussian noise on the cloud, m
    max_objects: int = 14  # padding size N: organize with 7 capsules has 13 objects; more is an error
    width: int = 320
    height: int = 240

    def __post_init__(self) -> None:
        if self.distribution not in tasks.DISTRIBUTIONS:
            raise ValueError(f"unknown distribution '{self.distribution}'; "
                             f"choose from {sorted(tasks.DISTRIBUTIONS)}")
        camera_spec(self.camera)  # a ValueError naming the accepted cameras
        if self.n_points <= 0 or self.noise_sigma < 0 or self.max_objects <= 0:
            raise ValueError("n_points and max_objects must be positive and noise_sigma >= 0")


def object_states(world: World) -> list[ObjectState]:
    """The inputs of the relation definitions (A.9) read off the simulator."""
    lo, hi = world.object_boxes()
    states = []
    for k, name in enumerate(world.object_names):
        spec = world.spec(name)
        support = ()
        if spec.cls is ObjectClass.SHELF:  # books stand on the bottom board, inside the bay
            support = (spec.pos[2] - spec.size[2] / 2 + spec.wall,)
        is_drawer = spec.cls is ObjectClass.DRAWER
        states.append(ObjectState(
            name=name, cls=spec.cls.value, box_min=lo[k], box_max=hi[k], movable=spec.cls.is_movable,
            is_drawer=is_drawer, drawer_opening=world.drawer_opening(name) if is_drawer else 0.0,
            support_z=support))
    return states


def world_relations(world: World) -> RelationSet:
    """Ground-truth relations of the current simulator state, contacts from MuJoCo."""
    return compute_relations(object_states(world), world.contact_pairs())


def model_objects(scene: Scene) -> list[int]:
    """Indices of the objects the model sees: everything but the ground."""
    return [k for k, o in enumerate(scene.objects) if o.cls is not ObjectClass.GROUND]


def random_skill(sample: tasks.TaskSample, rng: np.random.Generator) -> SkillCall:
    """The sample's own skill (pre-training) or the first skeleton step with parameters drawn
    from the robot's workspace (task distributions)."""
    if sample.skill is not None:
        return sample.skill
    return tasks.sample_params(sample.scene, sample.skeleton[0], rng)


class _Observer:
    """Observation + ground truth of one world state, restricted to the model's objects."""

    def __init__(self, world: World, config: GenerationConfig, rng: np.random.Generator):
        self.world, self.config, self.rng = world, config, rng
        self.camera = RayCastCamera(world.model, config.camera, config.width, config.height)
        self.keep = model_objects(world.scene)
        # Only the model's objects are segmented: ground pixels (most of the image) are dropped
        # before sampling instead of being farthest-point sampled for nothing.
        self.geom_object = world.geom_object_index.copy()
        ground = [k for k in range(len(world.object_names)) if k not in self.keep]
        self.geom_object[np.isin(self.geom_object, ground)] = -1

    def __call__(self) -> dict[str, np.ndarray]:
        w, c, keep = self.world, self.config, self.keep
        lo, hi = w.object_boxes()
        obs = observe(w.model, w.data, self.camera, self.geom_object, len(w.object_names),
                      n_points=c.n_points, noise_sigma=c.noise_sigma, rng=self.rng,
                      max_candidates=MAX_FPS_CANDIDATES, roi_boxes=(lo[keep], hi[keep]))
        rel = world_relations(w)
        return {"points": obs.segments[keep], "visible": obs.visible[keep],
                "pos": ((lo + hi) / 2)[keep].astype(np.float32),
                "unary": rel.unary[keep], "binary": rel.binary[np.ix_(keep, keep)]}


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


def _pad2(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, n, *a.shape[2:]), dtype=a.dtype)
    out[: a.shape[0], : a.shape[1]] = a
    return out


def record_transition(scene: Scene, call: SkillCall, config: GenerationConfig, rng: np.random.Generator,
                      index: int = -1) -> dict[str, np.ndarray]:
    """Execute `call` in `scene` and record the transition (module docstring)."""
    scene.cameras = [camera_spec(config.camera)]
    world = World(scene)
    observer = _Observer(world, config, rng)
    keep = observer.keep
    n, N = len(keep), config.max_objects
    if n > N:
        raise ValueError(f"scene has {n} objects, more than max_objects={N}")
    before_json = world.to_scene().to_json(indent=None)
    before = observer()
    result = execute(world, call)
    after = observer()
    names = [world.object_names[k] for k in keep]
    mapped = {name: i for i, name in enumerate(names)}
    params = np.zeros(MAX_PARAMS, dtype=np.float32)
    params[: len(call.params)] = call.params[:MAX_PARAMS]
    rec = {"object_mask": _pad(np.ones(n, bool), N),
           "object_class": _pad(np.array([CLASS_NAMES.index(world.spec(m).cls.value) for m in names], np.int8), N),
           "skill": np.int8(SKILL_NAMES.index(SkillType(call.type).value)),
           "acted": np.int8(mapped.get(call.object_ids[0], -1)),
           "target": np.int8(mapped.get(call.object_ids[1], -1) if len(call.object_ids) > 1 else -1),
           "params": params,
           "status": np.int8(STATUS_NAMES.index(result.status.value)),
           "n_objects": np.int8(n),
           "scene_json": np.array(before_json),
           "names": _pad(np.array(names), N),
           "index": np.int64(index)}
    for key in ("points", "visible", "pos", "unary"):
        rec[f"{key}_t"], rec[f"{key}_t1"] = _pad(before[key], N), _pad(after[key], N)
    rec["binary_t"], rec["binary_t1"] = _pad2(before["binary"], N), _pad2(after["binary"], N)
    return rec


def make_record(config: GenerationConfig, index: int) -> dict[str, np.ndarray]:
    """Sample `index` of the dataset described by `config` (deterministic in (seed, index))."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, index]))
    sample = tasks.sample(config.distribution, rng, config.n_objects, real=config.real)
    call = random_skill(sample, rng)
    return record_transition(sample.scene, call, config, rng, index)


__all__ = ["BINARY", "CLASS_NAMES", "MAX_PARAMS", "SKILL_NAMES", "STATUS_NAMES", "UNARY", "GenerationConfig",
           "make_record", "record_transition", "world_relations"]
