"""PointConv encoder in plain torch (Wu, Qi, Fuxin, "PointConv", CVPR 2019), as used by A.11.

Three density-weighted set abstraction layers turn one object segment (P points) into one
feature vector. Every op is batched over all segments at once (M = B·N segments): farthest point
sampling loops over the *sampled points* only, kNN is one distance matrix + ``topk``, the kernel
density is one Gaussian sum. No compiled extensions.

Per layer (PointConv with density, as in the public Points2Plans code):

1. sample ``npoint`` centres by farthest point sampling (fixed start index 0, deterministic) and
   group each centre's ``nsample`` nearest neighbours (the group-all layer: one centre, the
   centroid, grouping every point);
2. per neighbour, the feature is ``[xyz − centre, feature]``, passed through a shared MLP
   (Linear + GroupNorm + ReLU);
3. inverse kernel density ``1 / mean_j N(x_i − x_j; h)`` of each point, normalised by the group's
   maximum, goes through the DensityNet (sigmoid output) and scales the features;
4. the WeightNet maps ``xyz − centre`` to ``weightnet_out`` weights per neighbour; the features are
   contracted with them over the neighbours (``(C, K) @ (K, C_mid)``), flattened and projected by
   a Linear + GroupNorm + ReLU to the layer width.

**Absolute position.** The first layer's input features are the *absolute* world coordinates
(xyz is used as both coordinates and features, as in Points2Plans). The grouping coordinates are
always relative to the centre, so without this the feature would be translation invariant and
the relation decoders (left/right/on/...) could not tell where an object is. We do not centre
segments on their centroid before encoding for the same reason.

**Centroid embedding (departure from A.11, ``EncoderConfig.centroid_embedding``).** The output
feature is PointConv(O^i) + Linear(centroid(O^i)), same 128 dims. Reason: in layer 1 the absolute
coordinates of a small segment are nearly the same for all its points, and GroupNorm(1, C) over
the layer then keeps mostly the *direction* of that common offset, not its magnitude; an object
0.3 m further along the same ray looks alike. With scenes at table height (offset ≈ (0.6, 0, 0.7)
m) a toy model trained on the full A.11 loss stalled at detection loss 1.14 after 150 Adam steps
without the embedding and reached 0.69 with it (0.46 vs 0.25 on the detection loss alone).
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from f2p_model.config import EncoderConfig, SetAbstractionConfig


class ChannelLastGroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` on a channels-last tensor (M, ..., C): statistics per sample and group over
    every position and the group's channels. Uses the native kernel through a channels-first view
    (several times faster on CPU than reducing the channels-last layout by hand)."""

    def forward(self, x: Tensor) -> Tensor:
        assert x.shape[-1] == self.num_channels, f"expected {self.num_channels} channels, got {tuple(x.shape)}"
        return F.group_norm(x.movedim(-1, 1), self.num_groups, self.weight, self.bias, self.eps).movedim(1, -1)


def _mlp(widths: list[int], groups: int, final_act: nn.Module | None = None) -> nn.Sequential:
    """Linear + GroupNorm + ReLU per layer (the 1x1 conv + norm + act stacks of PointConv)."""
    layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(itertools.pairwise(widths)):
        layers += [nn.Linear(w_in, w_out), ChannelLastGroupNorm(groups, w_out)]
        last = i == len(widths) - 2
        layers.append(final_act if (last and final_act is not None) else nn.ReLU())
    return nn.Sequential(*layers)


