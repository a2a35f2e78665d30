"""The closed-loop executive on the simulated world with a tiny untrained model: failures are
detected against ground truth, stored before anything else, classified, and replanned from."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from tiny import tiny_model as _tiny_model

from f2p_core.failure import Mismatch
from f2p_core.goal import Goal
from f2p_core.relations import table_lookup
from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillType
from f2p_monitor.executive import (
    ExecutiveConfig,
    InProcessPlanner,
    Observer,
    RetryRule,
    missed_goal,
    moved_by,
    run_task,
)
from f2p_monitor.failure_store import FailureStore
from f2p_monitor.sim_harness import SimRobot
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_planner.planner import PlannerConfig
from f2p_planner.skeleton import Skeleton
from f2p_sim import tasks
from f2p_sim.world import World


class CountingLearner:
    """Records what it is asked to learn from; returns no new model (learning is tested elsewhere)."""

    def __init__(self, store: FailureStore):
        self.store, self.seen = store, []

    def learn(self, event):
        assert event.event_id in self.store.list(), "the event must be stored before learning"
        self.seen.append(event.event_id)
        return None


def test_failures_are_stored_classified_and_replanned(tmp_path):
    sample = tasks.sample("organize", np.random.default_rng(3), 3)
    world = World(sample.scene)
    store = FailureStore(tmp_path)
    learner = CountingLearner(store)
    progress = []
    outcome = run_task("task-1", sample.goal, Skeleton.from_task(sample), SimRobot(world),
                       SimGroundTruthPerception(world, n_points=16), _tiny_model(), "v-tiny",
                       ExecutiveConfig(planner=PlannerConfig(num_samples=8), max_replans=2),
                       np.random.default_rng(0), store=store, learner=learner,
                       progress=lambda *a: progress.append(a))
    # every skill ran once, plus one retry of the failed step per replan (unless the goal held early)
    assert len(outcome.steps) <= len(sample.skeleton) + outcome.replans
    if not outcome.success:
        assert len(outcome.steps) == len(sample.skeleton) + outcome.replans
    assert outcome.failures, "an untrained model mispredicts the organize task"
    assert outcome.failures == store.list()
    assert outcome.replans <= 2 and outcome.replans <= len(outcome.failures)
    labels = {store.load(e).classification for e in outcome.failures}
    assert labels <= {"incorrect_prediction", "sim2real_gap"}
    for e in map(store.load, outcome.failures):  # each with the scene after its skill, object for object
        assert e.points_after is not None and e.points_after.shape == e.scene_before.points.shape
    assert set(learner.seen) <= set(outcome.failures)
    assert progress[-1][0] == "done"
    assert outcome.success == sample.goal.holds(table_lookup(outcome.names, outcome.final_unary,
                                                             outcome.final_binary))


def test_a_failed_step_is_planned_again_while_replans_are_left(tmp_path):
    # transport has one step: without the retry its failure would end the task there. The goal
    # (the container back on table_A) cannot be reached by moving it to table_B, so every try ends
    # short of it and an untrained model mispredicts every one.
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    box = sample.skeleton[0].object_ids[0]
    goal, skeleton = Goal.from_triples([("on", box, "table_A"), ("inside", "item_1", box)]), Skeleton.from_task(sample)
    runs = {}
    for retry, max_replans in ((RetryRule.ALWAYS, 2), (RetryRule.NEVER, 2), (RetryRule.ALWAYS, 0)):
        world = World(sample.scene)
        runs[retry, max_replans] = run_task(
            "task-retry", goal, skeleton, SimRobot(world), SimGroundTruthPerception(world, n_points=16), _tiny_model(),
            "v-tiny",
            ExecutiveConfig(planner=PlannerConfig(num_samples=8), max_replans=max_replans, retry=retry),
            np.random.default_rng(0), store=FailureStore(tmp_path / f"{retry}-{max_replans}"))
    retried = runs[RetryRule.ALWAYS, 2]
    assert not retried.success and retried.replans == 2
    assert [s.skill for s in retried.steps] == [f"pick_place({box}, table_B)"] * 3
    assert all(s.event_id for s in retried.steps)  # a step is tried again only after it failed
    for key in ((RetryRule.NEVER, 2), (RetryRule.ALWAYS, 0)):
        assert len(runs[key].steps) == 1 and runs[key].replans == 0, key


def test_missed_goal_is_a_goal_atom_that_did_not_come_true():
    goal = Goal.parse("inside(capsule_1, cup_1) & not inside(capsule_2, cup_1)")
    assert missed_goal([Mismatch("inside", "capsule_1", "cup_1", 0.9, False)], goal)
    assert missed_goal([Mismatch("inside", "capsule_2", "cup_1", 0.2, True)], goal)  # a negated atom made true
    assert not missed_goal([Mismatch("inside", "capsule_1", "cup_1", 0.2, True)], goal)  # came true unforeseen
    assert not missed_goal([Mismatch("left", "capsule_1", "capsule_2", 0.9, False),
                            Mismatch("on", "capsule_1", "table_A", 0.9, False)], goal)  # not what the goal asks
    assert not missed_goal([], goal)
    # only about the objects the step acts on: a wrong prediction about capsule_2 is not the step's miss
    assert not missed_goal([Mismatch("inside", "capsule_2", "cup_1", 0.2, True)], goal, {"capsule_1"})
    assert missed_goal([Mismatch("inside", "capsule_1", "cup_1", 0.9, False)], goal, {"capsule_1"})


def test_a_step_moves_its_acted_object_and_what_that_holds():
    boxes = {"cup_1": ([0.2, -0.3, 0.45], [0.28, -0.22, 0.55]), "cup_2": ([0.4, -0.3, 0.45], [0.48, -0.22, 0.55]),
             "capsule_1": ([0.23, -0.27, 0.46], [0.26, -0.24, 0.53]),  # inside cup_1
             "capsule_2": ([0.43, -0.27, 0.46], [0.46, -0.24, 0.53]),  # inside cup_2
             "lid_1": ([0.21, -0.29, 0.55], [0.27, -0.23, 0.56]),  # on cup_1
             "table_B": ([0.1, 0.07, 0.0], [0.7, 0.57, 0.45])}
    names = list(boxes)
    lo = np.array([boxes[n][0] for n in names], np.float32)
    hi = np.array([boxes[n][1] for n in names], np.float32)
    scene = PerceivedScene(names, ["cup", "cup", "capsule", "capsule", "cuboid", "table"],
                           np.zeros((6, 4, 3), np.float32), np.ones(6, bool), lo, hi, [np.stack([a, b]) for a, b in
                                                                                        zip(lo, hi, strict=True)])
    call = SkillCall(SkillType.PICK_PLACE, ("cup_1", "table_B"), np.zeros(4))
    assert moved_by(call, scene) == {"cup_1", "capsule_1", "lid_1"}
    assert ExecutiveConfig(retry="goal_mismatch").retry is RetryRule.GOAL_MISMATCH
    with pytest.raises(ValueError):
        ExecutiveConfig(retry="sometimes")


class _Mismatches(Observer):
    def __init__(self):
        self.seen = []

    def observed(self, step, call, status, before, after, predicted, observed, mismatches):
        self.seen.append(list(mismatches))


def test_goal_mismatch_retries_exactly_the_steps_that_missed_a_goal_atom(tmp_path):
    # transport's one step with goals no placement on table_B reaches: after each mismatch the only replan
    # there is is the retry, taken exactly when missed_goal says the step missed a goal atom (whatever the
    # untrained model happened to predict); otherwise the task ends after that step
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    box = sample.skeleton[0].object_ids[0]
    goals = [Goal.from_triples([("on", box, "table_A"), ("inside", "item_1", box)]),
             Goal.parse(f"not on({box}, table_B) & not inside(item_2, {box})")]
    for n, goal in enumerate(goals):
        for seed in range(2):
            world, seen = World(sample.scene), _Mismatches()
            out = run_task("task-goal-retry", goal, Skeleton.from_task(sample), SimRobot(world),
                           SimGroundTruthPerception(world, n_points=16), _tiny_model(), "v-tiny",
                           ExecutiveConfig(planner=PlannerConfig(num_samples=8), max_replans=2,
                                           retry=RetryRule.GOAL_MISMATCH),
                           np.random.default_rng(seed), store=FailureStore(tmp_path / f"{n}-{seed}"), observer=seen)
            missed = [bool(m) and missed_goal(m, goal) for m in seen.seen]
            assert [s.skill for s in out.steps] == [f"pick_place({box}, table_B)"] * len(out.steps)
            assert all(missed[:-1]), (goal.text, seed, missed)  # every step but the last was retried
            assert len(out.steps) == 3 or not missed[-1], (goal.text, seed, missed)  # ... and the last was not


def test_a_failure_that_reaches_the_goal_ends_the_task(tmp_path):
    # the untrained model predicts nothing right, but placing the container on table_B by chance
    # puts everything where the goal wants it (seed 0): the task ends there, a success
    sample = tasks.sample("transport", np.random.default_rng(0), 3)
    world = World(sample.scene)
    outcome = run_task("task-lucky", sample.goal, Skeleton.from_task(sample), SimRobot(world),
                       SimGroundTruthPerception(world, n_points=16), _tiny_model(), "v-tiny",
                       ExecutiveConfig(planner=PlannerConfig(num_samples=8), max_replans=2),
                       np.random.default_rng(0), store=FailureStore(tmp_path))
    assert outcome.failures and outcome.success and len(outcome.steps) == 1 and outcome.replans == 0


def test_an_object_hidden_by_a_skill_is_still_planned_with(tmp_path):
    # capsule_1, once placed in its cup, is hidden from the default camera; the executive keeps its
    # last segment (f2p_monitor.belief), so the replan can still name it and the task goes on
    sample = tasks.sample("organize", np.random.default_rng(2), 3)
    world = World(sample.scene)
    perception = SimGroundTruthPerception(world, n_points=16)
    outcome = run_task("task-2", sample.goal, Skeleton.from_task(sample), SimRobot(world),
                       perception, _tiny_model(), "v-tiny",
                       ExecutiveConfig(planner=PlannerConfig(num_samples=8)), np.random.default_rng(0))
    assert outcome.steps and outcome.steps[0].skill == "pick_place(capsule_1, cup_1)"
    seen = perception.perceive(np.random.default_rng(0))
    assert not seen.visible[seen.index("capsule_1")], "the scene no longer hides the capsule: pick another seed"
    assert outcome.error == "" and len(outcome.steps) > 1, outcome


class RecordingPlanner:
    """The in-process planner behind the Planner interface, recording what the executive asks of it."""

    def __init__(self, model):
        self.inner = InProcessPlanner(model, PlannerConfig(num_samples=8), "v0001")
        self.plans, self.swaps, self.scored = [], [], []

    def plan(self, scene, goal, skeleton, rng):
        self.plans.append(len(skeleton))
        return self.inner.plan(scene, goal, skeleton, rng)

    def score(self, scene, goal, calls):
        self.scored.append(len(calls))
        return self.inner.score(scene, goal, calls)

    def use_model(self, model, version):
        assert model is None  # a learner that runs elsewhere hands over the version only
        self.swaps.append(version)
        self.inner.model_version = version


class RemoteLearner:
    """Learns "remotely": no model object, a new version each time."""

    def __init__(self, store, observer):
        self.store, self.observer, self.count = store, observer, 1

    def learn(self, event):
        assert ("failure", event.event_id) in self.observer.calls, "observers hear of a failure before learning"
        self.count += 1
        return None, f"v{self.count:04d}"


class RecordingObserver(Observer):
    def __init__(self, store):
        self.store, self.calls = store, []

    def planned(self, plan, scene, first_step):
        self.calls.append(("planned", first_step, plan.model_version))

    def executing(self, step, call):
        self.calls.append(("executing", step))

    def observed(self, step, call, status, before, after, predicted, observed, mismatches):
        n = len(before.names)
        assert predicted[0].shape == observed[0].shape == (n, predicted[0].shape[1])
        self.calls.append(("observed", step, len(mismatches)))

    def failure(self, event):
        assert event.event_id in self.store.list(), "published only once stored"
        assert event.classification in ("incorrect_prediction", "sim2real_gap")
        self.calls.append(("failure", event.event_id))

    def learned(self, event, version):
        self.calls.append(("learned", version))


def test_a_planner_and_an_observer_plug_in_and_learned_versions_reach_the_planner(tmp_path):
    sample = tasks.sample("organize", np.random.default_rng(3), 3)
    world = World(sample.scene)
    store = FailureStore(tmp_path)
    planner, observer = RecordingPlanner(_tiny_model()), RecordingObserver(store)
    outcome = run_task("task-3", sample.goal, Skeleton.from_task(sample), SimRobot(world),
                       SimGroundTruthPerception(world, n_points=16), None, "", ExecutiveConfig(max_replans=3),
                       np.random.default_rng(0), store=store, learner=RemoteLearner(store, observer),
                       planner=planner, observer=observer)
    assert outcome.failures and planner.plans[0] == len(sample.skeleton)
    learned = [c[1] for c in observer.calls if c[0] == "learned" and c[1]]
    assert planner.swaps == learned  # every learned version went to the planner
    if learned:
        assert outcome.model_version == learned[-1]
        newest = None
        for c in observer.calls:  # every plan states the version learned last before it
            if c[0] == "learned" and c[1]:
                newest = c[1]
            elif c[0] == "planned" and newest is not None:
                assert c[2] == newest, (c, newest)
    executed = [c[1] for c in observer.calls if c[0] == "executing"]
    assert executed == list(range(len(outcome.steps)))
    assert [c[1] for c in observer.calls if c[0] == "failure"] == outcome.failures


class RatedPlanner(InProcessPlanner):
    """The in-process planner with the rest of a plan rated `rest_probability` by `score` (the real
    predictions kept): 1.0 makes every new plan lose against carrying on, 0.0 every one win."""

    def __init__(self, model, rest_probability: float):
        super().__init__(model, PlannerConfig(num_samples=8), "v0001")
        self.rest_probability, self.plans = rest_probability, 0

    def plan(self, *args):
        self.plans += 1
        return super().plan(*args)

    def score(self, scene, goal, calls):
        return dataclasses.replace(super().score(scene, goal, calls), goal_probability=self.rest_probability)


def test_a_replan_is_made_only_when_the_rest_of_the_plan_is_at_risk_and_kept_only_when_believed(tmp_path):
    # the untrained model mispredicts organize at every step. With the rest of the plan rated at or above
    # `replan_below` the robot carries on without planning; below it a new plan is made and kept only where
    # the model rates it at least `replan_below` and above the rest of the current plan from the same scene
    sample = tasks.sample("organize", np.random.default_rng(3), 3)
    skeleton = [f"{s.type.value}({', '.join(s.object_ids)})" for s in sample.skeleton]
    runs = {}
    for rest, below in ((1.0, 0.5), (0.0, 1.0), (0.0, 1e-6)):
        world = World(sample.scene)
        planner = RatedPlanner(_tiny_model(), rest)
        out = run_task("task-keep", sample.goal, Skeleton.from_task(sample), SimRobot(world),
                       SimGroundTruthPerception(world, n_points=16), None, "",
                       ExecutiveConfig(max_replans=2, replan_below=below), np.random.default_rng(0),
                       store=FailureStore(tmp_path / f"{rest}-{below}"), planner=planner)
        assert out.failures
        runs[below] = out, planner.plans
    for below in (0.5, 1.0):  # the first plan to its end; only a failed last step (no rest) is planned again
        assert [s.skill for s in runs[below][0].steps][: len(skeleton)] == skeleton
    assert runs[0.5][1] == 1 + runs[0.5][0].replans  # carried on without planning
    assert runs[1.0][1] > 1 + runs[1.0][0].replans  # new plans were made, none believed (p < 1)
    replanned, plans = runs[1e-6]
    first = next(i for i, s in enumerate(replanned.steps) if s.event_id)  # a replan repeats the failed step
    assert replanned.replans > 0 and replanned.steps[first + 1].skill == replanned.steps[first].skill
    assert plans == 1 + replanned.replans  # every new plan was kept
    with pytest.raises(ValueError, match="replan_below"):
        ExecutiveConfig(replan_below=0.0)


def test_each_step_is_judged_against_a_prediction_from_the_observation_before_it(tmp_path):
    # §4: a failure event holds O_{k-1} and the relations predicted after skill k; the executive predicts
    # the rest of its plan again after every step, so each stored prediction is the model's from the
    # stored scene (scoring the skill from there gives it back), not one carried over from the first scene
    sample = tasks.sample("organize", np.random.default_rng(3), 3)
    world = World(sample.scene)
    store = FailureStore(tmp_path)
    model = _tiny_model()
    planner = InProcessPlanner(model, PlannerConfig(num_samples=8), "v0001")
    out = run_task("task-1step", sample.goal, Skeleton.from_task(sample), SimRobot(world),
                   SimGroundTruthPerception(world, n_points=16), None, "", ExecutiveConfig(max_replans=0),
                   np.random.default_rng(0), store=store, planner=planner)
    later = [e for e in map(store.load, out.failures) if e.step_index > 0]
    assert later, "the untrained model should mispredict a step after the first"
    for event in later:
        again = planner.score(event.scene_before, sample.goal, [event.skill])
        n = len(event.scene_before.names)
        np.testing.assert_allclose(event.predicted_binary, again.predicted_binary[1][:n, :n], atol=1e-5)
        np.testing.assert_allclose(event.predicted_unary, again.predicted_unary[1][:n], atol=1e-5)
