"""Object classes (README "Conventions") and what each can do: the one home of which classes are
static, which have a free joint and which can hold other objects.

Both the simulator (`f2p_sim`: welds, free joints, the A.9 `movable` input flag, Real2Sim's shape
priors) and the learner (which objects a state particle may re-pose, A.13.1) read these sets, so they
cannot disagree. The sets hold the classes' string values, because scenes, datasets and failure
events carry classes as strings (`"cup" in OPEN_BOX_CLASSES`); `ObjectClass` members answer the
same questions as properties.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["MOVABLE_CLASSES", "OPEN_BOX_CLASSES", "STATIC_CLASSES", "ObjectClass", "can_repose"]


class ObjectClass(str, Enum):
    """Object classes of the README; static ones never move, drawers slide in their cabinet."""

    GROUND = "ground"
    TABLE = "table"
    SHELF = "shelf"
    CABINET = "cabinet"
    CUBOID = "cuboid"
    CYLINDER = "cylinder"
    CAPSULE = "capsule"
    CONTAINER = "container"
    CUP = "cup"
    BAG = "bag"
    DRAWER = "drawer"

    @property
    def is_static(self) -> bool:
        """Welded to the world: the A.9 `movable` relation is false for these."""
        return self.value in STATIC_CLASSES

    @property
    def is_movable(self) -> bool:
        """Has a free joint, so pick-and-place and push (A.10) may act on it and a state particle of
        the learner may re-pose it (`can_repose`)."""
        return self.value in MOVABLE_CLASSES

    @property
    def is_open_box(self) -> bool:
        """Built from a bottom and four walls, so other objects can be `inside` it (A.9)."""
        return self.value in OPEN_BOX_CLASSES


#: welded to the world (A.9 `movable` false)
STATIC_CLASSES: frozenset[str] = frozenset({"ground", "table", "shelf", "cabinet"})
#: free bodies: the skills may act on them and they may be placed anywhere. A drawer is neither
#: static nor free: it slides along its cabinet's rail only.
MOVABLE_CLASSES: frozenset[str] = frozenset({"cuboid", "cylinder", "capsule", "container", "cup", "bag"})
#: open boxes: objects can be `inside` them (A.9)
OPEN_BOX_CLASSES: frozenset[str] = frozenset({"container", "cup", "bag", "drawer"})


def can_repose(cls: str | ObjectClass) -> bool:
    """Whether a state particle (A.13.1, ξ(s)O^F) may move an object of class `cls` in the plane: what
    the simulator lets move freely (`MOVABLE_CLASSES`). A drawer stays in its cabinet, as in the
    simulator, where it only slides along its rail."""
    return ObjectClass(cls).is_movable
