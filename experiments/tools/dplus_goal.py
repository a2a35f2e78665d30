"""How much of each D+ shows what the transport goal needs: per learning run under a runner's work
directory, the rows (simulated transitions) whose carried items all end between the markers
(behind(item, marker_1) and front(item, marker_2) after the skill), whose items all end in the
container, and the spread of the placements along x and y.

Why: a learned child can only learn to place the bag between the markers if its D+ shows such
placements and their neighbours (experiments/RESULTS.md, "Why D+ misses the band").

    python experiments/tools/dplus_goal.py runs/experiments/transport-dev-moved/learn
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from f2p_sim import dataset
from f2p_sim.relations import BINARY


def dplus_goal_stats(dplus: Path) -> dict:
    """Counts of one D+ dataset (an `f2p_sim.dataset` directory)."""
    rec = dataset.load(dplus)
    front, behind, inside = (BINARY.index(r) for r in ("front", "behind", "inside"))
    rows, band, kept = len(rec["names"]), 0, 0
    for k in range(rows):
        names = [str(n) for n in rec["names"][k]]
        items = [i for i, n in enumerate(names) if n.startswith("item_")]
        m1, m2 = names.index("marker_1"), names.index("marker_2")
        b = rec["binary_t1"][k]
        band += all(b[i, m1, behind] and b[i, m2, front] for i in items)
        acted = int(rec["acted"][k])
        kept += all(b[i, acted, inside] for i in items)
    params = rec["params"][:, :2]
    return {"rows": rows, "items_between_markers": band, "items_in_container": kept,
            "dx_std_m": round(float(params[:, 0].std()), 3), "dy_std_m": round(float(params[:, 1].std()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("learn_dir", type=Path, help="a runner's learn/ directory (one sub-directory per run)")
    args = parser.parse_args()
    runs = sorted(p for p in args.learn_dir.glob("*/*/dplus") if (p / dataset.MANIFEST).is_file())
    if not runs:
        raise SystemExit(f"{args.learn_dir}: no D+ datasets (*/<event>/dplus)")
    for p in runs:
        print(json.dumps({"run": p.parent.parent.name, **dplus_goal_stats(p)}))


if __name__ == "__main__":
    main()
