"""The four training losses of A.11 for one transition (O_t, φ_t(a_t), O_{t+1}).

    L = L_detection + L_regularization + L_pos + L_prediction

* ``L_detection = CE(R̂_t, R_t)``: relations decoded from Enc(O_t);
* ``L_regularization = ||X_{t+1} − X'_{t+1}||²``: X_{t+1} = Enc(O_{t+1}), X'_{t+1} = Dyn(Enc(O_t), φ(a));
* ``L_pos = b·sqrt(a·||δp − (p_{t+1} − p_t)||)``, a = 12, b = 5;
* ``L_prediction = CE(R'_{t+1}, R_{t+1})`` with R'_{t+1} decoded from X'_{t+1}.

Each relation is an independent binary variable: CE is the binary cross-entropy on its logit,
averaged over real objects (unary) and over ordered pairs of distinct real objects (binary);
the unary and binary means are added. Padded objects and the diagonal i == j never contribute.

Departures, each for a reason:
* regularisation is the *mean* squared error over real objects and the D latent features (the
  paper's squared norm divided by D, as Points2Plans's ``MSELoss``): a sum over 256 features would
  outweigh the other three terms;
* by default the target Enc(O_{t+1}) is detached (``LossConfig.stop_grad_target``, see there);
* the position loss is per object, averaged over real objects, with ``eps`` under the norm's
  square root (Points2Plans takes one sqrt of the batch-mean L1 error instead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from f2p_model.config import LossConfig
from f2p_model.model import SkillEffectModel, segment_centroids

#: Keys of a training batch (the dataset contract), all stacked along B.
BATCH_KEYS: tuple[str, ...] = (
    "points_t", "points_t1", "mask", "skill", "acted", "params",
    "unary_t", "binary_t", "pos_t", "unary_t1", "binary_t1", "pos_t1",
)
#: Optional batch keys: X_t = Enc(O_t) and X_{t+1} = Enc(O_{t+1}) (B, N, D), encoded beforehand by a
#: frozen encoder (`TransitionDataset.attach_latents`); when present the loss does not encode.
LATENT_KEYS: tuple[str, str] = ("latent_t", "latent_t1")


def pair_mask(mask: Tensor) -> Tensor:
    """Ordered pairs (i, j) of distinct real objects: mask (B, N) -> (B, N, N) bool."""
    n = mask.shape[1]
    eye = torch.eye(n, dtype=torch.bool, device=mask.device)
    return mask.unsqueeze(2) & mask.unsqueeze(1) & ~eye


def masked_bce(logits: Tensor, target: Tensor, valid: Tensor, pos_weight: Tensor | None = None) -> Tensor:
    """Mean BCE-with-logits over the entries where ``valid`` (broadcast over the last axis) is True;
    ``pos_weight`` (K,) weights the positive term of each relation (see LossConfig)."""
    assert logits.shape == target.shape, f"logits {tuple(logits.shape)} vs target {tuple(target.shape)}"
    assert valid.shape == logits.shape[:-1], f"valid {tuple(valid.shape)} vs logits {tuple(logits.shape)}"
    per = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none",
                                             pos_weight=pos_weight)  # (..., K)
    w = valid.unsqueeze(-1).to(per.dtype)
    return (per * w).sum() / (w.sum() * per.shape[-1]).clamp_min(1.0)


def relation_loss(
    unary_logits: Tensor, binary_logits: Tensor, unary: Tensor, binary: Tensor, mask: Tensor,
    cfg: LossConfig | None = None,
) -> Tensor:
    """CE of unary (B, N, U) and binary (B, N, N, R) logits against bool ground truth."""
    uw = _weights(cfg.unary_pos_weight if cfg else (), unary_logits)
    bw = _weights(cfg.binary_pos_weight if cfg else (), binary_logits)
    return masked_bce(unary_logits, unary, mask, uw) + masked_bce(binary_logits, binary, pair_mask(mask), bw)


def _weights(values: tuple[float, ...], like: Tensor) -> Tensor | None:
    if not values:
        return None
    assert len(values) == like.shape[-1], f"{len(values)} pos weights for {like.shape[-1]} relations"
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def relation_pos_weights(unary: Tensor, binary: Tensor, mask: Tensor, cap: float) -> tuple[tuple[float, ...], ...]:
    """min(negatives / positives, cap) per relation over real objects (unary) and real pairs
    (binary): unary (S, N, U), binary (S, N, N, R), mask (S, N). A relation that never holds gets 1."""
    out = []
    for truth, valid in ((unary, mask), (binary, pair_mask(mask))):
        t = truth[valid].to(torch.float64)  # (M, K)
        pos = t.sum(0)
        neg = t.shape[0] - pos
        w = torch.where(pos > 0, (neg / pos.clamp_min(1)).clamp(1.0, cap), torch.ones_like(pos))
        out.append(tuple(float(v) for v in w))
    return out[0], out[1]


def latent_regularization(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean over real objects and features of (X'_{t+1} − X_{t+1})²: (B, N, D) x2, mask (B, N)."""
    assert pred.shape == target.shape, f"{tuple(pred.shape)} vs {tuple(target.shape)}"
    sq = ((pred - target) ** 2).mean(-1)  # (B, N)
    w = mask.to(sq.dtype)
    return (sq * w).sum() / w.sum().clamp_min(1.0)


