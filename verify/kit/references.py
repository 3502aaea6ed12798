"""Re-implementations of published sampler update rules, and deliberate mutants of them.

These are **written from memory of the published update rules** (not copied, no dependency on
torch, k-diffusion or diffusers), in NumPy, so that ``verify.kit.conformance`` can be shown to
pass correct samplers and to catch broken ones. Each follows the convention it imitates:

* k-diffusion: ``sampler(model, x, sigmas, *, noise_sampler=None, **knobs)`` with a denoiser
  ``model(x, sigma)`` (``sigma`` an array of shape ``(n,)``, as k-diffusion passes
  ``sigmas[i] * s_in``) and ``noise_sampler(sigma, sigma_next) -> standard normals like x``.

  - ``sample_euler`` (k-diffusion ``sampling.py``; Karras et al. 2022, Alg. 1 without the
    correction): ``x <- x + (sigma' - sigma) (x - D(x, sigma)) / sigma``.
  - ``sample_euler_ancestral(eta)``: ``get_ancestral_step``: ``sigma_up = min(sigma', eta
    sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2))``, ``sigma_down = sqrt(sigma'^2 -
    sigma_up^2)``; ``x <- x + (sigma_down - sigma) (x - D)/sigma + sigma_up z``.
  - ``sample_dpmpp_2m_sde(eta)`` (midpoint variant; DPM-Solver++ of Lu et al. 2022, §4 and
    its SDE form): ``lambda = -log sigma``, ``h = lambda' - lambda``, ``x <- (sigma'/sigma)
    e^{-eta h} x + (1 - e^{-(1+eta) h}) D + 1/2 (1 - e^{-(1+eta) h}) (h/h_last) (D - D_last)
    + sigma' sqrt(1 - e^{-2 eta h}) z``; the last step to ``sigma' = 0`` returns ``D``.
  - ``sample_edm_heun`` (Karras et al. 2022, Alg. 2, stochastic Heun): ``gamma_i =
    min(S_churn/N, sqrt 2 - 1)`` on ``[S_tmin, S_tmax]``, ``t_hat = (1 + gamma_i) t_i``,
    ``x_hat = x + sqrt(t_hat^2 - t_i^2) S_noise z``, Euler step from ``t_hat`` to ``t_{i+1}``,
    then the trapezoidal (Heun) correction unless ``t_{i+1} = 0``.

* diffusers-style scheduler: :class:`DDIMScheduler` (Song, Meng, Ermon 2021, eq. 12, "linear"
  betas, ``leading`` timestep spacing): ``x0 = (x - sqrt(1 - abar_t) eps) / sqrt(abar_t)``,
  ``s_t^2 = eta^2 (1 - abar_prev)/(1 - abar_t) (1 - abar_t/abar_prev)``,
  ``x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - s_t^2) eps + s_t z``.

* our convention ``sampler(score, x, grid, rng)``: :func:`ours` wraps ``reverse_sample``.

Mutants (each a one-line bug of a kind seen in practice): ``MUTANTS`` maps a name to
``(sampler, convention, stated method, knobs, description)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from analytic import LinearSDE

Denoiser: TypeAlias = Callable[[np.ndarray, float], np.ndarray]
"""A k-diffusion-convention model: ``denoiser(x (n, d), sigma) -> x0_hat (n, d)``."""
NoiseSampler: TypeAlias = Callable[[float, float], np.ndarray]
"""k-diffusion's ``noise_sampler(sigma, sigma_next) -> standard normal like x``."""

__all__ = [
    "sample_euler",
    "sample_euler_ancestral",
    "sample_dpmpp_2m_sde",
    "sample_edm_heun",
    "DDIMScheduler",
    "ours",
    "PUBLIC",
    "MUTANTS",
]


def _noise(noise_sampler, x, sigma, sigma_next):
    if noise_sampler is None:
        raise ValueError("these reference samplers need noise_sampler=(sigma, sigma_next) -> z")
    return np.asarray(noise_sampler(sigma, sigma_next), dtype=np.float64)


def _s_in(x):
    return np.ones(x.shape[0])


