"""Hardening of ``analytic`` (issue 12): safe expressions, validated SDEs, time limits,
log-space KL, clear errors. Expected values come from closed forms or mpmath, never from the
code under test."""

import math
import os

import mpmath
import numpy as np
import pytest
import sympy as sp

from analytic import (
    EDM,
    OU,
    VE,
    VP,
    Covariance,
    Gaussian,
    GaussianMixture,
    LinearSDE,
    SubVP,
    kl,
    kl_mp,
)
from analytic.expression import MAX_DEPTH, parse_expression, t_sym

MARKER_ENV = "DV_HOSTILE_MARKER"


def _hostile(marker):
    """``(string, offending token)``: each string has a side effect if Python evaluated it."""
    m = repr(str(marker))
    return [
        (f"__import__('os').system('touch {marker}')", "__import__"),
        (f"__import__('os').environ.__setitem__('{MARKER_ENV}', '1')", "__import__"),
        (f"open({m}, 'w')", "open"),
        (f"exec(\"open({m}, 'w')\")", "exec"),
        (f"eval(\"open({m}, 'w')\")", "eval"),
        (f"compile('open({m})', 'x', 'eval')", "compile"),
        (f"(lambda: open({m}, 'w'))()", "lambda"),
        (f"[open({m}, 'w') for _ in 'a']", "["),
        (f"getattr(__builtins__, 'open')({m}, 'w')", "getattr"),
        ("().__class__.__bases__[0].__subclasses__()", "."),
        ("t.__class__", "."),
        ("exp.__globals__", "."),
        (f"f\"{{open({m}, 'w')}}\"", '"'),
        (f"(x := open({m}, 'w'))", ":"),
        (f"t; open({m}, 'w')", ";"),
        (f"t\nopen({m}, 'w')", "newline"),
        ("import os", "import"),
        ("os.system('echo hi')", "os"),
        ("Symbol('x')", "Symbol"),
        ("x + t", "x"),
        ("t if 1 else t", "if"),
        ("t[0]", "["),
        ("exp(x=t)", "x"),
        ("exp(t, t)", ","),
        ("'t'", "'"),
        ("t @ t", "@"),
        ("~t", "~"),
        ("t == t", "="),
        ("t < 1", "<"),
        ("not t", "not"),
        ("1j", "1j"),
        ("0x10", "0x10"),
        ("2t", "2t"),
        ("exp", "exp"),
        ("t(1)", "t"),
        ("__builtins__", "__builtins__"),
        ("9**9**9**9", "**"),
        ("1e999999999", "1e999999999"),
        ("(" * (MAX_DEPTH + 5) + "t" + ")" * (MAX_DEPTH + 5), "nested"),
        ("t+" * 600 + "t", "longer than"),
        ("", "empty"),
        ("nan", "nan"),
        ("oo", "oo"),
        ("zoo", "zoo"),
        ("I", "I"),
    ]


@pytest.mark.parametrize("where", ["f", "g", "g2"])
def test_hostile_strings_raise_naming_token_and_argument_without_side_effects(
    tmp_path, monkeypatch, where
):
    marker = tmp_path / "executed"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(MARKER_ENV, raising=False)

    def never(*a, **k):  # user strings must never reach sympy's Python-evaluating parsers
        raise AssertionError("sympify/parse_expr called on a user string")

    monkeypatch.setattr(sp, "sympify", never)
    monkeypatch.setattr("sympy.parsing.sympy_parser.parse_expr", never)
    for text, token in _hostile(marker):
        kwargs = {"f": "-1", "g": None, "g2": None}
        kwargs[where] = text
        if where == "f":
            kwargs["g"] = "1"
        with pytest.raises(ValueError) as err:
            LinearSDE(kwargs["f"], kwargs["g"], g2=kwargs["g2"])
        msg = str(err.value)
        assert msg.startswith(f"{where}:"), (text, msg)
        assert token in msg, (text, token, msg)
    assert not marker.exists()
    assert MARKER_ENV not in os.environ


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "-0.5*(0.1 + 19.9*t)",
            -sp.Rational(1, 2) * (sp.Rational(1, 10) + sp.Rational(199, 10) * t_sym),
        ),
        ("-t**2", -(t_sym**2)),
        ("2**-1", sp.Rational(1, 2)),
        ("2^3^2", sp.Integer(512)),
        ("2**3**2", sp.Integer(512)),
        ("--t", t_sym),
        ("+t", t_sym),
        ("1e-3 * t", t_sym / 1000),
        (".5 + 2. + 3E2", sp.Rational(605, 2)),
        ("exp(-t)*sin(pi*t) + e - E", sp.exp(-t_sym) * sp.sin(sp.pi * t_sym)),
        ("abs(t - 1) / sqrt(2)", sp.Abs(t_sym - 1) / sp.sqrt(2)),
        ("erf(t) + erfc(t)", sp.erf(t_sym) + sp.erfc(t_sym)),
        ("log(1 + t) - atan(t)", sp.log(1 + t_sym) - sp.atan(t_sym)),
        ("t / 2 / 2", t_sym / 4),
        ("t - 1 - 1", t_sym - 2),
    ],
)
def test_grammar_builds_the_intended_expression(text, expected):
    assert sp.simplify(parse_expression(text, "f") - expected) == 0


def test_sympy_expressions_and_numbers_still_work():
    t = sp.Symbol("t")  # no assumptions: identified with the parser's t
    sde = LinearSDE(-1 + 0 * t, g2=2 * sp.exp(0 * t))
    np.testing.assert_allclose(sde.sigma2(0.5), -math.expm1(-1.0), rtol=1e-14)
    sde = LinearSDE(-1, g2=2.0)
    np.testing.assert_allclose(sde.alpha(0.5), math.exp(-0.5), rtol=1e-14)
    with pytest.raises(ValueError, match="free symbols"):
        LinearSDE(sp.Symbol("a") * t, "1")
    with pytest.raises(ValueError, match="undefined functions"):
        LinearSDE(sp.Function("h")(t), "1")
    evil = type("__import__('os').system('true')", (sp.Function,), {})
    with pytest.raises(ValueError, match="not from sympy"):
        LinearSDE(evil(t), "1")
    with pytest.raises(TypeError, match="f"):
        LinearSDE(True, "1")
    with pytest.raises(TypeError, match="complex"):
        LinearSDE(1j, "1")
    with pytest.raises(TypeError, match="g"):
        LinearSDE("-1", [1.0])


