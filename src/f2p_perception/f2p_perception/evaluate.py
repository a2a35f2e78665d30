"""Scores of a perception backend against the simulator (issue 8, item 5), ROS-free.

Per observation, on the *same* points the backend saw:
* segment precision / recall: a perceived segment matches a simulator object when their point sets
  overlap with IoU ≥ 0.5 (one-to-one, Hungarian on IoU); recall counts the objects with at least
  `min_gt_points` visible points (an object the camera cannot see is reported, not scored), and
  is also given over the objects seen by at least `WELL_SEEN_POINTS` points;
* class accuracy over the matched pairs (strict: a bag taken for a container is wrong);
* relation-detection F1 downstream (A.9): relations computed from the perceived boxes
  (`f2p_sim.relations.compute_relations`, no contacts: box proximity) against the simulator's
  ground truth (`f2p_sim.transitions.world_relations`, contacts from MuJoCo), over the visible
  objects, a missed object predicting nothing; counted with `f2p_model.metrics.RelationF1`.
Over a task (the skeleton's steps executed with `f2p_sim.tasks.sample_params` between
observations): identity consistency, the fraction of (object, step) pairs matched at two
consecutive observations whose perceived name did not change; and name accuracy, the fraction of
matched objects whose segment carries the object's own task name once the task's names are bound
(`binding.NameBinding`, at the first observation, from the objects' positions then).

`sim_gt` through the same code is the reference: its relation F1 is the ceiling that boxes from a
partial view allow, whatever the segmentation.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from f2p_core.classes import ObjectClass
from f2p_core.relations import BINARY, UNARY
from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillType
from f2p_core.task import SkeletonStep
from f2p_perception.binding import NameBinding
from f2p_perception.perception import SimCameraPerception, pointed_objects
from f2p_perception.tracking import TrackerConfig
from f2p_sim import tasks
from f2p_sim.relations import ObjectState, compute_relations
from f2p_sim.scene import camera_spec, default_wall
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

IOU_THRESHOLD = 0.5


@dataclass
class Matching:
    """Perceived segments matched to simulator objects on one observation."""

    gt_names: list[str]  # visible simulator objects (>= min_gt_points points), scene order
    gt_classes: list[str]
    pairs: dict[str, int]  # simulator object -> perceived segment index, IoU >= threshold
    ious: dict[str, float]
    n_pred: int  # perceived segments with at least one point
    n_invisible: int  # simulator objects (ground excluded) with fewer than min_gt_points points
    gt_points: dict[str, int] = field(default_factory=dict)  # visible points per scored object

    @property
    def n_gt(self) -> int:
        return len(self.gt_names)


def match_segments(gt_labels: np.ndarray, label_names: Sequence[str], label_classes: Sequence[str],
                   pred_labels: np.ndarray, n_pred: int, iou_threshold: float = IOU_THRESHOLD,
                   min_gt_points: int = 1) -> Matching:
    """Match per-point predictions (segment index or -1) to per-point simulator labels (object
    index or -1) of the same points by point-set IoU."""
    gt_labels, pred_labels = np.asarray(gt_labels), np.asarray(pred_labels)
    if gt_labels.shape != pred_labels.shape:
        raise ValueError(f"labels of different points: {gt_labels.shape} vs {pred_labels.shape}")
    n_lab = len(label_names)
    objects = [k for k in range(n_lab) if label_classes[k] != ObjectClass.GROUND.value]
    gt_count = np.bincount(gt_labels[gt_labels >= 0], minlength=n_lab)
    visible = [k for k in objects if gt_count[k] >= min_gt_points]
    pred_count = np.bincount(pred_labels[pred_labels >= 0], minlength=n_pred)
    n_seen = int(np.count_nonzero(pred_count))  # segments with points (sim_gt also lists unseen objects)
    both = (gt_labels >= 0) & (pred_labels >= 0)
    inter = np.zeros((n_lab, max(n_pred, 1)))
    np.add.at(inter, (gt_labels[both], pred_labels[both]), 1.0)
    inter = inter[visible][:, :n_pred]  # (G, P)
    union = gt_count[visible][:, None] + pred_count[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    pairs, ious = {}, {}
    if iou.size:
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols, strict=True):
            if iou[r, c] >= iou_threshold:
                pairs[label_names[visible[r]]] = int(c)
                ious[label_names[visible[r]]] = float(iou[r, c])
    return Matching([label_names[k] for k in visible], [label_classes[k] for k in visible], pairs, ious, n_seen,
                    len(objects) - len(visible), {label_names[k]: int(gt_count[k]) for k in visible})


def perceived_relations(scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
    """Relations (A.9) of the perceived boxes: (N, U) and (N, N, B) bool in scene order.

    A robot has boxes and classes only: movable and is_drawer follow the class, contacts come from
    box proximity, a drawer's opening is unknown (0), and a shelf supports things on its bottom
    board, `default_wall` above the bottom of its box (the Real2Sim shape prior, A.12).
    """
    states = []
    for i, (name, cls) in enumerate(zip(scene.names, scene.classes, strict=True)):
        known = cls in {k.value for k in ObjectClass}
        c = ObjectClass(cls) if known else ObjectClass.CUBOID  # an open-vocabulary label: a movable thing
        support = (float(scene.box_lo[i, 2]) + default_wall(c),) if c is ObjectClass.SHELF else ()
        states.append(ObjectState(name, cls, scene.box_lo[i], np.maximum(scene.box_hi[i], scene.box_lo[i]),
                                  movable=c.is_movable, is_drawer=c is ObjectClass.DRAWER, support_z=support))
    rel = compute_relations(states, contacts=None)
    return rel.unary, rel.binary


# Objects seen by fewer points than this (a capsule's tip over a cup's rim) are also reported
# apart: recall over the others says what the segmenter does with what a camera resolves.
WELL_SEEN_POINTS = 10


@dataclass
class ObservationScore:
    n_gt: int
    n_pred: int
    matched: int
    n_gt_well_seen: int  # scored objects with at least WELL_SEEN_POINTS points
    matched_well_seen: int
    class_correct: int
    n_invisible: int
    tp: np.ndarray  # relation counts per relation (UNARY + BINARY order)
    fp: np.ndarray
    fn: np.ndarray
    names: dict[str, str]  # simulator object -> perceived name (matched ones)


def score_observation(perception: SimCameraPerception, scene: PerceivedScene, world: World,
                      min_gt_points: int = 1) -> ObservationScore:
    """Segment, class and relation scores of the latest `perception.perceive` on `world`."""
    import torch

    from f2p_model.metrics import RelationF1

    obs, seg = perception.last_observation, perception.perception.last
    m = match_segments(obs.flat_labels(), obs.label_names, obs.label_classes, seg.labels, len(seg),
                       min_gt_points=min_gt_points)
    correct = sum(scene.classes[p] == m.gt_classes[m.gt_names.index(g)] for g, p in m.pairs.items())
    truth = world_relations(world)
    idx = [truth.index(n) for n in m.gt_names]
    u_gt, b_gt = truth.unary[idx], truth.binary[np.ix_(idx, idx)]
    u_p, b_p = perceived_relations(scene)
    n = len(idx)
    u_pred = np.zeros_like(u_gt)
    b_pred = np.zeros_like(b_gt)
    where = {g: k for k, g in enumerate(m.gt_names)}
    for g, p in m.pairs.items():
        u_pred[where[g]] = u_p[p]
        for h, q in m.pairs.items():
            b_pred[where[g], where[h]] = b_p[p, q]
    f1 = RelationF1(UNARY, BINARY)
    if n:
        f1.update(torch.from_numpy(u_pred[None]).float(), torch.from_numpy(b_pred[None]).float(),
                  torch.from_numpy(u_gt[None]), torch.from_numpy(b_gt[None]), torch.ones(1, n, dtype=torch.bool))
    well = {g for g, c in m.gt_points.items() if c >= WELL_SEEN_POINTS}
    return ObservationScore(m.n_gt, m.n_pred, len(m.pairs), len(well), len(well & set(m.pairs)), int(correct),
                            m.n_invisible, f1.tp, f1.fp, f1.fn, {g: scene.names[p] for g, p in m.pairs.items()})


def step_call(world: World, step: SkeletonStep, rng: np.random.Generator) -> SkillCall:
    """Parameters for a skeleton step from the robot's workspace (`tasks.sample_params`) in the
    current state; a placement on a shelf (which `sample_params` does not cover) aims at the middle
    of the shelf's bay, where it may well collide -- the skill's status is recorded either way."""
    scene = world.to_scene()
    support = step.object_ids[1] if len(step.object_ids) > 1 else ""
    if step.type is SkillType.PICK_PLACE and support and scene.object(support).cls is ObjectClass.SHELF:
        s = scene.object(support)
        return SkillCall(step.type, step.object_ids, tasks.place_params(scene, step.object_ids[0], s.pos[:2], support))
    return tasks.sample_params(scene, step, rng)


@dataclass
class TrialConfig:
    """One scored task execution (a trial of `f2p eval perception`)."""

    backend: str = "geometric"
    task: str = "transport"
    n_objects: int = 3
    seed: int = 0
    camera: str = "default"
    noise_sigma: float = 0.0  # m, Gaussian on every point
    real: bool = True  # the richer "real" world (tasks.py), as in the task trials of f2p_monitor
    width: int = 320
    height: int = 240
    min_gt_points: int = 1
    backend_params: dict = field(default_factory=dict)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)


@dataclass
class TrialResult:
    task: str
    n_objects: int
    seed: int
    observations: int
    n_gt: int  # summed over observations
    n_pred: int
    matched: int
    n_gt_well_seen: int
    matched_well_seen: int
    class_correct: int
    n_invisible: int
    identity_pairs: int  # (object, step) pairs matched at consecutive observations
    identity_kept: int  # ... whose perceived name stayed the same
    statuses: list[str]
    perceive_s: float  # wall time in the backend + tracker, summed
    tp: list[int] = field(default_factory=list)
    fp: list[int] = field(default_factory=list)
    fn: list[int] = field(default_factory=list)
    named: int = 0  # matched objects whose segment carries the object's task name (bound at the first observation)

    def to_dict(self) -> dict:
        return asdict(self)


def run_trial(cfg: TrialConfig) -> TrialResult:
    """Sample the task, observe, then after each skeleton step (parameters drawn from the robot's
    workspace) observe again; score every observation and the identities across them."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 8]))
    sample = tasks.sample(cfg.task, rng, cfg.n_objects, real=cfg.real)
    sample.scene.cameras = [camera_spec(cfg.camera)]
    world = World(sample.scene)
    perception = SimCameraPerception(world, cfg.backend, cfg.camera, noise_sigma=cfg.noise_sigma, width=cfg.width,
                               height=cfg.height, tracker=cfg.tracker, **cfg.backend_params)
    scores: list[ObservationScore] = []
    statuses: list[str] = []
    binding = NameBinding(pointed_objects(world))
    named = 0
    elapsed = 0.0
    for step in [None, *sample.skeleton]:
        if step is not None:
            statuses.append(execute(world, step_call(world, step, rng)).status.value)
        t0 = time.perf_counter()
        scene = perception.perceive(rng)
        elapsed += time.perf_counter() - t0
        scores.append(score_observation(perception, scene, world, cfg.min_gt_points))
        binding.apply(scene)
        named += sum(binding.names.get(name) == g for g, name in scores[-1].names.items())
    pairs = kept = 0
    for a, b in itertools.pairwise(scores):
        for g, name in b.names.items():
            if g in a.names:
                pairs += 1
                kept += int(a.names[g] == name)
    return TrialResult(cfg.task, cfg.n_objects, cfg.seed, len(scores), sum(s.n_gt for s in scores),
                       sum(s.n_pred for s in scores), sum(s.matched for s in scores),
                       sum(s.n_gt_well_seen for s in scores), sum(s.matched_well_seen for s in scores),
                       sum(s.class_correct for s in scores), sum(s.n_invisible for s in scores), pairs, kept,
                       statuses, elapsed, np.sum([s.tp for s in scores], 0).tolist(),
                       np.sum([s.fp for s in scores], 0).tolist(), np.sum([s.fn for s in scores], 0).tolist(), named)


