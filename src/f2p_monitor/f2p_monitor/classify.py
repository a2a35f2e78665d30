"""Failure classification (paper §4): rebuild the pre-failure scene in simulation from O^F alone
(Real2Sim, A.12), re-run φ^F(a) there and read the relations R''. If the simulation reproduces
what the robot observed (R'' = R^F') the skill effect model was wrong: an *incorrect symbolic
prediction*, which Fail2Progress can learn from. Otherwise the simulator disagrees with reality:
a *Sim2Real gap*, which simulation data cannot fix.

R'' is compared with R^F' on the **mismatched relations** only (those where the prediction and the
observation disagreed), not on every relation: `f2p bench real2sim` measured that a reconstruction
from a partial, noisy view reproduces *all* ~1000 relation values of a transition in only 4–62 %
of cases (left/right near the dead band, contacts), which would turn almost every failure into a
"Sim2Real gap". The relations that failed are the question the classifier must answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_core.failure import FailureClass, FailureEvent
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import SkillStatus
from f2p_sim.gap import replay_in_reconstruction
from f2p_sim.scene import SceneError


@dataclass
class Classification:
    label: FailureClass  # INCORRECT_PREDICTION or SIM2REAL_GAP
    reproduced: int  # mismatched relations whose re-simulated value equals the observed one
    checked: int  # mismatched relations that could be checked (both objects reconstructed)
    sim_status: SkillStatus | None  # how the skill ended in the reconstruction; None: not simulated
    reason: str


def classify(event: FailureEvent) -> Classification:
    segments, classes = event.scene_before.segment_dict()
    try:
        rel, status = replay_in_reconstruction(segments, classes, event.skill)
    except SceneError as exc:
        return Classification(FailureClass.SIM2REAL_GAP, 0, 0, None, f"Real2Sim could not rebuild the scene: {exc}")
    names = event.scene_before.names
    reproduced = checked = 0
    for m in event.mismatched:
        if m.subject not in rel.names or (m.object and m.object not in rel.names):
            continue  # an object Real2Sim never saw: cannot be checked
        checked += 1
        i = names.index(m.subject)
        if m.object:
            observed = bool(event.binary_after[i, names.index(m.object), BINARY.index(m.relation)])
        else:
            observed = bool(event.unary_after[i, UNARY.index(m.relation)])
        reproduced += int(rel.holds(m.relation, m.subject, m.object) == observed)
    if checked and reproduced == checked and status is SkillStatus.OK:
        return Classification(FailureClass.INCORRECT_PREDICTION, reproduced, checked, status,
                              "simulation reproduces every mismatched relation: the model was wrong")
    why = (f"simulation reproduces {reproduced} of {checked} mismatched relations" if checked
           else "no mismatched relation could be checked")
    return Classification(FailureClass.SIM2REAL_GAP, reproduced, checked, status,
                          why + ("" if status is SkillStatus.OK else f"; the skill ended '{status.value}' there"))


def reproduced_fraction(c: Classification) -> float:
    return c.reproduced / c.checked if c.checked else float(np.nan)