# ----------------------------------------------------------------- SDE validation
@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("-1",), {"g2": "-1"}, r"g\^2 = -1 is negative at t = 0"),
        (("-1",), {"g2": "t - 0.5"}, "negative at t = 0"),
        (("1/t", "1"), {}, r"f = 1/t is not finite at t = 0"),
        (("-1", "sqrt(t - 0.5)"), {}, "g = .* is complex at t = 0"),
        (("sqrt(-1)", "1"), {}, "complex"),
        (("log(-1)", "1"), {}, "complex"),
        (("asin(2)", "1"), {}, "complex at t = 0"),
        (("-1", "sqrt(t - 0.5)"), {"T": 0.4}, "complex"),
        (("1/(t - 1/3)", "1"), {}, "integral of f does not converge near t = 0.333"),
        (("tan(2*t)", "1"), {}, "integral of f does not converge near t = 0.785"),
        (("-1",), {"g2": "1/abs(t - 1/3)"}, "integral of g2 does not converge near t = 0.333"),
        (("-1000", "1"), {}, "alpha.* underflows"),
        (("1000", "1"), {}, "alpha.* overflows"),
        (("-1",), {"g2": "0"}, "no noise"),
        (("-1",), {"g2": "1e300*exp(1000*t)"}, "not finite"),
        (("-1", "1"), {"T": float("nan")}, "T"),
        (("-1", "1"), {"T": -1.0}, "T"),
    ],
)
def test_invalid_sdes_raise_naming_the_argument(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinearSDE(*args, **kwargs)


def _sigma2_reference(A, t, dps=30):
    """``int_0^t exp(2 (A(t) - A(u))) du`` for ``g2 = 1`` from a hand-integrated ``A``."""
    with mpmath.workdps(dps):
        tt = mpmath.mpf(t)
        return mpmath.quad(lambda u: mpmath.exp(2 * (A(tt) - A(u))), [0, tt])


def test_sqrt_drift_falls_back_to_quadrature_and_is_accurate():
    """sympy gives exp_polar for f = -sqrt(t) (a NameError before the fix)."""
    sde = LinearSDE("-sqrt(t)", "1", timeout=2.0)
    A = lambda u: -mpmath.mpf(2) / 3 * u**1.5  # int_0^u -sqrt
    for t in (0.05, 0.5, 1.0):
        ref = _sigma2_reference(A, t)
        assert abs(float(sde.sigma2(t)) - ref) <= 1e-12 * ref
        assert abs(float(sde.alpha(t)) - mpmath.exp(A(mpmath.mpf(t)))) <= 1e-13
    assert sde.method == "quadrature" and "quadrature" in repr(sde)


def test_hanging_derivation_is_cut_by_the_time_limit():
    """sympy runs for minutes on f = -log(1 + t); the worker is killed after ``timeout``."""
    sde = LinearSDE("-log(1 + t)", "1", timeout=1.0)  # without the limit this test hangs
    got = float(sde.sigma2(0.5))
    assert sde.method == "quadrature"
    A = lambda u: -((1 + u) * mpmath.log1p(u) - u)  # int_0^u -log(1 + s) ds
    ref = _sigma2_reference(A, 0.5)
    assert abs(got - ref) <= 1e-12 * ref
    with mpmath.workdps(30):  # the mpmath quadrature branch agrees with the hand formula
        assert abs(sde.sigma2_mp(0.5, dps=30) - ref) <= mpmath.mpf(10) ** -25 * ref
        assert abs(sde.alpha_mp(0.5, dps=30) - mpmath.exp(A(mpmath.mpf(0.5)))) < 1e-25


def test_mpmath_quadrature_branch_matches_the_ou_closed_form():
    """Force the quadrature branch (no symbolic result): sigma2_mp = 1 - e^{-2t} to 25 digits."""
    sde = LinearSDE("-1", "sqrt(2)", T=2.0)
    sde.__dict__["_derived"] = (None, "forced for the test")
    assert sde.method == "quadrature"
    with mpmath.workdps(30):
        for t in (0.3, 1.0, 1.7):
            ref = -mpmath.expm1(-2 * mpmath.mpf(t))
            assert abs(sde.sigma2_mp(t, dps=30) - ref) < mpmath.mpf(10) ** -25
            assert abs(sde.alpha_mp(t, dps=30) - mpmath.exp(-mpmath.mpf(t))) < 1e-25
            assert abs(float(sde.sigma2(t)) - float(ref)) <= 1e-14 * float(ref)


def test_quadrature_on_arrays_matches_closed_form():
    sde = LinearSDE("-(1 + t)/2", g2="1 + t", T=2.0, timeout=0)  # timeout=0: no sympy at all
    assert sde.method == "quadrature"
    ts = np.linspace(0.0, 2.0, 400)
    a, s2 = sde.alpha(ts), sde.sigma2(ts)
    B = ts + ts**2 / 2  # int (1 + u) du: VP-like with beta = 1 + t, so sigma2 = 1 - e^{-B}
    np.testing.assert_allclose(a, np.exp(-B / 2), rtol=1e-13)
    np.testing.assert_allclose(s2[1:], -np.expm1(-B[1:]), rtol=1e-12)
    assert s2[0] == 0.0


def test_closed_form_keeps_relative_accuracy_at_small_times():
    sde = LinearSDE("-1", "sqrt(2)")
    assert sde.method == "closed form"
    for t in (1e-12, 1e-8, 1e-4):
        assert abs(float(sde.sigma2(t)) + math.expm1(-2 * t)) <= 1e-13 * -math.expm1(-2 * t)


def test_kinked_coefficients_are_integrated_accurately():
    sde = LinearSDE("-abs(t - 0.3)", "1", timeout=0.5)
    sde.__dict__["_derived"] = (None, "forced")

    def A(u):
        u = mpmath.mpf(u)
        c = mpmath.mpf("0.3")
        return -(c**2 - (c - u) ** 2) / 2 if u <= c else -(c**2 + (u - c) ** 2) / 2

    for t in (0.2, 0.8):
        with mpmath.workdps(30):
            tt = mpmath.mpf(t)
            pts = [0, mpmath.mpf("0.3"), tt] if t > 0.3 else [0, tt]
            At = A(tt)
            ref = mpmath.quad(lambda u, At=At: mpmath.exp(2 * (At - A(u))), pts)
        assert abs(float(sde.sigma2(t)) - ref) <= 1e-11 * ref


# ----------------------------------------------------------------------- presets
@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: VE(1e-300, 1e300), ValueError, "sigma_min"),
        (lambda: VE(0.01, 1e200), ValueError, "sigma_max"),
        (lambda: VE(0.01, 50.0, T=300.0), ValueError, "sigma_max or T"),
        (lambda: VP(0.1, 1e300), ValueError, "beta_max"),
        (lambda: VP(0.1, 20.0, T=1e3), ValueError, "beta_max or T"),
        (lambda: SubVP(0.1, 1e308, T=10.0), ValueError, "beta_max or T"),
        (lambda: OU(T=1000.0), ValueError, "alpha.*underflows; reduce T"),
        (lambda: EDM(0.0), ValueError, "positive"),
        (lambda: EDM(-1.0), ValueError, "positive"),
        (lambda: EDM(1e200), ValueError, "sigma_max"),
        (lambda: VP("0.1", 20.0), TypeError, "beta_min"),
        (lambda: VE(0.01, 1j), TypeError, "sigma_max"),
        (lambda: OU(T=True), TypeError, "T"),
        (lambda: EDM(None), TypeError, "sigma_max"),
        (lambda: VP(float("nan"), 20.0), ValueError, "beta_min"),
    ],
)
def test_preset_parameters_that_overflow_raise(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_extreme_but_valid_presets_stay_finite():
    sde = VE(1e-3, 1e150)
    assert np.isfinite(sde.sigma(1.0)) and sde.sigma2(1e-12) > 0
    sde = OU(T=300.0)
    np.testing.assert_allclose(sde.sigma(300.0), math.sqrt(math.expm1(600.0)), rtol=1e-13)


def test_priors_are_the_published_reference_laws():
    """VP, sub-VP and OU start from N(0, I) (Song et al. 2021); VE/EDM from N(0, sigma2(T))."""
    for sde in (VP(), SubVP(), OU(T=3.0), VP(0.5, 5.0)):
        np.testing.assert_array_equal(sde.prior(3).cov, np.eye(3))
        np.testing.assert_array_equal(sde.prior(3).mean, np.zeros(3))
    np.testing.assert_allclose(VE(0.01, 50.0).prior(2).cov, (2500 - 1e-4) * np.eye(2), rtol=1e-14)
    np.testing.assert_allclose(EDM(80.0).prior(1).cov, [[6400.0]], rtol=1e-15)
    generic = LinearSDE("-1", "sqrt(2)", T=2.0)
    np.testing.assert_allclose(generic.prior(1).cov, [[-math.expm1(-4.0)]], rtol=1e-13)
    for bad in (0, -1, 2.5, True):
        with pytest.raises((TypeError, ValueError), match="dim"):
            VP().prior(bad)


# ------------------------------------------------------------------ t_of_sigma
ALL_SDES = [
    OU(T=2.0),
    VP(),
    VP(0.0, 20.0),
    SubVP(),
    VE(0.01, 50.0),
    EDM(80.0),
    LinearSDE("-1", "sqrt(2)", T=2.0),
]


@pytest.mark.parametrize("sde", ALL_SDES, ids=repr)
def test_t_of_sigma_of_zero_is_zero_and_inverts_sigma(sde):
    assert sde.t_of_sigma(0.0) == 0.0
    np.testing.assert_array_equal(sde.t_of_sigma(np.zeros(3)), np.zeros(3))
    ts = np.array([0.01, 0.3, 0.9]) * sde.T
    np.testing.assert_allclose(sde.t_of_sigma(sde.sigma(ts)), ts, rtol=1e-9)


def test_t_of_sigma_accepts_the_nominal_sigma_max_of_ve():
    sde = VE(0.01, 50.0)
    assert float(sde.sigma(1.0)) == pytest.approx(math.sqrt(2500 - 1e-4), rel=1e-15)
    assert sde.t_of_sigma(50.0) == 1.0
    assert sde.t_of_sigma(float(sde.sigma(1.0))) == 1.0
    with pytest.raises(ValueError, match="sigma"):
        sde.t_of_sigma(50.0 * (1 + 1e-5))


def test_generic_t_of_sigma_matches_the_ou_inverse():
    sde = LinearSDE("-1", "sqrt(2)", T=2.0)
    s = np.array([1e-6, 0.1, 1.0, 5.0])
    np.testing.assert_allclose(sde.t_of_sigma(s), 0.5 * np.log1p(s * s), rtol=1e-12)


# ---------------------------------------------------------- marginal and score
def test_score_accepts_one_time_per_row_and_marginal_rejects_arrays():
    sde = OU(T=2.0)
    p0 = Gaussian([1.0, -2.0], 0.5)
    x = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0], [0.5, 0.5]])
    t = np.array([0.1, 1.5, 0.1, 2.0])
    a = np.exp(-t)[:, None]
    var = a * a * 0.5 + (-np.expm1(-2 * t))[:, None]
    expected = (a * np.array([1.0, -2.0]) - x) / var
    np.testing.assert_allclose(sde.score(p0)(x, t), expected, rtol=1e-13)
    with pytest.raises(ValueError, match="one time t"):
        sde.marginal(p0, t)
    with pytest.raises(ValueError, match="one time per row"):
        sde.score(p0)(x, t[:3])
    with pytest.raises(ValueError, match="t must lie"):
        sde.score(p0)(x, t + 5)
    with pytest.raises(TypeError, match="p0"):
        sde.marginal("data", 0.5)
    with pytest.raises(TypeError, match="t"):
        sde.marginal(p0, "0.5")


