"""Tests of verify.theory.tails (exact projected quantiles, order-statistic CIs, sliced W1)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t
from scipy.stats import wasserstein_distance

from verify.theory.start_laws import StudentTMixture
from verify.theory.tails import abs_quantiles_exact, projected_t_mixture, quantile_ci, sliced_w1


def test_quantile_ci_covers_at_its_level():
    q = 0.99
    truth = student_t(3).ppf(0.5 + q / 2)  # |Y| quantile of a symmetric t3
    rng = np.random.default_rng(0)
    cover = 0
    for _ in range(600):
        est, lo, hi = quantile_ci(np.abs(rng.standard_t(3, 1000)), [q], 0.9)
        cover += lo[0] <= truth <= hi[0]
    assert 0.86 <= cover / 600 <= 0.96  # >= 0.9 up to Monte Carlo error (binomial sd 0.012)


def test_quantile_ci_is_infinite_beyond_the_sample():
    est, lo, hi = quantile_ci(np.arange(1.0, 11.0), [0.999])
    assert np.isinf(hi[0]) and np.isfinite(est[0])


def test_exact_projected_quantiles_match_a_large_sample():
    p = StudentTMixture(
        [0.4, 0.6],
        np.array([[1.0, 0.0, -1.0], [-0.5, 0.5, 0.0]]),
        np.array([np.diag([0.5, 0.3, 0.2]), [[0.4, 0.1, 0.0], [0.1, 0.3, 0.05], [0.0, 0.05, 0.2]]]),
        df=3.0,
        n_quad=5,
    )
    rng = np.random.default_rng(1)
    x = p.sample(400_000, rng)
    v = np.array([0.6, -0.8, 0.0])
    w, m, s = projected_t_mixture(p.w, p.mu, p.cov, v)
    levels = [0.5, 0.9, 0.99]
    c, q = abs_quantiles_exact(w, m, s, p.df, levels)
    assert np.median(x @ v) == pytest.approx(c, abs=0.01)
    est, lo, hi = quantile_ci(np.abs(x @ v - c), levels, 0.999)
    assert np.all(lo <= q) and np.all(q <= hi)


def test_sliced_w1_is_the_1d_wasserstein_distance():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((500, 3)), 1.3 * rng.standard_normal((500, 3)) + 0.2
    dirs = np.eye(3)[:2]
    w = sliced_w1(x, y, dirs)
    for j, v in enumerate(dirs):
        assert w[j] == pytest.approx(wasserstein_distance(x @ v, y @ v), rel=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        sliced_w1(x, y[:10], dirs)
