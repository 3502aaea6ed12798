"""``conformance.public-samplers``: Re-implementations of published samplers pass the kit with
their published orders.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#public-samplers.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.conformance._common import (
    CONFORMING_TOLERANCE,
    DOC,
    _compute_group,
    decide_conforming,
    present_conforming,
)


def _public_names():
    from verify.kit import references as R

    return list(R.PUBLIC)


CLAIM = Claim(
    "conformance.public-samplers",
    "Re-implementations of published samplers (k-diffusion sample_euler, "
    "sample_euler_ancestral, sample_dpmpp_2m_sde; EDM Alg. 2 stochastic Heun; DDIM with eta "
    "as a diffusers-style scheduler), written from the papers' update rules, pass the kit "
    "with their published orders (Euler/ancestral/DDIM 1, EDM Heun without churn 2) and the "
    "knob maps of verify.kit.conventions (ancestral/DDIM gamma = eta^2 exact; DPM++ 2M SDE "
    "gamma = eta small-step).",
    "Karras et al. 2022 Alg. 1-2; Song, Meng, Ermon 2021 eq. 12; Lu et al. 2022 "
    "(DPM-Solver++) §4; k-diffusion sampling.py (rules reconstructed from memory)",
    "2-D correlated Gaussian; EDM sigma in [0.02, 20]; DDIM: 1000 linear betas 1e-4..0.02",
    compute=_compute_group("public", _public_names, "re-implemented public samplers"),
    decide=decide_conforming,
    present=present_conforming,
    rung=2,
    tolerance=CONFORMING_TOLERANCE,
    doc=f"{DOC}#public-samplers",
)
