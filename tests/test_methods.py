"""The method records' coefficient tables and option checks (``verify.solvers.methods``).

Each expected value comes from the definition of the step, not from the code under test: the
ancestral step at its largest gamma is pure noise (``C^2 = sigma2(s)``), an overflowing
coefficient is named, and the ``pc`` options reject what their docstring excludes.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytic import EDM, VE, VP
from verify.solvers.methods import pc_options, step_tables

GRID = np.array([0.9, 0.5])


@pytest.mark.parametrize("sde", [VP(0.1, 20.0), VE(0.01, 10.0)], ids=["VP", "VE"])
def test_ancestral_accepts_its_largest_gamma_where_the_step_is_pure_noise(sde):
    # gamma_max = sigma2(t) / v(s, t): then c2 = gamma sigma2(s) v / sigma2(t) = sigma2(s) up to
    # rounding, and the step keeps none of the deterministic part's noise: C^2 = sigma2(s).
    t, s = GRID[:-1], GRID[1:]
    _, v = sde.transition(s, t)
    g_max = np.asarray(sde.sigma2(t) / v, dtype=float)
    tables = step_tables(sde, GRID, g_max, "ancestral")
    np.testing.assert_allclose(tables.C**2, sde.sigma2(s), rtol=1e-12)
    # B = A sigma2(t) when the remaining deterministic noise is zero (DDIM with eta maximal)
    np.testing.assert_allclose(tables.B, tables.A * sde.sigma2(t), rtol=1e-10)
    with pytest.raises(ValueError, match="more noise"):
        step_tables(sde, GRID, g_max * (1 + 1e-6), "ancestral")


class _NoNoiseAtStart:
    """VP's transition with a sigma2 that vanishes at the second step start (not a valid SDE:
    the step tables read only ``transition`` and ``sigma2``; this tests their guard)."""

    _vp = VP(0.1, 20.0)

    def transition(self, s, t):
        return self._vp.transition(s, t)

    def sigma2(self, t):
        t = np.asarray(t)
        return np.where((t > 0.6) & (t < 0.8), 0.0, self._vp.sigma2(t))


def test_ancestral_names_a_step_that_starts_without_noise():
    grid = np.array([0.9, 0.7, 0.5])
    with pytest.raises(ValueError, match=r"sigma2\(t\) > 0 at every step start.* at step 1$"):
        step_tables(_NoNoiseAtStart(), grid, np.ones(2), "ancestral")


@pytest.mark.parametrize(
    "sde, grid, gamma, method",
    [
        (EDM(1e100), [1e100, 1.0], 1e200, "euler"),  # B = h (1+gamma)/2 g2 ~ 1e400
        (VP(0.1, 20.0), [1.0, 1e-3], 1e307, "euler"),
        (VP(0.1, 20.0), [1.0, 1e-3], 1e305, "exponential"),
    ],
)
def test_overflowing_coefficients_are_named(sde, grid, gamma, method):
    with pytest.raises(ValueError, match=f"method '{method}': the step coefficients overflow"):
        step_tables(sde, np.array(grid), np.array([gamma]), method)


def test_stochastic_flag_sees_small_noise_coefficients():
    # a fine grid has C_k << 1: the method is still stochastic at gamma > 0
    grid = np.linspace(1.0, 0.9, 11)
    sde = VP(0.1, 20.0)
    noisy = step_tables(sde, grid, np.full(10, 1e-4), "euler")
    assert np.all(noisy.C < 1e-2) and noisy.stochastic
    assert not step_tables(sde, grid, np.zeros(10), "euler").stochastic


@pytest.mark.parametrize("snr", [-0.1, -1e-300, float("nan"), float("inf")])
def test_pc_rejects_a_snr_that_is_negative_or_not_finite(snr):
    with pytest.raises(ValueError, match="snr must be finite and >= 0"):
        pc_options(snr=snr)


@pytest.mark.parametrize("n", [-1, 1.5, -0.5])
def test_pc_rejects_a_corrector_count_that_is_not_a_non_negative_integer(n):
    with pytest.raises(ValueError, match="n_corrector must be a non-negative integer"):
        pc_options(n_corrector=n)


def test_pc_with_snr_zero_or_no_corrector_is_its_predictor():
    sde, grid = VP(0.1, 20.0), np.linspace(1.0, 1e-3, 6)
    g = np.ones(5)
    plain = step_tables(sde, grid, g, "euler")
    for opts in ({"snr": 0.0}, {"n_corrector": 0}, {"snr": 0}):
        pc = step_tables(sde, grid, g, "pc", **opts)
        assert not np.any(pc.active)
        np.testing.assert_array_equal(pc.predictor.B, plain.B)
    assert pc_options(snr=0.0, n_corrector=0) == {
        "predictor": "euler",
        "snr": 0.0,
        "n_corrector": 0,
    }
