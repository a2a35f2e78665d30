"""Stein variational gradient descent (SVGD) over batched particles, and the paper's *Gradient* baseline.

Liu & Wang, "Stein Variational Gradient Descent: A General Purpose Bayesian Inference Algorithm",
NeurIPS 2016; Fail2Progress §5.2 and A.13 (Eq. 5 for states, Eq. 7 for actions). M particles
{x_i} approximate p(x) ∝ exp(log_prob(x)); each iteration moves every particle along

    φ(x_i) = (1/M) Σ_j [ k(x_j, x_i) ∇_{x_j} log p(x_j) + ∇_{x_j} k(x_j, x_i) ]
           =            attractive_i                    +   repulsive_i

The first term (``attractive``) is a kernel-smoothed gradient that pulls particles towards high
probability; the second (``repulsive``) pushes them apart so that they do not collapse onto a mode.
The update x_i ← x_i + η φ(x_i) is taken by a torch optimiser; as in A.13.3 the default is Adam,
which sets the effective step size (the optimiser is handed −φ as the gradient, since it minimises).

Conventions
-----------
* Kernel matrices are indexed ``K[j, i] = k(x_j, x_i)`` and a kernel also returns
  ``grad_K_sum[i] = Σ_j ∇_{x_j} k(x_j, x_i)`` (n, d), the repulsive term before the 1/M.
* RBF kernel (Liu & Wang): ``k(x, y) = exp(−‖x − y‖² / h)`` with the median heuristic
  ``h = med² / log(M + 1)``, where med² is the median of the squared pairwise distances over the
  M(M − 1)/2 pairs i < j (the diagonal zeros are *not* counted). With an even number of pairs the
  lower-middle element of the sorted list is taken (no averaging), so the value is deterministic and
  exact under ties. This is the same h as Liu & Wang's reference code (which writes
  exp(−d² / (2h'²)) with h'² = med² / (2 log(M + 1))) and as pyro's ``SVGDRBFKernel``; numpyro's
  docstring and code disagree on whether the median is squared, so compare numbers, not names.
  ``RBFKernel(bandwidth=h)`` fixes h in the same convention. If med² is 0 (fewer than two particles,
  or more than half of the pairs coincide) h falls back to 1.0: identical particles feel no
  repulsion whatever h is, so initialise particles distinct.
* h is a function of the particles but is treated as a constant when differentiating (standard).
* Particles may have any shape (M, ...); the kernel sees them flattened to (M, d).
* Non-finite gradients of ``log_prob`` raise :class:`NonFiniteGradientError` naming the iteration
  and the offending particles; nothing is silently zeroed (a NaN means the target is wrong, and
  zeroing would let those particles drift on the repulsive term alone). A log-probability of −inf
  with a finite gradient is allowed and only shows up in ``mean_log_prob``.

The paper's *Gradient* baseline (§6, "updates individual particles" independently) is the same class
with :class:`DeltaKernel`, k(x_j, x_i) = 1[i = j]: no smoothing, no repulsion; see :func:`gradient_ascent`.
"""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "SVGD",
    "DeltaKernel",
    "Kernel",
    "KernelEvaluation",
    "NonFiniteGradientError",
    "OptimizerFactory",
    "RBFKernel",
    "SVGDDiagnostics",
    "SVGDResult",
    "SteinDirection",
    "StopReason",
    "gradient_ascent",
    "median_heuristic_bandwidth",
    "pairwise_sq_dists",
    "preload_optimizer",
]

#: Builds the optimiser that takes the particle steps from the list of tensors it will update.
OptimizerFactory = Callable[[list[Tensor]], torch.optim.Optimizer]
#: Batched log density: particles (M, ...) -> log p (M,), differentiable in the particles.
LogProb = Callable[[Tensor], Tensor]
#: Progress callback (iteration, n_iter, diagnostics); returning False cancels the run.
Callback = Callable[[int, int, "SVGDDiagnostics"], "bool | None"]

#: Bandwidth used when the median squared distance is 0 (see the module docstring).
FALLBACK_BANDWIDTH = 1.0


