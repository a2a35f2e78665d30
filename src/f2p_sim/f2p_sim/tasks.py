"""Task distributions (paper A.2) and the pre-training distribution, as code.

Every distribution is a one-line factory in `DISTRIBUTIONS` that maps a seeded generator and an
object count to a `TaskSample`: a valid scene, the goal relations and the plan skeleton (skill
types and the objects they act on). Goals and skeletons are data here, never hard-coded in a
planner or an experiment script.

The layout is shared: two tables side by side in front of the robot, `table_A` (y < 0, where
things start) and `table_B` (y > 0, where tasks deliver them), both with their tops at
`TABLE_TOP_Z`. Objects are sampled inside `SPAWN_X` so the arm reaches them after, at most, a base
move (reach.py).

What pre-training leaves out (DESIGN.md §4, so that task failures come from the model's wrong
predictions, as in the paper): a container, cup or bag is only ever moved when it is **empty**;
a push only ever moves one object that touches nothing on its way. Each task depends on exactly
that missing interaction: contents moving with their container (Multi-object Transport),
capsules moving with their cup (Hierarchical Tabletop Organization), pushed objects pushing their
neighbours (Constrained Packing).

The "real" world (`real=True`) is a richer version of the same distribution: shapes vary in size,
some cuboids become cylinders, masses and frictions vary. Real2Sim only ever sees its point cloud.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from f2p_core.classes import ObjectClass
from f2p_core.goal import Goal
from f2p_core.skills import DRAWER_DISTANCE, PUSH_ANGLE, PUSH_DISTANCE, YAW_CHANGE_MAX, SkillCall, SkillType
from f2p_core.task import SkeletonStep

from .scene import ObjectSpec, Scene, SceneError
from .scenes import ground, inside, on_surface
from .validate import validate

TABLE_TOP_Z = 0.45
# Table A spans y -0.57..-0.07, table B 0.07..0.57; both x 0.10..0.70 (0.6 x 0.5 m tops).
TABLE_SIZE = (0.60, 0.50, TABLE_TOP_Z)
TABLE_CENTERS = {"table_A": (0.40, -0.32), "table_B": (0.40, 0.32)}
# Where objects are spawned and placed on a table: the near part of each top, in reach of the arm
# from the base's driving line (reach.py: 0.85 m from a base at x >= -1.2 .. -0.15, y = 0).
SPAWN_X = (0.17, 0.50)
SPAWN_MARGIN = 0.06  # keep object centres this far from a table's side edges (m)
MIN_GAP = 0.015  # free space between spawned footprints (m)

CUBE = (0.05, 0.05, 0.05)
CAPSULE = (0.03, 0.03, 0.07)
CUP = (0.085, 0.085, 0.10)
CONTAINER = (0.22, 0.17, 0.08)
BOOK = (0.14, 0.05, 0.17)
MARKER = (0.04, 0.04, 0.08)
# Free room beside the last shelf book for the push paddle (skill_impl: paddle 2 cm + 2 cm gap
# behind the face it pushes); narrower than a book, so the last book cannot go there unpushed.
PUSHER_ROOM = 0.045


@dataclass
class TaskSample:
    """A scene with a goal (conjunction of relations) and a plan skeleton.

    `goal` is the conjunction of relations that must all hold at the end (`f2p_core.goal.Goal`; None
    for pre-training samples, whose `skill` is the one random skill whose transition is recorded).
    """

    distribution: str
    n_objects: int
    scene: Scene
    goal: Goal | None = None
    skeleton: list[SkeletonStep] = field(default_factory=list)
    skill: SkillCall | None = None

    @property
    def goal_text(self) -> str:
        """The goal in goal syntax ("" for a pre-training sample)."""
        return self.goal.text if self.goal is not None else ""


# ---------------------------------------------------------------------------------------------
# Layout helpers


def tables() -> list[ObjectSpec]:
    return [ObjectSpec(name, ObjectClass.TABLE, TABLE_SIZE, (x, y, TABLE_TOP_Z / 2))
            for name, (x, y) in TABLE_CENTERS.items()]


def table_region(table: str, half_extent: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """(x range, y range) where the centre of an object of footprint half-size `half_extent`
    may go on `table`."""
    _, cy = TABLE_CENTERS[table]
    hy = TABLE_SIZE[1] / 2 - SPAWN_MARGIN - half_extent
    x0, x1 = SPAWN_X
    return (x0 + half_extent * 0.5, x1), (cy - hy, cy + hy)


class _Placer:
    """Rejection sampler for non-overlapping footprints on the tables."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.taken: list[tuple[float, float, float]] = []  # (x, y, radius)

    def free(self, x: float, y: float, r: float) -> bool:
        return all(math.hypot(x - a, y - b) >= r + rb + MIN_GAP for a, b, rb in self.taken)

    def place(self, table: str, size, tries: int = 200) -> tuple[float, float]:
        r = 0.5 * math.hypot(size[0], size[1])
        (x0, x1), (y0, y1) = table_region(table, r)
        for _ in range(tries):
            x, y = self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)
            if self.free(x, y, r):
                self.taken.append((x, y, r))
                return float(x), float(y)
        raise SceneError(f"no free spot of radius {r:.3f} m left on {table}")

    def reserve(self, x: float, y: float, size) -> None:
        self.taken.append((x, y, 0.5 * math.hypot(size[0], size[1])))


