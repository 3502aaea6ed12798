"""Exact KL divergence between Gaussians, without cancellation.

Direction: ``kl(p, q) = E_p[log p/q]`` (docs/analytic.md, "KL between Gaussians"). For
``p = N(m_p, S_p)``, ``q = N(m_q, S_q)``

    KL = 1/2 [ sum_i h(u_i) + delta^T S_q^{-1} delta ],   h(u) = u - log(1 + u),

where ``u_i`` are the eigenvalues of ``L_q^{-1} (S_p - S_q) L_q^{-T}`` (``S_q = L_q L_q^T``),
i.e. ``lambda_i = 1 + u_i`` are those of ``S_q^{-1} S_p``, and ``delta = m_p - m_q``. Forming
``S_p - S_q`` first and evaluating ``h`` as

    h(u) = u^2 / (2 + u) - 2 sum_{k>=1} z^{2k+1} / (2k+1),   z = u / (2 + u)

(from ``log(1+u) = 2 atanh(z)``) keeps full relative accuracy when ``p`` and ``q`` are nearly
equal, where ``tr - d - log det`` would lose every digit.

When the variance ratio is extreme (``1 + u`` under- or overflows, e.g. ``N(0, 1e-150)``
against ``N(0, 1e150)``, KL = 344.9) the log-space route is used instead:

* iso / diag, per coordinate: ``r = log v_p - log v_q``, ``h = e^r - 1 - r``;
* full: ``sum_i h = ||L_q^{-1} L_p||_F^2 - d - (log det S_p - log det S_q)`` with the log
  determinants from the Cholesky diagonals (no ratio is ever formed).

Both are used only where ``|u| >= 1/2`` (resp. some ``lambda_i < 1e-3``), so the terms do not
cancel. A KL beyond float64 raises ``ValueError`` (use ``kl_mp``). ``kl_mp`` is the
``S_p - S_q`` formula in mpmath with enough digits that the subtraction is exact (the
reference for the tests).
"""

from __future__ import annotations

import mpmath
import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from .gaussian import Gaussian
from .mixture import GaussianMixture

__all__ = ["kl", "kl_mp", "h_u_minus_log1p"]


def h_u_minus_log1p(u: ArrayLike) -> np.ndarray:
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


def _h_variances(vp: np.ndarray, vq: np.ndarray) -> np.ndarray:
    """``h(lambda - 1)`` per coordinate for variance ratios ``lambda = vp / vq`` (log-space
    where the ratio is far from 1)."""
    with np.errstate(over="ignore", invalid="ignore"):
        u = (vp - vq) / vq
        r = np.log(vp) - np.log(vq)
        far = ~(np.abs(u) < 0.5)
        out = np.empty_like(u)
        out[~far] = h_u_minus_log1p(u[~far])
        out[far] = np.expm1(r[far]) - r[far]
    return out


def kl(p: Gaussian, q: Gaussian) -> float:
    """``KL(p || q) = E_p[log p/q]`` for two Gaussians, exactly and without cancellation."""
    _check_pair(p, q)
    cp, cq = p.covariance, q.covariance
    cp._require_regular()
    cq._require_regular()
    if "spectral" in (cp.kind, cq.kind):
        return _kl_spectral(p, q)
    delta = (p.mean - q.mean)[None, :]
    kinds = ("iso", "diag", "full")
    kind = kinds[max(kinds.index(cp.kind), kinds.index(cq.kind))]
    if kind == "iso":
        h = p.dim * float(_h_variances(np.array([float(cp.value)]), np.array([float(cq.value)]))[0])
    elif kind == "diag":
        h = float(np.sum(_h_variances(cp.promote("diag").value, cq.promote("diag").value)))
    else:
        h = _h_full(cp.promote("full"), cq.promote("full"), p.dim)
    with np.errstate(over="ignore", invalid="ignore"):
        maha = float(cq.mahalanobis2(delta)[0])
        out = 0.5 * (h + maha)
    if not np.isfinite(out):
        raise ValueError("KL(p || q) overflows float64 (> 1.8e308); use kl_mp for its value")
    return out


