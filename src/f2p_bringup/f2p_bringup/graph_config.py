"""The node graph as one YAML file (``config/sim.yaml``, ``config/robot.yaml``), read without ROS.

Both ways of starting the graph read this file through this module: ``ros2 launch f2p_bringup
sim.launch.py`` on a full distro (``launch_actions``) and ``f2p bringup sim`` in the pip-only
workspace (``supervisor``). One reader means one schema and one set of checks, so the two
cannot drift apart.

Schema (version 1)::

    schema: 1                       # required; files of a newer schema are refused
    description: one line           # optional
    env: {NAME: value}              # optional; environment of every node
    nodes:                          # required; start order = file order
      <node name>:                  # the ROS node name (``-r __node:=<name>``)
        package: f2p_planner        # required; ament package that installs the executable
        executable: planner         # required; console script under lib/<package>
        parameters: {name: value}   # optional; bool, integer, double, string or a non-empty
                                    #   list of one of them; nested mappings = dotted names
        remappings: {from: to}      # optional; topic/service/action remappings
        env: {NAME: value}          # optional; added to (and overriding) the top-level env
        respawn: false              # optional; restart the node when it exits
        respawn_delay_s: 1.0        # optional; wait before a restart
        required: true              # optional; false: the graph keeps running when this node exits
                                    #   (reported once; a hardware driver with no robot attached)

Unknown keys, wrong types and duplicate keys are errors that name the file, the line and the
key path (``config/sim.yaml:14: nodes.planner.parameters.num_samples: ...``): a typo in a
parameter name would otherwise be ignored by the node and cost an afternoon.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from f2p_bringup import ros_params
from f2p_bringup.ros_params import ParamError, ParamValue

SCHEMA_VERSION = 1
NODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # REP 144
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOP_KEYS = ("schema", "description", "env", "nodes")
NODE_KEYS = ("package", "executable", "parameters", "remappings", "env", "respawn", "respawn_delay_s", "required")


class GraphConfigError(ValueError):
    """A graph config that cannot be used; the message starts with ``file:line: key.path:``."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: what to run and with which ROS arguments."""

    name: str
    package: str
    executable: str
    parameters: dict[str, ParamValue] = field(default_factory=dict)  # flat, dotted names, file order
    remappings: tuple[tuple[str, str], ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    respawn: bool = False
    respawn_delay_s: float = 1.0
    required: bool = True  # False: its exit is reported and the rest of the graph keeps running


@dataclass(frozen=True)
class GraphConfig:
    """A whole graph; ``nodes`` keeps the file's order, which is the start order."""

    nodes: dict[str, NodeSpec]
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = "<string>"
    schema: int = SCHEMA_VERSION

    def node_env(self, name: str) -> dict[str, str]:
        """The environment a node adds to its parent's: the graph's, then the node's own."""
        return {**self.env, **self.nodes[name].env}


# --------------------------------------------------------------------------------------------
# YAML with line numbers: PyYAML's ``safe_load`` forgets where a value came from, so the file is
# composed into nodes (which carry marks) and walked here; leaves are built by PyYAML's safe
# constructor, so scalars mean exactly what they mean in any YAML 1.1 reader (and rcl's).


class _Walker:
    def __init__(self, source: str):
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node | None, path: str, message: str) -> GraphConfigError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        where = f" {path}:" if path else ""
        return GraphConfigError(f"{self.source}{line}:{where} {message}")

    def mapping(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) pairs of a mapping node, checking keys and duplicates."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, path, f"expected a mapping, got {self._kind(node)}")
        own = {id(k) for k, _v in node.value if k.tag != "tag:yaml.org,2002:merge"}
        self.constructor.flatten_mapping(node)  # '<<: *anchor' merge keys: merged pairs come first
        index: dict[str, int] = {}
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                raise self.error(key_node, path, f"key {key!r} is read as a {type(key).__name__}; quote it")
            if key in index:
                first = out[index[key]][1]
                if id(first) in own:  # written twice in this mapping; a merged value may be overridden
                    raise self.error(key_node, _join(path, key),
                                     f"duplicate key (first on line {first.start_mark.line + 1})")
                out[index[key]] = (key, key_node, value_node)
                continue
            index[key] = len(out)
            out.append((key, key_node, value_node))
        return out

    def scalar(self, node: yaml.Node, path: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, path, f"expected a single value, got {self._kind(node)}")
        return self.constructor.construct_object(node, deep=True)

    def value(self, node: yaml.Node, path: str) -> object:
        """Any value: scalars, lists and nested mappings (used for parameters)."""
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        return {key: self.value(v, _join(path, key)) for key, _k, v in self.mapping(node, path)}

    @staticmethod
    def _kind(node: yaml.Node) -> str:
        return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), "a single value")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------------------------


