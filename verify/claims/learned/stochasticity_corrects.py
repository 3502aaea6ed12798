"""``learned.stochasticity-corrects``: With a learned score, the reverse SDE ends closer to the
data than the ODE.

Its compute, decide and present; the mathematics: docs/claims/learned.md#stochasticity-corrects.
"""

from __future__ import annotations

from verify.claims.base import (
    Check,
    Claim,
    Decision,
    Presentation,
    Table,
    decide_checks,
)
from verify.claims.learned._common import (
    _RECON,
    DOC,
    TRADEOFF_MODELS,
    OverSeeds,
    TradeoffResult,
    _first_seed,
    _tradeoff_columns,
    compute_tradeoff,
    decide_over_seeds,
    seed_table,
)


def decide_corrects(r: TradeoffResult) -> Decision:
    d_net, e_net = r.delta("network")
    d_res, e_res = r.delta("non-affine residual")
    d_ex, e_ex = r.delta("exact score")
    f, f_lo, f_hi = r.fraction("non-affine residual")
    checks = [
        Check(d_net < -e_net, f"network: dKL(0->1) = {d_net:+.3e} +- {e_net:.1e} (< 0)"),
        Check(d_res < -e_res, f"non-affine residual: dKL = {d_res:+.3e} +- {e_res:.1e} (< 0)"),
    ]
    k0 = r.curves["network"][0][0]
    k1 = r.curves["network"][r.gammas.index(1.0)][0]
    holds = (
        f"stochasticity corrects the learned score's error: KL(q_out||p_tmin) {k0:.3e} at "
        f"gamma=0 -> {k1:.3e} at gamma=1 ({d_net:+.3e} +- {e_net:.1e}); the non-affine residual "
        f"of its error alone gives {d_res:+.3e} +- {e_res:.1e} ({f:.0%} [{f_lo:.0%}, {f_hi:.0%}] "
        f"of the network's change); exact score: {d_ex:+.1e} (numerical zero)."
    )
    key = f"dKL(gamma 0->1): network {d_net:+.2e}, non-affine residual {d_res:+.2e} ({f:.0%})"
    return decide_checks(checks, holds, key)


def present_corrects(r: TradeoffResult, ctx) -> Presentation:
    """Tables only: the figure is learned.stochasticity-tradeoff's (same numbers)."""
    rows = [[name, *r.delta(name), *r.fraction(name)] for name in TRADEOFF_MODELS]
    cols = ["model", "dKL(0->1)", "error", "fraction of network's", "lo", "hi"]
    return Presentation({"change of KL(q_out||p_tmin) from gamma=0 to 1": Table(cols, rows)}, [])


def decide_corrects_seeds(r: OverSeeds) -> Decision:
    return decide_over_seeds(decide_corrects, r)


def present_corrects_seeds(r: OverSeeds, ctx) -> Presentation:
    """Tables only: the figures are learned.stochasticity-tradeoff's (same numbers)."""
    shown = _first_seed(present_corrects(r.per_seed[0], ctx), r.training[0])
    table = seed_table(r, decide_corrects, _tradeoff_columns())
    tables = {"verdict and dKL(gamma 0 -> 1) per training seed": table, **shown.tables}
    return Presentation(tables, [])


CLAIM = Claim(
    "learned.stochasticity-corrects",
    "With a learned score, stochasticity corrects the error: the final KL(q_out || p_tmin) "
    "falls from gamma = 0 to gamma = 1, and the non-affine residual of the error field "
    "(network minus its fitted affine part) alone produces a fall of the same sign.",
    f"arXiv 2506.11378 §3 ({_RECON}); the statement learned.stochasticity-tradeoff's "
    "numbers support",
    "the setting and numerics of learned.stochasticity-tradeoff",
    compute=compute_tradeoff,
    decide=decide_corrects_seeds,
    present=present_corrects_seeds,
    rung=3,
    tolerance="dKL(0 -> 1) below minus its numerical error estimate",
    doc=f"{DOC}#stochasticity-corrects",
    requires=("torch",),
)
