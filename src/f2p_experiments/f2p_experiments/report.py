"""Tables and figures of one experiment, from its committed JSONL records alone (no model needed).

Which records count: those made from the pre-trained parent of the newest failure search (or, with
none, of the newest trial), and, for a learning method's trial, only when its weights are the ones
its learning run serves (`runner` docstring). Per cell and method: first-attempt success and
success within the replanning budget, each with a 95 % Wilson interval over all L × N trials, and
the spread of the first-attempt rate over learning seeds; per learning method the A.15 statistics
of D+, how many runs were validated, and the optimisation time (Fig. 6: state + action inference,
mean and std over learning seeds).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from f2p_experiments.config import ExperimentConfig
from f2p_experiments.records import FailureSearch, LearningRun, TrialResult
from f2p_experiments.runner import Paths, ResultLog
from f2p_monitor.stats import wilson_interval


@dataclass
class Rate:
    successes: int
    trials: int

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else float("nan")

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.trials)

    def text(self) -> str:
        if not self.trials:
            return "—"
        lo, hi = self.ci95
        return f"{self.value:.0%} [{lo:.0%}, {hi:.0%}]"


@dataclass
class CellRow:
    cell: str
    method: str
    first: Rate
    budget: Rate
    per_seed_first: dict[str, float] = field(default_factory=dict)  # learning seed -> first-attempt rate
    unmet: Counter = field(default_factory=Counter)  # relation -> count of unmet atoms (first attempt)
    goal_probability: float = float("nan")  # median belief in the first plan
    paper: float | None = None


@dataclass
class Report:
    config: ExperimentConfig
    parent_sha256: str
    rows: list[CellRow]
    learning: list[LearningRun]
    searches: list[FailureSearch]

    def to_dict(self) -> dict:
        return {
            "experiment": self.config.name, "parent_sha256": self.parent_sha256,
            "cells": [{"cell": r.cell, "method": r.method, "trials": r.first.trials,
                       "first_attempt": {"successes": r.first.successes, "rate": r.first.value, "ci95": r.first.ci95},
                       "within_budget": {"successes": r.budget.successes, "rate": r.budget.value,
                                         "ci95": r.budget.ci95},
                       "per_learning_seed_first_attempt": r.per_seed_first, "unmet_first": dict(r.unmet),
                       "median_goal_probability": r.goal_probability, "paper": r.paper} for r in self.rows],
            "learning": [run.to_dict() for run in self.learning],
            "failure_searches": [s.to_dict() for s in self.searches],
        }


def _parent(searches: list[FailureSearch], trials: list[TrialResult]) -> str:
    if searches:
        return searches[-1].parent_sha256
    return trials[-1].parent_sha256 if trials else ""


def build(config: ExperimentConfig, paths: Paths) -> Report:
    searches = list(ResultLog(paths.log("failures")).load().values())
    trials = list(ResultLog(paths.log("trials")).load().values())
    runs = list(ResultLog(paths.log("learning")).load().values())
    parent = _parent(searches, trials)
    searches = [s for s in searches if s.parent_sha256 == parent]
    events = {s.learning_seed: s.event_id for s in searches}
    runs = [r for r in runs if r.parent_sha256 == parent and events.get(r.spec.learning_seed) == r.event_id
            and r.learned_with(asdict(config.learner))]
    served = {(r.spec.method.value, r.spec.learning_seed): r.served_sha256 for r in runs}
    wanted = {s.key for s in config.trial_specs()}
    keep = []
    for t in trials:
        if t.parent_sha256 != parent or t.spec.key not in wanted or not t.made_with(asdict(config.trial)):
            continue
        if t.spec.method.learns and served.get((t.spec.method.value, t.spec.learning_seed)) != t.model_sha256:
            continue
        keep.append(t)
    by_cell: dict[tuple, list[TrialResult]] = defaultdict(list)
    for t in keep:
        by_cell[(t.spec.task, t.spec.n_objects, t.spec.camera, t.spec.noise, t.spec.perception,
                 t.spec.method.value)].append(t)
    rows = []
    for ci, cell in enumerate(config.cells):
        for m in config.methods:
            ts = by_cell.get((cell.task, cell.objects, cell.camera, cell.noise, cell.perception, m.value), [])
            per_seed: dict[str, list[bool]] = defaultdict(list)
            for t in ts:
                seed = t.spec.learning_seed if t.spec.learning_seed is not None else \
                    (t.spec.seed - config.trial_seed_base) // config.trials_per_seed
                per_seed[str(seed)].append(t.first_attempt_success)
            unmet = Counter(a.split("(")[0] for t in ts for a in t.unmet_first)
            probs = [t.goal_probability for t in ts if t.goal_probability == t.goal_probability]
            paper = config.paper.get(m.value, [None] * len(config.cells))[ci] if config.paper else None
            rows.append(CellRow(cell.label, m.value, Rate(sum(t.first_attempt_success for t in ts), len(ts)),
                                Rate(sum(t.success for t in ts), len(ts)),
                                {k: sum(v) / len(v) for k, v in sorted(per_seed.items())}, unmet,
                                statistics.median(probs) if probs else float("nan"), paper))
    return Report(config, parent, rows, sorted(runs, key=lambda r: (r.spec.method.value, r.spec.learning_seed)),
                  sorted(searches, key=lambda s: s.learning_seed))


def _mean_std(xs: list[float]) -> str:
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{xs[0]:.3g}"
    return f"{statistics.mean(xs):.3g} ± {statistics.stdev(xs):.2g}"


def markdown(report: Report, command: str) -> str:
    c = report.config
    lines = [f"### {c.name}: {c.description}", "",
             f"`{command}` · records: `experiments/results/{c.name}/*.jsonl` · parent weights "
             f"`{report.parent_sha256}` · replanning budget {c.trial.replan_budget} · K = {c.trial.planner_samples} "
             f"({c.trial.planner}) "
             f"· L = {c.learning_seeds} learning seeds × N = {c.trials_per_seed} fresh scenes per cell", ""]
    lines += ["First attempt (the plan as made, executed open loop) and within the budget; 95 % Wilson "
              "intervals over every trial of the cell; spread: lowest–highest first-attempt rate over "
              "learning seeds.", ""]
    lines += ["| cell | method | trials | first attempt | within budget | spread over seeds | paper |",
              "|---|---|---|---|---|---|---|"]
    for r in report.rows:
        spread = (f"{min(r.per_seed_first.values()):.0%}–{max(r.per_seed_first.values()):.0%}"
                  if r.per_seed_first else "—")
        paper = f"{r.paper:.0f} %" if r.paper is not None else ""
        lines.append(f"| {r.cell} | {r.method} | {r.first.trials} | {r.first.text()} | {r.budget.text()} | "
                     f"{spread} | {paper} |")
    if report.learning:
        lines += ["", "Learning runs (one per method and learning seed, all from the same event per seed; A.15 "
                  "statistics of D+; Fig. 6 optimisation time = state + action inference):", "",
                  "| method | runs | validated | A.15 satisfaction % | of the kept relations % | action std (m) "
                  "| failure relations right | optimisation s | failure → published s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        by_method: dict[str, list[LearningRun]] = defaultdict(list)
        for run in report.learning:
            by_method[run.spec.method.value].append(run)
        for m, rs in by_method.items():
            opt = [r.times_s.get("state_inference", 0) + r.times_s.get("action_inference", 0) for r in rs]
            total = [sum(r.times_s.values()) for r in rs]
            stats = [_mean_std([getattr(r, k) for r in rs if getattr(r, k) is not None])
                     for k in ("failure_satisfaction", "kept_satisfaction", "action_std_m", "failure_accuracy")]
            lines.append(f"| {m} | {len(rs)} | {sum(r.validated for r in rs)} | {' | '.join(stats)} | "
                         f"{_mean_std(opt)} | {_mean_std(total)} |")
    if report.searches:
        found = [s for s in report.searches if s.event_id]
        lines += ["", f"Failures learned from: {len(found)} of {len(report.searches)} learning seeds found one "
                  f"(scene seeds {', '.join(str(s.scene_seed) for s in found)}; "
                  f"{sum(len(s.tried) for s in report.searches)} scenes tried in all; the failed steps met on the "
                  f"way were classified {_classifications(report.searches)})."]
    return "\n".join(lines) + "\n"


def _classifications(searches) -> str:
    """How the failure classifier (paper §4) labelled every failed step of the searched scenes: under
    sensor noise more of them are Sim2Real gaps, which nothing learns from (Fig. 3b)."""
    counts: dict[str, int] = defaultdict(int)
    for s in searches:
        for tried in s.tried:
            for label in tried["classifications"]:
                counts[label] += 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def plot(report: Report, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = report.config
    cells = [cell.label for cell in c.cells]
    methods = [m.value for m in c.methods]
    rows = {(r.cell, r.method): r for r in report.rows}
    width = 0.8 / len(methods)
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 1.9 * len(cells) * 2), 4.2), sharey=True)
    for ax, which, title in ((axes[0], "first", "first attempt"), (axes[1], "budget",
                                                                   f"within {c.trial.replan_budget} replan(s)")):
        for k, m in enumerate(methods):
            xs, ys, lo, hi = [], [], [], []
            for i, cell in enumerate(cells):
                rate = getattr(rows[(cell, m)], which)
                if not rate.trials:
                    continue
                xs.append(i + (k - (len(methods) - 1) / 2) * width)
                ys.append(rate.value)
                lo.append(rate.value - rate.ci95[0])
                hi.append(rate.ci95[1] - rate.value)
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=m)
        ax.set_xticks(range(len(cells)), cells, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(title)
    axes[0].set_ylabel("success rate (95 % Wilson)")
    handles, labels = axes[0].get_legend_handles_labels()  # one row under both panels, over no bar
    fig.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize=8, frameon=False)
    fig.suptitle(f"{c.name} (parent {report.parent_sha256[:8]})", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    paths = [out / "success.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)
    if report.learning:
        by_method: dict[str, list[float]] = defaultdict(list)
        for run in report.learning:
            by_method[run.spec.method.value].append(run.times_s.get("state_inference", 0)
                                                    + run.times_s.get("action_inference", 0))
        names = list(by_method)
        means = [statistics.mean(by_method[n]) for n in names]
        stds = [statistics.stdev(by_method[n]) if len(by_method[n]) > 1 else 0.0 for n in names]
        fig, ax = plt.subplots(figsize=(max(4.8, 1.3 * len(names) + 2), 3.4))
        ax.bar(names, means, yerr=stds, capsize=4, color="#4C72B0")
        positive = [m for m in means if m > 0]
        if positive and max(positive) / min(positive) >= 10:  # Fig. 6's log axis, for times decades apart
            ax.set_yscale("log")
            ax.set_ylim(bottom=10 ** math.floor(math.log10(min(positive) / 2)))
            ax.set_ylabel("state + action inference (s, log)")
        else:  # a log axis over a narrow range cuts every bar at an arbitrary floor
            ax.set_ylim(bottom=0)
            ax.set_ylabel("state + action inference (s)")
        ax.set_title("Fig. 6: optimisation time (mean ± std over learning seeds)", fontsize=9)
        fig.tight_layout()
        paths.append(out / "optimisation_time.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


BEGIN, END = "<!-- BEGIN experiment:{} -->", "<!-- END experiment:{} -->"


def write(report: Report, paths: Paths, command: str, results_md: Path | None = None) -> list[Path]:
    """report.md, report.json and the PNGs into the results directory; the section of `results_md`
    between this experiment's markers replaced (appended when it has none)."""
    paths.results.mkdir(parents=True, exist_ok=True)
    md = markdown(report, command)
    out = [paths.results / "report.md", paths.results / "report.json"]
    out[0].write_text(md)
    out[1].write_text(json.dumps({"command": command, **report.to_dict()}, indent=1, default=str) + "\n")
    out += plot(report, paths.results)
    if results_md is not None:
        name = report.config.name
        begin, end = BEGIN.format(name), END.format(name)
        text = results_md.read_text() if results_md.is_file() else ""
        figures = " ".join(f"![{p.stem}](results/{name}/{p.name})" for p in out if p.suffix == ".png")
        section = f"{begin}\n{md}\n{figures}\n{end}"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + section + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        results_md.write_text(text)
        out.append(results_md)
    return out
