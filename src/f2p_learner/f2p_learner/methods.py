"""The learning methods of the paper's comparison (Sec. 6, A.16) behind one interface.

Every method that learns proposes M (state, action) particles for one failure; the rest of the
pipeline — D+ in simulation, fine-tune, validate, publish (`learner.py`) — is shared, so the
experiments swap methods by name and nothing else changes:

| name | states | actions |
|---|---|---|
| `fail2progress` | SVGD, Eq. 4/5 (RBF kernel) | SVGD, Eq. 6/7 |
| `gradient` | independent particles, gradient steps on the same objective, no kernel | same, no kernel |
| `sampling` | uniform prior draws kept if the model keeps R^F | uniform draws kept if the entropy is high |
| `small` | 20 uniform random samples of the prior (no objective) | uniform over the parameter bounds |
| `large` | 2,000 uniform random samples | uniform |
| `domain_randomization` | Gaussian perturbations of the failure state | the failed action, held fixed |

`original` (no monitoring, no learning) and `replanning` (monitor and replan from the current
scene, no learning) do not learn: they are settings of the executive (`executive_settings`).
Sampling keeps a state draw when the model detects at least `target_satisfaction` of R^F in it (of
the relations Eq. 4 keeps, `InferenceConfig.state_relations`) and an action draw when the mean
entropy of the failure relations reaches `target_entropy`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import torch
from torch import Tensor

from f2p_learner.inference import (
    FailureTensors,
    InferenceConfig,
    Kernel,
    action_bounds,
    action_objective,
    action_relations,
    infer_actions,
    infer_states,
    prior_limits,
    prior_states,
    state_satisfaction,
    uniform_actions,
)
from f2p_learner.names import parse_name
from f2p_model.model import SkillEffectModel


class Method(str, Enum):
    """Every method of the paper's comparison (Sec. 6, A.16): the one home of their names.

    `learns` says whether the method runs a learner on a failure (the rest of the pipeline is
    shared); `executive_settings` what the task executive does with it."""

    ORIGINAL = "original"
    REPLANNING = "replanning"
    SMALL = "small"
    LARGE = "large"
    SAMPLING = "sampling"
    GRADIENT = "gradient"
    DOMAIN_RANDOMIZATION = "domain_randomization"
    FAIL2PROGRESS = "fail2progress"

    @property
    def learns(self) -> bool:
        return self not in (Method.ORIGINAL, Method.REPLANNING)

    @classmethod
    def parse(cls, name: str | Method) -> Method:
        """The method called `name`; ValueError listing the known names otherwise."""
        return parse_name(cls, name, "method")

    @classmethod
    def parse_learning(cls, name: str | Method) -> Method:
        """A method that learns; ValueError naming the learning methods otherwise."""
        method = cls.parse(name) if not isinstance(name, Method) else name
        if not method.learns:
            raise ValueError(f"{method.value!r} does not learn; learning methods: {', '.join(LEARNING_METHODS)}")
        return method

    def executive_settings(self) -> dict[str, object]:
        """ExecutiveConfig fields and whether a learner is attached."""
        if self is Method.ORIGINAL:
            return {"monitor": False, "max_replans": 0, "learn": False}
        if self is Method.REPLANNING:
            return {"monitor": True, "learn": False}
        return {"monitor": True, "learn": True}


#: names of the methods, for argparse choices and messages (derived from `Method`)
LEARNING_METHODS: tuple[str, ...] = tuple(m.value for m in Method if m.learns)
NO_LEARNING: tuple[str, ...] = tuple(m.value for m in Method if not m.learns)
METHODS: tuple[str, ...] = tuple(m.value for m in Method)
RANDOM_SAMPLES = {Method.SMALL.value: 20, Method.LARGE.value: 2000}  # A.16


@dataclass
class MethodConfig:
    """What the non-SVGD methods need beyond `InferenceConfig`."""

    target_satisfaction: float = 0.95  # sampling: share of R^F the model must keep under a state
    target_entropy: float = 0.5  # sampling: mean binary entropy (nats, max ln 2) of the failure relations
    max_draws: int = 20000  # sampling: give up (keeping the best) after this many draws per stage
    batch: int = 64  # sampling: draws evaluated per model call
    dr_sigma_xy: float = 0.03  # domain randomisation: std of the planar offsets (m)
    dr_sigma_yaw: float = 0.2  # domain randomisation: std of the yaw offsets (rad)


@dataclass
class Proposal:
    """Particles of one method and what it cost."""

    method: str
    states: Tensor  # (M, N, 3) per-object (dx, dy, dyaw)
    actions: Tensor  # (M, A) padded skill parameters
    times_s: dict[str, float] = field(default_factory=dict)  # "state_inference", "action_inference"
    draws: dict[str, int] = field(default_factory=dict)  # sampling: draws per stage
    satisfaction: float = float("nan")  # mean share of R^F kept under the model (states)
    entropy: float = float("nan")  # mean entropy objective of the actions (nats, over config.action_relations)


def executive_settings(method: str | Method) -> dict[str, object]:
    """ExecutiveConfig fields and whether a learner is attached, for any method name."""
    return Method.parse(method).executive_settings()


def _reject(draw: Callable[[int], Tensor], score: Callable[[Tensor], Tensor], target: float, m: int,
            cfg: MethodConfig) -> tuple[Tensor, int]:
    """Draw in batches until m draws score >= target; past max_draws keep the m best seen."""
    kept, best, draws = [], [], 0
    while draws < cfg.max_draws and sum(len(k) for k in kept) < m:
        x = draw(cfg.batch)
        s = score(x)
        draws += cfg.batch
        kept.append(x[s >= target])
        best.append((x, s))
    ok = torch.cat(kept)[:m]
    if len(ok) < m:  # the target was not met often enough: fill with the best of the rest
        xs = torch.cat([b[0] for b in best])
        ss = torch.cat([b[1] for b in best])
        ok = xs[ss.argsort(descending=True)[:m]]
    return ok, draws


def _reject_actions(model: SkillEffectModel, ft: FailureTensors, states: Tensor, g: torch.Generator,
                    cfg: MethodConfig, relations: list[tuple[int, int, int]],
                    bounds: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
    """One action per state particle, each drawn until its entropy objective on *that* state reaches
    the target (so the kept pairs are scored as they are used); past max_draws the best draw of
    each open slot is kept."""
    m = states.shape[0]
    actions = uniform_actions(ft, m, g, bounds)
    best = torch.full((m,), -math.inf)
    done = torch.zeros(m, dtype=torch.bool)
    draws = 0
    while draws < cfg.max_draws and not bool(done.all()):
        slots = (~done).nonzero(as_tuple=True)[0]
        slots = slots.repeat(max(1, cfg.batch // len(slots)))
        cand = uniform_actions(ft, len(slots), g, (bounds[0][slots], bounds[1][slots]))
        score = action_objective(model, ft, states[slots], cand, relations)
        draws += len(slots)
        for i, slot in enumerate(slots.tolist()):
            if not done[slot] and score[i] > best[slot]:
                best[slot], actions[slot] = score[i], cand[i]
                done[slot] = bool(score[i] >= cfg.target_entropy)
    return actions, draws


#: seed offset of the baselines' own draws, so they never replay the particles' seeded initialisation
PROPOSAL_STREAM = 17


@dataclass
class _Draw:
    """What every proposer gets: the failure, the settings, the generator, the particle count and
    Eq. 7's relations."""

    model: SkillEffectModel
    ft: FailureTensors
    config: InferenceConfig
    mc: MethodConfig
    g: torch.Generator
    m: int
    relations: list
    callback: Callable | None


