"""Claims of paper 1 (``stochasticity.*``): Schaeffer, Rosa & Valle, "The Effect of
Stochasticity in Score-Based Diffusion Sampling: a KL Divergence Analysis" (arXiv 2506.11378).

The reverse family ``dY = [-f Y + (1 + gamma)/2 g^2 s(Y, T - tau)] dtau + sqrt(gamma) g dW``
(docs/theory.md#the-reverse-family) and ``H_tau = KL(q_tau || p_{T-tau})`` along it (direction:
sampler || exact, throughout). The claims check the exact-score decay identity and its
log-Sobolev rate bound, the effect of the score error's structure, the Young + LSI bound, the
discretized chains and the paper's "simple datasets"; the mathematics is in
docs/claims/stochasticity.md and the numerics in ``verify.theory.kl_dynamics``. Each claim is
``compute`` (numbers), ``decide`` (verdict) and ``present`` (tables, figures); the run
computes every number quoted in a verdict.

Each claim is one file of this package, named after its id (``stochasticity.exact-score-decay`` is
``exact_score_decay.py``), holding its compute, decide and present; the settings and helpers that
several claims share are in ``_common.py``. A new claim is a new file, listed in
``CLAIMS`` below.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.stochasticity import (
    approx_score_discretized,
    discretization,
    error_direction,
    error_structure,
    error_structure_mixtures,
    exact_score_decay,
    gamma_schedule,
    large_gamma_limit,
    mixture_lsi_bound,
    ode_w2_bound,
    simple_datasets,
    simple_datasets_approx,
    young_lsi_bound,
)

CLAIMS: list[Claim] = [
    exact_score_decay.CLAIM,
    mixture_lsi_bound.CLAIM,
    error_structure.CLAIM,
    error_direction.CLAIM,
    error_structure_mixtures.CLAIM,
    large_gamma_limit.CLAIM,
    young_lsi_bound.CLAIM,
    gamma_schedule.CLAIM,
    ode_w2_bound.CLAIM,
    discretization.CLAIM,
    simple_datasets.CLAIM,
    simple_datasets_approx.CLAIM,
    approx_score_discretized.CLAIM,
]
"""The claims, in report order (one file each, named after the id)."""
