"""Continuous-parameter planners over the skill effect model (paper §3, A.11 "Planning Details").

Given the observation O_0 (segmented point clouds), a plan skeleton φ_{1:H} and a goal
G = g_1 ∧ … ∧ g_M, find parameters a_{1:H} maximising (§3)

    p(G | O_0, φ_{1:H}, a_{1:H}) = Π_i p(g_i)   at the last step H,

the relations being independent Bernoulli outputs of the decoders (A.11 ``Dec_u`` / ``Dec_b``);
a negated atom contributes 1 − p. Scores are sums of logs (float64, probabilities clamped at
``LOG_EPS``) so that many atoms do not underflow.

* :class:`ShootingPlanner` -- A.11: "we sample a set of continuous parameters {a^j_{1:H}} from the
  robot's workspace. Each continuous parameter sequence is rolled out, and we select the sequence
  that maximizes the probability of satisfying G." K sequences (:mod:`f2p_planner.sampling`) are
  rolled out in latent space with ``rollout_many``: the scene is encoded once and each step is one
  batched dynamics call over the K samples (A.11 "Dynamics": X_{t+H} = Dyn(X_t, AL_{1:H})), no
  re-encoding of predicted states.
* :class:`CEMPlanner` -- the cross-entropy method §3 names as the alternative ([50, 52, 53]):
  start from the shooting samples, then for ``cem_iterations`` rounds fit a diagonal Gaussian
  (circular mean/spread for angles) to the ``cem_elite_fraction`` best samples, draw K new ones,
  move them into the workspace (clip, wrap angles; free space with ``SamplingConfig.free_space``)
  and roll them out. The best sequence seen in any round is returned, so with the same generator
  CEM never does worse than shooting.

Both take the same inputs through :meth:`Planner.plan` and return a :class:`PlanResult`.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from f2p_core.goal import Goal, GoalIndex, parse_goal
from f2p_core.relations import BINARY, UNARY
from f2p_core.skills import MAX_PARAMS, PARAM_NAMES, SKILL_NAMES, SkillCall
from f2p_core.task import SkeletonStep

from .sampling import ParameterSampler, SamplingConfig, SceneGeometry, boxes_from_points, wrap_angle
from .skeleton import Skeleton, parse_skeleton

LOG_EPS = 1e-12
"""Probabilities (and 1 − p) are clamped at this before the log: a saturated sigmoid gives exactly
0 or 1 in float32, and the ranking of other samples must survive one impossible atom."""


class PlanMethod(str, Enum):
    """How the continuous parameters are searched (§3)."""

    SHOOTING = "shooting"  # A.11's random shooting
    CEM = "cem"  # cross-entropy method


@dataclass(frozen=True)
class PlannerConfig:
    """Planner settings; defaults follow A.11 where it gives them."""

    num_samples: int = 1000  # K_a of A.11: sequences per round (A.11 gives no value; 1000 as Points2Plans)
    method: PlanMethod = PlanMethod.SHOOTING  # which planner make_planner builds
    cem_iterations: int = 3  # CEM refits after the initial shooting round (K rollouts each)
    cem_elite_fraction: float = 0.1  # share of a round's samples the Gaussian is fitted to
    cem_min_std: float = 0.01  # floor of the refitted std, as a fraction of each parameter's range
    chunk_size: int = 1000  # sequences per rollout_many call; lower it when the device runs out of memory
    # The best `grounded_top_k` sequences of the search (by the latent rollout's score) scored again with
    # grounded rollouts (`SkillEffectModel.rollout_grounded`: every skill predicted from the scene re-encoded
    # where the earlier skills put the objects), the best of them kept; 0: off (the latent rollout decides).
    # A latent rollout drifts over several skills (experiments/RESULTS.md, "Rollouts drift"); re-encoding
    # costs about 0.6 ms per moved segment and step, so only for a few candidates.
    grounded_top_k: int = 0
    # CEM only: its elite chosen by grounded rollouts. The shooting round (K latent rollouts) keeps its best
    # `grounded_top_k`, scored again grounded; each refit then draws `grounded_top_k` sequences and scores them
    # grounded. CEM over the latent score refits to what the drifting rollout overrates: on HTO's 5/7-object
    # development scenes it solved none where shooting solved some (experiments/RESULTS.md, "Five and seven objects").
    cem_grounded: bool = False
    # CEM only: each step's Gaussian refitted to its own elite, the samples best on the goal atoms about what that
    # step moves (its acted object and what that holds; `ParameterSampler.moved`), instead of one elite by the whole
    # p(goal) (the atoms of a conjunction add in log p, §3). A sample whose cups are in the goal's order but whose
    # capsule placements are poor then still teaches the cups' steps: at 7 HTO objects about 1 in 100 samples has
    # the cups in order and none reached the elite (experiments/RESULTS.md, "A retry undid a step that had worked").
    cem_factored: bool = False
    seed: int = 0  # seed of the generator plan() uses when none is passed
    sampling: SamplingConfig = field(default_factory=SamplingConfig)  # workspace bounds

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", PlanMethod(self.method))
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if self.cem_iterations < 0:
            raise ValueError(f"cem_iterations must be >= 0, got {self.cem_iterations}")
        if not 0.0 < self.cem_elite_fraction <= 1.0:
            raise ValueError(f"cem_elite_fraction must be in (0, 1], got {self.cem_elite_fraction}")
        if self.cem_min_std < 0:
            raise ValueError(f"cem_min_std must be >= 0, got {self.cem_min_std}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.grounded_top_k < 0:
            raise ValueError(f"grounded_top_k must be >= 0, got {self.grounded_top_k}")
        if self.cem_factored and self.method is not PlanMethod.CEM:
            raise ValueError(f"cem_factored needs method cem, got {self.method.value}")
        if self.cem_grounded and (self.method is not PlanMethod.CEM or self.grounded_top_k < 2):
            raise ValueError("cem_grounded needs method cem and grounded_top_k >= 2 (the sequences per grounded "
                             f"round), got {self.method.value} and {self.grounded_top_k}")


class RolloutModel(Protocol):
    """What the planners need of a model: ``f2p_model.model.SkillEffectModel.rollout_many``.

    points (N, P, 3) float, mask (N,) bool, skills (H,) long, acted (H,) long, params (K, H, A)
    -> an object with ``unary`` (K, H+1, N, U), ``binary`` (K, H+1, N, N, R) probabilities and
    ``pos`` (K, H+1, N, 3); step 0 is detection on the observation.
    """

    def rollout_many(
        self, points: torch.Tensor, mask: torch.Tensor, skills: torch.Tensor, acted: torch.Tensor, params: torch.Tensor
    ) -> Any: ...


@dataclass(frozen=True)
class PlanTiming:
    """Wall-clock seconds of one plan() call."""

    total_s: float
    rollout_s: float  # inside rollout_many and scoring
    rollout_calls: int  # rollout_many calls (one encode each)


@dataclass
class PlanResult:
    """The chosen parameter sequence and what the model predicts for it.

    Arrays are numpy on the CPU. N is the model's object count (padding included), U / R the
    unary / binary vocabulary sizes, A the padded parameter width.
    """

    goal: Goal
    skeleton: Skeleton
    params: np.ndarray  # (H, A) model parameters, zero-padded (PARAM_NAMES order per skill)
    skill_calls: list[SkillCall]  # the plan as f2p_sim skills, unpadded parameters
    targets: np.ndarray  # (H, 3) planned object centre after each pick_place, NaN for other skills
    goal_probability: float  # p(G | O_0, φ, a) at step H
    goal_log_probability: float
    atom_probabilities: np.ndarray  # (M,) p of each goal atom (1 − p when negated), goal order
    predicted_unary: np.ndarray  # (H+1, N, U)
    predicted_binary: np.ndarray  # (H+1, N, N, R)
    predicted_pos: np.ndarray  # (H+1, N, 3)
    method: PlanMethod
    model_version: str
    num_rollouts: int  # sequences rolled out in all
    best_log_probability_per_round: tuple[float, ...]  # best score after each round (CEM diagnostics)
    timing: PlanTiming


def goal_log_probability(unary: torch.Tensor, binary: torch.Tensor, index: GoalIndex) -> torch.Tensor:
    """log p(G) = Σ_i log p(g_i) (log(1 − p) for negated atoms) for K samples (§3).

    ``unary`` (K, N, U), ``binary`` (K, N, N, R): probabilities at the final step. Returns (K,)
    float64; NaN predictions count as impossible.
    """
    return torch.nan_to_num(atom_log_probabilities(unary, binary, index).sum(dim=1), nan=-math.inf)


def atom_log_probabilities(unary: torch.Tensor, binary: torch.Tensor, index: GoalIndex) -> torch.Tensor:
    """log p(g_i) of each goal atom (log(1 − p) for negated ones) for K samples: (K, M) float64, the unary atoms
    then the binary ones (``GoalIndex``'s columns, not the goal's order); NaN where a prediction is NaN."""
    dev = unary.device

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, device=dev)

    pu = unary[:, t(index.unary_object), t(index.unary_relation)].double()  # (K, Mu)
    pb = binary[:, t(index.binary_subject), t(index.binary_object), t(index.binary_relation)].double()  # (K, Mb)
    p = torch.cat([pu, pb], dim=1)  # (K, M)
    neg = t(np.concatenate([index.unary_negated, index.binary_negated]))  # (M,)
    sat = torch.where(neg, 1.0 - p, p).clamp_min(LOG_EPS)
    return torch.log(sat)  # (K, M)


def atom_objects(index: GoalIndex) -> list[tuple[int, ...]]:
    """The objects (indices) each of ``atom_log_probabilities``' columns is about."""
    return ([(int(o),) for o in index.unary_object]
            + [(int(a), int(b)) for a, b in zip(index.binary_subject, index.binary_object, strict=True)])


