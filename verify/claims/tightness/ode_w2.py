"""``tightness.ode-w2``: The probability-flow W2 Gronwall bound holds at every setting searched and
is attained.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#ode-w2.
"""

from __future__ import annotations

from verify.claims.tightness._common import _R, bound_claim

SPEC = dict(
    key="ode-w2",
    attained=True,
    checks="stochasticity.ode-w2-bound",
    inequality="W2(q_t, p_t) <= int exp(int Lam) g^2/2 sqrt(E_q|e|^2) du",
    rung=1,
    statement="For the probability-flow ODE from p_T with a scale or offset score error, "
    "the synchronous-coupling Gronwall bound W2(q_t, p_t) <= int_0^tau exp(int_u^tau Lam) "
    "g^2/2 sqrt(E_q|e|^2) du, Lam = -f - g^2 / (2 lambda_max(S_t)), holds for every "
    "Gaussian data law and schedule searched, and is attained (isotropic data with a scale "
    "error), measured at the times where the Gronwall factor exp(int Lam) is at least 2 or "
    "at most 1/2 (near tau = 0 every rate gives ratio 1).",
    source=f"arXiv 2506.11378 abstract (Lipschitz scores, the probability-flow ODE) {_R}",
    setting="Gaussian data in d = 2 (lam1 in [0.03, 20], aniso in [0.01, 1]); OU, VP, VE; "
    "T in [0.1, 2]; k in [0.7, 1.3], |b| in [0, 1]; exact W2 in closed form, the bound on "
    "101 graded nodes with Richardson extrapolation (a vectorised twin of "
    "verify.theory.kl_dynamics.ode_w2_bound, which is evaluated at the worst setting); "
    "nodes with |int Lam| < ln 2 excluded, settings without such a node counted.",
)

CLAIM = bound_claim(SPEC)
