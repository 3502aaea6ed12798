"""Tests of verify.theory.elbo and the horizon.* claims (paper 4, arXiv 2206.05173)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from analytic import VE, VP, Gaussian, GaussianMixture, kl
from verify.claims import horizon as H
from verify.claims.base import RunContext, run_claim
from verify.errors import Offset, Scale
from verify.theory.elbo import (
    N_COARSE,
    BoundRow,
    aux_models_1d,
    bound_along_T,
    coupled_be_slack,
    expect_1d,
    gaussian_elbo,
    kl_1d,
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


def test_prior_variance_of_the_ve_prior():
    """KL(p_T || N(0, sigma^2(T))) for a one-component 'mixture' is the Gaussian closed form."""
    ve = VE(0.01, 10.0, 1.0)
    p0 = GaussianMixture([1.0], np.array([[0.7]]), np.array([0.3]))
    q = per_t_quantities(ve, p0, 0.8, prior_var=ve.sigma2)
    pT = Gaussian([0.7], 0.3 + float(ve.sigma2(0.8)))
    assert q.kl_prior == pytest.approx(kl(pT, Gaussian([0.0], float(ve.sigma2(0.8)))), rel=1e-10)
    with pytest.raises(ValueError, match="prior variance"):
        per_t_quantities(ve, p0, 0.8, prior_var=-1.0)


def test_gaussian_moment_matched_auxiliary_makes_the_per_t_bound_constant():
    """B(T) = KL(p_T||g_T) + J_aff(T) = KL(p_0||g_0) for the exact moment-matched Gaussian g_T
    (docs/claims/horizon.md#auxiliary-model): with a per-t score family this bound is flat, so
    the former claim's auxiliary optimum at the grid's first point was by construction."""
    sde, data = _vp(), _two_modes()
    rows = bound_along_T(sde, data, np.linspace(0.0, 1.0, 11), 8)

    def g_at(t):
        m, v = moments_1d(sde.marginal(data, t) if t > 0 else data)
        return Gaussian([m], v)

    k0 = kl_1d(data, g_at(0.0))
    for r in rows:
        B = kl_1d(sde.marginal(data, r.T), g_at(r.T)) + r.J_aff
        assert B == pytest.approx(k0, rel=1e-6)


def test_aux_models_are_maximum_likelihood_fits():
    p = _two_modes()
    x = p.sample(20_000, np.random.default_rng(3))
    m = aux_models_1d(x, np.random.default_rng(4))
    assert m["gaussian"].mean[0] == pytest.approx(x.mean(), rel=1e-12)
    assert kl_1d(p, m["gmm2"]) < 2e-3 < kl_1d(p, m["gaussian"])  # K = 2 is well specified
    assert kl_1d(p, p) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_elbo_terms():
    sde = _vp()
    data = Gaussian([1.0, -0.5], [[1.0, 0.6], [0.6, 0.8]])
    prior = Gaussian(np.zeros(2), 1.0)
    exact = gaussian_elbo(sde, data, prior, 0.5, None, with_ode=False)
    assert exact.J == 0.0 and np.isnan(exact.kl_ode)
    assert 0 < exact.kl_sde <= exact.kl_prior  # data processing
    c = 0.2
    off = gaussian_elbo(sde, data, prior, 0.5, Offset(sde.score(data), c))
    assert off.J == pytest.approx(0.5 * 2 * c * c * float(sde.B(0.5) - sde.B(1e-3)), rel=1e-9)
    assert off.kl_sde <= off.bound
    sc = gaussian_elbo(sde, data, prior, 0.5, Scale(sde.score(data), 0.9))
    assert sc.kl_sde <= sc.bound and sc.J > 0


# ---------------------------------------------------------------------- decide (hand-made)
def _row(T, kl_prior, J_aff, J_sh, delta=0.1, rel_fisher=0.2, g2=1.0):
    return BoundRow(T, kl_prior, 0.0, J_aff, J_sh, 1.0, delta, rel_fisher, g2)


def _bound(rows, name="two-mode GMM"):
    return H.BoundResult({name: rows})


def test_decide_shared_holds_with_an_interior_optimum_and_fails_at_the_edge():
    inner = [_row(0.1, 1.0, 0, 0.0), _row(0.5, 0.3, 0, 0.1), _row(1.0, 0.1, 0, 0.6)]
    assert H.decide_shared(_bound(inner)).verdict == "holds"
    edge = [_row(0.1, 1.0, 0, 0.0), _row(0.5, 0.5, 0, 0.1), _row(1.0, 0.1, 0, 0.2)]
    assert H.decide_shared(_bound(edge)).verdict == "fails"
    shrinking = [_row(0.1, 1.0, 0, 0.2), _row(0.5, 0.3, 0, 0.1), _row(1.0, 0.1, 0, 0.6)]
    assert H.decide_shared(_bound(shrinking)).verdict == "fails"  # J must not decrease


def test_decide_monotone_on_both_sides():
    down = [_row(0.1, 1.0, 0.0, 0), _row(0.5, 0.6, 0.1, 0), _row(1.0, 0.4, 0.15, 0)]
    assert H.decide_monotone(_bound(down)).verdict == "holds"
    up = [_row(0.1, 1.0, 0.0, 0), _row(0.5, 0.6, 0.1, 0), _row(1.0, 0.4, 0.5, 0)]
    assert H.decide_monotone(_bound(up)).verdict == "fails"  # B rises: an interior optimum
    bad_slope = [_row(0.1, 1.0, 0.0, 0, delta=0.3), _row(0.5, 0.6, 0.1, 0)]
    assert H.decide_monotone(_bound(bad_slope)).verdict == "fails"  # B' > 0 somewhere


def test_decide_monotone_checks_the_slope_identity():
    down = [_row(0.1, 1.0, 0.0, 0), _row(0.5, 0.6, 0.1, 0), _row(1.0, 0.4, 0.15, 0)]
    ok = H.BoundResult({"two-mode GMM": down}, {"two-mode GMM": [[0.2, -3.0, -3.0 + 1e-7]]})
    assert H.decide_monotone(ok).verdict == "holds"
    bad = H.BoundResult({"two-mode GMM": down}, {"two-mode GMM": [[0.2, -3.0, -3.1]]})
    assert H.decide_monotone(bad).verdict == "fails"


def test_slope_identity_rows_agree_on_both_mixtures():
    for data in (H._data_1d(), H._data_skewed()):
        for _, fd, ident in H.slope_identity_rows(_vp(), data):
            assert fd == pytest.approx(ident, rel=H.FD_RTOL)


@pytest.mark.parametrize("kind", ["vp", "ve"])
def test_shared_capacity_optimum_fails_with_the_exact_or_a_per_t_score(kind):
    """The interior optimum is not by construction: on the same rows it disappears with the
    exact score (J = 0: B = KL(p_T||pi) falls to T_max) and with the per-t affine family
    (which contains the prior's score), and the claim then fails."""
    from dataclasses import replace

    Ts = np.linspace(0.0, 1.0, 21)
    if kind == "vp":
        rows = bound_along_T(_vp(), _two_modes(), Ts, 4)
    else:
        ve = VE(0.01, 10.0, 1.0)
        rows = bound_along_T(ve, _two_modes(), Ts, 4, prior_var=ve.sigma2)
    assert H.decide_shared(_bound(rows)).verdict == "holds"
    exact = [replace(r, J_sh=0.0) for r in rows]
    assert H.decide_shared(_bound(exact)).verdict == "fails"
    per_t = [replace(r, J_sh=r.J_aff) for r in rows]
    assert H.decide_shared(_bound(per_t)).verdict == "fails"


def test_decide_elbo_on_both_sides():
    ok = [["VP", 1.0, "offset", 0.1, 0.2, 0.3, 0.1, 0.5, 0.1 / 0.3]]
    assert H.decide_elbo(H.ElboResult(ok)).verdict == "holds"  # the ODE may exceed it
    bad = [["VP", 1.0, "offset", 0.1, 0.2, 0.3, 0.31, np.nan, 0.31 / 0.3]]
    assert H.decide_elbo(H.ElboResult(bad)).verdict == "fails"


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


# ------------------------------------------- auxiliary model with an approximate score
def test_int_g2_closed_form_matches_the_score_error_integral():
    """J(T) = d eps^2/2 int g^2 (closed form) against the quadrature of E|s~ - grad log p_t|^2."""
    from verify.theory.start_laws import score_error_integral

    for sde in (_vp(), VE(0.01, 10.0, 1.0)):
        eps, T = 0.05, 0.6
        J = H.aux_bound(sde, H.AUX_DATA, T, eps, "prior")[1]
        grid = np.geomspace(T, H.AUX_TMIN, 33)
        ref = score_error_integral(sde, H.AUX_DATA, grid, Offset(sde.score(H.AUX_DATA), eps))
        assert J == pytest.approx(ref, rel=1e-9)


def test_isotropic_fit_is_the_m_projection():
    """KL(p || N(0, I)) = KL(p || fit) + KL(fit || N(0, I)) (Pythagoras for the M-projection on
    the isotropic family), and a perturbed isotropic Gaussian is further from p."""
    p = _vp().marginal(H.AUX_DATA, 0.3)
    fit = H.isotropic_fit(p)
    pi = Gaussian(np.zeros(4), 1.0)
    assert kl(p, pi) == pytest.approx(kl(p, fit) + kl(fit, pi), rel=1e-12)
    v = float(fit.cov[0, 0])
    for m, var in ((fit.mean + 0.01, v), (fit.mean, 1.02 * v), (fit.mean, 0.98 * v)):
        assert kl(p, Gaussian(m, var)) > kl(p, fit)
    assert kl(p, fit) > 0.05  # misspecified: the data covariance is anisotropic


def test_ode_kl_with_the_exact_score_is_the_start_kl():
    """KL is invariant under the flow: with the exact score the PF-ODE's KL equals the start's
    (the identity the former auxiliary-likelihood claim checked)."""
    sde, T = _vp(), 0.4
    for start in ("prior", "auxiliary"):
        st = H.aux_start(sde, H.AUX_DATA, T, start)
        want = kl(sde.marginal(H.AUX_DATA, T), st)
        assert H.ode_kl(sde, H.AUX_DATA, T, 0.0, start) == pytest.approx(want, rel=1e-6)


def test_optimum_along_T_refines_a_bracketed_minimum_and_flags_the_edge():
    o = H.optimum_along_T(lambda t: (np.log(t) - np.log(0.3)) ** 2, np.geomspace(0.01, 1, 9))
    assert o[3] and o[0] == pytest.approx(0.3, rel=1e-6)
    edge = H.optimum_along_T(lambda t: 1.0 / t, np.geomspace(0.01, 1, 9))
    assert not edge[3] and edge[0] == 1.0


@pytest.mark.parametrize("sde", ["VP", "VE"])
def test_aux_bound_tradeoff_fails_when_the_bug_is_planted(sde):
    """Holds with the approximate score; fails with the exact score (optimum at the grid's
    edge, T -> T_max) and with the prior in the auxiliary model's place (no gain)."""
    r = H.aux_tradeoff("bound", (sde,), 40)
    assert H.decide_aux_tradeoff(r).verdict == "holds"
    p, a = r.optima[sde]["prior"], r.optima[sde]["auxiliary"]
    assert a[0] < p[0] and a[1] < p[1]
    exact = H.aux_tradeoff("bound", (sde,), 40, eps=0.0)
    assert H.decide_aux_tradeoff(exact).verdict == "fails"
    assert not exact.optima[sde]["prior"][3] and exact.optima[sde]["prior"][0] == 1.0
    same = H.aux_tradeoff("bound", (sde,), 40, starts=("prior", "prior-as-aux"))
    assert H.decide_aux_tradeoff(same).verdict == "fails"


def test_aux_bound_optimum_solves_the_first_order_condition():
    """At T*, d/dT KL(p_T || start) = -J'(T) = -d eps^2/2 g(T)^2 (central differences)."""
    sde = _vp()
    r = H.aux_tradeoff("bound", ("VP",), 40)
    for start in ("prior", "auxiliary"):
        T = r.optima["VP"][start][0]
        h = 1e-5
        k = [H.aux_bound(sde, H.AUX_DATA, t, 0.0, start)[0] for t in (T - h, T + h)]
        dk = (k[1] - k[0]) / (2 * h)
        assert dk == pytest.approx(-0.5 * 4 * H.AUX_EPS**2 * float(sde.g2(T)), rel=1e-4)


def test_aux_likelihood_tradeoff_fails_with_the_exact_score():
    """With the exact score the PF-ODE's KL falls all the way to T_max: the optimum is at the
    grid's edge and the claim fails (grid only, no refinement: fast)."""
    r = H.aux_tradeoff("ode-kl", ("VP",), 6, eps=0.0)
    assert H.decide_aux_tradeoff(r).verdict == "fails"
    assert all(not o[3] and o[0] == 1.0 for o in r.optima["VP"].values())


@pytest.mark.slow
def test_aux_likelihood_tradeoff_on_both_sides():
    r = H.aux_tradeoff("ode-kl", ("VP",), 8)
    assert H.decide_aux_tradeoff(r).verdict == "holds"
    same = H.aux_tradeoff("ode-kl", ("VP",), 8, starts=("prior", "prior-as-aux"))
    assert H.decide_aux_tradeoff(same).verdict == "fails"


def test_aux_rejects_bad_input():
    with pytest.raises(ValueError, match="start law"):
        H.aux_start(_vp(), H.AUX_DATA, 0.5, "nu")
    with pytest.raises(ValueError, match="what must be"):
        H.aux_tradeoff("elbo", ("VP",), 8)


# ------------------------------------------------------------------------------ claims
_EXPECTED = {c.id: "holds" for c in H.CLAIMS}


@pytest.mark.slow
@pytest.mark.parametrize("claim", H.CLAIMS, ids=lambda c: c.id)
def test_claims_quick_verdicts(claim, tmp_path):
    ctx = RunContext("quick", seed=0, figure_dir=tmp_path, stream=io.StringIO())
    res = run_claim(claim, ctx)
    assert res["verdict"] == _EXPECTED[claim.id], res["reason"]
    assert res["figures"]
