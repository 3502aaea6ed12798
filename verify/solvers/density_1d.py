r"""Densities of 1-D samplers on a uniform cell grid, and KL divergences by quadrature.

Rung 3 of the exactness ladder (docs/theory.md#the-fokker-planck-grid): the output density of
a sampler with an arbitrary (nonlinear, learned) score, for 1-D targets.

* :func:`ddpm_density_1d`: the density after the discrete DDPM chain (the ``"ddpm"`` method of
  ``verify.solvers.methods``; docs/theory.md#exact-chain-laws gives its Gaussian law)

      y' = (y + v s(y, t)) / a + sqrt(v) xi,    (a, v) = sde.transition(s, t),

  propagated on a uniform cell-centred grid: the mass of cell ``i`` moves to cell ``j`` with
  the exact Gaussian cell probability ``Phi((b_j - m_i)/sqrt v) - Phi((a_j - m_i)/sqrt v)``,
  ``m_i = (x_i + v s(x_i, t)) / a``, ``[a_j, b_j]`` the edges of cell ``j``. Mass is
  conserved up to the tails leaving the box (reported); very narrow kernels are exact.
  Placing each step's mass at the cell centres adds at most about ``h^2 / 12`` of variance
  per step (tested against the exact Gaussian law of the chain).
* :func:`kl_quadrature_1d`: ``KL(p || q) = int p log(p / q)`` for two 1-D laws with exact
  log-densities, by the trapezoid rule on ``mean(p) +- 12 sd(p)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["ddpm_density_1d", "kl_quadrature_1d"]


def ddpm_density_1d(sde, score, q0, x, grid_times) -> tuple[np.ndarray, float]:
    """Density after the VE/VP DDPM chain on ``grid_times`` (module docstring).

    ``q0``: density values at the uniform cell centres ``x`` (1-D, spacing ``h``); ``score``:
    ``(x (n, 1), t) -> (n, 1)``. Uses ``(a, v) = sde.transition(s, t)`` and the step
    ``y' = (y + v s(y, t)) / a + sqrt(v) xi`` exactly as ``reverse_sample(method="ddpm")``.
    Returns ``(q, lost)``: the density on the same cells and the total mass that left the
    box (already excluded from ``q``).
    """
    x = np.asarray(x, dtype=np.float64)
    h = float(x[1] - x[0])
    edges = np.concatenate([x - h / 2, [x[-1] + h / 2]])
    q = np.asarray(q0, dtype=np.float64) * h  # cell masses
    start = q.sum()
    for t, s in zip(grid_times[:-1], grid_times[1:], strict=True):
        a, v = (float(np.asarray(c)) for c in np.broadcast_arrays(*sde.transition(s, t)))
        m = (x + v * score(x[:, None], float(t))[:, 0]) / a
        sd = np.sqrt(v)
        cdf = ndtr((edges[:, None] - m[None, :]) / sd)  # (n+1, n): edge j, source i
        q = np.diff(cdf, axis=0) @ q
    return q / h, float(start - q.sum())


def kl_quadrature_1d(p, q, n: int = 20001) -> float:
    """``KL(p || q)`` for 1-D laws by the trapezoid rule on ``mean(p) +- 12 sd(p)``."""
    m, sd = float(p.mean[0]), float(np.sqrt(p.cov[0, 0]))
    x = np.linspace(m - 12 * sd, m + 12 * sd, n)[:, None]
    lp, lq = p.log_prob(x), q.log_prob(x)
    return float(np.trapezoid(np.exp(lp) * (lp - lq), x[:, 0]))
