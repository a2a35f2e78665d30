"""The relation vocabulary of paper A.9 and the probability at which a predicted relation holds: the
one home of the names the simulator labels, the model predicts, goals name and the monitor compares.
How each relation is computed from geometry is `f2p_sim.relations`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["BINARY", "THRESHOLD", "UNARY", "RelationLookup", "relation_text", "table_lookup"]

UNARY: tuple[str, ...] = ("movable", "is_drawer", "drawer_open")
"""Unary relation vocabulary (A.9), in the column order of `f2p_sim.relations.RelationSet.unary`."""

BINARY: tuple[str, ...] = (
    "left",
    "right",
    "front",
    "behind",
    "above",
    "below",
    "in_contact",
    "boundary",
    "inside",
    "on",
)
"""Binary relation vocabulary (A.9), in the last-axis order of `f2p_sim.relations.RelationSet.binary`."""

THRESHOLD: float = 0.5
"""A predicted relation holds when its probability is at least this (the relations are Bernoulli
variables, §3): the planner's goal check, the monitor's comparison (its default), detection F1."""


def relation_text(relation: str, subject: str, obj: str = "") -> str:
    """A relation in goal syntax (§3, `f2p_core.goal`): `on(cup_1, table_B)`, `movable(cup_1)` for a unary
    one (`obj` ""). The one formatting of an atom: goals, unmet atoms, mismatches."""
    return f"{relation}({subject}, {obj})" if obj else f"{relation}({subject})"


RelationLookup = Callable[[str, str, str], "bool | None"]
"""`holds(relation, subject, object)` -> whether the relation holds (`object` "" for a unary one), or None
where it cannot be told (an object not in the scene): what a goal is checked against (`Goal.unmet`)."""


def table_lookup(names: Sequence[str], unary: np.ndarray, binary: np.ndarray) -> RelationLookup:
    """A `RelationLookup` over relation tables of one scene: `unary` (N, U) and `binary` (N, N, R) truth
    values (or probabilities, read as holding at `THRESHOLD`) with the objects ordered as `names`; an
    object not among `names` cannot be told (None)."""
    index = {n: i for i, n in enumerate(names)}

    def holds(relation: str, subject: str, obj: str = "") -> bool | None:
        if subject not in index or (obj and obj not in index):
            return None
        i = index[subject]
        value = binary[i, index[obj], BINARY.index(relation)] if obj else unary[i, UNARY.index(relation)]
        return bool(value >= THRESHOLD) if np.issubdtype(np.asarray(value).dtype, np.floating) else bool(value)

    return holds
