r"""Log-Sobolev (LSI) and Poincare constants of the forward marginals (docs/analytic.md,
"Log-Sobolev constants").

Convention (as in arXiv 2506.11378, §2, as summarised there): ``mu``
satisfies LSI with constant ``C`` if ``Ent_mu(f^2) <= 2 C int |grad f|^2 dmu`` for all smooth
``f``, equivalently ``H(nu | mu) <= (C / 2) I(nu | mu)`` with the relative Fisher information
``I(nu | mu) = int |grad log(dnu/dmu)|^2 dnu``. Poincare with constant ``C_P``:
``Var_mu(f) <= C_P int |grad f|^2 dmu``; always ``C_P <= C_LSI``. Under this convention

* Gaussian: ``C_LSI(N(m, Sigma)) = C_P = lambda_max(Sigma)`` (exact; :func:`gaussian_lsi`);
* scaling ``C(law(a X)) = a^2 C(law(X))`` and convolution subadditivity
  ``C(mu * nu) <= C(mu) + C(nu)`` give, for the marginal ``p_t`` of a linear forward SDE,
  ``C(p_t) <= alpha_t^2 C(p_0) + sigma2_t`` (:func:`propagate_lsi`, :func:`marginal_lsi_bound`),
  with equality for Gaussian ``p_0``;
* Gaussian mixtures with one common covariance ``Sigma`` (:func:`mixture_lsi_bakry_emery`,
  derived here, [R]): ``-grad^2 log p(x) = Sigma^{-1} - Sigma^{-1} Cov_{pi(x)}(mu) Sigma^{-1}``
  where ``Cov_{pi(x)}(mu)`` is the covariance of the component means under the
  responsibilities; every projection of the means lies in an interval of length at most the
  diameter ``D`` of the set of means, so (Popoviciu) ``Cov <= D^2/4 I`` and
  ``-grad^2 log p >= kappa I``, ``kappa = min_i (1/lam_i - D^2 / (4 lam_i^2))``. When
  ``kappa > 0``, Bakry-Emery gives ``C_LSI <= 1 / kappa``; otherwise no bound (``inf``);
* :func:`mixture_lsi_ccnw` — **recalled from memory, unverified [M]**: Chen, Chewi &
  Niles-Weed (2021, "Dimension-free log-Sobolev inequalities for mixture distributions",
  arXiv 2102.11476; corollary for Gaussian convolutions of compactly supported measures):
  if ``nu`` is supported in a ball of radius ``R`` then
  ``C_LSI(nu * N(0, t I)) <= 6 (4 R^2 + t) exp(4 R^2 / t)``. Tests only check it against the
  1-D numerical estimates below (it must lie above them).

Numerical 1-D estimates (for checking a bound against a number, not proofs). On a uniform
cell-centred grid on ``[lo, hi]`` with weights ``pi_i ~ p(x_i) h`` and face weights
``w_{i+1/2} = sqrt(pi_i pi_{i+1}) / h^2`` (Neumann walls), the Dirichlet form is
``E(f) = sum w (f_{i+1} - f_i)^2``:

* :func:`poincare_constant_1d`: ``C_P = 1 / lambda_1`` with ``lambda_1`` the smallest non-zero
  eigenvalue of the generalised problem ``A f = lambda diag(pi) f`` (the spectral gap of the
  generator ``L f = f'' + (log p)' f'``), a tridiagonal symmetric problem;
* :func:`lsi_constant_1d`: ``sup_f Ent_pi(f^2) / (2 E(f))`` over the span of the first
  generator eigenfunctions, by BFGS from several starts
  (``f = 1 + eps phi_1`` and ``f = exp(a phi_1)``, ``exp(a x)``), with analytic gradient.
  A local optimum, so the value is a lower estimate of the grid's constant; it is ``>= C_P``
  by construction (the ``eps -> 0`` start recovers ``C_P``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg, optimize

from ._checks import as_finite
from .gaussian import Gaussian
from .mixture import GaussianMixture

if TYPE_CHECKING:
    from .sde import LinearSDE

__all__ = [
    "gaussian_lsi",
    "relative_fisher_gaussian",
    "propagate_lsi",
    "marginal_lsi_bound",
    "mixture_lsi_bakry_emery",
    "mixture_lsi_ccnw",
    "poincare_constant_1d",
    "lsi_constant_1d",
]


def _cov_matrix(p_or_cov, name: str = "covariance") -> np.ndarray:
    if isinstance(p_or_cov, Gaussian):
        return np.atleast_2d(p_or_cov.cov)
    c = as_finite(p_or_cov, name)
    if c.size == 0:
        raise ValueError(f"{name} is empty")
    if c.ndim == 0:
        return c.reshape(1, 1)
    if c.ndim == 1:
        return np.diag(c)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"{name} must be square, got shape {c.shape}")
    return c


def _gaussian(x, name: str) -> Gaussian:
    if not isinstance(x, Gaussian):
        raise TypeError(f"{name} must be a Gaussian, got {type(x).__name__}")
    return x


def _mixture(x) -> GaussianMixture:
    if not isinstance(x, GaussianMixture):
        raise TypeError(f"mix must be a GaussianMixture, got {type(x).__name__}")
    return x


def gaussian_lsi(p_or_cov: Gaussian | ArrayLike) -> float:
    """``C_LSI(N(m, Sigma)) = lambda_max(Sigma)`` (exact; equal to the Poincare constant).

    ``p_or_cov``: a ``Gaussian`` or a covariance (scalar, diagonal ``(d,)`` or ``(d, d)``).
    """
    c = _cov_matrix(p_or_cov)
    lam = linalg.eigvalsh(0.5 * (c + c.T))
    if lam[0] <= 0:
        raise ValueError("covariance must be positive definite")
    return float(lam[-1])


def relative_fisher_gaussian(q: Gaussian, p: Gaussian) -> float:
    r"""``I(q | p) = E_q |grad log q - grad log p|^2`` for Gaussians (closed form).

    With ``q = N(m1, C1)``, ``p = N(m2, C2)``, ``P_i = C_i^{-1}`` and ``x = m1 + z``:
    ``grad log(q/p)(x) = (P2 - P1) z + P2 (m1 - m2)``, hence

        I(q | p) = tr((P2 - P1) C1 (P2 - P1)) + |P2 (m1 - m2)|^2.

    Evaluated through Cholesky solves (``P2 - P1 = C2^{-1} (C1 - C2) C1^{-1}``, so the first
    term is ``tr(C1^{-1} D C2^{-2} D)`` with ``D = C1 - C2``; no cancellation as ``q -> p``).
    """
    q, p = _gaussian(q, "q"), _gaussian(p, "p")
    if q.dim != p.dim:
        raise ValueError(f"dimensions differ: q has {q.dim}, p has {p.dim}")
    C1, C2 = _cov_matrix(q), _cov_matrix(p)
    D = C1 - C2
    try:
        L1 = linalg.cho_factor(C1, lower=True)
        L2 = linalg.cho_factor(C2, lower=True)
    except linalg.LinAlgError:
        raise ValueError("q and p need positive-definite covariances") from None
    # M = (P2 - P1) = C2^{-1} D C1^{-1};  tr(M C1 M^T) = tr(C2^{-1} D C1^{-1} D C2^{-1})
    with np.errstate(over="ignore", invalid="ignore"):
        X = linalg.cho_solve(L2, D, check_finite=False)  # C2^{-1} D
        Y = linalg.cho_solve(L1, X.T, check_finite=False)  # C1^{-1} D C2^{-1}  (D symmetric)
        term1 = float(np.trace(X @ Y))  # tr(C2^{-1} D C1^{-1} D C2^{-1})
        v = linalg.cho_solve(L2, q.mean - p.mean, check_finite=False)
        out = max(term1, 0.0) + float(v @ v)
    if not np.isfinite(out):
        raise ValueError("I(q | p) overflows float64 (or the covariances are too ill-conditioned)")
    return out


def propagate_lsi(c0: ArrayLike, alpha: ArrayLike, sigma2: ArrayLike) -> float | np.ndarray:
    """``alpha^2 C(p_0) + sigma2``: the LSI bound for ``p_t`` (equality for Gaussian ``p_0``).

    Scaling plus convolution subadditivity (docs/analytic.md, "Log-Sobolev constants").
    Vectorised.
    """
    c0, alpha, sigma2 = (
        as_finite(v, n) for v, n in ((c0, "c0"), (alpha, "alpha"), (sigma2, "sigma2"))
    )
    if np.any(c0 < 0) or np.any(sigma2 < 0):
        raise ValueError("c0 and sigma2 must be >= 0")
    with np.errstate(over="ignore"):
        out = alpha * alpha * c0 + sigma2
    if not np.all(np.isfinite(out)):
        raise ValueError("alpha^2 c0 + sigma2 overflows float64")
    return out[()]


def marginal_lsi_bound(sde: LinearSDE, c0: ArrayLike, t: ArrayLike) -> float | np.ndarray:
    """``C(p_t) <= alpha(t)^2 C(p_0) + sigma2(t)`` for a linear forward SDE ``sde``."""
    t = as_finite(t, "t")
    return propagate_lsi(c0, sde.alpha(t), sde.sigma2(t))


def _mixture_common_cov(mix: GaussianMixture) -> np.ndarray:
    mix = _mixture(mix)
    covs = np.asarray(mix.covs, dtype=np.float64)
    d, K = mix.dim, mix.n_components
    if covs.ndim == 1:
        mats = np.stack([c * np.eye(d) for c in covs])
    elif covs.ndim == 2:
        mats = np.stack([np.diag(c) for c in covs])
    else:
        mats = covs
    if K > 1 and not np.allclose(mats, mats[0], rtol=1e-12, atol=0.0):
        raise ValueError("mixture components must share one covariance for this bound")
    return mats[0]


def _diameter(means: np.ndarray) -> float:
    diff = means[:, None, :] - means[None, :, :]
    return float(np.sqrt(np.max(np.sum(diff * diff, axis=-1))))


def mixture_lsi_bakry_emery(mix: GaussianMixture) -> float:
    """Bakry-Emery bound ``C_LSI <= 1/kappa``, ``kappa = min_i (1/lam_i - D^2/(4 lam_i^2))``.

    Components must share one covariance (eigenvalues ``lam_i``); ``D`` is the diameter of
    the set of means. Returns ``inf`` when ``kappa <= 0`` (the bound does not apply).
    Derivation in the module docstring ([R]). ``inf`` is the (vacuous) answer "no bound".
    """
    lam = linalg.eigvalsh(_mixture_common_cov(mix))
    if lam[0] <= 0:
        raise ValueError("the common covariance must be positive definite")
    D2 = _diameter(np.asarray(mix.means, dtype=np.float64)) ** 2
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        kappa = float(np.min(1.0 / lam - D2 / (4.0 * lam * lam)))
    if np.isnan(kappa):
        raise ValueError("the Bakry-Emery constant overflows float64 (extreme covariance or means)")
    return 1.0 / kappa if kappa > 0 else float("inf")


def mixture_lsi_ccnw(mix: GaussianMixture) -> float:
    """[M] recalled, unverified: ``6 (4 R^2 + t) exp(4 R^2 / t)`` for ``nu * N(0, t I)``.

    Isotropic common covariance ``t I``; ``R`` the radius of a ball holding the means
    (here: around their centroid, ``R = max |mu_k - mean(mu)|``). See the module docstring.
    Returns ``inf`` (a vacuous bound) when the value exceeds float64.
    """
    cov = _mixture_common_cov(mix)
    t = float(cov[0, 0])
    if not t > 0:
        raise ValueError("mixture_lsi_ccnw needs a positive component variance t")
    if not np.allclose(cov, t * np.eye(mix.dim), rtol=1e-12, atol=0.0):
        raise ValueError("mixture_lsi_ccnw needs isotropic components t I")
    means = np.asarray(mix.means, dtype=np.float64)
    R2 = float(np.max(np.sum((means - means.mean(axis=0)) ** 2, axis=1)))
    with np.errstate(over="ignore"):
        return float(6.0 * (4.0 * R2 + t) * np.exp(4.0 * R2 / t))


# --------------------------------------------------------------------- 1-D numerics
def _grid_weights(logp, bounds, n):
    if not callable(logp):
        raise TypeError(f"logp must be a callable x (n, 1) -> (n,), got {type(logp).__name__}")
    b = as_finite(bounds, "bounds")
    if b.shape != (2,) or not b[1] > b[0]:
        raise ValueError(f"bounds must be finite (lo, hi) with lo < hi, got {bounds!r}")
    lo, hi = float(b[0]), float(b[1])
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 8 <= n <= 10**5:
        raise ValueError(f"n must be an integer in [8, 10**5], got {n!r}")
    n = int(n)
    h = (hi - lo) / n
    x = lo + h * (np.arange(n) + 0.5)
    lp = np.asarray(logp(x.reshape(-1, 1)), dtype=np.float64).reshape(-1)
    if lp.shape != (n,) or not np.all(np.isfinite(lp)):
        raise ValueError("logp must return n finite values for points of shape (n, 1)")
    w = np.exp(lp - lp.max())
    pi = w / w.sum()
    if not np.all(pi > 0):
        raise ValueError("p underflows to 0 on part of the grid: narrow the bounds")
    face = np.sqrt(pi[:-1] * pi[1:]) / (h * h)
    if not (np.all(np.isfinite(face)) and np.all(face > 0)):
        raise ValueError(f"the grid spacing h = {h:g} makes the Dirichlet form under/overflow")
    return x, pi, face


def _gap_problem(pi, face):
    # symmetric form: B^{-1/2} A B^{-1/2}, A tridiagonal with A = sum_faces w (e_i - e_j)^2
    diag = np.zeros(pi.size)
    diag[:-1] += face
    diag[1:] += face
    s = 1.0 / np.sqrt(pi)
    d = diag * s * s
    e = -face * s[:-1] * s[1:]
    return d, e, s


def poincare_constant_1d(
    logp: Callable[[np.ndarray], np.ndarray], bounds: tuple[float, float], n: int = 400
) -> float:
    """Poincare constant ``1 / lambda_1`` of ``p ~ exp(logp)`` on ``[lo, hi]`` (module docstring).

    ``logp``: callable ``x (n, 1) -> (n,)`` (unnormalised is fine).
    """
    _, pi, face = _grid_weights(logp, bounds, n)
    return _poincare(pi, face)


def _poincare(pi, face) -> float:
    d, e, _ = _gap_problem(pi, face)
    lam = linalg.eigh_tridiagonal(d, e, select="i", select_range=(1, 1), eigvals_only=True)
    if not (np.isfinite(lam[0]) and lam[0] > 0 and np.isfinite(1.0 / lam[0])):
        raise ValueError("the Poincare constant is not representable (bounds too wide or narrow)")
    return float(1.0 / lam[0])


def _modes(pi, face, k):
    """First ``k`` eigenfunctions of the grid generator, ``pi``-orthonormal (column 0 = 1)."""
    d, e, s = _gap_problem(pi, face)
    k = min(k, pi.size)
    _, vec = linalg.eigh_tridiagonal(d, e, select="i", select_range=(0, k - 1))
    phi = vec * s[:, None]
    return phi / np.sqrt(np.sum(pi[:, None] * phi * phi, axis=0))


def _neg_ratio(c, basis, pi, face):
    """``-Ent(f^2) / (2 E(f))`` and its gradient in the coefficients ``c`` of ``f = basis c``."""
    f = basis @ c
    f2 = f * f
    m = float(np.sum(pi * f2))
    df = np.diff(f)
    E = float(np.sum(face * df * df))
    if m <= 0 or E <= 1e-300:
        return 0.0, np.zeros_like(c)
    logf2 = np.log(np.maximum(f2, 1e-300))
    ent = float(np.sum(pi * f2 * logf2)) - m * np.log(m)
    g_ent = 2.0 * pi * f * (logf2 - np.log(m))
    g_E = np.zeros_like(f)
    g_E[:-1] -= 2.0 * face * df
    g_E[1:] += 2.0 * face * df
    grad = (g_ent * E - ent * g_E) / (2.0 * E * E)
    return -ent / (2.0 * E), -(basis.T @ grad)


def lsi_constant_1d(
    logp: Callable[[np.ndarray], np.ndarray],
    bounds: tuple[float, float],
    n: int = 400,
    *,
    n_modes: int = 24,
) -> float:
    """LSI estimate ``sup_f Ent(f^2) / (2 E(f))`` of ``p ~ exp(logp)`` on ``[lo, hi]``.

    The supremum is taken over ``f`` in the span of the first ``n_modes`` eigenfunctions of
    the grid generator (BFGS with analytic gradient from several starts: ``1 + eps phi_1``,
    ``1 + a phi_1``, and the projections of ``exp(a phi_1)`` and ``exp(a x)``); the best local
    optimum. A lower estimate of the grid's constant, never below its Poincare constant.
    """
    x, pi, face = _grid_weights(logp, bounds, n)
    if isinstance(n_modes, bool) or not isinstance(n_modes, int | np.integer) or n_modes < 2:
        raise ValueError(f"n_modes must be an integer >= 2, got {n_modes!r}")
    basis = _modes(pi, face, n_modes)
    cp = _poincare(pi, face)  # the same number as poincare_constant_1d: never below it
    xs = (x - np.sum(pi * x)) / np.sqrt(np.sum(pi * (x - np.sum(pi * x)) ** 2))
    funcs = [1.0 + 1e-3 * basis[:, 1]]
    for a in (0.5, 1.0, 2.0):
        funcs += [np.exp(a * basis[:, 1]), np.exp(-a * basis[:, 1])]
        funcs += [np.exp(np.clip(a * xs, -30, 30)), np.exp(np.clip(-a * xs, -30, 30))]
    best = cp
    for f0 in funcs:
        c0 = basis.T @ (pi * f0)
        res = optimize.minimize(
            _neg_ratio,
            c0,
            args=(basis, pi, face),
            jac=True,
            method="BFGS",
            options={"maxiter": 400, "gtol": 1e-10},
        )
        best = max(best, -float(res.fun))
    return float(best)
