"""The launch files: they compile, and the YAML -> ``launch_ros.actions.Node`` path builds the
right actions.

``launch`` and ``launch_ros`` exist only on a full ROS 2 distro (ROS2_PIP.md §5). Here they are
replaced by stand-ins whose constructors have the Humble signatures (keyword-only, and only the
keyword arguments Humble's ``Node``/``ExecuteProcess``/``ExecuteLocal`` accept), so a call that a
distro would reject fails here too. Where the real packages are importable (Docker image,
robot), the last test builds the real actions instead.
"""

from __future__ import annotations

import py_compile
import runpy
import sys
import types
from pathlib import Path

import pytest

from f2p_bringup.graph_config import load_graph
from f2p_bringup.launch_actions import default_config, graph_node_kwargs, node_action_kwargs

PKG = Path(__file__).resolve().parents[1]
LAUNCH = PKG / "launch"  # the repository's launch/, through the package's symlink
GRAPHS = ("sim", "robot")

#: keyword arguments Humble's ExecuteProcess + ExecuteLocal accept (launch 1.0.x); Node passes
#: every keyword it does not know itself to them.
HUMBLE_EXECUTE_KWARGS = {
    "prefix", "name", "cwd", "env", "additional_env", "shell", "sigterm_timeout", "sigkill_timeout",
    "emulate_tty", "output", "output_format", "cached_output", "log_cmd", "on_exit", "respawn",
    "respawn_delay", "condition"}


@pytest.mark.parametrize("graph", GRAPHS)
def test_launch_files_compile(graph, tmp_path):
    py_compile.compile(str(LAUNCH / f"{graph}.launch.py"), cfile=str(tmp_path / "out.pyc"), doraise=True)


def _stub_launch_modules(monkeypatch):
    """Minimal ``launch`` / ``launch_ros`` with Humble's constructor signatures."""
    launch = types.ModuleType("launch")
    actions = types.ModuleType("launch.actions")
    substitutions = types.ModuleType("launch.substitutions")
    launch_ros = types.ModuleType("launch_ros")
    ros_actions = types.ModuleType("launch_ros.actions")
    descriptions = types.ModuleType("launch_ros.parameter_descriptions")

    class LaunchDescription:
        def __init__(self, initial_entities=None, *, deprecated_reason=None):
            self.entities = list(initial_entities or [])

    class DeclareLaunchArgument:
        def __init__(self, name, *, default_value=None, description=None, choices=None, **kwargs):
            self.name, self.default_value, self.description = name, default_value, description

    class OpaqueFunction:
        def __init__(self, *, function, args=None, kwargs=None, **left_over_kwargs):
            self.function = function

    class Shutdown:  # Humble: launch.actions.Shutdown(*, reason='reason not given', **kwargs)
        def __init__(self, *, reason="reason not given", **kwargs):
            self.reason = reason

    class LaunchConfiguration:
        def __init__(self, variable_name, *, default=None):
            self.variable_name = variable_name

        def perform(self, context):
            return context.launch_configurations[self.variable_name]

    class Node:
        def __init__(self, *, executable, package=None, name=None, namespace=None, exec_name=None,
                     parameters=None, remappings=None, ros_arguments=None, arguments=None, **kwargs):
            unknown = set(kwargs) - HUMBLE_EXECUTE_KWARGS
            assert not unknown, f"Humble's Node/ExecuteProcess do not accept {unknown}"
            assert isinstance(parameters, list) and all(isinstance(p, dict) for p in parameters)
            self.package, self.executable, self.name = package, executable, name
            self.parameters, self.remappings, self.kwargs = parameters, remappings, kwargs

    class ParameterValue:
        def __init__(self, value, *, value_type=None):
            self.value, self.value_type = value, value_type

    launch.LaunchDescription = LaunchDescription
    actions.DeclareLaunchArgument, actions.OpaqueFunction = DeclareLaunchArgument, OpaqueFunction
    actions.Shutdown = Shutdown
    substitutions.LaunchConfiguration = LaunchConfiguration
    ros_actions.Node = Node
    descriptions.ParameterValue = ParameterValue
    launch.actions, launch.substitutions = actions, substitutions
    launch_ros.actions, launch_ros.parameter_descriptions = ros_actions, descriptions
    for name, module in {"launch": launch, "launch.actions": actions, "launch.substitutions": substitutions,
                         "launch_ros": launch_ros, "launch_ros.actions": ros_actions,
                         "launch_ros.parameter_descriptions": descriptions}.items():
        monkeypatch.setitem(sys.modules, name, module)
    return ParameterValue


