"""Every claim is self-contained: what it cites ships with the project.

A claim's statement, source and setting cite papers by arXiv id and the repository's own docs;
its ``doc`` names a file of the repository and a section heading in it. Nothing refers to
material that does not ship (working notes, design documents, issue numbers).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verify.claims import registry
from verify.claims.namespaces import NAMESPACES

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"notes §|NOTES|DESIGN\.md|\bissue \d|\(issue|shared/|module docstring")
CLAIMS = registry.all_claims()


def _anchors(path: Path) -> set[str]:
    """GitHub-style anchors of the Markdown headings in ``path``."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_texts_cite_only_what_ships(claim):
    for field in ("statement", "source", "setting", "finding", "title"):
        text = getattr(claim, field)
        assert not FORBIDDEN.search(text), f"{claim.id}.{field} cites {FORBIDDEN.search(text)[0]!r}"


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_doc_exists_with_its_section(claim):
    assert claim.doc, f"{claim.id} has no doc"
    path, _, anchor = claim.doc.partition("#")
    assert (ROOT / path).is_file(), f"{claim.id}: {path} is not in the repository"
    assert anchor in _anchors(ROOT / path), f"{claim.id}: no section '#{anchor}' in {path}"


def test_every_namespace_page_and_the_theory_pages_exist():
    for ns in NAMESPACES:
        assert (ROOT / ns.doc).is_file(), ns.doc
        assert not FORBIDDEN.search(ns.intro), ns.key
    for page in ("docs/theory.md", "docs/analytic.md"):
        assert (ROOT / page).is_file(), page


def test_docs_link_only_to_files_that_exist():
    for page in (ROOT / "docs").rglob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).resolve().is_file(), f"{page}: broken link {target}"
