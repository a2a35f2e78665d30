"""`f2p bench learner`: what each stage of learning from one failure costs, and what the particles
of Fail2Progress, Gradient and Sampling are worth, measured in one run on one event.

1. Fail2Progress particles (state SVGD, action SVGD): times, the share of R^F the model keeps
   under the state particles (satisfaction), the entropy objective of the actions, diversity.
   Timed `repeats` times (the particles are the same each time) and reported as the median: on a
   2-core VM one run of the same inference varied from 1.2 to 1.8 s.
2. Gradient (same objective, no kernel, same iterations): the same figures, timed alike, each of its
   runs right after one of Fail2Progress's.
3. Sampling: rejection sampling until the satisfaction and entropy that Fail2Progress reached
   (A.16 "until the same objective is met"); its time and number of draws.
4. The rest of the pipeline on the Fail2Progress particles: D+ simulation, fine-tuning,
   validation and publishing, each timed — "failure → published" is their sum plus step 1.

Goals (issue: Fail2Progress core): states + actions < 2 s for 20 particles; ≥ 20× faster than
Sampling; failure → published < 90 s on 2 CPU cores.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from f2p_learner.dplus import generate_dplus
from f2p_learner.finetune import FinetuneConfig, finetune_validate_publish
from f2p_learner.inference import InferenceConfig, failure_tensors
from f2p_learner.learner import LearnerConfig, fresh_work_dir, with_anchors
from f2p_learner.methods import MethodConfig, mean_pairwise_distance, propose
from f2p_learner.svgd import preload_optimizer
from f2p_model.store import ModelStore


@dataclass
class LearnerBenchConfig:
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    max_draws: int = 20000  # Sampling gives up after this many draws per stage
    heldout: str | None = None
    replay: str | None = None
    work_dir: str = "runs/bench_learner"
    anchors: int = LearnerConfig.anchors  # D+ as the learner makes it (LearnerConfig.anchors)
    repeats: int = 5  # timed runs of the Fail2Progress and Gradient inference (median reported)


def run(store: ModelStore, version: str, event, config: LearnerBenchConfig, progress=None) -> dict:
    say = progress or (lambda stage, message: None)
    preload_optimizer()  # as the learner node does at start-up: the first method timed would pay 2.3 s of imports
    model, meta = store.load(version)
    ft = failure_tensors(event, model)
    out: dict = {"event_id": event.event_id, "model": meta.version, "failure_relations": len(ft.failure_relations),
                 "objects": len(event.scene_before.names), "particles": config.inference.particles, "methods": {}}

    if config.repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {config.repeats}")

    def figures(p) -> dict:
        return {"times_s": p.times_s, "total_s": sum(p.times_s.values()), "satisfaction": p.satisfaction,
                "entropy": p.entropy, "diversity_m": mean_pairwise_distance(p.states, ft.movable & ft.mask),
                "draws": p.draws}

    def summarise(method: str, runs: list) -> tuple:
        """The first run's particles and figures, each stage's median time, every run's total."""
        first = runs[0]
        if any(not (r.states.equal(first.states) and r.actions.equal(first.actions)) for r in runs[1:]):
            raise RuntimeError(f"{method} gave different particles on the same seed")
        totals = [sum(r.times_s.values()) for r in runs]
        first.times_s = {k: statistics.median(r.times_s[k] for r in runs) for k in first.times_s}
        return first, figures(first) | {"total_s": statistics.median(totals), "runs_total_s": totals}

    # Fail2Progress and Gradient take turns, so a process that speeds up as it runs (its heap growing
    # to the working set) favours neither
    runs: dict[str, list] = {"fail2progress": [], "gradient": []}
    for i in range(config.repeats):
        say("inference", f"Fail2Progress (SVGD) and Gradient (no kernel): run {i + 1} of {config.repeats}")
        for method, done in runs.items():
            done.append(propose(method, model, ft, config.inference))
    f2p, out["methods"]["fail2progress"] = summarise("fail2progress", runs["fail2progress"])
    out["methods"]["gradient"] = summarise("gradient", runs["gradient"])[1]
    say("sampling", f"rejection sampling to satisfaction {f2p.satisfaction:.3f}, entropy {f2p.entropy:.3f}")
    mc = MethodConfig(target_satisfaction=f2p.satisfaction, target_entropy=f2p.entropy, max_draws=config.max_draws)
    samp = propose("sampling", model, ft, config.inference, mc)
    out["methods"]["sampling"] = figures(samp) | {
        "targets_met": bool(samp.satisfaction >= f2p.satisfaction - 1e-9 and samp.entropy >= f2p.entropy - 1e-9)}
    out["speedup_vs_sampling"] = out["methods"]["sampling"]["total_s"] / max(out["methods"]["fail2progress"]["total_s"],
                                                                             1e-9)

    work = fresh_work_dir(Path(config.work_dir) / event.event_id)
    t = time.perf_counter()
    say("simulate", "D+ from the Fail2Progress particles")
    states, actions = with_anchors(f2p.states, f2p.actions, ft.params, config.anchors)
    stats = generate_dplus(event, states.numpy(), actions.numpy(), work / "dplus",
                           n_points=model.config.n_points, seed=config.inference.seed, anchors=config.anchors)
    stages = dict(f2p.times_s)
    stages["simulate"] = time.perf_counter() - t
    t = time.perf_counter()
    say("finetune", f"{config.finetune.epochs} epochs, validate, publish")
    result = finetune_validate_publish(store, meta.version, [work / "dplus"], event, config.finetune,
                                       heldout=config.heldout, replay=config.replay, work_dir=work / "finetune")
    stages["finetune_validate_publish"] = time.perf_counter() - t
    out.update(stages_s=stages, failure_to_published_s=sum(stages.values()), dplus=stats.to_dict(),
               result=result.to_dict(), config=dataclasses.asdict(config))
    return out


def summary(r: dict) -> str:
    lines = [f"event {r['event_id']} (model {r['model']}, {r['objects']} objects, "
             f"{r['failure_relations']} failure relations, M = {r['particles']})",
             f"  {'method':<15}{'states s':>10}{'actions s':>11}{'total s':>9}{'satisf.':>9}{'entropy':>9}"
             f"{'divers. m':>11}{'draws':>14}"]
    for name, m in r["methods"].items():
        draws = "/".join(str(v) for v in m["draws"].values()) or "-"
        lines.append(f"  {name:<15}{m['times_s'].get('state_inference', 0):>10.2f}"
                     f"{m['times_s'].get('action_inference', 0):>11.2f}{m['total_s']:>9.2f}{m['satisfaction']:>9.3f}"
                     f"{m['entropy']:>9.3f}{m['diversity_m']:>11.4f}{draws:>14}")
    lines.append(f"  Fail2Progress is {r['speedup_vs_sampling']:.1f}x faster than Sampling "
                 f"(Sampling met the targets: {r['methods']['sampling']['targets_met']})")
    lines.append("  stages on the Fail2Progress particles: " + ", ".join(f"{k} {v:.1f} s" for k, v in
                                                                         r["stages_s"].items()))
    lines.append(f"  failure -> published: {r['failure_to_published_s']:.1f} s; D+ {r['dplus']['recorded']}/"
                 f"{r['dplus']['particles']} recorded, satisfaction "
                 f"{r['dplus']['failure_relation_satisfaction']:.1f} %,"
                 f" action std {r['dplus']['action_std_m']:.3f} m; {r['result']['version']}: {r['result']['reason']}")
    return "\n".join(lines)


__all__ = ["LearnerBenchConfig", "run", "summary"]
