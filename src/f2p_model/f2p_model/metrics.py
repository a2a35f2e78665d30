"""Relation F1: per relation, and the macro mean over the relations that occur.

A relation is predicted true where its probability is >= ``threshold`` (0.5). Counts run over
real objects for unary relations and over ordered pairs (i, j), i != j, of real objects for
binary ones; padding and the diagonal never count. Per relation::

    precision = tp / (tp + fp)    recall = tp / (tp + fn)    F1 = 2 tp / (2 tp + fp + fn)

A relation "occurs" if the ground truth holds it at least once (support > 0); the macro F1
averages those. A relation that never occurs has F1 0 if it was predicted somewhere, else
undefined (None), and is left out of the macro either way, so a vocabulary entry that a data set
never exercises (e.g. ``drawer_open`` without drawers) does not count as a perfect 1.

Two uses on a model (:func:`model_relation_f1`):

* detection: relations decoded from Enc(O_t) against R_t (step 0 of a rollout);
* prediction after one step: decoded from Dyn(Enc(O_t), φ(a)) against R_{t+1}.

Multi-step prediction F1 (after 1..H skills) needs chains of transitions from one scene; the
datasets hold independent single transitions, so only the 1-step version exists here. The
"copy" baseline predicts R_{t+1} = R_t (nothing changes), which is what a model that ignores the
skill scores: prediction F1 is only informative next to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from f2p_core.relations import THRESHOLD
from f2p_model.model import segment_centroids


def _pair_mask(mask: Tensor) -> Tensor:
    n = mask.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=mask.device)
    return mask.unsqueeze(-1) & mask.unsqueeze(-2) & ~eye  # (B, N, N)


def _counts(prob: Tensor, gt: Tensor, valid: Tensor, threshold: float) -> tuple[np.ndarray, ...]:
    """tp, fp, fn per last-axis column over the entries where ``valid`` (prob.shape[:-1]) holds."""
    assert prob.shape == gt.shape, f"probabilities {tuple(prob.shape)} vs ground truth {tuple(gt.shape)}"
    assert valid.shape == prob.shape[:-1], f"valid {tuple(valid.shape)} vs {tuple(prob.shape)}"
    k = prob.shape[-1]
    pred = (prob >= threshold)[valid].reshape(-1, k)  # (M, K)
    truth = gt.bool()[valid].reshape(-1, k)
    tp = (pred & truth).sum(0)
    fp = (pred & ~truth).sum(0)
    fn = (~pred & truth).sum(0)
    return tuple(t.cpu().numpy().astype(np.int64) for t in (tp, fp, fn))


class RelationF1:
    """Accumulates tp / fp / fn per relation over batches; :meth:`compute` gives the F1 report."""

    def __init__(self, unary_names: Sequence[str], binary_names: Sequence[str], threshold: float = THRESHOLD) -> None:
        self.unary_names = tuple(unary_names)
        self.binary_names = tuple(binary_names)
        self.threshold = threshold
        k = len(self.unary_names) + len(self.binary_names)
        self.tp = np.zeros(k, dtype=np.int64)
        self.fp = np.zeros(k, dtype=np.int64)
        self.fn = np.zeros(k, dtype=np.int64)

    @property
    def names(self) -> tuple[str, ...]:
        return self.unary_names + self.binary_names

    def update(self, unary_prob: Tensor, binary_prob: Tensor, unary_gt: Tensor, binary_gt: Tensor,
               mask: Tensor) -> RelationF1:
        """Add a batch: unary (B, N, U), binary (B, N, N, R) probabilities and bool ground truth, mask (B, N)."""
        mask = mask.bool()
        assert unary_prob.shape[-1] == len(self.unary_names), f"{unary_prob.shape[-1]} unary columns"
        assert binary_prob.shape[-1] == len(self.binary_names), f"{binary_prob.shape[-1]} binary columns"
        u = _counts(unary_prob, unary_gt, mask, self.threshold)
        b = _counts(binary_prob, binary_gt, _pair_mask(mask), self.threshold)
        self.tp += np.concatenate([u[0], b[0]])
        self.fp += np.concatenate([u[1], b[1]])
        self.fn += np.concatenate([u[2], b[2]])
        return self

    def merge(self, other: RelationF1) -> RelationF1:
        assert other.names == self.names, "cannot merge F1 counts over different relations"
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self

    def compute(self) -> dict[str, Any]:
        """``{"per_relation": {name: {kind, f1, precision, recall, support, predicted, tp, fp, fn}},
        "macro_f1", "unary_macro_f1", "binary_macro_f1", "n_occurring"}``; F1s are floats or None."""
        per: dict[str, dict[str, Any]] = {}
        n_u = len(self.unary_names)
        for k, name in enumerate(self.names):
            tp, fp, fn = int(self.tp[k]), int(self.fp[k]), int(self.fn[k])
            denom = 2 * tp + fp + fn
            per[name] = {
                "kind": "unary" if k < n_u else "binary",
                "f1": 2 * tp / denom if denom else None,
                "precision": tp / (tp + fp) if tp + fp else None,
                "recall": tp / (tp + fn) if tp + fn else None,
                "support": tp + fn,
                "predicted": tp + fp,
                "tp": tp, "fp": fp, "fn": fn,
            }

        def macro(kinds: tuple[str, ...]) -> float | None:
            f1s = [r["f1"] for r in per.values() if r["kind"] in kinds and r["support"] > 0]
            return float(np.mean(f1s)) if f1s else None

        return {
            "per_relation": per,
            "macro_f1": macro(("unary", "binary")),
            "unary_macro_f1": macro(("unary",)),
            "binary_macro_f1": macro(("binary",)),
            "n_occurring": sum(1 for r in per.values() if r["support"] > 0),
        }


def relation_f1(
    unary_prob: Tensor, binary_prob: Tensor, unary_gt: Tensor, binary_gt: Tensor, mask: Tensor,
    unary_names: Sequence[str], binary_names: Sequence[str], threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """One-shot :class:`RelationF1` over one batch."""
    return RelationF1(unary_names, binary_names, threshold).update(
        unary_prob, binary_prob, unary_gt, binary_gt, mask).compute()


@torch.no_grad()
def model_relation_f1(
    model: torch.nn.Module, batches: Iterable[Mapping[str, Tensor]], threshold: float = THRESHOLD,
) -> dict[str, RelationF1]:
    """Detection, 1-step prediction and copy-baseline counts of ``model`` over loss batches.

    Runs the model in eval mode (no dropout) and restores its previous mode.
    """
    cfg = model.config
    scores = {k: RelationF1(cfg.unary_names, cfg.binary_names, threshold)
              for k in ("detection", "prediction", "copy_baseline")}
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            mask = batch["mask"]
            # X_t: a frozen encoder's latents when the batch carries them (TransitionDataset.attach_latents)
            x = batch["latent_t"] if "latent_t" in batch else model.encode(batch["points_t"], mask)  # (B, N, D)
            u0, b0 = model.relation_probs(x, mask)
            x1, _ = model.dynamics(x, mask, batch["skill"], batch["acted"], batch["params"],
                                   segment_centroids(batch["points_t"], mask))
            u1, b1 = model.relation_probs(x1, mask)
            scores["detection"].update(u0, b0, batch["unary_t"], batch["binary_t"], mask)
            scores["prediction"].update(u1, b1, batch["unary_t1"], batch["binary_t1"], mask)
            scores["copy_baseline"].update(batch["unary_t"].float(), batch["binary_t"].float(),
                                           batch["unary_t1"], batch["binary_t1"], mask)
    finally:
        model.train(was_training)
    return scores
