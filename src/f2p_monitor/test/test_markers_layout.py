"""Where the monitor draws relations (rviz and the demo's images): one line per true relation and
layer, stable ids, mismatches in red with their numbers."""

from __future__ import annotations

import numpy as np

from f2p_core.failure import Mismatch
from f2p_core.relations import BINARY, UNARY
from f2p_monitor.markers_layout import COLOURS, FAILURES, OBSERVED, PREDICTED, relation_id, relation_lines

NAMES = ["table_B", "cup_1", "capsule_1"]
LO = np.array([[0.0, 0.0, 0.0], [0.1, 0.1, 0.45], [0.12, 0.12, 0.46]])
HI = np.array([[0.6, 0.6, 0.45], [0.2, 0.2, 0.55], [0.14, 0.14, 0.48]])


def state(true: list[tuple[str, int, int]], value: float | bool = True):
    u = np.zeros((3, len(UNARY)), dtype=type(value))
    b = np.zeros((3, 3, len(BINARY)), dtype=type(value))
    for rel, i, j in true:
        if j < 0:
            u[i, UNARY.index(rel)] = value
        else:
            b[i, j, BINARY.index(rel)] = value
    return u, b


def test_lines_per_layer_with_stable_ids_and_red_mismatches():
    predicted = state([("on", 1, 0), ("inside", 2, 1)], 0.9)
    observed = state([("on", 1, 0), ("movable", 1, -1)])
    miss = [Mismatch("inside", "capsule_1", "cup_1", 0.9, False)]
    lines = relation_lines(NAMES, LO, HI, ("on", "inside", "movable"), predicted, observed, miss)
    by_layer = {layer: [ln for ln in lines if ln.layer == layer] for layer in (PREDICTED, OBSERVED, FAILURES)}
    assert [(ln.relation, ln.subject, ln.object) for ln in by_layer[PREDICTED]] == [
        ("on", "cup_1", "table_B"), ("inside", "capsule_1", "cup_1")]
    assert by_layer[PREDICTED][0].text == "on 0.90" and by_layer[PREDICTED][0].colour == COLOURS[PREDICTED]
    assert {(ln.relation, ln.object) for ln in by_layer[OBSERVED]} == {("on", "table_B"), ("movable", "")}
    (fail,) = by_layer[FAILURES]
    assert fail.colour.r == 1.0 and fail.text == "inside(capsule_1, cup_1): predicted 0.90, observed False"
    on = by_layer[PREDICTED][0]
    lift = np.array([0, 0, 0.02])
    assert np.allclose(on.start, (LO[1] + HI[1]) / 2 + lift) and np.allclose(on.end, (LO[0] + HI[0]) / 2 + lift)
    unary = next(ln for ln in by_layer[OBSERVED] if ln.relation == "movable")
    assert np.isclose(unary.start[2], HI[1, 2]) and unary.end[2] > unary.start[2]
    # ids depend on (relation, subject, object) only, and never collide within a layer
    assert on.id == relation_id("on", 1, 0, 3) == by_layer[OBSERVED][0].id
    ids = {relation_id(r, i, j, 3) for r in BINARY for i in range(3) for j in range(3)}
    ids |= {relation_id(r, i, -1, 3) for r in UNARY for i in range(3)}
    assert len(ids) == len(BINARY) * 9 + len(UNARY) * 3


def test_only_the_compared_relations_are_drawn_and_the_diagonal_never():
    predicted = state([("left", 0, 1), ("on", 1, 0)], 0.7)
    predicted[1][2, 2, BINARY.index("on")] = 0.9  # a diagonal entry: no line
    lines = relation_lines(NAMES, LO, HI, ("on",), predicted, None)
    assert [(ln.relation, ln.subject) for ln in lines] == [("on", "cup_1")]
