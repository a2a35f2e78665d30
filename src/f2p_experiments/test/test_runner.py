"""The runner on a toy experiment (an untrained tiny model, two fresh scenes, one learning seed):
it resumes after a kill without losing or duplicating a trial, gives the same records on the
process pool and on Ray, and no learning run touches a model store but its own."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import pytest

from f2p_experiments import report
from f2p_experiments.config import from_dict
from f2p_experiments.records import TrialResult, from_json, to_json
from f2p_experiments.runner import Executor, Paths, ResultLog, Runner, do_trial, make_executor
from f2p_learner.methods import Method

TOY = {
    "experiment": "toy", "methods": ["original", "replanning", "fail2progress", "gradient"],
    "cells": [{"task": "transport", "objects": 3}], "learning_seeds": 1, "trials_per_seed": 2,
    "model": {"tiny_seed": 0}, "search": {"max_scenes": 8, "planner_samples": 16},
    "trial": {"replan_budget": 1, "planner_samples": 16},
    # an untrained model reads every scene the same way: by today's rule none of its mismatches is an
    # effect (LearnerConfig.skip_misread), so the toy counts them all, as the learner did before
    "learner": {"heldout": None, "replay": None, "particles": 2, "epochs": 2, "skip_misread": False,
                "contradiction_margin": 0.0},
}
TIMES = {"plan_s", "execute_s"}


def _run(root: Path, executor: Executor, config=None) -> Runner:
    c = config or from_dict(TOY)
    runner = Runner(c, Paths.for_config(c, root / "results", root / "work"), executor, threads=1, progress=False)
    try:
        runner.run()
    finally:
        executor.close()
    return runner


def _trials(runner: Runner) -> dict[str, dict]:
    return {k: {f: v for f, v in asdict(t).items() if f not in TIMES} for k, t in runner.trials.load().items()}


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("reference"), make_executor("pool", 1, 1))


def test_a_toy_experiment_runs_every_stage(reference):
    c = reference.config
    assert len(_lines(reference.paths.log("trials"))) == len(c.trial_specs()) == 8
    searches = list(reference.searches.load().values())
    assert len(searches) == 1 and searches[0].event_id  # an untrained model fails within 8 scenes
    runs = list(reference.learning.load().values())
    assert sorted(r.spec.method.value for r in runs) == ["fail2progress", "gradient"]
    assert all(r.event_id == searches[0].event_id and r.parent_version == "v0001" for r in runs)
    for t in reference.trials.load().values():
        assert t.parent_sha256 == searches[0].parent_sha256
        if not t.spec.method.learns:
            assert t.model_sha256 == t.parent_sha256
        if t.first_attempt_success is False:
            assert t.unmet_first
    built = report.build(c, reference.paths)
    assert {r.method for r in built.rows} == {m.value for m in c.methods}
    assert all(r.first.trials == 2 for r in built.rows)
    written = report.write(built, reference.paths, "f2p experiment run toy", reference.paths.results / "RESULTS.md")
    assert all(p.is_file() for p in written)
    again = report.write(built, reference.paths, "f2p experiment run toy", reference.paths.results / "RESULTS.md")
    assert (again[-1].read_text().count("BEGIN experiment:toy")) == 1  # the section is replaced, not appended


class Killed(Executor):
    """Runs jobs inline and 'dies' (KeyboardInterrupt) after `after` trials."""

    def __init__(self, after: int):
        self.inner, self.after, self.done = make_executor("pool", 1, 1), after, 0

    def map_unordered(self, fn, jobs):
        for rec in self.inner.map_unordered(fn, jobs):
            if fn is do_trial:
                if self.done == self.after:
                    raise KeyboardInterrupt
                self.done += 1
            yield rec


def test_resume_after_a_kill_loses_and_duplicates_nothing(tmp_path, reference):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, Killed(after=3))
    log = tmp_path / "results" / "toy" / "trials.jsonl"
    assert len(_lines(log)) == 3
    with open(log, "a") as f:  # a torn line, as a kill in the middle of a write leaves
        f.write(to_json(ResultLog(log).load().popitem()[1])[:40])
    resumed = _run(tmp_path, make_executor("pool", 1, 1))
    lines = _lines(log)
    keys = [from_json(line).spec.key for line in lines[:3] + lines[4:]]
    assert len(keys) == len(set(keys)) == 8  # every trial once (the torn line aside)
    assert _trials(resumed) == _trials(reference)
    before = log.read_text()
    _run(tmp_path, make_executor("pool", 1, 1))  # nothing left: nothing is run or written
    assert log.read_text() == before


def test_pool_and_ray_give_the_same_records(tmp_path, reference):
    import ray as _ray  # noqa: F401  (a dependency of f2p, requirements.txt: fail, not skip, without it)

    # the methods that do not learn: the trials of the learning methods wait for learning runs, whose
    # determinism is the learner's (f2p_learner tests); here the executors are compared
    config = from_dict({**TOY, "methods": ["original", "replanning"]})
    pool = _run(tmp_path / "pool", make_executor("pool", 2, 1), config)
    on_ray = _run(tmp_path / "ray", make_executor("ray", 2, 1), config)
    want = {k: v for k, v in _trials(reference).items() if not v["spec"]["method"].learns}
    assert len(want) == 4 and _trials(pool) == want == _trials(on_ray)
    assert not pool.searches.load() and not on_ray.searches.load()  # nothing learns: no failure is searched for


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_each_learning_run_writes_only_into_its_own_store(reference):
    runs = list(reference.learning.load().values())
    parent = Path(reference.parent().store)
    assert [p.name for p in (parent / "versions").iterdir()] == ["v0001"]  # the parent store is never written
    stores = [Path(r.store) for r in runs]
    assert len(set(stores)) == len(runs) and parent not in stores
    parent_weights = (parent / "versions" / "v0001" / "weights.pt").read_bytes()
    for run, store in zip(runs, stores, strict=True):
        versions = sorted(p.name for p in (store / "versions").iterdir())
        assert versions[0] == "v0001" and len(versions) <= 2  # the parent and, at most, this run's child
        assert (store / "versions" / "v0001" / "weights.pt").read_bytes() == parent_weights
        if run.validated:
            assert run.served_version == run.child_version
        else:
            assert run.served_version == "v0001"
    # learning again for one method replaces only that method's store
    other = {str(s): _hashes(s) for s in stores[1:]}
    from f2p_experiments.learning import LearningSettings, run_learning
    from f2p_monitor.failure_store import FailureStore

    (search,) = reference.searches.load().values()
    run_learning(runs[0].spec, search, FailureStore(reference.paths.failures), parent, reference.paths.work,
                 LearningSettings(**TOY["learner"]))
    assert {str(s): _hashes(s) for s in stores[1:]} == other


def test_records_round_trip(reference):
    for log in (reference.searches, reference.learning, reference.trials):
        for rec in log.load().values():
            assert from_json(to_json(rec)).to_dict() == from_json(to_json(from_json(to_json(rec)))).to_dict()
    t = next(iter(reference.trials.load().values()))
    assert isinstance(t, TrialResult)
    with pytest.raises(ValueError, match="unknown kind"):
        from_json('{"kind": "poem"}')
    with pytest.raises(ValueError, match="schema"):
        from_json(to_json(t).replace('"schema_version":1', '"schema_version":99'))


CONFIGS = sorted((Path(__file__).resolve().parents[3] / "experiments" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_committed_config_runs_its_smoke_scale(path, tmp_path):
    from f2p_experiments.config import load

    config = load(path, "smoke")
    runner = _run(tmp_path, make_executor("pool", 1, 1), config)
    # Whether an untrained toy model's failure search finds an incorrect prediction in its few scenes
    # depends on its random weights' rounding; the learning methods' trials run only when it does.
    found = {s.learning_seed for s in runner.searches.load().values() if s.event_id}
    expected = [t for t in config.trial_specs() if not t.method.learns or t.learning_seed in found]
    assert sorted(runner.trials.load()) == sorted(t.key for t in expected)
    assert len(runner.learning.load()) == len(found) * sum(m.learns for m in config.methods)
    built = report.build(config, runner.paths)
    for row in built.rows:
        seeds = found if Method(row.method).learns else range(config.learning_seeds)
        assert row.first.trials == len(seeds) * config.trials_per_seed


def test_a_phase_of_fewer_jobs_than_workers_shares_their_cores(tmp_path):
    class Pool(Executor):
        workers = 4

    c = from_dict(TOY)
    runner = Runner(c, Paths.for_config(c, tmp_path / "results", tmp_path / "work"), Pool(), threads=2,
                    progress=False)
    assert [runner.phase_threads(n) for n in (0, 1, 2, 3, 4, 9)] == [2, 8, 4, 2, 2, 2]


def test_a_complete_seed_stands_without_the_stores_it_was_made_with(tmp_path, reference):
    """A checkout on another machine has the committed records and none of `runs/`: its complete
    seeds are not learned again."""
    import shutil

    (search,) = reference.searches.load().values()
    assert (reference.paths.events / search.event_id / "event.json").is_file()  # kept with the records
    shutil.copytree(reference.paths.results, tmp_path / "results" / reference.config.name)
    log = tmp_path / "results" / "toy" / "trials.jsonl"
    before = {p.name: p.read_text() for p in log.parent.glob("*.jsonl")}
    again = _run(tmp_path, make_executor("pool", 1, 1))  # work/ is empty: no failure store, no model stores
    assert {p.name: p.read_text() for p in log.parent.glob("*.jsonl")} == before
    assert not (again.paths.work / "stores").exists() and not again.state(again.parent()).trials_left


def test_an_open_seed_resumes_without_runs_learning_only_what_has_trials_left(tmp_path, reference):
    """A session ends in the middle of a seed and the next starts from the committed records alone: the
    seed's event comes back from the records (its search stands), a method whose trials are all
    recorded is not learned again, and one with a trial left is, and only its trials left are run."""
    import shutil

    shutil.copytree(reference.paths.results, tmp_path / "results" / reference.config.name)
    log = tmp_path / "results" / "toy" / "trials.jsonl"
    runs = log.parent / "learning.jsonl"  # its stores where this checkout's runs/ would have them: nowhere
    runs.write_text(runs.read_text().replace(str(reference.paths.work), str(tmp_path / "work" / "toy")))
    lines = _lines(log)
    dropped = next(line for line in lines if from_json(line).spec.method.learns)
    method = from_json(dropped).spec.method
    log.write_text("\n".join(line for line in lines if line != dropped) + "\n")
    learning_before = len(_lines(log.parent / "learning.jsonl"))
    c = from_dict(TOY)
    runner = Runner(c, Paths.for_config(c, tmp_path / "results", tmp_path / "work"), make_executor("pool", 1, 1),
                    threads=1, progress=False)
    st = runner.state(runner.parent())
    assert st.searches_left == [] and [s.method for s in st.learning_left] == [method]
    assert sorted(t.method.value for t in st.trials_left) == [method.value] * 2  # until its run is redone
    runner.run()
    relearned = [from_json(line) for line in _lines(log.parent / "learning.jsonl")[learning_before:]]
    assert [r.spec.method for r in relearned] == [method]
    (search,) = runner.searches.load().values()
    assert (runner.paths.failures / "events" / search.event_id / "event.json").is_file()  # restored for it
    assert not runner.state(runner.parent()).trials_left and len(runner.trials.load()) == 8
    assert len(runner.searches.load()) == 1 and len(_lines(log.parent / "failures.jsonl")) == 1


def _runner_on_copy(reference: Runner, config, root: Path) -> Runner:
    """A runner of `config` over a copy of the reference run's records and work under `root` (not run)."""
    import shutil

    shutil.copytree(reference.paths.results, root / "results" / reference.config.name)
    shutil.copytree(reference.paths.work, root / "work" / reference.config.name)
    return Runner(config, Paths.for_config(config, root / "results", root / "work"), make_executor("pool", 1, 1),
                  threads=1, progress=False)


