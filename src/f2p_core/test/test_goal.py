"""Goals (paper §3): parsing, round trip, validation errors that point at the bad token."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.goal import Goal, GoalAtom, GoalError, parse_goal
from f2p_core.relations import BINARY, UNARY, table_lookup

OBJECTS = ["table_A", "table_B", "cup_1", "capsule_1", "drawer_1", "book_1", "book_2"]


def test_parse_conjunction_of_binary_atoms():
    goal = parse_goal("on(cup_1, table_B) & inside(capsule_1, cup_1)", OBJECTS)
    assert goal.atoms == (GoalAtom("on", "cup_1", "table_B"), GoalAtom("inside", "capsule_1", "cup_1"))
    assert goal.text == "on(cup_1, table_B) & inside(capsule_1, cup_1)"
    assert goal.objects() == ["cup_1", "table_B", "capsule_1"]


@pytest.mark.parametrize(
    "expression",
    [
        "on(cup_1,table_B)∧inside(capsule_1,cup_1)",
        "on(cup_1, table_B) and inside(capsule_1, cup_1)",
        "on(cup_1, table_B) && inside(capsule_1, cup_1)",
        "(on(cup_1, table_B) & (inside(capsule_1, cup_1)))",
        "  on( cup_1 ,table_B )\n & inside(capsule_1, cup_1)  ",
    ],
)
def test_conjunction_spellings_are_equivalent(expression):
    assert parse_goal(expression, OBJECTS) == parse_goal("on(cup_1, table_B) & inside(capsule_1, cup_1)")


def test_negation_and_unary_atoms():
    goal = parse_goal("drawer_open(drawer_1) & not in_contact(book_1, book_2) & !on(cup_1, table_A)", OBJECTS)
    assert goal.atoms == (
        GoalAtom("drawer_open", "drawer_1"),
        GoalAtom("in_contact", "book_1", "book_2", negated=True),
        GoalAtom("on", "cup_1", "table_A", negated=True),
    )
    assert goal.text == "drawer_open(drawer_1) & not in_contact(book_1, book_2) & not on(cup_1, table_A)"
    assert parse_goal("¬ ~on(cup_1, table_A)").atoms == (GoalAtom("on", "cup_1", "table_A"),)  # double negation
    assert parse_goal("not (on(cup_1, table_A))").atoms[0].negated


@pytest.mark.parametrize(
    "expression",
    [
        "on(cup_1, table_B)",
        "drawer_open(drawer_1) & not in_contact(book_1, book_2)",
        "not movable(table_A) & left(book_2, book_1) & above(capsule_1, table_A) & not is_drawer(cup_1)",
    ],
)
def test_text_round_trip(expression):
    goal = parse_goal(expression, OBJECTS)
    assert parse_goal(goal.text, OBJECTS) == goal
    assert Goal.parse(goal.text).text == goal.text


def caret_column(err: GoalError) -> tuple[int, int]:
    """(column, width) of the carets in the error message's last line."""
    last = str(err).splitlines()[-1]
    stripped = last.lstrip(" \t")
    return len(last) - len(stripped) - 2, len(stripped)  # minus the 2-space indent


# (expression, objects, offending token, which occurrence of it, words of the reason)
MALFORMED = [
    ("onn(cup_1, table_B)", None, "onn", 0, "unknown relation 'onn'; did you mean 'on'"),
    ("on(cup_1, table_B) & inside(capsule_9, cup_1)", OBJECTS, "capsule_9", 0, "unknown object 'capsule_9'"),
    ("on(cup_1)", None, ")", 0, "takes 2 objects"),
    ("drawer_open(drawer_1, table_A)", None, "table_A", 0, "unary"),
    ("on(cup_1, table_B, table_A)", None, "table_A", 0, "takes 2 object"),
    ("", None, "", 0, "empty goal"),
    ("   ", None, "   ", 0, "empty goal"),
    ("on(cup_1, table_B) &", None, "&", 0, "expected a relation after '&'"),
    ("on(cup_1, table_B) & ", None, "&", 0, "expected a relation after '&'"),
    ("on(cup_1, table_B", None, "(", 0, "unbalanced parenthesis"),
    ("(on(cup_1, table_B) & left(book_1, book_2)", None, "(", 0, "unbalanced parenthesis"),
    ("on(cup_1, table_B))", None, ")", 1, "unbalanced parenthesis"),
    ("on(cup_1, table_B) inside(capsule_1, cup_1)", None, "inside", 0, "expected '&'"),
    ("& on(cup_1, table_B)", None, "&", 0, "expected a relation"),
    ("on cup_1", None, "on", 0, "needs its objects in parentheses"),
    ("on(cup_1,, table_B)", None, ",", 1, "expected an object name"),
    ("on()", None, ")", 0, "expected an object name"),
    ("on(cup_1 table_B)", None, "table_B", 0, "expected ',' or ')'"),
    ("on(cup_1, cup_1)", None, "cup_1", 1, "itself"),
    ("on(cup_1, table_B) & not on(cup_1, table_B)", None, "on(cup_1, table_B)", 1, "contradicts"),
    ("left(book_1, book_2) & left(book_1, book_2)", None, "left(book_1, book_2)", 1, "repeats"),
    ("not (on(cup_1, table_B) & left(book_1, book_2))", None, "not", 0, "negates one relation"),
    ("on(cup_1, table_B) & not", None, "not", 0, "expected a relation after 'not'"),
    ("on(cup_1, table_B) | left(book_1, book_2)", None, "|", 0, "unexpected character '|'"),
    ("()", None, "()", 0, "empty parentheses"),
]


