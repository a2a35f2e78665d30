"""The simulated "real" world behind the executive's interfaces: a `World` as the robot, the
sim_gt backend as perception, simulator ground truth (A.9) as the observed relations."""

from __future__ import annotations

import numpy as np

from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillStatus
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


class SimRobot:
    def __init__(self, world: World):
        self.world = world

    def execute(self, call: SkillCall) -> SkillStatus:
        return execute(self.world, call).status


class SimPerception(SimGroundTruthPerception):
    def relations(self, scene: PerceivedScene) -> tuple[np.ndarray, np.ndarray]:
        rel = world_relations(self.world)
        idx = [rel.index(n) for n in scene.names]
        return rel.unary[idx], rel.binary[np.ix_(idx, idx)]

