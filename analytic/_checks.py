"""Input validation shared by the analytic families.

Every public constructor calls these helpers so that bad input raises a ``ValueError``
that names the argument and says how to fix it (DESIGN.md, "Bad input").
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_points", "as_finite", "as_time"]


def as_finite(value, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, raising if it holds NaN or inf."""
    arr = np.asarray(value, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; pass finite values")
    return arr


def as_points(x, dim: int, name: str = "x") -> np.ndarray:
    """Return points as an ``(n, dim)`` float64 array.

    A ``(dim,)`` vector is treated as one point; in one dimension a ``(n,)`` vector is
    treated as ``n`` points.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(-1, 1) if dim == 1 else arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def as_time(t, T: float, *, allow_zero: bool = True, name: str = "t") -> np.ndarray:
    """Validate forward times ``t`` against the domain ``[0, T]`` (``(0, T]`` if not allow_zero)."""
    arr = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    lo_ok = arr >= 0.0 if allow_zero else arr > 0.0
    # a relative slack of a few ulps so that grids built as T - k*h land inside
    if not np.all(lo_ok) or np.any(arr > T * (1 + 1e-12)):
        dom = "[0, T]" if allow_zero else "(0, T]"
        raise ValueError(
            f"{name} must lie in {dom} with T={T:g}; got min {arr.min():g}, max {arr.max():g}"
        )
    return arr