def get_ancestral_step(sigma_from, sigma_to, eta=1.0):
    """k-diffusion's split of a step into a deterministic part and injected noise."""
    if not eta:
        return sigma_to, 0.0
    sigma_up = min(
        sigma_to, eta * math.sqrt(sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2)
    )
    sigma_down = math.sqrt(sigma_to**2 - sigma_up**2)
    return sigma_down, sigma_up


def _churn(x, sigmas, i, s_churn, s_tmin, s_tmax, s_noise, noise_sampler, churn_steps=None):
    """Karras et al. 2022 Alg. 2 churn: ``sigma_hat = (1 + gamma_i) sigma_i`` and the noise added
    to reach it, ``gamma_i = min(S_churn / N, sqrt 2 - 1)`` on ``[S_tmin, S_tmax]``; ``N`` is
    ``len(sigmas) - 1`` unless ``churn_steps`` says otherwise (a prefix of a longer chain)."""
    n = len(sigmas) - 1 if churn_steps is None else int(churn_steps)
    gam = min(s_churn / n, 2**0.5 - 1) if s_tmin <= sigmas[i] <= s_tmax else 0.0
    sigma_hat = sigmas[i] * (gam + 1)
    if gam > 0:
        z = _noise(noise_sampler, x, sigmas[i], sigmas[i + 1])
        x = x + z * s_noise * math.sqrt(sigma_hat**2 - sigmas[i] ** 2)
    return x, sigma_hat


