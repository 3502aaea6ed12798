"""Forward SDEs: symbolic derivations, closed forms, mpmath, inverses, domain checks."""

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytic import EDM, OU, VE, VP, LinearSDE, SubVP
from analytic.symbolic import fokker_planck_residual, preset_residuals, score_residual
from verify.kit.strategies import sdes

PRESETS = [OU(T=2.0), VP(), SubVP(), VE(), VE(0.002, 80.0), EDM(80.0)]


def test_preset_derivations_equal_published_closed_forms_symbolically():
    for name, (da, ds) in preset_residuals().items():
        assert da == 0, name
        assert ds == 0, name


def test_mixture_marginal_solves_fokker_planck_for_any_linear_sde():
    assert fokker_planck_residual(2) == 0


def test_mixture_score_formula_is_derivative_of_log_density():
    assert score_residual(3) == 0


@pytest.mark.parametrize("sde", PRESETS, ids=repr)
def test_numeric_closed_forms_match_mpmath_at_50_digits(sde):
    ts = np.linspace(0.0, sde.T, 9)[1:]
    for t in ts:
        with mpmath.workdps(50):
            a = sde.alpha_mp(float(t))
            s2 = sde.sigma2_mp(float(t))
            assert abs(float(sde.alpha(t)) - a) <= 1e-14 * abs(a)
            assert abs(float(sde.sigma2(t)) - s2) <= 1e-13 * abs(s2)


@pytest.mark.parametrize("sde", PRESETS, ids=repr)
def test_generic_sympy_route_matches_preset_closed_form(sde):
    generic = LinearSDE(sde.f_expr, g2=sde.g2_expr, T=sde.T)
    assert generic.method in ("closed form", "quadrature")
    ts = np.linspace(0.0, sde.T, 7)[1:]
    np.testing.assert_allclose(generic.alpha(ts), sde.alpha(ts), rtol=1e-10)
    np.testing.assert_allclose(generic.sigma2(ts), sde.sigma2(ts), rtol=1e-9)


def test_quadrature_fallback_is_reported_and_accurate():
    sde = LinearSDE("-t", "exp(t**3)", T=1.0)
    assert sde.method == "quadrature" and "quadrature" in repr(sde)
    with mpmath.workdps(30):
        ref = sde.sigma2_mp(0.8, dps=30)
    assert abs(float(sde.sigma2(0.8)) - ref) < 1e-10 * ref


@pytest.mark.parametrize("sde", PRESETS + [LinearSDE("-1 - t", "sqrt(1 + t)", T=1.5)], ids=repr)
def test_moment_odes_hold(sde):
    """d alpha/dt = f alpha and d sigma2/dt = 2 f sigma2 + g2 (central differences)."""
    for t in np.linspace(0.1, 0.9, 5) * sde.T:
        h = 1e-5 * sde.T
        da = (sde.alpha(t + h) - sde.alpha(t - h)) / (2 * h)
        ds = (sde.sigma2(t + h) - sde.sigma2(t - h)) / (2 * h)
        np.testing.assert_allclose(da, sde.f(t) * sde.alpha(t), rtol=1e-6)
        np.testing.assert_allclose(ds, 2 * sde.f(t) * sde.sigma2(t) + sde.g2(t), rtol=1e-6)


@given(sdes(), st.floats(0.01, 0.99), st.floats(0.0, 1.0))
def test_transition_composes(sde, tf, sf):
    t = tf * sde.T
    s = sf * t
    a, v = sde.transition(s, t)
    np.testing.assert_allclose(a * sde.alpha(s), sde.alpha(t), rtol=1e-12)
    np.testing.assert_allclose(a * a * sde.sigma2(s) + v, sde.sigma2(t), rtol=1e-10)


@given(sdes(), st.floats(0.001, 1.0))
def test_t_of_sigma_inverts_sigma(sde, frac):
    t = frac * sde.T
    np.testing.assert_allclose(sde.t_of_sigma(sde.sigma(t)), t, rtol=1e-9)


def test_ve_with_huge_sigma_max_does_not_overflow():
    sde = VE(1e-3, 1e150)
    assert np.isfinite(sde.sigma2(1.0)) and np.isfinite(sde.g2(1.0))
    np.testing.assert_allclose(sde.sigma2(1.0), 1e300 - 1e-6, rtol=1e-12)
    assert sde.sigma2(1e-12) > 0


def test_small_times_keep_relative_accuracy():
    for sde in [VP(), OU(), VE(), SubVP()]:
        t = 1e-10
        with mpmath.workdps(50):
            ref = sde.sigma2_mp(t)
        assert abs(float(sde.sigma2(t)) - ref) < 1e-12 * ref


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan, np.inf])
def test_time_outside_domain_raises(bad):
    with pytest.raises(ValueError, match="t"):
        VP().sigma2(bad)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="sigma_min"):
        VE(10.0, 1.0)
    with pytest.raises(ValueError, match="beta"):
        VP(5.0, 1.0)
    with pytest.raises(ValueError, match="g"):
        LinearSDE("-1")
    with pytest.raises(ValueError, match="free symbols"):
        LinearSDE("-a", "1")
    with pytest.raises(ValueError, match="T"):
        OU(T=-1.0)


def test_marginal_at_zero_is_data_and_prior_shapes():
    from analytic import Gaussian

    p0 = Gaussian([1.0, 2.0], [1.0, 3.0])
    assert VP().marginal(p0, 0.0) is p0
    assert VE(0.01, 50).prior(3).dim == 3
    np.testing.assert_allclose(VE(0.01, 50).prior(1).cov, [[50**2 - 0.01**2]], rtol=1e-12)


def test_special_functions_in_derived_forms_evaluate_numerically():
    """sigma2 of dX = -t X dt + dW involves erfi: lambdify must know scipy.special."""
    sde = LinearSDE("-t", "1")
    assert sde.method == "closed form"
    np.testing.assert_allclose(sde.sigma2(1.0), float(sde.sigma2_mp(1.0, dps=30)), rtol=1e-13)
