"""The `geometric` backend: segments from geometry alone, for a robot without a GPU (issue 8).

The paper assumes "open-source segmentation and detection models" (§3); this backend needs none,
only the world frame's up axis. Every step below was added for a failure measured on the task
scenes (numbers and the failures that remain: `f2p_perception/README.md`):

1. Supports (open3d RANSAC `segment_plane`, seeded): horizontal planes one after the other; points
   on the floor (`floor_z`) belong to no object; a plane patch at least `table_min_extent` wide both
   ways and `table_min_area` large, whose under-side reaches the floor, is a table top (a shelf
   board lying on a table is not); pieces of the same plane near it (strips beside an object that
   hides the rest of the top) extend it, and it owns what is under it (edge, legs). A top with a
   filled front under it is a cabinet (its closed drawer included).
2. Smooth patches on the rest: points within `eps` whose k-NN normals agree and lie on each other's
   tangent planes. Points on creases (high surface variation: their normal blends two faces) take
   the patch of their nearest smooth neighbour, so they never bridge two faces.
3. Objects = patches joined where most of the point edges between them are *convex* (the LCCP
   criterion, Stein et al., CVPR 2014: (n_a − n_b)·(c_a − c_b) > 0 on `chunk`-sized supervoxels):
   a cube's faces meet at convex edges, a book and the shelf board it stands on at a concave one.
   Euclidean clustering (DBSCAN) cannot separate books from their shelf; this can.
4. What convexity over-splits is merged back, per group of points connected within eps or across
   neighbouring pixels of one surface seen at a grazing angle: only *contents* stay separate
   (segments of `fragment_points` or more lying inside the footprint of the rest of their group,
   rising `content_height` above its bottom, not a single vertical plane -- books on a board, items
   on a container floor); the rest of the group that touches is one object (walls, rims, floors).
   Contents joined by coplanar sides seen edge-on are split again by their separate tops; a single
   vertical plane inside another segment's box is that segment's side; fragments join the
   neighbour they touch most, except a crumb standing inside an open box (a capsule's tip).
5. A class per segment from its geometry (`shape_class.py`) with a confidence, and boxes whose
   bottoms are set down on the table under them (the bottom rows went to the table in step 1).

Distances and point counts are for the default 320×240 camera at 1–2 m; a coarser camera scales
them by its pixel pitch (`for_resolution`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from f2p_perception.observation import CameraObservation, check_observation
from f2p_perception.segmentation import Segmentation, empty_segmentation
from f2p_perception.shape_class import ShapeContext, classify_segment


@dataclass(frozen=True)
class GeometricConfig:
    """Parameters of the geometric backend (metres, degrees). Defaults fit a RealSense-like
    320×240 camera 1–1.6 m from a tabletop, the f2p_sim default viewpoint."""

    floor_z: float | None = 0.0  # height of the floor in the world frame; None: the lowest horizontal plane
    plane_distance: float = 0.005  # RANSAC inlier distance (m): a table top is flat to a few mm
    plane_min_points: int = 300  # smaller horizontal planes are not supports worth a RANSAC round
    ransac_iterations: int = 300
    max_planes: int = 8  # RANSAC rounds (non-horizontal planes found on the way are skipped)
    horizontal_cos: float = 0.97  # |n_z| of a horizontal plane (±14°)
    table_min_extent: float = 0.15  # a support patch at least this wide both ways ...
    table_min_area: float = 0.05  # ... and this large (m², bounding box) is a table top (part may be hidden)
    support_reach: float = 0.15  # ... if the points under it reach this close to the floor (legs, a cabinet's front)
    cabinet_fill: float = 0.5  # under a support's top, more points than this fraction of the top's: a cabinet
    leg_margin: float = 0.05  # a table owns what is under its top up to this far outside the visible top (legs)
    table_join: float = 0.3  # pieces of a table's plane this close to its top are part of it (m)
    eps: float = 0.010  # neighbourhood radius (m): ~1.5 pixel pitches at 1.3 m, under the 12 mm gaps between items
    grazing_distance: float = 0.03  # organised clouds: neighbouring pixels this far apart may still share a surface
    grazing_factor: float = 1.25  # ... if no further apart than this many expected pitches of their surface
    normal_neighbours: int = 12  # k of the k-NN normal estimate
    smooth_angle: float = 15.0  # neighbours whose normals differ by less lie on one smooth surface
    crease_variation: float = 0.05  # surface variation above which a point's normal is unreliable (a crease)
    max_crease_fraction: float = 0.5  # more creases than this: too noisy for normals, plain clustering
    plane_tolerance: float = 0.003  # ... and each within this of the other's tangent plane (m)
    flat_angle: float = 10.0  # patches this close to parallel are convex only if coplanar (LCCP's β)
    step_tolerance: float = 0.005  # parallel patches further apart along their normal are a step, not one surface
    chunk: float = 0.03  # supervoxel size (m) of the local convexity test
    min_convex_edges: int = 3  # two patches join on at least this many convex point edges (and a majority)
    content_height: float = 0.025  # contents rise at least this far above the bottom of their group (floors do not)
    content_margin: float = 0.005  # contents lie at least this far inside the footprint of the rest of their group
    wall_planarity: float = 0.85  # this fraction of a segment's points on one vertical plane: a wall, not a content
    fragment_points: int = 12  # segments smaller than this join the neighbour they touch most
    top_points: int = 8  # a content with two top faces this big that do not touch is two objects
    min_points: int = 3  # isolated segments smaller than this are noise
    snap_distance: float = 0.015  # segment bottoms this close above a table top are set down on it
    viewpoint: tuple[float, float, float] = (-0.52, 0.0, 1.37)  # orients normals when the pose is unknown
    seed: int = 0  # RANSAC's random generator (open3d), for reproducible segmentations
    noise_floor: float = 0.001  # sensor noise (m, measured on the floor) above which the cloud is smoothed
    smooth_neighbours: int = 10  # ... by averaging each point with this many nearest neighbours
    crumb_noise: float = 0.003  # above this noise, isolated segments under fragment_points are dropped
    reference_pitch: float = 0.0077  # m per pixel the defaults are for: 1.65 m median range / 216 px (320x240, 58°)

    def __post_init__(self) -> None:
        for name in ("plane_distance", "eps", "chunk", "table_min_area", "grazing_distance", "plane_tolerance",
                     "table_min_extent", "content_height", "content_margin", "snap_distance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"GeometricConfig.{name} must be positive, got {getattr(self, name)}")
        if not 0.0 < self.horizontal_cos < 1.0:
            raise ValueError(f"GeometricConfig.horizontal_cos must lie in (0, 1), got {self.horizontal_cos}")
        if self.min_points < 1 or self.fragment_points < self.min_points or self.normal_neighbours < 3:
            raise ValueError("need min_points >= 1, fragment_points >= min_points and normal_neighbours >= 3")
        if self.grazing_distance < self.eps:
            raise ValueError(f"grazing_distance ({self.grazing_distance}) must be at least eps ({self.eps})")


def _o3d():
    import open3d as o3d

    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    return o3d


def _cloud(points: np.ndarray):
    o3d = _o3d()
    pc = o3d.geometry.PointCloud()
    pc.points = o3d.utility.Vector3dVector(np.asarray(points, np.float64))
    return pc


@dataclass
class _Table:
    top_z: float
    lo_xy: np.ndarray
    hi_xy: np.ndarray
    index: np.ndarray  # point indices
    cls: str = "table"


class GeometricBackend:
    """Plane removal + convexity-based clustering + merges + shape classes (module docstring)."""

    name = "geometric"

    def __init__(self, config: GeometricConfig | None = None, **params) -> None:
        self.config = config if config is not None else GeometricConfig(**params)
        if config is not None and params:
            raise ValueError("pass either a GeometricConfig or keyword parameters, not both")

    # --- 1. supports -----------------------------------------------------------------------
    def _horizontal_planes(self, pts: np.ndarray, pool: np.ndarray) -> list[tuple[float, np.ndarray]]:
        c, o3d = self.config, _o3d()
        planes, rest = [], pool
        for _ in range(c.max_planes):
            if len(rest) < c.plane_min_points:
                break
            o3d.utility.random.seed(c.seed)
            model, inliers = _cloud(pts[rest]).segment_plane(c.plane_distance, 3, c.ransac_iterations)
            inliers = np.asarray(inliers, np.int64)
            if len(inliers) < c.plane_min_points:
                break
            _, _, nz, d = model
            if abs(nz) >= c.horizontal_cos:
                planes.append((float(-d / nz), rest[inliers]))
            rest = np.delete(rest, inliers)
        return sorted(planes, key=lambda p: p[0])

    def _supports(self, pts: np.ndarray) -> tuple[np.ndarray, list[_Table]]:
        """(background mask (floor), tables)."""
        c = self.config
        background = np.zeros(len(pts), bool)
        if c.floor_z is not None:
            background |= pts[:, 2] <= c.floor_z + c.plane_distance
        planes = self._horizontal_planes(pts, np.flatnonzero(~background))
        if c.floor_z is None and planes:
            background[planes[0][1]] = True
            planes = planes[1:]
        tables: list[_Table] = []
        taken = background.copy()
        for z, plane in planes:
            inliers = plane[~taken[plane]]
            if len(inliers) < c.plane_min_points:
                continue
            flat = np.c_[pts[inliers, :2], np.zeros(len(inliers))]
            patch = np.asarray(_cloud(flat).cluster_dbscan(2 * c.eps, 10))
            parts = [inliers[patch == k] for k in range(int(patch.max(initial=-1)) + 1)]
            boxes = [(pts[i, :2].min(0), pts[i, :2].max(0)) for i in parts]
            tops = [k for k, (lo, hi) in enumerate(boxes)
                    if np.min(hi - lo) >= c.table_min_extent and np.prod(hi - lo) >= c.table_min_area]
            # Pieces of the same plane near a top (the strips an object on it leaves visible) are
            # that top too: with them, the footprint reaches the legs behind what hides the top.
            members = {k: [k] for k in tops}
            for k in set(range(len(parts))) - set(tops):
                gaps = {q: float(np.linalg.norm(np.maximum(0, np.maximum(boxes[q][0] - boxes[k][1],
                                                                         boxes[k][0] - boxes[q][1]))))
                        for q in tops}
                if gaps and min(gaps.values()) <= c.table_join:
                    members[min(gaps, key=gaps.get)].append(k)
            for k in tops:
                idx = np.concatenate([parts[q] for q in members[k]])
                lo, hi = pts[idx, :2].min(0), pts[idx, :2].max(0)
                under = (~taken & (pts[:, 2] < z + c.plane_distance)  # the top's edge and the legs
                         & np.all((pts[:, :2] >= lo - c.leg_margin) & (pts[:, :2] <= hi + c.leg_margin), axis=1))
                under[idx] = False
                # A table stands on the floor (its legs reach down); a board or a container floor
                # lying on a table does not. Points under a cabinet's top fill its front, a table's
                # only its edge and legs.
                if c.floor_z is not None and (not under.any() or pts[under, 2].min() > c.floor_z + c.support_reach):
                    continue
                fill = under.sum() / len(idx)
                idx = np.union1d(idx, np.flatnonzero(under))
                taken[idx] = True
                tables.append(_Table(z, lo, hi, idx, "cabinet" if fill >= c.cabinet_fill else "table"))
        return background, tables

    # --- 2.-4. objects ----------------------------------------------------------------------
    def _pixel_edges(self, pts: np.ndarray, pixels: np.ndarray,
                     shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(E, 2) pairs of neighbouring pixels (8-neighbourhood) between eps and grazing_distance
        apart, and the pixel step of each (1 or √2)."""
        h, w = shape
        where = np.full(h * w, -1, np.int64)
        where[pixels] = np.arange(len(pixels))
        grid = where.reshape(h, w)
        pairs, steps = [], []
        for dv, du in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each 8-neighbour pair once
            u0, u1 = max(0, -du), w - max(0, du)
            a, b = grid[: h - dv, u0:u1], grid[dv:, u0 + du: u1 + du]
            ok = (a >= 0) & (b >= 0)
            pairs.append(np.stack([a[ok], b[ok]], 1))
            steps.append(np.full(int(ok.sum()), np.hypot(dv, du)))
        px, step = np.concatenate(pairs), np.concatenate(steps)
        far = np.linalg.norm(pts[px[:, 0]] - pts[px[:, 1]], axis=1)
        keep = (far >= self.config.eps) & (far <= self.config.grazing_distance)
        return px[keep], step[keep]

    def _grazing(self, pts: np.ndarray, normals: np.ndarray, px: np.ndarray, step: np.ndarray,
                 camera: np.ndarray, focal: float) -> np.ndarray:
        """The pixel edges whose length a surface seen at a grazing angle explains: a pixel covers
        r / f metres across the ray and r / (f cos θ) along a surface tilted by θ, so neighbours
        on one tilted surface are up to that far apart; a longer step is a gap between objects
        (coplanar tops of packed items 12 mm apart, seen at 45°, are 1.4 pitches apart)."""
        ray = pts - camera
        r = np.linalg.norm(ray, axis=1)
        cos = np.abs(np.einsum("ij,ij->i", normals, ray)) / np.maximum(r, 1e-9)
        spacing = r / focal / np.maximum(cos, 0.05)  # (n,) expected pitch along the surface
        i, j = px[:, 0], px[:, 1]
        length = np.linalg.norm(pts[i] - pts[j], axis=1)
        return px[length <= self.config.grazing_factor * step * np.minimum(spacing[i], spacing[j])]

    def _normals(self, pts: np.ndarray, viewpoint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit normals (n, 3) oriented towards the camera and the surface variation (n,)
        λ0 / (λ0 + λ1 + λ2) of the k nearest neighbours (0 on a plane, large on a crease)."""
        k = min(self.config.normal_neighbours, len(pts))
        _, nn = cKDTree(pts).query(pts, k)
        nb = pts[nn.reshape(len(pts), -1)]  # (n, k, 3)
        centred = nb - nb.mean(axis=1, keepdims=True)
        cov = np.einsum("nki,nkj->nij", centred, centred)  # (n, 3, 3)
        val, vec = np.linalg.eigh(cov)  # ascending eigenvalues
        normals = vec[:, :, 0]
        flip = np.einsum("ij,ij->i", normals, viewpoint - pts) < 0
        normals[flip] *= -1
        variation = val[:, 0] / np.maximum(val.sum(axis=1), 1e-18)
        return normals, variation

    def _objects(self, pts: np.ndarray, normals: np.ndarray, variation: np.ndarray,
                 edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-point object labels (before the merges) and the adjacency edges (within eps).

        Smooth patches are cut into `chunk`-sized supervoxels so that the convexity test compares
        local centroids and normals (a cup's rim is a ring whose centroid lies in mid-air); two
        patches join when most of the point edges between their touching chunks are convex.
        """
        c = self.config
        n = len(pts)
        i, j = edges[:, 0], edges[:, 1]
        d = pts[j] - pts[i]
        dist = np.linalg.norm(d, axis=1)
        cos = np.einsum("ij,ij->i", normals[i], normals[j])
        # Normals on a crease blend both faces and would bridge them: crease points join no patch
        # (they are fragments, merged into a neighbour at the end) -- unless most points look like
        # creases, which means the cloud is too noisy for normals and convexity is not used at all.
        crease = variation > c.crease_variation
        if crease.mean() > c.max_crease_fraction:
            crease[:] = False
        smooth = ((cos >= np.cos(np.deg2rad(c.smooth_angle))) & ~crease[i] & ~crease[j]
                  & (np.abs(np.einsum("ij,ij->i", normals[i], d)) <= c.plane_tolerance)
                  & (np.abs(np.einsum("ij,ij->i", normals[j], d)) <= c.plane_tolerance))
        patch = _components(n, edges[smooth])
        # Crease points take the patch and normal of their nearest smooth neighbour, so the two
        # faces of an edge touch and the convexity test below sees clean normals on both sides.
        if crease.any() and (~crease).any():
            solid = np.flatnonzero(~crease)
            gap, near = cKDTree(pts[solid]).query(pts[crease], distance_upper_bound=c.eps)
            found = np.isfinite(gap)
            idx = np.flatnonzero(crease)[found]
            patch[idx] = patch[solid[near[found]]]
            normals = normals.copy()
            normals[idx] = normals[solid[near[found]]]
            patch = _relabel(patch)
            crease = crease.copy()
            crease[idx] = False
        cell = np.floor(pts / c.chunk).astype(np.int64)
        _, chunk = np.unique(np.c_[patch, cell], axis=0, return_inverse=True)
        chunk = chunk.reshape(-1)
        k = int(chunk.max(initial=-1)) + 1
        cnt = np.bincount(chunk, minlength=k).astype(np.float64)
        centre = np.stack([np.bincount(chunk, pts[:, a], k) for a in range(3)], 1) / cnt[:, None]
        nsum = np.stack([np.bincount(chunk, normals[:, a], k) for a in range(3)], 1)
        nrm = nsum / np.maximum(np.linalg.norm(nsum, axis=1, keepdims=True), 1e-12)
        near = dist < c.eps + 1e-9
        # Only patches of a few points or more vote: a crease point alone has no trustworthy normal.
        size = np.bincount(patch)
        voter = ~crease & (size[patch] >= c.min_points)
        cross = near & (patch[i] != patch[j]) & voter[i] & voter[j]
        a, b = chunk[i[cross]], chunk[j[cross]]
        dc = centre[a] - centre[b]
        parallel = np.einsum("ij,ij->i", nrm[a], nrm[b]) >= np.cos(np.deg2rad(c.flat_angle))
        coplanar = (np.abs(np.einsum("ij,ij->i", nrm[a], dc)) <= c.step_tolerance) & (
            np.abs(np.einsum("ij,ij->i", nrm[b], dc)) <= c.step_tolerance)
        convex = np.einsum("ij,ij->i", nrm[a] - nrm[b], dc) > 0
        vote = np.where(parallel, coplanar, convex)
        pa, pb = patch[i[cross]], patch[j[cross]]
        lo_p, hi_p = np.minimum(pa, pb), np.maximum(pa, pb)
        npatch = int(patch.max(initial=-1)) + 1
        key = lo_p * npatch + hi_p
        keys, inv = np.unique(key, return_inverse=True)
        yes = np.bincount(inv.reshape(-1), vote.astype(np.float64), len(keys))
        tot = np.bincount(inv.reshape(-1), minlength=len(keys))
        join = keys[(yes > 0.5 * tot) & (yes >= c.min_convex_edges)]
        obj = _components(npatch, np.stack([join // npatch, join % npatch], 1))[patch]
        return obj, edges[near]

    def _merge(self, pts: np.ndarray, normals: np.ndarray, obj: np.ndarray, near_edges: np.ndarray,
               all_edges: np.ndarray, loose_edges: np.ndarray) -> np.ndarray:
        """Undo what convexity over-splits, group by group (a group: points connected within eps
        or across neighbouring pixels of one surface, what Euclidean clustering calls a cluster).

        Convexity separates what stands on a surface from the surface, but it also cuts hollow
        things along their inner corners and thin rims (a container's walls and floor, a shelf's
        boards, a cup's far wall). So within a group only the *contents* stay separate: segments of
        `fragment_points` or more inside the footprint of the rest of the group (by
        `content_margin`), rising `content_height` above its bottom and not one vertical plane --
        books on a shelf board, items on a container floor. The other segments of the group join
        where they touch within eps, or through pixel neighbours where one side is a wall-like
        piece (two solids linked only that way are packed items seen along their sides). Then:
        contents with separate tops are split, wall-like pieces join the tightest box around them,
        and fragments join their neighbours (`_absorb_fragments`; crumbs inside an open box stay).
        """
        c = self.config
        group = _components(len(pts), all_edges)
        # A curved surface seen by a few pixels breaks into crumbs (a capsule's tip over a cup's
        # rim): crumbs that touch (within eps) are one segment before anything is judged.
        obj = _absorb_fragments(_relabel(obj), near_edges, c.fragment_points, crumbs_only=True)
        old = obj.copy()
        contents = self._contents(pts, obj, group)
        obj = self._join_pieces(pts, obj, contents, near_edges, all_edges)
        obj = self._split_contents(pts, normals, obj, np.isin(old, contents) if contents else None, near_edges)
        obj = self._join_held_pieces(pts, obj, np.isin(old, contents) if contents else None)
        obj = self._absorb_outside_hollows(pts, normals, obj, near_edges, loose_edges)
        size = np.bincount(obj[obj >= 0])
        obj = np.where((obj >= 0) & (size[np.maximum(obj, 0)] >= c.min_points), obj, -1)
        return _relabel(obj)

    def _contents(self, pts: np.ndarray, obj: np.ndarray, group: np.ndarray) -> list[int]:
        """The segments that stay separate within their group: solid, inside the footprint of the rest of
        the group (by `content_margin`), rising `content_height` above its bottom, not one vertical plane."""
        c = self.config
        contents: list[int] = []
        k = int(obj.max(initial=-1)) + 1
        lo, hi = _boxes(pts, obj)
        size = np.bincount(obj[obj >= 0], minlength=k)
        solid = size >= c.fragment_points
        seg_group = np.zeros(k, np.int64)
        seg_group[obj[obj >= 0]] = group[obj >= 0]
        for g in np.unique(seg_group):
            members = np.flatnonzero(seg_group == g)
            content = np.zeros(len(members), bool)
            for a, s in enumerate(members):
                others = members[members != s]
                if not solid[s] or not len(others):
                    continue
                glo, ghi = lo[others].min(0), hi[others].max(0)  # the footprint of the rest of the group
                content[a] = (np.all(lo[s, :2] >= glo[:2] + c.content_margin)
                              and np.all(hi[s, :2] <= ghi[:2] - c.content_margin)
                              and hi[s, 2] >= glo[2] + c.content_height  # a floor patch does not rise
                              and not _is_wall(pts[obj == s], c.wall_planarity))
            contents.extend(members[content].tolist())
        return contents

    def _join_pieces(self, pts: np.ndarray, obj: np.ndarray, contents: list[int], near_edges: np.ndarray,
                     all_edges: np.ndarray) -> np.ndarray:
        """The rest of a group: the pieces that touch (walls, rims, floors of one container) are one.
        Pixel-neighbour (grazing) links join only where one side is a piece -- a wall, a flat rim or
        floor, a fragment: two solids linked only that way are packed items whose coplanar sides are
        seen edge-on."""
        c = self.config
        k = int(obj.max(initial=-1)) + 1
        size = np.bincount(obj[obj >= 0], minlength=k)
        is_content = np.zeros(k, bool)
        is_content[contents] = True
        piece = np.array([size[s] >= c.fragment_points and _is_piece(pts[obj == s], c) for s in range(k)], bool)
        big = size >= c.fragment_points  # fragments go to one neighbour at the end, never bridge two
        near_pairs = _segment_pairs(obj, near_edges)
        far_pairs = _segment_pairs(obj, all_edges)
        far_pairs = far_pairs[(piece[far_pairs[:, 0]] | piece[far_pairs[:, 1]])
                              & big[far_pairs[:, 0]] & big[far_pairs[:, 1]]]
        pairs = np.concatenate([near_pairs, far_pairs])
        pairs = pairs[~is_content[pairs[:, 0]] & ~is_content[pairs[:, 1]]]
        return _relabel(_components(k, pairs)[obj])

    def _split_contents(self, pts: np.ndarray, normals: np.ndarray, obj: np.ndarray, was_content: np.ndarray | None,
                        near_edges: np.ndarray) -> np.ndarray:
        """Contents packed in rows are joined by their coplanar sides, seen edge-on (a 12 mm gap is
        smaller than a pixel's footprint on a surface at a grazing angle); their tops are apart: split
        each segment of content points (`was_content`) by its tops."""
        c = self.config
        nxt = int(obj.max(initial=-1)) + 1
        for s in np.unique(obj[was_content]) if was_content is not None else []:
            idx = np.flatnonzero(obj == s)
            parts = _split_by_tops(pts[idx], normals[idx], near_edges, idx, c)
            for q in range(1, int(parts.max(initial=0)) + 1):
                obj[idx[parts == q]] = nxt
                nxt += 1
        return obj

    def _join_held_pieces(self, pts: np.ndarray, obj: np.ndarray, was_content: np.ndarray | None) -> np.ndarray:
        """A piece lying within the box of a segment it touches is part of it: the side of a book or a cup
        seen edge-on (its points are too sparse to join its other faces), a rim, a floor. It joins the
        tightest box around it (a book's side, not the shelf holding the book); contents stay."""
        c = self.config
        obj = _relabel(obj)
        k = int(obj.max(initial=-1)) + 1
        lo, hi = _boxes(pts, obj)
        size = np.bincount(obj[obj >= 0], minlength=k)
        held = np.zeros(k, bool)
        if was_content is not None:
            held[np.unique(obj[was_content])] = True
        volume = np.prod(np.maximum(hi - lo, c.eps), axis=1)
        parent = np.arange(k)
        for s in np.argsort(size):
            if size[s] < c.fragment_points or held[s] or not _is_piece(pts[obj == s], c):
                continue  # fragments go to the neighbour they touch (below): a capsule's tip is not a cup's
            inside = np.all(lo[s] >= lo - c.eps, axis=1) & np.all(hi[s] <= hi + c.eps, axis=1) & (size > size[s])
            inside[s] = False
            if inside.any():
                parent[s] = np.flatnonzero(inside)[np.argmin(volume[inside])]
        return _relabel(_resolve(parent)[obj])

    def _absorb_outside_hollows(self, pts: np.ndarray, normals: np.ndarray, obj: np.ndarray, near_edges: np.ndarray,
                                loose_edges: np.ndarray) -> np.ndarray:
        """Fragments of a few points join the neighbour they touch most: first what touches within eps,
        then through neighbouring pixels -- except a crumb standing inside the footprint of an open box,
        well above its bottom: a capsule's tip seen over a cup's rim is a capsule."""
        c = self.config
        obj = _absorb_fragments(obj, near_edges, c.fragment_points)
        lo, hi = _boxes(pts, obj)
        size = np.bincount(obj[obj >= 0])
        pairs = _segment_pairs(obj, loose_edges)
        keep = np.zeros(len(size), bool)
        hollow: dict[int, bool] = {}
        for s in np.flatnonzero(size < c.fragment_points):
            for q in _neighbours(pairs, s):
                inside = bool(np.all(lo[s, :2] >= lo[q, :2] + c.content_margin)
                              and np.all(hi[s, :2] <= hi[q, :2] - c.content_margin)
                              and hi[s, 2] >= lo[q, 2] + c.content_height)
                if inside and q not in hollow:
                    m = obj == q
                    cls = classify_segment(pts[m], normals[m], lo[q], hi[q], ShapeContext())[0]
                    hollow[q] = cls in ("cup", "container")
                keep[s] |= inside and hollow[q]
        return _absorb_fragments(obj, loose_edges, c.fragment_points, keep=keep)

    # --- the backend interface --------------------------------------------------------------
    def for_resolution(self, obs: CameraObservation) -> GeometricConfig:
        """The config scaled to a camera coarser than the default one: distances grow with the pixel
        pitch at the cloud's median range (r / f), point counts shrink with its square. Finer
        cameras keep the defaults. Without intrinsics and pose nothing is scaled."""
        c = self.config
        if obs.intrinsics is None or obs.cam_to_world is None:
            return c
        pts = obs.flat_points()
        r = float(np.median(np.linalg.norm(pts - np.asarray(obs.cam_to_world)[:3, 3], axis=1)))
        s = r / obs.intrinsics.fx / c.reference_pitch
        if s <= 1.05:
            return c
        return replace(c, eps=c.eps * s, grazing_distance=c.grazing_distance * s, chunk=c.chunk * s,
                       plane_min_points=max(30, int(c.plane_min_points / s**2)),
                       fragment_points=max(c.min_points, round(c.fragment_points / s**2)),
                       top_points=max(3, round(c.top_points / s**2)))

    def noise_sigma(self, pts: np.ndarray) -> float:
        """Sensor noise (m) read off the floor: 1.4826 × the median absolute deviation of the
        heights of points near `floor_z` (0 when the floor is unknown or hardly seen)."""
        if self.config.floor_z is None:
            return 0.0
        z = pts[np.abs(pts[:, 2] - self.config.floor_z) < 0.05, 2]
        if len(z) < 200:
            return 0.0
        return float(1.4826 * np.median(np.abs(z - np.median(z))))

    def segment(self, obs: CameraObservation) -> Segmentation:
        check_observation(obs)
        c = self.for_resolution(obs)
        pts = obs.flat_points().astype(np.float64)
        sigma = self.noise_sigma(pts)
        if sigma > c.noise_floor:
            # A noisy cloud: average each point with its neighbours (noise / √k) and widen the
            # plane band; normals, creases and convexity then work as on a clean cloud up to
            # σ ≈ 5 mm (measured: README).
            _, nn = cKDTree(pts).query(pts, c.smooth_neighbours)
            pts = pts[nn].mean(axis=1)
            c = replace(c, plane_distance=max(c.plane_distance, 3 * sigma / np.sqrt(c.smooth_neighbours)))
            if sigma > c.crumb_noise:  # crumbs are noise now (5 mm scatters the edges of floor and
                c = replace(c, min_points=c.fragment_points)  # tables into dozens), not capsule tips
        backend = self if c is self.config else GeometricBackend(c)
        seg = backend._segment(obs, pts)
        seg.info["noise_sigma"] = sigma
        return seg

    def _segment(self, obs: CameraObservation, pts: np.ndarray) -> Segmentation:
        c = self.config
        background, tables = self._supports(pts)
        labels = np.full(len(pts), -1, np.int64)
        for k, t in enumerate(tables):
            labels[t.index] = k
        pool = np.flatnonzero(~background & (labels < 0))
        if c.floor_z is not None:
            pool = pool[pts[pool, 2] > c.floor_z]
        classes = [t.cls for t in tables]
        conf = [0.9] * len(tables)
        lo_out = [np.r_[t.lo_xy, pts[t.index, 2].min()] for t in tables]
        hi_out = [np.r_[t.hi_xy, t.top_z] for t in tables]
        if len(pool) >= c.min_points:
            sub = pts[pool]
            viewpoint = (np.asarray(obs.cam_to_world)[:3, 3] if obs.cam_to_world is not None
                         else np.asarray(c.viewpoint))
            normals, variation = self._normals(sub, viewpoint)
            near = cKDTree(sub).query_pairs(c.eps, output_type="ndarray")
            loose = strict = np.zeros((0, 2), np.int64)
            if obs.organised:  # neighbouring pixels: surfaces seen at grazing angles stay whole
                pixels = np.flatnonzero(obs.valid_mask().ravel())[pool]
                loose, step = self._pixel_edges(sub, pixels, obs.image_shape)
                if obs.intrinsics is not None:
                    strict = self._grazing(sub, normals, loose, step, viewpoint, obs.intrinsics.fx)
            obj, adj = self._objects(sub, normals, variation, near)
            obj = self._merge(sub, normals, obj, adj, np.concatenate([near, strict]), np.concatenate([near, loose]))
            lo, hi = _boxes(sub, obj)
            table_tops = [(t.top_z, t.lo_xy, t.hi_xy) for t in tables]
            for k in range(len(lo)):
                m = obj == k
                ctx = ShapeContext(floor_z=c.floor_z, table_tops=table_tops,
                                   others=[(lo[o], hi[o]) for o in range(len(lo)) if o != k])
                cls, cf = classify_segment(sub[m], normals[m], lo[k], hi[k], ctx)
                lo[k] = _set_down(lo[k], hi[k], table_tops, c.snap_distance)
                classes.append(cls)
                conf.append(cf)
                labels[pool[m]] = len(tables) + k
                lo_out.append(lo[k])
                hi_out.append(hi[k])
        if not classes:
            return empty_segmentation(pts.astype(np.float32))
        return Segmentation(pts.astype(np.float32), labels, classes, np.array(conf), None,
                            np.array(lo_out), np.array(hi_out))


# --- small graph helpers --------------------------------------------------------------------
def _components(n: int, edges: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, np.int64)
    e = np.asarray(edges, np.int64).reshape(-1, 2)
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1].astype(np.int64)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..K-1 in order of first appearance; -1 stays -1."""
    out = np.full(len(labels), -1, np.int64)
    keep = labels >= 0
    if keep.any():
        _, first, inv = np.unique(labels[keep], return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        out[keep] = rank[inv]
    return out


def _resolve(parent: np.ndarray) -> np.ndarray:
    """Follow parent pointers to their roots (chains of merges)."""
    root = parent.copy()
    for _ in range(len(root)):
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    return root


def _boxes(pts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = int(labels.max(initial=-1)) + 1
    lo = np.full((k, 3), np.inf)
    hi = np.full((k, 3), -np.inf)
    keep = labels >= 0
    np.minimum.at(lo, labels[keep], pts[keep])
    np.maximum.at(hi, labels[keep], pts[keep])
    return lo, hi


def _segment_pairs(labels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(P, 2) distinct unordered pairs of segments joined by at least one edge."""
    if len(edges) == 0:
        return np.zeros((0, 2), np.int64)
    a, b = labels[edges[:, 0]], labels[edges[:, 1]]
    keep = (a != b) & (a >= 0) & (b >= 0)
    if not keep.any():
        return np.zeros((0, 2), np.int64)
    return np.unique(np.sort(np.stack([a[keep], b[keep]], 1), axis=1), axis=0)


def _neighbours(pairs: np.ndarray, s: int) -> np.ndarray:
    return np.concatenate([pairs[pairs[:, 0] == s, 1], pairs[pairs[:, 1] == s, 0]])


def _is_wall(pts: np.ndarray, planarity: float) -> bool:
    """One vertical plane (a wall's inner face cut off at its rim): most points within 5 mm of the
    segment's best-fit plane, whose normal is horizontal. Contents show two faces or a curve."""
    centred = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    normal = vt[-1]
    return bool(abs(normal[2]) < 0.3 and np.mean(np.abs(centred @ normal) <= 0.005) >= planarity)


def _absorb_fragments(obj: np.ndarray, edges: np.ndarray, fragment_points: int, rounds: int = 3,
                      crumbs_only: bool = False, keep: np.ndarray | None = None) -> np.ndarray:
    """Segments under `fragment_points` points join the neighbour (by `edges`) they share most
    edges with -- a real segment first, then the larger -- never a smaller one; repeated `rounds`
    times so that chains of crumbs coalesce. `crumbs_only`: only small segments join each other;
    `keep`: segments (by label) that stay as they are."""
    for r in range(rounds):
        size = np.bincount(obj[obj >= 0])
        small = size < fragment_points
        if keep is not None and r == 0:
            small &= ~keep[: len(small)]
        elif keep is not None:
            break  # labels changed: one round when some segments are kept
        if not small.any() or not len(edges):
            break
        e = edges[obj[edges[:, 0]] != obj[edges[:, 1]]]
        e = np.concatenate([e, e[:, ::-1]])
        e = e[small[obj[e[:, 0]]] & (small[obj[e[:, 1]]] | (not crumbs_only))]
        if not len(e):
            break
        src, dst = obj[e[:, 0]], obj[e[:, 1]]
        keys, counts = np.unique(src * len(size) + dst, return_counts=True)
        s_of, d_of = keys // len(size), keys % len(size)
        big = size[d_of] >= fragment_points
        order = np.lexsort((-size[d_of], -counts, ~big, s_of))
        head = np.unique(s_of[order], return_index=True)[1]
        parent = np.arange(len(size))
        for s, d in zip(s_of[order][head], d_of[order][head], strict=True):
            if size[d] >= size[s]:
                parent[s] = d
        obj = _relabel(_resolve(parent)[obj])
    return obj


def _is_piece(pts: np.ndarray, c: GeometricConfig) -> bool:
    """Part of something rather than a thing: one vertical plane (a wall's inner face, a side seen
    edge-on). Flat segments are not pieces: an item seen from above shows only its top."""
    return _is_wall(pts, c.wall_planarity)


def _split_by_tops(pts: np.ndarray, normals: np.ndarray, edges: np.ndarray, idx: np.ndarray,
                   c: GeometricConfig) -> np.ndarray:
    """Part index per point (0..K-1) of one segment: K top faces (upward normals, connected within
    eps, at least `top_points` points) that are apart; each point goes to the nearest top in xy."""
    up = np.flatnonzero(normals[:, 2] > 0.9)
    if len(up) < 2 * c.top_points:
        return np.zeros(len(pts), np.int64)
    where = np.full(int(max(idx.max(), edges.max(initial=0))) + 1, -1, np.int64)
    where[idx[up]] = np.arange(len(up))
    e = where[edges]
    e = e[(e >= 0).all(axis=1)]
    comp = _components(len(up), e)
    big = np.flatnonzero(np.bincount(comp) >= c.top_points)
    if len(big) < 2:
        return np.zeros(len(pts), np.int64)
    keep = np.isin(comp, big)
    _, near = cKDTree(pts[up[keep], :2]).query(pts[:, :2])
    return np.searchsorted(big, comp[keep][near])


def _set_down(lo: np.ndarray, hi: np.ndarray, tops: list, snap: float) -> np.ndarray:
    """lo with its z set to the table top under the box centre, if it lies within `snap` above it."""
    centre = (lo[:2] + hi[:2]) / 2
    out = lo.copy()
    for z, tlo, thi in tops:
        if np.all(centre >= tlo) and np.all(centre <= thi) and 0.0 < lo[2] - z <= snap:
            out[2] = z
    return out
