"""What each learning method's particles look like on a failure event, before anything is simulated:
the share of R^F the model keeps under the state particles (over the relations Eq. 4 keeps), the mean
pairwise distance of the state particles (`methods.mean_pairwise_distance`, the diversity the kernel
adds) and the spread of every movable object's planar offset, the mean entropy of Eq. 7's relations
under the action particles (what the action posterior raises), the std of the actions' planar
parameters, and the state and total time. Variants of `InferenceConfig` are given as `name=value`
overrides, one set per `--variant`; the methods are Fail2Progress and, with `--gradient`, the Gradient
baseline (every variant), and with `--sampling` the Sampling baseline at the defaults (slow: up to
20,000 draws per stage).

    python experiments/tools/proposal_stats.py --model experiments/parent:v0001 \\
        --event runs/experiments/transport/failures:20261204T200335-5e81f7a0 \\
        --variant "" --variant action_starts=64 --variant init_spread=0.08 --sampling
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from f2p_bringup.model_cmd import parse_model_ref
from f2p_learner.inference import InferenceConfig, action_relations, failure_tensors
from f2p_learner.methods import Method, mean_pairwise_distance, propose
from f2p_model.store import ModelStore
from f2p_monitor.failure_store import FailureStore


def parse_variant(text: str) -> dict[str, object]:
    """`"a=1,b=0.5"` -> {"a": 1, "b": 0.5}, typed by `InferenceConfig`'s fields."""
    types = {f.name: f.type for f in dataclasses.fields(InferenceConfig)}
    out: dict[str, object] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, _, value = item.partition("=")
        if key not in types:
            raise SystemExit(f"unknown InferenceConfig field {key!r}: one of {', '.join(types)}")
        kind = {"int": int, "float": float}.get(getattr(types[key], "__name__", types[key]), str)
        out[key] = kind(value)
    return out


def row(label: str, method: Method, model, ft, config: InferenceConfig) -> str:
    t = time.perf_counter()
    p = propose(method.value, model, ft, config)
    moving = ft.movable & ft.mask
    spread = p.states[:, moving, :2].std(0).mean(-1)  # (movable,) metres
    spread_txt = " ".join(f"{v:.3f}" for v in spread.tolist())
    action_std = float(p.actions[:, :2].std(0).mean())
    return (f"{method.value} | {label or 'defaults'} | {p.satisfaction:.3f} | "
            f"{mean_pairwise_distance(p.states, moving):.3f} | {spread_txt} | {p.entropy:.3f} | {action_std:.3f} | "
            f"{p.times_s['state_inference']:.1f} | {time.perf_counter() - t:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="STORE[:VERSION] of the model that failed")
    ap.add_argument("--event", required=True, action="append", help="FAILURE_STORE:EVENT_ID (repeatable)")
    ap.add_argument("--variant", action="append", default=None, help='InferenceConfig overrides "a=1,b=2"')
    ap.add_argument("--gradient", action="store_true", help="also the Gradient baseline, every variant")
    ap.add_argument("--sampling", action="store_true", help="also the Sampling baseline at the defaults")
    args = ap.parse_args()
    store, version = parse_model_ref(args.model)
    model, _ = ModelStore(store).load(version)
    for ref in args.event:
        root, _, event_id = ref.rpartition(":")
        event = FailureStore(root).load(event_id)
        ft = failure_tensors(event, model)
        names = [n for n, m in zip(event.scene_before.names, (ft.movable & ft.mask).tolist(), strict=True) if m]
        print(f"\n{event_id}: {len(ft.failure_relations)} failure relations, "
              f"{len(action_relations(ft, InferenceConfig().action_relations))} in Eq. 7's entropy")
        print(f"method | variant | R^F kept | pairwise distance (m) | planar spread (m) of {', '.join(names)} | "
              f"entropy (nats) | action std (m) | states s | s")
        methods = [Method.FAIL2PROGRESS] + ([Method.GRADIENT] if args.gradient else [])
        for text in args.variant or [""]:
            for method in methods:
                print(row(text, method, model, ft, InferenceConfig(**parse_variant(text))), flush=True)
        if args.sampling:
            print(row("", Method.SAMPLING, model, ft, InferenceConfig()))


if __name__ == "__main__":
    main()
