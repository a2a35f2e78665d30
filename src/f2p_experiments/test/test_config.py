"""Experiment configs: every committed one loads in every scale; bad ones are refused naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from f2p_experiments.config import ConfigError, from_dict, load, with_learner
from f2p_experiments.learning import FAILURE_SEED_BASE, failure_seeds
from f2p_learner.methods import Method

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "experiments" / "configs").glob("*.yaml"))

BASE = {"experiment": "t", "methods": ["original", "fail2progress"], "cells": [{"task": "transport", "objects": 3}],
        "learning_seeds": 2, "trials_per_seed": 3}


def test_committed_configs_load_in_every_scale():
    assert CONFIGS, "no experiment config found"
    import yaml

    for path in CONFIGS:
        scales = ["full", *((yaml.safe_load(path.read_text()) or {}).get("scales") or {})]
        assert "smoke" in scales, f"{path.name} has no smoke scale (CI runs it)"
        for scale in scales:
            c = load(path, scale)
            assert c.trial_specs() and c.name


@pytest.mark.parametrize("change, field", [
    ({"methods": ["original", "guessing"]}, "methods[1]: unknown method 'guessing'"),
    ({"cells": [{"task": "juggling", "objects": 3}]}, "cells[0].task: unknown task 'juggling'"),
    ({"cells": [{"task": "transport", "objects": 3, "camera": "view9"}]}, "cells[0].camera: unknown camera 'view9'"),
    ({"cells": [{"task": "transport", "objects": 0}]}, "cells[0].objects must be >= 1"),
    ({"cells": [{"task": "transport", "objects": 3, "perception": "yolo"}]},
     "cells[0].perception: unknown backend 'yolo'"),
    ({"cells": [{"task": "transport", "objects": 3, "colour": "red"}]}, "cells[0]: unknown keys ['colour']"),
    ({"architecture": "resnet"}, "architecture: unknown 'resnet'"),
    ({"trials_per_seed": 0}, "trials_per_seed must be >= 1"),
    ({"learning_seeds": 0}, "learning_seeds must be >= 1"),
    ({"methods": []}, "methods: at least one method"),
    ({"learner": {"particles": 0}}, "learner.particles"),
    ({"learner": {"replay_per_epoch": -1}}, "learner.replay_per_epoch must be >= 0"),
    ({"learner": {"dplus_repeats": 0}}, "learner.dplus_repeats must be >= 1"),
    ({"learner": {"schedule": "step"}}, "learner.schedule must be one of cosine, constant"),
    ({"learner": {"l2_to_parent": -1}}, "learner.l2_to_parent must be >= 0"),
    ({"learner": {"learning_rate": 1}}, "learner: unknown keys ['learning_rate']"),
    ({"trial": {"planner": "mppi"}}, "trial.planner: unknown 'mppi'"),
    ({"trial": {"cem_factored": True}}, "trial: cem_factored needs method cem"),
    ({"trial": {"retry": "sometimes"}}, "trial: 'sometimes' is not a valid RetryRule"),
    ({"learner": {"action_relations": "every"}}, "learner.action_relations: unknown action relations 'every'"),
    ({"learner": {"state_init": "wide"}}, "learner.state_init: unknown state init 'wide'"),
    ({"learner": {"gate_relations": "some"}}, "learner.gate_relations: unknown gate relations 'some'"),
    ({"learner": {"state_starts": 0}}, "learner.state_starts and learner.action_starts must be >= 1"),
    ({"learner": {"state_iterations": -1}}, "learner.state_iterations and learner.action_iterations must be >= 0"),
    ({"learner": {"state_lr": 0}}, "learner.state_lr must be > 0"),
    ({"learner": {"state_relations": "every"}}, "learner.state_relations: unknown state relations 'every'"),
    ({"learner": {"max_offset": 0}}, "learner.max_offset must be > 0"),
    ({"trial_seed_base": FAILURE_SEED_BASE - 2}, "must stay clear of the failure seeds"),
    ({"search": {"seed_base": 1000}}, "must stay clear of the failure seeds"),
    ({"paper": {"gradient": [50]}}, "paper.gradient"),
    ({"spam": 1}, "unknown keys ['spam']"),
])
def test_bad_configs_name_the_field(change, field):
    with pytest.raises(ConfigError, match=None) as info:
        from_dict({**BASE, **change})
    assert field in str(info.value), str(info.value)


def test_unknown_scale_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="scale 'huge' is not defined"):
        from_dict(BASE, "huge")
    with pytest.raises(ConfigError, match="no experiment config"):
        load(tmp_path / "nope.yaml")


def test_seeds_every_method_sees_the_same_fresh_scenes_disjoint_from_failures():
    c = from_dict({**BASE, "methods": ["original", "replanning", "gradient", "fail2progress"]})
    specs = c.trial_specs()
    assert len(specs) == len({s.key for s in specs}) == 4 * 2 * 3
    by_method = {m: sorted(s.seed for s in specs if s.method is m) for m in c.methods}
    assert len({tuple(v) for v in by_method.values()}) == 1  # the same scenes for every method
    assert len(set(by_method[Method.ORIGINAL])) == 6  # L x N distinct scenes
    failure = {s for seed in range(c.learning_seeds) for s in failure_seeds(seed, c.search.max_scenes)}
    assert not failure & {s.seed for s in specs}
    assert all((s.learning_seed is None) == (not s.method.learns) for s in specs)
    assert [s.key for s in c.learning_specs()] == ["points2plans/gradient/0", "points2plans/fail2progress/0",
                                                   "points2plans/gradient/1", "points2plans/fail2progress/1"]


def test_a_cell_names_its_perception_and_its_trials_carry_it():
    c = from_dict({**BASE, "cells": [{"task": "transport", "objects": 3},
                                     {"task": "transport", "objects": 3, "perception": "geometric"}]})
    assert [cell.label for cell in c.cells] == ["transport 3 obj", "transport 3 obj (geometric)"]
    specs = c.trial_specs()
    assert {s.perception for s in specs} == {"sim_gt", "geometric"} and len({s.key for s in specs}) == len(specs)


def test_learner_overrides_are_read_as_yaml_and_checked():
    """with_learner: a diagnostic reruns a config's learner with settings changed on the command line."""
    cfg = from_dict(BASE)
    changed = with_learner(cfg, ["lr=0.001", "skip_misread=true", "epochs=7"])
    assert (changed.learner.lr, changed.learner.skip_misread, changed.learner.epochs) == (0.001, True, 7)
    assert changed.learner.particles == cfg.learner.particles and changed.trial == cfg.trial
    with pytest.raises(ConfigError, match="unknown keys \\['spam'\\]"):
        with_learner(cfg, ["spam=1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        with_learner(cfg, ["lr"])
