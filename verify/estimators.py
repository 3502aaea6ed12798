"""Monte-Carlo divergences with confidence intervals (exactness ladder, rung 4).

``kl_mc(p, q, n, rng)`` estimates ``KL(p || q) = E_p[log p(X) - log q(X)]`` from ``n`` draws
of ``p`` with exact log-densities. The estimator is the sample mean of
``Y = log p(X) - log q(X)``; its CI is the normal interval ``mean +- z * sd/sqrt(n)`` (CLT;
``Var Y`` is finite whenever both laws have Gaussian tails).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Estimate", "mean_ci", "kl_mc"]


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
    if x is None:
        x = p.sample(int(n), rng)
    return mean_ci(p.log_prob(x) - q.log_prob(x), level)
