"""Object permanence across one skill, on arrays: where an object the camera stops seeing is believed to be.

A capsule dropped into a 10 cm cup, or an item inside a box, is often invisible from the camera after
the skill that put it there, and an item already inside a cup stays invisible while the cup is carried.
The executive keeps such objects (`f2p_monitor.belief.carry_occluded`) with this rule, deliberately
simple: an object visible before the skill and invisible after it keeps its last segment, moved by what
the skill commanded --

* the object acted on, after a successful pick_place: translated by (dx, dy, dz) and turned by dyaw about
  its box centre (A.10: the parameters are placement minus grasp pose);
* an object that sat inside or on the acted object (its box centre over the acted object's footprint, its
  bottom above the acted object's bottom): moved the same way, as contents are;
* anything else: left where it was last seen.

It lives here, below perception and the executive, because data the model learns from must show it the
scene the executive will: a D+ recorded from a failure whose contents were remembered (`f2p_learner.dplus`)
keeps them with this same rule instead of giving them empty segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_core.skills import SkillCall, SkillStatus, SkillType


@dataclass(frozen=True)
class SkillMotion:
    """What a skill did to the objects it moved, as the rule above believes it."""

    moved: np.ndarray  # (N,) bool: the acted object and its contents
    shift: np.ndarray  # (3,) m
    dyaw: float  # rad, about `pivot`
    pivot: np.ndarray  # (3,) the acted object's box centre before the skill


def skill_motion(box_lo: np.ndarray, box_hi: np.ndarray, visible: np.ndarray, acted: int, call: SkillCall,
                 status: SkillStatus) -> SkillMotion:
    """The motion the rule believes `call` gave each object: boxes (N, 3) and `visible` (N,) before the skill,
    `acted` the index of call.object_ids[0] (-1: not among them). Nothing moves unless a pick_place succeeded."""
    n = len(visible)
    if status is not SkillStatus.OK or call.type is not SkillType.PICK_PLACE or not 0 <= acted < n:
        return SkillMotion(np.zeros(n, bool), np.zeros(3, np.float32), 0.0, np.zeros(3, np.float32))
    moved = contents(box_lo, box_hi, visible, acted)
    moved[acted] = True
    lo, hi = box_lo[acted], box_hi[acted]
    params = np.asarray(call.params, np.float32)
    return SkillMotion(moved, params[:3].copy(), float(params[3]) if len(params) > 3 else 0.0,
                       ((lo + hi) / 2).astype(np.float32))


def contents(box_lo: np.ndarray, box_hi: np.ndarray, visible: np.ndarray, k: int) -> np.ndarray:
    """(N,) bool: the visible objects the rule counts as inside or on object k (its box centre over k's
    footprint, its bottom above k's bottom), k itself excluded. Boxes (N, 3)."""
    lo, hi = box_lo[k], box_hi[k]
    centre = (box_lo + box_hi) / 2
    inside = (visible & (lo[0] <= centre[:, 0]) & (centre[:, 0] <= hi[0]) & (lo[1] <= centre[:, 1])
              & (centre[:, 1] <= hi[1]) & (box_lo[:, 2] >= lo[2] - 1e-3))
    inside[k] = False
    return inside


def rigid(points: np.ndarray, shift: np.ndarray, dyaw: float, pivot: np.ndarray) -> np.ndarray:
    """points (..., 3) turned by dyaw about the vertical axis through `pivot`, then shifted."""
    c, s = np.cos(dyaw), np.sin(dyaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    return ((points - pivot) @ rot.T + pivot + shift).astype(np.float32)


def believed(points: np.ndarray, k: int, motion: SkillMotion) -> np.ndarray:
    """Object k's last segment `points` (P, 3) where the rule believes it is after the skill."""
    if motion.moved[k]:
        return rigid(points, motion.shift, motion.dyaw, motion.pivot)
    return points.astype(np.float32, copy=True)


__all__ = ["SkillMotion", "believed", "contents", "rigid", "skill_motion"]
