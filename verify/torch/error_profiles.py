r"""The error field of a score model against the exact score, and its profile over time.

``e(x, t) = s_theta(x, t) - grad log p_t(x)`` with the exact score of the toolkit's target
(:func:`error_field`), and its profile over ``t``, the Monte-Carlo estimate with a CLT
confidence interval of ``E_{p_t} |e(X, t)|^2`` over exact draws ``X ~ p_t``
(:func:`error_profile`): the integrand of the score term ``1/2 int g^2 E_{p_t}|e|^2 dt`` of
the KL bounds of arXiv 2603.00772 §3 and arXiv 2206.05173 §2.2. Works with any score
callable (a :class:`~verify.torch.numpy_net.NumpyScore`, a ``TorchScore``); no torch import.
"""

from __future__ import annotations

import numpy as np

from verify.estimators import Estimate, mean_ci

__all__ = ["error_field", "error_profile"]


def error_field(score, sde, data):
    """``e(x, t) = score(x, t) - grad log p_t(x)`` with ``p_t = sde.marginal(data, t)``."""
    exact = sde.score(data)

    def e(x, t):
        return np.asarray(score(x, t), dtype=np.float64) - exact(x, t)

    return e


def error_profile(
    score, sde, data, ts, n: int, rng: np.random.Generator, level: float = 0.95
) -> list[Estimate]:
    """``E_{p_t}|e(X, t)|^2`` at each ``t`` in ``ts`` by Monte Carlo over ``n`` exact draws
    of ``p_t`` (``mean_ci`` at ``level``)."""
    e = error_field(score, sde, data)
    out = []
    for t in np.atleast_1d(np.asarray(ts, dtype=np.float64)):
        x = sde.marginal(data, float(t)).sample(int(n), rng)
        out.append(mean_ci(np.sum(e(x, float(t)) ** 2, axis=1), level))
    return out
