"""``theory.discretization-order``: Each sampler's discretization bias shrinks at its weak order.

Its compute, decide and present; the mathematics: docs/claims/theory.md#discretization-order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytic import VP
from verify.claims.base import Claim, Decision, Presentation, Table
from verify.claims.theory._common import (
    DOC,
    _data_2d,
)

_METHOD_COLOURS = {
    "euler": "C0",
    "exponential": "C1",
    "heun": "C2",
    "ddpm": "C3",
    "ancestral": "C4",
    "pc": "C5",
}

ORDER_CASES = (
    ("euler", 1.0),
    ("euler", 0.0),
    ("exponential", 1.0),
    ("heun", 0.0),
    ("ddpm", 1.0),
    ("ancestral", 1.0),
    ("ancestral", 0.0),
)


@dataclass
class OrderRunResult:
    """One dict per case: method, gamma, steps, errors, slope, expected, tolerance."""

    cases: list


def _order_task(task):
    from verify.solvers.orders import weak_order

    sde = VP(0.1, 20.0)
    data = _data_2d()
    kw = {"snr": 0.16} if task["method"] == "pc" else {}
    res = weak_order(
        sde, data, None, task["gamma"], task["method"], task["steps"], t_min=1e-2, **kw
    )
    return {
        "method": task["method"],
        "gamma": task["gamma"],
        "steps": res.steps.tolist(),
        "errors": res.errors.tolist(),
        "slope": float(res.slope),
        "expected": res.expected,
        "tolerance": res.tolerance,
    }


def compute_order(ctx) -> OrderRunResult:
    steps = [50, 100, 200, 400] if ctx.quick else [50, 100, 200, 400, 800, 1600]
    tasks = [{"method": m, "gamma": g, "steps": steps} for m, g in ORDER_CASES]
    return OrderRunResult(ctx.map(_order_task, tasks, desc="methods"))


def _order_ok(case) -> bool:
    return case["expected"] is None or abs(case["slope"] - case["expected"]) <= case["tolerance"]


def decide_order(r: OrderRunResult) -> Decision:
    bad = [f"{c['method']}(gamma={c['gamma']:g})" for c in r.cases if not _order_ok(c)]
    key = "slopes " + ", ".join(
        f"{c['method']} (gamma {c['gamma']:g}): {c['slope']:.2f}" for c in r.cases[:4]
    )
    if bad:
        return Decision("fails", f"orders off the table: {', '.join(bad)}", key)
    return Decision("holds", "measured weak orders agree with the table within 0.3", key)


def _coincides_with(case, earlier, rtol: float = 0.05):
    """The first earlier case whose error curve lies within ``rtol`` of ``case``'s at every
    step count (the two lines would be drawn on top of each other), else None."""
    for c in earlier:
        if list(c["steps"]) == list(case["steps"]) and np.allclose(
            case["errors"], c["errors"], rtol=rtol, atol=0.0
        ):
            return c
    return None


def present_order(r: OrderRunResult, ctx) -> Presentation:
    rows = [
        [c["method"], c["gamma"], c["expected"], c["slope"], c["errors"][-1], _order_ok(c)]
        for c in r.cases
    ]
    fig = ctx.figure(figsize=(7.4, 3.8))
    ax = fig.add_subplot()
    markers = "osD^vP*Xh"
    for k, c in enumerate(r.cases):
        # curves that coincide (ddpm on euler at gamma = 1) stay visible and say so: a hollow
        # marker per curve, larger on top of the ones before it, dotted over the curve it hides
        under = _coincides_with(c, r.cases[:k])
        name = f"{c['method']}, gamma={c['gamma']:g}"
        ax.loglog(
            c["steps"],
            c["errors"],
            marker=markers[k % len(markers)],
            ms=4 + 1.5 * k,
            mfc="none",
            mew=1.2,
            lw=1.6 if under else 1.2,
            color=_METHOD_COLOURS.get(c["method"]),
            ls=":" if under else "-" if c["gamma"] > 0 or c["method"] == "heun" else "--",
            label=f"{name} (slope {c['slope']:.2f})"
            + (f"\n  on top of {under['method']}, gamma={under['gamma']:g}" if under else ""),
        )
    from matplotlib.ticker import NullLocator

    steps = r.cases[0]["steps"] if r.cases else []
    ax.set_xticks(steps, [str(n) for n in steps])  # the step counts run, as plain numbers
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("number of steps N")
    ax.set_ylabel("weak error |dm| + ||dC||_F")
    ax.set_title("VP, 2-D Gaussian, exact score, start p_T", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside, not over
    columns = ["method", "gamma", "expected order", "measured slope", "error at finest N", "ok"]
    return Presentation(
        {"weak order (error vs exact continuous-time law)": Table(columns, rows)},
        [ctx.savefig(fig, "weak-orders", tight=True)],
    )


CLAIM = Claim(
    "theory.discretization-order",
    "The discretization bias of each sampler shrinks at its weak order (euler, "
    "exponential, ddpm, ancestral: 1; heun: 2).",
    "standard (Kloeden & Platen 1992; the method records of verify.solvers.methods)",
    "VP(0.1, 20), 2-D Gaussian data, exact score, start p_T, uniform grids to t_min = "
    "0.01; error |dm| + ||dC||_F of the exact chain law against the exact continuous law.",
    compute=compute_order,
    decide=decide_order,
    present=present_order,
    rung=2,
    tolerance="|slope - expected| <= 0.3",
    doc=f"{DOC}#discretization-order",
)
