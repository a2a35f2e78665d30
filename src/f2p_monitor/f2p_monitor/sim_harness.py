"""The simulated "real" world behind the executive's robot interface: a `World` executes the skills.
Its perception is `f2p_perception.sim_gt.SimGroundTruthPerception` (simulator labels, ground-truth
relations)."""

from __future__ import annotations

from f2p_core.skills import SkillCall, SkillStatus
from f2p_sim.skills import execute
from f2p_sim.world import World


class SimRobot:
    def __init__(self, world: World):
        self.world = world

    def execute(self, call: SkillCall) -> SkillStatus:
        return execute(self.world, call).status
