"""D+ (paper §5.3, A.12): turn each inferred particle (s_i, a_i) into a simulated transition.

The failure's full segments are moved by the particle's state (planar offset and yaw of every
movable object, about its centroid, exactly as the model saw ξ(s)O^F), rebuilt in simulation with
Real2Sim's shape priors, and the failed skill φ^F(a_i) is executed there; the transition is
recorded in the dataset schema of `f2p_sim.transitions`. Particles whose scene Real2Sim cannot
make valid are counted and skipped, never silently.

A.15 statistics of every D+: the failure-relation satisfaction (the percentage of the failure's
relations R^F that the simulated scenes before the skill satisfy) and the standard deviation of
the actions (metres over the translational parameters). The satisfaction is given over every
relation of R^F, as A.15 does, and over the relations the state particles were asked to keep
(`inference.kept_relations`): with `StateRelations.MOVED` where the moved group stands relative to
the rest is the prior's to choose, so the first share falls by design and the second is the one
that says whether D+ kept what it should.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from f2p_core.classes import can_repose
from f2p_core.skills import PARAM_NAMES, SkillCall, SkillStatus
from f2p_sim import dataset
from f2p_sim.observe import sample_fixed
from f2p_sim.permanence import believed, skill_motion
from f2p_sim.real2sim import real2sim
from f2p_sim.scene import SceneError
from f2p_sim.transitions import MAX_FPS_CANDIDATES, STATUS_NAMES, GenerationConfig, record_transition


@dataclass
class DPlusStats:
    particles: int
    recorded: int
    rebuild_failures: int
    statuses: dict[str, int]
    failure_relation_satisfaction: float  # %, A.15, over every relation of R^F
    action_std_m: float  # A.15: std of the translational action parameters (m)
    kept_relation_satisfaction: float | None = None  # %, over the relations the states keep (None: not given)
    remembered_segments: int = 0  # segments of unseen objects filled in (`remember_unseen`)

    def to_dict(self) -> dict:
        return asdict(self)


def _yaw(points: np.ndarray, yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    centre = points.mean(axis=0)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return (points - centre) @ rot.T + centre


def particle_segments(event, state: np.ndarray) -> dict[str, np.ndarray]:
    """ξ(s)O^F: the event's segments moved by state (N, 3) = (dx, dy, dyaw) per object, by name."""
    segments, classes = event.scene_before.segment_dict()
    names = event.scene_before.names
    moved = {}
    for name, pts in segments.items():
        dx, dy, dyaw = state[names.index(name)]
        if not can_repose(classes[name]):
            moved[name] = pts
        else:
            moved[name] = _yaw(pts, float(dyaw)) + np.array([dx, dy, 0.0])
    return moved


def remember_unseen(rec: dict[str, np.ndarray], segments: dict[str, np.ndarray], call: SkillCall,
                      rng: np.random.Generator) -> int:
    """Show the model a D+ transition as the executive would see it (`f2p_sim.permanence`), in place.

    The failure's scene is what the executive believed: a capsule inside a cup the camera cannot see into
    kept its last segment (`f2p_monitor.belief`). Re-rendered for a particle, that capsule has no point,
    and a D+ of empty segments teaches the model nothing about the scene it will plan from (an HTO failure
    moving a cup with two hidden capsules: the child still predicted the capsules stay, on its own D+).
    So an object unseen before the skill gets its particle-moved segment (`segments`,
    `particle_segments`), and one unseen after it gets its segment before, moved as the rule believes.
    Returns how many segments were filled in."""
    n = int(rec["n_objects"])
    names = [str(x) for x in rec["names"][:n]]
    p = rec["points_t"].shape[1]
    filled = 0
    for k, name in enumerate(names):
        if not rec["visible_t"][k] and name in segments:
            rec["points_t"][k] = sample_fixed(segments[name], p, rng, "fps", MAX_FPS_CANDIDATES)
            rec["visible_t"][k] = True
            filled += 1
    seen = rec["visible_t"][:n]
    pts = rec["points_t"][:n]
    motion = skill_motion(pts.min(axis=1), pts.max(axis=1), seen, int(rec["acted"]), call,
                          SkillStatus(STATUS_NAMES[int(rec["status"])]))
    for k in range(n):
        if seen[k] and not rec["visible_t1"][k]:
            rec["points_t1"][k] = believed(rec["points_t"][k], k, motion)
            rec["visible_t1"][k] = True
            filled += 1
    return filled


