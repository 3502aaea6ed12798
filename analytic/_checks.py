"""Input validation shared by the analytic families.

Every public constructor calls these helpers so that bad input raises a ``ValueError`` (bad
values: NaN, inf, wrong shape, empty) or a ``TypeError`` (wrong types: bools, strings,
complex numbers, ``None``, objects that are not numbers) that names the argument and says how
to fix it (docs/analytic.md, "Gaussian mixtures").
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_points", "as_finite", "as_time", "real_array", "sample_size"]


def real_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; ``TypeError`` unless it holds real numbers only."""
    if value is None:
        raise TypeError(f"{name} is missing (None); pass an array of real numbers")
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be real numbers, got a string {value!r:.40}")
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} is not a rectangular array of numbers: {exc}") from None
    kind = arr.dtype.kind
    if kind == "b":
        raise TypeError(f"{name} must be real numbers, got booleans")
    if kind == "c":
        raise TypeError(f"{name} must be real numbers, got complex values")
    if kind in "iuf":
        return arr.astype(np.float64, copy=False)
    if kind == "O":
        flat = arr.ravel()
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in flat):
            return arr.astype(np.float64)
    raise TypeError(f"{name} must be real numbers, got an array of dtype {arr.dtype}")


def as_finite(value, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, raising if it holds NaN or inf."""
    arr = real_array(value, name)
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
    arr = real_array(x, name)
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
    scalar = type(t) is float or type(t) is np.float64
    scalar = scalar or (type(t) is np.ndarray and t.ndim == 0 and t.dtype == np.float64)
    if scalar:  # the hot path of ODE right-hand sides: one comparison, no array checks
        if 0.0 <= t <= T * (1 + 1e-12) and (allow_zero or t > 0.0):
            return np.asarray(t, dtype=np.float64)
    arr = real_array(t, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if arr.size == 0:
        return arr
    lo_ok = arr >= 0.0 if allow_zero else arr > 0.0
    # a relative slack of a few ulps so that grids built as T - k*h land inside
    if not np.all(lo_ok) or np.any(arr > T * (1 + 1e-12)):
        dom = "[0, T]" if allow_zero else "(0, T]"
        raise ValueError(
            f"{name} must lie in {dom} with T={T:g}; got min {arr.min():g}, max {arr.max():g}"
        )
    return arr


def sample_size(n, name: str = "n") -> int:
    """``n`` as a non-negative int: an integer (``int``, ``numpy.integer``) or a float with an
    exact integer value (``1e4`` from a config file); bools, ``2.7``, negatives are errors."""
    if isinstance(n, bool | np.bool_):
        raise TypeError(f"{name} must be a non-negative integer, got a bool")
    if isinstance(n, numbers.Integral):
        v = int(n)
    elif isinstance(n, numbers.Real) and float(n).is_integer():
        v = int(n)
    elif isinstance(n, numbers.Real):
        raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    else:
        raise TypeError(f"{name} must be a non-negative integer, got {type(n).__name__} {n!r}")
    if v < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {v}")
    return v
