"""``stochasticity.error-direction``: A closed-form criterion says when stochasticity helps against
an offset or scale error.

Its compute, decide and present; the mathematics: docs/claims/stochasticity.md#error-direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU
from verify.claims.base import Claim, Decision, Presentation, Table, decide_checks
from verify.claims.stochasticity._common import (
    DOC,
    SOURCE,
    _check,
    _save,
    direction_sde,
)
from verify.runtime.sweep import task_seed

DIRECTION_DELTA = 1e-3  # the small gamma of the finite-difference sign of dKL/dgamma at 0

DIRECTION_NUM_TOL = 1e-8  # relative: exact-law precision; smaller differences are undecided

DIRECTION_FORM_TOL = 1e-8  # closed form vs exact law, relative

DIRECTION_MAX_UNDECIDED = 0.05

DIRECTION_SIZES = {"offset": (0.2, 1.0), "scale": (0.5, 0.8, 1.25, 2.0)}

DIRECTION_GAMMAS = tuple(np.geomspace(1e-3, 1e4, 141))  # closed-form curve for the regimes


@dataclass
class DirectionResult:
    """One row per grid point ``(sde, kind, size, s0)``: log-SNR gain ``ell``, the criteria's
    margins (positive: stochasticity helps), the exact-law KLs at gamma = 0 and DELTA, the
    closed form at both, the gamma -> infinity KL, and the closed-form curve's pattern
    (``sign changes`` of KL(gamma) - KL(0) over DIRECTION_GAMMAS, first and last sign)."""

    rows: list  # dicts
    s0s: list
    seeds: list = field(default_factory=list)


def _direction_task(task):
    from verify.theory.error_direction import (
        criteria,
        exact_final_kls,
        final_kl,
        limit_kl,
    )

    sde, kind, s0s = direction_sde(task["sde"]), task["kind"], task["s0s"]
    sizes = DIRECTION_SIZES[kind]
    K0 = exact_final_kls(sde, s0s, kind, sizes, 0.0)
    Kd = exact_final_kls(sde, s0s, kind, sizes, DIRECTION_DELTA)
    rows = []
    for i, s0 in enumerate(s0s):
        for j, size in enumerate(sizes):
            crit = criteria(sde, s0, kind, size)
            curve = final_kl(sde, s0, kind, size, np.array(DIRECTION_GAMMAS))
            f0, fd = final_kl(sde, s0, kind, size, np.array([0.0, DIRECTION_DELTA]))
            sign = np.sign(curve - f0)
            sign = sign[sign != 0]
            rows.append(
                {
                    "sde": task["sde"],
                    "kind": kind,
                    "size": float(size),
                    "s0": float(s0),
                    "ell": crit["ell"],
                    "limit_margin": crit["limit_margin"],
                    "small_margin": crit["small_margin"],
                    "K0": float(K0[i, j]),
                    "Kdelta": float(Kd[i, j]),
                    "form_K0": float(f0),
                    "form_Kdelta": float(fd),
                    "Kinf": limit_kl(s0, kind, size),
                    "changes": int(np.sum(sign[1:] != sign[:-1])),
                    "first": float(sign[0]) if sign.size else 0.0,
                    "last": float(sign[-1]) if sign.size else 0.0,
                }
            )
    return rows


def _direction_sdes(quick: bool) -> list:
    if quick:
        return ["OU T=0.5", "OU T=2", "VE smax=10"]
    return [
        "OU T=0.5",
        "OU T=1",
        "OU T=2",
        "OU T=4",
        "VP T=0.25",
        "VP T=1",
        "VE smax=2",
        "VE smax=10",
        "subVP T=1",
    ]


def compute_direction(ctx) -> DirectionResult:
    s0s = [float(s) for s in np.geomspace(0.2, 5.0, 13 if ctx.quick else 25)]
    tasks = [
        {"sde": s, "kind": k, "s0s": s0s, "seed": task_seed(ctx.seed, "dir", s, k)}
        for s in _direction_sdes(ctx.quick)
        for k in ("offset", "scale")
    ]
    rows = [r for part in ctx.map(_direction_task, tasks, desc="exact laws") for r in part]
    return DirectionResult(rows, s0s, [ctx.seed])


def direction_truth(row: dict) -> tuple:
    """``(limit, small)``: ``True`` (helps), ``False`` (hurts) or ``None`` (the exact
    difference or the criterion's margin is within the numerical tolerance)."""
    tol = DIRECTION_NUM_TOL * row["K0"]
    dl, ds = row["Kinf"] - row["K0"], row["Kdelta"] - row["K0"]
    limit = None if abs(dl) <= tol or abs(row["limit_margin"]) < 1e-9 else bool(dl < 0)
    small = None if abs(ds) <= tol or abs(row["small_margin"]) < 1e-9 else bool(ds < 0)
    return limit, small


def decide_direction(r: DirectionResult) -> Decision:
    checks, n_dec, n_undec, seen = [], 0, 0, set()
    form = max(
        max(abs(x["form_K0"] - x["K0"]) / x["K0"], abs(x["form_Kdelta"] - x["Kdelta"]) / x["K0"])
        for x in r.rows
    )
    checks.append(
        _check(form <= DIRECTION_FORM_TOL, f"closed form off the exact law by {form:.1e}")
    )
    for x in r.rows:
        tag = f"{x['sde']} {x['kind']} {x['size']:g} s0={x['s0']:.3g}"
        for what, truth, margin in zip(
            ("limit", "small"),
            direction_truth(x),
            (x["limit_margin"], x["small_margin"]),
            strict=True,
        ):
            if truth is None:
                n_undec += 1
                continue
            n_dec += 1
            seen.add((x["kind"], what, truth))
            ok = truth == (margin > 0)
            checks.append(
                _check(ok, f"{tag}: {what} criterion predicts {margin > 0}, exact {truth}")
            )
        if x["kind"] == "scale":
            regime = _scale_regime(x)
            checks.append(_check(regime, f"{tag}: scale curve pattern does not match its regime"))
    frac = n_undec / max(n_undec + n_dec, 1)
    checks.append(_check(frac <= DIRECTION_MAX_UNDECIDED, f"{frac:.0%} of the points undecided"))
    both = all(
        (k, w, v) in seen
        for k in ("offset", "scale")
        for w in ("limit", "small")
        for v in (True, False)
    )
    checks.append(_check(both, "the grid does not contain both outcomes for every criterion"))
    n_bad = sum(1 for c in checks if c.ok is False)
    key = f"{n_dec - n_bad if n_bad else n_dec}/{n_dec} exact directions predicted"
    holds = (
        f"both criteria predict the exact direction at all {n_dec} decided points ({n_undec} "
        f"within tolerance of a boundary); closed form = exact law to {form:.1e}; every scale "
        "curve changes sign at most once, as its regime says."
    )
    return decide_checks(checks, holds, key)


def _scale_regime(x: dict) -> bool:
    """A scale error's closed-form curve: no sign change and hurts below l*, one change from
    hurts to helps between l* and l0, helps throughout above l0."""
    if x["changes"] > 1:
        return False
    if x["limit_margin"] < 0:
        return x["changes"] == 0 and x["first"] > 0
    if x["small_margin"] > 0:
        return x["changes"] == 0 and x["first"] < 0
    return x["changes"] == 1 and x["first"] > 0 and x["last"] < 0


def _phase_map(sde_of_T, Ts, s0s, kind, size):
    """Closed-form criteria on a (T, s0) grid: 0 hurts, 1 mixed, 2 helps (limit + small)."""
    from verify.theory.error_direction import criteria_margins

    cols = [criteria_margins(sde_of_T(T), s0s, kind, size) for T in Ts]
    return np.array([(lim > 0).astype(float) + (sm > 0) for lim, sm in cols]).T


def present_direction(r: DirectionResult, ctx) -> Presentation:
    from matplotlib.colors import BoundaryNorm, ListedColormap

    Ts = np.linspace(0.1, 4.0, 40)
    s0s = np.geomspace(0.1, 10.0, 41)
    fig = ctx.figure(figsize=(12, 4.2))
    axes = fig.subplots(1, 2)
    # three categories, so three colours and a colour bar naming them
    cmap = ListedColormap(["#e8a3a8", "#f7f1b5", "#a9d6b1"])
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5], cmap.N)
    # the map is drawn at the error size of the exact-law markers on it
    for ax, (kind, size) in zip(axes, (("offset", 0.2), ("scale", 0.8)), strict=True):
        Z = _phase_map(OU, Ts, s0s, kind, size)
        mesh = ax.pcolormesh(Ts, s0s, Z, shading="nearest", cmap=cmap, norm=norm)
        ax.set_yscale("log")
        for x in r.rows:
            if x["kind"] != kind or not x["sde"].startswith("OU") or x["size"] != size:
                continue
            T = float(x["sde"].split("=")[1])
            limit, small = direction_truth(x)
            mk = {True: "o", False: "x", None: "."}[limit]
            ax.plot(T, x["s0"], mk, color="k", ms=5, mfc="none")
        ax.set_xlabel("horizon T (OU)")
        ax.set_ylabel("data standard deviation s0")
        ax.set_title(
            f"{kind} {'c' if kind == 'offset' else 'k'}={size:g}: closed-form criteria (rung 1)"
            "\nmarkers: exact law (rung 2), o helps / x hurts as gamma -> inf",
            fontsize=8,
        )
        bar = fig.colorbar(mesh, ax=ax, ticks=[0, 1, 2], fraction=0.05, pad=0.02)
        bar.ax.set_yticklabels(["hurts", "mixed", "helps"], fontsize=8)
        bar.set_label("stochasticity (small and large gamma)", fontsize=8)
    cols = [
        "SDE",
        "error",
        "size",
        "s0",
        "log-SNR gain l",
        "limit margin",
        "small margin",
        "KL(q_T||p_0) gamma=0",
        "gamma=1e-3",
        "gamma->inf",
        "exact: large helps",
        "exact: small helps",
    ]
    rows = [
        [
            x["sde"],
            x["kind"],
            x["size"],
            x["s0"],
            x["ell"],
            x["limit_margin"],
            x["small_margin"],
            x["K0"],
            x["Kdelta"],
            x["Kinf"],
            *direction_truth(x),
        ]
        for x in r.rows
    ]
    rows = [[("n/a" if v is None else v) for v in row] for row in rows]
    return Presentation(
        {"Gaussian data, start p_T: criteria vs the exact law (KL(q_T||p_0))": Table(cols, rows)},
        [_save(ctx, fig, "phase-diagram")],
    )


