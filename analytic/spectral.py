r"""Gaussians in spectral form: an orthonormal eigenbasis and its eigenvalues.

A covariance $\Sigma = U \,\mathrm{diag}(\lambda)\, U^\top$ with orthonormal $U$ is stored as
the basis $U$ and the vector $\lambda$ (docs/real-data.md, "Gaussians in spectral form"). Every
operation the forward SDE and the samplers need keeps that form: the forward marginal is
$\alpha^2 \Sigma + \sigma^2 I = U \,\mathrm{diag}(\alpha^2 \lambda + \sigma^2)\, U^\top$, the
score is $-U \,\mathrm{diag}(1/(\alpha^2\lambda + \sigma^2))\, U^\top (x - \alpha m)$, and KL and
$W_2$ between two laws in the same basis are sums over the $d$ eigendirections.

Four bases:

* ``None`` (the standard basis): a diagonal covariance, stored as ``Covariance`` ``diag``;
* :class:`IdentityBasis`: the standard basis as a ``Basis`` object, for a diagonal law that
  should still carry ``eigenvalues`` and ``basis`` (the parametric power-law models);
* :class:`DenseBasis`: an orthonormal ``(d, d)`` matrix of eigenvectors (columns), e.g. the
  PCA of image patches; rotating a vector costs $O(d^2)$;
* :class:`HartleyBasis`: the orthonormal 2-D discrete Hartley transform on a periodic
  ``(H, W)`` grid, optionally times an orthonormal ``(C, C)`` channel matrix: the eigenbasis
  of every stationary (translation-invariant) covariance on the torus with a symmetric power
  spectrum $P(k) = P(-k)$, applied by FFT in $O(d \log d)$. Its vectors are
  $\mathrm{cas}(2\pi(k_1 x_1/H + k_2 x_2/W))/\sqrt{HW}$, $\mathrm{cas} = \cos + \sin$;
  $\mathrm{cas}\,\theta$ and $\mathrm{cas}(-\theta)$ span the same eigenspace as
  $e^{\pm i\theta}$, so the stationary covariance is diagonal in this real basis with
  eigenvalue $P(k)$ (Bracewell, *The Hartley Transform*, 1986). Flattening order: a vector
  of length $d = HWC$ is the image ``x.reshape(H, W, C)`` (channels last).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_finite
from .covariance import Covariance

__all__ = [
    "Basis",
    "IdentityBasis",
    "DenseBasis",
    "HartleyBasis",
    "SpectralCovariance",
    "spectral_parts",
]


class Basis:
    """An orthonormal basis of $\\mathbb{R}^d$: ``to_eigen`` ($U^\\top x$) and ``from_eigen``
    ($U z$) act on rows of ``(n, d)`` arrays."""

    dim: int

    def to_eigen(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def from_eigen(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def matrix(self) -> np.ndarray:
        """The ``(d, d)`` matrix $U$ (columns are the eigenvectors)."""
        return self.from_eigen(np.eye(self.dim)).T

    def squared_matrix_times(self, lam: np.ndarray) -> np.ndarray:
        """$\\sum_j U_{ij}^2 \\lambda_j$: the diagonal of $U \\mathrm{diag}(\\lambda) U^\\top$."""
        U = self.matrix()
        return (U * U) @ lam

    def rotate_matrix(self, X: np.ndarray) -> np.ndarray:
        """$U^\\top X U$ for a ``(d, d)`` matrix."""
        return self.to_eigen(self.to_eigen(X).T).T

    def unrotate_matrix(self, X: np.ndarray) -> np.ndarray:
        """$U X U^\\top$ for a ``(d, d)`` matrix."""
        return self.from_eigen(self.from_eigen(X).T).T


class IdentityBasis(Basis):
    """The standard basis of $\\mathbb{R}^d$ ($U = I$): rotations are copies, $O(d)$."""

    def __init__(self, dim: int) -> None:
        if isinstance(dim, bool) or int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self.dim = int(dim)

    def to_eigen(self, x: np.ndarray) -> np.ndarray:
        return np.array(x, dtype=np.float64)

    def from_eigen(self, z: np.ndarray) -> np.ndarray:
        return np.array(z, dtype=np.float64)

    def matrix(self) -> np.ndarray:
        return np.eye(self.dim)

    def squared_matrix_times(self, lam: np.ndarray) -> np.ndarray:
        return np.array(lam, dtype=np.float64)

    def rotate_matrix(self, X: np.ndarray) -> np.ndarray:
        return np.array(X, dtype=np.float64)

    def unrotate_matrix(self, X: np.ndarray) -> np.ndarray:
        return np.array(X, dtype=np.float64)

    def __eq__(self, other):
        return isinstance(other, IdentityBasis) and other.dim == self.dim

    __hash__ = None

    def __repr__(self) -> str:
        return f"IdentityBasis(d={self.dim})"


class DenseBasis(Basis):
    """Eigenvectors as the columns of an orthonormal ``(d, d)`` matrix ``U``.

    Orthonormality is checked on random probes ($\\|U^\\top U v - v\\| \\le 10^{-8}\\|v\\|$),
    which costs $O(d^2)$ instead of the $O(d^3)$ of forming $U^\\top U$.
    """

    def __init__(self, U: ArrayLike, *, check: bool = True) -> None:
        U = as_finite(U, "basis", ndim=2)
        if U.shape[0] != U.shape[1] or U.shape[0] == 0:
            raise ValueError(f"basis must be a square (d, d) matrix, got shape {U.shape}")
        if check:
            rng = np.random.default_rng(0)
            v = rng.standard_normal((U.shape[0], 3))
            err = np.linalg.norm(U.T @ (U @ v) - v) / np.linalg.norm(v)
            if not err <= 1e-8:
                raise ValueError(
                    f"basis is not orthonormal (|U^T U v - v| / |v| = {err:.2e}); pass the "
                    "eigenvectors of a symmetric matrix (numpy.linalg.eigh) as columns"
                )
        self.U = np.ascontiguousarray(U)
        self.dim = U.shape[0]

    def to_eigen(self, x: np.ndarray) -> np.ndarray:
        return x @ self.U

    def from_eigen(self, z: np.ndarray) -> np.ndarray:
        return z @ self.U.T

    def matrix(self) -> np.ndarray:
        return self.U.copy()

    def squared_matrix_times(self, lam: np.ndarray) -> np.ndarray:
        return (self.U * self.U) @ lam

    def rotate_matrix(self, X: np.ndarray) -> np.ndarray:
        return self.U.T @ X @ self.U

    def unrotate_matrix(self, X: np.ndarray) -> np.ndarray:
        return self.U @ X @ self.U.T

    def __eq__(self, other):
        return isinstance(other, DenseBasis) and (
            other.U is self.U or (other.U.shape == self.U.shape and np.array_equal(other.U, self.U))
        )

    __hash__ = None

    def __repr__(self) -> str:
        return f"DenseBasis(d={self.dim})"


class HartleyBasis(Basis):
    """The orthonormal 2-D discrete Hartley basis on a periodic ``(H, W)`` grid with ``C``
    channels mixed by an orthonormal ``(C, C)`` matrix ``channels`` (default identity).

    ``to_eigen``: $z = \\mathcal{H}(x V)$ with $\\mathcal{H} y = \\mathrm{Re}\\,F y -
    \\mathrm{Im}\\,F y$, $F$ the unitary 2-D DFT (``numpy.fft.fft2(norm="ortho")``);
    $\\mathcal{H}$ is symmetric and its own inverse, so ``from_eigen`` is
    $x = \\mathcal{H}(z) V^\\top$. Coefficient order: ``(k1, k2, c)`` flattened, as
    ``numpy.fft.fftfreq``.
    """

    def __init__(self, shape: tuple[int, ...], channels: ArrayLike | None = None) -> None:
        if len(shape) == 2:
            shape = (*shape, 1)
        H, W, C = (int(s) for s in shape)
        if min(H, W, C) < 1:
            raise ValueError(f"shape must be (H, W) or (H, W, C) of positive sizes, got {shape}")
        self.shape = (H, W, C)
        self.dim = H * W * C
        if channels is None:
            self.V = None
        else:
            V = as_finite(channels, "channels", ndim=2)
            if V.shape != (C, C) or not np.allclose(V.T @ V, np.eye(C), atol=1e-10):
                raise ValueError(f"channels must be an orthonormal ({C}, {C}) matrix")
            self.V = V

    def _hartley(self, y):
        F = np.fft.fft2(y, axes=(1, 2), norm="ortho")
        return F.real - F.imag

    def to_eigen(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = x.shape[0]
        y = x.reshape(n, *self.shape)
        if self.V is not None:
            y = y @ self.V
        return self._hartley(y).reshape(n, self.dim)

    def from_eigen(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        n = z.shape[0]
        y = self._hartley(z.reshape(n, *self.shape))
        if self.V is not None:
            y = y @ self.V.T
        return y.reshape(n, self.dim)

    def squared_matrix_times(self, lam: np.ndarray) -> np.ndarray:
        # sum_k cas^2 / (HW) = (1/HW) sum_k (1 + sin 2 theta_k): the sine terms cancel for a
        # symmetric spectrum only, so compute the general sum exactly through the DFT of lam.
        H, W, C = self.shape
        L = np.asarray(lam, dtype=np.float64).reshape(H, W, C)
        # cas^2(theta) = 1 + sin(2 theta); sum_k lam_k sin(2 theta_k(x)) = -Im DFT_{2x}(lam)
        F = np.fft.fft2(L, axes=(0, 1))  # F[m] = sum_k lam_k e^{-2 pi i k.m}
        ix = (2 * np.arange(H)) % H
        iy = (2 * np.arange(W)) % W
        S = -F.imag[np.ix_(ix, iy)]  # sum_k lam_k sin(2 theta_k(x)), per channel
        per = (L.sum(axis=(0, 1))[None, None, :] + S) / (H * W)  # (H, W, C) in channel coords
        if self.V is None:
            return per.reshape(-1)
        return (per @ (self.V.T**2)).reshape(-1)

    def __eq__(self, other):
        if not isinstance(other, HartleyBasis) or other.shape != self.shape:
            return False
        if self.V is None or other.V is None:
            return self.V is None and other.V is None
        return np.array_equal(self.V, other.V)

    __hash__ = None

    def __repr__(self) -> str:
        return f"HartleyBasis(shape={self.shape})"


class SpectralCovariance(Covariance):
    """$\\Sigma = U \\mathrm{diag}(\\lambda) U^\\top$ stored as the basis and the eigenvalues
    (``kind == "spectral"``; ``value`` is $\\lambda$). Never builds a ``(d, d)`` matrix
    unless ``matrix()`` is called."""

    def __init__(
        self,
        eigenvalues: ArrayLike,
        basis: Basis,
        name: str = "eigenvalues",
        *,
        _checked: bool = False,
    ) -> None:
        if not isinstance(basis, Basis):
            raise TypeError(f"basis must be a Basis, got {type(basis).__name__}")
        lam = (
            np.asarray(eigenvalues, dtype=np.float64) if _checked else as_finite(eigenvalues, name)
        )
        if lam.ndim != 1 or lam.shape[0] != basis.dim:
            raise ValueError(f"{name} must have shape ({basis.dim},), got {lam.shape}")
        if not _checked and np.any(lam < 0):
            raise ValueError(f"{name} has negative entries; a covariance must be PSD")
        self.kind = "spectral"
        self.dim = basis.dim
        self.value = lam
        self.basis = basis

    @property
    def eigenvalues(self) -> np.ndarray:
        return self.value

    @property
    def singular(self) -> bool:
        return bool(np.any(self.value == 0.0))

    @property
    def logdet(self) -> float:
        self._require_regular()
        return float(np.sum(np.log(self.value)))

    @property
    def chol(self) -> np.ndarray:
        raise AttributeError("chol is only stored for full covariances")

    def matrix(self) -> np.ndarray:
        return self.basis.unrotate_matrix(np.diag(self.value))

    def diagonal(self) -> np.ndarray:
        return self.basis.squared_matrix_times(self.value)

    def solve(self, y: np.ndarray) -> np.ndarray:
        self._require_regular()
        return self.basis.from_eigen(self.basis.to_eigen(y) / self.value)

    def whiten(self, y: np.ndarray) -> np.ndarray:
        # Sigma = L L^T with L = U diag(sqrt(lam))
        self._require_regular()
        return self.basis.to_eigen(y) / np.sqrt(self.value)

    def colour(self, z: np.ndarray) -> np.ndarray:
        return self.basis.from_eigen(z * np.sqrt(self.value))

    def affine(self, a: float, b: float) -> SpectralCovariance:
        with np.errstate(over="ignore", invalid="ignore"):
            v = a * self.value + b
        if not np.all(np.isfinite(v)):
            raise ValueError(f"a Sigma + b I overflows float64 (a = {a:g}, b = {b:g})")
        return SpectralCovariance(v, self.basis, _checked=True)

    def max_eigenvalue(self) -> float:
        return float(np.max(self.value))

    def promote(self, kind: str) -> Covariance:
        if kind == "spectral":
            return self
        if kind == "full":
            m = self.matrix()
            return Covariance(0.5 * (m + m.T), self.dim, _checked=True)
        raise ValueError(f"cannot demote a spectral covariance to {kind}")

    def __repr__(self) -> str:
        lam = np.array2string(self.value, precision=4, threshold=6)
        return f"spectral({self.basis!r}, eigenvalues={lam})"


def spectral_parts(
    cp: Covariance, cq: Covariance
) -> tuple[Basis | None, np.ndarray, np.ndarray] | None:
    """``(basis, lam_p, lam_q)`` if both covariances are diagonal in one basis (``basis`` is
    ``None`` for the standard basis), else ``None``. Isotropic covariances are diagonal in
    every basis."""
    kinds = (cp.kind, cq.kind)
    if "full" in kinds:
        return None
    if "spectral" not in kinds:
        return None, cp.diagonal(), cq.diagonal()
    if cp.kind == "spectral" and cq.kind == "spectral":
        return (cp.basis, cp.value, cq.value) if cp.basis == cq.basis else None
    sp, other = (cp, cq) if cp.kind == "spectral" else (cq, cp)
    if other.kind == "diag" and isinstance(sp.basis, IdentityBasis):
        lam_o = other.diagonal()
    elif other.kind != "iso":
        return None
    else:
        lam_o = np.full(sp.dim, float(other.value))
    return (sp.basis, sp.value, lam_o) if cp is sp else (sp.basis, lam_o, sp.value)
