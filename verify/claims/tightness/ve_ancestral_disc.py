"""``tightness.ve-ancestral-disc``: On Karras grids of 10 or more steps, the discretization term
bounds the VE ancestral KL.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#ve-ancestral-disc.
"""

from __future__ import annotations

from verify.claims.tightness._common import _EDM, bound_claim

SPEC = dict(
    key="ve-ancestral-disc",
    attained=False,
    checks="initialization.ve-ancestral-disc-fine-grids",
    inequality="KL(p_sigma_min||ancestral chain) <= E_disc on grids of >= 10 steps",
    rung=2,
    statement="On Karras grids of at least 10 steps the discretization term E_disc bounds "
    "the KL of the VE ancestral (DDPM posterior) chain with the exact score and start, at "
    "every horizon, grid exponent rho and data law searched.",
    source="this toolkit's sweep (the true statement beside initialization.ve-ancestral-"
    "disc, generalised beyond the settings it swept)",
    setting=f"{_EDM}; N in [10, 100], sigma_T in [0.3, 80], rho in [1, 10]; exact chain "
    "laws (the ancestral chain's law also by an independent mpmath recursion in the tests).",
    finding="E_disc bounds the ancestral chain only when its last step is short compared "
    "with the data's smallest standard deviation: on grids with rho in [1, 2] and sigma_T = "
    "80 the last step jumps from sigma = 8 (rho = 1, N = 10) to sigma_min, the posterior "
    "mean shrinks the variance of a direction with variance 0.01 about 6000-fold, and the "
    "KL is 550 x E_disc; on grids with rho >= 5 (EDM's rho = 7) it holds "
    "(tightness.ve-ancestral-disc-steep).",
)

CLAIM = bound_claim(SPEC)
