"""Partial-view point clouds (f2p_sim.observe): back-projection checked against a box at a known
pose, labels, fixed-size sampling, determinism and invisible objects."""

from __future__ import annotations

import time

import mujoco
import numpy as np
import pytest

from f2p_sim.observe import (
    DepthCamera,
    ImageCamera,
    Observation,
    add_noise,
    object_index_of_geoms,
    observe,
    sample_fixed,
    segment_points,
)

BOX_CENTRE = np.array([0.5, 0.1, 0.05])
BOX_HALF = np.array([0.05, 0.04, 0.05])
CAM_POS = np.array([-0.3, -0.2, 0.6])

# Plane, a box in view, a box outside the view (behind the camera), a site (dropped: not a geom)
# and a camera at -x looking down at the box.  The camera's frame is built with xyaxes from a
# look-at direction so the test does not rely on a hand-computed orientation.
XML = """
<mujoco>
  <worldbody>
    <geom name="ground/plane" type="plane" size="2 2 0.1"/>
    <body name="box_1" pos="{c[0]} {c[1]} {c[2]}">
      <freejoint/>
      <geom name="box_1/body" type="box" size="{h[0]} {h[1]} {h[2]}"/>
      <site name="marker" pos="0 0 0.06" size="0.01"/>
    </body>
    <body name="box_2" pos="-2 0 0.05">
      <freejoint/>
      <geom name="box_2/body" type="box" size="0.05 0.05 0.05"/>
    </body>
    <camera name="front" pos="{p[0]} {p[1]} {p[2]}" xyaxes="{xy}" fovy="50"/>
  </worldbody>
</mujoco>
"""
OBJECTS = ["box_1", "ground", "box_2"]


def look_at_xyaxes(pos: np.ndarray, target: np.ndarray) -> str:
    forward = (target - pos) / np.linalg.norm(target - pos)  # camera -z
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return " ".join(f"{v:.9f}" for v in (*right, *up))


@pytest.fixture(scope="module")
def world():
    xml = XML.format(c=BOX_CENTRE, h=BOX_HALF, p=CAM_POS, xy=look_at_xyaxes(CAM_POS, BOX_CENTRE))
    m = mujoco.MjModel.from_xml_string(xml)
    d = mujoco.MjData(m)
    mujoco.mj_forward(m, d)
    cam = DepthCamera(m, "front", 320, 240)
    yield m, d, cam
    cam.close()


def box_sdf(points: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    q = np.abs(points - centre) - half
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)


def test_points_lie_on_the_visible_faces(world):
    m, d, cam = world
    points, geom_ids = cam.render(d)
    assert points.dtype == np.float32 and geom_ids.dtype == np.int32
    assert points.shape == (geom_ids.shape[0], 3)
    box_gid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "box_1/body")
    plane_gid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "ground/plane")
    assert set(np.unique(geom_ids)) == {box_gid, plane_gid}  # no site, no background, no box_2
    on_box = points[geom_ids == box_gid].astype(np.float64)
    assert len(on_box) > 500
    # Depth is float32 metres (about 1e-7 relative) and each pixel is back-projected through its
    # centre, where the rasteriser sampled it: the error is far below 1 mm at 0.8 m.
    assert np.abs(box_sdf(on_box, BOX_CENTRE, BOX_HALF)).max() < 1e-3
    # Every point is on a face that faces the camera (top, -x, -y), never on a hidden one.
    q = (on_box - BOX_CENTRE) / BOX_HALF
    face_axis = np.abs(q).argmax(axis=1)
    normals = np.zeros_like(on_box)
    normals[np.arange(len(on_box)), face_axis] = np.sign(q[np.arange(len(on_box)), face_axis])
    assert np.all(np.einsum("ij,ij->i", normals, CAM_POS - on_box) > 0)
    assert {tuple(n) for n in normals} == {(0.0, 0.0, 1.0), (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)}
    assert np.abs(points[geom_ids == plane_gid, 2]).max() < 1e-3  # the plane is z = 0


def test_camera_follows_the_world_pose(world):
    m, d, cam = world
    d2 = mujoco.MjData(m)
    d2.qpos[:] = d.qpos
    d2.qpos[0:3] = BOX_CENTRE + np.array([0.05, -0.05, 0.0])  # box_1's free joint comes first
    mujoco.mj_forward(m, d2)
    points, geom_ids = cam.render(d2)
    on_box = points[geom_ids == mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "box_1/body")]
    assert np.abs(box_sdf(on_box.astype(np.float64), d2.qpos[0:3], BOX_HALF)).max() < 1e-3


