"""verify.tightness.search: equality cases, certified counterexamples, best constants,
determinism, undefined settings, spaces.

Expected values come from closed forms derived by hand (stated in each test) and from
``analytic.kl``, never from the search itself.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from analytic import Gaussian, kl
from verify.tightness import (
    SKIP_REASONS,
    Space,
    influence,
    ratio_grid,
    search,
    vectorized,
)


def kl_mean(m):
    """KL(N(m, 1) || N(0, 1)) by analytic.kl (closed form m^2 / 2)."""
    return kl(Gaussian([float(m)], 1.0), Gaussian([0.0], 1.0))


# ------------------------------------------------------------------- equality cases
def test_tight_bound_equality_everywhere():
    # KL(N(m,1) || N(0,1)) = m^2/2 exactly: the ratio is 1 at every m != 0
    res = search(lambda m: m * m / 2, kl_mean, {"m": (-3.0, 3.0)}, budget=64, rng=0, constant=0.5)
    assert res.verdict == "holds"
    assert abs(res.worst_ratio - 1.0) <= 1e-9
    assert abs(res.best_constant - 0.5) <= 1e-9
    assert res.theorem_constant == 0.5
    assert res.certificate is None
    assert res.evaluations == 64
    # m = 0 (a corner-free centre point) has truth 0: skipped and counted, not a crash
    assert res.skipped == {"truth <= atol": 1}


def _be_truth(m, v, a):
    """KL(N(a m, a^2 v + 1 - a^2) || N(0, 1)): the law after an OU step of contraction a."""
    return kl(Gaussian([a * m], a * a * v + 1 - a * a), Gaussian([0.0], 1.0))


def _be_bound(m, v, a):
    return a * a * kl(Gaussian([m], v), Gaussian([0.0], 1.0))


def test_equality_only_on_a_boundary_face():
    # KL(P_a p || N(0,1)) <= a^2 KL(p || N(0,1)) for p = N(m, v): the mean parts are equal
    # (a^2 m^2 / 2 on both sides) and the variance part h(a^2 (v - 1)) <= a^2 h(v - 1) with
    # h(u) = u - log(1 + u) convex, h(0) = 0, equality iff v = 1: the face v = 1 of the space.
    space = {"m": (0.0, 2.0), "v": (1.0, 4.0), "a": (0.1, 0.9)}
    res = search(_be_bound, _be_truth, space, budget=300, rng=1)
    assert res.verdict == "holds"
    assert abs(res.worst_ratio - 1.0) <= 1e-9
    assert res.setting["v"] == 1.0
    # off the face the bound is strict: with v >= 1.5 the worst ratio stays above 1
    res2 = search(_be_bound, _be_truth, {**space, "v": (1.5, 4.0)}, budget=300, rng=1)
    assert res2.worst_ratio > 1.0 + 1e-3
    assert res2.setting["v"] == 1.5  # the worst case sits on the boundary of the space


def test_equality_in_the_limit_at_a_corner_in_log_coordinates():
    # log(1 + x) <= x: ratio x / log(1 + x) = 1 + x/2 + O(x^2), infimum at the corner x = 1e-10
    res = search(lambda x: x, lambda x: math.log1p(x), {"x": (1e-10, 1.0, "log")}, budget=40, rng=0)
    assert res.verdict == "holds"
    assert res.setting["x"] == pytest.approx(1e-10, rel=1e-12)
    assert abs(res.worst_ratio - 1.0) <= 1e-9


def test_corner_equality_in_two_dimensions():
    # bound = (1 + x^2)(1 + (1 - y)^2) truth: ratio 1 only at the corner (x, y) = (0, 1)
    def truth(x, y):
        return 1.0 + x + y

    def bound(x, y):
        return (1 + x * x) * (1 + (1 - y) ** 2) * truth(x, y)

    res = search(bound, truth, {"x": (0.0, 1.0), "y": (0.0, 1.0)}, budget=40, rng=0)
    assert res.worst_ratio == pytest.approx(1.0, abs=1e-12)
    assert res.setting == {"x": 0.0, "y": 1.0}


# ----------------------------------------------------------- certified counterexample
def test_counterexample_of_a_bound_wrong_by_a_factor_is_certified_in_mpmath():
    # KL(N(m,1) || N(0,1)) = m^2/2 > m^2/4: ratio 1/2 everywhere; best constant 1/2 (hand)
    res = search(
        lambda m: m * m / 4,
        kl_mean,
        {"m": (-3.0, 3.0)},
        budget=64,
        rng=0,
        constant=0.25,
        bound_mp=lambda m: mpmath.mpf(m) ** 2 / 4,
        truth_mp=lambda m: mpmath.mpf(m) ** 2 / 2,
    )
    assert res.verdict == "fails"
    assert res.worst_ratio == pytest.approx(0.5, abs=1e-12)
    assert res.best_constant == pytest.approx(0.5, abs=1e-12)
    cert = res.certificate
    assert cert is not None and cert.confirmed
    assert cert.dps == 50 and "mpmath" in cert.method
    m = mpmath.mpf(cert.setting["m"])
    with mpmath.workdps(50):
        assert cert.bound == mpmath.nstr(m**2 / 4, 15)
        assert cert.truth == mpmath.nstr(m**2 / 2, 15)
    assert cert.ratio_value == pytest.approx(0.5, abs=1e-14)
    assert "counterexample" in res.summary()


def test_counterexample_without_mpmath_uses_a_perturbed_reevaluation():
    res = search(lambda m: m * m / 4, kl_mean, {"m": (0.5, 3.0)}, budget=32, rng=0)
    assert res.verdict == "fails"
    assert res.certificate.confirmed
    assert res.certificate.dps is None
    assert "perturbations" in res.certificate.method


def test_a_floating_point_artefact_is_never_called_a_counterexample():
    # truth = (1 + x) - 1 in float64 loses digits for tiny x; mathematically truth == bound
    def truth(x):
        return (1.0 + x) - 1.0

    space = {"x": (1e-12, 1e-9, "log")}
    assert min(x / truth(x) for x in np.geomspace(1e-12, 1e-9, 50)) < 1 - 1e-6  # the artefact
    hp = dict(bound_mp=lambda x: mpmath.mpf(x), truth_mp=lambda x: (1 + mpmath.mpf(x)) - 1)
    res = search(lambda x: x, truth, space, budget=40, rng=0, max_certify=64, **hp)
    assert res.verdict == "holds"
    assert res.refuted >= 1
    assert res.certificate is None
    assert res.worst_ratio >= 1 - 1e-12
    # with fewer checks than candidates the verdict is inconclusive, never "fails"
    few = search(lambda x: x, truth, space, budget=40, rng=0, max_certify=2, **hp)
    assert few.verdict == "inconclusive" and few.certificate is None


def test_an_oscillating_truth_is_a_counterexample_at_the_point_beyond_its_resolution():
    # truth = x (1 + 1e-9 sin(1e7 x)) exceeds the bound x wherever sin > 0: a counterexample
    # at rtol = 1e-12 (certified at the point, whatever the neighbours give), none once the
    # declared resolution rtol = 1e-8 is above the 1e-9 oscillation
    def truth(x):
        return x * (1.0 + 1e-9 * math.sin(1e7 * x))

    res = search(lambda x: x, truth, {"x": (0.5, 2.0)}, budget=40, rng=0)
    assert res.verdict == "fails" and res.certificate.confirmed
    x = res.certificate.setting["x"]
    assert math.sin(1e7 * x) > 0  # by hand: ratio = 1 / (1 + 1e-9 sin(1e7 x)) < 1
    assert res.worst_ratio == pytest.approx(1 / (1 + 1e-9 * math.sin(1e7 * x)), abs=1e-15)
    coarse = search(lambda x: x, truth, {"x": (0.5, 2.0)}, budget=40, rng=0, rtol=1e-8)
    assert coarse.verdict == "holds" and not coarse.counterexamples


def _threshold_bound(a, n):
    """A bound that fails only beyond a threshold: 0.5 a / n for a > 9.9, else 2 a / n."""
    return 0.5 * a / n if a > 9.9 else 2 * a / n


def _threshold_truth(a, n):
    return a / n


@pytest.mark.parametrize("n_spec", [1, (1, 10, "int")])
def test_every_evaluated_counterexample_is_reported_whatever_its_neighbours_do(n_spec):
    # ratio 0.5 for a > 9.9 (hand), 2 elsewhere: perturbations of a point near a = 10 cross
    # the threshold, so a neighbourhood test refuted them and the verdict was "inconclusive"
    space = {"a": (0.1, 10.0, "log"), "n": n_spec}
    res = search(_threshold_bound, _threshold_truth, space, budget=128, rng=0)
    a = np.asarray(res.samples["values"]["a"], dtype=float)
    n = np.asarray(res.samples["values"]["n"], dtype=float) if "n" in res.samples["values"] else 1
    below = a > 9.9  # the hand-derived counterexamples among the evaluated settings
    assert below.sum() >= 3
    assert res.verdict == "fails"
    assert res.worst_ratio == pytest.approx(0.5, abs=1e-15)
    assert res.best_constant == pytest.approx(2.0, abs=1e-14)
    assert len(res.counterexamples) == below.sum() and not res.unchecked
    got = sorted((c.setting["a"], c.setting["n"]) for c in res.counterexamples)
    want = sorted(zip(a[below], np.broadcast_to(n, a.shape)[below], strict=True))
    assert got == pytest.approx(want, abs=0)
    for c in res.counterexamples:
        assert c.confirmed and c.dps == 50 and "mpmath" in c.method
        with mpmath.workdps(50):  # the certificate's values, recomputed in mpmath
            am = mpmath.mpf(c.setting["a"])
            assert c.bound == mpmath.nstr(am / 2 / c.setting["n"], 15)
        assert c.ratio_value == 0.5
    assert f"{below.sum()} certified counterexamples" in res.summary()


def test_counterexamples_beyond_max_certify_are_listed_and_never_called_holds():
    space = {"a": (0.1, 10.0, "log"), "n": (1, 10, "int")}
    res = search(_threshold_bound, _threshold_truth, space, budget=128, rng=0, max_certify=2)
    assert res.verdict == "fails" and len(res.counterexamples) == 2
    assert len(res.unchecked) >= 1 and all(s["a"] > 9.9 for s in res.unchecked)
    assert "not re-checked" in res.summary()


def test_numpy_callables_are_certified_by_a_float_reevaluation_at_the_point():
    # np.where does not take mpf arguments: the float64 values at the point itself decide
    @vectorized
    def bound(a):
        a = np.asarray(a, dtype=float)
        return np.where(a > 9.9, 0.5 * a, 2 * a)

    res = search(bound, vectorized(lambda a: np.asarray(a, dtype=float)), {"a": (0.1, 10.0, "log")})
    assert res.verdict == "fails" and res.worst_ratio == 0.5
    c = res.certificate
    assert c.dps is None and "float64 re-evaluation at the setting" in c.method
    assert all(x.setting["a"] > 9.9 for x in res.counterexamples)


def test_equality_is_not_a_counterexample_at_high_precision():
    # ratio exactly 1 in exact arithmetic; the mpmath check at the worst point says so
    res = search(
        lambda m: m * m / 2,
        kl_mean,
        {"m": (0.1, 3.0)},
        budget=32,
        rng=0,
        bound_mp=lambda m: mpmath.mpf(m) ** 2 / 2,
        truth_mp=lambda m: mpmath.mpf(m) ** 2 / 2,
    )
    assert res.verdict == "holds"
    assert res.worst_check is not None and not res.worst_check.confirmed
    assert res.worst_check.ratio_value == 1.0


# ---------------------------------------------------------------------- best constant
def test_best_constant_interior_maximum_against_hand_derivation():
    # truth = m^2/2, bound = C e^m: max_m truth / e^m = m^2 e^{-m} / 2 at m = 2: 2 e^{-2}
    res = search(
        lambda m: 1.0 * math.exp(m), kl_mean, {"m": (0.5, 6.0)}, budget=80, rng=0, constant=1.0
    )
    assert res.verdict == "holds"
    assert res.best_constant == pytest.approx(2 * math.exp(-2), rel=1e-9)
    assert res.setting["m"] == pytest.approx(2.0, abs=1e-4)


def test_best_constant_on_the_boundary_against_hand_derivation():
    # truth = m^2/2, bound = C (m^2 + m^4): sup 1 / (2 (1 + m^2)) on [0.5, 2] = 0.4 at m = 0.5
    res = search(
        lambda m: 3.0 * (m**2 + m**4), kl_mean, {"m": (0.5, 2.0)}, budget=40, rng=0, constant=3.0
    )
    assert res.best_constant == pytest.approx(0.4, rel=1e-12)
    assert res.worst_ratio == pytest.approx(3.0 / 0.4, rel=1e-12)


# ------------------------------------------------------------------------ determinism
def _toy(m, s):
    return kl(Gaussian([m], s), Gaussian([0.0], 1.0))


def test_deterministic_for_a_seed_and_generator():
    space = {"m": (0.1, 2.0), "s": (0.2, 5.0, "log")}

    def bound(m, s):
        return 0.5 * (m * m + (s - 1) ** 2 / s)

    a = search(bound, _toy, space, budget=120, rng=7)
    b = search(bound, _toy, space, budget=120, rng=np.random.default_rng(7))
    c = search(bound, _toy, space, budget=120, rng=8)
    assert a.trace == b.trace and a.setting == b.setting and a.worst_ratio == b.worst_ratio
    np.testing.assert_array_equal(a.samples["unit"], b.samples["unit"])
    assert not np.array_equal(a.samples["unit"], c.samples["unit"])


def test_vectorised_and_looped_callables_agree():
    space = {"m": (0.1, 2.0), "s": (0.2, 5.0, "log")}

    def bound(m, s):
        return 0.5 * (m * m + (s - 1) ** 2 / s)

    def truth_vec(m, s):
        m, s = np.asarray(m), np.asarray(s)
        return 0.5 * (s - 1 - np.log(s) + m * m)

    looped = search(bound, _toy, space, budget=100, rng=2)
    vec = search(vectorized(bound), vectorized(truth_vec), space, budget=100, rng=2)
    assert vec.setting == looped.setting
    assert vec.worst_ratio == pytest.approx(looped.worst_ratio, rel=1e-12)
    assert vec.evaluations == looped.evaluations


# ----------------------------------------------------------------- undefined settings
def test_undefined_settings_are_skipped_and_counted():
    def truth(m):
        if m < -1:
            raise ValueError("no truth here")
        if 0.5 < m < 0.7:
            return float("nan")
        if m > 2.5:
            return float("inf")
        return m * m / 2

    def bound(m):
        if -0.9 < m < -0.2:
            raise ZeroDivisionError
        return m * m / 2 + 0.1

    res = search(bound, truth, {"m": (-3.0, 3.0)}, budget=64, rng=0)
    assert res.verdict == "holds"
    assert set(res.skipped) <= set(SKIP_REASONS)
    for reason in ("truth raised", "truth not finite", "bound raised"):
        assert res.skipped.get(reason, 0) > 0
    assert math.isfinite(res.worst_ratio) and math.isfinite(res.best_constant)
    r = res.samples["ratio"]
    assert np.sum(~np.isfinite(r)) == res.n_skipped
    assert np.all(np.isfinite(r[np.isfinite(r)]))


def test_vectorised_batch_that_raises_falls_back_to_single_settings():
    @vectorized
    def truth(m):
        m = np.asarray(m, dtype=float)
        if np.any(m < 0):
            raise ValueError("negative m")
        return m * m / 2

    res = search(vectorized(lambda m: m * m), truth, {"m": (-1.0, 1.0)}, budget=32, rng=0)
    assert res.skipped.get("truth raised", 0) > 0
    assert res.setting["m"] > 0 and res.worst_ratio == pytest.approx(2.0)


def test_a_truth_below_atol_has_no_ratio():
    # truth = m^2/2 is 1e-3 at m = 0.0447: below atol = 1e-3 those settings are skipped
    res = search(lambda m: m * m / 2, kl_mean, {"m": (0.0, 1.0)}, budget=32, rng=0, atol=1e-3)
    assert res.skipped["truth <= atol"] >= 1
    assert abs(res.setting["m"]) > 0.0447


def test_nowhere_defined_is_a_clear_error():
    with pytest.raises(ValueError, match="no setting"):
        search(lambda m: 1.0, lambda m: -1.0, {"m": (0.0, 1.0)}, budget=16)


def test_vectorised_callable_with_the_wrong_shape_is_a_type_error():
    with pytest.raises(TypeError, match="shape"):
        search(vectorized(lambda m: np.ones(3)), kl_mean, {"m": (0.1, 1.0)}, budget=16)


# ------------------------------------------------------------------------------ spaces
def test_choices_and_integers_are_searched():
    # the bound is tight only for kind == "b" and n == 7 (1/n <= 1/n + (n - 7)^2 ...)
    def truth(n, kind, x):
        return 1.0 / n + x

    def bound(n, kind, x):
        extra = 0.0 if kind == "b" else 0.3
        return truth(n, kind, x) * (1 + extra + 1e-3 * (n - 7) ** 2 + (x - 0.25) ** 2)

    space = {"n": (1, 40, "int"), "kind": ["a", "b", "c"], "x": (0.0, 1.0), "fixed": 3.0}
    res = search(lambda fixed, **s: bound(**s), lambda fixed, **s: truth(**s), space, 200, rng=0)
    assert res.setting["kind"] == "b" and res.setting["n"] == 7
    assert isinstance(res.setting["n"], int) and res.setting["fixed"] == 3.0
    assert res.worst_ratio == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize(
    "space, match",
    [
        ({"m": (1.0, 0.0)}, "low <= high"),
        ({"m": (0.0, 1.0, "log")}, "low > 0"),
        ({"m": []}, "empty"),
        ({"m": (0.0, 1.0, "cubic")}, "unknown range flags"),
        ({"m": {"lo": 0}}, "needs 'low'"),
        ({"1m": (0.0, 1.0)}, "keyword"),
        ({"m": (0.0, float("nan"))}, "finite"),
        ({"m": 1.0}, "no searched parameter"),
        ({}, "non-empty"),
    ],
)
def test_bad_spaces_are_value_errors(space, match):
    with pytest.raises(ValueError, match=match):
        Space(space)


def test_bad_arguments():
    ok = {"m": (0.1, 1.0)}
    with pytest.raises(ValueError, match="budget"):
        search(kl_mean, kl_mean, ok, budget=4)
    with pytest.raises(TypeError, match="rng"):
        search(kl_mean, kl_mean, ok, budget=16, rng="seed")
    with pytest.raises(TypeError, match="callables"):
        search(1.0, kl_mean, ok)
    with pytest.raises(ValueError, match="constant"):
        search(kl_mean, kl_mean, ok, constant=-1.0)


def test_space_dict_forms_and_round_trip():
    sp = Space(
        {
            "a": {"low": 1.0, "high": 100.0, "log": True},
            "n": {"low": 2, "high": 9, "integer": True},
            "c": {"choices": ["x", "y"]},
        }
    )
    U = np.array([[0.5, 0.5, 0.9]])
    s = sp.settings(U)[0]
    assert s["a"] == pytest.approx(10.0) and s["n"] in (5, 6) and s["c"] == "y"
    assert sp.settings(sp.unit(s)[None])[0] == s


# ----------------------------------------------------------------- reading a result
def test_influence_and_ratio_grid():
    def bound(x, y):
        return 1.0 + x * x

    def truth(x, y):
        return 1.0

    space = {"x": (0.0, 2.0), "y": (0.0, 2.0)}
    res = search(bound, truth, space, budget=64, rng=0)
    assert res.setting["x"] == 0.0
    eta = influence(res, bound, truth, space, n=9)
    assert eta["x"] == pytest.approx(np.log10(5.0), rel=1e-12)  # ratio 1 -> 5 along x
    assert eta["y"] == 0.0
    xs, ys, R = ratio_grid(bound, truth, space, res.setting, "x", "y", n=5)
    assert R.shape == (5, 5)
    np.testing.assert_allclose(R, (1.0 + xs[None, :] ** 2) * np.ones((5, 1)), rtol=1e-15)
    with pytest.raises(ValueError, match="two different"):
        ratio_grid(bound, truth, space, res.setting, "x", "x")
