"""Shooting (A.11 "Planning Details") and CEM planners: known optima of an analytic model, batching,
scoring in log space, and an end-to-end run of a real (tiny, untrained) SkillEffectModel."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from f2p_planner_testlib import AnalyticModel, Segments, segments, tabletop_scene, tiny_model_config

from f2p_core.goal import GoalError, parse_goal
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import PARAM_NAMES, SkillCall, SkillType
from f2p_model.model import SkillEffectModel
from f2p_planner.planner import (
    LOG_EPS,
    CEMPlanner,
    PlanMethod,
    PlannerConfig,
    PlanResult,
    ShootingPlanner,
    atom_objects,
    goal_log_probability,
    make_planner,
)
from f2p_planner.skeleton import SkeletonError

GOAL_XY = np.array([0.35, 0.30])  # where AnalyticModel's on(·, table_B) peaks


@pytest.fixture(scope="module")
def scene() -> Segments:
    return segments(tabletop_scene(), pad=1)


def run(model, scene: Segments, goal: str, skeleton: str, method: str, seed: int = 0, **config) -> PlanResult:
    cfg = PlannerConfig(method=method, **config)
    planner = make_planner(model, cfg, model_version="test-v1")
    return planner.plan(scene.points, scene.mask, scene.names, scene.boxes, scene.classes, goal, skeleton,
                        np.random.default_rng(seed))


def start_xy(scene: Segments, name: str) -> np.ndarray:
    """The analytic model's start position: the segment's centroid."""
    return scene.points[scene.names.index(name)].mean(axis=0)[:2].astype(np.float64)


def test_one_placement_finds_the_known_optimum(scene):
    goal, skeleton = "on(cube_1, table_B)", "pick_place(cube_1, table_B)"
    shoot = run(AnalyticModel(scene.names), scene, goal, skeleton, "shooting", num_samples=500)
    cem = run(AnalyticModel(scene.names), scene, goal, skeleton, "cem", num_samples=500)
    best_dxy = GOAL_XY - start_xy(scene, "cube_1")  # the optimum of the relative parameters (A.10)
    assert isinstance(shoot, PlanResult) and shoot.method is PlanMethod.SHOOTING and cem.method is PlanMethod.CEM
    np.testing.assert_allclose(shoot.params[0, :2], best_dxy, atol=0.02)
    np.testing.assert_allclose(cem.params[0, :2], best_dxy, atol=0.005)
    assert shoot.params[0, 2] == pytest.approx(0.0, abs=1e-6)  # table A and B tops are at the same height
    assert shoot.goal_probability > 0.5 and cem.goal_probability > 0.98
    assert cem.goal_log_probability >= shoot.goal_log_probability
    i = scene.names.index("cube_1")
    np.testing.assert_allclose(cem.predicted_pos[-1, i, :2], GOAL_XY, atol=0.005)


def test_placement_then_push_cem_beats_shooting(scene):
    """Two steps, five free parameters: the cube must end at GOAL_XY after the push."""
    goal, skeleton = "on(cube_1, table_B)", "pick_place(cube_1, table_B); push(cube_1)"
    shoot = run(AnalyticModel(scene.names), scene, goal, skeleton, "shooting", num_samples=400)
    cem = run(AnalyticModel(scene.names), scene, goal, skeleton, "cem", num_samples=400, cem_iterations=4)
    i = scene.names.index("cube_1")
    assert cem.goal_log_probability >= shoot.goal_log_probability
    assert cem.goal_probability > 0.95
    np.testing.assert_allclose(cem.predicted_pos[-1, i, :2], GOAL_XY, atol=0.01)
    # the chosen parameters explain the final position: placement target plus the push
    angle, dist = cem.params[1, :2]
    end = start_xy(scene, "cube_1") + cem.params[0, :2] + dist * np.array([math.cos(angle), math.sin(angle)])
    np.testing.assert_allclose(end, cem.predicted_pos[-1, i, :2], atol=1e-5)
    rounds = cem.best_log_probability_per_round
    assert len(rounds) == 5 and all(b >= a for a, b in itertools.pairwise(rounds))
    assert cem.num_rollouts == 5 * 400 and shoot.num_rollouts == 400


def test_one_encode_per_rollout_call_and_chunking_changes_nothing(scene):
    goal, skeleton = "on(cube_1, table_B)", "pick_place(cube_1, table_B); push(cube_1)"
    whole_model, chunked_model = AnalyticModel(scene.names), AnalyticModel(scene.names)
    whole = run(whole_model, scene, goal, skeleton, "shooting", num_samples=300)
    chunked = run(chunked_model, scene, goal, skeleton, "shooting", num_samples=300, chunk_size=64)
    assert whole_model.calls == 1 and whole.timing.rollout_calls == 1  # one rollout_many: one encode
    assert chunked_model.calls == math.ceil(300 / 64) == chunked.timing.rollout_calls
    np.testing.assert_array_equal(whole.params, chunked.params)
    assert whole.goal_log_probability == chunked.goal_log_probability


def test_result_carries_skill_calls_targets_and_version(scene):
    res = run(AnalyticModel(scene.names), scene, parse_goal("on(cube_1, table_B)"),
              "pick_place(cube_1, table_B); push(cube_1)", "shooting", num_samples=50)
    assert res.model_version == "test-v1"
    assert [c.type for c in res.skill_calls] == [SkillType.PICK_PLACE, SkillType.PUSH]
    assert all(isinstance(c, SkillCall) for c in res.skill_calls)
    assert [len(c.params) for c in res.skill_calls] == [len(PARAM_NAMES[c.type]) for c in res.skill_calls]
    np.testing.assert_array_equal(res.skill_calls[1].params, res.params[1, :2])
    assert res.skill_calls[0].object_ids == ("cube_1", "table_B")
    i = scene.names.index("cube_1")
    np.testing.assert_allclose(res.targets[0], scene.boxes[i].mean(axis=0) + res.params[0, :3])
    assert np.isnan(res.targets[1]).all()
    assert res.timing.total_s >= res.timing.rollout_s > 0.0
    assert res.goal.text == "on(cube_1, table_B)" and res.skeleton.text == "pick_place(cube_1, table_B); push(cube_1)"


def test_same_seed_same_plan_and_default_rng_uses_config_seed(scene):
    model = AnalyticModel(scene.names)
    planner = ShootingPlanner(model, PlannerConfig(num_samples=64, seed=3))
    args = (scene.points, scene.mask, scene.names, scene.boxes, scene.classes, "on(cube_1, table_B)",
            "pick_place(cube_1, table_B)")
    a, b = planner.plan(*args), planner.plan(*args, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.params, b.params)
    c = planner.plan(*args, rng=np.random.default_rng(4))
    assert not np.array_equal(a.params, c.params)


def test_goal_log_probability_products_negations_and_saturation():
    names = ["a", "b", "c"]
    goal = parse_goal("on(a, b) & not in_contact(a, c) & drawer_open(c)")
    unary = torch.zeros(3, 3, len(UNARY))
    binary = torch.zeros(3, 3, 3, len(BINARY))
    on, contact, opened = BINARY.index("on"), BINARY.index("in_contact"), UNARY.index("drawer_open")
    binary[:, 0, 1, on] = torch.tensor([0.9, 0.5, 1.0])
    binary[:, 0, 2, contact] = torch.tensor([0.2, 0.5, 1.0])  # sample 2: a saturated "impossible" atom
    unary[:, 2, opened] = torch.tensor([0.8, float("nan"), 1.0])
    logp = goal_log_probability(unary, binary, goal.index(names))
    assert logp.dtype == torch.float64
    assert logp[0].item() == pytest.approx(math.log(0.9 * 0.8 * 0.8), rel=1e-6)
    assert logp[1].item() == -math.inf  # NaN counts as impossible
    assert logp[2].item() == pytest.approx(math.log(LOG_EPS), rel=1e-6)  # finite: other samples stay ranked


def test_inputs_are_validated_before_planning(scene):
    model = AnalyticModel(scene.names)
    planner = ShootingPlanner(model, PlannerConfig(num_samples=8))
    args = (scene.points, scene.mask, scene.names, scene.boxes, scene.classes)
    with pytest.raises(GoalError) as info:
        planner.plan(*args, "on(cube_9, table_B)", "pick_place(cube_1, table_B)")
    assert info.value.token == "cube_9"
    with pytest.raises(SkeletonError) as info:
        planner.plan(*args, "on(cube_1, table_B)", "push(table_A)")  # a table is not movable
    assert info.value.token == "table_A"
    with pytest.raises(ValueError, match="mask"):
        planner.plan(scene.points, scene.mask[:-1], scene.names, scene.boxes, scene.classes, "on(cube_1, table_B)",
                     "push(cube_1)")
    assert model.calls == 0
    with pytest.raises(ValueError, match="num_samples"):
        PlannerConfig(num_samples=0)
    with pytest.raises(ValueError):
        PlannerConfig(method="gradient")


@pytest.fixture
def one_thread():
    """The toy model is too small for intra-op threads, which only add contention on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_real_tiny_skill_effect_model_end_to_end(scene, one_thread):
    """Shapes and types with a real SkillEffectModel (random weights): one encode, batched steps."""
    torch.manual_seed(0)
    model = SkillEffectModel(tiny_model_config())  # left in training mode on purpose
    goal = "on(cup_1, table_B) & inside(capsule_1, cup_1) & not in_contact(cube_1, cup_2)"
    skeleton = "pick_place(capsule_2, cup_2); push(cube_1); pick_place(cup_1, table_B)"
    n, h = len(scene.names), 3
    cfg = PlannerConfig(num_samples=24, cem_iterations=1, chunk_size=16)
    results = {}
    for cls in (ShootingPlanner, CEMPlanner):
        res = cls(model, cfg, model_version="ckpt-7").plan(
            torch.as_tensor(scene.points), torch.as_tensor(scene.mask), scene.names, None, scene.classes, goal,
            skeleton, np.random.default_rng(0))
        results[cls] = res
        assert model.training  # the planner switched dropout off only while planning
        assert res.params.shape == (h, model.config.max_param_dim) and res.params.dtype == np.float64
        assert res.predicted_unary.shape == (h + 1, n, len(UNARY)) and res.predicted_unary.dtype == np.float32
        assert res.predicted_binary.shape == (h + 1, n, n, len(BINARY))
        assert res.predicted_pos.shape == (h + 1, n, 3)
        atoms = res.atom_probabilities
        assert atoms.shape == (3,) and np.all((atoms >= 0) & (atoms <= 1))
        assert 0.0 < res.goal_probability <= 1.0
        assert res.goal_probability == pytest.approx(float(np.prod(res.atom_probabilities)), rel=1e-5)
        assert [c.type.value for c in res.skill_calls] == ["pick_place", "push", "pick_place"]
        assert res.model_version == "ckpt-7"
        assert np.all(res.predicted_unary[:, ~scene.mask] == 0)  # padding stays silent
        # the kept predictions are those of the kept parameters
        model.eval()
        with torch.no_grad():
            skills, acted = res.skeleton.to_tensors(scene.names)
            again = model.rollout_many(torch.as_tensor(scene.points), torch.as_tensor(scene.mask), skills, acted,
                                       torch.as_tensor(res.params[None], dtype=torch.float32))
        model.train()
        np.testing.assert_allclose(again.binary[0].numpy(), res.predicted_binary, atol=1e-5)
        np.testing.assert_allclose(again.unary[0].numpy(), res.predicted_unary, atol=1e-5)
    assert results[ShootingPlanner].timing.rollout_calls == 2  # ceil(24 / 16)
    assert results[CEMPlanner].timing.rollout_calls == 4
    assert results[CEMPlanner].goal_log_probability >= results[ShootingPlanner].goal_log_probability


