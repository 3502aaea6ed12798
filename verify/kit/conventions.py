"""Other projects' stochasticity knobs, mapped onto our ``gamma``.

Our reverse family (``verify.solvers.particles``): ``dY = [-f Y + (1+gamma)/2 g2 s(Y, t)] dtau +
sqrt(gamma g2) dW``. In EDM/VE form (``alpha = 1``, ``sigma2 = t^2``, ``g2 = 2t``, data
prediction ``D(x, sigma) = x + sigma^2 s(x, sigma)``) one step of it from ``sigma`` to
``sigma - h`` moves the mean by ``(1 + gamma) sigma h s`` and adds variance ``2 gamma sigma h``,
to first order in ``h``. Each adapter below matches a source's update rule to that; it
says whether the match is **exact** (one of our methods reproduces the source's step
identically) or **small-step** (the source's step and our Euler step agree in conditional
mean and variance up to ``O(h^2)``, i.e. the same SDE in the limit). ``tests/
test_conventions.py`` re-implements each published rule for one Gaussian step and checks it.

The published rules were written from memory of the sources and cross-checked against
copies of k-diffusion's ``sampling.py`` found with a code search:

* DDIM (Song, Meng, Ermon 2021, eq. 12):
  ``x_{t-1} = sqrt(abar_{t-1}) x0 + sqrt(1 - abar_{t-1} - s_t^2) eps + s_t z``,
  ``s_t = eta sqrt((1 - abar_{t-1})/(1 - abar_t)) sqrt(1 - abar_t/abar_{t-1})``.
  **gamma = eta^2**; exact with our ``"ancestral"`` method (same step), small-step otherwise.
* k-diffusion ``sample_euler_ancestral`` / ``get_ancestral_step``:
  ``sigma_up = min(sigma_to, eta sqrt(sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2))``,
  ``sigma_down = sqrt(sigma_to^2 - sigma_up^2)``, ``x <- x + (sigma_down - sigma)(x - D)/sigma +
  sigma_up z``. This is DDIM's step in VE form: ``x' = D + sigma_down (x - D)/sigma + sigma_up z``.
  **gamma = eta^2**; exact with ``"ancestral"`` whenever the ``min`` does not bind (ours raises
  if it would); small-step: ``sigma_up^2 ~ 2 eta^2 sigma h``, ``sigma - sigma_down ~
  (1 + eta^2) h``.
* k-diffusion ``sample_dpmpp_2m_sde`` (first-order part; also ``3m_sde``), ``lambda = -log sigma``,
  ``h = lambda_next - lambda``: ``x' = (sigma'/sigma) e^{-eta h} x + (1 - e^{-(1+eta) h}) D +
  sigma' sqrt(1 - e^{-2 eta h}) z``. Variance ``~ 2 eta sigma^2 h_lambda = 2 eta sigma dsigma``,
  drift ``(1 + eta) sigma dsigma s``: **gamma = eta**, small-step (the data-prediction
  exponential integrator of the DPM-Solver++ paper, Lu et al. 2022; for eta = 1 its mean equals
  our ``"exponential"`` step's mean, its variance is the DDPM posterior variance, not ours).
  Note: k-diffusion's *other* DPM++ SDE, ``sample_dpmpp_sde``, splits its noise with
  ``get_ancestral_step(eta)`` and so realises **gamma = eta^2** (``variant="sde"``).
* deepinv ``DiffusionSDE`` (``deepinv.sampling``): the reverse SDE with weight ``alpha`` on the
  score, ``dx = (f - (1+alpha)/2 g^2 s) dt + sqrt(alpha) g dw``: **gamma = alpha**, exact (the same
  continuous-time family; its Euler solver is our ``"euler"``). Stated from memory of
  deepinv's documentation.
* EDM churn (Karras et al. 2022, Alg. 2): ``gamma_i = min(S_churn/N, sqrt(2) - 1)`` on
  ``[S_tmin, S_tmax]``, ``t_hat = (1 + gamma_i) t_i``,
  ``x_hat = x + sqrt(t_hat^2 - t_i^2) S_noise z``, then an ODE step from ``t_hat`` to
  ``t_{i+1}``. **No exact map**: the noise is injected all at once before the step and the ODE
  step starts from a higher noise level. Matching the injected
  variance to ours over the step, ``gamma_eff = (t_hat^2 - t_i^2) / (t_i^2 - t_{i+1}^2)
  ~ gamma_i t_i / (t_i - t_{i+1})``; with this value the churn step and our Euler step agree to
  ``O(h^2)`` in mean and variance when ``gamma_i = O(h)`` (``S_noise = 1``). ``S_noise != 1``
  inflates the noise without changing the drift: outside the family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "GammaMap",
    "ddim_eta_to_gamma",
    "kdiffusion_ancestral_eta_to_gamma",
    "dpmpp_sde_eta_to_gamma",
    "deepinv_alpha_to_gamma",
    "edm_churn",
]


@dataclass(frozen=True)
class GammaMap:
    """A converted stochasticity level.

    ``gamma``: a number or a callable of forward time (pass it, or the ``GammaMap`` itself, as
    ``reverse_sample(..., gamma=...)``); ``exact``: our method that reproduces the source's
    step identically (``None`` if none does); ``small_step``: True if the match holds in the
    small-step limit (O(h^2) per step in conditional mean and variance); ``note``: the rule.
    """

    gamma: object
    exact: str | None
    small_step: bool
    note: str

    def __float__(self) -> float:
        if callable(self.gamma):
            raise TypeError("this GammaMap depends on t; call it with t")
        return float(self.gamma)

    def __call__(self, t: float) -> float:
        return float(self.gamma(t)) if callable(self.gamma) else float(self.gamma)


def _nonneg(x, name: str) -> float:
    x = float(x)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {x}")
    return x


def ddim_eta_to_gamma(eta: float) -> GammaMap:
    """DDIM ``eta`` -> ``gamma = eta^2`` (exact with ``method="ancestral"``)."""
    eta = _nonneg(eta, "eta")
    return GammaMap(eta * eta, "ancestral", True, "DDIM eq. 12: gamma = eta^2")


def kdiffusion_ancestral_eta_to_gamma(eta: float) -> GammaMap:
    """k-diffusion ``sample_euler_ancestral(eta)`` -> ``gamma = eta^2``.

    Exact with ``method="ancestral"`` in EDM/VE form while ``sigma_up < sigma_to`` (the
    ``min`` in ``get_ancestral_step`` does not bind); small-step in general.
    """
    eta = _nonneg(eta, "eta")
    return GammaMap(eta * eta, "ancestral", True, "k-diffusion get_ancestral_step: gamma = eta^2")


def dpmpp_sde_eta_to_gamma(eta: float, variant: str = "2m") -> GammaMap:
    """k-diffusion DPM++ SDE ``eta`` -> gamma.

    ``variant="2m"`` (``sample_dpmpp_2m_sde``, ``3m_sde``; noise ``sigma' sqrt(1 -
    e^{-2 eta h})``): ``gamma = eta``, small-step. ``variant="sde"`` (``sample_dpmpp_sde``,
    noise from ``get_ancestral_step``): ``gamma = eta^2``, small-step.
    """
    eta = _nonneg(eta, "eta")
    if variant == "2m":
        return GammaMap(eta, None, True, "DPM++ 2M/3M SDE: gamma = eta")
    if variant == "sde":
        return GammaMap(eta * eta, None, True, "DPM++ SDE (ancestral split): gamma = eta^2")
    raise ValueError(f"variant must be '2m' or 'sde', got {variant!r}")


def deepinv_alpha_to_gamma(alpha: float) -> GammaMap:
    """deepinv ``DiffusionSDE`` ``alpha`` -> ``gamma = alpha`` (same SDE; Euler = ``"euler"``)."""
    alpha = _nonneg(alpha, "alpha")
    return GammaMap(alpha, "euler", True, "deepinv reverse SDE weight: gamma = alpha")


class _GridGamma:
    """Piecewise-constant gamma: ``gamma(t_k) = values[k]`` at the step starts of a grid."""

    def __init__(self, grid, values):
        self.grid = np.asarray(grid, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)

    def __call__(self, t: float) -> float:
        k = int(np.argmin(np.abs(self.grid[:-1] - t)))
        if not math.isclose(self.grid[k], t, rel_tol=1e-9, abs_tol=1e-300):
            raise ValueError(f"t = {t:g} is not a step start of the churn grid")
        return float(self.values[k])


def edm_churn(
    grid: ArrayLike,
    s_churn: float,
    *,
    s_tmin: float = 0.0,
    s_tmax: float = math.inf,
    s_noise: float = 1.0,
    n_steps: int | None = None,
) -> GammaMap:
    """Effective gamma of EDM's stochastic sampler (Karras et al. 2022, Alg. 2) on ``grid``.

    ``grid``: the EDM noise levels ``t_0 > ... > t_N`` (forward times of ``EDM()``);
    ``gamma_i = min(s_churn / n_steps, sqrt(2) - 1)`` when ``s_tmin <= t_i <= s_tmax``
    (``n_steps`` defaults to ``N``). Returns a ``GammaMap`` whose ``gamma`` is a callable of
    ``t`` on the grid's step starts with ``gamma_eff = (t_hat^2 - t_i^2)/(t_i^2 - t_{i+1}^2)``
    (variance matching; ``~ gamma_i t_i / h_i``). Small-step only; no exact map.
    """
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1 or g.size < 2 or np.any(np.diff(g) >= 0):
        raise ValueError("grid must be a strictly decreasing 1-D array of noise levels")
    s_churn = _nonneg(s_churn, "s_churn")
    if float(s_noise) != 1.0:
        raise ValueError(
            "s_noise != 1 inflates the injected noise without changing the drift: it is not in "
            "the reverse family (use s_noise=1)"
        )
    N = g.size - 1 if n_steps is None else int(n_steps)
    t, s = g[:-1], g[1:]
    gi = np.where((t >= s_tmin) & (t <= s_tmax), min(s_churn / N, math.sqrt(2.0) - 1.0), 0.0)
    t_hat = (1.0 + gi) * t
    eff = (t_hat * t_hat - t * t) / ((t - s) * (t + s))
    return GammaMap(
        _GridGamma(g, eff),
        None,
        True,
        "EDM churn: gamma_eff = (t_hat^2 - t^2)/(t^2 - t_next^2) ~ gamma_i t / h (no exact map)",
    )
