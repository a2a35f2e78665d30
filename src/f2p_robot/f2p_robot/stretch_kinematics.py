"""Skills (A.10) as joint goals of a Hello Robot Stretch RE2, ROS-free.

`plan_skill(call, target, state)` turns a pick_place / push / open_drawer / close_drawer call and
the box of the object it acts on into an ordered list of `JointGoal`s with the joint names of
stretch_driver (SIM_NOTES.md): translate_mobile_base, rotate_mobile_base, joint_lift,
wrist_extension, joint_wrist_yaw, joint_gripper_finger_left. A target outside the joint limits
raises `UnreachableError` naming the joint, the value and the limits; a malformed call raises
ValueError. Nothing here talks to hardware (stretch_backends.py does).

Frames and conventions (all positions in metres, angles in radians):

* The scene frame is the frame of the perceived boxes ("world" in simulation, the robot's
  odometry frame on the robot), z up. `StretchState` holds the base pose (x, y, theta) in it;
  theta is the heading of the base's forward axis (+x of base_link).
* The base is differential drive: it translates along its heading and rotates in place.
  translate_mobile_base and rotate_mobile_base goals are *increments* (stretch_driver's position
  mode treats them so); every other joint goal is absolute.
* Stretch's telescoping arm extends sideways, along the base's -y axis: direction
  a = (sin theta, -cos theta). The arm's vertical plane passes `arm_offset_x` ahead of the base
  centre. With the arm retracted the wrist yaw axis is `wrist_reach_retracted` from the base
  centre along a, and `wrist_extension` adds to that.
* joint_wrist_yaw = 0 points the gripper straight out along a; positive yaw turns it
  counter-clockwise seen from above (towards the base's forward axis). The grasp centre (between
  the fingertips) is `gripper_length` from the yaw axis, at height joint_lift + `grasp_height_offset`.
  So for a grasp point p and yaw w, with h = (cos theta, sin theta) and d = p_xy - base_xy:
  base translation t = d·h - arm_offset_x - gripper_length·sin w and extension
  e = d·a - wrist_reach_retracted - gripper_length·cos w.
* Grasps are side grasps at the object's box centre with the gripper pointing along the arm
  (the RE2's standard gripper has no pitch joint); the object turns with the wrist by pick_place's
  dyaw. The object's width across the fingers must fit the gripper's opening. An open box wider
  than that (a container, a bag: `ObjectBox.wall` > 0) is grasped by its near wall instead: the
  wrist turned by +π/2 so the fingers close across the wall's thickness, lowered onto the rim from
  above to `rim_depth` under its top; it then turns about that grasp point, so the placement is
  planned for the box's centre to land where the skill says (issue 20: with centre grasps alone
  the Stretch could carry none of transport's bags).

The numbers (`StretchGeometry`) are nominal RE2 values (the kinematic offsets those of Hello Robot's
URDF, measured in the MuJoCo model of issue 20; until 2026-12-07 they were guesses: 0 / 0.25 / 0.18 / 0 m):
joint_lift 0–1.1 m of travel,
wrist_extension 0–0.52 m (4 telescoping links of 0.13 m), joint_wrist_yaw kept within
-1.38..4.0 rad (inside the URDF ranges we have seen; check the robot's calibrated range in
stretch_body's wrist_yaw parameters), joint_gripper_finger_left -0.376..0.263 rad (the finger angle
of hello_helpers' GripperConversion: 0 = fingertips touching, 0.263 = 9 cm aperture, negative =
squeezing). The offsets (wrist reach, gripper length, grasp height) are approximations to
calibrate on the robot; they are dataclass fields so a config can override them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from f2p_core.classes import ObjectClass
from f2p_core.skills import PARAM_NAMES, SkillCall, SkillType
from f2p_sim.scene import default_wall
from f2p_sim.stretch_world import STOW_LIFT, STOW_YAW

TRANSLATE, ROTATE = "translate_mobile_base", "rotate_mobile_base"
LIFT, EXTENSION, YAW, GRIPPER = "joint_lift", "wrist_extension", "joint_wrist_yaw", "joint_gripper_finger_left"
JOINTS = (TRANSLATE, ROTATE, LIFT, EXTENSION, YAW, GRIPPER)
RELATIVE_JOINTS = frozenset({TRANSLATE, ROTATE})


class UnreachableError(ValueError):
    """The skill needs a joint position outside the robot's limits (ExecuteSkill STATUS_UNREACHABLE)."""


