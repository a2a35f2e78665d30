"""Every f2p_msgs message and action part survives a CDR serialisation round trip, with every
field (nested messages and sequences included) set to a non-default value."""

from __future__ import annotations

import importlib
import pathlib

import pytest
from conftest import REPO
from rclpy.serialization import deserialize_message, serialize_message

MSG_DIR = REPO / "src/f2p_msgs/msg"
ACTION_DIR = REPO / "src/f2p_msgs/action"

SCALARS = {
    "string": "abc", "boolean": True, "float": 1.5, "double": -2.25, "octet": b"\x07",
    "char": "c", "int8": -3, "uint8": 7, "int16": -300, "uint16": 300, "int32": -70000,
    "uint32": 70000, "int64": -(2**40), "uint64": 2**40,
}


def _value(type_name: str, depth: int):
    if type_name.startswith("sequence<"):
        inner = type_name[len("sequence<"):-1].split(",")[0]
        return [_value(inner, depth), _value(inner, depth)]
    if type_name.endswith("]"):  # fixed-size array, e.g. double[9]
        inner, size = type_name[:-1].split("[")
        return [_value(inner, depth)] * int(size)
    if type_name in SCALARS:
        return SCALARS[type_name]
    pkg, name = type_name.split("/")
    module = importlib.import_module(f"{pkg}.msg")
    if hasattr(module, name):
        return _filled(getattr(module, name)(), depth + 1)
    action, part = name.rsplit("_", 1)  # action parts: PlanTask_Goal -> PlanTask.Goal
    return _filled(getattr(getattr(importlib.import_module(f"{pkg}.action"), action), part)(), depth + 1)


def _filled(msg, depth: int = 0):
    if depth > 4:
        return msg
    for field, type_name in msg.get_fields_and_field_types().items():
        setattr(msg, field, _value(type_name, depth))
    return msg


def _message_types():
    import f2p_msgs.action
    import f2p_msgs.msg

    types = [getattr(f2p_msgs.msg, p.stem) for p in sorted(MSG_DIR.glob("*.msg"))]
    for p in sorted(ACTION_DIR.glob("*.action")):
        action = getattr(f2p_msgs.action, p.stem)
        types += [action.Goal, action.Result, action.Feedback, action.Impl.SendGoalService.Request,
                  action.Impl.GetResultService.Response, action.Impl.FeedbackMessage]
    return types


def test_every_interface_is_listed():
    names = {t.__name__ for t in _message_types()}
    for expected in ("Relation", "SymbolicState", "ObjectSegment", "SegmentedScene", "Skill", "Plan",
                     "FailureEvent", "ModelVersion", "PlanTask_Goal", "ExecuteSkill_Result",
                     "ExecuteTask_Feedback", "LearnFromFailure_Feedback"):
        assert expected in names


@pytest.mark.parametrize("msg_type", _message_types(), ids=lambda t: t.__name__)
def test_round_trip(msg_type):
    msg = _filled(msg_type())
    assert msg != msg_type(), "the filler must change something"
    data = serialize_message(msg)
    back = deserialize_message(data, msg_type)
    assert back == msg


def test_units_and_frames_are_documented():
    """Each interface file says what it is for; pose, size and probability fields say their units."""
    for path in [*MSG_DIR.glob("*.msg"), *ACTION_DIR.glob("*.action")]:
        text = pathlib.Path(path).read_text()
        assert text.startswith("#"), f"{path.name}: no description comment"
        for line in text.splitlines():
            field = line.split("#")[0].split()
            if len(field) == 2 and any(k in field[1] for k in ("probability", "progress", "size", "pose")):
                assert "#" in line, f"{path.name}: '{line.strip()}' has no unit/range comment"
