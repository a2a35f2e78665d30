"""The `f2p demo` episode report a person can read (issue 16 §5): one figure per executed skill and
one HTML page per episode.

Per step (`StepPage`, from the monitor's /f2p/steps and the robot's camera image of the same
stamp): (a) the camera's colour image with each object's outline and name, drawn from the
per-pixel labels; (b) the goal's relations as a table: the probability the plan predicted after
the step, the value observed, mismatches in red; (c) the skill, its parameters and status in the
title. The full relation set stays a second figure (`demo_report.render_step`, relations_<k>.png).

``report.html`` lays out the task, the result, the timeline (failures with their classification,
the learner's stages, model versions) and every step's figures, all linked relatively so the
episode directory can be moved or served as it is. A small script marks on ``<body>`` how many
of the page's images loaded (``data-images``, ``data-loaded``), which the tests read in a
headless Chromium. ROS-free: the demo converts messages into these dataclasses.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from f2p_core.relations import THRESHOLD

MISMATCH_RED = "#d62728"


@dataclass(frozen=True)
class GoalRow:
    """One goal atom after a step: the predicted probability of its relation, the observed value."""

    atom: str                 # goal syntax, e.g. "inside(item_1, container_1)" or "not on(a, b)"
    predicted: float | None   # p(relation) the plan predicted after the step; None: not predicted
    observed: bool | None     # the relation observed after it; None: not observed (object unseen)
    negated: bool = False

    @property
    def mismatch(self) -> bool:
        """Predicted and observed truth of the relation differ (what the monitor calls a failure)."""
        return self.predicted is not None and self.observed is not None and (self.predicted >= THRESHOLD) \
            != self.observed

    @property
    def satisfied(self) -> bool | None:
        """The atom holds in the observation (a negated atom: the relation does not)."""
        return None if self.observed is None else self.observed != self.negated


@dataclass
class StepPage:
    """What the report shows of one executed skill."""

    index: int
    skill: str                                     # "pick_place(container_1, table_B)"
    parameters: list[tuple[str, float]]
    status: str                                    # "ok", "collision", ...
    model_version: str
    goal: list[GoalRow]
    mismatches: list[str] = field(default_factory=list)   # every mismatched relation, in words
    rgb: np.ndarray | None = None                  # (H, W, 3) uint8, the image after the step
    labels: np.ndarray | None = None               # (H, W) uint32 label values (NO_LABEL: none)
    label_names: dict[int, str] = field(default_factory=dict)  # label value -> object id

    @property
    def title(self) -> str:
        params = ", ".join(f"{n} {v:+.3f}" for n, v in self.parameters)
        return f"step {self.index}: {self.skill} [{params}] → {self.status} (model {self.model_version})"


def goal_rows(atoms, predicted: dict[tuple[str, str, str], float], observed: set[tuple[str, str, str]],
              seen: set[str]) -> list[GoalRow]:
    """Rows of the goal table: `atoms` (f2p_core.goal.GoalAtom), predicted probabilities keyed by
    (relation, subject, object), the observed true relations, and the objects the scene has."""
    rows = []
    for a in atoms:
        key = (a.relation, a.subject, a.object)
        known = a.subject in seen and (not a.object or a.object in seen)
        rows.append(GoalRow(a.text, predicted.get(key, 0.0) if known else None, (key in observed) if known else None,
                            a.negated))
    return rows


def outlines(labels: np.ndarray, label_names: dict[int, str]) -> dict[str, np.ndarray]:
    """Per object id, a boolean (H, W) mask of the pixels that show it (labels of no object are skipped)."""
    return {name: labels == value for value, name in label_names.items() if np.any(labels == value)}


def render_step_page(page: StepPage, path: str | Path) -> Path:
    """The step's figure: the image with outlined, named objects (left) and the goal table (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_img, ax_tab) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.15, 1]})
    if page.rgb is not None:
        ax_img.imshow(page.rgb)
        if page.labels is not None:
            colours = plt.get_cmap("tab10")
            for i, (name, mask) in enumerate(sorted(outlines(page.labels, page.label_names).items())):
                c = colours(i % 10)
                ax_img.contour(mask.astype(float), levels=[0.5], colors=[c], linewidths=1.4)
                rows, cols = np.nonzero(mask)
                ax_img.text(cols.mean(), rows.min() - 3, name, color="white", fontsize=8, ha="center", va="bottom",
                            bbox={"facecolor": c, "alpha": 0.8, "pad": 1.5, "edgecolor": "none"})
        ax_img.set_title("camera after the step", fontsize=10)
    else:
        ax_img.text(0.5, 0.5, "no camera image\n(sim_robot publish_image off or no OpenGL)", ha="center",
                    va="center", fontsize=10, color="0.4", transform=ax_img.transAxes)
    ax_img.set_axis_off()

    ax_tab.set_axis_off()
    cells = [[r.atom, "—" if r.predicted is None else f"{r.predicted:.2f}",
              "unseen" if r.observed is None else ("true" if r.observed else "false"),
              "—" if r.satisfied is None else ("yes" if r.satisfied else "no")] for r in page.goal]
    if cells:
        table = ax_tab.table(cellText=cells, colLabels=["goal atom", "predicted p", "observed", "atom holds"],
                             loc="upper center", cellLoc="left", colWidths=[0.52, 0.16, 0.16, 0.16])
        table.auto_set_font_size(False)
        table.set_fontsize(8.5)
        table.scale(1, 1.35)
        for k, r in enumerate(page.goal, start=1):
            if r.mismatch:
                for j in range(4):
                    table[k, j].set_facecolor("#fbd5d5")
                    table[k, j].get_text().set_color(MISMATCH_RED)
    n_mis = len(page.mismatches)
    ax_tab.set_title("goal relations: predicted after the step vs observed"
                     + (f" ({n_mis} relation(s) mismatched, red)" if n_mis else ""), fontsize=10)
    if page.mismatches:
        shown = "; ".join(page.mismatches[:6]) + (f"; … {n_mis - 6} more" if n_mis > 6 else "")
        ax_tab.text(0.0, 0.02, "mismatches: " + shown, fontsize=7.5, color=MISMATCH_RED, wrap=True,
                    transform=ax_tab.transAxes, va="bottom")
    fig.suptitle(page.title, fontsize=10.5)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


