"""`f2p eval perception` / `f2p eval noise`: registered under `f2p eval`, parameters, one tiny run."""

from __future__ import annotations

import json

import pytest

from f2p_bringup import cli, perception_cmd


def test_registered_under_eval_with_the_backends_of_the_registry(capsys):
    from f2p_perception.backends import BACKENDS

    assert set(perception_cmd.BACKEND_NAMES) == set(BACKENDS)
    for sub in ("perception", "noise"):
        with pytest.raises(SystemExit) as exc:
            cli.main(["eval", sub, "--help"])
        assert exc.value.code == 0
    assert "--sigmas" in capsys.readouterr().out


def test_backend_parameters_are_parsed():
    assert perception_cmd._params(["eps=0.01", "min_points=4", "dino_model=/m/g", "prompts=cup,table"]) == {
        "eps": 0.01, "min_points": 4, "dino_model": "/m/g", "prompts": ["cup", "table"]}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        perception_cmd._params(["eps"])


def test_a_tiny_sim_gt_run_writes_table_json_and_png(tmp_path, capsys):
    out = tmp_path / "p.json"
    assert cli.main(["eval", "perception", "--backend", "sim_gt", "--task", "organize", "--objects", "3",
                     "--trials", "1", "--width", "160", "--height", "120", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "organize" in text and "rel F1" in text
    data = json.loads(out.read_text())
    assert data["command"].startswith("f2p eval perception --backend sim_gt")
    assert data["rows"][0]["recall"] == 1.0 and len(data["trials"]) == 1
    assert out.with_suffix(".png").stat().st_size > 0


def test_a_bad_parameter_is_an_error_not_a_crash(tmp_path):
    assert cli.main(["eval", "perception", "--backend", "geometric", "--task", "organize", "--objects", "3",
                     "--trials", "1", "--param", "no_such=1", "--out", str(tmp_path / "p.json")]) == 2


def test_dino_sam_without_weights_says_what_to_pass(tmp_path, caplog):
    assert cli.main(["eval", "perception", "--backend", "dino_sam", "--task", "organize", "--objects", "3",
                     "--trials", "1", "--out", str(tmp_path / "p.json")]) == 2
    assert "--weights DINO_DIR SAM_PATH" in caplog.text and "never downloaded" in caplog.text
    missing = str(tmp_path / "nowhere")
    assert cli.main(["eval", "perception", "--backend", "dino_sam", "--weights", missing, missing, "--task",
                     "organize", "--objects", "3", "--trials", "1", "--out", str(tmp_path / "p.json")]) == 2
    assert "nowhere" in caplog.text and "does not exist" in caplog.text
    assert cli.main(["eval", "perception", "--backend", "geometric", "--weights", "a", "b", "--task", "organize",
                     "--out", str(tmp_path / "p.json")]) == 2
    assert cli.main(["eval", "noise", "--backend", "dino_sam", "--trials", "1", "--sigmas", "0",
                     "--out", str(tmp_path / "n.json")]) == 2  # the noise sweep checks the same way