@pytest.mark.parametrize("graph", GRAPHS)
def test_launch_file_builds_one_node_action_per_config_node(graph, monkeypatch):
    ParameterValue = _stub_launch_modules(monkeypatch)
    module = runpy.run_path(str(LAUNCH / f"{graph}.launch.py"))
    description = module["generate_launch_description"]()
    *arguments, opaque = description.entities
    defaults = {a.name: a.default_value for a in arguments}
    assert set(defaults) == {"config", "set", "record"} and defaults["record"] == ""
    assert Path(defaults["config"]).resolve() == (LAUNCH / ".." / "config" / f"{graph}.yaml").resolve()
    assert Path(defaults["config"]).is_file()

    context = types.SimpleNamespace(launch_configurations={**defaults, "set": "planner.num_samples=7"})
    nodes = opaque.function(context)
    config = load_graph(defaults["config"])
    assert [n.name for n in nodes] == list(config.nodes)
    for node in nodes:
        spec = config.nodes[node.name]
        assert (node.package, node.executable) == (spec.package, spec.executable)
        assert node.kwargs["additional_env"] == config.node_env(node.name)
        assert node.kwargs["output"] == "screen"
        assert node.remappings == list(spec.remappings)
        stops = spec.required and not spec.respawn  # as f2p bringup: a required node's exit ends the graph
        assert ("on_exit" in node.kwargs) == stops and (not stops or node.name in node.kwargs["on_exit"].reason)
        params = node.parameters[0] if node.parameters else {}
        for key, value in params.items():
            if isinstance(value, ParameterValue):  # strings keep their type (launch_ros would re-read "true")
                assert value.value_type is str and value.value == spec.parameters[key]
            elif key != "num_samples":
                assert value == spec.parameters[key]
    planner = next(n for n in nodes if n.name == "planner")
    assert planner.parameters[0]["num_samples"] == 7  # the set:= override reached the action


def test_node_kwargs_carry_respawn_only_when_asked(tmp_path):
    cfg = tmp_path / "g.yaml"
    cfg.write_text("schema: 1\nnodes:\n  a: {package: p, executable: x}\n"
                   "  b: {package: p, executable: y, respawn: true, respawn_delay_s: 3}\n"
                   "  c: {package: p, executable: z, required: false}\n")
    a, b, c = graph_node_kwargs(cfg)
    assert "respawn" not in a and a["parameters"] == []
    assert b["respawn"] is True and b["respawn_delay"] == 3.0
    # as f2p bringup: a required node's exit stops the launch, a respawned or not-required one's does not
    assert (a["shutdown_on_exit"], b["shutdown_on_exit"], c["shutdown_on_exit"]) == (True, False, False)
    graph = load_graph(cfg)
    assert node_action_kwargs(graph, graph.nodes["a"])["name"] == "a"


def test_record_adds_the_recorder_first_and_refuses_a_used_directory(tmp_path):
    cfg = tmp_path / "g.yaml"
    cfg.write_text("schema: 1\nnodes:\n  a: {package: p, executable: x}\n")
    rec, a = graph_node_kwargs(cfg, "", str(tmp_path / "bag"))
    assert (rec["package"], rec["executable"], rec["name"]) == ("f2p_ros", "recorder", "recorder")
    assert rec["parameters"] == [{"output": str(tmp_path / "bag")}] and a["name"] == "a"
    assert [k["name"] for k in graph_node_kwargs(cfg)] == ["a"]
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x_0.mcap").write_text("")
    with pytest.raises(ValueError, match="not an empty directory"):
        graph_node_kwargs(cfg, "", str(tmp_path / "used"))


def test_default_config_sits_beside_the_installed_launch_folder():
    assert default_config("/opt/ws/install/f2p_bringup/share/f2p_bringup/launch/sim.launch.py", "sim") == \
        "/opt/ws/install/f2p_bringup/share/f2p_bringup/config/sim.yaml"


def test_real_launch_ros_builds_the_actions():
    """Runs where a distro provides launch_ros (Docker image, robot); skipped in the pip-only venv."""
    pytest.importorskip("launch_ros", reason="launch_ros exists only on a full ROS 2 distro (ROS2_PIP.md §5)")
    from launch import LaunchContext
    from launch_ros.actions import Node

    module = runpy.run_path(str(LAUNCH / "sim.launch.py"))
    description = module["generate_launch_description"]()
    context = LaunchContext()
    for entity in description.entities[:-1]:
        entity.execute(context)
    nodes = description.entities[-1].execute(context)
    assert all(isinstance(n, Node) for n in nodes)
    assert [n.node_name.lstrip("/") for n in nodes] == list(load_graph(LAUNCH / "../config/sim.yaml").nodes)
