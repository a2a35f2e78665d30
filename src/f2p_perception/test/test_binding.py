"""Name binding (issue 17): the task's names bound once to perceived segments by class and position, kept
over the task, unseen task objects listed as not visible, segments of no task object kept."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.scene import PerceivedScene
from f2p_perception.binding import BindingConfig, NameBinding, PointedObject, bind


def scene_of(names, classes, centres, visible=None, half=0.03) -> PerceivedScene:
    centres = np.asarray(centres, np.float32).reshape(-1, 3)
    n = len(names)
    visible = np.ones(n, bool) if visible is None else np.asarray(visible, bool)
    segments = [np.vstack([c - half, c + half]).astype(np.float32) if v else np.zeros((0, 3), np.float32)
                for c, v in zip(centres, visible, strict=True)]
    points = np.stack([np.resize(s, (4, 3)) if len(s) else np.zeros((4, 3), np.float32) for s in segments])
    lo = np.stack([s.min(0) if len(s) else np.zeros(3, np.float32) for s in segments])
    hi = np.stack([s.max(0) if len(s) else np.zeros(3, np.float32) for s in segments])
    return PerceivedScene(list(names), list(classes), points, visible, lo, hi, segments)


TASK = [PointedObject("bag_1", "bag", (0.30, -0.30, 0.50)), PointedObject("item_1", "cuboid", (0.28, -0.30, 0.52)),
        PointedObject("item_2", "cuboid", (0.33, -0.30, 0.52)), PointedObject("table_A", "table", (0.3, -0.3, 0.22))]


def test_bind_by_position_and_class_whatever_the_perceived_names():
    # the items 5 cm apart, the bag called a container, a spurious fragment far from everything
    scene = scene_of(["container_1", "cuboid_2", "cuboid_1", "table_1", "cuboid_9"],
                     ["container", "cuboid", "cuboid", "table", "cuboid"],
                     [(0.31, -0.29, 0.49), (0.34, -0.31, 0.53), (0.27, -0.30, 0.53), (0.3, -0.32, 0.3),
                      (0.9, 0.9, 0.5)])
    assert bind(scene, TASK) == {"container_1": "bag_1", "cuboid_1": "item_1", "cuboid_2": "item_2",
                                 "table_1": "table_A"}
    assert bind(scene, TASK, BindingConfig(max_distance=0.01)) == {}  # nothing within a centimetre


def test_apply_lists_the_task_in_order_then_the_rest_and_keeps_the_binding():
    first = scene_of(["table_1", "cuboid_1", "container_1", "cuboid_9"], ["table", "cuboid", "container", "cuboid"],
                     [(0.3, -0.3, 0.3), (0.28, -0.30, 0.53), (0.30, -0.30, 0.50), (0.9, 0.9, 0.5)])
    assert NameBinding(TASK).apply(first).names == ["bag_1", "item_1", "item_2", "table_A"]  # cuboid_9 dropped
    binding = NameBinding(TASK, keep_unbound=True)
    out = binding.apply(first)  # item_2 not seen (hidden in the bag): listed, not visible, no points
    assert out.names == ["bag_1", "item_1", "item_2", "table_A", "cuboid_9"]
    assert out.classes == ["bag", "cuboid", "cuboid", "table", "cuboid"]  # the task's classes for task objects
    assert out.visible.tolist() == [True, True, False, True, True] and len(out.segments[2]) == 0
    assert np.allclose(out.box_lo[1], first.box_lo[1]) and out.confidences[2] == 0
    # the bag and its item carried 0.6 m: the tracker kept their perceived names, so the task names follow
    moved = scene_of(["container_1", "cuboid_1", "table_1"], ["container", "cuboid", "table"],
                     [(0.3, 0.3, 0.50), (0.28, 0.3, 0.53), (0.3, -0.3, 0.3)])
    again = binding.apply(moved)
    assert again.names == ["bag_1", "item_1", "item_2", "table_A"]
    assert again.visible.tolist() == [True, True, False, True]
    assert np.allclose((again.box_lo[0] + again.box_hi[0]) / 2, (0.3, 0.3, 0.5), atol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="unique"):
        NameBinding([TASK[0], TASK[0]])
    with pytest.raises(ValueError, match="three finite numbers"):
        PointedObject("x", "cuboid", (0.0, np.nan, 1.0))
    empty = PerceivedScene([], [], np.zeros((0, 4, 3), np.float32), np.zeros(0, bool), np.zeros((0, 3), np.float32),
                           np.zeros((0, 3), np.float32), [])
    assert bind(empty, TASK) == {}
    assert NameBinding(TASK).apply(empty).names == [o.name for o in TASK]  # all listed, none visible
