"""Conversions between the ROS-free libraries' types and the graph's messages.

Every node converts through here, so a message means the same thing everywhere. Directions and
what survives them:

* `SkillCall` <-> `f2p_msgs/Skill`: lossless (parameters are float64 both ways). Parameter names
  come from `f2p_sim.skills.PARAM_NAMES`; a received skill may leave them empty (canonical order).
* `SkeletonStep` <-> `Skill` without parameters (plan skeletons, the sampled task).
* `SkillStatus` <-> `ExecuteSkill.Result.STATUS_*`; STATUS_ABORTED (cancel, robot stopped) has
  no simulator status and reads back as None.
* points (P, 3) + optional uint32 labels <-> `sensor_msgs/PointCloud2` (x, y, z float32 and
  `label` uint32; vectorised through numpy structured arrays): lossless for float32 points.
* `PerceivedScene` <-> `f2p_msgs/SegmentedScene`: names, classes, full segment clouds, frame and
  boxes are lossless (boxes travel as centre + size, axis-aligned); the fixed-size `points`
  are re-sampled on the receiving side with `f2p_sim.observe.sample_fixed` (farthest point
  sampling, as perception does), so they depend on the receiver's generator.
* relation arrays (unary (N, U), binary (N, N, R); `f2p_sim.relations` order) <->
  `f2p_msgs/SymbolicState`: boolean arrays are *observed* relations and travel as the true ones
  with probability 1.0; float arrays are *predicted* probabilities and travel as every relation
  with p >= `threshold` (0.5 by default, 0.0 sends all). Reading back gives probabilities, 0 for
  relations the message does not list: lossless for observed states and for predicted ones
  above the threshold (probabilities are float32 in the message).
* `f2p_monitor.failure.FailureEvent` <-> `f2p_msgs/FailureEvent` (the goal text does not travel:
  the message has no field for it).
* the sampled task (`TaskSample`) -> `f2p_msgs/Task` -> `SimTask`.
* a plan (`f2p_planner.planner.PlanResult`) -> `f2p_msgs/Plan` -> `ReceivedPlan` (what the task
  executive reads of a plan): skills exactly, the predicted relations after every skill as
  probabilities (all of them by default, so the receiver compares with its own threshold).
* a model store version (`f2p_model.store.VersionMeta`) -> `f2p_msgs/ModelVersion`; metrics
  travel as `f2p_msgs/Metric` where they are finite numbers (bools as 0/1), others are left out.

Malformed messages raise ValueError naming the field and what was wrong. f2p_perception and
f2p_monitor are imported inside the functions that need them: their nodes depend on this package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

from f2p_core.failure import FailureClass, FailureEvent, Mismatch
from f2p_core.goal import Goal
from f2p_core.relations import BINARY, THRESHOLD, UNARY
from f2p_core.scene import SEGMENT_POINTS, PerceivedScene
from f2p_core.skills import PARAM_NAMES, SkillCall, SkillResult, SkillStatus, SkillType
from f2p_core.task import SkeletonStep, TaskPlan
from f2p_msgs.action import ExecuteSkill
from f2p_msgs.msg import FailureEvent as FailureEventMsg
from f2p_msgs.msg import (
    LabelMap,
    Metric,
    ModelVersion,
    ObjectSegment,
    Plan,
    Relation,
    SegmentedScene,
    Skill,
    StepOutcome,
    SymbolicState,
    Task,
)
from f2p_sim.observe import sample_fixed
from f2p_sim.tasks import TaskSample
from f2p_sim.transitions import MAX_FPS_CANDIDATES

from .names import LABEL_FIELD, NO_LABEL

# ---------------------------------------------------------------------------------------------
# Time and headers


def to_stamp(seconds: float) -> Time:
    """builtin_interfaces/Time of `seconds` since the epoch (rounded to the nanosecond)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a stamp must be finite and >= 0 s, got {seconds}")
    ns = round(seconds * 1e9)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def from_stamp(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_key(stamp: Time) -> tuple[int, int]:
    """Hashable, ordered form of a stamp (for pairing messages of one capture)."""
    return (int(stamp.sec), int(stamp.nanosec))


def make_header(frame_id: str = "", stamp: Time | None = None) -> Header:
    return Header(frame_id=frame_id, stamp=stamp if stamp is not None else Time())


# ---------------------------------------------------------------------------------------------
# Skills, skeleton steps, statuses


def _skill_type(value: object) -> SkillType:
    try:
        return SkillType(value)
    except ValueError:
        raise ValueError(f"unknown skill type {value!r}; known: {[t.value for t in SkillType]}") from None


def _object_ids(ids: Sequence[str], kind: SkillType) -> tuple[str, ...]:
    out = tuple(str(o) for o in ids)
    if not out:
        raise ValueError(f"{kind.value}: object_ids is empty (object_ids[0] is the manipulated object)")
    if any(not o for o in out):
        raise ValueError(f"{kind.value}: empty object id in {list(out)}")
    return out


def _params(values, kind: SkillType) -> np.ndarray:
    names = PARAM_NAMES[kind]
    params = np.asarray(values, dtype=np.float64).reshape(-1)
    if params.shape != (len(names),):
        raise ValueError(f"{kind.value} takes {len(names)} parameters {names}, got {params.size}")
    if not np.all(np.isfinite(params)):
        raise ValueError(f"{kind.value}: non-finite parameters {params.tolist()}")
    return params


def skill_to_msg(call: SkillCall) -> Skill:
    """A fully parameterised skill; ValueError for an unknown type or a wrong parameter count."""
    kind = _skill_type(call.type)
    params = _params(call.params, kind)
    return Skill(type=kind.value, object_ids=list(_object_ids(call.object_ids, kind)),
                 parameters=params.tolist(), parameter_names=list(PARAM_NAMES[kind]))


def skill_from_msg(msg: Skill) -> SkillCall:
    """The SkillCall of a received skill. `parameter_names` may be empty (canonical order);
    if given, they must be the skill's names in order. Object ids are not checked against any
    scene here: the executor reports unknown ones (STATUS_INVALID)."""
    kind = _skill_type(msg.type)
    names = list(msg.parameter_names)
    if names and names != list(PARAM_NAMES[kind]):
        raise ValueError(f"{kind.value} parameters are named {list(PARAM_NAMES[kind])}, got {names}")
    return SkillCall(kind, _object_ids(msg.object_ids, kind), _params(msg.parameters, kind))


def step_to_msg(step: SkeletonStep) -> Skill:
    """A skeleton step: type and objects, no parameters."""
    kind = _skill_type(step.type)
    return Skill(type=kind.value, object_ids=list(_object_ids(step.object_ids, kind)))


def step_from_msg(msg: Skill) -> SkeletonStep:
    """A skeleton step from a Skill; its parameters, if any, are ignored (PlanTask.action)."""
    kind = _skill_type(msg.type)
    return SkeletonStep(kind, _object_ids(msg.object_ids, kind))


_R = ExecuteSkill.Result
_STATUS_CODES: dict[SkillStatus, int] = {
    SkillStatus.OK: _R.STATUS_OK,
    SkillStatus.UNREACHABLE: _R.STATUS_UNREACHABLE,
    SkillStatus.COLLISION: _R.STATUS_COLLISION,
    SkillStatus.DROPPED: _R.STATUS_OBJECT_DROPPED,
    SkillStatus.INVALID: _R.STATUS_INVALID,
}
_CODE_STATUS = {code: status for status, code in _STATUS_CODES.items()}


def status_to_code(status: SkillStatus | str) -> int:
    return _STATUS_CODES[SkillStatus(status)]


def status_from_code(code: int) -> SkillStatus | None:
    """The simulator status of an ExecuteSkill result code; None for STATUS_ABORTED."""
    if code == _R.STATUS_ABORTED:
        return None
    try:
        return _CODE_STATUS[int(code)]
    except KeyError:
        raise ValueError(f"unknown ExecuteSkill status code {code}") from None


def skill_result_to_msg(result: SkillResult) -> ExecuteSkill.Result:
    """ExecuteSkill result of a simulator (or robot) result; duration is simulated time."""
    return ExecuteSkill.Result(status=status_to_code(result.status), success=result.ok,
                               error="" if result.ok else result.message, duration_s=float(result.sim_time))


def aborted_result(error: str, duration_s: float = 0.0) -> ExecuteSkill.Result:
    return ExecuteSkill.Result(status=_R.STATUS_ABORTED, success=False, error=error, duration_s=duration_s)


def invalid_result(error: str) -> ExecuteSkill.Result:
    return ExecuteSkill.Result(status=_R.STATUS_INVALID, success=False, error=error, duration_s=0.0)


# ---------------------------------------------------------------------------------------------
# Point clouds and label maps


def _xyz(points: np.ndarray, what: str = "points") -> np.ndarray:
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"{what} must be (P, 3), got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{what} contain {int((~np.isfinite(pts).all(axis=1)).sum())} non-finite points")
    return pts


