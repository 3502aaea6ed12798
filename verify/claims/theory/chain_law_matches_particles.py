"""``theory.chain-law-matches-particles``: The exact law of each sampling chain agrees with its
particles within their CIs.

Its compute, decide and present; the mathematics: docs/claims/theory.md#chain-law-matches-
particles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytic import VP
from verify.claims.base import Check, Claim, Decision, Presentation, Table, decide_checks
from verify.claims.theory._common import (
    DOC,
    _data_2d,
)
from verify.runtime.sweep import task_seed

LADDER_CASES = (
    ("euler", 1.0),
    ("euler", 0.5),
    ("exponential", 2.0),
    ("heun", 0.0),
    ("ddpm", 1.0),
    ("ancestral", 0.5),
    ("pc", 1.0),
)

# 7 cases x (2 + 3) statistics: a 4.5-sigma bound keeps the family-wise false alarm < 1e-3
LADDER_Z = 4.5


@dataclass
class LadderResult:
    """Rows ``[method, gamma, max z (mean), max z (cov)]``."""

    rows: list
    n: int
    seeds: list


def _ladder_task(task):
    from verify.solvers.chain_laws import exact_law
    from verify.solvers.grids import uniform
    from verify.solvers.particles import reverse_sample

    sde = VP(0.1, 20.0)
    data = _data_2d()
    rng = np.random.default_rng(task["seed"])
    grid = uniform(sde, 20, t_min=1e-2)
    init = sde.prior(2)
    law = exact_law(sde, data, init, grid, task["gamma"], task["method"])
    n = task["n"]
    x = reverse_sample(
        sde, sde.score(data), init.sample(n, rng), grid, task["gamma"], task["method"], rng
    )
    m, C = law.mean, law.cov
    z_mean = np.abs(x.mean(0) - m) / np.sqrt(np.diag(C) / n)
    S = np.cov(x.T)
    se_c = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C * C) / n)
    z_cov = np.abs(S - C) / se_c
    return [task["method"], task["gamma"], float(z_mean.max()), float(z_cov.max())]


def compute_ladder(ctx) -> LadderResult:
    n = 100_000 if ctx.quick else 1_000_000
    tasks = [
        {"method": m, "gamma": g, "n": n, "seed": task_seed(ctx.seed, "ladder", m, g)}
        for m, g in LADDER_CASES
    ]
    rows = ctx.map(_ladder_task, tasks, desc="methods")
    return LadderResult(rows, n, [t["seed"] for t in tasks])


def decide_ladder(r: LadderResult) -> Decision:
    checks = [
        Check(max(row[2], row[3]) <= LADDER_Z, f"{row[0]}(gamma={row[1]:g})") for row in r.rows
    ]
    key = f"max z = {max(max(row[2], row[3]) for row in r.rows):.2f}"
    bad = [c.detail for c in checks if not c.ok]
    if bad:
        return Decision("fails", f"outside {LADDER_Z} SE: {', '.join(bad)}", key)
    return decide_checks(
        checks,
        f"all methods' particle moments lie within {LADDER_Z} SE of the exact chain law",
        key,
    )


def present_ladder(r: LadderResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(5.2, 3.4))
    ax = fig.add_subplot()
    lab = [f"{row[0]}\ng={row[1]:g}" for row in r.rows]
    xs = np.arange(len(r.rows))
    ax.bar(xs - 0.2, [row[2] for row in r.rows], 0.4, label="mean")
    ax.bar(xs + 0.2, [row[3] for row in r.rows], 0.4, label="covariance")
    ax.axhline(LADDER_Z, color="k", ls="--", lw=0.8, label=f"{LADDER_Z} SE")
    ax.set_xticks(xs, lab, fontsize=7)
    ax.set_ylabel("max |particles - exact law| (standard errors)")
    ax.set_title(f"VP, 2-D Gaussian, 20 steps, {r.n:,} particles", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    columns = ["method", "gamma", "max z (mean)", "max z (cov)"]
    return Presentation(
        {"particles vs exact chain law (z-scores)": Table(columns, r.rows)},
        [ctx.savefig(fig, "ladder")],
    )


CLAIM = Claim(
    "theory.chain-law-matches-particles",
    "The exact law of each sampling chain (rung 2) agrees with particles from the "
    "vectorized samplers (rung 4) within their Monte-Carlo confidence intervals.",
    "standard (the exactness ladder, docs/theory.md)",
    "VP(0.1, 20), 2-D Gaussian data, start N(0, I), 20 uniform steps to t_min = 0.01.",
    compute=compute_ladder,
    decide=decide_ladder,
    present=present_ladder,
    rung=2,
    tolerance=f"{LADDER_Z} standard errors (family-wise)",
    doc=f"{DOC}#chain-law-matches-particles",
)
