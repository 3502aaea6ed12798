"""``stochasticity.simple-datasets``: On a 2-D mixture, particles match the Fokker-Planck density
and KL falls for gamma > 0.

Its compute, decide and present; the mathematics: docs/claims/stochasticity.md#simple-datasets.
"""

from __future__ import annotations

import numpy as np

from verify.claims.base import Claim, Decision, Presentation, Table
from verify.claims.stochasticity._common import (
    DECAY_FP_STEPS,
    DOC,
    SOURCE,
    SimpleDatasetsResult,
    _save,
    _simple_misses,
    gmm_setting,
    prior_fp_solve,
)
from verify.runtime.sweep import task_seed
from verify.theory.kl_dynamics import (
    ParticlesVsFP,
    particles_vs_fp,
)


def _simple_task(task) -> ParticlesVsFP:
    sde, data, _, _ = gmm_setting("gmm-2d")
    return particles_vs_fp(
        sde,
        data,
        sde.prior(2),
        task["gamma"],
        prior_fp_solve("gmm-2d", task["gamma"], task["n_fp_steps"]),
        n_fp=task["n_fp_steps"],
        mult=task["mult"],
        n=task["n"],
        n_rec=task["n_rec"],
        level=1.0 - 0.05 / task["n_comparisons"],
        rng=np.random.default_rng(task["seed"]),
    )


def compute_simple(ctx) -> SimpleDatasetsResult:
    quick = ctx.quick
    gammas = [0.0, 1.0] if quick else [0.0, 0.5, 1.0, 2.0]
    n_rec = 6 if quick else 11
    tasks = [
        {
            "gamma": g,
            "n": 3000 if quick else 40000,
            "n_fp_steps": DECAY_FP_STEPS[("gmm-2d", quick)],
            "mult": 4,
            "n_rec": n_rec,
            "n_comparisons": n_rec * len(gammas),
            "seed": task_seed(ctx.seed, "c5", g),
        }
        for g in gammas
    ]
    res = ctx.map(_simple_task, tasks, desc="particles vs FP")
    return SimpleDatasetsResult(res, n_rec * len(gammas), [t["seed"] for t in tasks])


def decide_simple(r: SimpleDatasetsResult) -> Decision:
    misses, n_cmp = _simple_misses(r)
    decreasing = all(np.all(np.diff(x.fp_kl) < 0) for x in r.records if x.gamma > 0)
    level = 1.0 - 0.05 / n_cmp
    reason = (
        f"{n_cmp - len(misses)}/{n_cmp} FP values inside the particle CI ({level:.4f} each, "
        f"Bonferroni) widened by 2x the FP grid error; FP KL strictly decreasing for gamma > 0: "
        f"{decreasing}"
    )
    if misses:
        reason += "; " + "; ".join(misses[:3])
    key = f"{n_cmp - len(misses)}/{n_cmp} agree; final FP KL(q_T||p_0): " + ", ".join(
        f"gamma={x.gamma:g}: {x.fp_kl[-1]:.3f}" for x in r.records
    )
    return Decision("holds" if not misses and decreasing else "fails", reason, key)


