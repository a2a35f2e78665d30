"""Every conversion of f2p_ros.convert: round trips (exact where the conversion is lossless),
through a real CDR serialisation so the messages are what DDS would carry, and the errors of
malformed messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import PointCloud2, PointField

from f2p_core.failure import FailureEvent, Mismatch
from f2p_core.goal import Goal
from f2p_core.relations import BINARY, UNARY
from f2p_core.scene import PerceivedScene
from f2p_core.skills import PARAM_NAMES, SkillCall, SkillResult, SkillStatus, SkillType
from f2p_core.task import SkeletonStep
from f2p_msgs.action import ExecuteSkill
from f2p_msgs.msg import FailureEvent as FailureEventMsg
from f2p_msgs.msg import LabelMap, Relation, SegmentedScene, SymbolicState
from f2p_ros import convert
from f2p_ros.names import NO_LABEL
from f2p_sim import tasks


def cdr(msg):
    """The message after a CDR round trip (what a subscriber receives)."""
    return deserialize_message(serialize_message(msg), type(msg))


# --- skills ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SkillType))
def test_skill_round_trip_is_exact(kind):
    params = np.random.default_rng(3).normal(size=len(PARAM_NAMES[kind]))
    call = SkillCall(kind, ("cup_1", "table_B") if kind is SkillType.PICK_PLACE else ("cup_1",), params)
    msg = cdr(convert.skill_to_msg(call))
    assert msg.type == kind.value and list(msg.parameter_names) == list(PARAM_NAMES[kind])
    back = convert.skill_from_msg(msg)
    assert back.type is kind and back.object_ids == call.object_ids
    assert np.array_equal(back.params, call.params)


def test_skill_parameter_names_may_be_empty_but_not_wrong():
    msg = convert.skill_to_msg(SkillCall(SkillType.PUSH, ("cube_1",), [0.5, 0.1]))
    msg.parameter_names = []
    assert np.array_equal(convert.skill_from_msg(msg).params, [0.5, 0.1])
    msg.parameter_names = ["distance", "angle"]
    with pytest.raises(ValueError, match=r"named \['angle', 'distance'\]"):
        convert.skill_from_msg(msg)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("type", "fly", "unknown skill type 'fly'"),
    ("parameters", [0.1, 0.2, 0.3], r"takes 2 parameters \('angle', 'distance'\), got 3"),
    ("parameters", [math.nan, 0.1], "non-finite parameters"),
    ("object_ids", [], "object_ids is empty"),
    ("object_ids", ["cube_1", ""], "empty object id"),
])
def test_malformed_skills_are_refused(field, value, match):
    msg = convert.skill_to_msg(SkillCall(SkillType.PUSH, ("cube_1",), [0.5, 0.1]))
    msg.parameter_names = []
    setattr(msg, field, value)
    with pytest.raises(ValueError, match=match):
        convert.skill_from_msg(msg)
    with pytest.raises(ValueError, match="takes 4 parameters"):
        convert.skill_to_msg(SkillCall(SkillType.PICK_PLACE, ("cube_1",), [0.1]))


def test_skeleton_steps_round_trip_and_ignore_parameters():
    step = SkeletonStep(SkillType.PICK_PLACE, ("container_1", "table_B"))
    msg = cdr(convert.step_to_msg(step))
    assert list(msg.parameters) == [] and convert.step_from_msg(msg) == step
    msg.parameters = [1.0]
    assert convert.step_from_msg(msg) == step


def test_status_codes_round_trip_and_results():
    codes = {convert.status_to_code(s) for s in SkillStatus}
    assert len(codes) == len(SkillStatus) and ExecuteSkill.Result.STATUS_ABORTED not in codes
    for s in SkillStatus:
        assert convert.status_from_code(convert.status_to_code(s)) is s
    assert convert.status_to_code(SkillStatus.DROPPED) == ExecuteSkill.Result.STATUS_OBJECT_DROPPED
    assert convert.status_from_code(ExecuteSkill.Result.STATUS_ABORTED) is None
    with pytest.raises(ValueError, match="unknown ExecuteSkill status code 99"):
        convert.status_from_code(99)
    ok = convert.skill_result_to_msg(SkillResult(SkillStatus.OK, "placed 'x'", 2.5))
    assert ok.success and ok.error == "" and ok.duration_s == 2.5 and ok.status == ExecuteSkill.Result.STATUS_OK
    bad = convert.skill_result_to_msg(SkillResult(SkillStatus.INVALID, "unknown object 'ghost'"))
    assert not bad.success and bad.error == "unknown object 'ghost'"
    assert bad.status == ExecuteSkill.Result.STATUS_INVALID


# --- clouds and label maps ------------------------------------------------------------------


def _cloud(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n).astype(np.uint32)
    labels[rng.random(n) < 0.3] = NO_LABEL
    return rng.normal(size=(n, 3)).astype(np.float32), labels


def test_cloud_round_trip_is_exact_with_and_without_labels():
    pts, labels = _cloud()
    msg = cdr(convert.cloud_to_msg(pts, labels, "world", convert.to_stamp(12.5)))
    assert msg.header.frame_id == "world" and msg.point_step == 16 and msg.width == 500 and msg.is_dense
    p2, l2 = convert.cloud_from_msg(msg, require_labels=True)
    assert p2.dtype == np.float32 and np.array_equal(p2, pts) and np.array_equal(l2, labels)
    p3, l3 = convert.cloud_from_msg(cdr(convert.cloud_to_msg(pts)))
    assert np.array_equal(p3, pts) and l3 is None and convert.cloud_to_msg(pts).point_step == 12
    empty, none = convert.cloud_from_msg(convert.cloud_to_msg(np.zeros((0, 3))))
    assert empty.shape == (0, 3) and none is None


def test_organised_cloud_round_trip_keeps_its_shape_and_missing_pixels():
    """A depth camera's cloud: (H, W) pixels, NaN where there is no measurement (is_dense false)."""
    pts, labels = _cloud(12)
    grid, lab = pts.reshape(3, 4, 3).copy(), labels.reshape(3, 4)
    grid[1, 2] = np.nan
    msg = cdr(convert.cloud_to_msg(grid, lab, "camera_depth_optical_frame"))
    assert (msg.height, msg.width, msg.is_dense, msg.row_step) == (3, 4, False, 4 * 16)
    p2, l2 = convert.cloud_from_msg(msg, keep_shape=True)
    assert p2.shape == (3, 4, 3) and np.array_equal(p2, grid, equal_nan=True) and np.array_equal(l2, lab)
    flat, flat_labels = convert.cloud_from_msg(msg, drop_nonfinite=True)  # the unorganised view: 11 points
    assert flat.shape == (11, 3) and np.array_equal(flat_labels, np.delete(labels, 6))
    with pytest.raises(ValueError, match=r"labels must be \(3, 4\)"):
        convert.cloud_to_msg(grid, labels)


