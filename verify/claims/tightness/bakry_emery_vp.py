"""``tightness.bakry-emery-vp``: The Bakry-Emery decay of the prior KL under VP holds and cannot be
improved.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#bakry-emery-vp.
"""

from __future__ import annotations

from verify.claims.tightness._common import bound_claim

SPEC = dict(
    key="bakry-emery-vp",
    attained=True,
    checks="horizon.prior-kl-monotone",
    inequality="KL(p_T||N(0,I)) <= e^{-(B(T)-B(s))} KL(p_s||N(0,I))",
    rung=1,
    statement="For VP and every Gaussian data law searched, KL(p_T || N(0, I)) <= "
    "e^{-(B(T) - B(s))} KL(p_s || N(0, I)) for s < T (Bakry-Emery), and the factor cannot "
    "be improved: it is attained when the data covariance is the identity.",
    source="standard (Bakry and Emery 1985: the OU semigroup contracts KL at rate 2, VP is "
    "the OU process time-changed by B(t) = int beta)",
    setting="Gaussian data in d = 2, eigenvalues lam1, lam2 in [0.03, 20], mean norm in [0, "
    "3] at angle theta in [0, pi/2]; VP(beta_min in [0.01, 1], beta_max in [1, 30]), T in "
    "[0.02, 1], s = s_frac T, s_frac in [0, 0.95]; closed form, mpmath certificate.",
)

CLAIM = bound_claim(SPEC)