# --- report.html ------------------------------------------------------------------------------

PAGE_SCRIPT = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.images = images.length;
  document.body.dataset.loaded = images.filter((i) => i.complete && i.naturalWidth > 0).length;
});
</script>"""

STYLE = """<style>
body { font-family: sans-serif; margin: 1.5em; max-width: 1300px; }
table.timeline { border-collapse: collapse; font-size: 0.9em; }
table.timeline td, table.timeline th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
tr.failure td { color: #d62728; } tr.model td, tr.success td { color: #2ca02c; font-weight: bold; }
tr.learning td { color: #555; }
img.step { max-width: 100%; border: 1px solid #ccc; }
.result-ok { color: #2ca02c; } .result-failed { color: #d62728; }
</style>"""


def write_html(run_dir: Path, report: dict, steps: list[dict]) -> Path:
    """``report.html`` of an episode: `report` is report.json's content, `steps` one entry per step
    figure: {"index", "title", "image" (file name), "relations" (file name or None)}."""
    e = html.escape
    task = report.get("task") or {}
    result = report.get("result") or {}
    ok = bool(result.get("success"))
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>f2p episode {e(str(report.get('id', '')))}</title>", STYLE, "</head><body>",
             f"<h1>f2p episode {e(str(report.get('id', '')))}</h1>",
             f"<p><b>Task</b> ({e(str(task.get('distribution', '?')))}): <code>{e(str(task.get('goal', '?')))}</code>"
             f"<br><b>Skeleton</b>: {e(', '.join(task.get('skeleton', [])))}</p>",
             f"<p class='{'result-ok' if ok else 'result-failed'}'><b>Result</b>: "
             + (e("the goal holds") if ok else e(f"the goal does not hold: {result.get('error', '') or '?'}"))
             + f" — {result.get('num_failures', 0)} failure(s), {result.get('num_replans', 0)} replan(s); "
             f"model {e(str((report.get('model_versions') or {}).get('start')))} → "
             f"{e(str((report.get('model_versions') or {}).get('end')))}</p>"]
    if report.get("bag"):
        parts.append(f"<p>Recorded bag: <code>{e(str(report['bag']))}</code> (<code>f2p bag info</code>)</p>")
    parts.append("<h2>Timeline</h2><table class='timeline'><tr><th>t (s)</th><th>stage</th><th>step</th>"
                 "<th>what happened</th></tr>")
    for entry in report.get("timeline", []):
        stage = str(entry.get("stage", ""))
        step = "" if entry.get("step") is None else str(entry["step"])
        parts.append(f"<tr class='{e(stage)}'><td>{entry.get('t_s', '')}</td><td>{e(stage)}</td><td>{e(step)}</td>"
                     f"<td>{e(str(entry.get('message', '')))}</td></tr>")
    parts.append("</table><h2>Steps</h2>")
    if not steps:
        parts.append("<p>No skill was executed.</p>")
    for s in steps:
        parts.append(f"<h3 id='step-{s['index']}'>{e(s['title'])}</h3>"
                     f"<img class='step' src='{e(s['image'])}' alt='{e(s['title'])}'>")
        if s.get("relations"):
            parts.append(f"<p><a href='{e(s['relations'])}'>every relation predicted and observed after step "
                         f"{s['index']}</a></p>")
    parts.append("<p><a href='report.json'>report.json</a> · node logs in <code>logs/</code></p>")
    parts += [PAGE_SCRIPT, "</body></html>"]
    out = run_dir / "report.html"
    out.write_text("\n".join(parts) + "\n")
    return out
