"""The graph config loader: the repository's configs load; every kind of mistake is an error that
names the file, the line and the key; overrides are typed like the values they replace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from f2p_bringup import ros_params
from f2p_bringup.graph_config import (
    SCHEMA_VERSION,
    GraphConfigError,
    apply_overrides,
    check_parameters,
    find_config,
    load_graph,
    parameters_class,
    params_file_dict,
    parse_graph,
    ros_args,
    split_overrides,
    to_dict,
)

PKG = Path(__file__).resolve().parents[1]
CONFIG = PKG / "config"  # the repository's config/, through the package's symlink

GOOD = """\
schema: 1
description: two nodes
env: {MUJOCO_GL: egl, OMP_NUM_THREADS: 1}
defaults: &defaults
nodes:
  planner:
    package: f2p_planner
    executable: planner
    parameters:
      model_store: models
      num_samples: 1000
      scale: 0.5
      enabled: true
      names: [a, b]
      limits: {lift: {max: 1.1}}
    remappings: {/f2p/camera/points: /camera/points}
    env: {OMP_NUM_THREADS: 2}
  learner:
    package: f2p_learner
    executable: learner
    respawn: true
    respawn_delay_s: 2
"""


def _parse(text: str):
    return parse_graph(text, "g.yaml")


def _error(text: str) -> str:
    with pytest.raises(GraphConfigError) as exc:
        _parse(text)
    return str(exc.value)


def test_the_repository_configs_load_and_list_the_graph():
    sim = load_graph(CONFIG / "sim.yaml")
    assert list(sim.nodes) == ["sim_robot", "perception", "planner", "monitor", "learner"]
    assert sim.nodes["sim_robot"].parameters == {
        "task": "transport", "n_objects": 3, "seed": 0, "real": True, "camera": "default", "robot": "floating",
        "n_points": 128, "noise_sigma": 0.0, "ground_truth_labels": True}
    assert isinstance(sim.nodes["sim_robot"].parameters["noise_sigma"], float)
    assert sim.nodes["perception"].parameters == {"backend": "sim_gt"}
    assert sim.nodes["planner"].parameters == {"model_store": "models", "num_samples": 1000, "method": "shooting"}
    assert sim.nodes["monitor"].parameters == {"failures_dir": "failures", "learn_from_failures": True,
                                               "max_replans": 3, "replan_below": 0.5, "relations": "goal"}
    assert sim.nodes["learner"].parameters == {"model_store": "models", "failures_dir": "failures",
                                               "heldout": "data/heldout_pretrain", "replay": "data/replay_480",
                                               "particles": 20}
    robot = load_graph(CONFIG / "robot.yaml")
    assert "stretch_robot" in robot.nodes and "sim_robot" not in robot.nodes
    assert robot.nodes["stretch_robot"].parameters["backend"] in ("stretch_body", "trajectory")
    for graph in (sim, robot):
        for node in graph.nodes.values():
            assert node.package.startswith("f2p_") and node.executable


def test_a_good_config_is_read_into_typed_dataclasses():
    with pytest.raises(GraphConfigError, match=r"g\.yaml:4: defaults: unknown key"):
        _parse(GOOD)
    g = _parse(GOOD.replace("defaults: &defaults\n", ""))
    assert g.schema == SCHEMA_VERSION and g.description == "two nodes"
    assert g.env == {"MUJOCO_GL": "egl", "OMP_NUM_THREADS": "1"}
    planner = g.nodes["planner"]
    assert planner.parameters == {"model_store": "models", "num_samples": 1000, "scale": 0.5, "enabled": True,
                                  "names": ["a", "b"], "limits.lift.max": 1.1}
    assert planner.remappings == (("/f2p/camera/points", "/camera/points"),)
    assert g.node_env("planner") == {"MUJOCO_GL": "egl", "OMP_NUM_THREADS": "2"}
    learner = g.nodes["learner"]
    assert learner.respawn and learner.respawn_delay_s == 2.0 and learner.parameters == {}


def test_yaml_anchors_and_merge_keys_share_parameters():
    g = _parse("""\
schema: 1
nodes:
  a: {package: p, executable: x, parameters: &common {model_store: models, seed: 1}}
  b:
    package: p
    executable: y
    parameters: {<<: *common, seed: 2}