GROUNDED_GOAL = "on(cup_1, table_B) & inside(capsule_1, cup_1) & not in_contact(cube_1, cup_2)"
GROUNDED_SKELETON = "pick_place(capsule_2, cup_2); push(cube_1); pick_place(cup_1, table_B)"


def acting_tiny_model() -> SkillEffectModel:
    """A tiny model whose dynamics act (an untrained projection predicts no change), seeded."""
    torch.manual_seed(0)
    model = SkillEffectModel(tiny_model_config()).eval()
    for lin in model.dynamics_out.values():
        torch.nn.init.normal_(lin.weight, std=0.2)
    return model


def test_grounded_rescoring_keeps_the_best_of_the_top_k_by_grounded_rollouts(scene, one_thread):
    """PlannerConfig.grounded_top_k: the plan is the best, by a grounded rollout
    (`SkillEffectModel.rollout_grounded`), of the K best sequences of the latent search, and its
    predictions are that rollout's; the latent search's own best is among those K, so the kept plan
    scores at least as well under grounded rollouts."""
    model = acting_tiny_model()
    goal, skeleton = GROUNDED_GOAL, GROUNDED_SKELETON
    pts, msk = torch.as_tensor(scene.points), torch.as_tensor(scene.mask)

    def plan(**config):
        return ShootingPlanner(model, PlannerConfig(num_samples=24, chunk_size=10, **config)).plan(
            pts, msk, scene.names, None, scene.classes, goal, skeleton, np.random.default_rng(0))

    def grounded(res):
        skills, acted = res.skeleton.to_tensors(scene.names)
        with torch.no_grad():
            params = torch.as_tensor(res.params[None], dtype=torch.float32)
            return model.rollout_grounded(pts, msk, skills, acted, params)

    latent, rescored = plan(), plan(grounded_top_k=5)
    again = grounded(rescored)
    np.testing.assert_allclose(again.unary[0].numpy(), rescored.predicted_unary, atol=1e-5)
    np.testing.assert_allclose(again.binary[0].numpy(), rescored.predicted_binary, atol=1e-5)
    np.testing.assert_allclose(again.pos[0].numpy(), rescored.predicted_pos, atol=1e-5)
    assert rescored.goal_probability == pytest.approx(float(np.prod(rescored.atom_probabilities)), rel=1e-4)
    index = latent.goal.index(scene.names, UNARY, BINARY)
    out = grounded(latent)
    atoms = index.atom_probabilities(out.unary[0, -1].numpy(), out.binary[0, -1].numpy())
    latent_best = float(np.log(np.clip(atoms, 1e-12, 1)).sum())
    assert rescored.goal_log_probability >= latent_best - 1e-4
    with pytest.raises(ValueError, match="grounded_top_k must be"):
        PlannerConfig(grounded_top_k=-1)
    with pytest.raises(ValueError, match="needs a model with rollout_grounded"):
        run(AnalyticModel(scene.names), scene, "on(cube_1, table_B)", "pick_place(cube_1, table_B)", "shooting",
            num_samples=8, grounded_top_k=2)


