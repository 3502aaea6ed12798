"""``chain_laws.path_kl``: the path-space KL on the grid, against a brute-force joint KL."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import OU, VP, Gaussian, kl
from verify.solvers.chain_laws import exact_law, path_kl
from verify.solvers.grids import uniform
from verify.solvers.methods import step_tables


def _reverse_transition(sde, data, t, s, gamma):
    """``y' | y ~ N(rho y + kappa, V)`` of the continuous reverse family, from the moment ODE
    (solver="ode": independent of the closed form (G) that path_kl uses)."""
    laws = [
        exact_law(sde, data, Gaussian([y0], v0), (t, s), gamma, method=None, solver="ode")
        for y0, v0 in ((0.0, 1.0), (1.0, 1.0), (0.0, 2.0))
    ]
    kappa = float(laws[0].mean[0])
    rho = float(laws[1].mean[0]) - kappa
    # Var(y') = rho^2 v0 + V: two starts with v0 = 1 and 2 give V = 2 Var_1 - Var_2
    V = 2.0 * float(laws[0].cov[0, 0]) - float(laws[2].cov[0, 0])
    return rho, kappa, V


def _joint(m0, v0, maps):
    """Mean and covariance of (y_0, ..., y_N) for y_{k+1} = a_k y_k + b_k + sqrt(q_k) xi."""
    n = len(maps) + 1
    mean, cov = np.zeros(n), np.zeros((n, n))
    mean[0], cov[0, 0] = m0, v0
    for k, (a, b, q) in enumerate(maps):
        mean[k + 1] = a * mean[k] + b
        cov[k + 1, : k + 1] = a * cov[k, : k + 1]
        cov[: k + 1, k + 1] = cov[k + 1, : k + 1]
        cov[k + 1, k + 1] = a * a * cov[k, k] + q
    return Gaussian(mean, cov)


@pytest.mark.parametrize(("sde", "method"), [(OU(1.0), "euler"), (VP(0.1, 20.0), "ddpm")])
def test_path_kl_equals_the_kl_of_the_joint_gaussians(sde, method):
    data = Gaussian([0.7], 1.8)
    grid = uniform(sde, 4, t_min=0.05 * sde.T)
    total, per_step = path_kl(sde, data, grid, 1.0, method)
    tables = step_tables(sde, grid, np.ones(4), method)
    chain, rev = [], []
    for k in range(4):
        t, s = grid[k], grid[k + 1]
        p = sde.marginal(data, t)
        P, c = 1.0 / float(p.cov[0, 0]), float(p.mean[0]) / float(p.cov[0, 0])
        A, B, C = tables.A[k], tables.B[k], tables.C[k]
        chain.append((A - B * P, B * c, C * C))
        rev.append(_reverse_transition(sde, data, t, s, 1.0))
    p0 = sde.marginal(data, grid[0])
    m0, v0 = float(p0.mean[0]), float(p0.cov[0, 0])
    brute = kl(_joint(m0, v0, chain), _joint(m0, v0, rev))
    assert total == pytest.approx(brute, rel=1e-8)
    assert per_step.shape == (4,) and np.all(per_step > 0)


def test_path_kl_bounds_the_output_kl_and_rejects_deterministic_chains():
    sde, data = VP(0.1, 20.0), Gaussian([1.0, -0.5], [[2.0, 0.6], [0.6, 0.5]])
    grid = uniform(sde, 20, t_min=1e-2)
    total, _ = path_kl(sde, data, grid, 1.0, "euler")
    out = kl(
        exact_law(sde, data, sde.marginal(data, 1.0), grid, 1.0, "euler"), sde.marginal(data, 1e-2)
    )
    assert 0 < out < total  # data processing: the final marginal carries less KL than the path
    with pytest.raises(ValueError, match="deterministic"):
        path_kl(sde, data, grid, 0.0, "euler")
    with pytest.raises(ValueError, match="affine stochastic"):
        path_kl(sde, data, grid, 0.0, "heun")
