"""``stochasticity.error-structure-mixtures``: The Gaussian error-direction criterion, on a
mixture's moments, predicts its direction.

Its compute, decide and present; the mathematics: docs/claims/stochasticity.md#error-structure-
mixtures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU
from verify.claims.base import Claim, Decision, Presentation, Table, decide_checks
from verify.claims.stochasticity._common import (
    DOC,
    MIX_SWEEP,
    MIX_SWEEP_GAMMAS,
    MIXTURES,
    SOURCE,
    _check,
    _mix_sweep,
    _ode_output_kl,
    _save,
    mixture,
    score_error_of,
)
from verify.runtime.sweep import task_seed
from verify.theory.kl_dynamics import (
    mixture_score,
)

MIX_ERRORS = (("offset", 0.5), ("scale", 0.8), ("scale", 1.25))

MIX_HORIZONS = (0.5, 1.0, 2.0)


@dataclass
class MixtureDirectionResult:
    """``rows``: one dict per (mixture, T, error) with the mixture's s0, the ODE output's KL
    ``K0`` (characteristics), the gamma -> infinity KL ``Kinf`` (equilibrium), the Gaussian
    criterion's margin, and for the Gaussian the closed form; ``sweep``: FP rows
    ``[mixture, error, size, gamma, KL(q_T||p_0), grid error]`` at T = 2."""

    rows: list
    sweep: list
    seeds: list = field(default_factory=list)


def _mix_flow_task(task):
    from verify.theory.error_direction import criteria, equilibrium_kl, final_kl

    mix, T = mixture(task["mixture"]), task["T"]
    sde = OU(T)
    errs = [score_error_of(k, z, mixture_score(sde, mix)) for k, z in MIX_ERRORS]
    K0, mass = _ode_output_kl(sde, mix, errs)
    s0 = float(np.sqrt(mix.cov[0, 0]))
    rows = []
    for (kind, size), k0, ms in zip(MIX_ERRORS, K0, mass, strict=True):
        gauss = final_kl(sde, s0, kind, size, 0.0) if mix.n_components == 1 else float("nan")
        rows.append(
            {
                "mixture": task["mixture"],
                "T": T,
                "kind": kind,
                "size": size,
                "s0": s0,
                "K0": float(k0),
                "mass_err": float(abs(ms - 1.0)),
                "Kinf": equilibrium_kl(mix, kind, size),
                "margin": criteria(sde, s0, kind, size)["limit_margin"],
                "gauss_K0": gauss,
            }
        )
    return rows


def compute_mixture_direction(ctx) -> MixtureDirectionResult:
    tasks = [
        {"mixture": m, "T": T, "seed": task_seed(ctx.seed, "mixdir", m, T)}
        for m in MIXTURES
        for T in MIX_HORIZONS
    ]
    rows = [r for part in ctx.map(_mix_flow_task, tasks, desc="characteristics") for r in part]
    return MixtureDirectionResult(rows, [list(x) for x in _mix_sweep(ctx.seed)], [ctx.seed])


def mixture_truth(row: dict):
    """``True`` if large stochasticity helps (``Kinf < K0``), ``False`` if it hurts, ``None``
    within the characteristics' accuracy (``max(1e-6, 10 |mass - 1|)`` nats; checked on the
    Gaussian) or when the Gaussian criterion sits on its boundary (``|margin| < 1e-6``)."""
    d = row["Kinf"] - row["K0"]
    tol = max(1e-6, 10.0 * row["mass_err"])
    return None if abs(d) <= tol or abs(row["margin"]) < 1e-6 else bool(d < 0)


def decide_mixture_direction(r: MixtureDirectionResult) -> Decision:
    gauss = [x for x in r.rows if np.isfinite(x["gauss_K0"])]
    acc = max(abs(x["K0"] - x["gauss_K0"]) for x in gauss)
    checks = [_check(acc <= 1e-6, f"characteristics off the closed form by {acc:.1e}")]
    wrong, n = [], 0
    for x in r.rows:
        truth = mixture_truth(x)
        if truth is None:
            continue
        n += 1
        if truth != (x["margin"] > 0):
            wrong.append(x)
    for x in wrong:
        checks.append(
            _check(
                False,
                f"{x['mixture']} T={x['T']:g} {x['kind']} {x['size']:g}: "
                f"Gaussian criterion says {'helps' if x['margin'] > 0 else 'hurts'}"
                f", exact KL {x['K0']:.4f} (ODE) vs {x['Kinf']:.4f} (gamma->inf)",
            )
        )
    key = f"Gaussian criterion right in {n - len(wrong)}/{n} cases"
    holds = f"the Gaussian criterion on the mixture's moments predicts all {n} directions"
    d = decide_checks(checks, holds, key)
    if wrong:
        return Decision(d.verdict, f"{key}; " + d.reason, key)
    return d


def _mixture_direction_figure(r: MixtureDirectionResult, ctx) -> str:
    fig = ctx.figure(figsize=(11, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for x in r.rows:
        truth = mixture_truth(x)
        colour = {True: "C2", False: "C3", None: "0.5"}[truth]
        mk = {"offset": "o", "scale": "s"}[x["kind"]]
        ax1.plot(
            x["margin"],
            x["Kinf"] - x["K0"],
            mk,
            color=colour,
            mfc="none" if x["size"] > 1 else colour,
            ms=5,
        )
    ax1.axhline(0, color="k", lw=0.7)
    ax1.axvline(0, color="k", lw=0.7)
    ax1.set_xlabel("Gaussian criterion margin (> 0: predicts helps)")
    ax1.set_ylabel("KL(gamma->inf) - KL(gamma=0) (< 0: helps)")
    ax1.set_title(
        "mixtures, OU T in {0.5, 1, 2} (characteristics, rung 3)\n"
        "o offset, s scale; correct predictions lie in the upper-left/lower-right",
        fontsize=8,
    )
    for (m, k, z), c in zip(MIX_SWEEP, ("C0", "C1", "C2"), strict=True):
        sel = [x for x in r.sweep if x[0] == m and x[1] == k and x[2] == z]
        ax2.errorbar(
            [x[3] for x in sel],
            [x[4] for x in sel],
            yerr=[x[5] for x in sel],
            fmt="o-",
            color=c,
            ms=4,
            capsize=2,
            label=f"{m}, {k} {z:g}",
        )
        row = next(
            x
            for x in r.rows
            if x["mixture"] == m and x["T"] == 2.0 and x["kind"] == k and x["size"] == z
        )
        ax2.axhline(row["Kinf"], color=c, ls=":", lw=1)
        ax2.plot([MIX_SWEEP_GAMMAS[0] / 2], [row["K0"]], "*", color=c, ms=8)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("stochasticity gamma (star: gamma = 0, characteristics)")
    ax2.set_ylabel("KL(q_T || p_0) (nats)")
    ax2.set_title("OU T=2, start p_T: FP grid (rung 3), dotted: gamma -> inf limit", fontsize=8)
    ax2.legend(fontsize=6)
    return _save(ctx, fig, "mixture-direction")


def present_mixture_direction(r: MixtureDirectionResult, ctx) -> Presentation:
    cols = [
        "mixture",
        "T",
        "error",
        "size",
        "s0 (mixture sd)",
        "KL gamma=0 (characteristics)",
        "KL gamma->inf",
        "Gaussian margin",
        "Gaussian predicts helps",
        "exact: helps",
    ]
    rows = [
        [
            x["mixture"],
            x["T"],
            x["kind"],
            x["size"],
            x["s0"],
            x["K0"],
            x["Kinf"],
            x["margin"],
            x["margin"] > 0,
            mixture_truth(x),
        ]
        for x in r.rows
    ]
    rows = [[("n/a" if v is None else v) for v in row] for row in rows]
    scols = ["mixture", "error", "size", "gamma", "KL(q_T||p_0) (FP)", "grid error"]
    return Presentation(
        {
            "Gaussian criterion vs the exact direction on mixtures": Table(cols, rows),
            "FP gamma sweep, OU T=2": Table(scols, r.sweep),
        },
        [_mixture_direction_figure(r, ctx)],
    )


CLAIM = Claim(
    "stochasticity.error-structure-mixtures",
    "The Gaussian criterion of stochasticity.error-direction, applied to the mean and "
    "variance of a Gaussian-mixture data law, predicts whether large stochasticity helps "
    "(KL(q_T||p_0) at gamma -> inf below the ODE's) for an offset or a scale score error.",
    f"{SOURCE}, abstract ('simple datasets'); the extension of the Gaussian criterion to "
    "mixtures is this toolkit's reconstruction (reconstructed)",
    "OU T in {0.5, 1, 2}, start p_T, six 1-D mixtures (one a single Gaussian), offset 0.5, "
    "scale 0.8 and 1.25: the ODE output's exact log-density along backward characteristics "
    "(RK4, quadrature in the output variable), the gamma -> inf limit KL(p~_0||p_0) by "
    "quadrature; FP sweep "
    "over gamma in {0.5, ..., 64} at T=2 for the named mixtures.",
    compute=compute_mixture_direction,
    decide=decide_mixture_direction,
    present=present_mixture_direction,
    rung=3,
    tolerance="directions with |KL_inf - KL_0| <= max(1e-6, 10 |mass - 1|) nats are not "
    "counted; characteristics checked against the Gaussian closed form to 1e-6",
    doc=f"{DOC}#error-structure-mixtures",
    finding="On mixtures the direction is not a function of the first two moments: the "
    "Gaussian criterion mispredicts many cases (both ways, mostly scale errors on multimodal "
    "data at short horizons, where the ODE's KL is large while p_0^k stays close to p_0); "
    "bimodality is not the cause (the single Gaussian N(1.5, .25) is corrected too). What "
    "decides it is KL(p~_0||p_0), p~_0 the equilibrium of the approximate score at t = 0 "
    "(p_0 e^{cx}, p_0^k), against the ODE's KL: stochasticity.large-gamma-limit.",
)
