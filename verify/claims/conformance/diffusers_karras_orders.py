"""``conformance.diffusers-karras-orders``: On Karras sigmas, the diffusers schedulers converge at
their method's weak order.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#diffusers-karras-
orders.
"""

from __future__ import annotations

from verify.claims.base import Check, Claim, Decision, decide_checks
from verify.claims.conformance._common import (
    DOC,
    TableResult,
    _compute_table,
    _fmt,
    present_order_table,
)

KARRAS_ROWS = ("Euler karras", "EDMEuler", "EDMDPMSolverMultistep")


def decide_karras_orders(r: TableResult) -> Decision:
    """``holds`` iff the rows on Karras sigmas meet their stated order within 0.3."""
    rows = [x for x in r.rows if x["name"] in KARRAS_ROWS]
    checks = [
        Check(
            x["checks"]["weak-order"][0] == "holds", f"{x['name']}: {x['checks']['weak-order'][1]}"
        )
        for x in rows
    ]
    if not rows:
        return Decision("inconclusive", "no row on Karras sigmas in the table", "")
    slopes = ", ".join(f"{x['name']} {_fmt(x['slope'])}" for x in rows)
    return decide_checks(checks, f"on Karras sigmas the stated orders hold: {slopes}", slopes)


CLAIM = Claim(
    "conformance.diffusers-karras-orders",
    "On Karras sigmas (EulerDiscreteScheduler with use_karras_sigmas, EDMEulerScheduler, "
    "EDMDPMSolverMultistepScheduler) the diffusers schedulers converge at the weak order of "
    "their method (1, 1, 2).",
    "Karras et al. 2022 §3 (the rho = 7 schedule); Lu et al. 2022 (DPM-Solver++(2M))",
    "as conformance.diffusers-orders, the Karras-sigma rows",
    requires=("torch", "diffusers", "torchsde"),
    compute=_compute_table("diffusers"),
    decide=decide_karras_orders,
    present=present_order_table,
    rung=2,
    tolerance="|fitted slope - stated order| <= 0.3",
    doc=f"{DOC}#diffusers-karras-orders",
)
