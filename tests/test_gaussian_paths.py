"""verify.theory.gaussian_paths: exact conditional laws of the common-noise sampler.

References: the particle sampler ``sample_common_noise`` driven by the same common path (a
second algorithm; Monte-Carlo tolerance), the closed-form mean chain
``expected_constant_field_qv`` and the closed forms of W2 and KL between Gaussians.
"""

import math

import numpy as np
import pytest

from analytic import OU, Gaussian, kl
from verify import errors
from verify.estimators import mean_ci
from verify.solvers import grids
from verify.theory import common_noise as cn
from verify.theory.gaussian_paths import (
    conditional_gaussian_laws,
    kl_gaussian_batch,
    w2_gaussian_batch,
)


def _setting():
    sde = OU(T=1.0)
    p0 = Gaussian(np.array([1.0, -0.5]), np.array([[1.0, 0.3], [0.3, 0.5]]))
    grid = grids.uniform(sde, 25, t_min=0.01)
    noise = cn.CommonNoise(
        (
            cn.ConstantField((0.3, 0.1), cn.TimeProfile("late")),
            cn.LinearField(((0.4, 0.1), (0.0, -0.2))),
        )
    )
    return sde, p0, grid, noise


def test_conditional_law_matches_particles_on_the_same_path():
    sde, p0, grid, noise = _setting()
    rng = np.random.default_rng(0)
    dB = cn.brownian_increments(grid, 2, rng, n_paths=2)
    err = errors.Offset(sde.score(p0), np.array([0.2, -0.1]))
    law = conditional_gaussian_laws(sde, p0, grid, noise, 1.0, dB=dB, score_error=err)
    n = 40_000
    x = sde.marginal(p0, sde.T).sample(2 * n, rng).reshape(2, n, 2)
    res = cn.sample_common_noise(
        sde, err, x, grid, noise, 1.0, rng=rng, dB=dB, tests=[cn.radial_square()]
    )
    for r in range(2):
        C = law.covs[r, -1]
        se = np.sqrt(np.diag(C) / n)
        assert np.all(np.abs(res.means[r, -1] - law.means[r, -1]) < 4.5 * se)
        se_c = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C * C) / n)
        assert np.all(np.abs(res.covs[r, -1] - C) < 4.5 * se_c)
    # the projection <u, |x|^2> and its common rate agree too (within 1% at this N)
    np.testing.assert_allclose(res.proj[:, 0, -1], law.square_projection()[:, -1], rtol=0.02)
    np.testing.assert_allclose(res.common_rate[:, 0, :5], law.common_rate[:, :5], rtol=0.05)


def test_field_scale_is_a_scaling_of_the_fields():
    sde, p0, grid, _ = _setting()
    rng = np.random.default_rng(1)
    dB = cn.brownian_increments(grid, 1, rng, n_paths=3)
    unit = cn.CommonNoise((cn.LinearField(((1.0, 0.2), (0.2, 0.5))),))
    scaled = cn.CommonNoise((cn.LinearField(((0.3, 0.06), (0.06, 0.15))),))
    a = conditional_gaussian_laws(
        sde, p0, grid, unit, 1.0, dB=dB, field_scale=np.full((3, grid.size), 0.3)
    )
    b = conditional_gaussian_laws(sde, p0, grid, scaled, 1.0, dB=dB)
    np.testing.assert_allclose(a.means, b.means, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.common_rate, b.common_rate, rtol=1e-10, atol=1e-14)
    no_anti = conditional_gaussian_laws(sde, p0, grid, scaled, 1.0, dB=dB, antithetic=False)
    np.testing.assert_allclose(no_anti.covs, b.covs, rtol=1e-12)
    assert np.all(np.isnan(no_anti.mart))


def test_mean_common_qv_matches_the_closed_form_mean_chain():
    sde = OU(T=1.0)
    grid = grids.uniform(sde, 200)
    mean, cov, c = (1.5, 0.0), (1.0, 0.25), np.array([0.4, 0.2])
    p0 = Gaussian(np.array(mean), np.array(cov))
    dB = cn.brownian_increments(grid, 1, np.random.default_rng(2), n_paths=4000)
    law = conditional_gaussian_laws(
        sde, p0, grid, cn.CommonNoise((cn.ConstantField(tuple(c)),)), 1.0, dB=dB
    )
    est = mean_ci(law.qv(1.0)["common"], 0.99)
    want = cn.expected_constant_field_qv(sde, mean, cov, c, math.inf, grid)
    assert est.contains(want), (est, want)
    ratio = mean_ci(law.martingale_ratio())  # E[mart^2] = rate h (1 + O(h)), h = 0.005
    assert 0.95 < ratio.lo and ratio.hi < 1.05, ratio


def test_rotation_field_has_zero_radial_rate():
    sde, p0, grid, _ = _setting()
    rot = cn.CommonNoise((cn.LinearField(((0.0, -0.7), (0.7, 0.0))),))
    dB = cn.brownian_increments(grid, 1, np.random.default_rng(3), n_paths=5)
    law = conditional_gaussian_laws(sde, p0, grid, rot, 1.0, dB=dB)
    assert np.max(law.common_rate) < 1e-25


def test_batch_w2_and_kl_match_the_closed_forms():
    rng = np.random.default_rng(4)
    m = rng.normal(size=(5, 2))
    A = rng.normal(size=(5, 2, 2))
    C = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(2)
    m2, C2 = np.array([0.3, -0.2]), np.array([[1.0, 0.2], [0.2, 0.6]])
    w2 = w2_gaussian_batch(m, C, m2, C2)
    k = kl_gaussian_batch(m, C, m2, C2)
    for r in range(5):
        assert w2[r] == pytest.approx(cn.w2_gaussian(m[r], C[r], m2, C2), rel=1e-9)
        assert k[r] == pytest.approx(kl(Gaussian(m[r], C[r]), Gaussian(m2, C2)), rel=1e-9)
    with pytest.raises(ValueError, match="m1"):
        w2_gaussian_batch(m[0], C[0], m2, C2)


def test_bad_input_is_rejected():
    sde, p0, grid, noise = _setting()
    with pytest.raises(ValueError, match="dB"):
        conditional_gaussian_laws(sde, p0, grid, noise, 1.0, dB=np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="grid"):
        conditional_gaussian_laws(sde, p0, grid[::-1], noise, 1.0, dB=np.zeros((1, 25, 2)))
    with pytest.raises(ValueError, match="field_scale"):
        conditional_gaussian_laws(
            sde, p0, grid, noise, 1.0, dB=np.zeros((1, 25, 2)), field_scale=np.ones((1, 3))
        )
    bump = cn.CommonNoise((cn.BumpField((1.0, 0.0), (0.0, 0.0), 1.0),))
    with pytest.raises(ValueError, match="affine"):
        conditional_gaussian_laws(sde, p0, grid, bump, 1.0, dB=np.zeros((1, 25, 1)))
