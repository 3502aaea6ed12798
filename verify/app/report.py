"""Reports: ``results.json``, ``report.md`` and a self-contained ``index.html``.

:func:`write_report` takes the claim objects returned by
:func:`verify.claims.base.run_claim` and writes, into ``out_dir``:

* ``results.json``: ``{"meta": {...}, "claims": [claim objects]}``, figure paths
  relative to ``out_dir`` (``figures/x.png``);
* ``report.md``: run metadata, the rerun command, a summary table, then one section per
  claim (statement, source, setting, verdict and reason, rung, tolerance, tables,
  linked figures);
* ``index.html``: the same, self-contained (inline CSS, figures embedded as base64 data
  URIs), claims grouped by source paper;
* ``figures/*.png``: claims write here when ``ctx.figure_dir = out_dir/figures``;
  figures found elsewhere are copied in.

:func:`collect_meta` records versions, machine, date, budget, seed and command.
No matplotlib import happens here.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import importlib.metadata
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verify.claims.base import RUNG_NAMES, VERDICTS, to_jsonable
from verify.claims.namespaces import NAMESPACES, namespace

__all__ = ["NAMESPACE_TITLES", "write_report", "collect_meta", "render_html", "render_markdown"]

NAMESPACE_TITLES = {ns.key: ns.title for ns in NAMESPACES}
"""Section heading of each claim namespace, in report order (from verify.claims.namespaces)."""

_OTHER_TITLE = "Other claims"
_MAX_ROWS = 200
_VERSION_PACKAGES = ("numpy", "scipy", "sympy", "mpmath", "matplotlib", "torch", "dask")


# ----------------------------------------------------------------------------- metadata
def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect_meta(
    budget: str = "quick",
    seed: int = 0,
    command: str = "",
    seconds: float | None = None,
    **extra: Any,
) -> dict:
    """Run metadata: toolkit and library versions, machine, UTC date, budget, seed, command.

    Versions come from ``importlib.metadata`` (nothing is imported; absent optional
    packages such as torch or dask are simply left out). ``extra`` is merged in
    (e.g. ``rerun=...``, ``executor=...``).
    """
    versions = {"python": platform.python_version()}
    for name in _VERSION_PACKAGES:
        v = _version(name)
        if v is not None:
            versions[name] = v
    meta = {
        "toolkit": "diffusion-verify",
        "version": _version("diffusion-verify") or "unknown",
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "budget": budget,
        "seed": seed,
        "command": command,
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python_implementation": sys.implementation.name,
        },
    }
    if seconds is not None:
        meta["seconds"] = round(float(seconds), 2)
    meta.update(extra)
    return to_jsonable(meta)


# ----------------------------------------------------------------------------- helpers
def _namespace(claim_id: str) -> str:
    return claim_id.split(".", 1)[0]


def _groups(results: Sequence[dict]) -> list[tuple[str, str, list[dict]]]:
    """``[(namespace, title, claims)]`` in NAMESPACE_TITLES order, unknown ones last."""
    by_ns: dict[str, list[dict]] = {}
    for r in results:
        by_ns.setdefault(_namespace(r["id"]), []).append(r)
    order = [ns for ns in NAMESPACE_TITLES if ns in by_ns]
    order += [ns for ns in by_ns if ns not in NAMESPACE_TITLES]
    return [(ns, NAMESPACE_TITLES.get(ns, f"{_OTHER_TITLE}: {ns}"), by_ns[ns]) for ns in order]


def _fmt_cell(value: Any) -> str:
    """Floats with 4 significant digits; ints, strings and the rest unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _fmt_seconds(s: Any) -> str:
    try:
        s = float(s)
    except (TypeError, ValueError):
        return ""
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


def _rung_text(rung: Any) -> str:
    if rung in RUNG_NAMES:
        return f"{rung} ({RUNG_NAMES[rung]})"
    return "-"


