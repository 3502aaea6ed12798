"""Tests of verify.theory.mixture_calculus (mixture score, Hessian, Laplacian)."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import Gaussian, GaussianMixture
from verify.theory.mixture_calculus import (
    mixture_laplacian,
    mixture_score_hessian,
    mixture_score_laplacian,
)


def _mixtures():
    full = GaussianMixture(
        [0.2, 0.5, 0.3],
        np.array([[-3.0, 0.0], [0.0, 2.0], [3.0, -1.0]]),
        np.array([[[0.4, 0.1], [0.1, 0.3]], [[0.2, 0.0], [0.0, 0.5]], [[0.3, -0.1], [-0.1, 0.3]]]),
    )
    iso = GaussianMixture([0.4, 0.6], np.array([[-1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]), [0.5, 2.0])
    diag = GaussianMixture(
        [0.7, 0.3], np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[0.3, 1.2], [0.8, 0.2]])
    )
    return [full, iso, diag]


@pytest.mark.parametrize("p", _mixtures(), ids=["full", "iso", "diag"])
def test_laplacian_and_hessian_match_finite_differences(p):
    x = p.sample(25, np.random.default_rng(0))
    s, H = mixture_score_hessian(p, x)
    np.testing.assert_allclose(s, p.score(x), rtol=1e-10, atol=1e-12)
    h = 1e-5
    eye = np.eye(p.dim)
    fd = np.stack([(p.score(x + h * e) - p.score(x - h * e)) / (2 * h) for e in eye], axis=2)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H.transpose(0, 2, 1), atol=1e-12)
    h2 = 1e-4
    lap_fd = sum(
        (p.log_prob(x + h2 * e) - 2 * p.log_prob(x) + p.log_prob(x - h2 * e)) / h2**2 for e in eye
    )
    lap = mixture_laplacian(p, x)
    np.testing.assert_allclose(lap, lap_fd, rtol=1e-5, atol=1e-5)
    s2, lap2 = mixture_score_laplacian(p, x)
    np.testing.assert_allclose(lap2, np.trace(H, axis1=1, axis2=2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s2, s, rtol=1e-12, atol=1e-14)


def test_gaussian_is_the_one_component_case():
    g = Gaussian([0.5, -1.0], [[1.0, 0.3], [0.3, 0.5]])
    x = g.sample(7, np.random.default_rng(1))
    s, H = mixture_score_hessian(g, x)
    P = np.linalg.inv(g.cov)
    np.testing.assert_allclose(H, np.broadcast_to(-P, H.shape), rtol=1e-12)
    np.testing.assert_allclose(mixture_laplacian(g, x), -np.trace(P), rtol=1e-12)
    np.testing.assert_allclose(s, g.score(x), rtol=1e-12)


def test_far_from_every_mode_the_laplacian_stays_finite():
    p = _mixtures()[0]
    x = np.array([[40.0, -30.0], [1e3, 1e3]])
    assert np.all(np.isfinite(mixture_laplacian(p, x)))


def test_bad_input_is_named():
    p = _mixtures()[0]
    with pytest.raises(ValueError, match=r"x must be an \(n, 2\)"):
        mixture_laplacian(p, np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        mixture_laplacian(p, np.full((1, 2), np.nan))
    with pytest.raises(TypeError, match="Gaussian or GaussianMixture"):
        mixture_laplacian(object(), np.zeros((1, 2)))
