"""verify.theory.contraction: the convexity rate and W2 between reverse flows.

References: closed forms for OU and Gaussian data (the exact reverse-flow map is affine), a
finite difference of the analytic mixture score, scipy's normal quantiles.
"""

import numpy as np
import pytest
from scipy import stats

from analytic import OU, Gaussian, GaussianMixture
from verify.theory import contraction as ct
from verify.theory.common_noise import neg_log_hessian_1d


def test_kappa_gaussian_is_the_inverse_top_variance():
    sde = OU(T=1.0)
    data = Gaussian(np.zeros(2), np.array([[0.5, 0.1], [0.1, 0.2]]))
    t = np.array([0.0, 0.3, 1.0])
    lam = np.linalg.eigvalsh(data.cov).max()
    want = 1.0 / (np.exp(-2 * t) * lam + 1 - np.exp(-2 * t))
    np.testing.assert_allclose(ct.kappa_gaussian(sde, data, t), want, rtol=1e-13)


def test_mixture_neg_log_hessian_matches_a_finite_difference():
    sde = OU(T=1.0)
    p = GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [0.2, 0.4])
    x = np.linspace(-3, 3, 13)
    for t in (0.05, 0.5):
        got = ct.neg_log_hessian_mixture_1d(p, sde, [t], x)[0]
        want = neg_log_hessian_1d(sde.marginal(p, t), x[:, None])
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_kappa_1d_of_a_one_component_mixture_is_exact():
    sde = OU(T=1.0)
    p = GaussianMixture([1.0], [[0.4]], [0.3])
    t = np.array([0.1, 0.7])
    want = 1.0 / (np.exp(-2 * t) * 0.3 + 1 - np.exp(-2 * t))
    np.testing.assert_allclose(ct.kappa_1d(sde, p, t), want, rtol=1e-10)
    bimodal = GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [0.25, 0.25])
    assert ct.kappa_1d(sde, bimodal, [0.01])[0] < 0 < ct.kappa_1d(sde, bimodal, [1.0])[0]


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_contraction_factor_and_exact_flows_for_ou_gaussians(gamma):
    # 1-D OU, data N(0, v): S_t = e^{-2t} v + 1 - e^{-2t}; the reverse flows move an offset by
    # exp(int_0^tau (1 - (1 + gamma)/S)), which is exp(-int kappa_eff) exactly
    sde = OU(T=1.0)
    v = 0.4
    data = Gaussian(np.zeros(1), v)
    nodes = np.linspace(1.0, 0.05, 41)
    fac = ct.contraction_factor(sde, gamma, lambda t: ct.kappa_gaussian(sde, data, t), nodes)
    s = np.linspace(1.0, 0.05, 20001)
    S = np.exp(-2 * s) * v + 1 - np.exp(-2 * s)
    rate = 1.0 - (1.0 + gamma) / S
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * (s[:-1] - s[1:]))])
    want = np.exp(np.interp(-nodes, -s, cum))
    np.testing.assert_allclose(fac, want, rtol=1e-6)
    pT = sde.marginal(data, 1.0)
    w = ct.gaussian_w2_pair(sde, data, pT, Gaussian(pT.mean + 0.3, pT.cov), nodes, gamma)
    np.testing.assert_allclose(w / w[0], fac, rtol=1e-6)


def test_quantiles_and_flow_pair_factors_of_a_gaussian():
    sde = OU(T=1.0)
    data = GaussianMixture([1.0], [[0.2]], [0.3])
    pT = sde.marginal(data, 1.0)
    u = np.array([0.01, 0.3, 0.5, 0.9])
    q = ct.quantiles_1d(pT, u)
    want = float(pT.mean[0]) + np.sqrt(pT.cov[0, 0]) * stats.norm.ppf(u)
    np.testing.assert_allclose(q, want, atol=1e-6)
    nodes = np.linspace(1.0, 0.05, 40)
    res = ct.flow_pair_factors(sde, sde.score(data), q, 0.2, nodes, 2)
    fac = ct.contraction_factor(sde, 0.0, lambda t: ct.kappa_1d(sde, data, t), nodes)
    # the PF-ODE map of a Gaussian is affine: every pair moves by the same factor, the bound
    np.testing.assert_allclose(res["factor"][-1], fac[-1], rtol=1e-6)
    assert res["err"] < 1e-8
    with pytest.raises(ValueError, match="u"):
        ct.quantiles_1d(pT, [0.0])