def test_learning_runs_of_other_learner_settings_are_made_again(tmp_path, reference):
    """A changed default or an edited config: the runs made with the old learner settings (and the
    trials their children planned) are not this experiment's records any more; the baselines stand."""

    runs = list(reference.learning.load().values())
    assert all(r.learner == asdict(reference.config.learner) for r in runs)  # each run says how it was made
    c = from_dict({**TOY, "learner": {**TOY["learner"], "dplus_repeats": 2}})
    runner = _runner_on_copy(reference, c, tmp_path)
    st = runner.state(runner.parent())
    assert not st.runs and len(st.learning_left) == 2
    assert sorted(t.method.value for t in st.trials_left) == ["fail2progress"] * 2 + ["gradient"] * 2
    assert not report.build(c, runner.paths).learning  # nor does the report count them
    legacy = {**runs[0].to_dict(), "learner": {}}  # a record made before runs carried their settings
    assert type(runs[0]).from_dict(legacy).learned_with(asdict(c.learner))
    # a record made before a setting existed counts as made with what the learner did then
    from f2p_experiments.records import LEARNER_SETTINGS_ADDED

    now = asdict(reference.config.learner)
    older = type(runs[0]).from_dict({**runs[0].to_dict(),
                                     "learner": {k: v for k, v in now.items() if k not in LEARNER_SETTINGS_ADDED}})
    assert older.learned_with({**now, **LEARNER_SETTINGS_ADDED})
    assert not older.learned_with({**now, **{k: v * 2 for k, v in LEARNER_SETTINGS_ADDED.items()}})


