"""Gaussian mixtures ``p = sum_k w_k N(mu_k, Sigma_k)`` and their exact scores.

    log p(x)      = logsumexp_k [log w_k + log N(x; mu_k, Sigma_k)]
    grad log p(x) = sum_k pi_k(x) Sigma_k^{-1} (mu_k - x),   pi_k = softmax_k(...)

(docs/analytic.md, "Gaussian mixtures"). Under a linear forward SDE the marginal is the
mixture of ``N(alpha mu_k, alpha^2 Sigma_k + sigma2 I)`` with the same weights.

Robustness. Points so far from every mode that the shared shift underflows are recomputed with
a per-point shift (``_RESHIFT_BELOW``); points whose features overflow (``|x|^2 > 1.8e308``)
are recomputed component by component with whitened residuals. ``log_prob`` is then ``-inf``
only where the exact log-density is below ``-1.8e308``; a score that cannot be represented
(every responsibility underflows, or the value overflows) raises ``ValueError``. Never NaN.

Performance. For isotropic and diagonal components the quadratic forms are linear in the
features ``phi(x) = [x, |x|^2 or x*x, 1]``: the ``(n, K)`` logits are *one* matrix product
``phi(x) @ W`` (no ``n x K x d`` tensor), the softmax is done in place, and the score is a
second product ``V^T exp(logits)`` whose last row is the normaliser. The logits are stored
component-major ``(K, chunk)`` so the row maximum is a cheap elementwise reduction. Points are
processed in cache-sized chunks with reused buffers. Full covariances in ``d <= 8`` use the
same scheme with quadratic features ``x_i x_j`` (``i <= j``) and precisions from the cached
Cholesky factors; in higher ``d`` they loop over components (never over points).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg
from scipy.special import logsumexp

from ._checks import as_finite, as_points, sample_size
from .covariance import Covariance
from .gaussian import Gaussian, check_noise

__all__ = ["GaussianMixture"]

_LOG_2PI = float(np.log(2.0 * np.pi))
_CHUNK_BYTES = 1 << 20  # ~1 MiB of logits per chunk (measured best on a 1 MiB-L2 core)
_FULL_FEATURES_MAX_DIM = 8  # full covariances use quadratic features up to this dimension
_RESHIFT_BELOW = 1e-250  # normalisers below this are recomputed with a per-point shift


class GaussianMixture:
    """A finite Gaussian mixture.

    Parameters
    ----------
    weights : (K,) array, non-negative, summing to 1 (within 1e-12)
    means : (K, d) array
    covs : covariances of the components: ``(K,)`` isotropic scales, ``(K, d)`` diagonals,
        or ``(K, d, d)`` full matrices; a scalar is one isotropic scale shared by all.
    normalize : bool
        Rescale the weights to sum to 1 instead of raising.
    """

    def __init__(
        self,
        weights: ArrayLike,
        means: ArrayLike,
        covs: ArrayLike,
        *,
        normalize: bool = False,
        _checked: bool = False,
    ) -> None:
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be True or False, got {normalize!r}")
        w = as_finite(weights, "weights", ndim=1)
        if w.shape[0] == 0:
            raise ValueError("weights is empty: a mixture needs at least one component")
        mu = as_finite(means, "means")
        if mu.ndim == 1:
            mu = mu.reshape(-1, 1)
        if mu.ndim != 2 or mu.shape[0] != w.shape[0]:
            raise ValueError(
                f"means must have shape (K, d) with K = len(weights) = {w.shape[0]}, "
                f"got {np.shape(means)}"
            )
        K, d = mu.shape
        if d == 0:
            raise ValueError("means has zero columns: the dimension d must be >= 1")
        if not _checked:
            if np.any(w < 0):
                raise ValueError("weights must be non-negative")
            top = float(np.max(w))
            total = float(np.sum(w / top)) * top if top > 0 else 0.0
            if normalize:
                if top <= 0:
                    raise ValueError("weights sum to 0; cannot normalize")
                w = w / top
                w = w / np.sum(w)
            elif abs(total - 1.0) > 1e-12:
                raise ValueError(
                    f"weights sum to {total!r}, not 1 (tolerance 1e-12); "
                    "pass normalize=True to rescale them"
                )
        c = as_finite(covs, "covs")
        if c.ndim == 0:
            c = np.full(K, float(c))
        if c.ndim == 1 and c.shape == (K,):
            kind = "iso"
        elif c.ndim == 2 and c.shape == (K, d):
            kind = "diag"
        elif c.ndim == 3 and c.shape == (K, d, d):
            kind = "full"
        else:
            raise ValueError(
                f"covs must have shape (K,) isotropic, (K, d) diagonal or (K, d, d) full with "
                f"K={K}, d={d}; got {c.shape}"
            )
        self.kind = kind
        self._w = w
        self._mu = mu
        self._c = c
        if not _checked:
            for k in range(K):  # validates each covariance (PSD, symmetric)
                self._component_cov(k, name=f"covs[{k}]")

    # ------------------------------------------------------------ structure
    @property
    def n_components(self) -> int:
        return self._w.shape[0]

    @property
    def dim(self) -> int:
        return self._mu.shape[1]

    @property
    def weights(self) -> np.ndarray:
        return self._w.copy()

    @property
    def means(self) -> np.ndarray:
        return self._mu.copy()

    @property
    def covs(self) -> np.ndarray:
        """Component covariances in their stored compact form."""
        return self._c.copy()

    def _component_cov(self, k: int, name: str = "covs") -> Covariance:
        return Covariance(self._c[k], self.dim, name, _checked=False)

    def component(self, k: int) -> Gaussian:
        return Gaussian(self._mu[k], self._component_cov(k))

    # -------------------------------------------------------------- moments
    @property
    def mean(self) -> np.ndarray:
        """Overall mean ``sum_k w_k mu_k``."""
        return self._w @ self._mu

    @property
    def cov(self) -> np.ndarray:
        """Overall covariance ``sum_k w_k (Sigma_k + mu_k mu_k^T) - m m^T`` (full matrix)."""
        m = self.mean
        dev = self._mu - m
        between = (dev * self._w[:, None]).T @ dev
        if self.kind == "iso":
            within = float(self._w @ self._c) * np.eye(self.dim)
        elif self.kind == "diag":
            within = np.diag(self._w @ self._c)
        else:
            within = np.einsum("k,kij->ij", self._w, self._c)
        return within + between

    # ----------------------------------------------------- feature matrices
    @cached_property
    def _features(self):
        """``(W, V)``: logits = phi(x) @ W and exp-logits @ V gives the score numerators."""
        K, d = self._mu.shape
        if self.kind != "full" and np.any(self._c == 0):
            raise ValueError(
                "a component has zero variance: the mixture has no density or score; "
                "evaluate the forward marginal at t > 0 instead"
            )
        with np.errstate(divide="ignore"):
            logw = np.log(self._w)
        if self.kind == "iso":
            inv = 1.0 / self._c  # (K,)
            ms = self._mu * inv[:, None]
            const = logw - 0.5 * d * (_LOG_2PI + np.log(self._c))
            const -= 0.5 * np.einsum("kd,kd->k", self._mu, ms)
            W = np.vstack([ms.T, -0.5 * inv[None, :], const[None, :]])  # (d+2, K)
            V = np.hstack([ms, inv[:, None], np.ones((K, 1))])  # (K, d+2)
        elif self.kind == "diag":
            inv = 1.0 / self._c  # (K, d)
            ms = self._mu * inv
            const = logw - 0.5 * (d * _LOG_2PI + np.sum(np.log(self._c), axis=1))
            const -= 0.5 * np.einsum("kd,kd->k", self._mu, ms)
            W = np.vstack([ms.T, -0.5 * inv.T, const[None, :]])  # (2d+1, K)
            V = np.hstack([ms, inv, np.ones((K, 1))])  # (K, 2d+1)
        elif d <= _FULL_FEATURES_MAX_DIM:
            # precisions from the Cholesky factors: P_k = L_k^{-T} L_k^{-1}
            Linv = np.linalg.solve(self._chols, np.broadcast_to(np.eye(d), self._c.shape))
            P = np.einsum("kji,kjl->kil", Linv, Linv)
            ms = np.einsum("kij,kj->ki", P, self._mu)  # P_k mu_k
            logdet = 2.0 * np.sum(np.log(np.diagonal(self._chols, axis1=1, axis2=2)), axis=1)
            const = logw - 0.5 * (d * _LOG_2PI + logdet) - 0.5 * np.einsum("kd,kd->k", self._mu, ms)
            i, j = self._triu
            quad = -np.where(i == j, 0.5, 1.0) * P[:, i, j]  # x_i x_j coefficients, i <= j
            W = np.vstack([ms.T, quad.T, const[None, :]])  # (d + d(d+1)/2 + 1, K)
            V = np.hstack([ms, P.reshape(K, d * d), np.ones((K, 1))])  # (K, d + d^2 + 1)
        else:
            return None
        return np.ascontiguousarray(W), np.ascontiguousarray(V)

    @cached_property
    def _triu(self):
        return np.triu_indices(self.dim)

    @cached_property
    def _features_t(self):
        """``(W^T, V^T)`` with the score's logits shifted by the largest peak log-density.

        Every logit is ``const_k - q_k(x)/2`` with ``q_k >= 0``, so subtracting
        ``max_k const_k`` (on the constant feature) makes all shifted logits ``<= 0``: ``exp``
        cannot overflow and no per-point maximum is needed. Points whose normaliser
        underflows are recomputed with a per-point shift.
        """
        W, V = self._features
        W = W.copy()
        W[-1] -= np.max(W[-1] + self._peak_offset)
        return np.ascontiguousarray(W.T), np.ascontiguousarray(V.T)

    @cached_property
    def _peak_offset(self) -> np.ndarray:
        """``max_x logit_k(x) - const_k`` = ``|mu_k|^2 / (2 s_k)`` (the constant row holds the
        ``-|mu|^2/(2 s)`` part of the completed square)."""
        mu = self._mu
        if self.kind == "iso":
            return 0.5 * np.einsum("kd,kd->k", mu, mu) / self._c
        if self.kind == "full":
            W, _ = self._features
            return 0.5 * np.einsum("kd,dk->k", mu, W[: self.dim])  # mu^T P mu / 2
        return 0.5 * np.einsum("kd,kd->k", mu * mu, 1.0 / self._c)

    @cached_property
    def _chols(self) -> np.ndarray:
        return np.linalg.cholesky(self._c)  # batched over components

    def _chunk(self) -> int:
        return max(256, _CHUNK_BYTES // (8 * max(self.n_components, 1)))

    def _phi_t(self, x: np.ndarray, out: np.ndarray, const_row: bool = True) -> np.ndarray:
        """Features in component-major layout: rows ``x_j``, ``|x|^2`` (or ``x_j^2``), ``1``.

        ``const_row=False`` skips writing the row of ones (a reused buffer already has it).
        """
        d = self.dim
        xt = x.T
        out[:d] = xt
        if self.kind == "iso":
            sq = out[d]
            np.multiply(out[0], out[0], out=sq)
            for j in range(1, d):
                sq += out[j] * out[j]
        elif self.kind == "diag":
            np.multiply(out[:d], out[:d], out=out[d : 2 * d])
        else:
            i, j = self._triu
            np.multiply(out[i], out[j], out=out[d : d + len(i)])
        if const_row:
            out[-1] = 1.0
        return out

    def _full_logits(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        K, d = self._mu.shape
        out = np.empty((n, K))
        with np.errstate(divide="ignore"):
            logw = np.log(self._w)
        for k in range(K):
            L = self._chols[k]
            z = linalg.solve_triangular(L, (x - self._mu[k]).T, lower=True)
            logdet = 2.0 * np.sum(np.log(np.diag(L)))
            out[:, k] = logw[k] - 0.5 * (np.einsum("ij,ij->j", z, z) + d * _LOG_2PI + logdet)
        return out

    # ------------------------------------------------------------ densities
    def log_prob(self, x: ArrayLike) -> np.ndarray:
        """``log p(x)`` for each row of ``x``, shape ``(n,)``."""
        x = as_points(x, self.dim)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._log_prob(x)

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        feats = self._features
        if feats is None:
            return logsumexp(self._full_logits(x), axis=1)
        W, _ = feats
        WT = np.ascontiguousarray(W.T)
        n = x.shape[0]
        out = np.empty(n)
        cs = self._chunk()
        m0 = min(cs, n)
        phi = np.empty((W.shape[0], m0))
        lg = np.empty((W.shape[1], m0))
        for s in range(0, n, cs):
            e = min(s + cs, n)
            m = e - s
            L = lg[:, :m]
            np.matmul(WT, self._phi_t(x[s:e], phi[:, :m]), out=L)
            out[s:e] = logsumexp(L, axis=0)
        bad = ~np.isfinite(out)
        if np.any(bad):  # |x|^2 overflowed in the features: per-component whitened residuals
            out[bad] = logsumexp(self._robust_logits(x[bad]), axis=1)
        return out

    def _robust_logits(self, x: np.ndarray) -> np.ndarray:
        """``(n, K)`` logits ``log w_k + log N(x; mu_k, Sigma_k)`` from whitened residuals
        (``-inf`` where the squared distance overflows; no NaN)."""
        out = np.empty((x.shape[0], self.n_components))
        d = self.dim
        with np.errstate(divide="ignore", over="ignore"):
            logw = np.log(self._w)
            for k in range(self.n_components):
                c = Covariance(self._c[k], d, _checked=True)
                q = c.mahalanobis2(x - self._mu[k])
                out[:, k] = logw[k] - 0.5 * (q + d * _LOG_2PI + c.logdet)
        return out

    def _robust_score(self, x: np.ndarray) -> np.ndarray:
        lg = self._robust_logits(x)
        top = lg.max(axis=1, keepdims=True)
        if not np.all(np.isfinite(top)):
            i = int(np.argmax(~np.isfinite(top[:, 0])))
            raise ValueError(
                f"x[{i}] is too far from every component: all responsibilities underflow, "
                "so the score cannot be represented in float64"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            r = np.exp(lg - top)
            r /= r.sum(axis=1, keepdims=True)
            out = np.zeros_like(x)
            for k in range(self.n_components):
                c = Covariance(self._c[k], self.dim, _checked=True)
                out += r[:, k : k + 1] * c.solve(self._mu[k] - x)
        if not np.all(np.isfinite(out)):
            raise ValueError(
                "the score overflows float64 at some row of x: the input is too extreme"
            )
        return out

    def responsibilities(self, x: ArrayLike) -> np.ndarray:
        """Posterior component probabilities ``pi_k(x)``, shape ``(n, K)``."""
        x = as_points(x, self.dim)
        feats = self._features
        if feats is None:
            lg = self._full_logits(x)
        else:
            phi = self._phi_t(x, np.empty((feats[0].shape[0], x.shape[0])))
            lg = (feats[0].T @ phi).T
        lg -= lg.max(axis=1, keepdims=True)
        np.exp(lg, out=lg)
        lg /= lg.sum(axis=1, keepdims=True)
        return lg

    def score(self, x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """``grad log p(x) = sum_k pi_k(x) Sigma_k^{-1} (mu_k - x)``, shape ``(n, d)``."""
        x = as_points(x, self.dim)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._score(x, out)

    def _score(self, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        n, d = x.shape
        if out is None:
            out = np.empty((n, d))
        feats = self._features
        if feats is None:
            return self._full_score(x, out)
        W, V = feats
        WT, VT = self._features_t
        cs = self._chunk()
        m0 = min(cs, n)
        phi = np.empty((W.shape[0], m0))
        phi[-1] = 1.0  # the constant feature, written once for the reused buffer
        lg = np.empty((W.shape[1], m0))
        num = np.empty((V.shape[1], m0))
        tmp = np.empty((d, m0))
        c = d if self.kind == "diag" else 1
        for s in range(0, n, cs):
            e = min(s + cs, n)
            m = e - s
            xs = x[s:e]
            L = lg[:, :m]
            phis = self._phi_t(xs, phi[:, :m], const_row=False)
            # shifted logits: <= 0 for every point (the shift is the largest peak log-density)
            np.matmul(WT, phis, out=L)
            np.exp(L, out=L)
            N = num[:, :m]
            np.matmul(VT, L, out=N)
            tiny = N[-1] < _RESHIFT_BELOW
            if np.any(tiny):  # far from every mode: redo those points with a per-point shift
                Lb = WT @ phis[:, tiny]
                Lb -= Lb.max(axis=0)
                np.exp(Lb, out=Lb)
                N[:, tiny] = VT @ Lb
            # score = (sum_k e_k mu_k/s_k - x sum_k e_k/s_k) / sum_k e_k
            T_ = tmp[:, :m]
            if self.kind == "full":  # sum_k e_k P_k x, per point
                np.einsum("ijm,jm->im", N[d : d + d * d].reshape(d, d, m), xs.T, out=T_)
            else:
                np.multiply(xs.T, N[d : d + c], out=T_)
            np.subtract(N[:d], T_, out=T_)
            T_ /= N[-1]
            out[s:e] = T_.T
        bad = ~np.all(np.isfinite(out), axis=1)
        if np.any(bad):  # overflowing features or values: the exact per-component route
            out[bad] = self._robust_score(x[bad])
        return out

    def _full_score(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        out = self._full_score_fast(x, out)
        bad = ~np.all(np.isfinite(out), axis=1)
        if np.any(bad):
            out[bad] = self._robust_score(x[bad])
        return out

    def _full_score_fast(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        lg = self._full_logits(x)
        lg -= lg.max(axis=1, keepdims=True)
        np.exp(lg, out=lg)
        lg /= lg.sum(axis=1, keepdims=True)
        out[:] = 0.0
        for k in range(self.n_components):
            r = linalg.cho_solve((self._chols[k], True), (self._mu[k] - x).T).T
            out += lg[:, k : k + 1] * r
        return out

    # -------------------------------------------------------------- sampling
    def sample(
        self, n: int, rng: np.random.Generator, *, return_labels: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """``n`` draws, shape ``(n, d)`` (and the component labels if requested)."""
        n = sample_size(n)
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
        labels = rng.choice(self.n_components, size=n, p=self._w)
        z = rng.standard_normal((n, self.dim))
        if self.kind == "iso":
            x = self._mu[labels] + z * np.sqrt(self._c[labels])[:, None]
        elif self.kind == "diag":
            x = self._mu[labels] + z * np.sqrt(self._c[labels])
        else:
            x = np.empty_like(z)
            for k in range(self.n_components):
                sel = labels == k
                x[sel] = self._mu[k] + z[sel] @ self._chols[k].T
        return (x, labels) if return_labels else x

    # ------------------------------------------------------------ transforms
    def noised(self, alpha: float, sigma2: float) -> GaussianMixture:
        """Law of ``alpha X + sqrt(sigma2) Z``.

        Components ``N(alpha mu_k, alpha^2 Sigma_k + sigma2 I)``, same weights.
        """
        alpha, sigma2 = check_noise(alpha, sigma2)
        a2 = alpha * alpha
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "full":
                c = a2 * self._c + sigma2 * np.eye(self.dim)[None]
            else:
                c = a2 * self._c + sigma2
            mu = alpha * self._mu
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(mu))):
            raise ValueError(f"the noised mixture overflows float64 (alpha={alpha:g})")
        return GaussianMixture(self._w, mu, c, _checked=True)

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.n_components}, d={self.dim}, covs={self.kind})"
