"""What a model predicts for the *contents* of the object a skill moves (issue 15 §4: "what the learned
model predicts on the fresh scenes it fails: detection or dynamics? which relations?").

Transport (and HTO's cups) is won or lost on one effect: the items inside the picked container go
where it goes. On every transition of a dataset, for each object inside the acted one before the
skill (simulator ground truth), `probe_contents` measures

* the **displacement slope**: the model's predicted planar displacement of the item (Dec_p on δX,
  A.11) projected on the true one, divided by the true one's squared length, for true moves longer
  than `min_move` (1 = moves with the container, 0 = stays where it was); the median over items, and
  the same for the acted object itself as a reference;
* the accuracy of the item's predicted **front/behind after the skill** against every object that is
  neither the acted one nor another content (tables, markers): what decides transport's goal;
* the accuracy of its predicted **inside after** (still in the container).

It reads datasets in the `f2p_sim` schema, so the same numbers can be had on held-out data of a task
(`data/heldout_transport`), on a learning run's D+ or on any other recorded transitions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from f2p_core.relations import BINARY, THRESHOLD
from f2p_model.data import TransitionDataset
from f2p_model.model import SkillEffectModel


@dataclass
class ContentsProbe:
    transitions: int  # transitions with at least one content
    contents: int  # (transition, content) pairs
    displacement_slope: float  # median, contents that truly moved more than min_move
    acted_slope: float  # median, acted objects that truly moved more than min_move
    front_behind_after: float  # accuracy over (content, other object, front|behind)
    inside_after: float  # accuracy of inside(content, acted) after the skill

    def to_dict(self) -> dict:
        return asdict(self)


def _slope(pred: torch.Tensor, true: torch.Tensor) -> float:
    return float((pred @ true) / (true @ true))


@torch.no_grad()
def probe_contents(model: SkillEffectModel, data: str, n_objects: int | None = None, min_move: float = 0.05,
                   batch_size: int = 32) -> ContentsProbe:
    """`ContentsProbe` of `model` on the dataset at `data` (only scenes of `n_objects` objects if given)."""
    model.eval()
    ds = TransitionDataset([data], model.config)
    rows = np.arange(len(ds)) if n_objects is None else np.nonzero(ds.n_objects == n_objects)[0]
    inside, front, behind = (BINARY.index(r) for r in ("inside", "front", "behind"))
    slopes, acted_slopes, fb, ins, with_contents = [], [], [], [], 0
    for start in range(0, len(rows), batch_size):
        b = ds.batch(rows[start:start + batch_size])
        out = model(b["points_t"], b["mask"], b["skill"], b["acted"], b["params"])
        _, after = model.relation_probs(out.latent_next, b["mask"])
        true_move = (b["pos_t1"] - b["pos_t"])[..., :2]
        pred_move = out.delta_pos[..., :2]
        for k in range(b["mask"].shape[0]):
            a = int(b["acted"][k])
            contents = b["binary_t"][k, :, a, inside] & b["mask"][k]
            if true_move[k, a].norm() > min_move:
                acted_slopes.append(_slope(pred_move[k, a], true_move[k, a]))
            items = contents.nonzero().flatten().tolist()
            with_contents += bool(items)
            others = [j for j in range(int(b["mask"][k].sum())) if j != a and not contents[j]]
            for i in items:
                if true_move[k, i].norm() > min_move:
                    slopes.append(_slope(pred_move[k, i], true_move[k, i]))
                for r in (front, behind):
                    fb += [bool(after[k, i, j, r] >= THRESHOLD) == bool(b["binary_t1"][k, i, j, r]) for j in others]
                ins.append(bool(after[k, i, a, inside] >= THRESHOLD) == bool(b["binary_t1"][k, i, a, inside]))

    def median(x: list[float]) -> float:
        return float(np.median(x)) if x else float("nan")

    def mean(x: list[bool]) -> float:
        return float(np.mean(x)) if x else float("nan")

    return ContentsProbe(with_contents, len(ins), median(slopes), median(acted_slopes), mean(fb), mean(ins))


__all__ = ["ContentsProbe", "probe_contents"]
