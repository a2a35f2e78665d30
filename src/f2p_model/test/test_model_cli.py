"""``f2p model pretrain | eval | list`` end to end on a tiny real dataset and a tiny model."""

from __future__ import annotations

import json

import pytest
from f2p_model_testlib import generate_dataset, tiny_config

from f2p_bringup import cli
from f2p_bringup.model_cmd import parse_model_ref


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    model_cfg = root / "tiny.json"
    model_cfg.write_text(json.dumps(tiny_config(max_objects=14).to_dict()))
    return generate_dataset(root / "pre", 12), model_cfg


def test_pretrain_eval_list(data, tmp_path, capsys):
    ds, model_cfg = data
    out, store = tmp_path / "run", tmp_path / "models"
    argv = ["model", "pretrain", "--data", str(ds), "--epochs", "2", "--out", str(out), "--store", str(store),
            "--model-config", str(model_cfg), "--threads", "2", "--batch-size", "4", "--lr", "1e-3",
            "--val-fraction", "0.25", "--min-val-f1", "0", "--width", "24"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "trained 2 epochs" in text and f"published {store}:v0001 (validated)" in text
    assert (out / "metrics.csv").read_text().count("\n") == 3 and (out / "loss_curves.png").exists()
    assert cli.main(argv) == 0  # rerunning a finished run trains nothing and publishes nothing new
    assert f"published {store}:v0001" in capsys.readouterr().out

    res = tmp_path / "res.json"
    assert cli.main(["model", "eval", "--model", f"{store}:v0001", "--data", str(ds), "--out", str(res)]) == 0
    text = capsys.readouterr().out
    assert "in_contact" in text and "macro" in text and "detection" in text
    report = json.loads(res.read_text())
    sec = report["datasets"][str(ds)]
    assert sec["n"] == 12 and set(sec) >= {"detection", "prediction", "copy_baseline"}
    assert report["model"]["version"] == "v0001"
    assert cli.main(["model", "eval", "--model", str(store), "--data", str(ds), str(ds)]) == 0  # latest, 2 sets
    assert "all datasets" in capsys.readouterr().out

    assert cli.main(["model", "list", "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "v0001" in text and "yes" in text


def test_clear_errors(data, tmp_path, caplog):
    ds, _ = data
    assert cli.main(["model", "pretrain", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "not found" in caplog.text
    store = tmp_path / "models"
    (store / "versions" / "v0001").mkdir(parents=True)
    (store / "versions" / "v0001" / "meta.json").write_text("{not json")
    assert cli.main(["model", "eval", "--model", f"{store}:v0001", "--data", str(ds)]) == 2
    assert "corrupt version v0001" in caplog.text
    assert cli.main(["model", "eval", "--model", str(store), "--data", str(ds)]) == 2
    assert "no validated" in caplog.text


def test_pretrain_with_object_slots(data, tmp_path, capsys, caplog):
    ds, model_cfg = data
    argv = ["model", "pretrain", "--data", str(ds), "--epochs", "1", "--model-config", str(model_cfg),
            "--threads", "2", "--batch-size", "4", "--min-val-f1", "0", "--no-publish"]
    assert cli.main([*argv, "--out", str(tmp_path / "a"), "--object-slots", "14"]) == 0
    assert "trained 1 epochs" in capsys.readouterr().out
    assert cli.main([*argv, "--out", str(tmp_path / "b"), "--object-slots", "15"]) == 2  # the table has 14 rows
    assert "identity table" in caplog.text


def test_parse_model_ref():
    assert parse_model_ref("models") == ("models", "latest")
    assert parse_model_ref("models:v0003") == ("models", "v0003")
    assert parse_model_ref("/a/b:latest") == ("/a/b", "latest")