@pytest.mark.parametrize(("expression", "objects", "token", "occurrence", "reason"), MALFORMED)
def test_malformed_goal_points_at_token(expression, objects, token, occurrence, reason):
    with pytest.raises(GoalError) as info:
        parse_goal(expression, objects)
    err = info.value
    assert isinstance(err, ValueError)
    assert reason in err.reason
    start = -1
    for _ in range(occurrence + 1):
        start = expression.index(token, start + 1)
    assert (err.start, err.token) == (start, token)
    lines = str(err).splitlines()
    assert lines[-2] == "  " + expression
    assert caret_column(err) == (start, max(1, len(token)))
    assert set(lines[-1].strip()) == {"^"}


def test_validate_goal_from_triples_points_into_its_text():
    goal = Goal.from_triples([("on", "cup_1", "table_B"), ("inside", "capsule_1", "mug_1")])
    with pytest.raises(GoalError) as info:
        goal.validate(OBJECTS)
    assert info.value.token == "mug_1" and info.value.expression == goal.text
    with pytest.raises(GoalError, match="unknown relation 'near'"):
        Goal.from_triples([("near", "cup_1", "table_B")]).validate()


def test_custom_vocabulary_and_empty_goal_object():
    goal = parse_goal("near(a, b) & lit(a)", unary=("lit",), binary=("near",))
    assert goal.text == "near(a, b) & lit(a)"
    with pytest.raises(GoalError, match="unknown relation 'on'"):
        parse_goal("on(a, b)", unary=("lit",), binary=("near",))
    with pytest.raises(GoalError, match="empty goal"):
        Goal(())
    with pytest.raises(ValueError, match="negated"):
        parse_goal("not on(a, b)").to_triples()


def test_index_and_atom_probabilities():
    names = ["table_B", "", "cup_1", "capsule_1", "drawer_1"]  # a padded row in the middle
    goal = parse_goal("on(cup_1, table_B) & drawer_open(drawer_1) & not inside(capsule_1, cup_1)")
    index = goal.index(names)
    assert index.unary_object.tolist() == [4] and index.unary_relation.tolist() == [UNARY.index("drawer_open")]
    assert index.binary_subject.tolist() == [2, 3] and index.binary_object.tolist() == [0, 2]
    assert index.binary_negated.tolist() == [False, True]
    unary = np.zeros((5, len(UNARY)))
    binary = np.zeros((5, 5, len(BINARY)))
    unary[4, UNARY.index("drawer_open")] = 0.7
    binary[2, 0, BINARY.index("on")] = 0.9
    binary[3, 2, BINARY.index("inside")] = 0.2
    np.testing.assert_allclose(index.atom_probabilities(unary, binary), [0.9, 0.7, 0.8])
    with pytest.raises(GoalError, match="unknown object 'cup_1'"):
        goal.index(["table_B", "capsule_1", "drawer_1"])


def test_unmet_atoms_honour_negation_and_unknown_objects():
    """The one goal check (`Goal.unmet`): over relation tables (`table_lookup`) and any other lookup."""
    names = ["table_A", "cup_1", "capsule_1"]
    unary = np.zeros((3, len(UNARY)), dtype=bool)
    binary = np.zeros((3, 3, len(BINARY)), dtype=bool)
    binary[1, 0, BINARY.index("on")] = True  # on(cup_1, table_A)
    unary[1, UNARY.index("movable")] = True
    holds = table_lookup(names, unary, binary)
    goal = parse_goal("on(cup_1, table_A) & movable(cup_1) & not inside(capsule_1, cup_1)", names)
    assert goal.unmet(holds) == [] and goal.holds(holds)
    binary[2, 1, BINARY.index("inside")] = True
    assert [a.text for a in goal.unmet(holds)] == ["not inside(capsule_1, cup_1)"]
    assert [a.text for a in parse_goal("on(cup_2, table_A)").unmet(holds)] == ["on(cup_2, table_A)"]  # not in the scene
    probs = binary.astype(float) * 0.6  # probabilities hold at THRESHOLD
    assert table_lookup(names, unary.astype(float), probs)("on", "cup_1", "table_A")
    assert not table_lookup(names, unary.astype(float), probs * 0.5)("on", "cup_1", "table_A")