def _counts(results: Sequence[dict]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def summary_line(results: Sequence[dict]) -> str:
    """``"N holds, M fails, K inconclusive"``."""
    c = _counts(results)
    return f"{c['holds']} holds, {c['fails']} fails, {c['inconclusive']} inconclusive"


def _anchor(claim_id: str) -> str:
    return "claim-" + "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in claim_id)


def _place_figures(results: Sequence[dict], out_dir: Path) -> list[dict]:
    """Copy of ``results`` with figure paths relative to ``out_dir`` (copying strays in)."""
    fig_dir = out_dir / "figures"
    placed = []
    for r in results:
        r = dict(r)
        figures = []
        for f in r.get("figures", []):
            p = Path(f)
            if not p.is_absolute() and not p.exists() and (out_dir / p).exists():
                p = out_dir / p
            if not p.exists():
                figures.append(str(f))
                continue
            p = p.resolve()
            try:
                rel = p.relative_to(out_dir.resolve())
            except ValueError:
                fig_dir.mkdir(parents=True, exist_ok=True)
                target = fig_dir / p.name
                if target.resolve() != p:
                    shutil.copyfile(p, target)
                rel = target.relative_to(out_dir)
            figures.append(rel.as_posix())
        r["figures"] = figures
        placed.append(r)
    return placed


def _meta_rows(meta: dict) -> list[tuple[str, str]]:
    versions = meta.get("versions", {})
    machine = meta.get("machine", {})
    rows = [
        ("Toolkit", f"{meta.get('toolkit', 'diffusion-verify')} {meta.get('version', 'unknown')}"),
        ("Date", str(meta.get("date", ""))),
        ("Budget", str(meta.get("budget", ""))),
        ("Base seed", str(meta.get("seed", ""))),
        ("Command", str(meta.get("command", ""))),
        ("Versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
        (
            "Machine",
            f"{machine.get('platform', '')}; {machine.get('processor', '')}; "
            f"{machine.get('cpu_count', '?')} CPUs",
        ),
    ]
    if "executor" in meta:
        rows.append(("Executor", str(meta["executor"])))
    if "seconds" in meta:
        rows.append(("Total time", _fmt_seconds(meta["seconds"])))
    return rows


def _rerun(meta: dict) -> str:
    return str(meta.get("rerun") or meta.get("command") or "diffusion-verify report")


# ----------------------------------------------------------------------------- markdown
def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = [
        "| " + " | ".join(_md_escape(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows[:_MAX_ROWS]:
        lines.append("| " + " | ".join(_md_escape(_fmt_cell(v)) for v in row) + " |")
    if len(rows) > _MAX_ROWS:
        lines.append(f"\n*{len(rows) - _MAX_ROWS} more rows in results.json.*")
    return lines


def namespace_intro(ns: str) -> str:
    """The introduction of a claim namespace (plain text from ``verify.claims.namespaces``);
    empty for a namespace that is not registered there (claims injected by a user)."""
    entry = namespace(ns)
    return entry.intro if entry is not None else ""


def _code(escaped: str) -> str:
    """Backtick-quoted code (already HTML-escaped) as <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _html_intro(ns: str) -> str:
    """A namespace's introduction as one HTML paragraph, with links to its paper and doc."""
    entry = namespace(ns)
    if entry is None:
        return ""
    links = []
    if entry.arxiv_url:
        links.append(f'<a href="{_e(entry.arxiv_url)}">arXiv {_e(entry.arxiv)}</a>')
    if entry.doc:
        links.append(f"mathematics: <code>{_e(entry.doc)}</code>")
    tail = f" ({'; '.join(links)})" if links else ""
    return f'<div class="intro"><p>{_code(_e(entry.intro))}{tail}</p></div>'


def render_markdown(results: Sequence[dict], meta: dict) -> str:
    """The Markdown report (figure links relative to the report directory)."""
    out = ["# diffusion-verify report", ""]
    out += [f"**{summary_line(results)}**", ""]
    out += _md_table(["Run", ""], [[k, v] for k, v in _meta_rows(meta)])
    out += ["", "Rerun with:", "", "```", _rerun(meta), "```", "", "## Summary", ""]
    out += _md_table(
        ["claim", "source", "verdict", "rung", "key number", "time"],
        [
            [
                f"[{r['id']}](#{_anchor(r['id'])})",
                r.get("source", ""),
                f"**{r['verdict']}**",
                r.get("rung") if r.get("rung") is not None else "-",
                r.get("key_number", ""),
                _fmt_seconds(r.get("seconds")),
            ]
            for r in results
        ],
    )
    for ns, title, claims in _groups(results):
        out += ["", f"## {title}"]
        intro = namespace_intro(ns)
        if intro:
            out += ["", intro]
        for r in claims:
            out += ["", f'<a id="{_anchor(r["id"])}"></a>', "", f"### {r['id']}: {r['verdict']}"]
            out += ["", f"> {_md_escape(r.get('statement', ''))}", ""]
            out += [
                f"- **Source:** {r.get('source', '')}",
                f"- **Setting:** {r.get('setting', '')}",
                f"- **Verdict:** {r['verdict']}. {r.get('reason', '')}",
                f"- **Rung:** {_rung_text(r.get('rung'))}",
                f"- **Tolerance:** {r.get('tolerance', '')}",
            ]
            if r.get("key_number"):
                out.append(f"- **Key number:** {r['key_number']}")
            if r.get("seeds"):
                out.append(f"- **Seeds:** {', '.join(str(s) for s in r['seeds'])}")
            out.append(f"- **Time:** {_fmt_seconds(r.get('seconds'))}")
            for name, table in r.get("tables", {}).items():
                out += ["", f"**{name}**", ""]
                out += _md_table(table.get("columns", []), table.get("rows", []))
            for f in r.get("figures", []):
                out += ["", f"![{Path(f).stem}]({f})"]
            if r.get("error"):
                out += ["", "```", r["error"].rstrip(), "```"]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- html
_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;
--holds:#1a7f37;--fails:#cf222e;--inconclusive:#9a6700}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 64px}
.intro{color:var(--muted);font-size:14px;margin:0 0 18px}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:21px;margin:40px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:17px;margin:0 0 6px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
h3 a{color:var(--fg);text-decoration:none;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
a{color:#0969da}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--soft);padding:10px 12px;border-radius:6px;overflow:auto}
.counts{display:flex;gap:8px;margin:10px 0 18px;flex-wrap:wrap}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;color:#fff;font-size:12.5px;
font-weight:600;letter-spacing:.02em;white-space:nowrap}
.badge.holds{background:var(--holds)}.badge.fails{background:var(--fails)}
.badge.inconclusive{background:var(--inconclusive)}
.meta{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:10px 16px}
.meta table{border-collapse:collapse;width:100%}
.meta th{text-align:left;color:var(--muted);font-weight:600;padding:3px 16px 3px 0;
white-space:nowrap;vertical-align:top;width:1%}
.meta td{padding:3px 0;word-break:break-word}
.meta p{margin:8px 0 2px}
table.summary,table.data{border-collapse:collapse;font-size:14px}
table.summary{width:100%}table.data{min-width:50%}
table.summary th,table.summary td,table.data th,table.data td{border-bottom:1px solid var(--line);
padding:5px 10px;text-align:left;vertical-align:top}
table.summary th,table.data th{background:var(--soft);font-weight:600}
table.summary th.num,table.data th.num{text-align:right}
table.summary td.num,table.data td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap;
font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
table.summary tr.group td{background:#eef1f4;font-weight:600;color:var(--muted)}
table.data caption{text-align:left;font-weight:600;padding:4px 0;caption-side:top}
.table-wrap{overflow-x:auto;margin:12px 0}
article.claim{border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:16px 0}
article.claim.fails{border-left:5px solid var(--fails)}
article.claim.holds{border-left:5px solid var(--holds)}
article.claim.inconclusive{border-left:5px solid var(--inconclusive)}
.statement{font-size:15.5px;margin:6px 0 10px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;
font-size:14px}
dl.facts dt{color:var(--muted);font-weight:600}dl.facts dd{margin:0}
.reason{padding:8px 12px;border-radius:6px;background:var(--soft);margin:10px 0}
figure{margin:14px 0}figure img{max-width:100%;height:auto;border:1px solid var(--line);
border-radius:4px}
figcaption{color:var(--muted);font-size:12.5px}
.missing{color:var(--fails)}
.top{font-size:12.5px;margin:8px 0 0}
.note{color:var(--muted);font-size:13px}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _badge(verdict: str) -> str:
    cls = verdict if verdict in VERDICTS else "inconclusive"
    return f'<span class="badge {cls}">{_e(verdict)}</span>'


_NONFINITE = ("nan", "inf", "-inf")


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _html_table(name: str, table: dict) -> str:
    columns, rows = table.get("columns", []), table.get("rows", [])
    shown = rows[:_MAX_ROWS]
    numeric = [
        bool(shown) and all(_is_num(r[j]) or r[j] in _NONFINITE for r in shown)
        for j in range(len(columns))
    ]
    cls = [' class="num"' if n else "" for n in numeric]
    parts = ['<div class="table-wrap"><table class="data">', f"<caption>{_e(name)}</caption>"]
    parts.append(
        "<thead><tr>"
        + "".join(f"<th{k}>{_e(c)}</th>" for c, k in zip(columns, cls, strict=True))
        + "</tr></thead>"
    )
    parts.append("<tbody>")
    for row in shown:
        cells = "".join(f"<td{k}>{_e(_fmt_cell(v))}</td>" for v, k in zip(row, cls, strict=False))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table></div>")
    if len(rows) > _MAX_ROWS:
        parts.append(f'<p class="note">{len(rows) - _MAX_ROWS} more rows in results.json.</p>')
    return "".join(parts)


def _html_figure(path: str, base: Path | None) -> str:
    p = Path(path)
    if base is not None and not p.is_absolute():
        p = base / p
    if not p.is_file():
        return f'<p class="missing">missing figure: {_e(path)}</p>'
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(Path(path).stem)}">'
        f"<figcaption>{_e(path)}</figcaption></figure>"
    )


def _html_claim(r: dict, base: Path | None) -> str:
    verdict = r["verdict"]
    cls = verdict if verdict in VERDICTS else "inconclusive"
    facts = [
        ("Source", r.get("source", "")),
        ("Setting", r.get("setting", "")),
        ("Rung", _rung_text(r.get("rung"))),
        ("Tolerance", r.get("tolerance", "") or "-"),
    ]
    if r.get("key_number"):
        facts.append(("Key number", r["key_number"]))
    if r.get("seeds"):
        facts.append(("Seeds", ", ".join(str(s) for s in r["seeds"])))
    facts.append(("Time", _fmt_seconds(r.get("seconds"))))
    parts = [
        f'<article class="claim {cls}" id="{_e(_anchor(r["id"]))}">',
        f'<h3><a href="#{_e(_anchor(r["id"]))}">{_e(r["id"])}</a>{_badge(verdict)}</h3>',
        f'<p class="statement">{_e(r.get("statement", ""))}</p>',
        '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts),
        "</dl>",
        f'<div class="reason"><strong>Verdict: {_e(verdict)}.</strong> '
        f"{_e(r.get('reason', ''))}</div>",
    ]
    for name, table in r.get("tables", {}).items():
        parts.append(_html_table(name, table))
    for f in r.get("figures", []):
        parts.append(_html_figure(f, base))
    if r.get("error"):
        parts.append(f"<details><summary>Traceback</summary><pre>{_e(r['error'])}</pre></details>")
    parts.append('<p class="top"><a href="#summary">back to summary</a></p></article>')
    return "\n".join(parts)


def render_html(results: Sequence[dict], meta: dict, base: Path | None = None) -> str:
    """The self-contained HTML report; relative figure paths are read from ``base``."""
    counts = _counts(results)
    groups = _groups(results)
    head = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>diffusion-verify report ({_e(meta.get('budget', ''))})</title>"
        f"<style>{_CSS}</style></head><body><main>"
    )
    parts = [head, "<h1>diffusion-verify report</h1>"]
    parts.append(
        '<div class="counts">'
        + "".join(f'<span class="badge {v}">{counts.get(v, 0)} {v}</span>' for v in VERDICTS)
        + "</div>"
    )
    parts.append('<section class="meta"><table>')
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _meta_rows(meta)]
    parts.append(f"</table><p>Rerun with: <code>{_e(_rerun(meta))}</code></p></section>")

    parts.append('<h2 id="summary">Summary</h2><table class="summary"><thead><tr>')
    parts.append(
        "".join(
            f'<th class="num">{h}</th>' if h in ("Rung", "Time") else f"<th>{h}</th>"
            for h in ("Claim", "Source", "Verdict", "Rung", "Key number", "Time")
        )
        + "</tr></thead><tbody>"
    )
    for ns, title, claims in groups:
        parts.append(
            f'<tr class="group"><td colspan="6"><a href="#ns-{_e(ns)}">{_e(title)}</a></td></tr>'
        )
        for r in claims:
            rung = r.get("rung")
            parts.append(
                f'<tr><td><a href="#{_e(_anchor(r["id"]))}"><code>{_e(r["id"])}</code></a></td>'
                f"<td>{_e(r.get('source', ''))}</td>"
                f'<td title="{_e(r.get("reason", ""))}">{_badge(r["verdict"])}</td>'
                f'<td class="num" title="{_e(_rung_text(rung))}">'
                f"{_e(rung if rung is not None else '-')}</td>"
                f"<td>{_e(r.get('key_number', ''))}</td>"
                f'<td class="num">{_e(_fmt_seconds(r.get("seconds")))}</td></tr>'
            )
    parts.append("</tbody></table>")
    parts.append(
        '<p class="note">Rungs of the exactness ladder: '
        + "; ".join(f"{k} {_e(v)}" for k, v in RUNG_NAMES.items())
        + ".</p>"
    )
    for ns, title, claims in groups:
        parts.append(f'<section class="group"><h2 id="ns-{_e(ns)}">{_e(title)}</h2>')
        parts.append(_html_intro(ns))
        parts += [_html_claim(r, base) for r in claims]
        parts.append("</section>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- writer
def write_report(results: Sequence[dict], out_dir: str | Path, meta: dict) -> Path:
    """Write ``results.json``, ``report.md`` and ``index.html`` into ``out_dir``.

    Figures outside ``out_dir`` are copied into ``out_dir/figures``. Returns the path of
    ``index.html``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = _place_figures([to_jsonable(r) for r in results], out_dir)
    meta = to_jsonable(dict(meta))
    (out_dir / "results.json").write_text(
        json.dumps({"meta": meta, "claims": results}, indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / "report.md").write_text(render_markdown(results, meta), encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(render_html(results, meta, base=out_dir), encoding="utf-8")
    return index
