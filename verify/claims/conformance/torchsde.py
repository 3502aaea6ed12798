"""``conformance.torchsde``: torchsde's sdeint methods converge at least at their declared weak
orders.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#torchsde.
"""

from __future__ import annotations

from verify.claims.base import Claim, Decision
from verify.claims.conformance._common import (
    DOC,
    TableResult,
    _compute_table,
    decide_orders,
    decide_rules,
    present_table,
)


def decide_torchsde(r: TableResult) -> Decision:
    a, b = decide_rules(r), decide_orders(r)
    if a.verdict == "holds" and b.verdict == "holds":
        higher = [x["name"] for x in r.rows if x["slope"] and x["slope"] > x["expected"] + 0.3]
        note = f"; measured order above the declared one: {', '.join(higher)}" if higher else ""
        return Decision("holds", b.reason + "; " + a.reason + note, b.key_number)
    bad = a if a.verdict != "holds" else b
    return Decision(bad.verdict, bad.reason, bad.key_number)


CLAIM = Claim(
    "conformance.torchsde",
    "torchsde.sdeint (euler, milstein, srk, reversible_heun) on the reverse SDE of VP with "
    "the exact score converges at least at the weak order its method class declares "
    "(euler 1, milstein 1, srk 1.5, reversible_heun 1), euler and milstein equal "
    "Euler-Maruyama (our euler record) step for step, and every method is consistent.",
    "torchsde (Li et al. 2020; Kidger et al. 2021) method classes' weak_order",
    "VP(0.1, 20), 2-D correlated Gaussian, gamma = 1, t from 1 to 0.01, uniform steps "
    "N = 8..64; additive noise; Brownian increments and space-time Levy areas probed",
    requires=("torch", "torchsde"),
    compute=_compute_table("torchsde"),
    decide=decide_torchsde,
    present=present_table,
    rung=2,
    tolerance="slope >= declared - 0.3; step law rel 1e-6; output KL at N = 50 <= KL at N = 10 / 4",
    doc=f"{DOC}#torchsde",
)
