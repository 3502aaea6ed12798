r"""Claims of paper 1 (``stochasticity.*``): Schaeffer, Rosa & Valle, "The Effect of
Stochasticity in Score-Based Diffusion Sampling: a KL Divergence Analysis" (arXiv 2506.11378).

The reverse family ``dY = [-f Y + (1 + gamma)/2 g^2 s(Y, T - tau)] dtau + sqrt(gamma) g dW``
(docs/theory.md#the-reverse-family) and ``H_tau = KL(q_tau || p_{T-tau})`` along it (direction:
sampler || exact, throughout). The claims check the exact-score decay identity and its
log-Sobolev rate bound, the effect of the score error's structure, the Young + LSI bound, the
discretized chains and the paper's "simple datasets"; the mathematics is in
docs/claims/stochasticity.md and the numerics in ``verify.theory.kl_dynamics``. Each claim is
``compute`` (numbers), ``decide`` (verdict) and ``present`` (tables, figures); the run
computes every number quoted in a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU, VP, Gaussian, GaussianMixture, kl
from verify.claims.base import Check, Claim, Decision, Presentation, Table, decide_checks
from verify.errors import Offset, Scale
from verify.runtime.sweep import task_seed
from verify.solvers import grids
from verify.solvers.chain_laws import continuous_kl_closed_form, exact_law
from verify.theory.kl_dynamics import (
    FPDecay,
    GaussianDecay,
    ParticlesVsFP,
    YoungBound,
    fp_decay,
    gaussian_decay,
    marginal_logp,
    particles_vs_fp,
    reverse_fp,
    young_bound_along,
)

SOURCE = "Schaeffer, Rosa, Valle, arXiv 2506.11378"
DOC = "docs/claims/stochasticity.md"


# ------------------------------------------------------------------------ settings
def gauss_setting(name: str):
    """``(sde, data, init)`` of the named Gaussian setting."""
    if name == "1d-prior":  # the analytic example: OU, N(1, 4), T = 2, started at N(0, 1)
        sde = OU(2.0)
        data = Gaussian(np.array([1.0]), 4.0)
        return sde, data, sde.prior(1)
    if name == "1d-mean-offset":  # p_T shifted by 1: a pure mean offset
        sde = OU(2.0)
        data = Gaussian(np.array([1.0]), 4.0)
        pT = sde.marginal(data, sde.T)
        return sde, data, Gaussian(pT.mean + 1.0, pT.cov)
    if name == "2d-vp":  # VP, correlated 2-D data, p_T shifted and inflated
        sde = VP(0.1, 20.0, 1.0)
        data = Gaussian(np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]))
        pT = sde.marginal(data, sde.T)
        return sde, data, Gaussian(pT.mean + 0.5, 1.5 * pT.cov)
    if name == "2d-ou":  # OU, anisotropic 2-D data, prior start
        sde = OU(1.0)
        data = Gaussian(np.array([1.0, -0.5]), np.array([3.0, 0.5]))
        return sde, data, sde.prior(2)
    raise ValueError(f"unknown Gaussian setting {name!r}")


def gmm_setting(name: str):
    """``(sde, data, bounds, n_cells)`` of the named mixture setting (FP grid)."""
    if name == "gmm-1d":
        data = GaussianMixture([0.3, 0.7], [[-2.0], [1.5]], [0.25, 0.25])
        return OU(1.0), data, ((-7.0, 7.0),), 800
    if name == "gmm-2d":
        data = GaussianMixture(
            [0.25, 0.25, 0.5], [[-2.0, 0.0], [2.0, 0.0], [0.0, 2.0]], [0.3, 0.3, 0.3]
        )
        return OU(1.0), data, ((-5.5, 5.5), (-5.5, 5.5)), 96
    raise ValueError(f"unknown mixture setting {name!r}")


def score_error(kind: str, score, dim: int):
    """The claims' score errors: offset c = 0.5, scale k = 0.8 or k = 1.2."""
    if kind == "offset":
        return Offset(score, 0.5 * np.ones(dim) if dim > 1 else 0.5)
    if kind == "scale":
        return Scale(score, 0.8)
    if kind == "scale-up":
        return Scale(score, 1.2)
    raise ValueError(f"unknown score error {kind!r}")


