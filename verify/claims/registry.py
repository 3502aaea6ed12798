"""Where the claims are: an explicit list of claim modules, no import side effects.

Each module in :data:`CLAIM_MODULES` (``verify.claims.<namespace>``) defines a module-level list
``CLAIMS`` of :class:`~verify.claims.base.Claim`. Nothing is imported until :func:`all_claims`
is called. A listed module that fails to import is an error naming it, unless it is in
:data:`OPTIONAL_CLAIM_MODULES` and simply does not exist (then it is skipped).

Every function takes an optional explicit ``claims`` list (or ``modules`` list) so that
tests and users can work with their own claims.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Iterable, Sequence

from verify.claims.base import Claim
from verify.claims.namespaces import NAMESPACES

__all__ = [
    "CLAIM_MODULES",
    "OPTIONAL_CLAIM_MODULES",
    "UnknownClaimError",
    "ClaimModuleError",
    "all_claims",
    "get",
    "select",
]

CLAIM_MODULES: list[str] = [f"verify.claims.{ns.key}" for ns in NAMESPACES]
"""Claim modules, in report order: one per namespace of :mod:`verify.claims.namespaces`."""

OPTIONAL_CLAIM_MODULES: set[str] = set()
"""Modules of CLAIM_MODULES that may be absent (skipped silently if not found)."""

_GLOB_CHARS = set("*?[")


class UnknownClaimError(ValueError):
    """A claim id or pattern that matches no claim (a user error)."""


class ClaimModuleError(ImportError):
    """A claim module cannot be imported or does not define a valid ``CLAIMS`` list."""


def _load_module(name: str, optional: bool) -> list[Claim]:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if optional and exc.name == name:
            return []
        raise ClaimModuleError(f"claim module {name!r} failed to import: {exc}") from exc
    except Exception as exc:
        raise ClaimModuleError(
            f"claim module {name!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    claims = getattr(module, "CLAIMS", None)
    if claims is None:
        raise ClaimModuleError(f"claim module {name!r} has no module-level CLAIMS list")
    bad = [c for c in claims if not isinstance(c, Claim)]
    if bad:
        raise ClaimModuleError(
            f"claim module {name!r}: CLAIMS holds a non-Claim object {bad[0]!r:.80}"
        )
    return list(claims)


def _check_unique(claims: Iterable[Claim]) -> list[Claim]:
    seen: dict[str, Claim] = {}
    for claim in claims:
        if claim.id in seen:
            raise ValueError(f"duplicate claim id {claim.id!r}")
        seen[claim.id] = claim
    return list(seen.values())


def all_claims(
    modules: Sequence[str] | None = None, optional: Iterable[str] | None = None
) -> list[Claim]:
    """Import each claim module (default :data:`CLAIM_MODULES`) and concatenate ``CLAIMS``.

    Raises :class:`ClaimModuleError` naming a module that fails to import, and
    ``ValueError`` if two claims share an id.
    """
    modules = CLAIM_MODULES if modules is None else modules
    optional = set(OPTIONAL_CLAIM_MODULES if optional is None else optional)
    claims: list[Claim] = []
    owner: dict[str, str] = {}
    for name in modules:
        for claim in _load_module(name, name in optional):
            if claim.id in owner:
                raise ValueError(
                    f"duplicate claim id {claim.id!r} (in {owner[claim.id]} and {name})"
                )
            owner[claim.id] = name
            claims.append(claim)
    return claims


def _unknown(name: str, ids: list[str]) -> UnknownClaimError:
    close = difflib.get_close_matches(name, ids, n=1, cutoff=0.6)
    if close:
        return UnknownClaimError(f"unknown claim id {name!r}; did you mean {close[0]!r}?")
    return UnknownClaimError(
        f"unknown claim id {name!r}; run 'diffusion-verify list' to see the claim ids"
    )


def _unknown_glob(pattern: str, ids: list[str]) -> UnknownClaimError:
    """No id matches ``pattern``: suggest the nearest namespace glob, else the nearest ids."""
    namespaces = sorted({i.split(".", 1)[0] for i in ids})
    head = pattern.split(".", 1)[0].rstrip("*?[")
    close_ns = difflib.get_close_matches(head, namespaces, n=1, cutoff=0.5)
    plain = pattern.replace("*", "").replace("?", "")
    close_ids = difflib.get_close_matches(plain, ids, n=3, cutoff=0.5)
    if close_ns and close_ns[0] != head:
        hint = f"did you mean {close_ns[0] + pattern[len(pattern.split('.', 1)[0]) :]!r}?"
    elif close_ids:
        hint = "did you mean " + " or ".join(repr(i) for i in close_ids) + "?"
    else:
        hint = "run 'diffusion-verify list' to see the claim ids"
    return UnknownClaimError(f"no claim id matches {pattern!r}; {hint}")


def get(claim_id: str, claims: Sequence[Claim] | None = None) -> Claim:
    """The claim with this id; :class:`UnknownClaimError` suggests the nearest id."""
    claims = _check_unique(all_claims() if claims is None else claims)
    for claim in claims:
        if claim.id == claim_id:
            return claim
    raise _unknown(claim_id, [c.id for c in claims])


def select(patterns: Iterable[str], claims: Sequence[Claim] | None = None) -> list[Claim]:
    """The claims matching any of ``patterns``, in registry order, without duplicates.

    A pattern is an exact id, a glob (``'stochasticity.*'``, fnmatch rules) or a bare
    namespace (``'theory'``). A pattern matching nothing raises :class:`UnknownClaimError`.
    """
    claims = _check_unique(all_claims() if claims is None else claims)
    ids = [c.id for c in claims]
    chosen: set[str] = set()
    for pattern in patterns:
        if set(pattern) & _GLOB_CHARS:
            hits = [i for i in ids if fnmatch.fnmatchcase(i, pattern)]
            if not hits:
                raise _unknown_glob(pattern, ids)
        elif pattern in ids:
            hits = [pattern]
        else:
            hits = [i for i in ids if i.split(".", 1)[0] == pattern]
            if not hits:
                raise _unknown(pattern, ids)
        chosen.update(hits)
    return [c for c in claims if c.id in chosen]
