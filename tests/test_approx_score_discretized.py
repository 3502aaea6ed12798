"""stochasticity.approx-score-discretized: its wrong-variance score against the closed form, its
decide rule on both sides, and a planted chain that drops the score error."""

import numpy as np
import pytest

from analytic import OU, Gaussian
from verify.claims.base import RunContext
from verify.claims.stochasticity import approx_score_discretized as A


def test_wrong_variance_score_is_the_score_of_the_wrong_gaussian():
    """s~(x, t) = -(x - a m) / (a^2 k v0 + s^2), written out by hand."""
    sde, data = OU(2.0), Gaussian(np.array([1.0]), 4.0)
    x, t, k = np.array([[-1.0], [0.3], [2.5]]), 0.7, 2.0
    a, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    want = -(x - a * 1.0) / (a * a * k * 4.0 + s2)
    assert np.allclose(A.wrong_variance_score(sde, data, k)(x, t), want, rtol=1e-12)
    with pytest.raises(ValueError):
        A.wrong_variance_score(sde, data, 0.0)


def _result(fine_kl1, finest_err=1e-3):
    cont = {"e": [0.1, 0.2]}  # continuous: gamma = 1 hurts
    rows = [
        ["e", m, n, 0.1 + (finest_err if n == 400 else 1e-2), kl1]
        for m in A.APPROX_DISC_METHODS
        for n, kl1 in ((5, 0.05), (100, fine_kl1), (400, 0.2 + finest_err))
    ]
    return A.ApproxDiscResult(rows, cont)


def test_decide_both_sides():
    ok = A.decide_approx_disc(_result(0.21))
    assert ok.verdict == "holds" and "e euler N=5" in ok.reason  # the coarse flip is reported
    assert A.decide_approx_disc(_result(0.05)).verdict == "fails"  # wrong direction at N=100
    assert A.decide_approx_disc(_result(0.21, finest_err=0.5)).verdict == "fails"  # no convergence


def test_a_chain_that_drops_the_score_error_fails(monkeypatch):
    """Plant the bug the claim guards against: the discrete chains use the exact score."""
    real = A._chain_kl

    def planted(sde, data, init, grid, gamma, method, err):
        return real(sde, data, init, grid, gamma, method, err if method is None else None)

    monkeypatch.setattr(A, "_chain_kl", planted)
    d = A.decide_approx_disc(A.compute_approx_disc(RunContext("quick", stream=None)))
    assert d.verdict == "fails", d.reason