# ================================================================== exact-score decay
DECAY_TOL_ID = 1e-8  # identity, moment route (relative)
DECAY_TOL_FD = 1e-5  # identity, finite differences of the closed form (relative)
DECAY_TOL_RATIO = 1e-9  # LSI bound / truth >= 1 - this
DECAY_TOL_TIGHT = 1e-9  # |bound / truth - 1| for a pure mean offset


@dataclass
class DecayResult:
    """Gaussian trajectories (rung 1-2) and mixture trajectories on the FP grid (rung 3)."""

    gauss: list[GaussianDecay]
    fp: list[FPDecay]
    seeds: list = field(default_factory=list)


def _decay_gauss_task(task) -> GaussianDecay:
    sde, data, init = gauss_setting(task["setting"])
    return gaussian_decay(sde, data, init, task["gamma"], task["n_nodes"], task["setting"])


def _decay_fp_task(task) -> FPDecay:
    sde, data, bounds, n_cells = gmm_setting(task["setting"])
    res = reverse_fp(
        sde, sde.score(data), sde.prior(data.dim), task["gamma"], bounds, n_cells, task["n_steps"]
    )
    return fp_decay(res, sde, data, task["gamma"], task["setting"])


def compute_decay(ctx) -> DecayResult:
    quick = ctx.quick
    gammas = [0.0, 0.5, 1.0, 2.0] if quick else [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    settings = ["1d-prior", "1d-mean-offset", "2d-vp"] + ([] if quick else ["2d-ou"])
    n_nodes = 41 if quick else 161
    tasks = [
        {"setting": s, "gamma": g, "n_nodes": n_nodes, "seed": task_seed(ctx.seed, "c1", s, g)}
        for s in settings
        for g in gammas
    ]
    gauss = ctx.map(_decay_gauss_task, tasks, desc="Gaussian trajectories")
    fp_gammas = [0.0, 1.0] if quick else [0.0, 0.5, 1.0, 2.0]
    fp_tasks = [
        {
            "setting": s,
            "gamma": g,
            "n_steps": 200 if s == "gmm-1d" else (100 if quick else 160),
            "seed": task_seed(ctx.seed, "c1fp", s, g),
        }
        for s in ("gmm-1d", "gmm-2d")
        for g in fp_gammas
    ]
    fps = ctx.map(_decay_fp_task, fp_tasks, desc="Fokker-Planck trajectories")
    return DecayResult(gauss, fps, [ctx.seed])


def _decay_gauss_checks(r: GaussianDecay) -> list[Check]:
    tag = f"{r.setting} gamma={r.gamma:g}"
    checks = []
    if r.gamma == 0:
        ok = not (r.const_dev > 1e-10 or r.err_id > 1e-12 * max(r.H[0], 1))
        checks.append(Check(ok, f"{tag}: ODE not KL-preserving (dev {r.const_dev:.1e})"))
    else:
        ok = not (r.err_id > DECAY_TOL_ID or r.err_fd > DECAY_TOL_FD)
        checks.append(Check(ok, f"{tag}: identity off (moments {r.err_id:.1e}, FD {r.err_fd:.1e})"))
        # "strictly decreasing": I(q|p) > 0 at every node and dH/dtau <= 1e-12 max|dH/dtau|
        ok = not (r.max_rate > 1e-12 or r.min_fisher <= 0)
        checks.append(
            Check(
                ok,
                f"{tag}: not strictly decreasing (max dH/dtau / scale = {r.max_rate:.1e}, "
                f"min I = {r.min_fisher:.1e})",
            )
        )
    checks.append(
        Check(
            r.min_ratio >= 1 - DECAY_TOL_RATIO,
            f"{tag}: LSI bound violated (bound/truth {r.min_ratio:.6f})",
        )
    )
    if r.setting == "1d-mean-offset":
        checks.append(
            Check(
                abs(r.max_ratio - 1) <= DECAY_TOL_TIGHT,
                f"{tag}: bound not tight for a mean offset ({r.max_ratio:.9f})",
            )
        )
    return checks


def _decay_fp_checks(r: FPDecay) -> list[Check]:
    tag = f"{r.setting} gamma={r.gamma:g}"
    checks = [
        Check(
            not r.max_excess > 0,
            f"{tag}: FP identity residual {r.max_resid:.1e} > tol {r.max_tol:.1e}",
        )
    ]
    if r.gamma > 0:
        checks.append(
            Check(not r.max_increase_excess > 0, f"{tag}: H increases beyond the grid error")
        )
    else:
        checks.append(
            Check(
                not r.const_dev > r.const_tol,
                f"{tag}: ODE changes H by {r.const_dev:.1e} > {r.const_tol:.1e}",
            )
        )
    return checks


def decide_decay(r: DecayResult) -> Decision:
    checks = [c for g in r.gauss for c in _decay_gauss_checks(g)]
    checks += [c for f in r.fp for c in _decay_fp_checks(f)]
    worst_id = max(g.err_id for g in r.gauss if g.gamma > 0)
    worst_fd = max(g.err_fd for g in r.gauss if g.gamma > 0)
    tight = max(abs(g.max_ratio - 1) for g in r.gauss if g.setting == "1d-mean-offset")
    min_ratio = min(g.min_ratio for g in r.gauss)
    holds = (
        f"dH/dtau = -(gamma g^2/2) I(q||p) to rel {worst_id:.1e} (moments) and {worst_fd:.1e} "
        f"(5-point FD of closed form); ODE keeps KL constant; KL strictly decreasing for "
        f"gamma > 0; LSI bound/truth >= {min_ratio:.6f}, = 1 to {tight:.1e} for a mean offset; "
        f"mixtures: integrated identity within 2x grid-error estimate."
    )
    key = f"identity rel err {worst_id:.1e}; min LSI bound/truth {min_ratio:.4f}"
    return decide_checks(checks, holds, key)


def _decay_figure(r: DecayResult, ctx) -> str:
    fig = ctx.figure(figsize=(13, 3.8))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for g in r.gauss:
        if g.setting != "1d-prior":
            continue
        (line,) = ax1.plot(g.tau, g.H, label=f"gamma={g.gamma:g}")
        if g.gamma > 0:
            ax1.plot(g.tau, g.bound, "--", color=line.get_color(), lw=1)
    ax1.set_yscale("log")
    ax1.set_xlabel("reverse time tau")
    ax1.set_ylabel("KL(q_tau || p_{T-tau}) (nats)")
    ax1.set_title("Gaussian N(1,4), OU, from N(0,1)\n(dashed: LSI rate bound; rung 1)", fontsize=9)
    ax1.legend(fontsize=7)
    for g in r.gauss:
        if g.setting == "2d-vp" and g.gamma > 0:
            tau = np.array(g.tau)
            ax2.plot(tau, -np.array(g.rate), label=f"-dH/dtau, gamma={g.gamma:g}")
            ax2.plot(tau[::3], -np.array(g.rhs)[::3], "k.", ms=3)
    ax2.set_yscale("log")
    ax2.set_xlabel("reverse time tau")
    ax2.set_ylabel("rate (nats per unit tau)")
    ax2.set_title("2-D VP: -dH/dtau (lines) vs\n(gamma g^2/2) I(q||p) (dots; rung 2)", fontsize=9)
    ax2.legend(fontsize=7)
    for f in r.fp:
        tau, H, e = (np.array(v) for v in (f.tau, f.H, f.eH))
        (line,) = ax3.plot(tau, H, label=f"{f.setting}, gamma={f.gamma:g}")
        ax3.fill_between(tau, np.maximum(H - e, 1e-6), H + e, color=line.get_color(), alpha=0.2)
    ax3.set_yscale("log")
    ax3.set_xlabel("reverse time tau")
    ax3.set_ylabel("KL(q_tau || p_{T-tau}) (nats)")
    ax3.set_title("Mixtures, FP grid, rung 3 (band: grid-error estimate)", fontsize=9)
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return ctx.savefig(fig, "kl-decay")


def present_decay(r: DecayResult, ctx) -> Presentation:
    rows = [
        [g.setting, g.gamma, g.H[0], g.H[-1], g.err_id, g.err_fd, g.min_ratio, g.max_ratio]
        for g in r.gauss
    ]
    fp_rows = [
        [f.setting, f.gamma, f.H[0], f.H[-1], f.max_resid, f.max_tol, f.eH[-1]] for f in r.fp
    ]
    tables = {
        "Gaussian (rung 1-2): KL(q_tau||p_{T-tau})": Table(
            [
                "setting",
                "gamma",
                "KL(q_0||p_T)",
                "KL(q_T||p_0)",
                "identity rel err",
                "FD rel err",
                "min bound/truth",
                "max bound/truth",
            ],
            rows,
        ),
        "Mixtures (rung 3, FP grid): KL(q_tau||p_{T-tau})": Table(
            [
                "setting",
                "gamma",
                "KL(q_0||p_T)",
                "KL(q_T||p_0)",
                "max |identity residual|",
                "max tolerance",
                "grid err of final KL",
            ],
            fp_rows,
        ),
    }
    return Presentation(tables, [_decay_figure(r, ctx)])


# ============================================================== error structure (Gaussian)
@dataclass
class ErrorStructureResult:
    """Rows ``[error, gamma, KL(q_T || p_0)]`` (exact moment ODE) and the gamma grid."""

    rows: list
    gammas: list
    seeds: list = field(default_factory=list)


def _structure_gauss_task(task):
    sde = OU(2.0)
    data = Gaussian(np.array([1.0]), 4.0)
    init = sde.marginal(data, sde.T)
    err = score_error(task["kind"], sde.score(data), 1)
    law = exact_law(
        sde, data, init, (sde.T, 0.0), gamma=task["gamma"], method=None, score_error=err
    )
    return [task["kind"], task["gamma"], kl(law, data)]


def compute_structure(ctx) -> ErrorStructureResult:
    quick = ctx.quick
    gammas = [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0] if quick else list(np.linspace(0, 4, 33))
    kinds = ["offset", "scale"] + ([] if quick else ["scale-up"])
    tasks = [
        {"kind": k, "gamma": float(g), "seed": task_seed(ctx.seed, "c2", k, g)}
        for k in kinds
        for g in gammas
    ]
    rows = ctx.map(_structure_gauss_task, tasks, desc="Gaussian: KL vs gamma")
    return ErrorStructureResult(rows, [float(g) for g in gammas], [ctx.seed])


def _argmin_gamma(rows, kind):
    sel = [r for r in rows if r[0] == kind]
    return min(sel, key=lambda r: r[2])[1]


def decide_structure(r: ErrorStructureResult) -> Decision:
    # offset amplified (KL(gamma=1) > KL(0)), scale corrected (KL decreasing in gamma)
    off = np.array([row[2] for row in r.rows if row[0] == "offset"])
    sc = np.array([row[2] for row in r.rows if row[0] == "scale"])
    i1 = int(np.argmin(np.abs(np.array(r.gammas) - 1.0)))
    ok = bool(off[i1] > off[0]) and bool(np.all(np.diff(sc) < 0))
    finding = (
        f"Gaussian: offset KL {off[0]:.4f} (gamma=0) -> {off[i1]:.4f} (gamma=1), argmin "
        f"gamma={_argmin_gamma(r.rows, 'offset'):g}; scale KL {sc[0]:.4f} -> {sc[-1]:.4f}, "
        f"argmin gamma={_argmin_gamma(r.rows, 'scale'):g}"
    )
    return Decision("holds" if ok else "fails", finding, finding)


def present_structure(r: ErrorStructureResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    labels = {"offset": "offset c=0.5", "scale": "scale k=0.8", "scale-up": "scale k=1.2"}
    for k, style in (("offset", "-"), ("scale", "--"), ("scale-up", ":")):
        sel = [row for row in r.rows if row[0] == k]
        if sel:
            ax.plot([row[1] for row in sel], [row[2] for row in sel], style, label=labels[k])
    ax.set_title("Gaussian N(1,4), OU T=2, start p_T (exact, rung 2)", fontsize=9)
    ax.set_xlabel("stochasticity gamma")
    ax.set_ylabel("KL(q_T || p_0) (nats)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Presentation(
        {"Gaussian: KL(q_T||p_0) vs gamma": Table(["error", "gamma", "KL(q_T||p_0)"], r.rows)},
        [ctx.savefig(fig, "kl-vs-gamma")],
    )


# ============================================================== error structure (mixtures)
@dataclass
class MixtureStructureResult:
    """Rows ``[setting, error, gamma, KL(q_T || p_0), grid error]`` (FP grid)."""

    rows: list
    seeds: list = field(default_factory=list)


def _structure_fp_task(task):
    _, data, bounds, n_cells = gmm_setting(task["setting"])
    sde = OU(2.0)
    err = score_error(task["kind"], sde.score(data), data.dim)
    init = sde.marginal(data, sde.T)
    res = reverse_fp(sde, err, init, task["gamma"], bounds, n_cells, task["n_steps"], record=[-1])
    H, eH = res.kl_trajectory(marginal_logp(sde, data), return_error=True)
    return [task["setting"], task["kind"], task["gamma"], float(H[-1]), float(eH[-1])]


def compute_structure_mixtures(ctx) -> MixtureStructureResult:
    fp_gammas = [0.0, 1.0, 2.0] if ctx.quick else [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    fp_tasks = [
        {
            "setting": s,
            "kind": k,
            "gamma": g,
            "n_steps": 200 if s == "gmm-1d" else 100,
            "seed": task_seed(ctx.seed, "c2fp", s, k, g),
        }
        for s in ("gmm-1d", "gmm-2d")
        for k in ("offset", "scale")
        for g in fp_gammas
    ]
    rows = ctx.map(_structure_fp_task, fp_tasks, desc="mixtures: KL vs gamma")
    return MixtureStructureResult(rows, [ctx.seed])


def decide_structure_mixtures(r: MixtureStructureResult) -> Decision:
    findings, ok = [], True
    for s in ("gmm-1d", "gmm-2d"):
        for k in ("offset", "scale"):
            sel = [row for row in r.rows if row[0] == s and row[1] == k]
            H0, e0 = sel[0][3], sel[0][4]
            H1, e1 = next((row[3], row[4]) for row in sel if row[2] == 1.0)
            if k == "offset":
                holds = H1 - H0 > e0 + e1  # amplified beyond the grid error
            else:
                holds = all(b[3] + b[4] < a[3] - a[4] for a, b in zip(sel, sel[1:], strict=False))
            best = min(sel, key=lambda row: row[3])[2]
            findings.append(
                f"{s} {k}: KL {H0:.4f} (gamma=0) -> {H1:.4f} (gamma=1), argmin gamma={best:g}"
                + ("" if holds else " [contradicts the statement]")
            )
            ok &= holds
    if not ok:
        findings.append(
            "so on these mixtures stochasticity corrects the offset too: the direction of the "
            "effect depends on the data, not on the error structure alone"
        )
    return Decision("holds" if ok else "fails", "; ".join(findings), findings[0])


def present_structure_mixtures(r: MixtureStructureResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    for s, mk in (("gmm-1d", "o"), ("gmm-2d", "s")):
        for k, style in (("offset", "-"), ("scale", "--")):
            sel = [row for row in r.rows if row[0] == s and row[1] == k]
            ax.errorbar(
                [row[2] for row in sel],
                [row[3] for row in sel],
                yerr=[row[4] for row in sel],
                fmt=mk + style,
                ms=4,
                capsize=2,
                label=f"{s}, {k}",
            )
    ax.set_yscale("log")
    ax.set_title("Mixtures, OU T=2, start p_T (FP grid, rung 3; bars: grid error)", fontsize=9)
    ax.set_xlabel("stochasticity gamma")
    ax.set_ylabel("KL(q_T || p_0) (nats)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Presentation(
        {
            "Mixtures (FP grid): KL(q_T||p_0) vs gamma": Table(
                ["setting", "error", "gamma", "KL(q_T||p_0)", "grid error"], r.rows
            )
        },
        [ctx.savefig(fig, "kl-vs-gamma")],
    )


# ================================================================== Young + LSI bound
YOUNG_QUAD_TOL = 1e-4


@dataclass
class YoungResult:
    """One :class:`YoungBound` per (setting, error, gamma); the gamma grid and node count."""

    records: list[YoungBound]
    cases: list
    gammas: list
    n_nodes: int
    seeds: list = field(default_factory=list)


def _young_task(task) -> YoungBound:
    sde, data, init = gauss_setting(task["setting"])
    err = score_error(task["kind"], sde.score(data), data.dim)
    return young_bound_along(
        sde,
        data,
        init,
        err,
        task["gamma"],
        task["n_nodes"],
        task["lams"],
        task["setting"],
        task["kind"],
    )


def compute_young(ctx) -> YoungResult:
    quick = ctx.quick
    gammas = [0.25, 0.5, 1.0, 2.0, 4.0] if quick else [0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0]
    lams = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] if quick else list(np.linspace(0.02, 0.98, 49))
    cases = [("1d-prior", "offset"), ("1d-prior", "scale"), ("2d-vp", "offset")]
    if not quick:
        cases += [("2d-vp", "scale"), ("2d-ou", "offset"), ("1d-prior", "scale-up")]
    n_nodes = 401 if quick else 1601
    tasks = [
        {
            "setting": s,
            "kind": k,
            "gamma": g,
            "lams": lams,
            "n_nodes": n_nodes,
            "seed": task_seed(ctx.seed, "c3", s, k, g),
        }
        for s, k in cases
        for g in gammas
    ]
    res = ctx.map(_young_task, tasks, desc="Young+LSI bound")
    return YoungResult(res, cases, gammas, n_nodes, [ctx.seed])


def decide_young(r: YoungResult) -> Decision:
    min_all = min(x.min_ratio_all for x in r.records)
    best = min(x.ratio_final for x in r.records)
    ok = min_all >= 1 - YOUNG_QUAD_TOL
    return Decision(
        "holds" if ok else "fails",
        f"bound >= truth at every node, every gamma and every lambda tried: min bound/truth "
        f"= {min_all:.4g} (>= 1 - {YOUNG_QUAD_TOL:g}); at tau = T the best lambda gives "
        f"bound/truth between {best:.3g} and {max(x.ratio_final for x in r.records):.3g}.",
        f"min bound/truth {min_all:.6f}; tightest final {best:.3g}",
    )


def present_young(r: YoungResult, ctx) -> Presentation:
    rows = [
        [
            x.setting,
            x.kind,
            x.gamma,
            x.lam,
            x.H_final,
            x.B_final,
            x.ratio_final,
            x.min_ratio_all,
        ]
        for x in r.records
    ]
    fig = ctx.figure(figsize=(10, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for s, k in r.cases:
        sel = [x for x in r.records if x.setting == s and x.kind == k]
        ax1.plot([x.gamma for x in sel], [x.ratio_final for x in sel], "o-", label=f"{s}, {k}")
    ax1.axhline(1.0, color="k", lw=0.8)
    ax1.set_xscale("log")
    ax1.set_xticks(r.gammas, [f"{g:g}" for g in r.gammas])
    ax1.minorticks_off()
    ax1.set_xlabel("stochasticity gamma")
    ax1.set_ylabel("bound / KL(q_T || p_0) (best lambda)")
    ax1.set_title("Young + LSI bound over truth at the end (rung 2)", fontsize=9)
    ax1.legend(fontsize=7)
    for x in r.records:
        if x.setting == "1d-prior" and x.kind == "offset" and x.gamma in (0.5, 1.0, 2.0):
            (line,) = ax2.plot(x.tau, x.H, label=f"truth, gamma={x.gamma:g}")
            ax2.plot(x.tau, x.B, "--", color=line.get_color(), label=f"bound, lambda={x.lam:g}")
    ax2.set_yscale("log")
    ax2.set_xlabel("reverse time tau")
    ax2.set_ylabel("KL(q_tau || p_{T-tau}) (nats)")
    ax2.set_title("1-D N(1,4), offset c=0.5: truth and bound", fontsize=9)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    columns = [
        "setting",
        "error",
        "gamma",
        "best lambda",
        "KL(q_T||p_0)",
        "bound",
        "bound/truth (final)",
        "min bound/truth (all tau, lambda)",
    ]
    return Presentation(
        {"Young+LSI bound vs truth KL(q_tau||p_{T-tau})": Table(columns, rows)},
        [ctx.savefig(fig, "young-lsi-bound")],
    )


# ================================================================== discretization
@dataclass
class DiscretizationResult:
    """``kls[(method, N)]`` over ``gammas`` (exact chain laws) and the continuous-time KL."""

    methods: list
    steps: list
    gammas: list
    rows: list  # [method, N, [KL over gammas]]
    continuous: list
    seeds: list = field(default_factory=list)


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
    return DiscretizationResult(methods, steps, gammas, res, cont, [ctx.seed])


def _gamma_star(r: DiscretizationResult) -> dict:
    return {(m, n): r.gammas[int(np.argmin(kls))] for m, n, kls in r.rows}


def decide_discretization(r: DiscretizationResult) -> Decision:
    cont_dec = bool(np.all(np.diff(np.array(r.continuous)) < 0))
    gstar = _gamma_star(r)
    checks = [Check(cont_dec, "continuous-time KL not strictly decreasing in gamma")]
    for m, n, kls in r.rows:
        checks.append(Check(int(np.argmin(kls)) != 0, f"{m} N={n}: no gamma > 0 beats the ODE"))
    for m in r.methods:
        seq = [gstar[(m, n)] for n in r.steps]
        mono = not any(b < a for a, b in zip(seq, seq[1:], strict=False))
        checks.append(Check(mono, f"{m}: gamma*(N) not non-decreasing in N: {seq}"))
    interior = any(v < r.gammas[-1] for v in gstar.values())
    checks.append(Check(interior, "no finite gamma* inside the grid"))
    summary = ", ".join(
        f"{m}: " + "/".join(f"{gstar[(m, n)]:g}" for n in r.steps) for m in r.methods
    )
    reason = (
        f"continuous-time KL strictly decreasing in gamma: {cont_dec}; gamma*(N) for N="
        f"{'/'.join(map(str, r.steps))}: {summary}"
    )
    d = decide_checks(checks, reason, summary)
    return d if d.verdict == "holds" else Decision(d.verdict, f"{reason}; {d.reason}", summary)


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
    fig.tight_layout()
    columns = [
        "method",
        "N",
        "KL at gamma=0",
        "gamma*",
        "KL at gamma*",
        f"KL at gamma={r.gammas[-1]:g}",
        "continuous-time KL at gamma*",
    ]
    return Presentation(
        {"KL(output||p_0) over (method, N)": Table(columns, rows)}, [ctx.savefig(fig, "heatmap")]
    )


# ================================================================== simple datasets
@dataclass
class SimpleDatasetsResult:
    """One :class:`ParticlesVsFP` per gamma (2-D mixture, exact score) and the CI level."""

    records: list[ParticlesVsFP]
    n_comparisons: int
    seeds: list = field(default_factory=list)


def _simple_task(task) -> ParticlesVsFP:
    sde, data, bounds, n_cells = gmm_setting("gmm-2d")
    return particles_vs_fp(
        sde,
        data,
        sde.prior(2),
        task["gamma"],
        bounds=bounds,
        n_cells=n_cells,
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
            "n_fp_steps": 100 if quick else 200,
            "mult": 4,
            "n_rec": n_rec,
            "n_comparisons": n_rec * len(gammas),
            "seed": task_seed(ctx.seed, "c5", g),
        }
        for g in gammas
    ]
    res = ctx.map(_simple_task, tasks, desc="particles vs FP")
    return SimpleDatasetsResult(res, n_rec * len(gammas), [t["seed"] for t in tasks])


def _simple_misses(r: SimpleDatasetsResult) -> tuple[list, int]:
    misses, n_cmp = [], 0
    for x in r.records:
        for k, tau in enumerate(x.tau):
            lo, hi = x.lo[k] - x.fp_err[k], x.hi[k] + x.fp_err[k]
            n_cmp += 1
            if not lo <= x.fp[k] <= hi:
                misses.append(
                    f"gamma={x.gamma:g} tau={tau:.2f}: FP {x.fp[k]:.4f} outside "
                    f"[{lo:.4f}, {hi:.4f}]"
                )
    return misses, n_cmp


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
    fig.tight_layout()
    return ctx.savefig(fig, "particles-vs-fp")


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


# ======================================================================== the claims
CLAIMS = [
    Claim(
        "stochasticity.exact-score-decay",
        "With the exact score, d/dtau KL(q_tau || p_{T-tau}) = -(gamma g^2/2) I(q_tau | "
        "p_{T-tau}): KL is constant along the probability-flow ODE and strictly decreasing for "
        "gamma > 0, and KL(q_tau || p_{T-tau}) <= KL(q_0 || p_T) "
        "exp(-int gamma g^2 / C_LSI(p_{T-u}) du) along the whole trajectory, with equality for "
        "a pure mean offset of Gaussian data.",
        f"{SOURCE}, abstract and §2 (Lemma 2.1, LSI); the identity and rate bound reconstructed "
        "(reconstructed: the paper's statement was not available; this is the standard result "
        "it rests on)",
        "Gaussian: OU T=2 N(1,4) from N(0,1) and from p_T shifted by 1; VP 2-D correlated data "
        "from a shifted, inflated p_T (closed form + moment ODE). Mixtures: OU T=1, 1-D "
        "0.3N(-2,.25)+0.7N(1.5,.25) and a 2-D three-component mixture, from N(0,I) (FP grid).",
        compute=compute_decay,
        decide=decide_decay,
        present=present_decay,
        rung=3,
        tolerance=(
            f"Gaussian: identity rel {DECAY_TOL_ID:g} (moments), rel {DECAY_TOL_FD:g} (FD), strict "
            f"decrease = I > 0 and dH/dtau <= 1e-12 max|dH/dtau|, bound/truth >= "
            f"1-{DECAY_TOL_RATIO:g}; mixtures: 2 x running max of the FP grid-error estimate "
            "+ quadrature error"
        ),
        doc=f"{DOC}#exact-score-decay",
    ),
    Claim(
        "stochasticity.error-structure",
        "With an approximate score and Gaussian data, stochasticity amplifies a constant score "
        "offset (final KL(q_T || p_0) rises from gamma=0 to gamma=1) but corrects a "
        "multiplicative error (KL decreases monotonically in gamma).",
        f"{SOURCE}, abstract ('depending on the structure of the score error'); the offset/scale "
        "dichotomy reconstructed on an analytic example (reconstructed: the paper's statement "
        "was not available)",
        "OU T=2, data N(1,4), start p_T, offset c=0.5 and scale k=0.8; exact moment ODE.",
        compute=compute_structure,
        decide=decide_structure,
        present=present_structure,
        rung=2,
        tolerance="exact moment ODE (rtol 1e-11)",
        doc=f"{DOC}#error-structure",
    ),
    Claim(
        "stochasticity.error-structure-mixtures",
        "The same dichotomy on Gaussian-mixture data: stochasticity amplifies a constant score "
        "offset but corrects a multiplicative error.",
        f"{SOURCE}, abstract; extension of the reconstructed dichotomy to the paper's 'simple "
        "datasets' (reconstructed)",
        "OU T=2, start p_T, offset c=0.5 and scale k=0.8: 1-D and 2-D Gaussian mixtures "
        "(Fokker-Planck grid).",
        compute=compute_structure_mixtures,
        decide=decide_structure_mixtures,
        present=present_structure_mixtures,
        rung=3,
        tolerance="differences must exceed the sum of the FP grid-error estimates",
        doc=f"{DOC}#error-structure-mixtures",
    ),
    Claim(
        "stochasticity.young-lsi-bound",
        "For gamma > 0 and any lambda in (0,1), KL(q_tau || p_{T-tau}) is bounded by the "
        "Gronwall solution of H' = -(1-lambda) gamma g^2 / C_LSI H + (1+gamma)^2 g^2 "
        "E|s_theta - grad log p|^2 / (8 lambda gamma), H(0) = KL(q_0 || p_T).",
        f"{SOURCE}, approximate-score bound via LSI (reconstructed: the paper's statement was not "
        "available; this is the standard Young + log-Sobolev argument it rests on)",
        "Gaussian data (1-D OU and 2-D VP) with offset and scale errors, exact moment ODE; "
        "gamma in [0.25, 4], lambda over a grid.",
        compute=compute_young,
        decide=decide_young,
        present=present_young,
        rung=2,
        tolerance=f"bound/truth >= 1 - {YOUNG_QUAD_TOL:g} (trapezoid quadrature of the Gronwall "
        "integral on 401 nodes)",
        doc=f"{DOC}#young-lsi-bound",
    ),
    Claim(
        "stochasticity.discretization",
        "Error correction survives discretization: with the exact score and a prior-initialised "
        "chain, at every step count N some gamma > 0 gives a smaller KL(output || p_0) than "
        "gamma = 0, the best gamma*(N) is finite at small N (added stochasticity stops paying) "
        "and does not decrease with N (towards the continuous-time optimum gamma = infinity).",
        f"{SOURCE}, abstract (error correction); discretized samplers are this toolkit's "
        "question, not a statement of the paper (reconstructed)",
        "OU T=2, 1-D N(1,4), start N(0,1), uniform grids, Euler-Maruyama and exponential "
        "integrator, exact chain laws.",
        compute=compute_discretization,
        decide=decide_discretization,
        present=present_discretization,
        rung=2,
        tolerance="exact chain laws (no tolerance needed; argmin over the gamma grid)",
        doc=f"{DOC}#discretization",
    ),
    Claim(
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
    ),
]
