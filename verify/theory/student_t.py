r"""A multivariate Student-t start law fitted to samples (arXiv 2603.00772 v2: heavy tails).

``t_nu(mu, Sigma)`` in ``d`` dimensions has the log-density

    log t(x) = log Gamma((nu + d)/2) - log Gamma(nu/2) - d/2 log(nu pi) - 1/2 log det Sigma
               - (nu + d)/2 log(1 + delta(x)/nu),     delta(x) = (x - mu)^T Sigma^{-1} (x - mu),

and is the Gaussian scale mixture ``X = mu + L Z / sqrt(U)``, ``U ~ Gamma(nu/2, rate nu/2)``
(used by :meth:`StudentT.sample`).

Fit (:func:`fit_student_t`): maximum likelihood by ECME (Liu and Rubin 1995, Statistica Sinica
5): given ``(mu, Sigma, nu)`` the E-step weights are ``w_i = (nu + d)/(nu + delta_i)`` (the
posterior mean of ``U_i``), the CM-steps ``mu = sum w x / sum w`` and
``Sigma = sum w (x - mu)(x - mu)^T / sum w`` (the parameter-expanded step of Kent, Tyler and
Vardi 1994 / Liu, Rubin and Wu 1998: the same fixed points as the ``/ n`` step, much faster),
and ``nu`` maximises the observed log-likelihood at the new ``(mu, Sigma)`` (a 1-D bounded
search over ``log nu``). Each iteration does not decrease the log-likelihood (both steps are
monotone); it stops when the mean log-likelihood changes by less than ``tol``. ``df`` fixes
``nu``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy.special import gammaln

__all__ = ["StudentT", "StudentTFit", "fit_student_t"]


class StudentT:
    """``t_nu(mean, scale)``: ``log_prob`` (module docstring) and exact ``sample``."""

    def __init__(self, mean, scale, df: float):
        self.mean = np.asarray(mean, dtype=np.float64).ravel()
        self.scale = np.asarray(scale, dtype=np.float64)
        d = self.mean.size
        if self.scale.shape != (d, d):
            raise ValueError(f"scale must be ({d}, {d}), got {self.scale.shape}")
        if not (np.isfinite(df) and df > 0):
            raise ValueError(f"df must be a positive number, got {df!r}")
        self.df = float(df)
        self.chol = linalg.cholesky(self.scale, lower=True)

    @property
    def dim(self) -> int:
        return self.mean.size

    def mahalanobis2(self, x) -> np.ndarray:
        z = linalg.solve_triangular(self.chol, (np.asarray(x, float) - self.mean).T, lower=True)
        return np.einsum("ij,ij->j", z, z)

    def log_prob(self, x) -> np.ndarray:
        return _log_t(self.mahalanobis2(x), self.df, self.dim, _logdet(self.chol))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((int(n), self.dim))
        u = rng.gamma(self.df / 2, 2.0 / self.df, size=int(n))
        return self.mean + (z @ self.chol.T) / np.sqrt(u)[:, None]


def _logdet(chol) -> float:
    return 2.0 * float(np.sum(np.log(np.diag(chol))))


def _log_t(delta, nu, d, logdet):
    return (
        gammaln((nu + d) / 2)
        - gammaln(nu / 2)
        - 0.5 * d * np.log(nu * np.pi)
        - 0.5 * logdet
        - 0.5 * (nu + d) * np.log1p(delta / nu)
    )


@dataclass
class StudentTFit:
    """:func:`fit_student_t`'s result: the law, its mean log-likelihood, iterations, converged,
    and the mean log-likelihood after each iteration."""

    law: StudentT
    log_likelihood: float
    n_iter: int
    converged: bool
    history: list


def _best_nu(delta, d, logdet, bounds):
    def neg(log_nu):
        return -float(np.mean(_log_t(delta, np.exp(log_nu), d, logdet)))

    res = optimize.minimize_scalar(neg, bounds=np.log(bounds), method="bounded")
    return float(np.exp(res.x))


def fit_student_t(
    samples,
    *,
    df: float | None = None,
    max_iter: int = 200,
    tol: float = 1e-8,
    df_bounds=(0.5, 1000.0),
) -> StudentTFit:
    """Maximum-likelihood ``t_nu(mu, Sigma)`` for ``samples`` ``(n, d)`` by ECME (module
    docstring); ``df`` fixes ``nu``. Starts from the sample mean and covariance, ``nu = 10``."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] <= x.shape[1] + 1:
        raise ValueError(f"samples must be an (n, d) array with n > d + 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or inf")
    if df is not None and not df > 0:
        raise ValueError(f"df must be positive, got {df!r}")
    n, d = x.shape
    mu = x.mean(axis=0)
    S = np.cov(x.T, bias=True).reshape(d, d)
    nu = 10.0 if df is None else float(df)
    hist, converged = [], False
    for _ in range(int(max_iter)):
        chol = linalg.cholesky(S, lower=True)
        z = linalg.solve_triangular(chol, (x - mu).T, lower=True)
        delta = np.einsum("ij,ij->j", z, z)
        ll = float(np.mean(_log_t(delta, nu, d, _logdet(chol))))
        if hist and abs(ll - hist[-1]) < tol:
            hist.append(ll)
            converged = True
            break
        hist.append(ll)
        w = (nu + d) / (nu + delta)
        mu = (w @ x) / w.sum()
        xc = x - mu
        S = (xc * w[:, None]).T @ xc / w.sum()  # PX-EM scale step (Kent, Tyler, Vardi 1994)
        S = 0.5 * (S + S.T)
        if df is None:
            chol = linalg.cholesky(S, lower=True)
            z = linalg.solve_triangular(chol, xc.T, lower=True)
            nu = _best_nu(np.einsum("ij,ij->j", z, z), d, _logdet(chol), df_bounds)
    law = StudentT(mu, S, nu)
    return StudentTFit(law, float(np.mean(law.log_prob(x))), len(hist), converged, hist)
