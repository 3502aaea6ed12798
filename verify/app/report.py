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

import datetime as _dt
import html
import importlib.metadata
import json
import os
import platform
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verify.app.docs_html import write_docs
from verify.claims.base import RUNG_NAMES, VERDICTS, to_jsonable, unexpected, verdict_counts
from verify.claims.namespaces import NAMESPACES, namespace
from verify.claims.render import (
    CSS,
    VERDICT_MEANINGS,
    anchor,
    card_html,
    column_format,
    expected_verdict,
    install_command,
    is_unexpected,
    rung_text,
    seeds_short,
    short_source,
    text_html,
)

__all__ = ["NAMESPACE_TITLES", "write_report", "collect_meta", "render_html", "render_markdown"]

NAMESPACE_TITLES = {ns.key: ns.title for ns in NAMESPACES}
"""Section heading of each claim namespace, in report order (from verify.claims.namespaces)."""

_OTHER_TITLE = "Other claims"
_MAX_ROWS = 200
_VERSION_PACKAGES = ("numpy", "scipy", "sympy", "mpmath", "matplotlib", "torch", "dask")
_OPTIONAL_PACKAGES = (
    "matplotlib",
    "torch",
    "torchsde",
    "diffusers",
    "k-diffusion",
    "scikit-learn",
    "dask",
    "markdown-it-py",
    "latex2mathml",
)
"""Optional packages whose presence the report's first screen states (they decide which
claims run or are skipped)."""
ALL_VERDICTS = ("holds", "fails", "inconclusive", "error", "skipped")


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
    packages = {name: _version(name) for name in _OPTIONAL_PACKAGES}
    meta = {
        "toolkit": "diffusion-verify",
        "version": _version("diffusion-verify") or "unknown",
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "budget": budget,
        "seed": seed,
        "command": command,
        "versions": versions,
        "packages": packages,
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


def _fmt_seconds(s: Any) -> str:
    try:
        s = float(s)
    except (TypeError, ValueError):
        return ""
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


def _counts(results: Sequence[dict]) -> dict[str, int]:
    return verdict_counts(results)


def summary_line(results: Sequence[dict]) -> str:
    """``"68 claims: 49 holds, 6 fails (6 expected), 0 inconclusive, 13 skipped, 0 error"``
    (``expected``: fails of recorded findings), then whether every verdict is as expected."""
    c = _counts(results)
    n = len(results)
    head = (
        f"{n} claim{'s' if n != 1 else ''}: {c['holds']} holds, {c['fails']} fails "
        f"({c['expected fails']} expected), {c['inconclusive']} inconclusive, "
        f"{c['skipped']} skipped, {c['error']} error"
    )
    bad = [r for r in results if unexpected(r)]
    tail = "every verdict as expected" if not bad else f"{len(bad)} not as expected"
    return f"{head}; {tail}"


def readme_counts(results: Sequence[dict]) -> str:
    """README's sentence of a run's counts, generated from its results (never typed by hand):
    ``"68 claims, 54 hold, 10 fail (all 10 expected findings), 1 inconclusive, 3 skipped"``.
    ``python -m verify.app.report results.json`` prints it for a results.json."""
    c = _counts(results)
    exp = c["expected fails"]
    findings = f"all {exp} expected findings" if exp == c["fails"] else f"{exp} expected findings"
    text = (
        f"{len(results)} claims, {c['holds']} hold, {c['fails']} fail ({findings}), "
        f"{c['inconclusive']} inconclusive, {c['skipped']} skipped"
    )
    return text + (f", {c['error']} error" if c["error"] else "")


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
    """A Markdown table; numbers in one format per column (``render.column_format``)."""
    fmts = [column_format([r[j] for r in rows if j < len(r)]) for j in range(len(columns))]
    lines = [
        "| " + " | ".join(_md_escape(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows[:_MAX_ROWS]:
        cells = [_md_escape(fmts[j](v)) for j, v in enumerate(row[: len(columns)])]
        lines.append("| " + " | ".join(cells) + " |")
    if len(rows) > _MAX_ROWS:
        lines.append(f"\n*{len(rows) - _MAX_ROWS} more rows in results.json.*")
    return lines


def namespace_intro(ns: str) -> str:
    """The introduction of a claim namespace (plain text from ``verify.claims.namespaces``);
    empty for a namespace that is not registered there (claims injected by a user)."""
    entry = namespace(ns)
    return entry.intro if entry is not None else ""


def _html_intro(ns: str, base: Path | None = None) -> str:
    """A namespace's introduction as one HTML paragraph, with links to its paper and doc."""
    entry = namespace(ns)
    if entry is None:
        return ""
    links = []
    if entry.arxiv_url:
        links.append(f'<a href="{_e(entry.arxiv_url)}">arXiv {_e(entry.arxiv)}</a>')
    if entry.doc:
        links.append(f'mathematics: <a href="{_e(_doc_href(entry.doc, base))}">{_e(entry.doc)}</a>')
    tail = f" ({'; '.join(links)})" if links else ""
    return f'<div class="intro"><p>{text_html(entry.intro)}{tail}</p></div>'


def _md_findings(results: Sequence[dict]) -> list[str]:
    out = ["## Findings", ""]
    fails = [r for r in results if r["verdict"] == "fails"]
    if not fails:
        out.append("No statement is refuted by the exact answers in this run.")
    for r in fails:
        out.append(
            f"- **[{r['id']}](#{anchor(r['id'])})** {r.get('title') or r.get('statement', '')}: "
            f"{r.get('key_number', '')}. {_first(r.get('reason', ''))}"
            + (f" *What holds instead:* {r['finding']}" if r.get("finding") else "")
        )
    undecided = [r["id"] for r in results if r["verdict"] == "inconclusive"]
    if undecided:
        out += ["", "Undecided (inconclusive): " + ", ".join(f"`{i}`" for i in undecided) + "."]
    return out


def _md_card(r: dict) -> list[str]:
    out = ["", f'<a id="{anchor(r["id"])}"></a>', "", f"### {r['id']}: {r['verdict']}"]
    out += ["", f"> {_md_escape(r.get('statement', ''))}", ""]
    out += [
        f"- **Source:** {r.get('source', '')}",
        f"- **Setting:** {r.get('setting', '')}",
        f"- **Verdict:** {r['verdict']}. {r.get('reason', '')}",
        f"- **Rung:** {rung_text(r.get('rung'))}",
        f"- **Tolerance:** {r.get('tolerance', '')}",
    ]
    if r.get("finding") and r["verdict"] == "fails":
        out.append(f"- **What holds instead:** {r['finding']}")
    if r.get("doc"):
        out.append(f"- **Mathematics:** {r['doc']}")
    if r.get("key_number"):
        out.append(f"- **Key number:** {r['key_number']}")
    if r.get("seeds"):
        out.append(f"- **Seeds:** {seeds_short(r['seeds'])}")
    out.append(f"- **Time:** {_fmt_seconds(r.get('seconds'))}")
    for name, table in r.get("tables", {}).items():
        out += ["", f"**{name}**", ""]
        out += _md_table(table.get("columns", []), table.get("rows", []))
    for f in r.get("figures", []):
        out += ["", f"![{Path(f).stem}]({f})"]
    if r.get("error"):
        out += ["", "```", r["error"].rstrip(), "```"]
    return out


def render_markdown(results: Sequence[dict], meta: dict) -> str:
    """The Markdown report (findings first; figure links relative to the report directory)."""
    out = ["# diffusion-verify report", ""]
    out += [f"**{summary_line(results)}**", ""]
    out += _md_table(["Run", ""], [[k, v] for k, v in _meta_rows(meta)])
    out += ["", "Rerun with:", "", "```", _rerun(meta), "```", ""]
    out += _md_findings(results)
    out += ["", "## Summary", ""]
    out += _md_table(
        ["claim", "statement", "source", "verdict", "rung", "key number", "time"],
        [
            [
                f"[{r['id']}](#{anchor(r['id'])})",
                r.get("title") or r.get("statement", ""),
                short_source(r.get("source", "")),
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
            out += _md_card(r)
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- html
_PAGE_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#fff}
main{max-width:1120px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:21px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.counts{display:flex;gap:8px;margin:10px 0 14px;flex-wrap:wrap}
.runline{color:var(--muted);font-size:13.5px;margin:0 0 6px}
.meta{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:6px 14px}
.meta table{border-collapse:collapse;width:100%}
.meta th{text-align:left;color:var(--muted);font-weight:600;padding:3px 16px 3px 0;
white-space:nowrap;vertical-align:top;width:1%}
.meta td{padding:3px 0;word-break:break-word}
.findings{display:grid;gap:12px;margin:12px 0 8px}
.finding-box{border:1px solid var(--line);border-left:5px solid var(--fails);border-radius:8px;
padding:10px 16px;background:#fff}
.finding-box h3{font-size:15.5px;margin:0 0 4px}
.finding-box p{margin:4px 0}
.finding-box .true{background:#fff8c5;border-radius:6px;padding:6px 10px}
table.summary{border-collapse:collapse;font-size:13.5px;width:100%}
table.summary th,table.summary td{border-bottom:1px solid var(--line);padding:5px 8px;
text-align:left;vertical-align:top}
table.summary th{background:var(--soft);font-weight:600}
table.summary td.num,table.summary th.num{text-align:right;white-space:nowrap;
font-variant-numeric:tabular-nums}
table.summary tr.group td{background:#eef1f4;font-weight:600;color:var(--muted)}
.intro{color:var(--muted);font-size:14px;margin:0 0 14px}
.top{font-size:12.5px;margin:6px 0 0}
.checked p,.legend p{margin:6px 0}
.legend{border:1px solid var(--line);border-radius:8px;padding:6px 14px;margin:10px 0;
background:var(--soft)}
dl.legend-list{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:6px 0;
font-size:14px}
dl.legend-list dd{margin:0;min-width:0}
.toc ol{margin:4px 0 8px;padding-left:22px}.toc li{margin:2px 0}
.unexpected-box{border:1px solid var(--fails);border-radius:8px;padding:6px 14px;
background:#ffebe9;margin:10px 0}
.skipped-box{border:1px solid var(--line);border-left:5px solid var(--skipped);
border-radius:8px;padding:6px 14px;margin:10px 0}
.skipped-box ul,.unexpected-box ul{margin:4px 0;padding-left:20px}
table.summary{min-width:720px}
mark{background:#fff3b0;padding:0 2px;border-radius:3px}
@media (max-width:600px){main{padding:14px 12px 48px}h1{font-size:23px}
.dv dl.facts{grid-template-columns:1fr}table.summary{min-width:640px}}
"""


def _doc_href(doc: str, base: Path | None) -> str:
    """Link from the report directory to a doc of the repository (relative when possible)."""
    if not doc:
        return ""
    path, _, anchor = doc.partition("#")
    root = Path(__file__).resolve().parents[2]
    target = root / path
    rendered = None if base is None else Path(base) / Path(path).with_suffix(".html")
    if rendered is not None and path.startswith("docs/") and rendered.exists():
        target = rendered  # the page as HTML beside the report (verify.app.docs_html)
    if base is not None and target.exists():
        rel = os.path.relpath(target, Path(base).resolve())
        return Path(rel).as_posix() + (f"#{anchor}" if anchor else "")
    return doc


def _papers(results: Sequence[dict]) -> list[tuple[str, str, int]]:
    """``[(arxiv id, paper, number of claims)]`` of the namespaces run, in report order."""
    by_ns: dict[str, int] = {}
    for r in results:
        by_ns[_namespace(r["id"])] = by_ns.get(_namespace(r["id"]), 0) + 1
    return [
        (ns.arxiv, ns.paper or "", by_ns[ns.key])
        for ns in NAMESPACES
        if ns.arxiv and ns.key in by_ns
    ]


def _checked_html(results: Sequence[dict], meta: dict) -> str:
    """What was checked: claims, papers (by arXiv id), budget and which packages were present."""
    papers = _papers(results)
    paper_text = "; ".join(
        f'<a href="https://arxiv.org/abs/{_e(a)}" title="{_e(title)}">arXiv {_e(a)}</a> '
        f"({n} claims)"
        for a, title, n in papers
    )
    in_papers = sum(n for _, _, n in papers)
    rest = len(results) - in_papers
    packages = meta.get("packages") or {}
    present = [f"{k} {v}" for k, v in packages.items() if v]
    absent = [k for k, v in packages.items() if not v]
    parts = [
        '<div class="checked">',
        f"<p><strong>What was checked.</strong> {len(results)} claims, against exact answers: "
        f"{in_papers} from {len(papers)} papers, {paper_text}"
        + (f"; {rest} from standard theory and the toolkit's own checks" if rest else "")
        + f". Budget <code>{_e(meta.get('budget', ''))}</code>, base seed "
        f"{_e(meta.get('seed', ''))}, {_e(_fmt_seconds(meta.get('seconds')))}.</p>",
    ]
    if packages:
        parts.append(
            "<p><strong>Optional packages</strong> present: "
            + (_e(", ".join(present)) or "none")
            + "; absent: "
            + (_e(", ".join(absent)) or "none")
            + " (claims that need an absent one are <em>skipped</em>, listed below with their "
            "install command).</p>"
        )
    parts.append("</div>")
    return "".join(parts)


def _legend_html() -> str:
    rows = "".join(
        f'<dt><span class="badge {v}">{v}</span></dt><dd>{_e(m)}</dd>'
        for v, m in VERDICT_MEANINGS.items()
    )
    return (
        '<div class="legend" id="legend"><p><strong>Verdicts.</strong> Each claim also states '
        "the verdict it is <em>expected</em> to have: a statement the toolkit found false is "
        "recorded as a finding and expected to fail (like a strict xfail).</p>"
        f'<dl class="legend-list">{rows}</dl></div>'
    )


def _toc_html(groups) -> str:
    items = []
    for ns, title, claims in groups:
        c = _counts(claims)
        tally = ", ".join(f"{c[v]} {v}" for v in ALL_VERDICTS if c.get(v))
        items.append(
            f'<li><a href="#ns-{_e(ns)}">{_e(title)}</a> '
            f'<span class="note">{len(claims)} claims: {_e(tally)}</span></li>'
        )
    return (
        '<nav class="toc" id="contents"><p><strong>Contents</strong> '
        '(<a href="#findings">findings</a> · <a href="#summary">summary table</a>)</p>'
        f"<ol>{''.join(items)}</ol></nav>"
    )


def _claim_links(claims: Sequence[dict]) -> str:
    return ", ".join(
        f'<a href="#{_e(anchor(r["id"]))}"><code>{_e(r["id"])}</code></a>' for r in claims
    )


def _findings_html(results: Sequence[dict]) -> str:
    """Unexpected verdicts first (what a CI acts on), then the refuted statements, then the
    claims that did not decide: errors, skipped ones (with their install commands) and
    inconclusive ones, each in its own list."""
    fails = [r for r in results if r["verdict"] == "fails"]
    unexpected = [r for r in results if is_unexpected(r)]
    parts = ['<h2 id="findings">Findings</h2>']
    if unexpected:
        rows = "".join(
            f'<li><a href="#{_e(anchor(r["id"]))}"><code>{_e(r["id"])}</code></a> '
            f"{_badge(r['verdict'])} expected {_e(expected_verdict(r))}: "
            f"{text_html(_first(r.get('reason', ''), 160))}</li>"
            for r in unexpected
        )
        parts.append(
            '<div class="unexpected-box"><p><strong>Not as expected</strong> '
            f"({len(unexpected)}): these verdicts differ from the claims' expected ones."
            f"</p><ul>{rows}</ul></div>"
        )
    if not fails:
        parts.append("<p>No statement is refuted by the exact answers in this run.</p>")
    else:
        parts.append(
            '<p class="note">Statements the exact answers refute (a claim that fails); the '
            "numbers that decide it, and what holds instead where the toolkit found it.</p>"
        )
        parts.append('<div class="findings">')
        for r in fails:
            ref = anchor(r["id"])
            true = ""
            if r.get("finding"):
                what = text_html(r["finding"])
                true = f'<p class="true"><strong>What holds instead.</strong> {what}</p>'
            parts.append(
                f'<div class="finding-box"><h3><a href="#{_e(ref)}"><code>{_e(r["id"])}</code>'
                f"</a> {text_html(r.get('title') or r.get('statement', ''))}</h3>"
                f"<p>{text_html(r.get('key_number', '') or _first(r.get('reason', '')))}</p>"
                f"{true}</div>"
            )
        parts.append("</div>")
    errors = [r for r in results if r["verdict"] == "error"]
    if errors:
        parts.append(
            f"<p><strong>Errors</strong> (the claim crashed; traceback on its card): "
            f"{_claim_links(errors)}.</p>"
        )
    skipped = [r for r in results if r["verdict"] == "skipped"]
    if skipped:
        by_cmd: dict[str, list[dict]] = {}
        for r in skipped:
            by_cmd.setdefault(install_command(r), []).append(r)
        items = "".join(
            f"<li>{_claim_links(rs)}: "
            + (f"<code>{_e(cmd)}</code>" if cmd else text_html(rs[0].get("reason", "")))
            + "</li>"
            for cmd, rs in by_cmd.items()
        )
        parts.append(
            f'<div class="skipped-box"><p><strong>Skipped</strong> ({len(skipped)}: a '
            f"requirement is missing), with the command that installs it:</p><ul>{items}</ul>"
            "</div>"
        )
    undecided = [r for r in results if r["verdict"] == "inconclusive"]
    if undecided:
        parts.append(
            "<p><strong>Inconclusive</strong> (the evidence does not decide at this budget): "
            f"{_claim_links(undecided)}.</p>"
        )
    return "\n".join(parts)


def _first(reason: str, limit: int = 260) -> str:
    return reason if len(reason) <= limit else reason[: reason.rfind(" ", 0, limit)] + " …"


def _summary_html(groups) -> str:
    head = "".join(
        f'<th class="num">{h}</th>' if h in ("Rung", "Time") else f"<th>{h}</th>"
        for h in ("Claim", "Statement", "Source", "Verdict", "Rung", "Key number", "Time")
    )
    parts = [
        '<h2 id="summary">Summary</h2><div class="table-wrap"><table class="summary">'
        f"<thead><tr>{head}</tr></thead>"
    ]
    parts.append("<tbody>")
    for ns, title, claims in groups:
        parts.append(
            f'<tr class="group"><td colspan="7"><a href="#ns-{_e(ns)}">{_e(title)}</a></td></tr>'
        )
        for r in claims:
            rung = r.get("rung")
            parts.append(
                f'<tr><td><a href="#{_e(anchor(r["id"]))}"><code>{_e(r["id"])}</code></a></td>'
                f"<td>{text_html(r.get('title') or r.get('statement', ''))}</td>"
                f"<td>{_e(short_source(r.get('source', '')))}</td>"
                f'<td title="{_e(_first(r.get("reason", "")))}">{_badge(r["verdict"])}</td>'
                f'<td class="num" title="{_e(rung_text(rung))}">'
                f"{_e(rung if rung is not None else '-')}</td>"
                f"<td>{text_html(r.get('key_number', ''))}</td>"
                f'<td class="num">{_e(_fmt_seconds(r.get("seconds")))}</td></tr>'
            )
    parts.append("</tbody></table></div>")
    parts.append(
        '<p class="note">Rungs of the exactness ladder: '
        + "; ".join(f"{k} {_e(v)}" for k, v in RUNG_NAMES.items())
        + ". Sources are shortened to paper and section; the full text is in each card.</p>"
    )
    return "".join(parts)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _badge(verdict: str) -> str:
    cls = verdict if verdict in ALL_VERDICTS else "inconclusive"
    return f'<span class="badge {cls}">{_e(verdict)}</span>'


def render_html(results: Sequence[dict], meta: dict, base: Path | None = None) -> str:
    """The self-contained HTML report; relative figure paths are read from ``base``.

    Findings first (one box per refuted statement), then the summary table, then one section
    per namespace with its claims' cards.
    """
    counts = _counts(results)
    groups = _groups(results)
    head = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>diffusion-verify report ({_e(meta.get('budget', ''))})</title>"
        f'<style>{CSS}{_PAGE_CSS}</style></head><body><main class="dv">'
    )
    parts = [head, "<h1>diffusion-verify report</h1>"]
    parts.append(
        '<div class="counts">'
        + "".join(
            f'<span class="badge {v}">{counts.get(v, 0)} {v}</span>'
            for v in ALL_VERDICTS
            if counts.get(v) or v in VERDICTS
        )
        + "</div>"
    )
    parts.append(_checked_html(results, meta))
    parts.append(_legend_html())
    parts.append(_toc_html(groups))
    parts.append(_findings_html(results))
    parts.append(
        f'<p class="runline">{_e(meta.get("date", ""))} · rerun: <code>{_e(_rerun(meta))}</code>'
        "</p>"
    )
    parts.append('<details class="meta"><summary>Run details</summary><table>')
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _meta_rows(meta)]
    parts.append("</table></details>")
    parts.append(_summary_html(groups))
    for ns, title, claims in groups:
        parts.append(f'<section class="group"><h2 id="ns-{_e(ns)}">{_e(title)}</h2>')
        parts.append(_html_intro(ns, base))
        for r in claims:
            parts.append(card_html(r, base, _doc_href(r.get("doc", ""), base)))
            parts.append('<p class="top"><a href="#contents">back to contents</a></p>')
        parts.append("</section>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- writer
def write_report(results: Sequence[dict], out_dir: str | Path, meta: dict) -> Path:
    """Write ``results.json``, ``report.md`` and ``index.html`` into ``out_dir``.

    Figures outside ``out_dir`` are copied into ``out_dir/figures``; the docs pages go to
    ``out_dir/docs`` as HTML when Markdown and latex2mathml are installed (else the report
    links the raw ``.md``). Returns the path of ``index.html``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = _place_figures([to_jsonable(r) for r in results], out_dir)
    meta = to_jsonable(dict(meta))
    (out_dir / "results.json").write_text(
        json.dumps({"meta": meta, "claims": results}, indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / "report.md").write_text(render_markdown(results, meta), encoding="utf-8")
    write_docs(out_dir)  # before index.html: its "Mathematics" links point at these pages
    index = out_dir / "index.html"
    index.write_text(render_html(results, meta, base=out_dir), encoding="utf-8")
    return index


if __name__ == "__main__":  # python -m verify.app.report results.json: README's counts
    _data = json.loads(Path(sys.argv[1]).read_text())
    print(readme_counts(_data["claims"] if isinstance(_data, dict) else _data))
