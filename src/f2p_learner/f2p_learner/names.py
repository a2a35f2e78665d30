"""Enums of names (methods, relation sets, particle starts) parsed from configs, CLIs and parameters."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


def parse_name(cls: type[E], name: str | E, what: str) -> E:
    """`cls(name)`, or a ValueError that names `what` and every accepted value (one message for all)."""
    try:
        return cls(name)
    except ValueError:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(m.value for m in cls)}") from None