def _vary(size, rng: np.random.Generator, real: bool, spread: float = 0.2) -> tuple[float, ...]:
    """Real-world objects vary in size (±spread); simulated pre-training shapes do too, less."""
    s = spread if real else spread / 2
    return tuple(float(v * rng.uniform(1 - s, 1 + s)) for v in size)


def _capsule(rng: np.random.Generator, real: bool) -> tuple[float, float, float]:
    """Capsule size (diameter, diameter, height): round shapes vary in diameter and height only."""
    d, _, h = _vary(CAPSULE, rng, real, 0.1)
    return (d, d, h)


def _physics(rng: np.random.Generator, real: bool) -> dict:
    """Real-world masses and frictions vary around the class defaults (the Sim2Real gap)."""
    if not real:
        return {}
    return {"mass": float(rng.uniform(0.05, 0.25)), "friction": float(rng.uniform(0.4, 1.0))}


def _small_object(name: str, rng: np.random.Generator, real: bool) -> tuple[ObjectClass, tuple]:
    """A graspable item: cuboid, or in the real world sometimes a cylinder of the same size."""
    if real and rng.random() < 0.4:
        d = float(rng.uniform(0.04, 0.055))
        return ObjectClass.CYLINDER, (d, d, float(rng.uniform(0.05, 0.08)))
    return ObjectClass.CUBOID, _vary(CUBE, rng, real)


def _finish(sample: TaskSample) -> TaskSample:
    validate(sample.scene)
    return sample


# ---------------------------------------------------------------------------------------------
# Skill parameters sampled from the robot's workspace (shared by pre-training and the planner)


def support_top(scene: Scene, support: str) -> float:
    o = scene.object(support)
    return o.pos[2] + o.size[2] / 2 if not o.cls.is_open_box else o.pos[2] - o.size[2] / 2 + o.wall


def place_params(scene: Scene, obj: str, target_xy, target_support: str, dyaw: float = 0.0) -> np.ndarray:
    """pick_place parameters (placement − grasp pose) that put `obj` at `target_xy` resting on
    `target_support` (its top surface, or an open box's inner floor)."""
    o = scene.object(obj)
    dz = support_top(scene, target_support) + o.size[2] / 2 - o.pos[2]
    return np.array([target_xy[0] - o.pos[0], target_xy[1] - o.pos[1], dz, dyaw])


def sample_place_params(scene: Scene, obj: str, support: str, rng: np.random.Generator) -> np.ndarray:
    """A random placement of `obj` on `support` (a table: anywhere in reach; an open box: inside)."""
    s = scene.object(support)
    o = scene.object(obj)
    if s.cls.is_open_box:
        hx = max(0.0, s.size[0] / 2 - s.wall - o.size[0] / 2)
        hy = max(0.0, s.size[1] / 2 - s.wall - o.size[1] / 2)
        xy = (s.pos[0] + rng.uniform(-hx, hx), s.pos[1] + rng.uniform(-hy, hy))
        dyaw = 0.0
    else:
        r = 0.5 * math.hypot(o.size[0], o.size[1])
        (x0, x1), (y0, y1) = table_region(support, r)
        xy = (rng.uniform(x0, x1), rng.uniform(y0, y1))
        dyaw = rng.uniform(-YAW_CHANGE_MAX, YAW_CHANGE_MAX)
    return place_params(scene, obj, xy, support, dyaw)


