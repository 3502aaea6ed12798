"""g^2 >= 0 is checked between grid points, by interval arithmetic (``analytic.interval``):
a dip narrower than the grid spacing is found, positive coefficients are not flagged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic.interval import Unsupported, first_negative, interval_eval
from analytic.sde import LinearSDE

t = sp.Symbol("t")


def test_the_reported_dip_is_refused_with_its_place():
    with pytest.raises(ValueError, match=r"negative at t = 0\.29") as info:
        LinearSDE("-1", g2="1 - 1000000*exp(-10000000000*(t-0.3)**2)")
    t0 = float(str(info.value).split("t = ")[1].split()[0])
    assert 1 - 1e6 * math.exp(-1e10 * (t0 - 0.3) ** 2) < 0  # a real counterexample
    assert abs(t0 - 0.3) < 3e-5  # inside the dip (width 1e-5), which a 4097-point grid misses
    grid = np.linspace(0, 1, 4097)
    assert np.all(1 - 1e6 * np.exp(-1e10 * (grid - 0.3) ** 2) > 0)


@settings(max_examples=30, deadline=None)
@given(
    centre=st.floats(0.01, 0.99),
    log_width=st.floats(-5.0, -3.0),
    depth=st.floats(1.5, 1e6),
)
def test_every_narrow_dip_below_zero_is_found(centre, log_width, depth):
    expr = 1 - depth * sp.exp(-(((t - sp.Float(centre)) / sp.Float(10**log_width)) ** 2))
    fn = sp.lambdify(t, expr, "numpy")
    found = first_negative(expr, t, 1.0, lambda u: float(fn(u)), 1e-12)
    assert found is not None and float(fn(found)) < 0


@settings(max_examples=30, deadline=None)
@given(centre=st.floats(0.01, 0.99), log_width=st.floats(-5.0, -2.0), height=st.floats(0, 1e6))
def test_a_positive_bump_is_not_flagged(centre, log_width, height):
    expr = 0.5 + height * sp.exp(-(((t - sp.Float(centre)) / sp.Float(10**log_width)) ** 2))
    fn = sp.lambdify(t, expr, "numpy")
    assert first_negative(expr, t, 1.0, lambda u: float(fn(u)), 1e-12) is None


@pytest.mark.parametrize(
    "g2", ["0.1 + 19.9*t", "t", "t*(1-t)", "(1-t)**2", "2 - 1.5*cos(1000*t)", "exp(-t)*t**2"]
)
def test_valid_schedules_including_touching_zeros_are_accepted(g2):
    LinearSDE("-0.5", g2=g2)


def test_an_interval_contains_the_values_it_encloses():
    expr = sp.sympify("exp(-3*t)*sin(5*t) + sqrt(t + 1) - t**3/7")
    fn = sp.lambdify(t, expr, "numpy")
    a, b = 0.2, 0.7
    box = interval_eval(expr, t, a, b)
    values = fn(np.linspace(a, b, 2001))
    assert float(box.a) <= values.min() and values.max() <= float(box.b)


def test_an_operation_without_interval_form_is_said():
    with pytest.raises(Unsupported):
        interval_eval(sp.tanh(t), t, 0.0, 1.0)
    LinearSDE("-1", g2="1 + tanh(t)")  # the grid check then stands: still accepted
