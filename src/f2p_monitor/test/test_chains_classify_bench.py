"""Multi-step prediction F1 on simulated chains, and the classifier's confusion matrix on failures
whose cause is known."""

from __future__ import annotations

import pytest
from tiny import tiny_model as _tiny_model

from f2p_monitor.chains import ChainConfig, chain_f1, format_chains
from f2p_monitor.classify_bench import LABELS, ClassifyBenchConfig, confusion, format_confusion


def test_chains_score_every_step_reached_against_the_copy_baseline():
    report = chain_f1(_tiny_model(), ChainConfig("organize", n_chains=2, horizon=3, n_points=16))
    assert report["steps"], "organize has multi-step skeletons: at least step 1 is reached"
    assert [s["h"] for s in report["steps"]] == list(range(1, len(report["steps"]) + 1))
    for s in report["steps"]:
        assert s["n"] >= 1
        for kind in ("prediction", "copy_baseline"):
            f1 = s[kind]["macro_f1"]
            assert f1 is None or 0.0 <= f1 <= 1.0
    # copying R_0 is exact before anything moved, so after step 1 it cannot be perfect unless
    # nothing changed; the report says which chains were cut at a failed skill
    assert report["cut"] >= 0 and "copy R_0" in format_chains(report)


def test_chain_config_rejects_unknown_distributions():
    with pytest.raises(ValueError, match="unknown distribution"):
        ChainConfig("kitchen")


def test_confusion_matrix_counts_every_trial_once():
    r = confusion(ClassifyBenchConfig(trials=2, n_points=16))
    for truth in LABELS:
        assert sum(r["matrix"][truth].values()) + r["no_failure"][truth] == 2
    # a "nothing changes" prediction against ordinary physics is wrong whenever the skill moved
    # something, and simulation reproduces ordinary physics
    assert r["matrix"]["incorrect_prediction"]["incorrect_prediction"] >= 1
    assert "accuracy" in format_confusion(r)