def summarise(results: Sequence[TrialResult]) -> dict:
    """Pooled scores of trials: precision, recall, class accuracy, identity consistency, relation
    F1 (per relation and macro, `RelationF1.compute`)."""
    from f2p_model.metrics import RelationF1

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    f1 = RelationF1(UNARY, BINARY)
    for r in results:
        f1.tp += np.asarray(r.tp, np.int64)
        f1.fp += np.asarray(r.fp, np.int64)
        f1.fn += np.asarray(r.fn, np.int64)
    rel = f1.compute()
    n_obs = sum(r.observations for r in results)
    return {
        "trials": len(results),
        "observations": n_obs,
        "objects_scored": sum(r.n_gt for r in results),
        "precision": ratio(sum(r.matched for r in results), sum(r.n_pred for r in results)),
        "recall": ratio(sum(r.matched for r in results), sum(r.n_gt for r in results)),
        "recall_well_seen": ratio(sum(r.matched_well_seen for r in results), sum(r.n_gt_well_seen for r in results)),
        "class_accuracy": ratio(sum(r.class_correct for r in results), sum(r.matched for r in results)),
        "identity_consistency": ratio(sum(r.identity_kept for r in results), sum(r.identity_pairs for r in results)),
        "name_accuracy": ratio(sum(r.named for r in results), sum(r.matched for r in results)),
        "invisible_per_observation": sum(r.n_invisible for r in results) / max(n_obs, 1),
        "relation_macro_f1": rel["macro_f1"],
        "relation_f1": {k: v["f1"] for k, v in rel["per_relation"].items()},
        "perceive_ms": 1000 * sum(r.perceive_s for r in results) / max(n_obs, 1),
    }


def evaluate(backend: str, task: str, n_objects: Sequence[int], trials: int, seed: int = 0,
             progress: Callable[[int, int], None] | None = None, **trial_params) -> tuple[dict, list[TrialResult]]:
    """`trials` trials per object count; trial t of count n uses seed `seed + t` (the same scenes
    for every backend)."""
    results = []
    total = trials * len(n_objects)
    for n in n_objects:
        for t in range(trials):
            results.append(run_trial(TrialConfig(backend=backend, task=task, n_objects=n, seed=seed + t,
                                                 **trial_params)))
            if progress:
                progress(len(results), total)
    return summarise(results), results