def test_cloud_with_padding_big_endian_and_extra_fields_is_read():
    """A driver's cloud: 2 rows with padding, 32-byte points, an rgb field, big-endian."""
    pts, labels = _cloud(6)
    dtype = np.dtype({"names": ["x", "y", "z", "rgb", "label"], "formats": [">f4", ">f4", ">f4", ">f4", ">u4"],
                      "offsets": [0, 4, 8, 16, 24], "itemsize": 32})
    rec = np.zeros(6, dtype)
    rec["x"], rec["y"], rec["z"], rec["label"] = pts[:, 0], pts[:, 1], pts[:, 2], labels
    rows = np.zeros((2, 3 * 32 + 8), np.uint8)  # 8 bytes of row padding
    rows[:, : 3 * 32] = rec.view(np.uint8).reshape(2, 96)
    fields = [PointField(name=n, offset=o, datatype=t, count=1) for n, o, t in
              (("x", 0, 7), ("y", 4, 7), ("z", 8, 7), ("rgb", 16, 7), ("label", 24, 6))]
    msg = PointCloud2(height=2, width=3, fields=fields, is_bigendian=True, point_step=32, row_step=104,
                      data=rows.tobytes())
    p2, l2 = convert.cloud_from_msg(cdr(msg))
    assert np.array_equal(p2, pts) and np.array_equal(l2, labels)


