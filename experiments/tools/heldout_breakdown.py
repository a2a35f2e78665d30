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
and of the changed ones it predicts unchanged (missed change). With --rows N ...: the model's held-out
1-step prediction macro F1 (what validation checks) with the same transitions' objects listed in other
rows, random rows of N (`f2p_model.augment`; "tables kept": the static objects stay in rows 0-1). A model
whose F1 falls there learned effects by row, not by object: the order of segments is an accident of
perception.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from f2p_model.augment import random_slots, scatter_objects, static_objects
from f2p_model.data import TransitionDataset, iter_batches
from f2p_model.metrics import THRESHOLD, model_relation_f1
from f2p_model.model import segment_centroids
from f2p_model.store import LATEST, ModelStore


def transition_kinds(data: list[str]) -> dict[tuple[str, int], str]:
    """(dataset path, record index) -> "skill: acted kind -> target kind" (kind: an object's name up to
    its first '_', e.g. cup, object, table), read from the shards' names."""
    from f2p_core.skills import SKILL_NAMES

    kinds = {}
    for path in data:
        for shard in sorted(Path(path).glob("shard_*.npz")):
            with np.load(shard) as z:
                for idx, names, skill, acted, target in zip(z["index"], z["names"], z["skill"], z["acted"],
                                                             z["target"], strict=True):
                    to = str(names[target]).split("_")[0] if target >= 0 else "-"
                    what = str(names[acted]).split("_")[0]
                    kinds[(str(Path(path)), int(idx))] = f"{SKILL_NAMES[int(skill)]}: {what} -> {to}"
    return kinds


def pair_groups(batch: dict, unary_names: tuple[str, ...], high_row: int) -> dict[str, torch.Tensor]:
    """(B, N, N) bool masks of the valid ordered pairs (i != j, both present) in each group."""
    mask = batch["mask"].bool()
    b, n = mask.shape
    valid = mask[:, :, None] & mask[:, None, :] & ~torch.eye(n, dtype=torch.bool)
    static = static_objects(batch, unary_names)
    acted = torch.zeros(b, n, dtype=torch.bool)
    acted[torch.arange(b), batch["acted"]] = True
    high = mask & (torch.arange(n) >= high_row)
    either = lambda m: m[:, :, None] | m[:, None, :]  # noqa: E731
    return {"all": valid, "with a static object": valid & either(static),
            "movable pairs": valid & ~either(static), "with the acted object": valid & either(acted),
            "without the acted object": valid & ~either(acted), f"with a row >= {high_row}": valid & either(high)}


@torch.no_grad()
def breakdown(model, ds: TransitionDataset, kinds: dict[tuple[str, int], str], high_row: int,
              batch_size: int = 64) -> dict[str, dict[str, float]]:
    """Per pair group (`pair_groups`, and per transition kind of `transition_kinds`): values, F1,
    spurious and missed change of the model's 1-step prediction."""
    sums: dict[str, np.ndarray] = {}
    model.eval()
    for rows, batch in iter_batches(ds, np.arange(len(ds)), batch_size, with_rows=True):
        mask = batch["mask"]
        x = model.encode(batch["points_t"], mask)
        x1, _ = model.dynamics(x, mask, batch["skill"], batch["acted"], batch["params"],
                              segment_centroids(batch["points_t"], mask))
        _, b1 = model.relation_probs(x1, mask)
        pred, before, after = b1 >= THRESHOLD, batch["binary_t"].bool(), batch["binary_t1"].bool()
        changed = before != after
        groups = pair_groups(batch, model.config.unary_names, high_row)
        sources = ds.source_of(rows)
        kind = [kinds[(str(ds.sources[int(src)].path), int(i))] for src, i in zip(sources, ds.arrays["index"][rows],
                                                                                strict=True)]
        for k in sorted(set(kind)):
            sel = torch.tensor([x == k for x in kind])
            groups[f"skill {k}"] = groups["all"] & sel[:, None, None]
        for name, group in groups.items():
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


def row_sensitivity(model, ds: TransitionDataset, slots: int, keep_static: bool, seed: int = 0,
                    batch_size: int = 64) -> float:
    """Held-out 1-step prediction macro F1 (`model_relation_f1`, what validation checks) with every
    transition's objects in random rows of `slots` (0: their own rows), the static ones kept in theirs
    with `keep_static`."""
    g = torch.Generator().manual_seed(seed)

    def batches():
        for plain in iter_batches(ds, np.arange(len(ds)), batch_size):
            if not slots:
                yield plain
                continue
            b, n = plain["mask"].shape
            width = max(slots, n)
            pinned = static_objects(plain, model.config.unary_names) if keep_static else None
            yield scatter_objects(plain, random_slots(b, n, width, g, pinned=pinned), width)

    return float(model_relation_f1(model, batches())["prediction"].compute()["macro_f1"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", required=True, help="held-out transition datasets")
    ap.add_argument("--model", nargs="+", required=True, help="STORE:VERSION ...")
    ap.add_argument("--high-row", type=int, default=8, help="rows from here count as high")
    ap.add_argument("--rows", type=int, nargs="*", default=[], metavar="N",
                    help="also score prediction macro F1 with the objects in random rows of N")
    args = ap.parse_args()
    torch.set_num_threads(2)
    kinds = transition_kinds(args.data)
    for ref in args.model:
        root, _, version = ref.partition(":")
        model, meta = ModelStore(root).load(version or LATEST)
        ds = TransitionDataset(args.data, model.config)
        print(f"{ref} ({'validated' if meta.validated else 'not validated'}):")
        for name, r in breakdown(model, ds, kinds, args.high_row).items():
            print(f"  {name:26s} values {r['values']:7d} (changed {r['changed']:5d})  F1 {r['f1']:.3f}  "
                  f"spurious change {r['spurious_change']:.4f}  missed change {r['missed_change']:.3f}")
        if args.rows:
            parts = [f"own rows {row_sensitivity(model, ds, 0, False):.3f}"]
            for n in args.rows:
                parts += [f"random rows of {n}, tables kept {row_sensitivity(model, ds, n, True):.3f}",
                          f"random rows of {n} {row_sensitivity(model, ds, n, False):.3f}"]
            print("  prediction macro F1: " + ", ".join(parts))


if __name__ == "__main__":
    main()
