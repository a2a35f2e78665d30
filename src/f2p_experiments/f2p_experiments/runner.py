"""The resumable runner: a config in, JSONL records out, on a process pool or Ray.

Layout of one experiment (`Paths`)::

    experiments/results/<name>/   committed: the records and the report
      failures.jsonl  learning.jsonl  trials.jsonl
      events/<event id>/  (each learning seed's failure, the one its methods learn from: ~90 kB)
    runs/experiments/<name>/      not committed: what the records were made with
      failures/  (the failure store)   stores/<arch>-<method>-s<l>/  (one model store per learning run)
      learn/     (the learners' work)  tiny_store/  (the toy parent of smoke runs)

Learning seed after learning seed, jobs in this order: the seed's failure search, the trials of the
methods that do not learn, then method by method its learning run (from the seed's event) and the
trials its model plans, so a run stopped half way has every finished method's numbers. Only this
process writes records: a job's record is appended (flushed, fsynced) the moment it comes back, so a
kill loses at most the jobs in flight, and a rerun skips every job whose record is there and still
valid (same parent weights; for a learning method's trial, the same weights its learning run serves;
for a failure search, steps judged as the executive judges them now: `f2p_monitor.executive.STEP_JUDGEMENT`).

`runs/` is not committed, and a session may end in the middle of a seed that takes hours (HTO's
eight methods): what a checkout without it keeps is what the records need. The seed's event is kept
beside the records (`events/`), so its search stands; a learning run whose trials are all recorded
stands without its store; one with trials left and no store (another machine, a cleaned `runs/`)
is done again, and if its new weights differ, the trials of the old ones are done again too (on the
same machine type the weights are the same: experiments/README.md).

Executors: `pool` (default; `workers` processes, spawned, each with `threads` torch threads;
learning runs go one at a time with every worker's threads) or
`ray` (`address` of a cluster, or a local Ray). The same jobs with the same seeds give the same
records with either (tested); only the seconds differ.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from f2p_experiments.config import ExperimentConfig
from f2p_experiments.learning import LearningSettings, find_failure, run_learning
from f2p_experiments.records import (
    FailureSearch,
    LearningRun,
    LearningSpec,
    TrialResult,
    TrialSpec,
    from_json,
    record_key,
    short_sha,
    to_json,
)
from f2p_experiments.trial import TrialSettings, run_trial, skeleton_steps
from f2p_monitor.executive import STEP_JUDGEMENT

log = logging.getLogger(__name__)

#: Seconds per job on 2 cores, for the estimate printed before a run (measured 2026-12-03, full
#: model; `Runner.estimate` prefers the mean of records already made).
SECONDS_PER_JOB = {"failure_search": 20.0, "learning": 60.0, "trial": 3.0}
#: Extra seconds of learning runs that take longer (Sampling rejects up to 20,000 draws per stage).
SECONDS_PER_LEARNING = {"sampling": 160.0}
#: Fine-tuning data relative to Fail2Progress's 28 + 96 replay an epoch (Large: 2,000 samples + 8
#: anchors + 96 replay).
FINETUNE_DATA_FACTOR = {"large": 2104 / 124}
#: Fine-tuning seconds per epoch, validation included (frozen encoder, D+ 28 + 96 replay drawn from
#: 480, 2 cores): 600 epochs took 479-495 s (transport dev-e600-cos-pool96, 2026-12-03).
SECONDS_PER_EPOCH = 0.8


def seconds_per_epoch(runs: list[LearningRun]) -> float:
    """Fine-tuning seconds of an epoch of D+ once beside 96 replay on this machine: the median over
    Fail2Progress `runs` that recorded their settings, else SECONDS_PER_EPOCH."""
    rates = [r.times_s["finetune_validate_publish"] / (r.learner["epochs"] * epoch_rows_factor(r.learner))
             for r in runs if r.learner and "finetune_validate_publish" in r.times_s
             and r.spec.method.value == "fail2progress"]
    return statistics.median(rates) if rates else SECONDS_PER_EPOCH


def epoch_rows_factor(learner: dict) -> float:
    """An epoch's rows relative to D+ (28) once beside 96 replay; `learner` an asdict of
    `LearningSettings` (a record's `LearningRun.learner`)."""
    return (28 * int(learner.get("dplus_repeats", 1)) + 96) / 124
#: the learner's data, made when a config names it and it is missing: (n, seed), as `f2p demo` makes
#: it (a config's `learner.replay_n` sets the replay's n)
LEARNER_DATA = {"heldout": (300, 99), "replay": (LearningSettings.replay_n, 7)}


@dataclass(frozen=True)
class Paths:
    results: Path
    work: Path

    @classmethod
    def for_config(cls, config: ExperimentConfig, results_root: str | Path = "experiments/results",
                   work_root: str | Path = "runs/experiments") -> Paths:
        return cls(Path(results_root) / config.name, Path(work_root) / config.name)

    def log(self, kind: str) -> Path:
        return self.results / f"{kind}.jsonl"

    @property
    def failures(self) -> Path:
        return self.work / "failures"

    @property
    def events(self) -> Path:
        """The learned-from events, kept with the records (module docstring)."""
        return self.results / "events"


class ResultLog:
    """Append-only JSONL of records; the last record of a key wins. A torn last line (a kill in
    the middle of a write) is skipped with a warning, never fatal."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if not self.path.is_file():
            return out
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = from_json(line)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s:%d: skipped a record that cannot be read (%s)", self.path, n, exc)
                continue
            out[record_key(rec)] = rec
        return out

    def append(self, record) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as f:
            torn = f.tell() > 0 and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n"
            f.write((b"\n" if torn else b"") + to_json(record).encode() + b"\n")  # a torn line stays on its own
            f.flush()
            os.fsync(f.fileno())


# --- jobs: top-level functions of picklable arguments, run in a worker ----------------------------

_MODELS: dict[tuple[str, str], tuple[object, str, str]] = {}


def _model(store: str, version: str):
    """(model, version, weights sha256) of a store version, cached per worker process."""
    from f2p_model.store import ModelStore

    key = (str(store), version)
    if key not in _MODELS:
        if len(_MODELS) > 8:
            _MODELS.clear()
        model, meta = ModelStore(store).load(version)
        _MODELS[key] = (model, meta.version, short_sha(meta.weights_sha256))
    return _MODELS[key]


def _threads(n: int) -> None:
    import torch

    if n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)


@dataclass(frozen=True)
class Parent:
    store: str
    version: str
    sha256: str


@dataclass(frozen=True)
class SearchJob:
    config: ExperimentConfig
    learning_seed: int
    parent: Parent
    failures: str
    threads: int


def do_search(job: SearchJob) -> FailureSearch:
    from f2p_monitor.failure_store import FailureStore

    _threads(job.threads)
    model, version, sha = _model(job.parent.store, job.parent.version)
    c = job.config
    return find_failure(c.experiment, c.architecture, job.learning_seed, model, version, sha,
                        FailureStore(job.failures), c.search, c.learner)


@dataclass(frozen=True)
class LearningJob:
    spec: LearningSpec
    search: FailureSearch
    parent: Parent
    failures: str
    work: str
    settings: LearningSettings
    threads: int


def do_learning(job: LearningJob) -> LearningRun:
    from f2p_monitor.failure_store import FailureStore

    _threads(job.threads)
    return run_learning(job.spec, job.search, FailureStore(job.failures), Path(job.parent.store), Path(job.work),
                        job.settings)


@dataclass(frozen=True)
class TrialJob:
    spec: TrialSpec
    store: str  # the store and version that plan: the parent's, or the learning run's
    version: str
    parent_sha256: str
    settings: TrialSettings
    threads: int


def do_trial(job: TrialJob) -> TrialResult:
    _threads(job.threads)
    model, version, sha = _model(job.store, job.version)
    return run_trial(job.spec, model, version, job.settings, model_sha256=sha, parent_sha256=job.parent_sha256)


def _init_worker(threads: int) -> None:
    from f2p_model.runtime import retain_freed_memory

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    retain_freed_memory()
    _threads(threads)


# --- executors ---------------------------------------------------------------------------------------


class Executor:
    """Runs jobs and yields their results as they finish (any order)."""

    def map_unordered(self, fn: Callable, jobs: list) -> Iterator:
        raise NotImplementedError

    def close(self) -> None:
        pass


class InlineExecutor(Executor):
    """In this process, one job after the other (workers=1)."""

    def __init__(self, threads: int):
        _init_worker(threads) if threads else None

    def map_unordered(self, fn, jobs):
        for job in jobs:
            yield fn(job)


class PoolExecutor(Executor):
    """A pool of spawned processes (fork is unsafe once torch has started its threads)."""

    def __init__(self, workers: int, threads: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                        initializer=_init_worker, initargs=(threads,))

    def map_unordered(self, fn, jobs):
        it = iter(jobs)
        pending = set()
        for job in it:  # keep at most 2 jobs per worker queued, so a kill loses little
            pending.add(self.pool.submit(fn, job))
            if len(pending) >= 2 * self.workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
            for job in it:
                pending.add(self.pool.submit(fn, job))
                if len(pending) >= 2 * self.workers:
                    break

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor(Executor):
    """Ray tasks (one CPU each) on the cluster at `address`, or on a local Ray of `workers` CPUs."""

    def __init__(self, workers: int, threads: int, address: str | None = None):
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("--executor ray needs the ray package (pip install ray)") from exc
        self.ray = ray
        if not ray.is_initialized():
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})
            self._owner = True
        else:
            self._owner = False
        self.workers, self.threads = workers, threads
        self._remote = ray.remote(num_cpus=1)(_ray_call)

    def map_unordered(self, fn, jobs):
        ray = self.ray
        it = iter(jobs)
        pending = []
        for job in it:
            pending.append(self._remote.remote(fn, job, self.threads))
            if len(pending) >= 2 * self.workers:
                break
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)
            for job in it:
                pending.append(self._remote.remote(fn, job, self.threads))
                if len(pending) >= 2 * self.workers:
                    break

    def close(self) -> None:
        if self._owner:
            self.ray.shutdown()


def _ray_call(fn, job, threads):
    _init_worker(threads)
    return fn(job)


def make_executor(kind: str, workers: int, threads: int = 0, address: str | None = None) -> Executor:
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    if kind == "pool":
        return InlineExecutor(threads) if workers == 1 else PoolExecutor(workers, threads)
    if kind == "ray":
        return RayExecutor(workers, threads, address)
    raise ValueError(f"unknown executor {kind!r}; known: pool, ray")


def _judged_now(search: FailureSearch) -> bool:
    """A search whose steps were judged as `run_task` judges them now (`STEP_JUDGEMENT`). One made under
    the first-plan judgement stands when every scene it tried has a one-skill plan (transport): the only
    step is predicted from the first scene either way. On a multi-skill task another judgement makes other
    steps failures, so its event, and everything learned from it, is made again."""
    return search.judged is STEP_JUDGEMENT or all(
        skeleton_steps(search.task, search.n_objects, t["seed"]) == 1 for t in search.tried)


# --- the runner --------------------------------------------------------------------------------------


@dataclass
class State:
    searches: dict[int, FailureSearch]  # valid failure searches by learning seed
    runs: dict[str, LearningRun]  # valid learning runs by LearningSpec.key
    searches_left: list[int]
    learning_left: list[LearningSpec]
    trials_left: list[TrialSpec]


class Runner:
    def __init__(self, config: ExperimentConfig, paths: Paths, executor: Executor, threads: int = 1,
                 progress: bool = True):
        self.config, self.paths, self.executor = config, paths, executor
        self.threads = threads
        self.progress = progress
        self.searches, self.learning, self.trials = (ResultLog(paths.log(k)) for k in ("failures", "learning",
                                                                                         "trials"))

    # --- the parent and the learner's data
    def parent(self) -> Parent:
        from f2p_model.store import ModelStore

        src = self.config.model
        if src.tiny_seed is not None:
            return tiny_parent(self.paths.work / "tiny_store", src.tiny_seed)
        store = ModelStore(src.store)
        meta = store.read_meta(store.resolve(src.version))
        return Parent(str(store.root), meta.version, short_sha(meta.weights_sha256))

    def ensure_learner_data(self) -> None:
        if not self.config.learning_methods:
            return
        from f2p_sim import dataset
        from f2p_sim.transitions import GenerationConfig, make_record

        for what in ("heldout", "replay"):
            path = getattr(self.config.learner, what)
            if path and not Path(path).is_dir():
                n, seed = LEARNER_DATA[what]
                n = self.config.learner.replay_n if what == "replay" else n
                print(f"making the learner's {what} data: {n} pre-training transitions (seed {seed}) -> {path}")
                dataset.generate(make_record, GenerationConfig(distribution="pretrain", seed=seed), path, n=n,
                                 workers=2)

    # --- what is left
    def state(self, parent: Parent) -> State:
        """The valid records and the jobs left (module docstring: what makes a record valid)."""
        c = self.config
        trials = self.trials.load()
        recorded = {r.learning_seed: r for r in self.searches.load().values()
                    if r.parent_sha256 == parent.sha256 and _judged_now(r)}
        events = {seed: r.event_id for seed, r in recorded.items()}
        recorded_runs = {k: r for k, r in self.learning.load().items()
                         if r.parent_sha256 == parent.sha256 and r.event_id
                         and events.get(r.spec.learning_seed) == r.event_id and r.learned_with(asdict(c.learner))}
        complete = self._complete_seeds(recorded, recorded_runs, trials, parent)
        searches = {seed: r for seed, r in recorded.items() if seed in complete or self._event_kept(r)}
        runs = {k: r for k, r in recorded_runs.items()
                if r.spec.learning_seed in complete or (r.spec.learning_seed in searches and (
                    self._trials_done(r.spec.learning_seed, r.spec.method, trials, parent, r.served_sha256)
                    or _store_serves(r)))}
        left = []
        for spec in c.trial_specs():
            done = trials.get(spec.key)
            if done is None or done.parent_sha256 != parent.sha256 or not done.made_with(asdict(c.trial)):
                left.append(spec)
            elif spec.method.learns:
                run = runs.get(LearningSpec(c.experiment, c.architecture, spec.method, spec.learning_seed).key)
                if run is None or run.served_sha256 != done.model_sha256:
                    left.append(spec)
        return State(searches, runs, [s for s in range(c.learning_seeds) if s not in searches],
                     [s for s in c.learning_specs() if s.key not in runs], left)

    def _complete_seeds(self, searches: dict, runs: dict, trials: dict, parent: Parent) -> set[int]:
        """The learning seeds whose every record is there and consistent: the search, each learning
        method's run of its event, and every trial of its scenes (a learning method's with the
        weights its run served). Such a seed needs nothing more, so it stands without the failure
        store and the model stores it was made with (`runs/` is not committed: a checkout on another
        machine resumes at the first incomplete seed instead of learning every seed again)."""
        c = self.config
        done = set()
        for seed in range(c.learning_seeds):
            search = searches.get(seed)
            if c.learning_methods and search is None:
                continue
            learned = bool(search and search.event_id)
            ok = True
            for method in c.methods:
                if not method.learns:
                    ok = ok and self._trials_done(seed, method, trials, parent)
                elif learned:
                    run = runs.get(LearningSpec(c.experiment, c.architecture, method, seed).key)
                    ok = ok and run is not None and self._trials_done(seed, method, trials, parent, run.served_sha256)
            if ok:
                done.add(seed)
        return done

    def _trials_done(self, seed: int, method, trials: dict, parent: Parent, served_sha256: str | None = None) -> bool:
        """Every trial of `method` on learning seed `seed`'s scenes is recorded with `parent`'s weights
        (a learning method's: planned with `served_sha256`, the weights its learning run serves)."""
        scenes = set(self.config.trial_seeds(seed))
        for spec in self.config.trial_specs():
            if spec.seed not in scenes or spec.method is not method:
                continue
            t = trials.get(spec.key)
            if t is None or t.parent_sha256 != parent.sha256 or not t.made_with(asdict(self.config.trial)) or (
                    served_sha256 is not None and t.model_sha256 != served_sha256):
                return False
        return True

    def _event_kept(self, search: FailureSearch) -> bool:
        """A search without an event, or one whose event is in the failure store or kept with the records."""
        return not search.event_id or any((root / search.event_id).is_dir()
                                          for root in (self.paths.failures / "events", self.paths.events))

    def _keep_events(self, searches: dict[int, FailureSearch]) -> None:
        """Each search's event both with the records (committed: module docstring) and in the failure
        store the learners read, copied from whichever holds it."""
        import shutil

        for search in searches.values():
            if not search.event_id:
                continue
            store, kept = self.paths.failures / "events" / search.event_id, self.paths.events / search.event_id
            if store.is_dir() and not kept.is_dir():
                shutil.copytree(store, kept)
            elif kept.is_dir() and not store.is_dir():
                shutil.copytree(kept, store)

    def estimate(self, parent: Parent) -> tuple[float, str]:
        """Seconds the jobs left should take on this executor, and a line saying so."""
        st = self.state(parent)
        seeds = st.searches_left if self.config.learning_methods else []
        learn, trials = st.learning_left, st.trials_left
        per = dict(SECONDS_PER_JOB)
        done_trials = list(self.trials.load().values())
        if done_trials:  # the median: a trial in flight while the run was paused counts its pause
            per["trial"] = statistics.median(t.plan_s + t.execute_s for t in done_trials)
        workers = max(1, getattr(self.executor, "workers", 1))
        # learning runs go one at a time on every core (`phase_threads`): their time is not divided
        runs = list(self.learning.load().values())
        learn_s = sum(self._learning_seconds(s.method.value, runs) for s in learn)
        total = (len(seeds) * per["failure_search"] + len(trials) * per["trial"]) / workers + learn_s
        line = (f"{len(seeds)} failure searches, {len(learn)} learning runs, {len(trials)} trials left: "
                f"about {_hms(total)} with {workers} worker(s)")
        return total, line

    def _learning_seconds(self, method: str, runs: list[LearningRun]) -> float:
        """A learning run's expected seconds: the mean of this experiment's `runs` of `method` with the
        config's learner settings, else an a-priori figure (SECONDS_PER_JOB and the tables beside it)
        with an epoch's cost measured on `runs` of other settings (`seconds_per_epoch`)."""
        settings = asdict(self.config.learner)
        done = [sum(r.times_s.values()) for r in runs if r.spec.method.value == method and r.learned_with(settings)]
        if done:
            return sum(done) / len(done)
        epochs = self.config.learner.epochs * epoch_rows_factor(settings)
        return ((SECONDS_PER_JOB["learning"] + seconds_per_epoch(runs) * epochs) * FINETUNE_DATA_FACTOR.get(method, 1.0)
                + SECONDS_PER_LEARNING.get(method, 0.0))

    def run(self) -> dict[str, int]:
        c = self.config
        parent = self.parent()
        print(f"{c.name}: parent {parent.version} ({parent.store}, sha256 {parent.sha256[:12]})")
        _, line = self.estimate(parent)
        print(line, flush=True)
        self.ensure_learner_data()
        counts = {"failure_search": 0, "learning": 0, "trial": 0}
        t0 = time.perf_counter()
        for seed in range(c.learning_seeds):  # seed by seed: a partial run has every method's numbers
            for kind, n in self._run_seed(parent, seed).items():
                counts[kind] += n
        if counts["trial"]:
            dt = time.perf_counter() - t0
            print(f"{counts['trial']} trials recorded, {_hms(dt)} in all: {counts['trial'] / dt:.2f} trials/s")
        return counts

    def _run_seed(self, parent: Parent, seed: int) -> dict[str, int]:
        """Learning seed `seed`'s block: its failure search, its learning runs, the trials of its scenes."""
        c = self.config
        counts = {}
        tag = f"seed {seed + 1}/{c.learning_seeds}"
        st = self.state(parent)
        jobs = [SearchJob(c, seed, parent, str(self.paths.failures), self.threads)] \
            if c.learning_methods and seed in st.searches_left else []
        counts["failure_search"] = self._phase(f"{tag} failure search", do_search, jobs, self.searches)

        st = self.state(parent)
        self._keep_events(st.searches)
        found = seed in st.searches and bool(st.searches[seed].event_id)
        if c.learning_methods and not found:
            print(f"learning seed {seed}: no incorrect-prediction failure in {c.search.max_scenes} scenes; its "
                  "learning methods' trials are not run")
        counts["trial"] = self._trials(parent, seed, f"{tag} trials", [m for m in c.methods if not m.learns])
        # One learning run at a time, on every core: two at once on 2 cores, one torch thread each,
        # fine-tuned at 1.6 s/epoch against 0.32 s/epoch alone on two (2.5x slower in all; AMD EPYC,
        # 2026-12-04), and a lone run then takes the idle workers' threads (`phase_threads`).
        specs = [s for s in st.learning_left if s.learning_seed == seed and found]
        counts["learning"] = 0
        for k, spec in enumerate(specs):
            job = LearningJob(spec, st.searches[seed], parent, str(self.paths.failures), str(self.paths.work),
                              c.learner, self.phase_threads(1))
            counts["learning"] += self._phase(f"{tag} learning {k + 1}/{len(specs)} ({spec.method.value})",
                                              do_learning, [job], self.learning)
            counts["trial"] += self._trials(parent, seed, f"{tag} trials ({spec.method.value})", [spec.method])
        # the learning methods whose runs stood from before (their trials left, if any)
        counts["trial"] += self._trials(parent, seed, f"{tag} trials", [m for m in c.methods if m.learns])
        return counts

    def _trials(self, parent: Parent, seed: int, what: str, methods: list) -> int:
        """Run the trials left of `methods` on learning seed `seed`'s scenes (a learning method's with
        the model its valid learning run serves; none without one)."""
        c = self.config
        st = self.state(parent)
        scenes = set(c.trial_seeds(seed))
        jobs = []
        for spec in st.trials_left:
            if spec.seed not in scenes or spec.method not in methods:
                continue
            if spec.method.learns:
                run = st.runs.get(LearningSpec(c.experiment, c.architecture, spec.method, spec.learning_seed).key)
                if run is None:
                    continue
                jobs.append(TrialJob(spec, run.store, run.served_version, parent.sha256, c.trial, self.threads))
            else:
                jobs.append(TrialJob(spec, parent.store, parent.version, parent.sha256, c.trial, self.threads))
        return self._phase(what, do_trial, jobs, self.trials)

    def phase_threads(self, n_jobs: int) -> int:
        """Torch threads per job of a phase of `n_jobs`: a phase with fewer jobs than workers (one
        learning method, as in the development scales) shares the idle workers' cores out to its
        jobs, so a lone learning run fine-tunes on every core instead of one."""
        workers = getattr(self.executor, "workers", 1)
        if n_jobs < 1 or n_jobs >= workers:
            return self.threads
        return self.threads * workers // n_jobs

    def _phase(self, what: str, fn: Callable, jobs: list, out: ResultLog) -> int:
        if not jobs:
            return 0
        bar = tqdm(total=len(jobs), desc=f"{self.config.name}: {what}", unit="job", dynamic_ncols=True,
                   disable=not self.progress)
        n = 0
        try:
            for rec in self.executor.map_unordered(fn, jobs):
                out.append(rec)
                n += 1
                bar.update(1)
        finally:
            bar.close()
        return n


def _store_serves(run: LearningRun) -> bool:
    """The run's store still holds the version its trials plan with, with the recorded weights."""
    from f2p_model.store import ModelStore, ModelStoreError

    try:
        return short_sha(ModelStore(run.store).read_meta(run.served_version).weights_sha256) == run.served_sha256
    except (ModelStoreError, OSError):
        return False


def tiny_parent(root: Path, seed: int) -> Parent:
    """An untrained toy model (`tiny_model_config`, weights from `seed`), published once as validated:
    the parent of smoke runs, where the loop is checked and nothing is measured."""
    import torch

    from f2p_model.config import tiny_model_config
    from f2p_model.model import SkillEffectModel
    from f2p_model.store import ModelStore

    store = ModelStore(root)
    versions = store.list()
    if not versions:
        root.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(seed)
        store.publish(SkillEffectModel(tiny_model_config()), metrics={"note": f"untrained, seed {seed}"},
                      validated=True)
        versions = store.list()
    meta = versions[-1]
    return Parent(str(store.root), meta.version, short_sha(meta.weights_sha256))


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"

