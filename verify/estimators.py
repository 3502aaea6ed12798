"""Divergences with confidence intervals: Monte Carlo (exactness ladder rung 4) and kNN (rung 5).

``kl_mc(p, q, n, rng)`` estimates ``KL(p || q) = E_p[log p(X) - log q(X)]`` from ``n`` draws
of ``p`` with exact log-densities. The estimator is the sample mean of
``Y = log p(X) - log q(X)``; its CI is the normal interval ``mean +- z * sd/sqrt(n)`` (CLT;
``Var Y`` is finite whenever both laws have Gaussian tails).

Sample-only estimators (rung 5) for laws known only through samples (a particle sampler's
output), all built on k-th nearest-neighbour distances (``scipy.spatial.cKDTree``, Euclidean):

* ``knn_entropy(x, k)`` -- Kozachenko-Leonenko (1987) differential entropy, in the form of
  Kraskov, Stoegbauer, Grassberger (2004, eq. 20) and Singh et al. (2003):

      H_hat = psi(n) - psi(k) + log V_d + (d/n) sum_i log eps_i,

  ``eps_i`` the distance from ``x_i`` to its k-th nearest neighbour among the other points,
  ``V_d = pi^{d/2} / Gamma(d/2 + 1)`` the volume of the unit ball, ``psi`` the digamma function.
* ``kl_to_known(x, logp, k)`` -- ``KL(P || Q) = -H(P) - E_P[log q]`` for samples ``x ~ P`` and an
  exact log-density ``log q``: ``-H_hat(x) - mean(log q(x))``. Only ``H(P)`` is estimated, so
  this is better conditioned than a two-sample estimator when ``q`` is known (the target).
* ``knn_kl(x, y, k)`` -- Wang, Kulkarni, Verdu (2009, IEEE Trans. Inf. Theory 55(5), eq. 5)
  two-sample estimator of ``KL(P || Q)`` from ``x ~ P`` (n points) and ``y ~ Q`` (m points):

      D_hat = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)),

  ``rho_k(i)`` the k-th NN distance of ``x_i`` within ``x`` (itself excluded), ``nu_k(i)`` its
  k-th NN distance within ``y``.

All three are consistent (``k`` fixed, ``n -> inf``) under mild conditions on the densities
(Wang et al. 2009; Berrett, Samworth, Yuan 2019, Ann. Statist. 47(1)); their bias decays with
``n`` at a rate set by ``d`` and by the smoothness and tails of the density (larger near sharp
features) and is NOT covered by the interval.

The interval is a **batch-means** CI: the rows are split into ``n_batches`` strided batches
``x[b::B]`` (``y`` likewise), the estimator is recomputed on each batch, and
``se = sd(batch estimates) / sqrt(B)`` (the variance of a root-n estimator on n points is that
of one batch of n/B points divided by B); the interval is ``full-sample estimate +- t_{B-1} se``.
A bootstrap is not used: resampling with replacement duplicates points, and a zero neighbour
distance breaks every kNN estimator. Rows must be i.i.d. draws (their order not tied to the
batch index). Duplicate points raise ``ValueError``.

Measured accuracy (100 replications during development; ``tests/test_estimators.py`` re-checks
coverage over 40; ``d = 2`` correlated Gaussians ``P``, ``Q``, ``KL(P || Q) = 0.478``,
``H(P) = 2.427``): the batch-means ``se`` matches the replication sd within ~10%; the bias of
``kl_to_known`` is ``+0.0135`` (k = 3) / ``+0.018`` (k = 5) nats at n = 2000 and ``+0.006`` /
``+0.007`` at n = 10000, so the 95% interval covers the truth ~92-95% of the time with k = 3
and ~88% with k = 5 (the bias is not in the interval); ``knn_entropy`` (k = 3, n = 10000):
bias ``-0.001``, coverage 96%; ``knn_kl`` (k = 5): bias ``-0.002`` at n = 2000, ``-0.0005`` at
n = 10000, coverage 91-94%. Hence ``k = 3`` is the default of ``knn_entropy`` /
``kl_to_known``; a claim should also run the estimator on exact samples of its target (true
KL = 0) to show the bias at its own n: for the 25-mode grid GMM of paper 2 (narrow components)
``kl_to_known`` (k = 3, n = 20000) gives 0.004-0.025 nats on exact draws (seeds 0-3), i.e. a
bias of ~0.01-0.02 nats there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["Estimate", "mean_ci", "kl_mc", "knn_entropy", "kl_to_known", "knn_kl"]


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo estimate with a two-sided confidence interval."""

    value: float
    lo: float
    hi: float
    level: float
    n: int
    se: float

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.lo:.4g}, {self.hi:.4g}] ({self.level:.0%} CI, n={self.n})"


