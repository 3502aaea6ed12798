r"""Exact output moments of k-diffusion samplers on a Gaussian, one 1-D chain per eigendirection.

Setting (EDM / k-diffusion form, Karras et al. 2022, arXiv 2206.00364): $x_\sigma = x_0 +
\sigma \varepsilon$, data $x_0 \sim N(m, U \mathrm{diag}(\lambda) U^\top)$, so in the eigenbasis
every direction is independent with $p_\sigma = N(m_i, \lambda_i + \sigma^2)$ and the exact
denoiser is $D(x, \sigma) = m + a(\sigma)(x - m)$, $a = \lambda / (\lambda + \sigma^2)$.
Every sampler below is affine and commutes with a shift of the mean, so the centred state
$y = x - m$ obeys $y_{k+1} = M_k y_k (+ \beta_k y_{k-1}) + \sqrt{Q_k}\,\xi$ and the output law is

$$ \mathrm{mean} - m = G_N (\mu_0 - m), \qquad \mathrm{var} = G_N^2 v_0 + q_N, $$

with the gain $G$ and the injected noise $q$ carried per direction (shape ``(..., d)``).
Steps from $\sigma = s$ to $\sigma' = s'$ (k-diffusion ``sampling.py``):

* ``euler`` (``sample_euler``; with $\gamma > 0$ Euler-Maruyama on the reverse SDE, the
  toolkit's ``euler`` method for ``analytic.EDM``): $M = 1 - (1+\gamma)(s - s') s / (\lambda +
  s^2)$, $Q = 2 \gamma s (s - s')$.
* ``heun`` (``sample_heun``, no churn): $d(y, s) = s y / (\lambda + s^2)$, $\tilde y = y +
  (s' - s) d(y, s)$, $y' = y + (s' - s)(d(y, s) + d(\tilde y, s'))/2$; an Euler step when
  $s' = 0$.
* ``ancestral`` (``sample_euler_ancestral`` with $\eta = \sqrt{\gamma}$, $\gamma \le 1$):
  $s_{up}^2 = \gamma s'^2 (s^2 - s'^2)/s^2$, $s_{down} = \sqrt{s'^2 - s_{up}^2}$,
  $M = a + (s_{down}/s)(1 - a)$, $Q = s_{up}^2$ (the toolkit's ``ancestral``, DDIM eq. 12).
* ``dpmpp_2m`` (``sample_dpmpp_2m``, DPM-Solver++(2M), Lu et al. 2022, arXiv 2211.01095):
  $\rho = s'/s$, $h = \log(s/s')$, $r = h_{last}/h$, $D_d = (1 + \tfrac{1}{2r}) D_k -
  \tfrac{1}{2r} D_{k-1}$, $y' = \rho y + (1 - \rho) D_d$ (first order on the first step and
  on a step to $s' = 0$): a two-term recursion of the gain.

All arithmetic is complex-safe (no ``abs``, ``max`` or branches on the values), so the
optimiser differentiates it by the complex step (Squire & Trapp 1998): exact derivatives to
rounding, vectorised over a leading batch of perturbed grids.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHAIN_METHODS", "output_moments", "kl_per_direction", "w2_squared_per_direction"]

CHAIN_METHODS = ("euler", "heun", "dpmpp_2m", "ancestral")
"""The samplers with an exact 1-D recursion here (k-diffusion names without ``sample_``)."""


def _steps(sigmas):
    """Yield ``(k, s, s_next)`` as ``(P, 1)`` columns of a ``(P, N+1)`` batch of grids."""
    for k in range(sigmas.shape[1] - 1):
        yield k, sigmas[:, k : k + 1], sigmas[:, k + 1 : k + 2]


def output_moments(sigmas, lam, method="euler", gamma=0.0):
    """``(G, q)``: the output gain and injected variance per direction, shape ``(P, d)``.

    ``sigmas``: a ``(N+1,)`` grid or a ``(P, N+1)`` batch (real or complex), decreasing,
    ending at ``0`` or at a positive sigma; the zero end must be exactly ``0`` in every row.
    ``lam``: the ``(d,)`` eigenvalues. ``gamma``: a number, a ``(N,)`` array (per step) or a
    ``(P, N)`` array (per grid of the batch; real or complex, for the complex step in gamma).
    """
    S = np.atleast_2d(sigmas)
    lam = np.asarray(lam, dtype=np.float64)[None, :]
    n = S.shape[1] - 1
    g = np.asarray(gamma)
    if g.dtype.kind not in "fc":
        g = g.astype(np.float64)
    g = np.broadcast_to(g, (S.shape[0], n))
    zero_end = bool(np.all(S[:, -1] == 0))
    G = np.ones((S.shape[0], lam.shape[1]), dtype=np.result_type(S, g))
    q = np.zeros_like(G)
    if method == "dpmpp_2m":
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero-length step: NaN out
            return _dpmpp_2m(S, lam, zero_end), q
    for k, s, s1 in _steps(S):
        last0 = zero_end and k == n - 1
        gk = g[:, k : k + 1]
        if method == "euler":
            M = 1.0 - (1.0 + gk) * (s - s1) * s / (lam + s * s)
            Q = 2.0 * gk * s * (s - s1)
        elif method == "heun":
            d = s / (lam + s * s)
            if last0:
                M = 1.0 - s * d
            else:
                yt = 1.0 + (s1 - s) * d
                M = 1.0 + 0.5 * (s1 - s) * (d + yt * s1 / (lam + s1 * s1))
            Q = 0.0
        elif method == "ancestral":
            a = lam / (lam + s * s)
            up2 = gk * s1 * s1 * (s * s - s1 * s1) / (s * s)
            down = np.sqrt(s1 * s1 - up2) if not last0 else 0.0 * s
            M = a + down / s * (1.0 - a)
            Q = up2
        else:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(CHAIN_METHODS)}")
        G = M * G
        q = M * M * q + Q
    return G, q


def _dpmpp_2m(S, lam, zero_end):
    n = S.shape[1] - 1
    G_prev = None
    G = np.ones((S.shape[0], lam.shape[1]), dtype=S.dtype)
    for k, s, s1 in _steps(S):
        a = lam / (lam + s * s)
        if zero_end and k == n - 1:
            G_new = a * G  # rho = 0: x' = D
        else:
            rho = s1 / s
            if G_prev is None:
                G_new = (rho + (1.0 - rho) * a) * G
            else:
                sp = S[:, k - 1 : k]
                r = np.log(sp / s) / np.log(s / s1)
                a_prev = lam / (lam + sp * sp)
                w = 0.5 / r
                G_new = (rho + (1.0 - rho) * (1.0 + w) * a) * G - (1.0 - rho) * w * a_prev * G_prev
        G_prev, G = G, G_new
    return G


def _h(u):
    """$u - \\log(1 + u)$ without cancellation for small $u$ (complex-safe)."""
    small = np.abs(u.real) < 1e-3
    us = np.where(small, u, 0.0)
    series = us * us * (0.5 - us * (1 / 3 - us * (0.25 - us * (0.2 - us / 6))))
    ub = np.where(small, 0.5, u)
    return np.where(small, series, ub - np.log1p(ub))


def kl_per_direction(mean_err, var, target_var):
    """$\\mathrm{KL}(N(m + e, v) \\| N(m, S)) = \\tfrac12 [h(v/S - 1) + e^2/S]$, per direction."""
    return 0.5 * (_h(var / target_var - 1.0) + mean_err * mean_err / target_var)


def w2_squared_per_direction(mean_err, var, target_var):
    """$W_2^2 = e^2 + (\\sqrt v - \\sqrt S)^2 = e^2 + (v - S)^2 / (\\sqrt v + \\sqrt S)^2$."""
    dv = var - target_var
    return mean_err * mean_err + dv * dv / (np.sqrt(var) + np.sqrt(target_var)) ** 2