@dataclass(frozen=True)
class StretchGeometry:
    """Joint limits, kinematic offsets and nominal speeds of a Stretch RE2 (module docstring)."""

    lift: tuple[float, float] = (0.0, 1.1)
    extension: tuple[float, float] = (0.0, 0.52)
    wrist_yaw: tuple[float, float] = (-1.38, 4.0)
    gripper: tuple[float, float] = (-0.376, 0.263)
    gripper_open: float = 0.26  # finger rad, fully open
    gripper_closed: float = -0.1  # finger rad, a moderate squeeze
    aperture_per_rad: float = 0.315  # m between the fingertip pads per finger rad (the URDF's: 0 = touching)
    max_aperture: float = 0.082  # m between the pads at gripper_open
    grasp_margin: float = 0.02  # m: the fingers open to the object's width plus this (not wider: neighbours)
    max_base_travel: float = 1.0  # m per goal: a longer drive is navigation, not a skill
    # the offsets of Hello Robot's RE2 URDF (hello-robot-stretch-urdf 0.1.2, tool_stretch_gripper), measured by
    # forward kinematics of the model f2p_sim.stretch_model builds from it (test_stretch_sim.py checks them)
    arm_offset_x: float = -0.0214  # m, arm plane ahead of the base centre
    wrist_reach_retracted: float = 0.145  # m, base centre to wrist yaw axis along -y, arm retracted
    gripper_length: float = 0.2055  # m, wrist yaw axis to the grasp centre (link_grasp_center)
    grasp_height_offset: float = 0.0261  # m, grasp centre height minus joint_lift
    rim_depth: float = 0.015  # m, an open box's wall is grasped this far under its top
    # m, the gripper moves between places this far above the target's top, empty or carrying (its bottom
    # this far over the target's top height): over the scenes' other objects (cups 10 cm), which the
    # kinematics does not see (issue 20: at 5 cm the fingertips swept through the neighbouring cups)
    travel_clearance: float = 0.12
    fingertip_drop: float = 0.030  # m, the fingertips' lowest point under the grasp centre (the URDF's)
    support_gap: float = 0.005  # m, the fingertips stay this far above what the grasped object stands on
    # the gripper's footprint around the grasp centre (the URDF's links, wrist at 0): it reaches this far behind
    # the centre towards the wrist and beyond it past the fingertips, this wide across its body, and each
    # finger this thick beside what it grasps; a neighbour in that footprint meets the gripper on the way down
    gripper_back: float = 0.20
    gripper_tip: float = 0.03
    gripper_half_width: float = 0.06
    finger_width: float = 0.015
    stow_lift: float = STOW_LIFT  # m: every skill ends with the arm stowed (f2p_sim.stretch_world: out of view)
    stow_yaw: float = STOW_YAW  # rad: the wrist turned back over the base
    push_gap: float = 0.02  # m, the fingertips start this far behind the pushed face (f2p_sim: PUSH_GAP)
    push_max_height: float = 0.03  # m, push at most this high above the object's bottom (f2p_sim)
    speeds: dict[str, float] = field(default_factory=lambda: {
        TRANSLATE: 0.1, ROTATE: 0.3, LIFT: 0.1, EXTENSION: 0.1, YAW: 0.5, GRIPPER: 0.5})  # per second
    settle_s: float = 0.5  # added to every goal's duration


DEFAULT_GEOMETRY = StretchGeometry()


@dataclass(frozen=True)
class StretchState:
    """Where the robot is: base pose in the scene frame and absolute joint positions."""

    base_x: float = 0.0
    base_y: float = 0.0
    base_theta: float = 0.0
    lift: float = 0.6
    extension: float = 0.0
    wrist_yaw: float = 0.0
    gripper: float = 0.0

    def joint(self, name: str) -> float:
        return {LIFT: self.lift, EXTENSION: self.extension, YAW: self.wrist_yaw, GRIPPER: self.gripper}[name]


