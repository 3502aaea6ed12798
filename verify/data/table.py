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
"""

from __future__ import annotations

import numpy as np

from analytic import EDM, w2
from analytic.divergence import h_u_minus_log1p

__all__ = ["SAMPLERS", "STEPS", "kl_terms", "sampler_table"]

SAMPLERS = {
    "euler": ("euler", 0.0),  # Karras et al. 2022's Euler (probability-flow ODE)
    "heun": ("heun", 0.0),  # Karras et al. 2022, Alg. 1
    "exponential": ("exponential", 0.0),  # linear part exact, score frozen (not DDIM on EDM)
    "euler-ancestral": ("ancestral", 1.0),  # k-diffusion's sample_euler_ancestral, eta = 1
}
STEPS = (5, 10, 20, 50)


def kl_terms(p, q) -> np.ndarray:
    """The per-direction terms $k_i$ of $\\mathrm{KL}(p\\|q)$ for two laws spectral in one
    basis (module docstring), in the basis' order."""
    cp, cq = p.covariance, q.covariance
    if not (cp.kind == cq.kind == "spectral" and cp.basis == cq.basis):
        raise ValueError("kl_terms needs two laws in spectral form in the same basis")
    lp, lq = cp.eigenvalues, cq.eigenvalues
    delta = p.mean_coefficients - q.mean_coefficients
    return 0.5 * (h_u_minus_log1p(lp / lq - 1.0) + delta * delta / lq)


def sampler_table(models, samplers=None, steps=STEPS):
    """Rows ``{"data", "sampler", "n_steps", "kl", "w2", "kl_leading", "kl_trailing"}``
    for ``models`` (a dict name -> Gaussian in spectral form, e.g.
    ``verify.data.gaussian_model(name)``), ``samplers`` (names of ``SAMPLERS``; all if
    ``None``) and ``steps``."""
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
            method, gamma = SAMPLERS[sampler]
            for n in steps:
                grid = grids.karras(sde, n, 0.002, 80.0, 7.0, append_zero=True)
                law = exact_law(sde, data, init, grid, gamma=gamma, method=method)
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
                    }
                )
    return rows
