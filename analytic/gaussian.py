"""The multivariate Gaussian ``N(m, Sigma)``.

    log p(x) = -1/2 (x - m)^T Sigma^{-1} (x - m) - 1/2 log det(2 pi Sigma)
    grad log p(x) = Sigma^{-1} (m - x)

Under the linear forward SDE ``dX = f(t) X dt + g(t) dW`` (docs/analytic.md, "Linear forward
SDEs") the marginal of ``N(m, Sigma)`` is ``N(alpha m, alpha^2 Sigma + sigma2 I)``, which
``marginal`` returns in the same compact covariance form.

Bad input raises ``TypeError`` (not real numbers) or ``ValueError`` (NaN/inf, empty, wrong
shape, not PSD). Results are finite, except ``log_prob`` which is ``-inf`` where the exact
log-density is below ``-1.8e308`` (the squared Mahalanobis distance overflows); a score that
would overflow float64 raises ``ValueError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_finite, as_points, sample_size
from .covariance import Covariance

if TYPE_CHECKING:
    from .spectral import Basis

__all__ = ["Gaussian"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class Gaussian:
    """A Gaussian law with isotropic, diagonal or full covariance.

    Parameters
    ----------
    mean : array_like, shape (d,) (a scalar means d = 1)
    cov : float, (d,) or (d, d)
        ``s`` for ``s I``, a diagonal, or a full symmetric positive-definite matrix.

    Examples
    --------
    >>> import numpy as np
    >>> p = Gaussian(np.zeros(2), 2.0)          # N(0, 2 I)
    >>> p.log_prob(np.zeros((1, 2))).round(4)
    array([-2.5310])
    """

    def __init__(self, mean: ArrayLike, cov: ArrayLike | Covariance) -> None:
        m = as_finite(mean, "mean")
        if m.ndim == 0:
            m = m.reshape(1)
        if m.ndim != 1:
            raise ValueError(f"mean must be a (d,) vector, got shape {m.shape}")
        if m.shape[0] == 0:
            raise ValueError("mean is empty: a Gaussian needs dimension d >= 1")
        self._mean = m
        self._coef = None  # the mean in a spectral covariance's eigenbasis, once computed
        self._cov = cov if isinstance(cov, Covariance) else Covariance(cov, m.shape[0], "cov")
        if self._cov.dim != m.shape[0]:
            raise ValueError("cov dimension does not match mean")

    @classmethod
    def from_spectrum(
        cls, mean: ArrayLike, eigenvalues: ArrayLike, basis: ArrayLike | Basis | None = None
    ) -> Gaussian:
        """``N(m, U diag(eigenvalues) U^T)`` in spectral form (``analytic.spectral``).

        ``basis``: ``None`` (the standard basis: a diagonal covariance), an orthonormal
        ``(d, d)`` matrix of eigenvectors (columns), or an ``analytic.spectral.Basis`` (e.g.
        ``HartleyBasis`` for a stationary law). Marginals, scores, KL and W2 then cost O(d)
        in the eigenbasis plus one rotation; the covariance matrix is never formed.
        """
        from .spectral import Basis, DenseBasis, SpectralCovariance

        m = as_finite(mean, "mean")
        if m.ndim == 0:
            m = m.reshape(1)
        if basis is None:
            return cls(m, as_finite(eigenvalues, "eigenvalues", ndim=1))
        if not isinstance(basis, Basis):
            basis = DenseBasis(basis)
        out = cls(m, SpectralCovariance(eigenvalues, basis))
        out._coef = basis.to_eigen(m[None])[0]
        return out

    @property
    def mean_coefficients(self) -> np.ndarray:
        """The mean in the covariance's eigenbasis (``U^T m``; ``m`` itself unless spectral)."""
        if self._cov.kind != "spectral":
            return self._mean.copy()
        if self._coef is None:
            self._coef = self._cov.basis.to_eigen(self._mean[None])[0]
        return self._coef.copy()

    # ---------------------------------------------------------------- moments
    @property
    def dim(self) -> int:
        return self._mean.shape[0]

    @property
    def mean(self) -> np.ndarray:
        return self._mean.copy()

    @property
    def cov(self) -> np.ndarray:
        """The full ``(d, d)`` covariance matrix."""
        return self._cov.matrix()

    @property
    def covariance(self) -> Covariance:
        """The compact covariance object (``kind`` in iso/diag/full)."""
        return self._cov

    # -------------------------------------------------------------- densities
    def log_prob(self, x: ArrayLike) -> np.ndarray:
        """``log N(x; m, Sigma)`` for each row of ``x`` (shape ``(n,)``)."""
        x = as_points(x, self.dim)
        with np.errstate(over="ignore", invalid="ignore"):
            q = self._cov.mahalanobis2(x - self._mean)
            return -0.5 * (q + self.dim * _LOG_2PI + self._cov.logdet)

    def score(self, x: ArrayLike) -> np.ndarray:
        """``grad log p(x) = Sigma^{-1} (m - x)``, shape ``(n, d)``."""
        x = as_points(x, self.dim)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._cov.solve(self._mean - x)
        return _finite(out, "score")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws, shape ``(n, d)``, from the generator ``rng``.

        ``n``: a non-negative integer (an int, or a float with an integer value such as 1e4).
        """
        n = sample_size(n)
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
        z = rng.standard_normal((n, self.dim))
        with np.errstate(over="ignore", invalid="ignore"):
            x = self._mean + self._cov.colour(z)
        return _finite(x, "samples")

    # ------------------------------------------------------------- transforms
    def noised(self, alpha: float, sigma2: float) -> Gaussian:
        """Law of ``alpha X + sqrt(sigma2) Z``: ``N(alpha m, alpha^2 Sigma + sigma2 I)``.

        This is the forward marginal of docs/analytic.md, "Linear forward SDEs"
        (``alpha = alpha(t)``, ``sigma2 = sigma2(t)``).
        """
        alpha, sigma2 = check_noise(alpha, sigma2)
        out = Gaussian(alpha * self._mean, self._cov.affine(alpha * alpha, sigma2))
        if self._coef is not None:
            out._coef = alpha * self._coef
        return out

    def __repr__(self) -> str:
        m = np.array2string(self._mean, precision=4, threshold=6)
        return f"Gaussian(mean={m}, cov={self._cov!r})"


def check_noise(alpha, sigma2) -> tuple[float, float]:
    """``(alpha, sigma2)`` as floats, finite, with ``sigma2 >= 0``."""
    alpha, sigma2 = float(alpha), float(sigma2)
    if not (np.isfinite(alpha) and np.isfinite(sigma2) and sigma2 >= 0):
        raise ValueError(f"need finite alpha and sigma2 >= 0, got alpha={alpha}, sigma2={sigma2}")
    return alpha, sigma2


def _finite(out: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(out)):
        i = int(np.argmax(~np.all(np.isfinite(out.reshape(out.shape[0], -1)), axis=1)))
        raise ValueError(f"{what} overflows float64 (row {i}): the input is too extreme")
    return out
