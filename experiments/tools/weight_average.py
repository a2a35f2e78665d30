"""Average the weights of several children of one parent (a "model soup", Wortsman et al., ICML 2022)
and publish the average as a new version of a store, scored like a learner's child: the failure
relations it predicts right and held-out F1 against the parent. A test of whether children that
differ only by their fine-tuning seed (experiments/tools/finetune_seeds.py) share one basin, whose
centre plans better than a single draw.

    python experiments/tools/weight_average.py --parent experiments/parent:v0001 \\
        --children runs/finetune_seeds/transport-l0/store-k{0,1,2,3,4}:v0002 \\
        --event runs/finetune_seeds/transport-l0/failures:<event> --heldout data/heldout_pretrain \\
        --out runs/soup-l0
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from f2p_bringup.model_cmd import parse_model_ref
from f2p_learner.finetune import failure_accuracy, heldout_f1
from f2p_learner.inference import effect_relations
from f2p_model.model import SkillEffectModel
from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore


def average(models: list[SkillEffectModel]) -> SkillEffectModel:
    """A model whose every floating-point parameter and buffer is the mean of `models`' (same config)."""
    states = [m.state_dict() for m in models]
    mean = {k: (torch.stack([s[k] for s in states]).mean(0) if states[0][k].is_floating_point() else states[0][k])
            for k in states[0]}
    out = SkillEffectModel(models[0].config)
    out.load_state_dict(mean)
    return out.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parent", required=True, help="STORE:VERSION of the parent")
    ap.add_argument("--children", nargs="+", required=True, help="STORE:VERSION of each child")
    ap.add_argument("--event", required=True, help="FAILURE_STORE:EVENT_ID the children learned from")
    ap.add_argument("--heldout", default="data/heldout_pretrain")
    ap.add_argument("--out", required=True, help="a new store: the parent, then the average as the next version")
    args = ap.parse_args()
    root, version = parse_model_ref(args.parent)
    parent, _ = ModelStore(root).load(version)
    children = [ModelStore(r).load(v)[0] for r, v in map(parse_model_ref, args.children)]
    soup = average(children)
    failures, _, event_id = args.event.rpartition(":")
    event = FailureStore(failures).load(event_id)
    relations = effect_relations(event, parent.eval())
    metrics = {"failure_accuracy": failure_accuracy(soup, event, relations), "children": args.children}
    for name, f1 in zip(("parent", "soup"), heldout_f1([parent, soup], args.heldout, shared_encoder=True),
                        strict=True):
        metrics.update({f"heldout_{k}_f1_{name}": v for k, v in f1.items()})
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    (out / "versions").mkdir(parents=True)
    shutil.copytree(Path(root) / "versions" / version, out / "versions" / version)
    # a diagnostic, never served: unvalidated (a named version still loads, e.g. `f2p eval original --version`)
    new = ModelStore(out).publish(soup, {"weight_average": {"children": args.children}}, parent=version,
                                  metrics=metrics, validated=False)
    print(f"{out}:{new}", {k: v for k, v in metrics.items() if k != "children"})


if __name__ == "__main__":
    main()
