"""The record every kit check returns: its name, verdict, reason and table."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CheckResult"]


@dataclass
class CheckResult:
    """One check: ``verdict`` in holds / fails / inconclusive / n/a, ``reason``, a table."""

    name: str
    verdict: str
    reason: str
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
