"""``tightness.ve-ancestral-disc-steep``: On steep Karras grids (rho >= 5), the discretization term
bounds the VE ancestral KL.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#ve-ancestral-disc-steep.
"""

from __future__ import annotations

from verify.claims.tightness._common import _EDM, bound_claim

SPEC = dict(
    key="ve-ancestral-disc-steep",
    attained=False,
    checks="initialization.ve-ancestral-disc-fine-grids",
    inequality="KL(p_sigma_min||ancestral chain) <= E_disc, N >= 10, rho >= 5",
    rung=2,
    statement="On Karras grids of at least 10 steps with rho >= 5 the discretization term "
    "E_disc bounds the KL of the VE ancestral chain (exact score and start) at every "
    "horizon and data law searched.",
    source="this toolkit's search (the true statement beside tightness.ve-ancestral-disc)",
    setting=f"{_EDM}; N in [10, 100], sigma_T in [0.3, 80], rho in [5, 10]; exact chain laws.",
)

CLAIM = bound_claim(SPEC)