class NonFiniteGradientError(FloatingPointError):
    """∇ log p is NaN or ±inf for some particles at some iteration."""

    def __init__(self, iteration: int, bad_particles: list[int]):
        self.iteration = iteration
        self.bad_particles = bad_particles
        shown = ", ".join(map(str, bad_particles[:10])) + (", ..." if len(bad_particles) > 10 else "")
        super().__init__(
            f"SVGD iteration {iteration}: the gradient of log_prob is not finite for "
            f"{len(bad_particles)} particle(s) [{shown}]; check log_prob at those particles "
            "(e.g. log of 0, sqrt at 0, division by zero) or bound the particles"
        )


# --------------------------------------------------------------------------- kernels


class KernelEvaluation(NamedTuple):
    """A kernel evaluated on particles x (n, d)."""

    matrix: Tensor  # (n, n): matrix[j, i] = k(x_j, x_i)
    grad_sum: Tensor  # (n, d): grad_sum[i] = Σ_j ∇_{x_j} k(x_j, x_i)
    bandwidth: float | None  # the bandwidth used, None for kernels without one


class Kernel(ABC):
    """A positive-definite kernel for SVGD: ``K, grad_K_sum = kernel(x)`` for particles x (n, d)."""

    @abstractmethod
    def evaluate(self, x: Tensor) -> KernelEvaluation:
        """K (n, n) with K[j, i] = k(x_j, x_i), Σ_j ∇_{x_j} k(x_j, x_i) (n, d), and the bandwidth."""

    def __call__(self, x: Tensor) -> tuple[Tensor, Tensor]:
        ev = self.evaluate(x)
        return ev.matrix, ev.grad_sum


def pairwise_sq_dists(x: Tensor) -> Tensor:
    """‖x_i − x_j‖² for x (n, d) -> (n, n), from explicit differences (exact zeros and ties).

    Memory is O(n² d); SVGD particles here are low-dimensional states and actions.
    """
    _check_2d(x)
    diff = x.unsqueeze(1) - x.unsqueeze(0)  # (n, n, d)
    return (diff * diff).sum(-1)  # (n, n)


