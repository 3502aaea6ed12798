r"""Relative-entropy dynamics of the reverse family (paper 1, arXiv 2506.11378; notes §0-§1).

Reverse family in ``tau = T - t`` (notes §0): ``dY = [-f Y + (1+gamma)/2 g2 s(Y, t)] dtau +
sqrt(gamma g2) dW``; ``q_tau`` its law, ``pbar_tau = p_{T - tau}`` the forward marginal,
``H_tau = KL(q_tau || pbar_tau)`` (direction: sampler || exact, throughout).

Identity (E) of notes §0: with drifts differing by ``delta_b = (1+gamma)/2 g2 e``,
``e = s_tilde - grad log p``,

    dH/dtau = -(gamma g2 / 2) I(q_tau | pbar_tau) + E_q[delta_b . grad log(q_tau / pbar_tau)].

Gaussian data and affine score errors (rung 1-2). ``q = N(mu, C)``, ``pbar = N(m, S)``; the
moments move by (``P~``, ``c~`` the affine score ``s~ = -P~ x + c~``, ``F = -f - (1+gamma)/2
g2 P~``)

    mu' = F mu + (1+gamma)/2 g2 c~,   C' = F C + C F^T + gamma g2 I,
    m'  = -f m,                        S' = -(2 f S + g2 I)       (d/dtau = -d/dt),

and ``H = 1/2 [tr(S^{-1} C) - d - log det(S^{-1} C) + delta^T S^{-1} delta]``,
``delta = mu - m``, has the exact derivative (:func:`gaussian_kl_rate`)

    H' = 1/2 tr((S^{-1} - C^{-1}) C') + 1/2 tr((S^{-1} - S^{-1} (C + delta delta^T) S^{-1}) S')
         + delta^T S^{-1} (mu' - m').

The right side of (E) is closed form too (:func:`gaussian_identity_terms`):
``grad log(q / pbar)(x) = N x + v`` with ``N = P - C^{-1}``, ``v = C^{-1} mu - P m``
(``P = S^{-1}``, ``P m = c``), ``e(x) = A x + b`` with ``A = P - P~``, ``b = c~ - c``, so for
``x ~ N(mu, C)``: ``E[(A x + b) . (N x + v)] = tr(A C N^T) + (A mu + b) . (N mu + v)``.

LSI rate bound (notes §1.3a): ``H_tau <= H_0 exp(-int_0^tau gamma g2 / Cbar_u du)``,
``Cbar_u = C_LSI(p_{T-u})``. For Gaussian data ``Cbar = alpha^2 lam_max + sigma2`` and, because
``g2 / S = d/dt log(S / alpha^2)``, the exponent is closed form
(:func:`gaussian_lsi_decay`): ``exp(-gamma log((lam_max + sbar2(t0)) / (lam_max + sbar2(t))))``
with ``sbar2 = sigma2 / alpha^2`` and ``t0`` the start time.

Young + LSI bound (notes §1.3b, reconstructed): for ``lambda in (0, 1)`` and ``gamma > 0``

    H' <= -(1 - lambda) gamma g2 / Cbar H + (1 + gamma)^2 g2 / (8 lambda gamma) E_q |e|^2,

integrated by Gronwall (:func:`young_lsi_bound`).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, linalg

from analytic import Gaussian
from analytic.covariance import Covariance
from analytic.lsi import relative_fisher_gaussian

__all__ = [
    "affine_score",
    "moment_velocity",
    "gaussian_kl_rate",
    "gaussian_identity_terms",
    "gaussian_lsi_decay",
    "score_error_sq",
    "young_lsi_bound",
    "fd_derivative",
    "mixture_laplacian_log",
    "ode_particles_logq",
]


def _mat(v, d):
    """A scalar (times I), a diagonal or a full matrix as a ``(d, d)`` array."""
    return Covariance(v, d, _checked=True).matrix()


def affine_score(sde, data: Gaussian, t: float, score_error=None):
    """``(P~, c~, P, c)``: the (perturbed) score ``s~ = -P~ x + c~`` and the exact ``-P x + c``.

    Exact: ``P = S_t^{-1}``, ``c = P alpha m_0``; with ``(K, A, b) = score_error.affine_parts``
    ``s~ = K s + A x + b``, i.e. ``P~ = K P - A``, ``c~ = K c + b``.
    """
    d = data.dim
    al, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    S = al * al * _mat(data.cov, d) + s2 * np.eye(d)
    P = linalg.inv(S)  # d <= 2 here; symmetric positive definite
    P = 0.5 * (P + P.T)
    c = P @ (al * data.mean)
    if score_error is None:
        return P, c, P, c
    parts = score_error.affine_parts(float(t), d)
    if parts is None:
        raise ValueError("score_error is not affine; use the Fokker-Planck solver")
    K, A, b = (_mat(parts[0], d), _mat(parts[1], d), np.broadcast_to(parts[2], (d,)))
    return K @ P - A, K @ c + b, P, c


def moment_velocity(sde, data: Gaussian, q: Gaussian, t: float, gamma: float, score_error=None):
    """``(dmu, dC, dm, dS)``: d/dtau of the sampler's and the target's moments at time ``t``."""
    d = data.dim
    f, g2 = float(sde.f(t)), float(sde.g2(t))
    Pt, ct, _, _ = affine_score(sde, data, t, score_error)
    F = -f * np.eye(d) - 0.5 * (1.0 + gamma) * g2 * Pt
    C = _mat(q.cov, d)
    dmu = F @ q.mean + 0.5 * (1.0 + gamma) * g2 * ct
    dC = F @ C + C @ F.T + gamma * g2 * np.eye(d)
    al, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    S = al * al * _mat(data.cov, d) + s2 * np.eye(d)
    m = al * data.mean
    return dmu, dC, -f * m, -(2.0 * f * S + g2 * np.eye(d))


def gaussian_kl_rate(q: Gaussian, p: Gaussian, dmu, dC, dm, dS) -> float:
    """Exact ``d/dtau KL(q || p)`` given the velocities of both laws' moments (docstring)."""
    d = q.dim
    C, S = _mat(q.cov, d), _mat(p.cov, d)
    delta = q.mean - p.mean
    Sf, Cf = linalg.cho_factor(S), linalg.cho_factor(C)  # Cholesky solves, no inverses
    t1 = 0.5 * (np.trace(linalg.cho_solve(Sf, dC)) - np.trace(linalg.cho_solve(Cf, dC)))
    X = linalg.cho_solve(Sf, C + np.outer(delta, delta))  # S^{-1} (C + dd^T)
    Y = linalg.cho_solve(Sf, dS)  # S^{-1} dS
    t2 = 0.5 * (np.trace(Y) - np.trace(X @ Y))
    t3 = float(delta @ linalg.cho_solve(Sf, dmu - dm))
    return float(t1 + t2 + t3)


