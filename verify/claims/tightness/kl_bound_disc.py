"""``tightness.kl-bound-disc``: The discretization term bounds the exponential integrator's KL
everywhere searched.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#kl-bound-disc.
"""

from __future__ import annotations

from verify.claims.tightness._common import _EDM, _R, bound_claim

SPEC = dict(
    key="kl-bound-disc",
    attained=False,
    checks="initialization.kl-bound-terms",
    inequality="KL(p_sigma_min||chain) <= E_disc (exact score and start)",
    rung=2,
    statement="With the exact score and start the discretization term E_disc bounds the KL "
    "of the exponential-integrator chain at every grid, horizon and data law searched.",
    source=f"arXiv 2603.00772 v1 §3 (the discretization term) {_R}",
    setting=f"{_EDM}; N in [2, 100], sigma_T in [0.3, 80], rho in [1, 10]; exact chain law.",
)

CLAIM = bound_claim(SPEC)
