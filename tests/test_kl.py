"""Exact Gaussian KL: accuracy against mpmath at 50 digits, properties, errors."""

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytic import Gaussian, GaussianMixture, kl, kl_mp
from analytic.divergence import h_u_minus_log1p
from verify.kit.strategies import gaussians, near_equal_gaussian_pairs


@given(near_equal_gaussian_pairs(max_dim=5, max_cond=1e3))
def test_kl_matches_mpmath_to_1e_10_including_near_equal_pairs(pair):
    p, q = pair
    ref = kl_mp(p, q, dps=50)
    got = kl(p, q)
    if ref == 0:
        assert got == 0
    else:
        assert abs(got - ref) <= 1e-10 * abs(ref), (got, float(ref))


@given(gaussians(max_dim=4), gaussians(max_dim=4))
def test_kl_nonnegative_and_matches_mpmath(p, q):
    if p.dim != q.dim:
        with pytest.raises(ValueError, match="dimensions"):
            kl(p, q)
        return
    got = kl(p, q)
    assert got >= 0
    ref = kl_mp(p, q, dps=40)
    assert abs(got - ref) <= 1e-9 * ref + 1e-300


@given(gaussians(max_dim=5))
def test_kl_is_zero_iff_equal(p):
    assert kl(p, p) == 0.0
    q = Gaussian(p.mean + 1e-7, p.covariance)
    assert kl(p, q) > 0


@given(st.floats(-0.999, 10.0))
def test_h_matches_mpmath(u):
    with mpmath.workdps(400):  # u - log1p(u) cancels log10(1/u) digits
        ref = mpmath.mpf(u) - mpmath.log1p(mpmath.mpf(u))
    got = float(h_u_minus_log1p(np.array(u)))
    assert abs(got - ref) <= 4e-16 * ref + 1e-320


def test_compact_forms_give_the_same_kl():
    p_iso, q_iso = Gaussian([0.0, 1.0, 2.0], 1.5), Gaussian([0.5, 1.0, 0.0], 2.5)
    p_full, q_full = Gaussian(p_iso.mean, p_iso.cov), Gaussian(q_iso.mean, q_iso.cov)
    p_diag = Gaussian(p_iso.mean, np.diag(p_iso.cov))
    ref = kl(p_full, q_full)
    assert kl(p_iso, q_iso) == pytest.approx(ref, rel=1e-14)
    assert kl(p_diag, q_iso) == pytest.approx(ref, rel=1e-14)
    assert kl(p_full, q_iso) == pytest.approx(ref, rel=1e-14)


def test_closed_form_1d():
    p, q = Gaussian([1.0], 2.0), Gaussian([-0.5], 3.0)
    ref = 0.5 * (2 / 3 - 1 - np.log(2 / 3) + 1.5**2 / 3)
    assert kl(p, q) == pytest.approx(ref, rel=1e-14)


def test_mixture_kl_raises_and_points_to_monte_carlo():
    m = GaussianMixture([0.5, 0.5], [[0.0], [1.0]], [1.0, 1.0])
    with pytest.raises(ValueError, match="kl_mc"):
        kl(m, Gaussian([0.0], 1.0))


def test_monte_carlo_kl_ci_covers_exact_value():
    from verify.estimators import kl_mc

    p, q = Gaussian([0.0, 1.0], [[1.0, 0.3], [0.3, 0.5]]), Gaussian([0.2, 0.8], 1.0)
    est = kl_mc(p, q, 200_000, np.random.default_rng(0), level=0.999)
    assert est.contains(kl(p, q)), (str(est), kl(p, q))
