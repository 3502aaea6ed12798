"""Exact denoisers of the kit's targets: the Gaussian / GMM ``D(x, sigma)`` (EDM
parameterisation, Karras et al. 2022, arXiv:2206.00364, §2) and the k-diffusion model wrapper."""

from __future__ import annotations

import numpy as np

from analytic import EDM, Gaussian, GaussianMixture

__all__ = ["default_target", "gaussian_denoiser"]


def default_target() -> Gaussian:
    """The default target: a correlated 2-D Gaussian, mean (0.5, -1), cov [[1, .3], [.3, .5]]."""
    return Gaussian(np.array([0.5, -1.0]), np.array([[1.0, 0.3], [0.3, 0.5]]))


# ------------------------------------------------------------------------------ denoisers
def gaussian_denoiser(data: Gaussian | GaussianMixture, sigma: float, x: np.ndarray) -> np.ndarray:
    """Exact EDM denoiser ``D(x, sigma) = E[X_0 | X_0 + sigma Z = x]`` (rows of ``x``).

    Gaussian data: ``m + Sigma (Sigma + sigma^2 I)^{-1} (x - m)`` (Cholesky solve; ``D = x`` at
    ``sigma = 0``). GMM data: ``x + sigma^2 grad log p_sigma(x)`` (Tweedie).
    """
    x = np.asarray(x, dtype=np.float64)
    sigma = float(sigma)
    if sigma == 0.0:
        return x.copy()
    if isinstance(data, GaussianMixture):
        p = EDM(max(sigma, 1.0) * 2).marginal(data, sigma)
        return x + sigma * sigma * p.score(x)
    S = np.atleast_2d(data.cov)
    A = S + sigma * sigma * np.eye(data.dim)
    w = np.linalg.solve(A, (x - data.mean).T)  # (A symmetric positive definite)
    return data.mean + (S @ w).T


def _rowwise_sigma(sigma, n):
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim == 0:
        return np.full(n, float(s))
    s = s.reshape(-1)
    if s.size == 1:
        return np.full(n, float(s[0]))
    if s.size != n:
        raise ValueError(f"model got sigma of shape {np.shape(sigma)} for {n} rows")
    return s


def _denoiser(data):
    """A fast ``(x, sigma float) -> D(x, sigma)`` for ``data`` (eigenbasis of Sigma, once)."""
    if not isinstance(data, Gaussian):
        return lambda x, sigma: gaussian_denoiser(data, sigma, x)
    lam, V = np.linalg.eigh(np.atleast_2d(data.cov))
    m = data.mean

    def D(x, sigma):
        if sigma == 0.0:
            return np.array(x, dtype=np.float64)
        return m + (((x - m) @ V) * (lam / (lam + sigma * sigma))) @ V.T

    return D


def _kd_model(data):
    den = _denoiser(data)

    def model(x, sigma):
        x = np.asarray(x, dtype=np.float64)
        s = _rowwise_sigma(sigma, x.shape[0])
        if s.size == 0 or s.min() == s.max():
            return den(x, float(s[0]) if s.size else 0.0)
        out = np.empty_like(x)
        for v in np.unique(s):
            rows = s == v
            out[rows] = den(x[rows], float(v))
        return out

    return model
