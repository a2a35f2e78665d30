"""What fine-tuning can teach from a D+-sized dataset when the data is broad: N cup carries from N different
organize scenes (each cup carried holds at least one capsule; the other cups, capsules in them and loose
capsules stand wherever the scene put them; what the carry hides is kept as the executive believes it, as in
D+), fine-tuned with exactly the learner's fine-tuning settings of a config scale, then probed with
carry_probe.py. If this child tells contents from bystanders and the D+ children do
not, D+ is too narrow; if it does not either, fine-tuning is the limit (RESULTS.md, "The other cup's capsule").

    python experiments/tools/oracle_carries.py --config experiments/configs/organize.yaml \\
        --scale dev-slots16-contents --n 28 --seed 9 --failures FAILURE_STORE --event EVENT_ID \\
        --out runs/oracle_carries
    python experiments/tools/carry_probe.py --scenes 500000 30 --model runs/oracle_carries/store:v0002

The event only scores the child's failure relations (the learner's stop rule and gate report); the scenes are
drawn with seeds disjoint from the probe's (organize scenes by `--seed`, not trial seeds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from f2p_core.skills import SkillType
from f2p_core.task import SkeletonStep
from f2p_experiments.config import load, with_learner
from f2p_experiments.learning import child_store, learner_config
from f2p_learner.dplus import remember_unseen
from f2p_learner.finetune import finetune_validate_publish
from f2p_learner.methods import Method
from f2p_monitor.failure_store import FailureStore
from f2p_sim import tasks
from f2p_sim.dataset import write_records
from f2p_sim.permanence import contents
from f2p_sim.transitions import GenerationConfig, record_transition
from f2p_sim.world import World


def carries(n: int, seed: int, n_points: int) -> tuple[list[dict], GenerationConfig]:
    """`n` transitions, each a carry to table B of a cup holding a capsule, from its own organize scene."""
    config = GenerationConfig(distribution="organize", seed=seed, n_points=n_points)
    records, index = [], 0
    while len(records) < n:
        rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
        sample = tasks.sample("organize", rng, int(rng.integers(3, 8)))
        world = World(sample.scene)
        lo, hi = world.object_boxes()
        names = list(world.object_names)
        seen = np.ones(len(names), bool)
        full = [c for c in names if c.startswith("cup_") and contents(lo, hi, seen, names.index(c)).any()]
        if full:
            cup = str(rng.choice(full))
            call = tasks.sample_params(sample.scene, SkeletonStep(SkillType.PICK_PLACE, (cup, "table_B")), rng)
            rec = record_transition(sample.scene, call, config, rng, index)
            remember_unseen(rec, {}, call, rng)  # as the learner's D+ (a capsule hidden in its cup after the carry)
            records.append(rec)
        index += 1
    return records, config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--scale", default=None)
    ap.add_argument("--n", type=int, default=28)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--failures", required=True, help="failure store holding --event")
    ap.add_argument("--event", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--learner", nargs="*", default=[], metavar="KEY=VALUE",
                    help="learner settings over the config's, e.g. lr=0.001 epochs=1000")
    args = ap.parse_args()
    cfg = with_learner(load(args.config, args.scale or "full"), args.learner)
    finetune = learner_config(cfg.learner, Method.FAIL2PROGRESS, 0, args.out / "learn").finetune
    data = args.out.parent / f"oracle-carries-{args.n}-{args.seed}"  # shared by every --learner variant
    if not (data / "manifest.json").exists():
        records, gen = carries(args.n, args.seed, 128)
        write_records(data, records, gen)
    event = FailureStore(args.failures).load(args.event)
    store = child_store(Path(cfg.model.store), cfg.model.version, args.out / "store")
    t = time.perf_counter()
    res = finetune_validate_publish(store, cfg.model.version, [str(data)], event, finetune,
                                    heldout=cfg.learner.heldout, replay=cfg.learner.replay,
                                    work_dir=args.out / "finetune")
    print(f"fine-tuned {args.out / 'store'}:{res.version} in {time.perf_counter() - t:.0f} s: {res.reason} "
          f"{res.metrics}")


if __name__ == "__main__":
    main()