def _timed(out: Proposal, states: Callable[[], Tensor], actions: Callable[[Tensor], Tensor]) -> None:
    """Run the two stages of a method, recording each one's time (Fig. 6)."""
    t = time.perf_counter()
    out.states = states()
    out.times_s["state_inference"] = time.perf_counter() - t
    t = time.perf_counter()
    out.actions = actions(out.states)
    out.times_s["action_inference"] = time.perf_counter() - t


def _inferred(d: _Draw, out: Proposal, kernel: Kernel) -> None:
    """Fail2Progress (RBF kernel: SVGD, Eq. 5) and Gradient (no kernel): the same posteriors (Eq. 4, 7)."""
    cfg = InferenceConfig(**{**d.config.__dict__, "kernel": kernel.value})
    _timed(out, lambda: infer_states(d.model, d.ft, cfg, d.callback).particles,
           lambda states: infer_actions(d.model, d.ft, states, cfg, d.callback).particles)


def _rejection(d: _Draw, out: Proposal) -> None:
    """Sampling: prior draws kept when the model keeps R^F (states), then when Eq. 7 is high (actions)."""
    def states() -> Tensor:
        kept, out.draws["states"] = _reject(
            lambda k: prior_states(d.ft, k, d.config, d.g),
            lambda s: state_satisfaction(d.model, d.ft, s, d.config.state_relations), d.mc.target_satisfaction,
            d.m, d.mc)
        return kept

    def actions(states: Tensor) -> Tensor:
        kept, out.draws["actions"] = _reject_actions(d.model, d.ft, states, d.g, d.mc, d.relations,
                                                     action_bounds(d.ft, states, d.config))
        return kept

    _timed(out, states, actions)


