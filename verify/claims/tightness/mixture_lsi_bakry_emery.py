"""``tightness.mixture-lsi-bakry-emery``: The Bakry-Emery LSI constant of a two-component mixture
is a valid upper bound.

The bound's spec; the search, decide and present are shared (``_common.py``); the mathematics:
docs/claims/tightness.md#mixture-lsi-bakry-emery.
"""

from __future__ import annotations

from verify.claims.tightness._common import _GRID_TRUTH, bound_claim

SPEC = dict(
    key="mixture-lsi-bakry-emery",
    attained=True,
    checks="analytic.lsi.mixture_lsi_bakry_emery",
    inequality="C_LSI(mixture) <= 1/kappa, kappa = (1 - rho^2)/s^2",
    rung=3,
    statement="For every two-component 1-D mixture w N(-rho s, s^2) + (1-w) N(rho s, s^2) "
    "with rho < 1 searched, the Bakry-Emery bound C_LSI <= s^2 / (1 - rho^2) of "
    "analytic.lsi lies above a lower bound on C_LSI from test functions (sup_f Ent(f^2) / "
    "(2 E|f'|^2) over tilts and smoothed steps), and is attained as rho -> 0 (the "
    "Gaussian).",
    source="derived in analytic/lsi.py: Bakry-Emery with Popoviciu's bound on the covariance "
    "of the component means under the responsibilities",
    setting=f"w in [0.05, 0.5], rho in [0, 0.99] (the bound is finite for rho < 1), s in "
    f"[0.3, 3]; {_GRID_TRUTH}",
)

CLAIM = bound_claim(SPEC)
