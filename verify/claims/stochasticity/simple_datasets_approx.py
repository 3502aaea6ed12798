"""``stochasticity.simple-datasets-approx``: On a 2-D mixture, stochasticity corrects some score
errors and amplifies others.

Its compute, decide and present; the mathematics: docs/claims/stochasticity.md#simple-datasets-
approx.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from verify.claims.base import Claim, Decision, Presentation, Table, decide_checks
from verify.claims.stochasticity._common import (
    DOC,
    SOURCE,
    SimpleDatasetsResult,
    _check,
    _save,
    _simple_misses,
    gmm_setting,
)
from verify.errors import FourierField, Offset, Scale
from verify.runtime.sweep import task_seed
from verify.solvers import grids
from verify.theory.kl_dynamics import (
    marginal_logp,
    mixture_score,
    particles_vs_fp,
    reverse_fp,
)

APPROX_GAMMAS = {True: (1.0,), False: (0.5, 1.0, 2.0, 3.0)}  # by ctx.quick

APPROX_FP = (64, 50)  # cells per axis, steps

APPROX_FLOW = (20, 48)  # RK4 steps (quadratic grid), output quadrature points per axis


def approx_errors(score):
    """The three score errors on the 2-D mixture: an offset, a scale error and a smooth
    nonlinear random-Fourier field (``verify.errors``)."""
    return {
        "offset (0.4, 0.4)": Offset(score, np.array([0.4, 0.4])),
        "scale 0.8": Scale(score, 0.8),
        "Fourier 0.5": FourierField(score, 0.5, n_features=16, length_scale=1.0, seed=0),
    }


@dataclass
class ApproxResult:
    """``ode``: error -> ``(KL(q_T||p_0) at gamma = 0, |mass - 1|)`` (characteristics);
    ``fp``: rows ``[error, gamma, KL(q_T||p_0), grid error]``; ``particles``: error ->
    :class:`ParticlesVsFP` at gamma = 1."""

    ode: dict
    fp: list
    particles: dict
    n_comparisons: int
    seeds: list = field(default_factory=list)


def _approx_fp_task(task):
    sde, data, bounds, _ = gmm_setting("gmm-2d")
    name, gam = task["error"], task["gamma"]
    err = approx_errors(mixture_score(sde, data))[name]
    cells, steps = APPROX_FP
    n_rec = task["n_rec"]
    rec = list(np.linspace(0, steps, n_rec).astype(int))
    res = reverse_fp(sde, err, sde.marginal(data, sde.T), gam, bounds, cells, steps, record=rec)
    H, eH = res.kl_trajectory(marginal_logp(sde, data), return_error=True)
    part = None
    if gam == 1.0:
        part = particles_vs_fp(
            sde,
            data,
            sde.marginal(data, sde.T),
            gam,
            res,
            n_fp=steps,
            mult=2,
            n=task["n"],
            n_rec=n_rec,
            level=task["level"],
            rng=np.random.default_rng(task["seed"]),
            score=err,
        )
    return [name, gam, float(H[-1]), float(eH[-1])], part


def compute_approx(ctx) -> ApproxResult:
    from verify.theory.kl_dynamics import flow_output_kl

    sde, data, bounds, _ = gmm_setting("gmm-2d")
    errs = approx_errors(mixture_score(sde, data))
    steps, n = APPROX_FLOW
    K0, mass = flow_output_kl(
        sde,
        data,
        sde.marginal(data, sde.T),
        grids.quadratic(sde, steps, t_min=0.0),
        list(errs.values()),
        bounds=bounds,
        n=n,
    )
    ode = {k: (float(v), float(abs(m - 1))) for k, v, m in zip(errs, K0, mass, strict=True)}
    n_rec = 5
    n_cmp = n_rec * len(errs)
    tasks = [
        {
            "error": e,
            "gamma": g,
            "n": 3000 if ctx.quick else 40000,
            "n_rec": n_rec,
            "level": 1.0 - 0.05 / n_cmp,
            "seed": task_seed(ctx.seed, "approx", e, g),
        }
        for e in errs
        for g in APPROX_GAMMAS[ctx.quick]
    ]
    out = ctx.map(_approx_fp_task, tasks, desc="FP + particles")
    parts = {row[0]: p for row, p in out if p is not None}
    return ApproxResult(
        ode, [row for row, _ in out], parts, n_cmp, [t["seed"] for t in tasks if t["gamma"] == 1.0]
    )


def approx_effect(r: ApproxResult, error: str, gamma: float):
    """``(KL(gamma) - KL(0), tolerance)``: 2 x the FP grid error + 10 x the ODE's mass error."""
    row = next(x for x in r.fp if x[0] == error and x[1] == gamma)
    k0, merr = r.ode[error]
    return row[2] - k0, 2.0 * row[3] + 10.0 * merr + 1e-6


