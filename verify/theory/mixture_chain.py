r"""VE chains on 2-D Gaussian-mixture data: exact-score chain laws on a grid, bound terms by MC.

Paper 2 (Fassina, Cardoso, Le Corff, Romary, arXiv 2603.00772) runs the variance-exploding
(EDM, ``t = sigma``, ``g^2 = 2 sigma``) reverse chain on a 25-mode 2-D GMM with the analytic
score. Every step of the two chains used here is a Gaussian kernel around the same mean,

    x' ~ N(m(x), v I),   m(x) = x + (t^2 - s^2) grad log p_t(x),

with ``v = t^2 - s^2`` for the exponential integrator (the chain the Girsanov bound is proved
for) and ``v = (s^2 / t^2)(t^2 - s^2)`` for the authors' DDPM step
(``toy_data_experiments/src/diffusion_samplers.py``: mean ``(1 - s^2/t^2) D + (s^2/t^2) x``,
``D = x + t^2 grad log p_t``, which is the same ``m``). The chain's law is propagated on a
tensor grid (:func:`chain_density_2d`):

    q_{k+1}(y) = int q_k(x) N(y; m(x), v I) dx ~ h^2 sum_i q_k(x_i) phi_v(y_1 - m_1(x_i))
                 phi_v(y_2 - m_2(x_i)),

a trapezoid rule in ``x`` (spectrally accurate for smooth integrands; the kernel is separable,
so one step is one matrix product). It is accurate while the kernel width ``sqrt(v)`` and the
law's scale span a few grid spacings, which limits it to noise levels well above the mixture's
component scale (0.025): the claims stop at ``sigma = 0.134`` and measure the grid error by
refinement. Validated against the exact Gaussian chain law in tests.

:func:`e_disc_steps` estimates the bound's discretization term per step by Monte Carlo,

    e_k = int_{s}^{t} (g(u)^2 / 2) E|grad log p_t(X_t) - grad log p_u(X_u)|^2 du,
    X_t = X_u + sqrt(t^2 - u^2) Z,  X_u ~ p_u,

``g^2/2 = u`` (EDM), Gauss-Legendre in ``u``, exact GMM scores, one i.i.d. mean per step with
its standard error (a CLT interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytic import GaussianMixture

__all__ = [
    "GridLaw",
    "chain_density_2d",
    "grid_axes",
    "grid_kl",
    "e_disc_steps",
    "step_variance",
]


def step_variance(t: float, s: float, method: str) -> float:
    """The kernel variance of a step ``t -> s`` (``s < t``) of ``method``."""
    if not 0 <= s < t:
        raise ValueError(f"a step needs 0 <= s < t, got t={t!r}, s={s!r}")
    if method == "exponential":
        return t * t - s * s
    if method == "ancestral":
        return (s * s / (t * t)) * (t * t - s * s)
    raise ValueError(f"method must be 'exponential' or 'ancestral', got {method!r}")


def grid_axes(data: GaussianMixture, sigma: float, n: int, n_sd: float = 5.0) -> list:
    """Per-axis nodes covering the means of ``data`` +- ``n_sd`` standard deviations of its
    widest component noised at ``sigma`` (``n`` nodes per axis)."""
    if data.dim != 2:
        raise ValueError(f"the grid chain is 2-D, got dim {data.dim}")
    if int(n) < 8:
        raise ValueError(f"need at least 8 nodes per axis, got {n!r}")
    sd = float(np.sqrt(np.linalg.eigvalsh(data.covs).max() + sigma**2))
    lo, hi = data.means.min(axis=0) - n_sd * sd, data.means.max(axis=0) + n_sd * sd
    return [np.linspace(lo[j], hi[j], int(n)) for j in range(2)]


@dataclass
class GridLaw:
    """A density ``q`` on the tensor grid ``axes`` (values at the nodes, ``(n, n)``)."""

    axes: list
    q: np.ndarray

    @property
    def points(self) -> np.ndarray:
        X, Y = np.meshgrid(*self.axes, indexing="ij")
        return np.c_[X.ravel(), Y.ravel()]

    @property
    def cell(self) -> float:
        return float((self.axes[0][1] - self.axes[0][0]) * (self.axes[1][1] - self.axes[1][0]))

    @property
    def mass(self) -> float:
        return float(self.q.sum() * self.cell)


def _phi(u, v):
    return np.exp(-0.5 * u * u / v) / np.sqrt(2.0 * np.pi * v)


def chain_density_2d(data: GaussianMixture, start, sigmas, method: str, n: int) -> GridLaw:
    """The law of the exact-score VE chain on ``sigmas`` (decreasing), started from ``start``
    (an object with ``log_prob``), on grids of ``n`` nodes per axis (module docstring)."""
    sig = np.asarray(sigmas, dtype=np.float64)
    if sig.ndim != 1 or sig.size < 2 or np.any(np.diff(sig) >= 0) or sig[-1] < 0:
        raise ValueError("sigmas must be a decreasing 1-D array of >= 2 noise levels >= 0")
    law = GridLaw(grid_axes(data, float(sig[0]), n), np.empty(0))
    pts = law.points
    q = np.exp(start.log_prob(pts))
    for t, s in zip(sig[:-1], sig[1:], strict=True):
        t, s = float(t), float(s)
        m = pts + (t * t - s * s) * data.noised(1.0, t * t).score(pts)
        v = step_variance(t, s, method)
        a = q * law.cell
        keep = a > 1e-18 * a.max()
        axes = grid_axes(data, s, n)
        F1 = _phi(axes[0][None, :] - m[keep, 0:1], v) * a[keep, None]
        F2 = _phi(axes[1][None, :] - m[keep, 1:2], v)
        law = GridLaw(axes, F1.T @ F2)
        pts = law.points
        q = law.q.ravel()
    return law


def grid_kl(p, law: GridLaw) -> float:
    """``KL(p || q)`` by the trapezoid rule on ``law``'s grid (``p`` has ``log_prob``)."""
    lp = p.log_prob(law.points)
    lq = np.log(np.maximum(law.q.ravel(), 1e-300))
    return float(law.cell * np.sum(np.exp(lp) * (lp - lq)))