def test_trials_of_other_trial_settings_are_made_again(tmp_path, reference):
    """A planner option turned on in the config: every trial made without it is made again and the report
    leaves it out, while the failure searches and learning runs stand; a trial made before trials carried
    their settings counts as made with its config's, without the settings added since."""

    trials = list(reference.trials.load().values())
    assert all(t.trial == asdict(reference.config.trial) for t in trials)  # each trial says how it was made
    c = from_dict({**TOY, "trial": {**TOY["trial"], "grounded_top_k": 4}})
    runner = _runner_on_copy(reference, c, tmp_path)
    st = runner.state(runner.parent())
    assert len(st.trials_left) == len(trials) and not st.learning_left and not st.searches_left
    assert all(r.first.trials == 0 for r in report.build(c, runner.paths).rows)  # nor does the report count them
    from f2p_experiments.records import TRIAL_SETTINGS_ADDED

    then = {**asdict(reference.config.trial), **TRIAL_SETTINGS_ADDED}  # the config's, as trials were made before
    legacy = TrialResult.from_dict({**trials[0].to_dict(), "trial": {}})
    assert legacy.made_with(then) and not legacy.made_with({**then, "grounded_top_k": 4})
    older = TrialResult.from_dict({**trials[0].to_dict(), "trial": {
        k: v for k, v in asdict(c.trial).items() if k not in TRIAL_SETTINGS_ADDED}})
    assert older.made_with(then) and not older.made_with({**then, "grounded_top_k": 4})
    # a trial of the executive before ExecutiveConfig.replan_below replanned after every mismatch: made again
    assert not legacy.made_with(asdict(reference.config.trial))