def test_malformed_clouds_are_refused():
    pts, labels = _cloud(10)
    msg = convert.cloud_to_msg(pts, labels)
    with pytest.raises(ValueError, match="no 'label' field"):
        convert.cloud_from_msg(convert.cloud_to_msg(pts), require_labels=True)
    short = convert.cloud_to_msg(pts)
    short.data = bytes(short.data)[:-4]
    with pytest.raises(ValueError, match="116 bytes, expected row_step 120"):
        convert.cloud_from_msg(short)
    no_z = convert.cloud_to_msg(pts)
    no_z.fields = no_z.fields[:2]
    with pytest.raises(ValueError, match=r"no 'z' field \(fields: \['x', 'y'\]\)"):
        convert.cloud_from_msg(no_z)
    msg.fields[3].datatype = PointField.FLOAT32
    with pytest.raises(ValueError, match="'label' must be one u4"):
        convert.cloud_from_msg(msg)
    nan = pts.copy()
    nan[[2, 5], 1] = np.nan
    with pytest.raises(ValueError, match="2 non-finite points"):
        convert.cloud_to_msg(nan)
    raw = convert.cloud_to_msg(pts, labels)
    arr = np.frombuffer(bytes(raw.data), np.float32).copy().reshape(10, 4)
    arr[[2, 5], 1] = np.nan
    raw.data = arr.tobytes()
    with pytest.raises(ValueError, match="holds 2 non-finite points"):
        convert.cloud_from_msg(raw)
    kept, kept_labels = convert.cloud_from_msg(raw, drop_nonfinite=True)
    assert len(kept) == 8 and np.array_equal(kept_labels, np.delete(labels, [2, 5]))
    with pytest.raises(ValueError, match=r"must be \(P, 3\)"):
        convert.cloud_to_msg(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="labels must lie in"):
        convert.cloud_to_msg(pts, np.full(10, -1))
    with pytest.raises(ValueError, match=r"labels must be \(10,\)"):
        convert.cloud_to_msg(pts, labels[:3])


def test_label_map_round_trip_and_label_indices():
    msg = cdr(convert.label_map_to_msg(["cup_1", "table_B"], ["cup", "table"], frame_id="world"))
    values, ids, classes = convert.label_map_from_msg(msg)
    assert values.tolist() == [0, 1] and ids == ["cup_1", "table_B"] and classes == ["cup", "table"]
    sparse = convert.label_map_from_msg(convert.label_map_to_msg(["a", "b", "c"], ["x"] * 3, [40, 7, 1000]))[0]
    idx = convert.label_indices(np.array([7, NO_LABEL, 1000, 40, 7], np.uint32), sparse)
    assert idx.tolist() == [1, -1, 2, 0, 1]
    assert convert.label_indices(np.full(3, NO_LABEL, np.uint32), np.zeros(0)).tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match=r"cloud labels \[5\] are not in the label map"):
        convert.label_indices(np.array([5, 7]), sparse)
    for bad, match in (
        (LabelMap(labels=[0, 1], ids=["a"], object_classes=["x"]), "lengths differ"),
        (LabelMap(labels=[0, 0], ids=["a", "b"], object_classes=["x", "x"]), "labels must be unique"),
        (LabelMap(labels=[0, 1], ids=["a", "a"], object_classes=["x", "x"]), "ids must be unique"),
        (LabelMap(labels=[NO_LABEL], ids=["a"], object_classes=["x"]), "means no object"),
    ):
        with pytest.raises(ValueError, match=match):
            convert.label_map_from_msg(bad)


# --- scenes ---------------------------------------------------------------------------------


def _scene() -> PerceivedScene:
    rng = np.random.default_rng(1)
    segments = [rng.uniform(0, 0.1, (200, 3)).astype(np.float32) + np.float32(k) for k in range(3)]
    segments[1] = np.zeros((0, 3), np.float32)  # hidden object
    lo = np.zeros((3, 3), np.float32)
    hi = np.zeros((3, 3), np.float32)
    for k in (0, 2):
        lo[k], hi[k] = segments[k].min(axis=0), segments[k].max(axis=0)
    points = np.zeros((3, 16, 3), np.float32)
    return PerceivedScene(["cup_1", "capsule_1", "table_B"], ["cup", "capsule", "table"], points,
                          np.array([True, False, True]), lo, hi, segments, frame_id="world")


