"""The relation vocabulary of paper A.9 and the probability at which a predicted relation holds: the
one home of the names the simulator labels, the model predicts, goals name and the monitor compares.
How each relation is computed from geometry is `f2p_sim.relations`."""

from __future__ import annotations

__all__ = ["BINARY", "THRESHOLD", "UNARY", "relation_text"]

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
    """A relation in goal syntax (§3, `f2p_planner.goal`): `on(cup_1, table_B)`, `movable(cup_1)` for a unary
    one (`obj` ""). The one formatting of an atom: goals, unmet atoms, mismatches."""
    return f"{relation}({subject}, {obj})" if obj else f"{relation}({subject})"
