"""Tests of verify.theory.elbo and the horizon.* claims (paper 4, arXiv 2206.05173)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from analytic import VP, Gaussian, GaussianMixture, kl
from verify.claims import horizon as H
from verify.claims.base import RunContext, run_claim
from verify.theory.elbo import (
    N_COARSE,
    BoundRow,
    bound_along_T,
    coupled_be_slack,
    expect_1d,
    moments_1d,
    per_t_quantities,
)


def _vp():
    return VP(0.1, 20.0, 1.0)


def _two_modes():
    return GaussianMixture([0.35, 0.65], np.array([[-2.0], [1.5]]), np.array([0.15, 0.4]))


def _kl_quad(p, q):
    return expect_1d(p, lambda x: p.log_prob(x) - q.log_prob(x))


# ------------------------------------------------------------------------ theory.elbo
def test_quadrature_kl_matches_closed_form_for_a_gaussian():
    p = GaussianMixture([1.0], np.array([[0.7]]), np.array([0.3]))
    q = Gaussian(np.array([0.0]), 1.0)
    assert _kl_quad(p, q) == pytest.approx(kl(Gaussian([0.7], 0.3), q), rel=1e-12)


def test_expect_1d_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D GaussianMixture"):
        expect_1d(Gaussian([0.0], 1.0), lambda x: x[:, 0])
    with pytest.raises(ValueError, match="n must be"):
        expect_1d(_two_modes(), lambda x: x[:, 0], n=2)


def test_quadrature_converges_for_the_mixture():
    fine = per_t_quantities(_vp(), _two_modes(), 0.05)
    coarse = per_t_quantities(_vp(), _two_modes(), 0.05, N_COARSE)
    for key in ("delta", "fisher", "kl_prior"):
        assert getattr(fine, key) == pytest.approx(getattr(coarse, key), rel=1e-9)


def test_fisher_information_of_a_gaussian_is_its_precision():
    p = GaussianMixture([1.0], np.array([[0.4]]), np.array([0.25]))
    q = per_t_quantities(_vp(), p, 0.0)
    assert q.fisher == pytest.approx(4.0, rel=1e-12)
    assert q.delta == pytest.approx(0.0, abs=1e-12)  # the score of a Gaussian is affine


def test_per_t_affine_score_term_identity():
    """J(T) = KL(p_0||g_0) - KL(p_T||g_T), g the moment-matched Gaussian (independent route)."""
    sde, data = _vp(), _two_modes()
    rows = bound_along_T(sde, data, np.linspace(0.0, 1.0, 11), 8)

    def g_at(t):
        m, v = moments_1d(sde.marginal(data, t) if t > 0 else data)
        return Gaussian([m], v)

    k0 = _kl_quad(data, g_at(0.0))
    for r in rows[::3]:
        pT = sde.marginal(data, r.T)
        assert r.J_aff == pytest.approx(k0 - _kl_quad(pT, g_at(r.T)), rel=1e-6, abs=1e-9)


def test_prior_kl_derivative_is_minus_half_g2_relative_fisher():
    sde, data = _vp(), _two_modes()
    T, h = 0.3, 1e-5
    kp = [per_t_quantities(sde, data, t).kl_prior for t in (T - h, T + h)]
    q = per_t_quantities(sde, data, T)
    assert (kp[1] - kp[0]) / (2 * h) == pytest.approx(
        -0.5 * float(sde.g2(T)) * q.rel_fisher_prior, rel=1e-6
    )
    # and the per-t affine gap never exceeds it (the prior score -x is affine)
    assert q.delta <= q.rel_fisher_prior


def test_shared_capacity_score_term_is_at_least_the_per_t_one():
    """The time-shared family is a subset of the per-t affine family, so its J is larger."""
    rows = bound_along_T(_vp(), _two_modes(), np.linspace(0.0, 1.0, 9), 6)
    for r in rows:
        assert r.J_sh >= r.J_aff - 1e-12
    assert rows[-1].J_sh > rows[-1].J_aff


def test_shared_v_minimises_the_shared_score_term():
    """J(v, T) at the fitted v is below J at perturbed v (direct quadrature over t)."""
    sde, data = _vp(), _two_modes()
    T = 0.4
    row = bound_along_T(sde, data, [0.0, T], 12)[0]
    xq, wq = np.polynomial.legendre.leggauss(12)
    ts, ws = 0.5 * T * (xq + 1.0), 0.5 * T * wq

    def J(v):
        tot = 0.0
        for t, w in zip(ts, ws, strict=True):
            p = sde.marginal(data, t)
            m, _ = moments_1d(p)
            err = expect_1d(p, lambda x, p=p, m=m: (p.score(x)[:, 0] + (x[:, 0] - m) / v) ** 2)
            tot += 0.5 * float(sde.g2(t)) * w * err
        return tot

    assert J(row.v_sh) == pytest.approx(row.J_sh, rel=1e-9)
    assert J(row.v_sh) < min(J(row.v_sh * 1.05), J(row.v_sh / 1.05))


def test_bound_along_T_rejects_bad_grids():
    with pytest.raises(ValueError, match="increasing"):
        bound_along_T(_vp(), _two_modes(), [0.1, 0.5])


def test_gaussian_bakry_emery_is_equality_for_a_mean_offset():
    sde = _vp()
    data = Gaussian(np.array([1.5, -0.5]), 1.0)
    pi = Gaussian(np.zeros(2), 1.0)
    for T in (0.2, 0.7):
        assert kl(sde.marginal(data, T), pi) == pytest.approx(
            np.exp(-sde.B(T)) * kl(data, pi), rel=1e-12
        )


def test_coupled_be_slack_kl_interval_contains_the_gaussian_truth():
    sde = _vp()
    data = GaussianMixture([1.0], np.array([[1.0, -0.5]]), np.array([0.5]))
    rows = coupled_be_slack(sde, data, [0.1, 0.3], 20_000, np.random.default_rng(0))
    for row in rows:
        exact = kl(Gaussian(data.means[0], 0.5).noised(*_alpha_s2(sde, row[0])), sde.prior(2))
        se = (row[3] - row[2]) / (2 * 1.959964)
        assert abs(row[1] - exact) <= 4.5 * se  # 95% CI half-width -> 4.5-sigma check
        assert row[4] > 0 and row[6] > 0  # the slack is positive (strict for a non-Gaussian)


def _alpha_s2(sde, t):
    return float(sde.alpha(t)), float(sde.sigma2(t))


# ---------------------------------------------------------------------- decide (hand-made)
def _row(T, kl_prior, J_aff, J_sh, delta=0.1, rel_fisher=0.2, g2=1.0):
    return BoundRow(T, kl_prior, 0.0, J_aff, J_sh, 1.0, delta, rel_fisher, g2)


def test_decide_shared_holds_with_an_interior_optimum_and_fails_at_the_edge():
    inner = H.BoundResult([_row(0.1, 1.0, 0, 0.0), _row(0.5, 0.3, 0, 0.1), _row(1.0, 0.1, 0, 0.6)])
    assert H.decide_shared(inner).verdict == "holds"
    edge = H.BoundResult([_row(0.1, 1.0, 0, 0.0), _row(0.5, 0.5, 0, 0.1), _row(1.0, 0.1, 0, 0.2)])
    assert H.decide_shared(edge).verdict == "fails"
    shrinking = H.BoundResult(
        [_row(0.1, 1.0, 0, 0.2), _row(0.5, 0.3, 0, 0.1), _row(1.0, 0.1, 0, 0.6)]
    )
    assert H.decide_shared(shrinking).verdict == "fails"  # J must not decrease


def test_decide_pf_on_both_sides_of_the_tolerance():
    good = H.PfResult([["g", 1e-9, 0.0, [0.0], [1.0], [1.0]]], [])
    bad = H.PfResult([["g", 1e-5, 0.0, [0.0], [1.0], [1.0]]], [])
    assert H.decide_pf(good).verdict == "holds"
    assert H.decide_pf(bad).verdict == "fails"


def test_decide_prior_monotone_uses_the_slack_intervals():
    def res(lo, mono=-1e-3, ratio=0.99):
        mc = [[0.1, 0.5, 0.4, 0.6, lo, lo + 0.1, lo, lo + 0.1, 0.7]]
        return H.PriorMonotoneResult(np.zeros(2), np.zeros(2), np.zeros(2), mono, ratio, mc, 10, [])

    assert H.decide_prior_monotone(res(0.01)).verdict == "holds"
    assert H.decide_prior_monotone(res(-0.2)).verdict == "fails"
    assert H.decide_prior_monotone(res(-0.05)).verdict == "inconclusive"
    assert H.decide_prior_monotone(res(0.01, mono=1e-6)).verdict == "fails"
    assert H.decide_prior_monotone(res(0.01, ratio=1.01)).verdict == "fails"


# ------------------------------------------------------------------------------ claims
@pytest.mark.slow
@pytest.mark.parametrize("claim", H.CLAIMS, ids=lambda c: c.id)
def test_claims_quick_verdicts(claim, tmp_path):
    expected = "fails" if claim.id == "horizon.interior-optimum-per-t-affine" else "holds"
    ctx = RunContext("quick", seed=0, figure_dir=tmp_path, stream=io.StringIO())
    res = run_claim(claim, ctx)
    assert res["verdict"] == expected, res["reason"]
    assert res["figures"]