def test_cem_with_a_grounded_elite_refines_the_grounded_best(scene, one_thread):
    """PlannerConfig.cem_grounded: the shooting round's best K re-scored grounded seed the elite, every refit
    round is scored grounded, so the plan scores at least as well under grounded rollouts as shooting's
    re-scored best from the same round, and its predictions are the grounded rollout of its parameters."""
    model = acting_tiny_model()
    goal, skeleton = GROUNDED_GOAL, GROUNDED_SKELETON
    pts, msk = torch.as_tensor(scene.points), torch.as_tensor(scene.mask)

    def plan(method, **config):
        return make_planner(model, PlannerConfig(method=method, num_samples=24, grounded_top_k=6, **config)).plan(
            pts, msk, scene.names, None, scene.classes, goal, skeleton, np.random.default_rng(0))

    shooting, refined = plan("shooting"), plan("cem", cem_grounded=True, cem_iterations=2)
    assert refined.goal_log_probability >= shooting.goal_log_probability - 1e-6
    assert refined.num_rollouts == 24 + 6 + 2 * 6  # the latent round, its best 6 grounded, 2 grounded rounds of 6
    grounded_rounds = refined.best_log_probability_per_round[1:]
    assert list(grounded_rounds) == sorted(grounded_rounds)  # a grounded round never loses the best so far
    skills, acted = refined.skeleton.to_tensors(scene.names)
    with torch.no_grad():
        params = torch.as_tensor(refined.params[None], dtype=torch.float32)
        again = model.rollout_grounded(pts, msk, skills, acted, params)
    np.testing.assert_allclose(again.pos[0].numpy(), refined.predicted_pos, atol=1e-5)
    np.testing.assert_allclose(again.binary[0].numpy(), refined.predicted_binary, atol=1e-5)
    for bad in ({"method": "shooting", "grounded_top_k": 6}, {"method": "cem", "grounded_top_k": 0}):
        with pytest.raises(ValueError, match="cem_grounded needs method cem"):
            PlannerConfig(cem_grounded=True, **bad)