def parse_graph(text: str, source: str = "<string>") -> GraphConfig:
    """Parse and check a graph config; raise GraphConfigError naming the file, line and key."""
    w = _Walker(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise GraphConfigError(f"{source}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if root is None:
        raise GraphConfigError(f"{source}: the file is empty (it needs 'schema: {SCHEMA_VERSION}' and 'nodes:')")
    top = {key: (knode, vnode) for key, knode, vnode in w.mapping(root, "")}
    for key, (knode, _v) in top.items():
        if key not in TOP_KEYS:
            raise w.error(knode, key, f"unknown key (allowed: {', '.join(TOP_KEYS)})")
    for key in ("schema", "nodes"):
        if key not in top:
            raise w.error(root, "", f"missing required key '{key}'")

    schema = w.scalar(top["schema"][1], "schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise w.error(top["schema"][1], "schema", f"expected a positive integer, got {schema!r}")
    if schema > SCHEMA_VERSION:
        raise w.error(top["schema"][1], "schema", f"version {schema} is newer than this f2p reads "
                      f"({SCHEMA_VERSION}); update f2p")
    description = ""
    if "description" in top:
        description = w.scalar(top["description"][1], "description")
        if not isinstance(description, str):
            raise w.error(top["description"][1], "description", "expected a string")
    env = _env(w, top["env"][1], "env") if "env" in top else {}

    nodes_node = top["nodes"][1]
    nodes: dict[str, NodeSpec] = {}
    for name, knode, vnode in w.mapping(nodes_node, "nodes"):
        if not NODE_NAME.match(name):
            raise w.error(knode, f"nodes.{name}", "not a ROS node name (letters, digits and '_', "
                          "not starting with a digit)")
        nodes[name] = _node(w, name, vnode)
    if not nodes:
        raise w.error(nodes_node, "nodes", "the graph has no nodes")
    return GraphConfig(nodes=nodes, env=env, description=description, source=source, schema=schema)


def _node(w: _Walker, name: str, node: yaml.Node) -> NodeSpec:
    path = f"nodes.{name}"
    items = {key: (knode, vnode) for key, knode, vnode in w.mapping(node, path)}
    for key, (knode, _v) in items.items():
        if key not in NODE_KEYS:
            raise w.error(knode, _join(path, key), f"unknown key (allowed: {', '.join(NODE_KEYS)})")
    fields: dict[str, object] = {"name": name}
    for key, pattern, what in (("package", PACKAGE_NAME, "an ament package name (lower case, digits, '_')"),
                               ("executable", None, "an executable name")):
        if key not in items:
            raise w.error(node, path, f"missing required key '{key}'")
        value = w.scalar(items[key][1], _join(path, key))
        if not isinstance(value, str) or not value or "/" in value or (pattern and not pattern.match(value)):
            raise w.error(items[key][1], _join(path, key), f"expected {what}, got {value!r}")
        fields[key] = value
    if "parameters" in items:
        fields["parameters"] = _parameters(w, items["parameters"][1], _join(path, "parameters"))
    if "remappings" in items:
        vnode = items["remappings"][1]
        pairs = []
        for src, knode, dst_node in w.mapping(vnode, _join(path, "remappings")):
            dst = w.scalar(dst_node, _join(path, f"remappings.{src}"))
            if not src or not isinstance(dst, str) or not dst:
                raise w.error(knode, _join(path, "remappings"), f"expected 'from: to' names, got {src!r}: {dst!r}")
            pairs.append((src, dst))
        fields["remappings"] = tuple(pairs)
    if "env" in items:
        fields["env"] = _env(w, items["env"][1], _join(path, "env"))
    for key in ("respawn", "required"):
        if key in items:
            value = w.scalar(items[key][1], _join(path, key))
            if not isinstance(value, bool):
                raise w.error(items[key][1], _join(path, key), f"expected true or false, got {value!r}")
            fields[key] = value
    if "respawn_delay_s" in items:
        vnode = items["respawn_delay_s"][1]
        value = w.scalar(vnode, _join(path, "respawn_delay_s"))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 3600:
            raise w.error(vnode, _join(path, "respawn_delay_s"), f"expected seconds in [0, 3600), got {value!r}")
        fields["respawn_delay_s"] = float(value)
    return NodeSpec(**fields)  # type: ignore[arg-type]


def _parameters(w: _Walker, node: yaml.Node, path: str, prefix: str = "") -> dict[str, ParamValue]:
    """Flatten nested mappings to dotted names and check every value, naming the line of a bad one."""
    out: dict[str, ParamValue] = {}
    for key, knode, vnode in w.mapping(node, path):
        name = prefix + key
        try:
            ros_params.check_name(name)
        except ParamError as exc:
            raise w.error(knode, _join(path, key), str(exc)) from None
        if isinstance(vnode, yaml.MappingNode):
            out.update(_parameters(w, vnode, _join(path, key), name + "."))
            continue
        try:
            out[name] = ros_params.check_value(w.value(vnode, _join(path, key)))
        except ParamError as exc:
            raise w.error(vnode, _join(path, key), str(exc)) from None
    return out


def _env(w: _Walker, node: yaml.Node, path: str) -> dict[str, str]:
    out = {}
    for key, knode, vnode in w.mapping(node, path):
        if not ENV_NAME.match(key):
            raise w.error(knode, _join(path, key), "not an environment variable name")
        value = w.scalar(vnode, _join(path, key))
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise w.error(vnode, _join(path, key), f"expected a string or a number, got {value!r} (quote it)")
        out[key] = str(value)
    return out


def load_graph(path: str | os.PathLike) -> GraphConfig:
    """Read a graph config file (see the module docstring for the schema)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise GraphConfigError(f"{p}: cannot read the graph config: {exc.strerror or exc}") from exc
    return parse_graph(text, str(p))


# --------------------------------------------------------------------------------------------
# parameters of the nodes declared from a dataclass (`f2p_ros.params`)

#: (package, executable) -> "module:Class" of the dataclass the node declares its parameters from
NODE_PARAMETERS: dict[tuple[str, str], str] = {
    ("f2p_learner", "learner"): "f2p_learner.parameters:LearnerParameters",
    ("f2p_monitor", "monitor"): "f2p_monitor.parameters:MonitorParameters",
    ("f2p_planner", "planner"): "f2p_planner.parameters:PlannerParameters",
    ("f2p_robot", "sim_robot"): "f2p_robot.sim_parameters:SimRobotParameters",
    ("f2p_robot", "stretch_robot"): "f2p_robot.stretch_parameters:StretchRobotParameters",
    ("f2p_perception", "perception"): "f2p_perception.parameters:PerceptionParameters",
}


def parameters_class(node: NodeSpec) -> type | None:
    """The dataclass `node` declares its parameters from, or None (imported on demand: some pull torch)."""
    import importlib

    ref = NODE_PARAMETERS.get((node.package, node.executable))
    if ref is None:
        return None
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def perception_overrides(backend: str) -> list[str]:
    """The sim graph's settings for a perception backend (``--perception`` of f2p demo and f2p bench graph):
    ``sim_gt`` segments by the simulator's labels (A.7); a label-free backend gets the cloud without them and
    binds its segments to the task's names (f2p_perception.binding). Either way the robot's observed relations
    are the world's: what the simulated robot sees of an outcome."""
    if backend == "sim_gt":
        return ["perception.backend=sim_gt", "sim_robot.ground_truth_labels=true"]
    return [f"perception.backend={backend}", "perception.task_names=true", "sim_robot.ground_truth_labels=false"]


def check_parameters(graph: GraphConfig) -> None:
    """GraphConfigError naming every parameter a node of `graph` does not have, of the wrong type, or with
    a value its dataclass refuses (`f2p_ros.params.from_values`), for the nodes of `NODE_PARAMETERS`:
    caught before anything starts, where the node would ignore an unknown name."""
    from f2p_ros.params import from_values

    errors = []
    for name, node in graph.nodes.items():
        cls = parameters_class(node)
        if cls is None:
            continue
        try:
            from_values(cls, node.parameters)
        except (TypeError, ValueError) as exc:
            errors.append(f"nodes.{name}.parameters: {exc}")
    if errors:
        raise GraphConfigError(f"{graph.source}: " + "; ".join(errors))


# --------------------------------------------------------------------------------------------
# overrides: ``--set node.param=value`` (f2p bringup) and ``set:='node.param=value ...'`` (launch)


def apply_overrides(graph: GraphConfig, overrides: Iterable[str]) -> tuple[GraphConfig, list[str]]:
    """Return the graph with ``node.param=value`` overrides applied, and notes about new parameters.

    Values are read as YAML and typed like the value they replace (``ros_params.coerce_override``);
    a parameter the config does not list is added, with a note, since the config need not spell
    out every default but a typo should not pass unseen.
    """
    nodes = dict(graph.nodes)
    notes: list[str] = []
    for item in overrides:
        target, sep, raw = item.partition("=")
        node_name, dot, param = target.partition(".")
        if not sep or not dot or not node_name or not param:
            raise GraphConfigError(f"override {item!r}: expected NODE.PARAM=VALUE, e.g. planner.num_samples=200")
        if node_name not in nodes:
            raise GraphConfigError(f"override {item!r}: no node '{node_name}' in {graph.source} "
                                   f"(nodes: {', '.join(nodes)})")
        spec = nodes[node_name]
        try:
            ros_params.check_name(param)
            try:
                parsed = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError:
                parsed = raw
            if isinstance(parsed, dict):
                parsed = raw  # 'a: b' is text here, not a mapping
            old = spec.parameters.get(param)
            value = ros_params.coerce_override(old, parsed, raw)
        except ParamError as exc:
            raise GraphConfigError(f"override {item!r}: {exc}") from None
        if old is None:
            notes.append(f"{node_name}.{param} is not in {graph.source}; adding it ({ros_params.type_name(value)})")
        nodes[node_name] = dataclasses.replace(spec, parameters={**spec.parameters, param: value})
    return dataclasses.replace(graph, nodes=nodes), notes


#: the node ``--record`` adds (``f2p_ros.recorder``: every topic of the graph into an MCAP bag)
RECORDER = NodeSpec(name="recorder", package="f2p_ros", executable="recorder")


def with_recorder(graph: GraphConfig, bag_dir: str | os.PathLike, compression: str | None = None) -> GraphConfig:
    """The graph with the recorder started first, writing the bag directory `bag_dir` (new or
    empty). First, so it is subscribed before the others publish; latched topics would reach it
    anyway, events (failures, markers) only once it is there."""
    if RECORDER.name in graph.nodes:
        raise GraphConfigError(f"{graph.source}: already has a node named '{RECORDER.name}'")
    params = {"output": str(bag_dir), **({"compression": compression} if compression else {})}
    rec = dataclasses.replace(RECORDER, parameters=params)
    return dataclasses.replace(graph, nodes={RECORDER.name: rec, **graph.nodes})


def split_overrides(text: str) -> list[str]:
    """``'a.b=1 c.d=x'`` -> ``['a.b=1', 'c.d=x']`` (launch arguments are one string)."""
    return [t for t in re.split(r"[\s,;]+", text.strip()) if t]


# --------------------------------------------------------------------------------------------
# what a node is given: ``--ros-args`` (f2p bringup) or a params file (either)


def ros_args(node: NodeSpec) -> list[str]:
    """The ``--ros-args`` part of a node's command line: name, parameters, remappings."""
    args = ["--ros-args", "-r", f"__node:={node.name}"]
    for name, value in node.parameters.items():
        args += ["-p", f"{name}:={ros_params.cli_value(value)}"]
    for src, dst in node.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


def params_file_dict(graph: GraphConfig, names: Sequence[str] | None = None) -> dict:
    """A ROS params file (``--params-file``) for the given nodes: ``{node: {ros__parameters: ...}}``."""
    out: dict = {}
    for name in names or list(graph.nodes):
        params: dict = {}
        for dotted, value in graph.nodes[name].parameters.items():
            *parents, leaf = dotted.split(".")
            level = params
            for p in parents:
                level = level.setdefault(p, {})
            level[leaf] = value
        out[name] = {"ros__parameters": params}
    return out


def to_dict(graph: GraphConfig) -> dict:
    """The graph as the YAML schema it was read from (e.g. to record the effective config of a run)."""
    nodes = {}
    for node in graph.nodes.values():
        entry: dict = {"package": node.package, "executable": node.executable}
        if node.parameters:
            entry["parameters"] = dict(node.parameters)
        if node.remappings:
            entry["remappings"] = dict(node.remappings)
        if node.env:
            entry["env"] = dict(node.env)
        if node.respawn:
            entry["respawn"] = True
            entry["respawn_delay_s"] = node.respawn_delay_s
        if not node.required:
            entry["required"] = False
        nodes[node.name] = entry
    out: dict = {"schema": graph.schema}
    if graph.description:
        out["description"] = graph.description
    if graph.env:
        out["env"] = dict(graph.env)
    out["nodes"] = nodes
    return out


# --------------------------------------------------------------------------------------------


def config_search_path(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where ``f2p bringup NAME`` looks for ``NAME.yaml``: the checkout's ``config/`` first (so
    edits apply without a rebuild), then ``share/f2p_bringup/config`` of every ament prefix."""
    env = os.environ if environ is None else environ
    dirs = []
    if env.get("F2P_ROOT"):
        dirs.append(Path(env["F2P_ROOT"]) / "config")
    dirs.append(Path.cwd() / "config")
    for prefix in env.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / "f2p_bringup" / "config")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_config(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """The file of graph ``name`` (``sim`` -> ``config/sim.yaml``); an error lists where it looked."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        path = Path(name)
        if path.is_file():
            return path
        raise GraphConfigError(f"{path}: no such graph config")
    dirs = config_search_path(environ)
    for d in dirs:
        if (d / f"{name}.yaml").is_file():
            return d / f"{name}.yaml"
    raise GraphConfigError(f"no graph config '{name}.yaml' in: {', '.join(map(str, dirs))} "
                           "(give one with --config PATH)")
