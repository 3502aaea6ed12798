"""Shared settings and helpers of the ``theory.*`` claims (a file per claim beside it)."""

from __future__ import annotations

from analytic import OU, VE, VP, Gaussian

DOC = "docs/claims/theory.md"


def _data_2d() -> Gaussian:
    return Gaussian([1.0, -0.5], [[2.0, 0.6], [0.6, 0.5]])


def _sdes():
    return {"VP": VP(0.1, 20.0), "VE": VE(0.01, 10.0), "OU": OU(T=2.0)}