def position_loss(delta_pos: Tensor, pos_t: Tensor, pos_t1: Tensor, mask: Tensor, cfg: LossConfig) -> Tensor:
    """Mean over real objects of b·(a·||δp − (p_{t+1} − p_t)||)^p (p = `LossConfig.pos_power`, A.11: 0.5);
    all (B, N, 3), mask (B, N).

    The norm is sqrt(Σe² + eps): finite gradient when the error is exactly zero.
    """
    assert delta_pos.shape == pos_t.shape == pos_t1.shape, "delta_pos, pos_t, pos_t1 must all be (B, N, 3)"
    err = delta_pos - (pos_t1 - pos_t)  # (B, N, 3)
    norm = torch.sqrt((err * err).sum(-1) + cfg.pos_eps)  # (B, N)
    scaled = cfg.pos_a * norm
    per = cfg.pos_b * (torch.sqrt(scaled) if cfg.pos_power == 0.5 else scaled ** cfg.pos_power)  # (B, N)
    w = mask.to(per.dtype)
    return (per * w).sum() / w.sum().clamp_min(1.0)


def transition_loss(
    model: SkillEffectModel, batch: Mapping[str, Tensor], cfg: LossConfig | None = None
) -> tuple[Tensor, dict[str, float]]:
    """Total loss of a batch of transitions and its parts (floats, for logging).

    ``batch`` holds :data:`BATCH_KEYS`: points_t / points_t1 (B, N, P, 3), mask (B, N) bool,
    skill / acted (B,) long, params (B, A), unary_* (B, N, U) bool, binary_* (B, N, N, R) bool,
    pos_* (B, N, 3); optionally :data:`LATENT_KEYS`.
    """
    cfg = cfg if cfg is not None else LossConfig()
    missing = [k for k in BATCH_KEYS if k not in batch]
    if missing:
        raise KeyError(f"batch lacks {missing}; a batch needs {list(BATCH_KEYS)}")
    mask = batch["mask"]
    b = mask.shape[0]
    assert batch["points_t"].shape == batch["points_t1"].shape, "points_t and points_t1 must have the same shape"

    if all(k in batch for k in LATENT_KEYS):  # a frozen encoder's latents: Enc is not run (nor trained)
        out = model.step(batch["latent_t"], mask, batch["skill"], batch["acted"], batch["params"],
                         segment_centroids(batch["points_t"], mask))
        target = batch["latent_t1"]
    else:
        out = model(batch["points_t"], mask, batch["skill"], batch["acted"], batch["params"])
        with torch.no_grad() if cfg.stop_grad_target else contextlib.nullcontext():
            target = model.encode(batch["points_t1"], mask)  # (B, N, D)

    parts_t = {
        "detection": relation_loss(out.unary_logits, out.binary_logits, batch["unary_t"], batch["binary_t"], mask,
                                   cfg),
        "regularization": latent_regularization(out.latent_next, target, mask),
        "position": position_loss(out.delta_pos, batch["pos_t"], batch["pos_t1"], mask, cfg),
        "prediction": relation_loss(
            out.unary_logits_next, out.binary_logits_next, batch["unary_t1"], batch["binary_t1"], mask, cfg
        ),
    }
    weights = {
        "detection": cfg.w_detection,
        "regularization": cfg.w_regularization,
        "position": cfg.w_position,
        "prediction": cfg.w_prediction,
    }
    total = sum(weights[k] * v for k, v in parts_t.items())
    assert isinstance(total, Tensor) and total.dim() == 0, f"loss over {b} transitions is not a scalar"
    parts = {k: float(v.detach()) for k, v in parts_t.items()}
    parts["total"] = float(total.detach())
    return total, parts
