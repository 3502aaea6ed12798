r"""Exact conditional laws of the common-noise sampler for Gaussian data and affine fields.

The particle chain of :func:`verify.theory.common_noise.sample_common_noise` (Euler steps for
the reverse drift and the independent noise, stochastic Heun for the common noise) is, for
Gaussian data ``N(m0, Sigma)``, an exact or affine score error ``s_tilde = K s + A_e y + b_e``
(``verify.errors``, ``affine_parts``) and affine fields ``sigma_k(x, t) = A_k x + c_k``
(``ConstantField``, ``LinearField`` of :mod:`verify.theory.common_noise`), an affine map of
each particle plus independent Gaussian noise. Given the common path ``B`` the
``N -> infinity`` law of the particles (the solution ``u`` of the density SPDE for that
path) is therefore exactly Gaussian, ``u_j = N(m_j, C_j)``, with
(docs/claims/spde.md#radial-blind-spot)

    S = alpha_t^2 Sigma + sigma2_t I,   s(y) = -S^{-1} (y - alpha_t m0),
    G = -f I + w (A_e - K S^{-1}),      g = w (K S^{-1} alpha_t m0 + b_e),   w = (1 + gamma)/2 g2,
    E = sum_k A_k dB_k,   e = sum_k c_k dB_k      (Heun: incr = (E + E^2/2) y + (I + E/2) e),
    M = I + h G + E + E^2/2,   r = h g + e + E e / 2,
    m' = M m + r,   C' = M C M^T + gamma g2 h I,

all coefficients at the step's start ``t = t_j`` (as the particles). The radial projection
``phi = |x|^2`` then has ``<u, phi> = |m|^2 + tr C``, the common QV rate
``sum_k (2 (tr(A_k C) + m^T A_k m + c_k . m))^2`` and, for ``N`` particles, the independent
part ``4 gamma g2 (|m|^2 + tr C) / N`` (the ``O(1/N)`` floor of the metric). The antithetic
step (``dB -> -dB``: ``M_- = I + h G - E + E^2/2``, ``r_- = h g - e + E e / 2``) gives the
martingale part of each increment of the projection, as the particle sampler records it.

Rung 2 per path (an exact moment recursion); expectations over ``B`` are Monte Carlo over
paths. :func:`w2_gaussian_batch` and :func:`kl_gaussian_batch` compare the final laws with a
target in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.solvers.reverse import ReverseFamily

__all__ = [
    "GaussianPaths",
    "conditional_gaussian_laws",
    "w2_gaussian_batch",
    "kl_gaussian_batch",
]


@dataclass
class GaussianPaths:
    """Exact conditional laws ``N(means[r, j], covs[r, j])`` for ``R`` common paths.

    ``times`` the grid, ``h`` the steps, ``g2`` and ``gamma`` the noise coefficients;
    ``common_rate[r, j]`` the common QV rate of ``<u, |x|^2>`` at node ``j``; ``mart[r, j]`` the
    antithetic martingale increment of ``<u, |x|^2>`` over step ``j``; ``dB`` the paths.
    """

    times: np.ndarray
    h: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    common_rate: np.ndarray
    mart: np.ndarray
    g2: np.ndarray
    gamma: float
    dB: np.ndarray

    def square_projection(self) -> np.ndarray:
        """``<u_j, |x|^2> = |m_j|^2 + tr C_j``, shape ``(R, n_nodes)``."""
        return _square(self.means, self.covs)

    def indep_rate(self, n_particles: float) -> np.ndarray:
        """``4 gamma g2 <u, |x|^2> / N``: the independent-noise rate of ``N`` particles."""
        return 4.0 * self.gamma * self.g2 * self.square_projection() / float(n_particles)

    def qv(self, window: float = 1.0, n_particles: float | None = None) -> dict:
        """Realised QV of ``<u, |x|^2>`` over the first ``ceil(window n)`` steps, the integral
        of the common rate and (given ``n_particles``) of the independent floor, ``(R,)`` each
        (see :func:`verify.theory.common_noise.quadratic_variation`)."""
        from verify.theory.common_noise import quadratic_variation

        indep = None if n_particles is None else self.indep_rate(n_particles)
        return quadratic_variation(
            self.square_projection(), self.h, window, self.common_rate, indep
        )

    def martingale_ratio(self) -> np.ndarray:
        """Per path, the mean over the steps with a positive rate of
        ``mart_j^2 / (common_rate_j h_j)`` (expectation ``1 + O(h)``); NaN if none."""
        rate = self.common_rate[:, :-1] * self.h
        ok = rate > 0
        z = np.where(ok, self.mart**2 / np.where(ok, rate, 1.0), 0.0)
        n = ok.sum(axis=1)
        return np.where(n > 0, z.sum(axis=1) / np.maximum(n, 1), np.nan)

    def w2(self, target, node: int = -1) -> np.ndarray:
        """``W2^2(u_node, target)`` per path for a Gaussian ``target``."""
        return w2_gaussian_batch(self.means[:, node], self.covs[:, node], target.mean, target.cov)

    def kl(self, target, node: int = -1) -> np.ndarray:
        """``KL(u_node || target)`` per path for a Gaussian ``target``."""
        return kl_gaussian_batch(self.means[:, node], self.covs[:, node], target.mean, target.cov)


def _field_parts(noise, grid, d):
    """``A`` ``(n_nodes, K, d, d)`` and ``c`` ``(n_nodes, K, d)`` of the affine fields."""
    K = 0 if noise is None else noise.n
    A, c = np.zeros((grid.size, K, d, d)), np.zeros((grid.size, K, d))
    for j, t in enumerate(grid):
        for k, (Ak, ck) in enumerate([] if noise is None else noise.affine_parts(t, d)):
            A[j, k], c[j, k] = Ak, ck
    return A, c


def _error_parts(score_error, grid, d):
    """``K``, ``A_e`` ``(n_nodes, d, d)`` and ``b_e`` ``(n_nodes, d)`` of an affine error."""
    eye = np.eye(d)
    K = np.tile(eye, (grid.size, 1, 1))
    A_e, b_e = np.zeros((grid.size, d, d)), np.zeros((grid.size, d))
    if score_error is None:
        return K, A_e, b_e
    for j, t in enumerate(grid):
        parts = score_error.affine_parts(float(t), d)
        if parts is None:
            raise ValueError(f"score_error is not affine at t = {float(t):g}")
        K0, A0, b0 = (np.asarray(v, dtype=np.float64) for v in parts)
        K[j] = K0 * eye if K0.ndim == 0 else K0
        A_e[j] = A0 * eye if A0.ndim == 0 else A0
        b_e[j] = np.broadcast_to(b0, (d,))
    return K, A_e, b_e


def _drift_affine(sde, data, grid, f, w, score_error):
    """``(G, g)`` per node: the reverse drift is ``b(y) = G_j y + g_j`` at ``t_j``."""
    d = data.dim
    a = np.asarray(sde.alpha(grid), dtype=np.float64) * np.ones_like(grid)
    s2 = np.asarray(sde.sigma2(grid), dtype=np.float64) * np.ones_like(grid)
    S = a[:, None, None] ** 2 * np.asarray(data.cov)[None] + s2[:, None, None] * np.eye(d)
    Sinv = np.linalg.inv(S)
    K, A_e, b_e = _error_parts(score_error, grid, d)
    KS = K @ Sinv
    G = -f[:, None, None] * np.eye(d) + w[:, None, None] * (A_e - KS)
    g = w[:, None] * ((KS @ np.asarray(data.mean, dtype=np.float64)) * a[:, None] + b_e)
    return G, g


def _common_rate(A, c, m, C) -> np.ndarray:
    """``sum_k (2 (tr(A_k C) + m^T A_k m + c_k . m))^2`` at one node; ``A`` (K, d, d)."""
    rate = np.zeros(m.shape[0])
    d = m.shape[-1]
    for Ak, ck in zip(A, c, strict=True):
        q = m @ ck
        for i in range(d):
            for k in range(d):
                if Ak[i, k] != 0.0:
                    q = q + Ak[i, k] * (C[:, k, i] + m[:, i] * m[:, k])
        rate += (2.0 * q) ** 2
    return rate


def _mm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` over the last two axes; for ``d <= 3`` by explicit sums (much faster than
    ``matmul`` on many tiny matrices)."""
    d = A.shape[-1]
    if d > 3:
        return A @ B
    shape = np.broadcast_shapes(A.shape[:-2], B.shape[:-2]) + (A.shape[-2], B.shape[-1])
    out = np.empty(shape)
    for i in range(A.shape[-2]):
        for j in range(B.shape[-1]):
            acc = A[..., i, 0] * B[..., 0, j]
            for k in range(1, d):
                acc = acc + A[..., i, k] * B[..., k, j]
            out[..., i, j] = acc
    return out


