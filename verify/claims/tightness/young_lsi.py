"""``tightness.young-lsi``: The Young + LSI bound holds at every setting searched.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#young-lsi.
"""

from __future__ import annotations

from verify.claims.tightness._common import _R, bound_claim

SPEC = dict(
    key="young-lsi",
    attained=False,
    checks="stochasticity.young-lsi-bound",
    inequality="KL(q_t||p_t) <= Gronwall solution of the Young + LSI inequality",
    rung=1,
    statement="For gamma > 0, every lambda in (0, 1), every Gaussian data law, schedule, "
    "start law and scale or offset score error searched, KL(q_t || p_t) is at most the "
    "Young + LSI bound (the Gronwall solution of H' = -(1-lambda) gamma g^2 / C_LSI H + "
    "(1+gamma)^2 g^2 E_q|e|^2 / (8 lambda gamma)), as verify.theory.kl_dynamics."
    "young_lsi_bound computes it on 201 nodes; measured where the truth falls to at most "
    "half its start.",
    source=f"arXiv 2506.11378 §2, approximate-score bound {_R}",
    setting="Gaussian data in d = 2 (lam_max in [0.03, 20], aniso in [0.01, 1]); OU, VP, "
    "VE; T in [0.1, 2], t_frac in [0, 0.95]; gamma in [0.05, 5]; lambda in [0.02, 0.98]; "
    "score error s~ = k s + b, k in [0.7, 1.3], |b| in [0, 1]; start offset and variance "
    "ratio as tightness.lsi-rate; truth in closed form (the reverse family with a scale and "
    "offset error), certificate: mpmath truth, bound on 4x finer nodes; settings with "
    "KL_t > KL_T / 2 excluded and counted.",
)

CLAIM = bound_claim(SPEC)
