"""verify.solvers.density_1d: the 1-D DDPM chain density and the quadrature KL.

The chain density is checked against the exact Gaussian law of the same DDPM chain
(``verify.solvers.chain_laws.exact_law``, a second algorithm) and against particles of
``reverse_sample``; the quadrature KL against the closed form for Gaussians.
"""

import numpy as np
import pytest

from analytic import VE, VP, Gaussian, GaussianMixture, kl
from verify.solvers import grids
from verify.solvers.density_1d import (
    ddpm_density_1d,
    finite_difference_dx,
    kl_quadrature_1d,
    pf_ode_flow,
    pf_ode_kl_1d,
)


def _cells(lo, hi, n):
    x = np.linspace(lo, hi, n + 1)
    return 0.5 * (x[1:] + x[:-1])


@pytest.mark.parametrize("sde", [VE(0.01, 3.0), VP(0.1, 20.0, 1.0)], ids=["VE", "VP"])
def test_chain_density_matches_the_exact_law_of_the_ddpm_chain(sde):
    from verify.solvers.chain_laws import exact_law

    data = Gaussian(np.array([0.4]), 0.3)
    init = Gaussian(np.array([0.2]), 2.0)
    times = grids.uniform(sde, 12, t_min=0.2)
    x = _cells(-20, 20, 2000)  # the chain's intermediate laws have sd up to 3
    q, lost = ddpm_density_1d(sde, sde.score(data), np.exp(init.log_prob(x[:, None])), x, times)
    law = exact_law(sde, data, init, times, gamma=1.0, method="ddpm")
    h = x[1] - x[0]
    mean = np.sum(q * x) * h
    var = np.sum(q * (x - mean) ** 2) * h
    assert lost < 1e-12 and abs(np.sum(q) * h + lost - 1) < 1e-12
    # putting each step's mass at cell centres adds at most ~h^2/12 of variance per step
    np.testing.assert_allclose(mean, law.mean[0], atol=1e-6)
    assert abs(var - law.cov[0, 0]) <= (len(times) + 1) * h**2 / 12


def test_chain_density_agrees_with_particles_for_a_nonlinear_score():
    from verify.solvers.particles import reverse_sample

    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.35, 0.65], [[-1.3], [0.8]], [0.05, 0.1])
    times = grids.karras(sde, 6, 0.05, float(sde.sigma(sde.T)), rho=7.0)
    start = sde.marginal(data, sde.T)
    x = _cells(-12, 12, 1200)
    q, _ = ddpm_density_1d(sde, sde.score(data), np.exp(start.log_prob(x[:, None])), x, times)
    rng = np.random.default_rng(0)
    y = reverse_sample(sde, sde.score(data), start.sample(40000, rng), times, 1.0, "ddpm", rng=rng)
    y = np.asarray(getattr(y, "x", y))[:, 0]
    h = x[1] - x[0]
    for f in (lambda v: v, lambda v: v**2, lambda v: (v < 0).astype(float)):
        exact = np.sum(q * f(x)) * h
        mc = f(y)
        assert abs(mc.mean() - exact) < 4 * mc.std() / np.sqrt(mc.size) + 2e-3


def test_kl_1d_matches_the_closed_form_for_gaussians():
    p, q = Gaussian(np.array([0.3]), 0.5), Gaussian(np.array([-0.2]), 1.7)
    np.testing.assert_allclose(kl_quadrature_1d(p, q), kl(p, q), rtol=1e-9)


def _dense_ddpm(sde, score, q0, x, grid_times):
    """The full-matrix version of the banded chain density (independent implementation)."""
    from scipy.special import ndtr

    h = float(x[1] - x[0])
    edges = np.concatenate([x - h / 2, [x[-1] + h / 2]])
    q = np.asarray(q0) * h
    for t, s in zip(grid_times[:-1], grid_times[1:], strict=True):
        a, v = (float(np.asarray(c)) for c in np.broadcast_arrays(*sde.transition(s, t)))
        m = (x + v * score(x[:, None], float(t))[:, 0]) / a
        q = np.diff(ndtr((edges[:, None] - m[None, :]) / np.sqrt(v)), axis=0) @ q
    return q / h


