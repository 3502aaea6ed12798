r"""Tails of a sampler's output along directions (arXiv 2603.00772 v2 §5).

The mathematics is in docs/claims/initialization.md#heavy-tails.

For samples ``x`` of a generated law and ``y`` of the true law in ``R^d`` and a unit direction
``v``, the one-dimensional projections ``|<x - m, v>|`` (``m`` the true law's coordinatewise
median) are compared through their upper quantiles ``Q(q)`` at levels ``q`` close to 1; a
generated/true ratio ``Q_x(q) / Q_y(q)`` below 1 means the generated law has lighter tails
along ``v``. Its confidence interval is a percentile bootstrap resampling both samples.

Directions. The sliced 1-Wasserstein distance along ``v`` between two samples of the same size
is ``W_1(v) = mean |sort(<x, v>) - sort(<y, v>)|`` (the quantile coupling is optimal in 1-D);
the max-sliced distance is its maximum over a set of directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TailComparison", "sliced_w1", "tail_comparison"]


def sliced_w1(x: np.ndarray, y: np.ndarray, dirs: np.ndarray, center=None) -> np.ndarray:
    """``W_1`` of the projections of ``x`` and ``y`` (same size ``n``) on each row of ``dirs``.

    ``mean_i |sort(<x - c, v>)_i - sort(<y - c, v>)_i|`` for each ``v``; ``(n_dirs,)``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    c = np.zeros(x.shape[1]) if center is None else np.asarray(center, float)
    px = np.sort((x - c) @ dirs.T, axis=0)
    py = np.sort((y - c) @ dirs.T, axis=0)
    return np.mean(np.abs(px - py), axis=0)


@dataclass
class TailComparison:
    """Tail quantiles of generated samples against true samples along one direction.

    ``q_true`` the true quantiles at ``levels``; ``q[name]`` the generated ones; ``ratio[(name,
    level)] = (ratio, lo, hi)`` for ``level`` in ``ratio_levels`` (percentile bootstrap);
    ``w1[name]`` the sliced ``W_1`` along the chosen direction; ``direction`` the unit vector.
    """

    levels: tuple
    ratio_levels: tuple
    q_true: np.ndarray
    q: dict
    ratio: dict
    w1: dict
    direction: np.ndarray
    n: int
    n_truth: int
    extra: dict = field(default_factory=dict)


def _bootstrap_ratios(pt_v, pg, ratio_levels, n_boot, rng):
    boot = {k: [] for k in pg}
    for _ in range(n_boot):
        qt = np.quantile(pt_v[rng.integers(0, pt_v.size, pt_v.size)], ratio_levels)
        for k, x in pg.items():
            boot[k].append(np.quantile(x[rng.integers(0, x.size, x.size)], ratio_levels) / qt)
    return {k: np.asarray(b) for k, b in boot.items()}


def tail_comparison(
    truth: np.ndarray,
    outs: dict,
    rng: np.random.Generator,
    *,
    extra_dirs: np.ndarray | None = None,
    n_random: int = 256,
    worst_of: str | None = None,
    levels=(0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999),
    ratio_levels=(0.99, 0.999),
    n_boot: int = 200,
) -> TailComparison:
    """Compare the tails of the generated samples ``outs[name]`` with ``truth`` (module docstring).

    The direction is the one of largest sliced ``W_1`` for ``outs[worst_of]`` among
    ``n_random`` random directions and ``extra_dirs``. ``ratio`` has a 95% percentile-bootstrap
    interval from ``n_boot`` resamples of both samples.
    """
    n = min(len(x) for x in outs.values())
    d = truth.shape[1]
    dirs = rng.standard_normal((n_random, d))
    if extra_dirs is not None:
        dirs = np.vstack([dirs, extra_dirs])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    m = np.median(truth, axis=0)
    w1 = {k: sliced_w1(v[:n], truth[:n], dirs, m) for k, v in outs.items()}
    j = int(np.argmax(w1[worst_of]))
    v = dirs[j]
    pt_v = np.abs((truth - m) @ v)
    pg = {k: np.abs((x - m) @ v) for k, x in outs.items()}
    q_true = np.quantile(pt_v, levels)
    q = {k: np.quantile(x, levels) for k, x in pg.items()}
    boot = _bootstrap_ratios(pt_v, pg, ratio_levels, n_boot, rng)
    ratio = {}
    for k in outs:
        for i, lv in enumerate(ratio_levels):
            lo, hi = np.quantile(boot[k][:, i], [0.025, 0.975])
            ratio[(k, lv)] = (q[k][levels.index(lv)] / q_true[levels.index(lv)], lo, hi)
    return TailComparison(
        tuple(levels),
        tuple(ratio_levels),
        q_true,
        q,
        ratio,
        {k: float(w[j]) for k, w in w1.items()},
        v,
        n,
        truth.shape[0],
    )


