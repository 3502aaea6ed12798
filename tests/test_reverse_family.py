"""``ReverseFamily``: the reverse drift and diffusion, against the formula written out here.

dY = [-f(t) Y + (1 + gamma)/2 g2(t) s(Y, t)] dtau + sqrt(gamma g2(t)) dW
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytic import OU, VP, Gaussian
from verify.solvers.reverse import ReverseFamily, validate_gamma

DATA = Gaussian([0.5, -1.0], [[1.0, 0.2], [0.2, 0.4]])


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.5])
@pytest.mark.parametrize("sde", [VP(0.1, 20.0), OU(T=2.0)], ids=["VP", "OU"])
def test_drift_and_diffusion_are_the_reverse_family(sde, gamma):
    score = sde.score(DATA)
    fam = ReverseFamily(sde, score, gamma)
    y = np.random.default_rng(0).standard_normal((7, 2))
    for t in (0.05, 0.4, 0.9):
        f, g2 = float(sde.f(t)), float(sde.g2(t))
        want = -f * y + 0.5 * (1.0 + gamma) * g2 * score(y, t)
        np.testing.assert_allclose(fam.drift(y, t), want, rtol=1e-13, atol=1e-13)
        assert fam.diffusion(t) == pytest.approx(math.sqrt(gamma * g2), rel=1e-13, abs=0)
        fc, w, D = fam.drift_coefficients(t)
        assert (fc, w, D) == pytest.approx((f, 0.5 * (1 + gamma) * g2, 0.5 * gamma * g2))


def test_coefficients_are_vectorised_over_time_and_gamma_may_depend_on_it():
    sde = VP(0.1, 20.0)
    fam = ReverseFamily(sde, None, lambda t: 2.0 * t)
    t = np.array([[0.1, 0.5], [0.7, 1.0]])
    f, w, D = fam.drift_coefficients(t)
    g2 = sde.g2(t)
    np.testing.assert_allclose(f, sde.f(t) * np.ones_like(t), rtol=1e-15)
    np.testing.assert_allclose(w, 0.5 * (1 + 2 * t) * g2, rtol=1e-14)
    np.testing.assert_allclose(D, t * g2, rtol=1e-14)
    np.testing.assert_allclose(fam.diffusion(t), np.sqrt(2 * t * g2), rtol=1e-14)
    np.testing.assert_array_equal(fam.gamma_at(t), 2.0 * t)
    assert not fam.constant_gamma and ReverseFamily(sde, None, 0.5).constant_gamma
    np.testing.assert_array_equal(ReverseFamily(sde, None, 0.5).gamma_at(t), np.full((2, 2), 0.5))


@pytest.mark.parametrize(
    "gamma, error, match",
    [
        (lambda t: "1", TypeError, r"gamma\(t=0.5\) returned '1', not a number"),
        (lambda t: True, TypeError, "not a number"),
        (lambda t: -0.1, ValueError, r"gamma\(t=0.5\) = -0.1"),
        (lambda t: float("nan"), ValueError, r"finite and >= 0; gamma\(t=0.5\)"),
        (lambda t: float("inf"), ValueError, "finite and >= 0"),
    ],
)
def test_a_gamma_function_that_returns_a_bad_value_is_named(gamma, error, match):
    fam = ReverseFamily(VP(), None, gamma)
    with pytest.raises(error, match=match):
        fam.gamma_at(np.array([0.5]))


def test_a_gamma_function_is_checked_at_every_time():
    fam = ReverseFamily(VP(), None, lambda t: 1.0 if t < 0.8 else -1.0)
    with pytest.raises(ValueError, match=r"gamma\(t=0.9\)"):
        fam.gamma_at(np.array([0.1, 0.5, 0.9]))


@pytest.mark.parametrize("good", [0, 0.0, 1, 3.5, np.float64(0.2), np.int64(2)])
def test_validate_gamma_accepts_numbers_at_least_zero(good):
    assert validate_gamma(good) == float(good) and isinstance(validate_gamma(good), float)


@pytest.mark.parametrize(
    "bad, error",
    [("1", TypeError), (True, TypeError), (None, TypeError), (np.ones(2), TypeError),
     (-1e-300, ValueError), (math.inf, ValueError), (math.nan, ValueError)],
)  # fmt: skip
def test_validate_gamma_rejects_what_is_not_a_number_at_least_zero(bad, error):
    with pytest.raises(error, match="gamma must be"):
        validate_gamma(bad)


def test_the_drift_needs_a_score_and_the_repr_names_gamma():
    fam = ReverseFamily(VP(), None, 0.25)
    with pytest.raises(ValueError, match="no score"):
        fam.drift(np.zeros((1, 2)), 0.5)
    assert "gamma=0.25" in repr(fam)

    def schedule(t):
        return t

    assert "gamma=schedule" in repr(ReverseFamily(VP(), None, schedule))


def test_the_default_is_the_reverse_sde_and_a_gamma_function_may_return_zero():
    assert ReverseFamily(VP()).gamma == 1.0  # gamma = 1: the reverse SDE (Anderson 1982)
    fam = ReverseFamily(VP(), None, lambda t: 0.0)  # the probability-flow ODE, as a function
    np.testing.assert_array_equal(fam.gamma_at(np.array([0.2, 0.6])), [0.0, 0.0])
    assert fam.diffusion(0.5) == 0.0
