"""Can Dyn fit a handful of carries at all, and what does the position loss's power ask of it?

For a dataset of carries (`oracle_carries.py` writes one: a cup carried to table B with a capsule inside), per
power p of A.11's position loss b·(a·‖e‖)^p (`LossConfig.pos_power`; fine-tuning: `FinetuneConfig.position_power`):

* the gradient of the loss on the predicted displacements at the parent, per kind of object (the acted cup, its
  contents, everything else): which objects the first steps of fine-tuning listen to;
* full-batch fine-tuning on these rows alone (encoder frozen, as the learner does), reporting every fifth of the
  steps the acted object's and the contents' displacement error and the displacement predicted for the rest.

    python experiments/tools/fit_carries.py --data runs/oracle-carries-28-9 --powers 0.5 1 2 --steps 400

A power whose fine-tuning leaves the contents at 0 m cannot teach "contents move with their container" however
broad D+ is (RESULTS.md, "The position loss's power decides what a child can learn").
"""

from __future__ import annotations

import argparse
import copy
import dataclasses

import numpy as np
import torch

from f2p_bringup.model_cmd import parse_model_ref
from f2p_model.config import LossConfig
from f2p_model.data import TransitionDataset, iter_batches
from f2p_model.losses import position_loss, transition_loss
from f2p_model.model import SkillEffectModel, segment_centroids, with_relative_bias
from f2p_model.store import ModelStore
from f2p_model.train import encode_records

MOVED_M = 0.05  # an object displaced more than this in the data moved


def kinds(batch: dict) -> dict[str, torch.Tensor]:
    """(B, N) masks: the acted object, the other objects that moved (the contents), everything else."""
    mask = batch["mask"]
    moved = (batch["pos_t1"] - batch["pos_t"]).norm(dim=-1) > MOVED_M
    acted = torch.zeros_like(mask)
    acted[torch.arange(mask.shape[0]), batch["acted"]] = True
    return {"acted": acted & mask, "contents": moved & ~acted & mask, "others": ~moved & ~acted & mask}


def step_output(model: SkillEffectModel, batch: dict):
    return model.step(batch["latent_t"], batch["mask"], batch["skill"], batch["acted"], batch["params"],
                      segment_centroids(batch["points_t"], batch["mask"]))


def gradient_shares(model: SkillEffectModel, batch: dict, loss_cfg: LossConfig) -> dict[str, float]:
    """Mean ‖∂L_pos/∂δp‖ per kind of object at the model's current prediction."""
    with torch.no_grad():
        dp = step_output(model, batch).delta_pos
    dp.requires_grad_(True)
    position_loss(dp, batch["pos_t"], batch["pos_t1"], batch["mask"], loss_cfg).backward()
    norm = dp.grad.norm(dim=-1)
    return {k: float(norm[m].mean()) for k, m in kinds(batch).items()}


def errors(model: SkillEffectModel, batch: dict) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        dp = step_output(model, batch).delta_pos
    model.train()
    err = (dp - (batch["pos_t1"] - batch["pos_t"])).norm(dim=-1)
    k = kinds(batch)
    return {"acted_err": float(err[k["acted"]].mean()), "contents_err": float(err[k["contents"]].mean()),
            "contents_pred": float(dp.norm(dim=-1)[k["contents"]].mean()),
            "others_pred": float(dp.norm(dim=-1)[k["others"]].mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a transition dataset of carries (oracle_carries.py)")
    ap.add_argument("--model", default="experiments/parent_slots16:v0001", metavar="STORE[:VERSION]")
    ap.add_argument("--powers", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--relative-bias", action="store_true", help="fine-tune with Dyn's relative-geometry bias")
    args = ap.parse_args()
    torch.set_num_threads(2)
    root, version = parse_model_ref(args.model)
    parent, meta = ModelStore(root).load(version)
    base_loss = LossConfig.from_dict(meta.configs["loss"])
    # the encoder stays frozen: the rows' latents are the parent's for every power
    ds = TransitionDataset([args.data], parent.config)
    ds.attach_latents(*encode_records(parent, ds, 64))
    batch = next(iter(iter_batches(ds, np.arange(len(ds)), len(ds))))
    counts = {k: int(m.sum()) for k, m in kinds(batch).items()}
    print(f"{args.model}: {counts}", flush=True)
    for power in args.powers:
        torch.manual_seed(0)
        model = with_relative_bias(parent) if args.relative_bias else copy.deepcopy(parent)
        loss_cfg = dataclasses.replace(base_loss, pos_power=power)
        grads = gradient_shares(model, batch, loss_cfg)
        print(f"power {power}: gradient on δp per object at the parent: "
              + ", ".join(f"{k} {v:.3f}" for k, v in grads.items()), flush=True)
        model.encoder.requires_grad_(False)
        model.train()
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
        for step in range(1, args.steps + 1):
            loss, _ = transition_loss(model, batch, loss_cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % max(1, args.steps // 5) == 0:
                e = errors(model, batch)
                print(f"  step {step}: acted error {e['acted_err']:.3f} m, contents error {e['contents_err']:.3f} m "
                      f"(predicted {e['contents_pred']:.3f} m), the rest predicted {e['others_pred']:.3f} m",
                      flush=True)


if __name__ == "__main__":
    main()
