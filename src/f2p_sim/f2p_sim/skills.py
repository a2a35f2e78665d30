"""Skills of paper A.10 with a kinematic mocap + weld gripper: pick-and-place, push, open/close
drawer. Types and dispatch live here; the skill bodies are in skill_impl.py.

Every skill: checks its call (`invalid`), plans the base so every gripper waypoint is in reach
(`unreachable`, else maybe `base_moved`), plays smooth speed-bounded mocap trajectories with real
contact physics (contents of a carried container are never moved by code), releases, parks the
end effectors and lets the scene settle. `execute` never raises for bad parameters.
"""
from __future__ import annotations

import numpy as np

from f2p_core.skills import OBJECT_COUNTS, PARAM_NAMES, SkillCall, SkillResult, SkillStatus, SkillType

from .reach import BaseModel
from .world import World

__all__ = ["BaseModel", "check_call", "execute"]


def check_call(world: World, call: SkillCall) -> tuple[SkillType | None, str]:
    """The call's skill type if it is well formed for `world`, else None and what is wrong (`invalid`)."""
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

    kind, problem = check_call(world, call)
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