# ------------------------------------------------------------------------- KL
def _kl_var_ref(vp, vq, dps=60):
    """Per-coordinate KL of N(0, vp) from N(0, vq) from the exact binary floats."""
    with mpmath.workdps(dps):
        lam = mpmath.mpf(vp) / mpmath.mpf(vq)
        return (lam - 1 - mpmath.log(lam)) / 2


@pytest.mark.parametrize(
    "vp, vq", [(1e-150, 1e150), (1e150, 1e-150), (1e-300, 1.0), (1e200, 1e199)]
)
def test_kl_with_extreme_variance_ratios_is_finite_and_exact(vp, vq):
    ref = _kl_var_ref(vp, vq)
    for cov_p, cov_q in (
        (vp, vq),
        (np.array([vp, vp]), np.array([vq, vq])),
        (vp * np.eye(2), vq * np.eye(2)),
    ):
        d = 2
        p, q = Gaussian(np.zeros(d), cov_p), Gaussian(np.zeros(d), cov_q)
        got = kl(p, q)
        assert abs(got - 2 * ref) <= 1e-13 * 2 * ref, (cov_p, got, float(2 * ref))
        with mpmath.workdps(60):
            assert abs(kl_mp(p, q) - 2 * ref) <= mpmath.mpf(10) ** -40 * ref


def _kl_eig_ref(Sp, Sq, dps=60):
    """sum_i (lambda_i - 1 - log lambda_i) / 2 over the eigenvalues of L_q^{-1} S_p L_q^{-T},
    from the exact float matrices in mpmath (an independent route)."""
    with mpmath.workdps(dps):
        L = mpmath.cholesky(mpmath.matrix(Sq.tolist()))
        Li = mpmath.inverse(L)
        B = Li * mpmath.matrix(Sp.tolist()) * Li.T
        ev = mpmath.eigsy((B + B.T) / 2, eigvals_only=True)
        return mpmath.fsum(e - 1 - mpmath.log(e) for e in ev) / 2


