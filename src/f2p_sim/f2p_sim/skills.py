"""Skills of paper A.10 with a kinematic mocap + weld gripper: pick-and-place, push, open/close
drawer. Types and dispatch live here; the skill bodies are in skill_impl.py.

Every skill: checks its call (`invalid`), plans the base so every gripper waypoint is in reach
(`unreachable`, else maybe `base_moved`), plays smooth speed-bounded mocap trajectories with real
contact physics (contents of a carried container are never moved by code), releases, parks the
end effectors and lets the scene settle. `execute` never raises for bad parameters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .reach import BaseModel
from .world import World

__all__ = ["PARAM_NAMES", "BaseModel", "SkillCall", "SkillResult", "SkillStatus", "SkillType",
           "execute"]


class SkillType(str, Enum):
    PICK_PLACE = "pick_place"
    PUSH = "push"
    OPEN_DRAWER = "open_drawer"
    CLOSE_DRAWER = "close_drawer"


# Continuous parameters per skill (A.10). pick_place: placement minus grasp pose of the object
# (m, m, m, rad); push: direction in the world xy plane (rad, 0 = +x) and end-effector travel
# beyond first contact (m); drawers: slide distance (m, >= 0).
PARAM_NAMES: dict[SkillType, tuple[str, ...]] = {
    SkillType.PICK_PLACE: ("dx", "dy", "dz", "dyaw"),
    SkillType.PUSH: ("angle", "distance"),
    SkillType.OPEN_DRAWER: ("distance",),
    SkillType.CLOSE_DRAWER: ("distance",),
}

# Object arguments per skill: pick_place (object, target support) with the support optional and
# informational; push (object,); drawers (drawer,).
OBJECT_COUNTS: dict[SkillType, tuple[int, ...]] = {
    SkillType.PICK_PLACE: (1, 2),
    SkillType.PUSH: (1,),
    SkillType.OPEN_DRAWER: (1,),
    SkillType.CLOSE_DRAWER: (1,),
}


class SkillStatus(str, Enum):
    OK = "ok"
    UNREACHABLE = "unreachable"  # a waypoint is out of reach even after moving the base
    COLLISION = "collision"  # carried object hit a static object / push or drawer blocked
    DROPPED = "dropped"  # the grasped object fell behind the gripper by more than DROP_TOL
    INVALID = "invalid"  # unknown object, wrong object class or malformed parameters


@dataclass
class SkillCall:
    type: SkillType
    object_ids: tuple[str, ...]
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        self.object_ids = tuple(self.object_ids)
        self.params = np.asarray(self.params, dtype=float).reshape(-1)


@dataclass
class SkillResult:
    status: SkillStatus
    message: str = ""
    sim_time: float = 0.0
    base_moved: bool = False
    # False if something was still moving (falling, rolling) when the settle time ran out; the
    # state after the skill is then a snapshot in motion.
    settled: bool = True

    @property
    def ok(self) -> bool:
        return self.status is SkillStatus.OK


def _check_call(world: World, call: SkillCall) -> tuple[SkillType | None, str]:
    try:
        kind = SkillType(call.type)
    except ValueError:
        return None, f"unknown skill type {call.type!r}"
    names = PARAM_NAMES[kind]
    if call.params.shape != (len(names),):
        return None, f"{kind.value} takes {len(names)} parameters {names}, got {call.params.size}"
    if not np.all(np.isfinite(call.params)):
        return None, f"{kind.value}: non-finite parameters {call.params.tolist()}"
    if len(call.object_ids) not in OBJECT_COUNTS[kind]:
        return None, f"{kind.value} takes {OBJECT_COUNTS[kind]} objects, got {call.object_ids}"
    known = set(world.object_names)
    for name in call.object_ids:
        if name not in known:
            return None, f"unknown object '{name}'"
    return kind, ""


def execute(world: World, call: SkillCall) -> SkillResult:
    """Run one skill in `world` (mutating it) and report how it went; see SkillStatus."""
    from . import skill_impl  # skill bodies import the types above

    kind, problem = _check_call(world, call)
    if kind is None:
        return SkillResult(SkillStatus.INVALID, problem)
    run = {
        SkillType.PICK_PLACE: skill_impl.pick_place,
        SkillType.PUSH: skill_impl.push,
        SkillType.OPEN_DRAWER: skill_impl.move_drawer,
        SkillType.CLOSE_DRAWER: skill_impl.move_drawer,
    }[kind]
    t0 = world.time
    result = run(world, kind, call)
    result.sim_time = world.time - t0
    return result
