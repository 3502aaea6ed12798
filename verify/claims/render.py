"""HTML and text rendering of claim results: cards, tables, figures (no matplotlib here).

Shared by the report writer (``verify.app.report``) and by notebooks: a claim result
(:class:`verify.claims.base.ClaimRecord`, what :func:`~verify.claims.base.run_claim` returns)
renders itself as a card through ``_repr_html_``.

Presentation rules:

* numbers in one format per column (:func:`column_format`): integers as integers; a float
  column whose magnitudes span more than three decades, or whose largest value is below
  ``1e-3`` or at least ``1e5``, in scientific notation with four significant digits; otherwise
  fixed-point with the decimals its values need for four significant digits (no more than the
  digits they have, at most six);
* tables longer than :data:`FOLD_ROWS` rows show their deciding rows (``key_rows`` of the
  table, else the first rows) and fold the rest into ``<details>``; long verdict texts fold
  after their first sentence;
* seeds are shown short (count and the first one); the full seeds are in ``results.json``;
* backtick-quoted text becomes ``<code>``; everything else is escaped.
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path
from typing import Any

__all__ = [
    "FOLD_ROWS",
    "CSS",
    "column_format",
    "table_html",
    "figure_html",
    "card_html",
    "short_source",
    "seeds_short",
    "deciding_rows",
    "VERDICT_MEANINGS",
    "expected_verdict",
    "is_unexpected",
    "install_command",
    "text_html",
    "anchor",
    "rung_text",
    "arxiv_links",
]

FOLD_ROWS = 12
"""Tables with more rows than this fold (their deciding rows stay visible)."""

_SHOW_FOLDED = 6
_LONG_REASON = 320
_NONFINITE = ("nan", "inf", "-inf")
_RUNGS = {
    1: "closed form",
    2: "exact moment recursion / moment ODE",
    3: "Fokker-Planck grid",
    4: "Monte Carlo with exact log-densities",
    5: "sample-only estimators",
}
_VERDICTS = ("holds", "fails", "inconclusive", "error", "skipped")

CSS = """
.dv{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--holds:#1a7f37;
--fails:#cf222e;--inconclusive:#9a6700;--error:#8250df;--skipped:#6e7781;color:var(--fg);
font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
.dv code,.dv pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.dv code{overflow-wrap:anywhere}
.dv pre{background:var(--soft);padding:10px 12px;border-radius:6px;overflow:auto}
.dv a{color:#0969da}
.dv .badge{display:inline-block;padding:1px 9px;border-radius:999px;color:#fff;font-size:12.5px;
font-weight:600;white-space:nowrap}
.dv .badge.holds{background:var(--holds)}.dv .badge.fails{background:var(--fails)}
.dv .badge.inconclusive{background:var(--inconclusive)}
.dv .badge.error{background:var(--error)}.dv .badge.skipped{background:var(--skipped)}
.dv .badge.expected{background:#fff;color:var(--muted);border:1px solid var(--line)}
.dv .badge.unexpected{background:#fff;color:var(--fails);border:1px solid var(--fails)}
.dv article.claim{border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:14px 0}
.dv article.claim.fails{border-left:5px solid var(--fails)}
.dv article.claim.holds{border-left:5px solid var(--holds)}
.dv article.claim.inconclusive{border-left:5px solid var(--inconclusive)}
.dv article.claim.error{border-left:5px solid var(--error)}
.dv article.claim.skipped{border-left:5px solid var(--skipped)}
.dv h3{font-size:17px;margin:0 0 6px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.dv h3 a{color:var(--fg);text-decoration:none;font-family:ui-monospace,Menlo,monospace}
.dv .statement{font-size:15.5px;margin:6px 0 8px}
.dv dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;
font-size:14px}
.dv dl.facts dt{color:var(--muted);font-weight:600}
.dv dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
.dv .key{font-size:15px;margin:8px 0;padding:6px 12px;border-left:3px solid var(--line)}
.dv .reason{padding:8px 12px;border-radius:6px;background:var(--soft);margin:10px 0}
.dv .finding{padding:8px 12px;border-radius:6px;background:#fff8c5;margin:10px 0}
.dv table.data{border-collapse:collapse;font-size:13.5px;min-width:40%}
.dv table.data th,.dv table.data td{border-bottom:1px solid var(--line);padding:4px 9px;
text-align:left;vertical-align:top}
.dv table.data th{background:var(--soft);font-weight:600}
.dv table.data td.num,.dv table.data th.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap;font-family:ui-monospace,Menlo,monospace;font-size:12.5px}
.dv table.data caption{text-align:left;font-weight:600;padding:4px 0;caption-side:top}
.dv .table-wrap{overflow-x:auto;margin:10px 0}
.dv details>summary{cursor:pointer;color:#0969da;font-size:13.5px;margin:4px 0}
.dv figure{margin:12px 0}.dv figure img{max-width:min(100%,760px);height:auto;
border:1px solid var(--line);border-radius:4px}
.dv figcaption{color:var(--muted);font-size:12.5px}
.dv .missing{color:var(--fails)}
.dv .note{color:var(--muted);font-size:13px}
"""
"""Styles of a card (scoped under ``.dv``), shared by the report page and notebooks."""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def text_html(text: Any) -> str:
    """Escape ``text`` and turn backtick-quoted spans into ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def column_format(values) -> Any:
    """A formatter ``v -> str`` for one table column (module docstring for the rule)."""
    nums = [v for v in values if _is_num(v)]
    if nums and all(isinstance(v, int) for v in nums):
        return lambda v: str(v) if _is_num(v) else _other(v)
    finite = [abs(float(v)) for v in nums if math.isfinite(v) and v != 0]
    if not finite:
        return lambda v: f"{v:.4g}" if _is_num(v) else _other(v)
    lo, hi = min(finite), max(finite)
    if hi / lo > 1e3 or hi < 1e-3 or hi >= 1e5:
        return lambda v: _sci(v) if _is_num(v) else _other(v)
    decimals = min(6, max(_decimals(abs(float(v))) for v in nums if math.isfinite(v) and v != 0))
    return lambda v: _fixed(v, decimals) if _is_num(v) else _other(v)


def _decimals(v: float) -> int:
    """Decimals that show ``v`` to four significant digits, fewer if they add only zeros."""
    most = max(0, 3 - math.floor(math.log10(v)))
    full = round(v, most)
    return next(k for k in range(most + 1) if round(v, k) == full)


def _sci(v) -> str:
    if isinstance(v, int):
        return str(v)
    return "0" if v == 0 else (f"{v:.3e}" if math.isfinite(v) else str(v))


def _fixed(v, decimals: int) -> str:
    if isinstance(v, int):
        return str(v)
    return f"{v:.{decimals}f}" if math.isfinite(v) else str(v)


def _other(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list | dict):
        import json

        return json.dumps(v)
    return str(v)


def _table_rows_html(columns, rows, fmts, numeric) -> str:
    out = []
    for row in rows:
        cells = "".join(
            f"<td{' class=num' if numeric[j] else ''}>{_e(fmts[j](v))}</td>"
            for j, v in enumerate(row[: len(columns)])
        )
        out.append(f"<tr>{cells}</tr>")
    return "".join(out)


_DECIDING_COLUMNS = ("verdict", "holds", "ok", "pass", "passes", "status", "result", "check")
_FAILING_CELLS = {"fails", "fail", "failed", "no", "false", "refuted", "violated", "error"}
_UNDECIDED_CELLS = {"inconclusive", "undecided", "?"}


def _cell_state(v: Any) -> str | None:
    """``"fails"`` / ``"inconclusive"`` / ``"holds"`` for a verdict-like cell, else None."""
    if isinstance(v, bool):
        return "holds" if v else "fails"
    if isinstance(v, str):
        w = v.strip().lower()
        if w in _FAILING_CELLS:
            return "fails"
        if w in _UNDECIDED_CELLS:
            return "inconclusive"
        if w in {"holds", "hold", "yes", "true", "ok", "pass", "passes"}:
            return "holds"
    return None


def _named_rows(rows: list, text: str) -> list[int]:
    """Rows whose text cells the sentence ``text`` names most often (at least one cell)."""
    if not text:
        return []
    scores = [
        sum(1 for v in r if isinstance(v, str) and len(v.strip()) >= 3 and v.strip() in text)
        for r in rows
    ]
    best = max(scores, default=0)
    return [i for i, sc in enumerate(scores) if sc == best] if best else []


def deciding_rows(table: dict, verdict: str | None = None, text: str = "") -> list[int]:
    """Indices of the rows that decided ``verdict``: the rows whose verdict-like cell (a column
    named like ``holds`` / ``verdict`` / ``ok``, or of booleans and verdict words) says
    ``fails`` (or ``inconclusive``) when that is the verdict, else the rows whose labels the
    deciding sentence ``text`` (key number, then reason) names, then the table's ``key_rows``;
    the first rows when none of these says anything."""
    columns, rows = table.get("columns", []), table.get("rows", [])
    key = [i for i in (table.get("key_rows") or []) if isinstance(i, int) and 0 <= i < len(rows)]
    picked: list[int] = []
    if verdict in ("fails", "inconclusive"):
        for j, name in enumerate(columns):
            states = [_cell_state(r[j]) if j < len(r) else None for r in rows]
            named = str(name).strip().lower().rstrip("?") in _DECIDING_COLUMNS
            if not named and not all(st is not None for st in states):
                continue
            picked += [i for i, st in enumerate(states) if st == verdict and i not in picked]
    if not picked and verdict in ("fails", "inconclusive"):
        picked = _named_rows(rows, text)
    shown = picked + [i for i in key if i not in picked]
    return shown or list(range(min(_SHOW_FOLDED, len(rows))))


def table_html(name: str, table: dict, verdict: str | None = None, text: str = "") -> str:
    """A table as HTML; more than :data:`FOLD_ROWS` rows fold, deciding rows stay visible
    (:func:`deciding_rows`: the rows that made ``verdict``, then the table's ``key_rows``)."""
    columns, rows = table.get("columns", []), table.get("rows", [])
    cols = [[r[j] for r in rows if j < len(r)] for j in range(len(columns))]
    fmts = [column_format(c) for c in cols]
    numeric = [bool(c) and all(_is_num(v) or v in _NONFINITE for v in c) for c in cols]
    head = "".join(
        f"<th{' class=num' if numeric[j] else ''}>{_e(c)}</th>" for j, c in enumerate(columns)
    )

    def wrap(body: str, caption: str) -> str:
        return (
            f'<div class="table-wrap"><table class="data"><caption>{_e(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    if len(rows) <= FOLD_ROWS:
        return wrap(_table_rows_html(columns, rows, fmts, numeric), name)
    key = sorted(deciding_rows(table, verdict, text)[:FOLD_ROWS])
    shown = wrap(
        _table_rows_html(columns, [rows[i] for i in key], fmts, numeric),
        f"{name} (deciding rows; {len(rows)} in all)",
    )
    full = wrap(_table_rows_html(columns, rows, fmts, numeric), name)
    return f"{shown}<details><summary>all {len(rows)} rows</summary>{full}</details>"


def figure_html(path: str, base: Path | None) -> str:
    """A figure embedded as a base64 PNG (the page stays self-contained)."""
    p = Path(path)
    if base is not None and not p.is_absolute():
        p = base / p
    if not p.is_file():
        return f'<p class="missing">missing figure: {_e(path)}</p>'
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(Path(path).stem)}" '
        f'loading="lazy"><figcaption>{_e(Path(path).name)}</figcaption></figure>'
    )


_ARXIV = re.compile(r"arXiv[ :]?(\d{4}\.\d{4,5})")


def short_source(source: str) -> str:
    """Paper + section only: ``"arXiv 2506.11378 §2 (reconstructed)"``, ``"standard"``."""
    recon = " (reconstructed)" if "reconstruct" in source.lower() else ""
    if source.lower().startswith("standard"):
        return "standard" + recon
    m = _ARXIV.search(source)
    if m:
        sec = re.search(r"(§\s?[\w.]+|Thm\.? ?[\w.]+|Lemma ?[\w.]+|Table ?\d+)", source[m.end() :])
        return f"arXiv {m.group(1)}" + (f" {sec.group(1)}" if sec else "") + recon
    return source if len(source) <= 40 else source[:39] + "…"


def arxiv_links(source: str) -> list[str]:
    """Abstract-page URLs of the arXiv ids cited in ``source``."""
    return [f"https://arxiv.org/abs/{m}" for m in dict.fromkeys(_ARXIV.findall(source))]


def seeds_short(seeds) -> str:
    """``"3 seeds (first 289171…)"``: at most six digits of a seed; the full list stays in
    results.json."""
    seeds = list(seeds or [])
    if not seeds:
        return ""
    first = str(seeds[0])
    first = first if len(first) <= 6 else first[:6] + "…"
    return f"seed {first}" if len(seeds) == 1 else f"{len(seeds)} seeds (first {first})"


def rung_text(rung: Any) -> str:
    return f"{rung} ({_RUNGS[rung]})" if rung in _RUNGS else "-"


def anchor(claim_id: str) -> str:
    return "claim-" + "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in claim_id)


def _seconds(s: Any) -> str:
    try:
        s = float(s)
    except (TypeError, ValueError):
        return ""
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


VERDICT_MEANINGS = {
    "holds": "the exact answers confirm the statement at this budget.",
    "fails": "the statement is refuted: the numbers contradict it. A recorded finding is "
    "expected to fail, and its card says what holds instead.",
    "inconclusive": "the evidence cannot decide at this budget (an interval straddles the "
    "threshold, or a grid is too coarse); the full budget may decide.",
    "error": "the claim itself crashed (a bug of the toolkit, not a verdict on the "
    "statement); the traceback is on its card and in results.json.",
    "skipped": "a requirement is missing (an optional package, or the claim runs only at "
    "another budget); the install command is named.",
}
"""What each verdict means (the report's legend)."""


def expected_verdict(obj: dict) -> str:
    """The verdict a claim is expected to have: its ``expected`` field, else ``fails`` for a
    recorded finding and ``holds`` otherwise (the claims' default)."""
    exp = obj.get("expected")
    if isinstance(exp, str) and exp:
        return exp
    return "fails" if obj.get("finding") else "holds"


def is_unexpected(obj: dict) -> bool:
    """True for a decided verdict (holds / fails) other than the expected one, and for an
    ``error``; inconclusive and skipped are undecided, never unexpected."""
    verdict = obj.get("verdict")
    if verdict == "error":
        return True
    return verdict in ("holds", "fails") and verdict != expected_verdict(obj)


_INSTALL = re.compile(r"(pip install [^()]*?|apt-get install [^()]*?)(?:\)|$|; )")


def install_command(obj: dict) -> str:
    """The install command of a skipped claim: its ``install`` field, else the ``pip install
    ...`` its reason names; empty when it names none (a budget skip)."""
    if obj.get("install"):
        return str(obj["install"])
    m = _INSTALL.search(str(obj.get("reason", "")))
    return m.group(1).strip() if m else ""


def _mark(html_text: str, key_html: str) -> str:
    return html_text.replace(key_html, f"<mark>{key_html}</mark>", 1) if key_html else html_text


def _reason_html(verdict: str, reason: str, key: str = "") -> str:
    head = f"<strong>Verdict: {_e(verdict)}.</strong> "
    key_html = text_html(key) if key and key in reason else ""
    if len(reason) <= _LONG_REASON:
        return f'<div class="reason">{head}{_mark(text_html(reason), key_html)}</div>'
    cut = reason.find("; ", 80, _LONG_REASON)
    cut = cut if cut > 0 else reason.rfind(" ", 0, _LONG_REASON)
    return (
        f'<div class="reason">{head}{_mark(text_html(reason[:cut]), key_html)} …'
        f"<details><summary>the whole verdict</summary>{text_html(reason)}</details></div>"
    )


def card_html(obj: dict, base: Path | None = None, doc_href: str | None = None) -> str:
    """One claim as an ``<article>`` card: title, statement, key number (once: highlighted in
    the verdict's reason when the reason holds it), facts, finding, tables (their deciding rows
    shown), figures, and the traceback of an ``error`` or the install command of a ``skipped``.

    ``doc_href``: link target of the claim's ``doc`` (default: the ``doc`` path as given).
    """
    verdict = obj.get("verdict", "inconclusive")
    cls = verdict if verdict in _VERDICTS else "inconclusive"
    expected = expected_verdict(obj)
    source = obj.get("source", "")
    src = text_html(source)
    links = " ".join(f'<a href="{_e(u)}">abstract</a>' for u in arxiv_links(source))
    facts = [
        ("Source", src + (f" ({links})" if links else "")),
        ("Setting", text_html(obj.get("setting", ""))),
    ]
    if obj.get("doc"):
        href = doc_href or obj["doc"]
        facts.append(("Mathematics", f'<a href="{_e(href)}">{_e(obj["doc"])}</a>'))
    facts += [
        ("Rung", _e(rung_text(obj.get("rung")))),
        ("Tolerance", _e(obj.get("tolerance") or "-")),
        ("Expected", _e(expected)),
    ]
    if obj.get("seeds"):
        facts.append(("Seeds", _e(seeds_short(obj["seeds"])) + " (all in results.json)"))
    facts.append(("Time", _e(_seconds(obj.get("seconds")))))
    cid = obj.get("id", "?")
    reason = str(obj.get("reason", ""))
    key = str(obj.get("key_number") or "")
    if verdict == expected:
        tag = '<span class="badge expected">as expected</span>'
    elif is_unexpected(obj):
        tag = f'<span class="badge unexpected">expected {_e(expected)}</span>'
    else:
        tag = ""
    parts = [
        f'<article class="claim {cls}" id="{_e(anchor(cid))}">',
        f'<h3><a href="#{_e(anchor(cid))}">{_e(cid)}</a>'
        f'<span class="badge {cls}">{_e(verdict)}</span>{tag}</h3>',
    ]
    if obj.get("title"):
        parts.append(f'<p class="title"><strong>{text_html(obj["title"])}</strong></p>')
    parts.append(f'<p class="statement">{text_html(obj.get("statement", ""))}</p>')
    if key and key not in reason:
        parts.append(f'<p class="key"><strong>Key number:</strong> {text_html(key)}</p>')
    parts += [
        _reason_html(verdict, reason, key),
        '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
    ]
    if verdict == "skipped" and install_command(obj):
        parts.append(f"<p>Install: <code>{_e(install_command(obj))}</code></p>")
    if obj.get("finding") and verdict == "fails":
        what = text_html(obj["finding"])
        parts.append(f'<div class="finding"><strong>What holds instead.</strong> {what}</div>')
    hint = key or reason
    for name, table in obj.get("tables", {}).items():
        parts.append(table_html(name, table, verdict, hint))
    for f in obj.get("figures", []):
        parts.append(figure_html(f, base))
    if obj.get("error"):
        parts.append(
            f"<details><summary>Traceback</summary><pre>{_e(obj['error'])}</pre></details>"
        )
    parts.append("</article>")
    return "\n".join(parts)
