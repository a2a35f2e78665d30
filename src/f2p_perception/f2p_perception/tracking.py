"""Identity tracking: the same object keeps its name from one observation to the next.

Why: the monitor compares the relations the plan predicted for `cup_1` with the relations observed
for `cup_1` after the skill (paper §4); a segmenter names segments afresh on every frame, so
without tracking a failure event would compare different objects.

Association (issue 8: "by class and position, robust to the moved object"), by the Hungarian
algorithm (`scipy.optimize.linear_sum_assignment`) in rounds:

1. Nothing moved: cost = distance between box centres, plus `class_penalty` when the classes
   differ; pairs further than `match_radius` are not matched.
2. Something moved (a skill carried one object, maybe with what was inside it): every leftover
   pair of the same class proposes a displacement d (the most often proposed ones are tried
   first, at most `max_hypotheses`); the leftovers are matched again with the remembered centres
   shifted by d, and the displacement that explains the most leftovers wins (a container and the
   items it carried move together, so one hypothesis matches them all). Repeated while it matches
   something (two objects moved independently).
3. What is still unmatched is new and gets a fresh name `<class>_<k>`, k one above any number
   used for that class so far; remembered objects not seen stay remembered for `max_missed`
   steps (a capsule hidden in its cup keeps its name when it shows again).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

_UNMATCHED = 1e6  # cost of a forbidden pair (linear_sum_assignment needs finite costs)


@dataclass(frozen=True)
class TrackerConfig:
    match_radius: float = 0.06  # m; a segment further than this from a remembered object is not it
    class_penalty: float = 0.03  # m added to the cost when the class changed (a misclassified frame)
    max_missed: int = 10  # steps an unseen object is remembered
    max_rounds: int = 3  # moved-group rounds (2.) per step
    max_hypotheses: int = 16  # displacements tried per round, the most often proposed first

    def __post_init__(self) -> None:
        if not (self.match_radius > 0 and self.class_penalty >= 0 and self.max_missed >= 0 and self.max_rounds >= 0
                and self.max_hypotheses >= 1):
            raise ValueError(f"invalid TrackerConfig {self}")


@dataclass
class Track:
    name: str
    cls: str
    centre: np.ndarray  # (3,) m
    missed: int = 0


class IdentityTracker:
    """Names segments consistently across observations (module docstring)."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config if config is not None else TrackerConfig()
        self.tracks: list[Track] = []
        self._counter: dict[str, int] = {}

    def reset(self) -> None:
        self.tracks, self._counter = [], {}

    def _cost(self, tracks: list[Track], classes: Sequence[str], centres: np.ndarray,
              shift: np.ndarray | None = None) -> np.ndarray:
        old = np.array([t.centre for t in tracks]).reshape(-1, 3)
        if shift is not None:
            old = old + shift
        cost = np.linalg.norm(old[:, None, :] - centres[None, :, :], axis=-1)  # (T, D)
        differ = np.array([[t.cls != c for c in classes] for t in tracks], bool).reshape(cost.shape)
        return cost + self.config.class_penalty * differ

    def _match(self, cost: np.ndarray) -> list[tuple[int, int]]:
        if cost.size == 0:
            return []
        gated = np.where(cost <= self.config.match_radius, cost, _UNMATCHED)
        rows, cols = linear_sum_assignment(gated)
        return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if gated[r, c] < _UNMATCHED]

    def _fresh(self, cls: str) -> str:
        k = self._counter.get(cls, 0) + 1
        self._counter[cls] = k
        return f"{cls}_{k}"

    def _remember(self, name: str, cls: str) -> None:
        m = re.fullmatch(r"(.+)_(\d+)", name)
        if m and m.group(1) == cls:
            self._counter[cls] = max(self._counter.get(cls, 0), int(m.group(2)))

    def assign(self, classes: Sequence[str], centres: np.ndarray, names: Sequence[str] | None = None) -> list[str]:
        """Names for the segments of one observation (classes (D,), box centres (D, 3)).

        `names` (a backend that knows them, e.g. sim_gt) are taken as they are and remembered.
        """
        centres = np.asarray(centres, np.float64).reshape(-1, 3)
        if len(classes) != len(centres):
            raise ValueError(f"{len(classes)} classes for {len(centres)} centres")
        if not np.isfinite(centres).all():
            raise ValueError("segment centres must be finite")
        if names is not None:
            out = list(names)
        else:
            out = self._associate(list(classes), centres)
        seen = set(out)
        kept = [t for t in self.tracks if t.name not in seen]
        for t in kept:
            t.missed += 1
        self.tracks = [t for t in kept if t.missed <= self.config.max_missed]
        for name, cls, c in zip(out, classes, centres, strict=True):
            self.tracks.append(Track(name, cls, c.copy()))
            self._remember(name, cls)
        return out

    def _hypotheses(self, tracks: list[Track], classes: list[str], centres: np.ndarray) -> list[np.ndarray]:
        """Displacements proposed by same-class (track, segment) pairs, the most often proposed
        first (a container and its items moved together propose the same one), at most
        `max_hypotheses`: a noisy frame with hundreds of segments must not cost T²D²."""
        shifts = [centres[d] - t.centre for t in tracks for d, c in enumerate(classes) if c == t.cls]
        if not shifts:
            return []
        shifts = np.array(shifts)
        cells = np.round(shifts / self.config.match_radius).astype(np.int64)
        _, first, counts = np.unique(cells, axis=0, return_index=True, return_counts=True)
        order = np.lexsort((first, -counts))[: self.config.max_hypotheses]
        return [shifts[first[k]] for k in order]

    def _associate(self, classes: list[str], centres: np.ndarray) -> list[str]:
        out: list[str | None] = [None] * len(classes)
        free_t = list(range(len(self.tracks)))
        free_d = list(range(len(classes)))
        # 1. nothing moved
        for r, c in self._match(self._cost(self.tracks, classes, centres)):
            out[c] = self.tracks[r].name
        free_t = [t for t in free_t if self.tracks[t].name not in out]
        free_d = [d for d in free_d if out[d] is None]
        # 2. one group moved by one displacement, round after round
        for _ in range(self.config.max_rounds):
            if not free_t or not free_d:
                break
            tr = [self.tracks[t] for t in free_t]
            cl = [classes[d] for d in free_d]
            ce = centres[free_d]
            best: tuple[int, float, list[tuple[int, int]]] = (0, 0.0, [])
            for shift in self._hypotheses(tr, cl, ce):
                cost = self._cost(tr, cl, ce, shift)
                pairs = self._match(cost)
                total = float(sum(cost[a, b] for a, b in pairs))
                if (len(pairs), -total) > (best[0], -best[1]):
                    best = (len(pairs), total, pairs)
            if not best[2]:
                break
            for a, b in best[2]:
                out[free_d[b]] = tr[a].name
            free_t = [free_t[a] for a in range(len(free_t)) if a not in {p[0] for p in best[2]}]
            free_d = [free_d[b] for b in range(len(free_d)) if b not in {p[1] for p in best[2]}]
        # 3. new objects, named in a fixed order (class, then x, then y) so names are reproducible
        for d in sorted(free_d, key=lambda d: (classes[d], centres[d, 0], centres[d, 1])):
            out[d] = self._fresh(classes[d])
        return [str(n) for n in out]
