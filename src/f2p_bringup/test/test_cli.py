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
    assert not learn.train_encoder and not bench.train_encoder and ft.freeze_encoder
    assert (bench.particles, bench.state_iterations, bench.action_iterations, bench.epochs) == (
        inf.particles, inf.state_iterations, inf.action_iterations, ft.epochs)
