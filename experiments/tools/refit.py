"""Fine-tune again on a learning run's saved D+ with other fine-tuning settings: the same failure
event, the same D+ and replay, only `FinetuneConfig` changed (`--set key=value`), so what a setting
does to the child is measured without the particles' chance. Prints and appends one JSON line per
variant: the validation metrics (failure relations right, held-out detection/prediction F1) and the
contents probe on held-out transport scenes (`f2p experiment probe`: the contents' and the acted
object's displacement slopes). Score the children on fresh scenes with per_scene.py.

    python experiments/tools/refit.py --run runs/finetune_seeds_p16/transport-l0 --k 0 \\
        --parent experiments/parent_slots16:v0001 --name rep384 --set object_slots=16 replay_per_epoch=384 \\
        --out experiments/results/transport-diagnostics/refit.jsonl

The child is published (validated or not) in `<run>/refit-<name>` (a child store of the parent).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from f2p_experiments.learning import child_store
from f2p_experiments.probe import probe_contents
from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish
from f2p_monitor.failure_store import FailureStore


def parse_sets(pairs: list[str]) -> dict:
    """key=value pairs -> FinetuneConfig overrides, each value cast to the field's type."""
    types = {f.name: f.type for f in dataclasses.fields(FinetuneConfig)}
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise SystemExit(f"--set {key}: FinetuneConfig has no such field ({', '.join(types)})")
        kind = types[key] if isinstance(types[key], str) else types[key].__name__
        out[key] = (value.lower() in ("1", "true", "yes")) if kind == "bool" else \
            int(value) if kind == "int" else float(value) if kind == "float" else value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", help="a finetune_seeds.py work dir of one learning seed")
    ap.add_argument("--k", type=int, default=0, help="which fine-tuning seed's learning run holds the D+")
    ap.add_argument("--learning", help="or: a learning run's directory (report.json, dplus/), e.g. "
                    "runs/experiments/organize-dev/learn/points2plans-fail2progress-s1/<event_id>")
    ap.add_argument("--failures", help="with --learning: the failure store holding its event")
    ap.add_argument("--parent", required=True, help="STORE:VERSION the run learned from")
    ap.add_argument("--name", required=True)
    ap.add_argument("--set", nargs="*", default=[], dest="sets")
    ap.add_argument("--heldout", default="data/heldout_pretrain")
    ap.add_argument("--replay", default="data/replay_480")
    ap.add_argument("--probe", default="data/heldout_transport")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if bool(args.run) == bool(args.learning) or bool(args.learning) != bool(args.failures):
        raise SystemExit("give --run, or --learning with --failures")
    if args.run:
        run = Path(args.run)
        learning = sorted((run / f"k{args.k}").iterdir())[-1]  # <event_id>/ with dplus/ and report.json
        failures = run / "failures"
    else:
        learning, failures = Path(args.learning), Path(args.failures)
        run = learning.parent
    report = json.loads((learning / "report.json").read_text())
    event = FailureStore(failures).load(learning.name)
    cfg = FinetuneConfig(**{**report["config"]["finetune"], **parse_sets(args.sets)})
    root, _, version = args.parent.partition(":")
    store = child_store(Path(root), version, run / f"refit-{args.name}")
    t0 = time.perf_counter()
    result = finetune_validate_publish(store, version, [learning / "dplus"], event, cfg, heldout=args.heldout,
                                       replay=args.replay, work_dir=run / f"refit-{args.name}-work")
    seconds = time.perf_counter() - t0
    child, _ = store.load(result.version)
    probe = probe_contents(child, args.probe)
    row = {"run": str(run), "event_id": event.event_id, "name": args.name, "sets": parse_sets(args.sets),
           "child": f"{store.root}:{result.version}", "validated": result.validated,
           "metrics": result.metrics, "probe": probe.to_dict(), "seconds": round(seconds, 1),
           "finetune": dataclasses.asdict(cfg)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
    m = result.metrics
    print(f"{args.name}: validated {result.validated} ({result.reason}); failure right {m['failure_accuracy']:.2f}; "
          f"held-out prediction F1 {m.get('heldout_prediction_f1_parent', float('nan')):.3f} -> "
          f"{m.get('heldout_prediction_f1', float('nan')):.3f}; contents slope {probe.displacement_slope:.2f}, "
          f"acted {probe.acted_slope:.2f}; {seconds:.0f} s")


if __name__ == "__main__":
    main()
