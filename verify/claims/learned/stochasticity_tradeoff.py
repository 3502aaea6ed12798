"""``learned.stochasticity-tradeoff``: The affine model of a network's score error predicts what
stochasticity does.

Its compute, decide and present; the mathematics: docs/claims/learned.md#stochasticity-tradeoff.
"""

from __future__ import annotations

import numpy as np

from verify.claims.base import (
    Claim,
    Decision,
    Presentation,
    Table,
)
from verify.claims.learned._common import (
    _RECON,
    _SETTING_1D,
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
from verify.claims.spde._common import plain_log_ticks

AFFINE_SHARE = 0.1


def decide_tradeoff(r: TradeoffResult) -> Decision:
    """One training seed: the affine model predicts the change if its change has the
    network's sign and explains at least :data:`AFFINE_SHARE` of it (the lower end of the
    share's range over the error boxes); it fails to if the whole range lies within
    ``(-AFFINE_SHARE, AFFINE_SHARE)`` (or is opposite); otherwise undecided."""
    d_net, e_net = r.delta("network")
    d_aff, e_aff = r.delta("affine fit")
    f, f_lo, f_hi = r.fraction("affine fit")
    key = (
        f"dKL(gamma 0->1): network {d_net:+.2e}, affine fit {d_aff:+.2e} (explains {f:.0%} "
        f"[{f_lo:.0%}, {f_hi:.0%}])"
    )
    numbers = (
        f"dKL(q_out||p_tmin) from gamma=0 to 1: network {d_net:+.3e} +- {e_net:.1e}, affine "
        f"fit {d_aff:+.3e} +- {e_aff:.1e}; the affine model explains {f:.1%} [{f_lo:.1%}, "
        f"{f_hi:.1%}] of the network's change"
    )
    if not abs(d_net) > e_net:
        return Decision("inconclusive", numbers + ": the network's change is within its error", key)
    if f_lo >= AFFINE_SHARE:
        return Decision("holds", numbers + f" (>= {AFFINE_SHARE:.0%}, same direction).", key)
    if f_hi < AFFINE_SHARE:
        return Decision(
            "fails",
            numbers + f": under {AFFINE_SHARE:.0%}, so the affine model does not predict it.",
            key,
        )
    return Decision("inconclusive", numbers + f": the range straddles {AFFINE_SHARE:.0%}.", key)


def present_tradeoff(r: TradeoffResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(6, 3.8))
    ax = fig.add_subplot()
    for name, style in zip(TRADEOFF_MODELS, ["o-", "s--", "^:", "k-."], strict=True):
        k = np.array(r.curves[name], dtype=float)
        ok = np.isfinite(k[:, 0]) & (k[:, 0] > 0)
        g = np.array(r.gammas)[ok]
        ax.errorbar(g, k[ok, 0], yerr=np.nan_to_num(k[ok, 1]), fmt=style, capsize=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("stochasticity gamma (0: PF-ODE by characteristics; > 0: FP grid)")
    ax.set_ylabel("KL(q_out || p_tmin) (nats)")
    ax.set_title("final KL vs gamma, learned score (1-D VE; rungs 2 and 3)", fontsize=9)
    ax.legend(fontsize=7)
    rows = [
        [g] + [v for name in TRADEOFF_MODELS for v in r.curves[name][i]]
        for i, g in enumerate(r.gammas)
    ]
    cols = ["gamma"] + [f"{n} {c}" for n in TRADEOFF_MODELS for c in ("KL(q||p)", "error")]
    frac_rows = []
    for name in TRADEOFF_MODELS:
        d, e = r.delta(name)
        frac_rows.append([name, d, e, *r.fraction(name)])
    plain_log_ticks(fig)
    return Presentation(
        {
            "final KL(q_out || p_tmin) vs gamma (nats)": Table(cols, rows),
            "change from gamma=0 to 1 and the share of the network's": Table(
                ["model", "dKL(0->1)", "error", "fraction of network's", "lo", "hi"], frac_rows
            ),
        },
        [ctx.savefig(fig, "kl-vs-gamma")],
    )


def decide_tradeoff_seeds(r: OverSeeds) -> Decision:
    return decide_over_seeds(decide_tradeoff, r)


def _tradeoff_seed_figure(r: OverSeeds, ctx) -> str:
    fig = ctx.figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    seeds = np.array(r.training, dtype=float)
    for k, (name, mk) in enumerate(
        (("network", "o"), ("affine fit", "s"), ("non-affine residual", "^"))
    ):
        d = np.array([x.delta(name) for x in r.per_seed])
        ax.errorbar(seeds + 0.12 * (k - 1), d[:, 0], yerr=d[:, 1], fmt=mk, capsize=3, label=name)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xticks(r.training)
    ax.set_xlabel("training seed")
    ax.set_ylabel("KL(gamma=1) - KL(gamma=0) (nats)")
    ax.set_title("change of the final KL from gamma 0 to 1, per training seed", fontsize=9)
    ax.legend(fontsize=7)
    return ctx.savefig(fig, "kl-vs-gamma-seeds")


def present_tradeoff_seeds(r: OverSeeds, ctx) -> Presentation:
    shown = _first_seed(present_tradeoff(r.per_seed[0], ctx), r.training[0])
    table = seed_table(r, decide_tradeoff, _tradeoff_columns())
    tables = {"verdict and dKL(gamma 0 -> 1) per training seed": table, **shown.tables}
    return Presentation(tables, [_tradeoff_seed_figure(r, ctx), *shown.figures])


CLAIM = Claim(
    "learned.stochasticity-tradeoff",
    "With a learned score, the change of the final KL(q_out || p_tmin) from gamma = 0 (the "
    "probability-flow ODE) to gamma = 1 (the reverse SDE) is predicted by the affine "
    "error model (1 + a(t)) s + b(t), fitted to the network's error field under p_t: it "
    "changes the KL in the same direction by at least 10% of the network's change, on "
    "every training seed.",
    f"arXiv 2506.11378 §3 ({_RECON})",
    _SETTING_1D + ", VE(0.01, 3), sigma 3 -> 0.03, start at the exact p_T; EDM-"
    "preconditioned 48x3 MLP; gamma = 0 by PF-ODE characteristics with exact log-"
    "Jacobians (autograd divergence), gamma > 0 on the Fokker-Planck grid (1200 cells, 80 "
    "steps)",
    compute=compute_tradeoff,
    decide=decide_tradeoff_seeds,
    present=present_tradeoff_seeds,
    rung=3,
    tolerance="per training seed: the network's change beyond its numerical error "
    "(characteristics: coarsened rerun; FP: half resolution), then the affine share's range "
    "over the error boxes against 10%; a verdict when every deciding seed agrees and at "
    "most one of five is undecided",
    doc=f"{DOC}#stochasticity-tradeoff",
    requires=("torch",),
    finding="On every one of five training seeds the fitted affine model explains under "
    "10% of the network's KL change, with a sign that changes with the seed (the table "
    "per training seed lists the shares): the one-seed finding 'the affine model predicts "
    "an increase' was the "
    "training seed's, not the method's); the non-affine residual of the error carries the "
    "fall (learned.stochasticity-corrects).",
)
