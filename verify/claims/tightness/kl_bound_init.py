"""``tightness.kl-bound-init``: In continuous time with the exact score, the start term alone
bounds the KL.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#kl-bound-init.
"""

from __future__ import annotations

from verify.claims.tightness._common import bound_claim

SPEC = dict(
    key="kl-bound-init",
    attained=True,
    checks="initialization.kl-bound-terms",
    inequality="KL(p_sigma_min||q) <= KL(p_T||p_init) (exact score, continuous time)",
    rung=1,
    statement="With the exact score in continuous time the initialization term alone "
    "bounds the KL: KL(p_sigma_min || q) <= KL(p_T || p_init) for the reverse family with "
    "any gamma >= 0 searched, with equality for the probability-flow ODE (gamma = 0).",
    source="standard (data processing; the initialization term of arXiv 2603.00772 v1 §3)",
    setting="EDM, sigma_T in [0.3, 80] to sigma_min = 2e-4; data eigenvalues in [0.01, 10]; "
    "gamma in [0, 3]; start offset delta in [0, 2], variance ratio in [0.25, 4]; closed "
    "form, mpmath certificate.",
)

CLAIM = bound_claim(SPEC)
