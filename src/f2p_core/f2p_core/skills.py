"""Skills of paper A.10: their types, continuous parameters and the workspace bounds of those
parameters, a call and its outcome. The one home of these names: the simulator executes them
(`f2p_sim.skills.execute`), the robot translates them (`f2p_robot`), the planner samples them
(`f2p_planner.sampling`), the learner searches them (`f2p_learner.inference`) and the task
distributions draw them (`f2p_sim.tasks`), all from the bounds below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

__all__ = ["DRAWER_DISTANCE", "MAX_PARAMS", "OBJECT_COUNTS", "PARAM_BOUNDS", "PARAM_NAMES", "PUSH_ANGLE",
           "PUSH_DISTANCE", "SKILL_NAMES", "YAW_CHANGE_MAX", "ParamBounds", "SkillCall", "SkillResult",
           "SkillStatus", "SkillType"]


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

#: skill names in model order (the one-hot of the model's skill input, `f2p_model`)
SKILL_NAMES: tuple[str, ...] = tuple(s.value for s in SkillType)
#: width of a padded parameter vector (the longest skill's)
MAX_PARAMS: int = max(len(v) for v in PARAM_NAMES.values())

# The robot's workspace for each parameter: what the task distributions draw, the planner samples
# and the learner searches.
YAW_CHANGE_MAX: float = math.pi / 4  # rad; a placement on a surface turns the object by at most this
PUSH_ANGLE: tuple[float, float] = (-math.pi, math.pi)  # rad; any direction
PUSH_DISTANCE: tuple[float, float] = (0.02, 0.15)  # m; end-effector travel beyond first contact
DRAWER_DISTANCE: tuple[float, float] = (0.02, 0.25)  # m; drawer slide distances


@dataclass(frozen=True)
class ParamBounds:
    """A uniform box over a skill's parameters (`PARAM_NAMES` order)."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.low) != len(self.high) or any(lo > hi for lo, hi in zip(self.low, self.high, strict=True)):
            raise ValueError(f"bounds need low <= high of equal length, got {self.low} and {self.high}")


# pick_place (dx, dy, dz) spans the two tables of every task from any grasp; the learner narrows
# (dx, dy) per event to the reachable tables (`f2p_learner.inference`).
PARAM_BOUNDS: dict[SkillType, ParamBounds] = {
    SkillType.PICK_PLACE: ParamBounds((-0.5, -0.9, -0.15, -YAW_CHANGE_MAX), (0.5, 0.9, 0.3, YAW_CHANGE_MAX)),
    SkillType.PUSH: ParamBounds((PUSH_ANGLE[0], PUSH_DISTANCE[0]), (PUSH_ANGLE[1], PUSH_DISTANCE[1])),
    SkillType.OPEN_DRAWER: ParamBounds((DRAWER_DISTANCE[0],), (DRAWER_DISTANCE[1],)),
    SkillType.CLOSE_DRAWER: ParamBounds((DRAWER_DISTANCE[0],), (DRAWER_DISTANCE[1],)),
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
