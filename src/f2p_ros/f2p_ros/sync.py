"""Pairing the messages of one capture: a labelled cloud and its label map (or a scene and its
observed relations) share a header stamp, but travel on separate topics and may arrive in any
order. `StampPairer` matches them exactly by stamp; ROS-free, so it is tested without DDS."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, TypeVar

A = TypeVar("A")
B = TypeVar("B")


class StampPairer(Generic[A, B]):
    """Holds the last `keep` unmatched items of each side keyed by stamp; `add_first` /
    `add_second` return the (first, second) pair once both sides of a stamp have arrived, and
    forget everything at or before that stamp (an older capture can no longer be the latest)."""

    def __init__(self, keep: int = 4) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.keep = keep
        self._sides: tuple[OrderedDict[Any, Any], OrderedDict[Any, Any]] = (OrderedDict(), OrderedDict())

    def add_first(self, key, item: A) -> tuple[A, B] | None:
        return self._add(0, key, item)

    def add_second(self, key, item: B) -> tuple[A, B] | None:
        return self._add(1, key, item)

    def pending(self) -> tuple[int, int]:
        return len(self._sides[0]), len(self._sides[1])

    def _add(self, side: int, key, item):
        mine, other = self._sides[side], self._sides[1 - side]
        if key in other:
            match = other[key]
            for d in self._sides:
                for k in [k for k in d if k <= key]:
                    del d[k]
            return (item, match) if side == 0 else (match, item)
        mine[key] = item
        while len(mine) > self.keep:
            mine.popitem(last=False)
        return None
