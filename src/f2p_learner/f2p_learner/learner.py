"""The Fail2Progress learner: one failure in, maybe one better model out (paper §4–5).

    state SVGD (Eq. 4/5) → action SVGD (Eq. 6/7) → D+ in simulation → fine-tune → validate → publish

`Fail2ProgressLearner.learn(event)` implements the executive's `Learner` interface: it returns the
new model and its version when validation passes, else None (the failed attempt stays in the store,
unvalidated, and its report on disk). Every call writes `report.json` (stage timings, A.15
statistics, validation metrics) into its own work directory, so a run can be inspected afterwards.
The *Gradient* baseline (A.16) is the same pipeline with `InferenceConfig(kernel="none")`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from f2p_learner.dplus import generate_dplus
from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish
from f2p_learner.inference import InferenceConfig, failure_tensors, infer_actions, infer_states
from f2p_model.store import ModelStore

log = logging.getLogger(__name__)

#: stage names, in order, as reported to progress callbacks (LearnFromFailure feedback)
STAGES = ("state_inference", "action_inference", "simulate", "finetune", "publish")


@dataclass
class LearnerConfig:
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    work_dir: str = "runs/learn"  # one sub-directory per event
    heldout: str | None = None  # held-out pre-training dataset for the no-regression check
    replay: str | None = None  # pre-training transitions mixed into fine-tuning (None: D+ only)


class Fail2ProgressLearner:
    def __init__(self, store: ModelStore, version: str, config: LearnerConfig | None = None,
                 progress: Callable[[str, float, str], None] | None = None):
        self.store, self.version = store, version
        self.config = config or LearnerConfig()
        self.progress = progress or (lambda stage, fraction, message: None)

    def learn(self, event):
        cfg = self.config
        work = Path(cfg.work_dir) / event.event_id
        work.mkdir(parents=True, exist_ok=True)
        times: dict[str, float] = {}
        report: dict = {"event_id": event.event_id, "parent": self.version, "config": asdict(cfg), "times_s": times}

        def stage(i: int, message: str) -> float:
            self.progress(STAGES[i], i / len(STAGES), message)
            return time.perf_counter()

        model, meta = self.store.load(self.version)
        self.version = meta.version  # "latest" resolved once, so the report names the real parent
        report["parent"] = meta.version
        ft = failure_tensors(event, model)
        t = stage(0, f"{cfg.inference.particles} state particles")
        states = infer_states(model, ft, cfg.inference).particles
        times["state_inference"] = time.perf_counter() - t
        t = stage(1, "action particles")
        actions = infer_actions(model, ft, states, cfg.inference).particles
        times["action_inference"] = time.perf_counter() - t
        t = stage(2, "simulating D+")
        stats = generate_dplus(event, states.numpy(), actions.numpy(), work / "dplus", n_points=model.config.n_points,
                               seed=cfg.inference.seed, method="fail2progress" if cfg.inference.kernel == "rbf"
                               else "gradient")
        times["simulate"] = time.perf_counter() - t
        report["dplus"] = stats.to_dict()
        t = stage(3, f"{cfg.finetune.epochs} epochs")
        result = finetune_validate_publish(self.store, meta.version, [work / "dplus"], event, cfg.finetune,
                                           heldout=cfg.heldout, replay=cfg.replay, work_dir=work / "finetune")
        times["finetune_validate_publish"] = time.perf_counter() - t
        report["result"] = result.to_dict()
        (work / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
        self.progress(STAGES[4], 1.0, f"{result.version}: {result.reason}")
        log.info("learned from %s: %s (%s)", event.event_id, result.version, result.reason)
        if not result.validated:
            return None
        self.version = result.version
        new_model, _ = self.store.load(result.version)
        return new_model, result.version
