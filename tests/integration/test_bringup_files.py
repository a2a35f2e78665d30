"""The files around the bringup that nothing here can run: the Docker image and compose file (no
Docker engine on these machines), the rviz2 config (no rviz2), and the share/ layout a distro's
``ros2 launch`` relies on. What can be checked without them is checked: they parse, they point at
files that exist, and they agree with the configs and with requirements.txt.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import REPO

DOCKER = REPO / "docker"


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of docker/Dockerfile, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _dockerignored(path: str) -> bool:
    patterns = [p.strip() for p in (REPO / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    first = Path(path).parts[0]
    return any(p.rstrip("/") == first for p in patterns)


def test_compose_runs_the_sim_launch_file_from_an_image_built_at_the_repo_root():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    sim = compose["services"]["sim"]
    assert sim["command"] == ["ros2", "launch", "f2p_bringup", "sim.launch.py"]
    assert sim["stop_signal"] == "SIGINT"  # ros2 launch shuts its nodes down on SIGINT
    build = sim["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == REPO.resolve()
    assert (context / build["dockerfile"]).is_file()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            assert host.startswith(("../", "/tmp/")), f"{volume}: relative to docker/, inside the checkout"
    rviz = compose["services"]["rviz"]
    assert rviz["command"][:2] == ["rviz2", "-d"]
    assert rviz["command"][2].endswith("share/f2p_bringup/config/f2p.rviz")


def test_dockerfile_copies_only_paths_that_exist_and_are_not_ignored():
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("ARG", "ROS_DISTRO=jazzy")
    assert ("FROM", "ros:${ROS_DISTRO}") in instructions
    copies = [shlex.split(args) for word, args in instructions if word == "COPY"]
    assert copies, "no COPY in the Dockerfile"
    for args in copies:
        for src in (a for a in args[:-1] if not a.startswith("--")):
            assert (REPO / src).exists(), f"COPY {src}: not in the build context"
            assert not _dockerignored(src), f"COPY {src}: excluded by .dockerignore"
    entry = dict(instructions)["ENTRYPOINT"]
    assert entry == '["/f2p/docker/entrypoint.sh"]'
    assert (DOCKER / "entrypoint.sh").stat().st_mode & 0o111, "entrypoint.sh must be executable"
    # the copied workspace must carry what the f2p_bringup symlinks point at
    copied = {args[0].rstrip("/") for args in copies}
    for link in ("config", "launch"):
        target = (REPO / "src/f2p_bringup" / link).resolve().relative_to(REPO.resolve())
        assert str(target) in copied


def test_dockerfile_installs_the_pinned_non_ros_requirements_and_cpu_torch():
    run = " ".join(args for word, args in _dockerfile_instructions() if word == "RUN")
    assert "--index-url https://download.pytorch.org/whl/cpu" in run
    excluded = re.search(r"grep -vE '([^']+)' requirements.txt", run).group(1)
    lines = [s.strip() for s in (REPO / "requirements.txt").read_text().splitlines()]
    pins = [s for s in lines if s and not s.startswith("#")]
    kept = [s for s in pins if not re.match(excluded, s)]
    assert not [s for s in kept if s.startswith(("ros-", "colcon", "catkin", "torch"))]
    names = {re.split(r"[=<>\[]", s)[0].lower() for s in kept}
    assert {"mujoco", "numpy", "pyyaml", "setuptools"} <= names  # setuptools stays pinned below 80
    assert any(re.match(r"^torch==", s) for s in pins), "requirements.txt must pin torch (the image reads it)"


def test_rviz_config_shows_the_cloud_and_both_marker_arrays_in_world():
    rviz = yaml.safe_load((REPO / "config/f2p.rviz").read_text())
    manager = rviz["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "world"
    displays = {(d["Class"], d.get("Topic", {}).get("Value")) for d in manager["Displays"]}
    assert ("rviz_default_plugins/PointCloud2", "/f2p/camera/points") in displays
    assert ("rviz_default_plugins/MarkerArray", "/f2p/object_poses") in displays
    assert ("rviz_default_plugins/MarkerArray", "/f2p/markers") in displays


def test_colcon_installs_config_and_launch_into_share():
    share = REPO / "install/f2p_bringup/share/f2p_bringup"
    if not share.is_dir():
        pytest.skip("workspace not built")
    for name in ("config/sim.yaml", "config/robot.yaml", "config/f2p.rviz", "launch/sim.launch.py",
                 "launch/robot.launch.py"):
        assert (share / name).is_file(), f"{name} is not installed: rebuild with ./scripts/setup.sh"
