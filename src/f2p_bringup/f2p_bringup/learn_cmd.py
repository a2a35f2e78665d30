"""``f2p learn --event ID``: run Fail2Progress on one stored failure event."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from f2p_bringup import argtypes

log = logging.getLogger("f2p.learn")


def learn(args: argparse.Namespace) -> int:
    from f2p_learner.finetune import FinetuneConfig
    from f2p_learner.inference import InferenceConfig
    from f2p_learner.learner import Fail2ProgressLearner, LearnerConfig
    from f2p_model.store import ModelStore, ModelStoreError
    from f2p_monitor.failure_store import FailureStore, FailureStoreError

    try:
        event = FailureStore(args.failures).load(args.event)
    except FailureStoreError as exc:
        log.error("%s", exc)
        return argtypes.EXIT_USAGE
    config = LearnerConfig(method=args.method, inference=InferenceConfig(particles=args.particles),
                           finetune=FinetuneConfig(epochs=args.epochs, lr=args.lr, schedule=args.schedule,
                                                   replay_per_epoch=args.replay_per_epoch,
                                                   dplus_repeats=args.dplus_repeats,
                                                   position_power=args.position_power,
                                                   relative_bias=args.relative_bias,
                                                   freeze_encoder=not args.train_encoder), work_dir=args.work_dir,
                           heldout=args.heldout, replay=args.replay, anchors=args.anchors)
    learner = Fail2ProgressLearner(ModelStore(args.store), args.version, config,
                                   progress=lambda stage, frac, msg: print(f"[{frac:4.0%}] {stage}: {msg}"))
    try:
        out = learner.learn(event)
    except (ModelStoreError, ValueError) as exc:
        log.error("cannot learn from %s: %s", args.event, exc)
        return argtypes.EXIT_USAGE
    report = json.loads((Path(args.work_dir) / event.event_id / "report.json").read_text())
    print(json.dumps({"times_s": report["times_s"], "dplus": report["dplus"], "result": report["result"]}, indent=1))
    return 0 if out is not None else 3


def register(sub: argparse._SubParsersAction) -> None:
    from f2p_learner.methods import LEARNING_METHODS
    from f2p_model.config import SCHEDULES

    p = sub.add_parser("learn", help="learn from a stored failure event (SVGD, D+, fine-tune, validate, publish)")
    p.add_argument("--event", required=True, help="event id in the failure store")
    p.add_argument("--failures", default="failures", help="failure store directory")
    p.add_argument("--store", default="models", help="model store directory")
    p.add_argument("--version", default="latest", help="model version to start from")
    p.add_argument("--method", default="fail2progress", choices=LEARNING_METHODS,
                   help="Fail2Progress or a learning baseline of A.16 (f2p_learner.methods)")
    p.add_argument("--particles", type=argtypes.positive_int, default=20, help="M (A.5)")
    p.add_argument("--epochs", type=argtypes.positive_int, default=300,
                   help="fine-tuning epochs (finetune.FinetuneConfig's default; A.11: 200)")
    p.add_argument("--lr", type=argtypes.nonnegative_float, default=0.0,
                   help="fine-tuning Adam rate; 0: the rate the parent was trained with")
    p.add_argument("--schedule", default="cosine", choices=SCHEDULES,
                   help="fine-tuning rate: cosine (down to 5 %% over the epochs) or constant")
    p.add_argument("--replay-per-epoch", type=argtypes.nonnegative_int, default=96,
                   help="replay transitions drawn afresh each epoch from --replay (0: all of them)")
    p.add_argument("--dplus-repeats", type=argtypes.positive_int, default=4,
                   help="times D+ appears in each fine-tuning epoch (the replay once)")
    p.add_argument("--anchors", type=argtypes.nonnegative_int, default=8,
                   help="re-simulations of the failure itself added to D+ (LearnerConfig.anchors)")
    p.add_argument("--position-power", type=float, default=0.0, metavar="P",
                   help="power of the position loss in fine-tuning (0: the parent's, A.11's 0.5; 2 lets a large "
                        "missed displacement lead: experiments/RESULTS.md)")
    p.add_argument("--relative-bias", action="store_true",
                   help="fine-tune a relative-geometry attention bias into Dyn (FinetuneConfig.relative_bias)")
    p.add_argument("--train-encoder", action="store_true",
                   help="fine-tune the whole model, encoder included (A.11); default: Dyn and decoders only")
    p.add_argument("--heldout", default=None, help="held-out pre-training dataset (no-regression check)")
    p.add_argument("--replay", default=None, help="pre-training dataset mixed into fine-tuning")
    p.add_argument("--work-dir", default="runs/learn")
    p.set_defaults(func=learn)
