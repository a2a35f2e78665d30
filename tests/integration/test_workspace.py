"""The colcon workspace: every package is typed as a ROS package and carries real metadata.

catkin_pkg validation failures make colcon treat a package as plain Python *silently*
(ROS2_PIP.md §4.1), which breaks dependency order and ``ros2 run``: this test makes it loud.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess

from catkin_pkg.package import parse_package
from conftest import REPO

PACKAGES = {
    "f2p_msgs": "ros.ament_cmake",
    **{p: "ros.ament_python" for p in (
        "f2p_core", "f2p_sim", "f2p_model", "f2p_perception", "f2p_planner", "f2p_monitor",
        "f2p_learner", "f2p_experiments", "f2p_robot", "f2p_bringup", "f2p_ros")},
}


def test_colcon_types_every_package_as_ros():
    out = subprocess.run(["colcon", "list", "--base-paths", str(REPO / "src")],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    listed = {}
    for line in out.splitlines():
        name, _path, kind = line.split("\t")
        listed[name] = kind.strip("()")
    assert listed == PACKAGES


def test_package_xml_is_valid():
    for name in PACKAGES:
        pkg = parse_package(str(REPO / "src" / name / "package.xml"))
        pkg.validate()  # raises InvalidPackage with the reason
        assert pkg.name == name
        assert pkg.get_build_type() == PACKAGES[name].removeprefix("ros.")


def test_python_packages_follow_ros_conventions():
    for name, kind in PACKAGES.items():
        if kind != "ros.ament_python":
            continue
        root = REPO / "src" / name
        assert (root / "resource" / name).is_file(), f"{name}: ament index marker missing"
        assert (root / name / "__init__.py").is_file()
        setup_py = (root / "setup.py").read_text()
        # tests_require is ignored by setuptools 79: colcon would then find no tests (§4.3)
        assert "extras_require" in setup_py and "tests_require" not in setup_py, name
        cfg = configparser.ConfigParser()
        cfg.read(root / "setup.cfg")
        # executables under lib/<pkg>, where `ros2 run` looks on a distro (§4.6)
        assert cfg["develop"]["script_dir"] == f"$base/lib/{name}"
        assert cfg["install"]["install_scripts"] == f"$base/lib/{name}"


def test_f2p_doctor_is_green():
    f2p = shutil.which("f2p") or str(REPO / ".venv/bin/f2p")
    proc = subprocess.run([f2p, "doctor"], check=False, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines()[2:] if line.strip()]
    assert len(rows) >= 8 and all("  ok  " in row for row in rows), proc.stdout


def _declared_dependencies() -> dict[str, set[str]]:
    """Each f2p package's f2p dependencies as its package.xml declares them (any dependency kind but test)."""
    deps = {}
    for name in PACKAGES:
        pkg = parse_package(str(REPO / "src" / name / "package.xml"))
        declared = pkg.build_depends + pkg.exec_depends + pkg.build_export_depends + pkg.buildtool_depends
        deps[name] = {d.name for d in declared if d.name in PACKAGES}
    return deps


def _closure(deps: dict[str, set[str]], name: str) -> set[str]:
    seen, todo = set(), list(deps[name])
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(deps[d])
    return seen


def _imported_packages(path) -> set[str]:
    """Every f2p package a source file imports, at module level, inside a function or under TYPE_CHECKING."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def test_no_package_imports_one_above_it():
    """The package graph is a DAG and code follows it: a package's sources (tests excluded) import only
    itself and what its package.xml declares, directly or through a declared dependency ("one concept,
    one home": the shared vocabulary sits at the bottom, in f2p_core)."""
    deps = _declared_dependencies()
    for name in deps:
        assert name not in _closure(deps, name), f"{name} depends on itself through {deps[name]}"
    wrong = []
    for name in PACKAGES:
        allowed = {name} | _closure(deps, name)
        for path in sorted((REPO / "src" / name / name).rglob("*.py")) if (REPO / "src" / name / name).is_dir() else []:
            for imported in sorted(_imported_packages(path) - allowed):
                wrong.append(f"{path.relative_to(REPO)} imports {imported}")
    assert not wrong, "imports that go up the package graph or are undeclared:\n" + "\n".join(wrong)
