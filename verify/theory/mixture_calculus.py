r"""Second derivatives of a Gaussian mixture's log-density, on its public API.

For ``p = sum_k w_k N(mu_k, S_k)`` with responsibilities ``pi_k(x)`` and component scores
``u_k(x) = S_k^{-1} (mu_k - x)`` (``GaussianMixture.responsibilities``, ``means``,
``covs``), the score is ``s = sum_k pi_k u_k`` and, since
``grad pi_k = pi_k (u_k - s)`` and ``grad u_k = -S_k^{-1}``,

    Hess log p(x) = sum_k pi_k (u_k u_k^T - S_k^{-1}) - s s^T,
    Lap  log p(x) = tr Hess = sum_k pi_k (|u_k|^2 - tr S_k^{-1}) - |s|^2.

(docs/analytic.md#gaussian-mixtures has the mixture score.) A ``Gaussian`` is the
one-component case: ``Hess = -S^{-1}``. Used by the probability-flow likelihood
(``div v = d f - g^2/2 Lap log p_t``) and by the exact log-density of the Heun sampler's output
(:mod:`verify.theory.flow_density`). Cost ``O(n K d^2)``; all points at once per component.
"""

from __future__ import annotations

import numpy as np

from analytic import Gaussian, GaussianMixture

__all__ = ["mixture_score_hessian", "mixture_score_laplacian", "mixture_laplacian"]


def _points(p, x) -> np.ndarray:
    if not isinstance(p, Gaussian | GaussianMixture):
        raise TypeError(f"p must be a Gaussian or GaussianMixture, got {type(p).__name__}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != p.dim:
        raise ValueError(f"x must be an (n, {p.dim}) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf")
    return x


def _full_covs(p) -> np.ndarray:
    """The ``(K, d, d)`` component covariances from the public compact ``covs``."""
    if isinstance(p, Gaussian):
        return p.cov[None]
    if not isinstance(p, GaussianMixture):
        raise TypeError(f"p must be a Gaussian or GaussianMixture, got {type(p).__name__}")
    c, d = p.covs, p.dim
    if c.ndim == 1:
        return c[:, None, None] * np.eye(d)[None]
    if c.ndim == 2:
        return c[:, :, None] * np.eye(d)[None]
    return c


def _parts(p, x):
    """``(pi (K, n), u (d, K, n), S^{-1} (K, d, d), s (d, n))``: per coordinate, so that every
    operation is on ``(K, n)`` arrays (fast for the small ``d`` of mixtures)."""
    x = _points(p, x)
    covs = _full_covs(p)
    prec = np.linalg.solve(covs, np.broadcast_to(np.eye(p.dim), covs.shape))
    prec = 0.5 * (prec + prec.transpose(0, 2, 1))
    means = p.mean[None] if isinstance(p, Gaussian) else p.means
    resp = np.ones((1, x.shape[0])) if isinstance(p, Gaussian) else p.responsibilities(x).T
    d = p.dim
    diff = [means[:, j, None] - x[None, :, j] for j in range(d)]  # (K, n) each
    u = np.empty((d,) + resp.shape)
    for i in range(d):
        u[i] = prec[:, i, 0, None] * diff[0]
        for j in range(1, d):
            u[i] += prec[:, i, j, None] * diff[j]
    s = np.einsum("kn,ikn->in", resp, u)
    return resp, u, prec, s


def mixture_score_hessian(p, x) -> tuple[np.ndarray, np.ndarray]:
    """``(grad log p (n, d), Hess log p (n, d, d))`` at the rows of ``x`` (module docstring)."""
    resp, u, prec, s = _parts(p, x)
    d, n = s.shape
    H = np.empty((n, d, d))
    for i in range(d):
        ru = resp * u[i]
        for j in range(i, d):
            h = np.einsum("kn,kn->n", ru, u[j]) - resp.T @ prec[:, i, j] - s[i] * s[j]
            H[:, i, j] = h
            H[:, j, i] = h
    return s.T, H


def mixture_score_laplacian(p, x) -> tuple[np.ndarray, np.ndarray]:
    """``(grad log p (n, d), Lap log p (n,))`` without forming the Hessians."""
    resp, u, prec, s = _parts(p, x)
    tr = np.trace(prec, axis1=1, axis2=2)
    lap = np.einsum("kn,kn->n", resp, np.einsum("ikn,ikn->kn", u, u)) - resp.T @ tr
    return s.T, lap - np.einsum("in,in->n", s, s)


def mixture_laplacian(p, x) -> np.ndarray:
    """``Lap log p(x) = sum_k pi_k (|u_k|^2 - tr S_k^{-1}) - |s|^2``, shape ``(n,)``."""
    return mixture_score_laplacian(p, x)[1]
