"""The simulated "real" world behind the executive's robot interface: a `World` executes the skills.
Its perception is `f2p_perception.sim_gt.SimGroundTruthPerception` (simulator labels, ground-truth
relations)."""

from __future__ import annotations

from collections.abc import Callable

from f2p_core.skills import SkillCall, SkillResult, SkillStatus
from f2p_sim.skills import execute
from f2p_sim.world import World


class SimRobot:
    """`world` executing skills with `run`: the floating gripper's f2p_sim.skills.execute by default, or
    the simulated Stretch's (f2p_robot.stretch_sim.skill_executor, with its StretchWorld)."""

    def __init__(self, world: World, run: Callable[[World, SkillCall], SkillResult] = execute):
        self.world, self.run = world, run

    def execute(self, call: SkillCall) -> SkillStatus:
        return self.run(self.world, call).status
