"""The repository's docs pages (``docs/**/*.md``) as HTML beside a report, formulas as MathML.

The report links its "Mathematics" references to these pages: ``<out>/docs/<page>.html``,
the same layout as ``docs/``, so links between the pages only change ``.md`` to ``.html``;
a link to another file of the repository (source, README) points at that file. The pages are
offline and self-contained: one inline style sheet, no script, MathML (rendered by the
browser) for the formulas.

How a page is made (Python-Markdown and latex2mathml, the ``report`` extra):

1. code (fenced and indented blocks, inline spans) is set aside, so a ``$`` inside code stays code;
2. each ``$$...$$`` (display) and ``$...$`` (inline) formula, outside code, is converted to a
   ``<math>`` element by latex2mathml and replaced by a placeholder, so Markdown's emphasis
   rules never see its ``_`` and ``*``; ``\\$`` is a literal dollar;
3. Markdown runs (tables, fenced code, GitHub's heading anchors) and the placeholders are
   replaced by the MathML.

A formula latex2mathml cannot convert is shown as its LaTeX source in a ``<code>`` element
(and counted in :data:`UNCONVERTED`, which a test keeps empty for the shipped docs).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

__all__ = ["available", "render_page", "write_docs", "DOCS", "UNCONVERTED"]

DOCS = Path(__file__).resolve().parents[2] / "docs"
"""The repository's docs directory."""

UNCONVERTED: list[str] = []
"""Formulas latex2mathml could not convert in this process (shown as LaTeX code)."""

_FENCE = re.compile(r"^(?P<f>```|~~~).*?^(?P=f)[ \t]*$", re.M | re.S)
_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?!\d)")
_HREF = re.compile(r'href="([^"]*)"')

_STYLE = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:52rem;
margin:0 auto;padding:1rem;color:#1f2328}
pre,code{font:0.9em ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa}
pre{padding:0.6rem;overflow-x:auto}code{padding:0 0.2em}pre code{padding:0}
table{border-collapse:collapse;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:0.25rem 0.5rem}
math[display=block]{overflow-x:auto;margin:0.6rem 0}
nav{font-size:0.9em;margin-bottom:1rem}
"""


def available() -> bool:
    """True when Python-Markdown and latex2mathml are importable."""
    try:
        import latex2mathml.converter  # noqa: F401
        import markdown  # noqa: F401
    except ImportError:
        return False
    return True


def _mathml(latex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    try:
        out = convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises its own exception types for unknown commands
        UNCONVERTED.append(latex)
        return f"<code>{html.escape(latex)}</code>"
    if re.search(r">\\[A-Za-z]+<", out):  # a command it does not know, kept as text
        UNCONVERTED.append(latex)
    return out


def _slug(text: str, sep: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen."""
    text = re.sub(r"<[^>]+>", "", html.unescape(text)).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _protect(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with code kept as is and formulas replaced by placeholders -> MathML."""
    math: dict[str, str] = {}

    def hold(html_text: str) -> str:
        key = f"DVMATH{len(math)}X"
        math[key] = html_text
        return key

    def formulas(chunk: str) -> str:
        chunk = chunk.replace("\\$", hold("$"))
        chunk = _DISPLAY.sub(lambda m: hold(_mathml(m.group(1), True)), chunk)
        return _INLINE.sub(lambda m: hold(_mathml(m.group(1), False)), chunk)

    out, pos = [], 0
    for block in _code_blocks(text):
        out.append(_spans(text[pos : block.start()], formulas))
        out.append(block.group(0))
        pos = block.end()
    out.append(_spans(text[pos:], formulas))
    return "".join(out), math


_LIST = re.compile(r"^\s*([*+-]|\d+[.)])\s")


def _code_blocks(text: str) -> list[re.Match]:
    """Fenced blocks and indented ones (4 spaces after a blank line, not inside a list item),
    in order: what Markdown will show as code."""
    blocks = list(_FENCE.finditer(text))
    fenced = [(b.start(), b.end()) for b in blocks]
    in_list = False
    for m in re.finditer(r"(?:^[ \t]*\n)((?:(?: {4}|\t).*\n?|[ \t]*\n)+)", text, re.M):
        start = m.start(1)
        before = text[:start].rstrip("\n").rsplit("\n\n", 1)[-1]
        in_list = any(_LIST.match(line) for line in before.splitlines()[:1]) or before.startswith(
            (" ", "\t")
        )
        if in_list or any(a <= start < b for a, b in fenced):
            continue
        blocks.append(re.compile(r".+", re.S).match(text, start, m.end(1)))
    return sorted(blocks, key=lambda b: b.start())


def _spans(text: str, formulas) -> str:
    out, pos = [], 0
    for span in _SPAN.finditer(text):
        out.append(formulas(text[pos : span.start()]))
        out.append(span.group(0))
        pos = span.end()
    out.append(formulas(text[pos:]))
    return "".join(out)


def _link(href: str, page: Path, out_page: Path, pages: set[Path]) -> str:
    """A link of ``page`` (a .md in docs/) as seen from its HTML copy ``out_page``."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("#") or not href:
        return href
    path, _, anchor = href.partition("#")
    target = (page.parent / path).resolve()
    anchor = f"#{anchor}" if anchor else ""
    if target in pages:
        return Path(os.path.relpath(target.with_suffix(".html"), page.parent)).as_posix() + anchor
    rel = os.path.relpath(target, out_page.parent.resolve())
    return Path(rel).as_posix() + anchor


def render_page(page: Path, out_page: Path, pages: set[Path], report: Path) -> str:
    """The HTML of docs page ``page`` written as ``out_page``; ``report``: the index.html."""
    import markdown

    text, math = _protect(page.read_text(encoding="utf-8"))
    body = markdown.markdown(
        text,
        extensions=["tables", "fenced_code", "toc"],
        extension_configs={"toc": {"slugify": _slug}},
        output_format="html",
    )
    for key, value in math.items():
        body = body.replace(f"<p>{key}</p>", value).replace(key, value)
    body = _HREF.sub(
        lambda m: f'href="{html.escape(_link(html.unescape(m.group(1)), page, out_page, pages))}"',
        body,
    )
    title = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    title_text = re.sub(r"<[^>]+>", "", title.group(1)) if title else page.stem
    back = Path(os.path.relpath(report, out_page.parent)).as_posix()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title_text}</title>\n<style>{_STYLE}</style></head><body>\n"
        f'<nav><a href="{html.escape(back)}">back to the report</a></nav>\n'
        f"{body}\n</body></html>\n"
    )


def write_docs(out_dir: str | Path, docs: Path = DOCS) -> dict[Path, Path]:
    """Write every ``docs/**/*.md`` as ``out_dir/docs/**/*.html``; {source: written page}.

    Nothing is written (empty dict) when Markdown or latex2mathml is missing or there is
    no docs directory (an installed wheel without the repository).
    """
    if not available() or not docs.is_dir():
        return {}
    out_dir = Path(out_dir)
    pages = {p.resolve() for p in docs.rglob("*.md")}
    written = {}
    for page in sorted(pages):
        out_page = out_dir / "docs" / page.relative_to(docs.resolve()).with_suffix(".html")
        out_page.parent.mkdir(parents=True, exist_ok=True)
        out_page.write_text(
            render_page(page, out_page, pages, out_dir / "index.html"), encoding="utf-8"
        )
        written[page] = out_page
    return written