def decide_approx(r: ApproxResult) -> Decision:
    sim = SimpleDatasetsResult(list(r.particles.values()), r.n_comparisons)
    misses, n_cmp = _simple_misses(sim)
    checks = [
        _check(
            not misses,
            f"{len(misses)}/{n_cmp} FP values outside the particle CIs: " + "; ".join(misses[:2]),
        )
    ]
    helps, hurts, parts = [], [], []
    for e in r.ode:
        d, tol = approx_effect(r, e, 1.0)
        if d < -tol:
            helps.append(e)
        elif d > tol:
            hurts.append(e)
        parts.append(f"{e}: {r.ode[e][0]:.3f} -> {r.ode[e][0] + d:.3f} (+-{tol:.3f})")
    checks.append(
        _check(
            bool(helps) and bool(hurts),
            "stochasticity does not go both ways: helps "
            + (", ".join(helps) or "none")
            + ", hurts "
            + (", ".join(hurts) or "none"),
        )
    )
    key = "gamma 0 -> 1: " + ", ".join(parts)
    holds = (
        f"{n_cmp}/{n_cmp} FP values inside the particle CIs; gamma = 1 helps "
        f"{', '.join(helps)} and hurts {', '.join(hurts)} (KL(q_T||p_0): {'; '.join(parts)})"
    )
    return decide_checks(checks, holds, key)


def present_approx(r: ApproxResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(10, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for e, c in zip(r.ode, ("C0", "C1", "C2"), strict=True):
        sel = [x for x in r.fp if x[0] == e]
        ax1.errorbar(
            [0.0] + [x[1] for x in sel],
            [r.ode[e][0]] + [x[2] for x in sel],
            yerr=[r.ode[e][1]] + [x[3] for x in sel],
            fmt="o-",
            color=c,
            capsize=2,
            label=e,
        )
    ax1.set_xlabel("stochasticity gamma (0: characteristics, > 0: FP grid)")
    ax1.set_ylabel("KL(q_T || p_0) (nats)")
    ax1.set_title("2-D mixture, OU T=1, start p_T (rung 3)", fontsize=8)
    ax1.legend(fontsize=7)
    for (e, p), c in zip(r.particles.items(), ("C0", "C1", "C2"), strict=True):
        mc = np.array(p.mc)
        ax2.plot(p.tau, p.fp, "-", color=c, label=f"FP, {e}")
        ax2.errorbar(
            p.tau,
            mc,
            yerr=[mc - np.array(p.lo), np.array(p.hi) - mc],
            fmt="o",
            color=c,
            ms=3,
            capsize=2,
        )
    ax2.set_xlabel("reverse time tau")
    ax2.set_ylabel("cross-entropy E_q[-log p_{T-tau}]")
    ax2.set_title("gamma=1: Euler-Maruyama particles (dots, CI; rung 4) vs FP", fontsize=8)
    ax2.legend(fontsize=7)
    rows = [[e, 0.0, v[0], v[1]] for e, v in r.ode.items()] + [list(x) for x in r.fp]
    prow = [
        [e, tau, p.mc[k], p.lo[k], p.hi[k], p.fp[k], p.fp_err[k]]
        for e, p in r.particles.items()
        for k, tau in enumerate(p.tau)
    ]
    return Presentation(
        {
            "KL(q_T||p_0) vs gamma (gamma=0: characteristics, error = |mass - 1|)": Table(
                ["error", "gamma", "KL(q_T||p_0)", "numerical error"], rows
            ),
            "gamma=1: particles vs FP, cross-entropy E_q[-log p_{T-tau}]": Table(
                ["error", "tau", "particles", "CI lo", "CI hi", "FP", "FP tol"], prow
            ),
        },
        [_save(ctx, fig, "approx-scores")],
    )


CLAIM = Claim(
    "stochasticity.simple-datasets-approx",
    "On a simple dataset (a 2-D Gaussian mixture) with approximate scores - a constant "
    "offset, a scale error and a smooth nonlinear (random-Fourier) error - particle samplers "
    "agree with the Fokker-Planck density, and stochasticity can either improve or worsen "
    "the final KL(q_T || p_0) depending on the structure of the score error (at gamma = 1 "
    "some error is corrected and another amplified beyond the numerical errors).",
    f"{SOURCE}, abstract ('stochasticity can either improve or worsen the performance, "
    "depending on the structure of the score error'; 'numerical experiments on simple "
    "datasets'; setting reconstructed)",
    "OU T=1, the 2-D mixture of stochasticity.simple-datasets, start p_T; gamma = 0 along "
    "backward characteristics (output quadrature 48x48, 20 RK4 steps), gamma = 1 (full budget: "
    "0.5, 1, 2, 3) on "
    "the FP grid (64x64, 50 steps); gamma = 1 Euler-Maruyama particles (3000, 100 steps), "
    "cross-entropy with exact log p at 5 nodes.",
    compute=compute_approx,
    decide=decide_approx,
    present=present_approx,
    rung=3,
    tolerance="effects beyond 2 x the FP grid error + 10 x the characteristics' mass error; "
    "Bonferroni CIs at overall 95% widened by 2 x the FP grid error",
    doc=f"{DOC}#simple-datasets-approx",
)
