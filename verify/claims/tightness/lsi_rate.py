"""``tightness.lsi-rate``: The LSI rate bound holds at every setting searched and is attained.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#lsi-rate.
"""

from __future__ import annotations

from verify.claims.tightness._common import _R, bound_claim

SPEC = dict(
    key="lsi-rate",
    attained=True,
    checks="stochasticity.exact-score-decay",
    inequality="KL(q_t||p_t) <= KL(q_T||p_T) exp(-int_t^T gamma g^2 / C_LSI(p_u) du)",
    rung=1,
    statement="With the exact score, the LSI rate bound KL(q_t || p_t) <= KL(q_T || p_T) "
    "exp(-E_LSI), E_LSI = int_t^T gamma g^2 / C_LSI(p_u) du, holds for every Gaussian data "
    "law, horizon, schedule, stochasticity and start law searched, measured as decay "
    "exponents (E_truth = ln(KL_T / KL_t) >= E_LSI) where the truth falls to at most half "
    "its start, and its rate is attained (a start offset along the top eigendirection): no "
    "factor above 1 on the rate holds.",
    source=f"arXiv 2506.11378 §2 {_R}",
    setting="Gaussian data N(m, diag(lam_max, aniso lam_max)) in d = 2, lam_max in [0.03, "
    "20], aniso in [0.01, 1]; OU, VP(0.1, beta_max in [1, 30]), VE(0.01, sigma_max in [1, "
    "50]); T in [0.1, 2], t = t_frac T, t_frac in [0, 0.95]; gamma in [0.1, 5]; start "
    "offset delta in [0, 3] standard deviations at angle theta in [0, pi/2] to the top "
    "eigendirection, variance ratio in [0.2, 10]; closed form (G), mpmath certificate; "
    "settings with E_truth < ln 2 excluded and counted.",
)

CLAIM = bound_claim(SPEC)