def gaussian_identity_terms(
    sde, data: Gaussian, q: Gaussian, t: float, gamma: float, score_error=None
):
    """``(-(gamma g2/2) I(q | p_t), E_q[delta_b . grad log(q/p_t)], I(q | p_t))``: the two
    terms of identity (E) at forward time ``t`` and the relative Fisher information."""
    d = data.dim
    g2 = float(sde.g2(t))
    p = sde.marginal(data, t)
    fisher = relative_fisher_gaussian(q, p)
    Pt, ct, P, c = affine_score(sde, data, t, score_error)
    C = _mat(q.cov, d)
    Cf = linalg.cho_factor(C)
    N = P - linalg.cho_solve(Cf, np.eye(d))  # P - C^{-1} (the precision, by Cholesky)
    v = linalg.cho_solve(Cf, q.mean) - c
    A, b = P - Pt, ct - c  # e(x) = s~ - s = (P - P~) x + (c~ - c)
    cross = float(np.trace(A @ C @ N.T) + (A @ q.mean + b) @ (N @ q.mean + v))
    return -0.5 * gamma * g2 * fisher, 0.5 * (1.0 + gamma) * g2 * cross, fisher


def gaussian_lsi_decay(sde, data: Gaussian, t, gamma: float, t0: float):
    """``exp(-int gamma g2 / Cbar)`` from ``t0`` down to ``t`` (closed form, docstring)."""
    lam = float(np.max(linalg.eigvalsh(_mat(data.cov, data.dim))))
    t = np.asarray(t, dtype=np.float64)

    def sbar2(x):
        return np.asarray(sde.sigma2(x)) / np.asarray(sde.alpha(x)) ** 2

    return ((lam + sbar2(t)) / (lam + sbar2(t0))) ** gamma


def score_error_sq(sde, data: Gaussian, q: Gaussian, t: float, score_error) -> float:
    """``E_q |e(x, t)|^2`` for an affine error ``e = A x + b`` and ``q = N(mu, C)``:
    ``tr(A C A^T) + |A mu + b|^2``."""
    Pt, ct, P, c = affine_score(sde, data, t, score_error)
    A, b = P - Pt, ct - c
    C = _mat(q.cov, data.dim)
    r = A @ q.mean + b
    return float(np.trace(A @ C @ A.T) + r @ r)