def test_factored_cem_keeps_the_best_and_scores_each_step_by_its_atoms(scene, one_thread):
    """PlannerConfig.cem_factored: each step refitted to its own elite; the best sequence of any round is kept (so
    never below shooting's from the same generator), and a step's score is the log p of the atoms about what it
    moves (the per-atom log p sum to the sample's score)."""
    model = acting_tiny_model()
    pts, msk = torch.as_tensor(scene.points), torch.as_tensor(scene.mask)

    def plan(method, **config):
        return make_planner(model, PlannerConfig(method=method, num_samples=24, grounded_top_k=6, **config)).plan(
            pts, msk, scene.names, None, scene.classes, GROUNDED_GOAL, GROUNDED_SKELETON, np.random.default_rng(0))

    shooting = plan("shooting")
    for grounded in (False, True):
        refined = plan("cem", cem_factored=True, cem_grounded=grounded, cem_iterations=2)
        assert refined.goal_log_probability >= shooting.goal_log_probability - 1e-6
    planner = make_planner(model, PlannerConfig(method="cem", num_samples=24, cem_factored=True))
    problem = planner._problem(pts, msk, scene.names, None, scene.classes, GROUNDED_GOAL, GROUNDED_SKELETON)
    with torch.no_grad():
        scores = problem.evaluate(problem.sampler.sample_decisions(24, np.random.default_rng(1)))
    np.testing.assert_allclose(problem.atom_logp.sum(axis=1), scores, rtol=1e-9)
    steps = problem.step_scores()
    objects = atom_objects(problem.index)
    for t in range(problem.sampler.horizon):
        about = [m for m, objs in enumerate(objects) if set(problem.sampler.moved(t).tolist()) & set(objs)]
        np.testing.assert_allclose(steps[:, t], problem.atom_logp[:, about].sum(axis=1) if about else scores)
    with pytest.raises(ValueError, match="cem_factored needs method cem"):
        PlannerConfig(cem_factored=True)


