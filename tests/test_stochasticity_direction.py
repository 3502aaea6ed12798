"""verify.theory.error_direction: the log-SNR-clock closed forms against the exact law (moment
ODE of verify.solvers.chain_laws), the criteria against exact finite differences, the
schedules and the large-gamma limit (independent routes throughout)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic import OU, VE, VP, Gaussian, GaussianMixture, SubVP, kl
from verify.errors import Offset, Scale
from verify.solvers.chain_laws import exact_law
from verify.theory.error_direction import (
    SCHEDULES,
    Clock,
    criteria,
    criteria_margins,
    equilibrium_kl,
    exact_final_kls,
    final_kl,
    limit_kl,
    log_snr_gain,
    offset_J,
    scale_threshold_limit,
    scale_threshold_small,
    schedule_final_kl,
    schedule_gamma,
)

SDES = [OU(2.0), VP(0.1, 20.0, 1.0), VE(0.01, 5.0), SubVP(0.1, 20.0, 1.0)]


def _exact(sde, s0, kind, size, gamma):
    data = Gaussian(np.array([1.0]), s0**2)
    err = Offset(sde.score(data), size) if kind == "offset" else Scale(sde.score(data), size)
    init = sde.marginal(data, sde.T)
    law = exact_law(sde, data, init, (sde.T, 0.0), gamma=gamma, method=None, score_error=err)
    return kl(law, data)


@pytest.mark.parametrize("sde", SDES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("kind, sizes", [("offset", [0.5]), ("scale", [0.7, 1.4])])
def test_final_kl_closed_form_matches_the_moment_ode(sde, kind, sizes):
    s0s = [0.4, 1.7]
    for gamma in (0.0, 2.5):
        K = exact_final_kls(sde, s0s, kind, sizes, gamma)
        for i, s0 in enumerate(s0s):
            for j, size in enumerate(sizes):
                assert final_kl(sde, s0, kind, size, gamma) == pytest.approx(K[i, j], rel=1e-8)


def test_exact_final_kls_batches_directions():
    sde = OU(1.3)
    s0s, sizes = [0.5, 2.0], [0.3, 1.1]
    K = exact_final_kls(sde, s0s, "offset", sizes, 0.8)
    assert K[1, 0] == pytest.approx(_exact(sde, 2.0, "offset", 0.3, 0.8), rel=1e-9)
    assert K[0, 1] == pytest.approx(_exact(sde, 0.5, "offset", 1.1, 0.8), rel=1e-9)


@pytest.mark.parametrize("kind, size", [("offset", 0.5), ("scale", 0.8), ("scale", 1.5)])
def test_large_gamma_limit_is_the_equilibrium_of_the_approximate_score(kind, size):
    sde = OU(2.0)
    for s0 in (0.5, 2.0):
        ref = limit_kl(s0, kind, size)
        far = final_kl(sde, s0, kind, size, np.array([1e4, 1e6]))
        assert abs(far[1] - ref) < abs(far[0] - ref) and far[1] == pytest.approx(ref, rel=1e-4)
        mix = GaussianMixture([1.0], [[1.0]], [s0**2])
        assert equilibrium_kl(mix, kind, size) == pytest.approx(ref, rel=1e-9)


def test_offset_J_closed_forms():
    ve = VE(0.01, 10.0)
    s0 = 1.5
    assert offset_J(ve, s0) == pytest.approx(np.sqrt(s0**2 + ve.sigma2(1.0)) - s0, rel=1e-10)
    for sde in (OU(2.0), VP(0.1, 20.0, 1.0)):  # variance preserving: alpha^2 = 1/(1 + sbar2)
        sb2 = sde.sigma2(sde.T) / sde.alpha(sde.T) ** 2
        ref = np.log((np.sqrt(1 + sb2) + np.sqrt(s0**2 + sb2)) / (1 + s0))
        assert offset_J(sde, s0) == pytest.approx(ref, rel=1e-10)
    # z_0 = c J: the ODE's normalised mean error
    sde = OU(2.0)
    assert final_kl(sde, s0, "offset", 0.3, 0.0) == pytest.approx(
        0.5 * (0.3 * offset_J(sde, s0)) ** 2
    )


@settings(max_examples=25, deadline=None)
@given(
    k=st.floats(0.2, 5.0).filter(lambda k: abs(k - 1) > 0.05),
    ell=st.floats(0.05, 6.0),
)
def test_scale_thresholds(k, ell):
    l_star, l0 = scale_threshold_limit(k), scale_threshold_small(k)
    assert l0 > l_star > 0
    a = 1 - k
    assert (1 - np.exp(-a * l0)) / a == pytest.approx(k * l0, rel=1e-9)
    # the limit criterion compares the gamma = 0 and gamma -> inf variance ratios
    r0, rinf = np.exp(a * ell), 1 / k
    h = lambda r: r - 1 - np.log(r)  # noqa: E731
    if abs(ell - l_star) > 1e-6:
        assert (h(rinf) < h(r0)) == (ell > l_star)


@pytest.mark.parametrize("sde", SDES[:3], ids=lambda s: type(s).__name__)
def test_criteria_predict_the_exact_direction(sde):
    """Signs from the exact law: the gamma -> inf equilibrium against gamma = 0, and a 1e-3
    finite difference at gamma = 0."""
    checked = 0
    s0s = [0.3, 0.8, 2.5]
    for kind, sizes in (("offset", [0.5]), ("scale", [0.6, 1.6])):
        K0 = exact_final_kls(sde, s0s, kind, sizes, 0.0)
        Kd = exact_final_kls(sde, s0s, kind, sizes, 1e-3)
        for (i, s0), (j, size) in ((a, b) for a in enumerate(s0s) for b in enumerate(sizes)):
            c = criteria(sde, s0, kind, size)
            k0, kd = K0[i, j], Kd[i, j]
            if abs(c["limit_margin"]) > 1e-6:
                assert c["limit_helps"] == (limit_kl(s0, kind, size) < k0)
                checked += 1
            if abs(c["small_margin"]) > 1e-6 and abs(kd - k0) > 1e-8 * k0:
                assert c["small_helps"] == (kd < k0)
                checked += 1
    assert checked >= 12


def test_criteria_margins_vectorise_criteria():
    sde = OU(1.3)
    s0s = np.array([0.3, 1.0, 2.0])
    for kind, size in (("offset", 0.5), ("scale", 0.8)):
        lim, small = criteria_margins(sde, s0s, kind, size)
        for i, s0 in enumerate(s0s):
            c = criteria(sde, s0, kind, size)
            assert lim[i] == pytest.approx(c["limit_margin"], abs=1e-12)
            assert small[i] == pytest.approx(c["small_margin"], abs=1e-12)
    assert log_snr_gain(OU(2.0), 1.0) == pytest.approx(4.0, rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError):
        final_kl(OU(1.0), -1.0, "offset", 0.5, 1.0)
    with pytest.raises(ValueError):
        final_kl(OU(1.0), 1.0, "rotation", 0.5, 1.0)
    with pytest.raises(ValueError):
        final_kl(OU(1.0), 1.0, "scale", 0.0, 1.0)
    with pytest.raises(ValueError):
        final_kl(OU(1.0), 1.0, "scale", 0.5, -1.0)
    with pytest.raises(ValueError):
        scale_threshold_small(1.0)


@pytest.mark.parametrize("kind, size", [("offset", 0.5), ("scale", 0.8)])
@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_quadrature_matches_the_exact_law_with_a_callable_gamma(kind, size, name):
    sde, s0 = OU(2.0), 0.7
    gam = schedule_gamma(sde, name, 2.0)
    data = Gaussian(np.array([1.0]), s0**2)
    err = Offset(sde.score(data), size) if kind == "offset" else Scale(sde.score(data), size)
    law = exact_law(
        sde, data, sde.marginal(data, 2.0), (2.0, 0.0), gamma=gam, method=None, score_error=err
    )
    assert schedule_final_kl(sde, s0, kind, size, gam) == pytest.approx(kl(law, data), rel=1e-7)


def test_start_error_depends_only_on_the_clock_budget():
    sde = VE(0.01, 10.0)
    clock = Clock(sde, 0.8)
    vals = [clock.final_kl("start", 1.0, clock.gamma_for_budget(n, 1.5)) for n in SCHEDULES]
    np.testing.assert_allclose(vals, 0.5 * np.exp(-1.5), rtol=1e-9)
    # against the exact law: exact score, start shifted by one standard deviation of p_T
    data = Gaussian(np.array([1.0]), 0.64)
    pT = sde.marginal(data, sde.T)
    init = Gaussian(pT.mean + np.sqrt(pT.cov[0, 0]), pT.cov)
    gam = schedule_gamma(sde, "late", 3.0)
    law = exact_law(sde, data, init, (sde.T, 0.0), gamma=gam, method=None)
    assert schedule_final_kl(sde, 0.8, "start", 1.0, gam) == pytest.approx(kl(law, data), rel=1e-6)


def test_variance_start_error_decays_by_the_clock_in_r_not_in_kl():
    """A 2x variance start: the moment ODE's KL is h((r_0 - 1) e^{-B})/2, below KL_0 e^{-B}."""
    sde = OU(2.0)
    clock = Clock(sde, 0.8)
    data = Gaussian(np.array([1.0]), 0.64)
    pT = sde.marginal(data, sde.T)
    init = Gaussian(pT.mean, 2.0 * pT.cov)
    gam = schedule_gamma(sde, "early", 2.5)
    law = exact_law(sde, data, init, (sde.T, 0.0), gamma=gam, method=None)
    got = schedule_final_kl(sde, 0.8, "start-var", 2.0, gam)
    assert got == pytest.approx(kl(law, data), rel=1e-6)
    B = float(np.log(law.cov[0, 0] / 0.64 - 1.0) * -1.0)  # r - 1 = e^{-B} since r_0 - 1 = 1
    assert got < 0.5 * (1.0 - np.log(2.0)) * np.exp(-B) * 0.9
    vals = [clock.final_kl("start-var", 2.0, clock.gamma_for_budget(n, 1.5)) for n in SCHEDULES]
    np.testing.assert_allclose(vals, 0.5 * (np.exp(-1.5) - np.log1p(np.exp(-1.5))), rtol=1e-9)


def test_bump_rule_for_a_scale_error_switches_at_l_star():
    clock = Clock(OU(2.0), 1.0)
    k = 0.8
    ls = scale_threshold_limit(k)
    dk_lo, helps_lo = clock.bump("scale", k, ls - 0.5)
    dk_hi, helps_hi = clock.bump("scale", k, ls + 0.5)
    assert not helps_lo and dk_lo > 0
    assert helps_hi and dk_hi < 0
