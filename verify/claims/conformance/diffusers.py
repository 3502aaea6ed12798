"""``conformance.diffusers``: The main diffusers schedulers implement the rules they name on their
own levels.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#diffusers.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.conformance._common import (
    DOC,
    _compute_table,
    decide_rules,
    present_table,
)

CLAIM = Claim(
    "conformance.diffusers",
    "The main diffusers schedulers (DDPM, DDIM eta 0 / 1, PNDM, Euler, EulerAncestral, "
    "Heun, LMS, KDPM2, KDPM2Ancestral, DPMSolverMultistep with its algorithm types and "
    "orders, DPMSolverSinglestep, DPMSolverSDE, UniPC, DEIS, EDMEuler, "
    "EDMDPMSolverMultistep), run as published (set_timesteps, scale_model_input, step) on "
    "their own discrete noise levels with the exact model output, implement the rule they "
    "name (the k-diffusion rule, or our ancestral step for DDPM / DDIM) on those levels, "
    "realise their gamma and are consistent (output KL falls with N).",
    "diffusers schedulers (documentation of each class); Song, Meng, Ermon 2021 eq. 12; "
    "Ho et al. 2020; Karras et al. 2022; Lu et al. 2022",
    "2-D correlated Gaussian; 1000-step training schedules (linear betas unless stated); "
    "float64 samples (the schedulers compute in float32: tolerances from eps32)",
    requires=("torch", "diffusers", "torchsde"),
    compute=_compute_table("diffusers"),
    decide=decide_rules,
    present=present_table,
    rung=2,
    tolerance="step / chain law rel 50 eps32 per step call (float32 schedules; a gap that "
    "vanishes in a float64 copy of the scheduler is float32 rounding); output KL at N = 50 "
    "<= KL at N = 10 / 4",
    doc=f"{DOC}#diffusers",
    finding="EulerDiscreteScheduler with s_churn > 0 is not Karras et al.'s Alg. 2: the "
    "model output is computed before step() adds the churn noise, at the old noise level, "
    "and then used with sigma_hat (chain-law gap 1.2e2 relative over 5 steps); "
    "DPMSolverMultistep casts the sample to float32, and with squaredcos_cap_v2 "
    "(alpha_T = 4.9e-5) its first step loses three digits (gap 1.4e-3; KL stalls: 4.3e-5 "
    "at N = 25, 7.0e-5 at N = 50); with use_karras_sigmas DPMSolverMultistep hands the "
    "model timesteps rounded to integers while its update uses "
    "the unrounded Karras sigmas (gap about 2e-3). Schedulers that end at alphas_cumprod[0] "
    "(DDIM with set_alpha_to_one=False, PNDM and DEIS by default, DDIM trailing, "
    "DPMSolverMultistep with final_sigmas_type='sigma_min') leave residual noise "
    "(final-step); DDIM trailing at N = 7 steps to t - 1000 // N, not to its next timestep "
    "(bookkeeping). Every other scheduler implements its rule on its own levels to its "
    "float32 tolerance.",
)
