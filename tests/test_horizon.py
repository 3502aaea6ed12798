"""Tests of the horizon.* claims' numerics (paper 4, notes §4)."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import VP, Gaussian, GaussianMixture, kl
from verify.claims import horizon as H
from verify.claims.base import RunContext


def _kl_quad(p, q):
    return H._expect(p, lambda x: p.log_prob(x) - q.log_prob(x))


def test_quadrature_kl_matches_closed_form_for_a_gaussian():
    p = GaussianMixture([1.0], np.array([[0.7]]), np.array([0.3]))
    q = Gaussian(np.array([0.0]), 1.0)
    assert _kl_quad(p, q) == pytest.approx(kl(Gaussian([0.7], 0.3), q), rel=1e-12)


def test_quadrature_converges_for_the_mixture():
    sde, data = H._vp(), H._data_1d()
    fine = H._per_t_quantities(sde, data, 0.05)
    coarse = H._per_t_quantities(sde, data, 0.05, H._N_COARSE)
    for key in ("delta", "fisher", "kl_prior"):
        assert fine[key] == pytest.approx(coarse[key], rel=1e-9)


def test_per_t_affine_score_term_identity():
    """J(T) = KL(p_0||g_0) - KL(p_T||g_T), g the moment-matched Gaussian (independent route)."""
    sde, data, rows = H._horizon_tables(10, 8)

    def g_at(t):
        m, v = H._t_moments(sde.marginal(data, t) if t > 0 else data)
        return Gaussian([m], v)

    k0 = _kl_quad(data, g_at(0.0))
    for r in rows[::3]:
        pT = sde.marginal(data, r["T"])
        assert r["J_aff"] == pytest.approx(k0 - _kl_quad(pT, g_at(r["T"])), rel=1e-6, abs=1e-9)


def test_prior_kl_derivative_is_minus_half_g2_relative_fisher():
    sde, data = H._vp(), H._data_1d()
    T, h = 0.3, 1e-5
    kp = [H._per_t_quantities(sde, data, t)["kl_prior"] for t in (T - h, T + h)]
    q = H._per_t_quantities(sde, data, T)
    assert (kp[1] - kp[0]) / (2 * h) == pytest.approx(
        -0.5 * float(sde.g2(T)) * q["rel_fisher_prior"], rel=1e-6
    )
    # and the per-t affine gap never exceeds it (the prior score -x is affine)
    assert q["delta"] <= q["rel_fisher_prior"]


def test_shared_capacity_score_term_is_at_least_the_per_t_one():
    """The time-shared family is a subset of the per-t affine family, so its J is larger."""
    _, _, rows = H._horizon_tables(8, 6)
    for r in rows:
        assert r["J_sh"] >= r["J_aff"] - 1e-12
    assert rows[-1]["J_sh"] > rows[-1]["J_aff"]


def test_gaussian_bakry_emery_is_equality_for_a_mean_offset():
    sde = VP(0.1, 20.0, 1.0)
    data = Gaussian(np.array([1.5, -0.5]), 1.0)
    pi = Gaussian(np.zeros(2), 1.0)
    for T in (0.2, 0.7):
        assert kl(sde.marginal(data, T), pi) == pytest.approx(
            np.exp(-sde.B(T)) * kl(data, pi), rel=1e-12
        )


@pytest.mark.slow
@pytest.mark.parametrize("claim", H.CLAIMS, ids=lambda c: c.id)
def test_claims_quick_verdicts(claim, tmp_path):
    expected = "fails" if claim.id == "horizon.interior-optimum-per-t-affine" else "holds"
    res = claim.run(
        RunContext("quick", seed=0, figure_dir=tmp_path, stream=None).for_claim(claim.id)
    )
    assert res.verdict == expected, res.reason
    assert res.figures
