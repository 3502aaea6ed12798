"""Exact KL divergence between Gaussians, without cancellation.

Direction: ``kl(p, q) = E_p[log p/q]`` (DESIGN.md). For ``p = N(m_p, S_p)``, ``q = N(m_q, S_q)``

    KL = 1/2 [ sum_i h(u_i) + delta^T S_q^{-1} delta ],   h(u) = u - log(1 + u),

where ``u_i`` are the eigenvalues of ``L_q^{-1} (S_p - S_q) L_q^{-T}`` (``S_q = L_q L_q^T``),
i.e. ``1 + u_i`` are those of ``S_q^{-1} S_p``, and ``delta = m_p - m_q``. Forming
``S_p - S_q`` first and evaluating ``h`` as

    h(u) = u^2 / (2 + u) - 2 sum_{k>=1} z^{2k+1} / (2k+1),   z = u / (2 + u)

(from ``log(1+u) = 2 atanh(z)``) keeps full relative accuracy when ``p`` and ``q`` are nearly
equal, where ``tr - d - log det`` would lose every digit. ``kl_mp`` is the same formula in
mpmath at any precision (the reference for the tests).
"""

from __future__ import annotations

import mpmath
import numpy as np
from scipy import linalg

from .gaussian import Gaussian
from .mixture import GaussianMixture

__all__ = ["kl", "kl_mp", "h_u_minus_log1p"]


def h_u_minus_log1p(u) -> np.ndarray:
    """``u - log(1 + u)`` for ``u > -1``, accurate to a few ulps also for ``|u| << 1``."""
    u = np.asarray(u, dtype=np.float64)
    out = np.empty_like(u)
    small = np.abs(u) < 0.5
    us = u[small]
    z = us / (2.0 + us)
    z2 = z * z
    acc = np.zeros_like(z)
    # odd terms z^3/3 + z^5/5 + ...; |z| < 1/3 so 18 terms reach 1e-17 relative
    for k in range(18, 0, -1):
        acc = acc * z2 + 1.0 / (2 * k + 1)
    out[small] = us * us / (2.0 + us) - 2.0 * z * z2 * acc
    ub = u[~small]
    out[~small] = ub - np.log1p(ub)
    return out[()] if out.ndim == 0 else out


def _check_pair(p, q):
    if isinstance(p, GaussianMixture) or isinstance(q, GaussianMixture):
        raise ValueError(
            "kl has no closed form for Gaussian mixtures; use the Monte-Carlo estimator "
            "verify.estimators.kl_mc(p, q, n, rng) (it returns a confidence interval)"
        )
    if not (isinstance(p, Gaussian) and isinstance(q, Gaussian)):
        raise ValueError("kl(p, q) takes two Gaussian objects")
    if p.dim != q.dim:
        raise ValueError(f"p and q have different dimensions ({p.dim} vs {q.dim})")


def kl(p: Gaussian, q: Gaussian) -> float:
    """``KL(p || q) = E_p[log p/q]`` for two Gaussians, exactly and without cancellation."""
    _check_pair(p, q)
    cp, cq = p.covariance, q.covariance
    cp._require_regular()
    cq._require_regular()
    delta = (p.mean - q.mean)[None, :]
    kinds = ("iso", "diag", "full")
    kind = kinds[max(kinds.index(cp.kind), kinds.index(cq.kind))]
    if kind == "iso":
        u = np.full(p.dim, (float(cp.value) - float(cq.value)) / float(cq.value))
    elif kind == "diag":
        dp, dq = cp.promote("diag").value, cq.promote("diag").value
        u = (dp - dq) / dq
    else:
        Sp, Sq = cp.promote("full").value, cq.promote("full").value
        Lq = cq.promote("full").chol
        X = linalg.solve_triangular(Lq, Sp - Sq, lower=True)
        B = linalg.solve_triangular(Lq, X.T, lower=True)
        u = linalg.eigvalsh(0.5 * (B + B.T))
    if np.any(u <= -1):  # can only happen by round-off for a singular p
        raise ValueError("p's covariance is numerically singular relative to q's")
    maha = float(cq.mahalanobis2(delta)[0])
    return 0.5 * (float(np.sum(h_u_minus_log1p(u))) + maha)


def kl_mp(p: Gaussian, q: Gaussian, dps: int = 50):
    """``KL(p || q)`` in mpmath at ``dps`` digits (inputs taken as exact binary floats)."""
    _check_pair(p, q)
    with mpmath.workdps(dps):
        Sp = mpmath.matrix(p.cov.tolist())
        Sq = mpmath.matrix(q.cov.tolist())
        d = p.dim
        Lq = mpmath.cholesky(Sq)
        Li = mpmath.inverse(Lq)
        B = Li * (Sp - Sq) * Li.T
        B = (B + B.T) / 2
        u = mpmath.eigsy(B, eigvals_only=True)
        # u - log1p(u) cancels ~log10(1/|u|) digits: evaluate it with that many to spare
        with mpmath.workdps(3 * dps):
            h = mpmath.fsum(ui - mpmath.log1p(ui) for ui in u)
        delta = mpmath.matrix((p.mean - q.mean).tolist())
        w = Li * delta
        maha = mpmath.fsum(w[i] ** 2 for i in range(d))
        return (h + maha) / 2
