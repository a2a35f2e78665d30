"""The skill effect model γ = Dec ∘ Dyn ∘ Enc of paper A.11, and batched rollouts Γ = γ_H ∘ … ∘ γ_1.

Shapes: B scenes (or parameter samples), N objects (padded to the batch max, ``mask`` (B, N)
marks the real ones), P points per segment, D = latent size (256), U / R unary / binary relations,
A = max continuous parameter size, H = skills in a sequence.

* ``encode``: X_t^i = PointConv(O_t^i) ⊕ ID_i, ID_i a sinusoidal positional encoding of the object
  index i (A.11). Padded objects get a zero PointConv feature and never reach a real object.
* ``dynamics``: the latent skill AL = MLP_para(a) ⊕ ID_acted is one extra token next to the object
  tokens of a 2-layer, 2-head, d=256 transformer encoder; its outputs on the object tokens are δX
  and X_{t+1} = X_t + δX (A.11). As in the public Points2Plans code there is one MLP_para and one
  transformer per skill type (the paper's "composable" per-skill models); a batch may mix skills.
* decoders: Dec_u (X^i), Dec_b (X^i, X^j) over all ordered pairs, Dec_p (δX^i) -> δp^i.

Relations are independent binary variables, so each has one logit and a sigmoid / BCE. A.11 says
"Softmax" over the two outcomes of each relation: a two-class softmax over logits (z, 0) *is* the
sigmoid of z, so this is the same model with half the output units.

All methods are differentiable w.r.t. the continuous parameters and the point coordinates (FPS
and kNN choose indices without gradient; the gathered coordinates carry it), which the planner
and Fail2Progress's Stein updates use together with :func:`transform_segments`. Call
``model.eval()`` before planning: the transformer has dropout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from f2p_model.config import ModelConfig
from f2p_model.pointconv import Grouping, PointConvEncoder, tile_groupings

# ----------------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------------


def yaw_rotation(yaw: Tensor) -> Tensor:
    """Rotation about +z: yaw (...) radians -> (..., 3, 3)."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    z, o = torch.zeros_like(yaw), torch.ones_like(yaw)
    return torch.stack([c, -s, z, s, c, z, z, z, o], dim=-1).reshape(*yaw.shape, 3, 3)


def transform_segments(
    points: Tensor,
    *,
    translation: Tensor | None = None,
    yaw: Tensor | None = None,
    rotation: Tensor | None = None,
) -> Tensor:
    """Move each object segment rigidly: p' = R (p − c) + c + t, c the segment's centroid.

    points (..., N, P, 3); rotation (..., N, 3, 3) or yaw (..., N) radians about +z; translation
    (..., N, 3). Leading dims broadcast, so one scene (N, P, 3) with K poses (K, N, ...) gives
    (K, N, P, 3). Rotating about the segment's own centroid (not the world origin) makes a yaw
    turn the object in place, the way an object pose update acts on its observed points.
    Differentiable w.r.t. every argument.
    """
    if yaw is not None and rotation is not None:
        raise ValueError("give either yaw or rotation, not both")
    assert points.dim() >= 3 and points.shape[-1] == 3, f"points must be (..., N, P, 3), got {tuple(points.shape)}"
    n = points.shape[-3]
    out = points
    if yaw is not None:
        assert yaw.shape[-1:] == (n,), f"yaw must be (..., {n}), got {tuple(yaw.shape)}"
        rotation = yaw_rotation(yaw)
    if rotation is not None:
        assert rotation.shape[-3:] == (n, 3, 3), f"rotation must be (..., {n}, 3, 3), got {tuple(rotation.shape)}"
        centroid = points.mean(dim=-2, keepdim=True)  # (..., N, 1, 3)
        out = (points - centroid) @ rotation.transpose(-1, -2) + centroid  # (..., N, P, 3)
    if translation is not None:
        assert translation.shape[-2:] == (n, 3), f"translation must be (..., {n}, 3), got {tuple(translation.shape)}"
        out = out + translation.unsqueeze(-2)
    return out


