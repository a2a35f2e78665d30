"""rviz markers: object boxes (/f2p/object_poses and the monitor's objects layer): one translucent
cube per object and its id as text above it; every box array starts with a DELETEALL so boxes of
objects that vanished (or a new task) do not linger in rviz. Relation lines (the monitor's
/f2p/markers): drawn where `f2p_monitor.markers_layout` puts them."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from .convert import make_header

TEXT_HEIGHT = 0.03  # m, height of the id labels
TEXT_LIFT = 0.03  # m, gap between a box's top and its label


def class_colour(cls: str, alpha: float = 0.5) -> ColorRGBA:
    """A fixed colour per class name (a hash, so every node and run draws a class alike)."""
    h = zlib.crc32(cls.encode()) / 0xFFFFFFFF
    r, g, b = (0.35 + 0.6 * ((h * k) % 1.0) for k in (1.0, 7.0, 13.0))
    return ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(alpha))


def box_markers(names: Sequence[str], lo: np.ndarray, hi: np.ndarray, classes: Sequence[str] | None = None,
                frame_id: str = "", stamp: Time | None = None, ns: str = "f2p_objects") -> MarkerArray:
    """Markers of axis-aligned boxes lo, hi (N, 3) (m): cube i has id i, label i has id N + i."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    n = len(names)
    if lo.shape != (n, 3) or hi.shape != (n, 3):
        raise ValueError(f"boxes of {n} objects must be (N, 3), got {lo.shape} and {hi.shape}")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))) or np.any(lo > hi):
        raise ValueError("boxes must be finite with lo <= hi")
    classes = list(classes) if classes is not None else ["object"] * n
    header = make_header(frame_id, stamp)
    out = MarkerArray(markers=[Marker(header=header, ns=ns, action=Marker.DELETEALL)])
    for i, name in enumerate(names):
        c, s = (lo[i] + hi[i]) / 2, hi[i] - lo[i]
        cube = Marker(header=header, ns=ns, id=i, type=Marker.CUBE, action=Marker.ADD,
                      color=class_colour(classes[i]))
        cube.pose.position.x, cube.pose.position.y, cube.pose.position.z = (float(v) for v in c)
        cube.scale.x, cube.scale.y, cube.scale.z = (max(float(v), 1e-3) for v in s)
        text = Marker(header=header, ns=ns, id=n + i, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD,
                      text=name, color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0))
        text.pose.position.x, text.pose.position.y = float(c[0]), float(c[1])
        text.pose.position.z = float(hi[i, 2]) + TEXT_LIFT
        text.scale.z = TEXT_HEIGHT
        out.markers.extend([cube, text])
    return out


LINE_WIDTH = 0.006  # m, relation lines


def relation_markers(lines: Iterable, frame_id: str = "", stamp: Time | None = None) -> list[Marker]:
    """Markers of relation lines (`f2p_monitor.markers_layout.RelationLine`: layer, id, start, end,
    text, text_at, colour): line `id` of a layer is the LINE_LIST 2 * id and the text 2 * id + 1 in
    the namespace named after the layer, so ids stay stable from one update to the next."""
    header = make_header(frame_id, stamp)
    out = []
    for line in lines:
        c = line.colour
        colour = ColorRGBA(r=float(c.r), g=float(c.g), b=float(c.b), a=float(c.a))
        seg = Marker(header=header, ns=line.layer, id=2 * int(line.id), type=Marker.LINE_LIST, action=Marker.ADD,
                     color=colour)
        seg.pose.orientation.w = 1.0
        seg.scale.x = LINE_WIDTH
        seg.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in (line.start, line.end)]
        text = Marker(header=header, ns=line.layer, id=2 * int(line.id) + 1, type=Marker.TEXT_VIEW_FACING,
                      action=Marker.ADD, text=line.text, color=colour)
        text.pose.position.x, text.pose.position.y, text.pose.position.z = (float(v) for v in line.text_at)
        text.pose.orientation.w = 1.0
        text.scale.z = TEXT_HEIGHT * 0.7
        out.extend([seg, text])
    return out
