import pytest

from f2p_bringup import cli, doctor


def test_help_lists_doctor(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "doctor" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "usage: f2p" in capsys.readouterr().out


def test_unknown_command_is_an_error():
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == 2


def test_failing_check_is_reported_with_its_hint(monkeypatch):
    def broken() -> doctor.Check:
        raise ImportError("libfoo.so.1: cannot open shared object file")

    checks = [("python", doctor.check_python, "h0"), ("foo", broken, "apt-get install foo")]
    monkeypatch.setattr(doctor, "CHECKS", checks)
    results = doctor.run_checks()
    assert [r.ok for r in results] == [True, False]
    assert "libfoo" in results[1].detail
    table = doctor.format_table(results)
    assert "FAILED" in table and "fix foo: apt-get install foo" in table


def test_exit_code_follows_checks(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "CHECKS", [("python", doctor.check_python, "")])
    assert cli.main(["doctor"]) == 0
    monkeypatch.setattr(doctor, "CHECKS", [("bad", lambda: doctor.Check("bad", False, "nope", "fix it"), "")])
    assert cli.main(["doctor"]) == 1
    assert "fix bad: fix it" in capsys.readouterr().out


def test_learner_flags_default_to_the_library_defaults():
    # the CLI spells the defaults out (importing torch to read them would slow every f2p command)
    from f2p_learner.finetune import FinetuneConfig
    from f2p_learner.inference import InferenceConfig
    from f2p_learner.learner import LearnerConfig

    parser = cli.build_parser()
    learn = parser.parse_args(["learn", "--event", "e"])
    bench = parser.parse_args(["bench", "learner"])
    inf, ft = InferenceConfig(), FinetuneConfig()
    assert (learn.particles, learn.epochs, learn.lr, learn.anchors) == (inf.particles, ft.epochs, ft.lr,
                                                                       LearnerConfig().anchors)
    assert (learn.schedule, learn.replay_per_epoch, learn.dplus_repeats) == (ft.schedule, ft.replay_per_epoch,
                                                                             ft.dplus_repeats)
    assert (learn.position_power, learn.relative_bias) == (ft.position_power, ft.relative_bias)
    assert not learn.train_encoder and not bench.train_encoder and ft.freeze_encoder
    assert (bench.particles, bench.state_iterations, bench.action_iterations, bench.epochs) == (
        inf.particles, inf.state_iterations, inf.action_iterations, ft.epochs)


def _bad_inputs(tmp: str) -> list[list[str]]:
    """One bad argument or file per subcommand (a missing store, dataset, event or config; a bad
    name; a negative count)."""
    missing = f"{tmp}/{{k}}/missing"
    bad_config = f"{tmp}/bad.yaml"
    with open(bad_config, "w") as f:
        f.write("experiment: t\nmethods: [guessing]\ncells: [{task: transport, objects: 3}]\n")
    return [
        ["eval", "original", "--camera", "view3"],
        ["eval", "original", "--camera-pose", "1,2,3"],
        ["eval", "original", "--trials", "-1"],
        ["eval", "original", "--store", missing, "--trials", "1"],
        ["eval", "perception", "--backend", "no_such_backend", "--trials", "1"],
        ["data", "generate", "--distribution", "juggling", "--n", "1", "--out", f"{tmp}/{{k}}/d"],
        ["data", "generate", "--n", "0", "--out", f"{tmp}/{{k}}/d"],
        ["data", "info", missing],
        ["model", "eval", "--model", missing, "--data", missing],
        ["model", "list", "--store", missing],
        ["model", "pretrain", "--data", missing, "--out", f"{tmp}/{{k}}/run", "--epochs", "1"],
        ["model", "pretrain", "--data", missing, "--out", f"{tmp}/{{k}}/run", "--epochs", "0"],
        ["learn", "--failures", missing, "--event", "e1"],
        ["experiment", "run", missing],
        ["experiment", "run", bad_config],
        ["experiment", "report", bad_config],
        ["bench", "learner", "--store", missing, "--failures", missing, "--event", "e1"],
        ["bench", "sim", "--n", "-3"],
        ["demo", "--objects", "0"],
        ["bringup", "sim", "--config", missing],
    ]


def test_bad_arguments_and_files_get_one_line_and_exit_code_2(tmp_path, capsys, caplog):
    """Issue 16 §3: a sentence naming what is wrong, exit code 2, no traceback. Each command gets its
    own folder: opening a model store makes it, so a missing path stays missing for one command only."""
    for k, template in enumerate(_bad_inputs(str(tmp_path))):
        argv = [a.replace("{k}", str(k)) for a in template]
        (tmp_path / str(k)).mkdir()
        caplog.clear()
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: usage and one "error:" line
            code = exc.code
        err = capsys.readouterr().err + caplog.text  # subcommands log their error line
        assert code == 2, f"f2p {' '.join(argv)} -> exit {code}: {err}"
        assert "Traceback" not in err and err.strip(), f"f2p {' '.join(argv)}: {err}"


def test_an_input_error_the_subcommand_does_not_catch_is_one_line_and_verbose_raises_it(monkeypatch, capsys):
    from f2p_bringup import eval_cmd

    def bad(args):
        raise ValueError("no such thing 'x'; choose from a, b")

    monkeypatch.setattr(eval_cmd, "original", bad)
    assert cli.main(["eval", "original"]) == 2
    assert capsys.readouterr().err.strip() == ("f2p eval: no such thing 'x'; choose from a, b "
                                               "(--verbose shows the traceback)")
    with pytest.raises(ValueError, match="no such thing"):
        cli.main(["--verbose", "eval", "original"])