def sample_push_params(rng: np.random.Generator, max_distance: float = PUSH_DISTANCE[1]) -> np.ndarray:
    return np.array([rng.uniform(*PUSH_ANGLE), rng.uniform(PUSH_DISTANCE[0], max_distance)])


def sample_params(scene: Scene, step: SkeletonStep, rng: np.random.Generator) -> SkillCall:
    """Parameters for one skeleton step drawn from the robot's workspace: placements anywhere on
    the target support, pushes in any direction, drawer motions within their travel."""
    if step.type is SkillType.PICK_PLACE:
        obj, support = step.object_ids[0], step.object_ids[1]
        params = sample_place_params(scene, obj, support, rng)
    elif step.type is SkillType.PUSH:
        params = sample_push_params(rng)
    else:
        params = np.array([rng.uniform(*DRAWER_DISTANCE)])
    return SkillCall(step.type, step.object_ids, params)


# ---------------------------------------------------------------------------------------------
# Pre-training distribution


def _push_is_isolated(scene: Scene, obj: str, angle: float, distance: float) -> bool:
    """True if nothing movable lies in the corridor swept by pushing `obj` (plus a margin), so
    the push moves exactly one object: chain pushes are left out of pre-training."""
    o = scene.object(obj)
    d = np.array([math.cos(angle), math.sin(angle)])
    r = 0.5 * math.hypot(o.size[0], o.size[1])
    for other in scene.objects:
        if other.name == obj or not other.cls.is_movable:
            continue
        v = np.array(other.pos[:2]) - np.array(o.pos[:2])
        along = float(v @ d)
        across = abs(float(v[0] * d[1] - v[1] * d[0]))
        ro = 0.5 * math.hypot(other.size[0], other.size[1])
        if -r - ro < along < distance + 2 * r + ro + 0.05 and across < r + ro + 0.03:
            return False
    return True


@dataclass
class _TabletopScene:
    scene: Scene
    boxes: list[ObjectSpec]  # containers, cups and bags
    filled: set[str]  # names of boxes that hold something
    loose: list[str]  # graspable objects standing on a table


def _tabletop(rng: np.random.Generator, n_objects: int, real: bool) -> _TabletopScene:
    """The scenes of pre-training: loose objects and a few boxes, some holding items."""
    placer = _Placer(rng)
    objects = [ground(), *tables()]
    boxes: list[ObjectSpec] = []
    n_boxes = int(rng.integers(0, 3))
    for i in range(n_boxes):
        kind = (ObjectClass.CONTAINER, ObjectClass.CUP, ObjectClass.BAG)[int(rng.integers(3))]
        size = _vary(CUP if kind is ObjectClass.CUP else CONTAINER, rng, real)
        table = str(rng.choice(list(TABLE_CENTERS)))
        box = on_surface(f"{kind.value}_{i + 1}", kind, size, placer.place(table, size), surface_z=TABLE_TOP_Z)
        boxes.append(box)
        objects.append(box)
    # Some boxes start with contents (a cup: one capsule; a container or bag: up to two items on
    # opposite sides). A filled box is never the object of the skill below.
    count, filled = 0, set()
    for box in boxes:
        cap = 1 if box.cls is ObjectClass.CUP else 2
        for j in range(int(rng.integers(0, min(cap, n_objects - count) + 1))):
            count += 1
            name = f"object_{count}"
            if box.cls is ObjectClass.CUP:
                objects.append(inside(name, ObjectClass.CAPSULE, _capsule(rng, real), box,
                                      **_physics(rng, real)))
            else:
                size = _vary(CUBE, rng, real)
                off = box.size[1] / 2 - box.wall - size[1] / 2 - 0.005
                objects.append(inside(name, ObjectClass.CUBOID, size, box, (0.0, off if j == 0 else -off),
                                      **_physics(rng, real)))
            filled.add(box.name)
    loose: list[str] = []
    while count < n_objects:
        count += 1
        name = f"object_{count}"
        cls, size = _small_object(name, rng, real)
        if rng.random() < 0.25:
            cls, size = ObjectClass.CAPSULE, _capsule(rng, real)
        table = str(rng.choice(list(TABLE_CENTERS)))
        objects.append(on_surface(name, cls, size, placer.place(table, size), surface_z=TABLE_TOP_Z,
                                  **_physics(rng, real)))
        loose.append(name)
    return _TabletopScene(Scene(objects=objects), boxes, filled, loose)


