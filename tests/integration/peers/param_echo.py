"""A node that prints the name it was given and every parameter override it received, then exits.

The bringup passes parameters as ``--ros-args -p name:=value``; this peer shows what rcl made of
them (type and value), so the test checks the spelling against the real parser, not a guess.
Output: one JSON line ``{"node": NAME, "params": {name: [type, value]}}``.
"""

from __future__ import annotations

import json
import sys

import rclpy
from rclpy.parameter import Parameter


def main() -> int:
    rclpy.init(args=sys.argv)
    try:
        node = rclpy.create_node("param_echo", automatically_declare_parameters_from_overrides=True)
        params = {}
        for name, param in node.get_parameters_by_prefix("").items():
            if name in ("use_sim_time", "start_type_description_service"):  # declared by rclpy itself
                continue
            kind = param.type_
            value = param.value
            if kind in (Parameter.Type.BOOL_ARRAY, Parameter.Type.INTEGER_ARRAY, Parameter.Type.DOUBLE_ARRAY,
                        Parameter.Type.STRING_ARRAY):
                value = list(value)
            params[name] = [kind.name, value]
        print(json.dumps({"node": node.get_name(), "params": params}), flush=True)
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
