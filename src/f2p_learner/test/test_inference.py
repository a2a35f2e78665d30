"""Fail2Progress state and action inference on a real failure event with a tiny model."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from f2p_core.failure import FailureEvent
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import SkillCall, SkillType
from f2p_learner.inference import (
    ActionRelations,
    InferenceConfig,
    action_bounds,
    action_relations,
    attach_contents,
    encode_particles,
    failure_tensors,
    infer_actions,
    infer_states,
    initial_actions,
    initial_states,
    kept_relations,
    moved_objects,
    particle_centroids,
    prior_states,
    state_log_prob,
    state_satisfaction,
    supports,
    uniform_actions,
)
from f2p_model.config import tiny_model_config
from f2p_model.model import SkillEffectModel, segment_centroids
from f2p_monitor.failure import compare
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_sim import tasks
from f2p_sim.skills import execute
from f2p_sim.tasks import SPAWN_MARGIN, SPAWN_X, TABLE_CENTERS, TABLE_SIZE
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


def _rel(world, names):
    rel = world_relations(world)
    idx = [rel.index(n) for n in names]
    return rel.unary[idx], rel.binary[np.ix_(idx, idx)]


@pytest.fixture(scope="module")
def event():
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    world = World(sample.scene)
    scene = SimGroundTruthPerception(world, n_points=16).perceive(np.random.default_rng(0))
    u0, b0 = _rel(world, scene.names)
    box = sample.skeleton[0].object_ids[0]
    call = SkillCall(SkillType.PICK_PLACE, (box, "table_B"),
                     tasks.place_params(sample.scene, box, (0.3, 0.3), "table_B"))
    execute(world, call)
    u1, b1 = _rel(world, scene.names)
    pu, pb = u0.astype(float), b0.astype(float)  # "nothing but the box moves"
    mism = compare(pu, pb, u1, b1, scene.names, ("above",))
    return FailureEvent("t", 0, scene, u0, b0, call, u1, b1, pu, pb, mism, "v0001", sample.goal_text)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SkillEffectModel(tiny_model_config()).eval()


def test_state_particles_move_movable_objects_only_within_bounds(event, model):
    ft = failure_tensors(event, model)
    cfg = InferenceConfig(particles=6, state_iterations=4, action_iterations=4)
    a = infer_states(model, ft, cfg)
    b = infer_states(model, ft, cfg)
    s = a.particles
    assert s.shape == (6, len(event.scene_before.names), 3)
    torch.testing.assert_close(s, b.particles)  # deterministic for a seed
    static = ~ft.movable
    assert torch.all(s[:, static] == 0)
    assert torch.all(s[..., :2].abs() <= cfg.max_offset + 1e-6) and torch.all(s[..., 2].abs() <= np.pi / 4 + 1e-6)
    assert s[:, ft.movable].abs().sum() > 0
    assert all(np.isfinite(h.mean_log_prob) for h in a.history)


def test_action_particles_target_the_failure_relations(event, model):
    ft = failure_tensors(event, model)
    assert ft.failure_relations and all(r >= 3 and BINARY[r - 3] == "above" for r, _, _ in ft.failure_relations)
    cfg = InferenceConfig(particles=6, state_iterations=2, action_iterations=5)
    states = infer_states(model, ft, cfg).particles
    result = infer_actions(model, ft, states, cfg)
    a = result.particles
    assert a.shape == (6, 4)
    low, high = action_bounds(ft, states, cfg)  # reachable: each particle's bounds follow its own state
    assert torch.all(a >= low - 1e-6) and torch.all(a <= high + 1e-6)
    assert a.std(0).sum() > 0  # diverse, not collapsed
    assert all(np.isfinite(h.mean_log_prob) for h in result.history)


def test_the_joint_action_objective_is_the_log_of_the_summed_entropies(event, model):
    from f2p_learner.inference import action_log_prob, failure_entropy

    ft = failure_tensors(event, model)
    cfg = InferenceConfig(particles=4, state_iterations=1)
    states = infer_states(model, ft, cfg).particles
    actions = initial_actions(ft, 4, cfg, states=states)
    with torch.no_grad():
        h = failure_entropy(model, ft, encode_particles(model, ft, states), particle_centroids(ft, states),
                            actions)  # (M, F)
        joint = action_log_prob(model, ft, states, "joint")(actions)
        per = action_log_prob(model, ft, states, "per_relation")(actions)
    torch.testing.assert_close(joint, h.sum(1).log())
    torch.testing.assert_close(per, h.log().sum(1))
    result = infer_actions(model, ft, states, InferenceConfig(particles=4, action_iterations=2,
                                                              action_objective="joint"))
    low, high = action_bounds(ft, states, cfg)
    assert torch.all(result.particles >= low - 1e-6) and torch.all(result.particles <= high + 1e-6)
    with pytest.raises(ValueError, match="action objective"):
        action_log_prob(model, ft, states, "mean")


def test_action_particles_start_at_the_best_of_their_draws(event, model):
    """action_starts K: each particle starts at the draw of K with the highest entropy on its own
    state; the first of its K draws is where K = 1 starts it, so no particle starts worse."""
    from f2p_learner.inference import action_objective

    ft = failure_tensors(event, model)
    states = infer_states(model, ft, InferenceConfig(particles=4, state_iterations=1)).particles
    one = initial_actions(ft, 4, InferenceConfig(particles=4), states=states)
    best = initial_actions(ft, 4, InferenceConfig(particles=4, action_starts=8), model, states)
    low, high = action_bounds(ft, states, InferenceConfig())
    assert torch.all(best >= low - 1e-6) and torch.all(best <= high + 1e-6)
    assert torch.all(action_objective(model, ft, states, best) >= action_objective(model, ft, states, one) - 1e-6)
    with pytest.raises(ValueError, match="action_starts must be"):
        initial_actions(ft, 4, InferenceConfig(action_starts=0))
    with pytest.raises(ValueError, match="give the model"):
        initial_actions(ft, 4, InferenceConfig(action_starts=8), states=states)
    with pytest.raises(ValueError, match="give the m = 4 state particles"):  # reachable bounds follow each state
        initial_actions(ft, 4, InferenceConfig(particles=4))


def test_the_feasible_prior_moves_contents_with_their_container_and_keeps_objects_on_their_support(event, model):
    """StateInit.PRIOR: every draw keeps each item where it sits in its box (the box's rigid motion
    applied to the item's centre), free objects' centres over their support, within the box of the
    prior, static objects still; the LOCAL prior draws objects independently (items leave their box)."""
    ft = failure_tensors(event, model)
    names = event.scene_before.names
    box = names.index(event.skill.object_ids[0])
    items = [names.index(n) for n in names if n.startswith("item_")]
    cfg = InferenceConfig(state_init="prior")
    s = prior_states(ft, 64, cfg, torch.Generator().manual_seed(0))
    centre = ((ft.box_lo + ft.box_hi) / 2)[:, :2]
    assert torch.all(s[:, ~ft.movable] == 0)
    assert torch.all(s[..., :2].abs() <= cfg.max_offset + 1e-6) and torch.all(s[..., 2].abs() <= np.pi / 4 + 1e-6)
    c, sn = np.cos(s[:, box, 2]), np.sin(s[:, box, 2])
    for i in items:
        arm = centre[i] - centre[box]
        moved = centre[box] + s[:, box, :2] + torch.stack([c * arm[0] - sn * arm[1], sn * arm[0] + c * arm[1]], -1)
        assert torch.allclose(centre[i] + s[:, i, :2], moved, atol=1e-5)
        assert torch.allclose(s[:, i, 2], s[:, box, 2])
    table = names.index("table_A")
    assert torch.all(centre[box] + s[:, box, :2] >= ft.box_lo[table, :2] - 1e-6)
    assert torch.all(centre[box] + s[:, box, :2] <= ft.box_hi[table, :2] + 1e-6)
    assert s[:, box, :2].std(0).min() > 0.04  # spread over the box of the prior, not around O^F
    local = prior_states(ft, 64, InferenceConfig(state_init="local"), torch.Generator().manual_seed(0))
    assert not torch.allclose(local[:, items[0], :2], local[:, box, :2])


def test_objects_the_skill_does_not_move_may_stand_on_either_table_with_other_supports(event, model):
    """InferenceConfig.other_supports: a free object the failed skill does not move (the markers on table B)
    draws which table it stands on, uniformly, and stands over it within the prior's box centred at the
    same place there, in the prior and through SVGD; what the skill moves (the box and its items) stays
    on its own table; off, every object stays on its own."""
    ft = failure_tensors(event, model)
    names = event.scene_before.names
    markers = [names.index(n) for n in names if n.startswith("marker_")]
    box, tables = ft.acted, [names.index("table_A"), names.index("table_B")]
    centre = ((ft.box_lo + ft.box_hi) / 2)[:, :2]
    cfg = InferenceConfig(state_init="prior", other_supports=True)

    def table_of(states):  # (M, N) the table each object's centre is over, -1 if none
        c = centre[None] + states[..., :2]
        over = [((c >= ft.box_lo[t, :2] - 1e-5) & (c <= ft.box_hi[t, :2] + 1e-5)).all(-1) for t in tables]
        return torch.where(over[0], tables[0], torch.where(over[1], tables[1], -1))

    stands = supports(ft, True)
    assert torch.all(stands.relocatable[markers]) and not bool(stands.relocatable[moved_objects(ft)].any())
    s = prior_states(ft, 200, cfg, torch.Generator().manual_seed(0))
    on = table_of(s)
    assert torch.all(on[:, box] == tables[0]) and torch.all(on[:, markers] >= 0)
    share_a = float((on[:, markers] == tables[0]).float().mean())
    assert 0.35 < share_a < 0.65  # each table about half the time
    shift = stands.shift[torch.tensor(markers)[None], on[:, markers]]  # (M, K, 2) the box's centre on that table
    assert torch.all((s[:, markers, :2] - shift).abs() <= cfg.max_offset + 1e-5)
    assert torch.all(table_of(prior_states(ft, 200, InferenceConfig(state_init="prior"),
                                           torch.Generator().manual_seed(0)))[:, markers] == tables[1])
    post = infer_states(model, ft, dataclasses.replace(cfg, particles=8, state_iterations=4)).particles
    assert torch.all(table_of(post)[:, markers] >= 0) and torch.all(table_of(post)[:, box] == tables[0])
    assert bool((table_of(post)[:, markers] == tables[0]).any())  # SVGD keeps the relocated ones there
    with torch.no_grad():  # the barrier holds each marker to the table it is over, not to its own
        with_other = state_log_prob(model, ft, cfg)(s[:32])
        own_only = state_log_prob(model, ft, dataclasses.replace(cfg, other_supports=False))(s[:32])
    away = (on[:32, markers] == tables[0]).any(1)
    assert bool(away.any()) and bool((~away).any())
    torch.testing.assert_close(with_other[~away], own_only[~away])
    assert torch.all(with_other[away] > own_only[away])


def test_contents_of_an_object_on_another_support_stay_inside_it_with_relocated_contents(model):
    """InferenceConfig.relocated_contents: a cup carried with its capsule fails; the other cup (with a capsule
    inside, organize seed 5) may stand on either table (other_supports). SVGD then keeps that capsule inside
    its cup wherever the cup stands; without it the capsule keeps its own ±max_offset box and is left
    behind, off its cup, in the particles that put the cup on table B."""
    sample = tasks.sample("organize", np.random.default_rng(5), 3)
    world = World(sample.scene)
    scene = SimGroundTruthPerception(world, n_points=16).perceive(np.random.default_rng(0))
    u0, b0 = _rel(world, scene.names)
    call = SkillCall(SkillType.PICK_PLACE, ("cup_1", "table_B"),
                     tasks.place_params(sample.scene, "cup_1", (0.35, 0.3), "table_B"))
    execute(world, call)
    u1, b1 = _rel(world, scene.names)
    pu, pb = u0.astype(float), b0.astype(float)  # "nothing but the cup moves"
    ev = FailureEvent("t", 0, scene, u0, b0, call, u1, b1, pu, pb, compare(pu, pb, u1, b1, scene.names, ()),
                      "v0001", sample.goal_text)
    ft = failure_tensors(ev, model)
    names = list(scene.names)
    cup, capsule, table_b = names.index("cup_2"), names.index("capsule_2"), names.index("table_B")
    assert int(ft.containers[capsule]) == cup and bool(supports(ft, True).relocatable[cup])
    centre = ((ft.box_lo + ft.box_hi) / 2)[:, :2]
    cfg = InferenceConfig(state_init="prior", other_supports=True, particles=12, state_iterations=4)

    def apart(post):  # (M,) the capsule's centre from its cup's, and whether the cup stands on table B
        c = centre[None] + post[..., :2]
        on_b = ((c[:, cup] >= ft.box_lo[table_b, :2]) & (c[:, cup] <= ft.box_hi[table_b, :2])).all(-1)
        return (c[:, capsule] - c[:, cup]).norm(dim=-1), on_b

    kept, on_b = apart(infer_states(model, ft, dataclasses.replace(cfg, relocated_contents=True)).particles)
    assert bool(on_b.any())
    half = float((ft.box_hi[cup, :2] - ft.box_lo[cup, :2]).max()) / 2
    assert torch.all(kept <= half)  # inside its cup's footprint, on either table
    left, on_b = apart(infer_states(model, ft, cfg).particles)
    assert bool(on_b.any()) and torch.all(left[on_b] > half)


def test_unmoved_objects_may_stand_anywhere_on_their_support_with_unmoved_anywhere(event, model):
    """InferenceConfig.unmoved_anywhere: what the failed skill does not move (the markers) is drawn over the
    whole reachable footprint of its table, beyond ±max_offset of O^F, and SVGD leaves it unbounded but over
    the table; what the skill moves is drawn exactly as without it."""
    ft = failure_tensors(event, model)
    names = event.scene_before.names
    markers = [names.index(n) for n in names if n.startswith("marker_")]
    table = names.index("table_B")
    centre = ((ft.box_lo + ft.box_hi) / 2)[:, :2]
    cfg = InferenceConfig(state_init="prior", unmoved_anywhere=True)
    wide = prior_states(ft, 200, cfg, torch.Generator().manual_seed(0))
    narrow = prior_states(ft, 200, InferenceConfig(state_init="prior"), torch.Generator().manual_seed(0))
    moved = moved_objects(ft)
    assert torch.equal(wide[:, moved], narrow[:, moved])
    c = centre[markers][None] + wide[:, markers, :2]  # (M, K, 2)
    assert torch.all(c >= ft.box_lo[table, :2] - 1e-5) and torch.all(c <= ft.box_hi[table, :2] + 1e-5)
    assert torch.all(c[..., 0] >= SPAWN_X[0] - 1e-5) and torch.all(c[..., 0] <= SPAWN_X[1] + 1e-5)
    assert bool((wide[:, markers, :2].abs() > cfg.max_offset + 0.02).any())  # beyond the box of O^F
    assert not bool((narrow[:, markers, :2].abs() > cfg.max_offset + 1e-5).any())
    post = infer_states(model, ft, dataclasses.replace(cfg, particles=8, state_iterations=4)).particles
    c = centre[markers][None] + post[:, markers, :2]
    assert torch.all(c >= ft.box_lo[table, :2] - 0.05) and torch.all(c <= ft.box_hi[table, :2] + 0.05)


def test_state_particles_start_at_the_best_of_their_prior_draws(event, model):
    ft = failure_tensors(event, model)
    cfg = InferenceConfig(particles=4, state_init="prior", state_starts=8)
    best = initial_states(model, ft, cfg)
    one = initial_states(model, ft, dataclasses.replace(cfg, state_starts=1))
    log_prob = state_log_prob(model, ft, cfg)
    with torch.no_grad():
        assert torch.all(log_prob(best) >= log_prob(one) - 1e-4)  # the first of the 8 draws is the one draw
    assert torch.equal(initial_states(model, ft, cfg), best)  # seeded
    with pytest.raises(ValueError, match="state_starts must be"):
        initial_states(model, ft, dataclasses.replace(cfg, state_starts=0))
    with pytest.raises(ValueError, match="unknown state init"):
        initial_states(model, ft, dataclasses.replace(cfg, state_init="wide"))


def test_reachable_particles_start_within_reach_and_place_over_the_tables(event, model):
    """InferenceConfig.reachable: a prior draw starts the acted box where the arm reaches it
    (tasks.SPAWN_X), and every action particle, drawn or moved by SVGD, places the box's centre over
    the tables' reachable region measured from where *its own state* put the box."""
    ft = failure_tensors(event, model)
    cfg = InferenceConfig(particles=6, state_init="prior", max_offset=0.25, reachable=True, action_iterations=3)
    states = prior_states(ft, 64, cfg, torch.Generator().manual_seed(0))
    centre = ((ft.box_lo + ft.box_hi) / 2)[:, :2]
    start = centre[ft.acted] + states[:, ft.acted, :2]  # (64, 2)
    assert torch.all(start[:, 0] >= SPAWN_X[0] - 1e-5) and torch.all(start[:, 0] <= SPAWN_X[1] + 1e-5)
    y_lo = min(c[1] for c in TABLE_CENTERS.values()) - TABLE_SIZE[1] / 2 + SPAWN_MARGIN
    y_hi = max(c[1] for c in TABLE_CENTERS.values()) + TABLE_SIZE[1] / 2 - SPAWN_MARGIN

    def placed_in_workspace(st, actions):
        target = centre[ft.acted] + st[:, ft.acted, :2] + actions[:, :2]
        return bool(torch.all((target[:, 0] >= SPAWN_X[0] - 1e-5) & (target[:, 0] <= SPAWN_X[1] + 1e-5)
                              & (target[:, 1] >= y_lo - 1e-5) & (target[:, 1] <= y_hi + 1e-5)))

    assert placed_in_workspace(states, uniform_actions(ft, 64, torch.Generator().manual_seed(1),
                                                       action_bounds(ft, states, cfg)))
    few = states[:6]
    assert placed_in_workspace(few, infer_actions(model, ft, few, cfg).particles)
    with pytest.raises(ValueError, match="give the m = 6 state particles"):
        initial_actions(ft, 6, cfg)
    # off, the bounds are the failure's whatever the state (the behaviour before the option)
    low, high = action_bounds(ft, states, dataclasses.replace(cfg, reachable=False))
    assert torch.equal(low, ft.param_low.expand(64, -1)) and torch.equal(high, ft.param_high.expand(64, -1))


def test_moved_state_relations_keep_the_moved_group_and_nothing_else(event, model):
    """StateRelations.MOVED: Eq. 4 scores only the relations among the acted object and its contents,
    so relations with an object outside that group (here: all of them but `inside`, flipped) change the
    ALL likelihood and not the MOVED one, while relations within the group change both."""
    ft = failure_tensors(event, model)
    moved = moved_objects(ft)
    assert int(moved.sum()) >= 2  # the bag and its items
    states = initial_states(model, ft, InferenceConfig(particles=3))
    not_inside = torch.arange(len(BINARY)) != BINARY.index("inside")  # `inside` also says what the prior moves together
    outside = ~(moved[:, None] & moved[None, :])[..., None] & not_inside
    flipped_out = dataclasses.replace(ft, binary_before=torch.where(outside, ~ft.binary_before,
                                                                    ft.binary_before))
    flipped_in = dataclasses.replace(ft, binary_before=torch.where(outside | ~not_inside, ft.binary_before,
                                                                   ~ft.binary_before))

    def score(f, which):
        with torch.no_grad():
            return state_log_prob(model, f, InferenceConfig(state_relations=which))(states)

    assert torch.allclose(score(flipped_out, "moved"), score(ft, "moved"))
    assert not torch.allclose(score(flipped_out, "all"), score(ft, "all"))
    assert not torch.allclose(score(flipped_in, "moved"), score(ft, "moved"))
    with pytest.raises(ValueError, match="unknown state relations"):
        score(ft, "every")
    # the share a particle keeps (Sampling's acceptance, the reported satisfaction) counts the same relations
    def kept(f, which):
        return state_satisfaction(model, f, states, which)

    assert torch.allclose(kept(flipped_out, "moved"), kept(ft, "moved"))
    assert not torch.allclose(kept(flipped_out, "all"), kept(ft, "all"))
    assert not torch.allclose(kept(flipped_in, "moved"), kept(ft, "moved"))


def test_rigid_contents_follow_their_container_through_the_posterior(event, model):
    """InferenceConfig.rigid_contents: the state particles SVGD returns hold every content where its
    container's motion takes it (`attach_contents`), within ±max_offset; without it the contents step
    on their own."""
    ft = failure_tensors(event, model)
    cfg = InferenceConfig(particles=4, state_iterations=3)
    rigid = infer_states(model, ft, dataclasses.replace(cfg, rigid_contents=True)).particles
    torch.testing.assert_close(rigid, attach_contents(ft, rigid))
    assert torch.all(rigid[..., :2].abs() <= cfg.max_offset + 1e-6)
    free = infer_states(model, ft, cfg).particles  # the default
    assert not torch.allclose(free, attach_contents(ft, free))


def test_moved_relations_are_those_of_the_acted_object_and_its_contents_with_every_other_object(event, model):
    ft = failure_tensors(event, model)
    names = event.scene_before.names
    inside = BINARY.index("inside")
    contents = [i for i in range(len(names)) if event.binary_before[i, ft.acted, inside]]
    assert contents  # the transport box holds the items
    assert set(moved_objects(ft).nonzero().flatten().tolist()) == {ft.acted, *contents}
    rels = action_relations(ft, ActionRelations.MOVED)
    markers = [i for i, n in enumerate(names) if n.startswith("marker")]
    assert markers and all((3 + k, i, mk) in rels and (3 + k, mk, i) in rels
                           for i in contents for mk in markers for k in range(len(BINARY)))
    moved = {ft.acted, *contents}
    assert all(i in moved or j in moved for _, i, j in rels) and len(set(rels)) == len(rels)
    assert set(ft.failure_relations) <= set(rels)  # here every failure relation is an item's
    assert action_relations(ft, "failure") == ft.failure_relations
    cfg = InferenceConfig(particles=4, state_iterations=1, action_iterations=2, action_relations="moved")
    states = infer_states(model, ft, cfg).particles
    a = infer_actions(model, ft, states, cfg).particles
    low, high = action_bounds(ft, states, cfg)
    assert torch.all(a >= low - 1e-6) and torch.all(a <= high + 1e-6)
    every = action_relations(ft, ActionRelations.ALL)
    n = int(ft.mask.sum())
    assert set(rels) < set(every) and len(every) == n * 3 + n * (n - 1) * len(BINARY)
    with pytest.raises(ValueError, match="action relations"):
        action_relations(ft, "every")


def test_bad_events_are_refused(event, model):
    with pytest.raises(ValueError, match="points"):
        failure_tensors(event, SkillEffectModel(tiny_model_config(n_points=32)))
    cfg = InferenceConfig(particles=4, state_iterations=1, action_iterations=1)
    ft = failure_tensors(event, model)
    ft.failure_relations = []
    with pytest.raises(ValueError, match="no failure relations"):
        infer_actions(model, ft, torch.zeros(4, len(event.scene_before.names), 3), cfg)


def test_dplus_is_simulated_recorded_and_loadable(event, model, tmp_path):
    from f2p_learner.dplus import generate_dplus
    from f2p_model.data import TransitionDataset

    ft = failure_tensors(event, model)
    cfg = InferenceConfig(particles=4, state_iterations=3, action_iterations=3)
    states = infer_states(model, ft, cfg).particles
    actions = infer_actions(model, ft, states, cfg).particles
    stats = generate_dplus(event, states.numpy(), actions.numpy(), tmp_path / "dplus", n_points=16)
    assert stats.recorded + stats.rebuild_failures == 4 and stats.recorded >= 3
    assert 50.0 < stats.failure_relation_satisfaction <= 100.0 and stats.action_std_m > 0
    assert stats.kept_relation_satisfaction is None  # not asked
    data = TransitionDataset([tmp_path / "dplus"], tiny_model_config())
    assert len(data) == stats.recorded
    # over the relations the states keep: every relation (ALL) gives A.15's share, the moved group its own
    every = generate_dplus(event, states.numpy(), actions.numpy(), tmp_path / "every", n_points=16,
                           kept=kept_relations(ft, "all")[0].numpy())
    assert every.kept_relation_satisfaction == pytest.approx(every.failure_relation_satisfaction)
    moved = generate_dplus(event, states.numpy(), actions.numpy(), tmp_path / "moved", n_points=16,
                           kept=kept_relations(ft, "moved")[0].numpy())
    assert 0.0 <= moved.kept_relation_satisfaction <= 100.0


def test_finetune_learns_the_failure_and_publishes_a_child_version(event, model, tmp_path):
    from f2p_learner.dplus import generate_dplus
    from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish, heldout_f1
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    parent = store.publish(model, {}, parent=None, data_hash="test", metrics={}, validated=True)
    ft = failure_tensors(event, model)
    # An untrained model's likelihood and entropy say nothing (its state particles would carry the
    # items out of their box), so this test fixes the particles near the failure itself: the
    # observed state and actions around the failed one. D+ then shows the interaction the model
    # got wrong six times, and fine-tuning must learn it.
    g = torch.Generator().manual_seed(0)
    states = torch.zeros(6, len(event.scene_before.names), 3)
    actions = ft.params + 0.01 * torch.randn(6, 4, generator=g) * torch.tensor([1.0, 1.0, 0.0, 0.0])
    generate_dplus(event, states.numpy(), actions.numpy(), tmp_path / "dplus", n_points=16)
    generate_dplus(event, states.numpy()[:3], actions.numpy()[:3], tmp_path / "heldout", n_points=16, seed=5)
    # a random parent: no F1 bar; the early stop (off by default) on, so that it is tested too, at a
    # constant rate (the default cosine one has decayed by the epochs this random model needs)
    config = FinetuneConfig(epochs=200, lr=3e-3, batch_size=8, max_regression=1.0, stop_when_learned=True,
                            schedule="constant")
    result = finetune_validate_publish(store, parent, [tmp_path / "dplus"], event, config,
                                       heldout=tmp_path / "heldout", work_dir=tmp_path / "ft")
    meta = store.read_meta(result.version)
    assert meta.parent == parent and result.version != parent
    assert result.metrics["failure_accuracy"] > result.metrics["failure_accuracy_parent"]
    assert result.validated == (result.metrics["failure_accuracy"] >= 0.75) == meta.validated
    child, _ = store.load(result.version)
    enc = [k for k in child.state_dict() if k.startswith("encoder.")]
    assert all(torch.equal(child.state_dict()[k], model.state_dict()[k]) for k in enc)  # frozen by default
    # held-out F1 of both models on latents encoded once == each model encoding the data itself
    shared = heldout_f1([model, child], tmp_path / "heldout", shared_encoder=True)
    assert shared == heldout_f1([model, child], tmp_path / "heldout")
    assert result.metrics["heldout_prediction_f1"] == shared[1]["prediction"]
    assert result.metrics["heldout_detection_f1_parent"] == shared[0]["detection"]
    if result.validated:  # stopped once learned (about 110 epochs here at 3e-3), not after all 200
        assert result.metrics["epochs"] < 200


def test_finetune_draws_its_replay_afresh_each_epoch_on_its_schedule(event, model, tmp_path):
    import csv

    from f2p_learner.dplus import generate_dplus
    from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish
    from f2p_model.data import TransitionDataset
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    parent = store.publish(model, {}, parent=None, data_hash="test", metrics={}, validated=True)
    ft = failure_tensors(event, model)
    states = torch.zeros(5, len(event.scene_before.names), 3)
    actions = ft.params.repeat(5, 1)
    generate_dplus(event, states.numpy()[:2], actions.numpy()[:2], tmp_path / "dplus", n_points=16)
    generate_dplus(event, states.numpy(), actions.numpy(), tmp_path / "replay", n_points=16, seed=5)
    config = FinetuneConfig(epochs=2, lr=1e-3, batch_size=4, max_regression=1.0, replay_per_epoch=2,
                            schedule="cosine", dplus_repeats=1)
    finetune_validate_publish(store, parent, [tmp_path / "dplus"], event, config, replay=tmp_path / "replay",
                              work_dir=tmp_path / "ft")
    with open(tmp_path / "ft" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    n_train, lr = [int(r["n_train"]) for r in rows], [float(r["lr"]) for r in rows]
    assert lr[0] <= 1e-3 and lr[1] < lr[0]  # the cosine schedule reached the optimiser
    n_dplus, n_replay = (len(TransitionDataset([tmp_path / d], tiny_model_config())) for d in ("dplus", "replay"))
    assert n_replay > 2 and n_train == [n_dplus + 2] * 2  # all of D+ and 2 of the replay, each epoch
    config = dataclasses.replace(config, dplus_repeats=3)
    finetune_validate_publish(store, parent, [tmp_path / "dplus"], event, config, replay=tmp_path / "replay",
                              work_dir=tmp_path / "ft3")
    with open(tmp_path / "ft3" / "metrics.csv") as f:
        assert [int(r["n_train"]) for r in csv.DictReader(f)] == [3 * n_dplus + 2] * 2  # D+ three times


def test_finetune_grows_a_relative_bias_into_the_child_and_the_learner_runs_on_it(event, model, tmp_path):
    """FinetuneConfig.relative_bias: the child of a parent without the bias has it, trained, every other
    weight started from the parent (the encoder still frozen); a parent that has it learns with it
    (SVGD's particles pass their centroids to Dyn, `particle_centroids`)."""
    from f2p_learner.dplus import generate_dplus
    from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish
    from f2p_learner.learner import Fail2ProgressLearner, LearnerConfig
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    parent = store.publish(model, {}, parent=None, data_hash="test", metrics={}, validated=True)
    ft = failure_tensors(event, model)
    states = torch.zeros(4, len(event.scene_before.names), 3)
    generate_dplus(event, states.numpy(), ft.params.repeat(4, 1).numpy(), tmp_path / "dplus", n_points=16)
    config = FinetuneConfig(epochs=3, lr=1e-3, batch_size=4, max_regression=1.0, relative_bias=True,
                            min_failure_accuracy=0.0)
    result = finetune_validate_publish(store, parent, [tmp_path / "dplus"], event, config, work_dir=tmp_path / "ft")
    child, _ = store.load(result.version)
    assert child.config.dyn_relative_bias and not model.config.dyn_relative_bias
    assert any(mlp[-1].weight.abs().max() > 0 for mlp in child.dynamics_bias.values())  # trained from zero
    state = child.state_dict()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items() if k.startswith("encoder."))
    learner = Fail2ProgressLearner(store, result.version, LearnerConfig(
        inference=InferenceConfig(particles=4, state_iterations=2, action_iterations=2, action_starts=2),
        finetune=FinetuneConfig(epochs=2, lr=1e-3, batch_size=4, max_regression=1.0, min_failure_accuracy=0.0),
        work_dir=str(tmp_path / "learn")))
    assert learner.learn(event) is not None
    grandchild, meta = store.load(store.latest())
    assert meta.parent == result.version and grandchild.config.dyn_relative_bias


def test_learner_runs_every_stage_and_reports(event, model, tmp_path):
    import json

    from f2p_learner.finetune import FinetuneConfig
    from f2p_learner.learner import STAGES, Fail2ProgressLearner, LearnerConfig
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    parent = store.publish(model, {}, parent=None, data_hash="test", metrics={}, validated=True)
    seen = []
    learner = Fail2ProgressLearner(store, "latest", LearnerConfig(
        inference=InferenceConfig(particles=4, state_iterations=2, action_iterations=2),
        finetune=FinetuneConfig(epochs=3, lr=1e-3, batch_size=4), work_dir=str(tmp_path / "learn")),
        progress=lambda stage, frac, msg: seen.append((stage, frac)))
    out = learner.learn(event)
    report = json.loads((tmp_path / "learn" / event.event_id / "report.json").read_text())
    assert report["parent"] == parent and report["result"]["parent"] == parent
    assert set(report["times_s"]) == {"state_inference", "action_inference", "simulate", "finetune_validate_publish"}
    assert list(dict.fromkeys(s for s, _ in seen)) == list(STAGES) and seen[-1][1] == 1.0
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(seen)), "progress never goes back"
    child = store.read_meta(report["result"]["version"])
    assert child.parent == parent
    assert (out is None) == (not child.validated)


