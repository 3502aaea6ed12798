"""``conformance.mutants-caught``: The kit catches each deliberately planted sampler bug.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#mutants-caught.
"""

from __future__ import annotations

import numpy as np

from verify.claims.base import Claim, Decision, Presentation, Table
from verify.claims.conformance._common import (
    CHECKS,
    DOC,
    GroupResult,
    _compute_group,
)


def _mutant_names():
    from verify.kit import references as R

    return list(R.MUTANTS)


def decide_mutants(r: GroupResult) -> Decision:
    """``holds`` iff every mutant's kit verdict is ``fails`` (each bug is caught)."""
    results = r.samplers
    n = len(results)
    caught = [x for x in results if x["verdict"] == "fails"]
    reason = f"{len(caught)}/{n} mutants reported 'fails'"
    if len(caught) != n:
        reason += "; missed: " + ", ".join(x["name"] for x in results if x["verdict"] != "fails")
    verdict = "holds" if len(caught) == n else "fails"
    return Decision(verdict, reason, f"{len(caught)}/{n} mutants caught")


def present_mutants(r: GroupResult, ctx) -> Presentation:
    from matplotlib.colors import ListedColormap

    from verify.kit import references as R

    results = r.samplers
    rows = []
    for x in results:
        by = [k for k in CHECKS if x["checks"][k][0] == "fails"]
        rows.append(
            [
                x["name"],
                R.MUTANTS[x["name"]][4],
                *("caught" if x["checks"][k][0] == "fails" else "not caught" for k in CHECKS),
                ", ".join(by) or "NONE",
            ]
        )
    fig = ctx.figure(figsize=(6.5, 3.2))
    ax = fig.add_subplot()
    grid = np.array(
        [[1.0 if x["checks"][k][0] == "fails" else 0.0 for k in CHECKS] for x in results]
    )
    ax.imshow(grid, cmap=ListedColormap(["#dddddd", "#4caf50"]), vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(CHECKS)), CHECKS, fontsize=8)
    ax.set_yticks(range(len(results)), [x["name"] for x in results], fontsize=7)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(
                j, i, "caught" if grid[i, j] else "not caught", ha="center", va="center", fontsize=7
            )
    ax.set_xlabel("check of verify.kit.conformance (green: the check reported 'fails')")
    ax.set_title("deliberate mutants: which check caught each", fontsize=9)
    table = Table(["mutant", "bug", *CHECKS, "caught by"], rows)
    return Presentation(
        {"mutants (caught / not caught per check)": table}, [ctx.savefig(fig, "mutants")]
    )


CLAIM = Claim(
    "conformance.mutants-caught",
    "Each deliberate bug (noise scale x sqrt 2, denoiser at sigma_{k+1}, missing "
    "(1+gamma)/2, sigma^2 passed as sigma, loop one step short, DDIM noise eta^2 instead of "
    "eta) makes the kit report 'fails', naming the check(s) that caught it.",
    "standard (a conformance check must catch the bugs it exists for)",
    "2-D correlated Gaussian; EDM sigma in [0.02, 20] (k-diffusion, ours); DDIM: 1000 linear "
    "betas 1e-4..0.02; each mutant checked against the method it claims to be",
    compute=_compute_group("mutants", _mutant_names, "deliberate mutants"),
    decide=decide_mutants,
    present=present_mutants,
    rung=2,
    tolerance="a mutant is caught when check_sampler's verdict is 'fails' (tolerances as for "
    "conforming samplers)",
    doc=f"{DOC}#mutants-caught",
)
