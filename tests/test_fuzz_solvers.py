"""Fuzzing the solvers' public API: malformed input gives ValueError/TypeError or a finite result.

Each test draws every argument of one public entry point (``grids.*``, ``reverse_sample``,
``exact_law``, ``solve_reverse_fp``, ``step_coefficients``) from a strategy that mixes valid
values with malformed ones (NaN, inf, negative, huge, wrong shape, wrong type, strings,
callables that misbehave). The only outcomes allowed are a ``ValueError`` / ``TypeError``
raised by the toolkit, or a result that is finite everywhere. Anything else (another
exception type, a NaN or inf in the output, a hang) is a bug.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytic import OU, VE, VP, Gaussian
from verify.solvers import grids
from verify.solvers.chain_laws import exact_law
from verify.solvers.fokker_planck import solve_reverse_fp
from verify.solvers.particles import reverse_sample, step_coefficients

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SDES = [VP(0.1, 20.0), VE(0.01, 10.0), OU(T=1.0)]
DATA = Gaussian([0.5, -0.2], [[1.0, 0.3], [0.3, 0.6]])

bad_numbers = st.sampled_from(
    [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e308, -1e308, 1e-320, "1", None, True, 2.5j]
)
gammas = st.one_of(
    st.floats(0.0, 3.0),
    bad_numbers,
    st.just(lambda t: -1.0),
    st.just(lambda t: math.nan),
    st.just(lambda t: "x"),
    st.just(lambda t: 0.5 * t),
    st.just([1.0, 2.0]),
)
methods = st.sampled_from(
    ["euler", "exponential", "heun", "ddpm", "ancestral", "pc", "Euler", "", 3]
)


def _grids(sde):
    T = sde.T
    return st.one_of(
        st.integers(1, 12).map(lambda n: grids.uniform(sde, n, t_min=0.01 * T)),
        st.just(np.array([T, 0.5 * T, 0.7 * T])),  # not decreasing
        st.just(np.array([T])),
        st.just(np.array([[T, 0.1 * T]])),
        st.just(np.array([2 * T, 0.1 * T])),  # beyond the horizon
        st.just(np.array([T, math.nan])),
        st.just(np.array([T, -0.1])),
        st.just("0.5"),
        st.just([]),
    )


def _finite(out) -> bool:
    if isinstance(out, Gaussian):
        return bool(np.all(np.isfinite(out.mean)) and np.all(np.isfinite(out.cov)))
    arr = np.asarray(out.final if hasattr(out, "final") else out, dtype=np.float64)
    return bool(np.all(np.isfinite(arr)))


def _allowed(call):
    try:
        out = call()
    except (ValueError, TypeError):
        return "rejected"
    assert _finite(out), "a result with NaN or inf"
    return "finite"


starts = st.one_of(
    st.just(np.zeros((5, 2))),
    st.just(np.full((5, 2), math.nan)),
    st.just(np.zeros((5, 3))),
    st.just(np.zeros(5)),
    st.just(np.zeros((0, 2))),
    st.just(np.full((5, 2), 1e300)),
    st.just("x"),
)


def _score_variants():
    exact = [sde.score(DATA) for sde in SDES]
    return st.one_of(
        st.sampled_from(exact),
        st.just(lambda x, t: np.full_like(x, math.nan)),
        st.just(lambda x, t: np.zeros((1, 1))),
        st.just(lambda x, t: "score"),
        st.just(lambda x, t: -x * 1e200),
    )


@FUZZ
@given(
    st.sampled_from(SDES),
    st.data(),
    gammas,
    methods,
    starts,
    _score_variants(),
    st.sampled_from([1, 3, 0, -2, 2.5, "4"]),
)
def test_reverse_sample_rejects_or_answers_finite(sde, data, gamma, method, x_T, score, chunk):
    grid = data.draw(_grids(sde))
    rng = np.random.default_rng(0)
    _allowed(lambda: reverse_sample(sde, score, x_T, grid, gamma, method, rng, chunk_size=chunk))


inits = st.one_of(
    st.just(Gaussian([0.0, 0.0], 1.0)),
    st.just(Gaussian([0.0], 1.0)),
    st.just(Gaussian([1e200, 0.0], 1.0)),
    st.just(np.zeros(2)),
    st.just(None),
)


@FUZZ
@given(
    st.sampled_from(SDES),
    st.data(),
    gammas,
    st.one_of(methods, st.none()),
    inits,
    st.sampled_from([{}, {"snr": -1.0}, {"snr": math.nan}, {"n_corrector": 0}, {"n_corrector": -1},
                     {"n_corrector": 1.5}, {"predictor": "pc"}, {"predictor": "heun"}]),
)  # fmt: skip
def test_exact_law_rejects_or_answers_finite(sde, data, gamma, method, init, kwargs):
    grid = data.draw(_grids(sde))
    if method is None and isinstance(grid, np.ndarray) and grid.ndim == 1 and grid.size >= 2:
        grid = (float(grid[0]), float(grid[-1]))
    kw = kwargs if method == "pc" else {}
    _allowed(lambda: exact_law(sde, DATA, init, grid, gamma, method, **kw))


@FUZZ
@given(
    st.sampled_from(SDES),
    st.one_of(st.integers(-3, 30), bad_numbers),
    st.one_of(st.floats(-1.0, 2.0), bad_numbers),
    st.one_of(st.floats(-1.0, 60.0), bad_numbers),
    st.one_of(st.floats(-1.0, 10.0), bad_numbers),
)
def test_grids_reject_or_answer_finite(sde, n, a, b, rho):
    for call in (
        lambda: grids.uniform(sde, n, t_min=a),
        lambda: grids.quadratic(sde, n, t_min=a),
        lambda: grids.log_snr(sde, n, t_min=a),
        lambda: grids.karras(sde, n, a, b, rho),
        lambda: grids.truncate(grids.uniform(sde, 10, t_min=0.01 * sde.T), sde, b),
    ):
        _allowed(call)


@FUZZ
@given(st.sampled_from(SDES), st.data(), gammas, methods)
def test_step_coefficients_reject_or_answer_finite(sde, data, gamma, method):
    grid = data.draw(_grids(sde))
    _allowed(lambda: step_coefficients(sde, grid, gamma, method))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.sampled_from(
        [
            ((-6.0, 6.0),),
            ((6.0, -6.0),),
            ((-6.0, math.nan),),
            ((-6.0, 6.0), (-6.0, 6.0), (0, 1)),
            "x",
        ]
    ),
    st.sampled_from([64, 4, 0, -5, 2.5, (64, 64), "64"]),
    gammas,
    st.sampled_from(
        [lambda x, t: -x, lambda x, t: np.full_like(x, math.nan), lambda x, t: np.zeros((1,))]
    ),
)
def test_solve_reverse_fp_rejects_or_answers_finite(bounds, n_cells, gamma, score):
    sde = OU(T=1.0)
    times = np.linspace(1.0, 0.1, 6)

    def call():
        res = solve_reverse_fp(sde, score, lambda x: -0.5 * np.sum(x * x, axis=1), times, gamma,
                               bounds=bounds, n_cells=n_cells, log=True)  # fmt: skip
        return res.density

    _allowed(call)


@pytest.mark.parametrize("gamma", ["1", None, True, [1.0]])
def test_a_gamma_that_is_not_a_number_is_rejected_everywhere(gamma):
    """``reverse_sample(gamma="1")`` was accepted while ``exact_law`` rejected it."""
    sde = VP(0.1, 20.0)
    grid = grids.uniform(sde, 4, t_min=0.01)
    x = np.zeros((3, 2))
    with pytest.raises(TypeError, match="gamma must be a number"):
        reverse_sample(sde, sde.score(DATA), x, grid, gamma, "euler", np.random.default_rng(0))
    with pytest.raises(TypeError, match="gamma must be a number"):
        exact_law(sde, DATA, sde.prior(2), grid, gamma, "euler")
