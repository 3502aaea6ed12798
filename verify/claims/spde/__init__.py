"""Claims of paper 3 (Seo, arXiv 2602.08579): score errors as common noise, and the
quadratic-variation metric of the density projected on radial test functions.

All statements are reconstructions (the paper's equations were not available); the
mathematics is in docs/claims/spde.md, the numerics in :mod:`verify.theory.common_noise`
(particles, SPDE grid, QV), :mod:`verify.theory.gaussian_paths` (exact conditional laws given
the common path) and :mod:`verify.theory.contraction` (W2 contraction). Settings: OU forward
SDE, ``T = 1``, uniform grids, Gaussian targets unless stated. Each claim is ``compute``
(numbers), ``decide`` (verdict) and ``present`` (tables, figures).

Each claim is one file of this package, named after its id (``spde.qv-identity`` is
``qv_identity.py``), holding its compute, decide and present; the settings and helpers that
several claims share are in ``_common.py``. A new claim is a new file, listed in ``CLAIMS``
below.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.spde import (
    convexity_stability,
    early_evaluation,
    early_evaluation_per_profile,
    qv_identity,
    radial_blind_spot,
)

CLAIMS: list[Claim] = [
    qv_identity.CLAIM,
    radial_blind_spot.CLAIM,
    early_evaluation.CLAIM,
    early_evaluation_per_profile.CLAIM,
    convexity_stability.CLAIM,
]
"""The claims, in report order (one file each, named after the id)."""
