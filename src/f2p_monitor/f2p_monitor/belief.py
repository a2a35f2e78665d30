"""Object permanence across a skill: what the executive believes about objects it stops seeing.

A capsule dropped into a 10 cm cup, or an item inside a box, is often invisible from the camera
after the skill that put it there. A planner reads only the segmented scene, so without a belief
the object vanishes: the next plan cannot even name it ("unknown object 'capsule_1'"). The paper's
perception assumes every object stays segmented; a real camera does not.

The rule, deliberately simple and documented (`f2p_sim.permanence`, its one home, which D+ applies
too): an object visible before the skill and invisible after it keeps its last segment, moved by
what the skill commanded —

* the object acted on, after a successful pick_place: translated by (dx, dy, dz) and turned by
  dyaw about its centroid (A.10: the parameters are placement minus grasp pose);
* an object that sat inside or on the acted object (its footprint centre over the acted object's
  footprint, its bottom above the acted object's bottom): moved the same way, as contents are;
* anything else: left where it was last seen.

Relations observed for the monitor are not touched: in simulation they are ground truth, on a
robot they come from the perceived boxes, and a remembered object is not an observation.
"""

from __future__ import annotations

import dataclasses
import logging

from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillStatus
from f2p_sim.permanence import believed, skill_motion

log = logging.getLogger(__name__)


def carry_occluded(before: PerceivedScene, after: PerceivedScene, call: SkillCall,
                   status: SkillStatus) -> tuple[PerceivedScene, list[str]]:
    """`after` with every object that disappeared during `call` put back from `before` (module
    docstring; the rule is `f2p_sim.permanence`); returns the scene and the names that were carried
    over. Objects are matched by name (the identities perception keeps stable); an object unknown to
    `before` is left alone."""
    lost = [n for i, n in enumerate(after.names)
            if not after.visible[i] and n in before.names and before.visible[before.index(n)]]
    if not lost:
        return after, []
    acted = call.object_ids[0] if call.object_ids else ""
    motion = skill_motion(before.box_lo, before.box_hi, before.visible,
                          before.index(acted) if acted in before.names else -1, call, status)
    points, segments = after.points.copy(), list(after.segments)
    visible, box_lo, box_hi = after.visible.copy(), after.box_lo.copy(), after.box_hi.copy()
    for n in lost:
        i, j = after.index(n), before.index(n)
        points[i] = believed(before.points[j], j, motion)
        segments[i] = believed(before.segments[j], j, motion)
        box_lo[i], box_hi[i] = segments[i].min(axis=0), segments[i].max(axis=0)
        visible[i] = True
        log.info("%s is out of sight after %s: kept its last segment%s", n, call.type.value,
                 " moved with the skill" if motion.moved[j] else "")
    return dataclasses.replace(after, points=points, segments=segments, visible=visible, box_lo=box_lo,
                               box_hi=box_hi), lost


__all__ = ["carry_occluded"]
