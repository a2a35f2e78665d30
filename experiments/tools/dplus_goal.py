"""How much of each D+ shows what the transport goal needs: per learning run under a runner's work
directory, the rows (simulated transitions) whose carried items all end between the markers
(behind(item, marker_1) and front(item, marker_2) after the skill), whose items all end in the
container, the spread of the placements along x and y, where the box starts (its x range, how
many rows start it beyond the arm's reach), how many rows leave it where it was and how many put it
on table B, where the goal is. Rows include the re-simulations of the failure (anchors).

Why: a learned child can only learn to place the bag between the markers if its D+ shows such
placements and their neighbours (experiments/RESULTS.md, "Why D+ misses the band").

    python experiments/tools/dplus_goal.py runs/experiments/transport-dev-moved/learn
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from f2p_core.relations import BINARY
from f2p_sim import dataset
from f2p_sim.tasks import SPAWN_X, TABLE_CENTERS, TABLE_SIZE, TABLE_TOP_Z


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
    acted = rec["acted"].astype(int)
    before, after = rec["pos_t"][np.arange(rows), acted], rec["pos_t1"][np.arange(rows), acted]  # (rows, 3)
    moved = np.abs(after[:, :2] - before[:, :2]).sum(1) > 0.01
    cx, cy = TABLE_CENTERS["table_B"]
    on_b = ((np.abs(after[:, 0] - cx) < TABLE_SIZE[0] / 2) & (np.abs(after[:, 1] - cy) < TABLE_SIZE[1] / 2)
            & (after[:, 2] > TABLE_TOP_Z))
    return {"rows": rows, "items_between_markers": band, "items_in_container": kept,
            "dx_std_m": round(float(params[:, 0].std()), 3), "dy_std_m": round(float(params[:, 1].std()), 3),
            "box_start_x": [round(float(before[:, 0].min()), 3), round(float(before[:, 0].max()), 3)],
            "box_starts_beyond_reach": int((before[:, 0] > SPAWN_X[1] + 0.005).sum()),
            "box_not_moved": int((~moved).sum()), "box_ends_on_table_B": int(on_b.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("learn_dir", type=Path, help="a runner's learn/ directory (one sub-directory per run), "
                        "or a learner's work directory (finetune_seeds.py: runs/finetune_seeds*/<exp>-l<seed>/k<k>)")
    args = parser.parse_args()
    runs = sorted(p for pattern in ("*/*/dplus", "*/dplus") for p in args.learn_dir.glob(pattern)
                  if (p / dataset.MANIFEST).is_file())
    if not runs:
        raise SystemExit(f"{args.learn_dir}: no D+ datasets (*/<event>/dplus)")
    for p in runs:
        print(json.dumps({"run": str(p.parent.relative_to(args.learn_dir)), **dplus_goal_stats(p)}))


if __name__ == "__main__":
    main()
