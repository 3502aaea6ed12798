"""``tightness.kl-bound-score``: In continuous time from the exact start, the score term alone
bounds the KL.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#kl-bound-score.
"""

from __future__ import annotations

from verify.claims.tightness._common import bound_claim

SPEC = dict(
    key="kl-bound-score",
    attained=False,
    checks="initialization.kl-bound-terms",
    inequality="KL(p_sigma_min||q) <= 1/2 int g^2 E_p|s~ - grad log p_t|^2 dt",
    rung=1,
    statement="With the exact start in continuous time the score term alone bounds the KL "
    "of the reverse SDE: KL(p_sigma_min || q) <= 1/2 int g^2 E_p|s~ - grad log p_t|^2 dt "
    "(verify.theory.start_laws.score_error_integral) for every offset or scale error, data "
    "law and horizon searched.",
    source="standard (Girsanov; Song et al. 2021, Thm 1; the score term of arXiv 2603.00772 v1 §3)",
    setting="EDM, sigma_T in [0.3, 80]; data as tightness.kl-bound; offset |b| <= 0.5 or "
    "scale k in [0.8, 1.2]; closed-form truth, mpmath certificate.",
)

CLAIM = bound_claim(SPEC)
