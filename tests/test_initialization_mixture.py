"""Tests of verify.theory.mixture_chain and the mixture claims initialization.gmm-bound-terms,
initialization.optimal-sigma-t (paper 2, arXiv 2603.00772; issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import EDM, Gaussian, GaussianMixture, kl
from verify.claims import initialization_paper2 as P2
from verify.solvers.chain_laws import exact_law
from verify.theory import mixture_chain as mc
from verify.theory.start_laws import kl_bound_terms

_C = np.array([[0.09, 0.03], [0.03, 0.05]])
_M = np.array([0.3, -0.2])


def _one_gaussian():
    return GaussianMixture([1.0], _M[None], _C[None]), Gaussian(_M, _C)


def test_authors_sigma_T_are_nodes_14_16_19_of_the_40_node_grid():
    assert [P2._node(s) for s in P2._SIGMA_T] == [14, 16, 19]
    # the 79-node grid (each step halved) contains them too, at twice the index
    s79 = P2.authors_sigmas(79)
    for s, j in zip(P2._SIGMA_T, (28, 32, 38), strict=True):
        assert s79[j] == pytest.approx(s, rel=1e-8)
    with pytest.raises(ValueError, match="not a node"):
        P2._node(1.0)


@pytest.mark.parametrize("method", ["exponential", "ancestral"])
def test_grid_chain_law_matches_the_exact_gaussian_chain_law(method):
    gm, g = _one_gaussian()
    sig = np.array([1.2, 0.8, 0.5, 0.3])
    start = Gaussian(np.zeros(2), 1.2**2)
    law = mc.chain_density_2d(gm, start, sig, method, 64)
    exact = exact_law(EDM(3.0), g, start, sig, 1.0, method)
    target = Gaussian(_M, _C + 0.3**2 * np.eye(2))
    assert law.mass == pytest.approx(1.0, abs=1e-3)  # the box follows the target, not the chain
    assert mc.grid_kl(target, law) == pytest.approx(kl(target, exact), rel=1e-3)
    assert kl(target, exact) > 0.02  # a real discretization error, not a vanishing one


def test_e_disc_monte_carlo_against_the_gaussian_closed_form():
    gm, g = _one_gaussian()
    sig = np.array([1.2, 0.8, 0.5, 0.3])
    e, se = mc.e_disc_steps(gm, sig, 4000, np.random.default_rng(0))
    exact = kl_bound_terms(EDM(3.0), g, Gaussian(np.zeros(2), 1.44), sig).disc
    tot, tot_se = e.sum(), np.sqrt(np.sum(se**2))
    assert abs(tot - exact) < 3.5 * tot_se
    assert tot_se < 0.05 * exact


def test_mixture_chain_rejects_bad_input():
    gm, _ = _one_gaussian()
    with pytest.raises(ValueError, match="decreasing"):
        mc.chain_density_2d(gm, Gaussian(np.zeros(2), 1.0), [0.5, 0.8], "exponential", 32)
    with pytest.raises(ValueError, match="method"):
        mc.step_variance(1.0, 0.5, "heun")
    with pytest.raises(ValueError, match="8 nodes"):
        mc.grid_axes(gm, 1.0, 4)


def test_planted_noisy_chain_breaks_the_bound(monkeypatch):
    """The bug the claim guards against: a chain step with the wrong noise (here twice the
    exponential integrator's variance) is not the chain the bound is proved for; from the exact
    p_T at sigma_T = 0.801 its KL exceeds E_disc on the authors' GMM (the grid resolves both)."""
    j = P2._node(0.8012415)
    e, se = P2._e_disc(0, 2000)
    bound, half = float(e[j:].sum()), 3 * float(np.sqrt(np.sum(se[j:] ** 2)))
    assert P2._chain_kl("exact p_T", j, "exponential", 56) < bound - half
    real = mc.step_variance
    monkeypatch.setattr(mc, "step_variance", lambda t, s, m: 2.0 * real(t, s, m))
    assert P2._chain_kl("exact p_T", j, "exponential", 56) > bound + half


def _row(kl, bound, se=1e-3, kl_coarse=None):
    kl_coarse = kl if kl_coarse is None else kl_coarse
    return [0.8, "prior", bound / 2, bound / 2, se, bound, kl, kl_coarse, kl]


def test_decide_gmm_bound_on_both_sides():
    r = P2.GmmBoundResult([_row(0.1, 0.3), _row(0.05, 0.2)], 72, 56, [])
    assert P2.decide_gmm_bound(r).verdict == "holds"
    r.rows.append(_row(0.35, 0.3))
    assert P2.decide_gmm_bound(r).verdict == "fails"
    # a grid error comparable with the margin cannot decide
    r = P2.GmmBoundResult([_row(0.1, 0.3, kl_coarse=0.15)], 72, 56, [])
    assert P2.decide_gmm_bound(r).verdict == "inconclusive"
    r = P2.GmmBoundResult([_row(0.3, 0.3005)], 72, 56, [])
    assert P2.decide_gmm_bound(r).verdict == "inconclusive"


def _opt(bounds, kls, se=1e-3):
    s = P2.authors_sigmas()
    return P2.OptimalResult(
        [[j, s[j], 0.0, b, se, b, k] for j, (b, k) in enumerate(zip(bounds, kls, strict=True))],
        56,
        [],
    )


def test_decide_optimal_on_both_sides():
    b = [0.5, 0.4, 0.3, 0.35, 0.45, 0.6, 0.8]
    assert P2.decide_optimal(_opt(b, [0.3, 0.2, 0.1, 0.15, 0.2, 0.3, 0.4])).verdict == "holds"
    assert P2.decide_optimal(_opt(b, [0.3, 0.2, 0.18, 0.15, 0.2, 0.1, 0.4])).verdict == "fails"
    flat = [0.3] * 7
    assert P2.decide_optimal(_opt(flat, b)).verdict == "inconclusive"
    assert P2.plausible_minimisers([1.0, 0.5, 0.502, 0.9], [0.001] * 4) == [1, 2]


# ------------------------------------------------------------------ heavy tails, d = 10
def test_heavy_tail_grid_is_the_authors_karras_grid():
    s = P2.heavy_tail_sigmas()
    assert s.size == 26 and s[0] == pytest.approx(2.3) and s[-1] == pytest.approx(0.002)
    assert np.all(np.diff(s ** (1 / 3)) == pytest.approx(np.diff(s ** (1 / 3))[0]))


def test_student_t_second_moment_against_monte_carlo():
    from verify.theory.start_laws import student_t_mixture

    tm = student_t_mixture(3, 4, df=8.0, seed=1, n_quad=31, standardize="exact")
    x = tm.sample(200_000, np.random.default_rng(0))
    y = np.sum(x * x, axis=1)
    assert abs(y.mean() - P2.second_moment(tm)) < 4 * y.std() / np.sqrt(y.size)
    tm.df = 2.0
    with pytest.raises(ValueError, match="infinite"):
        P2.second_moment(tm)


def test_prior_start_kl_of_a_near_gaussian_mixture_is_the_gaussian_kl():
    """With df = 1e4 the t-mixture of one mode is N(mu, Sigma): KL to N(0, s^2 I) closed form."""
    from verify.theory.start_laws import StudentTMixture

    mu, cov = np.array([0.3, -0.1]), np.array([[0.5, 0.1], [0.1, 0.3]])
    tm = StudentTMixture([1.0], mu[None], cov[None], df=1e4, n_quad=61, s_range=(-1.0, 1.0))
    value, se, _ = P2.prior_start_kl(tm, 1.5, 40_000, np.random.default_rng(0))
    exact = kl(Gaussian(mu, cov + 1.5**2 * np.eye(2)), Gaussian(np.zeros(2), 1.5**2))
    assert abs(value - exact) < 4 * se + 1e-3


def _ht(init, e_total, se=0.01, q=1e-6):
    e = np.full(25, e_total / 25)
    return P2.HeavyTailResult(init, se, init, e, np.full(25, se / 5), q, 400, [])


def test_decide_heavy_tail_on_both_sides():
    assert P2.decide_heavy_tail(_ht(0.5, 0.2)).verdict == "holds"
    assert P2.decide_heavy_tail(_ht(0.2, 3.5)).verdict == "fails"
    assert P2.decide_heavy_tail(_ht(0.3, 0.3)).verdict == "inconclusive"
    assert P2.decide_heavy_tail(_ht(0.5, 0.2, q=5e-3)).verdict == "inconclusive"