# ------------------------------------------------ exact projected quantiles (Student-t)
def projected_t_mixture(weights, means, covs, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``<X, v>`` for ``X ~ sum_k w_k t_nu(mu_k, Sigma_k)``: the 1-D mixture of
    ``t_nu(<mu_k, v>, v^T Sigma_k v)`` (a location-scale family is closed under projection).
    Returns ``(weights, locations, scales)``."""
    v = np.asarray(v, dtype=np.float64)
    return (
        np.asarray(weights, float),
        np.asarray(means, float) @ v,
        np.sqrt(np.einsum("i,kij,j->k", v, np.asarray(covs, float), v)),
    )


def _mix_cdf(y, w, m, s, df, sigma, gh):
    from scipy.special import stdtr

    z, om = gh
    y = np.asarray(y, float)[..., None, None]
    arg = (y - sigma * z[:, None] - m[None, :]) / s[None, :]
    return np.sum(om[:, None] * w[None, :] * stdtr(df, arg), axis=(-2, -1))


def abs_quantiles_exact(w, m, s, df, levels, sigma: float = 0.0, n_gh: int = 16):
    """Exact quantiles of ``|Y - c|``, ``Y ~ sum_k w_k t_df(m_k, s_k^2) * N(0, sigma^2)`` and
    ``c`` its median; returns ``(c, quantiles)``. The Gaussian convolution is integrated by
    ``n_gh``-node Gauss-Hermite (exact to round-off for ``sigma << s_k``); roots by Brent."""
    from scipy.optimize import brentq

    zh, wh = np.polynomial.hermite_e.hermegauss(int(n_gh))
    gh = (zh, wh / wh.sum())
    span = float(np.max(np.abs(m)) + 1e4 * np.max(s))

    def cdf(y):
        return float(_mix_cdf(y, w, m, s, df, sigma, gh))

    c = brentq(lambda y: cdf(y) - 0.5, -span, span, xtol=1e-14, rtol=1e-14)
    qs = [
        brentq(lambda y, q=q: cdf(c + y) - cdf(c - y) - q, 0.0, span, xtol=1e-14, rtol=1e-14)
        for q in levels
    ]
    return c, np.asarray(qs)


def quantile_ci(x, levels, conf: float = 0.95):
    """Sample quantiles of ``x`` and distribution-free ``conf`` intervals from order statistics.

    For the ``q``-quantile of ``m`` i.i.d. draws, ``[x_(l), x_(u)]`` with ``l, u`` the
    ``(1 - conf)/2`` and ``(1 + conf)/2`` quantiles of ``Binomial(m, q)`` (1-indexed, ``u``
    plus one) covers the true quantile with probability ``>= conf`` (David and Nagaraja 2003,
    §7.1); ``inf`` where ``u > m``. Returns arrays ``(estimate, lo, hi)``.
    """
    from scipy.stats import binom

    xs = np.sort(np.asarray(x, float))
    m = xs.size
    est = np.quantile(xs, levels)
    lo_r = binom.ppf((1 - conf) / 2, m, levels).astype(int)  # number of points below: l - 1
    hi_r = binom.ppf((1 + conf) / 2, m, levels).astype(int) + 1
    lo = np.where(lo_r >= 1, xs[np.clip(lo_r - 1, 0, m - 1)], -np.inf)
    hi = np.where(hi_r <= m, xs[np.clip(hi_r - 1, 0, m - 1)], np.inf)
    return est, lo, hi
