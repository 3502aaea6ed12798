"""Compare two runs: which verdicts and numbers changed (``diffusion-verify compare OLD NEW``).

A research group runs this in CI to see that a refactor changed no result. Each run is a
``results.json`` written by ``diffusion-verify report`` (``{"meta": ..., "claims": [...]}``) or
the list printed by ``check --json``. For every claim id in either run it reports

* the verdicts (``better``, ``worse``, ``same``; ``added`` / ``removed``), verdicts ordered
  ``holds`` > ``inconclusive`` > ``fails``;
* the numbers: every numeric table cell, compared with ``|a - b| <= rtol max(|a|, |b|) + atol``
  (defaults ``rtol = 1e-9``, ``atol = 1e-12``), and whether the tables' shapes, the text cells
  and the key number are unchanged.

:func:`compare_runs` returns a :class:`Comparison` (``worse`` lists the ids whose verdict got
worse, ``changed`` the ids whose numbers moved beyond the tolerance).
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ClaimChange", "Comparison", "load_run", "compare_runs"]

_RANK = {"fails": 0, "inconclusive": 1, "holds": 2}


def load_run(path) -> dict[str, dict]:
    """``{claim id: claim object}`` from a ``results.json`` or a ``check --json`` list."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from None
    claims = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(claims, list) or not all(
        isinstance(c, dict) and "id" in c and "verdict" in c for c in claims
    ):
        raise ValueError(
            f"{path}: expected a results.json ({{'claims': [...]}}) or a check --json list"
        )
    return {c["id"]: c for c in claims}


def _number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if v in ("nan", "inf", "-inf"):
        return float(v)
    return None


@dataclass
class ClaimChange:
    """One claim: verdicts, the largest relative change of a number, what else changed."""

    id: str
    old_verdict: str | None
    new_verdict: str | None
    max_rel_change: float = 0.0
    worst_cell: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def verdict_change(self) -> str:
        if self.old_verdict is None:
            return "added"
        if self.new_verdict is None:
            return "removed"
        a, b = _RANK.get(self.old_verdict, 1), _RANK.get(self.new_verdict, 1)
        return "same" if a == b else ("better" if b > a else "worse")


@dataclass
class Comparison:
    """All claims of two runs; see :func:`compare_runs`."""

    changes: list[ClaimChange]
    rtol: float
    atol: float

    @property
    def worse(self) -> list[str]:
        return [c.id for c in self.changes if c.verdict_change in ("worse", "removed")]

    @property
    def changed(self) -> list[str]:
        return [c.id for c in self.changes if c.notes]

    def render(self) -> str:
        """A plain-text table of every claim, then the differences."""
        width = max([len(c.id) for c in self.changes] + [5])
        lines = [f"{'claim':<{width}}  old           new           verdict  numbers"]
        for c in self.changes:
            nums = "unchanged" if not c.notes else f"max rel change {c.max_rel_change:.2e}"
            lines.append(
                f"{c.id:<{width}}  {c.old_verdict or '-':<12}  {c.new_verdict or '-':<12}  "
                f"{c.verdict_change:<7}  {nums}"
            )
        for c in self.changes:
            for note in c.notes[:6]:
                lines.append(f"  {c.id}: {note}")
            if len(c.notes) > 6:
                lines.append(f"  {c.id}: ... {len(c.notes) - 6} more")
        n_same = sum(1 for c in self.changes if not c.notes and c.verdict_change == "same")
        lines.append(
            f"{len(self.changes)} claims: {n_same} unchanged (rtol {self.rtol:g}, atol "
            f"{self.atol:g}), {len(self.changed)} with changed numbers, {len(self.worse)} worse"
        )
        return "\n".join(lines)


def _compare_tables(old: dict, new: dict, rtol: float, atol: float, ch: ClaimChange) -> None:
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            ch.notes.append(f"table {name!r} {'added' if name in new else 'removed'}")
            continue
        a, b = old[name], new[name]
        if a.get("columns") != b.get("columns"):
            ch.notes.append(f"table {name!r}: columns changed")
        timing = {j for j, c in enumerate(a.get("columns", [])) if _is_timing(c)}
        ra, rb = a.get("rows", []), b.get("rows", [])
        if len(ra) != len(rb):
            ch.notes.append(f"table {name!r}: {len(ra)} -> {len(rb)} rows")
            continue
        for i, (row_a, row_b) in enumerate(zip(ra, rb, strict=True)):
            for j, (x, y) in enumerate(zip(row_a, row_b, strict=False)):
                if j in timing:
                    continue
                _compare_cell(x, y, f"{name!r}[{i}][{j}]", rtol, atol, ch)


def _is_timing(column: str) -> bool:
    """Wall-time columns (``seconds``, ``time (s)``) are not results: they are not compared."""
    c = str(column).lower()
    return c in ("seconds", "time", "wall time") or c.startswith(("time (", "seconds ("))


def _compare_cell(x, y, where: str, rtol: float, atol: float, ch: ClaimChange) -> None:
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for k, (u, v) in enumerate(zip(x, y, strict=True)):
            _compare_cell(u, v, f"{where}[{k}]", rtol, atol, ch)
        return
    u, v = _number(x), _number(y)
    if u is None or v is None:
        if x != y:
            ch.notes.append(f"{where}: {x!r} -> {y!r}")
        return
    if u == v or (math.isnan(u) and math.isnan(v)):
        return
    diff = abs(u - v)
    scale = max(abs(u), abs(v))
    rel = diff / scale if scale > 0 and math.isfinite(diff) else math.inf
    if not diff <= rtol * scale + atol:
        ch.notes.append(f"{where}: {u:.10g} -> {v:.10g}")
        if rel > ch.max_rel_change:
            ch.max_rel_change, ch.worst_cell = rel, where


def compare_runs(old, new, *, rtol: float = 1e-9, atol: float = 1e-12, only=None) -> Comparison:
    """Compare two runs (paths or ``{id: claim}`` dicts); see the module docstring.

    ``only``: glob patterns of claim ids to compare (default: all). Wall-time columns are
    skipped.
    """
    if not (rtol >= 0 and atol >= 0):
        raise ValueError(f"rtol and atol must be >= 0, got {rtol!r}, {atol!r}")
    old = load_run(old) if not isinstance(old, dict) else old
    new = load_run(new) if not isinstance(new, dict) else new
    ids = list(old) + [i for i in new if i not in old]
    if only:
        ids = [i for i in ids if any(fnmatch.fnmatchcase(i, p) or i == p for p in only)]
    changes = []
    for cid in ids:
        a, b = old.get(cid), new.get(cid)
        ch = ClaimChange(cid, a and a["verdict"], b and b["verdict"])
        if a is not None and b is not None:
            if a.get("key_number") != b.get("key_number"):
                ch.notes.append(f"key number: {a.get('key_number')!r} -> {b.get('key_number')!r}")
            if "error" in b and "error" not in a:
                ch.notes.append("the new run raised an error")
            _compare_tables(a.get("tables", {}), b.get("tables", {}), rtol, atol, ch)
        changes.append(ch)
    return Comparison(changes, rtol, atol)
