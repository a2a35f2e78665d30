"""Compile a `Scene` into MJCF text for MuJoCo (the simulator behind the A.10 skills).

Layout: a ground plane (the scene's `ground` object, or an anonymous `floor` at z = 0), static
objects as joint-less bodies, movable objects as free bodies, each drawer as an open box on a
slide joint along its cabinet's opening axis (-x), two mocap bodies and one weld:
- `gripper`: the kinematic "magic" gripper of the README, no collision (contype/conaffinity 0).
- `grasp`: a weld gripper -> world, inactive. At grasp time the skill re-targets its second body
  (`m.eq_obj2id`) to the grasped object and writes the current relative pose into `eq_data`, so
  switching it on causes no jump (SIM_NOTES). One weld instead of one per object keeps the README
  name and makes "what is grasped" a single model field.
- `pusher`: a mocap paddle that *does* collide; it is parked far above the scene and brought in
  only for the push skill, so pushed objects push their neighbours by contact physics (A.10).
Gripper and pusher geoms are in group 5, which default renderers hide, so they never appear in
observations. Geoms of object `NAME` are `NAME/<part>` (README); parts come from shapes.py.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from f2p_core.classes import ObjectClass

from .scene import CameraSpec, ObjectSpec, Scene
from .shapes import DRAWER_MAX_OPEN_FRACTION, part_volume, parts

# Where unused mocap bodies wait (m): far above any scene and outside every camera's view.
GRIPPER_PARK = (0.0, 0.0, 5.0)
PUSHER_PARK = (0.0, 0.0, 6.0)
# Pusher paddle half extents (thickness along the push, width, height): a 4 cm tall, 8 cm wide
# flat end effector pushes a 4–10 cm object squarely without tilting it.
PUSHER_HALF = (0.01, 0.04, 0.015)
# Paddle contact time constant: the stiffest MuJoCo allows at dt 0.004 (2·dt).
PUSHER_SOLREF = (0.008, 1.0)
# Contact softness: MuJoCo's default time constant 0.02 s is ≥ 2·dt for dt ≤ 0.01, so contacts
# stay stable at dt 0.004–0.006 while small objects rest in boxes with ~1 mm penetration.
CONTACT_SOLREF = (0.02, 1.0)
CONTACT_SOLIMP = (0.9, 0.95, 0.001, 0.5, 2.0)
# Weld defaults (time constant, damping ratio); skills retune eq_solref per skill.
GRASP_SOLREF = (0.02, 1.0)
# Drawer slide: viscous damping (N·s/m) and dry friction (N) so a released drawer stays put.
DRAWER_DAMPING = 5.0
DRAWER_FRICTIONLOSS = 0.5
# Collision bit of a robot model's geoms (f2p_sim.stretch_model): objects have it in their conaffinity.
ROBOT_AFFINITY = 2
# Offscreen buffer (pixels): at least as large as the largest camera image.
MIN_OFFSCREEN = (640, 480)


def _fmt(values) -> str:
    return " ".join(f"{float(v):.9g}" for v in values)


def camera_xyaxes(cam: CameraSpec) -> tuple[float, ...]:
    """MuJoCo `xyaxes` of a camera at `pos` looking at `lookat` with z up (the camera looks
    along its -z axis; x points right in the image, y up)."""
    pos, target = np.asarray(cam.pos), np.asarray(cam.lookat)
    fwd = (target - pos) / np.linalg.norm(target - pos)
    right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
    if np.linalg.norm(right) < 1e-9:  # looking straight down: image x along world -y
        right = np.array([0.0, -1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    if cam.roll:  # about the optical axis: REP 103's roll about body x (forward), image right = -body y
        c, s = np.cos(cam.roll), np.sin(cam.roll)
        right, up = c * right - s * up, s * right + c * up
    return tuple(right) + tuple(up)


def _add_object(world: ET.Element, o: ObjectSpec) -> None:
    body = ET.SubElement(world, "body", name=o.name, pos=_fmt(o.pos), quat=_fmt(o.quat))
    dynamic = o.cls.is_movable or o.cls is ObjectClass.DRAWER
    if o.cls.is_movable:
        ET.SubElement(body, "freejoint", name=f"{o.name}/free")
    elif o.cls is ObjectClass.DRAWER:
        ET.SubElement(body, "joint", name=f"{o.name}/slide", type="slide", axis="-1 0 0",
                      limited="true", range=_fmt((0.0, DRAWER_MAX_OPEN_FRACTION * o.size[0])),
                      damping=str(DRAWER_DAMPING), frictionloss=str(DRAWER_FRICTIONLOSS),
                      armature="0.01")
    ps = parts(o)
    total = sum(part_volume(p) for p in ps)
    for p in ps:
        attrs = {"name": f"{o.name}/{p.name}", "type": p.kind, "pos": _fmt(p.pos),
                 "rgba": _fmt(o.rgba), "friction": _fmt((o.friction, 0.005, 0.0001))}
        if p.kind == "box":
            attrs["size"] = _fmt(p.half)
        elif p.kind == "plane":
            attrs["size"] = _fmt((p.half[0], p.half[1], 0.05))
            attrs["conaffinity"] = "1"  # a robot standing on the ground does not collide with it
        elif p.kind == "cylinder":
            attrs["size"] = _fmt((p.half[0], p.half[2]))
        else:  # capsule: radius and half length of the cylindrical part
            attrs["size"] = _fmt((p.half[0], p.half[2] - p.half[0]))
        if dynamic:
            attrs["mass"] = f"{o.mass * part_volume(p) / total:.9g}"
        ET.SubElement(body, "geom", **attrs)


def scene_to_mjcf(scene: Scene, *, timestep: float = 0.004) -> str:
    """MJCF text for `scene` (call `validate(scene)` first; World does)."""
    root = ET.Element("mujoco", model="f2p_scene")
    ET.SubElement(root, "compiler", angle="radian", autolimits="true")
    # implicitfast: stable with the drawer damping at large dt; pyramidal cones are the cheap
    # default and hold objects in tilted containers well enough at these speeds.
    ET.SubElement(root, "option", timestep=f"{timestep:.9g}", integrator="implicitfast",
                  cone="pyramidal")
    w = max([MIN_OFFSCREEN[0]] + [c.width for c in scene.cameras])
    h = max([MIN_OFFSCREEN[1]] + [c.height for c in scene.cameras])
    visual = ET.SubElement(root, "visual")
    ET.SubElement(visual, "global", offwidth=str(w), offheight=str(h))
    default = ET.SubElement(root, "default")
    # conaffinity 1 | ROBOT_AFFINITY: objects collide with each other and with a robot model's geoms
    # (f2p_sim.stretch_model: contype ROBOT_AFFINITY, conaffinity 0), the floor only with objects
    ET.SubElement(default, "geom", condim="3", solref=_fmt(CONTACT_SOLREF),
                  solimp=_fmt(CONTACT_SOLIMP), conaffinity=str(1 | ROBOT_AFFINITY))
    world = ET.SubElement(root, "worldbody")
    ET.SubElement(world, "light", name="sun", directional="true", pos="0 0 3", dir="0.3 0.2 -1",
                  diffuse="0.8 0.8 0.8", castshadow="false")
    if not any(o.cls is ObjectClass.GROUND for o in scene.objects):
        ET.SubElement(world, "geom", name="floor", type="plane", size="5 5 0.05",
                      rgba="0.55 0.55 0.55 1", conaffinity="1")
    for cam in scene.cameras:
        ET.SubElement(world, "camera", name=cam.name, pos=_fmt(cam.pos),
                      xyaxes=_fmt(camera_xyaxes(cam)), fovy=f"{cam.fovy_deg:.9g}")
    for o in scene.objects:
        _add_object(world, o)
    gripper = ET.SubElement(world, "body", name="gripper", mocap="true", pos=_fmt(GRIPPER_PARK))
    ET.SubElement(gripper, "geom", name="gripper/tip", type="sphere", size="0.01",
                  contype="0", conaffinity="0", group="5", rgba="0.1 0.1 0.1 1")
    pusher = ET.SubElement(world, "body", name="pusher", mocap="true", pos=_fmt(PUSHER_PARK))
    # priority 1: the paddle's contact parameters win: low friction so it pushes without
    # dragging sideways, and a stiff solref because a mocap body has no velocity for the solver:
    # it pushes through penetration, which settles at about speed × time constant (2 mm here).
    ET.SubElement(pusher, "geom", name="pusher/paddle", type="box", size=_fmt(PUSHER_HALF),
                  group="5", priority="1", friction="0.2 0.005 0.0001",
                  solref=_fmt(PUSHER_SOLREF), rgba="0.1 0.1 0.1 1")
    contact = ET.SubElement(root, "contact")
    for o in scene.objects:
        if o.cls is ObjectClass.DRAWER:
            # The slide joint alone holds the drawer; shell contacts would only add friction.
            ET.SubElement(contact, "exclude", body1=o.parent, body2=o.name)
    if len(contact) == 0:
        root.remove(contact)
    equality = ET.SubElement(root, "equality")
    ET.SubElement(equality, "weld", name="grasp", body1="gripper", active="false",
                  solref=_fmt(GRASP_SOLREF))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")
