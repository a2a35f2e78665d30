"""One trial of the comparison (DESIGN.md §4, experiments/README.md "Protocol"): a fresh scene of a
task in the simulated "real" world, planned and executed by the task executive
(`f2p_monitor.executive.run_task`) with one method's model, judged by simulator ground truth (A.9).

Two numbers per trial, side by side, because a retry in this simulation costs nothing while the
model is what the comparison is about:

- **first attempt**: the first plan executed open loop (no monitor, no replanning). This is the
  model's own number; for Original it is the whole trial.
- **within the budget**: the executive with the monitor on and at most `replan_budget` replans
  (a failed step planned again from the scene it left), learning off. The budget is the same for
  every method; Replanning is the pre-trained model with it.

Both runs draw the scene, the sensor noise and the planner's samples from one seeded stream, so
their first plans are the same plan. When the budgeted run never replanned it executed exactly
that plan open loop, so its outcome *is* the first attempt and the open-loop run is skipped.

A trial's scene is one the robot can be given the task in: every object the goal or the skeleton
names is seen at the first observation. A capsule that starts deep in its 10 cm cup can be invisible
from the camera (organize, 3 objects: 4 of 40 scenes; 5 objects: 6 of 40; transport: none); no
planner can name an object it has never seen, so such a scene measures the camera, not the model,
and a person giving the robot the task would not give it that one. It is redrawn, from the next
stream of the same seed (`draw_scene`); the count is recorded (`TrialResult.redraws`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from f2p_experiments.records import TrialResult, TrialSpec
from f2p_learner.methods import Method
from f2p_monitor.executive import ExecutiveConfig, InProcessPlanner, Observer, RetryRule, TaskOutcome, run_task
from f2p_monitor.failure_store import FailureStore
from f2p_monitor.sim_harness import SimRobot
from f2p_perception.sim_gt import SimGroundTruthPerception
from f2p_planner.planner import PlanMethod, PlannerConfig
from f2p_planner.sampling import SamplingConfig
from f2p_planner.skeleton import Skeleton
from f2p_robot.stretch_sim import skill_executor
from f2p_sim import tasks
from f2p_sim.stretch_world import RobotModel, make_world, scene_camera
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

#: second word of every trial's seed sequence, so trial streams never coincide with other seeded uses
TRIAL_STREAM = 7919
#: scenes drawn for one trial seed before giving up (`draw_scene`)
MAX_REDRAWS = 20


@dataclass
class DrawnScene:
    sample: tasks.TaskSample
    rng: np.random.Generator  # the trial's stream, after the scene was drawn from it
    redraws: int


def unseen_task_objects(sample: tasks.TaskSample, camera: str, n_points: int, noise: float,
                        robot: RobotModel | str = RobotModel.FLOATING) -> list[str]:
    """Objects the goal or skeleton of `sample` names that the camera does not see in its scene (with
    `robot` in it: the Stretch hides some objects from some cameras)."""
    named = set(sample.goal.objects()) if sample.goal is not None else set()
    named |= {o for step in sample.skeleton for o in step.object_ids}
    world = make_world(sample.scene, robot)
    look = SimGroundTruthPerception(world, camera, n_points, noise).perceive(np.random.default_rng(0))
    seen = {n for n, v in zip(look.names, look.visible, strict=True) if v}
    return sorted(named - seen)


def draw_scene(spec: TrialSpec, n_points: int, robot: RobotModel | str = RobotModel.FLOATING) -> DrawnScene:
    """`spec`'s scene: drawn from the stream (seed, TRIAL_STREAM), and while an object the task names
    is unseen at the start (module docstring) from (seed, TRIAL_STREAM, k) for k = 1, 2, ..."""
    for k in range(MAX_REDRAWS + 1):
        words = [spec.seed, TRIAL_STREAM, *([k] if k else [])]
        rng = np.random.default_rng(np.random.SeedSequence(words))
        sample = tasks.sample(spec.task, rng, spec.n_objects, real=True)
        sample.scene.cameras = [scene_camera(spec.camera)]  # the trial's viewpoint (A.14: view1, view2)
        if not unseen_task_objects(sample, spec.camera, n_points, spec.noise, robot):
            return DrawnScene(sample, rng, k)
    raise RuntimeError(f"{spec.task} with {spec.n_objects} objects, seed {spec.seed}: in {MAX_REDRAWS + 1} scenes "
                       f"the {spec.camera!r} camera never saw every object the task names")


def skeleton_steps(task: str, n_objects: int, seed: int) -> int:
    """Skills in the plan skeleton of scene `seed`'s first draw (`draw_scene` without its redraws for
    unseen objects, which move objects, not what the task asks): how many steps its plan has."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, TRIAL_STREAM]))
    return len(tasks.sample(task, rng, n_objects, real=True).skeleton)


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of an experiment shares (the same for every method)."""

    replan_budget: int = 1  # replans allowed in the budgeted run (the monitor's max_replans)
    planner_samples: int = 1000  # shooting samples K (A.11)
    # PlanMethod: "shooting" (A.11: the best of K sampled sequences) or "cem" (that round refitted
    # `PlannerConfig.cem_iterations` times to its elite: 4x the rollouts, finer in narrow goal regions)
    planner: str = PlanMethod.SHOOTING.value
    grounded_top_k: int = 0  # PlannerConfig.grounded_top_k: the best K re-scored by grounded rollouts (0: off)
    cem_grounded: bool = False  # PlannerConfig.cem_grounded: planner cem with its elite chosen by grounded rollouts
    free_space: bool = False  # SamplingConfig.free_space: placements on tops only where no other object stands
    cem_factored: bool = False  # PlannerConfig.cem_factored: planner cem, each step refitted to its own elite
    retry: str = RetryRule.ALWAYS.value  # the budgeted run's ExecutiveConfig.retry (RetryRule)
    replan_below: float = ExecutiveConfig.replan_below  # the budgeted run's ExecutiveConfig.replan_below
    robot: str = RobotModel.FLOATING.value  # RobotModel: what executes the skills (stretch: the RE2's model, issue 20)

    def planner_config(self) -> PlannerConfig:
        return PlannerConfig(num_samples=self.planner_samples, method=PlanMethod(self.planner),
                             grounded_top_k=self.grounded_top_k, cem_grounded=self.cem_grounded,
                             cem_factored=self.cem_factored, sampling=SamplingConfig(free_space=self.free_space))


class TimedPlanner(InProcessPlanner):
    """The in-process planner, counting the seconds spent planning (and predicting the rest of a plan)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds = 0.0

    def _timed(self, call, *args):
        t = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.seconds += time.perf_counter() - t

    def plan(self, *args):
        return self._timed(super().plan, *args)

    def score(self, *args):
        return self._timed(super().score, *args)