def generate_dplus(event, states: np.ndarray, actions: np.ndarray, out: str | Path, *, n_points: int,
                   seed: int = 0, method: str = "fail2progress", anchors: int = 0,
                   kept: np.ndarray | None = None, remember_occluded: bool = True) -> DPlusStats:
    """Simulate every particle and write D+ to `out` (a dataset directory). The first `anchors` rows
    are re-simulations of the failure itself (`learner.with_anchors`): recorded, but left out of the
    A.15 statistics, which describe the method's particles. `kept`: the (N,) objects of the event whose
    relations (unary, and binary among them) the states were asked to keep (`inference.kept_relations`).
    `remember_occluded`: unseen objects as the executive believes them (`remember_unseen`)."""
    states, actions = np.asarray(states, float), np.asarray(actions, float)
    if states.shape[0] != actions.shape[0]:
        raise ValueError(f"{states.shape[0]} state particles but {actions.shape[0]} action particles")
    n_params = len(PARAM_NAMES[event.skill.type])
    gen = GenerationConfig(distribution="pretrain", n_points=n_points, seed=seed)
    records, failures, satisfied, checked, kept_ok, kept_n, remembered = [], 0, 0, 0, 0, 0, 0
    names = event.scene_before.names
    classes = event.scene_before.segment_dict()[1]
    for i, (s, a) in enumerate(zip(states, actions, strict=True)):
        try:
            segments = particle_segments(event, s)
            scene = real2sim(segments, classes)
        except SceneError:
            failures += 1
            continue
        call = SkillCall(event.skill.type, event.skill.object_ids, a[:n_params])
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        rec = record_transition(scene, call, gen, rng, index=i)
        if remember_occluded:
            remembered += remember_unseen(rec, segments, call, rng)
        rec_names = [str(n) for n in rec["names"][: int(rec["n_objects"])]]
        idx = [rec_names.index(n) for n in names if n in rec_names]
        ev = [names.index(n) for n in names if n in rec_names]
        got_u = rec["unary_t"][idx]
        got_b = rec["binary_t"][np.ix_(idx, idx)]
        want_u = event.unary_before[ev]
        want_b = event.binary_before[np.ix_(ev, ev)]
        off = ~np.eye(len(idx), dtype=bool)
        if i >= anchors:
            satisfied += int((got_u == want_u).sum() + (got_b == want_b)[off].sum())
            checked += int(want_u.size + want_b[off].size)
            if kept is not None:
                k = np.asarray(kept, bool)[ev]
                pair = off & k[:, None] & k[None, :]
                kept_ok += int((got_u == want_u)[k].sum() + (got_b == want_b)[pair].sum())
                kept_n += int(want_u[k].size + want_b[pair].size)
        records.append(rec)
    if not records:
        raise SceneError(f"none of the {len(states)} particles could be rebuilt in simulation")
    config = {"kind": "dplus", "method": method, "event_id": event.event_id, "skill": event.skill.type.value,
              "object_ids": list(event.skill.object_ids), "seed": seed, "n_points": n_points}
    dataset.write_records(out, records, config)
    statuses: dict[str, int] = {}
    for r in records:
        key = STATUS_NAMES[int(r["status"])]
        statuses[key] = statuses.get(key, 0) + 1
    translational = [k for k, name in enumerate(PARAM_NAMES[event.skill.type]) if name in ("dx", "dy", "dz",
                                                                                           "distance")]
    own = actions[anchors:]
    std = float(np.sqrt(own[:, translational].var(axis=0).sum())) if translational and len(own) else 0.0
    kept_share = 100.0 * kept_ok / kept_n if kept is not None and kept_n else None
    return DPlusStats(len(states), len(records), failures, statuses, 100.0 * satisfied / max(checked, 1), std,
                      kept_share, remembered)
