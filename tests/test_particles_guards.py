"""``reverse_sample``'s guards and bookkeeping: each against what its docstring promises.

The reference chains here are written out in the test (Euler-Maruyama from its definition,
``y' = (1 - h f) y + h (1+g)/2 g2 s(y, t) + sqrt(g g2 h) xi``), not taken from the sampler.
"""

from __future__ import annotations

import numpy as np
import pytest

import verify.runtime.progress as progress_module
from analytic import EDM, VP, Gaussian
from verify.solvers import grids
from verify.solvers.particles import reverse_sample

DATA = Gaussian([0.5, -0.3], [[0.8, 0.2], [0.2, 0.5]])


def _euler_by_hand(sde, score, x, grid, gamma, noise):
    y = np.array(x, dtype=float)
    for k, (t, s) in enumerate(zip(grid[:-1], grid[1:], strict=True)):
        h, f, g2, g = t - s, float(sde.f(t)), float(sde.g2(t)), gamma(t)
        y = (1 - h * f) * y + h * 0.5 * (1 + g) * g2 * score(y, t) + np.sqrt(g * g2 * h) * noise[k]
    return y


def test_a_gamma_schedule_is_applied_at_every_step_start():
    sde = VP(0.1, 20.0)
    grid = grids.uniform(sde, 12, t_min=1e-3)
    rng = np.random.default_rng(3)
    x = sde.prior(2).sample(50, rng)
    noise = rng.standard_normal((12, 50, 2))

    def schedule(t):  # stochastic early, deterministic late
        return 1.5 if t > 0.5 else 0.0

    out = reverse_sample(sde, sde.score(DATA), x, grid, schedule, "euler", noise=noise)
    ref = _euler_by_hand(sde, sde.score(DATA), x, grid, schedule, noise)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_particles_near_the_float_limit_are_finite_even_when_their_sum_is_not():
    # f = 0 and a zero score: the ODE step is the identity; 1e308 + 1e308 overflows, the
    # particles do not, so this is not a non-finite state
    sde = EDM(10.0)
    x = np.array([[1e308], [1e308]])
    out = reverse_sample(sde, lambda y, t: np.zeros_like(y), x, [10.0, 5.0, 1.0], 0.0, "euler")
    np.testing.assert_array_equal(out, x)


def test_trajectory_indices_run_from_zero_to_the_number_of_steps():
    sde = VP()
    grid = grids.uniform(sde, 5, t_min=1e-2)
    x = np.zeros((3, 2))
    res = reverse_sample(sde, sde.score(DATA), x, grid, 0.0, "euler", return_trajectory=[0, 5])
    np.testing.assert_array_equal(res.trajectory[0], x)
    np.testing.assert_array_equal(res.trajectory[5], res.final)
    for bad in ([6], [-1]):
        with pytest.raises(ValueError, match=r"return_trajectory indices must lie in 0\.\.5"):
            reverse_sample(sde, sde.score(DATA), x, grid, 0.0, "euler", return_trajectory=bad)


def test_a_start_with_nan_or_inf_is_named():
    sde = VP()
    for bad in (np.nan, np.inf):
        x = np.zeros((4, 2))
        x[2, 1] = bad
        with pytest.raises(ValueError, match="x_T contains NaN or inf"):
            reverse_sample(sde, sde.score(DATA), x, grids.uniform(sde, 4), 0.0, "euler")


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_a_score_of_the_wrong_shape_is_named_not_broadcast(method):
    sde = VP()
    x = np.zeros((4, 2))
    row = lambda y, t: np.ones((1, y.shape[1]))  # would broadcast silently over the rows
    with pytest.raises(ValueError, match=r"score returned shape \(1, 2\) for input of shape"):
        reverse_sample(sde, row, x, grids.uniform(sde, 4), 0.0, method)


def test_the_progress_bar_is_shown_only_when_asked(monkeypatch):
    calls = []

    def spy(it, **kw):
        calls.append(kw["desc"])
        return it

    monkeypatch.setattr(progress_module, "progress", spy)
    sde = VP()
    x = np.zeros((10, 2))
    run = lambda p: reverse_sample(
        sde, sde.score(DATA), x, grids.uniform(sde, 3), 0.0, "euler", progress=p, chunk_size=4
    )
    quiet = run(False)
    assert calls == []
    np.testing.assert_array_equal(run(True), quiet)
    assert calls == ["reverse_sample[euler]"]
