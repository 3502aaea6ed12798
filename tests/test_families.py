"""Gaussian and Gaussian-mixture families: densities, scores, samples, marginals, Tweedie."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

from analytic import OU, VE, VP, Gaussian, GaussianMixture
from verify.kit.strategies import gaussians, mixtures, points, sdes


def _fd_grad(fn, x, h=1e-4):
    """Sixth-order central differences of a scalar field evaluated row-wise."""
    n, d = x.shape
    g = np.empty((n, d))
    c = [(1, 3 / 4), (2, -3 / 20), (3, 1 / 60)]
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        g[:, j] = sum(w * (fn(x + k * e) - fn(x - k * e)) for k, w in c) / h
    return g


def _scipy_mixture_logpdf(p: GaussianMixture, x):
    comps = [
        np.log(p.weights[k])
        + stats.multivariate_normal(p.component(k).mean, p.component(k).cov).logpdf(x)
        for k in range(p.n_components)
    ]
    return logsumexp(np.stack(comps, -1).reshape(len(x), -1), axis=1)


@given(gaussians(), st.data())
def test_gaussian_log_prob_matches_scipy(p, data):
    x = data.draw(points(p.dim))
    ref = stats.multivariate_normal(p.mean, p.cov).logpdf(x)
    np.testing.assert_allclose(p.log_prob(x), np.atleast_1d(ref), rtol=1e-9, atol=1e-9)


@given(mixtures(), st.data())
def test_mixture_log_prob_matches_scipy_logsumexp(p, data):
    x = data.draw(points(p.dim))
    np.testing.assert_allclose(p.log_prob(x), _scipy_mixture_logpdf(p, x), rtol=1e-9, atol=1e-8)


@given(mixtures(max_cond=20.0), st.data())
def test_mixture_score_is_gradient_of_log_prob(p, data):
    x = data.draw(points(p.dim, scale=1.5))
    s = p.score(x)
    fd = _fd_grad(p.log_prob, x)
    np.testing.assert_allclose(s, fd, rtol=1e-5, atol=1e-5 * (1 + np.abs(fd).max()))


@given(gaussians(max_cond=20.0), st.data())
def test_gaussian_score_is_gradient_of_log_prob(p, data):
    x = data.draw(points(p.dim, scale=1.5))
    fd = _fd_grad(p.log_prob, x)
    np.testing.assert_allclose(p.score(x), fd, rtol=1e-5, atol=1e-5 * (1 + np.abs(fd).max()))


@given(mixtures(kinds=("iso", "diag")), st.data())
def test_compact_forms_agree_with_full_covariances(p, data):
    x = data.draw(points(p.dim))
    full = GaussianMixture(
        p.weights, p.means, np.stack([p.component(k).cov for k in range(p.n_components)])
    )
    np.testing.assert_allclose(p.log_prob(x), full.log_prob(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(p.score(x), full.score(x), rtol=1e-8, atol=1e-8)


def test_chunked_score_equals_unchunked():
    rng = np.random.default_rng(1)
    p = GaussianMixture(np.full(25, 0.04), rng.normal(0, 2, (25, 2)), rng.uniform(0.1, 1, 25))
    x = rng.normal(0, 3, (50_000, 2))
    direct = np.stack(
        [p.responsibilities(x)[:, k : k + 1] * (p.means[k] - x) / p.covs[k] for k in range(25)]
    ).sum(0)
    np.testing.assert_allclose(p.score(x), direct, rtol=1e-10, atol=1e-12)


def test_far_away_points_have_finite_scores():
    p = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [0.01, 0.02])
    s = p.score(np.array([[1e4], [-1e4]]))
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s[:, 0], [(1 - 1e4) / 0.02, (1 + 1e4) / 0.02], rtol=1e-12)


def _moment_check(x, mean, cov, z=4.5):
    n = len(x)
    xm = x.mean(0)
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(xm - mean) < z * se), (xm, mean)
    xc = x - xm
    prods = xc[:, :, None] * xc[:, None, :]
    se_c = prods.std(0) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(0) - cov) < z * se_c + 1e-12)


@pytest.mark.parametrize("sde", [VP(), VE(0.01, 10.0), OU(T=2.0)], ids=repr)
@pytest.mark.parametrize("t", [0.1, 0.5, 1.0])
def test_marginal_moments_equal_samples_through_exact_transition(sde, t):
    rng = np.random.default_rng(7)
    p0 = GaussianMixture(
        [0.3, 0.7],
        [[-1.0, 0.5], [2.0, 0.0]],
        np.array([[[0.5, 0.2], [0.2, 0.3]], [[0.2, 0.0], [0.0, 0.1]]]),
    )
    n = 40_000
    x0 = p0.sample(n, rng)
    xt = sde.alpha(t) * x0 + np.sqrt(sde.sigma2(t)) * rng.standard_normal(x0.shape)
    pt = sde.marginal(p0, t)
    _moment_check(xt, pt.mean, pt.cov)
    assert isinstance(pt, GaussianMixture)


@given(gaussians(max_dim=4), st.integers(0, 2**31))
def test_gaussian_samples_have_its_moments(p, seed):
    x = p.sample(20_000, np.random.default_rng(seed))
    _moment_check(x, p.mean, p.cov, z=5.0)


@pytest.mark.parametrize("sde,t", [(VP(), 0.3), (VE(0.01, 10.0), 0.2), (OU(), 0.4)], ids=str)
def test_tweedie_equals_importance_sampled_posterior_mean(sde, t):
    """E[X_0 | X_t = x] = (x + sigma2 grad log p_t(x)) / alpha, against self-normalised IS."""
    rng = np.random.default_rng(3)
    p0 = GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.5, 1.0]], [0.3, 0.2])
    a, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    xs = sde.marginal(p0, t).sample(4, rng)
    tweedie = (xs + s2 * sde.score(p0)(xs, t)) / a
    m = 400_000
    x0 = p0.sample(m, rng)
    for i, x in enumerate(xs):
        logw = -0.5 * np.sum((x - a * x0) ** 2, axis=1) / s2
        w = np.exp(logw - logw.max())
        w /= w.sum()
        est = w @ x0
        se = np.sqrt(np.sum(w[:, None] ** 2 * (x0 - est) ** 2, axis=0))
        assert np.all(np.abs(est - tweedie[i]) < 5 * se + 1e-9), (est, tweedie[i], se)


@given(sdes(), mixtures(max_dim=3), st.floats(0.05, 1.0), st.data())
def test_marginal_score_is_gradient_of_marginal_log_prob(sde, p0, frac, data):
    t = frac * sde.T
    pt = sde.marginal(p0, t)
    x = pt.sample(5, np.random.default_rng(data.draw(st.integers(0, 1000))))
    fd = _fd_grad(pt.log_prob, x, h=1e-4 * np.sqrt(float(np.min(np.diag(pt.cov)))))
    np.testing.assert_allclose(
        sde.score(p0)(x, t), fd, rtol=1e-4, atol=1e-4 * (1 + np.abs(fd).max())
    )


def test_isotropic_and_diagonal_paths_do_not_build_dxd_matrices():
    d = 2000  # a d x d float64 matrix would be 32 MB per component
    rng = np.random.default_rng(0)
    p = GaussianMixture(np.full(3, 1 / 3), rng.normal(size=(3, d)), rng.uniform(0.5, 1, (3, d)))
    import tracemalloc

    x = rng.normal(size=(100, d))
    tracemalloc.start()
    p.score(x)
    p.log_prob(x)
    VP().marginal(Gaussian(np.zeros(d), 2.0), 0.5).score(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * d * d / 2, peak  # one d x d matrix would be 8 d^2 bytes


BAD = [
    (lambda: Gaussian([0, 0], [[1, 2], [0, 1]]), "symmetric"),
    (lambda: Gaussian([0, 0], [[1, 2], [2, 1]]), "positive definite"),
    (lambda: Gaussian([0, 0], [-1.0, 1.0]), "negative"),
    (lambda: Gaussian([0, np.nan], 1.0), "NaN"),
    (lambda: Gaussian([0, 0], np.eye(3)), "shape"),
    (lambda: GaussianMixture([0.5, 0.6], [[0.0], [1.0]], [1.0, 1.0]), "normalize=True"),
    (lambda: GaussianMixture([-0.5, 1.5], [[0.0], [1.0]], [1.0, 1.0]), "non-negative"),
    (lambda: GaussianMixture([0.5, 0.5], [[0.0], [1.0], [2.0]], [1.0, 1.0]), "means"),
    (lambda: GaussianMixture([0.5, 0.5], [[0.0], [1.0]], [1.0, 1.0, 1.0]), "covs"),
    (lambda: Gaussian([0.0], 1.0).log_prob(np.zeros((3, 2))), r"shape \(n, 1\)"),
    (lambda: Gaussian([0.0], 0.0).score(np.zeros((1, 1))), "singular"),
    (lambda: Gaussian([0.0], 1.0).sample(3, 42), "Generator"),
]


@pytest.mark.parametrize("make,match", BAD, ids=[m for _, m in BAD])
def test_bad_input_raises_value_error_naming_it(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_normalize_rescales_weights():
    p = GaussianMixture([1.0, 3.0], [[0.0], [1.0]], [1.0, 1.0], normalize=True)
    np.testing.assert_allclose(p.weights, [0.25, 0.75])


def test_singular_data_has_regular_marginal_for_t_positive():
    p0 = Gaussian([1.0], 0.0)  # a point mass
    pt = VP().marginal(p0, 0.5)
    assert np.isfinite(pt.score(np.array([[0.3]]))).all()


@pytest.mark.parametrize("d", [1, 2, 5, 8, 10])
def test_full_covariance_feature_path_equals_per_component_solves(d):
    """d <= 8 uses quadratic features; the reference is the per-component Cholesky path."""
    rng = np.random.default_rng(d)
    K = 6
    A = rng.normal(size=(K, d, d))
    covs = A @ A.transpose(0, 2, 1) / d + 0.2 * np.eye(d)
    p = GaussianMixture(rng.dirichlet(np.ones(K)), rng.normal(0, 2, (K, d)), covs)
    x = rng.normal(0, 3, (3000, d))
    ref_logp = logsumexp(p._full_logits(x), axis=1)
    ref_score = p._full_score(x, np.empty_like(x))
    np.testing.assert_allclose(p.log_prob(x), ref_logp, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(p.score(x), ref_score, rtol=1e-8, atol=1e-8)
