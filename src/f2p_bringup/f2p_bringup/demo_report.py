"""Images of the `f2p demo` episode report: what the monitor drew for rviz after each step, as PNG.

The monitor's /f2p/markers after a step hold the object boxes and the relations predicted and
observed after it, and the mismatches (`f2p_monitor.markers_layout`). `step_view` reads such an
array into plain data and `render_step` draws it seen from the robot (world y to the left, z up,
as the camera sees the tables): predicted relations on the left, observed on the right, mismatches
in red on both. ROS-free except `step_view`, which only reads message fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PANELS = ("predicted", "observed")
CAPTION_MISMATCHES = 8  # mismatches listed in words under the panels


@dataclass
class Box:
    name: str
    centre: np.ndarray  # (3,) m, world frame
    size: np.ndarray  # (3,)
    colour: tuple[float, float, float, float]


@dataclass
class Line:
    start: np.ndarray  # (3,)
    end: np.ndarray  # (3,)
    text: str
    colour: tuple[float, float, float, float]


@dataclass
class StepView:
    boxes: list[Box] = field(default_factory=list)
    layers: dict[str, list[Line]] = field(default_factory=dict)  # predicted, observed, failures


def _rgba(c) -> tuple[float, float, float, float]:
    return float(c.r), float(c.g), float(c.b), float(c.a)


def _xyz(p) -> np.ndarray:
    return np.array([p.x, p.y, p.z], dtype=np.float64)


def step_view(array) -> StepView:
    """A StepView of a visualization_msgs/MarkerArray published by the monitor."""
    view = StepView()
    names: dict[int, str] = {}
    cubes: dict[int, object] = {}
    texts: dict[tuple[str, int], str] = {}
    lines: dict[tuple[str, int], object] = {}
    for m in array.markers:
        if m.ns == "objects":
            if m.type == m.CUBE:
                cubes[m.id] = m
            elif m.type == m.TEXT_VIEW_FACING:
                names[m.id] = m.text
        elif m.type == m.LINE_LIST and len(m.points) == 2:
            lines[(m.ns, m.id)] = m
        elif m.type == m.TEXT_VIEW_FACING:
            texts[(m.ns, m.id)] = m.text
    n = len(cubes)
    for i, cube in sorted(cubes.items()):
        view.boxes.append(Box(names.get(n + i, str(i)), _xyz(cube.pose.position), _xyz(cube.scale),
                              _rgba(cube.color)))
    for (ns, mid), m in sorted(lines.items()):
        view.layers.setdefault(ns, []).append(Line(_xyz(m.points[0]), _xyz(m.points[1]), texts.get((ns, mid + 1), ""),
                                                   _rgba(m.color)))
    return view


def render_step(view: StepView, path: str | Path, title: str) -> Path:
    """Draw `view` into a PNG at `path` (two panels: predicted, observed; failures on both)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharex=True, sharey=True)
    for ax, panel in zip(axes, PANELS, strict=True):
        for b in view.boxes:  # seen from the robot: horizontal = world y (left is +y), vertical = z
            y0, z0 = b.centre[1] - b.size[1] / 2, b.centre[2] - b.size[2] / 2
            ax.add_patch(Rectangle((y0, z0), b.size[1], b.size[2], facecolor=b.colour[:3], alpha=0.35,
                                   edgecolor="0.3", linewidth=0.8))
            ax.text(b.centre[1], b.centre[2] + b.size[2] / 2 + 0.01, b.name, ha="center", va="bottom", fontsize=7)
        for layer in (panel, "failures"):
            for ln in view.layers.get(layer, []):
                ax.plot([ln.start[1], ln.end[1]], [ln.start[2], ln.end[2]], color=ln.colour[:3],
                        linewidth=1.6 if layer == "failures" else 1.2, alpha=0.7)
                mid = (ln.start + ln.end) / 2
                label = ln.text.split("(")[0] if layer == "failures" else ln.text  # details in the caption
                ax.text(mid[1], mid[2], label, color=ln.colour[:3], fontsize=6, ha="center", va="center")
        n_fail = len(view.layers.get("failures", []))
        ax.set_title(f"{panel} ({len(view.layers.get(panel, []))} relations"
                     + (f", {n_fail} mismatched in red)" if n_fail else ")"), fontsize=10)
        ax.set_xlabel("y (m), robot's left ←")
        ax.set_aspect("equal", adjustable="box")
        ax.grid(alpha=0.2)
    axes[0].invert_xaxis()  # shared: +y (the robot's left) on the left
    axes[0].set_ylabel("z (m)")
    fig.suptitle(title, fontsize=11)
    failures = [ln.text for ln in view.layers.get("failures", [])]
    if failures:  # the mismatches in words (lines of many relations overlap)
        shown = "; ".join(failures[:CAPTION_MISMATCHES]) + (f"; ... {len(failures) - CAPTION_MISMATCHES} more"
                                                             if len(failures) > CAPTION_MISMATCHES else "")
        fig.text(0.01, 0.01, "mismatches: " + shown, fontsize=7, color="red", wrap=True, va="bottom")
    fig.tight_layout(rect=(0, 0.08 if failures else 0, 1, 1))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