def _simple_figure(r: SimpleDatasetsResult, ctx) -> str:
    _, data, _, _ = gmm_setting("gmm-2d")
    fig = ctx.figure(figsize=(13, 3.9))
    ax0, ax1, ax2 = fig.subplots(1, 3)
    xs = np.linspace(-4, 4, 120)
    X, Y = np.meshgrid(xs, xs)
    Z = np.exp(data.log_prob(np.column_stack([X.ravel(), Y.ravel()]))).reshape(X.shape)
    ax0.contour(X, Y, Z, levels=6, colors="k", linewidths=0.7)
    for x, c in zip(r.records, ("C0", "C1", "C2", "C3"), strict=False):
        f = np.array(x.final)
        ax0.plot(
            f[:600, 0],
            f[:600, 1],
            ".",
            ms=2,
            color=c,
            alpha=0.5,
            label=f"samples, gamma={x.gamma:g}",
        )
    ax0.set_xlabel("x1")
    ax0.set_ylabel("x2")
    ax0.set_title("data density (contours) and generated samples", fontsize=9)
    ax0.legend(fontsize=7, markerscale=4)
    for x in r.records:
        (line,) = ax1.plot(x.tau, x.fp_kl, label=f"FP, gamma={x.gamma:g}")
        if x.gamma == 0:
            mc = np.array(x.mc)
            yerr = [mc - np.array(x.lo), np.array(x.hi) - mc]
            ax1.errorbar(
                x.tau,
                mc,
                yerr=yerr,
                fmt="o",
                color=line.get_color(),
                ms=4,
                capsize=2,
                label="particles + exact log q (ODE), CI",
            )
    ax1.set_xlabel("reverse time tau")
    ax1.set_ylabel("KL(q_tau || p_{T-tau}) (nats)")
    ax1.set_title("KL along sampling (FP grid, rung 3)", fontsize=9)
    ax1.legend(fontsize=7)
    for x in r.records:
        if x.gamma > 0:
            mc = np.array(x.mc)
            (line,) = ax2.plot(x.tau, x.fp, label=f"FP, gamma={x.gamma:g}")
            yerr = [mc - np.array(x.lo), np.array(x.hi) - mc]
            ax2.errorbar(
                x.tau,
                mc,
                yerr=yerr,
                fmt="o",
                color=line.get_color(),
                ms=4,
                capsize=2,
                label=f"particles, gamma={x.gamma:g}, CI",
            )
    ax2.set_xlabel("reverse time tau")
    ax2.set_ylabel("cross-entropy E_q[-log p_{T-tau}] (nats)")
    ax2.set_title("cross-entropy along sampling (SDE particles, rung 4)", fontsize=9)
    ax2.legend(fontsize=7)
    return _save(ctx, fig, "particles-vs-fp")


def present_simple(r: SimpleDatasetsResult, ctx) -> Presentation:
    rows = []
    for x in r.records:
        what = "KL(q||p)" if x.gamma == 0 else "CE(q,p)"
        for k, tau in enumerate(x.tau):
            rows.append(
                [x.gamma, what, tau, x.mc[k], x.lo[k], x.hi[k], x.fp[k], x.fp_err[k], x.fp_kl[k]]
            )
    columns = [
        "gamma",
        "quantity",
        "tau",
        "particles",
        "CI lo",
        "CI hi",
        "FP",
        "FP tol",
        "FP KL(q||p)",
    ]
    name = "particles vs FP (KL(q_tau||p_{T-tau}) for gamma=0, cross-entropy otherwise)"
    return Presentation({name: Table(columns, rows)}, [_simple_figure(r, ctx)])


CLAIM = Claim(
    "stochasticity.simple-datasets",
    "On simple datasets with analytic scores (a 2-D Gaussian mixture), particle samplers "
    "agree with the Fokker-Planck density along the whole trajectory, and the KL curve "
    "KL(q_tau || p_{T-tau}) decreases along sampling for gamma > 0.",
    f"{SOURCE}, abstract ('numerical experiments on simple datasets', figure 'data and "
    "generated distributions with analytical score functions and entropy evolution'; "
    "setting reconstructed)",
    "OU T=1, 2-D mixture 0.25N((-2,0),.3I)+0.25N((2,0),.3I)+0.5N((0,2),.3I), start N(0,I); "
    "gamma=0: RK4 particles with exact log q (change of variables); gamma>0: Euler-Maruyama "
    "particles, cross-entropy with exact log p; FP grid 96x96.",
    compute=compute_simple,
    decide=decide_simple,
    present=present_simple,
    rung=4,
    tolerance="Bonferroni CI at overall 95% (normal, one interval per (gamma, tau)) + 2 x "
    "running max of the FP grid-error estimate",
    doc=f"{DOC}#simple-datasets",
)
