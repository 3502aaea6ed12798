"""Fokker-Planck grid solver against independent exact answers (the closed form (G))."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import logsumexp

from verify.solvers.fokker_planck import Grid, fisher_on_grid, kl_on_grid, solve_reverse_fp


class _OU:
    """Local stand-in for analytic.OU: f = -1, g2 = 2 (do not import analytic here)."""

    def __init__(self, T: float = 1.0):
        self.T = T

    def f(self, t):
        return -np.ones_like(np.asarray(t, dtype=float))

    def g2(self, t):
        return 2.0 * np.ones_like(np.asarray(t, dtype=float))

    def alpha(self, t):
        return np.exp(-np.asarray(t, dtype=float))

    def sigma2(self, t):
        return -np.expm1(-2.0 * np.asarray(t, dtype=float))


SDE = _OU(T=1.0)


def _gauss_logpdf(x, mean, var):
    """log N(x; mean, diag(var)) for x of shape (n, d)."""
    mean, var = np.broadcast_to(mean, x.shape[1:]), np.broadcast_to(var, x.shape[1:])
    return np.sum(-((x - mean) ** 2) / (2 * var) - 0.5 * np.log(2 * np.pi * var), axis=1)


class _DiagGaussData:
    """Data N(m0, diag(s0^2)) under the OU forward SDE: exact marginals and score."""

    def __init__(self, m0, s02):
        self.m0, self.s02 = np.atleast_1d(np.asarray(m0, float)), np.atleast_1d(s02)

    def mean(self, t):
        return SDE.alpha(t) * self.m0

    def var(self, t):
        return SDE.alpha(t) ** 2 * self.s02 + SDE.sigma2(t)

    def logp(self, x, t):
        return _gauss_logpdf(x, self.mean(t), self.var(t))

    def score(self, x, t):
        return -(x - self.mean(t)) / self.var(t)


class _Mixture1D:
    """Two-component 1-D Gaussian mixture data; closed-form OU marginal and score."""

    w = np.array([0.35, 0.65])
    mu = np.array([-1.2, 1.0])
    s2 = np.array([0.15, 0.3])

    def _terms(self, x, t):
        a = SDE.alpha(t)
        v = a**2 * self.s2 + SDE.sigma2(t)
        d = x[:, :1] - a * self.mu[None, :]
        log_c = np.log(self.w) - d**2 / (2 * v) - 0.5 * np.log(2 * np.pi * v)
        return log_c, d, v

    def logp(self, x, t):
        return logsumexp(self._terms(x, t)[0], axis=1)

    def score(self, x, t):
        log_c, d, v = self._terms(x, t)
        resp = np.exp(log_c - logsumexp(log_c, axis=1, keepdims=True))
        return np.sum(resp * (-d / v), axis=1, keepdims=True)


def _closed_form_G(data, mu0, v0, gamma, taus):
    """(G) (docs/theory.md) per axis: KL, mean and variance of q_tau (exact score)."""
    T = SDE.T

    def rate(u):
        return gamma * 2.0 / data.var(T - u)  # gamma g2 / s^2_{T-u}, per axis

    kl, means, variances = [], [], []
    for tau in taus:
        big_gamma = np.array(
            [quad(lambda u, i=i: rate(u)[i], 0.0, tau)[0] for i in range(data.m0.size)]
        )
        sT2, s2 = data.var(T), data.var(T - tau)
        r = 1.0 + (v0 / sT2 - 1.0) * np.exp(-big_gamma)
        z = (mu0 - data.mean(T)) / np.sqrt(sT2) * np.exp(-big_gamma / 2)
        kl.append(0.5 * np.sum(r - 1 - np.log(r) + z**2))
        means.append(data.mean(T - tau) + z * np.sqrt(s2))
        variances.append(r * s2)
    return np.array(kl), np.array(means), np.array(variances)


GAUSS_1D = _DiagGaussData(1.0, 0.25)
TIMES = np.linspace(1.0, 0.05, 41)
TIMES_FINE = np.linspace(1.0, 0.05, 81)


def _sup_rel_error(res, logp):
    pts = res.points()
    errs = [
        np.max(np.abs(q.ravel() - np.exp(logp(pts, t)))) / np.max(np.exp(logp(pts, t)))
        for q, t in zip(res.densities, res.times, strict=True)
    ]
    return max(errs)


# Tolerances on the relative sup-norm error at the finer grid. gamma = 0 is pure
# transport: the positive scheme is first order in space there (upwind limit).
@pytest.mark.parametrize(
    ("gamma", "n_cells", "tol"),
    [(0.0, 1600, 8e-3), (0.5, 400, 2e-3), (1.0, 400, 2e-3), (2.0, 400, 2e-3)],
)
def test_exact_score_from_p_T_stays_on_forward_marginals(gamma, n_cells, tol):
    errors = []
    for n in (n_cells // 2, n_cells):
        res = solve_reverse_fp(
            SDE,
            GAUSS_1D.score,
            lambda x: GAUSS_1D.logp(x, SDE.T),
            TIMES,
            gamma,
            bounds=((-6.0, 7.0),),
            n_cells=n,
            log=True,
            substeps=2,
        )
        errors.append(_sup_rel_error(res, GAUSS_1D.logp))
    assert errors[1] < tol
    assert errors[1] < errors[0]  # refinement helps


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_wrong_gaussian_start_matches_moment_ode_G(gamma):
    mu0, v0 = -0.5, 2.0
    n = 1600 if gamma == 0 else 800
    res = solve_reverse_fp(
        SDE,
        GAUSS_1D.score,
        lambda x: _gauss_logpdf(x, mu0, v0),
        TIMES_FINE,
        gamma,
        bounds=((-9.0, 9.0),),
        n_cells=n,
        log=True,
        substeps=2,
        estimate_error=True,
    )
    kl_ref, mean_ref, var_ref = _closed_form_G(GAUSS_1D, mu0, v0, gamma, res.taus)
    kl, kl_err = res.kl_trajectory(GAUSS_1D.logp, return_error=True)
    # the half-resolution difference bounds the actual error (safety factor 1.5; it is
    # ~3x the error for the second-order gamma > 0 runs, ~1x for first-order gamma = 0)
    assert np.all(np.abs(kl - kl_ref) <= 1.5 * kl_err + 1e-6)
    mean, cov = res.moments()
    np.testing.assert_allclose(mean[:, 0], mean_ref[:, 0], atol=5e-3 if gamma == 0 else 5e-4)
    np.testing.assert_allclose(cov[:, 0, 0], var_ref[:, 0], rtol=2e-2 if gamma == 0 else 2e-3)
    if gamma == 0:
        assert np.ptp(kl_ref) < 1e-12  # (G): the PF-ODE keeps KL constant
        assert np.ptp(kl) <= 1.5 * np.max(kl_err)
    else:
        assert np.all(np.diff(kl) < 0)  # stochasticity corrects the initial error


@pytest.mark.parametrize(("solver", "gamma"), [("direct", 1.0), ("split", 1.0), ("split", 0.5)])
def test_2d_anisotropic_gaussian_matches_G(solver, gamma):
    data = _DiagGaussData([0.5, -1.0], np.array([0.3, 1.5]))
    mu0, v0 = np.array([0.0, 0.5]), np.array([1.5, 0.5])
    res = solve_reverse_fp(
        SDE,
        data.score,
        lambda x: _gauss_logpdf(x, mu0, v0),
        TIMES[::2],
        gamma,
        bounds=((-7.0, 7.0), (-7.0, 6.0)),
        n_cells=(112, 72),
        log=True,
        solver=solver,
        estimate_error=True,
    )
    kl_ref, mean_ref, var_ref = _closed_form_G(data, mu0, v0, gamma, res.taus)
    kl, kl_err = res.kl_trajectory(data.logp, return_error=True)
    assert np.all(np.abs(kl - kl_ref) <= kl_err + 1e-6)  # measured ratio ~1/3
    assert np.max(np.abs(kl - kl_ref)) < 5e-3
    assert np.all(np.diff(kl) < 0)
    mean, cov = res.moments()
    var = np.diagonal(cov, axis1=1, axis2=2)
    mean_err = res.error_estimate(lambda r: r.moments()[0])
    var_err = res.error_estimate(lambda r: np.diagonal(r.moments()[1], axis1=1, axis2=2))
    # within the estimate, plus a floor where an error component changes sign in time
    assert np.all(np.abs(mean - mean_ref) <= mean_err + 1e-3)
    assert np.all(np.abs(var - var_ref) <= var_err + 1e-3 * var_ref)
    np.testing.assert_allclose(mean, mean_ref, atol=5e-3)
    np.testing.assert_allclose(var, var_ref, rtol=3e-2)
    np.testing.assert_allclose(cov[:, 0, 1], 0.0, atol=1e-3)


def _box_density(x):
    """A discontinuous (worst case for positivity) start: uniform on a square/interval."""
    return np.all(np.abs(x - 0.3) < 1.0, axis=1).astype(float)


@pytest.mark.parametrize("method", ["be", "trbdf2"])
@pytest.mark.parametrize(
    ("dim", "solver", "gamma"),
    [(1, "direct", 0.0), (1, "direct", 1.0), (2, "direct", 0.0), (2, "split", 1.0)],
)
def test_mass_conserved_and_density_nonnegative(method, dim, solver, gamma):
    data = _DiagGaussData(np.zeros(dim), np.full(dim, 0.2))
    res = solve_reverse_fp(
        SDE,
        data.score,
        _box_density,
        np.linspace(1.0, 0.05, 11),
        gamma,
        bounds=((-4.0, 4.0),) * dim,
        n_cells=40 if dim == 2 else 200,
        method=method,
        solver=solver,
        substeps=1,
    )
    assert np.max(np.abs(res.mass / res.mass[0] - 1.0)) < 1e-12
    assert res.min_density >= 0.0 and np.all(res.densities >= 0.0)
    if method == "be":
        assert res.clipped_mass == 0.0  # M-matrix: positive without a limiter
    elif (dim, gamma) == (1, 0.0):
        assert res.clipped_mass > 0.0  # the TR-BDF2 limiter path is exercised


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_mixture_from_p_T_stays_on_mixture_marginals(gamma):
    mix = _Mixture1D()
    res = solve_reverse_fp(
        SDE,
        mix.score,
        lambda x: mix.logp(x, SDE.T),
        TIMES,
        gamma,
        bounds=((-6.0, 6.0),),
        n_cells=1600 if gamma == 0 else 600,
        log=True,
        substeps=2,
    )
    assert _sup_rel_error(res, mix.logp) < 4e-3
    assert np.max(res.kl_trajectory(mix.logp)) < 2e-5


def test_quadrature_diagnostics_match_gaussian_closed_forms():
    grid = Grid.from_spec(((-10.0, 10.0),), 2000)
    m1, v1, m2, v2 = 0.4, 0.7, -0.2, 1.3
    q = np.exp(_gauss_logpdf(grid.points(), m1, v1))
    kl_exact = 0.5 * (v1 / v2 - 1 - np.log(v1 / v2) + (m1 - m2) ** 2 / v2)
    assert kl_on_grid(q, lambda x: _gauss_logpdf(x, m2, v2), grid) == pytest.approx(
        kl_exact, rel=1e-5
    )
    a, c = 1 / v2 - 1 / v1, m1 / v1 - m2 / v2  # grad log q/p = a x + c
    fisher_exact = a**2 * v1 + (a * m1 + c) ** 2
    fisher = fisher_on_grid(q, lambda x: -(x - m2) / v2, grid)
    assert fisher == pytest.approx(fisher_exact, rel=1e-4)


def test_kl_decay_rate_is_minus_D_times_fisher():
    """The exact-score KL identity (docs/theory.md): dH/dtau = -gamma g2/2 I."""
    gamma = 1.0
    times = np.linspace(1.0, 0.3, 141)
    res = solve_reverse_fp(
        SDE,
        GAUSS_1D.score,
        lambda x: _gauss_logpdf(x, 2.0, 0.5),
        times,
        gamma,
        bounds=((-7.0, 8.0),),
        n_cells=800,
        log=True,
    )
    kl = res.kl_trajectory(GAUSS_1D.logp)
    fisher = res.fisher_trajectory(GAUSS_1D.score)
    dkl = np.gradient(kl, res.taus)
    np.testing.assert_allclose(dkl[5:-5], -gamma * fisher[5:-5], rtol=2e-3)


def test_record_and_callback():
    seen = []
    res = solve_reverse_fp(
        SDE,
        GAUSS_1D.score,
        lambda x: GAUSS_1D.logp(x, 1.0),
        TIMES,
        1.0,
        bounds=((-6.0, 7.0),),
        n_cells=50,
        log=True,
        record=[0, -1],
        callback=lambda k, t, q: seen.append((k, t)),
    )
    assert res.densities.shape == (2, 50)
    np.testing.assert_allclose(res.times, TIMES[[0, -1]])
    np.testing.assert_allclose(res.taus, SDE.T - TIMES[[0, -1]])
    assert [k for k, _ in seen] == list(range(1, TIMES.size))
    assert res.mass.shape == (TIMES.size,)


_GOOD = dict(bounds=((-5.0, 5.0),), n_cells=50)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grid_times": [1.0, 0.5, 0.6]}, "grid_times"),
        ({"grid_times": [0.1, 0.5]}, "grid_times"),
        ({"grid_times": [1.5, 0.5]}, "grid_times"),
        ({"gamma": -0.1}, "gamma"),
        ({"gamma": lambda t: 1.0 - 2 * t}, "gamma"),
        ({"bounds": ((1.0, -1.0),)}, "bounds"),
        ({"bounds": ((0, 1), (0, 1), (0, 1))}, "bounds"),
        ({"bounds": 3.0}, "bounds"),
        ({"n_cells": 2}, "n_cells"),
        ({"method": "rk4"}, "method"),
        ({"substeps": 0}, "substeps"),
        ({"init": lambda x: -np.ones(len(x))}, "init_density"),
        ({"init": np.ones(7)}, "init_density"),
        ({"record": [99]}, "record"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    args = {"grid_times": TIMES, "gamma": 1.0, "init": lambda x: np.exp(GAUSS_1D.logp(x, 1.0))}
    args |= _GOOD
    args.update(kwargs)
    init, times, gamma = args.pop("init"), args.pop("grid_times"), args.pop("gamma")
    with pytest.raises(ValueError, match=match):
        solve_reverse_fp(SDE, GAUSS_1D.score, init, times, gamma, **args)


def test_non_finite_score_raises_with_step_and_time():
    def bad_score(x, t):
        return np.full_like(x, np.nan) if t < 0.5 else GAUSS_1D.score(x, t)

    with pytest.raises(ValueError, match=r"score returned NaN or inf at step \d+ \(t="):
        solve_reverse_fp(
            SDE, bad_score, lambda x: GAUSS_1D.logp(x, 1.0), TIMES, 1.0, **_GOOD, log=True
        )
