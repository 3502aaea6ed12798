"""``tightness.mixture-lsi-ccnw``: A reconstructed Chen-Chewi-Niles-Weed constant bounds a two-
component mixture's LSI.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#mixture-lsi-ccnw.
"""

from __future__ import annotations

from verify.claims.tightness._common import _GRID_TRUTH, bound_claim

SPEC = dict(
    key="mixture-lsi-ccnw",
    attained=False,
    checks="analytic.lsi.mixture_lsi_ccnw",
    inequality="C_LSI(nu * N(0,t)) <= 6 (4R^2 + t) exp(4R^2/t)",
    rung=3,
    statement="For every two-component 1-D mixture searched, the bound C_LSI <= 6 (4 R^2 + "
    "t) exp(4 R^2 / t) (a reconstruction of the Chen-Chewi-Niles-Weed bound, unconfirmed) "
    "lies above a lower bound on C_LSI from test functions (sup_f Ent(f^2) / (2 E|f'|^2)); "
    "the table reports how far its constant 6 is from the smallest constant that holds on "
    "this family.",
    source="a reconstruction attributed to Chen, Chewi, Niles-Weed 2021 (arXiv 2102.11476): "
    "the paper proves a dimension-free LSI for Gaussian convolutions of measures of bounded "
    "support, but this formula (analytic/lsi.py) was written from memory and could not be "
    "confirmed against its theorem; this claim is its falsifiable check",
    setting=f"w in [0.05, 0.5], rho = R / s in [0, 3], s in [0.3, 3] (t = s^2, R = rho s); "
    f"{_GRID_TRUTH}",
)

CLAIM = bound_claim(SPEC)