def test_scene_round_trip_is_exact_except_resampled_points():
    scene = _scene()
    msg = cdr(convert.scene_to_msg(scene, convert.to_stamp(3.0), confidences=[0.9, 0.8, 1.0]))
    assert msg.header.frame_id == "world" and msg.segments[0].class_confidence == pytest.approx(0.9)
    assert msg.segments[1].cloud.width == 0 and msg.segments[1].bbox_size.x == 0.0
    back = convert.scene_from_msg(msg, n_points=32, rng=np.random.default_rng(0))
    assert back.names == scene.names and back.classes == scene.classes and back.frame_id == "world"
    assert np.array_equal(back.visible, scene.visible)
    if hasattr(back, "confidences"):  # PerceivedScene carries class confidences
        assert np.allclose(back.confidences, [0.9, 0.8, 1.0])
    assert np.array_equal(back.box_lo, scene.box_lo) and np.array_equal(back.box_hi, scene.box_hi)
    for a, b in zip(back.segments, scene.segments, strict=True):
        assert np.array_equal(a, b)
    assert back.points.shape == (3, 32, 3) and not back.points[1].any()
    for k in (0, 2):  # farthest point sampling: distinct points of the segment
        assert len(np.unique(back.points[k], axis=0)) == 32
        assert (back.points[k][:, None, :] == scene.segments[k][None]).all(axis=2).any(axis=1).all()


def test_oriented_boxes_read_back_as_their_axis_aligned_hull():
    msg = convert.scene_to_msg(_scene())
    seg = msg.segments[0]
    seg.bbox_pose.position.x, seg.bbox_pose.position.y, seg.bbox_pose.position.z = 1.0, 2.0, 3.0
    seg.bbox_size.x, seg.bbox_size.y, seg.bbox_size.z = 0.2, 0.1, 0.4
    seg.bbox_pose.orientation.z, seg.bbox_pose.orientation.w = math.sin(math.pi / 4), math.cos(math.pi / 4)  # 90°
    back = convert.scene_from_msg(msg, n_points=4)
    assert np.allclose(back.box_lo[0], [0.95, 1.9, 2.8], atol=1e-6)
    assert np.allclose(back.box_hi[0], [1.05, 2.1, 3.2], atol=1e-6)


def test_malformed_scenes_are_refused():
    msg = convert.scene_to_msg(_scene())
    msg.header.frame_id = ""
    with pytest.raises(ValueError, match="frame_id is empty"):
        convert.scene_from_msg(msg)
    msg = convert.scene_to_msg(_scene())
    msg.segments[2].bbox_size.y = math.nan
    with pytest.raises(ValueError, match="segment 'table_B': bbox centre"):
        convert.scene_from_msg(msg)
    msg = convert.scene_to_msg(_scene())
    msg.segments[0].bbox_pose.orientation.w = 0.0
    with pytest.raises(ValueError, match="not a rotation"):
        convert.scene_from_msg(msg)
    msg = convert.scene_to_msg(_scene())
    msg.segments[0].cloud.header.frame_id = "camera"
    with pytest.raises(ValueError, match="'cup_1' cloud is in frame 'camera'"):
        convert.scene_from_msg(msg)
    msg = convert.scene_to_msg(_scene())
    msg.segments[2].cloud.data = bytes(msg.segments[2].cloud.data)[:-1]
    with pytest.raises(ValueError, match="segment 'table_B': PointCloud2 data"):
        convert.scene_from_msg(msg)
    msg = convert.scene_to_msg(_scene())
    msg.segments[1].id = "cup_1"
    with pytest.raises(ValueError, match="unique"):
        convert.scene_from_msg(msg)
    assert convert.scene_from_msg(SegmentedScene(header=msg.header)).names == []


# --- relations ------------------------------------------------------------------------------


