"""Covariance matrices in three compact forms: isotropic, diagonal and full.

``Covariance`` stores ``s I`` as one number, ``diag(v)`` as a vector and a full matrix with
its Cholesky factor (computed once, cached). Isotropic and diagonal forms never build a
``d x d`` matrix. All linear algebra goes through Cholesky solves and ``slogdet``-style
sums of logs; nothing forms an explicit inverse.

The only operation the forward SDE needs is the affine update of the marginal,
``Sigma_t = a Sigma_0 + b I`` (``a = alpha(t)^2``, ``b = sigma2(t)``), which keeps the form.
"""

from __future__ import annotations

import numbers
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from ._checks import real_array

__all__ = ["Covariance"]

_KINDS = ("iso", "diag", "full")


class Covariance:
    """A symmetric positive (semi-)definite covariance in compact form.

    Parameters
    ----------
    value : float, (d,) array or (d, d) array
        ``s`` for ``s I``, the diagonal, or the full matrix.
    dim : int
        Dimension ``d`` (needed for the isotropic form).
    name : str
        Argument name used in error messages.
    """

    def __init__(
        self, value: ArrayLike, dim: int, name: str = "cov", *, _checked: bool = False
    ) -> None:
        if _checked:
            v = np.asarray(value, dtype=np.float64)
        else:
            if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
                raise TypeError(f"dim must be a positive int, got {dim!r}")
            v = real_array(value, name)
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{name} contains NaN or inf")
        if v.ndim == 0:
            self.kind = "iso"
        elif v.ndim == 1:
            if v.shape[0] != dim:
                raise ValueError(f"{name}: diagonal has length {v.shape[0]}, expected {dim}")
            self.kind = "diag"
        elif v.ndim == 2:
            if v.shape != (dim, dim):
                raise ValueError(f"{name}: matrix has shape {v.shape}, expected ({dim}, {dim})")
            self.kind = "full"
        else:
            raise ValueError(f"{name} must be a scalar, a (d,) diagonal or a (d, d) matrix")
        self.dim = int(dim)
        self.value = v
        if not _checked:
            self._validate(name)

    # ------------------------------------------------------------------ checks
    def _validate(self, name: str) -> None:
        v = self.value
        if self.kind in ("iso", "diag"):
            if np.any(v < 0):
                raise ValueError(f"{name} has negative variances; a covariance must be PSD")
            return
        scale = max(np.max(np.abs(v)), np.finfo(float).tiny)
        if not np.allclose(v, v.T, rtol=0.0, atol=1e-12 * scale):
            raise ValueError(f"{name} is not symmetric; pass (C + C.T) / 2")
        try:
            L = linalg.cholesky(v, lower=True)
            if not np.all(np.isfinite(L)) or np.min(np.diag(L)) <= 0:
                raise linalg.LinAlgError
        except linalg.LinAlgError:
            raise ValueError(
                f"{name} is not positive definite (Cholesky failed); "
                "a full covariance must be symmetric positive definite"
            ) from None

    @property
    def singular(self) -> bool:
        """True if some variance is exactly zero (a point mass in that direction)."""
        if self.kind == "full":
            return False
        return bool(np.any(self.value == 0.0))

    def _require_regular(self) -> None:
        if self.singular:
            raise ValueError(
                "covariance is singular (a zero variance): this law has no density or score; "
                "evaluate the forward marginal at t > 0 instead"
            )

    # ------------------------------------------------------------ factorisations
    @cached_property
    def chol(self) -> np.ndarray:
        """Lower Cholesky factor (full form only)."""
        if self.kind != "full":
            raise AttributeError("chol is only stored for full covariances")
        c = 0.5 * (self.value + self.value.T)
        return linalg.cholesky(c, lower=True)

    @cached_property
    def logdet(self) -> float:
        """``log det Sigma``."""
        self._require_regular()
        if self.kind == "iso":
            return self.dim * float(np.log(self.value))
        if self.kind == "diag":
            return float(np.sum(np.log(self.value)))
        return 2.0 * float(np.sum(np.log(np.diag(self.chol))))

    # -------------------------------------------------------------- operations
    def matrix(self) -> np.ndarray:
        """The full ``(d, d)`` matrix (builds it; avoid in hot paths)."""
        if self.kind == "iso":
            return float(self.value) * np.eye(self.dim)
        if self.kind == "diag":
            return np.diag(self.value)
        return self.value.copy()

    def diagonal(self) -> np.ndarray:
        if self.kind == "iso":
            return np.full(self.dim, float(self.value))
        if self.kind == "diag":
            return self.value.copy()
        return np.diag(self.value).copy()

    def solve(self, y: np.ndarray) -> np.ndarray:
        """``Sigma^{-1} y`` for rows of ``y`` (shape ``(n, d)``)."""
        self._require_regular()
        if self.kind == "iso":
            return y / self.value
        if self.kind == "diag":
            return y / self.value
        return linalg.cho_solve((self.chol, True), y.T).T

    def whiten(self, y: np.ndarray) -> np.ndarray:
        """``L^{-1} y`` for rows of ``y``, with ``Sigma = L L^T``."""
        self._require_regular()
        if self.kind in ("iso", "diag"):
            return y / np.sqrt(self.value)
        return linalg.solve_triangular(self.chol, y.T, lower=True).T

    def colour(self, z: np.ndarray) -> np.ndarray:
        """``L z`` for rows of ``z`` (turns standard normals into ``N(0, Sigma)``)."""
        if self.kind in ("iso", "diag"):
            return z * np.sqrt(self.value)
        return z @ self.chol.T

    def mahalanobis2(self, y: np.ndarray) -> np.ndarray:
        """``y^T Sigma^{-1} y`` for each row of ``y``."""
        w = self.whiten(y)
        return np.einsum("ij,ij->i", w, w)

    def affine(self, a: float, b: float) -> Covariance:
        """``a Sigma + b I`` in the same compact form (``a, b >= 0``)."""
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "full":
                v = a * self.value
                v[np.diag_indices(self.dim)] += b
            else:
                v = a * self.value + b
        if not np.all(np.isfinite(v)):
            raise ValueError(f"a Sigma + b I overflows float64 (a = {a:g}, b = {b:g})")
        return Covariance(v, self.dim, _checked=True)

    def max_eigenvalue(self) -> float:
        if self.kind == "iso":
            return float(self.value)
        if self.kind == "diag":
            return float(np.max(self.value))
        return float(linalg.eigvalsh(self.value)[-1])

    def promote(self, kind: str) -> Covariance:
        """The same covariance in a more general form (``iso -> diag -> full``)."""
        if _KINDS.index(kind) < _KINDS.index(self.kind):
            raise ValueError(f"cannot demote a {self.kind} covariance to {kind}")
        if kind == self.kind:
            return self
        if kind == "diag":
            return Covariance(self.diagonal(), self.dim, _checked=True)
        return Covariance(self.matrix(), self.dim, _checked=True)

    def __repr__(self) -> str:
        if self.kind == "iso":
            return f"{float(self.value):.6g} I"
        if self.kind == "diag":
            return f"diag({np.array2string(self.value, precision=4, threshold=6)})"
        return f"full({self.dim}x{self.dim})"
