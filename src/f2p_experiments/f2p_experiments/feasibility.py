"""Can the Stretch RE2 do what the planner asks? (issue 20, "Measured").

For a fresh scene of a task, the pre-trained model plans from the Stretch's head camera and the plan is
executed open loop by the simulated Stretch (`robot: stretch`: f2p_robot.stretch_sim, the joint goals the
real robot gets). Every skill's outcome and the reason of a failure are kept; the same skill calls are then
replayed by the floating gripper in the same scene (`f2p_sim.skills`), so the two columns compare the same
calls. A skill the floating gripper executes and the Stretch does not is one the Stretch cannot do: out of
reach, a collision of its arm, base or gripper, or a grasp it cannot make (`reason`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from f2p_core.skills import SkillCall, SkillResult, SkillStatus
from f2p_experiments.records import TrialSpec
from f2p_experiments.trial import TrialSettings, draw_scene, open_loop_config, run_episode
from f2p_learner.methods import Method
from f2p_robot.stretch_sim import execute as stretch_execute
from f2p_sim.skills import execute as floating_execute
from f2p_sim.stretch_world import HEAD_CAMERA, RobotModel
from f2p_sim.transitions import world_relations
from f2p_sim.world import World

SCHEMA_VERSION = 1

# A failure's message -> its reason (first match), from the words of stretch_kinematics and stretch_sim
REASONS = (
    (r"did not reach the goal", "collision: blocked joint"),  # first: its message names the joint too
    (r"wrist_extension", "reach: arm extension"),
    (r"joint_lift", "reach: lift height"),
    (r"joint_wrist_yaw", "reach: wrist yaw"),
    (r"drive .* more than", "reach: base travel"),
    (r"wide across the fingers", "grasp: wider than the gripper"),
    (r"touched the static object", "collision: furniture"),
    (r"touched the movable object", "collision: another object"),
    (r"closed on nothing", "grasp: missed"),
    (r"slipped", "grasp: dropped"),
)


def reason(result: SkillResult) -> str:
    """Why a skill failed, in one of `REASONS`' words ("" for a success; "other: <status>" if none matches)."""
    if result.status is SkillStatus.OK:
        return ""
    for pattern, why in REASONS:
        if re.search(pattern, result.message):
            return why
    return f"other: {result.status.value}"


@dataclass
class SkillAttempt:
    skill: str  # "pick_place(cup_1, table_B)"
    stretch: str  # SkillStatus value
    reason: str  # `reason` of the Stretch's failure ("" when ok)
    message: str
    floating: str  # the floating gripper's status for the same call, replayed in the same scene


@dataclass
class FeasibilityResult:
    task: str
    n_objects: int
    seed: int
    camera: str
    planned: bool  # False when no plan was made (`error`)
    stretch_success: bool  # the goal held after the Stretch executed the plan
    floating_success: bool  # ... after the floating gripper executed the same calls
    skills: list[SkillAttempt] = field(default_factory=list)
    error: str = ""
    redraws: int = 0
    kind: str = "feasibility"
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Recorder:
    """A skill executor that keeps every call and result (run_episode's `run`)."""

    def __init__(self):
        self.calls: list[SkillCall] = []
        self.results: list[SkillResult] = []

    def __call__(self, world, call: SkillCall) -> SkillResult:
        result = stretch_execute(world, call)
        self.calls.append(call)
        self.results.append(result)
        return result


def _text(call: SkillCall) -> str:
    return f"{call.type.value}({', '.join(call.object_ids)})"


def compare(task: str, n_objects: int, seed: int, model, version: str, settings: TrialSettings,
            camera: str = HEAD_CAMERA) -> FeasibilityResult:
    """The plan of scene `seed` executed by the Stretch, and its calls by the floating gripper (docstring)."""
    spec = TrialSpec("stretch_feasibility", "points2plans", Method.ORIGINAL, task, n_objects, camera, 0.0, seed)
    recorder = _Recorder()
    episode = run_episode(spec, model, version, open_loop_config(settings), robot=RobotModel.STRETCH, run=recorder)
    scene = draw_scene(spec, model.config.n_points, RobotModel.STRETCH).sample  # the same scene (deterministic)
    floating = World(scene.scene)
    attempts = []
    for call, result in zip(recorder.calls, recorder.results, strict=True):
        replay = floating_execute(floating, call)
        attempts.append(SkillAttempt(_text(call), result.status.value, reason(result), result.message,
                                     replay.status.value))
    holds = world_relations(floating).holds
    return FeasibilityResult(task, n_objects, seed, camera, not episode.outcome.error,
                             bool(episode.outcome.success), bool(recorder.calls) and not scene.goal.unmet(holds),
                             attempts, episode.outcome.error, episode.redraws)


def summarise(results: list[FeasibilityResult]) -> dict[str, Any]:
    """Counts of one cell: skills the Stretch executed of those planned, the floating gripper's on the same
    calls, the reasons of the Stretch's failures, and the task successes of both."""
    skills = [s for r in results for s in r.skills]
    stretch_ok = sum(s.stretch == SkillStatus.OK.value for s in skills)
    floating_ok = sum(s.floating == SkillStatus.OK.value for s in skills)
    only_floating = sum(s.floating == SkillStatus.OK.value and s.stretch != SkillStatus.OK.value for s in skills)
    return {"scenes": len(results), "planned": sum(r.planned for r in results), "skills": len(skills),
            "stretch_ok": stretch_ok, "floating_ok": floating_ok, "only_floating": only_floating,
            "reasons": dict(Counter(s.reason for s in skills if s.reason).most_common()),
            "stretch_success": sum(r.stretch_success for r in results),
            "floating_success": sum(r.floating_success for r in results)}
