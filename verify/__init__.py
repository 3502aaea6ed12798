"""Numerics, claims and interfaces of diffusion-verify.

Importing ``verify`` is light: submodules (and optional dependencies such as torch,
matplotlib and dask) load on first use.
"""

from __future__ import annotations

import importlib

__all__ = ["grids", "reverse_sample", "exact_law"]

_LAZY = {
    "reverse_sample": ("verify.samplers", "reverse_sample"),
    "exact_law": ("verify.exact", "exact_law"),
}


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    try:
        return importlib.import_module(f"verify.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"verify.{name}":
            raise AttributeError(f"module 'verify' has no attribute {name!r}") from None
        raise
