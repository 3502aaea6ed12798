"""Claim titles are written sentences (verify.claims.titles or ``title=``), never cut text."""

from __future__ import annotations

import re

import pytest

from verify.claims.base import Claim, ClaimResult
from verify.claims.registry import all_claims
from verify.claims.titles import TITLES

CLAIMS = all_claims()

# words a sentence does not end on: a title cut mid-sentence ends like this
_DANGLING = {
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "by", "for", "with", "as",
    "is", "are", "its", "their", "than", "from", "into", "e.g", "i.e", "def", "eq", "here",
}  # fmt: skip


def _balanced(text: str) -> bool:
    depth = 0
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
        depth = len(stack)
    return depth == 0


def _problems(title: str) -> list[str]:
    problems = []
    if not title or not title[0].isupper() and not title[0].isdigit() and title[:8] != "torchsde":
        problems.append("does not start a sentence")
    if not title.endswith("."):
        problems.append("does not end with a period")
    if not _balanced(title):
        problems.append("unbalanced parentheses")
    last = re.sub(r"[^\w.]", " ", title.rstrip(".")).split()[-1:] or [""]
    if last[0].lower() in _DANGLING:
        problems.append(f"ends on {last[0]!r}: cut mid-sentence")
    if "…" in title or title.rstrip(".").endswith(("...", ";", ":", ",")):
        problems.append("ends with a cut mark")
    if len(title) > 90:
        problems.append(f"{len(title)} characters (at most 90)")
    return problems


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_every_claim_has_a_written_title(claim):
    """From the claim's ``title=`` (claims added with one) or the titles module."""
    assert claim.id in TITLES or claim.title != " ".join(claim.statement.split()), (
        f"{claim.id}: no title (pass title= or add it to verify/claims/titles.py)"
    )
    assert _problems(claim.title) == [], (claim.id, claim.title)


def test_titles_module_names_only_registered_claims():
    ids = {c.id for c in CLAIMS}
    assert set(TITLES) <= ids, sorted(set(TITLES) - ids)
    for cid, title in TITLES.items():
        assert _problems(title) == [], (cid, title)


@pytest.mark.parametrize(
    "bad",
    [
        "The probability-flow ODE (gamma = 0) preserves KL",
        "For any data and a gradient score error (s~ = grad Phi_t.",
        "Our own samplers (reverse_sample.",
        "A statement that stops at the.",
        "A statement cut short….",
    ],
)
def test_the_title_check_catches_cut_titles(bad):
    assert _problems(bad)


def _run(ctx):
    return ClaimResult("holds", "", rung=1, tolerance="")


def test_an_explicit_title_wins_and_no_title_is_the_whole_statement():
    statement = "First part (with a note; here: more). Second sentence."
    given = Claim("theory.given", statement, "standard", "", _run, title="A title.")
    plain = Claim("theory.plain-x", statement, "standard", "", _run)
    assert given.title == "A title."
    assert plain.title == statement  # never cut at the first ". ; :"
    listed = Claim("theory.discretization-order", statement, "standard", "", _run)
    assert listed.title == TITLES["theory.discretization-order"]
