"""Tightness measured where a bound carries information (issue 22, "Tightness where a bound is
informative"): a planted half-rate LSI bound is loose, the theorem's rate bound is attained at
its equality case, degenerate corners are excluded and reported, and the mixture LSI bounds
are compared with a lower bound on C_LSI from test functions (which can refute them)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from verify.claims.tightness._common import OUTSIDE, TightnessResult, decide_bound
from verify.tightness import search
from verify.tightness.bounds import (
    LSI_MIN_DECAY,
    get_bound,
    lsi_decay_time_bound,
    lsi_rate_kl,
    mixture_constant,
)
from verify.tightness.gaussian import continuous_kl_mp, lsi_rate_exponents, lsi_rate_exponents_mp
from verify.tightness.lsi_lower import lsi_lower_bound, lsi_lower_bound_mp
from verify.tightness.runner import run_bound

# the corner where the old search bottomed out: an exponent of about 6e-8
CORNER = dict(sde="VE", lam_max=1.0, aniso=0.5, T=0.1, t_frac=0.95, gamma=0.1, delta=1.0,
              theta=0.3, ratio=2.0, beta_max=20.0, sigma_max=1.0)  # fmt: skip


def _cols(s):
    return {k: np.array([v], dtype=object if isinstance(v, str) else float) for k, v in s.items()}


def _as_result(key, res, attained):
    return TightnessResult(
        key=key, attained=attained, verdict=res.verdict, worst_ratio=res.worst_ratio,
        setting=res.setting, bound_value=res.bound_value, truth_value=res.truth_value,
        best_constant=res.best_constant, theorem_constant=res.theorem_constant,
        evaluations=res.evaluations, skipped=res.skipped, refuted=res.refuted, rtol=res.rtol,
        trace=[], certificate=None, worst_check=None, influence={},
    )  # fmt: skip


def test_lsi_exponents_agree_with_mpmath_kl_at_the_degenerate_corner():
    # E_truth = ln(KL_T / KL_t) from continuous_kl_mp itself at 60 digits (independent of the
    # log1p / expm1 route), E_LSI = gamma ln((lam_max + sbar2(T)) / (lam_max + sbar2(t)))
    b = get_bound("lsi-rate")
    cols = _cols(CORNER)
    E_truth = 1.0 / b.truth(**cols)[0]
    E_bound = 1.0 / b.bound(**cols)[0]
    assert 0 < E_bound < 2e-6  # the corner really is degenerate
    lam = [1.0, 0.5]
    d = [math.cos(0.3), math.sin(0.3)]
    kw = dict(sde="VE", T=0.1, delta=d, ratio=[2.0, 2.0], sigma_max=1.0)
    with mpmath.workdps(60):
        H_t = continuous_kl_mp(lam, 0.1, t=0.095, **kw)
        H_T = continuous_kl_mp(lam, 0.1, t=0.1, **kw)
        ref = mpmath.log(H_T / H_t)
        ref_b = lsi_rate_exponents_mp(lam, 0.1, t=0.095, **kw)[1]
    assert E_truth == pytest.approx(float(ref), rel=1e-11)
    assert E_bound == pytest.approx(float(ref_b), rel=1e-11)
    # and the corner is outside the domain: the truth has barely moved
    assert not b.domain(**cols)[0]


def test_in_kl_form_a_half_rate_bound_looked_attained_at_the_corner():
    # what was wrong: KL_T e^{-E/2} / KL_t is 1 + O(1e-8) at the corner, for any rate
    truth, bound = lsi_rate_kl(**_cols(CORNER))
    lam, kw = np.array([[1.0, 0.5]]), dict(T=0.1, t=0.095, sigma_max=1.0)
    d = np.array([[math.cos(0.3), math.sin(0.3)]])
    E = lsi_rate_exponents(lam, 0.1, sde="VE", delta=d, ratio=2.0, **kw)[1]
    half = bound * np.exp(E / 2)  # the bound with half the rate
    assert abs(half[0] / truth[0] - 1) < 2e-6


@pytest.mark.parametrize("rate, worst", [(1.0, 1.0), (0.5, 2.0)])
def test_half_rate_lsi_bound_is_loose_and_the_theorem_attained(rate, worst):
    b = get_bound("lsi-rate")
    res = search(lsi_decay_time_bound(rate), b.truth, b.space, budget=b.budget("quick"), rng=0,
                 constant=1.0, rtol=b.rtol, domain=b.domain)  # fmt: skip
    assert res.verdict == "holds"
    assert res.worst_ratio == pytest.approx(worst, rel=1e-6)  # best rate factor: worst ratio
    assert res.skipped[OUTSIDE] > 0  # degenerate settings were visited and excluded
    d = decide_bound(_as_result("lsi-rate", res, attained=True))
    assert d.verdict == ("holds" if rate == 1.0 else "fails")
    assert f"best rate factor {res.worst_ratio:.6g}" in d.reason or d.verdict == "fails"
    # the worst setting is informative: the truth fell to at most half its start
    s = res.setting
    E_truth = 1.0 / b.truth(**_cols(s))[0]
    assert E_truth >= LSI_MIN_DECAY
    # it is the derivation's equality case: an offset along a top eigendirection
    assert min(abs(s["theta"]), abs(s["theta"] - math.pi / 2)) < 1e-3 or s["aniso"] > 0.999
    assert s["ratio"] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("key", ["lsi-rate", "ode-w2"])
def test_attained_bounds_are_attained_inside_their_domain(key):
    # tightness.table lists a bound as attained from these searches: their worst settings must
    # be informative ones (inside the domain), not degenerate corners
    b = get_bound(key)
    r = run_bound(key, "quick", 0, grid_n=0)
    assert r.verdict == "holds"
    assert abs(r.worst_ratio - 1) <= 1e-3
    assert r.skipped.get(OUTSIDE, 0) > 0
    assert bool(b.domain(**_cols(r.setting))[0])


def test_ode_w2_ratio_skips_the_first_order_nodes():
    # near tau = 0 both sides are int g^2/2 |e| to first order whatever the rate: with a rate
    # Lam/2 planted, the all-node minimum stays near 1, the informative-node one does not
    from verify.tightness import theory_bounds as tb

    s = dict(sde="VE", T=2.0, lam1=0.03, aniso=1.0, offset=0.0, phi=0.0, scale=1.3,
             beta_max=30.0, sigma_max=50.0)  # fmt: skip
    p = tb._ode_parts(_cols(s))
    args = ("VE", p["T"], p["lam"], p["offset"], p["scale"])
    t, B, W = tb.gronwall_w2(*args, nodes=True, sigma_max=p["sigma_max"])
    assert np.nanmin(B[0, 1:] / W[0, 1:]) == pytest.approx(1.0, abs=2e-4)  # equality case
    Bi, Wi = tb.gronwall_w2(*args, l_min=math.log(2.0), sigma_max=p["sigma_max"])
    assert Bi[0] / Wi[0] == pytest.approx(1.0, abs=2e-4)


def test_lsi_lower_bound_is_exact_for_a_gaussian_and_above_poincare_when_unbalanced():
    # Gaussian: exponentials are extremal, C_LSI = s^2
    assert lsi_lower_bound(0.3, 0.0, 1.7) == pytest.approx(1.7**2, rel=1e-8)
    # unbalanced, separated: C_LSI well above the Poincare constant (Chafai-Malrieu)
    low, cp = lsi_lower_bound(0.05, 2.0, 1.0), mixture_constant(0.05, 2.0, 1.0)
    assert low > 1.5 * cp
    # the certificate's twin integrates the same test function by mpmath.quad
    with mpmath.workdps(30):
        assert float(lsi_lower_bound_mp(0.05, 2.0, 1.0)) == pytest.approx(low, rel=1e-10)


def test_a_too_small_mixture_constant_is_refuted_by_test_functions():
    # planted: 1.05 x the Poincare constant, above C_P everywhere, so the old Poincare truth
    # could never refute it; the test-function lower bound on C_LSI does
    b = get_bound("mixture-lsi-ccnw")

    def planted(w, rho, s):
        return 1.05 * mixture_constant(w, rho, s, n=200)

    def poincare(w, rho, s):
        return mixture_constant(w, rho, s, n=200)

    old = search(planted, poincare, b.space, budget=16, rng=0, rtol=1e-8, max_certify=2)
    assert old.verdict == "holds" and old.worst_ratio == pytest.approx(1.05, rel=1e-9)
    new = search(planted, b.truth, b.space, budget=16, rng=0, truth_mp=b.truth_mp, rtol=1e-8,
                 max_certify=2)  # fmt: skip
    assert new.verdict == "fails"
    assert new.certificate is not None and new.certificate.confirmed
    assert new.worst_ratio < 0.8