@dataclass(frozen=True)
class ObjectBox:
    """The object a skill acts on: box centre (3,), full size (3,) along its own axes, yaw about z."""

    name: str
    centre: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0
    wall: float = 0.0  # an open box's wall thickness (m); 0 for a solid object

    def __post_init__(self) -> None:
        c, s = np.asarray(self.centre, float), np.asarray(self.size, float)
        if c.shape != (3,) or s.shape != (3,) or not (np.isfinite(c).all() and np.isfinite(s).all()
                                                     and math.isfinite(self.yaw)) or (s < 0).any():
            raise ValueError(f"object '{self.name}': centre and size must be 3 finite numbers (size >= 0), "
                             f"yaw finite; got {self.centre}, {self.size}, {self.yaw}")
        if not (math.isfinite(self.wall) and self.wall >= 0):
            raise ValueError(f"object '{self.name}': wall must be finite and >= 0, got {self.wall}")

    @classmethod
    def from_aabb(cls, name: str, lo, hi, wall: float = 0.0) -> ObjectBox:
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        return cls(name, tuple((lo + hi) / 2), tuple(hi - lo), wall=wall)

    def extent_along(self, direction_xy: np.ndarray) -> float:
        """Width of the box's footprint along a horizontal unit direction."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return (abs(direction_xy @ np.array([c, s])) * self.size[0]
                + abs(direction_xy @ np.array([-s, c])) * self.size[1])


def skill_boxes(name: str, names, classes, box_lo, box_hi) -> tuple[ObjectBox, list[ObjectBox]]:
    """(`target_box` of `name`, the boxes of the other movable objects: `plan_skill`'s neighbours)."""
    others = [n for n, c in zip(names, classes, strict=True) if n != name and ObjectClass(c).is_movable]
    return (target_box(name, names, classes, box_lo, box_hi),
            [target_box(n, names, classes, box_lo, box_hi) for n in others])


def target_box(name: str, names, classes, box_lo, box_hi) -> ObjectBox:
    """Object `name` as the kinematics sees it, from a scene's names, classes and axis-aligned boxes:
    what the robot node has from /f2p/scene and the simulated Stretch from its world (f2p_robot.stretch_sim),
    so both translate a skill the same way. An open box gets its class's nominal wall thickness
    (f2p_sim.scene.default_wall: the robot does not measure walls)."""
    names = list(names)
    if name not in names:
        raise ValueError(f"unknown object '{name}'; the scene has {names}")
    k = names.index(name)
    cls = ObjectClass(classes[k])
    return ObjectBox.from_aabb(name, box_lo[k], box_hi[k], wall=default_wall(cls) if cls.is_open_box else 0.0)


@dataclass(frozen=True)
class JointGoal:
    """One motion: joint name -> position (base joints: increments), reached together."""

    stage: str
    positions: dict[str, float]
    duration_s: float


@dataclass
class SkillPlan:
    goals: list[JointGoal]
    final: StretchState  # dead-reckoned state after the last goal


class _Builder:
    """Appends goals while tracking the state, checking every absolute target against its limits."""

    def __init__(self, state: StretchState, geometry: StretchGeometry, what: str) -> None:
        self.state, self.g, self.what, self.goals = state, geometry, what, []

    @property
    def heading(self) -> np.ndarray:
        return np.array([math.cos(self.state.base_theta), math.sin(self.state.base_theta)])

    @property
    def arm_dir(self) -> np.ndarray:
        return np.array([math.sin(self.state.base_theta), -math.cos(self.state.base_theta)])

    def _check(self, joint: str, value: float, limits: tuple[float, float], unit: str, stage: str) -> None:
        if not limits[0] - 1e-9 <= value <= limits[1] + 1e-9:
            raise UnreachableError(f"{self.what}: {stage} needs {joint} = {value:.3f} {unit}, outside "
                                   f"[{limits[0]}, {limits[1]}] {unit}")

    def move(self, stage: str, **joints: float) -> None:
        g, s = self.g, self.state
        limits = {LIFT: (g.lift, "m"), EXTENSION: (g.extension, "m"), YAW: (g.wrist_yaw, "rad"),
                  GRIPPER: (g.gripper, "rad")}
        positions, duration = {}, 0.0
        for key, raw in joints.items():
            name = {"translate": TRANSLATE, "rotate": ROTATE, "lift": LIFT, "extension": EXTENSION,
                    "yaw": YAW, "gripper": GRIPPER}[key]
            value = float(raw)
            if name == TRANSLATE:
                if abs(value) > g.max_base_travel:
                    raise UnreachableError(f"{self.what}: {stage} needs the base to drive {value:.3f} m, more than "
                                           f"{g.max_base_travel} m")
                delta = abs(value)
                xy = np.array([s.base_x, s.base_y]) + value * self.heading
                s = replace(s, base_x=float(xy[0]), base_y=float(xy[1]))
            elif name == ROTATE:
                delta = abs(value)
                s = replace(s, base_theta=math.remainder(s.base_theta + value, 2 * math.pi))
            else:
                self._check(name, value, *limits[name], stage)
                delta = abs(value - self.state.joint(name))
                s = replace(s, **{key if key != "yaw" else "wrist_yaw": value})
            positions[name] = value
            duration = max(duration, delta / g.speeds[name])
        self.state = s
        self.goals.append(JointGoal(stage, positions, duration + g.settle_s))

    def reach(self, point, yaw: float, stage: str) -> tuple[float, float, float]:
        """(base translation, extension, lift) that put the grasp centre on `point` with wrist yaw
        `yaw`, from the current base pose (module docstring)."""
        g = self.g
        self._check(YAW, yaw, g.wrist_yaw, "rad", stage)
        d = np.asarray(point[:2], float) - np.array([self.state.base_x, self.state.base_y])
        t = float(d @ self.heading) - g.arm_offset_x - g.gripper_length * math.sin(yaw)
        e = float(d @ self.arm_dir) - g.wrist_reach_retracted - g.gripper_length * math.cos(yaw)
        lift = float(point[2]) - g.grasp_height_offset
        self._check(EXTENSION, e, g.extension, "m", stage)
        self._check(LIFT, lift, g.lift, "m", stage)
        return t, e, lift

    def face(self, point) -> None:
        """Turn the base around if `point` lies on its +y side (the arm reaches along -y only)."""
        d = np.asarray(point[:2], float) - np.array([self.state.base_x, self.state.base_y])
        if float(d @ self.arm_dir) < 0.0:
            self.move("turn_base", rotate=math.pi)


def _wrist_yaw(yaw: float, limits: tuple[float, float]) -> float:
    """`yaw` or `yaw` ± 2π, whichever lies within the limits (else `yaw`, which the check refuses)."""
    for candidate in (yaw, yaw + 2 * math.pi, yaw - 2 * math.pi):
        if limits[0] <= candidate <= limits[1]:
            return candidate
    return yaw


def plan_skill(call: SkillCall, target: ObjectBox, state: StretchState,
               geometry: StretchGeometry = DEFAULT_GEOMETRY, neighbours: Sequence[ObjectBox] = ()) -> SkillPlan:
    """Joint goals of `call` acting on `target` (its object_ids[0]) from `state`. `neighbours`, the boxes of
    the other movable objects, let a grasp choose the wrist yaw whose gripper clears them (`_grasp`)."""
    kind = SkillType(call.type)
    params = np.asarray(call.params, float).reshape(-1)
    if params.shape != (len(PARAM_NAMES[kind]),) or not np.isfinite(params).all():
        raise ValueError(f"{kind.value} takes {len(PARAM_NAMES[kind])} finite parameters {PARAM_NAMES[kind]}, "
                         f"got {params.tolist()}")
    if not call.object_ids or call.object_ids[0] != target.name:
        raise ValueError(f"the target box is '{target.name}' but the skill acts on {list(call.object_ids)}")
    b = _Builder(state, geometry, f"{kind.value} of '{target.name}'")
    if kind is SkillType.PICK_PLACE:
        _pick_place(b, target, *params, neighbours=neighbours)
    elif kind is SkillType.PUSH:
        _push(b, target, *params)
    else:
        _drawer(b, target, params[0], opening=kind is SkillType.OPEN_DRAWER)
    b.move("stow_wrist", yaw=geometry.stow_yaw)  # turned back where the arm is, clear of the tables
    b.move("stow", lift=geometry.stow_lift)
    return SkillPlan(b.goals, b.state)


def _prepare(b: _Builder, lift: float, yaw: float, gripper: float) -> None:
    """Retract and raise the arm to `lift` first, then turn the wrist and set the fingers: from the stowed
    pose the wrist would swing the gripper through the table's edge below the table top."""
    b.move("raise", extension=0.0, lift=lift)
    b.move("prepare", yaw=yaw, gripper=gripper)


def _blocked(b: _Builder, point: np.ndarray, yaw: float, opening_rad: float, neighbours: Sequence[ObjectBox]) -> int:
    """How many `neighbours` reach into the gripper's footprint (StretchGeometry.gripper_*) when it comes
    down to `point` with wrist yaw `yaw` and the fingers open by `opening_rad`: a separating-axis test of
    the footprint rectangle against each box's, for boxes whose top is above the fingertips."""
    g = b.g
    along = math.cos(yaw) * b.arm_dir + math.sin(yaw) * b.heading  # where the gripper points
    across = np.array([-along[1], along[0]])
    half_along = (g.gripper_back + g.gripper_tip) / 2
    centre = point[:2] + (g.gripper_tip - g.gripper_back) / 2 * along
    half_across = max(g.gripper_half_width, opening_rad * g.aperture_per_rad / 2 + g.finger_width)
    lowest = point[2] - g.fingertip_drop
    count = 0
    for n in neighbours:
        if n.centre[2] + n.size[2] / 2 <= lowest:
            continue
        d = np.asarray(n.centre[:2], float) - centre
        separated = any(abs(d @ axis) > r + n.extent_along(axis) / 2
                        for axis, r in ((along, half_along), (across, half_across)))
        c, s = math.cos(n.yaw), math.sin(n.yaw)
        for axis, half in ((np.array([c, s]), n.size[0] / 2), (np.array([-s, c]), n.size[1] / 2)):
            r = abs(along @ axis) * half_along + abs(across @ axis) * half_across
            separated = separated or abs(d @ axis) > r + half
        count += not separated
    return count


def _grasp(b: _Builder, obj: ObjectBox,
           neighbours: Sequence[ObjectBox] = ()) -> list[tuple[np.ndarray, float, float]]:
    """Grasps of `obj`, the best first: (grasp point, wrist yaw, finger opening in rad). Its centre between
    the fingers if it fits the opening (raised so the fingertips clear its support), else the rim of an open
    box's near wall (module docstring). The fingers open to what they grasp plus `grasp_margin`. A centre grasp
    points the gripper along the arm (yaw 0) or, when that meets more `neighbours` and the object fits
    across the other way, along the base's heading (yaw π/2): in HTO's clutter the gripper touched a
    neighbouring cup in 55 of 181 planned skills (issue 20)."""
    g = b.g
    centre = np.asarray(obj.centre, float)

    def opening(w: float) -> float:
        return min(g.gripper_open, (w + g.grasp_margin) / g.aperture_per_rad)

    bottom = centre[2] - obj.size[2] / 2
    point = np.array([*centre[:2], max(centre[2], bottom + g.fingertip_drop + g.support_gap)])
    # yaw 0: the fingers close along the base's heading; yaw pi/2: along the arm
    fits = [(yaw, opening(w)) for yaw, w in ((0.0, obj.extent_along(b.heading)),
                                             (math.pi / 2, obj.extent_along(b.arm_dir))) if w <= g.max_aperture]
    if fits:
        return [(point, yaw, open_rad) for yaw, open_rad in sorted(
            fits, key=lambda f: _blocked(b, point, f[0], f[1], neighbours))]  # stable: yaw 0 first on a tie
    width = obj.extent_along(b.heading)
    if not 0 < obj.wall <= g.max_aperture:
        raise UnreachableError(f"{b.what}: the object is {width:.3f} m wide across the fingers, the gripper "
                               f"opens {g.max_aperture} m")
    near = centre[:2] - (obj.extent_along(b.arm_dir) / 2 - obj.wall / 2) * b.arm_dir
    top = centre[2] + obj.size[2] / 2
    return [(np.array([*near, top - g.rim_depth]), math.pi / 2, opening(obj.wall))]


def _pick_place(b: _Builder, obj: ObjectBox, dx: float, dy: float, dz: float, dyaw: float,
                neighbours: Sequence[ObjectBox] = ()) -> None:
    b.face(np.asarray(obj.centre, float))
    dyaw = math.remainder(dyaw, 2 * math.pi)
    state, goals, first = b.state, len(b.goals), None
    for grasp in _grasp(b, obj, neighbours):  # the best grasp the joints allow, grasp to placement
        try:
            return _pick_place_with(b, obj, grasp, dx, dy, dz, dyaw)
        except UnreachableError as exc:
            b.state, b.goals[goals:] = state, []
            first = first or exc
    raise first


def _pick_place_with(b: _Builder, obj: ObjectBox, chosen: tuple[np.ndarray, float, float], dx: float, dy: float,
                     dz: float, dyaw: float) -> None:
    g = b.g
    grasp, yaw_grasp, open_rad = chosen
    # the object turns by dyaw about the grasp point: put the grasp where the centre lands as asked
    c, s = math.cos(dyaw), math.sin(dyaw)
    centre = np.asarray(obj.centre, float)[:2]
    offset = centre - grasp[:2]
    turned = np.array([c * offset[0] - s * offset[1], s * offset[0] + c * offset[1]])
    place = np.array([*(centre + np.array([dx, dy]) - turned), grasp[2] + dz])
    yaw_place = _wrist_yaw(math.remainder(yaw_grasp + dyaw, 2 * math.pi), g.wrist_yaw)
    hang = grasp[2] - (obj.centre[2] - obj.size[2] / 2)  # grasp point above the object's bottom
    top = obj.centre[2] + obj.size[2] / 2
    # empty, the gripper travels travel_clearance above the target's top; carrying, the object's bottom does
    approach = top + g.travel_clearance - g.grasp_height_offset
    travel = max(top, place[2] - hang + obj.size[2]) + g.travel_clearance + hang - g.grasp_height_offset
    _prepare(b, approach, yaw_grasp, open_rad)
    t, e, lift = b.reach(grasp, yaw_grasp, "grasp")
    b.move("align_base", translate=t)
    b.move("reach", extension=e)
    b.move("descend", lift=lift)
    b.move("grasp", gripper=g.gripper_closed)
    b.move("lift", lift=travel)
    t, e, lift = b.reach(place, yaw_place, "place")
    b.move("carry", translate=t, yaw=yaw_place)
    b.move("place_reach", extension=e)
    b.move("lower", lift=lift)
    b.move("release", gripper=open_rad)
    b.move("clear", lift=approach)
    b.move("retreat", extension=0.0)


def _push(b: _Builder, obj: ObjectBox, angle: float, distance: float) -> None:
    g = b.g
    if distance <= 0.0:
        raise ValueError(f"push distance {distance} must be positive")
    u = np.array([math.cos(angle), math.sin(angle)])
    c = np.asarray(obj.centre, float)
    bottom = c[2] - obj.size[2] / 2
    z = bottom + min(obj.size[2] / 2, g.push_max_height)
    back = obj.extent_along(u) / 2 + g.push_gap
    start = np.array([*(c[:2] - back * u), z])
    end = np.array([*(start[:2] + (distance + g.push_gap) * u), z])
    above = c[2] + obj.size[2] / 2 + g.travel_clearance - g.grasp_height_offset
    b.face(start)
    _prepare(b, above, 0.0, g.gripper_closed)
    t, e, lift = b.reach(start, 0.0, "pre-push")
    b.move("align_base", translate=t)
    b.move("reach", extension=e)
    b.move("lower", lift=lift)
    t, e, _ = b.reach(end, 0.0, "push")
    b.move("push", translate=t, extension=e)
    b.move("raise", lift=above)
    b.move("retreat", extension=0.0)


def _drawer(b: _Builder, obj: ObjectBox, distance: float, opening: bool) -> None:
    g = b.g
    if distance < 0.0:
        raise ValueError(f"drawer distance {distance} must be >= 0")
    c, s = math.cos(obj.yaw), math.sin(obj.yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    handle = np.asarray(obj.centre, float) + rot @ np.array([-obj.size[0] / 2, 0.0, obj.size[2] / 2])
    axis = rot @ np.array([-1.0, 0.0, 0.0])  # the drawer slides out along its -x (f2p_sim skill_impl)
    end = handle + (distance if opening else -distance) * axis
    b.face(handle)
    _prepare(b, handle[2] - g.grasp_height_offset, 0.0, g.gripper_open)
    t, e, _ = b.reach(handle, 0.0, "handle")
    b.move("align_base", translate=t)
    b.move("reach", extension=e)
    b.move("grasp", gripper=g.gripper_closed)
    t, e, _ = b.reach(end, 0.0, "pull" if opening else "push")
    b.move("slide", translate=t, extension=e)
    b.move("release", gripper=g.gripper_open)
    b.move("retreat", extension=0.0)
