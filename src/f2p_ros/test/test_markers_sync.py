"""Box markers for rviz and exact-stamp pairing of the messages of one capture."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from visualization_msgs.msg import Marker, MarkerArray

from f2p_ros.markers import box_markers, class_colour, relation_markers
from f2p_ros.sync import StampPairer


def test_box_markers_clear_then_draw_a_cube_and_a_label_per_object():
    lo = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.5]])
    hi = np.array([[0.2, 0.1, 0.3], [1.4, 1.2, 0.5]])  # the second box is flat
    msg = box_markers(["cup_1", "tray"], lo, hi, ["cup", "container"], frame_id="world")
    msg = deserialize_message(serialize_message(msg), MarkerArray)
    first, *rest = msg.markers
    assert first.action == Marker.DELETEALL and len(rest) == 4
    cubes = [m for m in rest if m.type == Marker.CUBE]
    texts = [m for m in rest if m.type == Marker.TEXT_VIEW_FACING]
    assert [m.id for m in cubes] == [0, 1] and [m.id for m in texts] == [2, 3]
    assert [m.text for m in texts] == ["cup_1", "tray"]
    assert (cubes[0].pose.position.x, cubes[0].scale.z) == pytest.approx((0.1, 0.3))
    assert cubes[1].scale.z > 0  # rviz hides zero-size cubes
    assert texts[0].pose.position.z > hi[0, 2] and all(m.header.frame_id == "world" for m in msg.markers)
    assert class_colour("cup") == class_colour("cup") and class_colour("cup") != class_colour("container")
    with pytest.raises(ValueError, match="lo <= hi"):
        box_markers(["a"], hi[:1], lo[:1])
    with pytest.raises(ValueError, match=r"must be \(N, 3\)"):
        box_markers(["a", "b"], lo[:1], hi[:1])


def test_relation_markers_are_a_line_and_a_text_per_relation_with_stable_ids():
    from types import SimpleNamespace

    colour = SimpleNamespace(r=1.0, g=0.1, b=0.1, a=1.0)
    line = SimpleNamespace(layer="failures", id=7, start=np.array([0.0, 0.0, 0.5]), end=np.array([0.1, 0.0, 0.45]),
                           text="on(cup_1, table_B): predicted 0.90, observed False",
                           text_at=np.array([0.05, 0.0, 0.47]), colour=colour)
    markers = relation_markers([line], frame_id="world")
    msg = deserialize_message(serialize_message(MarkerArray(markers=markers)), MarkerArray)
    seg, text = msg.markers
    assert (seg.ns, seg.id, seg.type) == ("failures", 14, Marker.LINE_LIST) and len(seg.points) == 2
    assert (text.ns, text.id, text.type) == ("failures", 15, Marker.TEXT_VIEW_FACING) and text.text == line.text
    assert seg.points[1].z == pytest.approx(0.45) and seg.color.r == 1.0 and seg.scale.x > 0


def test_stamp_pairer_pairs_in_any_order_and_forgets_older_captures():
    pairer = StampPairer(keep=2)
    assert pairer.add_first((1, 0), "cloud1") is None
    assert pairer.add_second((2, 0), "map2") is None
    assert pairer.add_second((1, 0), "map1") == ("cloud1", "map1")
    assert pairer.pending() == (0, 1)  # map2 waits for its cloud
    assert pairer.add_first((2, 0), "cloud2") == ("cloud2", "map2")
    for k in range(5):  # clouds whose maps never come: only the last `keep` are held
        pairer.add_first((10 + k, 0), k)
    assert pairer.pending() == (2, 0)
    assert pairer.add_second((14, 0), "map14") == (4, "map14") and pairer.pending() == (0, 0)
    with pytest.raises(ValueError, match="keep"):
        StampPairer(keep=0)
