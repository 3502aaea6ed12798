"""A bound as a search problem (:class:`Bound`): the record the catalogue, the claims and
``diffusion-verify tighten`` share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Bound"]


@dataclass(frozen=True)
class Bound:
    """A bound as a search problem.

    ``key`` (the claim id after ``tightness.``), ``title``, ``formula`` (the inequality in
    words and symbols), ``checks`` (the claim whose bound it is), ``source``; ``bound``,
    ``truth`` (vectorised or not) and their high-precision / higher-rung twins for the
    certificate, ``precision`` (a label for the twins), ``space``, ``constant`` (the theorem's
    ``C`` when ``bound = C * expression``), ``rtol`` (the resolution of the truth), ``atol``
    (a truth at most this has no ratio), the
    ``budgets`` (settings evaluated at ``quick`` / ``full``), the ``rung`` of the truth and
    ``truth_name`` (what the truth is); ``grid_n`` and ``infl_n`` the points per axis of the
    ratio map and of the influence slices; ``domain`` (vectorised ``f(**columns) -> bool``, or
    ``None``: everywhere) the settings where the bound carries information, the others
    excluded from the search and counted as ``"outside the domain"``, with ``domain_text``
    saying which they are; ``seeds`` settings evaluated before the search's own points (a
    documented start, e.g. the worst region a full-budget run found).
    """

    key: str
    title: str
    formula: str
    checks: str
    source: str
    bound: Callable
    truth: Callable
    space: dict
    bound_mp: Callable | None = None
    truth_mp: Callable | None = None
    precision: str | None = None
    constant: float | None = None
    rtol: float = 1e-12
    atol: float = 0.0
    budgets: dict = field(default_factory=lambda: {"quick": 384, "full": 4096})
    rung: int = 1
    truth_name: str = ""
    grid_n: int = 20
    infl_n: int = 12
    domain: Callable | None = None
    domain_text: str = ""
    seeds: tuple = ()

    def budget(self, name_or_n: str | int) -> int:
        """Evaluations for a budget name (``"quick"``/``"full"``) or an explicit count."""
        if isinstance(name_or_n, str):
            if name_or_n not in self.budgets:
                raise ValueError(f"budget must be one of {sorted(self.budgets)} or an integer")
            return int(self.budgets[name_or_n])
        return int(name_or_n)
