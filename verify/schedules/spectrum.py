"""The data law as a spectrum: eigenvalues and the mean in the eigenbasis (arrays ``(d,)``)."""

from __future__ import annotations

import numpy as np

from analytic import Gaussian

__all__ = ["spectrum_of"]


def spectrum_of(data):
    """``(lam, mean_coefficients)`` of ``data``.

    ``data``: a ``Gaussian`` (spectral form: its eigenvalues and ``mean_coefficients``;
    isotropic or diagonal: the diagonal and the mean; a full covariance: ``eigh`` once), a pair
    ``(eigenvalues, mean_in_eigenbasis)`` or an array of eigenvalues (mean 0).
    """
    if isinstance(data, Gaussian):
        cov = data.covariance
        if cov.kind == "spectral":
            lam, m = cov.eigenvalues, data.mean_coefficients
        elif cov.kind in ("iso", "diag"):
            lam, m = cov.diagonal(), data.mean
        else:
            lam, U = np.linalg.eigh(cov.value)
            m = U.T @ data.mean
    elif isinstance(data, tuple) and len(data) == 2:
        lam, m = data
    else:
        lam, m = data, None
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    m = np.zeros_like(lam) if m is None else np.atleast_1d(np.asarray(m, dtype=np.float64))
    if lam.ndim != 1 or lam.size == 0 or m.shape != lam.shape:
        raise ValueError(
            f"data: need eigenvalues (d,) and a mean (d,), got shapes {lam.shape}, {m.shape}"
        )
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(m))):
        raise ValueError("data: eigenvalues and mean must be finite")
    if np.any(lam <= 0):
        raise ValueError(
            "data: every eigenvalue must be > 0 (a singular direction has no finite KL at "
            "sigma = 0); drop the null directions or add a small floor"
        )
    return lam, m
