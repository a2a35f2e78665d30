"""ROS 2 parameter values without rclpy: which Python values are legal, and how to spell them.

The graph config (``config/*.yaml``) is read by two consumers that must agree: ``ros2 launch``
(which writes a params file) and ``f2p bringup`` (which passes ``--ros-args -p name:=value``).
A value that one of them would coerce differently from the other (``"true"`` read back as a
bool, ``0`` given to a node that declared a double) is the classic way the two drift apart, so
values are restricted here to what a ROS parameter can hold, and the ``-p`` spelling quotes
every string so rcl never re-types it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

#: A scalar ROS parameter value (rcl_interfaces/ParameterType: BOOL, INTEGER, DOUBLE, STRING).
Scalar = bool | int | float | str
#: Any value a graph config may give a parameter: a scalar or a non-empty homogeneous list.
ParamValue = bool | int | float | str | list[bool] | list[int] | list[float] | list[str]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: One segment of a (possibly dotted) parameter name, as rcl accepts it.
NAME_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ParamError(ValueError):
    """A value or name that cannot be a ROS parameter; the message says why and what to write."""


def type_name(value: object) -> str:
    """The ROS-side name of a value's type, for messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        inner = sorted({type_name(v) for v in value})
        return f"list of {'/'.join(inner) or 'nothing'}"
    return type(value).__name__


def a_type(value: object) -> str:
    """``a string`` / ``an integer``: the type name with its article, for messages."""
    name = type_name(value)
    return ("an " if name[0] in "aeiou" else "a ") + name


def check_name(name: str) -> str:
    """Return ``name`` if it is a legal (dotted) parameter name, else raise ParamError."""
    if not isinstance(name, str) or not name or not all(NAME_SEGMENT.match(s) for s in name.split(".")):
        raise ParamError(f"{name!r} is not a ROS parameter name (letters, digits, '_', segments joined by '.')")
    return name


def _check_scalar(value: object) -> Scalar:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ParamError(f"integer {value} does not fit a ROS INTEGER (64-bit)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParamError(f"{value} is not a finite double")
        return value
    if value is None:
        raise ParamError("null is not a ROS parameter value (give a typed value; Jazzy and newer reject None)")
    raise ParamError(f"a {type(value).__name__} is not a ROS parameter type "
                     "(bool, integer, double, string, or a list of one of them)")


def check_value(value: object) -> ParamValue:
    """Return ``value`` if a ROS parameter can hold it, else raise ParamError.

    Lists must be non-empty (rcl cannot type an empty list) and homogeneous: ROS has no mixed
    arrays, and silently promoting ``[1, 2.5]`` would hide that the author meant doubles.
    """
    if isinstance(value, (list, tuple)):
        if not value:
            raise ParamError("an empty list has no ROS type; leave the parameter out to keep the node's default")
        items = [_check_scalar(v) for v in value]
        kinds = {type_name(v) for v in items}
        if len(kinds) > 1:
            hint = " (write every number with a decimal point, e.g. 1.0)" if kinds == {"integer", "double"} else ""
            raise ParamError(f"a ROS list holds one type, this one mixes {' and '.join(sorted(kinds))}{hint}")
        return items
    return _check_scalar(value)


def flatten(params: Mapping[str, object], prefix: str = "") -> dict[str, ParamValue]:
    """Nested mappings become dotted names, as in a ROS params file (``a: {b: 1}`` is ``a.b``)."""
    out: dict[str, ParamValue] = {}
    for key, value in params.items():
        name = check_name(f"{prefix}{key}")
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = check_value(value)
    return out


def _cli_scalar(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # shortest round-trip form, always with '.', 'e' (1e-05) or both
    # A double-quoted YAML scalar (JSON's escaping is valid YAML): rcl keeps quoted scalars as
    # strings, so "true", "3" or "" stay strings instead of becoming a bool, an int or null.
    return json.dumps(value, ensure_ascii=False)


def cli_value(value: ParamValue) -> str:
    """The right-hand side of ``-p name:=value`` that rcl parses back to exactly ``value``."""
    if isinstance(value, list):
        return "[" + ", ".join(_cli_scalar(v) for v in value) + "]"
    return _cli_scalar(value)


def coerce_override(old: ParamValue | None, new: object, raw: str) -> ParamValue:
    """Type an override (``--set node.param=raw``, ``new`` = ``raw`` read as YAML) like the value it replaces.

    Why: a node declares each parameter with a typed default and rejects an override of
    another type. ``--set sim_robot.noise_sigma=0`` must stay a double, ``--set
    monitor.relations=on`` a string (YAML 1.1 reads ``on`` as true). Widening int -> double and
    anything -> string are the only changes made; every other mismatch is an error.
    """
    if old is None:
        return check_value(new)
    if isinstance(old, str):
        return new if isinstance(new, str) else raw
    if isinstance(old, list):
        if not isinstance(new, list):
            raise ParamError(f"expected {a_type(old)} like {cli_value(old)}, got {raw!r}")
        if old and isinstance(old[0], str):
            return check_value([v if isinstance(v, str) else json.dumps(v) for v in new])
        if old and isinstance(old[0], float):
            new = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in new]
        value = check_value(new)
        if old and type_name(value) != type_name(old):
            raise ParamError(f"expected {a_type(old)}, got {a_type(value)} ({raw!r})")
        return value
    if isinstance(old, float) and isinstance(new, int) and not isinstance(new, bool):
        return float(new)
    value = check_value(new)
    if type_name(value) != type_name(old):
        raise ParamError(f"expected {a_type(old)} like {cli_value(old)}, got {a_type(value)} ({raw!r})")
    return value
