"""`f2p demo` without a graph: its options reach the nodes (store, task, episode folders; a missing
held-out dataset turns the check off with a note), and the monitor's markers become step images."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from f2p_bringup import cli, demo_cmd
from f2p_bringup.demo_cmd import demo_graph
from f2p_bringup.demo_report import render_step, step_view

CONFIG = Path(__file__).resolve().parents[1] / "config" / "sim.yaml"


def args(**kw) -> argparse.Namespace:
    base = {"task": "organize", "seed": 3, "objects": 5, "store": "my_models", "config": str(CONFIG), "set": None,
            "perception": "sim_gt"}
    return argparse.Namespace(**(base | kw))


def test_demo_is_a_subcommand_with_its_options():
    ns = cli.build_parser().parse_args(["demo", "--task", "packing", "--timeout", "60"])
    assert ns.func.__module__ == "f2p_bringup.demo_cmd" and ns.task == "packing" and ns.timeout == 60.0
    assert ns.perception == "sim_gt"
    assert cli.build_parser().parse_args(["demo", "--perception", "geometric"]).perception == "geometric"


def test_the_options_reach_the_nodes_and_the_episode_keeps_its_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # config/sim.yaml's heldout and replay data do not exist here: made, small
    monkeypatch.setattr(demo_cmd, "LEARNER_DATASETS", (("heldout", 3, 99), ("replay", 2, 7)))
    graph, notes = demo_graph(args(set=["planner.num_samples=50"]), tmp_path / "run")
    p = {name: node.parameters for name, node in graph.nodes.items()}
    assert (p["sim_robot"]["task"], p["sim_robot"]["seed"], p["sim_robot"]["n_objects"]) == ("organize", 3, 5)
    assert p["planner"]["model_store"] == p["learner"]["model_store"] == "my_models"
    assert p["monitor"]["failures_dir"] == p["learner"]["failures_dir"] == str(tmp_path / "run" / "failures")
    assert p["learner"]["work_dir"] == str(tmp_path / "run" / "learn") and p["planner"]["num_samples"] == 50
    assert p["learner"]["heldout"] == "data/heldout_pretrain" and p["learner"]["replay"] == "data/replay_480"
    assert (tmp_path / "data/heldout_pretrain/manifest.json").is_file() and (tmp_path / "data/replay_480").is_dir()
    assert any("heldout" in n for n in notes) and any("replay" in n for n in notes)
    assert not any("work_dir" in n for n in notes)  # the demo's own settings are not news
    assert p["perception"]["backend"] == "sim_gt" and p["sim_robot"]["ground_truth_labels"] is True
    graph, _ = demo_graph(args(perception="geometric"), tmp_path / "run2")  # no label anywhere in perception
    p = {name: node.parameters for name, node in graph.nodes.items()}
    assert (p["perception"]["backend"], p["perception"]["task_names"]) == ("geometric", True)
    assert p["sim_robot"]["ground_truth_labels"] is False


def test_monitor_markers_become_a_step_image(tmp_path):
    from f2p_core.failure import Mismatch
    from f2p_core.relations import BINARY, UNARY
    from f2p_monitor.markers_layout import relation_lines
    from f2p_ros.markers import box_markers, relation_markers

    names = ["table_B", "cup_1"]
    lo, hi = np.array([[0.0, 0.0, 0.0], [0.1, 0.1, 0.45]]), np.array([[0.6, 0.6, 0.45], [0.2, 0.2, 0.55]])
    pu, pb = np.zeros((2, len(UNARY))), np.zeros((2, 2, len(BINARY)))
    pb[1, 0, BINARY.index("on")] = 0.8
    ou, ob = np.zeros((2, len(UNARY)), bool), np.zeros((2, 2, len(BINARY)), bool)
    array = box_markers(names, lo, hi, ["table", "cup"], "world", ns="objects")
    array.markers.extend(relation_markers(relation_lines(names, lo, hi, ("on",), (pu, pb), (ou, ob),
                                                         [Mismatch("on", "cup_1", "table_B", 0.8, False)])))
    view = step_view(array)
    assert [b.name for b in view.boxes] == names
    assert {k: len(v) for k, v in view.layers.items()} == {"predicted": 1, "failures": 1}
    assert view.layers["failures"][0].text.startswith("on(cup_1, table_B)")
    out = render_step(view, tmp_path / "step_0.png", "after step 0")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_timeline_says_whether_a_failure_is_learned_from():
    from f2p_bringup.graph_config import apply_overrides, load_graph

    graph = load_graph(CONFIG)
    assert demo_cmd.learning_note(graph) == "learning"
    off, _ = apply_overrides(graph, ["monitor.learn_from_failures=false"])
    assert "monitor.learn_from_failures is false" in demo_cmd.learning_note(off)
    graph.nodes.pop("learner")
    assert "no learner node" in demo_cmd.learning_note(graph)


def test_a_step_page_shows_the_goal_table_and_the_outlined_objects(tmp_path):
    from f2p_bringup.episode_report import StepPage, goal_rows, outlines, render_step_page, write_html
    from f2p_core.goal import Goal

    goal = Goal.parse("on(cup_1, table_B) & not inside(cup_1, box_1) & on(ghost_1, table_B)")
    rows = goal_rows(goal.atoms, {("on", "cup_1", "table_B"): 0.8, ("inside", "cup_1", "box_1"): 0.3},
                     {("inside", "cup_1", "box_1")}, {"cup_1", "box_1", "table_B"})
    assert [(r.predicted, r.observed, r.mismatch, r.satisfied) for r in rows] == [
        (0.8, False, True, False), (0.3, True, True, False), (None, None, False, None)]
    labels = np.full((40, 60), 0xFFFFFFFF, np.uint32)
    labels[10:20, 5:15], labels[25:35, 30:50] = 0, 1
    assert set(outlines(labels, {0: "cup_1", 1: "box_1", 2: "unseen_1"})) == {"cup_1", "box_1"}
    page = StepPage(0, "pick_place(cup_1, table_B)", [("dx", 0.1), ("dy", -0.2)], "ok", "v0002", rows,
                    ["on(cup_1, table_B): predicted 0.80"], np.full((40, 60, 3), 128, np.uint8), labels,
                    {0: "cup_1", 1: "box_1"})
    assert page.title.startswith("step 0: pick_place(cup_1, table_B) [dx +0.100, dy -0.200] → ok")
    image = render_step_page(page, tmp_path / "step_0.png")
    html = write_html(tmp_path, {"id": "x", "task": {"goal": goal.text}, "result": {"success": False},
                                 "timeline": [{"t_s": 1.0, "stage": "failure", "step": 0, "message": "<b>"}]},
                      [{"index": 0, "title": page.title, "image": image.name, "relations": None}]).read_text()
    assert "src='step_0.png'" in html and "&lt;b&gt;" in html and "dataset.loaded" in html
