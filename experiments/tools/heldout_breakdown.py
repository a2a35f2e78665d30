"""Where a child loses held-out prediction F1 against its parent: the pairs of every held-out transition
split by what they are, each group's errors for each model.

The learner refuses a child whose 1-step prediction F1 on held-out pre-training transitions falls by
more than the limit (`LearnerConfig`); this says where the loss is (RESULTS.md, "the rows a child never
saw"): pairs whose relations the skill changed (the effect) or not (the model should copy them), pairs
with a static object (a table), pairs with the acted object, and pairs with an object in a high row
(row >= --high-row).

    python experiments/tools/heldout_breakdown.py --data data/heldout_pretrain \\
        --model experiments/parent:v0001 runs/finetune_seeds_slots12d/transport-l0/store-k0:v0002

For each model and group: the binary relation values (pair x relation) in the group, F1 over them, and
the share of the copied values (true after = true before) the model predicts changed (spurious change)
and of the changed ones it predicts unchanged (missed change).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from f2p_model.data import TransitionDataset, iter_batches
from f2p_model.metrics import THRESHOLD
from f2p_model.store import LATEST, ModelStore


def pair_groups(batch: dict, movable_index: int, high_row: int) -> dict[str, torch.Tensor]:
    """(B, N, N) bool masks of the valid ordered pairs (i != j, both present) in each group."""
    mask = batch["mask"].bool()
    b, n = mask.shape
    valid = mask[:, :, None] & mask[:, None, :] & ~torch.eye(n, dtype=torch.bool)
    static = mask & ~batch["unary_t"][..., movable_index].bool()
    acted = torch.zeros(b, n, dtype=torch.bool)
    acted[torch.arange(b), batch["acted"]] = True
    high = mask & (torch.arange(n) >= high_row)
    either = lambda m: m[:, :, None] | m[:, None, :]  # noqa: E731
    return {"all": valid, "with a static object": valid & either(static),
            "movable pairs": valid & ~either(static), "with the acted object": valid & either(acted),
            "without the acted object": valid & ~either(acted), f"with a row >= {high_row}": valid & either(high)}


@torch.no_grad()
def breakdown(model, data: list[str], high_row: int, batch_size: int = 64) -> dict[str, dict[str, float]]:
    cfg = model.config
    ds = TransitionDataset(data, cfg)
    movable = cfg.unary_names.index("movable")
    sums: dict[str, np.ndarray] = {}
    model.eval()
    for batch in iter_batches(ds, np.arange(len(ds)), batch_size):
        mask = batch["mask"]
        x = model.encode(batch["points_t"], mask)
        x1, _ = model.dynamics(x, mask, batch["skill"], batch["acted"], batch["params"])
        _, b1 = model.relation_probs(x1, mask)
        pred, before, after = b1 >= THRESHOLD, batch["binary_t"].bool(), batch["binary_t1"].bool()
        changed = before != after
        for name, group in pair_groups(batch, movable, high_row).items():
            g = group[..., None].expand_as(after)
            counts = np.array([(g & pred & after).sum(), (g & pred & ~after).sum(), (g & ~pred & after).sum(),
                               (g & ~changed).sum(), (g & ~changed & (pred != before)).sum(),
                               (g & changed).sum(), (g & changed & (pred == before)).sum(), g.sum()], dtype=float)
            sums[name] = sums.get(name, 0) + counts
    out = {}
    for name, (tp, fp, fn, copied, spurious, chg, missed, total) in sums.items():
        out[name] = {"values": int(total), "f1": 2 * tp / max(2 * tp + fp + fn, 1),
                     "spurious_change": spurious / max(copied, 1), "missed_change": missed / max(chg, 1),
                     "changed": int(chg)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", required=True, help="held-out transition datasets")
    ap.add_argument("--model", nargs="+", required=True, help="STORE:VERSION ...")
    ap.add_argument("--high-row", type=int, default=8, help="rows from here count as high")
    args = ap.parse_args()
    torch.set_num_threads(2)
    for ref in args.model:
        root, _, version = ref.partition(":")
        model, meta = ModelStore(root).load(version or LATEST)
        print(f"{ref} ({'validated' if meta.validated else 'not validated'}):")
        for name, r in breakdown(model, args.data, args.high_row).items():
            print(f"  {name:26s} values {r['values']:7d} (changed {r['changed']:5d})  F1 {r['f1']:.3f}  "
                  f"spurious change {r['spurious_change']:.4f}  missed change {r['missed_change']:.3f}")


if __name__ == "__main__":
    main()