def _kl_spectral(p: Gaussian, q: Gaussian) -> float:
    """KL with a spectral covariance: the per-direction sum in a shared eigenbasis
    (``1/2 sum_i [h(lam_p/lam_q - 1) + (U^T delta)_i^2 / lam_q]``), else the full formula."""
    from .spectral import spectral_parts

    cp, cq = p.covariance, q.covariance
    parts = spectral_parts(cp, cq)
    if parts is None:
        return kl(Gaussian(p.mean, cp.promote("full")), Gaussian(q.mean, cq.promote("full")))
    basis, lp, lq = parts
    delta = p.mean_coefficients - q.mean_coefficients if basis is not None else p.mean - q.mean
    if basis is not None and not (cp.kind == cq.kind == "spectral"):
        delta = basis.to_eigen((p.mean - q.mean)[None])[0]
    with np.errstate(over="ignore", invalid="ignore"):
        out = 0.5 * (float(np.sum(_h_variances(lp, lq))) + float(np.sum(delta * delta / lq)))
    if not np.isfinite(out):
        raise ValueError("KL(p || q) overflows float64 (> 1.8e308); use kl_mp for its value")
    return out


def _h_full(cp, cq, d: int) -> float:
    Sp, Sq, Lq = cp.value, cq.value, cq.chol
    with np.errstate(over="ignore", invalid="ignore"):
        X = linalg.solve_triangular(Lq, Sp - Sq, lower=True)
        B = linalg.solve_triangular(Lq, X.T, lower=True)
        ok = np.all(np.isfinite(B))
        u = linalg.eigvalsh(0.5 * (B + B.T)) if ok else None
    if ok and np.min(u) > -1.0 + 1e-3:
        return float(np.sum(h_u_minus_log1p(u)))
    # log space: sum (lambda - 1 - log lambda) = tr(S_q^{-1} S_p) - d - log det S_p + log det S_q
    with np.errstate(over="ignore", invalid="ignore"):
        M = linalg.solve_triangular(Lq, cp.chol, lower=True)
        tr = float(np.sum(M * M))
    return tr - d - (cp.logdet - cq.logdet)


def _mp_lower_solve(L, B):
    """``L^{-1} B`` by forward substitution (``L`` lower triangular mpmath matrix)."""
    n, m = B.rows, B.cols
    X = mpmath.matrix(n, m)
    for j in range(m):
        for i in range(n):
            acc = B[i, j] - mpmath.fsum(L[i, k] * X[k, j] for k in range(i))
            X[i, j] = acc / L[i, i]
    return X


def kl_mp(p: Gaussian, q: Gaussian, dps: int = 50) -> mpmath.mpf:
    """``KL(p || q)`` in mpmath with ``dps`` significant digits (inputs taken as exact binary
    floats): the ``S_p - S_q`` formula at a working precision of ``dps`` plus the decimal span
    of the covariance entries, so that ``S_p - S_q`` is exact and ``1 + u`` never rounds to 0.
    Singular covariances raise ``ValueError`` as in :func:`kl`."""
    _check_pair(p, q)
    p.covariance._require_regular()
    q.covariance._require_regular()
    Sp_f, Sq_f = p.cov, q.cov
    mags = np.abs(np.concatenate([Sp_f.ravel(), Sq_f.ravel()]))
    mags = mags[mags > 0]
    span = int(np.ceil(np.log10(mags.max()) - np.log10(mags.min()))) if mags.size else 0
    work = int(dps) + span + 20
    d = p.dim
    with mpmath.workdps(work):
        Sp = mpmath.matrix(Sp_f.tolist())
        Sq = mpmath.matrix(Sq_f.tolist())
        Lq = mpmath.cholesky(Sq)
        X = _mp_lower_solve(Lq, Sp - Sq)
        B = _mp_lower_solve(Lq, X.T)
        B = (B + B.T) / 2
        u = mpmath.eigsy(B, eigvals_only=True)
        if any(1 + ui <= 0 for ui in u):
            raise ValueError("p's covariance is numerically singular relative to q's")
        # u - log1p(u) cancels ~log10(1/|u|) digits: evaluate it with that many to spare
        with mpmath.workdps(3 * work):
            h = mpmath.fsum(ui - mpmath.log1p(ui) for ui in u)
        delta = mpmath.matrix((p.mean - q.mean).tolist())
        w = _mp_lower_solve(Lq, delta)
        maha = mpmath.fsum(w[i] ** 2 for i in range(d))
        return (h + maha) / 2
