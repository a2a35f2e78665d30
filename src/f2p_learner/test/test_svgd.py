"""SVGD: kernel numbers by hand, Eq. 5 against a loop, recovered moments, modes, run control."""

from __future__ import annotations

import math

import pytest
import torch

from f2p_learner.svgd import (
    SVGD,
    DeltaKernel,
    NonFiniteGradientError,
    RBFKernel,
    StopReason,
    gradient_ascent,
    median_heuristic_bandwidth,
)


@pytest.fixture(autouse=True)
def _one_thread():
    # The machine is shared with a training job; the problems here are tiny.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


MU = torch.tensor([1.5, -1.0])
COV = torch.tensor([[1.0, 0.6], [0.6, 0.8]])
GAUSS = torch.distributions.MultivariateNormal(MU, COV)


def gauss_log_prob(x: torch.Tensor) -> torch.Tensor:
    return GAUSS.log_prob(x)


def bad_init(n: int = 200, seed: int = 0) -> torch.Tensor:
    """Tight cluster far from the target (mean (-4, 3), std 0.3)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g) * 0.3 + torch.tensor([-4.0, 3.0])


def mixture_log_prob(x: torch.Tensor) -> torch.Tensor:
    """0.5 N(-3, 1) + 0.5 N(3, 1) in 1-D; x (M, 1)."""
    x = x.squeeze(-1)
    comps = torch.stack([torch.distributions.Normal(-3.0, 1.0).log_prob(x),
                         torch.distributions.Normal(3.0, 1.0).log_prob(x)])
    return torch.logsumexp(comps, 0) + math.log(0.5)


# ----------------------------------------------------------------------------- kernel


def test_median_heuristic_matches_hand_computed_value_with_ties():
    # Points 0, 1, 2, 3 on a line: squared distances of the 6 pairs are 1, 4, 9, 1, 4, 1,
    # sorted [1, 1, 1, 4, 4, 9]; the lower-middle element (index 2) is 1, so h = 1 / log(5).
    # (np.median would average to 2.5; a median over the full matrix would count the diagonal zeros.)
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    assert median_heuristic_bandwidth(x) == pytest.approx(1.0 / math.log(5.0), rel=1e-12)
    _, _, h = RBFKernel().evaluate(x)
    assert h == pytest.approx(1.0 / math.log(5.0), rel=1e-12)


def test_median_heuristic_in_2d_and_fallbacks():
    # Unit square corners: 4 sides of d² = 1 and 2 diagonals of d² = 2 -> sorted [1,1,1,1,2,2], med² = 1.
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert median_heuristic_bandwidth(x) == pytest.approx(1.0 / math.log(5.0))
    assert median_heuristic_bandwidth(torch.zeros(5, 3)) == 1.0  # all coincide: fallback
    assert median_heuristic_bandwidth(torch.ones(1, 3)) == 1.0  # one particle: no pairs


def test_rbf_kernel_values_and_gradient_sum_match_autograd():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    h = 0.7
    k, grad_sum = RBFKernel(bandwidth=h)(x)
    assert torch.allclose(k, torch.exp(-torch.cdist(x, x) ** 2 / h), atol=1e-12)
    # grad_sum[i] = Σ_j ∂k(x_j, x_i)/∂x_j: the (j, i, j) blocks of the Jacobian of K (the
    # diagonal blocks are 0 for an RBF kernel, so the total derivative equals the first-argument one).
    jac = torch.autograd.functional.jacobian(lambda y: RBFKernel(bandwidth=h)(y)[0], x)  # (n, n, n, d)
    n = x.shape[0]
    expected = torch.stack([sum(jac[j, i, j] for j in range(n)) for i in range(n)])
    assert torch.allclose(grad_sum, expected, atol=1e-12)


def test_rbf_kernel_rejects_bad_bandwidth():
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            RBFKernel(bandwidth=bad)


# ----------------------------------------------------------------------------- Eq. 5


def test_direction_matches_a_loop_over_eq5():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 2, generator=g, dtype=torch.float64)
    h = median_heuristic_bandwidth(x)
    attractive, repulsive, logp, bandwidth = SVGD(gauss_log_prob).direction(x)
    assert bandwidth == h
    assert torch.allclose(logp, GAUSS.log_prob(x))
    m = x.shape[0]
    for i in range(m):
        att = torch.zeros(2, dtype=x.dtype)
        rep = torch.zeros(2, dtype=x.dtype)
        for j in range(m):
            xj = x[j].clone().requires_grad_(True)
            (score_j,) = torch.autograd.grad(GAUSS.log_prob(xj), xj)
            kji = torch.exp(-((xj - x[i]) ** 2).sum() / h)
            (dk,) = torch.autograd.grad(kji, xj)
            att += kji.detach() * score_j
            rep += dk
        assert torch.allclose(attractive[i], att / m, atol=1e-12)
        assert torch.allclose(repulsive[i], rep / m, atol=1e-12)


def test_particles_of_any_shape_give_the_same_run_as_flat():
    target = torch.distributions.MultivariateNormal(torch.arange(6.0), torch.eye(6))
    x0 = torch.randn(20, 2, 3, generator=torch.Generator().manual_seed(2))
    shaped = SVGD(lambda x: target.log_prob(x.reshape(x.shape[0], 6)), lr=0.1).run(x0, 20).particles
    flat = SVGD(target.log_prob, lr=0.1).run(x0.reshape(20, 6), 20).particles
    assert shaped.shape == (20, 2, 3)
    assert torch.allclose(shaped.reshape(20, 6), flat, atol=1e-6)


# ----------------------------------------------------------------------------- known answers


def test_svgd_recovers_mean_and_covariance_of_a_2d_gaussian():
    x0 = bad_init()
    result = SVGD(gauss_log_prob, lr=0.1).run(x0, 300)
    x = result.particles
    assert result.stop_reason is StopReason.MAX_ITERATIONS and len(result.history) == 300
    assert torch.allclose(x.mean(0), MU, atol=0.05), x.mean(0)
    # Finite-particle SVGD slightly under-disperses (~5% here); 0.1 absolute on each entry.
    assert torch.allclose(torch.cov(x.T), COV, atol=0.1), torch.cov(x.T)
    last = result.history[-1]
    assert last.repulsive_norm > 0.0 and last.bandwidth is not None and last.bandwidth > 0.0
    assert last.mean_log_prob > result.history[0].mean_log_prob
    assert torch.equal(x0, bad_init())  # run works on a copy


def test_svgd_covers_both_modes_where_gradient_ascent_collapses_per_basin():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(100, 1, generator=g) * 0.5 + 0.2  # narrow, at the saddle between the modes
    svgd = SVGD(mixture_log_prob, lr=0.1).run(x0, 400).particles.squeeze(-1)
    grad_result = gradient_ascent(mixture_log_prob, lr=0.1).run(x0, 400)
    grad = grad_result.particles.squeeze(-1)
    assert all(d.repulsive_norm == 0.0 and d.bandwidth is None for d in grad_result.history)

    # Gradient ascent: each particle ends on the mode of the basin it started in, as a point mass.
    assert torch.equal(grad > 0, x0.squeeze(-1) > 0)
    for mode, side in ((-3.0, grad < 0), (3.0, grad > 0)):
        assert torch.allclose(grad[side], torch.full_like(grad[side], mode), atol=1e-3)

    # SVGD: a good share of particles on each mode, each spread like N(±3, 1).
    for mode, side in ((-3.0, svgd < 0), (3.0, svgd > 0)):
        assert 0.25 <= side.float().mean() <= 0.75
        assert abs(svgd[side].mean().item() - mode) < 0.2
        assert 0.8 < svgd[side].std().item() < 1.2
    # The difference in one number: SVGD's within-mode spread dwarfs the baseline's.
    for side_s, side_g in ((svgd < 0, grad < 0), (svgd > 0, grad > 0)):
        assert svgd[side_s].std() > 100 * grad[side_g].std().clamp_min(1e-6)


def test_same_seed_gives_identical_particles():
    a = SVGD(gauss_log_prob, lr=0.1).run(bad_init(50, seed=7), 30)
    b = SVGD(gauss_log_prob, lr=0.1).run(bad_init(50, seed=7), 30)
    assert torch.equal(a.particles, b.particles)
    assert a.history == b.history
    c = SVGD(gauss_log_prob, lr=0.1).run(bad_init(50, seed=8), 30)
    assert not torch.equal(a.particles, c.particles)


# ----------------------------------------------------------------------------- run control


def test_callback_can_cancel_the_run():
    seen: list[tuple[int, int]] = []

    def callback(iteration, n_iter, diagnostics):
        seen.append((iteration, n_iter))
        assert diagnostics.iteration == iteration
        return iteration < 3

    result = SVGD(gauss_log_prob, lr=0.1).run(bad_init(30), 100, callback=callback)
    assert result.stop_reason is StopReason.CANCELLED
    assert seen == [(1, 100), (2, 100), (3, 100)]
    assert len(result.history) == 3


def test_tolerance_stop():
    result = SVGD(gauss_log_prob, lr=0.1).run(bad_init(50), 2000, tol=5e-3)
    assert result.stop_reason is StopReason.CONVERGED
    n = len(result.history)
    assert 1 < n < 2000
    assert result.history[-1].max_move < 5e-3
    assert all(d.max_move >= 5e-3 for d in result.history[:-1])


def test_step_ascends_phi_in_place_and_counts_iterations():
    svgd = SVGD(gauss_log_prob, optimizer=lambda p: torch.optim.SGD(p, lr=0.5))
    x = bad_init(20)
    before = x.clone()
    attractive, repulsive, _, _ = svgd.direction(before)
    d1 = svgd.step(x)
    expected = before + 0.5 * (attractive + repulsive)  # x ← x + ηφ (ascent, not descent)
    assert torch.allclose(x, expected, atol=1e-6)
    assert d1.max_move == pytest.approx(float((expected - before).norm(dim=1).max()), rel=1e-5)
    assert svgd.step(x).iteration == 2
    assert svgd.step(x.clone()).iteration == 1  # a new tensor starts fresh optimiser state


def test_bounds_are_respected():
    low, high = torch.tensor([-1.0, -0.5]), torch.tensor([1.0, 0.5])
    result = SVGD(gauss_log_prob, lr=0.2, bounds=(low, high)).run(bad_init(50), 50)
    x = result.particles
    assert bool(((x >= low) & (x <= high)).all())
    assert bool((x[:, 0] == high[0]).any())  # the mean 1.5 lies outside: particles pile on the bound
    with pytest.raises(ValueError):
        SVGD(gauss_log_prob, bounds=(high, low))


def test_non_finite_gradient_raises_naming_the_iteration():
    calls = {"n": 0}

    def log_prob(x):
        calls["n"] += 1
        lp = GAUSS.log_prob(x)
        if calls["n"] == 3:  # sqrt at 0 has an infinite derivative, for particle 4 only
            lp = lp + torch.sqrt(x[:, 0] - x[:, 0].detach() + (torch.arange(x.shape[0]) != 4))
        return lp

    with pytest.raises(NonFiniteGradientError, match=r"iteration 3\b.*\[4\]") as info:
        SVGD(log_prob, lr=0.1).run(bad_init(10), 10)
    assert info.value.iteration == 3 and info.value.bad_particles == [4]


def test_log_prob_shape_is_checked():
    with pytest.raises(ValueError, match="shape"):
        SVGD(lambda x: x.sum()).step(bad_init(5))


def test_delta_kernel_is_identity_without_repulsion():
    x = torch.randn(4, 3)
    k, grad_sum = DeltaKernel()(x)
    assert torch.equal(k, torch.eye(4)) and torch.equal(grad_sum, torch.zeros(4, 3))


def test_flat_log_prob_leaves_only_repulsion():
    # A uniform target has no gradient (log_prob does not depend on x): SVGD only spreads the particles.
    x0 = bad_init(20)
    result = SVGD(lambda x: torch.zeros(x.shape[0]), lr=0.05).run(x0, 10)
    assert all(d.attractive_norm == 0.0 and d.repulsive_norm > 0.0 for d in result.history)
    assert torch.pdist(result.particles).mean() > 1.5 * torch.pdist(x0).mean()


def test_preload_optimizer_does_torch_optims_lazy_imports_up_front():
    import subprocess
    import sys

    code = ("import sys, torch; from f2p_learner.svgd import preload_optimizer; "
            "before = 'torch._dynamo' in sys.modules; preload_optimizer(); "
            "print(before, 'torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
