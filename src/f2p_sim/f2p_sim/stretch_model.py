"""The Hello Robot Stretch RE2 as a MuJoCo model, built once from Hello Robot's own URDF (issue 20).

`build()` makes `stretch_re2.xml` (MJCF) and its meshes from PyPI's `hello-robot-stretch-urdf`
(`PACKAGE`, pinned `VERSION`: Hello Robot's URDFs and meshes for RE1/RE2/SE3). The README's setup runs
it (`python -m f2p_sim.stretch_model`); the result is cached (`model_dir()`, under `F2P_CACHE` or
`~/.cache/f2p`) and a second build is a no-op. What the conversion does, and why:

* The wheel is fetched with `pip download --no-deps` (only its data files are used: the package's
  own Python helpers need `urchin`, which f2p does not), from the pip index the venv uses.
* MuJoCo reads the URDF after three changes (measured: SIM_NOTES-style facts in the package README):
  its ASCII STL meshes are written again as binary STL (MuJoCo reads binary only), decimated to at
  most `MAX_FACES` triangles (`base_link.STL` has over 200,000, MuJoCo's limit); the D435i's COLLADA
  visual becomes the box of its collision geometry; and `balanceinertia` / `boundmass` /
  `boundinertia` (`link_puller`'s inertia is not physical).
* The base gets planar joints `base_x`, `base_y`, `base_yaw` with position actuators, standing in for
  the differential drive as stretch_driver's position mode does (translate_mobile_base /
  rotate_mobile_base increments); the wheels' joints are removed (the base does not roll on them).
* Position actuators for `joint_lift`, the four telescoping links `joint_arm_l0..l3` (the extension
  is split equally over them, as stretch_driver does), `joint_wrist_yaw`, both fingers and the head
  pan / tilt. Every robot body has gravity compensation: the actuators only carry the motion and
  what the gripper holds, as the real motors' controllers do.
* Collision geometry: the URDF's collision meshes (MuJoCo collides their convex hulls) in
  `f2p_sim.mjcf.ROBOT_AFFINITY`; the robot never collides with itself or the floor, and collides with every scene
  object (`f2p_sim.mjcf` gives objects the matching affinity). Visual meshes are group 1, collision
  geoms group 3 (not rendered); the head's geoms, which enclose its camera, group 4 (`SELF_HIDDEN_GROUP`:
  neither rendered nor hit by the simulated depth camera's rays).
* A camera `head` at the D435i's colour optical frame (MuJoCo cameras look along -z with y up; the
  optical frame looks along +z with y down) and a site `grasp_center` at `link_grasp_center`.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from .mjcf import ROBOT_AFFINITY

PACKAGE = "hello-robot-stretch-urdf"
VERSION = "0.1.2"
URDF_MEMBER = "stretch_urdf/RE2V0/stretch_description_RE2V0_tool_stretch_gripper.urdf"
BUILD_VERSION = 3  # bump when the conversion below changes: a cached model of another version is rebuilt
MAX_FACES = 20000
MODEL_FILE = "stretch_re2.xml"
PREFIX = ""  # body / joint names as the URDF has them
ARM_LINKS = ("joint_arm_l3", "joint_arm_l2", "joint_arm_l1", "joint_arm_l0")
BASE_JOINTS = ("base_x", "base_y", "base_yaw")
FINGERS = ("joint_gripper_finger_left", "joint_gripper_finger_right")
HEAD_JOINTS = ("joint_head_pan", "joint_head_tilt")
# Collision bits: robot geoms have contype ROBOT_AFFINITY and conaffinity 0 (no self-collision, none
# with the floor); scene objects have ROBOT_AFFINITY in their conaffinity (f2p_sim.mjcf).
VISUAL_GROUP, COLLISION_GROUP = 1, 3
# The head's own geoms (the pan/tilt links, the D435i's housing): the head camera sits inside them, so
# neither its rays (f2p_sim.observe.RayCastCamera) nor default renderers see this group.
SELF_HIDDEN_GROUP = 4
HEAD_ROOT = "link_head_pan"
HEAD_FOVY = 87.0  # deg: the D435i depth camera's wide axis, vertical in the upright image (f2p_sim.stretch_world)
# Position actuator gains (N/m or N·m/rad) and damping: stiff enough that contact forces of a few
# newtons move a joint by millimetres, damped to about critical for the moving masses.
GAINS = {"base": (20000.0, 2000.0), "base_yaw": (5000.0, 500.0), "joint_lift": (20000.0, 1000.0),
         "arm": (10000.0, 300.0), "joint_wrist_yaw": (50.0, 2.0), "finger": (20.0, 0.5), "head": (20.0, 1.0)}


class StretchModelError(RuntimeError):
    """The Stretch model could not be built (no wheel, no network to fetch it, a conversion error)."""


def cache_dir() -> Path:
    return Path(os.environ.get("F2P_CACHE") or Path.home() / ".cache" / "f2p")


def model_dir() -> Path:
    return cache_dir() / "robots" / f"stretch_re2-{VERSION}-b{BUILD_VERSION}"


def model_path() -> Path:
    """The built MJCF (build() first; `load_spec` says how when it is missing)."""
    return model_dir() / MODEL_FILE


def fetch_wheel(dest: Path | None = None) -> Path:
    """`PACKAGE`==`VERSION` as a wheel file under `dest` (the cache), downloaded if not there yet."""
    dest = dest or cache_dir() / "wheels"
    pattern = f"{PACKAGE.replace('-', '_')}-{VERSION}-*.whl"
    found = sorted(dest.glob(pattern))
    if found:
        return found[0]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps", "-q",
           "-d", str(dest), f"{PACKAGE}=={VERSION}"]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    found = sorted(dest.glob(pattern))
    if done.returncode != 0 or not found:
        raise StretchModelError(f"could not download {PACKAGE}=={VERSION} ({' '.join(cmd)}): "
                                f"{(done.stderr or done.stdout).strip()[-500:]}")
    return found[0]


def _binary_stl(vertices: np.ndarray, triangles: np.ndarray, path: Path) -> None:
    """Write a binary STL (80-byte header, triangle count, per triangle normal + 3 vertices)."""
    v = vertices[triangles].astype(np.float32)  # (T, 3, 3)
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    rec = np.zeros(len(v), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    rec["n"], rec["v"] = n, v
    with open(path, "wb") as f:
        f.write(f"f2p: {PACKAGE} {VERSION}, binary".encode().ljust(80)[:80])
        f.write(np.uint32(len(v)).tobytes())
        f.write(rec.tobytes())


def _convert_mesh(source: Path, dest: Path) -> int:
    """`source` STL (ASCII or binary) as a binary STL of at most MAX_FACES triangles; its triangle count."""
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(source))
    if len(mesh.triangles) == 0:
        raise StretchModelError(f"{source.name}: no triangles")
    if len(mesh.triangles) > MAX_FACES:
        mesh = mesh.simplify_quadric_decimation(MAX_FACES)
    tris = np.asarray(mesh.triangles)
    _binary_stl(np.asarray(mesh.vertices), tris, dest)
    return len(tris)


def _urdf_for_mujoco(text: str) -> tuple[str, list[str]]:
    """The URDF MuJoCo reads (module docstring) and the STL files it references."""
    root = ElementTree.fromstring(text)
    meshes = []
    for geometry in root.iter("geometry"):
        mesh = geometry.find("mesh")
        if mesh is None:
            continue
        name = Path(mesh.get("filename", "")).name
        if name.lower().endswith(".dae"):  # the D435i visual: the box its collision element has
            geometry.remove(mesh)
            ElementTree.SubElement(geometry, "box", size="0.02505 0.09 0.025")
            continue
        mesh.set("filename", name)
        meshes.append(name)
    ext = ElementTree.Element("mujoco")
    ElementTree.SubElement(ext, "compiler", meshdir="meshes", balanceinertia="true", boundmass="0.001",
                           boundinertia="1e-6", fusestatic="false", discardvisual="false", strippath="false")
    root.insert(0, ext)
    return ElementTree.tostring(root, encoding="unicode"), sorted(set(meshes))


def _edit(spec):
    """Base joints, actuators, collision bits, gravity compensation, camera and grasp site (docstring)."""
    import mujoco

    base = spec.body("base_link")
    for j in list(spec.joints):  # the wheels: the planar joints move the base
        if j.name in ("joint_left_wheel", "joint_right_wheel"):
            spec.delete(j)
    axes = {"base_x": (mujoco.mjtJoint.mjJNT_SLIDE, [1, 0, 0]), "base_y": (mujoco.mjtJoint.mjJNT_SLIDE, [0, 1, 0]),
            "base_yaw": (mujoco.mjtJoint.mjJNT_HINGE, [0, 0, 1])}
    for name in BASE_JOINTS:
        kind, axis = axes[name]
        base.add_joint(name=name, type=kind, axis=axis, damping=0.0, armature=1.0)
    for body in spec.bodies:
        if body.name != "world":
            body.gravcomp = 1.0
    head = {b.name for b in spec.body(HEAD_ROOT).find_all(mujoco.mjtObj.mjOBJ_BODY)} | {HEAD_ROOT}
    for geom in spec.geoms:
        if geom.contype == 0 and geom.conaffinity == 0:
            geom.group = VISUAL_GROUP
        else:
            geom.contype, geom.conaffinity, geom.group = ROBOT_AFFINITY, 0, COLLISION_GROUP
            geom.condim, geom.friction = 4, [1.0, 0.02, 0.002]
        if geom.parent.name in head:
            geom.group = SELF_HIDDEN_GROUP
    for name in (*BASE_JOINTS, "joint_lift", *ARM_LINKS, "joint_wrist_yaw", *FINGERS, *HEAD_JOINTS):
        group = ("base" if name in ("base_x", "base_y") else "arm" if name in ARM_LINKS else
                 "finger" if name in FINGERS else "head" if name in HEAD_JOINTS else name)
        kp, kv = GAINS[group]
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=kp, kv=kv)
        joint = spec.joint(name)
        if joint.range[0] < joint.range[1] and name not in BASE_JOINTS:
            act.ctrllimited, act.ctrlrange = 1, list(joint.range)
    spec.body("link_grasp_center").add_site(name="grasp_center", size=[0.005, 0, 0], rgba=[1, 0, 0, 1], group=5)
    # optical frame: +z forward, +y down; a MuJoCo camera looks along its -z with +y up: turn by pi about x,
    # then by pi/2 about the optical axis so the image is upright (the D435i is mounted sideways on the
    # head: its long image axis, 87 deg for depth, runs vertically in the upright image)
    half = math.sqrt(0.5)
    turn = np.array([0.0, 1.0, 0.0, 0.0])  # pi about x
    roll = np.array([half, 0.0, 0.0, half])  # pi/2 about z (the optical axis)
    quat = np.empty(4)
    mujoco.mju_mulQuat(quat, turn, roll)
    spec.body("camera_color_optical_frame").add_camera(name="head", quat=quat.tolist(), fovy=HEAD_FOVY)
    return spec


def build(force: bool = False, wheel: Path | None = None, log=print) -> Path:
    """Build the model into `model_dir()` unless it is there already (then seconds: a no-op); its MJCF path."""
    out = model_dir()
    target = out / MODEL_FILE
    if target.is_file() and not force:
        log(f"Stretch RE2 model up to date: {target}")
        return target
    import mujoco

    t0 = time.perf_counter()
    wheel = wheel or fetch_wheel()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "model"
        (work / "meshes").mkdir(parents=True)
        with zipfile.ZipFile(wheel) as z:
            try:
                text = z.read(URDF_MEMBER).decode()
            except KeyError:
                raise StretchModelError(f"{wheel.name} has no {URDF_MEMBER}") from None
            urdf, meshes = _urdf_for_mujoco(text)
            mesh_dir = URDF_MEMBER.rsplit("/", 1)[0] + "/meshes/"
            src = Path(tmp) / "src"
            faces = 0
            for name in meshes:
                z.extract(mesh_dir + name, src)
                faces += _convert_mesh(src / mesh_dir / name, work / "meshes" / name)
        (work / "stretch_re2.urdf").write_text(urdf)
        spec = mujoco.MjSpec.from_file(str(work / "stretch_re2.urdf"))
        spec.modelname = "stretch_re2"
        _edit(spec)
        spec.compile()  # refuses a broken model before anything replaces the cache
        xml = spec.to_xml()
        xml = re.sub(r'meshdir="[^"]*"', 'meshdir="meshes"', xml)
        (work / MODEL_FILE).write_text(xml)
        mujoco.MjModel.from_xml_path(str(work / MODEL_FILE))  # the written file compiles on its own
        (work / "stretch_re2.urdf").unlink()
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            import shutil

            shutil.rmtree(out)
        os.replace(work, out)  # whole or nothing: a killed build leaves no half model
    log(f"built the Stretch RE2 model from {wheel.name} in {time.perf_counter() - t0:.1f} s "
        f"({len(meshes)} meshes, {faces} triangles): {target}")
    return target


def load_spec(path: Path | None = None):
    """The built model as an `mujoco.MjSpec` (to attach to a scene: f2p_sim.world)."""
    import mujoco

    path = path or model_path()
    if not path.is_file():
        raise StretchModelError(f"no Stretch RE2 model at {path}: build it with `python -m f2p_sim.stretch_model` "
                                f"(the README's setup does)")
    return mujoco.MjSpec.from_file(str(path))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m f2p_sim.stretch_model", description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="build again even if the cached model is there")
    ap.add_argument("--wheel", type=Path, help=f"a local {PACKAGE}=={VERSION} wheel instead of downloading it")
    args = ap.parse_args(argv)
    try:
        build(force=args.force, wheel=args.wheel)
    except StretchModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
