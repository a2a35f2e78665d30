"""SkillEffectModel: shapes, padding, identities, per-skill routing, rollouts, gradients."""

from __future__ import annotations

import math

import pytest
import torch
from f2p_model_testlib import make_batch, tiny_config

from f2p_model.model import SkillEffectModel, identity_encoding, segment_centroids, transform_segments


@pytest.fixture(params=[False, True], ids=["a11", "relative-bias"])
def model(request) -> SkillEffectModel:
    """A tiny model whose dynamics act: δX's output projection starts at zero (nothing moves until
    trained, see test_untrained_dynamics_predict_no_change), so give it weights as training would; the
    same for the last layer of the relative-geometry bias (`ModelConfig.dyn_relative_bias`) when it has one."""
    torch.manual_seed(0)
    m = SkillEffectModel(tiny_config(dyn_relative_bias=request.param))
    last = [lin for lin in m.dynamics_out.values()]
    if request.param:
        last += [mlp[-1] for mlp in m.dynamics_bias.values()]
    for lin in last:
        torch.nn.init.normal_(lin.weight, std=0.2)
    return m.eval()


def test_untrained_dynamics_predict_no_change():
    """ModelConfig.dyn_out_proj: before training X_{t+1} = X_t, so the 1-step prediction equals
    detection on O_t (the copy baseline a trained model has to beat), while gradients reach δX's
    projection and nothing else of the dynamics yet."""
    torch.manual_seed(0)
    m = SkillEffectModel(tiny_config()).eval()
    b = make_batch(m.config, b=3, n=4, seed=2)
    out = m(b["points_t"], b["mask"], b["skill"], b["acted"], b["params"])
    torch.testing.assert_close(out.latent_next, out.latent)
    torch.testing.assert_close(out.binary_logits_next, out.binary_logits)
    out.binary_logits_next.sum().backward()
    assert any(lin.weight.grad.abs().max() > 0 for lin in m.dynamics_out.values())


def test_shapes_with_variable_object_counts(model):
    cfg = model.config
    b = make_batch(cfg, b=3, n=5, n_real=[5, 3, 2])
    out = model(b["points_t"], b["mask"], b["skill"], b["acted"], b["params"])
    assert out.latent.shape == out.latent_next.shape == out.delta_latent.shape == (3, 5, cfg.latent_dim)
    assert out.unary_logits.shape == out.unary_logits_next.shape == (3, 5, cfg.n_unary)
    assert out.binary_logits.shape == out.binary_logits_next.shape == (3, 5, 5, cfg.n_binary)
    assert out.delta_pos.shape == (3, 5, 3)
    assert (out.delta_latent[~b["mask"]] == 0).all() and (out.delta_pos[~b["mask"]] == 0).all()


