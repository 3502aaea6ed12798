"""Conformance kit claims: our samplers and re-implemented public ones pass
``verify.kit.conformance.check_sampler``; deliberate mutants fail, and the table says which check
caught each.

Setting: the kit's default target, a correlated 2-D Gaussian (``conformance.default_target``);
EDM sigma in [0.02, 20] (Karras grid, rho = 7) for the k-diffusion and ours conventions;
a 1000-step linear-beta alpha-bar schedule for the diffusers-style DDIM. The four checks and
their tolerances are in the ``verify.kit.conformance`` docstring: (1) particles vs the exact data
moments (99% family-wise CLT intervals, rung 4), (2) weak order from probed exact laws
(|slope - stated| <= 0.3), (3) exact one-step law (relative moment gap <= 1e-6), (4) gamma
actually applied vs ``verify.kit.conventions``' map.

Each claim is one file of this package, named after its id (``conformance.own-samplers`` is
``own_samplers.py``), holding its compute, decide and present; the settings and helpers that
several claims share are in ``_common.py``. A new claim is a new file, listed in ``CLAIMS``
below.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.conformance import (
    diffusers,
    diffusers_karras_orders,
    diffusers_orders,
    k_diffusion,
    k_diffusion_orders,
    k_diffusion_startup_orders,
    mutants_caught,
    own_samplers,
    public_samplers,
    torchsde,
)
from verify.claims.conformance._common import PACKAGES, real_table_row, table_rows

__all__ = ["CLAIMS", "PACKAGES", "real_table_row", "table_rows"]

CLAIMS: list[Claim] = [
    own_samplers.CLAIM,
    public_samplers.CLAIM,
    mutants_caught.CLAIM,
    k_diffusion.CLAIM,
    k_diffusion_orders.CLAIM,
    k_diffusion_startup_orders.CLAIM,
    diffusers.CLAIM,
    diffusers_orders.CLAIM,
    diffusers_karras_orders.CLAIM,
    torchsde.CLAIM,
]
"""The claims, in report order (one file each, named after the id)."""