CLAIM = Claim(
    "stochasticity.error-direction",
    "For Gaussian data N(m0, s0^2) under any linear SDE, started at p_T, in continuous time "
    "with a constant score offset c or a scale error k: large stochasticity helps "
    "(lim_{gamma->inf} KL(q_T||p_0) < KL at gamma=0) iff s0 < J = 1/2 int_0^T alpha "
    "(dsbar2/dt) / sqrt(s0^2 + sbar2) dt (offset, whatever c) or l = log(1 + sbar2(T)/s0^2) "
    "> log(k)/(k-1) (scale); a little stochasticity helps (dKL/dgamma(0) < 0) iff the "
    "alpha e^{u/2}-weighted mean of u = log(1 + sbar2(t)/s0^2) exceeds 2 (offset) or l > "
    "l0(k), the root of (1 - e^{-(1-k) l})/(1-k) = k l (scale); for a scale error KL(gamma) - "
    "KL(0) changes sign at most once (hurts for all gamma iff l <= log(k)/(k-1), helps for "
    "all iff l >= l0(k)).",
    f"{SOURCE}, abstract (the trade-off 'depending on the structure of the score error'); "
    "the criteria are derived here (docs/claims/stochasticity.md#error-direction)",
    "OU (T=0.5, 2) and VE(0.01, 10) (full budget: also OU T=1, 4, VP(0.1, 20) T=0.25, 1, "
    "VE(0.01, 2), sub-VP); s0 in [0.2, 5] (13 values), offsets "
    "c in {0.2, 1}, scales k in {0.5, 0.8, 1.25, 2}: exact law (moment ODE, one solve per "
    "SDE and error kind) at gamma = 0 and 1e-3, the gamma -> inf law N(m0 + c s0^2, s0^2/k); "
    "closed-form curves on 141 gammas in [1e-3, 1e4].",
    compute=compute_direction,
    decide=decide_direction,
    present=present_direction,
    rung=2,
    tolerance=f"exact differences below rel {DIRECTION_NUM_TOL:g} count as undecided (at most "
    f"{DIRECTION_MAX_UNDECIDED:.0%}); closed form vs exact law rel {DIRECTION_FORM_TOL:g}",
    doc=f"{DOC}#error-direction",
)