def pretrain(rng: np.random.Generator, n_objects: int, real: bool = False) -> TaskSample:
    """Random tabletop scenes with one random skill whose effect never involves the interactions
    the tasks depend on (module docstring)."""
    top = _tabletop(rng, n_objects, real)
    scene, boxes, filled, loose = top.scene, top.boxes, top.filled, top.loose

    # The skill: pick-and-place of a loose object (onto a table or into a box), pick-and-place
    # of an EMPTY box, or an isolated push of a loose object.
    empty_boxes = [b.name for b in boxes if b.name not in filled]
    choices = []
    if loose:
        choices += ["place_table", "place_box", "push"]
    if empty_boxes:
        choices.append("move_box")
    kind = str(rng.choice(choices)) if choices else "none"
    skill = None
    if kind == "place_box" and boxes:
        obj = str(rng.choice(loose))
        box = boxes[int(rng.integers(len(boxes)))].name
        skill = SkillCall(SkillType.PICK_PLACE, (obj, box), sample_place_params(scene, obj, box, rng))
    elif kind == "move_box":
        box = str(rng.choice(empty_boxes))
        table = str(rng.choice(list(TABLE_CENTERS)))
        skill = SkillCall(SkillType.PICK_PLACE, (box, table), sample_place_params(scene, box, table, rng))
    elif kind == "push":
        for _ in range(20):
            obj = str(rng.choice(loose))
            params = sample_push_params(rng)
            if _push_is_isolated(scene, obj, *params):
                skill = SkillCall(SkillType.PUSH, (obj,), params)
                break
    if skill is None and loose:  # place on a table is always possible
        obj = str(rng.choice(loose))
        table = str(rng.choice(list(TABLE_CENTERS)))
        skill = SkillCall(SkillType.PICK_PLACE, (obj, table), sample_place_params(scene, obj, table, rng))
    if skill is None:
        raise SceneError("pre-training scene without a movable object")
    return _finish(TaskSample("pretrain", n_objects, scene, skill=skill,
                              skeleton=[SkeletonStep(skill.type, skill.object_ids)]))


def place(rng: np.random.Generator, n_objects: int, real: bool = False) -> TaskSample:
    """A pre-training-like task (the control of the experiments): put one loose object on the
    other table, or into an empty box. Everything it needs is in the pre-training distribution,
    so a pre-trained model should plan it well."""
    for _ in range(20):
        top = _tabletop(rng, n_objects, real)
        if top.loose:
            break
    else:
        raise SceneError("no loose object to place")
    scene = top.scene
    obj = str(rng.choice(top.loose))
    empty = [b.name for b in top.boxes if b.name not in top.filled and scene.object(b.name).cls is not ObjectClass.CUP]
    if empty and rng.random() < 0.5:
        target = str(rng.choice(empty))
        goal = [("inside", obj, target)]
    else:
        here = min(TABLE_CENTERS, key=lambda t: abs(TABLE_CENTERS[t][1] - scene.object(obj).pos[1]))
        target = "table_B" if here == "table_A" else "table_A"
        goal = [("on", obj, target)]
    return _finish(TaskSample("place", n_objects, scene, Goal.from_triples(goal),
                              [SkeletonStep(SkillType.PICK_PLACE, (obj, target))]))


# ---------------------------------------------------------------------------------------------
# The three tasks of A.2


