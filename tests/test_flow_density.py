"""Tests of verify.theory.flow_density (exact log-density of the Heun sampler's output)."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import EDM, VP, Gaussian, GaussianMixture, kl
from verify.solvers import grids
from verify.solvers.chain_laws import exact_law
from verify.solvers.particles import reverse_sample
from verify.theory.flow_density import heun_flow, heun_kl


def _mixture():
    return GaussianMixture(
        [0.3, 0.7],
        np.array([[-1.0, 0.5], [1.0, -0.5]]),
        np.array([[[0.2, 0.05], [0.05, 0.1]], [[0.3, 0.0], [0.0, 0.15]]]),
    )


@pytest.mark.parametrize("sde", [EDM(3.0), VP(0.1, 20.0, 1.0)], ids=["EDM", "VP"])
def test_heun_flow_points_are_those_of_the_particle_sampler(sde):
    data = _mixture()
    g = grids.karras(sde, 12, 2e-3 * sde.T, sde.T, 3.0) if isinstance(sde, EDM) else None
    g = grids.uniform(sde, 12, t_min=1e-2) if g is None else g
    x = sde.marginal(data, g[0]).sample(200, np.random.default_rng(0))
    flow = heun_flow(sde, data, x, g)
    y = reverse_sample(sde, sde.score(data), x, g, 0.0, "heun")
    np.testing.assert_allclose(flow.y, y, rtol=1e-10, atol=1e-10)


def test_log_det_matches_a_finite_difference_jacobian_of_the_whole_map():
    sde, data = EDM(3.0), _mixture()
    g = grids.karras(sde, 8, 1e-2, 2.0, 3.0)
    x = sde.marginal(data, g[0]).sample(5, np.random.default_rng(1))
    flow = heun_flow(sde, data, x, g)
    h = 1e-6
    for i in range(len(x)):
        cols = []
        for e in np.eye(2):
            up = heun_flow(sde, data, (x[i] + h * e)[None], g).y[0]
            dn = heun_flow(sde, data, (x[i] - h * e)[None], g).y[0]
            cols.append((up - dn) / (2 * h))
        logdet = np.linalg.slogdet(np.stack(cols, axis=1))[1]
        assert flow.log_det[i] == pytest.approx(logdet, abs=1e-6)


def test_heun_kl_on_gaussian_data_agrees_with_the_exact_chain_law():
    """Rung 4 (Monte Carlo, exact log-densities) vs rung 2 (exact law of the affine chain)."""
    sde = EDM(3.0)
    data = Gaussian([0.3, -0.2], [[0.5, 0.1], [0.1, 0.2]])
    g = grids.karras(sde, 6, 2e-3, 1.5, 2.0)
    start = Gaussian([0.1, 0.0], [[2.0, 0.2], [0.2, 2.5]])  # a wrong start law
    target = sde.marginal(data, g[-1])
    exact = kl(exact_law(sde, data, start, g, 0.0, "heun"), target)
    res = heun_kl(sde, data, start, g, target, 20_000, np.random.default_rng(2))
    assert res.out.lo <= exact <= res.out.hi
    assert res.start_term.lo <= kl(start, sde.marginal(data, g[0])) <= res.start_term.hi
    assert res.out.value == pytest.approx(res.start_term.value + res.carried.value, rel=1e-12)


def test_bad_input_is_named():
    sde = EDM(3.0)
    with pytest.raises(ValueError, match=r"x must be an \(n, 2\)"):
        heun_flow(sde, _mixture(), np.zeros((3, 3)), [1.0, 0.5])
