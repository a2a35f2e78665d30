"""Plan skeletons (paper §3, A.10): text and JSON forms, validation errors, model tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from f2p_core.skills import SKILL_NAMES, SkillType
from f2p_core.task import SkeletonStep
from f2p_planner.skeleton import Skeleton, SkeletonError, parse_skeleton
from f2p_sim.tasks import DISTRIBUTIONS

OBJECTS = ["table_A", "table_B", "cup_1", "book_3", "drawer_1"]
CLASSES = {"table_A": "table", "table_B": "table", "cup_1": "cup", "book_3": "cuboid", "drawer_1": "drawer"}


def test_parse_text_form():
    sk = parse_skeleton("pick_place(cup_1, table_B); push(book_3);open_drawer( drawer_1 )", OBJECTS, CLASSES)
    assert sk.steps == (
        SkeletonStep(SkillType.PICK_PLACE, ("cup_1", "table_B")),
        SkeletonStep(SkillType.PUSH, ("book_3",)),
        SkeletonStep(SkillType.OPEN_DRAWER, ("drawer_1",)),
    )
    assert sk.text == "pick_place(cup_1, table_B); push(book_3); open_drawer(drawer_1)"
    assert parse_skeleton(sk.text) == sk
    assert [s.acted for s in sk] == ["cup_1", "book_3", "drawer_1"]
    assert [s.target for s in sk] == ["table_B", "", ""]
    assert [s.n_params for s in sk] == [4, 2, 1]


def test_json_round_trip():
    sk = parse_skeleton("pick_place(cup_1, table_B); close_drawer(drawer_1)")
    data = sk.to_json()
    assert Skeleton.from_json(data) == sk
    assert sk.to_dicts()[0] == {"type": "pick_place", "object_ids": ["cup_1", "table_B"]}
    assert [s.to_dict() for s in sk.to_steps()] == sk.to_dicts()


@pytest.mark.parametrize("name", ["transport", "organize", "packing"])
def test_from_task_sample(name):
    sample = DISTRIBUTIONS[name](np.random.default_rng(5), 3)
    sk = Skeleton.from_task(sample)
    assert sk.to_dicts() == [s.to_dict() for s in sample.skeleton]


def test_to_tensors_uses_model_orders():
    names = ["table_A", "table_B", "cup_1", "", "book_3", "drawer_1"]  # padding keeps its row
    sk = parse_skeleton("push(book_3); pick_place(cup_1, table_B); close_drawer(drawer_1)")
    skills, acted = sk.to_tensors(names)
    assert skills.dtype == torch.long and acted.dtype == torch.long
    assert skills.tolist() == [SKILL_NAMES.index("push"), SKILL_NAMES.index("pick_place"),
                               SKILL_NAMES.index("close_drawer")]
    assert acted.tolist() == [4, 2, 5]
    with pytest.raises(SkeletonError, match="unknown object 'cup_1'"):
        sk.to_tensors(["table_A", "table_B", "book_3", "drawer_1"])
    with pytest.raises(ValueError, match="not in the model's skill types"):
        sk.to_tensors(names, skill_names=("pick_place", "push"))


# (text, offending token, which occurrence, words of the reason)
MALFORMED = [
    ("pick(cup_1, table_B)", "pick", 0, "unknown skill type 'pick'"),
    ("pick_place(cup_1, table_B); psh(book_3)", "psh", 0, "did you mean 'push'"),
    ("pick_place(cup_1, table_C)", "table_C", 0, "unknown object 'table_C'"),
    ("pick_place(cup_1)", ")", 0, "pick_place takes 2 objects"),
    ("push(book_3, cup_1)", "cup_1", 0, "push takes 1 object"),
    ("open_drawer(drawer_1, cup_1)", "cup_1", 0, "open_drawer takes 1 object"),
    ("pick_place(cup_1, table_B);", ";", 0, "expected a step after ';'"),
    ("pick_place(cup_1, table_B", "(", 0, "unbalanced parenthesis"),
    ("push(book_3))", ")", 1, "unbalanced parenthesis"),
    ("push(book_3) push(cup_1)", "push", 1, "expected ';'"),
    ("", "", 0, "empty skeleton"),
    ("push book_3", "push", 0, "needs its objects in parentheses"),
    ("pick_place(cup_1, cup_1)", "cup_1", 1, "on itself"),
    ("push(table_A)", "table_A", 0, "movable"),
    ("open_drawer(cup_1)", "cup_1", 0, "drawer"),
    ("; push(book_3)", ";", 0, "expected a skill"),
    ("push(book_3) & push(cup_1)", "&", 0, "expected ';'"),
]


@pytest.mark.parametrize(("text", "token", "occurrence", "reason"), MALFORMED)
def test_malformed_skeleton_points_at_token(text, token, occurrence, reason):
    with pytest.raises(SkeletonError) as info:
        parse_skeleton(text, OBJECTS, CLASSES)
    err = info.value
    assert reason in err.reason
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(token, start + 1)
    assert (err.start, err.token) == (start, token)
    lines = str(err).splitlines()
    assert lines[-2] == "  " + text
    assert lines[-1] == "  " + " " * start + "^" * max(1, len(token))


def test_json_errors_point_into_the_text_form():
    with pytest.raises(SkeletonError) as info:
        Skeleton.from_dicts([{"type": "push", "object_ids": ["book_3"]}, {"type": "lift", "object_ids": ["cup_1"]}])
    assert info.value.token == "lift" and info.value.expression == "push(book_3); lift(cup_1)"
    with pytest.raises(ValueError, match="'type' and 'object_ids'"):
        Skeleton.from_dicts([{"skill": "push"}])
    with pytest.raises(SkeletonError) as info:
        Skeleton.from_steps([SkeletonStep(SkillType.PICK_PLACE, ("cup_1",))])
    assert info.value.token == ")"
    with pytest.raises(SkeletonError, match="unknown object 'mug_1'"):
        parse_skeleton("push(mug_1)").validate(OBJECTS)