def transport(rng: np.random.Generator, n_objects: int, real: bool = False) -> TaskSample:
    """Multi-object Transport: `n_objects` items in a container (or a bag) on table A; goal: the
    container on table B with every item still inside it, above table B, and *between two markers*
    standing at table B's far side: behind `marker_1` and in front of `marker_2` (A.9 front/behind
    compare centres along x). Skeleton: one pick-and-place of the container.

    Why the markers: without them any placement on table B succeeds by physics alone, whatever the
    model believes, and the task would not test the model (the first version did exactly that: the
    pre-trained model succeeded in 95 % of trials). With them, only a model that knows the items
    travel with their container can choose where to put it: a band of about 7 cm in a 30 cm window."""
    placer = _Placer(rng)
    cols = 2 if n_objects <= 4 else (3 if n_objects <= 6 else 4)
    rows = math.ceil(n_objects / cols)
    item = 0.04 if n_objects > 4 else 0.045
    pitch = item + 0.012
    cls = ObjectClass.BAG if rng.random() < 0.5 else ObjectClass.CONTAINER
    wall = 0.01
    size = (cols * pitch + 2 * wall + 0.02, rows * pitch + 2 * wall + 0.02, 0.07)
    box = on_surface(f"{cls.value}_1", cls, size, placer.place("table_A", size), surface_z=TABLE_TOP_Z,
                     wall=wall, **_physics(rng, real))
    objects = [ground(), *tables(), box]
    goal = [("on", box.name, "table_B")]
    for i in range(n_objects):
        r, c = divmod(i, cols)
        dxy = ((c - (cols - 1) / 2) * pitch, (r - (rows - 1) / 2) * pitch)
        name = f"item_{i + 1}"
        if real and rng.random() < 0.4:
            d = item * rng.uniform(0.85, 1.0)
            ocls, osize = ObjectClass.CYLINDER, (d, d, float(item * rng.uniform(1.0, 1.6)))
        else:
            ocls, osize = ObjectClass.CUBOID, (item, item, float(item * rng.uniform(0.9, 1.3)))
        objects.append(inside(name, ocls, osize, box, dxy, **_physics(rng, real)))
        goal += [("inside", name, box.name), ("above", name, "table_B"),
                 ("behind", name, "marker_1"), ("front", name, "marker_2")]
    # Markers at table B's far side (y 0.52: clear of every placement of the container there).
    # The items' centres spread ±spread around the container's along x; the band of container
    # positions that puts them all between the markers (2 cm dead band each side) is 6–8 cm wide.
    spread = (cols - 1) / 2 * pitch
    x1 = float(rng.uniform(0.22, 0.30))
    x2 = x1 + float(rng.uniform(0.06, 0.08)) + 2 * (spread + 0.02)
    for k, x in ((1, x1), (2, x2)):
        objects.append(on_surface(f"marker_{k}", ObjectClass.CUBOID, MARKER, (x, 0.52), surface_z=TABLE_TOP_Z,
                                  rgba=(0.9, 0.1, 0.1, 1.0), **_physics(rng, real)))
    scene = Scene(objects=objects)
    return _finish(TaskSample("transport", n_objects, scene, Goal.from_triples(goal),
                              [SkeletonStep(SkillType.PICK_PLACE, (box.name, "table_B"))]))


def organize(rng: np.random.Generator, n_objects: int, real: bool = False) -> TaskSample:
    """Hierarchical Tabletop Organization: `n_objects` capsules and (n+1)//2 cups on table A;
    some capsules already sit in their cups. Goal: every capsule in its cup, the cups on table B
    in a row (left to right in cup order). Skeleton: put each loose capsule in its cup, then
    move each cup to table B."""
    placer = _Placer(rng)
    n_cups = (n_objects + 1) // 2
    cups = []
    for j in range(n_cups):
        size = _vary(CUP, rng, real, 0.1)
        cups.append(on_surface(f"cup_{j + 1}", ObjectClass.CUP, size, placer.place("table_A", size),
                               surface_z=TABLE_TOP_Z, **_physics(rng, real)))
    objects = [ground(), *tables(), *cups]
    goal, loose_steps, in_cup = [], [], [0] * n_cups
    for i in range(n_objects):
        name = f"capsule_{i + 1}"
        cup = cups[i % n_cups]
        size = _capsule(rng, real)
        if in_cup[i % n_cups] == 0 and rng.random() < 0.5:
            objects.append(inside(name, ObjectClass.CAPSULE, size, cup, **_physics(rng, real)))
            in_cup[i % n_cups] += 1
        else:
            objects.append(on_surface(name, ObjectClass.CAPSULE, size, placer.place("table_A", size),
                                      surface_z=TABLE_TOP_Z, **_physics(rng, real)))
            loose_steps.append(SkeletonStep(SkillType.PICK_PLACE, (name, cup.name)))
        goal.append(("inside", name, cup.name))
    goal += [("on", c.name, "table_B") for c in cups]
    goal += [("left", cups[j + 1].name, cups[j].name) for j in range(n_cups - 1)]
    skeleton = loose_steps + [SkeletonStep(SkillType.PICK_PLACE, (c.name, "table_B")) for c in cups]
    return _finish(TaskSample("organize", n_objects, Scene(objects=objects), Goal.from_triples(goal), skeleton))


