"""verify.solvers.density_1d: the 1-D DDPM chain density and the quadrature KL.

The chain density is checked against the exact Gaussian law of the same DDPM chain
(``verify.solvers.chain_laws.exact_law``, a second algorithm) and against particles of
``reverse_sample``; the quadrature KL against the closed form for Gaussians.
"""

import numpy as np
import pytest

from analytic import VE, VP, Gaussian, GaussianMixture, kl
from verify.solvers import grids
from verify.solvers.density_1d import ddpm_density_1d, kl_quadrature_1d


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