def square_distance(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances (M, S, 3) x (M, P, 3) -> (M, S, P), by one batched matmul.

    The Gaussian kernel needs squared distances, so this skips ``torch.cdist``'s square root and
    its special-cased gradient at zero distance. Callers pass centred coordinates so the
    ``|a|² + |b|² − 2ab`` expansion loses no precision.
    """
    d = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2) - 2.0 * (a @ b.transpose(-1, -2))
    return d.clamp_min(0.0)


def gather_points(x: Tensor, idx: Tensor) -> Tensor:
    """x (M, P, C), idx (M, *S) long -> (M, *S, C)."""
    m, _, c = x.shape
    flat = idx.reshape(m, -1, 1).expand(-1, -1, c)
    return x.gather(1, flat).reshape(*idx.shape, c)


@torch.no_grad()
def farthest_point_sample(xyz: Tensor, npoint: int) -> Tensor:
    """Deterministic farthest point sampling: xyz (M, P, 3) -> indices (M, npoint).

    Starts at index 0 in every segment (the reference implementations start at a random index;
    a fixed start makes the encoder a deterministic function of the cloud). When ``npoint == P``
    every point is kept in its original order, which is the same set FPS would return.
    """
    m, p, _ = xyz.shape
    assert npoint <= p, f"cannot sample {npoint} of {p} points"
    if npoint == p:
        return torch.arange(p, device=xyz.device).expand(m, p)
    idx = torch.zeros(m, npoint, dtype=torch.long, device=xyz.device)
    dist = torch.full((m, p), math.inf, device=xyz.device, dtype=xyz.dtype)
    farthest = torch.zeros(m, dtype=torch.long, device=xyz.device)
    rows = torch.arange(m, device=xyz.device)
    for i in range(npoint):
        idx[:, i] = farthest
        centre = xyz[rows, farthest].unsqueeze(1)  # (M, 1, 3)
        dist = torch.minimum(dist, ((xyz - centre) ** 2).sum(-1))  # (M, P)
        farthest = dist.argmax(-1)
    return idx


def kernel_density(d2: Tensor, bandwidth: float) -> Tensor:
    """Gaussian kernel density of each point from its squared distances (M, P, P) -> (M, P).

    ``mean_j exp(−d²/2h²) / (2.5 h)``, the estimator of PointConv's reference code (2.5 ≈ √(2π)).
    """
    return torch.exp(-d2 / (2.0 * bandwidth * bandwidth)).mean(-1) / (2.5 * bandwidth)


class Grouping(NamedTuple):
    """One layer's neighbourhoods: centre indices (M, S), neighbour indices (M, S, K) (both None for
    the group-all layer) and each point's inverse kernel density (M, P); optionally the DensityNet's
    output for them (M, S, K, 1), which is fixed while the weights are (`PointConvEncoder.groupings`)."""

    centres: Tensor | None
    knn: Tensor | None
    inv_density: Tensor
    density_scale: Tensor | None = None


def tile_groupings(groupings: list[Grouping], copies: int) -> list[Grouping]:
    """Groupings of K segments -> of `copies` stacked copies of them, (copies * K) in copy-major order
    (the order of ``clouds.reshape(copies * K, P, 3)`` for clouds (copies, K, P, 3))."""

    def tile(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.unsqueeze(0).expand(copies, *t.shape).reshape(copies * t.shape[0], *t.shape[1:])

    return [Grouping(*(tile(t) for t in g)) for g in groupings]


class DensitySetAbstraction(nn.Module):
    """One PointConv set abstraction layer with density re-weighting."""

    def __init__(self, cfg: SetAbstractionConfig, in_features: int, enc: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mlp = _mlp([3 + in_features, *cfg.mlp], enc.gn_groups)
        self.weightnet = _mlp([3, *enc.weightnet_hidden, enc.weightnet_out], 1)
        # PointConv's DensityNet ends in a sigmoid. (Points2Plans's copy tests `i == len(convs)`,
        # which never holds, so it ends in a ReLU instead; we keep the original PointConv.)
        self.densitynet = _mlp([1, *enc.densitynet_hidden, 1], 1, final_act=nn.Sigmoid())
        c = cfg.mlp[-1]
        self.linear = nn.Linear(c * enc.weightnet_out, c)
        self.norm = ChannelLastGroupNorm(enc.gn_groups, c)
        self.out_dim = c

    def grouping(self, xyz: Tensor) -> Grouping:
        """Which points each centre groups, and their inverse densities, for clouds xyz (M, P, 3).
        Functions of the pairwise distances only, hence unchanged by a rigid motion of the cloud."""
        p = xyz.shape[1]
        centred = xyz - xyz.mean(dim=1, keepdim=True).detach()  # distances only: keeps |a|²+|b|²−2ab exact
        d2 = square_distance(centred, centred)  # (M, P, P)
        inv_density = 1.0 / kernel_density(d2, self.cfg.bandwidth)  # (M, P)
        if self.cfg.group_all:
            return Grouping(None, None, inv_density)
        k = self.cfg.nsample
        assert k <= p, f"nsample {k} > {p} points"
        centres = farthest_point_sample(centred.detach(), self.cfg.npoint)  # (M, S)
        with torch.no_grad():
            d2_centres = d2 if self.cfg.npoint == p else d2.gather(1, centres.unsqueeze(-1).expand(-1, -1, p))
            knn = d2_centres.topk(k, dim=-1, largest=False).indices  # (M, S, K)
        return Grouping(centres, knn, inv_density)

    def density_scale(self, g: Grouping) -> Tensor:
        """DensityNet of each neighbour's inverse density, normalised by its group's maximum -> (M, S, K, 1)
        ((M, 1, P, 1) for the group-all layer)."""
        if self.cfg.group_all:
            grouped_inv = g.inv_density.unsqueeze(1).unsqueeze(-1)  # (M, 1, P, 1)
        else:
            grouped_inv = gather_points(g.inv_density.unsqueeze(-1), g.knn)  # (M, S, K, 1)
        return self.densitynet(grouped_inv / grouped_inv.amax(dim=2, keepdim=True))

    def forward(self, xyz: Tensor, feats: Tensor, grouping: Grouping | None = None) -> tuple[Tensor, Tensor]:
        """xyz (M, P, 3) coordinates, feats (M, P, C) -> new xyz (M, S, 3), new feats (M, S, C').
        `grouping`: `self.grouping` of these clouds or of any rigid motion of them (then not recomputed)."""
        m, p, _ = xyz.shape
        assert feats.shape[:2] == (m, p), f"feats {tuple(feats.shape)} do not match xyz {tuple(xyz.shape)}"
        g = grouping if grouping is not None else self.grouping(xyz)
        if self.cfg.group_all:
            new_xyz = xyz.mean(dim=1, keepdim=True)  # (M, 1, 3) the centroid, as Points2Plans
            rel = (xyz - new_xyz).unsqueeze(1)  # (M, 1, P, 3)
            grouped = feats.unsqueeze(1)  # (M, 1, P, C)
        else:
            new_xyz = gather_points(xyz, g.centres)  # (M, S, 3)
            neighbours = gather_points(xyz, g.knn)  # (M, S, K, 3)
            rel = neighbours - new_xyz.unsqueeze(2)
            # the first layer's features are the coordinates themselves: one gather serves both
            grouped = neighbours if feats is xyz else gather_points(feats, g.knn)  # (M, S, K, C)

        h = self.mlp(torch.cat([rel, grouped], dim=-1))  # (M, S, K, C')
        h = h * (g.density_scale if g.density_scale is not None else self.density_scale(g))  # (M, S, K, 1)
        w = self.weightnet(rel)  # (M, S, K, C_mid)
        if self.linear.weight.requires_grad or self.linear.bias.requires_grad:
            h = self.linear((h.transpose(-1, -2) @ w).flatten(-2))  # (M, S, C', C_mid) -> (M, S, C')
        else:  # weights frozen (inference): the same in cache-sized blocks
            h = FrozenContraction.apply(h, w, self.linear.weight, self.linear.bias)
        return new_xyz, F.relu(self.norm(h))


class FrozenContraction(torch.autograd.Function):
    """PointConv's contraction and projection, ``Linear(flatten(hᵀ w))`` per centre — h (M, S, K, C'),
    w (M, S, K, C_mid) -> (M, S, C_out) — for a Linear whose weights are frozen, in blocks of
    `BLOCK` centres. Done at once, the (M·S, C'·C_mid) intermediate and its gradient (31 MB each for
    the first layer of 20 state particles x 6 segments) pass through memory on every SVGD iteration;
    per block they stay in the cache, and backward recomputes the gradient block by block. Forward
    and backward took 37-45 ms instead of 63-65 ms for that layer (2 threads). Gradients flow to h
    and w only: the weights must not require them (the autograd path serves training)."""

    BLOCK = 1024  # centres per block: 512-1024 were fastest, 4096 little better than no blocks

    @staticmethod
    def forward(ctx, h: Tensor, w: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        lead, (k, c), d = h.shape[:-2], h.shape[-2:], w.shape[-1]
        h2, w2 = h.reshape(-1, k, c), w.reshape(-1, k, d)
        out = h2.new_empty(h2.shape[0], weight.shape[0])
        for i in range(0, h2.shape[0], FrozenContraction.BLOCK):
            j = i + FrozenContraction.BLOCK
            torch.addmm(bias, torch.bmm(h2[i:j].transpose(1, 2), w2[i:j]).flatten(1), weight.t(), out=out[i:j])
        ctx.save_for_backward(h2, w2, weight)
        ctx.shapes = (h.shape, w.shape)
        return out.reshape(*lead, weight.shape[0])

    @staticmethod
    def backward(ctx, grad: Tensor):
        h2, w2, weight = ctx.saved_tensors
        if ctx.needs_input_grad[2] or ctx.needs_input_grad[3]:
            raise RuntimeError("FrozenContraction gives no gradient to the Linear's weights")
        g = grad.reshape(-1, weight.shape[0])
        gh = torch.empty_like(h2) if ctx.needs_input_grad[0] else None
        gw = torch.empty_like(w2) if ctx.needs_input_grad[1] else None
        c, d = h2.shape[-1], w2.shape[-1]
        for i in range(0, h2.shape[0], FrozenContraction.BLOCK):
            j = i + FrozenContraction.BLOCK
            gz = torch.mm(g[i:j], weight).view(-1, c, d)  # dL/d(hᵀw) for these centres
            if gh is not None:
                torch.bmm(w2[i:j], gz.transpose(1, 2), out=gh[i:j])
            if gw is not None:
                torch.bmm(h2[i:j], gz, out=gw[i:j])
        return (None if gh is None else gh.reshape(ctx.shapes[0]), None if gw is None else gw.reshape(ctx.shapes[1]),
                None, None)


class PointConvEncoder(nn.Module):
    """Segment clouds (M, P, 3) in the world frame -> features (M, out_dim)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers = []
        in_features = 3  # layer 1 features are the absolute xyz (see the module docstring)
        for sa in cfg.set_abstractions:
            layers.append(DensitySetAbstraction(sa, in_features, cfg))
            in_features = sa.mlp[-1]
        self.layers = nn.ModuleList(layers)
        self.out_dim = cfg.out_dim
        self.centroid_embed = nn.Linear(3, cfg.out_dim) if cfg.centroid_embedding else None

    def groupings(self, points: Tensor) -> list[Grouping]:
        """Every layer's `Grouping` of segment clouds (M, P, 3), with the DensityNet's output for it,
        without gradients. A rigid motion of a segment (what state particles apply, paper Eq. 4/5)
        changes none of them, so a caller that encodes many moved copies of the same segments with
        fixed weights computes them once (`forward(..., groupings)`). Not for training: the cached
        DensityNet output carries no gradient to the DensityNet's weights."""
        out = []
        with torch.no_grad():
            xyz = points
            for layer in self.layers:
                g = layer.grouping(xyz)
                g = g._replace(density_scale=layer.density_scale(g))
                out.append(g)
                if not layer.cfg.group_all:
                    xyz = gather_points(xyz, g.centres)
        return out

    def forward(self, points: Tensor, groupings: list[Grouping] | None = None) -> Tensor:
        """Segments (M, P, 3) -> features (M, out_dim). `groupings`: `self.groupings` of these segments
        or of segments they are rigid motions of, one per segment (`tile_groupings` repeats them)."""
        assert points.dim() == 3 and points.shape[-1] == 3, f"expected (M, P, 3), got {tuple(points.shape)}"
        xyz, feats = points, points  # (M, P, 3) each
        for i, layer in enumerate(self.layers):
            xyz, feats = layer(xyz, feats, None if groupings is None else groupings[i])
        assert feats.shape[1] == 1
        out = feats[:, 0]  # (M, out_dim)
        if self.centroid_embed is not None:
            out = out + self.centroid_embed(points.mean(dim=1))  # (M, out_dim)
        return out
