"""Parameters sampled from the robot's workspace (paper A.11 "Planning Details", A.10 parameters)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from f2p_planner_testlib import segments, tabletop_scene

from f2p_planner.planner import factored_fit, fit_gaussian
from f2p_planner.sampling import ParameterSampler, SamplingConfig, SceneGeometry, boxes_from_points, wrap_angle
from f2p_planner.skeleton import Skeleton, parse_skeleton
from f2p_sim.scene import ObjectClass, ObjectSpec, Scene, default_wall
from f2p_sim.tasks import CUBE, DISTRIBUTIONS, SPAWN_X, TABLE_TOP_Z, table_region, tables

K = 400


@pytest.fixture(scope="module")
def geometry() -> SceneGeometry:
    s = segments(tabletop_scene(), pad=1)
    return SceneGeometry.from_points(s.points, s.mask, s.names, s.classes)


def sampler(geometry: SceneGeometry, text: str) -> ParameterSampler:
    return ParameterSampler(geometry, parse_skeleton(text))


def test_boxes_come_from_the_segments(geometry):
    s = segments(tabletop_scene(), pad=1)
    np.testing.assert_allclose(geometry.box_min[:-1], s.boxes[:-1, 0], atol=1e-6)
    np.testing.assert_allclose(geometry.box_max[:-1], s.boxes[:-1, 1], atol=1e-6)
    assert boxes_from_points(s.points, s.mask)[-1].tolist() == [[0.0] * 3] * 2  # padding stays zero
    assert geometry.real_names == s.names[:-1]


def test_place_on_table_targets_stay_in_the_reachable_window(geometry):
    smp = sampler(geometry, "pick_place(cube_1, table_B)")
    params = smp.sample(K, np.random.default_rng(0))
    assert params.shape == (K, 1, 4)
    i = geometry.index("cube_1")
    target = geometry.centre[i] + params[:, 0, :3]  # where the object's centre ends up
    size = geometry.size[i]
    r = 0.5 * math.hypot(size[0], size[1])
    (x0, x1), (y0, y1) = table_region("table_B", r)  # f2p_sim's own window for this table
    assert np.all((target[:, 0] >= x0) & (target[:, 0] <= x1) & (target[:, 0] <= SPAWN_X[1]))
    assert np.all((target[:, 1] >= y0 - 1e-9) & (target[:, 1] <= y1 + 1e-9))
    assert np.ptp(target[:, 1]) > 0.8 * (y1 - y0) and np.ptp(target[:, 0]) > 0.5 * (x1 - x0)  # spread over it
    # dz sets the object's bottom onto the table top
    bottom = geometry.box_min[i, 2] + params[:, 0, 2]
    np.testing.assert_allclose(bottom, TABLE_TOP_Z, atol=1e-6)
    dyaw = params[:, 0, 3]
    assert np.all(np.abs(dyaw) <= math.pi / 4) and dyaw.min() < -0.7 and dyaw.max() > 0.7


def test_place_into_open_box_stays_inside_its_walls(geometry):
    smp = sampler(geometry, "pick_place(capsule_2, cup_2)")
    params = smp.sample(K, np.random.default_rng(1))
    i, c = geometry.index("capsule_2"), geometry.index("cup_2")
    target = geometry.centre[i] + params[:, 0, :3]
    wall = default_wall("cup")
    lo_ok = target[:, :2] - geometry.size[i, :2] / 2 >= geometry.box_min[c, :2] + wall - 1e-9
    hi_ok = target[:, :2] + geometry.size[i, :2] / 2 <= geometry.box_max[c, :2] - wall + 1e-9
    assert np.all(lo_ok & hi_ok)
    np.testing.assert_allclose(geometry.box_min[i, 2] + params[:, 0, 2], geometry.box_min[c, 2] + wall, atol=1e-6)
    assert np.all(params[:, 0, 3] == 0.0)  # no yaw into boxes, as in pre-training


def test_push_and_drawer_ranges():
    names = ["cabinet_1", "drawer_1", "cube_1"]
    boxes = np.array([[[0.15, -0.25, 0.0], [0.55, 0.25, 0.4]], [[0.15, -0.22, 0.025], [0.51, 0.22, 0.175]],
                      [[0.3, 0.0, 0.4], [0.35, 0.05, 0.45]]])
    geo = SceneGeometry.from_boxes(names, boxes, ["cabinet", "drawer", "cuboid"])
    cfg = SamplingConfig()
    smp = ParameterSampler(geo, parse_skeleton("push(cube_1); open_drawer(drawer_1)"), config=cfg)
    p = smp.sample(K, np.random.default_rng(2))
    angle, dist = p[:, 0, 0], p[:, 0, 1]
    assert np.all((angle > -math.pi) & (angle <= math.pi)) and angle.min() < -3.0 and angle.max() > 3.0
    assert np.all((dist >= cfg.push_distance[0]) & (dist <= cfg.push_distance[1]))
    drawer = p[:, 1, 0]
    assert np.all((drawer >= cfg.drawer_distance[0]) & (drawer <= cfg.drawer_distance[1]))
    assert np.all(p[:, 0, 2:] == 0.0) and np.all(p[:, 1, 1:] == 0.0)  # zero padding to MAX_PARAMS


def test_earlier_placement_is_the_later_grasp_pose(geometry):
    """capsule_2 goes to table B, then into cup_2: step 2's grasp is step 1's sampled target."""
    smp = sampler(geometry, "pick_place(capsule_2, table_B); pick_place(capsule_2, cup_2)")
    params, targets = smp.rollout_geometry(smp.sample_decisions(K, np.random.default_rng(3)))
    i, c = geometry.index("capsule_2"), geometry.index("cup_2")
    first = geometry.centre[i] + params[:, 0, :3]
    np.testing.assert_allclose(first, targets[:, 0])
    assert np.all(first[:, 1] > 0.07)  # on table B
    final = first + params[:, 1, :3]  # relative parameters chained from the first target
    np.testing.assert_allclose(final, targets[:, 1])
    cup_centre = geometry.centre[c, :2]
    assert np.all(np.abs(final[:, :2] - cup_centre) <= geometry.size[c, :2] / 2)
    np.testing.assert_allclose(final[:, 2] - geometry.size[i, 2] / 2, geometry.box_min[c, 2] + default_wall("cup"),
                               atol=1e-6)
    # the second step's relative move differs per sample because the first target does
    assert np.ptp(params[:, 1, 1]) > 0.1


def test_a_moved_support_carries_its_window_and_contents_move_with_their_box(geometry):
    smp = sampler(geometry, "pick_place(cup_2, table_B); pick_place(capsule_2, cup_2); "
                            "pick_place(cup_1, table_B); pick_place(capsule_1, table_A)")
    params, targets = smp.rollout_geometry(smp.sample_decisions(K, np.random.default_rng(4)))
    c2, cap2 = geometry.index("cup_2"), geometry.index("capsule_2")
    # capsule_2 lands inside cup_2 where step 0 put it
    offset = targets[:, 1, :2] - targets[:, 0, :2]
    inner = geometry.size[c2, :2] / 2 - default_wall("cup") - geometry.size[cap2, :2] / 2
    assert np.all(np.abs(offset) <= inner + 1e-9)
    # capsule_1 starts inside cup_1: moving cup_1 moves it, so step 3 grasps it where the cup took it
    cap1 = geometry.index("capsule_1")
    grasp = geometry.centre[cap1] + params[:, 2, :3]
    np.testing.assert_allclose(grasp + params[:, 3, :3], targets[:, 3])
    assert np.all(targets[:, 3, 1] < -0.07)  # back on table A
    np.testing.assert_allclose(targets[:, 3, 2] - geometry.size[cap1, 2] / 2, TABLE_TOP_Z, atol=1e-6)


def test_cannot_place_a_box_into_its_own_contents(geometry):
    with pytest.raises(ValueError, match="carries"):
        sampler(geometry, "pick_place(cup_1, capsule_1)")


def test_shelf_placement_lands_on_the_bottom_board():
    sample = DISTRIBUTIONS["packing"](np.random.default_rng(0), 3)
    s = segments(sample.scene)
    geo = SceneGeometry.from_boxes(s.names, s.boxes, s.classes)
    smp = ParameterSampler(geo, Skeleton.from_task(sample))  # push(book_2); pick_place(book_3, shelf_1)
    p = smp.sample(K, np.random.default_rng(5))
    book, shelf = geo.index("book_3"), geo.index("shelf_1")
    board = geo.box_min[shelf, 2] + default_wall("shelf")
    np.testing.assert_allclose(geo.box_min[book, 2] + p[:, 1, 2], board, atol=1e-6)
    target = geo.centre[book] + p[:, 1, :3]
    assert np.all((target[:, 1] >= geo.box_min[shelf, 1]) & (target[:, 1] <= geo.box_max[shelf, 1]))


def test_sampling_is_seeded_and_decisions_clip_into_the_workspace(geometry):
    smp = sampler(geometry, "pick_place(cube_1, table_B); push(cube_1)")
    a = smp.sample(8, np.random.default_rng(7))
    b = smp.sample(8, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    wild = smp.sample_decisions(50, np.random.default_rng(8)) + np.random.default_rng(9).normal(0, 3, (50, 2, 4))
    clipped = smp.clip(wild)
    fixed = ~smp.periodic
    assert np.all((clipped[:, fixed] >= smp.low[fixed]) & (clipped[:, fixed] <= smp.high[fixed]))
    angles = clipped[:, 1, 0]
    assert np.all((angles > -math.pi) & (angles <= math.pi))
    np.testing.assert_allclose(np.cos(angles), np.cos(wild[:, 1, 0]), atol=1e-9)
    assert wrap_angle(np.array([-math.pi]))[0] == pytest.approx(math.pi)


def _clearances(geometry: SceneGeometry, targets: np.ndarray) -> np.ndarray:
    """(K,) the smallest gap between footprint discs of this module's free-space skeleton: cube_1 then
    capsule_2 placed on table A among cup_1 (holding capsule_1) and cup_2, every object at one height."""
    radius = {n: 0.5 * math.hypot(*geometry.size[geometry.index(n), :2]) for n in geometry.real_names}
    at = {n: np.broadcast_to(geometry.centre[geometry.index(n), :2], targets[:, 0, :2].shape)
          for n in ("cup_1", "cup_2", "capsule_1", "capsule_2")}
    gaps = [np.linalg.norm(targets[:, 0, :2] - at[n], axis=-1) - radius["cube_1"] - radius[n] for n in at]
    at["cube_1"] = targets[:, 0, :2]
    del at["capsule_2"]
    gaps += [np.linalg.norm(targets[:, 1, :2] - at[n], axis=-1) - radius["capsule_2"] - radius[n] for n in at]
    return np.min(gaps, axis=0)


FREE_SKELETON = "pick_place(cube_1, table_A); pick_place(capsule_2, table_A); pick_place(capsule_2, cup_2)"


def test_free_space_placements_keep_clear_of_what_stands_there_and_of_earlier_placements(geometry):
    """SamplingConfig.free_space: a placement on a top keeps free_gap from every movable object standing
    there, where the earlier steps left it (cube_1's sampled target for capsule_2); into a box it does not
    apply. Off, uniform targets do land on other objects, so the check can fail."""
    cfg = SamplingConfig(free_space=True, free_tries=200)
    free = ParameterSampler(geometry, parse_skeleton(FREE_SKELETON), config=cfg)
    plain = sampler(geometry, FREE_SKELETON)
    _, free_targets = free.rollout_geometry(free.sample_decisions(K, np.random.default_rng(3)))
    _, plain_targets = plain.rollout_geometry(plain.sample_decisions(K, np.random.default_rng(3)))
    assert np.all(_clearances(geometry, free_targets) >= cfg.free_gap - 1e-9)
    assert np.mean(_clearances(geometry, plain_targets) < cfg.free_gap) > 0.2
    # Still inside the windows, and the placement into cup_2 (a box) is drawn as without free space.
    decisions = free.sample_decisions(K, np.random.default_rng(4))
    np.testing.assert_array_equal(free.clip(decisions), decisions)
    params, targets = free.rollout_geometry(decisions)
    cup = geometry.centre[geometry.index("cup_2"), :2]
    assert np.all(np.abs(targets[:, 2, :2] - cup) < 0.03) and np.all(params[:, 2, 3] == 0.0)
    # CEM's refitted samples go through the same check.
    near_cup = np.tile(decisions[:1], (K, 1, 1))
    near_cup[:, 0, :2] = geometry.centre[geometry.index("cup_2"), :2]  # cube_1 onto cup_2's spot
    _, moved = free.rollout_geometry(free.into_workspace(near_cup, np.random.default_rng(5)))
    assert np.all(_clearances(geometry, moved) >= cfg.free_gap - 1e-9)


def test_a_full_top_keeps_its_blocked_placements():
    """When no free spot is found in free_tries draws, the samples are kept (the model judges them)."""
    crowded = [ObjectSpec(f"cube_{i}", ObjectClass.CUBOID, (0.3, 0.3, 0.05), (x, y, TABLE_TOP_Z + 0.025))
               for i, (x, y) in enumerate([(0.25, 0.2), (0.25, 0.45), (0.55, 0.2), (0.55, 0.45)], start=1)]
    s = segments(Scene(objects=[*tables(), *crowded,
                                ObjectSpec("cube_5", ObjectClass.CUBOID, CUBE, (0.4, -0.3, TABLE_TOP_Z + 0.025))]))
    geo = SceneGeometry.from_points(s.points, s.mask, s.names, s.classes)
    smp = ParameterSampler(geo, parse_skeleton("pick_place(cube_5, table_B)"),
                           config=SamplingConfig(free_space=True, free_tries=5))
    decisions = smp.sample_decisions(50, np.random.default_rng(0))
    assert decisions.shape == (50, 1, 4)
    assert np.all(smp.blocked(decisions, 0, np.zeros((50, len(geo.names), 3))))  # nothing moved before step 0


def test_a_step_moves_its_object_and_what_was_put_into_it(geometry):
    smp = sampler(geometry, "pick_place(capsule_2, cup_2); pick_place(cup_2, table_B); pick_place(cup_1, table_B); "
                            "push(cube_1)")
    index = geometry.index
    assert smp.moved(0).tolist() == [index("capsule_2")]
    assert sorted(smp.moved(1).tolist()) == sorted([index("cup_2"), index("capsule_2")])  # placed there at step 0
    assert sorted(smp.moved(2).tolist()) == sorted([index("cup_1"), index("capsule_1")])  # inside from the start
    assert smp.moved(3).tolist() == [index("cube_1")]


def test_factored_fit_gives_each_step_its_own_elite():
    """PlannerConfig.cem_factored: step t's Gaussian is fitted to the samples best by step t's own score."""
    rng = np.random.default_rng(0)
    decisions = rng.random((100, 2, 3))
    scores = np.stack([decisions[:, 0, 0], -decisions[:, 1, 1]], axis=1)  # step 0 wants x high, step 1 y low
    mean, std = factored_fit(decisions, scores, 10, np.zeros((2, 3), dtype=bool))
    best0 = decisions[np.argsort(-decisions[:, 0, 0])[:10], 0]
    best1 = decisions[np.argsort(decisions[:, 1, 1])[:10], 1]
    np.testing.assert_allclose(mean[0], best0.mean(axis=0))
    np.testing.assert_allclose(mean[1], best1.mean(axis=0))
    assert mean[0, 0] > 0.85 and mean[1, 1] < 0.15 and std.shape == (2, 3)


def test_circular_fit_of_angles_across_the_seam():
    rng = np.random.default_rng(0)
    angles = wrap_angle(math.pi + rng.normal(0, 0.05, 200))  # around ±π
    samples = np.stack([angles, rng.normal(0.1, 0.02, 200)], axis=-1)  # (E, 2)
    mean, std = fit_gaussian(samples, np.array([True, False]))
    assert abs(math.remainder(mean[0] - math.pi, 2 * math.pi)) < 0.02 and 0.03 < std[0] < 0.07
    assert mean[1] == pytest.approx(0.1, abs=0.01) and std[1] == pytest.approx(0.02, abs=0.005)


def test_bad_inputs_are_refused(geometry):
    with pytest.raises(ValueError, match="param_width"):
        ParameterSampler(geometry, parse_skeleton("pick_place(cube_1, table_B)"), param_width=2)
    with pytest.raises(ValueError, match="unknown class"):
        SceneGeometry.from_boxes(["a"], np.zeros((1, 2, 3)), ["teapot"])
    with pytest.raises(ValueError, match="decisions must be"):
        sampler(geometry, "push(cube_1)").to_params(np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match="dyaw_max"):
        SamplingConfig(dyaw_max=4.0)
    with pytest.raises(ValueError, match="free_gap"):
        SamplingConfig(free_gap=-0.01)
    with pytest.raises(ValueError, match="free_tries"):
        SamplingConfig(free_tries=-1)
