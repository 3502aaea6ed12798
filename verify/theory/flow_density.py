r"""Exact log-density of a deterministic sampler's output: the discrete change of variables.

The Heun sampler (gamma = 0; ``verify.solvers.methods``, Karras et al. 2022 Alg. 1) maps a
start point ``y_0 = x`` through ``y_{k+1} = Phi_k(y_k)`` with, per step from ``t`` to ``s``
(``h = t - s``, ``d(y, r) = -f(r) y + g(r)^2/2 grad log p_r(y)``),

    y~ = y + h d(y, t),        Phi_k(y) = y + h/2 [d(y, t) + d(y~, s)].

With ``D_r(y) = -f(r) I + g(r)^2/2 Hess log p_r(y)`` its Jacobian is

    dPhi_k/dy = I + h/2 [D_t(y) + D_s(y~) (I + h D_t(y))].

If every step is a diffeomorphism (``det > 0``, checked), the output ``Y = Phi(X)`` of a start
law ``q_0`` has the exact log-density

    log q(Y) = log q_0(X) - sum_k log det dPhi_k/dy (y_k),

so ``KL(q || p) = E_{X ~ q_0}[log q_0(X) - sum_k log det_k - log p(Phi(X))]`` is a Monte Carlo
mean of exact log-densities (rung 4) with a CLT interval. The scores and Hessians are the
exact ones of Gaussian or Gaussian-mixture data (:mod:`verify.theory.mixture_calculus`).
The continuous-time limit is the probability-flow likelihood
(:func:`verify.theory.start_laws.pf_ode_log_likelihood`): ``d/dt log det = div v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.solvers.grids import validate
from verify.solvers.methods import step_tables
from verify.theory.mixture_calculus import mixture_score_hessian

__all__ = ["HeunFlow", "heun_flow"]


@dataclass
class HeunFlow:
    """Output of :func:`heun_flow`: ``y`` the final points ``(n, d)``, ``log_det`` the summed
    ``log det dPhi_k/dy`` along each path ``(n,)``, ``min_det`` the smallest step determinant."""

    y: np.ndarray
    log_det: np.ndarray
    min_det: float


def _drift_and_jac(sde, data, y, r, f, hg):
    p = sde.marginal(data, r) if r > 0 else data
    s, H = mixture_score_hessian(p, y)
    d = y.shape[1]
    drift = hg * s - f * y
    D = hg * H
    D[:, np.arange(d), np.arange(d)] -= f
    return drift, D


def heun_flow(sde, data, x, grid, *, chunk_size: int = 20_000) -> HeunFlow:
    """Run Heun from ``x`` (rows at ``grid[0]``) with the exact score of ``data`` and carry the
    log-determinant of the map (module docstring). ``data`` a ``Gaussian`` or mixture.

    The points agree with ``verify.solvers.particles.reverse_sample(..., gamma=0,
    method="heun")`` up to round-off. Raises ``ValueError`` if a step determinant is not
    positive (the discrete map is then not invertible and the formula does not apply).
    """
    g = validate(grid, sde)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != data.dim:
        raise ValueError(f"x must be an (n, {data.dim}) array, got shape {x.shape}")
    tab = step_tables(sde, g, np.zeros(len(g) - 1), "heun")
    ys, lds, mins = [], [], []
    eye = np.eye(x.shape[1])
    for lo in range(0, x.shape[0], int(chunk_size)):
        y = x[lo : lo + int(chunk_size)].copy()
        ld = np.zeros(y.shape[0])
        mn = np.inf
        for k in range(len(g) - 1):
            t, s, h = float(g[k]), float(g[k + 1]), float(tab.h[k])
            d1, D1 = _drift_and_jac(sde, data, y, t, float(tab.f_t[k]), float(tab.hg_t[k]))
            yt = y + h * d1
            d2, D2 = _drift_and_jac(sde, data, yt, s, float(tab.f_s[k]), float(tab.hg_s[k]))
            J = eye + 0.5 * h * (D1 + D2 @ (eye + h * D1))
            sign, logdet = np.linalg.slogdet(J)
            if np.any(sign <= 0):
                raise ValueError(f"Heun step {k} (t={t:.4g}) is not orientation-preserving")
            mn = min(mn, float(np.min(np.exp(logdet))))
            ld += logdet
            y = y + 0.5 * h * (d1 + d2)
        ys.append(y)
        lds.append(ld)
        mins.append(mn)
    return HeunFlow(np.vstack(ys), np.concatenate(lds), float(min(mins)))


@dataclass
class HeunKL:
    """Monte Carlo (exact log-densities) of the Heun output ``q`` from ``start`` at ``grid[0]``.

    ``out`` estimates ``KL(q || target)``; ``start_term`` ``KL(start || p_T)`` (``p_T`` the exact
    marginal at ``grid[0]``) on the same draws; ``carried`` the paired difference ``out -
    start_term = E[log p_T(X) - log det - log target(Phi(X))]`` (the part the start error does
    not explain). All :class:`verify.estimators.Estimate` with 95% CLT intervals.
    """

    out: object
    start_term: object
    carried: object
    n: int
    min_det: float


def heun_kl(sde, data, start, grid, target, n: int, rng: np.random.Generator) -> HeunKL:
    """``KL(Heun output || target)`` from ``n`` draws of ``start`` (module docstring).

    ``start`` needs ``sample(n, rng)`` and ``log_prob``; ``target`` ``log_prob``.
    """
    from verify.estimators import mean_ci

    g = validate(grid, sde)
    x = start.sample(int(n), rng)
    flow = heun_flow(sde, data, x, g)
    ls = start.log_prob(x)
    lp_T = sde.marginal(data, float(g[0])).log_prob(x)
    rest = lp_T - flow.log_det - target.log_prob(flow.y)
    return HeunKL(
        mean_ci(ls - lp_T + rest), mean_ci(ls - lp_T), mean_ci(rest), int(n), flow.min_det
    )