""")
    assert g.nodes["b"].parameters == {"model_store": "models", "seed": 2}


@pytest.mark.parametrize("text, message", [
    ("", "g.yaml: the file is empty"),
    ("schema: 1\nnodes: [a, b\n", "g.yaml:3: not valid YAML"),
    ("- a\n- b\n", "g.yaml:1: expected a mapping, got a list"),
    ("nodes: {a: {package: p, executable: x}}\n", "g.yaml:1: missing required key 'schema'"),
    ("schema: 1\n", "missing required key 'nodes'"),
    ("schema: 2\nnodes: {}\n", "g.yaml:1: schema: version 2 is newer than this f2p reads (1)"),
    ("schema: one\nnodes: {}\n", "g.yaml:1: schema: expected a positive integer"),
    ("schema: 1\nnodes: {}\n", "g.yaml:2: nodes: the graph has no nodes"),
    ("schema: 1\nnode: {}\n", "g.yaml:2: node: unknown key (allowed: schema, description, env, nodes)"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n", "g.yaml:4: nodes.a: missing required key 'executable'"),
    ("schema: 1\nnodes:\n  a:\n    executable: x\n", "nodes.a: missing required key 'package'"),
    ("schema: 1\nnodes:\n  a:\n    package: My-Pkg\n    executable: x\n",
     "g.yaml:4: nodes.a.package: expected an ament"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: 3\n", "g.yaml:5: nodes.a.executable: expected"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: bin/x\n", "nodes.a.executable: expected"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    respwan: true\n",
     "g.yaml:6: nodes.a.respwan: unknown key (allowed: package, executable, parameters"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    respawn: yes please\n",
     "g.yaml:6: nodes.a.respawn: expected true or false"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    required: maybe\n",
     "g.yaml:6: nodes.a.required: expected true or false"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    respawn_delay_s: -1\n",
     "nodes.a.respawn_delay_s: expected seconds"),
    ("schema: 1\nnodes:\n  2a:\n    package: p\n    executable: x\n", "g.yaml:3: nodes.2a: not a ROS node name"),
    ("schema: 1\nnodes:\n  a: {package: p, executable: x}\n  a: {package: p, executable: y}\n",
     "g.yaml:4: nodes.a: duplicate key (first on line 3)"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters: [1, 2]\n",
     "g.yaml:6: nodes.a.parameters: expected a mapping, got a list"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: null\n",
     "g.yaml:7: nodes.a.parameters.k: null is not a ROS parameter value"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: []\n",
     "g.yaml:7: nodes.a.parameters.k: an empty list has no ROS type"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: [1, 2.5]\n",
     "mixes double and integer (write every number with a decimal point"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: [[1], [2]]\n",
     "nodes.a.parameters.k: a list is not a ROS parameter type"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: 2001-01-01\n",
     "g.yaml:7: nodes.a.parameters.k: a date is not a ROS parameter type"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: .nan\n",
     "nodes.a.parameters.k: nan is not a finite double"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      k: 99999999999999999999\n",
     "does not fit a ROS INTEGER"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      bad-name: 1\n",
     "g.yaml:7: nodes.a.parameters.bad-name: 'bad-name' is not a ROS parameter name"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    parameters:\n      on: 1\n",
     "g.yaml:7: nodes.a.parameters: key True is read as a bool; quote it"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    env: {A: [1]}\n",
     "nodes.a.env.A: expected a single value, got a list"),
    ("schema: 1\nnodes:\n  a:\n    package: p\n    executable: x\n    remappings: {/a: ''}\n",
     "nodes.a.remappings: expected 'from: to' names"),
])
def test_mistakes_are_errors_naming_file_line_and_key(text, message):
    assert message in _error(text)


def test_overrides_are_typed_like_the_value_they_replace():
    g = load_graph(CONFIG / "sim.yaml")
    g2, notes = apply_overrides(g, [
        "sim_robot.task=organize", "sim_robot.noise_sigma=0", "sim_robot.seed=5", "monitor.relations=on",
        "sim_robot.real=false", "planner.num_samples=200", "monitor.relations_extra=[a, 'on']"])
    robot = g2.nodes["sim_robot"].parameters
    assert robot["task"] == "organize" and robot["seed"] == 5 and robot["real"] is False
    assert robot["noise_sigma"] == 0.0 and isinstance(robot["noise_sigma"], float)
    assert g2.nodes["monitor"].parameters["relations"] == "on"  # YAML 1.1 would read a bool
    assert g2.nodes["planner"].parameters["num_samples"] == 200
    assert g2.nodes["monitor"].parameters["relations_extra"] == ["a", "on"]
    assert notes == ["monitor.relations_extra is not in " + str(CONFIG / "sim.yaml") + "; adding it (list of string)"]
    assert g.nodes["sim_robot"].parameters["task"] == "transport", "the original graph is unchanged"


@pytest.mark.parametrize("item, message", [
    ("planner.num_samples=2.5", "expected an integer like 1000, got a double"),
    ("sim_robot.real=maybe", "expected a bool like true, got a string"),
    ("ghost.x=1", "no node 'ghost'"),
    ("planner=1", "expected NODE.PARAM=VALUE"),
    ("planner.num_samples", "expected NODE.PARAM=VALUE"),
    ("planner.bad-name=1", "not a ROS parameter name"),
    ("planner.new=null", "null is not a ROS parameter value"),
])
def test_bad_overrides_are_errors(item, message):
    with pytest.raises(GraphConfigError, match="override") as exc:
        apply_overrides(load_graph(CONFIG / "sim.yaml"), [item])
    assert message in str(exc.value)


def test_launch_overrides_are_one_string():
    assert split_overrides(" a.b=1  c.d=x,e.f=2 ") == ["a.b=1", "c.d=x", "e.f=2"]
    assert split_overrides("") == []


def test_ros_args_name_the_node_quote_strings_and_remap():
    g = _parse(GOOD.replace("defaults: &defaults\n", ""))
    args = ros_args(g.nodes["planner"])
    assert args[:3] == ["--ros-args", "-r", "__node:=planner"]
    assert ["-p", 'model_store:="models"'] == args[3:5]
    assert "num_samples:=1000" in args and "scale:=0.5" in args and "enabled:=true" in args
    assert 'names:=["a", "b"]' in args and "limits.lift.max:=1.1" in args
    assert args[-2:] == ["-r", "/f2p/camera/points:=/camera/points"]


def test_cli_values_keep_their_type():
    assert ros_params.cli_value("true") == '"true"'
    assert ros_params.cli_value("") == '""'
    assert ros_params.cli_value('a "b"') == '"a \\"b\\""'
    assert ros_params.cli_value(1e-5) == "1e-05" and ros_params.cli_value(2.0) == "2.0"
    assert ros_params.cli_value([True, False]) == "[true, false]"
    for value in ("x", "yes", "3", 3, 0.1, True, ["on", "off"], [1, 2], [0.5]):
        assert yaml.safe_load(ros_params.cli_value(value)) == value  # YAML 1.1 (rcl) reads it back


def test_params_file_and_round_trip():
    g = _parse(GOOD.replace("defaults: &defaults\n", ""))
    pf = params_file_dict(g)
    assert pf["planner"]["ros__parameters"]["limits"] == {"lift": {"max": 1.1}}
    assert pf["learner"] == {"ros__parameters": {}}
    again = parse_graph(yaml.safe_dump(to_dict(g), sort_keys=False), "dump.yaml")
    assert again.nodes == g.nodes and again.env == g.env


def test_find_config_looks_in_the_checkout_then_the_install(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    share = tmp_path / "prefix/share/f2p_bringup/config"
    share.mkdir(parents=True)
    (share / "sim.yaml").write_text("x")
    assert find_config("sim", {"AMENT_PREFIX_PATH": str(tmp_path / "prefix")}) == share / "sim.yaml"
    root = tmp_path / "checkout"
    (root / "config").mkdir(parents=True)
    (root / "config/sim.yaml").write_text("x")
    env = {"F2P_ROOT": str(root), "AMENT_PREFIX_PATH": str(tmp_path / "prefix")}
    assert find_config("sim", env) == root / "config/sim.yaml"
    with pytest.raises(GraphConfigError, match=r"no graph config 'nope\.yaml' in: .*checkout/config"):
        find_config("nope", env)


def test_the_repository_configs_name_only_parameters_their_nodes_declare():
    """Every node declares their parameters from one dataclass each
    (`f2p_ros.params`); a config or an override naming one they lack, or a value they refuse, is an error
    before anything starts."""
    for name in ("sim.yaml", "robot.yaml"):
        graph = load_graph(CONFIG / name)
        check_parameters(graph)
        classes = {n: parameters_class(node) for n, node in graph.nodes.items()}
        assert all(classes.values()), [n for n, c in classes.items() if c is None]
        assert classes["learner"].__name__ == "LearnerParameters"
        assert classes["monitor"].__name__ == "MonitorParameters"
        assert classes["planner"].__name__ == "PlannerParameters"
    stretch = load_graph(CONFIG / "robot.yaml").nodes["stretch_robot"]
    assert parameters_class(stretch).__name__ == "StretchRobotParameters"
    sim = load_graph(CONFIG / "sim.yaml")
    for override, message in (("learner.partcles=3", "unknown parameter(s) ['partcles']"),
                              ("monitor.relations=some", "relations must be 'goal' or 'all'"),
                              ("learner.method=guess", "unknown method 'guess'"),
                              ("sim_robot.task=juggle", "unknown task 'juggle'"),
                              ("planner.num_samples=0", "num_samples must be >= 1"),
                              ("planner.cem_grounded=true", "cem_grounded needs method cem"),
                              ("monitor.retry=sometimes", "retry must be one of"),
                              ("perception.backend=magic", "unknown perception backend 'magic'")):
        graph, _ = apply_overrides(sim, [override])
        with pytest.raises(GraphConfigError, match=re.escape(message)):
            check_parameters(graph)