def test_failure_searches_judged_otherwise_on_a_multi_skill_task_are_made_again(tmp_path, reference):
    """A search records how the executive judged its steps; one made before (the first plan's rollout)
    stands on a one-skill task, where both judgements predict the only step from the first scene, and
    is made again, with everything learned from its event, on a task of several skills."""
    from f2p_core.failure import StepJudgement
    from f2p_experiments.trial import skeleton_steps
    from f2p_monitor.executive import STEP_JUDGEMENT

    (search,) = reference.searches.load().values()
    assert search.judged is STEP_JUDGEMENT and from_json(to_json(search)) == search
    runner = _runner_on_copy(reference, from_dict(TOY), tmp_path)
    log = runner.paths.log("failures")
    made = from_json(_lines(log)[0]).to_dict()

    def searches_left(**record) -> list[int]:
        log.write_text(to_json(type(search).from_dict({**made, **record})) + "\n")
        return runner.state(runner.parent()).searches_left

    older = {k: v for k, v in made.items() if k != "judged"}  # a record of before judgements were recorded
    assert type(search).from_dict(older).judged is StepJudgement.FIRST_PLAN
    assert searches_left() == [] and searches_left(judged="first_plan") == []  # transport: one skill
    organize = [{**t, "seed": s} for t, s in zip(made["tried"], range(40), strict=False)]
    assert all(skeleton_steps("organize", 3, t["seed"]) > 1 for t in organize)
    assert searches_left(task="organize", tried=organize, judged="first_plan") == [0]
    assert searches_left(task="organize", tried=organize) == []  # judged as now: stands


def test_the_estimate_divides_trials_not_learning_by_the_workers(tmp_path, reference):
    """Learning runs go one at a time on every core: more workers shorten only the searches and trials."""
    import shutil

    shutil.copytree(reference.paths.results, tmp_path / "results" / reference.config.name)
    c = from_dict({**TOY, "learner": {**TOY["learner"], "dplus_repeats": 2}})  # learning (and its trials) left
    paths = Paths.for_config(c, tmp_path / "results", tmp_path / "work")

    def runner(n: int) -> Runner:
        class Pool(Executor):
            workers = n

        return Runner(c, paths, Pool(), threads=1, progress=False)

    one, four = runner(1), runner(4)
    st = one.state(one.parent())
    runs = list(one.learning.load().values())
    learn = sum(one._learning_seconds(s.method.value, runs) for s in st.learning_left)
    t1, t4 = one.estimate(one.parent())[0], four.estimate(four.parent())[0]
    assert st.learning_left and learn > 0 and t4 > learn
    assert t1 - learn == pytest.approx(4 * (t4 - learn))
