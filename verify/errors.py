"""Score error models and prior (initialisation) error models.

Score errors wrap a score callable ``s(x, t)`` and return ``s_tilde(x, t)``; each has

* ``__call__(x, t)`` -> (n, d), the perturbed score;
* ``affine_parts(t, dim)`` -> ``(K, A, b)`` with ``s_tilde(x, t) = K s(x, t) + A x + b``
  (``K``, ``A`` a scalar or a (d, d) matrix, ``b`` a (d,) vector), or ``None`` when the error
  is not affine in ``(s, x)``. For Gaussian data an affine error keeps every sampler an
  affine-Gaussian chain, so ``verify.solvers.chain_laws`` gives its law exactly.

Models (``e = s_tilde - s``):

* ``Offset(c)``:     ``e = c`` (constant bias; the Girsanov/KL bounds' ``eps_score^2 = |c|^2``).
* ``Scale(k)``:      ``s_tilde = k s`` (``k`` scalar or matrix; temperature-like mis-scaling).
* ``Affine(A, b)``:  ``e = A(t) x + b(t)``.
* ``FourierField``:  ``e(x) = amplitude * sum_j a_j cos(w_j . x + phi_j)``, random features
  ``w_j ~ N(0, I / length_scale^2)``, ``phi_j ~ U[0, 2 pi)``, ``a_j ~ N(0, I / n_features)``
  drawn once from ``seed`` (a smooth bounded nonlinear error; random Fourier features,
  Rahimi & Recht 2007).
* ``Solenoidal``:    a divergence-free field: ``e = amplitude J x`` with ``J`` antisymmetric
  (affine), or in 2-D with ``nonlinear=True`` ``e = amplitude J grad psi``,
  ``psi(x) = exp(-|x - c|^2 / (2 l^2))``. ``div e = tr(J Hess psi) = 0`` and ``e . grad psi
  = 0``; the linear field is orthogonal to ``x`` (``x . J x = 0``). Such an error changes the
  reverse dynamics but, added to the score of an isotropic law centred at the origin
  (linear case) or of ``psi`` itself, leaves the Fokker-Planck stationary density unchanged.
* ``EarlyBlowup(sde, c, p)``: ``e = c sigma(t)^{-p}`` (an offset that grows as ``t -> 0``;
  ``sigma`` is ``sde.sigma``, the EDM noise level). Integrable against ``g2`` only for small
  ``p``: the test bed for bounds assuming ``E|e|^2`` integrable.

Prior errors: ``prior_law(sde, data, kind, ...)`` returns the start law of the reverse chain:
``"prior"`` (``sde.prior(dim)``), ``"exact"`` (``p_T``), ``"shifted"`` (``p_T`` shifted by a
vector), ``"rescaled"`` (covariance of ``p_T`` scaled by a factor about its mean), or any
``Gaussian`` / ``GaussianMixture`` passed as ``kind``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ScoreError",
    "Offset",
    "Scale",
    "Affine",
    "FourierField",
    "Solenoidal",
    "EarlyBlowup",
    "prior_law",
]


def _at(value, t):
    return value(t) if callable(value) else value


def _vector(c, dim: int, name: str) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    if c.ndim == 0:
        return np.full(dim, float(c))
    if c.shape != (dim,):
        raise ValueError(f"{name} must be a scalar or a ({dim},) vector, got shape {c.shape}")
    return c


def _matrix_or_scalar(a, dim: int, name: str):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return float(a)
    if a.shape != (dim, dim):
        raise ValueError(f"{name} must be a scalar or a ({dim}, {dim}) matrix, got {a.shape}")
    return a


def _apply(M, x):
    """``M x`` row-wise for a scalar or (d, d) ``M``."""
    return M * x if np.ndim(M) == 0 else x @ np.asarray(M).T


class ScoreError:
    """Base class: ``s_tilde(x, t) = s(x, t) + error(x, t)``."""

    def __init__(self, score):
        if not callable(score):
            raise ValueError("score must be a callable (x, t) -> (n, d)")
        self.score = score
        for attr in ("p0", "sde"):  # keep the exact score's metadata visible
            if hasattr(score, attr):
                setattr(self, attr, getattr(score, attr))

    def error(self, x, t) -> np.ndarray:
        """``s_tilde(x, t) - s(x, t)``."""
        raise NotImplementedError

    def __call__(self, x, t) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(self.score(x, t), dtype=np.float64) + self.error(x, t)

    def affine_parts(self, t, dim: int):
        """``(K, A, b)`` with ``s_tilde = K s + A x + b``, or None if not affine."""
        return None


class Offset(ScoreError):
    """``s_tilde = s + c`` (``c`` a scalar, a (d,) vector, or a callable of t)."""

    def __init__(self, score, c):
        super().__init__(score)
        self.c = c

    def error(self, x, t):
        return np.broadcast_to(_vector(_at(self.c, t), x.shape[1], "c"), x.shape)

    def affine_parts(self, t, dim):
        return 1.0, 0.0, _vector(_at(self.c, t), dim, "c")


class Scale(ScoreError):
    """``s_tilde = k s`` (``k`` a scalar, a (d, d) matrix, or a callable of t)."""

    def __init__(self, score, k):
        super().__init__(score)
        self.k = k

    def __call__(self, x, t):
        x = np.asarray(x, dtype=np.float64)
        k = _matrix_or_scalar(_at(self.k, t), x.shape[1], "k")
        return _apply(k, np.asarray(self.score(x, t), dtype=np.float64))

    def error(self, x, t):
        return self(x, t) - np.asarray(self.score(x, t), dtype=np.float64)

    def affine_parts(self, t, dim):
        return _matrix_or_scalar(_at(self.k, t), dim, "k"), 0.0, np.zeros(dim)


class Affine(ScoreError):
    """``s_tilde = s + A x + b`` (``A`` scalar or (d, d), ``b`` scalar or (d,), or callables)."""

    def __init__(self, score, A, b=0.0):
        super().__init__(score)
        self.A, self.b = A, b

    def error(self, x, t):
        d = x.shape[1]
        A = _matrix_or_scalar(_at(self.A, t), d, "A")
        return _apply(A, x) + _vector(_at(self.b, t), d, "b")

    def affine_parts(self, t, dim):
        return (
            1.0,
            _matrix_or_scalar(_at(self.A, t), dim, "A"),
            _vector(_at(self.b, t), dim, "b"),
        )


class FourierField(ScoreError):
    """Smooth nonlinear error ``amplitude * sum_j a_j cos(w_j . x + phi_j)`` (fixed features).

    ``amplitude`` may be a callable of t. ``E_w |e|^2`` at a point is about
    ``amplitude^2 d / 2`` (random ``a_j``), independent of ``n_features``.
    """

    def __init__(self, score, amplitude, n_features: int = 16, length_scale=1.0, seed=0):
        super().__init__(score)
        if int(n_features) < 1 or not float(length_scale) > 0:
            raise ValueError("need n_features >= 1 and length_scale > 0")
        self.amplitude = amplitude
        self.n_features = int(n_features)
        self.length_scale = float(length_scale)
        self.seed = seed
        self._cache: dict[int, tuple] = {}

    def features(self, dim: int):
        """``(W (J, d), phi (J,), a (J, d))`` for dimension ``dim`` (deterministic in seed)."""
        if dim not in self._cache:
            rng = np.random.default_rng(self.seed)
            J = self.n_features
            W = rng.standard_normal((J, dim)) / self.length_scale
            phi = rng.uniform(0.0, 2.0 * np.pi, J)
            a = rng.standard_normal((J, dim)) / np.sqrt(J)
            self._cache[dim] = (W, phi, a)
        return self._cache[dim]

    def error(self, x, t):
        W, phi, a = self.features(x.shape[1])
        return float(_at(self.amplitude, t)) * (np.cos(x @ W.T + phi) @ a)


class Solenoidal(ScoreError):
    """Divergence-free error: ``amplitude J x`` (affine) or, in 2-D with ``nonlinear=True``,
    ``amplitude J grad psi`` with a Gaussian bump ``psi`` (centre ``center``, width
    ``length_scale``). ``J`` defaults to the rotation generator ``[[0, -1], [1, 0]]`` in each
    consecutive coordinate pair (a trailing odd coordinate is left alone); a given ``J`` must
    be antisymmetric."""

    def __init__(self, score, amplitude, *, nonlinear=False, J=None, center=None, length_scale=1.0):
        super().__init__(score)
        self.amplitude = amplitude
        self.nonlinear = bool(nonlinear)
        self._J = None if J is None else np.asarray(J, dtype=np.float64)
        if self._J is not None and not np.allclose(self._J, -self._J.T, atol=0, rtol=0):
            raise ValueError("J must be antisymmetric (J = -J^T)")
        self.center = None if center is None else np.asarray(center, dtype=np.float64)
        self.length_scale = float(length_scale)

    def J(self, dim: int) -> np.ndarray:
        if self._J is not None:
            if self._J.shape != (dim, dim):
                raise ValueError(f"J has shape {self._J.shape}, need ({dim}, {dim})")
            return self._J
        J = np.zeros((dim, dim))
        for i in range(0, dim - 1, 2):
            J[i, i + 1], J[i + 1, i] = -1.0, 1.0
        return J

    def error(self, x, t):
        d = x.shape[1]
        amp = float(_at(self.amplitude, t))
        J = self.J(d)
        if not self.nonlinear:
            return amp * (x @ J.T)
        if d != 2:
            raise ValueError("Solenoidal(nonlinear=True) is defined in 2-D only")
        c = np.zeros(2) if self.center is None else self.center
        z = x - c
        l2 = self.length_scale**2
        psi = np.exp(-0.5 * np.einsum("ij,ij->i", z, z) / l2)
        grad = -z / l2 * psi[:, None]
        return amp * (grad @ J.T)

    def affine_parts(self, t, dim):
        if self.nonlinear:
            return None
        return 1.0, float(_at(self.amplitude, t)) * self.J(dim), np.zeros(dim)


class EarlyBlowup(ScoreError):
    """``s_tilde = s + c sigma(t)^{-p}`` with ``sigma = sde.sigma`` (``c`` scalar or (d,))."""

    def __init__(self, score, sde, c, p):
        super().__init__(score)
        self.sde_model = sde
        self.c = c
        self.p = float(p)
        if self.p < 0:
            raise ValueError(f"p must be >= 0, got {p}")

    def _b(self, t, dim):
        sig = float(self.sde_model.sigma(t))
        if sig <= 0:
            raise ValueError(f"EarlyBlowup is infinite at t={t:g} (sigma(t) = 0); stop earlier")
        return _vector(self.c, dim, "c") * sig ** (-self.p)

    def error(self, x, t):
        return np.broadcast_to(self._b(t, x.shape[1]), x.shape)

    def affine_parts(self, t, dim):
        return 1.0, 0.0, self._b(t, dim)


# --------------------------------------------------------------------------- priors
def prior_law(sde, data, kind="prior", *, shift=None, factor=None, t=None):
    """Start law of the reverse chain at forward time ``t`` (default ``sde.T``).

    kind: ``"prior"`` -> ``sde.prior(dim)`` (``N(0, sigma2(T) I)``; for VE/EDM the classical
    ``pi_infty``); ``"exact"`` -> ``sde.marginal(data, t)``; ``"shifted"`` -> the exact
    marginal translated by ``shift`` (scalar or (d,)); ``"rescaled"`` -> the exact marginal
    with its covariance multiplied by ``factor`` about its mean (a GMM keeps its weights:
    ``means -> m + sqrt(factor)(mu_k - m)``, ``covs -> factor Sigma_k``); a ``Gaussian`` or
    ``GaussianMixture`` -> returned as is.
    """
    from analytic import Gaussian, GaussianMixture

    if isinstance(kind, Gaussian | GaussianMixture):
        if kind.dim != data.dim:
            raise ValueError(f"law has dimension {kind.dim}, data has {data.dim}")
        return kind
    t = float(sde.T) if t is None else float(t)
    if kind == "prior":
        if t != float(sde.T):
            s2 = float(sde.sigma2(t))
            return Gaussian(np.zeros(data.dim), s2)
        return sde.prior(data.dim)
    exact = sde.marginal(data, t)
    if kind == "exact":
        return exact
    if kind == "shifted":
        if shift is None:
            raise ValueError("kind='shifted' needs shift= (scalar or (d,) vector)")
        v = _vector(shift, data.dim, "shift")
        if isinstance(exact, Gaussian):
            return Gaussian(exact.mean + v, exact.covariance)
        return GaussianMixture(exact.weights, exact.means + v, exact.covs, _checked=True)
    if kind == "rescaled":
        if factor is None or not float(factor) > 0:
            raise ValueError("kind='rescaled' needs factor > 0")
        f = float(factor)
        if isinstance(exact, Gaussian):
            return Gaussian(exact.mean, f * exact.cov)
        m = exact.mean
        means = m + np.sqrt(f) * (exact.means - m)
        return GaussianMixture(exact.weights, means, f * exact.covs, _checked=True)
    raise ValueError(
        f"unknown prior kind {kind!r}; use 'prior', 'exact', 'shifted', 'rescaled' or pass a "
        "Gaussian / GaussianMixture"
    )
