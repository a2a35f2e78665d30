"""Object-slot augmentation: a batch with its objects in other rows is the same transitions."""

from __future__ import annotations

import pytest
import torch
from f2p_model_testlib import make_batch, tiny_config

from f2p_model.augment import OBJECT_KEYS, random_slots, scatter_objects
from f2p_model.losses import transition_loss
from f2p_model.model import SkillEffectModel


def _model() -> SkillEffectModel:
    torch.manual_seed(0)
    return SkillEffectModel(tiny_config(max_objects=8)).eval()


def test_scattered_rows_hold_the_same_objects_relations_and_acted_object():
    model = _model()
    batch = make_batch(model.config, b=5, n=4, seed=1, n_real=[4, 3, 2, 4, 1])
    slot = random_slots(5, 4, 7, torch.Generator().manual_seed(0))
    out = scatter_objects(batch, slot, 7)
    assert all(out[k].shape[1] == 7 for k in OBJECT_KEYS)
    assert torch.equal(out["mask"].sum(1), batch["mask"].sum(1))
    for b in range(5):
        s = slot[b]
        for key, axes in OBJECT_KEYS.items():
            moved = out[key][b][s] if axes == 1 else out[key][b][s][:, s]
            assert torch.equal(moved, batch[key][b]), key
        assert int(out["acted"][b]) == int(s[batch["acted"][b]])
    free = ~torch.zeros(5, 7, dtype=torch.bool).scatter(1, slot, True)
    assert not out["mask"][free].any() and not out["points_t"][free].any()  # padding where no object went


def test_scattered_latents_are_the_encoding_of_the_scattered_clouds_and_the_loss_sees_the_same_transitions():
    model = _model()
    batch = make_batch(model.config, b=4, n=4, seed=2, n_real=[4, 2, 3, 4])
    with torch.no_grad():
        batch["latent_t"] = model.encode(batch["points_t"], batch["mask"])
        batch["latent_t1"] = model.encode(batch["points_t1"], batch["mask"])
    slot = random_slots(4, 4, 6, torch.Generator().manual_seed(3))
    out = scatter_objects(batch, slot, 6, model.identity, model.config.feat_dim)
    with torch.no_grad():
        torch.testing.assert_close(out["latent_t"], model.encode(out["points_t"], out["mask"]))
        torch.testing.assert_close(out["latent_t1"], model.encode(out["points_t1"], out["mask"]))
        cached, _ = transition_loss(model, out)
        plain, _ = transition_loss(model, {k: v for k, v in out.items() if not k.startswith("latent")})
    torch.testing.assert_close(cached, plain)
    with pytest.raises(ValueError, match="identity table"):
        scatter_objects(batch, slot, 6)
    with pytest.raises(ValueError, match="cannot hold"):
        random_slots(2, 5, 4, torch.Generator())


def test_kept_transitions_stay_in_their_rows_and_the_others_are_drawn_as_without_keep():
    keep = torch.tensor([True, False, True, False, False])
    slot = random_slots(5, 4, 7, torch.Generator().manual_seed(0), keep)
    free = random_slots(5, 4, 7, torch.Generator().manual_seed(0))
    assert torch.equal(slot[keep], torch.arange(4).expand(2, 4))
    assert torch.equal(slot[~keep], free[~keep])


def test_a_fixed_object_keeps_its_row_and_the_others_take_distinct_other_rows():
    fixed = torch.tensor([0, 2, 3, 1, 2, 0])
    pinned = torch.nn.functional.one_hot(fixed, 4).bool()
    slot = random_slots(6, 4, 9, torch.Generator().manual_seed(1), pinned=pinned)
    for b in range(6):
        k = int(fixed[b])
        assert int(slot[b, k]) == k and len(set(slot[b].tolist())) == 4
    assert (slot[torch.arange(6)[:, None], torch.arange(4)] >= 4).any()  # the others do leave rows 0..3


def test_pinned_objects_keep_their_rows_and_the_others_never_take_them():
    """The static objects of each transition (here rows 0-1 and, in one, row 3 too) stay; the rest
    are drawn among the other rows, all distinct, and do leave their own rows."""
    pinned = torch.zeros(40, 5, dtype=torch.bool)
    pinned[:, :2] = True
    pinned[7, 3] = True
    slot = random_slots(40, 5, 11, torch.Generator().manual_seed(2), pinned=pinned)
    assert torch.equal(slot[:, :2], torch.arange(2).expand(40, 2))
    assert int(slot[7, 3]) == 3
    for b in range(40):
        rows = slot[b].tolist()
        assert len(set(rows)) == 5 and all(r >= 2 for r in rows[2:])
    assert (slot[:, 2:] != torch.arange(2, 5)).any()
