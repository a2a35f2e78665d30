"""Node parameters declared from one dataclass: the node's parameters are the fields of a plain
dataclass (ROS-free, beside the library config it fills), declared with the field defaults as the
parameter defaults, and the values read back build the dataclass, whose own checks then run. So a
parameter has one declaration: its field (name, type, default and comment), and a graph config that
names a parameter the dataclass lacks is an error (`unknown_parameters`, tested for every graph
config in `f2p_bringup/config`), not a value the node silently ignores.

Fields must be bool, int, float or str (what a ROS 2 parameter of a YAML scalar holds). Types are
strict as ROS 2's are: an integer where a float field is declared is an error (write `2.0`), which rclpy
would raise at the node's start."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_SCALARS = (bool, int, float, str)


def _field_types(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if kind not in _SCALARS:
            raise TypeError(f"{cls.__name__}.{f.name}: a node parameter must be bool, int, float or str, got {kind}")
        out[f.name] = kind
    return out


def defaults(cls: type) -> dict[str, Any]:
    """Field name -> default of a parameters dataclass (every field needs one: a node starts without a
    config file)."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} has no default")
        out[f.name] = f.default
    return out


def from_values(cls: type[T], values: Mapping[str, Any]) -> T:
    """The dataclass of `values` (name -> value), typed by its fields; ValueError naming an unknown name
    or a value of the wrong type (the dataclass's own `__post_init__` checks the rest)."""
    types = _field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} of {cls.__name__}; known: {sorted(types)}")
    typed = {}
    for name, value in values.items():
        kind = types[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            hint = " (write it with a decimal point)" if kind is float and isinstance(value, int) else ""
            raise ValueError(f"parameter {name!r} must be {kind.__name__}, got {value!r}{hint}")
        typed[name] = value
    return cls(**{**defaults(cls), **typed})


def declare(node, cls: type[T]) -> T:
    """Declare every field of `cls` as a parameter of the rclpy `node` (default: the field's) and return
    the dataclass of the values the node was started with."""
    _field_types(cls)
    values = {name: node.declare_parameter(name, default).value for name, default in defaults(cls).items()}
    return from_values(cls, values)


def unknown_parameters(cls: type, names: Iterable[str]) -> list[str]:
    """The `names` (a graph config's parameters of one node) that are not fields of `cls`."""
    known = {f.name for f in dataclasses.fields(cls)}
    return sorted(set(names) - known)


__all__ = ["declare", "defaults", "from_values", "unknown_parameters"]
