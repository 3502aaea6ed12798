"""Tests of the sample-only kNN estimators in verify.estimators (exactness ladder, rung 5).

References are independent of the estimators: Gaussian entropy ``1/2 log det(2 pi e S)`` and
the closed-form Gaussian KL (``analytic.kl``), and a brute-force neighbour search.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma, gammaln

from analytic import Gaussian, kl
from verify.estimators import kl_to_known, knn_entropy, knn_kl

_P = Gaussian([0.3, -0.2], np.array([[1.0, 0.6], [0.6, 0.8]]))
_Q = Gaussian([0.0, 0.0], np.array([[1.5, -0.2], [-0.2, 1.0]]))


def _gauss_entropy(p: Gaussian) -> float:
    cov = np.atleast_2d(p.cov) if np.ndim(p.cov) == 2 else np.diag(np.broadcast_to(p.cov, p.dim))
    return 0.5 * float(np.linalg.slogdet(2 * np.pi * np.e * cov)[1])


@pytest.mark.parametrize(
    "p, n, seed",
    [
        (_P, 10_000, 2026),
        (Gaussian([1.0, 2.0], 0.05), 10_000, 2027),
        (Gaussian([0.0], 4.0), 5_000, 2028),
        (Gaussian(np.zeros(3), [0.5, 1.0, 2.0]), 20_000, 2029),
    ],
    ids=["corr-2d", "iso-2d", "1d", "diag-3d"],
)
def test_knn_entropy_ci_contains_gaussian_entropy(p, n, seed):
    est = knn_entropy(p.sample(n, np.random.default_rng(seed)), level=0.99)
    assert est.contains(_gauss_entropy(p)), (est, _gauss_entropy(p))
    assert est.hi - est.lo < 0.1


@pytest.mark.parametrize("seed", [10, 11])
def test_kl_to_known_ci_contains_closed_form_kl(seed):
    x = _P.sample(10_000, np.random.default_rng(seed))
    est = kl_to_known(x, _Q.log_prob, level=0.99)
    assert est.contains(kl(_P, _Q)), (est, kl(_P, _Q))
    # the array form of logp gives the same estimate
    assert kl_to_known(x, _Q.log_prob(x)).value == est.value


def test_kl_to_known_of_exact_samples_is_zero_within_ci():
    x = _P.sample(20_000, np.random.default_rng(12))
    est = kl_to_known(x, _P.log_prob)
    assert est.contains(0.0) and abs(est.value) < 0.02, est


@pytest.mark.parametrize("seed", [20, 21])
def test_wang_kulkarni_verdu_ci_contains_closed_form_kl(seed):
    rng = np.random.default_rng(seed)
    est = knn_kl(_P.sample(10_000, rng), _Q.sample(12_000, rng), level=0.99)
    assert est.contains(kl(_P, _Q)), (est, kl(_P, _Q))


def test_batch_means_interval_has_nominal_coverage():
    """40 replications at n = 2000: the 95% batch-means CIs of ``kl_to_known`` cover the true
    KL(P || Q) in >= 85% of them, and their mean se is within 25% of the replication sd."""
    truth = kl(_P, _Q)
    ests = [
        kl_to_known(_P.sample(2_000, np.random.default_rng(500 + r)), _Q.log_prob)
        for r in range(40)
    ]
    assert np.mean([e.contains(truth) for e in ests]) >= 0.85
    sd = np.std([e.value for e in ests], ddof=1)
    assert np.mean([e.se for e in ests]) == pytest.approx(sd, rel=0.25)


def test_knn_entropy_bias_shrinks_with_n():
    truth = _gauss_entropy(_P)

    def bias(n, reps):
        vals = [
            knn_entropy(_P.sample(n, np.random.default_rng(100 + r)), k=5).value
            for r in range(reps)
        ]
        return np.mean(vals) - truth, np.std(vals) / np.sqrt(reps)

    b_small, se_small = bias(500, 30)
    b_large, se_large = bias(8_000, 10)
    assert abs(b_small) > 3 * se_small  # a real, measurable bias at n = 500 ...
    assert abs(b_large) < 0.5 * abs(b_small)  # ... that shrinks with n
    assert abs(b_large) < 0.02


def _brute_kth(points, query, k, exclude_self):
    d = np.sqrt(((query[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    return np.sort(d, axis=1)[:, k if exclude_self else k - 1]


def test_estimators_match_brute_force_neighbour_search():
    rng = np.random.default_rng(30)
    x, y = _P.sample(300, rng), _Q.sample(250, rng)
    n, d, k = 300, 2, 3
    eps = _brute_kth(x, x, k, True)
    logv = 0.5 * d * np.log(np.pi) - gammaln(d / 2 + 1)
    h = digamma(n) - digamma(k) + logv + d * np.mean(np.log(eps))
    assert knn_entropy(x, k, n_batches=5).value == pytest.approx(h, abs=1e-12)
    lq = _Q.log_prob(x)
    assert kl_to_known(x, lq, k, n_batches=5).value == pytest.approx(-h - lq.mean(), abs=1e-12)
    nu = _brute_kth(y, x, 5, False)
    rho = _brute_kth(x, x, 5, True)
    wkv = d * np.mean(np.log(nu / rho)) + np.log(250 / 299)
    assert knn_kl(x, y, n_batches=5).value == pytest.approx(wkv, abs=1e-12)


def test_knn_estimators_reject_bad_input():
    x = _P.sample(400, np.random.default_rng(40))
    with pytest.raises(ValueError, match="duplicate"):
        knn_entropy(np.vstack([x, x]))
    with pytest.raises(ValueError, match="same dimension"):
        knn_kl(x, x[:, :1])
    with pytest.raises(ValueError, match="too few"):
        knn_entropy(x[:50], n_batches=20)
    with pytest.raises(ValueError, match="NaN"):
        kl_to_known(x, lambda z: np.full(z.shape[0], -np.inf))
    with pytest.raises(ValueError, match="k must"):
        knn_kl(x, x + 1.0, k=0)
