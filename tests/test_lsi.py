"""Log-Sobolev / Poincare constants (analytic.lsi): exact values, bounds, 1-D estimates."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from analytic import OU, VP, Gaussian, GaussianMixture, kl
from analytic.lsi import (
    gaussian_lsi,
    lsi_constant_1d,
    marginal_lsi_bound,
    mixture_lsi_bakry_emery,
    mixture_lsi_ccnw,
    poincare_constant_1d,
    propagate_lsi,
    relative_fisher_gaussian,
)


def _spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.3 * np.eye(d)


@pytest.mark.parametrize(
    "cov, expected",
    [(2.5, 2.5), (np.array([1.0, 3.0, 0.2]), 3.0), (np.array([[2.0, 1.0], [1.0, 2.0]]), 3.0)],
)
def test_gaussian_lsi_is_the_largest_eigenvalue(cov, expected):
    assert gaussian_lsi(cov) == pytest.approx(expected, rel=1e-14)
    d = 1 if np.ndim(cov) == 0 else len(cov)
    assert gaussian_lsi(Gaussian(np.zeros(d), cov)) == pytest.approx(expected, rel=1e-14)


def test_gaussian_lsi_rejects_non_pd():
    with pytest.raises(ValueError):
        gaussian_lsi(np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_relative_fisher_1d_matches_quadrature():
    q, p = Gaussian(np.array([0.7]), 2.0), Gaussian(np.array([-0.2]), 0.5)

    def integrand(x):
        xx = np.array([[x]])
        return float(np.exp(q.log_prob(xx))[0] * ((q.score(xx) - p.score(xx))[0, 0]) ** 2)

    ref, _ = integrate.quad(integrand, -30, 30, epsabs=1e-13, epsrel=1e-12)
    assert relative_fisher_gaussian(q, p) == pytest.approx(ref, rel=1e-9)


def test_relative_fisher_2d_matches_monte_carlo():
    rng = np.random.default_rng(1)
    q = Gaussian(np.array([0.2, -1.0]), _spd(rng, 2))
    p = Gaussian(np.array([0.5, 0.3]), _spd(rng, 2))
    x = q.sample(200_000, rng)
    v = np.sum((q.score(x) - p.score(x)) ** 2, axis=1)
    se = v.std() / np.sqrt(v.size)
    assert abs(relative_fisher_gaussian(q, p) - v.mean()) < 5 * se


def test_relative_fisher_is_zero_for_equal_laws():
    p = Gaussian(np.array([1.0, 2.0]), np.array([[2.0, 0.3], [0.3, 1.0]]))
    assert relative_fisher_gaussian(p, p) == pytest.approx(0.0, abs=1e-14)


@given(
    seed=st.integers(0, 10_000),
    d=st.integers(1, 3),
)
def test_lsi_inequality_holds_for_random_gaussians(seed, d):
    """KL(q||p) <= C(p)/2 I(q|p) with C(p) = lambda_max(cov p)."""
    rng = np.random.default_rng(seed)
    p = Gaussian(rng.normal(size=d), _spd(rng, d))
    q = Gaussian(rng.normal(size=d), _spd(rng, d))
    assert kl(q, p) <= 0.5 * gaussian_lsi(p) * relative_fisher_gaussian(q, p) * (1 + 1e-12)


def test_lsi_is_an_equality_for_a_mean_shift_of_an_isotropic_gaussian():
    p = Gaussian(np.zeros(3), 1.7)
    q = Gaussian(np.array([0.3, -1.0, 2.0]), 1.7)
    assert kl(q, p) == pytest.approx(0.5 * gaussian_lsi(p) * relative_fisher_gaussian(q, p))


@pytest.mark.parametrize("sde", [OU(2.0), VP(0.1, 20.0, 1.0)])
def test_propagated_bound_is_exact_for_gaussian_data(sde):
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    data = Gaussian(np.zeros(2), cov)
    for t in (0.1, 0.5, 1.0):
        exact = gaussian_lsi(sde.marginal(data, t))
        assert marginal_lsi_bound(sde, gaussian_lsi(cov), t) == pytest.approx(exact, rel=1e-12)
    assert propagate_lsi(2.0, 0.5, 0.75) == pytest.approx(1.25)
    with pytest.raises(ValueError):
        propagate_lsi(-1.0, 0.5, 0.75)


def test_poincare_and_lsi_estimates_of_a_gaussian():
    g = Gaussian(np.array([0.3]), 2.0)
    assert poincare_constant_1d(g.log_prob, (-12, 12), 400) == pytest.approx(2.0, rel=1e-3)
    assert lsi_constant_1d(g.log_prob, (-12, 12), 200, n_modes=12) == pytest.approx(2.0, rel=2e-3)


def test_bakry_emery_bound_dominates_the_estimates_of_a_log_concave_mixture():
    m = GaussianMixture([0.4, 0.6], [[-0.5], [0.5]], [1.0, 1.0])
    be = mixture_lsi_bakry_emery(m)
    assert be == pytest.approx(1.0 / (1.0 - 0.25))
    est = lsi_constant_1d(m.log_prob, (-10, 10), 200, n_modes=12)
    assert poincare_constant_1d(m.log_prob, (-10, 10), 200) <= est * (1 + 1e-9)
    assert est <= be


def test_bakry_emery_bound_single_component_and_separated_modes():
    one = GaussianMixture([1.0], [[0.0, 0.0]], [[2.0, 0.5]])
    assert mixture_lsi_bakry_emery(one) == pytest.approx(2.0)
    far = GaussianMixture([0.5, 0.5], [[-3.0], [3.0]], [1.0, 1.0])
    assert mixture_lsi_bakry_emery(far) == np.inf
    with pytest.raises(ValueError):
        mixture_lsi_bakry_emery(GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [1.0, 2.0]))


def test_asymmetric_double_well_lsi_exceeds_poincare():
    """Chafai-Malrieu effect: unequal weights separate the two constants."""
    m = GaussianMixture([0.2, 0.8], [[-2.0], [2.0]], [1.0, 1.0])
    cp = poincare_constant_1d(m.log_prob, (-11, 11), 300)
    cl = lsi_constant_1d(m.log_prob, (-11, 11), 300, n_modes=16)
    assert cl > 1.1 * cp
    # the recalled [M] bound must at least lie above the estimate
    assert mixture_lsi_ccnw(m) >= cl


def test_numerical_estimates_reject_bad_input():
    g = Gaussian(np.zeros(1), 1.0)
    with pytest.raises(ValueError):
        poincare_constant_1d(g.log_prob, (1.0, -1.0))
    with pytest.raises(ValueError):
        lsi_constant_1d(g.log_prob, (-1.0, 1.0), n=3)


def test_lsi_inputs_are_checked():
    g = Gaussian(np.zeros(1), 1.0)
    with pytest.raises(TypeError):
        gaussian_lsi("x")
    with pytest.raises(ValueError, match="square"):
        gaussian_lsi(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        gaussian_lsi([])
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_lsi(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="overflows"):
        propagate_lsi(1e308, 1e10, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        propagate_lsi(np.nan, 1.0, 0.0)
    with pytest.raises(ValueError, match="sigma2"):
        propagate_lsi(1.0, 1.0, -0.5)
    with pytest.raises(TypeError, match="q must be a Gaussian"):
        relative_fisher_gaussian("q", g)
    with pytest.raises(TypeError, match="p must be a Gaussian"):
        relative_fisher_gaussian(g, "p")
    with pytest.raises(ValueError, match="positive-definite"):
        relative_fisher_gaussian(Gaussian([0.0], 0.0), g)
    with pytest.raises(ValueError, match="dimensions differ"):
        relative_fisher_gaussian(Gaussian(np.zeros(2), 1.0), g)
    with pytest.raises(TypeError, match="GaussianMixture"):
        mixture_lsi_bakry_emery(g)
    with pytest.raises(ValueError, match="positive definite"):
        mixture_lsi_bakry_emery(GaussianMixture([1.0], [[0.0]], [0.0]))
    with pytest.raises(ValueError, match="isotropic"):
        mixture_lsi_ccnw(GaussianMixture([1.0], [[0.0, 0.0]], [[1.0, 2.0]]))
    with pytest.raises(ValueError, match="positive component variance"):
        mixture_lsi_ccnw(GaussianMixture([1.0], [[0.0]], [0.0]))
    with pytest.raises(TypeError, match="callable"):
        poincare_constant_1d("logp", (-1.0, 1.0))
    for bounds in [(0.0, np.inf), (1.0, 1.0), (0.0, 1.0, 2.0)]:
        with pytest.raises(ValueError, match="bounds"):
            poincare_constant_1d(g.log_prob, bounds)
    for n in (True, 7, 10**5 + 1, 20.0):
        with pytest.raises(ValueError, match="n must be an integer"):
            poincare_constant_1d(g.log_prob, (-1.0, 1.0), n)
    with pytest.raises(ValueError, match="n_modes"):
        lsi_constant_1d(g.log_prob, (-1.0, 1.0), 16, n_modes=1)
    with pytest.raises(ValueError, match="finite values"):
        poincare_constant_1d(lambda x: np.full(len(x), np.nan), (-1.0, 1.0), 16)
    with pytest.raises(ValueError, match="narrow the bounds"):
        poincare_constant_1d(lambda x: -1e4 * x[:, 0] ** 2, (-10.0, 10.0), 16)
    assert poincare_constant_1d(g.log_prob, (-8.0, 8.0), 8) > 0  # n = 8 is allowed


def test_mixture_bounds_by_hand_for_diagonal_and_isotropic_components():
    # common diagonal covariance diag(1, 2), means at distance D = 1: kappa = min(1 - 1/4,
    # 1/2 - 1/16) = 7/16
    m = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 0.0]], [[1.0, 2.0], [1.0, 2.0]])
    assert mixture_lsi_bakry_emery(m) == pytest.approx(16.0 / 7.0, rel=1e-14)
    # isotropic t = 1, means +-1: R = 1 around the centroid, 6 (4 + 1) e^4
    m = GaussianMixture([0.3, 0.7], [[-1.0], [1.0]], [1.0, 1.0])
    assert mixture_lsi_ccnw(m) == pytest.approx(30.0 * np.exp(4.0), rel=1e-14)
    huge = GaussianMixture([0.5, 0.5], [[-100.0], [100.0]], [1.0, 1.0])
    assert mixture_lsi_ccnw(huge) == np.inf  # vacuous bound beyond float64
    assert mixture_lsi_bakry_emery(huge) == np.inf
    assert marginal_lsi_bound(OU(2.0), 3.0, np.array([0.0, 1.0])).tolist() == pytest.approx(
        [3.0, 3.0 * np.exp(-2.0) + 1 - np.exp(-2.0)], rel=1e-14
    )


def test_lsi_estimate_edges_and_gradient():
    g = Gaussian(np.zeros(1), 1.0)
    assert propagate_lsi(0.0, 0.5, 0.75) == 0.75  # c0 = 0: a point mass
    # kappa = 1/lam - D^2/(4 lam^2) = 1 - 4/4 = 0 exactly: no bound
    assert (
        mixture_lsi_bakry_emery(GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [1.0, 1.0])) == np.inf
    )
    assert poincare_constant_1d(g.log_prob, (-8.0, 8.0), 10**5) == pytest.approx(1.0, rel=1e-6)
    # never below the Poincare constant, even when BFGS cannot beat it (3 modes)
    cl = lsi_constant_1d(g.log_prob, (-8.0, 8.0), 64, n_modes=3)
    assert cl >= poincare_constant_1d(g.log_prob, (-8.0, 8.0), 64)


def test_entropy_ratio_gradient_matches_finite_differences():
    from analytic.lsi import _grid_weights, _modes, _neg_ratio

    m = GaussianMixture([0.2, 0.8], [[-2.0], [2.0]], [1.0, 1.0])
    _, pi, face = _grid_weights(m.log_prob, (-8.0, 8.0), 64)
    basis = _modes(pi, face, 5)
    c = np.array([1.0, 0.4, -0.3, 0.2, 0.1])
    val, grad = _neg_ratio(c, basis, pi, face)
    h = 1e-6
    fd = [
        (_neg_ratio(c + h * e, basis, pi, face)[0] - _neg_ratio(c - h * e, basis, pi, face)[0])
        / (2 * h)
        for e in np.eye(5)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    assert val < 0


def test_huge_domains_raise_instead_of_returning_inf():
    """Found by tests/test_fuzz_analytic.py: on [0, 1e300] the face weights underflow and
    lambda_1 = 0 gave C_P = inf; the constant (~1e600) is not representable."""
    with pytest.raises(ValueError, match="under/overflow|not representable"):
        poincare_constant_1d(lambda x: np.zeros(len(x)), (0.0, 1e300), 16)
