"""``consistency`` (rung 4): particles from the exact ``p_{sigma_max}`` through a fine full
grid, CLT intervals of every coordinate's mean and second central moment against the exact
data values."""

from __future__ import annotations

import numpy as np

from verify.estimators import mean_ci
from verify.kit.checks.result import CheckResult
from verify.kit.checks.step_counts import at_supported_steps
from verify.kit.noise import _Source

__all__ = ["consistency"]


# ----------------------------------------------------------------------------- checks
def _check_consistency(ad, n_steps, n_particles, rng, level=0.99):
    levels = (level, 1.0 - (1.0 - level) / 10.0)
    nodes, seg = ad.full(n_steps, zero=True)
    start, target = ad.marginal(nodes[0]), ad.marginal(nodes[-1])
    x = start.sample(n_particles, rng)
    y = ad.run(x, seg, _Source("random", rng=rng))
    d = y.shape[1]
    lo_lvl, hi_lvl = (1.0 - (1.0 - lv) / (2 * d) for lv in levels)
    m, C = target.mean, np.atleast_2d(target.cov)
    rows, worst = [], 0.0
    for i in range(d):
        for label, samples, exact in (
            (f"mean[{i}]", y[:, i], m[i]),
            (f"E(x-m)^2[{i}]", (y[:, i] - m[i]) ** 2, C[i, i]),
        ):
            e = mean_ci(samples, lo_lvl)
            wide = mean_ci(samples, hi_lvl)
            ratio = abs(e.value - exact) / max(e.hi - e.value, 1e-300)
            worst = max(worst, ratio)
            rows.append(
                [
                    label,
                    exact,
                    e.value,
                    e.lo,
                    e.hi,
                    wide.lo,
                    wide.hi,
                    "yes" if e.contains(exact) else ("wide only" if wide.contains(exact) else "no"),
                ]
            )
    outside = [r for r in rows if r[-1] == "no"]
    between = [r for r in rows if r[-1] == "wide only"]
    verdict = "fails" if outside else ("inconclusive" if between else "holds")
    a, b = f"{100 * levels[0]:.6g}%", f"{100 * levels[1]:.6g}%"
    what = {
        "holds": f"all family-wise {a} CIs contain",
        "inconclusive": f"some {a} CIs exclude but all {b} CIs contain",
        "fails": f"some family-wise {b} CIs exclude",
    }[verdict]
    return CheckResult(
        "consistency",
        verdict,
        f"N={n_steps}, n={n_particles}: {what} the exact data moments (worst |est - exact| / "
        f"{a} half-width = {worst:.2f})",
        ["moment", "exact", "estimate", f"{a} lo", f"{a} hi", f"{b} lo", f"{b} hi", "contains"],
        rows,
        {"worst": worst},
    )


consistency = at_supported_steps(lambda *a: _check_consistency(*a))
