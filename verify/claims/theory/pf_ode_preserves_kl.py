"""``theory.pf-ode-preserves-kl``: The probability-flow ODE preserves the KL to the true marginal;
any gamma > 0 lowers it.

Its compute, decide and present; the mathematics: docs/claims/theory.md#pf-ode-preserves-kl.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import VP, Gaussian
from verify.claims.base import Claim, Decision, Presentation, Table
from verify.claims.theory._common import (
    DOC,
    _data_2d,
)

PF_ODE_TOL = 1e-9

PF_ODE_GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)

PF_ODE_FORM_TOL = 1e-8  # moment ODE vs the closed form (G): |dKL| <= tol KL + 1e-14

PF_ODE_HEUN_STEPS = (50, 100, 200)

PF_ODE_FLOOR = 1e-12  # KL below which the moment ODE's decrease is not resolved

PF_ODE_HEUN_SLOPE_TOL = 0.3


@dataclass
class PfOdeResult:
    """Rows ``[gamma, KL at tau=0, KL at end, max rel. change, strictly decreasing, max
    |ODE - closed form| / (1e-8 KL_closed + 1e-14)]`` (moment ODE through
    ``ReverseFamily``); ``heun``: ``[N, max rel. change of KL along the Heun chain]``."""

    rows: list
    curves: dict
    heun: list = field(default_factory=list)


def compute_pf_ode(ctx) -> PfOdeResult:
    from verify.solvers.chain_laws import exact_law
    from verify.solvers.grids import uniform

    sde = VP(0.1, 20.0)
    data = _data_2d()
    init = Gaussian([0.3, 0.2], [[1.4, -0.2], [-0.2, 0.8]])  # a wrong start law
    nodes = np.linspace(1.0, 1e-3, 201)
    curves, rows = {}, []
    for g in PF_ODE_GAMMAS:
        _, traj = exact_law(
            sde, data, init, nodes, gamma=g, method=None, trajectory=True, solver="ode"
        )
        _, form = exact_law(
            sde, data, init, nodes, gamma=g, method=None, trajectory=True, solver="closed form"
        )
        k, kc = np.asarray(traj.kl), np.asarray(form.kl)
        curves[g] = (np.asarray(traj.tau), k)
        # strictly decreasing wherever KL is above the moment ODE's floor (rtol 1e-11)
        live = k[:-1] > PF_ODE_FLOOR
        decreasing = bool(np.all(np.diff(k)[live] < 0)) if g > 0 else None
        gap = float(np.max(np.abs(k - kc) / (PF_ODE_FORM_TOL * kc + 1e-14)))
        rows.append(
            [g, float(k[0]), float(k[-1]), float(np.max(np.abs(k - k[0])) / k[0]), decreasing, gap]
        )
    heun = []
    for n in PF_ODE_HEUN_STEPS:
        _, tr = exact_law(
            sde, data, init, uniform(sde, n, t_min=1e-3), 0.0, "heun", trajectory=True
        )
        k = np.asarray(tr.kl)
        heun.append([n, float(np.max(np.abs(k - k[0])) / k[0])])
    return PfOdeResult(rows, curves, heun)


def _heun_slope(heun) -> float:
    (n1, d1), (n2, d2) = heun[-2], heun[-1]
    return float(np.log(d2 / d1) / np.log(n2 / n1))


def decide_pf_ode(r: PfOdeResult) -> Decision:
    drift = r.rows[0][3]
    decreasing = all(row[4] for row in r.rows[1:])
    form_gap = max(row[5] for row in r.rows)
    form_ok = form_gap <= 1.0
    heun_ok, heun_txt = True, ""
    if r.heun:
        slope = _heun_slope(r.heun)
        heun_ok = abs(slope + 2.0) <= PF_ODE_HEUN_SLOPE_TOL
        heun_txt = (
            f"; Heun chain: KL drift {r.heun[-1][1]:.1e} at N = {r.heun[-1][0]}, falling like "
            f"N^{slope:.2f} (rule -2 +- {PF_ODE_HEUN_SLOPE_TOL:g}): {heun_ok}"
        )
    ok = drift <= PF_ODE_TOL and decreasing and form_ok and heun_ok
    return Decision(
        "holds" if ok else "fails",
        f"moment ODE of the reverse family: gamma = 0: relative drift of KL along tau = "
        f"{drift:.1e} (tolerance {PF_ODE_TOL:g}); gamma > 0: strictly decreasing = "
        f"{decreasing}; KL agrees with the closed form (G) at every node and gamma within "
        f"{form_gap:.2f} x (rel {PF_ODE_FORM_TOL:g} + abs 1e-14): {form_ok}{heun_txt}.",
        f"ODE drift = {drift:.1e}",
    )


def present_pf_ode(r: PfOdeResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(5.2, 3.4))
    ax = fig.add_subplot()
    for g, (tau, k) in r.curves.items():
        ax.plot(tau, k, label=f"gamma = {g:g}")
    ax.set_xlabel("reverse time tau")
    ax.set_ylabel("KL(q_tau || p_{T-tau}) (nats)")
    ax.set_title("VP, 2-D Gaussian data, wrong start law, exact score", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    columns = [
        "gamma",
        "KL at tau=0",
        "KL at end",
        "max rel. change",
        "strictly decreasing",
        "max |ODE - (G)| / (1e-8 KL + 1e-14)",
    ]
    return Presentation(
        {
            "KL(q_tau || p_{T-tau}) along the moment ODE of the reverse family": Table(
                columns, r.rows
            ),
            "Heun chain (gamma = 0): max relative change of KL along the chain": Table(
                ["N", "max rel. change"], r.heun
            ),
        },
        [ctx.savefig(fig, "pf-ode-kl")],
    )


CLAIM = Claim(
    "theory.pf-ode-preserves-kl",
    "The probability-flow ODE (gamma = 0) preserves KL(q_tau || p_{T-tau}) exactly for "
    "Gaussian data; any gamma > 0 makes it strictly decrease.",
    "standard (the exact-score KL identity, docs/claims/theory.md; arXiv 2506.11378 §2)",
    "VP(0.1, 20), 2-D Gaussian data, start N([0.3, 0.2], [[1.4, -0.2], [-0.2, 0.8]]), "
    "exact score, the moment ODE of the reverse family (drift from ReverseFamily) to t_min "
    "= 1e-3 for gamma in {0, 0.5, 1, 2, 5}; the Heun chain at N = 50, 100, 200.",
    compute=compute_pf_ode,
    decide=decide_pf_ode,
    present=present_pf_ode,
    rung=2,
    tolerance=f"rel {PF_ODE_TOL:g} (gamma = 0); rel {PF_ODE_FORM_TOL:g} against (G); Heun "
    f"drift slope -2 +- {PF_ODE_HEUN_SLOPE_TOL:g}",
    doc=f"{DOC}#pf-ode-preserves-kl",
)
