"""Object-slot augmentation for training batches: the same transitions with the objects in other rows.

The order of a scene's objects is an accident of perception (the order segments are listed in), yet
the model's latent X^i = PointConv(O^i) ⊕ ID_i carries the row index i (A.11), so Dyn can learn an
effect *by row*: "rows 3–5 move when row 2 is picked". A D+ holds one failure's scene (paper §5.3:
the same objects, moved by the state particles), so every D+ transition has the container in row 2
and its items in rows 3–5, and nothing in it tells the model that the effect belongs to *what is
inside the picked object*, not to those rows. Measured on a transport failure (experiments/RESULTS.md):
the child of the pre-trained model moves the items with their container in held-out scenes with 3
items (slope of predicted on true displacement 0.72) and not at all with 5 or 7 (0.02 over all).

`scatter_objects` puts each transition's objects into random distinct rows of a wider batch (the
padding goes where the objects are not), consistently for every per-object tensor: clouds or their
frozen-encoder latents (whose identity part is then the new row's), masks, relations before and
after, positions and the acted object's index. Nothing about the transition changes but the rows,
so a model that is right on one ordering should be right on all of them; training on fresh
orderings every step asks Dyn for the effect of the *interaction*, wherever the objects sit.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from f2p_model.losses import LATENT_KEYS

#: per-object tensors of a batch and the object axes they have beyond the batch axis: 1 = (B, N, ...),
#: 2 = (B, N, N, ...) (pairs)
OBJECT_KEYS: dict[str, int] = {
    "points_t": 1, "points_t1": 1, "mask": 1, "unary_t": 1, "unary_t1": 1, "pos_t": 1, "pos_t1": 1,
    "binary_t": 2, "binary_t1": 2,
}


def static_objects(batch: Mapping[str, Tensor], unary_names: tuple[str, ...]) -> Tensor:
    """(B, N) bool: the real objects of a batch that cannot move (unary `movable` false before the skill:
    the tables), the ones `RunOptions.object_slots_static` False keeps in their rows."""
    return batch["mask"].bool() & ~batch["unary_t"][..., unary_names.index("movable")].bool()


def random_slots(batch_size: int, n: int, slots: int, generator: torch.Generator,
                 keep: Tensor | None = None, pinned: Tensor | None = None) -> Tensor:
    """(B, n) long: for each transition, n distinct rows out of `slots`, uniformly at random; the
    transitions `keep` (B,) marks stay in their own rows 0..n-1 (their draws are made all the same,
    so which transitions are kept does not change the others' rows). `pinned` (B, n) bool: in each
    transition those objects keep their own rows and the others are drawn, in order, among the
    remaining ones (the acted object, `RunOptions.object_slots_acted`; the static objects,
    `RunOptions.object_slots_static`)."""
    if slots < n:
        raise ValueError(f"{slots} slots cannot hold a batch of {n} objects")
    draws = [torch.randperm(slots, generator=generator) for _ in range(batch_size)]
    if pinned is None:
        slot = torch.stack([d[:n] for d in draws])
    else:
        slot = torch.empty(batch_size, n, dtype=torch.long)
        own = torch.arange(n)
        for b, d in enumerate(draws):
            pin = pinned[b]
            free = ~pin
            slot[b, pin] = own[pin]
            slot[b, free] = d[~torch.isin(d, own[pin])][: int(free.sum())]
    if keep is not None:
        slot[keep] = torch.arange(n)
    return slot


def scatter_objects(batch: Mapping[str, Tensor], slot: Tensor, slots: int, identity: Tensor | None = None,
                    feat_dim: int = 0) -> dict[str, Tensor]:
    """`batch` with object k of transition b moved to row slot[b, k] of `slots` rows.

    Latents (`LATENT_KEYS`, frozen-encoder training) are PointConv features ⊕ identity: their
    feature part moves with the object and the identity part is recomputed for the new rows from
    `identity` (the model's (max_objects, id_dim) table; `feat_dim` = the feature size), so the
    result equals encoding the moved clouds. Padded rows hold zeros and mask False, as in a batch."""
    b = batch["mask"].shape[0]
    rows = torch.arange(b).unsqueeze(1)  # (B, 1)
    out = dict(batch)
    for key, axes in OBJECT_KEYS.items():
        if key not in batch:
            continue
        old = batch[key]
        new = old.new_zeros((b, slots, *([slots] if axes == 2 else []), *old.shape[1 + axes:]))
        if axes == 1:
            new[rows, slot] = old
        else:
            new[rows.unsqueeze(2), slot.unsqueeze(2), slot.unsqueeze(1)] = old
        out[key] = new
    out["acted"] = slot.gather(1, batch["acted"].unsqueeze(1)).squeeze(1)
    present = [k for k in LATENT_KEYS if k in batch]
    if present:
        if identity is None or identity.shape[0] < slots:
            raise ValueError(f"latent batches need the model's identity table with at least {slots} rows")
        ids = identity[:slots].unsqueeze(0).expand(b, -1, -1)
        for key in present:
            feats = batch[key][..., :feat_dim]
            moved = feats.new_zeros((b, slots, feat_dim))
            moved[rows, slot] = feats * batch["mask"].unsqueeze(-1)
            out[key] = torch.cat([moved, ids.to(moved.dtype)], dim=-1)
    return out


__all__ = ["OBJECT_KEYS", "random_slots", "scatter_objects", "static_objects"]