def cloud_to_msg(points: np.ndarray, labels: np.ndarray | None = None, frame_id: str = "",
                 stamp: Time | None = None) -> PointCloud2:
    """A little-endian cloud: x, y, z float32 and, with `labels` (integers in [0, 2**32), NO_LABEL for
    "no object", shaped like the points' leading axes), a `label` uint32 field.

    (P, 3) points make an unorganised (height 1), dense cloud of finite points; (H, W, 3) points an
    organised one, as a depth camera driver publishes it: NaN marks a pixel without a measurement
    (is_dense false then)."""
    raw = np.asarray(points)
    organised = raw.ndim == 3 and raw.shape[2] == 3
    pts = raw.reshape(-1, 3) if organised else _xyz(points)
    height, width = raw.shape[:2] if organised else (1, pts.shape[0])
    n = pts.shape[0]
    names, formats = ["x", "y", "z"], ["<f4", "<f4", "<f4"]
    fields = [PointField(name=c, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, c in enumerate(names)]
    lab = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != raw.shape[:-1]:
            raise ValueError(f"labels must be {raw.shape[:-1]} like the points, got shape {lab.shape}")
        lab = lab.reshape(-1)
        if lab.dtype.kind not in "iu":
            raise ValueError(f"labels must be integers, got dtype {lab.dtype}")
        if n and (lab.min() < 0 or lab.max() > NO_LABEL):
            raise ValueError(f"labels must lie in [0, {NO_LABEL}] (use NO_LABEL for points of no object), "
                             f"got [{lab.min()}, {lab.max()}]")
        names.append(LABEL_FIELD)
        formats.append("<u4")
        fields.append(PointField(name=LABEL_FIELD, offset=12, datatype=PointField.UINT32, count=1))
    rec = np.empty(n, dtype=np.dtype({"names": names, "formats": formats}))
    for i, c in enumerate("xyz"):
        rec[c] = pts[:, i]
    if lab is not None:
        rec[LABEL_FIELD] = lab
    step = rec.dtype.itemsize
    return PointCloud2(header=make_header(frame_id, stamp), height=height, width=width, fields=fields,
                       is_bigendian=False, point_step=step, row_step=step * width, data=rec.tobytes(),
                       is_dense=bool(np.isfinite(pts).all()))


# ---------------------------------------------------------------------------------------------
# Camera images: colour (rgb8) and per-pixel labels (32SC1, the cloud's label values)

RGB8, LABELS32 = "rgb8", "32SC1"


def image_to_msg(rgb: np.ndarray, frame_id: str = "", stamp: Time | None = None) -> Image:
    """An (H, W, 3) uint8 image as `rgb8`, rows top to bottom."""
    img = np.ascontiguousarray(rgb)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"a colour image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    h, w = img.shape[:2]
    return Image(header=make_header(frame_id, stamp), height=h, width=w, encoding=RGB8, is_bigendian=0,
                 step=3 * w, data=img.tobytes())


def label_image_to_msg(labels: np.ndarray, frame_id: str = "", stamp: Time | None = None) -> Image:
    """An (H, W) image of label values (those of the cloud's `label` field; NO_LABEL where no object
    is seen) as `32SC1`: a label value v < 2**31 is the pixel v, NO_LABEL is -1."""
    lab = np.asarray(labels)
    if lab.ndim != 2 or lab.dtype.kind not in "iu":
        raise ValueError(f"a label image must be (H, W) integers, got {lab.shape} {lab.dtype}")
    pixels = np.ascontiguousarray(lab.astype(np.uint32).view(np.int32)).astype("<i4")
    h, w = pixels.shape
    return Image(header=make_header(frame_id, stamp), height=h, width=w, encoding=LABELS32, is_bigendian=0,
                 step=4 * w, data=pixels.tobytes())


def image_from_msg(msg: Image) -> np.ndarray:
    """`rgb8` -> (H, W, 3) uint8; `32SC1` (label image) -> (H, W) uint32 label values (NO_LABEL: none)."""
    if msg.encoding == RGB8:
        channels, dtype = 3, np.uint8
    elif msg.encoding == LABELS32:
        channels, dtype = 1, np.dtype("<i4")
    else:
        raise ValueError(f"image encoding must be {RGB8} or {LABELS32}, got {msg.encoding!r}")
    row = channels * np.dtype(dtype).itemsize * msg.width
    if msg.step != row or len(msg.data) != row * msg.height:
        raise ValueError(f"image of {msg.width}x{msg.height} {msg.encoding}: expected step {row} and "
                         f"{row * msg.height} bytes, got step {msg.step} and {len(msg.data)} bytes")
    arr = np.frombuffer(bytes(msg.data), dtype=dtype).reshape(msg.height, msg.width, *([3] if channels == 3 else []))
    return arr.copy() if channels == 3 else arr.view(np.uint32).copy()


DEPTH32 = "32FC1"


def depth_image_to_msg(depth: np.ndarray, frame_id: str = "", stamp: Time | None = None) -> Image:
    """An (H, W) depth image (m along the optical axis, 0 = no measurement) as `32FC1`, as depth drivers
    publish it (REP 118)."""
    img = np.asarray(depth)
    if img.ndim != 2 or img.dtype.kind != "f":
        raise ValueError(f"a depth image must be (H, W) floats, got {img.shape} {img.dtype}")
    img = np.ascontiguousarray(img, "<f4")
    h, w = img.shape
    return Image(header=make_header(frame_id, stamp), height=h, width=w, encoding=DEPTH32, is_bigendian=0,
                 step=4 * w, data=img.tobytes())


def depth_image_from_msg(msg: Image) -> np.ndarray:
    """`32FC1` (m) or `16UC1` (mm, as RealSense drivers publish it) -> (H, W) float32 metres, 0 = none."""
    kinds = {DEPTH32: (np.dtype("<f4"), 1.0), "16UC1": (np.dtype("<u2"), 1e-3)}
    if msg.encoding not in kinds:
        raise ValueError(f"depth image encoding must be {' or '.join(kinds)}, got {msg.encoding!r}")
    dtype, scale = kinds[msg.encoding]
    if msg.is_bigendian:
        dtype = dtype.newbyteorder(">")
    row = dtype.itemsize * msg.width
    if msg.step < row or len(msg.data) != msg.step * msg.height:
        raise ValueError(f"depth image of {msg.width}x{msg.height} {msg.encoding}: expected step >= {row} and "
                         f"step x height bytes, got step {msg.step} and {len(msg.data)} bytes")
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)[:, :row]
    depth = np.ascontiguousarray(rows).view(dtype).reshape(msg.height, msg.width).astype(np.float32) * scale
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float32)