def test_optical_pose_looks_where_the_camera_was_aimed(world):
    """The optical frame (x right, y down, z forward) of a camera aimed at the box from CAM_POS: its z is
    the look direction, its origin the camera, its y points down, and the box centre is on its axis."""
    _, d, cam = world
    pose = cam.optical_pose(d)
    forward = (BOX_CENTRE - CAM_POS) / np.linalg.norm(BOX_CENTRE - CAM_POS)
    assert np.allclose(pose[:3, 3], CAM_POS, atol=1e-9)
    assert np.allclose(pose[:3, 2], forward, atol=1e-6)
    assert pose[2, 1] < 0  # image rows run down the world
    assert np.allclose(pose[:3, :3].T @ pose[:3, :3], np.eye(3), atol=1e-9) and np.linalg.det(pose[:3, :3]) > 0
    in_camera = np.linalg.inv(pose) @ np.append(BOX_CENTRE, 1.0)
    assert np.allclose(in_camera[:2], 0.0, atol=1e-6) and in_camera[2] > 0
    points, _ = cam.render(d)  # every rendered point is in front of the camera and inside the image
    local = (points.astype(np.float64) - pose[:3, 3]) @ pose[:3, :3]
    assert (local[:, 2] > 0).all()
    u, v = cam.focal * local[:, 0] / local[:, 2] + cam.width / 2, cam.focal * local[:, 1] / local[:, 2] + cam.height / 2
    assert u.min() > -0.5 and u.max() < cam.width + 0.5 and v.min() > -0.5 and v.max() < cam.height + 0.5


def test_ray_cast_depth_image_back_projects_onto_the_cloud(world):
    """The depth image (along the optical axis) and the intrinsics of a RayCastCamera give back the very
    points it cast, pixel by pixel, through the optical pose: what a depth camera driver delivers."""
    from f2p_sim.observe import RayCastCamera

    m, d, _ = world
    cam = RayCastCamera(m, "front", 64, 48)
    points, _ = cam.render(d)
    depth = cam.depth_image()
    assert depth.shape == (48, 64) and (depth > 0).sum() == len(points) and (depth >= 0).all()
    fx, fy, cx, cy = cam.intrinsics()
    v, u = np.nonzero(depth > 0)  # row-major, the order the camera keeps its hits in
    z = depth[v, u].astype(np.float64)
    local = np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], axis=1)
    pose = cam.optical_pose(d)
    back = local @ pose[:3, :3].T + pose[:3, 3]
    assert np.abs(back - points).max() < 1e-4
    cam.render(d, roi_boxes=(BOX_CENTRE[None] - BOX_HALF, BOX_CENTRE[None] + BOX_HALF))
    with pytest.raises(RuntimeError, match="full render"):
        cam.depth_image()


def test_geom_object_index_and_segments(world):
    m, _, _ = world
    gidx = object_index_of_geoms(m, OBJECTS)
    assert gidx.shape == (m.ngeom,)
    for k in range(len(OBJECTS)):
        assert (gidx == k).sum() == 1
    assert gidx[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "ground/plane")] == 1
    pts = np.arange(18, dtype=np.float32).reshape(6, 3)
    gids = np.array([2, 0, 1, 0, 2, 2], dtype=np.int32)
    segs = segment_points(pts, gids, np.array([1, 0, -1]), 3)  # geom 2 is not an object
    np.testing.assert_array_equal(segs[0], pts[[2]])
    np.testing.assert_array_equal(segs[1], pts[[1, 3]])
    assert segs[2].shape == (0, 3)


def test_observe_labels_segments_and_invisible_object(world):
    m, d, cam = world
    gidx = object_index_of_geoms(m, OBJECTS)
    obs = observe(m, d, cam, gidx, len(OBJECTS), n_points=128, rng=np.random.default_rng(3))
    assert isinstance(obs, Observation) and obs.camera == "front"
    assert obs.points.shape == (obs.labels.shape[0], 3)
    assert set(np.unique(obs.labels)) == {0, 1}
    assert obs.segments.shape == (3, 128, 3) and obs.segments.dtype == np.float32
    np.testing.assert_array_equal(obs.visible, [True, True, False])
    assert obs.counts[0] > 500 and obs.counts[2] == 0
    assert not obs.segments[2].any()
    # box_1's segment: 128 distinct points of the box, all on its surface
    assert len(np.unique(obs.segments[0], axis=0)) == 128
    assert np.abs(box_sdf(obs.segments[0].astype(np.float64), BOX_CENTRE, BOX_HALF)).max() < 1e-3
    assert np.all(obs.labels[np.abs(box_sdf(obs.points.astype(np.float64), BOX_CENTRE, BOX_HALF)) < 1e-4] != 2)