def test_particle_encoding_equals_encoding_the_moved_scene(event, model):
    """Static segments are encoded once, movable ones per particle with the neighbourhoods of O^F:
    the latents must be those of encoding each particle's moved scene whole. Not bit for bit: a
    rigid motion changes distances by round-off, which can swap two neighbours at the same distance
    (ties are common in 16-point segments resampled from few visible points)."""
    from f2p_learner.inference import encode_particles
    from f2p_model.model import transform_segments

    ft = failure_tensors(event, model)
    s = torch.randn(4, ft.points.shape[0], 3, generator=torch.Generator().manual_seed(1)) * 0.05
    off = s * (ft.movable & ft.mask)[None, :, None]
    with torch.no_grad():
        pts = transform_segments(ft.points.expand(4, -1, -1, -1), yaw=off[..., 2],
                                 translation=torch.cat([off[..., :2], torch.zeros_like(off[..., :1])], dim=-1))
        whole = model.encode(pts, ft.mask.expand(4, -1))
        particles = encode_particles(model, ft, s)
    torch.testing.assert_close(particles, whole, atol=1e-2, rtol=1e-2)
    assert ((particles - whole).abs() <= 1e-5 + 1e-5 * whole.abs()).float().mean() > 0.95
    # and the centroids Dyn's relative-geometry bias reads are those of the moved scene
    torch.testing.assert_close(particle_centroids(ft, s), segment_centroids(pts, ft.mask.expand(4, -1)),
                               atol=1e-6, rtol=1e-6)


