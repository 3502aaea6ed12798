"""``tightness.kl-bound``: The initialization-aware KL bound holds for the exponential integrator
at every setting.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#kl-bound.
"""

from __future__ import annotations

from verify.claims.tightness._common import _EDM, _R, bound_claim

SPEC = dict(
    key="kl-bound",
    attained=False,
    checks="initialization.kl-bound-terms",
    inequality="KL(p_sigma_min||chain) <= KL(p_T||p_init) + path term",
    rung=2,
    statement="The initialization-aware bound KL(p_sigma_min || chain) <= KL(p_T || "
    "p_init) + 1/2 sum_k int g^2 E|s~(X_tk, tk) - grad log p_t(X_t)|^2 dt holds for the "
    "exponential-integrator chain at every grid, horizon sigma_T, data law, start law and "
    "score error searched (verify.theory.start_laws.kl_bound_terms).",
    source=f"arXiv 2603.00772 v1 §3 {_R}",
    setting=f"{_EDM}; N in [2, 100], sigma_T in [0.3, 80], rho in [1, 10]; offset (|b| <= "
    "0.5) or scale (k in [0.8, 1.2]) errors; start N(m_T + delta sqrt(S_T), ratio S_T), "
    "delta in [0, 2], ratio in [0.25, 4]; exact chain law.",
)

CLAIM = bound_claim(SPEC)