def young_lsi_bound(tau, H0: float, gamma: float, g2, cbar, e2, lam: float) -> np.ndarray:
    """Gronwall solution of ``B' = -k B + F``, ``B(0) = H0`` on the nodes ``tau`` (increasing),
    ``k = (1 - lam) gamma g2 / cbar``, ``F = (1 + gamma)^2 g2 e2 / (8 lam gamma)``:
    ``B(tau) = e^{-K(tau)} [H0 + int_0^tau e^{K(u)} F(u) du]``, ``K = int k``, both integrals
    by the trapezoid rule on the nodes (second order)."""
    if not (gamma > 0 and 0 < lam < 1):
        raise ValueError("young_lsi_bound needs gamma > 0 and 0 < lam < 1")
    tau, g2, cbar, e2 = (np.asarray(a, dtype=np.float64) for a in (tau, g2, cbar, e2))
    k = (1.0 - lam) * gamma * g2 / cbar
    K = integrate.cumulative_trapezoid(k, tau, initial=0.0)
    F = (1.0 + gamma) ** 2 * g2 * e2 / (8.0 * lam * gamma)
    J = integrate.cumulative_trapezoid(np.exp(K) * F, tau, initial=0.0)
    return np.exp(-K) * (H0 + J)


def fd_derivative(fun, x, h):
    """Five-point central difference ``(f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / (12 h)``
    (error ``O(h^4)``); ``fun`` vectorised over ``x``."""
    x = np.asarray(x, dtype=np.float64)
    return (fun(x - 2 * h) - 8 * fun(x - h) + 8 * fun(x + h) - fun(x + 2 * h)) / (12.0 * h)


# ------------------------------------------------------------ particles with exact log q
def mixture_laplacian_log(mix, x) -> np.ndarray:
    r"""``Lap log p(x)`` of a Gaussian mixture with isotropic or diagonal components.

    With ``u_k = V_k^{-1} (mu_k - x)`` and responsibilities ``pi_k``:
    ``grad^2 log p = sum_k pi_k (u_k u_k^T - V_k^{-1}) - s s^T``, ``s = sum_k pi_k u_k``, so
    ``Lap log p = sum_k pi_k (|u_k|^2 - tr V_k^{-1}) - |s|^2``.
    """
    x = np.asarray(x, dtype=np.float64)
    covs = np.asarray(mix.covs, dtype=np.float64)
    if covs.ndim == 3:
        raise ValueError("mixture_laplacian_log needs isotropic or diagonal components")
    v = covs[:, None] * np.ones((1, mix.dim)) if covs.ndim == 1 else covs  # (K, d)
    pi = mix.responsibilities(x)  # (n, K)
    u = (mix.means[None, :, :] - x[:, None, :]) / v[None, :, :]  # (n, K, d)
    s = np.einsum("nk,nkd->nd", pi, u)
    term = np.sum(u * u, axis=2) - np.sum(1.0 / v, axis=1)[None, :]
    return np.sum(pi * term, axis=1) - np.sum(s * s, axis=1)


def ode_particles_logq(sde, data, init, grid, n: int, rng, record):
    r"""Probability-flow ODE particles with their exact log-density (instantaneous change of
    variables): ``dY/dtau = b = -f Y + g2/2 grad log p_t(Y)`` and
    ``d/dtau log q_tau(Y_tau) = -div b = d f - g2/2 Lap log p_t(Y)``; classical RK4 on the
    grid (forward times, decreasing). ``data`` a mixture with isotropic/diagonal components,
    ``init`` a law with ``sample``/``log_prob``. Returns ``{index: (Y, log q)}`` for ``record``.
    """
    grid = np.asarray(grid, dtype=np.float64)
    d = data.dim
    y = init.sample(int(n), rng)
    lq = init.log_prob(y)

    def rhs(y, t):
        p = sde.marginal(data, t)
        f, g2 = float(sde.f(t)), float(sde.g2(t))
        return -f * y + 0.5 * g2 * p.score(y), d * f - 0.5 * g2 * mixture_laplacian_log(p, y)

    rec = set(int(i) % len(grid) for i in record)
    out = {0: (y.copy(), lq.copy())} if 0 in rec else {}
    for k in range(len(grid) - 1):
        t, h = grid[k], grid[k] - grid[k + 1]
        k1 = rhs(y, t)
        k2 = rhs(y + 0.5 * h * k1[0], t - 0.5 * h)
        k3 = rhs(y + 0.5 * h * k2[0], t - 0.5 * h)
        k4 = rhs(y + h * k3[0], t - h)
        y = y + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        lq = lq + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        if k + 1 in rec:
            out[k + 1] = (y.copy(), lq.copy())
    return out
