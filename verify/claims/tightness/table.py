"""``tightness.table``: Every bound the claims check holds wherever searched, except the recorded
findings.

Its compute, decide and present; the mathematics: docs/claims/tightness.md#table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verify.claims.base import Check, Claim, Decision, Presentation, Table, decide_checks
from verify.claims.tightness import (
    bakry_emery_vp,
    elbo,
    kl_bound,
    kl_bound_disc,
    kl_bound_init,
    kl_bound_score,
    lsi_rate,
    mixture_lsi_bakry_emery,
    mixture_lsi_ccnw,
    ode_w2,
    ve_ancestral_disc,
    ve_ancestral_disc_steep,
    young_lsi,
)
from verify.claims.tightness._common import (
    _SPEC,
    DOC,
    OUTSIDE,
    _fmt_setting,
    _result,
    decide_bound,
)

BOUND_FILES = (
    lsi_rate,
    young_lsi,
    ode_w2,
    kl_bound,
    kl_bound_init,
    kl_bound_score,
    kl_bound_disc,
    ve_ancestral_disc,
    ve_ancestral_disc_steep,
    elbo,
    bakry_emery_vp,
    mixture_lsi_bakry_emery,
    mixture_lsi_ccnw,
)
"""The bound claims, in report order: the rows of the table (a new bound is a file and a line
here)."""
_KEYS = tuple(m.SPEC["key"] for m in BOUND_FILES)


@dataclass
class TableResult:
    """One row per bound: the fields of :class:`TightnessResult` that the table shows."""

    rows: list
    seeds: list = field(default_factory=list)


def compute_table(ctx) -> TableResult:
    rows, seeds = [], []
    for key in _KEYS:
        r = _result(key, ctx)
        d = decide_bound(r)
        rows.append(
            {
                "key": key,
                "checks": _SPEC[key]["checks"],
                "formula": _SPEC[key]["inequality"],
                "verdict": d.verdict,
                "worst_ratio": r.worst_ratio,
                "setting": _fmt_setting(r.setting),
                "best_constant": r.best_constant,
                "theorem_constant": r.theorem_constant,
                "evaluations": r.evaluations,
                "rung": _SPEC[key]["rung"],
                "finding": bool(_SPEC[key].get("finding")),
                "outside_domain": int(r.skipped.get(OUTSIDE, 0)),
                "domain": r.domain,
            }
        )
        seeds += r.seeds
    return TableResult(rows, seeds)


def decide_table(r: TableResult) -> Decision:
    """``fails`` if a bound fails that has no recorded finding, or a recorded finding no
    longer reproduces (its bound now holds); ``inconclusive`` if a search is undecided;
    ``holds`` otherwise (a refuted bound with its finding and true statement is a result)."""
    unexpected = [f"{row['key']} {row['verdict']}" for row in r.rows
                  if row["verdict"] == "fails" and not row.get("finding")]  # fmt: skip
    stale = [row["key"] for row in r.rows if row.get("finding") and row["verdict"] == "holds"]
    undecided = [row["key"] for row in r.rows if row["verdict"] == "inconclusive"]
    refuted = [row["key"] for row in r.rows if row.get("finding") and row["verdict"] == "fails"]
    tight = [row["key"] for row in r.rows
             if row["verdict"] == "holds" and abs(row["worst_ratio"] - 1.0) <= 1e-3]  # fmt: skip
    held = [row for row in r.rows if row["verdict"] == "holds"]
    loosest = max(held, key=lambda row: row["worst_ratio"]) if held else None
    text = (
        f"{len(held)} of {len(r.rows)} bounds hold within their budgets"
        + (f"; refuted with a recorded finding: {', '.join(refuted)}" if refuted else "")
        + f"; attained (worst ratio within 1e-3 of 1, measured where each bound carries "
        f"information): {', '.join(tight) or 'none'}"
        + (
            "; excluded as uninformative (outside the bound's domain): "
            + ", ".join(
                f"{row['key']} {row['outside_domain']}"
                for row in r.rows
                if row.get("outside_domain")
            )  # fmt: skip
            if any(row.get("outside_domain") for row in r.rows)
            else ""
        )
        + (
            f"; loosest: {loosest['key']} (worst ratio {loosest['worst_ratio']:.4g})"
            if loosest
            else ""
        )  # fmt: skip
        + "."
    )
    checks = [Check(False, f"unexpected: {x}") for x in unexpected]
    checks += [Check(False, f"recorded finding no longer reproduces: {k} holds") for k in stale]
    checks += [Check(None, f"undecided: {k}") for k in undecided]
    d = decide_checks(checks, text, f"{len(held)}/{len(r.rows)} bounds hold")
    return d if d.verdict == "holds" else Decision(d.verdict, d.reason + " " + text, d.key_number)


def present_table(r: TableResult, ctx) -> Presentation:
    columns = [
        "bound",
        "checks",
        "inequality",
        "worst ratio bound/truth",
        "worst setting",
        "best constant",
        "theorem constant",
        "settings",
        "rung",
        "verdict",
    ]
    rows = [
        [
            f"tightness.{row['key']}",
            row["checks"],
            row["formula"],
            row["worst_ratio"],
            row["setting"],
            row["best_constant"],
            "" if row["theorem_constant"] is None else row["theorem_constant"],
            row["evaluations"],
            row["rung"],
            row["verdict"],
        ]
        for row in r.rows
    ]
    return Presentation({"Tightness of every bound the claims check": Table(columns, rows)}, [])


CLAIM = Claim(
    "tightness.table",
    "Every bound the claims check holds at every setting its tightness search visits, "
    "except those refuted with a recorded finding (each beside its true statement), "
    "and the table reports each bound's worst ratio bound/truth, where it is attained, and "
    "the smallest constant that still holds next to the theorem's constant.",
    "the sources of the individual bounds (tightness.* claims)",
    "the searches of the tightness.* claims (same budgets and seeds)",
    compute=compute_table,
    decide=decide_table,
    present=present_table,
    rung=max(m.SPEC["rung"] for m in BOUND_FILES),
    tolerance="as each tightness.* claim",
    doc=f"{DOC}#table",
)
