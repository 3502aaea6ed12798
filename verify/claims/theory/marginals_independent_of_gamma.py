"""``theory.marginals-independent-of-gamma``: With the exact score and start, the reverse family's
marginals do not depend on gamma.

Its compute, decide and present; the mathematics: docs/claims/theory.md#marginals-independent-
of-gamma.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU, GaussianMixture
from verify.claims.base import Claim, Decision, Presentation, Table
from verify.claims.theory._common import (
    DOC,
    _data_2d,
    _sdes,
)

MARGINALS_TOL = 1e-15  # max KL of the moment ODE's law (DOP853, rtol 1e-11: KL ~ 1e-20)

MARGINALS_GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0, "schedule")

MARGINALS_CHAIN_GAMMAS = (0.5, 2.0, 5.0)

MARGINALS_CHAIN_STEPS = (100, 200, 400)

MARGINALS_SLOPE_TOL = 0.25  # |log-log slope of the chain's KL in N - (-2)|


def _gamma_value(g, sde):
    """A constant gamma, or for ``"schedule"`` the ramp ``gamma(t) = 0.5 + 4 t / T``."""
    if g == "schedule":
        T = float(sde.T)
        return lambda t: 0.5 + 4.0 * t / T
    return float(g)


@dataclass
class MarginalsResult:
    """Gaussian rows ``[sde, gamma, max KL, solver]`` (the moment ODE through
    ``ReverseFamily``); chain rows ``[sde, method, gamma, KLs at MARGINALS_CHAIN_STEPS,
    slope]``; FP rows ``[gamma, max |KL|, grid err]``; FP curves ``gamma -> (tau, KL, err)``."""

    gauss: list
    fp: list
    curves: dict = field(default_factory=dict)
    chains: list = field(default_factory=list)


def _marginal_task(task):
    from verify.solvers.chain_laws import exact_law

    sde = _sdes()[task["sde"]]
    data = _data_2d()
    t_min = 1e-3 * sde.T
    init = sde.marginal(data, sde.T)
    nodes = np.linspace(sde.T, t_min, 41)
    _, traj = exact_law(
        sde,
        data,
        init,
        nodes,
        gamma=_gamma_value(task["gamma"], sde),
        method=None,
        trajectory=True,
        solver="ode",
    )
    return [task["sde"], task["gamma"], float(np.max(np.abs(traj.kl))), traj.law(-1).solver]


def _marginal_chain_task(task):
    from analytic import kl
    from verify.solvers.chain_laws import exact_law
    from verify.solvers.grids import uniform

    sde = _sdes()[task["sde"]]
    data = _data_2d()
    t_min = 1e-3 * sde.T
    init, target = sde.marginal(data, sde.T), sde.marginal(data, t_min)
    kls = []
    for n in MARGINALS_CHAIN_STEPS:
        law = exact_law(
            sde, data, init, uniform(sde, n, t_min=t_min), task["gamma"], task["method"]
        )
        kls.append(float(kl(law, target)))
    slope = float(
        np.log(kls[-1] / kls[-2]) / np.log(MARGINALS_CHAIN_STEPS[-1] / MARGINALS_CHAIN_STEPS[-2])
    )
    return [task["sde"], task["method"], task["gamma"], kls, slope]


def _fp_mixture_check(gamma: float, n_cells: int):
    from verify.solvers.fokker_planck import solve_reverse_fp

    sde = OU(T=1.0)
    p0 = GaussianMixture([0.4, 0.6], [[-1.5], [1.0]], [0.3, 0.5])
    grid_t = np.linspace(1.0, 0.05, 96)
    pT = sde.marginal(p0, 1.0)
    res = solve_reverse_fp(
        sde,
        sde.score(p0),
        lambda x: pT.log_prob(x),
        grid_t,
        gamma,
        bounds=((-7.0, 7.0),),
        n_cells=n_cells,
        log=True,
        estimate_error=True,
    )
    kls, err = res.kl_trajectory(lambda x, t: sde.marginal(p0, t).log_prob(x), return_error=True)
    return res.taus, np.asarray(kls), np.asarray(err)


def compute_marginals(ctx) -> MarginalsResult:
    tasks = [{"sde": s, "gamma": g} for s in _sdes() for g in MARGINALS_GAMMAS]
    gauss = ctx.map(_marginal_task, tasks, desc="gamma x SDE")
    chain_tasks = [
        {"sde": s, "method": m, "gamma": g}
        for s in _sdes()
        for m in ("exponential", "euler")
        for g in MARGINALS_CHAIN_GAMMAS
    ]
    chains = ctx.map(_marginal_chain_task, chain_tasks, desc="chains")
    out = MarginalsResult(gauss, [], chains=chains)
    for g in ctx.progress([0.0, 1.0] if ctx.quick else [0.0, 0.5, 1.0, 2.0], desc="FP grid"):
        taus, kls, err = _fp_mixture_check(g, 600 if g > 0 else 1600)
        out.curves[g] = (taus, kls, err)
        out.fp.append([g, float(np.max(np.abs(kls))), float(np.max(np.abs(err)))])
    return out


def decide_marginals(r: MarginalsResult) -> Decision:
    worst = max(row[2] for row in r.gauss)
    fp_kl, fp_err = max(row[1] for row in r.fp), max(row[2] for row in r.fp)
    fp_ok = all(row[1] <= 3 * row[2] + 1e-6 for row in r.fp)
    bad_chain = [
        f"{row[0]} {row[1]}(gamma={row[2]:g}) slope {row[4]:.2f}"
        for row in r.chains
        if not abs(row[4] + 2.0) <= MARGINALS_SLOPE_TOL
    ]
    slopes = [row[4] for row in r.chains]
    chain_txt = (
        f"discrete chains (exponential, Euler; gamma in {list(MARGINALS_CHAIN_GAMMAS)}): KL to "
        f"p_tmin has log-log slopes {min(slopes):.2f}..{max(slopes):.2f} in N (rule -2 +- "
        f"{MARGINALS_SLOPE_TOL:g})"
        if r.chains
        else "no discrete chains"
    )
    ok = worst <= MARGINALS_TOL and fp_ok and not bad_chain
    gam = ", ".join(str(g) for g in MARGINALS_GAMMAS)
    return Decision(
        "holds" if ok else "fails",
        f"Gaussian (VP, VE, OU; gamma in {{{gam}}}), moment ODE of the reverse family: max "
        f"KL(q_tau||p_(T-tau)) = {worst:.1e} (tolerance {MARGINALS_TOL:g}); {chain_txt}"
        + (f"; off: {', '.join(bad_chain)}" if bad_chain else "")
        + f"; 1-D GMM on the FP grid: max KL {fp_kl:.1e} within 3x its grid-error estimate "
        f"{fp_err:.1e}: {fp_ok}.",
        f"max KL = {worst:.1e}",
    )


def present_marginals(r: MarginalsResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(8.0, 3.6))
    ax = fig.add_subplot(1, 2, 1)
    xs = np.arange(len(MARGINALS_GAMMAS))
    for s in _sdes():
        vals = [max(row[2], 1e-30) for row in r.gauss if row[0] == s]
        ax.semilogy(xs, vals, "o-", label=s, alpha=0.7)
    ax.set_xticks(xs, [str(g) for g in MARGINALS_GAMMAS], fontsize=7)
    ax.axhline(MARGINALS_TOL, color="k", ls="--", lw=0.8, label="tolerance")
    ax.set_xlabel("stochasticity gamma")
    ax.set_ylabel("max_tau KL(q_tau || p_{T-tau}) (nats)")
    ax.set_title("Gaussian, moment ODE of the reverse family", fontsize=9)
    ax.legend(fontsize=7)
    ax2 = fig.add_subplot(1, 2, 2)
    for g, (taus, kls, err) in r.curves.items():
        ax2.plot(taus, kls, label=f"gamma={g:g}")
        ax2.fill_between(taus, -np.abs(err), np.abs(err), alpha=0.2)
    ax2.set_xlabel("reverse time tau")
    ax2.set_ylabel("KL(q_tau || p_{T-tau}) (nats)")
    ax2.set_title("1-D GMM, FP grid (band: grid error)", fontsize=9)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    chain_cols = ["SDE", "method", "gamma"]
    chain_cols += [f"KL(chain || p_tmin), N={n}" for n in MARGINALS_CHAIN_STEPS] + ["slope"]
    chain_rows = [[*row[:3], *row[3], row[4]] for row in r.chains]
    return Presentation(
        {
            "Gaussian data, 2-D full covariance: max over 41 nodes of KL(q_tau||p_{T-tau}), "
            "moment ODE": Table(["SDE", "gamma", "max KL (nats)", "solver"], r.gauss),
            "Discrete chains from p_T, exact score: KL(chain || p_tmin) against N": Table(
                chain_cols, chain_rows
            ),
            "1-D GMM, Fokker-Planck grid": Table(
                ["gamma", "max |KL| (nats)", "grid-error estimate"], r.fp
            ),
        },
        [ctx.savefig(fig, "marginals")],
    )


CLAIM = Claim(
    "theory.marginals-independent-of-gamma",
    "With the exact score and the exact start p_T, the marginal of the reverse family at "
    "every tau is p_{T-tau}, whatever the stochasticity gamma.",
    "standard (Anderson 1982; Song et al. 2021 §4.3; arXiv 2506.11378 Lemma 2.1)",
    "2-D Gaussian data with full covariance under VP(0.1, 20), VE(0.01, 10), OU (T=2): "
    "the moment ODE of the reverse family (drift from ReverseFamily) for gamma in {0, 0.5, "
    "1, 2, 5} and gamma(t) = 0.5 + 4t/T; the exponential and Euler chains for gamma in "
    "{0.5, 2, 5}, N = 100..400; 1-D two-component GMM under OU on the Fokker-Planck grid.",
    compute=compute_marginals,
    decide=decide_marginals,
    present=present_marginals,
    rung=2,
    tolerance=f"abs {MARGINALS_TOL:g} (moment ODE); chain KL slope -2 +- "
    f"{MARGINALS_SLOPE_TOL:g}; 3 x grid-error estimate (FP)",
    doc=f"{DOC}#marginals-independent-of-gamma",
)