def sample_euler(
    model: Denoiser,
    x: ArrayLike,
    sigmas: ArrayLike,
    *,
    s_churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = math.inf,
    s_noise: float = 1.0,
    noise_sampler: NoiseSampler | None = None,
    churn_steps: int | None = None,
) -> np.ndarray:
    """k-diffusion ``sample_euler``: Euler on the probability-flow ODE, after the optional
    churn of Karras et al. 2022 Alg. 2 (``s_churn = 0``: plain Euler)."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        x, sigma_hat = _churn(
            x, sigmas, i, s_churn, s_tmin, s_tmax, s_noise, noise_sampler, churn_steps
        )
        denoised = model(x, sigma_hat * _s_in(x))
        d = (x - denoised) / sigma_hat
        x = x + d * (sigmas[i + 1] - sigma_hat)
    return x


def sample_euler_ancestral(
    model: Denoiser,
    x: ArrayLike,
    sigmas: ArrayLike,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
    noise_sampler: NoiseSampler | None = None,
) -> np.ndarray:
    """k-diffusion ``sample_euler_ancestral`` (DDIM's step in VE form, eta = sqrt(gamma))."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta)
        d = (x - denoised) / sigmas[i]
        x = x + d * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + _noise(noise_sampler, x, sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def sample_dpmpp_2m_sde(
    model: Denoiser,
    x: ArrayLike,
    sigmas: ArrayLike,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
    noise_sampler: NoiseSampler | None = None,
    solver_type: str = "midpoint",
) -> np.ndarray:
    """k-diffusion ``sample_dpmpp_2m_sde`` (``solver_type`` ``"midpoint"`` or ``"heun"``)."""
    if solver_type not in ("midpoint", "heun"):
        raise ValueError(f"solver_type must be 'midpoint' or 'heun', got {solver_type!r}")
    x = np.array(x, dtype=np.float64)
    old_denoised, h_last = None, None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            t, s = -math.log(sigmas[i]), -math.log(sigmas[i + 1])
            h = s - t
            eta_h = eta * h
            x = sigmas[i + 1] / sigmas[i] * math.exp(-eta_h) * x - math.expm1(-h - eta_h) * denoised
            if old_denoised is not None:
                r = h_last / h
                if solver_type == "midpoint":
                    c = 0.5 * (-math.expm1(-h - eta_h))
                else:
                    c = -math.expm1(-h - eta_h) / (-h - eta_h) + 1
                x = x + c * (1 / r) * (denoised - old_denoised)
            if eta:
                z = _noise(noise_sampler, x, sigmas[i], sigmas[i + 1])
                x = x + z * sigmas[i + 1] * math.sqrt(-math.expm1(-2 * eta_h)) * s_noise
            h_last = h
        old_denoised = denoised
    return x


def sample_edm_heun(
    model: Denoiser,
    x: ArrayLike,
    sigmas: ArrayLike,
    *,
    s_churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = math.inf,
    s_noise: float = 1.0,
    noise_sampler: NoiseSampler | None = None,
) -> np.ndarray:
    """Karras et al. (2022) Alg. 2, the stochastic Heun sampler (``s_churn = 0``: Alg. 1)."""
    x = np.array(x, dtype=np.float64)
    n = len(sigmas) - 1
    for i in range(n):
        t = sigmas[i]
        gam = min(s_churn / n, math.sqrt(2.0) - 1.0) if s_tmin <= t <= s_tmax else 0.0
        t_hat = t * (1.0 + gam)
        if gam > 0:
            z = _noise(noise_sampler, x, t, sigmas[i + 1])
            x = x + math.sqrt(t_hat**2 - t**2) * s_noise * z
        d = (x - model(x, t_hat * _s_in(x))) / t_hat
        x_next = x + (sigmas[i + 1] - t_hat) * d
        if sigmas[i + 1] != 0:
            d2 = (x_next - model(x_next, sigmas[i + 1] * _s_in(x))) / sigmas[i + 1]
            x_next = x + (sigmas[i + 1] - t_hat) * 0.5 * (d + d2)
        x = x_next
    return x


sample_heun = sample_edm_heun
"""k-diffusion ``sample_heun`` is Karras et al. 2022 Alg. 2 (Heun steps, Euler to sigma = 0)."""


def sample_dpm_2(
    model,
    x,
    sigmas,
    *,
    s_churn=0.0,
    s_tmin=0.0,
    s_tmax=math.inf,
    s_noise=1.0,
    noise_sampler=None,
):
    """k-diffusion ``sample_dpm_2``: churn, then a DPM-Solver-2 step through the log-midpoint
    ``sigma_mid = sqrt(sigma_hat sigma')``: ``x <- x + (sigma' - sigma_hat) d(x_2, sigma_mid)``
    with ``x_2 = x + (sigma_mid - sigma_hat) d(x, sigma_hat)``; Euler to ``sigma' = 0``."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        x, sigma_hat = _churn(x, sigmas, i, s_churn, s_tmin, s_tmax, s_noise, noise_sampler)
        d = (x - model(x, sigma_hat * _s_in(x))) / sigma_hat
        x = _dpm2_step(model, x, d, sigma_hat, sigmas[i + 1])
    return x


def _dpm2_step(model, x, d, sigma, sigma_to):
    if sigma_to == 0:
        return x + d * (sigma_to - sigma)
    sigma_mid = math.exp(0.5 * (math.log(sigma) + math.log(sigma_to)))
    x_2 = x + d * (sigma_mid - sigma)
    d_2 = (x_2 - model(x_2, sigma_mid * _s_in(x))) / sigma_mid
    return x + d_2 * (sigma_to - sigma)


def sample_dpm_2_ancestral(model, x, sigmas, *, eta=1.0, s_noise=1.0, noise_sampler=None):
    """k-diffusion ``sample_dpm_2_ancestral``: the DPM-Solver-2 step to ``sigma_down`` of
    ``get_ancestral_step``, then ``sigma_up`` noise (Euler when ``sigma_down = 0``)."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta)
        d = (x - denoised) / sigmas[i]
        x = _dpm2_step(model, x, d, sigmas[i], sigma_down)
        if sigma_down != 0:
            x = x + _noise(noise_sampler, x, sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def lms_coefficient(order, t, i, j):
    """``int_{t_i}^{t_{i+1}} prod_{k != j} (tau - t_{i-k}) / (t_{i-j} - t_{i-k}) dtau``: the
    Lagrange weight of the derivative ``j`` steps back (Adams-Bashforth in sigma), exactly."""
    if order - 1 > i:
        raise ValueError(f"order {order} too high for step {i}")
    poly = np.polynomial.Polynomial([1.0])
    for k in range(order):
        if k != j:
            poly = poly * np.polynomial.Polynomial([-t[i - k], 1.0]) / (t[i - j] - t[i - k])
    anti = poly.integ()
    return float(anti(t[i + 1]) - anti(t[i]))


def sample_lms(model, x, sigmas, *, order=4, noise_sampler=None):
    """k-diffusion ``sample_lms``: linear multistep (Adams-Bashforth of order ``min(i+1, 4)``)
    on the probability-flow ODE in sigma, ``x <- x + sum_j c_j d_{i-j}``."""
    x = np.array(x, dtype=np.float64)
    t = np.asarray(sigmas, dtype=np.float64)
    ds = []
    for i in range(len(t) - 1):
        ds.append((x - model(x, t[i] * _s_in(x))) / t[i])
        ds = ds[-order:]
        cur = min(i + 1, order)
        coeffs = [lms_coefficient(cur, t, i, j) for j in range(cur)]
        x = x + sum(c * d for c, d in zip(coeffs, reversed(ds), strict=False))
    return x


def sample_dpmpp_2s_ancestral(model, x, sigmas, *, eta=1.0, s_noise=1.0, noise_sampler=None):
    """k-diffusion ``sample_dpmpp_2s_ancestral``: DPM-Solver++(2S) (data prediction, midpoint
    in ``lambda = -log sigma``) to ``sigma_down``, then ``sigma_up`` noise."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta)
        if sigma_down == 0:
            x = x + (x - denoised) / sigmas[i] * (sigma_down - sigmas[i])
        else:
            t, t_next = -math.log(sigmas[i]), -math.log(sigma_down)
            h = t_next - t
            s = t + 0.5 * h
            x_2 = math.exp(t - s) * x - math.expm1(-0.5 * h) * denoised
            denoised_2 = model(x_2, math.exp(-s) * _s_in(x))
            x = math.exp(t - t_next) * x - math.expm1(-h) * denoised_2
        if sigmas[i + 1] > 0:
            x = x + _noise(noise_sampler, x, sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def sample_dpmpp_sde(model, x, sigmas, *, eta=1.0, s_noise=1.0, noise_sampler=None, r=0.5):
    """k-diffusion ``sample_dpmpp_sde``: two ancestral DPM-Solver++ substeps (to ``lambda + r h``
    and to ``lambda + h``, each with ``get_ancestral_step(eta)`` noise), the second using
    ``(1 - 1/(2r)) D + 1/(2r) D_2``; Euler to ``sigma' = 0``."""
    x = np.array(x, dtype=np.float64)
    fac = 1 / (2 * r)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        if sigmas[i + 1] == 0:
            x = x + (x - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
            continue
        t, t_next = -math.log(sigmas[i]), -math.log(sigmas[i + 1])
        s = t + (t_next - t) * r
        sd, su = get_ancestral_step(math.exp(-t), math.exp(-s), eta)
        s_ = -math.log(sd)
        x_2 = math.exp(t - s_) * x - math.expm1(t - s_) * denoised
        x_2 = x_2 + _noise(noise_sampler, x, math.exp(-t), math.exp(-s)) * s_noise * su
        denoised_2 = model(x_2, math.exp(-s) * _s_in(x))
        sd, su = get_ancestral_step(math.exp(-t), math.exp(-t_next), eta)
        t_next_ = -math.log(sd)
        denoised_d = (1 - fac) * denoised + fac * denoised_2
        x = math.exp(t - t_next_) * x - math.expm1(t - t_next_) * denoised_d
        x = x + _noise(noise_sampler, x, math.exp(-t), math.exp(-t_next)) * s_noise * su
    return x


def sample_dpmpp_2m(model, x, sigmas, *, noise_sampler=None):
    """k-diffusion ``sample_dpmpp_2m``: DPM-Solver++(2M), ``D_d = (1 + 1/(2r)) D_i - 1/(2r)
    D_{i-1}`` with ``r = h_{i-1}/h_i``; first order on the first step and to ``sigma' = 0``."""
    x = np.array(x, dtype=np.float64)
    old = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            t, t_next = -math.log(sigmas[i]), -math.log(sigmas[i + 1])
            h = t_next - t
            dd = denoised
            if old is not None:
                r = (t + math.log(sigmas[i - 1])) / h
                dd = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
            x = (sigmas[i + 1] / sigmas[i]) * x - math.expm1(-h) * dd
        old = denoised
    return x


def sample_dpmpp_3m_sde(model, x, sigmas, *, eta=1.0, s_noise=1.0, noise_sampler=None):
    """k-diffusion ``sample_dpmpp_3m_sde``: the third-order multistep DPM-Solver++ SDE (phi_2,
    phi_3 corrections from the last two denoised values), noise ``sigma' sqrt(1 - e^{-2 eta h})``;
    the step to ``sigma' = 0`` returns ``D``."""
    x = np.array(x, dtype=np.float64)
    d1s, hs = [], []
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * _s_in(x))
        h = None
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = math.log(sigmas[i]) - math.log(sigmas[i + 1])
            h_eta = h * (eta + 1)
            x = math.exp(-h_eta) * x - math.expm1(-h_eta) * denoised
            phi_2 = math.expm1(-h_eta) / h_eta + 1
            if len(hs) >= 2 and hs[-2] is not None:
                r0, r1 = hs[-1] / h, hs[-2] / h
                d1_0 = (denoised - d1s[-1]) / r0
                d1_1 = (d1s[-1] - d1s[-2]) / r1
                d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                x = x + phi_2 * d1 - (phi_2 / h_eta - 0.5) * d2
            elif hs:
                x = x + phi_2 * (denoised - d1s[-1]) / (hs[-1] / h)
            if eta:
                z = _noise(noise_sampler, x, sigmas[i], sigmas[i + 1])
                x = x + z * sigmas[i + 1] * math.sqrt(-math.expm1(-2 * h * eta)) * s_noise
        d1s.append(denoised)
        hs.append(h)
    return x


def sample_dpm_fast(model, x, sigma_min, sigma_max, n, *, eta=0.0, s_noise=1.0, noise_sampler=None):
    """k-diffusion ``sample_dpm_fast`` (Lu et al. 2022, DPM-Solver-fast, arXiv 2206.00927 §3.4):
    ``m = floor(n/3) + 1`` steps uniform in ``lambda = -log sigma``, orders ``3, ..., 3, 2, 1``
    (``n % 3 == 0``) or ``3, ..., 3, n % 3``; noise-prediction DPM-Solver-1/2/3 steps."""
    if eta:
        raise ValueError("this reference implements sample_dpm_fast with eta = 0 only")
    x = np.array(x, dtype=np.float64)
    m = n // 3 + 1
    ts = np.linspace(-math.log(sigma_max), -math.log(sigma_min), m + 1)
    orders = [3] * (m - 2) + [2, 1] if n % 3 == 0 else [3] * (m - 1) + [n % 3]

    def eps(y, t):
        return (y - model(y, math.exp(-t) * _s_in(y))) / math.exp(-t)

    for i, order in enumerate(orders):
        t, t1 = ts[i], ts[i + 1]
        h = t1 - t
        e = eps(x, t)
        if order == 1:
            x = x - math.exp(-t1) * math.expm1(h) * e
        elif order == 2:
            s1 = t + 0.5 * h
            u1 = x - math.exp(-s1) * math.expm1(0.5 * h) * e
            e1 = eps(u1, s1)
            x = x - math.exp(-t1) * math.expm1(h) * e - math.exp(-t1) * math.expm1(h) * (e1 - e)
        else:
            r1, r2 = 1 / 3, 2 / 3
            s1, s2 = t + r1 * h, t + r2 * h
            u1 = x - math.exp(-s1) * math.expm1(r1 * h) * e
            e1 = eps(u1, s1)
            c = math.expm1(r2 * h) / (r2 * h) - 1
            u2 = (
                x
                - math.exp(-s2) * math.expm1(r2 * h) * e
                - math.exp(-s2) * (r2 / r1) * c * (e1 - e)
            )
            e2 = eps(u2, s2)
            c3 = math.expm1(h) / h - 1
            x = x - math.exp(-t1) * math.expm1(h) * e - math.exp(-t1) / r2 * c3 * (e2 - e)
    return x


class DDIMScheduler:
    """A NumPy DDIM scheduler with the diffusers interface (``set_timesteps`` / ``step``).

    ``betas = linspace(beta_start, beta_end, num_train_timesteps)``, ``alphas_cumprod =
    cumprod(1 - betas)``; ``set_timesteps(n)``: ``timesteps = (arange(n) * (T // n))[::-1]``;
    ``step(eps, t, x, eta=0, generator=None)`` returns ``(prev_sample,)`` (DDIM eq. 12).
    ``prediction_type = "epsilon"``, ``init_noise_sigma = 1``.
    """

    prediction_type = "epsilon"
    init_noise_sigma = 1.0

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        set_alpha_to_one: bool = True,
    ) -> None:
        self.num_train_timesteps = int(num_train_timesteps)
        betas = np.linspace(beta_start, beta_end, self.num_train_timesteps)
        self.alphas_cumprod = np.cumprod(1.0 - betas)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])
        self.timesteps = None
        self.num_inference_steps = None

    def set_timesteps(
        self,
        num_inference_steps: int,
    ) -> None:
        self.num_inference_steps = int(num_inference_steps)
        ratio = self.num_train_timesteps // self.num_inference_steps
        self.timesteps = (np.arange(self.num_inference_steps) * ratio)[::-1].astype(np.int64)

    def _prev(self, timestep):
        return int(timestep) - self.num_train_timesteps // self.num_inference_steps

    def step(
        self,
        model_output: ArrayLike,
        timestep: int,
        sample: ArrayLike,
        eta: float = 0.0,
        generator: np.random.Generator | None = None,
    ) -> tuple[np.ndarray]:
        prev_t = self._prev(timestep)
        a_t = float(self.alphas_cumprod[int(timestep)])
        a_prev = float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else self.final_alpha_cumprod
        eps = np.asarray(model_output, dtype=np.float64)
        x0 = (sample - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        variance = (1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev)
        std = eta * math.sqrt(variance)
        prev = math.sqrt(a_prev) * x0 + math.sqrt(1.0 - a_prev - std**2) * eps
        if eta > 0:
            prev = prev + std * generator.standard_normal(np.shape(sample))
        return (prev,)


def ours(
    method: str = "euler",
    gamma: float = 1.0,
    sde: LinearSDE | None = None,
) -> Callable[..., np.ndarray]:
    """Our ``reverse_sample`` in our own convention ``sampler(score, x, grid, rng)``.

    ``sde`` defaults to ``EDM(30)``, the kit's default SDE for this convention.
    """
    from analytic import EDM
    from verify.solvers.particles import reverse_sample

    sde = EDM(30.0) if sde is None else sde

    def sampler(score, x, grid, rng):
        return reverse_sample(sde, score, x, grid, gamma=gamma, method=method, rng=rng)

    sampler.__name__ = f"reverse_sample[{method}, gamma={gamma:g}]"
    return sampler


# ----------------------------------------------------------------------------- mutants
def _mut_noise_sqrt2(model, x, sigmas, *, eta=1.0, noise_sampler=None):
    """euler_ancestral with the injected noise scaled by sqrt 2."""
    return sample_euler_ancestral(
        model, x, sigmas, eta=eta, s_noise=math.sqrt(2.0), noise_sampler=noise_sampler
    )


def _mut_score_next(model, x, sigmas, *, eta=1.0, noise_sampler=None):
    """euler_ancestral with the denoiser evaluated at sigma_{k+1} instead of sigma_k."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i + 1] * _s_in(x))  # BUG: should be sigmas[i]
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta)
        x = x + (x - denoised) / sigmas[i] * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + _noise(noise_sampler, x, sigmas[i], sigmas[i + 1]) * sigma_up
    return x


def _mut_wrong_sigma(model, x, sigmas, *, noise_sampler=None):
    """Euler that passes the noise variance sigma^2 to the denoiser instead of sigma."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] ** 2 * _s_in(x))  # BUG: variance, not sigma
        x = x + (x - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    return x


def _mut_off_by_one(model, x, sigmas, *, eta=1.0, noise_sampler=None):
    """euler_ancestral whose loop stops one step early (``range(len(sigmas) - 2)``)."""
    x = np.array(x, dtype=np.float64)
    for i in range(len(sigmas) - 2):  # BUG: skips the last step
        denoised = model(x, sigmas[i] * _s_in(x))
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta)
        x = x + (x - denoised) / sigmas[i] * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + _noise(noise_sampler, x, sigmas[i], sigmas[i + 1]) * sigma_up
    return x


def _mut_missing_factor(gamma=0.5):
    """Euler-Maruyama in our convention with drift g2 s instead of (1 + gamma)/2 g2 s."""

    def sampler(score, x, grid, rng):
        from analytic import EDM

        sde = EDM(float(grid[0]))
        y = np.array(x, dtype=np.float64)
        for k in range(len(grid) - 1):
            t, s = float(grid[k]), float(grid[k + 1])
            h = t - s
            g2 = float(sde.g2(t))
            y = y + h * g2 * score(y, t)  # BUG: missing (1 + gamma)/2
            y = y + math.sqrt(gamma * g2 * h) * rng.standard_normal(y.shape)
        return y

    return sampler


class _DDIMEtaSquared(DDIMScheduler):
    """DDIM whose noise std is eta^2 sqrt(variance) instead of eta sqrt(variance)."""

    def step(self, model_output, timestep, sample, eta=0.0, generator=None):
        return super().step(model_output, timestep, sample, eta=eta * eta, generator=generator)


MUTANTS = {
    "noise scale x sqrt 2": (
        _mut_noise_sqrt2,
        "k-diffusion",
        "euler_ancestral",
        {"eta": 1.0},
        "euler_ancestral, injected noise multiplied by sqrt 2",
    ),
    "score at t_{k+1}": (
        _mut_score_next,
        "k-diffusion",
        "euler_ancestral",
        {"eta": 1.0},
        "euler_ancestral, denoiser evaluated at sigma_{k+1} instead of sigma_k",
    ),
    "missing (1+gamma)/2": (
        _mut_missing_factor(0.5),
        "ours",
        "euler",
        {"gamma": 0.5},
        "Euler-Maruyama, drift g2 s instead of (1+gamma)/2 g2 s (gamma=0.5)",
    ),
    "wrong sigma in denoiser": (
        _mut_wrong_sigma,
        "k-diffusion",
        "euler",
        {},
        "Euler, denoiser called with sigma^2 instead of sigma",
    ),
    "grid off by one": (
        _mut_off_by_one,
        "k-diffusion",
        "euler_ancestral",
        {"eta": 1.0},
        "euler_ancestral, loop over range(len(sigmas) - 2): last step skipped",
    ),
    "DDIM eta not squared": (
        _DDIMEtaSquared,
        "diffusers",
        "ddim",
        {"eta": 0.5},
        "DDIM with noise std eta^2 sqrt(var) instead of eta sqrt(var)",
    ),
}
"""name -> (sampler or scheduler class, convention, stated method, knobs, description)."""

PUBLIC = {
    "k-diffusion euler": (sample_euler, "k-diffusion", "euler", {}),
    "k-diffusion euler_ancestral eta=1": (
        sample_euler_ancestral,
        "k-diffusion",
        "euler_ancestral",
        {"eta": 1.0},
    ),
    "k-diffusion euler_ancestral eta=0.5": (
        sample_euler_ancestral,
        "k-diffusion",
        "euler_ancestral",
        {"eta": 0.5},
    ),
    "k-diffusion dpmpp_2m_sde eta=1": (
        sample_dpmpp_2m_sde,
        "k-diffusion",
        "dpmpp_2m_sde",
        {"eta": 1.0},
    ),
    "k-diffusion dpmpp_2m_sde eta=0.5": (
        sample_dpmpp_2m_sde,
        "k-diffusion",
        "dpmpp_2m_sde",
        {"eta": 0.5},
    ),
    "EDM Alg. 2 heun churn=0": (sample_edm_heun, "k-diffusion", "edm_heun", {"s_churn": 0.0}),
    "EDM Alg. 2 heun churn=10": (sample_edm_heun, "k-diffusion", "edm_heun", {"s_churn": 10.0}),
    "DDIM eta=0": (DDIMScheduler, "diffusers", "ddim", {"eta": 0.0}),
    "DDIM eta=1": (DDIMScheduler, "diffusers", "ddim", {"eta": 1.0}),
}
"""name -> (sampler or scheduler class, convention, stated method, knobs)."""
