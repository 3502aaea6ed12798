"""Specifications of ``verify.solvers.particles.reverse_sample`` and ``BrownianPath``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from analytic import EDM, OU, VE, VP, Gaussian, GaussianMixture, LinearSDE, SubVP
from verify.runtime.sweep import stable_int
from verify.solvers import grids
from verify.solvers.brownian import BrownianPath
from verify.solvers.particles import (
    METHODS,
    NonFiniteError,
    SampleResult,
    reverse_sample,
    step_coefficients,
    step_integrals,
)

DATA = Gaussian(np.array([1.0, -0.5]), np.array([[1.0, 0.3], [0.3, 0.5]]))
SDES = {"VP": VP(), "VE": VE(0.01, 10.0), "OU": OU(T=5.0)}
CASES = [
    ("euler", 0.0),
    ("euler", 0.5),
    ("euler", 1.0),
    ("euler", 2.0),
    ("exponential", 0.0),
    ("exponential", 1.0),
    ("exponential", 2.0),
    ("heun", 0.0),
    ("ddpm", 1.0),
    ("ancestral", 0.0),
    ("ancestral", 0.5),
    ("ancestral", 1.0),
    ("pc", 1.0),
]
# discretisation allowance: max abs error of the mean and cov entries of the exact chain law
# vs the target on a 200-step uniform grid (worst observed: Euler PF-ODE on VE, 0.093;
# ancestral on OU, 0.135: its last steps replace x0 by its posterior mean). Every method is
# also required to converge: the error at 400 steps is at most 0.65 x the error at 200
# (first order up to the log factor of ancestral steps near t = 0).
ALLOWANCE = 0.15


def chain_law(sde, score, law_T, grid, gamma, method, **kw):
    """Exact output law of the sampler for a linear score, by probing the affine chain.

    With a linear score every method is affine in (x_T, noises): output = M x_T + c + sum N xi.
    One call with 1 + d + (#noise entries) particles (zero / unit inputs and unit noises)
    recovers M, c and every N column. Returns (mean, cov).
    """
    N = len(grid) - 1
    d = law_T.dim
    slots = 1 + kw.get("n_corrector", 1) if method == "pc" else 1
    n_noise = N * slots * d
    n = 1 + d + n_noise
    x = np.zeros((n, d))
    x[1 : 1 + d] = np.eye(d)
    noise = np.zeros((N, slots, n, d))
    j = 1 + d
    for k in range(N):
        for sl in range(slots):
            for i in range(d):
                noise[k, sl, j, i] = 1.0
                j += 1
    nz = noise if method == "pc" else noise[:, 0]
    y = reverse_sample(sde, score, x, grid, gamma=gamma, method=method, noise=nz, **kw)
    c = y[0]
    M = (y[1 : 1 + d] - c).T
    Ncols = (y[1 + d :] - c).T
    mean = M @ law_T.mean + c
    cov = M @ law_T.cov @ M.T + Ncols @ Ncols.T
    return mean, cov


def assert_moments_close(x, mean, cov, allowance, z=5.0):
    """Particle mean/cov agree with (mean, cov) within z standard errors + allowance."""
    n = x.shape[0]
    se_m = np.sqrt(np.diag(cov) / n)
    se_c = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    dm = np.abs(x.mean(0) - mean)
    dc = np.abs(np.cov(x.T) - cov)
    assert np.all(dm <= z * se_m + allowance), (x.mean(0), mean, se_m)
    assert np.all(dc <= z * se_c + allowance), (np.cov(x.T), cov, se_c)


@pytest.mark.parametrize("sde_name", list(SDES))
@pytest.mark.parametrize(("method", "gamma"), CASES)
def test_sampler_recovers_gaussian_target_from_exact_pT(sde_name, method, gamma):
    sde = SDES[sde_name]
    rng = np.random.default_rng(stable_int((sde_name, method, gamma)))  # PYTHONHASHSEED-proof
    score = sde.score(DATA)
    pT = sde.marginal(DATA, sde.T)
    grid = grids.uniform(sde, 200)
    # the exact law of this chain is within the discretisation allowance of the target ...
    mean, cov = chain_law(sde, score, pT, grid, gamma, method)
    err = max(np.max(np.abs(mean - DATA.mean)), np.max(np.abs(cov - DATA.cov)))
    assert err < ALLOWANCE
    # ... and converges as the grid is refined (first order or better)
    m2, c2 = chain_law(sde, score, pT, grids.uniform(sde, 400), gamma, method)
    err2 = max(np.max(np.abs(m2 - DATA.mean)), np.max(np.abs(c2 - DATA.cov)))
    if method != "pc":  # pc's Langevin bias O(snr^2 sigma2) does not vanish with h
        assert err2 <= 0.65 * err + 1e-6
    # ... and the particles follow that law within the Monte-Carlo CI
    x = reverse_sample(sde, score, pT.sample(20_000, rng), grid, gamma, method, rng)
    assert x.shape == (20_000, 2) and x.dtype == np.float64
    assert_moments_close(x, mean, cov, allowance=0.0)


def test_sampler_recovers_gmm_mean_and_cov():
    sde = VP()
    data = GaussianMixture([0.3, 0.5, 0.2], [[-2.0, 0.0], [1.0, 1.0], [2.0, -2.0]], [0.2, 0.3, 0.5])
    rng = np.random.default_rng(1)
    x = sde.marginal(data, sde.T).sample(30_000, rng)
    y = reverse_sample(sde, sde.score(data), x, grids.uniform(sde, 300), 1.0, "euler", rng)
    assert_moments_close(y, data.mean, data.cov, allowance=0.03)


# ------------------------------------------------------------- one-step definitions
def _quad_integrals(sde, s, t):
    """I1, I2 of the exponential step by adaptive quadrature."""
    r = lambda u: sde.alpha(s) / sde.alpha(u)
    I1 = integrate.quad(lambda u: r(u) * sde.g2(u), s, t, epsrel=1e-13)[0]
    I2 = integrate.quad(lambda u: r(u) ** 2 * sde.g2(u), s, t, epsrel=1e-13)[0]
    return I1, I2


def _literal_step(sde, score, y, t, s, g, method, xi):
    """The update rules of the module docstring, written out literally."""
    h = t - s
    sc = score(y, t)
    if method == "euler":
        drift = -sde.f(t) * y + (1 + g) / 2 * sde.g2(t) * sc
        return y + h * drift + np.sqrt(g * sde.g2(t) * h) * xi
    if method == "exponential":
        I1, I2 = _quad_integrals(sde, s, t)
        return sde.alpha(s) / sde.alpha(t) * y + (1 + g) / 2 * I1 * sc + np.sqrt(g * I2) * xi
    if method == "heun":
        d = lambda yy, tt: -sde.f(tt) * yy + 0.5 * sde.g2(tt) * score(yy, tt)
        yt = y + h * d(y, t)
        return y + h / 2 * (d(y, t) + d(yt, s))
    if method == "ddpm":
        a, v = sde.transition(s, t)
        return (y + v * sc) / a + np.sqrt(v) * xi
    if method == "ancestral":
        x0 = (y + sde.sigma2(t) * sc) / sde.alpha(t)
        eps = (y - sde.alpha(t) * x0) / np.sqrt(sde.sigma2(t))
        _, v = sde.transition(s, t)
        c2 = g * sde.sigma2(s) * v / sde.sigma2(t)
        return sde.alpha(s) * x0 + np.sqrt(sde.sigma2(s) - c2) * eps + np.sqrt(c2) * xi
    raise AssertionError(method)


GMM = GaussianMixture([0.4, 0.6], [[-1.0, 0.5], [1.5, -1.0]], [0.3, 0.6])


@pytest.mark.parametrize("sde", [VP(), VE(0.01, 10.0), OU(), SubVP(), EDM(5.0)], ids=repr)
@pytest.mark.parametrize(
    ("method", "gamma"),
    [("euler", 0.7), ("exponential", 0.7), ("heun", 0.0), ("ddpm", 1.0), ("ancestral", 0.7)],
)
def test_one_step_matches_the_documented_update(sde, method, gamma):
    rng = np.random.default_rng(3)
    score = sde.score(GMM)
    t, s = 0.6 * sde.T, 0.45 * sde.T
    y = sde.marginal(GMM, t).sample(5, rng)
    xi = rng.standard_normal((1, 5, 2))
    got = reverse_sample(sde, score, y, [t, s], gamma, method, noise=xi)
    want = _literal_step(sde, score, y, t, s, gamma, method, xi[0])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_pc_is_predictor_then_langevin_corrector():
    sde = VE(0.01, 10.0)
    score = sde.score(GMM)
    rng = np.random.default_rng(4)
    t, s = 0.5, 0.4
    y = sde.marginal(GMM, t).sample(4, rng)
    noise = rng.standard_normal((1, 3, 4, 2))
    got = reverse_sample(sde, score, y, [t, s], 1.0, "pc", noise=noise, n_corrector=2, snr=0.2)
    want = _literal_step(sde, score, y, t, s, 1.0, "euler", noise[0, 0])
    eps = 2 * 0.2**2 * sde.sigma2(s)
    for j in (1, 2):
        want = want + eps * score(want, s) + np.sqrt(2 * eps) * noise[0, j]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_gamma_callable_is_evaluated_at_step_start():
    sde = VP()
    grid = grids.uniform(sde, 5)
    seen = []
    gamma = lambda t: seen.append(t) or 0.5
    A, B, C = step_coefficients(sde, grid, gamma, "euler")
    assert seen == list(grid[:-1])
    A2, B2, C2 = step_coefficients(sde, grid, 0.5, "euler")
    np.testing.assert_array_equal(C, C2)


@pytest.mark.parametrize(
    "sde", [VP(), SubVP(), OU(), VE(), EDM(3.0), LinearSDE("-1 - t", g2="2 + t")], ids=repr
)
def test_step_integrals_match_quadrature(sde):
    s, t = 0.3 * sde.T, 0.37 * sde.T
    I1, I2 = step_integrals(sde, s, t)
    q1, q2 = _quad_integrals(sde, s, t)
    np.testing.assert_allclose([I1, I2], [q1, q2], rtol=1e-11)
    I1v, I2v = step_integrals(sde, np.array([s, 0.1 * sde.T]), np.array([t, 0.2 * sde.T]))
    assert I1v.shape == (2,) and np.isclose(I1v[0], I1)


# ------------------------------------------------------------------- noise handling
def test_same_noise_array_gives_identical_outputs_for_any_chunk_size():
    """Identical up to the last-bit rounding of BLAS kernels, which depends on the block shape."""
    sde = VP()
    rng = np.random.default_rng(5)
    grid = grids.uniform(sde, 20)
    x = sde.prior(2).sample(1000, rng)
    noise = rng.standard_normal((20, 1000, 2))
    outs = [
        reverse_sample(sde, sde.score(GMM), x, grid, 1.0, "euler", noise=noise, chunk_size=c)
        for c in (1000, 333, 64)
    ]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-13, atol=1e-14)
    pc_noise = rng.standard_normal((20, 2, 1000, 2))
    a = reverse_sample(sde, sde.score(GMM), x, grid, 1, "pc", noise=pc_noise, chunk_size=1000)
    b = reverse_sample(sde, sde.score(GMM), x, grid, 1, "pc", noise=pc_noise, chunk_size=99)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


def test_same_seed_and_chunk_size_reproduce():
    sde = OU()
    x = np.zeros((300, 2))
    grid = grids.uniform(sde, 10)
    run = lambda c: reverse_sample(
        sde, sde.score(GMM), x, grid, 1.0, rng=np.random.default_rng(0), chunk_size=c
    )
    np.testing.assert_array_equal(run(100), run(100))


def test_input_is_not_modified_and_output_is_a_new_array():
    sde = VP()
    x = np.ones((10, 2))
    y = reverse_sample(sde, sde.score(GMM), x, grids.uniform(sde, 5), 0.0, "euler")
    assert np.all(x == 1.0) and not np.shares_memory(x, y)


def test_brownian_path_noise_is_consistent_across_step_counts():
    """Euler with the same Brownian path: strong error shrinks as the grid is refined."""
    sde = VP()
    n = 2000
    rng = np.random.default_rng(6)
    x = sde.marginal(DATA, sde.T).sample(n, rng)
    path = BrownianPath(n, 2, np.random.default_rng(7))
    score = sde.score(DATA)
    run = lambda N: reverse_sample(
        sde, score, x, grids.uniform(sde, N, t_min=1e-3), 1.0, "euler", noise=path
    )
    ref = run(512)
    errs = [np.sqrt(np.mean(np.sum((run(N) - ref) ** 2, axis=1))) for N in (16, 32, 64)]
    slope = np.polyfit(np.log([16, 32, 64]), np.log(errs), 1)[0]
    assert slope < -0.35, errs  # strong order 1/2 (or better for additive noise)
    # chunking does not change BrownianPath-driven output
    a = reverse_sample(sde, score, x, grids.uniform(sde, 16), 1.0, noise=path, chunk_size=n)
    b = reverse_sample(sde, score, x, grids.uniform(sde, 16), 1.0, noise=path, chunk_size=77)
    np.testing.assert_array_equal(a, b)


def test_brownian_refinement_is_consistent_and_has_brownian_variance():
    path = BrownianPath(20_000, 2, np.random.default_rng(8))
    coarse = [path.increment(a, b) for a, b in [(0.0, 0.5), (0.5, 1.0)]]
    fine = np.linspace(0.0, 1.0, 9)
    finc = [path.increment(a, b) for a, b in zip(fine[:-1], fine[1:], strict=True)]
    np.testing.assert_allclose(coarse[0], sum(finc[:4]), atol=1e-12)
    np.testing.assert_allclose(coarse[1], sum(finc[4:]), atol=1e-12)
    for inc in finc:  # Var = 1/8, independent
        assert abs(inc.var() - 0.125) < 5 * 0.125 * np.sqrt(2 / inc.size)
    c = np.mean(finc[0] * finc[1])
    assert abs(c) < 5 * 0.125 / np.sqrt(finc[0].size)
    # a bridge point between stored ones has variance (a)(1-a) * dt conditionally: check W(0.25)
    w = path(0.25)
    assert abs(w.var() - 0.25) < 5 * 0.25 * np.sqrt(2 / w.size)
    assert np.allclose(path.increment(0.3, 0.3), 0.0)
    assert path.increment(0.2, 0.7, rows=slice(0, 3)).shape == (3, 2)


# ------------------------------------------------------------------ trajectory, callback
def test_trajectory_and_callback():
    sde = VP()
    grid = grids.uniform(sde, 4)
    x = np.zeros((6, 2))
    calls = []
    res = reverse_sample(
        sde,
        sde.score(GMM),
        x,
        grid,
        0.0,
        "euler",
        return_trajectory=[0, 2, 4],
        callback=lambda k, t, y: calls.append((k, t, y.shape)),
        chunk_size=4,
    )
    assert isinstance(res, SampleResult)
    assert sorted(res.trajectory) == [0, 2, 4]
    np.testing.assert_array_equal(res.trajectory[0], x)
    np.testing.assert_array_equal(res.trajectory[4], res.final)
    np.testing.assert_array_equal(res.times, grid)
    assert [c[:2] for c in calls[:4]] == [(k, grid[k + 1]) for k in range(4)]
    assert len(calls) == 8  # two chunks


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gamma": -0.1}, "gamma"),
        ({"gamma": lambda t: -1.0}, "gamma"),
        ({"grid": [1.0, 0.5, 0.6]}, "decreasing"),
        ({"grid": [1.5, 0.5]}, r"\[0, T\]"),
        ({"grid": [1.0]}, "at least 2"),
        ({"method": "rk4"}, "euler, exponential, heun, ddpm, ancestral, pc"),
        ({"method": "heun", "gamma": 1.0}, "gamma = 0"),
        ({"method": "ddpm", "gamma": 0.5}, "gamma = 1"),
        ({"rng": None}, "rng"),
        ({"x_T": np.zeros((5, 3))}, "dimension"),
        ({"x_T": np.zeros(5)}, "shape"),
        ({"x_T": np.full((5, 2), np.nan)}, "NaN"),
        ({"noise": np.zeros((3, 5, 2))}, "shape"),
        ({"noise": BrownianPath(4, 2, np.random.default_rng(0))}, "shape"),
        ({"method": "pc", "noise": BrownianPath(5, 2, np.random.default_rng(0))}, "corrector"),
        ({"method": "pc", "predictor": "pc"}, "predictor"),
        ({"method": "ancestral", "gamma": 50.0, "grid": [1.0, 0.1]}, "more noise"),
        ({"return_trajectory": [7]}, "return_trajectory"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    sde = VP()
    args = {
        "x_T": np.zeros((5, 2)),
        "grid": grids.uniform(sde, 4),
        "gamma": 1.0,
        "method": "euler",
        "rng": np.random.default_rng(0),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        reverse_sample(sde, sde.score(GMM), **args)


def test_non_finite_state_raises_with_step_index():
    sde = VP()
    grid = grids.uniform(sde, 10)

    def score(x, t):
        return np.full_like(x, np.inf) if t < grid[3] + 1e-12 else -x

    with pytest.raises(NonFiniteError, match="k=3") as info:
        reverse_sample(sde, score, np.zeros((8, 2)), grid, 0.0, "euler")
    assert info.value.step == 3 and info.value.t == grid[3] and info.value.method == "euler"
    assert isinstance(info.value, ValueError)


def test_methods_table_is_complete():
    assert tuple(METHODS) == ("euler", "exponential", "heun", "ddpm", "ancestral", "pc")
    # one record per method: the fixed gammas are the published ones
    assert METHODS["heun"].fixed_gamma == 0.0 and METHODS["ddpm"].fixed_gamma == 1.0
    assert all(METHODS[m].fixed_gamma is None for m in ("euler", "exponential", "ancestral"))


def test_chunk_size_one_and_pc_without_corrector_are_accepted():
    # the smallest legal values (an off-by-one in their checks would reject them)
    sde = VP()
    rng = np.random.default_rng(11)
    grid = grids.uniform(sde, 8)
    x = sde.prior(2).sample(5, rng)
    noise = rng.standard_normal((8, 5, 2))
    ref = reverse_sample(sde, sde.score(GMM), x, grid, 0.5, "euler", noise=noise)
    one = reverse_sample(sde, sde.score(GMM), x, grid, 0.5, "euler", noise=noise, chunk_size=1)
    np.testing.assert_allclose(one, ref, rtol=1e-13, atol=1e-14)
    # pc with no corrector step is its predictor, fed the predictor's noise slot
    pc = reverse_sample(
        sde, sde.score(GMM), x, grid, 0.5, "pc", noise=noise[:, None], n_corrector=0, chunk_size=1
    )
    np.testing.assert_allclose(pc, ref, rtol=1e-13, atol=1e-14)
