"""``conformance.k-diffusion-startup-orders``: Every k-diffusion sampler converges at least at
order min(p, 2) on fine grids.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#k-diffusion-
startup-orders.
"""

from __future__ import annotations

from verify.claims.base import Check, Claim, Decision, decide_checks
from verify.claims.conformance._common import (
    DOC,
    TableResult,
    _compute_table,
    _drivable,
    _kdiffusion_sampling,
    local_order,
    present_order_table,
)

STARTUP_CAP = 2.0


def decide_startup_orders(r: TableResult) -> Decision:
    """``holds`` iff every row with a stated order ``p`` has a local order (finest two grids)
    of at least ``min(p, 2) - 0.3``."""
    checks = []
    for x in _drivable(r):
        if x["expected"] is None:
            continue
        q = local_order(x)
        need = min(float(x["expected"]), STARTUP_CAP) - 0.3
        what = f"{x['name']}: local order {'-' if q is None else f'{q:.2f}'} (need >= {need:.1f})"
        checks.append(Check(None if q is None else q >= need, what))
    worst = min(
        (
            (local_order(x) or 0.0) - min(float(x["expected"]), STARTUP_CAP)
            for x in _drivable(r)
            if x["expected"] is not None
        ),
        default=0.0,
    )
    return decide_checks(
        checks,
        f"every stated order p is met at least as min(p, 2) between the two finest grids "
        f"(worst margin {worst:+.2f})",
        f"worst margin {worst:+.2f}",
    )


CLAIM = Claim(
    "conformance.k-diffusion-startup-orders",
    "Every k-diffusion sampler with a stated order p converges at least at order min(p, 2) "
    "between the two finest grids (N = 64 and 128): a multistep sampler whose start-up "
    "steps are of lower order keeps at least the second order a first-order start allows.",
    "standard (a fixed number of start-up steps with local error O(h^2) contributes O(h^2) "
    "to the global error; Hairer, Norsett, Wanner, Solving ODEs I, §III.2)",
    "as conformance.k-diffusion-orders; local order log(e_64 / e_128) / log 2",
    requires=("torch", _kdiffusion_sampling),
    compute=_compute_table("k-diffusion"),
    decide=decide_startup_orders,
    present=present_order_table,
    rung=2,
    tolerance="local order >= min(p, 2) - 0.3",
    doc=f"{DOC}#k-diffusion-startup-orders",
)
