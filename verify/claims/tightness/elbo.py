"""``tightness.elbo``: The ELBO bound holds at every horizon, data law and score error searched.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#elbo.
"""

from __future__ import annotations

from verify.claims.tightness._common import bound_claim

SPEC = dict(
    key="elbo",
    attained=False,
    checks="horizon.elbo-bound",
    inequality="KL(p_tmin||model) <= KL(p_T||pi) + J(T)",
    rung=1,
    statement="The ELBO bound KL(p_tmin || model) <= KL(p_T || pi) + 1/2 int g^2 E|s~ - "
    "grad log p_t|^2 dt holds for the continuous reverse SDE from the prior at every "
    "diffusion time T, data law and offset or scale error searched, under VP and VE.",
    source="standard (Song, Durkan, Murray, Ermon 2021, Thm 1; arXiv 2206.05173 §2.1)",
    setting="VP(0.1, 20) with prior N(0, I), VE(0.01, 10) with prior N(0, sigma^2(T) I); T "
    "in [0.05, 1]; data eigenvalues in [0.01, 10], mean norm in [0, 2]; offset |b| <= 0.5 "
    "or scale k in [0.8, 1.2]; J by score_error_integral (as verify.theory.elbo."
    "gaussian_elbo), closed-form truth, mpmath certificate.",
)

CLAIM = bound_claim(SPEC)
