"""The docs pages rendered as HTML beside the report: formulas as MathML, code left alone,
every link resolving, the report's "Mathematics" links pointing at the HTML."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

pytest.importorskip("markdown")
pytest.importorskip("latex2mathml")

from verify.app import docs_html  # noqa: E402
from verify.app.report import collect_meta, write_report  # noqa: E402


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    (out / "index.html").write_text("<!DOCTYPE html>", encoding="utf-8")  # the report
    del docs_html.UNCONVERTED[:]
    return out, docs_html.write_docs(out)


def _outside_code_and_math(page: str) -> str:
    page = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", page, flags=re.S)
    return re.sub(r"<math.*?</math>", "", page, flags=re.S)


def test_every_docs_page_is_rendered_and_every_formula_converted(rendered):
    out, written = rendered
    sources = sorted(docs_html.DOCS.rglob("*.md"))
    assert sorted(written) == [p.resolve() for p in sources] and len(sources) >= 10
    assert docs_html.UNCONVERTED == []  # latex2mathml knew every command of the shipped docs


def test_a_formula_of_the_theory_page_becomes_a_math_element(rendered):
    out, _ = rendered
    assert r"$\tau = T - t$" in (docs_html.DOCS / "theory.md").read_text(encoding="utf-8")
    page = (out / "docs" / "theory.html").read_text(encoding="utf-8")
    inline = re.findall(r'<math [^>]*display="inline">(.*?)</math>', page, re.S)
    tau = "<mi>τ</mi><mo>=</mo><mi>T</mi><mo>−</mo><mi>t</mi>"  # MathML of tau = T - t
    assert any(tau in re.sub(r"\s+", "", html.unescape(m)) for m in inline)
    assert re.search(r'<math [^>]*display="block"', page)  # the $$...$$ displays too


def test_no_dollar_is_left_outside_code(rendered):
    out, written = rendered
    for page in written.values():
        text = page.read_text(encoding="utf-8")
        assert "$" not in _outside_code_and_math(text), page
        assert "DVMATH" not in text, page  # every placeholder replaced
        assert "<script" not in text and "stylesheet" not in text  # offline, self-contained


def test_every_link_of_the_rendered_pages_resolves(rendered):
    out, written = rendered
    ids = {}
    for page in written.values():
        text = page.read_text(encoding="utf-8")
        ids[page.resolve()] = set(re.findall(r'id="([^"]+)"', text))
    for page in written.values():
        for href in re.findall(r'href="([^"]*)"', page.read_text(encoding="utf-8")):
            href = html.unescape(href)
            if re.match(r"https?://", href):
                continue
            path, _, anchor = href.partition("#")
            target = (page.parent / path).resolve() if path else page.resolve()
            assert target.exists(), f"{page.name}: {href}"
            assert not path.endswith(".md") or not target.is_relative_to(docs_html.DOCS)
            if anchor and target.suffix == ".html":
                assert anchor in ids[target], f"{page.name}: {href}"


def test_code_is_left_alone_and_markdown_never_sees_the_formulas(tmp_path):
    page = tmp_path / "docs" / "p.md"
    page.parent.mkdir()
    page.write_text(
        "# P\n\nInline $a_1 * b_2 * c_3$ and a price \\$5, code `$x_1$` and\n\n"
        "```\n$not math$\n```\n\n$$\nx_1 = y_2\n$$\n\nSee [q](q.md#q-head).\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "q.md").write_text("# Q head\n", encoding="utf-8")
    written = docs_html.write_docs(tmp_path / "out", docs=tmp_path / "docs")
    text = written[page.resolve()].read_text(encoding="utf-8")
    assert "<em>" not in text  # the * and _ of the formula are not emphasis
    assert "<code>$x_1$</code>" in text and "$not math$" in text
    assert "a price $5" in text
    assert text.count('display="block"') == 1 and text.count('display="inline"') == 1
    assert 'href="q.html#q-head"' in text and 'id="q-head"' in written[
        (tmp_path / "docs" / "q.md").resolve()
    ].read_text(encoding="utf-8")


def _result(doc: str) -> dict:
    return {
        "id": "theory.one",
        "title": "The one statement holds.",
        "statement": "It holds.",
        "source": "standard",
        "setting": "1-D",
        "doc": doc,
        "finding": None,
        "verdict": "holds",
        "expected": "holds",
        "reason": "ok",
        "rung": 1,
        "tolerance": "",
        "key_number": "",
        "tables": {},
        "figures": [],
        "seeds": [],
        "seconds": 0.1,
    }


def test_the_report_links_the_html_pages_and_the_raw_markdown_without_them(tmp_path, monkeypatch):
    doc = "docs/claims/theory.md#pf-ode-preserves-kl"
    index = write_report([_result(doc)], tmp_path / "with", collect_meta())
    text = index.read_text(encoding="utf-8")
    assert 'href="docs/claims/theory.html#pf-ode-preserves-kl"' in text
    assert (tmp_path / "with" / "docs" / "claims" / "theory.html").exists()
    monkeypatch.setattr(docs_html, "available", lambda: False)
    index = write_report([_result(doc)], tmp_path / "without", collect_meta())
    hrefs = re.findall(r'href="([^"]*claims/theory[^"]*)"', index.read_text(encoding="utf-8"))
    assert hrefs and all(h.split("#")[0].endswith("docs/claims/theory.md") for h in hrefs)
    assert not (tmp_path / "without" / "docs").exists()
    assert Path(index.parent, hrefs[0].split("#")[0]).resolve().exists()


def test_every_claims_mathematics_link_lands_on_a_heading_of_its_html_page(rendered):
    from verify.claims.registry import all_claims

    out, _ = rendered
    for claim in all_claims():
        path, _, anchor = claim.doc.partition("#")
        page = out / Path(path).with_suffix(".html")
        assert page.exists(), claim.id
        assert not anchor or f'id="{anchor}"' in page.read_text(encoding="utf-8"), claim.id


def test_an_indented_code_block_keeps_its_dollars_and_a_list_its_formulas(tmp_path):
    page = tmp_path / "docs" / "p.md"
    page.parent.mkdir()
    page.write_text(
        "# P\n\nA shell:\n\n    $ pip install x\n    echo $HOME\n\n* an item\n\n"
        "    with $x_1$ in its second paragraph\n\nafter $y$.\n",
        encoding="utf-8",
    )
    text = docs_html.write_docs(tmp_path / "out", docs=tmp_path / "docs")[page.resolve()]
    html_text = text.read_text(encoding="utf-8")
    assert "<pre><code>$ pip install x\necho $HOME" in html_text
    assert html_text.count("<math") == 2  # x_1 in the list paragraph, y after it
