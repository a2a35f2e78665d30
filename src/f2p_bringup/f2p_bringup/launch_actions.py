"""``ros2 launch`` support: the graph config turned into ``launch_ros.actions.Node`` actions.

``launch/sim.launch.py`` and ``launch/robot.launch.py`` are three lines each and call
``graph_launch_description`` here, so both graphs share one implementation and the YAML is read
by the same ``graph_config`` loader as ``f2p bringup``. The part that needs no ROS
(``node_action_kwargs``: YAML -> keyword arguments of ``Node``) is tested in the pip-only
workspace; ``launch`` and ``launch_ros`` are imported only inside the functions that build
actions, because they exist on a full ROS 2 distro only (``ROS2_PIP.md`` §5).

Written against the Humble API (and unchanged through Kilted): ``Node(package=, executable=,
name=, parameters=, remappings=, **ExecuteProcess kwargs)`` with ``additional_env``, ``output``,
``emulate_tty``, ``respawn``, ``respawn_delay`` and ``on_exit`` (``Shutdown(reason=)``);
``DeclareLaunchArgument``, ``OpaqueFunction``, ``LaunchConfiguration.perform``; ``ParameterValue(value,
value_type=...)``.
"""

from __future__ import annotations

import os
from pathlib import Path

from f2p_bringup.graph_config import (
    GraphConfig,
    NodeSpec,
    apply_overrides,
    check_parameters,
    load_graph,
    split_overrides,
    with_recorder,
)

#: Launch arguments both launch files declare: (name, description). The config default is set per file.
ARGUMENTS = (
    ("config", "graph config YAML (schema: f2p_bringup.graph_config)"),
    ("set", "parameter overrides 'node.param=value ...' (space separated), as f2p bringup --set"),
    ("record", "record every topic of the graph to an MCAP bag in this new directory, as f2p bringup --record "
               "(empty: no recording)"),
)


def default_config(launch_file: str, graph: str) -> str:
    """``<share>/f2p_bringup/config/<graph>.yaml`` next to the launch file's folder.

    Resolved from the launch file's own path rather than through ament_index so that it works the
    same from the source tree, a ``--symlink-install`` and a copied install.
    """
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(launch_file)), "..", "config",
                                         f"{graph}.yaml"))


def node_action_kwargs(graph: GraphConfig, node: NodeSpec) -> dict:
    """Keyword arguments of ``launch_ros.actions.Node`` for one node of the graph (ROS-free).

    Parameters are passed as one dict (launch_ros writes it to a params file); string values are
    marked so the launch file can wrap them in ``ParameterValue(..., value_type=str)`` — launch_ros
    otherwise re-reads a string as YAML and would turn ``"true"`` into a bool (see
    ``_typed_parameters``).
    """
    kwargs: dict = {
        "package": node.package,
        "executable": node.executable,
        "name": node.name,
        "parameters": [dict(node.parameters)] if node.parameters else [],
        "remappings": list(node.remappings),
        "additional_env": graph.node_env(node.name),
        "output": "screen",
        "emulate_tty": True,  # line-buffered, coloured ROS logs on the terminal
    }
    if node.respawn:
        kwargs["respawn"] = True
        kwargs["respawn_delay"] = node.respawn_delay_s
    # like f2p bringup: a required node that exits (and is not respawned) stops the graph; `graph_launch_description`
    # turns this into on_exit=Shutdown (launch's own default keeps the others running)
    kwargs["shutdown_on_exit"] = node.required and not node.respawn
    return kwargs


def graph_node_kwargs(config_path: str | os.PathLike, overrides: str = "", record: str = "") -> list[dict]:
    """Read the config, apply ``set:=`` overrides, add the recorder if ``record:=DIR`` names a bag
    directory, and return ``Node`` kwargs for every node, in order."""
    graph, _notes = apply_overrides(load_graph(config_path), split_overrides(overrides))
    check_parameters(graph)
    if record:
        from f2p_bringup.bringup_cmd import check_bag_dir

        graph = with_recorder(graph, check_bag_dir(Path(record)))
    return [node_action_kwargs(graph, node) for node in graph.nodes.values()]


def _typed_parameters(parameters: list[dict]) -> list[dict]:
    """Wrap string (and string-list) values in ``ParameterValue`` with an explicit type."""
    from typing import List  # noqa: UP035 - launch_ros compares value_type with typing.List[str]

    from launch_ros.parameter_descriptions import ParameterValue

    out = []
    for params in parameters:
        typed = {}
        for name, value in params.items():
            if isinstance(value, str):
                typed[name] = ParameterValue(value, value_type=str)
            elif isinstance(value, list) and value and isinstance(value[0], str):
                typed[name] = ParameterValue(value, value_type=List[str])  # noqa: UP006
            else:
                typed[name] = value
        out.append(typed)
    return out


def graph_launch_description(graph: str, launch_file: str):
    """The ``LaunchDescription`` of a graph: ``config:=`` and ``set:=`` arguments, then its nodes.

    The nodes are built in an ``OpaqueFunction`` because the config path is a launch argument,
    known only when the description is executed.
    """
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    def nodes(context, *args, **kwargs):
        path = LaunchConfiguration("config").perform(context)
        overrides = LaunchConfiguration("set").perform(context)
        record = LaunchConfiguration("record").perform(context)
        actions = []
        for kw in graph_node_kwargs(path, overrides, record):
            kw["parameters"] = _typed_parameters(kw["parameters"])
            if kw.pop("shutdown_on_exit"):
                kw["on_exit"] = Shutdown(reason=f"required node '{kw['name']}' exited")
            actions.append(Node(**kw))
        return actions

    defaults = {"config": default_config(launch_file, graph), "set": "", "record": ""}
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=defaults[name], description=text) for name, text in ARGUMENTS),
        OpaqueFunction(function=nodes),
    ])