def test_fresh_work_dir_keeps_an_earlier_run(tmp_path):
    from f2p_learner.learner import fresh_work_dir

    work = fresh_work_dir(tmp_path / "ev")
    (work / "report.json").write_text("{}")
    again = fresh_work_dir(tmp_path / "ev")
    assert again == work and not any(again.iterdir())
    assert (tmp_path / "ev.earlier-1" / "report.json").is_file()
    fresh_work_dir(tmp_path / "ev")
    assert (tmp_path / "ev.earlier-2").is_dir()


def test_failure_accuracy_scores_the_given_failure_relations(event, model):
    # a child is scored on its parent's failure relations, not on the set its own detection makes
    from f2p_learner.finetune import failure_accuracy

    rels = failure_tensors(event, model).failure_relations
    whole = failure_accuracy(model, event, rels)
    singles = [failure_accuracy(model, event, [r]) for r in rels]
    assert whole == pytest.approx(sum(singles) / len(singles))
    assert np.isnan(failure_accuracy(model, event, []))


def test_bench_times_every_stage_and_reports_the_median_of_repeats(event, model, tmp_path):
    from f2p_learner import bench
    from f2p_learner.finetune import FinetuneConfig
    from f2p_model.store import ModelStore

    store = ModelStore(tmp_path / "models")
    store.publish(model, {}, parent=None, data_hash="test", metrics={}, validated=True)
    config = bench.LearnerBenchConfig(
        inference=InferenceConfig(particles=4, state_iterations=2, action_iterations=2),
        finetune=FinetuneConfig(epochs=2, lr=1e-3, batch_size=4), max_draws=64, repeats=3,
        work_dir=str(tmp_path / "bench"))
    r = bench.run(store, "latest", event, config)
    for name in ("fail2progress", "gradient"):
        m = r["methods"][name]
        assert len(m["runs_total_s"]) == 3 and m["total_s"] == sorted(m["runs_total_s"])[1]
        assert set(m["times_s"]) == {"state_inference", "action_inference"}
    assert "runs_total_s" not in r["methods"]["sampling"] and r["speedup_vs_sampling"] > 0
    assert set(r["stages_s"]) == {"state_inference", "action_inference", "simulate", "finetune_validate_publish"}
    assert r["failure_to_published_s"] == pytest.approx(sum(r["stages_s"].values()))
    assert "Fail2Progress is" in bench.summary(r)
    with pytest.raises(ValueError, match="repeats"):
        bench.run(store, "latest", event, bench.LearnerBenchConfig(repeats=0))


