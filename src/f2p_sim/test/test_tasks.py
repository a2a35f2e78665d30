"""Task distributions (A.2): valid, seeded, goals and skeletons that name real objects, the
pre-training distribution free of the interactions the tasks depend on, and every task solvable
in the simulator by a hand-chosen plan (so failures later are the model's, not the task's)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from f2p_core.classes import ObjectClass
from f2p_core.goal import Goal, parse_goal
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import SkillCall, SkillStatus, SkillType
from f2p_sim import tasks
from f2p_sim.skills import execute
from f2p_sim.transitions import world_relations
from f2p_sim.validate import validate
from f2p_sim.world import World


@pytest.mark.parametrize("name", sorted(tasks.DISTRIBUTIONS))
@pytest.mark.parametrize("n", tasks.TASK_OBJECT_COUNTS)
@pytest.mark.parametrize("real", [False, True])
def test_every_distribution_gives_valid_samples(name, n, real):
    for seed in range(4):
        sample = tasks.sample(name, np.random.default_rng(seed), n, real=real)
        validate(sample.scene)
        names = set(sample.scene.names)
        assert sample.skeleton, "a task needs a skeleton"
        for step in sample.skeleton:
            assert set(step.object_ids) <= names
        for rel, subj, obj in (sample.goal.to_triples() if sample.goal is not None else []):
            assert rel in BINARY or rel in UNARY
            assert subj in names and (obj == "" or obj in names)
        if name == "place":
            assert len(sample.goal) == 1 and sample.goal.atoms[0].relation in ("on", "inside")
        elif name != "pretrain":
            assert len(sample.goal) >= 2 and sample.goal_text.count("&") == len(sample.goal) - 1


def test_same_seed_same_scene():
    a = tasks.sample("organize", np.random.default_rng(7), 5, real=True)
    b = tasks.sample("organize", np.random.default_rng(7), 5, real=True)
    c = tasks.sample("organize", np.random.default_rng(8), 5, real=True)
    assert a.scene.to_json() == b.scene.to_json() != c.scene.to_json()


def test_unknown_distribution_is_named():
    with pytest.raises(KeyError, match="unknown distribution 'nope'"):
        tasks.sample("nope", np.random.default_rng(0))


def _inside_xy(o, box) -> bool:
    return all(abs(o.pos[k] - box.pos[k]) < box.size[k] / 2 for k in range(3))


def test_pretraining_never_moves_a_full_box_nor_chain_pushes():
    """The interactions the tasks depend on are absent from pre-training (DESIGN.md §4)."""
    kinds = set()
    for seed in range(150):
        sample = tasks.sample("pretrain", np.random.default_rng(seed))
        scene, call = sample.scene, sample.skill
        obj = scene.object(call.object_ids[0])
        kinds.add((call.type, obj.cls.is_open_box))
        if obj.cls.is_open_box:
            assert not any(_inside_xy(o, obj) for o in scene.objects if o.name != obj.name and o.cls.is_movable)
        if call.type is SkillType.PUSH:
            assert tasks._push_is_isolated(scene, obj.name, *call.params)
    # and the distribution does cover placing, moving empty boxes and pushing
    assert {(SkillType.PICK_PLACE, False), (SkillType.PICK_PLACE, True), (SkillType.PUSH, False)} <= kinds


def test_real_world_is_richer():
    sim = [tasks.sample("transport", np.random.default_rng(s), 5) for s in range(10)]
    real = [tasks.sample("transport", np.random.default_rng(s), 5, real=True) for s in range(10)]
    classes = lambda samples: {o.cls for s in samples for o in s.scene.objects}  # noqa: E731
    masses = lambda samples: {round(o.mass, 4) for s in samples for o in s.scene.objects if o.cls.is_movable}  # noqa: E731
    assert ObjectClass.CYLINDER in classes(real) and ObjectClass.CYLINDER not in classes(sim)
    assert len(masses(real)) > len(masses(sim))


def _run(world, call) -> SkillStatus:
    return execute(world, call).status


def test_transport_is_solvable():
    sample = tasks.sample("transport", np.random.default_rng(3), 3)
    world = World(sample.scene)
    assert not all(world_relations(world).holds(*g) for g in sample.goal.to_triples())
    step = sample.skeleton[0]
    mid = (sample.scene.object("marker_1").pos[0] + sample.scene.object("marker_2").pos[0]) / 2
    call = SkillCall(step.type, step.object_ids, tasks.place_params(sample.scene, step.object_ids[0], (mid, 0.3),
                                                                    "table_B"))
    assert _run(world, call) is SkillStatus.OK
    rel = world_relations(world)
    assert [g for g in sample.goal.to_triples() if not rel.holds(*g)] == []


def test_organize_is_solvable():
    sample = tasks.sample("organize", np.random.default_rng(0), 3)
    world = World(sample.scene)
    cups = [o.name for o in sample.scene.objects if o.cls is ObjectClass.CUP]
    for step in sample.skeleton:
        obj, target = step.object_ids
        now = world.to_scene()
        xy = (0.3, 0.15 + 0.3 * cups.index(obj) / max(1, len(cups) - 1)) if target == "table_B" \
            else now.object(target).pos[:2]
        assert _run(world, SkillCall(step.type, step.object_ids, tasks.place_params(now, obj, xy, target))) \
            is SkillStatus.OK
    rel = world_relations(world)
    assert [g for g in sample.goal.to_triples() if not rel.holds(*g)] == []


def test_packing_is_solvable_and_needs_the_push():
    sample = tasks.sample("packing", np.random.default_rng(0), 5)
    push, place = sample.skeleton
    books = [o for o in sample.scene.objects if o.name.startswith("book_") and o.name != place.object_ids[0]]
    gap = books[1].pos[1] - books[0].pos[1] - books[0].size[1]
    free = sample.scene.object("shelf_1").pos[1] + sample.scene.object("shelf_1").size[1] / 2 - 0.02 \
        - (books[-1].pos[1] + books[-1].size[1] / 2)
    assert free < books[0].size[1], "the last book must not fit before the push"
    world = World(sample.scene)
    assert _run(world, SkillCall(push.type, push.object_ids, [-math.pi / 2, gap * (len(books) - 1) + 0.005])) \
        is SkillStatus.OK
    now = world.to_scene()
    y = max(now.object(b.name).pos[1] + b.size[1] / 2 for b in books) + books[0].size[1] / 2 + 0.008
    params = tasks.place_params(now, place.object_ids[0], (books[0].pos[0], y), "shelf_1")
    assert _run(world, SkillCall(place.type, place.object_ids, params)) is SkillStatus.OK
    rel = world_relations(world)
    assert [g for g in sample.goal.to_triples() if not rel.holds(*g)] == []


@pytest.mark.parametrize("name", ["place", "transport", "organize", "packing"])
def test_no_task_starts_solved(name):
    for seed in range(3):
        sample = tasks.sample(name, np.random.default_rng(seed), 3)
        rel = world_relations(World(sample.scene))
        assert not all(rel.holds(*g) for g in sample.goal.to_triples()), f"{name} seed {seed} starts solved"


@pytest.mark.parametrize("name", ["transport", "organize", "packing"])
def test_from_triples_matches_task_goals(name):
    sample = tasks.DISTRIBUTIONS[name](np.random.default_rng(3), 3)
    goal = Goal.from_triples(sample.goal.to_triples())
    assert goal == sample.goal
    assert goal.text == sample.goal_text
    assert goal.to_triples() == [atom.key for atom in sample.goal]
    goal.validate([o.name for o in sample.scene.objects])
    assert parse_goal(sample.goal_text, [o.name for o in sample.scene.objects]) == goal