def mean_ci(y, level: float = 0.95) -> Estimate:
    """Sample mean of ``y`` with a CLT confidence interval at ``level``."""
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size < 2:
        raise ValueError("need at least 2 samples for a confidence interval")
    if not np.all(np.isfinite(y)):
        raise ValueError("samples contain NaN or inf")
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    m = float(y.mean())
    se = float(y.std(ddof=1) / np.sqrt(y.size))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Estimate(m, m - z * se, m + z * se, level, int(y.size), se)


def kl_mc(p, q, n: int, rng: np.random.Generator, level: float = 0.95, x=None) -> Estimate:
    """``KL(p || q)`` by Monte Carlo over draws of ``p`` (or given samples ``x`` of ``p``)."""
    dp, dq = getattr(p, "dim", None), getattr(q, "dim", None)
    if dp is not None and dq is not None and dp != dq:
        raise ValueError(f"p and q have different dimensions ({dp} vs {dq})")
    if x is None:
        x = p.sample(int(n), rng)
    return mean_ci(p.log_prob(x) - q.log_prob(x), level)


# ------------------------------------------------------------ kNN estimators (rung 5)
def _samples(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be an (n, d) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _check_knn_args(n: int, k: int, n_batches: int, level: float, name: str = "x") -> None:
    if not (isinstance(k, int | np.integer) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not (isinstance(n_batches, int | np.integer) and n_batches >= 2):
        raise ValueError(f"n_batches must be an integer >= 2, got {n_batches!r}")
    if n // n_batches < k + 2:
        raise ValueError(
            f"{name}: n = {n} points are too few for {n_batches} batches with k = {k} "
            f"(need n >= {(k + 2) * n_batches}); lower n_batches or k"
        )
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")


def _kth_distance(points: np.ndarray, query: np.ndarray, k: int, exclude_self: bool, name: str):
    """Distance from each query row to its k-th nearest neighbour among ``points``."""
    from scipy.spatial import cKDTree

    kk = k + 1 if exclude_self else k
    if exclude_self:  # also the nearest other point, to detect duplicates
        dist, _ = cKDTree(points).query(query, k=sorted({2, kk}))
        nearest, dist = dist[:, 0], dist[:, -1]
    else:
        dist = cKDTree(points).query(query, k=[kk])[0][:, 0]
        nearest = dist
    if np.any(nearest <= 0.0):
        raise ValueError(
            f"{name} has duplicate points (a zero neighbour distance): the kNN estimators "
            "need draws from a continuous law (no resampling with replacement)"
        )
    return dist


def _log_unit_ball(d: int) -> float:
    return 0.5 * d * np.log(np.pi) - float(special.gammaln(0.5 * d + 1.0))


def _entropy_point(x: np.ndarray, k: int) -> float:
    n, d = x.shape
    eps = _kth_distance(x, x, k, True, "x")
    return float(
        special.digamma(n) - special.digamma(k) + _log_unit_ball(d) + d * np.mean(np.log(eps))
    )


def _batch_means(full: float, batches: list[float], level: float, n: int) -> Estimate:
    b = np.asarray(batches, dtype=np.float64)
    B = b.size
    se = float(b.std(ddof=1) / np.sqrt(B))
    q = float(stats.t.ppf(0.5 + level / 2, B - 1))
    return Estimate(full, full - q * se, full + q * se, level, int(n), se)


def knn_entropy(x, k: int = 3, *, level: float = 0.95, n_batches: int = 20) -> Estimate:
    """Kozachenko-Leonenko entropy ``H(P) = -E_P log p`` (nats) from samples ``x ~ P`` (n, d).

    ``H_hat = psi(n) - psi(k) + log V_d + (d/n) sum_i log eps_i`` (module docstring), with a
    batch-means CI over ``n_batches`` strided batches. ``Estimate.n`` is the number of points.
    """
    x = _samples(x, "x")
    _check_knn_args(x.shape[0], k, n_batches, level)
    full = _entropy_point(x, int(k))
    return _batch_means(
        full,
        [_entropy_point(x[b::n_batches], int(k)) for b in range(n_batches)],
        level,
        x.shape[0],
    )


def kl_to_known(x, logp, k: int = 3, *, level: float = 0.95, n_batches: int = 20) -> Estimate:
    """``KL(P || Q) = -H(P) - E_P[log q(X)]`` from samples ``x ~ P`` and the exact ``log q``.

    ``logp`` is a callable ``(n, d) -> (n,)`` (e.g. ``target.log_prob``) or the array of
    ``log q(x_i)`` values. ``-H_hat(x) - mean(log q(x))`` with the Kozachenko-Leonenko
    ``H_hat``; batch-means CI (module docstring): each batch uses its own ``H_hat`` and mean.
    """
    x = _samples(x, "x")
    _check_knn_args(x.shape[0], k, n_batches, level)
    lq = np.asarray(logp(x) if callable(logp) else logp, dtype=np.float64).ravel()
    if lq.shape[0] != x.shape[0]:
        raise ValueError(f"logp gave {lq.shape[0]} values for {x.shape[0]} points")
    if not np.all(np.isfinite(lq)):
        raise ValueError("logp(x) contains NaN or inf: q must be positive on the samples")
    k = int(k)
    full = -_entropy_point(x, k) - float(lq.mean())
    batches = [
        -_entropy_point(x[b::n_batches], k) - float(lq[b::n_batches].mean())
        for b in range(n_batches)
    ]
    return _batch_means(full, batches, level, x.shape[0])


def _wkv(x: np.ndarray, y: np.ndarray, k: int) -> float:
    n, d = x.shape
    m = y.shape[0]
    rho = _kth_distance(x, x, k, True, "x")
    nu = _kth_distance(y, x, k, False, "y")
    return float(d * np.mean(np.log(nu) - np.log(rho)) + np.log(m / (n - 1.0)))


def knn_kl(x, y, k: int = 5, *, level: float = 0.95, n_batches: int = 20) -> Estimate:
    """Wang-Kulkarni-Verdu (2009) kNN estimator of ``KL(P || Q)`` from ``x ~ P``, ``y ~ Q``.

    ``D_hat = (d/n) sum_i log(nu_k(i)/rho_k(i)) + log(m/(n-1))`` (module docstring); batch-means
    CI with batches ``x[b::B]`` paired with ``y[b::B]``. Prefer :func:`kl_to_known` when ``q``
    is known exactly. ``x`` and ``y`` must have the same dimension and no repeated points.
    """
    x, y = _samples(x, "x"), _samples(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    _check_knn_args(x.shape[0], k, n_batches, level, "x")
    _check_knn_args(y.shape[0], k, n_batches, level, "y")
    k = int(k)
    full = _wkv(x, y, k)
    batches = [_wkv(x[b::n_batches], y[b::n_batches], k) for b in range(n_batches)]
    return _batch_means(full, batches, level, x.shape[0])
