"""Where relations are drawn: ROS-free geometry and colours of the monitor's rviz markers and of
the `f2p demo` report images, so both show a step the same way.

A binary relation rel(A, B) is a line from A's box centre to B's, its name (and, when predicted,
its probability) as text at the middle; a unary relation is a short vertical line above its object.
Layers, each its own rviz namespace so it can be switched on and off:

* ``predicted``: relations the plan predicted after the step (p >= threshold), blue, lifted 2 cm;
* ``observed``: relations observed after it, green, at the centres;
* ``failures``: every mismatch between the two, red, lifted 4 cm, text ``rel(a, b): predicted p, observed x``.

Ids are stable for a fixed object list: they depend only on (relation, subject, object) indices, so
an updated array replaces the same markers in rviz instead of piling up new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from f2p_core.failure import Mismatch
from f2p_core.relations import BINARY, THRESHOLD, UNARY

OBJECTS, PREDICTED, OBSERVED, FAILURES = "objects", "predicted", "observed", "failures"
LAYERS = (OBJECTS, PREDICTED, OBSERVED, FAILURES)
LIFT = {PREDICTED: 0.02, OBSERVED: 0.0, FAILURES: 0.04}  # m, so coincident lines stay apart
UNARY_STEM = 0.06  # m, length of a unary relation's line above its object


@dataclass(frozen=True)
class Colour:
    r: float
    g: float
    b: float
    a: float = 1.0


COLOURS = {PREDICTED: Colour(0.2, 0.5, 1.0, 0.9), OBSERVED: Colour(0.2, 0.85, 0.3, 0.9),
           FAILURES: Colour(1.0, 0.1, 0.1, 1.0)}


@dataclass(frozen=True)
class RelationLine:
    """One drawn relation: a segment start -> end (m, world frame) with a label at `text_at`."""

    layer: str  # PREDICTED, OBSERVED or FAILURES (the rviz namespace)
    id: int  # stable within the layer
    relation: str
    subject: str
    object: str  # "" for unary relations
    start: np.ndarray  # (3,)
    end: np.ndarray  # (3,)
    text: str
    text_at: np.ndarray  # (3,)
    colour: Colour


def relation_id(relation: str, i: int, j: int, n: int) -> int:
    """Stable id of rel(names[i], names[j]) (j = -1 for unary) among n objects."""
    if relation in BINARY:
        return (BINARY.index(relation) * n + i) * n + j
    return len(BINARY) * n * n + UNARY.index(relation) * n + i


def _line(layer: str, relation: str, i: int, j: int, names: Sequence[str], centre: np.ndarray, top: np.ndarray,
          text: str) -> RelationLine:
    lift = np.array([0.0, 0.0, LIFT[layer]])
    if j < 0:
        start = np.array([centre[i, 0], centre[i, 1], top[i]]) + lift
        end = start + np.array([0.0, 0.0, UNARY_STEM])
        at = end
    else:
        start, end = centre[i] + lift, centre[j] + lift
        at = (start + end) / 2
    return RelationLine(layer, relation_id(relation, i, j, len(names)), relation, names[i], names[j] if j >= 0 else "",
                        start, end, text, at, COLOURS[layer])


def relation_lines(names: Sequence[str], box_lo: np.ndarray, box_hi: np.ndarray, relations: Sequence[str],
                   predicted: tuple[np.ndarray, np.ndarray] | None = None,
                   observed: tuple[np.ndarray, np.ndarray] | None = None,
                   mismatches: Sequence[Mismatch] = (), threshold: float = THRESHOLD) -> list[RelationLine]:
    """Lines of the relation types `relations` between the objects `names` with boxes (N, 3):
    predicted ((N, U), (N, N, R) probabilities), observed (booleans) and the mismatches."""
    n = len(names)
    lo, hi = np.asarray(box_lo, np.float64), np.asarray(box_hi, np.float64)
    if lo.shape != (n, 3) or hi.shape != (n, 3):
        raise ValueError(f"boxes of {n} objects must be (N, 3), got {lo.shape} and {hi.shape}")
    centre, top = (lo + hi) / 2, hi[:, 2]
    index = {name: k for k, name in enumerate(names)}
    out: list[RelationLine] = []
    for layer, state in ((PREDICTED, predicted), (OBSERVED, observed)):
        if state is None:
            continue
        unary, binary = (np.asarray(a) for a in state)
        for rel in relations:
            if rel in UNARY:
                values = unary[:, UNARY.index(rel)]
                for i in np.flatnonzero(values >= threshold if layer == PREDICTED else values.astype(bool)):
                    text = f"{rel} {values[i]:.2f}" if layer == PREDICTED else rel
                    out.append(_line(layer, rel, int(i), -1, names, centre, top, text))
            elif rel in BINARY:
                values = binary[:, :, BINARY.index(rel)]
                keep = values >= threshold if layer == PREDICTED else values.astype(bool)
                np.fill_diagonal(keep, False)
                for i, j in zip(*np.nonzero(keep), strict=True):
                    text = f"{rel} {values[i, j]:.2f}" if layer == PREDICTED else rel
                    out.append(_line(layer, rel, int(i), int(j), names, centre, top, text))
    for m in mismatches:
        if m.subject not in index or (m.object and m.object not in index):
            continue
        text = m.text()  # rel(a, b): predicted p, observed x
        out.append(_line(FAILURES, m.relation, index[m.subject], index[m.object] if m.object else -1, names, centre,
                         top, text))
    return out


__all__ = ["COLOURS", "FAILURES", "LAYERS", "OBJECTS", "OBSERVED", "PREDICTED", "Colour", "RelationLine",
           "relation_id", "relation_lines"]
