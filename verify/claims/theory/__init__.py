"""Claims from the standard theory of reverse-time diffusion (``theory.*``).

The facts the four papers build on, each on the highest rung of the exactness ladder that
applies; the mathematics is in docs/claims/theory.md. Each claim is ``compute`` (numbers),
``decide`` (verdict) and ``present`` (tables, figures).

Each claim is one file of this package, named after its id
(``theory.marginals-independent-of-gamma`` is ``marginals_independent_of_gamma.py``), holding
its compute, decide and present; the settings and helpers that several claims share are in
``_common.py``. A new claim is a new file, listed in ``CLAIMS`` below.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.theory import (
    chain_law_matches_particles,
    discretization_order,
    kl_scaling,
    marginals_independent_of_gamma,
    pf_ode_preserves_kl,
    ve_ancestral_shortfall,
)

CLAIMS: list[Claim] = [
    marginals_independent_of_gamma.CLAIM,
    pf_ode_preserves_kl.CLAIM,
    discretization_order.CLAIM,
    ve_ancestral_shortfall.CLAIM,
    chain_law_matches_particles.CLAIM,
    kl_scaling.CLAIM,
]
"""The claims, in report order (one file each, named after the id)."""
