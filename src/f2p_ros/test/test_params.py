"""Node parameters declared from one dataclass (`f2p_ros.params`), on a real rclpy node."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter

from f2p_ros.params import declare, defaults, from_values, unknown_parameters


@dataclass(frozen=True)
class Toy:
    name: str = "models"
    count: int = 3
    rate: float = 0.5
    on: bool = True

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")


def test_values_are_typed_checked_and_named():
    assert from_values(Toy, {}) == Toy()
    assert from_values(Toy, {"rate": 2.0, "count": 4}) == Toy(rate=2.0, count=4)
    for values, message in (({"cuont": 1}, "unknown parameter(s) ['cuont']"), ({"count": 1.5}, "'count' must be int"),
                            ({"count": True}, "'count' must be int"),
                            ({"rate": 2}, "'rate' must be float, got 2 (write it with a decimal point)"),
                            ({"on": 1}, "'on' must be bool"),
                            ({"count": -1}, "count must be >= 0")):
        with pytest.raises(ValueError, match=re.escape(message)):
            from_values(Toy, values)
    assert unknown_parameters(Toy, ["count", "rate", "spam"]) == ["spam"]
    assert defaults(Toy) == {"name": "models", "count": 3, "rate": 0.5, "on": True}


def test_a_node_declares_every_field_and_reads_its_overrides():
    rclpy.init(domain_id=random.randint(150, 199))
    try:
        node = Node("params_test", parameter_overrides=[Parameter("count", value=7), Parameter("name", value="x")])
        try:
            got = declare(node, Toy)
            assert got == Toy(name="x", count=7)
            assert all(node.has_parameter(name) for name in defaults(Toy))
            assert node.get_parameter("rate").value == 0.5
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown()
