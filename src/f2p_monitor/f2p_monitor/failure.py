"""Failure detection (paper §4): the relations a plan predicted after step k (R'_k) against the
relations observed after it (R̂_k). A mismatch on a relation that counts is a failure event
F = (O^F, R^F, φ^F, R^F') with O^F = O_{k−1}, R^F = R̂_{k−1}, R^F' = R̂_k.

Which relations count is a parameter (`DetectionConfig`): by default the relation types the goal
mentions (a planner is only judged on what it planned for), over every pair of perceived objects;
`relations="all"` compares the whole vocabulary. A predicted relation holds when its probability
is at least `threshold` (0.5). Observed relations are boolean: in simulation the ground truth of
A.9 read off the simulator; on a robot the relations of the perceived boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2p_core.failure import Mismatch
from f2p_core.relations import BINARY, THRESHOLD, UNARY


@dataclass(frozen=True)
class DetectionConfig:
    relations: tuple[str, ...] | str = "goal"  # "goal", "all", or explicit relation names
    threshold: float = THRESHOLD  # predicted probability at which a relation counts as predicted true

    def __post_init__(self) -> None:
        if isinstance(self.relations, str):
            if self.relations not in ("goal", "all"):
                raise ValueError(f"relations must be 'goal', 'all' or a tuple of names, got {self.relations!r}")
        else:
            unknown = sorted(set(self.relations) - set(UNARY) - set(BINARY))
            if unknown:
                raise ValueError(f"unknown relations {unknown}; known: {UNARY + BINARY}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")

    def names(self, goal_relations: set[str]) -> tuple[str, ...]:
        if self.relations == "all":
            return tuple(UNARY) + tuple(BINARY)
        if self.relations == "goal":
            return tuple(r for r in (*UNARY, *BINARY) if r in goal_relations)
        return tuple(self.relations)


def compare(predicted_unary: np.ndarray, predicted_binary: np.ndarray, observed_unary: np.ndarray,
            observed_binary: np.ndarray, names: list[str], relations: tuple[str, ...],
            threshold: float = THRESHOLD) -> list[Mismatch]:
    """Mismatches between predicted probabilities (N, U) / (N, N, R) and observed booleans of the
    same shapes, restricted to `relations`; objects in `names` order, diagonal ignored."""
    n = len(names)
    for arr, shape in ((predicted_unary, (n, len(UNARY))), (observed_unary, (n, len(UNARY))),
                       (predicted_binary, (n, n, len(BINARY))), (observed_binary, (n, n, len(BINARY)))):
        if arr.shape != shape:
            raise ValueError(f"relation array of shape {arr.shape}, expected {shape} for {n} objects")
    if not (np.isfinite(predicted_unary).all() and np.isfinite(predicted_binary).all()):
        raise ValueError("predicted relation probabilities contain NaN or inf")
    out = []
    for r in relations:
        if r in UNARY:
            k = UNARY.index(r)
            for i in np.flatnonzero((predicted_unary[:, k] >= threshold) != observed_unary[:, k].astype(bool)):
                out.append(Mismatch(r, names[i], "", float(predicted_unary[i, k]), bool(observed_unary[i, k])))
        else:
            k = BINARY.index(r)
            diff = (predicted_binary[:, :, k] >= threshold) != observed_binary[:, :, k].astype(bool)
            np.fill_diagonal(diff, False)
            for i, j in zip(*np.nonzero(diff), strict=True):
                out.append(Mismatch(r, names[i], names[j], float(predicted_binary[i, j, k]),
                                    bool(observed_binary[i, j, k])))
    return out