@pytest.mark.parametrize("grounded_top_k", [0, 5])
def test_scoring_a_plans_own_calls_gives_back_its_predictions_and_probability(scene, one_thread, grounded_top_k):
    """Planner.score: the calls of a plan, scored from the scene it was made from, give that plan's
    predictions and p(goal) (the same kind of rollout as the search's choice), without a search; from
    a scene where an object moved, the predictions start there."""
    torch.manual_seed(0)
    model = SkillEffectModel(tiny_model_config()).eval()
    for lin in model.dynamics_out.values():
        torch.nn.init.normal_(lin.weight, std=0.2)
    goal = "on(cup_1, table_B) & inside(capsule_1, cup_1)"
    skeleton = "pick_place(capsule_2, cup_2); pick_place(cup_1, table_B)"
    planner = ShootingPlanner(model, PlannerConfig(num_samples=24, grounded_top_k=grounded_top_k), "v3")
    plan = planner.plan(scene.points, scene.mask, scene.names, None, scene.classes, goal, skeleton,
                        np.random.default_rng(0))
    scored = planner.score(scene.points, scene.mask, scene.names, None, scene.classes, goal, plan.skill_calls)
    assert scored.goal_probability == pytest.approx(plan.goal_probability, rel=1e-4)
    np.testing.assert_allclose(scored.predicted_binary, plan.predicted_binary, atol=1e-5)
    np.testing.assert_allclose(scored.params, plan.params)
    assert scored.num_rollouts == 1 and scored.model_version == "v3" and np.isnan(scored.targets).all()
    assert [c.object_ids for c in scored.skill_calls] == [c.object_ids for c in plan.skill_calls]
    # the rest of the plan from a scene where its first skill moved capsule_2: predicted from there
    moved = scene.points.copy()
    moved[scene.names.index("capsule_2")] += np.array([0.0, 0.1, 0.0], dtype=np.float32)
    rest = planner.score(moved, scene.mask, scene.names, None, scene.classes, goal, plan.skill_calls[1:])
    assert rest.predicted_unary.shape[0] == 2
    np.testing.assert_allclose(rest.predicted_pos[0], moved.mean(axis=1) * scene.mask[:, None], atol=1e-4)
    with pytest.raises(ValueError, match="no skill calls"):
        planner.score(scene.points, scene.mask, scene.names, None, scene.classes, goal, [])
    wrong = SkillCall(plan.skill_calls[0].type, plan.skill_calls[0].object_ids, np.zeros(1))
    with pytest.raises(ValueError, match="parameters"):
        planner.score(scene.points, scene.mask, scene.names, None, scene.classes, goal, [wrong])
