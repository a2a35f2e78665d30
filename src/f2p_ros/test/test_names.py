"""The graph contract: names, types and QoS in one place, consistent with the interfaces."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from f2p_ros import names
from f2p_ros.qos import latched_qos, topic_qos


def test_every_endpoint_is_absolute_unique_and_its_type_imports():
    seen = set()
    for e in names.GRAPH:
        assert e.name.startswith("/f2p/") and e.name not in seen
        seen.add(e.name)
        assert e.kind in ("topic", "service", "action")
        pkg, kind, cls = e.type.split("/")
        assert kind == {"topic": "msg", "service": "srv", "action": "action"}[e.kind]
        assert hasattr(importlib.import_module(f"{pkg}.{kind}"), cls), e.type
        assert not (e.latched and e.kind != "topic")
    assert names.endpoint(names.SIM_TASK_TOPIC).latched and names.endpoint(names.MODEL_VERSION_TOPIC).latched


def test_every_name_constant_is_in_the_graph():
    constants = {v for k, v in vars(names).items() if k.endswith(("_TOPIC", "_ACTION", "_SERVICE"))}
    assert constants == {e.name for e in names.GRAPH}


def test_qos_follows_the_contract():
    latched = latched_qos()
    assert latched.durability == DurabilityPolicy.TRANSIENT_LOCAL and latched.depth == 1
    assert latched.reliability == ReliabilityPolicy.RELIABLE
    assert topic_qos(names.SIM_TASK_TOPIC).durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert topic_qos(names.FAILURES_TOPIC).durability == DurabilityPolicy.VOLATILE
    with pytest.raises(ValueError, match="not a topic"):
        topic_qos(names.EXECUTE_SKILL_ACTION)
    with pytest.raises(KeyError, match="not part of the f2p graph"):
        topic_qos("/f2p/nope")


def test_the_readme_table_is_the_contract():
    """src/f2p_ros/README.md documents the graph: its table must say what GRAPH says."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("/f2p/"):
            rows[cells[0]] = (cells[1], cells[2], cells[4] == "yes")
    assert rows == {e.name: (e.kind, e.type, e.latched) for e in names.GRAPH}
