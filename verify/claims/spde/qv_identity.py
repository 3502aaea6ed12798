"""``spde.qv-identity``: A common-noise score error gives the projections a quadratic variation in
closed form.

Its compute, decide and present; the mathematics: docs/claims/spde.md#qv-identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU, Gaussian
from verify.claims.base import (
    Claim,
    Decision,
    Presentation,
    Table,
    decide_checks,
)
from verify.claims.spde._common import (
    _SRC,
    BAND,
    DOC,
    band_check,
    plain_log_ticks,
)
from verify.estimators import Estimate, mean_ci
from verify.runtime.sweep import task_seed
from verify.solvers import grids
from verify.theory import common_noise as spde


def _verdict(checks) -> str:
    return decide_checks(checks, "").verdict


_Q1_TARGET = (1.0, 0.25)  # 1-D N(1, 0.5^2)

_Q1_BOUNDS = (-3.0, 5.0)

QV_NS = (50, 200, 1000)


def _q1_setting():
    sde = OU(T=1.0)
    p0 = Gaussian(np.array([_Q1_TARGET[0]]), _Q1_TARGET[1])
    grid = grids.uniform(sde, 200, t_min=0.01)
    noise = spde.CommonNoise((spde.ConstantField((0.3,)), spde.BumpField((0.4,), (1.0,), 0.5)))
    return sde, p0, grid, noise


def _q1_batch(task):
    """``R`` replicates of ``N`` particles (one common path each, or no common noise)."""
    sde, p0, grid, noise = _q1_setting()
    rng = np.random.default_rng(task["seed"])
    R, n = task["reps"], task["n"]
    x = sde.marginal(p0, sde.T).sample(R * n, rng).reshape(R, n, 1)
    use = noise if task["common"] else None
    res = spde.sample_common_noise(sde, sde.score(p0), x, grid, use, 1.0, rng=rng)
    q = res.qv(1.0)
    return {
        "n": n,
        "common": task["common"],
        "z": spde.martingale_ratio(res, common=task["common"]).tolist(),
        "realised": q["realised"][:, 0].tolist(),
        "pred_common": q["common"][:, 0].tolist(),
        "pred_indep": q["indep"][:, 0].tolist(),
    }


def _path_increments(seed, grid, n_fields):
    return spde.brownian_increments(grid, n_fields, np.random.default_rng(seed))


def _q1_grid(task):
    """One common path on the 1-D SPDE grid (``cells`` and half as many)."""
    sde, p0, grid, noise = _q1_setting()
    dB = _path_increments(task["seed"], grid, noise.n)
    pT = sde.marginal(p0, sde.T)

    def dens(z):
        return np.exp(pT.log_prob(z))

    out = {}
    for cells in (task["cells"], task["cells"] // 2):
        fp = spde.solve_spde_1d(
            sde, sde.score(p0), dens, grid, noise, dB, 1.0, bounds=_Q1_BOUNDS, n_cells=cells
        )
        out[cells] = spde.grid_projections(fp, spde.default_tests(), noise)
    proj, rate = out[task["cells"]]
    h = -np.diff(grid)
    return {
        "z": float(np.mean(np.diff(proj, axis=1) ** 2 / (rate[:, :-1] * h))),
        "final": float(proj[0, -1]),
        "grid_err": float(np.max(np.abs(proj[0] - out[task["cells"] // 2][0][0]))),
        "qv_grid": float(np.sum(np.diff(proj[0]) ** 2)),
        "qv_grid_pred": float(np.sum(rate[0, :-1] * h)),
        "cum_realised": np.cumsum(np.diff(proj[0]) ** 2).tolist(),
        "cum_pred": np.cumsum(rate[0, :-1] * h).tolist(),
    }


def _q1_grid_particles(task):
    """``N`` particles driven by each grid path's common increments (one batch)."""
    sde, p0, grid, noise = _q1_setting()
    dB = np.stack([_path_increments(s, grid, noise.n) for s in task["path_seeds"]])
    rng = np.random.default_rng(task["seed"])
    R, n = dB.shape[0], task["n"]
    x = sde.marginal(p0, sde.T).sample(R * n, rng).reshape(R, n, 1)
    tests = [spde.radial_square()]
    res = spde.sample_common_noise(
        sde, sde.score(p0), x, grid, noise, 1.0, rng=rng, dB=dB, tests=tests
    )
    h = res.h
    return {
        "final": res.proj[:, 0, -1].tolist(),
        "mc_sd": np.sqrt(np.var(tests[0].value(res.x), axis=1) / n).tolist(),
        "cum_realised": np.cumsum(np.diff(res.proj[0, 0]) ** 2).tolist(),
        "cum_pred": np.cumsum(
            (res.common_rate[0, 0, :-1] + res.indep_rate[0, 0, :-1]) * h
        ).tolist(),
    }