@dataclass
class Episode:
    """One executive run of a trial's scene."""

    outcome: TaskOutcome
    unmet: list[str]
    goal_probability: float
    plan_s: float
    redraws: int = 0


class _FirstPlan(Observer):
    """Keeps the first plan's goal probability and passes every hook on to `inner`."""

    def __init__(self, inner: Observer | None = None):
        self.goal_probability = float("nan")
        self.inner = inner or Observer()

    def planned(self, plan, scene, first_step):
        if first_step == 0 and np.isnan(self.goal_probability):
            self.goal_probability = float(plan.goal_probability)
        self.inner.planned(plan, scene, first_step)

    def rescored(self, *args):
        self.inner.rescored(*args)

    def executing(self, *args):
        self.inner.executing(*args)

    def observed(self, *args):
        self.inner.observed(*args)

    def failure(self, event):
        self.inner.failure(event)

    def learned(self, event, version):
        self.inner.learned(event, version)


def trial_perception(spec: TrialSpec, world: World, n_points: int):
    """The executive's perception of a trial (`f2p_monitor.executive.Perception`): the simulator's labels
    (`sim_gt`, A.7), or a label-free backend on the camera's cloud, its segments bound to the task's names
    from where the objects are at the start (`f2p_perception.perception.SimCameraPerception`); the observed
    relations are the world's in both (what the simulated robot observes)."""
    if spec.perception == "sim_gt":
        return SimGroundTruthPerception(world, spec.camera, n_points, spec.noise)
    from f2p_perception.perception import SimCameraPerception

    return SimCameraPerception(world, spec.perception, spec.camera, n_points, spec.noise, task_names=True)