def _mv(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``A @ v`` over the last axes (``v`` a batch of vectors)."""
    return _mm(A, v[..., None])[..., 0]


def _square(m, C) -> np.ndarray:
    """``|m|^2 + tr C`` over the leading axes."""
    out = m[..., 0] * m[..., 0] + C[..., 0, 0]
    for i in range(1, m.shape[-1]):
        out = out + m[..., i] * m[..., i] + C[..., i, i]
    return out


def _check_paths(grid, noise, dB, field_scale):
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if grid.size < 2 or not np.all(np.diff(grid) < 0):
        raise ValueError("grid must hold >= 2 forward times, strictly decreasing")
    n_fields = 0 if noise is None else noise.n
    dB = np.asarray(dB, dtype=np.float64)
    if dB.ndim != 3 or dB.shape[1:] != (grid.size - 1, n_fields):
        raise ValueError(f"dB must have shape (R, {grid.size - 1}, {n_fields})")
    R = dB.shape[0]
    lam = np.ones((R, grid.size)) if field_scale is None else np.asarray(field_scale, float)
    if lam.shape != (R, grid.size):
        raise ValueError(f"field_scale must have shape (R, n_nodes) = {(R, grid.size)}")
    return grid, dB, lam


def conditional_gaussian_laws(
    sde,
    data,
    grid,
    noise=None,
    gamma: float = 1.0,
    *,
    dB: np.ndarray,
    init=None,
    score_error=None,
    field_scale=None,
    antithetic: bool = True,
) -> GaussianPaths:
    """The exact law given each common path of the particle chain (module docstring).

    ``data`` a ``Gaussian`` target; ``grid`` forward times decreasing from ``T``; ``noise`` a
    :class:`~verify.theory.common_noise.CommonNoise` of affine fields (or ``None``); ``gamma``
    the constant stochasticity; ``dB`` ``(R, n_steps, K)`` common increments (as given to the
    particles); ``init`` the start law (default ``p_T`` at ``grid[0]``); ``score_error`` an
    affine error model (``verify.errors``) or ``None``; ``field_scale`` ``(R, n_nodes)``
    multiplies every field of path ``r`` at node ``j`` (a magnitude times a time profile:
    the fields at node ``j`` are ``field_scale[r, j] sigma_k(x, t_j)``; default 1);
    ``antithetic=False`` skips the ``-dB`` branch (``mart`` is then NaN), halving the work.
    """
    grid, dB, lam = _check_paths(grid, noise, dB, field_scale)
    fam = ReverseFamily(sde, None, gamma)
    if not fam.constant_gamma:
        raise ValueError("gamma must be a constant number >= 0")
    f_all, w_all, D_all = (np.asarray(v) * np.ones_like(grid) for v in fam.drift_coefficients(grid))
    init = sde.marginal(data, float(grid[0])) if init is None else init
    d, R, n_nodes = data.dim, dB.shape[0], grid.size
    sdB = dB * lam[:, :-1, None]
    G, g = _drift_affine(sde, data, grid, f_all, w_all, score_error)
    A, c = _field_parts(noise, grid, d)
    m = np.broadcast_to(np.asarray(init.mean, dtype=np.float64), (R, d)).copy()
    C = np.broadcast_to(np.asarray(init.cov, dtype=np.float64), (R, d, d)).copy()
    means, covs = np.empty((R, n_nodes, d)), np.empty((R, n_nodes, d, d))
    rate, mart = np.zeros((R, n_nodes)), np.empty((R, n_nodes - 1))
    eye = np.eye(d)
    sign = np.array([1.0, -1.0] if antithetic else [1.0])[:, None, None, None]
    if not antithetic:
        mart[:] = np.nan
    for j in range(n_nodes):
        means[:, j], covs[:, j] = m, C
        rate[:, j] = lam[:, j] ** 2 * _common_rate(A[j], c[j], m, C)
        if j == n_nodes - 1:
            break
        h = grid[j] - grid[j + 1]
        E = np.zeros((R, d, d))
        e = np.zeros((R, d))
        for k in range(A.shape[1]):  # broadcasting, not BLAS (tiny products)
            E += sdB[:, j, k, None, None] * A[j, k][None]
            e += sdB[:, j, k, None] * c[j, k][None]
        E2, Ee = _mm(E, E), _mv(E, e)
        # both antithetic branches at once: axis 0 is the sign of dB
        M = eye + h * G[j] + sign * E[None] + 0.5 * E2[None]
        r = h * g[j] + sign[..., 0] * e[None] + 0.5 * Ee[None]
        m2 = _mv(M, m[None]) + r
        C2 = _mm(_mm(M, C[None]), np.swapaxes(M, -1, -2)) + 2.0 * D_all[j] * h * eye
        if antithetic:
            proj = _square(m2, C2)
            mart[:, j] = 0.5 * (proj[0] - proj[1])
        m, C = m2[0], C2[0]
    g2 = np.asarray(sde.g2(grid), dtype=np.float64) * np.ones_like(grid)
    return GaussianPaths(grid, -np.diff(grid), means, covs, rate, mart, g2, float(gamma), dB)


def _sqrt_psd(C: np.ndarray) -> np.ndarray:
    lam, U = np.linalg.eigh(0.5 * (C + np.swapaxes(C, -1, -2)))
    return (U * np.sqrt(np.clip(lam, 0.0, None))[..., None, :]) @ np.swapaxes(U, -1, -2)


def w2_gaussian_batch(m1, C1, m2, C2) -> np.ndarray:
    """``W2^2(N(m1_r, C1_r), N(m2, C2))`` for a batch ``m1`` ``(R, d)``, ``C1`` ``(R, d, d)``:
    ``|m1 - m2|^2 + tr C1 + tr C2 - 2 tr (C2^1/2 C1 C2^1/2)^1/2`` (eigenvalues of the
    symmetric product; clipped at 0 against round-off)."""
    m1, C1 = np.asarray(m1, dtype=np.float64), np.asarray(C1, dtype=np.float64)
    m2, C2 = np.asarray(m2, dtype=np.float64), np.asarray(C2, dtype=np.float64)
    if m1.ndim != 2 or C1.shape != (*m1.shape, m1.shape[1]) or C2.shape != C1.shape[1:]:
        raise ValueError("need m1 (R, d), C1 (R, d, d), m2 (d,), C2 (d, d)")
    r2 = _sqrt_psd(C2)
    X = _mm(_mm(r2[None], C1), r2[None])
    lam = np.linalg.eigvalsh(0.5 * (X + np.swapaxes(X, -1, -2)))
    cross = np.sqrt(np.clip(lam, 0.0, None)).sum(axis=-1)
    val = np.sum((m1 - m2) ** 2, axis=-1) + np.einsum("rii->r", C1) + np.trace(C2) - 2.0 * cross
    return np.maximum(val, 0.0)


def kl_gaussian_batch(m1, C1, m2, C2) -> np.ndarray:
    """``KL(N(m1_r, C1_r) || N(m2, C2)) = 1/2 [tr(C2^-1 C1) - d + (m2 - m1)^T C2^-1 (m2 - m1)
    + ln det C2 - ln det C1]`` for a batch."""
    m1, C1 = np.asarray(m1, dtype=np.float64), np.asarray(C1, dtype=np.float64)
    m2, C2 = np.asarray(m2, dtype=np.float64), np.asarray(C2, dtype=np.float64)
    d = m1.shape[-1]
    P = np.linalg.inv(C2)
    dm = m2 - m1
    _, ld1 = np.linalg.slogdet(C1)
    _, ld2 = np.linalg.slogdet(C2)
    quad = np.einsum("ri,ij,rj->r", dm, P, dm)
    return 0.5 * (np.einsum("ij,rji->r", P, C1) - d + quad + ld2 - ld1)
