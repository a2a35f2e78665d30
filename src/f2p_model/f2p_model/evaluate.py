"""Relation F1 of a trained model on transition datasets, per dataset (:mod:`f2p_model.metrics`).

For each dataset directory: detection F1 (relations of O_t), 1-step prediction F1 (relations
after the recorded skill, from O_t and the skill) and the copy baseline (R_{t+1} = R_t), each
per relation and as the macro mean over the relations that occur in that dataset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from f2p_model.data import TransitionDataset, check_vocabulary, data_manifest_hash, iter_batches
from f2p_model.metrics import THRESHOLD, model_relation_f1
from f2p_model.model import SkillEffectModel

KINDS: tuple[str, ...] = ("detection", "prediction", "copy_baseline")


def evaluate(
    model: SkillEffectModel,
    data_paths: Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 64,
    statuses: Sequence[str] | None = None,
    threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """``{"datasets": {path: {"n", "data_hash", "detection", "prediction", "copy_baseline"}},
    "overall": {...}}``; each of the three is a :meth:`RelationF1.compute` report. ``overall``
    pools every dataset's counts (only when more than one dataset is given)."""
    check_vocabulary(model.config)
    out: dict[str, Any] = {"datasets": {}, "threshold": threshold}
    pooled = None
    with torch.no_grad():
        for path in data_paths:
            ds = TransitionDataset([path], model.config, statuses=statuses)
            rows = np.arange(len(ds))
            scores = model_relation_f1(model, iter_batches(ds, rows, batch_size), threshold)
            out["datasets"][str(path)] = {"n": len(ds), "data_hash": data_manifest_hash([path])} | {
                k: scores[k].compute() for k in KINDS}
            if pooled is None:
                pooled = scores
            else:
                for k in KINDS:
                    pooled[k].merge(scores[k])
    if pooled is not None and len(data_paths) > 1:
        out["overall"] = {"n": sum(d["n"] for d in out["datasets"].values())} | {
            k: pooled[k].compute() for k in KINDS}
    return out


def format_report(report: dict[str, Any]) -> str:
    """Plain-text tables: one per dataset, a row per relation, F1 of each kind; macro last."""
    lines = []
    sections = list(report["datasets"].items())
    if "overall" in report:
        sections.append(("all datasets", report["overall"]))
    for name, sec in sections:
        lines.append(f"{name}  ({sec['n']} transitions)")
        lines.append(f"  {'relation':<14}{'kind':<8}{'support':>9}{'detection':>11}{'prediction':>12}{'copy R_t':>10}")
        for rel, det in sec["detection"]["per_relation"].items():
            pred = sec["prediction"]["per_relation"][rel]
            copy = sec["copy_baseline"]["per_relation"][rel]
            lines.append(f"  {rel:<14}{det['kind']:<8}{det['support']:>9}{_f(det['f1']):>11}"
                         f"{_f(pred['f1']):>12}{_f(copy['f1']):>10}")
        lines.append(f"  {'macro':<14}{'':<8}{sec['detection']['n_occurring']:>9}"
                     f"{_f(sec['detection']['macro_f1']):>11}{_f(sec['prediction']['macro_f1']):>12}"
                     f"{_f(sec['copy_baseline']['macro_f1']):>10}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"