def camera_info_to_msg(fx: float, fy: float, cx: float, cy: float, width: int, height: int, frame_id: str = "",
                       stamp: Time | None = None) -> CameraInfo:
    """A pinhole camera without distortion (OpenCV convention), as the simulated camera is."""
    return CameraInfo(header=make_header(frame_id, stamp), width=int(width), height=int(height),
                      distortion_model="plumb_bob", d=[0.0] * 5,
                      k=[float(fx), 0.0, float(cx), 0.0, float(fy), float(cy), 0.0, 0.0, 1.0],
                      r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                      p=[float(fx), 0.0, float(cx), 0.0, 0.0, float(fy), float(cy), 0.0, 0.0, 0.0, 1.0, 0.0])


def camera_info_from_msg(msg: CameraInfo) -> tuple[float, float, float, float, int, int]:
    """(fx, fy, cx, cy, width, height) of a camera info's K; ValueError for one without a focal length."""
    k = list(msg.k)
    if len(k) != 9 or not (k[0] > 0 and k[4] > 0) or not (msg.width > 0 and msg.height > 0):
        raise ValueError(f"camera info without a usable K or size: K={k}, {msg.width}x{msg.height}")
    return float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(msg.width), int(msg.height)


def cloud_from_msg(msg: PointCloud2, require_labels: bool = False, drop_nonfinite: bool = False,
                   keep_shape: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(points (P, 3) float32, labels (P,) uint32 or None) of a cloud with float32 x, y, z
    (and optionally a uint32 `label`) fields, any point step, padding or endianness.

    Non-finite points are an error unless `drop_nonfinite` (organised depth-camera clouds mark
    missing pixels with NaN): then they are dropped with their labels. `keep_shape` returns the
    cloud as the message lays it out, (height, width, 3) and (height, width), non-finite points
    kept where they are (an organised cloud's missing pixels)."""
    fields = {f.name: f for f in msg.fields}
    wanted = {"x": PointField.FLOAT32, "y": PointField.FLOAT32, "z": PointField.FLOAT32}
    if LABEL_FIELD in fields or require_labels:
        wanted[LABEL_FIELD] = PointField.UINT32
    kinds = {PointField.FLOAT32: "f4", PointField.UINT32: "u4"}
    endian = ">" if msg.is_bigendian else "<"
    offsets, formats = [], []
    for name, datatype in wanted.items():
        f = fields.get(name)
        if f is None:
            raise ValueError(f"PointCloud2 has no '{name}' field (fields: {sorted(fields)})")
        if f.datatype != datatype or f.count != 1:
            raise ValueError(f"PointCloud2 field '{name}' must be one {kinds[datatype]} (datatype {datatype}), "
                             f"got datatype {f.datatype} x {f.count}")
        if f.offset + 4 > msg.point_step:
            raise ValueError(f"PointCloud2 field '{name}' at offset {f.offset} exceeds point_step {msg.point_step}")
        offsets.append(f.offset)
        formats.append(endian + kinds[datatype])
    height, width, step, row = int(msg.height), int(msg.width), int(msg.point_step), int(msg.row_step)
    if row < step * width:
        raise ValueError(f"PointCloud2 row_step {row} < point_step {step} x width {width}")
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size != row * height:
        raise ValueError(f"PointCloud2 data has {buf.size} bytes, expected row_step {row} x height {height}")
    dtype = np.dtype({"names": list(wanted), "formats": formats, "offsets": offsets, "itemsize": step})
    rows = buf.reshape(height, row)[:, : step * width]
    rec = np.ascontiguousarray(rows).view(dtype).reshape(-1)
    pts = np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float32)
    labels = rec[LABEL_FIELD].astype(np.uint32) if LABEL_FIELD in wanted else None
    if keep_shape:
        return pts.reshape(height, width, 3), labels.reshape(height, width) if labels is not None else None
    finite = np.isfinite(pts).all(axis=1)
    if not finite.all():
        if not drop_nonfinite:
            raise ValueError(f"PointCloud2 holds {int((~finite).sum())} non-finite points (NaN or inf)")
        pts = pts[finite]
        labels = labels[finite] if labels is not None else None
    return pts, labels


def label_map_to_msg(ids: Sequence[str], classes: Sequence[str], labels: Sequence[int] | None = None,
                     frame_id: str = "", stamp: Time | None = None) -> LabelMap:
    """Label map of a labelled cloud; `labels` defaults to 0..N-1 (label = index)."""
    values = np.arange(len(ids)) if labels is None else np.asarray(labels)
    _check_label_map(values, list(ids), list(classes))
    return LabelMap(header=make_header(frame_id, stamp), labels=[int(v) for v in values], ids=list(ids),
                    object_classes=list(classes))


def label_map_from_msg(msg: LabelMap) -> tuple[np.ndarray, list[str], list[str]]:
    """(label values (N,) uint32, ids, classes) of a label map, checked."""
    values = np.asarray(msg.labels, dtype=np.int64)
    ids, classes = list(msg.ids), list(msg.object_classes)
    _check_label_map(values, ids, classes)
    return values.astype(np.uint32), ids, classes


def _check_label_map(values: np.ndarray, ids: list[str], classes: list[str]) -> None:
    if not (len(values) == len(ids) == len(classes)):
        raise ValueError(f"label map lengths differ: labels {len(values)}, ids {len(ids)}, "
                         f"object_classes {len(classes)}")
    if len(set(ids)) != len(ids) or any(not i for i in ids):
        raise ValueError(f"label map ids must be unique and non-empty: {ids}")
    if len(np.unique(values)) != len(values):
        raise ValueError(f"label map labels must be unique: {np.asarray(values).tolist()}")
    if len(values) and (np.min(values) < 0 or np.max(values) >= NO_LABEL):
        raise ValueError(f"label map labels must lie in [0, {NO_LABEL}) ({NO_LABEL} means no object)")


def label_indices(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(P,) int64: index into the label map of each point's label, -1 for NO_LABEL. A label that
    is neither in the map nor NO_LABEL is an error (the map and the cloud do not match)."""
    lab = np.asarray(labels, dtype=np.int64)
    vals = np.asarray(values, dtype=np.int64)
    out = np.full(lab.shape, -1, dtype=np.int64)
    obj = lab != NO_LABEL
    if not obj.any():
        return out
    order = np.argsort(vals)
    pos = np.searchsorted(vals[order], lab[obj])
    pos = np.minimum(pos, max(len(vals) - 1, 0))
    found = vals[order][pos] == lab[obj] if len(vals) else np.zeros(int(obj.sum()), bool)
    if not found.all():
        missing = np.unique(lab[obj][~found])[:5].tolist()
        raise ValueError(f"cloud labels {missing} are not in the label map (labels {vals.tolist()})")
    out[obj] = order[pos]
    return out


# ---------------------------------------------------------------------------------------------
# Segmented scenes


def scene_to_msg(scene: PerceivedScene, stamp: Time | None = None,
                 confidences: Sequence[float] | None = None) -> SegmentedScene:
    """SegmentedScene of a perceived scene: every segment's full cloud and its axis-aligned box
    (centre + size, identity orientation; zeros for an invisible object). Class confidences come
    from `confidences`, else the scene's own (if it carries them), else 1.0 (ground truth)."""
    n = len(scene.names)
    if confidences is None:
        confidences = getattr(scene, "confidences", None)
    conf = [1.0] * n if confidences is None else [float(c) for c in confidences]
    if len(conf) != n:
        raise ValueError(f"{len(conf)} confidences for {n} segments")
    msg = SegmentedScene(header=make_header(scene.frame_id, stamp))
    for i in range(n):
        seg = ObjectSegment(id=scene.names[i], object_class=scene.classes[i], class_confidence=conf[i])
        pts = np.asarray(scene.segments[i], dtype=np.float32).reshape(-1, 3)
        seg.cloud = cloud_to_msg(pts, frame_id=scene.frame_id, stamp=stamp)
        if len(pts):
            lo = np.asarray(scene.box_lo[i], dtype=np.float64)
            hi = np.asarray(scene.box_hi[i], dtype=np.float64)
            c, s = (lo + hi) / 2, hi - lo
            seg.bbox_pose.position.x, seg.bbox_pose.position.y, seg.bbox_pose.position.z = (float(v) for v in c)
            seg.bbox_size.x, seg.bbox_size.y, seg.bbox_size.z = (float(v) for v in s)
        msg.segments.append(seg)
    return msg


def _rotation(q) -> np.ndarray:
    """3x3 rotation of a geometry_msgs Quaternion (normalised; ValueError if zero or NaN)."""
    v = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm < 1e-9:
        raise ValueError(f"bbox orientation is not a rotation: {v.tolist()}")
    x, y, z, w = v / norm
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def scene_from_msg(msg: SegmentedScene, n_points: int = SEGMENT_POINTS, rng: np.random.Generator | None = None,
                   max_candidates: int | None = MAX_FPS_CANDIDATES) -> PerceivedScene:
    """PerceivedScene of a SegmentedScene. Boxes are the axis-aligned hulls of the oriented
    boxes (exact for axis-aligned ones); `points` are `n_points` per visible segment, drawn by
    farthest point sampling with `rng` (default: a fixed seed, reproducible). Class confidences
    are kept where PerceivedScene has a field for them."""

    if n_points <= 0:
        raise ValueError(f"n_points must be positive, got {n_points}")
    rng = rng if rng is not None else np.random.default_rng(0)
    frame = msg.header.frame_id
    if not frame:
        raise ValueError("SegmentedScene.header.frame_id is empty: segments need a frame")
    n = len(msg.segments)
    names, classes, segments = [], [], []
    points = np.zeros((n, n_points, 3), dtype=np.float32)
    lo = np.zeros((n, 3), dtype=np.float32)
    hi = np.zeros((n, 3), dtype=np.float32)
    for i, seg in enumerate(msg.segments):
        if not seg.id:
            raise ValueError(f"segment {i} has an empty id")
        if seg.cloud.header.frame_id not in ("", frame):
            raise ValueError(f"segment '{seg.id}' cloud is in frame '{seg.cloud.header.frame_id}', "
                             f"the scene in '{frame}'")
        try:
            pts, _ = cloud_from_msg(seg.cloud)
        except ValueError as exc:
            raise ValueError(f"segment '{seg.id}': {exc}") from None
        names.append(seg.id)
        classes.append(seg.object_class)
        segments.append(pts)
        if len(pts):
            points[i] = sample_fixed(pts, n_points, rng, "fps", max_candidates)
            p, s = seg.bbox_pose.position, seg.bbox_size
            centre = np.array([p.x, p.y, p.z], dtype=np.float64)
            size = np.array([s.x, s.y, s.z], dtype=np.float64)
            if not (np.all(np.isfinite(centre)) and np.all(np.isfinite(size)) and np.all(size >= 0)):
                raise ValueError(f"segment '{seg.id}': bbox centre {centre.tolist()} / size {size.tolist()} "
                                 "must be finite and the size >= 0")
            half = np.abs(_rotation(seg.bbox_pose.orientation)) @ (size / 2)
            lo[i], hi[i] = centre - half, centre + half
    visible = np.array([len(s) > 0 for s in segments], dtype=bool)
    extra = {}
    if "confidences" in getattr(PerceivedScene, "__dataclass_fields__", {}):
        extra["confidences"] = np.array([seg.class_confidence for seg in msg.segments], dtype=np.float32)
    return PerceivedScene(names=names, classes=classes, points=points, visible=visible, box_lo=lo, box_hi=hi,
                          segments=segments, frame_id=frame, **extra)


# ---------------------------------------------------------------------------------------------
# Relations


def _relation_shapes(names: Sequence[str], unary: np.ndarray, binary: np.ndarray) -> None:
    n = len(names)
    if unary.shape != (n, len(UNARY)) or binary.shape != (n, n, len(BINARY)):
        raise ValueError(f"relations of {n} objects must be unary ({n}, {len(UNARY)}) and binary "
                         f"({n}, {n}, {len(BINARY)}), got {unary.shape} and {binary.shape}")


def relations_to_msg(names: Sequence[str], unary: np.ndarray, binary: np.ndarray, stamp: Time | None = None,
                     threshold: float = THRESHOLD) -> SymbolicState:
    """SymbolicState of relation arrays (module docstring): boolean arrays (observed) give their
    true relations with probability 1.0; float arrays (predicted) give every relation with
    p >= `threshold`. The diagonal of the binary relations is never sent."""
    u, b = np.asarray(unary), np.asarray(binary)
    _relation_shapes(names, u, b)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    observed = u.dtype == bool and b.dtype == bool
    if observed:
        keep_u, keep_b = u, b.copy()
    else:
        u, b = u.astype(np.float64), b.astype(np.float64)
        for what, arr in (("unary", u), ("binary", b)):
            if not np.all(np.isfinite(arr)) or arr.min(initial=0.0) < 0 or arr.max(initial=0.0) > 1:
                raise ValueError(f"{what} relation probabilities must be finite and in [0, 1]")
        keep_u, keep_b = u >= threshold, b >= threshold
    n = len(names)
    keep_b[np.arange(n), np.arange(n)] = False
    rel = []
    for i, k in zip(*np.nonzero(keep_u), strict=True):
        rel.append(Relation(name=UNARY[k], subject=names[i], object="",
                            probability=1.0 if observed else float(u[i, k])))
    for i, j, k in zip(*np.nonzero(keep_b), strict=True):
        rel.append(Relation(name=BINARY[k], subject=names[i], object=names[j],
                            probability=1.0 if observed else float(b[i, j, k])))
    return SymbolicState(header=make_header("", stamp), relations=rel)


def relations_from_msg(msg: SymbolicState, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(unary (N, U), binary (N, N, R)) float32 probabilities over `names` (the message does
    not list the objects); relations the message leaves out are 0. Unknown relations or
    objects, a unary relation with an object, a binary one without, a relation of an object
    with itself, a duplicate or a probability outside [0, 1] are errors."""
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        raise ValueError(f"object names must be unique: {list(names)}")
    n = len(names)
    unary = np.zeros((n, len(UNARY)), dtype=np.float32)
    binary = np.zeros((n, n, len(BINARY)), dtype=np.float32)
    seen = set()
    for r in msg.relations:
        text = f"{r.name}({r.subject}{', ' + r.object if r.object else ''})"
        if not (math.isfinite(r.probability) and 0.0 <= r.probability <= 1.0):
            raise ValueError(f"{text}: probability {r.probability} is not in [0, 1]")
        if r.subject not in index or (r.object and r.object not in index):
            raise ValueError(f"{text} names an object that is not in the scene ({list(names)})")
        key = (r.name, r.subject, r.object)
        if key in seen:
            raise ValueError(f"{text} is listed twice")
        seen.add(key)
        if r.name in UNARY:
            if r.object:
                raise ValueError(f"{text}: '{r.name}' is unary, it takes no second object")
            unary[index[r.subject], UNARY.index(r.name)] = r.probability
        elif r.name in BINARY:
            if not r.object:
                raise ValueError(f"{text}: '{r.name}' is binary, the second object is missing")
            if r.object == r.subject:
                raise ValueError(f"{text}: a binary relation of an object with itself")
            binary[index[r.subject], index[r.object], BINARY.index(r.name)] = r.probability
        else:
            raise ValueError(f"unknown relation '{r.name}'; known: {UNARY + BINARY}")
    return unary, binary


# ---------------------------------------------------------------------------------------------
# Failure events

_CLASSIFICATION = {FailureClass.UNCLASSIFIED: FailureEventMsg.CLASS_UNCLASSIFIED,
                   FailureClass.INCORRECT_PREDICTION: FailureEventMsg.CLASS_INCORRECT_PREDICTION,
                   FailureClass.SIM2REAL_GAP: FailureEventMsg.CLASS_SIM2REAL_GAP}


def failure_to_msg(event: FailureEvent, predicted_threshold: float = THRESHOLD) -> FailureEventMsg:
    """f2p_msgs/FailureEvent of a stored event. Mismatched relations carry the *predicted*
    probability; `predicted_after` lists the predicted relations with p >= predicted_threshold."""
    if event.classification not in _CLASSIFICATION:
        raise ValueError(f"unknown classification {event.classification!r}; known: {sorted(_CLASSIFICATION)}")
    stamp = to_stamp(event.created)
    names = list(event.scene_before.names)
    return FailureEventMsg(
        header=make_header(event.scene_before.frame_id, stamp), event_id=event.event_id, task_id=event.task_id,
        step_index=int(event.step_index), scene_before=scene_to_msg(event.scene_before, stamp),
        relations_before=relations_to_msg(names, np.asarray(event.unary_before, bool),
                                          np.asarray(event.binary_before, bool), stamp),
        skill=skill_to_msg(event.skill),
        observed_after=relations_to_msg(names, np.asarray(event.unary_after, bool),
                                        np.asarray(event.binary_after, bool), stamp),
        predicted_after=relations_to_msg(names, np.asarray(event.predicted_unary, np.float64),
                                         np.asarray(event.predicted_binary, np.float64), stamp, predicted_threshold),
        mismatched=mismatches_to_msg(event.mismatched), model_version=event.model_version,
        classification=_CLASSIFICATION[event.classification])


def mismatches_to_msg(mismatches: Sequence) -> list[Relation]:
    """`f2p_monitor.failure.Mismatch`es as Relations carrying the predicted probability."""
    return [Relation(name=m.relation, subject=m.subject, object=m.object, probability=float(m.predicted))
            for m in mismatches]


def step_outcome_to_msg(task_id: str, step: int, call: SkillCall, status: SkillStatus, names: Sequence[str],
                        predicted: tuple[np.ndarray, np.ndarray], observed: tuple[np.ndarray, np.ndarray],
                        mismatches: Sequence, model_version: str, frame_id: str = "",
                        stamp: Time | None = None) -> StepOutcome:
    """f2p_msgs/StepOutcome of one executed skill (the executive's `Observer.observed` arguments):
    every predicted relation with its probability, the observed ones, the mismatches."""
    n = len(names)
    pu, pb = (np.asarray(a, np.float64) for a in predicted)
    ou, ob = (np.asarray(a, bool) for a in observed)
    return StepOutcome(header=make_header(frame_id, stamp), task_id=task_id, step_index=int(step),
                       skill=skill_to_msg(call), status=status_to_code(status), model_version=model_version,
                       object_ids=list(names),
                       predicted=relations_to_msg(names, pu[:n], pb[:n, :n], stamp, threshold=0.0),
                       observed=relations_to_msg(names, ou[:n], ob[:n, :n], stamp),
                       mismatched=mismatches_to_msg(mismatches))


def failure_from_msg(msg: FailureEventMsg, n_points: int = SEGMENT_POINTS,
                     rng: np.random.Generator | None = None) -> FailureEvent:
    """The library's FailureEvent of a message (for the learner). Predicted probabilities below
    the sender's threshold read back as 0; the goal text is empty (not carried)."""
    codes = {v: k for k, v in _CLASSIFICATION.items()}
    if msg.classification not in codes:
        raise ValueError(f"unknown FailureEvent classification {msg.classification}")
    if not msg.event_id:
        raise ValueError("FailureEvent.event_id is empty")
    scene = scene_from_msg(msg.scene_before, n_points, rng)
    names = scene.names
    ub, bb = relations_from_msg(msg.relations_before, names)
    ua, ba = relations_from_msg(msg.observed_after, names)
    pu, pb = relations_from_msg(msg.predicted_after, names)
    index = {name: i for i, name in enumerate(names)}
    mismatched = []
    for r in msg.mismatched:
        if r.subject not in index or (r.object and r.object not in index):
            raise ValueError(f"mismatched relation {r.name}({r.subject}, {r.object}) names an unknown object")
        if r.name in UNARY:
            observed = bool(ua[index[r.subject], UNARY.index(r.name)] >= THRESHOLD)
        elif r.name in BINARY and r.object:
            observed = bool(ba[index[r.subject], index[r.object], BINARY.index(r.name)] >= THRESHOLD)
        else:
            raise ValueError(f"malformed mismatched relation {r.name}({r.subject}, {r.object})")
        mismatched.append(Mismatch(r.name, r.subject, r.object, float(r.probability), observed))
    return FailureEvent(task_id=msg.task_id, step_index=int(msg.step_index), scene_before=scene,
                        unary_before=ub >= THRESHOLD, binary_before=bb >= THRESHOLD,
                        skill=skill_from_msg(msg.skill), unary_after=ua >= THRESHOLD, binary_after=ba >= THRESHOLD,
                        predicted_unary=pu, predicted_binary=pb,
                        mismatched=mismatched, model_version=msg.model_version,
                        classification=codes[msg.classification], created=from_stamp(msg.header.stamp),
                        event_id=msg.event_id)


# ---------------------------------------------------------------------------------------------
# The sampled task (/f2p/sim/task)


@dataclass
class SimTask:
    """What the simulator tells the rest of the graph about its task: never the scene itself
    (nodes perceive it), only the goal, the skeleton, which objects exist (id, class) and where each is at
    the start (id -> (x, y, z), as a user would point at it; empty when not given)."""

    distribution: str
    goal: str
    skeleton: list[SkeletonStep] = field(default_factory=list)
    objects: list[tuple[str, str]] = field(default_factory=list)
    positions: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def task_to_msg(sample: TaskSample, exclude_classes: Sequence[str] = ("ground",), stamp=None,
                positions: Mapping[str, Sequence[float]] | None = None) -> Task:
    """The sampled task as the graph sees it: goal text, skeleton, the objects that exist (id, class),
    `exclude_classes` left out, and, with `positions` (id -> (x, y, z), every listed object), where each is."""
    objects = [o for o in sample.scene.objects if o.cls.value not in exclude_classes]
    points = []
    if positions is not None:
        missing = [o.name for o in objects if o.name not in positions]
        if missing:
            raise ValueError(f"task_to_msg: no position for {missing}")
        points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in (positions[o.name] for o in objects)]
    return Task(header=make_header("", stamp), distribution=sample.distribution, goal=sample.goal_text,
                skeleton=[step_to_msg(step) for step in sample.skeleton], object_ids=[o.name for o in objects],
                object_classes=[o.cls.value for o in objects], object_positions=points)


def task_from_msg(msg: Task) -> SimTask:
    """A `SimTask`; ValueError naming what is wrong (an unknown skill type, objects and classes of
    different lengths, an empty object id)."""
    if len(msg.object_ids) != len(msg.object_classes):
        raise ValueError(f"/f2p/sim/task: {len(msg.object_ids)} object_ids but {len(msg.object_classes)} "
                         f"object_classes")
    if any(not o for o in msg.object_ids):
        raise ValueError(f"/f2p/sim/task: empty object id in {list(msg.object_ids)}")
    if msg.object_positions and len(msg.object_positions) != len(msg.object_ids):
        raise ValueError(f"/f2p/sim/task: {len(msg.object_ids)} object_ids but {len(msg.object_positions)} "
                         f"object_positions")
    skeleton = [step_from_msg(s) for s in msg.skeleton]
    objects = [(str(o), str(c)) for o, c in zip(msg.object_ids, msg.object_classes, strict=True)]
    positions = {str(o): (float(p.x), float(p.y), float(p.z))
                 for o, p in zip(msg.object_ids, msg.object_positions, strict=False)}
    return SimTask(str(msg.distribution), str(msg.goal), skeleton, objects, positions)


# ---------------------------------------------------------------------------------------------
# Plans (PlanTask result)


@dataclass
class ReceivedPlan:
    """A plan as the executive reads it (`f2p_core.task.TaskPlan`): H skills and the
    relations predicted after each, (H+1, N, U) / (H+1, N, N, R) probabilities over the scene's
    objects with step 0 (the scene planned from, which the message does not carry) all zeros."""

    goal: Goal
    skill_calls: list[SkillCall]
    predicted_unary: np.ndarray
    predicted_binary: np.ndarray
    goal_probability: float
    model_version: str


def plan_to_msg(plan: TaskPlan, names: Sequence[str], stamp: Time | None = None,
                threshold: float = 0.0) -> Plan:
    """Plan message of a PlanResult over the scene objects `names` (the first len(names) rows of
    the predictions; further rows are the model's padding). `predicted_states[i]` lists the
    relations predicted after skill i with p >= `threshold` (0.0: all of them)."""
    n = len(names)
    steps = len(plan.skill_calls)
    if plan.predicted_unary.shape[0] != steps + 1 or plan.predicted_binary.shape[0] != steps + 1:
        raise ValueError(f"a plan of {steps} skills needs {steps + 1} predicted steps, "
                         f"got {plan.predicted_unary.shape[0]}")
    return Plan(header=make_header("", stamp), goal=plan.goal.text,
                skills=[skill_to_msg(c) for c in plan.skill_calls],
                predicted_states=[relations_to_msg(names, np.asarray(plan.predicted_unary[h + 1][:n], np.float64),
                                                   np.asarray(plan.predicted_binary[h + 1][:n, :n], np.float64),
                                                   stamp, threshold) for h in range(steps)],
                goal_probability=float(plan.goal_probability), model_version=plan.model_version)


def plan_from_msg(msg: Plan, names: Sequence[str]) -> ReceivedPlan:
    """The ReceivedPlan of a Plan message over the scene objects `names`."""
    if len(msg.predicted_states) != len(msg.skills):
        raise ValueError(f"Plan has {len(msg.skills)} skills but {len(msg.predicted_states)} predicted states")
    if not (math.isfinite(msg.goal_probability) and 0.0 <= msg.goal_probability <= 1.0):
        raise ValueError(f"Plan.goal_probability {msg.goal_probability} is not in [0, 1]")
    n, steps = len(names), len(msg.skills)
    unary = np.zeros((steps + 1, n, len(UNARY)), dtype=np.float32)
    binary = np.zeros((steps + 1, n, n, len(BINARY)), dtype=np.float32)
    for h, state in enumerate(msg.predicted_states):
        unary[h + 1], binary[h + 1] = relations_from_msg(state, names)
    return ReceivedPlan(Goal.parse(msg.goal), [skill_from_msg(s) for s in msg.skills], unary, binary,
                        float(msg.goal_probability), msg.model_version)


# ---------------------------------------------------------------------------------------------
# Model versions and metrics


def metrics_to_msg(metrics: dict) -> list[Metric]:
    """Metric messages of the finite numeric entries of `metrics` (bools as 0/1), in key order;
    None, NaN, text and nested values are left out (the store's meta.json keeps everything)."""
    out = []
    for name in sorted(metrics):
        value = metrics[name]
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            out.append(Metric(name=str(name), value=float(value)))
    return out


class VersionLike(Protocol):
    """What `model_version_to_msg` reads of a store version (`f2p_model.store.VersionMeta` has it)."""

    version: str
    parent: str | None
    data_hash: str
    validated: bool
    metrics: dict
    created: float


def model_version_to_msg(meta: VersionLike, path: str = "", stamp: Time | None = None) -> ModelVersion:
    """ModelVersion of a store version (`path`: its directory; stamp: its creation time)."""
    return ModelVersion(header=make_header("", stamp if stamp is not None else to_stamp(meta.created)),
                        version=meta.version, parent_version=meta.parent or "", path=str(path),
                        data_manifest_hash=meta.data_hash, validated=bool(meta.validated),
                        metrics=metrics_to_msg(meta.metrics))
