"""``conformance.k-diffusion``: Every k-diffusion sampler implements its published update rule
exactly.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#k-diffusion.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.conformance._common import (
    DOC,
    _compute_table,
    _kdiffusion_sampling,
    decide_rules,
    present_table,
)

CLAIM = Claim(
    "conformance.k-diffusion",
    "Every sampler of k-diffusion's sampling.py (euler, euler_ancestral, heun, dpm_2, "
    "dpm_2_ancestral, lms, dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m, dpmpp_2m_sde, "
    "dpmpp_3m_sde, dpm_fast; defaults and with eta / s_churn), called as published with "
    "the exact denoiser of a Gaussian target, implements its published update rule exactly "
    "(each step, or each chain prefix for multistep samplers, equals the rule's exact law), "
    "realises the gamma its knob maps to, and is consistent (its output KL falls with N).",
    "k-diffusion sampling.py (Crowson); Karras et al. 2022 Alg. 1-2; Lu et al. 2022 "
    "(DPM-Solver, arXiv 2206.00927; DPM-Solver++, arXiv 2211.01095)",
    "2-D correlated Gaussian; Karras grids sigma 20 -> 0.02 (rho 7; output KL: ending at 0); "
    "float64 torch tensors; noise probed through noise_sampler / torch.randn_like",
    requires=("torch", _kdiffusion_sampling),
    compute=_compute_table("k-diffusion"),
    decide=decide_rules,
    present=present_table,
    rung=2,
    tolerance="step law rel 1e-6; gamma 1e-6 (exact) / 0.02 (small-step); output KL at "
    "N = 50 <= KL at N = 10 / 4",
    doc=f"{DOC}#k-diffusion",
)