def test_banded_chain_density_equals_the_dense_one():
    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.35, 0.65], [[-1.3], [0.8]], [0.05, 0.1])
    x = _cells(-16, 16, 800)
    times = grids.karras(sde, 10, 0.03, float(sde.sigma(sde.T)), rho=7.0)
    q0 = np.exp(sde.prior(1).log_prob(x[:, None]))
    q, _ = ddpm_density_1d(sde, sde.score(data), q0, x, times)
    want = _dense_ddpm(sde, sde.score(data), q0, x, times)
    np.testing.assert_allclose(q, want, rtol=1e-9, atol=1e-12 * want.max())


def test_pf_ode_flow_is_the_exact_gaussian_transport_map():
    # Gaussian data, exact score: the PF-ODE map is y = m + sqrt(S_t / S_T) (x - m) (VE)
    sde = VE(0.01, 3.0)
    data = Gaussian(np.array([0.4]), 0.3)
    times = grids.uniform(sde, 40, t_min=0.2)
    x = np.linspace(-5, 5, 11)
    y = pf_ode_flow(sde, sde.score(data), x, times, substeps=2)
    S = lambda t: 0.3 + float(sde.sigma2(t))  # noqa: E731
    want = 0.4 + np.sqrt(S(times[-1]) / S(times[0])) * (x - 0.4)
    np.testing.assert_allclose(y, want, rtol=2e-6, atol=1e-8)  # RK4, 80 steps
    path = pf_ode_flow(sde, sde.score(data), x[:, None], times, record=True)
    assert path.shape == (times.size, 11, 1)
    with pytest.raises(ValueError, match="times"):
        pf_ode_flow(sde, sde.score(data), x, times[::-1])


def test_pf_ode_kl_matches_the_exact_law_for_a_scale_error():
    from verify.errors import Scale
    from verify.solvers.chain_laws import exact_law

    sde = VE(0.01, 3.0)
    data = Gaussian(np.array([0.4]), 0.3)
    t_end = 0.2
    err = Scale(sde.score(data), 0.8)
    pT, pe = sde.marginal(data, sde.T), sde.marginal(data, t_end)
    law = exact_law(sde, data, pT, (sde.T, t_end), gamma=0.0, method=None, score_error=err)
    want = kl(law, pe)
    m, sd = float(pT.mean[0]), float(np.sqrt(pT.cov[0, 0]))
    bounds = (m - 10 * sd, m + 10 * sd)
    times = grids.uniform(sde, 240, t_min=t_end)
    dx = finite_difference_dx(err, 1e-4)
    got, info = pf_ode_kl_1d(sde, err, dx, pT.log_prob, pe.log_prob, bounds, times)
    assert got == pytest.approx(want, rel=1e-7)
    assert info["mass"] == pytest.approx(1.0, abs=1e-12) and info["error"] < 1e-9
    # the combined (value, derivative) form gives the same number
    got2, _ = pf_ode_kl_1d(
        sde, None, lambda y, t: (err(y, t), dx(y, t)), pT.log_prob, pe.log_prob, bounds, times
    )
    assert got2 == pytest.approx(got, rel=1e-12)


def test_gauss_kronrod_rule_and_refinement():
    from verify.solvers.density_1d import gauss_kronrod

    val, err, n = gauss_kronrod(np.exp, [0.0, 1.0], 1e-14)
    assert val == pytest.approx(np.e - 1, rel=1e-15) and n == 15
    # a peak narrower than the base intervals forces refinement; the result is within the
    # error estimate (a feature that falls between all 15 nodes of an interval is missed:
    # start with intervals no wider than a few times the narrowest feature)
    sharp = lambda x: np.exp(-(((x - 0.3137) / 0.03) ** 2))  # noqa: E731
    val, err, n = gauss_kronrod(sharp, np.linspace(-1, 1, 9), 1e-12, max_levels=12)
    assert n > 8 * 15
    assert abs(val - 0.03 * np.sqrt(np.pi)) <= max(err, 1e-15)
