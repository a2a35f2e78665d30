"""``f2p doctor``: check that this machine can run f2p, and say how to fix what cannot.

Each check is a plain function returning a :class:`Check`; a check that raises is reported as
failed with the exception text, so one broken component never hides the others.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

SETUP_HINT = "run ./scripts/setup.sh from the repository root"
EGL_HINT = ("apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 "
            "(or libosmesa6 and MUJOCO_GL=osmesa); " + SETUP_HINT)
ENV_HINT = "use .venv/bin/f2p, or 'source scripts/env.sh' first (on a distro: source install/setup.bash)"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def check_python() -> Check:
    in_venv = sys.prefix != sys.base_prefix
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= (3, 10)
    where = f"venv {sys.prefix}" if in_venv else f"system Python {sys.executable}"
    return Check("python", ok, f"{version}, {where}", "" if ok else "Python >= 3.10 is needed; " + SETUP_HINT)


def check_workspace() -> Check:
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    missing, found = [], []
    for pkg in ("f2p_msgs", "f2p_bringup", "f2p_sim", "f2p_model"):
        try:
            found.append(get_package_prefix(pkg))
        except PackageNotFoundError:
            missing.append(pkg)
    if missing:
        return Check("workspace", False, "not found on AMENT_PREFIX_PATH: " + ", ".join(missing), ENV_HINT)
    return Check("workspace", True, f"{len(found)} packages, e.g. {found[0]}")


def check_rclpy() -> Check:
    import rclpy

    rclpy.init()
    try:
        node = rclpy.create_node("f2p_doctor_" + uuid.uuid4().hex[:6])
        rmw = rclpy.get_rmw_implementation_identifier()
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    distro = os.environ.get("ROS_DISTRO", "kilted (PyPI wheels)")
    return Check("rclpy", True, f"{rmw}, ROS {distro}")


def check_msgs() -> Check:
    from rclpy.serialization import deserialize_message, serialize_message

    from f2p_msgs.action import ExecuteSkill, ExecuteTask, LearnFromFailure, PlanTask  # noqa: F401
    from f2p_msgs.msg import FailureEvent, Relation

    event = FailureEvent(event_id="doctor", step_index=3)
    event.mismatched.append(Relation(name="inside", subject="a", object="b", probability=1.0))
    back = deserialize_message(serialize_message(event), FailureEvent)
    ok = back == event
    return Check("f2p_msgs", ok, "messages and actions import; FailureEvent round-trips" if ok
                 else "FailureEvent changed in a serialisation round trip", "" if ok else "rebuild: " + SETUP_HINT)


def check_dds(timeout_s: float = 20.0) -> Check:
    """Publish pings; a second process echoes them back. Proves discovery + transport."""
    import rclpy
    from std_msgs.msg import String

    tag = uuid.uuid4().hex[:8]
    ping, pong = f"/f2p_doctor/ping_{tag}", f"/f2p_doctor/pong_{tag}"
    peer = subprocess.Popen(
        [sys.executable, "-m", "f2p_bringup.dds_probe", ping, pong, str(timeout_s)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    rclpy.init()
    replies: list[float] = []
    try:
        node = rclpy.create_node("f2p_doctor_ping_" + tag)
        pub = node.create_publisher(String, ping, 10)
        sent_at: dict[str, float] = {}

        def on_pong(msg: String) -> None:
            key = msg.data.removeprefix("pong:")
            if key in sent_at:
                replies.append(time.monotonic() - sent_at[key])

        node.create_subscription(String, pong, on_pong, 10)
        deadline = time.monotonic() + timeout_s
        i = 0
        while not replies and time.monotonic() < deadline and peer.poll() is None:
            key = f"{tag}-{i}"
            sent_at[key] = time.monotonic()
            pub.publish(String(data=key))
            i += 1
            end = time.monotonic() + 0.2
            while time.monotonic() < end and not replies:
                rclpy.spin_once(node, timeout_sec=0.05)
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
        try:
            out, _ = peer.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()
            out, _ = peer.communicate()
    if replies:
        return Check("dds round trip", True, f"2 processes, first echo after {i} ping(s), {replies[0] * 1e3:.1f} ms")
    why = f"echo process exited with {peer.returncode}: {out.strip()[-300:]}" if out else "no echo received"
    return Check("dds round trip", False, why,
                 "check ROS_AUTOMATIC_DISCOVERY_RANGE / ROS_DOMAIN_ID and that loopback is up; " + ENV_HINT)


def check_torch() -> Check:
    import torch

    x = torch.randn(64, 64, requires_grad=True)
    (x @ x).sum().backward()
    cuda = torch.cuda.is_available()
    return Check("torch", x.grad is not None,
                 f"{torch.__version__}, {torch.get_num_threads()} threads, cuda={'yes' if cuda else 'no'}")


def check_mujoco_render() -> Check:
    os.environ.setdefault("MUJOCO_GL", "egl")
    import mujoco
    import numpy as np

    xml = """<mujoco><worldbody><light pos="0 0 3"/><geom type="plane" size="1 1 .1"/>
      <geom type="box" size=".1 .1 .1" pos="0 0 .1"/>
      <camera name="c" pos="0 -1 1" xyaxes="1 0 0 0 .7 .7"/></worldbody></mujoco>"""
    m = mujoco.MjModel.from_xml_string(xml)
    d = mujoco.MjData(m)
    mujoco.mj_forward(m, d)
    renderer = mujoco.Renderer(m, 48, 64)
    try:
        renderer.enable_depth_rendering()
        renderer.update_scene(d, "c")
        t0 = time.perf_counter()
        depth = renderer.render()
        dt = time.perf_counter() - t0
    finally:
        renderer.close()
    ok = bool(np.isfinite(depth).all() and depth.min() > 0.5)
    detail = f"{mujoco.__version__}, MUJOCO_GL={os.environ['MUJOCO_GL']}, depth in {dt * 1e3:.0f} ms"
    return Check("mujoco render", ok, detail if ok else detail + ", depth image invalid", "" if ok else EGL_HINT)


def check_open3d() -> Check:
    import numpy as np
    import open3d as o3d

    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.random.default_rng(0).random((500, 3))))
    n = len(pcd.voxel_down_sample(0.1).points)
    return Check("open3d", n > 0, f"{o3d.__version__}, voxel downsample 500 -> {n} points")


#: The checks in the order they run; the hints name the fix for a failure.
CHECKS: list[tuple[str, Callable[[], Check], str]] = [
    ("python", check_python, SETUP_HINT),
    ("workspace", check_workspace, ENV_HINT),
    ("rclpy", check_rclpy, SETUP_HINT),
    ("f2p_msgs", check_msgs, SETUP_HINT),
    ("dds round trip", check_dds, ENV_HINT),
    ("torch", check_torch, "pip install torch==2.13.0 (CPU build); " + SETUP_HINT),
    ("mujoco render", check_mujoco_render, EGL_HINT),
    ("open3d", check_open3d, "apt-get install libusb-1.0-0 (open3d needs it); " + SETUP_HINT),
]


def run_checks() -> list[Check]:
    results = []
    for name, fn, hint in CHECKS:
        try:
            result = fn()
        except Exception as exc:
            result = Check(name, False, f"{type(exc).__name__}: {exc}".splitlines()[0][:200], hint)
        results.append(result)
    return results


def format_table(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check'.ljust(width)}  status  detail", f"{'-' * width}  ------  ------"]
    for r in results:
        lines.append(f"{r.name.ljust(width)}  {'ok    ' if r.ok else 'FAILED'}  {r.detail}")
    failed = [r for r in results if not r.ok]
    if failed:
        lines.append("")
        lines.extend(f"fix {r.name}: {r.hint}" for r in failed)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    results = run_checks()
    print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the installation (venv, rclpy, DDS, f2p_msgs, torch, MuJoCo, open3d)")
    p.set_defaults(func=run)