def test_kl_full_covariances_with_extreme_scales_use_log_space():
    """1 + u underflows (u = -1 in float64): the whitened log-space formula must take over."""
    S0 = np.array([[2.0, 0.5], [0.5, 1.0]])
    S1 = np.array([[1.0, 0.2], [0.2, 3.0]])
    for sp_, sq in ((1e-150 * S0, 1e150 * S1), (1e150 * S0, 1e140 * S1)):
        p, q = Gaussian(np.zeros(2), sp_), Gaussian(np.zeros(2), sq)
        ref = _kl_eig_ref(sp_, sq)
        assert abs(kl(p, q) - ref) <= 1e-13 * ref
        with mpmath.workdps(60):
            assert abs(kl_mp(p, q) - ref) <= mpmath.mpf(10) ** -40 * ref


def test_kl_full_covariance_mixing_small_and_near_one_eigenvalues():
    th = 0.3
    R = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1.0]])
    S = (R * np.array([1e-5, 1 + 1e-9, 4.0])) @ R.T
    S = 0.5 * (S + S.T)
    p, q = Gaussian(np.zeros(3), S), Gaussian(np.zeros(3), 1.0)
    ref = _kl_eig_ref(S, np.eye(3))
    assert abs(kl(p, q) - ref) <= 1e-9 * ref


def test_kl_mp_rejects_singular_laws_like_kl_and_overflow_raises():
    p, q = Gaussian([0.0, 0.0], [1.0, 0.0]), Gaussian([0.0, 0.0], 1.0)
    for fn in (kl, kl_mp):
        with pytest.raises(ValueError, match="singular"):
            fn(p, q)
        with pytest.raises(ValueError, match="singular"):
            fn(q, p)
    with pytest.raises(ValueError, match="overflows"):
        kl(Gaussian([0.0], 1e300), Gaussian([0.0], 1e-300))
    with pytest.raises(ValueError, match="overflows"):
        kl(Gaussian([1e300], 1.0), Gaussian([-1e300], 1e-10))


def test_kl_mc_checks_dimensions_before_shapes():
    from verify.estimators import kl_mc

    with pytest.raises(ValueError, match="dimensions"):
        kl_mc(Gaussian(np.zeros(2), 1.0), Gaussian(np.zeros(3), 1.0), 100, np.random.default_rng(0))


# ------------------------------------------------------------- families: errors
BAD = [
    (lambda: Gaussian([0, 0], None), TypeError, "cov is missing"),
    (lambda: Gaussian([], 1.0), ValueError, "empty"),
    (lambda: Gaussian([1j, 0], 1.0), TypeError, "mean .*complex"),
    (lambda: Gaussian(["a"], 1.0), TypeError, "mean"),
    (lambda: Gaussian([True, False], 1.0), TypeError, "mean .*bool"),
    (lambda: Gaussian([0.0], object()), TypeError, "cov"),
    (lambda: Gaussian([[0.0, 1.0], [1.0]], 1.0), ValueError, "mean"),
    (lambda: Gaussian([0.0], "1.0"), TypeError, "cov"),
    (lambda: Gaussian([0.0], 1.0).sample(-1, np.random.default_rng(0)), ValueError, "n must"),
    (lambda: Gaussian([0.0], 1.0).sample(2.7, np.random.default_rng(0)), ValueError, "n must"),
    (lambda: Gaussian([0.0], 1.0).sample(True, np.random.default_rng(0)), TypeError, "bool"),
    (lambda: Gaussian([0.0], 1.0).sample("3", np.random.default_rng(0)), TypeError, "n must"),
    (lambda: Gaussian([0.0], 1.0).log_prob("x"), TypeError, "x"),
    (lambda: Gaussian([0.0], 1e-300).score([1e20]), ValueError, "score overflows"),
    (lambda: Covariance(1.0, 0), TypeError, "dim"),
    (lambda: Covariance(1.0, True), TypeError, "dim"),
    (lambda: Covariance(np.array([1 + 1j]), 1), TypeError, "cov"),
    (lambda: Covariance(np.array([[1.0, 0.0], [0.0, np.inf]]), 2), ValueError, "NaN or inf"),
    (lambda: GaussianMixture([], np.zeros((0, 1)), []), ValueError, "weights is empty"),
    (lambda: GaussianMixture([1.0], np.zeros((1, 0)), [1.0]), ValueError, "means"),
    (lambda: GaussianMixture([1.0], [[0.0]], [1.0], normalize="yes"), TypeError, "normalize"),
    (lambda: GaussianMixture([True], [[0.0]], [1.0]), TypeError, "weights"),
    (lambda: GaussianMixture([1.0], [[0.0]], [1j]), TypeError, "covs"),
    (lambda: GaussianMixture([1.0], [[0.0]], None), TypeError, "covs"),
    (
        lambda: GaussianMixture([1.0], [[0.0]], [1.0]).sample(-3, np.random.default_rng()),
        ValueError,
        "n",
    ),
    (
        lambda: GaussianMixture([0.0, 0.0], [[0.0], [1.0]], [1.0, 1.0], normalize=True),
        ValueError,
        "sum to 0",
    ),
    (lambda: Gaussian([0.0], 1.0).noised(np.nan, 1.0), ValueError, "alpha"),
    (lambda: Gaussian([0.0], 1.0).noised(1.0, -1.0), ValueError, "sigma2"),
]


