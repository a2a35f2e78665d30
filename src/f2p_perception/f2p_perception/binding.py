"""Names the goal can use: the task's object names bound to perceived segments (issue 17).

A label-free backend names what it sees by class (`container_1`, `cuboid_2`: `tracking.IdentityTracker`),
while a goal is written over the task's names (`inside(item_1, bag_1)`). The binding is made once, at the
first observation, from where the task's objects are (class and position, as a user pointing at each
object would give them: `PointedObject`), and then kept: the tracker keeps each segment's identity over
the task, so the binding of its name holds whatever the objects do afterwards.

Matching (`bind`): the Hungarian algorithm over (pointed object, segment) pairs, cost = distance from the
pointed position to the segment's box centre, plus `class_penalty` when the classes differ (a bag the
geometric backend calls a container is still the bag); pairs further apart than `max_distance` are never
bound. A task object no segment matched at first (hidden, or merged with a neighbour) is bound later to a
segment of no task object found where it was pointed at. `NameBinding.apply` then publishes every task
object under its own name, in the task's order (one that is not seen is listed as not visible, with no
points, as `sim_gt` lists an occluded object, so the executive's belief (`f2p_monitor.belief`) keeps its
last segment: one mechanism, not two): the scene has the task's objects in the task's order at every step,
as `sim_gt`'s has, which the monitor's step-to-step comparison relies on. Segments bound to no task object
(a fragment, a spurious segment) are dropped, or, with `keep_unbound`, published after them under the
tracker's names.

What limits it is the tracker: a task name stays right as long as the tracker keeps the segment's identity
(`f2p eval perception` reports both: "ident." and "names"). On a robot there is no task list to point
with: perception's own names stand (the user writes the goal with the names on /f2p/scene), or dino_sam's
prompts name the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from f2p_core.scene import PerceivedScene

_FORBIDDEN = 1e6


@dataclass(frozen=True)
class PointedObject:
    """A task object as a user would point at it: its name, its class, where it is (m, planning frame)."""

    name: str
    cls: str
    position: tuple[float, float, float]

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a pointed object needs a name")
        if len(self.position) != 3 or not np.isfinite(self.position).all():
            raise ValueError(f"{self.name}: position must be three finite numbers, got {self.position}")


@dataclass(frozen=True)
class BindingConfig:
    max_distance: float = 0.20  # m: a segment whose box centre is further from the pointed position is not it
    class_penalty: float = 0.05  # m added when the segment's class differs from the object's

    def __post_init__(self) -> None:
        if not (self.max_distance > 0 and self.class_penalty >= 0):
            raise ValueError(f"invalid BindingConfig {self}")


def bind(scene: PerceivedScene, objects: Sequence[PointedObject],
         config: BindingConfig | None = None) -> dict[str, str]:
    """Perceived name -> task name for the visible segments of `scene` that match a pointed object
    (module docstring: Hungarian on centre distance + class penalty, gated at `max_distance`)."""
    config = config if config is not None else BindingConfig()
    seen = [i for i in range(len(scene.names)) if scene.visible[i]]
    if not objects or not seen:
        return {}
    centres = (scene.box_lo[seen] + scene.box_hi[seen]) / 2.0
    pointed = np.array([o.position for o in objects], np.float64)
    distance = np.linalg.norm(pointed[:, None, :] - centres[None, :, :], axis=-1)  # (O, S)
    differ = np.array([[o.cls != scene.classes[i] for i in seen] for o in objects], bool)
    cost = distance + config.class_penalty * differ
    gated = np.where(distance <= config.max_distance, cost, _FORBIDDEN)
    rows, cols = linear_sum_assignment(gated)
    return {scene.names[seen[c]]: objects[r].name for r, c in zip(rows, cols, strict=True) if gated[r, c] < _FORBIDDEN}


def _subset(scene: PerceivedScene, rows: list[int]) -> PerceivedScene:
    return PerceivedScene(names=[scene.names[i] for i in rows], classes=[scene.classes[i] for i in rows],
                          points=scene.points[rows], visible=scene.visible[rows], box_lo=scene.box_lo[rows],
                          box_hi=scene.box_hi[rows], segments=[scene.segments[i] for i in rows],
                          frame_id=scene.frame_id, confidences=scene.confidences[rows])


@dataclass
class NameBinding:
    """Bind once (the first scene `apply` sees that shows a task object), rename every scene after (module
    docstring)."""

    objects: list[PointedObject]
    config: BindingConfig = field(default_factory=BindingConfig)
    keep_unbound: bool = False  # also publish the segments of no task object, under the tracker's names
    names: dict[str, str] | None = None  # perceived -> task name, once bound

    def __post_init__(self) -> None:
        task_names = [o.name for o in self.objects]
        if len(set(task_names)) != len(task_names):
            raise ValueError(f"task object names must be unique: {task_names}")

    @property
    def bound(self) -> bool:
        return bool(self.names)

    def apply(self, scene: PerceivedScene) -> PerceivedScene:
        """`scene` under the task's names: every task object in task order (unseen ones not visible, no
        points), then, with `keep_unbound`, the segments bound to none under their perceived names."""
        if not self.names:  # at the first observation that shows any task object
            self.names = bind(scene, self.objects, self.config)
        else:  # a task object first seen later (hidden at the start) where it was pointed at
            taken = set(self.names.values())
            waiting = [o for o in self.objects if o.name not in taken]
            free = [i for i, n in enumerate(scene.names) if n not in self.names]
            if waiting and free:
                self.names.update(bind(_subset(scene, free), waiting, self.config))
        task_of = {p: t for p, t in self.names.items() if p in scene.names}
        row_of_task = {t: scene.index(p) for p, t in task_of.items()}
        task_names = {o.name for o in self.objects}
        extra = [i for i, n in enumerate(scene.names) if n not in task_of and n not in task_names and self.keep_unbound]
        n_points = scene.points.shape[1]
        rows, names, classes = [], [], []
        for o in self.objects:
            rows.append(row_of_task.get(o.name, -1))
            names.append(o.name)
            classes.append(o.cls)  # the task's class: the object the user pointed at
        for i in extra:
            rows.append(i)
            names.append(scene.names[i])
            classes.append(scene.classes[i])
        k = len(rows)
        points = np.zeros((k, n_points, 3), np.float32)
        visible = np.zeros(k, bool)
        lo, hi = np.zeros((k, 3), np.float32), np.zeros((k, 3), np.float32)
        conf = np.zeros(k, np.float32)
        segments = []
        for j, i in enumerate(rows):
            if i < 0:
                segments.append(np.zeros((0, 3), np.float32))
                continue
            points[j], visible[j], lo[j], hi[j] = scene.points[i], scene.visible[i], scene.box_lo[i], scene.box_hi[i]
            conf[j] = scene.confidences[i]
            segments.append(scene.segments[i])
        return PerceivedScene(names=names, classes=classes, points=points, visible=visible, box_lo=lo, box_hi=hi,
                              segments=segments, frame_id=scene.frame_id, confidences=conf)


__all__ = ["BindingConfig", "NameBinding", "PointedObject", "bind"]