@dataclass
class QvIdentityResult:
    """Ratio estimates E[M^2]/(rate h) (particles with common noise, independent noise only,
    SPDE grid); the realised and predicted QV of ``<u, |x|^2>`` per N without common noise
    and their fitted slope; means of the common-noise runs; per SPDE-grid path ``[QV,
    predicted, |particles - grid| final <u,|x|^2>, tolerance]``; the cumulative curves of
    the first grid path."""

    z_common: Estimate
    z_indep: Estimate
    z_grid: Estimate
    ns: list
    qv_n: list
    pred_n: list
    slope: float
    common_means: list
    paths: list
    cum: dict
    seeds: list = field(default_factory=list)


def compute_qv_identity(ctx) -> QvIdentityResult:
    reps = 24 if ctx.quick else 200
    n_paths = 8 if ctx.quick else 40
    ns = list(QV_NS)
    batches = [{"n": 500, "reps": reps, "common": True, "seed": task_seed(ctx.seed, "q1", "c")}] + [
        {"n": n, "reps": reps // 2, "common": False, "seed": task_seed(ctx.seed, "q1", "i", n)}
        for n in ns
    ]
    path_seeds = [task_seed(ctx.seed, "q1", "g", p) for p in range(n_paths)]
    gp_task = {"n": 4000, "path_seeds": path_seeds, "seed": task_seed(ctx.seed, "q1", "gp")}
    *rows, part = ctx.map(_qv_task, [("batch", b) for b in batches] + [("grid-particles", gp_task)])
    grows = ctx.map(_q1_grid, [{"cells": 400, "seed": s} for s in path_seeds], desc="SPDE paths")
    com, indep = rows[0], rows[1:]
    paths = [
        [g["qv_grid"], g["qv_grid_pred"], abs(g["final"] - f), 4 * sd + g["grid_err"]]
        for g, f, sd in zip(grows, part["final"], part["mc_sd"], strict=True)
    ]
    qv_n = [float(np.mean(r["realised"])) for r in indep]
    return QvIdentityResult(
        z_common=mean_ci(com["z"]),
        z_indep=mean_ci([z for r in indep for z in r["z"]]),
        z_grid=mean_ci([g["z"] for g in grows]),
        ns=ns,
        qv_n=qv_n,
        pred_n=[float(np.mean(r["pred_indep"])) for r in indep],
        slope=float(np.polyfit(np.log(ns), np.log(qv_n), 1)[0]),
        common_means=[float(np.mean(com[k])) for k in _COMMON_KEYS],
        paths=paths,
        cum={
            "grid_realised": grows[0]["cum_realised"],
            "grid_pred": grows[0]["cum_pred"],
            "part_realised": part["cum_realised"],
            "part_pred": part["cum_pred"],
        },
        seeds=[b["seed"] for b in batches] + path_seeds + [gp_task["seed"]],
    )


def _qv_task(task):
    kind, spec = task
    return _q1_batch(spec) if kind == "batch" else _q1_grid_particles(spec)


_COMMON_KEYS = ("realised", "pred_common", "pred_indep")


def decide_qv_identity(r: QvIdentityResult) -> Decision:
    checks = [
        band_check(r.z_common, "particles, common noise"),
        band_check(r.z_indep, "particles, independent noise"),
        band_check(r.z_grid, "SPDE grid"),
    ]
    slope_ok = abs(r.slope + 1) <= 0.15
    n_agree = sum(p[2] <= p[3] for p in r.paths)
    verdict = _verdict(checks)
    if not (slope_ok and n_agree == len(r.paths)):
        verdict = "fails"
    reason = (
        f"E[M^2]/(predicted rate * h), M the antithetic martingale increment of <u, phi> "
        f"per step (grid: the raw increment), mean over steps and 4 radial phi: "
        f"particles with common noise {r.z_common}, independent noise only {r.z_indep}, "
        f"1-D SPDE grid {r.z_grid}; all CIs must lie in [{1 - BAND}, {1 + BAND}]. "
        f"Independent-noise QV of |x|^2 scales as N^{r.slope:.2f} (|slope + 1| <= 0.15 "
        f"required); final <u,|x|^2> particles (N=4000) vs grid agree within 4 MC sd + grid "
        f"error on {n_agree}/{len(r.paths)} paths."
    )
    key = (
        f"QV ratio particles {r.z_common.value:.3f}, grid {r.z_grid.value:.3f}; "
        f"indep slope {r.slope:.2f}"
    )
    return Decision(verdict, reason, key)


def _qv_tables(r: QvIdentityResult) -> dict:
    ests = [
        ("ratio, particles (common + indep)", r.z_common),
        ("ratio, particles (indep only)", r.z_indep),
        ("ratio, SPDE grid (common)", r.z_grid),
    ]
    tab_main = Table(
        ["quantity", "estimate", "95% CI lo", "95% CI hi", "n"],
        [[name, e.value, e.lo, e.hi, e.n] for name, e in ests],
    )
    tab_n = Table(
        [
            "N",
            "common noise",
            "realised QV of <u,|x|^2>",
            "predicted common part",
            "predicted indep part gamma g2 <u,|grad phi|^2>/N",
        ],
        [[n, "no", q, 0.0, p] for n, q, p in zip(r.ns, r.qv_n, r.pred_n, strict=True)]
        + [[500, "yes", *r.common_means]],
    )
    tab_g = Table(
        [
            "path",
            "grid QV |x|^2",
            "grid predicted int rate",
            "|particles - grid| final <u,|x|^2>",
            "4 MC sd + grid error",
        ],
        [[i, *p] for i, p in enumerate(r.paths)],
    )
    return {
        "QV ratio (realised / predicted)": tab_main,
        "O(1/N) separation": tab_n,
        "SPDE grid vs particles": tab_g,
    }


def present_qv_identity(r: QvIdentityResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    cum = r.cum
    tau = np.arange(1, len(cum["grid_pred"]) + 1) * (0.99 / len(cum["grid_pred"]))
    ax1.plot(tau, cum["grid_realised"], label="SPDE grid: realised [<u,|x|^2>]")
    ax1.plot(tau, cum["grid_pred"], "--", label="SPDE grid: int sum_k <u, sigma_k.grad phi>^2")
    ax1.plot(tau, cum["part_realised"], label="particles N=4000: realised")
    ax1.plot(tau, cum["part_pred"], ":", label="particles: predicted (common + indep)")
    ax1.set_xlabel("reverse time tau (OU time units)")
    ax1.set_ylabel("quadratic variation of <u, |x|^2>")
    ax1.set_title("one Brownian path, shared by grid and particles")
    ax1.legend(fontsize=7)
    ax2.loglog(r.ns, r.qv_n, "o-", label="realised (no common noise)")
    ax2.loglog(r.ns, r.pred_n, "k--", label="predicted gamma g2 <u,|grad phi|^2>/N")
    ax2.axhline(r.common_means[1], color="C3", ls=":", label="common-noise part (N-independent)")
    ax2.set_xlabel("number of particles N")
    ax2.set_ylabel("QV of <u^N, |x|^2> over tau in [0, 0.99]")
    ax2.set_title(f"independent noise: O(1/N), fitted slope {r.slope:.2f}")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    plain_log_ticks(fig)
    return Presentation(_qv_tables(r), [ctx.savefig(fig, "spde-qv-identity")])


CLAIM = Claim(
    "spde.qv-identity",
    "For a score error sum_k sigma_k o dB^k common to all particles, the quadratic "
    "variation of the projection <u_tau, phi> has rate sum_k <u_tau, sigma_k . grad phi>^2; "
    "for N particles independent sampler noise adds gamma g2 <u, |grad phi|^2>/N = O(1/N).",
    _SRC.format(sec="abstract: SPDE for the density under stochastic drift perturbations"),
    "1-D N(1, 0.5^2), OU T=1, gamma=1, 200 Euler steps to t=0.01, fields 0.3 and a bump; "
    "particles (24 x N=500 with common noise; 12 x N=50/200/1000 without) and the 1-D SPDE "
    "grid (8 paths, 400 cells, against 4000 particles on the same path)",
    compute=compute_qv_identity,
    decide=decide_qv_identity,
    present=present_qv_identity,
    rung=3,
    tolerance=f"CI of realised/predicted QV ratio inside [{1 - BAND}, {1 + BAND}]; "
    "|slope + 1| <= 0.15; particle-grid gap <= 4 MC sd + grid error",
    doc=f"{DOC}#qv-identity",
)