def packing(rng: np.random.Generator, n_objects: int, real: bool = False) -> TaskSample:
    """Constrained Packing: a shelf bay on table A holds n−1 books spread out along y with gaps,
    so that no free stretch fits the last book, which stands on table B. Goal: every book on the
    shelf, the shelf books in contact in a row. Skeleton: push the outermost book towards the
    others (it must push its neighbours together), then place the last book on the shelf.

    Layout across the bay (y): wall | book_1, gap, book_2, ..., book_m | pusher room | wall.
    The pusher room (PUSHER_ROOM) is narrower than a book, and so is every gap; after the books are
    pushed together the freed space, pusher room + (m−1)·gap, holds the last book."""
    n_shelf = n_objects - 1
    book = _vary(BOOK, rng, real, 0.1)
    # The gaps add up to 0.6-0.8 of a book's width whatever the number of books, so one push within
    # PUSH_DISTANCE closes them all (with one gap per pair of neighbours, 5 and 7 objects needed pushes of
    # 0.12-0.22 m, beyond the 0.15 m a push travels: experiments/RESULTS.md "Constrained Packing").
    gap = book[1] * rng.uniform(0.6, 0.8) / max(n_shelf - 1, 1)
    wall = 0.02
    inner = n_shelf * book[1] + (n_shelf - 1) * gap + PUSHER_ROOM + 0.003
    shelf_size = (0.22, inner + 2 * wall, 0.26)
    shelf_xy = (0.45, TABLE_CENTERS["table_A"][1] + 0.05)
    shelf = on_surface("shelf_1", ObjectClass.SHELF, shelf_size, shelf_xy, surface_z=TABLE_TOP_Z, wall=wall)
    board = TABLE_TOP_Z + wall
    y0 = shelf_xy[1] - inner / 2 + 0.003 + book[1] / 2
    objects = [ground(), *tables(), shelf]
    for i in range(n_shelf):
        objects.append(on_surface(f"book_{i + 1}", ObjectClass.CUBOID, book,
                                  (shelf_xy[0] - 0.01, y0 + i * (book[1] + gap)), surface_z=board,
                                  **_physics(rng, real)))
    last = f"book_{n_objects}"
    objects.append(on_surface(last, ObjectClass.CUBOID, book, _Placer(rng).place("table_B", book),
                              surface_z=TABLE_TOP_Z, **_physics(rng, real)))
    goal = [("on", f"book_{i + 1}", shelf.name) for i in range(n_objects)]
    goal += [("in_contact", f"book_{i + 1}", f"book_{i + 2}") for i in range(n_shelf - 1)]
    skeleton = [SkeletonStep(SkillType.PUSH, (f"book_{n_shelf}",)),
                SkeletonStep(SkillType.PICK_PLACE, (last, shelf.name))]
    return _finish(TaskSample("packing", n_objects, Scene(objects=objects), Goal.from_triples(goal), skeleton))


#: Registered distributions: name -> factory(rng, n_objects, real=False) -> TaskSample.
DISTRIBUTIONS: dict[str, Callable[..., TaskSample]] = {
    "pretrain": pretrain,
    "place": place,
    "transport": transport,
    "organize": organize,
    "packing": packing,
}
#: Object counts of the experiments (A.2); pre-training draws 2..7.
TASK_OBJECT_COUNTS = (3, 5, 7)
PRETRAIN_OBJECT_COUNTS = (2, 7)


def sample(distribution: str, rng: np.random.Generator, n_objects: int | None = None,
           real: bool = False, tries: int = 20) -> TaskSample:
    """Draw one valid sample; `n_objects=None` draws the count as the distribution does."""
    if distribution not in DISTRIBUTIONS:
        raise KeyError(f"unknown distribution '{distribution}'; choose from {sorted(DISTRIBUTIONS)}")
    if n_objects is None:
        lo, hi = PRETRAIN_OBJECT_COUNTS if distribution in ("pretrain", "place") else (min(TASK_OBJECT_COUNTS),
                                                                          max(TASK_OBJECT_COUNTS))
        n_objects = int(rng.integers(lo, hi + 1))
    last: Exception | None = None
    for _ in range(tries):
        try:
            return DISTRIBUTIONS[distribution](rng, n_objects, real=real)
        except SceneError as exc:  # a crowded draw: sample again
            last = exc
    raise SceneError(f"{distribution}: no valid scene with {n_objects} objects in {tries} draws ({last})")
