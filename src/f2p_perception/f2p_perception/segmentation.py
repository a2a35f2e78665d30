"""What a backend computes on one observation, before identities: a label per point.

Keeping per-point labels (instead of only the per-object clouds of `PerceivedScene`) is what lets
every backend be scored the same way, by IoU against the simulator's labels of the same points
(`evaluate.py`), and lets the tracker name segments afterwards (`tracking.py`). `to_scene` turns
it into the `PerceivedScene` the rest of the stack reads, with the fixed-size per-segment samples
the skill effect model takes (A.11.2: 128 points per segment, farthest point sampling).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from f2p_core.scene import SEGMENT_POINTS, PerceivedScene
from f2p_sim.observe import sample_fixed
from f2p_sim.relations import box_from_points

# Farthest point sampling runs on at most this many random points per segment (as in
# f2p_sim.transitions: a table's 128 points stay spread over its top, at a quarter of the cost).
MAX_FPS_CANDIDATES = 1024


@dataclass
class Segmentation:
    """Segments of one observation.

    points       (M, 3) float32 the observation's valid points (`CameraObservation.flat_points`)
    labels       (M,) int segment index per point, -1 for points of no object (floor, noise)
    classes      (K,) semantic class per segment (f2p_sim.scene.ObjectClass values)
    confidences  (K,) float in [0, 1], how sure the backend is of each class
    names        (K,) object names where the backend knows them (sim_gt), else None: the
                 tracker names the segments
    box_lo, box_hi  (K, 3) boxes per segment where the backend refines them (geometric: bottoms
                 set down on the support under them), else None: boxes of the segment's points
    """

    points: np.ndarray
    labels: np.ndarray
    classes: list[str]
    confidences: np.ndarray
    names: list[str] | None = None
    box_lo: np.ndarray | None = None
    box_hi: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = len(self.classes)
        self.labels = np.asarray(self.labels, np.int64)
        self.confidences = np.asarray(self.confidences, np.float64).reshape(-1)
        if self.labels.shape != (len(self.points),):
            raise ValueError(f"labels must be ({len(self.points)},), got {self.labels.shape}")
        if self.confidences.shape != (k,) or (self.names is not None and len(self.names) != k):
            raise ValueError(f"{k} classes but {self.confidences.shape[0]} confidences / names {self.names}")
        if len(self.labels) and (self.labels.max(initial=-1) >= k or self.labels.min(initial=-1) < -1):
            raise ValueError(f"labels must lie in [-1, {k}), got {self.labels.min()}..{self.labels.max()}")

    def __len__(self) -> int:
        return len(self.classes)

    def segment(self, k: int) -> np.ndarray:
        return self.points[self.labels == k]

    def boxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(K, 3) lo and hi per segment: the refined boxes if any, else the segments' extents."""
        if self.box_lo is not None and self.box_hi is not None:
            return np.asarray(self.box_lo, np.float64), np.asarray(self.box_hi, np.float64)
        lo = np.zeros((len(self), 3))
        hi = np.zeros((len(self), 3))
        for k in range(len(self)):
            seg = self.segment(k)
            if len(seg):
                lo[k], hi[k] = box_from_points(seg)
        return lo, hi

    def centres(self) -> np.ndarray:
        lo, hi = self.boxes()
        return (lo + hi) / 2


def empty_segmentation(points: np.ndarray) -> Segmentation:
    """No object in view: every point is background."""
    return Segmentation(points, np.full(len(points), -1), [], np.zeros(0))


def to_scene(seg: Segmentation, names: list[str], n_points: int = SEGMENT_POINTS,
             rng: np.random.Generator | None = None, frame_id: str = "world") -> PerceivedScene:
    """The `PerceivedScene` of `seg` with the given names (one per segment), `n_points` farthest
    points per segment (A.11.2)."""
    if len(names) != len(seg):
        raise ValueError(f"{len(names)} names for {len(seg)} segments")
    rng = rng if rng is not None else np.random.default_rng(0)
    k = len(seg)
    segments = [seg.segment(i).astype(np.float32) for i in range(k)]
    points = np.zeros((k, n_points, 3), np.float32)
    visible = np.array([len(s) > 0 for s in segments], bool)
    for i, s in enumerate(segments):
        if len(s):
            points[i] = sample_fixed(s, n_points, rng, "fps", MAX_FPS_CANDIDATES)
    lo, hi = seg.boxes()
    return PerceivedScene(names=list(names), classes=list(seg.classes), points=points, visible=visible,
                          box_lo=lo.astype(np.float32), box_hi=hi.astype(np.float32), segments=segments,
                          frame_id=frame_id, confidences=seg.confidences)