def _relations(n: int = 4, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.random((n, len(UNARY))).astype(np.float32)
    b = rng.random((n, n, len(BINARY))).astype(np.float32)
    b[np.arange(n), np.arange(n)] = 0.0
    return [f"obj_{i}" for i in range(n)], u, b


def test_observed_relations_round_trip_exactly():
    names, u, b = _relations()
    ou, ob = u >= 0.5, b >= 0.5
    msg = cdr(convert.relations_to_msg(names, ou, ob, convert.to_stamp(7.25)))
    assert len(msg.relations) == ou.sum() + ob.sum() and {r.probability for r in msg.relations} == {1.0}
    assert convert.from_stamp(msg.header.stamp) == 7.25
    u2, b2 = convert.relations_from_msg(msg, names)
    assert np.array_equal(u2 >= 0.5, ou) and np.array_equal(b2 >= 0.5, ob)
    assert set(np.unique(u2)) | set(np.unique(b2)) <= {0.0, 1.0}


def test_predicted_relations_keep_probabilities_above_the_threshold():
    names, u, b = _relations()
    u2, b2 = convert.relations_from_msg(cdr(convert.relations_to_msg(names, u, b)), names)
    assert np.array_equal(u2, np.where(u >= 0.5, u, 0)) and np.array_equal(b2, np.where(b >= 0.5, b, 0))
    every = cdr(convert.relations_to_msg(names, u, b, threshold=0.0))
    u3, b3 = convert.relations_from_msg(every, names)
    assert np.array_equal(u3, u) and np.array_equal(b3, b)  # float32 probabilities: lossless
    assert all(r.subject != r.object for r in every.relations)  # the diagonal never travels


def test_relation_arrays_with_a_true_diagonal_or_bad_values_are_refused():
    names, u, b = _relations(3)
    with pytest.raises(ValueError, match=r"binary \(3, 3, 10\)"):
        convert.relations_to_msg(names, u, b[:2])
    bad = b.copy()
    bad[0, 1, 0] = 1.5
    with pytest.raises(ValueError, match="finite and in"):
        convert.relations_to_msg(names, u, bad)
    with pytest.raises(ValueError, match="threshold"):
        convert.relations_to_msg(names, u, b, threshold=2.0)


@pytest.mark.parametrize(("relation", "match"), [
    (Relation(name="fly", subject="obj_0"), "unknown relation 'fly'"),
    (Relation(name="on", subject="obj_0", object="ghost", probability=1.0), "not in the scene"),
    (Relation(name="movable", subject="obj_0", object="obj_1", probability=1.0), "is unary"),
    (Relation(name="on", subject="obj_0", probability=1.0), "second object is missing"),
    (Relation(name="on", subject="obj_0", object="obj_0", probability=1.0), "with itself"),
    (Relation(name="on", subject="obj_0", object="obj_1", probability=math.nan), "not in"),
    (Relation(name="on", subject="obj_0", object="obj_1", probability=-0.5), "not in"),
])
def test_malformed_relations_are_refused(relation, match):
    with pytest.raises(ValueError, match=match):
        convert.relations_from_msg(SymbolicState(relations=[relation]), ["obj_0", "obj_1"])


def test_duplicate_relations_are_refused():
    r = Relation(name="on", subject="a", object="b", probability=1.0)
    with pytest.raises(ValueError, match="listed twice"):
        convert.relations_from_msg(SymbolicState(relations=[r, r]), ["a", "b"])


# --- failure events and the task ------------------------------------------------------------


def test_failure_event_round_trip():
    scene = _scene()
    _, pu, pb = _relations(3, seed=2)
    ub = np.zeros((3, len(UNARY)), bool)
    ub[:, 0] = True
    bb = np.zeros((3, 3, len(BINARY)), bool)
    bb[0, 2, BINARY.index("on")] = True
    ba = np.zeros_like(bb)
    pb[0, 2, BINARY.index("on")] = 0.875
    event = FailureEvent(task_id="t1", step_index=2, scene_before=scene, unary_before=ub, binary_before=bb,
                         skill=SkillCall(SkillType.PICK_PLACE, ("cup_1", "table_B"), [0.1, 0.2, 0.0, 0.5]),
                         unary_after=ub, binary_after=ba, predicted_unary=pu, predicted_binary=pb,
                         mismatched=[Mismatch("on", "cup_1", "table_B", 0.875, False)], model_version="v0003",
                         classification="incorrect_prediction", created=1700000000.5)
    msg = cdr(convert.failure_to_msg(event))
    assert msg.classification == FailureEventMsg.CLASS_INCORRECT_PREDICTION and msg.step_index == 2
    assert msg.mismatched[0].probability == 0.875 and msg.header.frame_id == "world"
    back = convert.failure_from_msg(msg, n_points=8)
    assert back.event_id == event.event_id and back.task_id == "t1" and back.created == 1700000000.5
    assert back.classification == "incorrect_prediction" and back.model_version == "v0003"
    assert back.scene_before.names == scene.names and np.array_equal(back.scene_before.box_lo, scene.box_lo)
    for a, b in (("unary_before", ub), ("binary_before", bb), ("unary_after", ub), ("binary_after", ba)):
        assert np.array_equal(getattr(back, a), b), a
    assert np.array_equal(back.predicted_binary, np.where(pb >= 0.5, pb, 0).astype(np.float32))
    assert back.mismatched == event.mismatched
    assert back.skill.type is SkillType.PICK_PLACE and np.array_equal(back.skill.params, event.skill.params)
    back.validate()
    msg.classification = 9
    with pytest.raises(ValueError, match="classification 9"):
        convert.failure_from_msg(msg)


def test_task_round_trip():
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    task = convert.task_from_msg(cdr(convert.task_to_msg(sample)))
    assert task.distribution == "transport" and task.goal == sample.goal_text
    assert task.skeleton == sample.skeleton
    assert task.objects == [(o.name, o.cls.value) for o in sample.scene.objects if o.name != "ground"]
    assert task.positions == {}  # not given
    where = {o.name: (float(k), 0.5, -1.0) for k, o in enumerate(sample.scene.objects)}
    pointed = convert.task_from_msg(cdr(convert.task_to_msg(sample, positions=where)))
    assert pointed.positions == {n: where[n] for n, _ in task.objects}
    with pytest.raises(ValueError, match="no position for"):
        convert.task_to_msg(sample, positions={})
    short = convert.task_to_msg(sample, positions=where)
    short.object_positions.pop()
    with pytest.raises(ValueError, match="object_positions"):
        convert.task_from_msg(short)
    for change, match in ((lambda m: m.object_classes.pop(), "object_classes"),
                          (lambda m: m.object_ids.__setitem__(0, ""), "empty object id"),
                          (lambda m: setattr(m.skeleton[0], "type", "fly"), "unknown skill type")):
        msg = convert.task_to_msg(sample)
        change(msg)
        with pytest.raises(ValueError, match=match):
            convert.task_from_msg(msg)


def _plan(steps: int = 2, n: int = 3):
    """What a PlanResult looks like to plan_to_msg (its fields, no planner needed)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(4)
    calls = [SkillCall(SkillType.PICK_PLACE, ("cup_1", "table_B"), [0.1, 0.2, 0.0, 0.5]),
             SkillCall(SkillType.PUSH, ("cube_1",), [0.3, 0.1])][:steps]
    return SimpleNamespace(goal=Goal.parse("on(cup_1, table_B)"), skill_calls=calls,
                           predicted_unary=rng.random((steps + 1, n + 2, len(UNARY))),  # 2 padding rows
                           predicted_binary=rng.random((steps + 1, n + 2, n + 2, len(BINARY))),
                           goal_probability=0.42, model_version="v0007")


def test_plan_round_trip_carries_every_predicted_relation_of_the_scene_objects():
    plan, names = _plan(), ["cup_1", "table_B", "cube_1"]
    msg = cdr(convert.plan_to_msg(plan, names, convert.to_stamp(5.0)))
    assert msg.goal == "on(cup_1, table_B)" and msg.model_version == "v0007" and len(msg.predicted_states) == 2
    assert msg.goal_probability == pytest.approx(0.42)
    back = convert.plan_from_msg(msg, names)
    assert back.goal == plan.goal
    assert back.model_version == "v0007" and [c.type for c in back.skill_calls] == [SkillType.PICK_PLACE,
                                                                                     SkillType.PUSH]
    assert back.predicted_unary.shape == (3, 3, len(UNARY)) and not back.predicted_unary[0].any()
    off = ~np.eye(3, dtype=bool)
    assert np.allclose(back.predicted_binary[1:][:, off], plan.predicted_binary[1:, :3, :3][:, off], atol=1e-6)
    assert np.allclose(back.predicted_unary[1:], plan.predicted_unary[1:, :3], atol=1e-6)
    msg.predicted_states = msg.predicted_states[:1]
    with pytest.raises(ValueError, match="2 skills but 1 predicted states"):
        convert.plan_from_msg(msg, names)
    with pytest.raises(ValueError, match="needs 3 predicted steps"):
        plan.predicted_unary = plan.predicted_unary[:2]
        convert.plan_to_msg(plan, names)


def test_model_versions_and_metrics():
    from types import SimpleNamespace

    meta = SimpleNamespace(version="v0003", parent="v0002", data_hash="abc", validated=True, created=1700000000.0,
                           metrics={"failure_accuracy": 0.8, "ok": True, "note": "text", "missing": None,
                                    "nan": math.nan, "nested": {"a": 1}, "count": 3})
    msg = cdr(convert.model_version_to_msg(meta, "/store/versions/v0003"))
    assert (msg.version, msg.parent_version, msg.path, msg.validated) == ("v0003", "v0002", "/store/versions/v0003",
                                                                          True)
    assert msg.header.stamp.sec == 1700000000
    assert [(m.name, m.value) for m in msg.metrics] == [("count", 3.0), ("failure_accuracy", 0.8), ("ok", 1.0)]
    meta.parent = None
    assert convert.model_version_to_msg(meta).parent_version == ""


def test_stamps():
    assert convert.from_stamp(convert.to_stamp(1.25)) == 1.25
    t = convert.to_stamp(2.9999999999)
    assert (t.sec, t.nanosec) == (3, 0)
    assert convert.stamp_key(convert.to_stamp(5.5)) == (5, 500_000_000)
    with pytest.raises(ValueError, match="finite"):
        convert.to_stamp(math.nan)


def test_images_round_trip_exactly_through_cdr():
    rgb = np.random.default_rng(0).integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    labels = np.full((6, 8), NO_LABEL, dtype=np.uint32)
    labels[1:3, 2:5] = 0
    labels[4, :] = 7
    for image, msg_of in ((rgb, convert.image_to_msg), (labels, convert.label_image_to_msg)):
        msg = deserialize_message(serialize_message(msg_of(image, "world")), type(msg_of(image)))
        back = convert.image_from_msg(msg)
        assert back.dtype == image.dtype and np.array_equal(back, image)
    assert convert.label_image_to_msg(labels).encoding == "32SC1"


def test_malformed_images_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        convert.image_to_msg(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="integers"):
        convert.label_image_to_msg(np.zeros((4, 4), np.float32))
    msg = convert.image_to_msg(np.zeros((4, 4, 3), np.uint8))
    msg.data = bytes(msg.data)[:-1]
    with pytest.raises(ValueError, match="bytes"):
        convert.image_from_msg(msg)
    msg.encoding = "bgr8"
    with pytest.raises(ValueError, match="encoding"):
        convert.image_from_msg(msg)


def test_a_step_outcome_carries_every_prediction_the_observation_and_the_mismatches():
    names = ["cup_1", "box_1", "table_B"]
    n = len(names)
    pu, pb = np.full((n + 1, len(UNARY)), 0.25), np.full((n + 1, n + 1, len(BINARY)), 0.125)  # padded rows
    ou, ob = np.zeros((n, len(UNARY)), bool), np.zeros((n, n, len(BINARY)), bool)
    ob[0, 2, BINARY.index("on")] = True
    call = SkillCall(SkillType.PICK_PLACE, ("cup_1", "table_B"), np.array([0.1, 0.0, 0.0, 0.0]))
    msg = convert.step_outcome_to_msg("t1", 2, call, SkillStatus.OK, names, (pu, pb), (ou, ob),
                                      [Mismatch("on", "cup_1", "table_B", 0.125, True)], "v0003", "world",
                                      convert.to_stamp(5.0))
    msg = deserialize_message(serialize_message(msg), type(msg))
    assert (msg.task_id, msg.step_index, msg.model_version, list(msg.object_ids)) == ("t1", 2, "v0003", names)
    assert msg.skill.object_ids == ["cup_1", "table_B"] and msg.status == ExecuteSkill.Result.STATUS_OK
    assert len(msg.predicted.relations) == n * len(UNARY) + n * (n - 1) * len(BINARY)  # every one, with p
    assert [(r.name, r.subject, r.object) for r in msg.observed.relations] == [("on", "cup_1", "table_B")]
    assert [(r.name, r.probability) for r in msg.mismatched] == [("on", 0.125)]
    assert convert.from_stamp(msg.header.stamp) == 5.0 and msg.header.frame_id == "world"