def _random(d: _Draw, out: Proposal) -> None:
    """Small / Large (A.16): random states and actions from the priors, no failure targeting."""
    _timed(out, lambda: prior_states(d.ft, d.m, d.config, d.g),
           lambda states: uniform_actions(d.ft, d.m, d.g, action_bounds(d.ft, states, d.config)))


def _randomized(d: _Draw, out: Proposal) -> None:
    """Domain randomisation (A.16): Gaussian pose noise around the failure's scene, its action held fixed."""
    def states() -> Tensor:
        sigma = torch.tensor([d.mc.dr_sigma_xy, d.mc.dr_sigma_xy, d.mc.dr_sigma_yaw])
        lim = prior_limits(d.config)
        s = torch.randn(d.m, d.ft.points.shape[0], 3, generator=d.g) * sigma
        return torch.maximum(torch.minimum(s, lim), -lim) * d.ft.movable[None, :, None]

    _timed(out, states, lambda states: d.ft.params.expand(d.m, -1).clone())


#: how each learning method draws its particles
_PROPOSERS: dict[Method, Callable[[_Draw, Proposal], None]] = {
    Method.FAIL2PROGRESS: lambda d, out: _inferred(d, out, Kernel.RBF),
    Method.GRADIENT: lambda d, out: _inferred(d, out, Kernel.NONE),
    Method.SAMPLING: _rejection,
    Method.SMALL: _random,
    Method.LARGE: _random,
    Method.DOMAIN_RANDOMIZATION: _randomized,
}


def propose(method: str | Method, model: SkillEffectModel, ft: FailureTensors, config: InferenceConfig,
            method_config: MethodConfig | None = None, callback=None) -> Proposal:
    """Particles of `method` for the failure `ft` (module docstring). Deterministic for config.seed."""
    kind = Method.parse_learning(method)
    g = torch.Generator().manual_seed(config.seed + PROPOSAL_STREAM)
    m = RANDOM_SAMPLES.get(kind.value, config.particles)
    relations = action_relations(ft, config.action_relations)  # Eq. 7's: what sampling keeps, what `entropy` scores
    out = Proposal(kind.value, torch.empty(0), torch.empty(0))
    _PROPOSERS[kind](_Draw(model, ft, config, method_config or MethodConfig(), g, m, relations, callback), out)
    if ft.failure_relations:
        out.satisfaction = float(state_satisfaction(model, ft, out.states, config.state_relations).mean())
        out.entropy = float(action_objective(model, ft, out.states, out.actions, relations).mean())
    return out


def mean_pairwise_distance(states: Tensor, movable: Tensor) -> float:
    """Diversity of state particles: mean Euclidean distance between particles over the movable
    objects' planar offsets (m)."""
    x = states[:, movable, :2].reshape(states.shape[0], -1)
    if len(x) < 2:
        return 0.0
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


__all__ = ["LEARNING_METHODS", "METHODS", "NO_LEARNING", "Method", "MethodConfig", "Proposal", "executive_settings",
           "mean_pairwise_distance", "propose"]
