"""``learned.error-peak``: A learned score's noise-prediction error peaks at an intermediate noise
level.

Its compute, decide and present; the mathematics: docs/claims/learned.md#error-peak.
"""

from __future__ import annotations

import numpy as np

from verify.claims.base import (
    Check,
    Claim,
    Decision,
    Presentation,
    Table,
    decide_checks,
)
from verify.claims.learned._common import (
    DOC,
    ErrorProfileResult,
    OverSeeds,
    _density_checks,
    _first_seed,
    _profile_columns,
    _separated,
    compute_error_profile,
    decide_over_seeds,
    seed_table,
)


def decide_error_peak(r: ErrorProfileResult) -> Decision:
    vals = [e[0] for e in r.eps]
    i_max = int(np.argmax(vals))
    checks = [Check(0 < i_max < len(vals) - 1, f"argmax at t={r.ts[i_max]:.3g} (interior)")]
    for j in (0, len(vals) - 1):
        v = _separated(r.eps[i_max], r.eps[j])
        ok = {"holds": True, "fails": False}.get(v)
        what = f"peak {vals[i_max]:.3g} at t={r.ts[i_max]:.3g} vs t={r.ts[j]:.3g}: {vals[j]:.3g}"
        checks.append(Check(ok, what))
    checks += _density_checks(r)
    ratio = [lo[0] / hi[0] for lo, hi in zip(r.low, r.high, strict=True)]
    peak, first, last = vals[i_max], vals[0], vals[-1]
    holds = (
        f"E|sigma_t e|^2 peaks at t={r.ts[i_max]:.3g} ({peak:.3g}): {peak / first:.2g}x its value "
        f"at t={r.ts[0]:.3g}, {peak / last:.2g}x at t={r.ts[-1]:.3g} (separated CIs); the raw "
        f"E|e|^2 still grows {r.raw[0][0] / r.raw[i_max][0]:.3g}x from the peak to "
        f"t={r.ts[0]:.3g} through the 1/sigma_t^2 scaling; low/high-density error ratio "
        f"{min(ratio):.2g}..{max(ratio):.2g} over t."
    )
    key = (
        f"E|sigma e|^2 peak at t={r.ts[i_max]:.3g}; low/high density "
        f"{min(ratio):.2g}..{max(ratio):.2g}"
    )
    return decide_checks(checks, holds, key)


def present_error_peak(r: ErrorProfileResult, ctx) -> Presentation:
    """Tables only: the figure is learned.error-profile's (same numbers)."""
    rows = [
        [t, *eps, lo[0] / hi[0]] for t, eps, lo, hi in zip(r.ts, r.eps, r.low, r.high, strict=True)
    ]
    cols = ["t", "E|sigma e|^2", "lo", "hi", "low/high density"]
    return Presentation({"noise-prediction error over t": Table(cols, rows)}, [])


def decide_error_peak_seeds(r: OverSeeds) -> Decision:
    return decide_over_seeds(decide_error_peak, r)


def present_error_peak_seeds(r: OverSeeds, ctx) -> Presentation:
    """Tables only: the figures are learned.error-profile's (same numbers)."""
    shown = _first_seed(present_error_peak(r.per_seed[0], ctx), r.training[0])
    table = seed_table(r, decide_error_peak, _profile_columns())
    return Presentation({"verdict and error peak per training seed": table, **shown.tables}, [])


CLAIM = Claim(
    "learned.error-peak",
    "A learned score's noise-prediction error E_{p_t}|sigma_t (s_theta - grad log p_t)|^2 "
    "peaks at an intermediate noise level (its maximum over t lies inside the grid, above "
    "both ends), and at every t it is larger in low-density regions of p_t.",
    "Song & Ermon 2019 (NeurIPS) §3.2; the statement learned.error-profile's numbers support",
    "the network, times and draws of learned.error-profile",
    compute=compute_error_profile,
    decide=decide_error_peak_seeds,
    present=present_error_peak_seeds,
    rung=4,
    tolerance="95% CIs separated (peak vs both end times; low vs high density)",
    doc=f"{DOC}#error-peak",
    requires=("torch",),
)