def test_padded_objects_do_not_change_real_outputs(model):
    cfg = model.config
    small = make_batch(cfg, b=2, n=3, seed=1)
    pad = 2
    points = torch.cat([small["points_t"], torch.randn(2, pad, cfg.n_points, 3) * 5.0], dim=1)  # garbage clouds
    mask = torch.cat([small["mask"], torch.zeros(2, pad, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        a = model(small["points_t"], small["mask"], small["skill"], small["acted"], small["params"])
        b = model(points, mask, small["skill"], small["acted"], small["params"])
    close = dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b.latent_next[:, :3], a.latent_next, **close)
    torch.testing.assert_close(b.unary_logits_next[:, :3], a.unary_logits_next, **close)
    torch.testing.assert_close(b.binary_logits_next[:, :3, :3], a.binary_logits_next, **close)
    torch.testing.assert_close(b.delta_pos[:, :3], a.delta_pos, **close)


def test_identity_encoding_distinguishes_objects(model):
    ids = identity_encoding(32, 128)
    dist = torch.cdist(ids, ids) + torch.eye(32) * 1e9
    assert dist.min() > 0.5  # every pair of object identities is far apart
    # Two identical segments at different indices get different latents, identical features.
    cfg = model.config
    seg = torch.rand(1, 1, cfg.n_points, 3)
    x = model.encode(seg.expand(1, 2, -1, -1), torch.ones(1, 2, dtype=torch.bool))
    f = cfg.feat_dim
    torch.testing.assert_close(x[0, 0, :f], x[0, 1, :f])
    assert (x[0, 0, f:] - x[0, 1, f:]).abs().max() > 0.5


def test_mixed_skill_batch_equals_per_sample(model):
    cfg = model.config
    b = make_batch(cfg, b=6, n=4, seed=2)
    assert set(b["skill"].tolist()) == {0, 1}
    with torch.no_grad():
        x = model.encode(b["points_t"], b["mask"])
        pos = segment_centroids(b["points_t"], b["mask"])
        x_next, _ = model.dynamics(x, b["mask"], b["skill"], b["acted"], b["params"], pos)
        for i in range(6):
            sl = slice(i, i + 1)
            xi = model.encode(b["points_t"][sl], b["mask"][sl])
            xi_next, _ = model.dynamics(xi, b["mask"][sl], b["skill"][sl], b["acted"][sl], b["params"][sl], pos[sl])
            torch.testing.assert_close(x_next[sl], xi_next, atol=1e-5, rtol=1e-5)


def test_skills_use_their_own_dynamics(model):
    cfg = model.config
    b = make_batch(cfg, b=1, n=3, seed=3)
    with torch.no_grad():
        x = model.encode(b["points_t"], b["mask"])
        outs = [
            model.dynamics(x, b["mask"], torch.tensor([s]), b["acted"], b["params"],
                           segment_centroids(b["points_t"], b["mask"]))[0]
            for s in range(cfg.n_skills)
        ]
    for s in range(1, cfg.n_skills):
        assert (outs[s] - outs[0]).abs().max() > 1e-4


def test_rollout_probabilities_and_positions(model):
    cfg = model.config
    b = make_batch(cfg, b=2, n=4, seed=4, n_real=[4, 3])
    h = 3
    skills = torch.tensor([[0, 1, 0], [1, 1, 0]])
    acted = torch.tensor([[0, 1, 2], [2, 0, 1]])
    params = torch.randn(2, h, cfg.max_param_dim) * 0.1
    with torch.no_grad():
        out = model.rollout(b["points_t"], b["mask"], skills, acted, params)
    assert out.unary.shape == (2, h + 1, 4, cfg.n_unary)
    assert out.binary.shape == (2, h + 1, 4, 4, cfg.n_binary)
    assert out.pos.shape == (2, h + 1, 4, 3) and out.latent.shape == (2, h + 1, 4, cfg.latent_dim)
    assert ((out.binary >= 0) & (out.binary <= 1)).all()
    assert (out.binary[:, :, torch.arange(4), torch.arange(4)] == 0).all()  # no self relations
    assert (out.unary[1, :, 3] == 0).all() and (out.binary[1, :, 3] == 0).all() and (out.binary[1, :, :, 3] == 0).all()
    torch.testing.assert_close(out.pos[:, 0], b["points_t"].mean(2) * b["mask"].unsqueeze(-1))
    # Step 0 is detection on the observation.
    with torch.no_grad():
        u0, b0 = model.relation_probs(model.encode(b["points_t"], b["mask"]), b["mask"])
    torch.testing.assert_close(out.unary[:, 0], u0)
    torch.testing.assert_close(out.binary[:, 0], b0)


def test_rollout_many_equals_per_sample_rollout(model):
    cfg = model.config
    b = make_batch(cfg, b=1, n=4, seed=5, n_real=[3])
    k, h = 5, 2
    skills, acted = torch.tensor([0, 1]), torch.tensor([1, 0])
    params = torch.randn(k, h, cfg.max_param_dim) * 0.2
    with torch.no_grad():
        many = model.rollout_many(b["points_t"][0], b["mask"][0], skills, acted, params)
        for i in range(k):
            one = model.rollout(b["points_t"], b["mask"], skills[None], acted[None], params[i : i + 1])
            for name in ("unary", "binary", "pos", "latent"):
                torch.testing.assert_close(getattr(many, name)[i : i + 1], getattr(one, name), atol=1e-5, rtol=1e-5)


def test_grounded_rollout_predicts_each_skill_from_the_re_encoded_scene(model):
    """rollout_grounded: the first skill as rollout_many predicts it; each later one is the 1-step prediction
    from the scene with every segment translated by the displacements predicted so far and encoded anew,
    not from the previous step's predicted latent (which a latent rollout feeds on)."""
    cfg = model.config
    b = make_batch(cfg, b=1, n=4, seed=5, n_real=[3])
    k, skills, acted = 3, torch.tensor([0, 1, 0]), torch.tensor([1, 0, 2])
    params = torch.randn(k, 3, cfg.max_param_dim) * 0.2
    pts, mask = b["points_t"][0], b["mask"][0]
    with torch.no_grad():
        grounded = model.rollout_grounded(pts, mask, skills, acted, params, moved_tol=0.0)
        latent = model.rollout_many(pts, mask, skills, acted, params)
        for name in ("unary", "binary", "pos"):
            torch.testing.assert_close(getattr(grounded, name)[:, :2], getattr(latent, name)[:, :2])
        for i in range(k):
            for t in (1, 2):
                moved = (grounded.pos[i, t] - grounded.pos[i, 0]) * mask[:, None]
                x = model.encode((pts + moved[:, None, :])[None], mask[None])
                x_next, dx = model.dynamics(x, mask[None], skills[t:t + 1], acted[t:t + 1], params[i:i + 1, t],
                                            segment_centroids((pts + moved[:, None, :])[None], mask[None]))
                u, bb = model.relation_probs(x_next, mask[None])
                torch.testing.assert_close(grounded.unary[i, t + 1], u[0], atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(grounded.binary[i, t + 1], bb[0], atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(grounded.pos[i, t + 1] - grounded.pos[i, t],
                                           model.decode_delta_pos(dx)[0] * mask[:, None], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(grounded.binary[:, 2:], latent.binary[:, 2:], atol=1e-4)


def test_gradients_reach_params_and_segment_poses(model):
    cfg = model.config
    b = make_batch(cfg, b=1, n=3, seed=6)
    params = (torch.randn(1, 2, cfg.max_param_dim) * 0.2).requires_grad_()
    translation = torch.zeros(1, 3, 3, requires_grad=True)
    yaw = torch.full((1, 3), 0.1, requires_grad=True)
    points = transform_segments(b["points_t"], translation=translation, yaw=yaw)
    out = model.rollout(points, b["mask"], torch.tensor([[0, 1]]), torch.tensor([[0, 2]]), params)
    # A goal score of the planner's kind: log p(left(0, 1)) after the last skill, plus positions.
    objective = out.binary[:, -1, 0, 1, 0].log().sum() + out.unary[:, -1].sum() + out.pos[:, -1].square().sum()
    objective.backward()
    for name, t in (("params", params), ("translation", translation), ("yaw", yaw)):
        assert t.grad is not None and torch.isfinite(t.grad).all(), name
        assert t.grad.abs().max() > 0, name
    # pick_place (skill 0) reads 4 parameters, push (skill 1) only its 2: padding gets no gradient.
    assert params.grad[0, 0].abs().min() > 0 and (params.grad[0, 1, 2:] == 0).all()


def test_transform_segments_rotates_about_centroid():
    pts = torch.rand(2, 16, 3)  # (N, P, 3)
    centroid = pts.mean(1)
    yaw = torch.tensor([[math.pi / 2, 0.0], [0.0, 0.0]])  # (K=2, N)
    t = torch.tensor([[[0.0, 0.0, 0.0], [0.1, 0.2, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    out = transform_segments(pts, yaw=yaw, translation=t)  # broadcast to (K, N, P, 3)
    assert out.shape == (2, 2, 16, 3)
    torch.testing.assert_close(out[0].mean(1), centroid + t[0])  # rotation keeps the centroid
    rel, rel_out = pts[0] - centroid[0], out[0, 0] - centroid[0]
    torch.testing.assert_close(rel_out, torch.stack([-rel[:, 1], rel[:, 0], rel[:, 2]], -1), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out[1], pts)
    with pytest.raises(ValueError, match="either yaw or rotation"):
        transform_segments(pts, yaw=yaw, rotation=torch.eye(3).expand(2, 2, 3, 3))


def test_bad_inputs_raise(model):
    cfg = model.config
    b = make_batch(cfg, b=2, n=3, n_real=[3, 2])
    x = model.encode(b["points_t"], b["mask"])
    with pytest.raises(ValueError, match="padded object"):
        model.dynamics(x, b["mask"], b["skill"], torch.tensor([0, 2]), b["params"])
    with pytest.raises(ValueError, match="padded to the max param dim"):
        model.dynamics(x, b["mask"], b["skill"], b["acted"], b["params"][:, :2])
    with pytest.raises(ValueError, match="skill indices"):
        model.dynamics(x, b["mask"], torch.tensor([0, cfg.n_skills]), b["acted"], b["params"])
    with pytest.raises(ValueError, match="n_points"):
        model.encode(b["points_t"][:, :, :8], b["mask"])
