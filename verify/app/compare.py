"""Compare two runs: which verdicts and numbers changed (``diffusion-verify compare OLD NEW``).

A research group runs this in CI to see that a refactor changed no result. Each run is a
``results.json`` written by ``diffusion-verify report`` (``{"meta": ..., "claims": [...]}``) or
the list printed by ``check --json``. For every claim id in either run it reports

* the verdicts, judged against the claim's **expected** verdict (``"expected"`` in the results;
  a recorded finding expects ``fails``): ``better`` / ``worse`` when the new verdict is closer
  to / further from the expected one (expected > inconclusive > the other decided verdict), so
  a finding that keeps failing is ``same`` and an inconclusive finding that now fails is
  ``better``; a change to or from ``error`` is named ``error`` (worse) / ``error fixed``, one
  to or from ``skipped`` is ``skipped`` / ``unskipped`` (neither: a requirement came or went);
  ``added`` / ``removed``;
* the numbers: every numeric table cell, compared with ``|a - b| <= rtol max(|a|, |b|) + atol``
  (defaults ``rtol = 1e-9``, ``atol = 1e-12``); NaN and infinities compare as what they are
  (NaN equals only NaN, inf only the same inf), and a finite number that became inf or NaN is
  a moved number and makes the claim worse. The largest relative change ``|a - b| / max(|a|,
  |b|)`` is over the moved numbers (inf when one side is not finite); changed tables' shapes,
  text cells and key numbers are listed as other changes.

The files are read defensively (:func:`load_run`): a regular file of at most
:data:`MAX_BYTES`, JSON nested at most :data:`MAX_DEPTH` deep, the schema of this toolkit's
results, unique claim ids; anything else is a ``ValueError`` of one line (exit code 2).

:func:`compare_runs` returns a :class:`Comparison` (``worse`` lists the ids whose verdict got
worse or whose numbers became non-finite, ``changed`` the ids whose numbers moved).
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from verify.claims.base import DECISIONS, VERDICTS

__all__ = [
    "ClaimChange",
    "Comparison",
    "load_run",
    "compare_runs",
    "MAX_BYTES",
    "MAX_DEPTH",
    "ResultsFileError",
]

MAX_BYTES = 50 * 1024 * 1024
"""The largest results file read (a full report's results.json is well under 10 MB)."""
MAX_DEPTH = 64
"""The deepest JSON nesting accepted (a results.json nests about 6 deep)."""
_MAX_CELL_DEPTH = 4
"""Table cells may be numbers, strings, null or lists of those, nested at most this deep."""


class ResultsFileError(ValueError):
    """A file that is not a results.json of this toolkit (one line: the path and the cause)."""


# ----------------------------------------------------------------------------- reading
def _json_depth(data) -> int:
    """The deepest nesting of lists / objects in parsed JSON ``data`` (iterative)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:  # deeper is rejected anyway: stop walking
                stack.extend((v, depth + 1) for v in node if isinstance(v, list | dict))
    return deepest


def _read_bounded(path: str) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most :data:`MAX_BYTES` (checked
    with ``stat`` before opening: a FIFO, a device such as /dev/zero or a directory is never
    read)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ResultsFileError(f"{path}: {kind} (expected a results.json)")
    if info.st_size > MAX_BYTES:
        raise ResultsFileError(
            f"{path}: {info.st_size / 2**20:.0f} MB, larger than a results.json can be "
            f"({MAX_BYTES // 2**20} MB)"
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # replaced since the stat
            raise ResultsFileError(f"{path}: not a regular file (expected a results.json)")
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ResultsFileError(f"{path}: larger than {MAX_BYTES // 2**20} MB")
    return raw


def _parse(path: str, raw: bytes):
    """JSON of ``raw``: the C parser stops at the interpreter's recursion limit (a
    RecursionError, caught), and anything nested deeper than :data:`MAX_DEPTH` is refused."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultsFileError(f"{path}: not UTF-8 text (expected a results.json)") from None
    except RecursionError:
        raise ResultsFileError(
            f"{path}: JSON nested too deeply (over {MAX_DEPTH} levels; a results.json nests ~6)"
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer with too many digits
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ResultsFileError(f"{path}: not valid JSON ({first})") from None
    if _json_depth(data) > MAX_DEPTH:
        raise ResultsFileError(
            f"{path}: JSON nested too deeply (over {MAX_DEPTH} levels; a results.json nests ~6)"
        )
    return data


def _kind(v) -> str:
    return "null" if v is None else type(v).__name__


def _cell_ok(v, depth: int = 0) -> bool:
    if v is None or isinstance(v, bool | int | float | str):
        return True
    if isinstance(v, list) and depth < _MAX_CELL_DEPTH:
        return all(_cell_ok(u, depth + 1) for u in v)
    return False


def _check_table(where: str, table) -> None:
    if not isinstance(table, dict):
        raise ResultsFileError(f"{where}: expected a table object, got {_kind(table)}")
    columns, rows = table.get("columns", []), table.get("rows", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ResultsFileError(f"{where}.columns: expected a list of names, got {_kind(columns)}")
    if not isinstance(rows, list):
        raise ResultsFileError(f"{where}.rows: expected a list of rows, got {_kind(rows)}")
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise ResultsFileError(f"{where}.rows[{i}]: expected a list of cells, got {_kind(row)}")
        for j, cell in enumerate(row):
            if not _cell_ok(cell):
                raise ResultsFileError(
                    f"{where}.rows[{i}][{j}]: expected a number, text or null, got {_kind(cell)}"
                )


def _check_claim(where: str, c) -> None:
    if not isinstance(c, dict):
        raise ResultsFileError(f"{where}: expected a claim object, got {_kind(c)}")
    cid = c.get("id")
    if not isinstance(cid, str) or not cid:
        raise ResultsFileError(f"{where}.id: expected a claim id, got {_kind(cid)}")
    where = f"{where} ({cid[:80]})"
    verdict = c.get("verdict")
    if verdict not in VERDICTS:
        shown = repr(verdict)[:40] if isinstance(verdict, str) else _kind(verdict)
        raise ResultsFileError(f"{where}.verdict: expected one of {', '.join(VERDICTS)}, {shown}")
    if "expected" in c and c["expected"] not in DECISIONS:
        raise ResultsFileError(f"{where}.expected: expected one of {', '.join(DECISIONS)}")
    for key in ("key_number", "finding", "error", "reason", "title"):
        if key in c and c[key] is not None and not isinstance(c[key], str):
            raise ResultsFileError(f"{where}.{key}: expected text, got {_kind(c[key])}")
    tables = c.get("tables", {})
    if not isinstance(tables, dict):
        raise ResultsFileError(f"{where}.tables: expected an object of tables, got {_kind(tables)}")
    for name, table in tables.items():
        _check_table(f"{where}.tables[{name[:40]!r}]", table)


def load_run(path) -> dict[str, dict]:
    """``{claim id: claim object}`` from a ``results.json`` or a ``check --json`` list.

    Raises :class:`ResultsFileError` (a ``ValueError``, one line) for anything that is not a
    results file of this toolkit: not a regular file, over :data:`MAX_BYTES`, not UTF-8 JSON,
    nested over :data:`MAX_DEPTH`, a wrong schema, or two claims with the same id.
    """
    path = os.fspath(Path(path))
    data = _parse(path, _read_bounded(path))
    if isinstance(data, dict):
        if "claims" not in data:
            raise ResultsFileError(
                f"{path}: expected a results.json ({{'meta': ..., 'claims': [...]}}) or a "
                "check --json list; there is no 'claims'"
            )
        if "meta" in data and not isinstance(data["meta"], dict):
            raise ResultsFileError(f"{path}: meta: expected an object, got {_kind(data['meta'])}")
        claims = data["claims"]
    else:
        claims = data
    if not isinstance(claims, list):
        raise ResultsFileError(
            f"{path}: expected a results.json ({{'claims': [...]}}) or a check --json list, "
            f"got {_kind(claims)}"
        )
    out: dict[str, dict] = {}
    for i, c in enumerate(claims):
        _check_claim(f"{path}: claims[{i}]", c)
        if c["id"] in out:
            raise ResultsFileError(f"{path}: claim id {c['id'][:80]!r} appears twice")
        out[c["id"]] = c
    return out


# ----------------------------------------------------------------------------- verdicts
def _expected(a: dict | None, b: dict | None) -> str:
    for r in (b, a):
        if r is not None and r.get("expected") in DECISIONS:
            return r["expected"]
    return "fails" if (b or a or {}).get("finding") else "holds"


def _closeness(verdict: str, expected: str) -> int:
    """2 the expected verdict, 1 undecided, 0 the other decided verdict."""
    if verdict == expected:
        return 2
    return 1 if verdict == "inconclusive" else 0


def _number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if v in ("nan", "inf", "-inf", "NaN", "Infinity", "-Infinity"):
        return float(v.lower().replace("infinity", "inf"))
    return None


@dataclass
class ClaimChange:
    """One claim: verdicts (and the expected one), the numbers that moved, what else changed."""

    id: str
    old_verdict: str | None
    new_verdict: str | None
    expected: str = "holds"
    max_rel_change: float = 0.0
    worst_cell: str = ""
    moved: int = 0
    nonfinite: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict_change(self) -> str:
        """``same``, ``better``, ``worse``, ``changed``, ``error``, ``error fixed``,
        ``skipped``, ``unskipped``, ``added`` or ``removed`` (module docstring)."""
        a, b = self.old_verdict, self.new_verdict
        if a is None:
            return "added"
        if b is None:
            return "removed"
        if a == b:
            return "same"
        if b == "error":
            return "error"
        if a == "error":
            return "error fixed"
        if b == "skipped":
            return "skipped"
        if a == "skipped":
            return "unskipped"
        ca, cb = _closeness(a, self.expected), _closeness(b, self.expected)
        return "changed" if ca == cb else ("better" if cb > ca else "worse")

    @property
    def worse(self) -> bool:
        """A verdict got worse (or raised, or the claim is gone), or a number became inf/NaN."""
        return self.verdict_change in ("worse", "error", "removed") or bool(self.nonfinite)

    def numbers_text(self) -> str:
        if self.moved:
            return f"{self.moved} moved, max rel change {self.max_rel_change:.2e}"
        return "other changes" if self.notes else "unchanged"


@dataclass
class Comparison:
    """All claims of two runs; see :func:`compare_runs`."""

    changes: list[ClaimChange]
    rtol: float
    atol: float

    @property
    def worse(self) -> list[str]:
        return [c.id for c in self.changes if c.worse]

    @property
    def changed(self) -> list[str]:
        """Ids whose numbers moved beyond the tolerances."""
        return [c.id for c in self.changes if c.moved]

    @property
    def other_changes(self) -> list[str]:
        """Ids with no moved number but a changed shape, text cell or key number."""
        return [c.id for c in self.changes if c.notes and not c.moved]

    def render(self) -> str:
        """A plain-text table of every claim, then the differences, then the counts."""
        width = max([len(c.id) for c in self.changes] + [5])
        lines = [
            f"{'claim':<{width}}  {'expected':<12}  {'old':<12}  {'new':<12}  "
            f"{'verdict':<11}  numbers"
        ]
        for c in self.changes:
            lines.append(
                f"{c.id:<{width}}  {c.expected:<12}  {c.old_verdict or '-':<12}  "
                f"{c.new_verdict or '-':<12}  {c.verdict_change:<11}  {c.numbers_text()}"
            )
        for c in self.changes:
            for cell in c.nonfinite[:3]:
                lines.append(f"  {c.id}: {cell} became non-finite (worse)")
            for note in c.notes[:6]:
                lines.append(f"  {c.id}: {note}")
            if len(c.notes) > 6:
                lines.append(f"  {c.id}: ... {len(c.notes) - 6} more")
        n_same = sum(1 for c in self.changes if not c.notes and c.verdict_change == "same")
        moved = [c for c in self.changes if c.moved]
        top = max(moved, key=lambda c: c.max_rel_change, default=None)
        biggest = f" (max rel change {top.max_rel_change:.2e} in {top.id})" if top else ""
        kinds = {}
        for c in self.changes:
            if c.verdict_change != "same":
                kinds[c.verdict_change] = kinds.get(c.verdict_change, 0) + 1
        verdicts = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "no verdict changed"
        lines.append(
            f"{len(self.changes)} claims: {n_same} unchanged (rtol {self.rtol:g}, atol "
            f"{self.atol:g}); {len(moved)} with moved numbers{biggest}, "
            f"{len(self.other_changes)} with other changes; verdicts: {verdicts}; "
            f"{len(self.worse)} worse"
        )
        return "\n".join(lines)


# ----------------------------------------------------------------------------- numbers
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
            if len(row_a) != len(row_b):
                ch.notes.append(f"table {name!r} row {i}: {len(row_a)} -> {len(row_b)} cells")
            for j, (x, y) in enumerate(zip(row_a, row_b, strict=False)):
                if j in timing:
                    continue
                _compare_cell(x, y, f"{name!r}[{i}][{j}]", rtol, atol, ch)


def _is_timing(column: str) -> bool:
    """Wall-time columns (``seconds``, ``time (s)``) are not results: they are not compared."""
    c = str(column).lower()
    return c in ("seconds", "time", "wall time") or c.startswith(("time (", "seconds ("))


def _same_number(u: float, v: float, rtol: float, atol: float) -> bool:
    if math.isnan(u) or math.isnan(v):
        return math.isnan(u) and math.isnan(v)
    if math.isinf(u) or math.isinf(v):
        return u == v
    return abs(u - v) <= rtol * max(abs(u), abs(v)) + atol


def _compare_cell(x, y, where: str, rtol: float, atol: float, ch: ClaimChange) -> None:
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for k, (u, v) in enumerate(zip(x, y, strict=True)):
            _compare_cell(u, v, f"{where}[{k}]", rtol, atol, ch)
        return
    u, v = _number(x), _number(y)
    if u is None or v is None:
        if x != y:
            ch.notes.append(f"{where}: {x!r:.60} -> {y!r:.60}")
        return
    if _same_number(u, v, rtol, atol):
        return
    ch.moved += 1
    finite = math.isfinite(u) and math.isfinite(v)
    rel = abs(u - v) / max(abs(u), abs(v)) if finite else math.inf
    if math.isfinite(u) and not math.isfinite(v):
        ch.nonfinite.append(f"{where} ({u:.10g} -> {v})")
    if ch.moved <= 6:
        ch.notes.append(f"{where}: {u:.10g} -> {v:.10g}")
    if rel > ch.max_rel_change or not ch.worst_cell:
        ch.max_rel_change, ch.worst_cell = rel, where


def compare_runs(old, new, *, rtol: float = 1e-9, atol: float = 1e-12, only=None) -> Comparison:
    """Compare two runs (paths or ``{id: claim}`` dicts); see the module docstring.

    ``only``: glob patterns of claim ids to compare (default: all). Wall-time columns are
    skipped.
    """
    if not (rtol >= 0 and atol >= 0 and math.isfinite(rtol) and math.isfinite(atol)):
        raise ValueError(f"rtol and atol must be finite and >= 0, got {rtol!r}, {atol!r}")
    old = load_run(old) if not isinstance(old, dict) else old
    new = load_run(new) if not isinstance(new, dict) else new
    ids = list(old) + [i for i in new if i not in old]
    if only:
        ids = [i for i in ids if any(fnmatch.fnmatchcase(i, p) or i == p for p in only)]
    changes = []
    for cid in ids:
        a, b = old.get(cid), new.get(cid)
        ch = ClaimChange(cid, a and a["verdict"], b and b["verdict"], _expected(a, b))
        if a is not None and b is not None:
            if a.get("key_number") != b.get("key_number"):
                ch.notes.append(f"key number: {a.get('key_number')!r} -> {b.get('key_number')!r}")
            if "error" in b and "error" not in a:
                ch.notes.append("the new run raised an error")
            _compare_tables(a.get("tables", {}), b.get("tables", {}), rtol, atol, ch)
        changes.append(ch)
    return Comparison(changes, rtol, atol)
