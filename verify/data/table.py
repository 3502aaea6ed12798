r"""Every sampler's exact error on the real-data Gaussians: the table of issue 23, item 3.

For each sampler of ``SAMPLERS``, each number of steps $N$ and each data model, the exact law
of the sampler's output (``verify.solvers.chain_laws.exact_law``, $O(N d)$ in the eigenbasis)
on the EDM SDE ($\sigma_{\max} = 80$, Karras et al. 2022's grid, $\rho = 7$,
$\sigma_{\min} = 0.002$, a last step to $\sigma = 0$), started from $N(0, 80^2 I)$, gives

* ``kl``: $\mathrm{KL}(\hat p \,\|\, p_{\text{data}}) = \sum_i k_i$ with the per-direction terms
  $k_i = \frac12[\lambda'_i/\lambda_i - 1 - \log(\lambda'_i/\lambda_i) + \delta_i^2/\lambda_i]$
  ($\lambda'$, $\lambda$ the output and data eigenvalues, $\delta$ the mean error in the
  eigenbasis);
* ``w2``: $W_2(\hat p, p_{\text{data}})$ (``analytic.w2``, $O(d)$);
* ``kl_leading``, ``kl_trailing``: the shares of KL from the leading 10 % of eigen-directions
  (largest eigenvalues: coarse scales) and from the trailing 50 % (fine scales).

The real samplers of ``REAL_SAMPLERS`` (``"k-diffusion:sample_euler"``, ...,
``"diffusers:EulerDiscrete"``, ...) are run as published through the kit's spectral probe
(``verify.kit.spectral``: one batch run of the sampler at full $d$, in the data's eigenbasis,
recovers its exact affine map direction by direction); their rows carry ``"route": "kit
probe"`` and the probe's verification ``"residual"``, and are left out (``skipped``) when their
package is missing. k-diffusion samplers run on the same grid and start as the rows above;
diffusers schedulers on their own discrete levels for $N$ steps (``set_timesteps(N)``, the
default 1000-step linear-beta training schedule, $\sigma_{\max} \approx 157$), started from
pure noise in their own coordinates, i.e. $N(0, (1 + \sigma_0^2) I)$ in EDM coordinates.
"""

from __future__ import annotations

import numpy as np

from analytic import EDM, w2
from analytic.divergence import h_u_minus_log1p

__all__ = [
    "REAL_SAMPLERS",
    "SAMPLERS",
    "STEPS",
    "kl_terms",
    "real_sampler_law",
    "real_sampler_missing",
    "sampler_table",
]

SAMPLERS = {
    "euler": ("euler", 0.0),  # Karras et al. 2022's Euler (probability-flow ODE)
    "heun": ("heun", 0.0),  # Karras et al. 2022, Alg. 1
    "exponential": ("exponential", 0.0),  # linear part exact, score frozen (not DDIM on EDM)
    "euler-ancestral": ("ancestral", 1.0),  # k-diffusion's sample_euler_ancestral, eta = 1
}
STEPS = (5, 10, 20, 50)

REAL_SAMPLERS = {
    "k-diffusion:sample_euler": ("k-diffusion", "sample_euler", {}),
    "k-diffusion:sample_heun": ("k-diffusion", "sample_heun", {}),
    "k-diffusion:sample_dpmpp_2m": ("k-diffusion", "sample_dpmpp_2m", {}),
    "k-diffusion:sample_euler_ancestral": ("k-diffusion", "sample_euler_ancestral", {"eta": 1.0}),
    "k-diffusion:sample_dpmpp_2m_sde": ("k-diffusion", "sample_dpmpp_2m_sde", {"eta": 1.0}),
    "diffusers:EulerDiscrete": ("diffusers", "EulerDiscreteScheduler", {}),
    "diffusers:DPMSolverMultistep": ("diffusers", "DPMSolverMultistepScheduler", {}),
}
"""name -> (package, function or scheduler class, knobs): the published samplers of the table."""


def real_sampler_missing(name: str) -> str | None:
    """``None`` if the real sampler ``name`` can run here, else why not."""
    if name not in REAL_SAMPLERS:
        raise ValueError(f"unknown real sampler {name!r}; choose one of {', '.join(REAL_SAMPLERS)}")
    lib = REAL_SAMPLERS[name][0]
    try:
        import torch  # noqa: F401

        if lib == "k-diffusion":
            from verify.kit.adapters.kdiffusion import load_sampling

            load_sampling()
        else:
            import diffusers  # noqa: F401
    except ImportError as exc:
        return f"{lib} not available: {exc}"
    return None


