"""Seeds are accepted the same way everywhere: an int seed or a numpy Generator."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import VP, Gaussian
from verify.runtime.seeds import as_generator
from verify.solvers.particles import reverse_sample
from verify.tightness.search import _rng


def test_as_generator_int_and_generator_give_the_same_stream():
    a = as_generator(7).standard_normal(5)
    b = np.random.default_rng(7).standard_normal(5)  # independent route: numpy itself
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(3)
    assert as_generator(g) is g
    assert as_generator(None) is None
    np.testing.assert_array_equal(as_generator(None, default=0).random(3),
                                  np.random.default_rng(0).random(3))  # fmt: skip


@pytest.mark.parametrize("bad", [True, -1, 1.5, "0", np.random.RandomState(0)])
def test_as_generator_rejects_what_is_not_a_seed(bad):
    with pytest.raises(TypeError, match="rng must be"):
        as_generator(bad)


def test_reverse_sample_accepts_an_int_seed_like_search():
    sde = VP()
    score = sde.score(Gaussian(np.zeros(1), np.eye(1)))
    x0 = np.zeros((50, 1))
    grid = np.linspace(1.0, 0.01, 11)
    by_int = reverse_sample(sde, score, x0, grid, 1.0, "euler", rng=0)
    by_gen = reverse_sample(sde, score, x0, grid, 1.0, "euler", rng=np.random.default_rng(0))
    np.testing.assert_array_equal(by_int, by_gen)
    with pytest.raises(TypeError, match="rng must be"):
        reverse_sample(sde, score, x0, grid, 1.0, "euler", rng=-3)
    # the tightness search takes the same two forms through the same helper
    np.testing.assert_array_equal(_rng(0).random(3), np.random.default_rng(0).random(3))
    with pytest.raises(TypeError, match="rng must be"):
        _rng(1.5)