def run_episode(spec: TrialSpec, model, version: str, config: ExecutiveConfig, *, store: FailureStore | None = None,
                learner=None, observer: Observer | None = None, task_id: str | None = None,
                robot: RobotModel | str = RobotModel.FLOATING, run=None) -> Episode:
    """Run the executive once on `spec`'s scene (`store`, `learner`, `observer` as `run_task` takes them),
    its skills executed by `robot` (the floating gripper, or the Stretch RE2: f2p_robot.stretch_sim), through
    `run(world, call) -> SkillResult` if given (f2p_experiments.feasibility records what each skill did)."""
    drawn = draw_scene(spec, model.config.n_points, robot)
    sample, rng = drawn.sample, drawn.rng
    world = make_world(sample.scene, robot)
    perception = trial_perception(spec, world, model.config.n_points)
    planner = TimedPlanner(model, config.planner, version)
    first = _FirstPlan(observer)
    outcome = run_task(task_id or f"{spec.task}-{spec.seed}", sample.goal,
                       Skeleton.from_task(sample), SimRobot(world, run or skill_executor(robot)), perception, model,
                       version, config, rng, store=store, learner=learner, planner=planner, observer=first)
    rel = world_relations(world)
    unmet = [atom.text for atom in sample.goal.unmet(rel.holds)]
    return Episode(outcome, unmet, first.goal_probability, planner.seconds, drawn.redraws)


def open_loop_config(settings: TrialSettings) -> ExecutiveConfig:
    return ExecutiveConfig(planner=settings.planner_config(), monitor=False, max_replans=0,
                           classify_failures=False)


def budget_config(settings: TrialSettings) -> ExecutiveConfig:
    """Monitor on, `replan_budget` replans, no classification (nothing learns during a trial)."""
    return ExecutiveConfig(planner=settings.planner_config(), monitor=True, max_replans=settings.replan_budget,
                           classify_failures=False, replan_below=settings.replan_below,
                           retry=RetryRule(settings.retry))


def run_trial(spec: TrialSpec, model, version: str, settings: TrialSettings, *, model_sha256: str = "",
              parent_sha256: str = "") -> TrialResult:
    """Both numbers of one trial (module docstring)."""
    t0 = time.perf_counter()
    robot = settings.robot
    if spec.method is Method.ORIGINAL:
        run = first = run_episode(spec, model, version, open_loop_config(settings), robot=robot)
    else:
        run = run_episode(spec, model, version, budget_config(settings), robot=robot)
        first = run if run.outcome.replans == 0 else run_episode(spec, model, version, open_loop_config(settings),
                                                                 robot=robot)
    out = run.outcome
    total = time.perf_counter() - t0
    return TrialResult(
        spec=spec, first_attempt_success=bool(first.outcome.success), success=bool(out.success),
        unmet_first=first.unmet, unmet=run.unmet, statuses=[s.status for s in out.steps],
        mismatched_steps=sum(s.mismatches > 0 for s in out.steps), replans=out.replans,
        goal_probability=run.goal_probability, plan_s=run.plan_s, execute_s=max(total - run.plan_s, 0.0),
        model_version=out.model_version or version, model_sha256=model_sha256, parent_sha256=parent_sha256,
        error=out.error, redraws=run.redraws, trial=asdict(settings))