@pytest.mark.parametrize("bad", [{"schedule": "linear"}, {"replay_per_epoch": -1}, {"l2_to_parent": -0.1},
                                 {"dplus_repeats": 0}])
def test_finetune_config_refuses_bad_settings_where_it_is_made(bad):
    from f2p_learner.finetune import FinetuneConfig

    with pytest.raises(ValueError, match=next(iter(bad))):
        FinetuneConfig(**bad)


def test_mismatches_the_model_reads_the_same_way_in_the_outcome_are_not_failure_relations(model):
    """A 'prediction' that is exactly the model's reading of the true outcome O^F' disagrees with the
    observation only where the decoders misread it: with O^F' in the event none of those mismatches is
    a failure relation (the effect was right); without it, the old rule applies. Unsure predictions
    (within the margin of the threshold) are left out by the margin."""
    from f2p_learner.inference import effect_relations

    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    world = World(sample.scene)
    perception = SimGroundTruthPerception(world, n_points=16)
    scene = perception.perceive(np.random.default_rng(0))
    u0, b0 = _rel(world, scene.names)
    box = sample.skeleton[0].object_ids[0]
    call = SkillCall(SkillType.PICK_PLACE, (box, "table_B"), tasks.place_params(sample.scene, box, (0.3, 0.3),
                                                                              "table_B"))
    execute(world, call)
    after = perception.perceive(np.random.default_rng(0))
    assert after.names == scene.names
    u1, b1 = _rel(world, scene.names)
    points, visible = torch.as_tensor(after.points, dtype=torch.float32), torch.as_tensor(after.visible)
    with torch.no_grad():
        ru, rb = model.relation_probs(model.encode(points[None], visible[None]), visible[None])
    pu, pb = ru[0].numpy().astype(float), rb[0].numpy().astype(float)
    mism = compare(pu, pb, u1, b1, scene.names, tuple(BINARY))
    assert mism  # an untrained model misreads plenty
    ev = FailureEvent("t", 0, scene, u0, b0, call, u1, b1, pu, pb, mism, "v0001", sample.goal_text,
                      points_after=after.points, visible_after=after.visible)
    ev.validate()
    without = FailureEvent("t", 0, scene, u0, b0, call, u1, b1, pu, pb, mism, "v0001", sample.goal_text)
    assert effect_relations(ev, model, skip_misread=True) == []
    assert effect_relations(ev, model) == effect_relations(without, model, skip_misread=True)  # the rule is off
    # unsure predictions (within the margin of the threshold) are not contradicted by any observation
    every = effect_relations(without, model)
    sure = effect_relations(without, model, contradiction_margin=0.1)
    p = {(m.relation, m.subject, m.object): m.predicted for m in mism}
    names = [*UNARY, *BINARY]
    assert set(sure) <= set(every)
    for r, i, j in every:
        key = (names[r], scene.names[i], scene.names[j] if j >= 0 else "")
        assert ((r, i, j) in sure) == (abs(p[key] - 0.5) >= 0.1)
    with pytest.raises(ValueError, match="go together"):
        dataclasses.replace(ev, visible_after=None).validate()
    # the learner has nothing to teach from it: no D+, no new version
    import tempfile

    from f2p_learner.learner import Fail2ProgressLearner, LearnerConfig
    from f2p_model.store import ModelStore

    with tempfile.TemporaryDirectory() as tmp:
        store = ModelStore(f"{tmp}/models")
        store.publish(model, {}, parent=None, data_hash="test", metrics={}, validated=True)
        learner = Fail2ProgressLearner(store, "latest", LearnerConfig(work_dir=f"{tmp}/learn", skip_misread=True))
        assert learner.learn(ev) is None and len(store.list()) == 1