def segment_centroids(points: Tensor, mask: Tensor) -> Tensor:
    """Mean point of each real segment: points (B, N, P, 3), mask (B, N) -> (B, N, 3), 0 if padded."""
    return points.mean(dim=-2) * mask.unsqueeze(-1)


def identity_encoding(n: int, dim: int, base: float = 10000.0) -> Tensor:
    """Sinusoidal positional encoding (Vaswani et al.; PyTorch's tutorial ``PositionalEncoding``)
    of the indices 0..n-1: (n, dim), even columns sin, odd columns cos."""
    pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)  # (n, 1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(base) / dim))  # (dim/2,)
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


@contextlib.contextmanager
def _without_attention_fast_path() -> Iterator[None]:
    """PyTorch's inference fast path of nn.TransformerEncoderLayer (eval mode, no grad) reads a float
    attention mask as a boolean one (torch 2.13: every non-zero bias masks its key, a row of them is
    NaN), so Dyn's relative-geometry bias runs the plain path, which adds it to the logits."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


def _mlp(d_in: int, hidden: int, n_layers: int, d_out: int) -> nn.Sequential:
    """n_layers Linear layers (n_layers − 1 hidden of width ``hidden``, ReLU between)."""
    widths = [d_in] + [hidden] * (n_layers - 1) + [d_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < n_layers - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------


@dataclass
class StepOutput:
    """One transition O_t, φ(a) -> t+1, everything a training loss needs (logits, not probabilities)."""

    latent: Tensor  # (B, N, D) X_t = Enc(O_t)
    unary_logits: Tensor  # (B, N, U) Dec_u(X_t)
    binary_logits: Tensor  # (B, N, N, R) Dec_b(X_t^i, X_t^j)
    latent_next: Tensor  # (B, N, D) X'_{t+1} = X_t + δX
    delta_latent: Tensor  # (B, N, D) δX, zero on padded objects
    unary_logits_next: Tensor  # (B, N, U) Dec_u(X'_{t+1})
    binary_logits_next: Tensor  # (B, N, N, R) Dec_b(X'_{t+1})
    delta_pos: Tensor  # (B, N, 3) Dec_p(δX), zero on padded objects


@dataclass
class RolloutOutput:
    """Predicted relation probabilities along a skill sequence; step 0 is detection on O_0.

    Probabilities are 0 on padded objects, on pairs with a padded object and on the diagonal
    i == j (the ground truth's convention), so goal scores can multiply them directly.
    """

    unary: Tensor  # (B, H+1, N, U) p(unary relation) after 0..H skills
    binary: Tensor  # (B, H+1, N, N, R) p(binary relation (i, j))
    pos: Tensor  # (B, H+1, N, 3) step 0: segment centroids of O_0; then + the predicted δp
    latent: Tensor  # (B, H+1, N, D) X_0 .. X_H
    mask: Tensor  # (B, N) real objects


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------


class SkillEffectModel(nn.Module):
    """Enc, Dyn (one per skill type) and Dec_u / Dec_b / Dec_p of A.11."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = config if config is not None else ModelConfig()
        self.config = cfg
        d = cfg.latent_dim
        self.encoder = PointConvEncoder(cfg.encoder)
        # Not learned and derived from the config: kept out of the state dict.
        self.register_buffer("identity", identity_encoding(cfg.max_objects, cfg.id_dim, cfg.id_base), persistent=False)
        # MLP_para: 2 layers of 128 with ReLU (A.11), one per skill on that skill's own parameters.
        self.param_mlp = nn.ModuleDict(
            {name: _mlp(cfg.param_dims[name], cfg.param_hidden, 2, cfg.feat_dim) for name in cfg.skill_types}
        )
        self.dynamics_nets = nn.ModuleDict({name: self._transformer() for name in cfg.skill_types})
        if cfg.dyn_out_proj:  # see ModelConfig.dyn_out_proj: X_{t+1} = X_t until training says otherwise
            self.dynamics_out = nn.ModuleDict({name: nn.Linear(d, d) for name in cfg.skill_types})
            for lin in self.dynamics_out.values():
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)
        if cfg.dyn_relative_bias:  # see ModelConfig.dyn_relative_bias: the transformer of A.11 at initialisation
            self.dynamics_bias = nn.ModuleDict(
                {name: _mlp(3, cfg.dyn_bias_hidden, 3, cfg.dyn_heads) for name in cfg.skill_types}
            )
            for mlp in self.dynamics_bias.values():
                nn.init.zeros_(mlp[-1].weight)
                nn.init.zeros_(mlp[-1].bias)
        self.dec_u = _mlp(d, cfg.dec_hidden, cfg.dec_u_layers, cfg.n_unary)
        self.dec_b = _mlp(2 * d, cfg.dec_hidden, cfg.dec_b_layers, cfg.n_binary)
        self.dec_p = _mlp(d, cfg.dec_hidden, cfg.dec_p_layers, 3)

    def _transformer(self) -> nn.TransformerEncoder:
        cfg = self.config
        layer = nn.TransformerEncoderLayer(
            cfg.latent_dim, cfg.dyn_heads, dim_feedforward=cfg.dyn_ff, dropout=cfg.dyn_dropout, batch_first=True
        )
        # No nested tensors: padded tokens keep their (ignored) values and shapes stay fixed.
        return nn.TransformerEncoder(layer, cfg.dyn_layers, enable_nested_tensor=False)

    # --- input checks -------------------------------------------------------------------------

    def _check_scene(self, points: Tensor, mask: Tensor) -> None:
        cfg = self.config
        assert points.dim() == 4 and points.shape[-1] == 3, f"points must be (B, N, P, 3), got {tuple(points.shape)}"
        b, n, p, _ = points.shape
        if p != cfg.n_points:
            raise ValueError(f"segments have {p} points, the model was configured for n_points={cfg.n_points}")
        if n > cfg.max_objects:
            raise ValueError(f"{n} objects exceed the identity table (max_objects={cfg.max_objects})")
        assert mask.shape == (b, n) and mask.dtype == torch.bool, f"mask must be (B, N) bool, got {mask.shape}"

    def _check_skill(self, skill: Tensor, acted: Tensor, params: Tensor, mask: Tensor) -> None:
        cfg = self.config
        b, n = mask.shape
        assert skill.shape == (b,) and acted.shape == (b,), f"skill/acted must be ({b},): {skill.shape} {acted.shape}"
        if params.shape != (b, cfg.max_param_dim):
            raise ValueError(
                f"params must be ({b}, {cfg.max_param_dim}) (padded to the max param dim), got {tuple(params.shape)}"
            )
        if b == 0:
            return
        if int(skill.min()) < 0 or int(skill.max()) >= cfg.n_skills:
            raise ValueError(f"skill indices must be in [0, {cfg.n_skills}) for {cfg.skill_types}")
        if int(acted.min()) < 0 or int(acted.max()) >= n:
            raise ValueError(f"acted object indices must be in [0, {n})")
        if not bool(mask.gather(1, acted.unsqueeze(1)).all()):
            raise ValueError("an acted object index points at a padded object")

    # --- Enc ----------------------------------------------------------------------------------

    def encode(self, points: Tensor, mask: Tensor) -> Tensor:
        """O_t -> X_t: points (B, N, P, 3) world frame, mask (B, N) -> (B, N, D)."""
        self._check_scene(points, mask)
        b, n, _, _ = points.shape
        feats = points.new_zeros(b, n, self.config.feat_dim)  # (B, N, F) zero for padded objects
        if bool(mask.any()):
            real = mask.nonzero(as_tuple=True)
            feats = feats.index_put(real, self.encoder(points[real]))  # encode real segments only
        return self.with_identity(feats)

    def with_identity(self, feats: Tensor) -> Tensor:
        """PointConv features (B, N, F) of objects 0..N-1 -> latents (B, N, D) = feats ⊕ ID_i. Lets a
        caller encode only the segments that change (e.g. the movable ones under state particles)."""
        b, n, _ = feats.shape
        ids = self.identity[:n].unsqueeze(0).expand(b, n, -1)  # (B, N, ID)
        return torch.cat([feats, ids], dim=-1)  # (B, N, D)

    # --- Dyn ----------------------------------------------------------------------------------

    def _per_skill(self, skill: Tensor, fn: Callable[..., Tensor], *tensors: Tensor, out: Tensor) -> Tensor:
        """Run ``fn(name, *rows_of_tensors)`` on each skill type's rows; one call per type, not per sample."""
        b = skill.shape[0]
        for s, name in enumerate(self.config.skill_types):
            rows = (skill == s).nonzero(as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            if rows.numel() == b:  # the whole batch is one skill (rollouts): no gather/scatter
                return fn(name, *tensors)
            out = out.index_put((rows,), fn(name, *(t[rows] for t in tensors)))
        return out

    def skill_latent(self, skill: Tensor, acted: Tensor, params: Tensor) -> Tensor:
        """AL = MLP_para(a) ⊕ ID_acted: skill (B,) long, acted (B,) long, params (B, A) -> (B, D)."""
        cfg = self.config
        assert params.dim() == 2 and params.shape[1] == cfg.max_param_dim, f"params must be (B, {cfg.max_param_dim})"

        def para(name: str, a: Tensor) -> Tensor:
            return self.param_mlp[name](a[:, : cfg.param_dims[name]])  # (b, F) this skill's own dims

        a_lat = self._per_skill(skill, para, params, out=params.new_zeros(skill.shape[0], cfg.feat_dim))
        return torch.cat([a_lat, self.identity[acted]], dim=-1)  # (B, D)

    def dynamics(
        self, latent: Tensor, mask: Tensor, skill: Tensor, acted: Tensor, params: Tensor, pos: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """X_t, φ(a) -> (X_{t+1}, δX), both (B, N, D); δX is zero on padded objects. `pos` (B, N, 3): the
        objects' segment centroids at t, which a Dyn with the relative-geometry bias needs
        (`ModelConfig.dyn_relative_bias`); others ignore it."""
        b, n, d = latent.shape
        assert d == self.config.latent_dim and mask.shape == (b, n), (
            f"latent {tuple(latent.shape)}, mask {tuple(mask.shape)}"
        )
        self._check_skill(skill, acted, params, mask)
        al = self.skill_latent(skill, acted, params)  # (B, D)
        tokens = torch.cat([al.unsqueeze(1), latent], dim=1)  # (B, 1+N, D) skill token first
        ignore = torch.cat([mask.new_zeros(b, 1), ~mask], dim=1)  # (B, 1+N) True = padding, never attended
        extra = (self._token_offsets(pos, acted, b, n),) if self.config.dyn_relative_bias else ()

        def dyn(name: str, tok: Tensor, ign: Tensor, *offsets: Tensor) -> Tensor:
            if offsets:
                bias = self.dynamics_bias[name](offsets[0]).permute(0, 3, 1, 2)  # (b, heads, 1+N, 1+N)
                bias = bias.masked_fill(ign[:, None, None, :], float("-inf"))  # padded keys never attended
                with _without_attention_fast_path():
                    out = self.dynamics_nets[name](tok, mask=bias.flatten(0, 1))[:, 1:]  # (b, N, D)
            else:
                out = self.dynamics_nets[name](tok, src_key_padding_mask=ign)[:, 1:]  # (b, N, D)
            return self.dynamics_out[name](out) if self.config.dyn_out_proj else out

        delta = self._per_skill(skill, dyn, tokens, ignore, *extra, out=torch.zeros_like(latent))
        delta = delta * mask.unsqueeze(-1)  # (B, N, D)
        return latent + delta, delta

    def _token_offsets(self, pos: Tensor | None, acted: Tensor, b: int, n: int) -> Tensor:
        """s·(c_q − c_k) for every pair of Dyn's tokens (skill token first, at its acted object's centroid):
        pos (B, N, 3) -> (B, 1+N, 1+N, 3)."""
        if pos is None:
            raise ValueError("this model's Dyn has a relative-geometry bias (dyn_relative_bias): give the objects' "
                             "centroids pos (B, N, 3)")
        if pos.shape != (b, n, 3):
            raise ValueError(f"pos must be ({b}, {n}, 3), got {tuple(pos.shape)}")
        at = pos.gather(1, acted.view(b, 1, 1).expand(b, 1, 3))  # (B, 1, 3) the acted object's centroid
        c = torch.cat([at, pos], dim=1)  # (B, 1+N, 3)
        return (c.unsqueeze(2) - c.unsqueeze(1)) * self.config.dyn_bias_scale

    # --- Dec ----------------------------------------------------------------------------------

    def decode_unary(self, latent: Tensor) -> Tensor:
        """Dec_u: (..., N, D) -> logits (..., N, U)."""
        return self.dec_u(latent)

    def decode_binary(self, latent: Tensor) -> Tensor:
        """Dec_b over all ordered pairs: (B, N, D) -> logits (B, N, N, R), [:, i, j] = Dec_b(X^i ⊕ X^j).

        The first layer on the concatenation is W [X^i; X^j] + c = W_i X^i + W_j X^j + c, so it is
        applied per object (B·N rows) and broadcast to pairs instead of building (B, N, N, 2D).
        """
        d = latent.shape[-1]
        first = self.dec_b[0]
        h_i = latent @ first.weight[:, :d].T + first.bias  # (B, N, H)
        h_j = latent @ first.weight[:, d:].T  # (B, N, H)
        h = h_i.unsqueeze(2) + h_j.unsqueeze(1)  # (B, N, N, H)
        return self.dec_b[1:](h)  # (B, N, N, R)

    def decode_delta_pos(self, delta_latent: Tensor) -> Tensor:
        """Dec_p: δX (..., N, D) -> δp (..., N, 3) metres."""
        return self.dec_p(delta_latent)

    def relation_probs(self, latent: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Masked probabilities: unary (B, N, U), binary (B, N, N, R); 0 on padding and i == j."""
        n = mask.shape[1]
        pair = mask.unsqueeze(2) & mask.unsqueeze(1) & ~torch.eye(n, dtype=torch.bool, device=mask.device)
        unary = torch.sigmoid(self.decode_unary(latent)) * mask.unsqueeze(-1)
        binary = torch.sigmoid(self.decode_binary(latent)) * pair.unsqueeze(-1)
        return unary, binary

    # --- one transition (training) -------------------------------------------------------------

    def forward(self, points: Tensor, mask: Tensor, skill: Tensor, acted: Tensor, params: Tensor) -> StepOutput:
        """One skill from O_t: points (B, N, P, 3), mask (B, N), skill/acted (B,), params (B, A)."""
        return self.step(self.encode(points, mask), mask, skill, acted, params, segment_centroids(points, mask))

    def step(self, x: Tensor, mask: Tensor, skill: Tensor, acted: Tensor, params: Tensor,
             pos: Tensor | None = None) -> StepOutput:
        """One skill from the latent X_t (B, N, D) = Enc(O_t) and the segment centroids `pos` (B, N, 3) of O_t
        (:meth:`dynamics`): what :meth:`forward` does after encoding. Fine-tuning with a frozen encoder
        trains on latents encoded once (`f2p_model.train`)."""
        x_next, dx = self.dynamics(x, mask, skill, acted, params, pos)
        return StepOutput(
            latent=x,
            unary_logits=self.decode_unary(x),
            binary_logits=self.decode_binary(x),
            latent_next=x_next,
            delta_latent=dx,
            unary_logits_next=self.decode_unary(x_next),
            binary_logits_next=self.decode_binary(x_next),
            delta_pos=self.decode_delta_pos(dx) * mask.unsqueeze(-1),
        )

    # --- rollouts (planning) -------------------------------------------------------------------

    def rollout(self, points: Tensor, mask: Tensor, skills: Tensor, acted: Tensor, params: Tensor) -> RolloutOutput:
        """Γ(O_0, φ_{1:H}, a_{1:H}) per scene: points (B, N, P, 3), mask (B, N), skills (B, H) long,
        acted (B, H) long, params (B, H, A)."""
        b, h = skills.shape
        assert acted.shape == (b, h) and params.shape[:2] == (b, h), (
            f"skills {tuple(skills.shape)}, acted {tuple(acted.shape)}, params {tuple(params.shape)} disagree"
        )
        x0 = self.encode(points, mask)
        return self._rollout_latent(x0, mask, segment_centroids(points, mask), skills, acted, params)

    def rollout_many(
        self, points: Tensor, mask: Tensor, skills: Tensor, acted: Tensor, params: Tensor
    ) -> RolloutOutput:
        """K parameter sequences for ONE scene: points (N, P, 3), mask (N,), skills (H,), acted (H,),
        params (K, H, A) -> RolloutOutput with B = K.

        The scene is encoded once and its latent expanded to K; each step is then one batched
        dynamics call over all K samples.
        """
        assert points.dim() == 3 and mask.dim() == 1, "rollout_many takes one scene: points (N, P, 3), mask (N,)"
        k, h, _ = params.shape
        assert skills.shape == (h,) and acted.shape == (h,), f"skills/acted must be ({h},)"
        x0 = self.encode(points.unsqueeze(0), mask.unsqueeze(0))  # (1, N, D)
        pos0 = segment_centroids(points.unsqueeze(0), mask.unsqueeze(0))  # (1, N, 3)
        n = mask.shape[0]
        return self._rollout_latent(
            x0.expand(k, n, -1),
            mask.unsqueeze(0).expand(k, n),
            pos0.expand(k, n, 3),
            skills.unsqueeze(0).expand(k, h),
            acted.unsqueeze(0).expand(k, h),
            params,
        )

    def rollout_grounded(
        self, points: Tensor, mask: Tensor, skills: Tensor, acted: Tensor, params: Tensor, moved_tol: float = 0.005
    ) -> RolloutOutput:
        """K parameter sequences for ONE scene, as :meth:`rollout_many`, but every skill is predicted
        from a scene *re-encoded* where the skills before it put the objects: X_t = Enc(O_0 with each
        segment translated by its predicted displacement so far, Σ Dec_p(δX)), not the previous step's
        predicted latent X'_t. Each step is then the 1-step prediction the model was trained for (A.11's
        losses are all 1-step); a latent rollout feeds Dyn its own outputs, which drift off the encoder's
        latents step by step. Measured on HTO development scenes (experiments/RESULTS.md, "Rollouts
        drift"): after two predicted capsule placements into cup_1 the latent rollout put the carried
        cup_1 at y -0.01 / +0.14 / +0.08 for targets +0.40 / +0.43 / +0.31, while predicting the same
        carry from the perceived scene gave +0.37 / +0.38 / +0.32.

        Translation only (Dec_p predicts no rotation); a segment whose predicted displacement stays
        under `moved_tol` (m) in every sample keeps its features. The relations after each step are
        decoded from Dyn's prediction X'_{t+1} as in :meth:`rollout_many`. About 0.6 ms per re-encoded
        segment on 2 cores, so for a planner's few best candidates (`PlannerConfig.grounded_top_k`)."""
        assert points.dim() == 3 and mask.dim() == 1, "rollout_grounded takes one scene: points (N, P, 3), mask (N,)"
        k, h, _ = params.shape
        assert skills.shape == (h,) and acted.shape == (h,), f"skills/acted must be ({h},)"
        n = mask.shape[0]
        real = mask.nonzero(as_tuple=True)[0]
        feats = points.new_zeros(n, self.config.feat_dim)
        feats[real] = self.encoder(points[real])
        groupings = self.encoder.groupings(points[real])
        row = torch.full((n,), -1, dtype=torch.long)
        row[real] = torch.arange(len(real))  # object -> its row in `groupings`
        masks = mask.unsqueeze(0).expand(k, n)
        x = self.with_identity(feats.unsqueeze(0)).expand(k, n, -1)
        moved = points.new_zeros(k, n, 3)  # Σ δp so far
        pos0 = segment_centroids(points.unsqueeze(0), mask.unsqueeze(0)).expand(k, n, 3)
        latents, deltas, predicted = [x], [], []
        for t in range(h):
            if t > 0:
                x = self._regrounded(points, feats, groupings, row, moved, mask, moved_tol)
            x_next, dx = self.dynamics(x, masks, skills[t].expand(k), acted[t].expand(k), params[:, t],
                                       pos0 + moved)
            predicted.append(x_next)
            delta = self.decode_delta_pos(dx) * masks.unsqueeze(-1)
            deltas.append(delta)
            moved = moved + delta
        return self._rollout_output(latents + predicted, deltas, masks, pos0)

    def _regrounded(self, points: Tensor, feats: Tensor, groupings, row: Tensor, moved: Tensor, mask: Tensor,
                    tol: float) -> Tensor:
        """Latents (K, N, D) of the scene with each segment translated by `moved` (K, N, 3): the segments
        that moved by more than `tol` in some sample re-encoded, the rest keeping `feats` (N, F)."""
        k, n = moved.shape[:2]
        which = ((moved.norm(dim=-1) > tol).any(0) & mask).nonzero(as_tuple=True)[0]
        out = feats.unsqueeze(0).expand(k, n, -1)
        if len(which):
            rows = row[which]
            sub = [Grouping(*(None if g is None else g[rows] for g in grouping)) for grouping in groupings]
            clouds = points[which].unsqueeze(0) + moved[:, which].unsqueeze(2)  # (K, M, P, 3)
            f = self.encoder(clouds.flatten(0, 1), tile_groupings(sub, k)).reshape(k, len(which), -1)
            out = out.clone()
            out[:, which] = f
        return self.with_identity(out)

    def _rollout_latent(
        self, x: Tensor, mask: Tensor, pos0: Tensor, skills: Tensor, acted: Tensor, params: Tensor
    ) -> RolloutOutput:
        h = skills.shape[1]
        latents, deltas, pos = [x], [], pos0
        for t in range(h):
            x, dx = self.dynamics(x, mask, skills[:, t], acted[:, t], params[:, t], pos)
            latents.append(x)
            deltas.append(self.decode_delta_pos(dx) * mask.unsqueeze(-1))  # (B, N, 3)
            pos = pos + deltas[-1]
        return self._rollout_output(latents, deltas, mask, pos0)

    def _rollout_output(self, latents: list[Tensor], deltas: list[Tensor], mask: Tensor, pos0: Tensor) -> RolloutOutput:
        """X_0..X_H (each (B, N, D)), the H predicted δp (B, N, 3), mask (B, N) and the start positions (B, N, 3)
        -> the rollout's relation probabilities (every step decoded in one call) and positions."""
        lat = torch.stack(latents, dim=1)  # (B, H+1, N, D)
        b, h1, n, d = lat.shape
        unary, binary = self.relation_probs(lat.reshape(b * h1, n, d), mask.repeat_interleave(h1, dim=0))
        if deltas:
            steps = torch.cumsum(torch.stack(deltas, dim=1), dim=1)  # (B, H, N, 3)
            pos = torch.cat([pos0.unsqueeze(1), pos0.unsqueeze(1) + steps], dim=1)  # (B, H+1, N, 3)
        else:
            pos = pos0.unsqueeze(1)
        return RolloutOutput(unary=unary.reshape(b, h1, n, -1), binary=binary.reshape(b, h1, n, n, -1), pos=pos,
                             latent=lat, mask=mask)


def with_relative_bias(model: SkillEffectModel) -> SkillEffectModel:
    """A copy of `model` (built without it) with a fresh relative-geometry bias in Dyn
    (`ModelConfig.dyn_relative_bias`): every weight of `model` kept, the bias's last layer at zero, so
    the copy predicts exactly what `model` does until it is trained. Lets a learner fine-tune the bias
    into a child of a parent pre-trained without it."""
    if model.config.dyn_relative_bias:
        raise ValueError("the model already has a relative-geometry bias in Dyn")
    config = dataclasses.replace(model.config, dyn_relative_bias=True)
    with torch.random.fork_rng(devices=[]):  # the bias's hidden layers: the same start in every run
        torch.manual_seed(0)
        out = SkillEffectModel(config)
    missing, unexpected = out.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("dynamics_bias.") for k in missing), (missing, unexpected)
    return out.train(model.training)