def median_heuristic_bandwidth(x: Tensor) -> float:
    """h = med² / log(n + 1) for particles x (n, d) (Liu & Wang 2016).

    med² is the lower-middle element of the sorted squared distances of the pairs i < j; returns
    :data:`FALLBACK_BANDWIDTH` when that is 0 or n < 2.
    """
    _check_2d(x)
    n = x.shape[0]
    if n < 2:
        return FALLBACK_BANDWIDTH
    with torch.no_grad():
        d2 = pairwise_sq_dists(x.detach())
        iu = torch.triu_indices(n, n, offset=1, device=x.device)
        pairs = torch.sort(d2[iu[0], iu[1]]).values  # (n(n-1)/2,)
        med2 = float(pairs[(pairs.numel() - 1) // 2])
    if not med2 > 0.0:
        return FALLBACK_BANDWIDTH
    return med2 / math.log(n + 1)


class RBFKernel(Kernel):
    """k(x, y) = exp(−‖x − y‖² / h); h from the median heuristic unless ``bandwidth`` fixes it.

    ∇_{x_j} k(x_j, x_i) = −(2/h)(x_j − x_i) k(x_j, x_i), so
    Σ_j ∇_{x_j} k(x_j, x_i) = (2/h) (x_i Σ_j K[j, i] − Σ_j K[j, i] x_j).
    """

    def __init__(self, bandwidth: float | None = None):
        if bandwidth is not None and not (math.isfinite(bandwidth) and bandwidth > 0.0):
            raise ValueError(f"RBFKernel bandwidth must be a finite positive number or None, got {bandwidth}")
        self.bandwidth = bandwidth

    def evaluate(self, x: Tensor) -> KernelEvaluation:
        _check_2d(x)
        h = self.bandwidth if self.bandwidth is not None else median_heuristic_bandwidth(x)
        k = torch.exp(-pairwise_sq_dists(x) / h)  # (n, n), symmetric
        col = k.sum(0)  # (n,): Σ_j K[j, i]
        grad_sum = (2.0 / h) * (x * col.unsqueeze(1) - k.T @ x)  # (n, d)
        return KernelEvaluation(k, grad_sum, h)

    def __repr__(self) -> str:
        return f"RBFKernel(bandwidth={self.bandwidth!r})"


class DeltaKernel(Kernel):
    """k(x_j, x_i) = 1[i = j] (by particle index): independent particles, no repulsion.

    With it φ(x_i) = ∇ log p(x_i) / M, i.e. plain gradient ascent; the constant 1/M is kept so the
    code path is literally Eq. 5. Adam (the default) is invariant to it; for SGD scale lr by M.
    """

    def evaluate(self, x: Tensor) -> KernelEvaluation:
        _check_2d(x)
        n = x.shape[0]
        return KernelEvaluation(torch.eye(n, dtype=x.dtype, device=x.device), torch.zeros_like(x), None)

    def __repr__(self) -> str:
        return "DeltaKernel()"


# --------------------------------------------------------------------------- algorithm


class SteinDirection(NamedTuple):
    """The two terms of φ (each shaped like the particles) and what they were computed from."""

    attractive: Tensor  # (M, ...): (1/M) Σ_j k(x_j, x_i) ∇ log p(x_j)
    repulsive: Tensor  # (M, ...): (1/M) Σ_j ∇_{x_j} k(x_j, x_i)
    log_prob: Tensor  # (M,): log p(x_i), detached
    bandwidth: float | None


@dataclass(frozen=True)
class SVGDDiagnostics:
    """What one :meth:`SVGD.step` did. Norms are means over particles of per-particle L2 norms."""

    iteration: int  # 1-based count of steps taken on these particles, this one included
    mean_log_prob: float  # mean of log p(x_i) before the step (may be -inf, see module docstring)
    attractive_norm: float  # mean_i ‖attractive_i‖
    repulsive_norm: float  # mean_i ‖repulsive_i‖
    bandwidth: float | None  # kernel bandwidth h used at this step (None for DeltaKernel)
    max_move: float  # max_i ‖x_i(after) − x_i(before)‖, after the projection onto the bounds


class StopReason(enum.Enum):
    """Why :meth:`SVGD.run` stopped."""

    MAX_ITERATIONS = "max_iterations"  # n_iter steps were taken
    CONVERGED = "converged"  # the largest particle move of an iteration fell below tol
    CANCELLED = "cancelled"  # the callback returned False


@dataclass
class SVGDResult:
    """Final particles (M, ...), one :class:`SVGDDiagnostics` per iteration taken, and why it stopped."""

    particles: Tensor
    history: list[SVGDDiagnostics] = field(default_factory=list)
    stop_reason: StopReason = StopReason.MAX_ITERATIONS


class SVGD:
    """Stein variational gradient descent (Liu & Wang 2016; Fail2Progress Eq. 5/7, A.13).

    φ(x_i) = (1/M) Σ_j [k(x_j, x_i) ∇_{x_j} log p(x_j) + ∇_{x_j} k(x_j, x_i)]   (attractive + repulsive)
    x_i ← proj_[low, high](x_i + η φ(x_i)), with η and momentum from the optimiser (Adam by default).

    Args:
        log_prob: batched log density (M, ...) -> (M,), differentiable in the particles; one
            backward pass of ``log_prob(x).sum()`` per step gives every ∇ log p(x_i).
        kernel: an :class:`RBFKernel` with the median heuristic by default; :class:`DeltaKernel`
            gives independent gradient ascent (see :func:`gradient_ascent`).
        lr: learning rate of the default Adam optimiser (the paper gives none); ignored when
            ``optimizer`` is given.
        optimizer: factory ``params -> torch.optim.Optimizer``; it receives ``[particles]``.
        bounds: optional (low, high) tensors broadcastable to one particle's shape (...,);
            particles are clamped into [low, high] after every step.

    :meth:`step` updates a particle tensor in place and keeps optimiser state for that tensor
    (passing a different tensor starts fresh state); :meth:`run` works on a copy.
    There is no randomness inside: the result is a deterministic function of the initial particles.
    """

    def __init__(
        self,
        log_prob: LogProb,
        kernel: Kernel | None = None,
        *,
        lr: float = 1e-2,
        optimizer: OptimizerFactory | None = None,
        bounds: tuple[Tensor, Tensor] | None = None,
    ):
        if not callable(log_prob):
            raise TypeError("log_prob must be callable: particles (M, ...) -> log p (M,)")
        if optimizer is None and not (math.isfinite(lr) and lr > 0.0):
            raise ValueError(f"lr must be a finite positive number, got {lr}")
        if bounds is not None:
            low, high = (torch.as_tensor(b) for b in bounds)
            try:
                torch.broadcast_shapes(low.shape, high.shape)
            except RuntimeError as e:
                raise ValueError(f"bounds low {tuple(low.shape)} and high {tuple(high.shape)} do not broadcast") from e
            if bool((low > high).any()):
                raise ValueError("bounds: every low must be <= its high")
            bounds = (low, high)
        self.log_prob = log_prob
        self.kernel: Kernel = kernel if kernel is not None else RBFKernel()
        self.lr = lr
        self.bounds = bounds
        self._optimizer_factory: OptimizerFactory = (
            optimizer if optimizer is not None else (lambda params: torch.optim.Adam(params, lr=lr))
        )
        self._particles: Tensor | None = None  # the tensor the optimiser state belongs to
        self._optimizer: torch.optim.Optimizer | None = None
        self.iteration = 0  # steps taken on self._particles

    # ----------------------------------------------------------------- pieces

    def reset(self) -> None:
        """Forget the optimiser state and the iteration count."""
        self._particles = None
        self._optimizer = None
        self.iteration = 0

    def direction(self, particles: Tensor) -> SteinDirection:
        """The attractive and repulsive terms of φ at ``particles`` (M, ...), without moving them."""
        return self._direction(particles, self.iteration + 1)

    def _direction(self, particles: Tensor, iteration: int) -> SteinDirection:
        _check_particles(particles)
        m = particles.shape[0]
        x = particles.detach().requires_grad_(True)  # (M, ...)
        with torch.enable_grad():
            logp = self.log_prob(x)
            if logp.shape != (m,):
                raise ValueError(f"log_prob must return shape ({m},) for {m} particles, got {tuple(logp.shape)}")
            score = None
            if logp.requires_grad:
                (score,) = torch.autograd.grad(logp.sum(), x, allow_unused=True)
        if score is None:  # log_prob does not depend on the particles (e.g. a uniform prior)
            score = torch.zeros_like(x)
        finite = torch.isfinite(score.reshape(m, -1)).all(dim=1)  # (M,)
        if not bool(finite.all()):
            raise NonFiniteGradientError(iteration, torch.nonzero(~finite).flatten().tolist())
        flat = x.detach().reshape(m, -1)  # (M, d)
        ev = self.kernel.evaluate(flat)
        attractive = (ev.matrix.T @ score.reshape(m, -1)) / m  # (M, d)
        repulsive = ev.grad_sum / m  # (M, d)
        return SteinDirection(
            attractive.reshape(particles.shape), repulsive.reshape(particles.shape), logp.detach(), ev.bandwidth
        )

    def _project(self, particles: Tensor) -> None:
        if self.bounds is None:
            return
        low, high = (b.to(dtype=particles.dtype, device=particles.device) for b in self.bounds)
        with torch.no_grad():
            particles.copy_(torch.maximum(torch.minimum(particles, high), low))

    # ----------------------------------------------------------------- steps

    def step(self, particles: Tensor) -> SVGDDiagnostics:
        """One SVGD iteration on the leaf tensor ``particles`` (M, ...), updated in place."""
        _check_particles(particles)
        if not particles.is_leaf:
            raise ValueError("step() updates particles in place: pass a leaf tensor (e.g. x.detach().clone())")
        if particles is not self._particles:
            self.reset()
            self._particles = particles
            self._optimizer = self._optimizer_factory([particles])
        assert self._optimizer is not None
        self.iteration += 1
        d = self._direction(particles, self.iteration)
        phi = d.attractive + d.repulsive  # (M, ...)
        m = particles.shape[0]
        before = particles.detach().clone()
        particles.grad = -phi  # the optimiser minimises; SVGD ascends: x ← x + ηφ
        self._optimizer.step()
        particles.grad = None
        self._project(particles)
        move = (particles.detach() - before).reshape(m, -1).norm(dim=1)  # (M,)
        return SVGDDiagnostics(
            iteration=self.iteration,
            mean_log_prob=float(d.log_prob.mean()),
            attractive_norm=float(d.attractive.reshape(m, -1).norm(dim=1).mean()),
            repulsive_norm=float(d.repulsive.reshape(m, -1).norm(dim=1).mean()),
            bandwidth=d.bandwidth,
            max_move=float(move.max()),
        )

    def run(
        self,
        particles: Tensor,
        n_iter: int,
        *,
        tol: float | None = None,
        callback: Callback | None = None,
    ) -> SVGDResult:
        """Up to ``n_iter`` steps from a copy of ``particles`` (M, ...) with fresh optimiser state.

        Stops early when ``callback(iteration, n_iter, diagnostics)`` returns False (CANCELLED) or,
        after the callback, when the largest particle move of an iteration is < ``tol`` (CONVERGED).
        ``iteration`` counts from 1. The input tensor is not modified.
        """
        if n_iter < 0:
            raise ValueError(f"n_iter must be >= 0, got {n_iter}")
        if tol is not None and not tol >= 0.0:
            raise ValueError(f"tol must be >= 0 or None, got {tol}")
        x = particles.detach().clone()
        self.reset()
        result = SVGDResult(x)
        for it in range(1, n_iter + 1):
            diag = self.step(x)
            result.history.append(diag)
            if callback is not None and callback(it, n_iter, diag) is False:
                result.stop_reason = StopReason.CANCELLED
                break
            if tol is not None and diag.max_move < tol:
                result.stop_reason = StopReason.CONVERGED
                break
        return result


def preload_optimizer() -> None:
    """Take one Adam step on a throw-away tensor. torch.optim imports torch._dynamo (and with it sympy)
    on an optimiser's first step: ~2.3 s on 2 cores, which a long-running process (the learner node)
    pays at start-up instead of inside its first SVGD run (state inference of the demo's failure took
    4.4 s in the graph with that import, 1.3 s after it)."""
    x = torch.zeros(1, requires_grad=True)
    x.grad = torch.zeros(1)
    torch.optim.Adam([x]).step()


def gradient_ascent(
    log_prob: LogProb,
    *,
    lr: float = 1e-2,
    optimizer: OptimizerFactory | None = None,
    bounds: tuple[Tensor, Tensor] | None = None,
) -> SVGD:
    """The paper's *Gradient* baseline: every particle ascends log p on its own (no kernel).

    :class:`SVGD` with :class:`DeltaKernel`, so it shares ``step``/``run``, the diagnostics
    (``repulsive_norm`` is 0, ``bandwidth`` None), the bounds and the error handling.
    """
    return SVGD(log_prob, DeltaKernel(), lr=lr, optimizer=optimizer, bounds=bounds)


# --------------------------------------------------------------------------- checks


def _check_2d(x: Tensor) -> None:
    if x.dim() != 2:
        raise ValueError(f"kernels take particles flattened to (n, d), got shape {tuple(x.shape)}")


def _check_particles(particles: Tensor) -> None:
    if not isinstance(particles, Tensor) or particles.dim() < 1 or particles.shape[0] < 1:
        raise ValueError("particles must be a tensor of shape (M, ...) with M >= 1")
    if not particles.is_floating_point():
        raise ValueError(f"particles must be floating point, got {particles.dtype}")