@dataclass
class _Best:
    """The best sequence so far and its predicted rollout."""

    score: float = -math.inf
    decisions: np.ndarray | None = None  # (H, A)
    params: np.ndarray | None = None  # (H, A)
    unary: np.ndarray | None = None  # (H+1, N, U)
    binary: np.ndarray | None = None  # (H+1, N, N, R)
    pos: np.ndarray | None = None  # (H+1, N, 3)

    @classmethod
    def of(cls, score: float, decisions: np.ndarray | None, params: np.ndarray, out: Any, i: int) -> _Best:
        """Sample `i` of a rollout `out` with its decisions (None: parameters given, not sampled) and
        parameters (copied)."""
        return cls(score=score, decisions=None if decisions is None else decisions.copy(), params=params.copy(),
                   unary=out.unary[i].float().cpu().numpy(), binary=out.binary[i].float().cpu().numpy(),
                   pos=out.pos[i].float().cpu().numpy())


class _Problem:
    """One planning problem: the scene tensors, the sampler, the goal index and the evaluations."""

    def __init__(
        self,
        model: RolloutModel,
        config: PlannerConfig,
        points: torch.Tensor,
        mask: torch.Tensor,
        skills: torch.Tensor,
        acted: torch.Tensor,
        sampler: ParameterSampler,
        index: GoalIndex,
        goal: Goal,
        skeleton: Skeleton,
    ) -> None:
        self.model, self.config = model, config
        self.goal, self.skeleton = goal, skeleton
        self.points, self.mask, self.skills, self.acted = points, mask, skills, acted
        self.sampler, self.index = sampler, index
        self.best = _Best()
        self.top: list[tuple[float, int, np.ndarray]] = []  # (score, order, decisions): the best config.grounded_top_k
        self.seen = 0  # decisions evaluated so far (the order of `top`'s ties)
        self.rollouts = 0
        self.calls = 0
        self.rollout_s = 0.0
        self.round_best: list[float] = []
        objects = atom_objects(index)
        self.atom_logp = np.zeros((0, len(objects)))  # (K, M) of the last decisions evaluated
        # (H, M): the atoms about what each step moves (``ParameterSampler.moved``); all, for a step none is about
        about = np.array([[bool(set(sampler.moved(t).tolist()).intersection(objs)) for objs in objects]
                          for t in range(sampler.horizon)], dtype=bool).reshape(sampler.horizon, len(objects))
        self.step_atoms = np.where(about.any(axis=1, keepdims=True), about, True)

    def step_scores(self) -> np.ndarray:
        """(K, H) per step, the log p of the goal atoms about what it moves (``step_atoms``), for the last
        decisions evaluated."""
        logp = np.nan_to_num(self.atom_logp, nan=-math.inf)
        return np.stack([logp[:, about].sum(axis=1) for about in self.step_atoms], axis=1)

    def evaluate(self, decisions: np.ndarray) -> np.ndarray:
        """Scores (K,) of decisions (K, H, A): convert, roll out in chunks, keep the best."""
        params = self.sampler.to_params(decisions)  # (K, H, A)
        k = params.shape[0]
        scores = np.empty(k)
        self.atom_logp = np.empty((k, self.atom_logp.shape[1]))
        t0 = time.perf_counter()
        for start in range(0, k, self.config.chunk_size):
            stop = min(k, start + self.config.chunk_size)
            chunk = torch.as_tensor(params[start:stop], dtype=self.points.dtype, device=self.points.device)
            out = self.model.rollout_many(self.points, self.mask, self.skills, self.acted, chunk)
            self.calls += 1
            h1, n = self.skills.shape[0] + 1, self.mask.shape[0]
            assert out.unary.shape[:3] == (stop - start, h1, n), f"unary {tuple(out.unary.shape)}"
            assert out.binary.shape[:4] == (stop - start, h1, n, n), f"binary {tuple(out.binary.shape)}"
            atoms = atom_log_probabilities(out.unary[:, -1], out.binary[:, -1], self.index)  # (k, M)
            logp = torch.nan_to_num(atoms.sum(dim=1), nan=-math.inf)  # (k,) as goal_log_probability
            self.atom_logp[start:stop] = atoms.cpu().numpy()
            scores[start:stop] = logp.cpu().numpy()
            self._keep_top(decisions[start:stop], scores[start:stop])
            i = int(torch.argmax(logp))
            if float(logp[i]) > self.best.score or self.best.params is None:
                self.best = _Best.of(float(logp[i]), decisions[start + i], params[start + i], out, i)
        self.rollout_s += time.perf_counter() - t0
        self.rollouts += k
        self.round_best.append(self.best.score)
        return scores

    def _keep_top(self, decisions: np.ndarray, scores: np.ndarray) -> None:
        """Keep the `config.grounded_top_k` best decisions seen so far (ties: the first seen)."""
        top_k = self.config.grounded_top_k
        if top_k == 0:
            return
        pairs = enumerate(zip(scores, decisions, strict=True))
        self.top.extend((float(s), self.seen + i, d.copy()) for i, (s, d) in pairs)
        self.seen += len(scores)
        self.top = sorted(self.top, key=lambda e: (-e[0], e[1]))[:top_k]

    def rescore_grounded(self) -> tuple[np.ndarray, np.ndarray]:
        """Score the kept best decisions again with grounded rollouts and keep the best of them as
        `best` (`PlannerConfig.grounded_top_k`); `best.score` is then the grounded one. Returns those
        decisions (k, H, A) and their grounded scores (k,)."""
        if not self.top:
            return np.zeros((0, *self.sampler.low.shape)), np.zeros(0)
        decisions = np.stack([d for _, _, d in self.top])  # (k, H, A)
        self.best = _Best()
        return decisions, self.evaluate_grounded(decisions)

    def evaluate_grounded(self, decisions: np.ndarray) -> np.ndarray:
        """Scores (K,) of decisions (K, H, A) by grounded rollouts (`rollout_grounded`), in one call; the
        best is kept when it beats `best` (the grounded scores compare only with grounded ones)."""
        params = self.sampler.to_params(decisions)
        t0 = time.perf_counter()
        chunk = torch.as_tensor(params, dtype=self.points.dtype, device=self.points.device)
        out = self.model.rollout_grounded(self.points, self.mask, self.skills, self.acted, chunk)
        atoms = atom_log_probabilities(out.unary[:, -1], out.binary[:, -1], self.index)
        self.atom_logp = atoms.cpu().numpy()
        logp = torch.nan_to_num(atoms.sum(dim=1), nan=-math.inf)
        i = int(torch.argmax(logp))
        if float(logp[i]) > self.best.score or self.best.params is None:
            self.best = _Best.of(float(logp[i]), decisions[i], params[i], out, i)
        self.calls += 1
        self.rollouts += len(decisions)
        self.rollout_s += time.perf_counter() - t0
        self.round_best.append(self.best.score)
        return logp.cpu().numpy()


@contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Dropout off while planning (f2p_model: "call model.eval() before planning"); restored after."""
    module = model if isinstance(model, nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        yield
    finally:
        if module is not None and was_training:
            module.train(True)


def _model_device(model: Any) -> torch.device:
    if isinstance(model, nn.Module):
        for p in model.parameters():
            return p.device
        for b in model.buffers():
            return b.device
    return torch.device("cpu")


class Planner(ABC):
    """Shared interface: :meth:`plan` from segments, goal and skeleton to a :class:`PlanResult`.

    ``model`` provides ``rollout_many`` (:class:`RolloutModel`); its ``config`` (if it has one, as
    ``f2p_model.config.ModelConfig``) gives the relation vocabularies, skill order and parameter
    width, else those of ``f2p_sim``. ``model_version`` is copied into every result.
    """

    method: PlanMethod = PlanMethod.SHOOTING

    def __init__(self, model: RolloutModel, config: PlannerConfig | None = None, model_version: str = "") -> None:
        self.model = model
        self.config = config if config is not None else PlannerConfig()
        self.model_version = str(model_version)
        mcfg = getattr(model, "config", None)
        self.unary_names: tuple[str, ...] = tuple(getattr(mcfg, "unary_names", UNARY))
        self.binary_names: tuple[str, ...] = tuple(getattr(mcfg, "binary_names", BINARY))
        self.skill_names: tuple[str, ...] = tuple(getattr(mcfg, "skill_types", SKILL_NAMES))
        self.param_width: int = int(getattr(mcfg, "max_param_dim", MAX_PARAMS))

    def plan(
        self,
        points: np.ndarray | torch.Tensor,
        mask: np.ndarray | torch.Tensor,
        names: Sequence[str],
        boxes: np.ndarray | None,
        classes: Sequence[str],
        goal: Goal | str,
        skeleton: Skeleton | str,
        rng: np.random.Generator | None = None,
    ) -> PlanResult:
        """Plan parameters for ``skeleton`` that make ``goal`` most likely.

        ``points`` (N, P, 3) segment clouds (world frame, m) and ``mask`` (N,) real rows, in the
        model's object order; ``names`` / ``classes`` (N,) per row (``""`` for padding); ``boxes``
        (N, 2, 3) segment AABBs [min, max], or ``None`` to take them from the points; ``goal`` and
        ``skeleton`` as objects or text (validated against the scene either way); ``rng`` draws the
        samples (``None``: a generator seeded with ``config.seed``).
        """
        t_start = time.perf_counter()
        rng = rng if rng is not None else np.random.default_rng(self.config.seed)
        problem = self._problem(points, mask, names, boxes, classes, goal, skeleton)
        with torch.no_grad(), _eval_mode(self.model):
            self._search(problem, rng)
            if self.config.grounded_top_k and not self.config.cem_grounded:  # cem_grounded's search ends grounded
                problem.rescore_grounded()
        assert problem.best.decisions is not None
        _, targets = problem.sampler.rollout_geometry(problem.best.decisions[None])
        return self._result(problem, targets[0], t_start)

    def score(
        self,
        points: np.ndarray | torch.Tensor,
        mask: np.ndarray | torch.Tensor,
        names: Sequence[str],
        boxes: np.ndarray | None,
        classes: Sequence[str],
        goal: Goal | str,
        calls: Sequence[SkillCall],
    ) -> PlanResult:
        """The plan of exactly ``calls`` (their parameters as given, no search) from this scene: what the
        model predicts after each and p(goal) after the last, rolled out as :meth:`plan` scores its
        choice (grounded when ``config.grounded_top_k``), so the two probabilities compare.

        The task executive asks this after every step of a plan (f2p_monitor.executive): the rest of
        the plan predicted from the scene just observed, so each step is judged against a prediction
        from the observation before it (§4's O^F, R^F), and a replan is kept only when it beats it.
        Arguments as :meth:`plan`; ``targets`` of the result are NaN (no sampled decision behind them).
        """
        t_start = time.perf_counter()
        if not calls:
            raise ValueError("no skill calls to score")
        skeleton = Skeleton.from_steps(SkeletonStep(c.type, tuple(c.object_ids)) for c in calls)
        problem = self._problem(points, mask, names, boxes, classes, goal, skeleton)
        params = np.zeros((1, len(calls), self.param_width))
        for t, call in enumerate(calls):
            given = np.asarray(call.params, dtype=np.float64)
            if given.shape != (len(PARAM_NAMES[call.type]),):
                raise ValueError(f"{call.type.value} takes {len(PARAM_NAMES[call.type])} parameters, got {given.shape}")
            params[0, t, : len(given)] = given
        rollout = self.model.rollout_grounded if self.config.grounded_top_k else self.model.rollout_many
        t0 = time.perf_counter()
        with torch.no_grad(), _eval_mode(self.model):
            out = rollout(problem.points, problem.mask, problem.skills, problem.acted,
                          torch.as_tensor(params, dtype=problem.points.dtype, device=problem.points.device))
            logp = goal_log_probability(out.unary[:, -1], out.binary[:, -1], problem.index)
        problem.best = _Best.of(float(logp[0]), None, params[0], out, 0)
        problem.rollouts, problem.calls, problem.rollout_s = 1, 1, time.perf_counter() - t0
        problem.round_best.append(problem.best.score)
        return self._result(problem, np.full((len(calls), 3), np.nan), t_start)

    def _problem(
        self,
        points: np.ndarray | torch.Tensor,
        mask: np.ndarray | torch.Tensor,
        names: Sequence[str],
        boxes: np.ndarray | None,
        classes: Sequence[str],
        goal: Goal | str,
        skeleton: Skeleton | str,
    ) -> _Problem:
        """The inputs of :meth:`plan` checked and turned into one planning problem (nothing evaluated)."""
        if self.config.grounded_top_k and not hasattr(self.model, "rollout_grounded"):
            raise ValueError(f"grounded_top_k needs a model with rollout_grounded; {type(self.model).__name__} "
                             "has none")
        pts = np.asarray(points.detach().cpu() if isinstance(points, torch.Tensor) else points, dtype=np.float32)
        msk = np.asarray(mask.detach().cpu() if isinstance(mask, torch.Tensor) else mask, dtype=bool)
        if pts.ndim != 3 or pts.shape[-1] != 3 or msk.shape != pts.shape[:1] or len(names) != len(msk):
            raise ValueError(
                f"points must be (N, P, 3) with mask (N,) and N names; got {pts.shape}, {msk.shape}, {len(names)} names"
            )
        if boxes is None:
            boxes = boxes_from_points(pts, msk)
        geometry = SceneGeometry.from_boxes(names, boxes, classes, msk)
        real = geometry.real_names
        goal = (
            parse_goal(goal, real, self.unary_names, self.binary_names)
            if isinstance(goal, str)
            else goal.validate(real, self.unary_names, self.binary_names)
        )
        skeleton = (
            parse_skeleton(skeleton, real, geometry.class_map())
            if isinstance(skeleton, str)
            else skeleton.validate(real, geometry.class_map())
        )
        sampler = ParameterSampler(geometry, skeleton, self.param_width, self.config.sampling)
        device = _model_device(self.model)
        skills, acted = skeleton.to_tensors(geometry.names, self.skill_names, device)
        return _Problem(
            self.model,
            self.config,
            torch.as_tensor(pts, device=device),
            torch.as_tensor(msk, device=device),
            skills,
            acted,
            sampler,
            goal.index(geometry.names, self.unary_names, self.binary_names),
            goal,
            skeleton,
        )

    @abstractmethod
    def _search(self, problem: _Problem, rng: np.random.Generator) -> None:
        """Fill ``problem.best`` by evaluating decision samples (``problem.evaluate``)."""

    def _result(self, problem: _Problem, targets: np.ndarray, t_start: float) -> PlanResult:
        """The result of `problem`'s best sequence; `targets` (H, 3) its pick_place target centres."""
        best, goal, skeleton = problem.best, problem.goal, problem.skeleton
        assert best.params is not None
        assert best.unary is not None and best.binary is not None and best.pos is not None
        calls = [
            SkillCall(step.type, step.object_ids, best.params[t, : len(PARAM_NAMES[step.type])])
            for t, step in enumerate(skeleton)
        ]
        return PlanResult(
            goal=goal,
            skeleton=skeleton,
            params=best.params,
            skill_calls=calls,
            targets=targets,
            goal_probability=math.exp(best.score),
            goal_log_probability=best.score,
            atom_probabilities=problem.index.atom_probabilities(best.unary[-1], best.binary[-1]),
            predicted_unary=best.unary,
            predicted_binary=best.binary,
            predicted_pos=best.pos,
            method=self.method,
            model_version=self.model_version,
            num_rollouts=problem.rollouts,
            best_log_probability_per_round=tuple(problem.round_best),
            timing=PlanTiming(
                total_s=time.perf_counter() - t_start, rollout_s=problem.rollout_s, rollout_calls=problem.calls
            ),
        )


class ShootingPlanner(Planner):
    """A.11's shooting: K sequences from the workspace, rolled out once, the best one kept."""

    method = PlanMethod.SHOOTING

    def _search(self, problem: _Problem, rng: np.random.Generator) -> None:
        problem.evaluate(problem.sampler.sample_decisions(self.config.num_samples, rng))


class CEMPlanner(Planner):
    """Cross-entropy method (§3) initialised from the shooting samples (module docstring)."""

    method = PlanMethod.CEM

    def _search(self, problem: _Problem, rng: np.random.Generator) -> None:
        cfg, sampler = self.config, problem.sampler
        decisions = sampler.sample_decisions(cfg.num_samples, rng)  # round 0: the shooting samples
        scores = problem.evaluate(decisions)
        if cfg.cem_grounded:  # the round's best grounded_top_k, scored grounded, are the first elite's pool
            decisions, scores = problem.rescore_grounded()
        n = cfg.grounded_top_k if cfg.cem_grounded else cfg.num_samples
        n_elite = max(1, math.ceil(cfg.cem_elite_fraction * n))
        span = np.where(sampler.periodic, 2.0 * math.pi, sampler.high - sampler.low)  # (H, A)
        for _ in range(cfg.cem_iterations):
            if cfg.cem_factored:  # each step its own elite (PlannerConfig.cem_factored)
                mean, std = factored_fit(decisions, problem.step_scores(), n_elite, sampler.periodic)
            else:
                elite = decisions[np.argsort(-scores, kind="stable")[:n_elite]]  # (E, H, A)
                mean, std = fit_gaussian(elite, sampler.periodic)
            std = np.maximum(std, cfg.cem_min_std * span)
            decisions = sampler.into_workspace(mean + std * rng.standard_normal((n, *mean.shape)), rng)
            scores = problem.evaluate_grounded(decisions) if cfg.cem_grounded else problem.evaluate(decisions)


def factored_fit(decisions: np.ndarray, step_scores: np.ndarray, n_elite: int,
                 periodic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (H, A) with step t's fitted to the ``n_elite`` decisions best by ``step_scores[:, t]``."""
    mean, std = np.empty(decisions.shape[1:]), np.empty(decisions.shape[1:])
    for t in range(decisions.shape[1]):
        elite = decisions[np.argsort(-step_scores[:, t], kind="stable")[:n_elite], t]  # (E, A)
        mean[t], std[t] = fit_gaussian(elite, periodic[t])
    return mean, std


def fit_gaussian(samples: np.ndarray, periodic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std of ``samples`` (E, ...); dims marked ``periodic`` (angles) use
    the circular mean and the spread of the wrapped differences to it."""
    mean = samples.mean(axis=0)
    std = samples.std(axis=0)
    circ = np.arctan2(np.sin(samples).mean(axis=0), np.cos(samples).mean(axis=0))
    circ_std = np.sqrt(np.mean(wrap_angle(samples - circ) ** 2, axis=0))
    return np.where(periodic, circ, mean), np.where(periodic, circ_std, std)


PLANNERS: dict[PlanMethod, type[Planner]] = {
    PlanMethod.SHOOTING: ShootingPlanner,
    PlanMethod.CEM: CEMPlanner,
}
"""Planner class per method."""


def make_planner(model: RolloutModel, config: PlannerConfig | None = None, model_version: str = "") -> Planner:
    """The planner ``config.method`` names."""
    config = config if config is not None else PlannerConfig()
    return PLANNERS[config.method](model, config, model_version)
