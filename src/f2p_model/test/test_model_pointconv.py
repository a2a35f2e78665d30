"""PointConv encoder: A.11 channel sizes, determinism, FPS, GroupNorm, position information."""

from __future__ import annotations

import pytest
import torch
from f2p_model_testlib import tiny_config
from torch import nn

from f2p_model.config import EncoderConfig
from f2p_model.pointconv import (
    ChannelLastGroupNorm,
    PointConvEncoder,
    farthest_point_sample,
    square_distance,
)


def test_a11_channel_sizes():
    enc = PointConvEncoder(EncoderConfig())
    firsts = [layer.mlp[0].in_features for layer in enc.layers]
    assert firsts == [6, 35, 67]  # A.11: 3 + 3, 3 + 32, 3 + 64
    assert [layer.out_dim for layer in enc.layers] == [32, 64, 128]
    out = enc(torch.rand(3, 128, 3))
    assert out.shape == (3, 128) and torch.isfinite(out).all()


def test_encoder_is_deterministic_and_per_segment():
    torch.manual_seed(0)
    cfg = tiny_config()
    enc = PointConvEncoder(cfg.encoder)
    pts = torch.rand(5, cfg.n_points, 3)
    full = enc(pts)
    assert torch.equal(full, enc(pts))
    # A segment's feature does not depend on the other segments of the batch.
    torch.testing.assert_close(enc(pts[2:3]), full[2:3], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("centroid_embedding", [True, False])
def test_encoder_sees_absolute_position(centroid_embedding):
    torch.manual_seed(0)
    cfg = tiny_config()
    cfg.encoder.centroid_embedding = centroid_embedding
    enc = PointConvEncoder(cfg.encoder)
    pts = torch.rand(1, cfg.n_points, 3) * 0.05
    moved = pts + torch.tensor([0.3, 0.0, 0.0])
    assert (enc(pts) - enc(moved)).abs().max() > 1e-3


def test_farthest_point_sampling_starts_at_zero_and_spreads():
    line = torch.linspace(0, 1, 11).reshape(1, 11, 1) * torch.tensor([1.0, 0.0, 0.0])  # (1, 11, 3)
    idx = farthest_point_sample(line, 3)
    assert idx.tolist() == [[0, 10, 5]]
    assert torch.equal(farthest_point_sample(line, 11)[0], torch.arange(11))


def test_square_distance_matches_cdist():
    a, b = torch.rand(2, 7, 3), torch.rand(2, 9, 3)
    torch.testing.assert_close(square_distance(a, b), torch.cdist(a, b) ** 2, atol=1e-5, rtol=1e-4)


def test_channel_last_group_norm_matches_group_norm():
    torch.manual_seed(0)
    x = torch.randn(4, 5, 6, 8)
    ours, ref = ChannelLastGroupNorm(2, 8), nn.GroupNorm(2, 8)
    with torch.no_grad():
        ours.weight.uniform_()
        ref.weight.copy_(ours.weight)
    torch.testing.assert_close(ours(x), ref(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


def test_groupings_of_a_segment_serve_its_rigid_motions():
    # state particles move segments rigidly (paper Eq. 4/5): the encoder may reuse the neighbourhoods
    # and densities of the unmoved segments and must give the features it computes from scratch
    from f2p_model.model import transform_segments
    from f2p_model.pointconv import tile_groupings

    torch.manual_seed(0)
    enc = PointConvEncoder(EncoderConfig()).eval()
    segs = torch.rand(3, 128, 3) * torch.tensor([0.1, 0.06, 0.08]) + torch.tensor([0.6, 0.1, 0.75])
    moved = transform_segments(segs.expand(4, -1, -1, -1), translation=torch.randn(4, 3, 3) * 0.1,
                               yaw=torch.randn(4, 3))  # (4 copies, 3 segments, P, 3)
    flat = moved.reshape(12, 128, 3)
    cached = enc(flat, tile_groupings(enc.groupings(segs), 4))
    torch.testing.assert_close(cached, enc(flat), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(cached[:3], enc(segs), atol=1e-3)  # the motion itself is seen
    g = enc.groupings(segs)
    assert [x.knn is None for x in g] == [False, False, True] and g[0].inv_density.shape == (3, 128)
    # the DensityNet's output rides along (fixed while the weights are) and is what forward would compute
    assert g[0].density_scale.shape == (3, 128, 8, 1) and g[2].density_scale.shape == (3, 1, 16, 1)
    torch.testing.assert_close(g[1].density_scale, enc.layers[1].density_scale(g[1]._replace(density_scale=None)))


def test_frozen_contraction_matches_the_autograd_path_in_value_and_gradient():
    # inference (weights frozen) takes the blocked FrozenContraction; it must be the same function
    from f2p_model.pointconv import FrozenContraction

    torch.manual_seed(0)
    lin = nn.Linear(6 * 4, 5)
    h = torch.randn(3, 700, 7, 6, requires_grad=True)  # 2,100 centres: two full blocks and a partial one
    w = torch.randn(3, 700, 7, 4, requires_grad=True)
    ref = lin((h.transpose(-1, -2) @ w).flatten(-2))
    g = torch.randn_like(ref)
    ref_h, ref_w = torch.autograd.grad(ref, (h, w), g)
    with pytest.raises(RuntimeError, match="no gradient to the Linear"):
        FrozenContraction.apply(h, w, lin.weight, lin.bias).sum().backward()
    lin.requires_grad_(False)
    out = FrozenContraction.apply(h, w, lin.weight, lin.bias)
    got_h, got_w = torch.autograd.grad(out, (h, w), g)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(got_h, ref_h)
    torch.testing.assert_close(got_w, ref_w)


def test_encoder_with_frozen_weights_gives_the_same_features_and_gradients():
    torch.manual_seed(0)
    enc = PointConvEncoder(EncoderConfig()).eval()
    pts = (torch.rand(4, 128, 3) * 0.1 + torch.tensor([0.6, 0.1, 0.75])).requires_grad_()
    ref = enc(pts)
    (ref_grad,) = torch.autograd.grad(ref.square().sum(), pts)
    enc.requires_grad_(False)
    out = enc(pts)
    (grad,) = torch.autograd.grad(out.square().sum(), pts)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-4)