def test_observe_is_deterministic_per_seed(world):
    m, d, cam = world
    gidx = object_index_of_geoms(m, OBJECTS)
    for method in ("fps", "random"):
        a = observe(m, d, cam, gidx, 3, noise_sigma=0.003, rng=np.random.default_rng(11), method=method)
        b = observe(m, d, cam, gidx, 3, noise_sigma=0.003, rng=np.random.default_rng(11), method=method)
        c = observe(m, d, cam, gidx, 3, noise_sigma=0.003, rng=np.random.default_rng(12), method=method)
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.segments, b.segments)
        assert not np.array_equal(a.segments, c.segments)
    clean = observe(m, d, cam, gidx, 3)
    noisy = observe(m, d, cam, gidx, 3, noise_sigma=0.003, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(clean.labels, noisy.labels)
    assert 0.002 < np.std(noisy.points - clean.points) < 0.004


def test_sample_fixed_sizes_and_errors():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(500, 3)).astype(np.float32)
    for method in ("fps", "random"):
        out = sample_fixed(pts, 128, np.random.default_rng(1), method)
        assert out.shape == (128, 3) and out.dtype == np.float32
        assert len(np.unique(out, axis=0)) == 128  # no repeats when there are enough points
        assert np.isin(out.view([("", out.dtype)] * 3), pts.view([("", pts.dtype)] * 3)).all()
    few = pts[:10]
    out = sample_fixed(few, 128, rng, "fps")
    assert out.shape == (128, 3)
    assert len(np.unique(out, axis=0)) == 10  # every point kept, the rest repeated
    with pytest.raises(ValueError):
        sample_fixed(np.zeros((0, 3), np.float32), 128, rng)
    with pytest.raises(ValueError):
        sample_fixed(pts, 128, rng, method="grid")


def test_fps_spreads_points_and_matches_reference():
    rng = np.random.default_rng(0)
    clusters = np.concatenate([rng.normal(c, 0.01, size=(300, 3)) for c in ([0, 0, 0], [1, 0, 0], [0, 1, 0])])
    out = sample_fixed(clusters.astype(np.float32), 3, np.random.default_rng(5), "fps")
    assert sorted(np.round(out[:, :2]).astype(int).tolist()) == [[0, 0], [0, 1], [1, 0]]
    # reference: the textbook loop over chosen points
    pts = rng.uniform(size=(300, 3)).astype(np.float32)
    out = sample_fixed(pts, 20, np.random.default_rng(9), "fps")
    start = int(np.random.default_rng(9).integers(300))
    chosen = [start]
    for _ in range(19):
        dist = np.min(((pts[:, None, :] - pts[chosen][None]) ** 2).sum(-1), axis=1)
        chosen.append(int(dist.argmax()))
    np.testing.assert_array_equal(out, pts[chosen])


def test_fps_with_candidate_cap():
    pts = np.random.default_rng(0).uniform(size=(10000, 3)).astype(np.float32)
    a = sample_fixed(pts, 128, np.random.default_rng(4), "fps", max_candidates=1000)
    b = sample_fixed(pts, 128, np.random.default_rng(4), "fps", max_candidates=1000)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a, axis=0)) == 128
    exact = sample_fixed(pts[:500], 128, np.random.default_rng(4), "fps")
    np.testing.assert_array_equal(exact, sample_fixed(pts[:500], 128, np.random.default_rng(4), "fps", 1000))
    with pytest.raises(ValueError):
        sample_fixed(pts, 128, np.random.default_rng(4), "fps", max_candidates=64)


def test_fps_is_fast():
    pts = np.random.default_rng(0).uniform(size=(2000, 3)).astype(np.float32)
    rng = np.random.default_rng(0)
    sample_fixed(pts, 128, rng)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        sample_fixed(pts, 128, rng)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.01  # ~1 ms here; generous for shared CPUs, catches a Python loop


def test_add_noise():
    pts = np.zeros((20000, 3), np.float32)
    rng = np.random.default_rng(0)
    same = add_noise(pts, 0.0, rng)
    assert same is not pts and not same.any()
    noisy = add_noise(pts, 0.01, rng)
    assert noisy.dtype == np.float32 and abs(noisy.std() - 0.01) < 5e-4
    with pytest.raises(ValueError):
        add_noise(pts, -1.0, rng)


def test_camera_errors(world):
    m, d, _ = world
    with pytest.raises(ValueError):
        DepthCamera(m, "nope")
    with pytest.raises(ValueError):
        DepthCamera(m, 5)
    cam = DepthCamera(m, 0, 160, 120)
    assert cam.name == "front"
    points, _ = cam.render(d)
    assert len(points) > 0
    cam.close()
    cam.close()
    with pytest.raises(RuntimeError):
        cam.render(d)


def test_image_camera_shows_what_the_depth_camera_sees_from_any_thread(world):
    """The colour image's per-pixel geoms are the depth camera's; rendering works from threads other
    than the one that made the camera (a node renders from its executor threads)."""
    import threading

    m, d, cam = world
    _, depth_geoms = cam.render(d)
    images = ImageCamera(m, "front", 320, 240)
    try:
        rgb, geom = images.render_image(d)
        assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8 and rgb.std() > 1
        assert set(np.unique(geom[geom >= 0])) == set(np.unique(depth_geoms))
        out = []
        threads = [threading.Thread(target=lambda: out.append(images.render_image(d)[1])) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(out) == 2 and all(np.array_equal(g, geom) for g in out)
    finally:
        images.close()
        images.close()  # idempotent