def e_disc_steps(data, sigmas, n: int, rng: np.random.Generator, n_quad: int = 8):
    """Per-step ``(e_k, se_k)`` of the discretization term (module docstring), EDM time.

    ``data`` is an ``analytic.GaussianMixture`` (exact scores of ``data.noised``) or any law with
    ``sample(n, rng)``, ``dim`` and ``score(x, sigma)`` (the Student-t mixture's quadrature score).
    """
    sig = np.asarray(sigmas, dtype=np.float64)
    if sig.ndim != 1 or sig.size < 2 or np.any(np.diff(sig) >= 0):
        raise ValueError("sigmas must be a decreasing 1-D array of >= 2 noise levels")
    if int(n) < 2:
        raise ValueError(f"need n >= 2 samples per step, got {n!r}")
    if isinstance(data, GaussianMixture):

        def score(x, sigma):
            return data.noised(1.0, sigma * sigma).score(x)

    else:
        score = data.score
    d = int(data.dim)
    nodes, weights = np.polynomial.legendre.leggauss(int(n_quad))
    est, se = [], []
    for t, s in zip(sig[:-1], sig[1:], strict=True):
        t, s = float(t), float(s)
        u = 0.5 * (t - s) * nodes + 0.5 * (t + s)
        w = 0.5 * (t - s) * weights
        f = np.zeros(int(n))
        for uq, wq in zip(u, w, strict=True):
            xu = data.sample(int(n), rng) + uq * rng.standard_normal((int(n), d))
            xt = xu + np.sqrt(t * t - uq * uq) * rng.standard_normal((int(n), d))
            diff = score(xt, t) - score(xu, uq)
            f += wq * uq * np.sum(diff * diff, axis=1)
        est.append(float(f.mean()))
        se.append(float(f.std(ddof=1) / np.sqrt(f.size)))
    return np.array(est), np.array(se)
