"""The `sim_gt` backend of the ROS graph: a scene from a cloud whose points carry object labels.

In the graph the simulator and perception are separate processes: the robot publishes its camera
cloud with a `label` per point (ground-truth segmentation) and a label map (label -> object id
and class). This is the perception side of it, ROS-free: the same segments, boxes and fixed-size
samples as `SimGroundTruthPerception.perceive` computes in-process from the same cloud (the
helpers are f2p_sim's: `segment_points`, `sample_fixed`, `box_from_points`), so the graph and
the in-process experiments see one perception.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from f2p_core.scene import SEGMENT_POINTS, PerceivedScene
from f2p_sim.observe import sample_fixed, segment_points
from f2p_sim.relations import box_from_points
from f2p_sim.transitions import MAX_FPS_CANDIDATES


def scene_from_labelled_cloud(points: np.ndarray, labels: np.ndarray, ids: Sequence[str], classes: Sequence[str],
                              n_points: int = SEGMENT_POINTS, rng: np.random.Generator | None = None,
                              frame_id: str = "world",
                              max_candidates: int | None = MAX_FPS_CANDIDATES) -> PerceivedScene:
    """One segment per label-map entry, objects in label-map order.

    points (P, 3) world frame (m); labels (P,) index into `ids`/`classes` or -1 for a point of
    no object (the ground); `n_points` per visible segment by farthest point sampling (A.11.2)
    with `rng` (default: a fixed seed). An object without points is invisible (zeros). An empty
    label map gives an empty scene; an empty cloud, non-finite points, a label outside the map
    or mismatched shapes are errors.
    """
    pts = np.asarray(points)
    lab = np.asarray(labels)
    ids, classes = list(ids), list(classes)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points must be (P, 3), got shape {pts.shape}")
    if pts.shape[0] == 0:
        raise ValueError("the cloud is empty: the camera saw nothing")
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"the cloud holds {int((~np.isfinite(pts).all(axis=1)).sum())} non-finite points")
    if lab.shape != (pts.shape[0],) or lab.dtype.kind not in "iu":
        raise ValueError(f"labels must be ({pts.shape[0]},) integers like the points, got {lab.shape} {lab.dtype}")
    if len(ids) != len(classes):
        raise ValueError(f"{len(ids)} ids but {len(classes)} classes in the label map")
    if n_points <= 0:
        raise ValueError(f"n_points must be positive, got {n_points}")
    n = len(ids)
    lab = lab.astype(np.int64)
    if lab.min() < -1 or lab.max() >= n:
        raise ValueError(f"labels must lie in [-1, {n}) for a label map of {n} objects, "
                         f"got {lab.min()}..{lab.max()}")
    rng = rng if rng is not None else np.random.default_rng(0)
    pts = pts.astype(np.float32, copy=False)
    # segment_points maps "geom ids" through an index; here the labels are the object indices
    # already, with -1 sent to a last entry that maps to no object.
    to_object = np.append(np.arange(n), -1)
    segments = segment_points(pts, np.where(lab < 0, n, lab), to_object, n)
    fixed = np.zeros((n, n_points, 3), dtype=np.float32)
    lo = np.zeros((n, 3), dtype=np.float32)
    hi = np.zeros((n, 3), dtype=np.float32)
    for i, seg in enumerate(segments):
        if len(seg):
            fixed[i] = sample_fixed(seg, n_points, rng, "fps", max_candidates)
            lo[i], hi[i] = box_from_points(seg)
    visible = np.array([len(s) > 0 for s in segments], dtype=bool)
    return PerceivedScene(names=ids, classes=classes, points=fixed, visible=visible, box_lo=lo, box_hi=hi,
                          segments=segments, frame_id=frame_id)