@pytest.mark.parametrize("make, exc, match", BAD, ids=[m for *_, m in BAD])
def test_bad_family_input_raises_naming_it(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_integral_sample_sizes_are_accepted():
    rng = np.random.default_rng(0)
    assert Gaussian([0.0], 1.0).sample(np.int64(3), rng).shape == (3, 1)
    assert Gaussian([0.0], 1.0).sample(4.0, rng).shape == (4, 1)
    assert Gaussian([0.0, 1.0], 1.0).sample(0, rng).shape == (0, 2)


def test_huge_normalize_weights_do_not_overflow():
    p = GaussianMixture([1e308, 1e308], [[0.0], [1.0]], [1.0, 1.0], normalize=True)
    np.testing.assert_array_equal(p.weights, [0.5, 0.5])


def test_far_points_give_minus_inf_log_density_never_nan():
    """log_prob = -inf only where the exact value is below -1.8e308 (documented)."""
    g = Gaussian([0.0], 1e-300)
    assert g.log_prob([1e200])[0] == -np.inf
    m = GaussianMixture([0.5, 0.5], [[0.0], [1.0]], [1.0, 2.0])
    lp = m.log_prob(np.array([[1e200], [-1e160], [3.0]]))
    assert lp[0] == -np.inf and lp[1] == -np.inf and np.isfinite(lp[2])
    with pytest.raises(ValueError, match="too far"):
        m.score([1e200])


def _mp_mixture_score(w, mus, var, x, dps=40):
    """mpmath reference: isotropic components N(mu_k, var I)."""
    with mpmath.workdps(dps):
        x = [mpmath.mpf(v) for v in x]
        logits = [
            mpmath.log(wk)
            - mpmath.fsum((xi - mi) ** 2 for xi, mi in zip(x, mu, strict=True)) / (2 * var)
            for wk, mu in zip(w, mus, strict=True)
        ]
        top = max(logits)
        e = [mpmath.exp(li - top) for li in logits]
        z = mpmath.fsum(e)
        return [
            float(mpmath.fsum(ek / z * (mu[j] - x[j]) / var for ek, mu in zip(e, mus, strict=True)))
            for j in range(len(x))
        ]


@pytest.mark.parametrize("kind", ["iso", "diag", "full"])
def test_score_far_from_every_mode_uses_the_per_point_shift(kind, monkeypatch):
    """The shared shift underflows (|x - mu|^2 / 2s ~ 8e4): the _RESHIFT_BELOW branch must
    recompute those points itself (the slow per-component route is disabled here)."""
    w, mus, var = [0.3, 0.7], [[-1.0, 0.0], [1.0, 0.0]], 0.01
    covs = {
        "iso": [var, var],
        "diag": np.full((2, 2), var),
        "full": np.stack([var * np.eye(2)] * 2),
    }
    m = GaussianMixture(w, mus, covs[kind])

    def forbidden(*a, **k):
        raise AssertionError("fell through to the robust route")

    monkeypatch.setattr(GaussianMixture, "_robust_score", forbidden)
    xs = np.array([[0.001, 40.0], [-0.002, -35.0], [0.5, 0.1]])
    got = m.score(xs)
    for x, g in zip(xs, got, strict=True):
        np.testing.assert_allclose(g, _mp_mixture_score(w, mus, var, x), rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------- parser limits, exactly
def _parse_error(text):
    with pytest.raises(ValueError) as err:
        parse_expression(text, "f")
    return str(err.value)


def test_number_limits():
    assert parse_expression("1e-400", "f") == sp.Rational(1, 10**400)
    assert "out of range" in _parse_error("1e-401")
    assert "out of range" in _parse_error("1e-999999999")  # no 10**999999999 is ever built
    assert "overflows float64" in _parse_error("1e309")
    assert "malformed number '1.2.'" in _parse_error("1.2.3")
    assert "malformed number '2t'" in _parse_error("2t")


def test_power_limits():
    assert parse_expression("0**0", "f") == 1
    assert "zero to a negative power" in _parse_error("0**-1")
    assert parse_expression("100**199", "f") == sp.Integer(100) ** 199
    assert "out of range" in _parse_error("100**201")  # 1e402
    assert "out of range" in _parse_error("t**1025")
    assert parse_expression("t**1024", "f") == t_sym**1024
    assert (3**883).bit_length() == 1400 and (3**884).bit_length() == 1402
    assert parse_expression("(3*t)**883", "f") == 3**883 * t_sym**883
    assert "expanded power is out of range" in _parse_error("(3*t)**884")
    assert "expanded power is out of range" in _parse_error("((2*t)**700)**2")


def test_nesting_limit_is_exact_and_siblings_do_not_accumulate():
    deep = "(" * MAX_DEPTH + "t" + ")" * MAX_DEPTH
    assert parse_expression(deep, "f") == t_sym
    assert "nested deeper" in _parse_error("(" + deep + ")")
    for piece in ("(t)", "-t", "exp(t)", "2**t", "+t"):
        text = " + ".join([piece] * (MAX_DEPTH + 10))
        assert parse_expression(text, "f") != 0, piece


def test_unclosed_brackets_say_what_was_found():
    assert "expected ')' but found 'the end'" in _parse_error("(t")
    assert "expected ')' but found 'the end'" in _parse_error("exp(t")
    assert "expected ')' but found 't'" in _parse_error("(t t)")
    assert "takes one argument; expected ')' but found 't'" in _parse_error("exp(t t)")
    assert "unexpected token ')'" in _parse_error("exp(t))")


def test_parse_and_convert_type_errors():
    with pytest.raises(TypeError, match="string"):
        parse_expression(3, "f")
    with pytest.raises(ValueError, match="f = nan is not finite"):
        LinearSDE(float("nan"), "1")
    with pytest.raises(ValueError, match="dummy symbols"):
        LinearSDE(sp.Dummy("t") + 1, "1")
    sde = LinearSDE(-sp.Symbol("t"), "1")  # a plain Symbol('t') becomes the package's t
    assert sde.f_expr.free_symbols == {t_sym}


def test_noised_accepts_zero_noise_and_overflow_names_the_row():
    p = Gaussian([1.0, -2.0], [2.0, 8.0]).noised(0.5, 0.0)
    np.testing.assert_array_equal(p.mean, [0.5, -1.0])
    np.testing.assert_array_equal(np.diag(p.cov), [0.5, 2.0])
    with pytest.raises(ValueError, match=r"row 2"):
        Gaussian([0.0], 1e-300).score(np.array([[0.0], [1.0], [1e20]]))


def test_alpha_range_and_sigma_slack_boundaries():
    LinearSDE("-690", "1")  # alpha(1) = e^-690 ~ 3e-300: still a normal float
    with pytest.raises(ValueError, match="underflows"):
        LinearSDE("-705", "1")  # e^-705 ~ 4e-307: beyond the documented |log alpha| <= 700
    sde = VE(0.01, 50.0)
    smax = float(sde.sigma(1.0))
    assert sde.t_of_sigma(smax * (1 + 0.9e-6)) == 1.0
    with pytest.raises(ValueError, match="sigma"):
        sde.t_of_sigma(smax * (1 + 1.5e-6))


def test_gaussian_shapes_and_repr():
    g = Gaussian(0.5, 2.0)  # a scalar mean means d = 1
    assert g.dim == 1 and g.mean.tolist() == [0.5]
    with pytest.raises(ValueError, match=r"mean must be a \(d,\) vector"):
        Gaussian([[0.0, 1.0]], 1.0)
    with pytest.raises(ValueError, match="does not match mean"):
        Gaussian([0.0, 0.0], Covariance(1.0, 3))
    assert repr(Gaussian([1.0, 2.0], 3.0)) == "Gaussian(mean=[1. 2.], cov=3 I)"
    assert repr(GaussianMixture([1.0], [[0.0]], [1.0])) == "GaussianMixture(K=1, d=1, covs=iso)"


@pytest.mark.parametrize("kind", ["iso", "diag", "full"])
def test_mixture_moments_by_hand(kind):
    w, mus = np.array([0.25, 0.75]), np.array([[0.0, 2.0], [4.0, -2.0]])
    var = np.array([1.0, 3.0])
    covs = {
        "iso": var,
        "diag": np.stack([np.full(2, v) for v in var]),
        "full": np.stack([v * np.eye(2) for v in var]),
    }[kind]
    m = GaussianMixture(w, mus, covs)
    mean = np.array([3.0, -1.0])  # 0.25 (0, 2) + 0.75 (4, -2)
    between = 0.25 * np.outer(mus[0] - mean, mus[0] - mean) + 0.75 * np.outer(
        mus[1] - mean, mus[1] - mean
    )
    np.testing.assert_allclose(m.mean, mean, rtol=1e-15)
    np.testing.assert_allclose(m.cov, (0.25 * 1.0 + 0.75 * 3.0) * np.eye(2) + between, rtol=1e-14)
    c = m.component(1)
    np.testing.assert_array_equal(c.mean, mus[1])
    np.testing.assert_allclose(c.cov, 3.0 * np.eye(2), rtol=1e-15)
    r = m.responsibilities(np.array([[0.0, 2.0]]))  # by hand: log-ratio of the two components
    l0 = np.log(0.25) - np.log(2 * np.pi * 1.0)
    l1 = np.log(0.75) - np.log(2 * np.pi * 3.0) - 0.5 * (16 + 16) / 3.0
    np.testing.assert_allclose(r[0], np.exp([l0, l1] - np.logaddexp(l0, l1)), rtol=1e-12)


def test_mixture_singular_and_overflowing_updates_raise():
    with pytest.raises(ValueError, match="zero variance"):
        GaussianMixture([1.0], [[0.0]], [0.0]).score([0.5])
    with pytest.raises(ValueError, match="overflows"):
        GaussianMixture([1.0], [[0.0]], [1e200]).noised(1e200, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        GaussianMixture([1.0], [[0.0]], [1.0]).noised(np.inf, 1.0)


def test_covariance_forms_by_hand():
    full = np.array([[4.0, 1.0], [1.0, 2.0]])
    cases = {
        "iso": (Covariance(2.5, 2), 2.5 * np.eye(2)),
        "diag": (Covariance(np.array([1.0, 3.0]), 2), np.diag([1.0, 3.0])),
        "full": (Covariance(full, 2), full),
    }
    y = np.array([[1.0, -2.0], [0.5, 0.25]])
    for kind, (c, M) in cases.items():
        assert c.kind == kind and not c.singular
        np.testing.assert_allclose(c.matrix(), M, rtol=1e-15)
        np.testing.assert_allclose(c.diagonal(), np.diag(M), rtol=1e-15)
        np.testing.assert_allclose(c.logdet, np.log(np.linalg.det(M)), rtol=1e-13)
        np.testing.assert_allclose(c.solve(y), np.linalg.solve(M, y.T).T, rtol=1e-13)
        np.testing.assert_allclose(
            c.mahalanobis2(y), np.einsum("ij,ij->i", y @ np.linalg.inv(M), y), rtol=1e-13
        )
        L = np.linalg.cholesky(M)
        np.testing.assert_allclose(c.colour(y), y @ L.T, rtol=1e-13)
        np.testing.assert_allclose(c.whiten(y @ L.T), y, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(c.max_eigenvalue(), np.linalg.eigvalsh(M)[-1], rtol=1e-14)
        np.testing.assert_allclose(
            c.affine(0.5, 2.0).matrix(), 0.5 * M + 2.0 * np.eye(2), rtol=1e-15
        )
        for k2 in ("diag", "full")[("iso", "diag", "full").index(kind) :][:2]:
            np.testing.assert_allclose(c.promote(k2).matrix(), M, rtol=1e-15)
    assert repr(cases["iso"][0]) == "2.5 I" and repr(cases["full"][0]) == "full(2x2)"
    assert repr(cases["diag"][0]).startswith("diag([1.")
    with pytest.raises(ValueError, match="cannot demote"):
        cases["full"][0].promote("iso")
    with pytest.raises(AttributeError, match="full"):
        cases["iso"][0].chol
    assert Covariance(np.array([0.0, 1.0]), 2).singular
    with pytest.raises(ValueError, match="singular"):
        Covariance(np.array([0.0, 1.0]), 2).logdet
    with pytest.raises(ValueError, match="negative"):
        Covariance(-1.0, 2)
    with pytest.raises(ValueError, match="symmetric"):
        Covariance(np.array([[1.0, 0.5], [0.4, 1.0]]), 2)
    Covariance(np.array([[1.0, 0.5], [0.5 + 1e-14, 1.0]]), 2)  # within 1e-12 of symmetric
    with pytest.raises(ValueError, match="positive definite"):
        Covariance(np.array([[1.0, 2.0], [2.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="expected 3"):
        Covariance(np.ones(2), 3)
    with pytest.raises(ValueError, match=r"expected \(3, 3\)"):
        Covariance(np.eye(2), 3)
    with pytest.raises(ValueError, match="scalar"):
        Covariance(np.ones((2, 2, 2)), 2)


def test_shared_checks_directly():
    from fractions import Fraction

    from analytic._checks import as_points, as_time, real_array, sample_size

    np.testing.assert_array_equal(
        real_array(np.array([Fraction(1, 2), 2], dtype=object), "v"), [0.5, 2.0]
    )
    for bad, exc in [([None, 1.0], TypeError), (b"1", TypeError), (np.array(["a"]), TypeError)]:
        with pytest.raises(exc, match="v"):
            real_array(bad, "v")
    assert as_points([1.0, 2.0], 2).shape == (1, 2)  # one point in 2-D
    assert as_points([1.0, 2.0], 1).shape == (2, 1)  # two points in 1-D
    assert as_points(3.0, 1).shape == (1, 1)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        as_points(np.zeros((2, 2, 2)), 2)
    with pytest.raises(ValueError, match="NaN"):
        as_points([np.nan, 1.0], 2)
    assert as_time(1.0 + 1e-13, 1.0) == 1.0 + 1e-13  # a few ulps above T are tolerated
    with pytest.raises(ValueError, match=r"\[0, T\]"):
        as_time(1.0 + 1e-11, 1.0)
    with pytest.raises(ValueError, match=r"\(0, T\]"):
        as_time(0.0, 1.0, allow_zero=False)
    assert as_time(0.5, 1.0, allow_zero=False) == 0.5
    assert as_time(np.zeros(0), 1.0).size == 0
    with pytest.raises(ValueError, match="NaN"):
        as_time(np.nan, 1.0)
    assert sample_size(np.int64(3)) == 3 and sample_size(1e4) == 10000 and sample_size(0) == 0
    with pytest.raises(ValueError):
        sample_size(-1.0)
    with pytest.raises(TypeError):
        sample_size(np.bool_(True))


def test_worker_is_replaced_after_a_timeout():
    LinearSDE("-log(2 + t)", "1", timeout=0.3).method  # sympy hangs: the worker is killed
    sde = LinearSDE("-3", g2="2", timeout=5.0)
    assert sde.method == "closed form"  # a fresh worker answers the next derivation
    assert sde.symbolic[2] is True
    hung = LinearSDE("-log(2 + t)", "1", timeout=0.3)
    alpha, sigma2, exact = hung.symbolic
    assert exact is False and sigma2.has(sp.Integral) and alpha.has(sp.Integral)
    assert repr(hung) == "LinearSDE(f=-log(t + 2), g2=1, T=1; quadrature)"


@pytest.mark.parametrize("T", [1.0, 2.5])
def test_generic_transition_and_step_integrals_match_ou_by_hand(T):
    sde = LinearSDE("-1", "sqrt(2)", T=T)
    s, t = np.array([0.0, 0.1, 0.7]) * T, np.array([0.05, 0.6, 1.0]) * T
    a, v = sde.transition(s, t)
    np.testing.assert_allclose(a, np.exp(-(t - s)), rtol=1e-13)
    np.testing.assert_allclose(v, -np.expm1(-2 * (t - s)), rtol=1e-10)
    I1, I2 = sde.exponential_integrals(s, t)
    np.testing.assert_allclose(I1, 2 * np.expm1(t - s), rtol=1e-12)  # int_s^t e^{u-s} 2 du
    np.testing.assert_allclose(I2, np.expm1(2 * (t - s)), rtol=1e-10)  # int_s^t e^{2(u-s)} 2 du
    np.testing.assert_allclose(sde.f(t), -1.0)
    np.testing.assert_allclose(sde.g2(t), 2.0)
    np.testing.assert_allclose(sde.sigma(t), np.sqrt(np.expm1(2 * t)), rtol=1e-12)
    np.testing.assert_allclose(sde.log_snr(t), -np.log(np.expm1(2 * t)), rtol=1e-12)
    np.testing.assert_allclose(sde.t_of_log_snr(-np.log(np.expm1(2 * t))), t, rtol=1e-10)
    with pytest.raises(ValueError, match="s <= t"):
        sde.transition(t, s)
    with pytest.raises(ValueError, match="NaN"):
        sde.t_of_log_snr(np.nan)


@pytest.mark.parametrize(
    "sde, a_fn, v_fn, i1_fn",
    [
        (
            OU(T=2.0),
            lambda s, t: np.exp(s - t),
            lambda s, t: 1 - np.exp(-2 * (t - s)),
            lambda s, t: 2 * (np.exp(t - s) - 1),
        ),
        (VP(0.1, 20.0), None, None, None),
        (
            VE(0.01, 50.0),
            lambda s, t: 1.0,
            lambda s, t: 1e-4 * (5000 ** (2 * t) - 5000 ** (2 * s)),
            lambda s, t: 1e-4 * (5000 ** (2 * t) - 5000 ** (2 * s)),
        ),
        (EDM(80.0), lambda s, t: 1.0, lambda s, t: t * t - s * s, lambda s, t: t * t - s * s),
    ],
    ids=repr,
)
def test_preset_transitions_by_hand(sde, a_fn, v_fn, i1_fn):
    T = sde.T
    s, t = 0.2 * T, 0.9 * T
    if a_fn is None:  # VP: B(t) = 0.1 t + 9.95 t^2
        B = lambda u: 0.1 * u + 9.95 * u * u
        a_fn = lambda s, t: np.exp(-(B(t) - B(s)) / 2)
        v_fn = lambda s, t: 1 - np.exp(-(B(t) - B(s)))
        i1_fn = lambda s, t: 2 * (np.exp((B(t) - B(s)) / 2) - 1)
    a, v = sde.transition(s, t)
    np.testing.assert_allclose(a, a_fn(s, t), rtol=1e-12)
    np.testing.assert_allclose(v, v_fn(s, t), rtol=1e-12)
    I1, I2 = sde.exponential_integrals(s, t)
    np.testing.assert_allclose(I1, i1_fn(s, t), rtol=1e-12)
    np.testing.assert_allclose(I2, v_fn(s, t) / a_fn(s, t) ** 2, rtol=1e-12)
    with pytest.raises(ValueError, match="s <= t"):
        sde.transition(t, s)


def test_subvp_by_hand():
    sde = SubVP(0.1, 20.0)
    B = lambda u: 0.1 * u + 9.95 * u * u
    beta = lambda u: 0.1 + 19.9 * u
    for t in (1e-6, 0.3, 1.0):
        np.testing.assert_allclose(sde.sigma2(t), (1 - np.exp(-B(t))) ** 2, rtol=1e-9)
        np.testing.assert_allclose(sde.g2(t), beta(t) * (1 - np.exp(-2 * B(t))), rtol=1e-9)
        np.testing.assert_allclose(sde.alpha(t), np.exp(-B(t) / 2), rtol=1e-14)
    s, t = 0.2, 0.9
    with mpmath.workdps(30):  # I1 = int_s^t (alpha(s)/alpha(u)) g2(u) du, by quadrature
        Bm = lambda u: mpmath.mpf("0.1") * u + mpmath.mpf("9.95") * u * u
        ref = mpmath.quad(
            lambda u: (
                mpmath.exp((Bm(u) - Bm(s)) / 2)
                * (mpmath.mpf("0.1") + mpmath.mpf("19.9") * u)
                * (1 - mpmath.exp(-2 * Bm(u)))
            ),
            [s, t],
        )
    np.testing.assert_allclose(sde.exponential_integrals(s, t)[0], float(ref), rtol=1e-12)
    np.testing.assert_allclose(sde.t_of_sigma(sde.sigma(0.4)), 0.4, rtol=1e-10)


def test_zero_timeout_skips_sympy_and_generic_inverse_is_exact_at_T():
    sde = LinearSDE("-1", "sqrt(2)", T=2.0, timeout=0)
    assert sde.method == "quadrature"
    assert sde.t_of_sigma(float(sde.sigma(2.0))) == 2.0
    with pytest.raises(ValueError, match="timeout"):
        LinearSDE("-1", "1", timeout=-1.0)


def test_step_integrals_broadcast_over_2d_grids():
    sde = LinearSDE("-1", "sqrt(2)", T=2.0, timeout=0)
    s = np.array([0.0, 0.1, 0.3])[:, None]
    t = np.array([0.5, 1.0, 2.0])[None, :]
    I1, I2 = sde.exponential_integrals(s, t)
    assert I1.shape == (3, 3)
    np.testing.assert_allclose(I1, 2 * np.expm1(t - s), rtol=1e-12)
    np.testing.assert_allclose(I2, np.expm1(2 * (t - s)), rtol=1e-10)


def test_the_worker_belongs_to_the_process_that_started_it(monkeypatch):
    import analytic._derive as D

    assert LinearSDE("-2", g2="2", timeout=5.0).method == "closed form"
    w = D._worker
    assert w is not None and w.alive()
    monkeypatch.setattr(D.os, "getpid", lambda: w.pid + 1)  # as seen from a forked child
    assert not w.alive()


def test_mixture_one_dimensional_means_vector():
    m = GaussianMixture([0.5, 0.5], [0.0, 1.0], [1.0, 1.0])  # (K,) means: K points in 1-D
    assert m.dim == 1 and m.n_components == 2
    np.testing.assert_array_equal(m.means, [[0.0], [1.0]])


@pytest.mark.parametrize("kind", ["iso", "diag", "full"])
def test_far_modes_use_the_shared_shift_without_fallback(kind, monkeypatch):
    """Modes at |mu| = 100 with variance 0.01: the shared shift must use the peak offsets
    |mu|^2 / (2 s) correctly, or exp overflows (the robust route is disabled here)."""
    w, mus, var = [0.4, 0.6], [[100.0, 0.0], [-100.0, 50.0]], 0.01
    covs = {
        "iso": [var, var],
        "diag": np.full((2, 2), var),
        "full": np.stack([var * np.eye(2)] * 2),
    }
    m = GaussianMixture(w, mus, covs[kind])

    def forbidden(*a, **k):
        raise AssertionError("fell through to the robust route")

    monkeypatch.setattr(GaussianMixture, "_robust_score", forbidden)
    monkeypatch.setattr(GaussianMixture, "_robust_logits", forbidden)
    xs = np.array([[100.05, 0.02], [-99.9, 50.1], [0.0, 25.0]])
    for x, g in zip(xs, m.score(xs), strict=True):
        np.testing.assert_allclose(g, _mp_mixture_score(w, mus, var, x), rtol=1e-8, atol=1e-8)
    with mpmath.workdps(40):
        for x, lp in zip(xs, m.log_prob(xs), strict=True):
            terms = [
                mpmath.log(wk)
                - mpmath.log(2 * mpmath.pi * var)
                - mpmath.fsum((mpmath.mpf(a) - b) ** 2 for a, b in zip(x, mu, strict=True))
                / (2 * var)
                for wk, mu in zip(w, mus, strict=True)
            ]
            ref = mpmath.log(mpmath.fsum(mpmath.exp(t) for t in terms))
            assert abs(lp - ref) <= 1e-9 * abs(ref)


def test_huge_points_with_huge_variances_use_the_robust_route():
    """|x|^2 overflows in the features (x = 1e160) but (x - mu)^2 / s = 1e120 is finite: the
    per-component route gives the exact score and log-density (mpmath reference)."""
    w, mus, var = [0.5, 0.5], [[0.0], [1e150]], 1e200
    m = GaussianMixture(w, mus, [var, var])
    x = np.array([[1e160], [-1e160]])
    with mpmath.workdps(60):
        for xi, g, lp in zip(x[:, 0], m.score(x)[:, 0], m.log_prob(x), strict=True):
            xm = mpmath.mpf(xi)
            logits = [
                mpmath.log(0.5)
                - mpmath.log(2 * mpmath.pi * var) / 2
                - (xm - mpmath.mpf(mu[0])) ** 2 / (2 * var)
                for mu in mus
            ]
            top = max(logits)
            e = [mpmath.exp(li - top) for li in logits]
            ref = mpmath.fsum(
                ek / mpmath.fsum(e) * (mpmath.mpf(mu[0]) - xm) / var
                for ek, mu in zip(e, mus, strict=True)
            )
            assert abs(g - ref) <= 1e-12 * abs(ref)
            ref_lp = top + mpmath.log(mpmath.fsum(e))
            assert abs(lp - ref_lp) <= 1e-12 * abs(ref_lp)


def test_log_prob_in_several_chunks_matches_logsumexp():
    from scipy.special import logsumexp

    rng = np.random.default_rng(5)
    K = 25
    w = rng.dirichlet(np.ones(K))
    mus, var = rng.normal(0, 2, (K, 2)), rng.uniform(0.2, 1.0, K)
    m = GaussianMixture(w, mus, var)
    x = rng.normal(0, 3, (12_000, 2))  # more rows than one chunk (~5000 for K = 25)
    d2 = ((x[:, None, :] - mus[None]) ** 2).sum(-1)
    ref = logsumexp(np.log(w) - np.log(2 * np.pi * var) - d2 / (2 * var), axis=1)
    np.testing.assert_allclose(m.log_prob(x), ref, rtol=1e-12, atol=1e-12)


def test_worker_reuse_failure_and_messages(monkeypatch):
    import analytic._derive as D

    assert LinearSDE("-6", g2="2", timeout=5.0).method == "closed form"
    w1 = D._worker
    assert LinearSDE("-7", g2="2", timeout=5.0).method == "closed form"
    assert D._worker is w1  # one worker per process, reused
    hung = LinearSDE("-log(4 + t)", "1", timeout=0.3)
    assert hung.method == "quadrature"
    assert hung._derived[1] == "sympy derivation timed out after 0.3 s"
    assert w1.proc.poll() is not None  # the hung worker was killed

    def broken(self, *a, **k):
        raise OSError("pipe broke")

    assert LinearSDE("-8", g2="2", timeout=5.0).method == "closed form"
    w2 = D._worker
    monkeypatch.setattr(D._Worker, "call", broken)
    sde = LinearSDE("-9", g2="2", timeout=5.0)
    assert sde.method == "quadrature"
    assert sde._derived[1] == "sympy worker unavailable (OSError: pipe broke)"
    assert D._worker is None and w2.proc.poll() is not None
    monkeypatch.setattr(D._Worker, "__init__", broken)  # no worker can start at all
    sde = LinearSDE("-10", g2="2", timeout=5.0)
    assert sde.method == "quadrature" and "unavailable" in sde._derived[1]
    np.testing.assert_allclose(sde.sigma2(0.5), -np.expm1(-10.0) / 10, rtol=1e-13)


def test_for_numpy_falls_back_to_the_expression(monkeypatch):
    import sympy.codegen.rewriting as R

    from analytic._derive import for_numpy

    e = sp.exp(t_sym) - 1
    assert for_numpy(e) == sp.Function("expm1")(t_sym) or str(for_numpy(e)) == "expm1(t)"

    def broken(*a, **k):
        raise RuntimeError("no rewrite")

    monkeypatch.setattr(R, "optimize", broken)
    assert for_numpy(e) is e


@pytest.mark.parametrize(
    "code",
    [
        "import analytic",
        "from analytic import LinearSDE; print(LinearSDE('-2', g2='2', timeout=30).method)",
    ],
)
def test_interpreter_exits_promptly_and_cleanly_with_a_worker(code):
    import subprocess
    import sys

    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, env=env
    )
    assert out.returncode == 0 and out.stderr == "", out.stderr
