r"""``start-law``: does the scheduler's own start agree with the marginal at its first level?

**Probe.** A diffusers pipeline starts from ``init_noise_sigma * N(0, I)`` in the scheduler's
coordinates (after ``set_timesteps(N)``, for ``N = 7, 50``). In the kit's EDM coordinates
``x = x_0 + sigma eps`` that is ``N(0, v I)`` with ``v = init_noise_sigma^2`` for VE
schedulers (sample in ``x``) and ``v = init_noise_sigma^2 (1 + sigma_0^2)`` for VP ones
(sample ``x / sqrt(1 + sigma_0^2)``), ``sigma_0`` the first level of the chain.

**Rule.** The exact marginal there is ``p_{sigma_0} = N(m, Sigma + sigma_0^2 I)``. The standard
priors are ``N(0, sigma_0^2 I)`` (data variance neglected) and ``N(0, (sigma_0^2 + 1) I)``
(unit data variance); the check holds iff ``KL(start || p_{sigma_0})`` is at most the larger of
their two KLs (times ``1 + 1e-3``, plus ``1e-9``): a start between the two standard priors.
A scheduler whose ``init_noise_sigma`` disagrees with its first level fails, with the KL.
In the k-diffusion and ours conventions the caller draws the start (``x = randn *
sigmas[0]``): ``n/a``.
"""

from __future__ import annotations

import math

import numpy as np

from analytic import Gaussian
from verify.kit.checks.result import CheckResult

__all__ = ["START_STEPS", "check_start_law"]

START_STEPS = (7, 50)


def _scheduler_at(ad, n):
    """The adapter's scheduler after ``set_timesteps(n)``, or ``None``."""
    if hasattr(ad, "_fresh"):
        return ad._fresh(n)[0]
    s = getattr(ad, "sched", None)
    if s is not None and hasattr(s, "set_timesteps"):
        s.set_timesteps(n)
    return s


def _samples_in_x(s, d) -> bool:
    """Whether the scheduler's sample is in VE coordinates ``x`` (its ``scale_model_input``
    rescales it, by ``1 / sqrt(sigma^2 + 1)`` or EDM's ``c_in``) rather than VP ones
    (``scale_model_input`` is the identity). Read off the scheduler's own input scaling, not
    off ``init_noise_sigma``, which is what the check tests."""
    scale = getattr(s, "scale_model_input", None)
    if scale is None:
        return False
    import torch

    x = torch.ones(1, d, dtype=torch.float64)
    y = scale(x.clone(), s.timesteps[0])
    return not bool(torch.allclose(y.to(torch.float64), x, rtol=1e-6, atol=0.0))


def check_start_law(ad, d) -> CheckResult:
    """The scheduler's own start law against the marginal at its first level."""
    from verify.kit import probing as C

    if ad.convention != "diffusers":
        return CheckResult(
            "start-law", "n/a", "the caller draws the start (x = randn * sigmas[0]) here"
        )
    rows, worst, bad = [], 0.0, []
    for n in START_STEPS:
        s = _scheduler_at(ad, n)
        init = getattr(s, "init_noise_sigma", None)
        if init is None:
            return CheckResult("start-law", "n/a", "the scheduler has no init_noise_sigma")
        init = float(init)
        s0 = float(ad.nodes(n)[0])
        ve = _samples_in_x(s, d)
        v = init * init * (1.0 if ve else 1.0 + s0 * s0)
        p = ad.marginal(s0)
        eye = np.eye(d)
        k = C._safe_kl(Gaussian(np.zeros(d), v * eye), p)
        bound = max(
            C._safe_kl(Gaussian(np.zeros(d), s0 * s0 * eye), p),
            C._safe_kl(Gaussian(np.zeros(d), (s0 * s0 + 1.0) * eye), p),
        )
        ok = math.isfinite(k) and k <= bound * (1 + 1e-3) + 1e-9
        worst = max(worst, k)
        if not ok:
            bad.append((n, init, s0, math.sqrt(v), k, bound))
        rows.append([n, init, s0, math.sqrt(v), k, bound, "yes" if ok else "no"])
    cols = ["N", "init_noise_sigma", "first level sigma_0", "start std (EDM)"]
    cols += ["KL(start||p_sigma0)", "KL bound (standard priors)", "ok"]
    if not bad:
        return CheckResult(
            "start-law",
            "holds",
            f"init_noise_sigma * N(0, I) agrees with the first level: KL(start || p_sigma0) = "
            f"{worst:.2e}, within the standard priors' KL",
            cols,
            rows,
            {"kl": worst},
        )
    n, init, s0, sd, k, bound = bad[0]
    return CheckResult(
        "start-law",
        "fails",
        f"the scheduler's start disagrees with its first level at N = {n}: init_noise_sigma = "
        f"{init:.4g} gives start std {sd:.4g} (EDM coordinates) at sigma_0 = {s0:.4g}; "
        f"KL(start || p_sigma0) = {k:.3g} > {bound:.2e} (the standard priors' KL)",
        cols,
        rows,
        {"kl": worst},
    )
