r"""The 2-Wasserstein distance between Gaussians, in closed form.

For $p = N(m_p, \Sigma_p)$ and $q = N(m_q, \Sigma_q)$ (Dowson & Landau 1982; Givens & Shortt
1984; docs/real-data.md, "W2 between Gaussians"):

$$W_2^2(p, q) = \|m_p - m_q\|^2 + \mathrm{tr}\,\Sigma_p + \mathrm{tr}\,\Sigma_q
   - 2\,\mathrm{tr}\big(\Sigma_p^{1/2} \Sigma_q \Sigma_p^{1/2}\big)^{1/2}.$$

The last three terms are the squared Bures distance. When the covariances share an
eigenbasis (isotropic, diagonal, or spectral in one basis) it is the sum over directions

$$\sum_i (\sqrt{\lambda_{p,i}} - \sqrt{\lambda_{q,i}})^2
  = \sum_i \frac{(\lambda_{p,i} - \lambda_{q,i})^2}{(\sqrt{\lambda_{p,i}}
  + \sqrt{\lambda_{q,i}})^2},$$

evaluated in the second form, which does not cancel when $p \approx q$: $O(d)$. Otherwise the
general formula is used, with the matrix square roots taken by symmetric eigendecomposition
(``scipy.linalg.eigh``; eigenvalues below zero from round-off are clipped to zero), which is
better conditioned for symmetric positive semi-definite matrices than the Schur-based
``scipy.linalg.sqrtm``; the Bures term is clipped at zero. ``w2_mp`` evaluates the general
formula in mpmath (``mpmath.eigsy``) as the reference.
"""

from __future__ import annotations

import mpmath
import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from .gaussian import Gaussian

__all__ = ["w2", "w2_squared", "w2_mp", "bures_squared"]


def _check_pair(p, q):
    if not (isinstance(p, Gaussian) and isinstance(q, Gaussian)):
        raise ValueError("w2(p, q) takes two Gaussian objects (no closed form for mixtures)")
    if p.dim != q.dim:
        raise ValueError(f"p and q have different dimensions ({p.dim} vs {q.dim})")


def _commuting_term(lp, lq) -> np.ndarray:
    """$(\\sqrt{a} - \\sqrt{b})^2$ per direction, without cancellation."""
    lp, lq = np.maximum(lp, 0.0), np.maximum(lq, 0.0)
    den = np.sqrt(lp) + np.sqrt(lq)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (lp - lq) ** 2 / (den * den)
    return np.where(den > 0, out, 0.0)


def _psd_sqrt(S: np.ndarray) -> np.ndarray:
    w, V = linalg.eigh(0.5 * (S + S.T))
    return (V * np.sqrt(np.maximum(w, 0.0))) @ V.T


def bures_squared(Sp: ArrayLike, Sq: ArrayLike) -> float:
    """$\\mathrm{tr}\\,\\Sigma_p + \\mathrm{tr}\\,\\Sigma_q - 2 \\mathrm{tr}(\\Sigma_p^{1/2}
    \\Sigma_q \\Sigma_p^{1/2})^{1/2}$ for two dense PSD matrices (the general route)."""
    Sp, Sq = np.asarray(Sp, dtype=np.float64), np.asarray(Sq, dtype=np.float64)
    R = _psd_sqrt(Sp)
    M = R @ Sq @ R
    cross = float(np.sum(np.sqrt(np.maximum(linalg.eigvalsh(0.5 * (M + M.T)), 0.0))))
    return max(float(np.trace(Sp) + np.trace(Sq)) - 2.0 * cross, 0.0)


def w2_squared(p: Gaussian, q: Gaussian) -> float:
    """$W_2^2(p, q)$ (module docstring): $O(d)$ in a shared eigenbasis, Bures otherwise."""
    from .spectral import spectral_parts

    _check_pair(p, q)
    cp, cq = p.covariance, q.covariance
    parts = spectral_parts(cp, cq)
    if parts is not None and parts[0] is not None and cp.kind == cq.kind == "spectral":
        delta = p.mean_coefficients - q.mean_coefficients  # |U^T delta| = |delta|
    else:
        delta = p.mean - q.mean
    mean_term = float(delta @ delta)
    if parts is not None:
        _, lp, lq = parts
        out = mean_term + float(np.sum(_commuting_term(lp, lq)))
    else:
        out = mean_term + bures_squared(p.cov, q.cov)
    if not np.isfinite(out):
        raise ValueError("W2(p, q)^2 overflows float64; use w2_mp")
    return out


def w2(p: Gaussian, q: Gaussian) -> float:
    """The 2-Wasserstein distance $W_2(p, q)$ between two Gaussians (closed form)."""
    return float(np.sqrt(w2_squared(p, q)))


def _mp_psd_sqrt(S):
    w, V = mpmath.eigsy(S)
    n = S.rows
    D = mpmath.matrix(n, n)
    for i in range(n):
        D[i, i] = mpmath.sqrt(max(w[i], 0))
    return V * D * V.T


def w2_mp(p: Gaussian, q: Gaussian, dps: int = 50) -> mpmath.mpf:
    """$W_2(p, q)$ in mpmath with ``dps`` digits by the general (Bures) formula: the
    reference for the float64 routes (inputs taken as exact binary floats)."""
    _check_pair(p, q)
    with mpmath.workdps(int(dps) + 20):
        Sp = mpmath.matrix(p.cov.tolist())
        Sq = mpmath.matrix(q.cov.tolist())
        R = _mp_psd_sqrt((Sp + Sp.T) / 2)
        M = R * Sq * R
        ev = mpmath.eigsy((M + M.T) / 2, eigvals_only=True)
        cross = mpmath.fsum(mpmath.sqrt(max(e, 0)) for e in ev)
        n = p.dim
        tr = mpmath.fsum(Sp[i, i] + Sq[i, i] for i in range(n))
        delta = [mpmath.mpf(a) - mpmath.mpf(b) for a, b in zip(p.mean, q.mean, strict=True)]
        total = mpmath.fsum(x * x for x in delta) + tr - 2 * cross
        return mpmath.sqrt(max(total, 0))