def real_sampler_law(name, data, sigmas=None, n_steps=None, start="prior", knobs=None):
    r"""The exact output law of the real sampler ``name`` on ``data`` (through
    ``verify.kit.spectral``), and the law it targets.

    k-diffusion: on ``sigmas`` (decreasing, EDM), started from $N(0, \sigma_0^2 I)$
    (``start="prior"``) or the exact marginal $p_{\sigma_0}$ (``"marginal"``); the target is
    $p_{\sigma_N}$ (the data when the grid ends at 0). diffusers: ``n_steps`` on its own levels,
    from pure noise (module docstring). ``knobs`` override the row's (e.g. ``eta``). Returns
    ``(law, target, probe map)``."""
    from verify.kit import spectral

    lib, fn, base = REAL_SAMPLERS[name]
    knobs = {**base, **(knobs or {})}
    lam = data.covariance.eigenvalues
    if lib == "k-diffusion":
        from verify.kit.adapters.kdiffusion import load_sampling

        s = np.asarray(sigmas, dtype=np.float64)
        mp = spectral.kdiffusion_map(getattr(load_sampling(), fn), data, s, **knobs)
    else:
        import diffusers

        mp, s = spectral.scheduler_map(getattr(diffusers, fn)(), data, int(n_steps), **knobs)
    s0, sn = float(s[0]), float(s[-1])
    if lib == "diffusers":
        law = mp.law(np.zeros(data.dim), 1.0 + s0 * s0)
    elif start == "prior":
        law = mp.law(np.zeros(data.dim), s0 * s0)
    elif start == "marginal":
        law = mp.law(data.mean, lam + s0 * s0)
    else:
        raise ValueError(f"start must be 'prior' or 'marginal', got {start!r}")
    basis = data.covariance.basis
    target = data if sn == 0 else type(data).from_spectrum(data.mean, lam + sn * sn, basis)
    return law, target, mp


def kl_terms(p, q) -> np.ndarray:
    """The per-direction terms $k_i$ of $\\mathrm{KL}(p\\|q)$ for two laws spectral in one
    basis (module docstring), in the basis' order."""
    cp, cq = p.covariance, q.covariance
    if not (cp.kind == cq.kind == "spectral" and cp.basis == cq.basis):
        raise ValueError("kl_terms needs two laws in spectral form in the same basis")
    lp, lq = cp.eigenvalues, cq.eigenvalues
    delta = p.mean_coefficients - q.mean_coefficients
    return 0.5 * (h_u_minus_log1p(lp / lq - 1.0) + delta * delta / lq)


def sampler_table(models, samplers=None, steps=STEPS, *, skipped=None):
    """Rows ``{"data", "sampler", "n_steps", "kl", "w2", "kl_leading", "kl_trailing"}``
    for ``models`` (a dict name -> Gaussian in spectral form, e.g.
    ``verify.data.gaussian_model(name)``), ``samplers`` (names of ``SAMPLERS`` or of
    ``REAL_SAMPLERS``; all of ``SAMPLERS`` if ``None``) and ``steps``. A real sampler whose
    package is missing has no rows; ``skipped`` (a dict, if given) gets name -> why."""
    from verify.solvers import grids
    from verify.solvers.chain_laws import exact_law

    sde = EDM(80.0)
    rows = []
    for name, data in models.items():
        lam = data.covariance.eigenvalues
        order = np.argsort(-lam, kind="stable")
        lead, trail = order[: max(1, len(lam) // 10)], order[len(lam) // 2 :]
        init = sde.prior(data.dim)
        for sampler in samplers or SAMPLERS:
            if sampler not in SAMPLERS and sampler not in REAL_SAMPLERS:
                raise ValueError(f"unknown sampler {sampler!r}")
            why = real_sampler_missing(sampler) if sampler in REAL_SAMPLERS else None
            if why is not None:
                if skipped is not None:
                    skipped[sampler] = why
                continue
            for n in steps:
                grid = grids.karras(sde, n, 0.002, 80.0, 7.0, append_zero=True)
                extra = {}
                if sampler in SAMPLERS:
                    method, gamma = SAMPLERS[sampler]
                    law = exact_law(sde, data, init, grid, gamma=gamma, method=method)
                else:
                    law, _, mp = real_sampler_law(sampler, data, sde.sigma(grid), n)
                    extra = {"route": "kit probe", "residual": mp.residual}
                k = kl_terms(law, data)
                total = float(k.sum())
                rows.append(
                    {
                        "data": name,
                        "sampler": sampler,
                        "n_steps": int(n),
                        "kl": total,
                        "w2": w2(law, data),
                        "kl_leading": float(k[lead].sum() / total),
                        "kl_trailing": float(k[trail].sum() / total),
                        **extra,
                    }
                )
    return rows
