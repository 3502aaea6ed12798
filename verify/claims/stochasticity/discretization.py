"""``stochasticity.discretization``: Error correction by stochasticity survives discretization,
with a finite best gamma.

Its compute, decide and present; the mathematics: docs/claims/stochasticity.md#discretization.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU, Gaussian, kl
from verify.claims.base import Claim, Decision, Presentation, Table, decide_checks
from verify.claims.stochasticity._common import (
    DOC,
    SOURCE,
    _check,
    _save,
)
from verify.runtime.sweep import task_seed
from verify.solvers import grids
from verify.solvers.chain_laws import continuous_kl_closed_form, exact_law

DISC_SEARCH_T = (1.0, 2.0, 3.0, 4.0)

DISC_SEARCH_VARS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0)

DISC_SEARCH_STEPS = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 100, 200, 400, 800)

DISC_SEARCH_GAMMAS = (1e-4, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 8.0)  # 1e-4: the slope at 0


@dataclass
class DiscretizationResult:
    """``kls[(method, N)]`` over ``gammas`` (exact chain laws) and the continuous-time KL for
    N(1, 4), OU T = 2; ``search`` rows ``[method, T, data variance, [wins at each of
    search_steps]]`` (win: some gamma in DISC_SEARCH_GAMMAS beats gamma = 0)."""

    methods: list
    steps: list
    gammas: list
    rows: list  # [method, N, [KL over gammas]]
    continuous: list
    seeds: list = field(default_factory=list)
    search: list = field(default_factory=list)
    search_steps: list = field(default_factory=list)


def _discretization_task(task):
    sde = OU(2.0)
    data = Gaussian(np.array([1.0]), 4.0)
    init = sde.prior(1)
    grid = grids.uniform(sde, task["n_steps"])
    out = []
    for g in task["gammas"]:
        law = exact_law(sde, data, init, grid, gamma=g, method=task["method"])
        out.append(kl(law, data))
    return [task["method"], task["n_steps"], out]


def _win_task(task):
    """``[method, T, var, wins]``: does some gamma > 0 beat the ODE at each N (exact laws)?"""
    sde = OU(task["T"])
    data = Gaussian(np.array([1.0]), task["var"])
    wins = []
    for n in task["steps"]:
        grid = grids.uniform(sde, n)

        def out_kl(g, grid=grid):
            return kl(
                exact_law(sde, data, sde.prior(1), grid, gamma=g, method=task["method"]), data
            )

        k0 = out_kl(0.0)
        wins.append(bool(min(out_kl(g) for g in DISC_SEARCH_GAMMAS) < k0))
    return [task["method"], task["T"], task["var"], wins]


def compute_discretization(ctx) -> DiscretizationResult:
    quick = ctx.quick
    gammas = (
        list(np.round(np.linspace(0.0, 6.0, 25), 6))
        if quick
        else list(np.round(np.linspace(0.0, 8.0, 81), 6))
    )
    steps = [5, 10, 20, 50, 100, 200] if quick else [3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 200, 500]
    methods = ["euler", "exponential"]
    tasks = [
        {"method": m, "n_steps": n, "gammas": gammas, "seed": task_seed(ctx.seed, "c4", m, n)}
        for m in methods
        for n in steps
    ]
    res = ctx.map(_discretization_task, tasks, desc="exact chain laws")
    sde = OU(2.0)
    data = Gaussian(np.array([1.0]), 4.0)
    cont = [float(continuous_kl_closed_form(sde, data, sde.prior(1), [0.0], g)[0]) for g in gammas]
    s_steps = [n for n in DISC_SEARCH_STEPS if n <= 400] if quick else list(DISC_SEARCH_STEPS)
    search_tasks = [
        {"method": m, "T": T, "var": v, "steps": s_steps}
        for m in ("exponential", "euler")
        for T in (DISC_SEARCH_T[:3] if quick else DISC_SEARCH_T)
        for v in DISC_SEARCH_VARS
    ]
    search = ctx.map(_win_task, search_tasks, desc="win search over (T, variance, N)")
    return DiscretizationResult(methods, steps, gammas, res, cont, [ctx.seed], search, s_steps)


def _gamma_star(r: DiscretizationResult) -> dict:
    return {(m, n): r.gammas[int(np.argmin(kls))] for m, n, kls in r.rows}


def _is_upset(wins) -> bool:
    """True if no win is followed by a loss (the winning N form ``{N >= N_0}``)."""
    return not any(a and not b for a, b in zip(wins, wins[1:], strict=False))


def _n0(wins, steps):
    """The first N of the search at which gamma > 0 wins (``None``: none)."""
    return next((n for n, w in zip(steps, wins, strict=True) if w), None)


def _search_checks(r: DiscretizationResult) -> tuple[list, str]:
    exp = {(row[1], row[2]): row[3] for row in r.search if row[0] == "exponential"}
    eul = {(row[1], row[2]): row[3] for row in r.search if row[0] == "euler"}
    if not exp:
        return [], "no search"
    big = 10**9
    n0 = {k: (_n0(w, r.search_steps) or big) for k, w in exp.items()}
    Ts = sorted({k[0] for k in exp})
    vs = sorted({k[1] for k in exp})
    upset = all(_is_upset(w) for w in exp.values())
    finite = all(v < big for v in n0.values())
    mono_T = all(n0[(Ts[i], v)] <= n0[(Ts[i + 1], v)] for v in vs for i in range(len(Ts) - 1))
    mono_v = all(n0[(T, vs[i])] >= n0[(T, vs[i + 1])] for T in Ts for i in range(len(vs) - 1))
    not_up = [k for k, w in eul.items() if not _is_upset(w)]
    checks = [
        _check(upset, "exponential: the N where some gamma > 0 wins form {N >= N_0}"),
        _check(finite, f"exponential: N_0 <= {r.search_steps[-1]} in every setting"),
        _check(mono_T, "exponential: N_0 non-decreasing in T"),
        _check(mono_v, "exponential: N_0 non-increasing in the data variance"),
        _check(bool(not_up), "Euler: some setting's winning N are not of the form {N >= N_0}"),
    ]

    def fmt(k):
        return "all" if n0[k] == r.search_steps[0] else str(n0[k])

    table = "; ".join(
        f"T={T:g}: " + ", ".join(f"s0^2={v:g}->{fmt((T, v))}" for v in vs if n0[(T, v)] > 2)
        for T in Ts
    )
    eul_txt = ", ".join(f"(T={T:g}, s0^2={v:g})" for T, v in not_up) or "none"
    txt = (
        f"exponential integrator, N_0 (first N of the search where some gamma > 0 wins; every "
        f"N from 2 where not listed): {table}; Euler's winning N not an up-set at {eul_txt}"
    )
    return checks, txt


def decide_discretization(r: DiscretizationResult) -> Decision:
    cont_dec = bool(np.all(np.diff(np.array(r.continuous)) < 0))
    gstar = _gamma_star(r)
    checks = [_check(cont_dec, "continuous-time KL not strictly decreasing in gamma")]
    for m, n, kls in r.rows:
        checks.append(
            _check(int(np.argmin(kls)) != 0, f"{m} N={n}: no gamma > 0 beats the ODE (N(1, 4))")
        )
    for m in r.methods:
        seq = [gstar[(m, n)] for n in r.steps]
        mono = not any(b < a for a, b in zip(seq, seq[1:], strict=False))
        checks.append(_check(mono, f"{m}: gamma*(N) not non-decreasing in N: {seq}"))
    interior = any(v < r.gammas[-1] for v in gstar.values())
    checks.append(_check(interior, "no finite gamma* inside the grid"))
    search_checks, search_txt = _search_checks(r)
    checks += search_checks
    summary = ", ".join(
        f"{m}: " + "/".join(f"{gstar[(m, n)]:g}" for n in r.steps) for m in r.methods
    )
    reason = (
        f"continuous-time KL strictly decreasing in gamma: {cont_dec}; N(1, 4), T = 2: "
        f"gamma*(N) for N={'/'.join(map(str, r.steps))}: {summary}; {search_txt}"
    )
    key = "N_0(exponential; N(1,0.25), T=2) = " + str(
        next(
            (
                _n0(row[3], r.search_steps)
                for row in r.search
                if row[:3] == ["exponential", 2.0, 0.25]
            ),
            "n/a",
        )
    )
    d = decide_checks(checks, reason, key)
    return d if d.verdict == "holds" else Decision(d.verdict, f"{reason}; {d.reason}", key)


def present_discretization(r: DiscretizationResult, ctx) -> Presentation:
    gstar = _gamma_star(r)
    rows = []
    for m, n, kls in r.rows:
        i = int(np.argmin(kls))
        rows.append([m, n, kls[0], r.gammas[i], kls[i], kls[-1], r.continuous[i]])
    fig = ctx.figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    for ax, m in zip(axes, r.methods, strict=False):
        Z = np.array(
            [np.log10(next(x[2] for x in r.rows if x[0] == m and x[1] == n)) for n in r.steps]
        )
        ys = np.arange(len(r.steps))
        im = ax.pcolormesh(np.array(r.gammas), ys, Z, shading="nearest", cmap="viridis")
        ax.plot([gstar[(m, n)] for n in r.steps], ys, "r*-", ms=7, label="argmin gamma*(N)")
        ax.set_yticks(ys, [str(n) for n in r.steps])
        ax.set_xlabel("stochasticity gamma")
        ax.set_ylabel("number of steps N (uniform grid)")
        ax.set_title(f"{m}: log10 KL(output || p_0) (exact chain law, rung 2)", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        fig.colorbar(im, ax=ax, label="log10 KL (nats)")
    columns = [
        "method",
        "N",
        "KL at gamma=0",
        "gamma*",
        "KL at gamma*",
        f"KL at gamma={r.gammas[-1]:g}",
        "continuous-time KL at gamma*",
    ]
    search_cols = ["method", "T", "data variance s0^2"] + [f"N={n}" for n in r.search_steps]
    search_rows = [[m, T, v] + ["win" if w else "ODE" for w in wins] for m, T, v, wins in r.search]
    return Presentation(
        {
            "KL(output||p_0) over (method, N)": Table(columns, rows),
            "search: does some gamma > 0 beat gamma = 0? (N(1, s0^2), OU T, start N(0, 1))": Table(
                search_cols, search_rows
            ),
        },
        [_save(ctx, fig, "heatmap")],
    )


CLAIM = Claim(
    "stochasticity.discretization",
    "Error correction survives discretization only on fine enough grids: with the exact "
    "score and a prior (N(0, 1)) start, for the exponential integrator some gamma > 0 beats "
    "gamma = 0 exactly at the step counts N >= N_0(T, s0^2), with N_0 finite, "
    "non-decreasing in the horizon T and non-increasing in the data variance s0^2 (N_0 = 2 "
    "for s0^2 >= 1 up to T = 3; N(1, 0.25), T = 2: N_0 = 15); for Euler-Maruyama, whose "
    "ODE is itself biased, the winning N need not be of that form. For N(1, 4), T = 2 some "
    "gamma > 0 wins at every N and the best gamma*(N) is finite and non-decreasing in N.",
    f"{SOURCE}, abstract (error correction); discretized samplers are this toolkit's "
    "question, not a statement of the paper (reconstructed)",
    "OU, 1-D data N(1, s0^2), start N(0, 1), uniform grids, Euler-Maruyama and exponential "
    "integrator, exact chain laws; search over T in {1, 2, 3, 4} (quick: 1-3), s0^2 in "
    "{0.05, ..., 10} (8 values), N in {2, ..., 800} (16 values; quick: to 400), gamma in "
    "{1e-4, 0.01, ..., 8}; gamma*(N) for N(1, 4), T = 2 on a 25-value gamma grid.",
    compute=compute_discretization,
    decide=decide_discretization,
    present=present_discretization,
    rung=2,
    tolerance="exact chain laws (no tolerance needed; win = min over the gamma grid below "
    "the ODE's KL)",
    doc=f"{DOC}#discretization",
)
