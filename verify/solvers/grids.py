"""Time grids for reverse samplers: arrays of forward times, strictly decreasing.

A grid is ``t_0 = T_start > t_1 > ... > t_N = t_min >= 0`` inside ``[0, sde.T]`` (like
k-diffusion's ``sigmas``, but in forward time ``t``; map with ``sde.sigma``/``sde.t_of_sigma``).
Step ``k`` goes from ``t_k`` to ``t_{k+1}``. ``t_min > 0`` is early stopping.

* ``uniform``:   ``t_i = T + i/N (t_min - T)``.
* ``karras``:    ``sigma_i = (smax^{1/rho} + i/N (smin^{1/rho} - smax^{1/rho}))^rho``,
  ``i = 0..N`` (``N + 1`` nodes), ``t_i = t_of_sigma(sigma_i)`` (Karras et al. 2022, eq. 5;
  k-diffusion ``get_sigmas_karras(n)`` with ``n = N + 1``, without the appended zero unless
  ``append_zero=True``).
* ``log_snr``:   uniform in ``lambda = log(alpha^2 / sigma2)`` between ``lambda(T)`` and
  ``lambda(t_min)`` (DPM-Solver's "logSNR" spacing; Lu et al. 2022).
* ``quadratic``: ``t_i = t_min + (T - t_min)(1 - i/N)^2`` (the DDIM "quad" skip, Song, Meng,
  Ermon 2021, App. D.2: dense near the data).
* ``truncate``:  keep the nodes with ``sigma(t) <= sigma_T`` and start at ``t_of_sigma(sigma_T)``
  (the initialization-aware setting: start the reverse chain at a small noise level).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from analytic import LinearSDE

__all__ = ["uniform", "karras", "log_snr", "quadratic", "truncate", "validate", "SIGMA_RTOL"]

SIGMA_RTOL = 1e-6
"""Relative slack when a requested noise level is compared with ``sde.sigma(T)``."""


def _n_steps(n_steps) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, Real):
        raise TypeError(f"n_steps must be a positive integer, got {n_steps!r}")
    if not (math.isfinite(n_steps) and n_steps >= 1 and int(n_steps) == n_steps):
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    return int(n_steps)


def _number(value, name: str) -> float:
    """``value`` as a finite float; ``TypeError`` for non-numbers, ``ValueError`` for NaN/inf."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _endpoints(sde, t_min, T):
    T = float(sde.T) if T is None else _number(T, "T")
    t_min = _number(t_min, "t_min")
    if not (0.0 <= t_min < T <= sde.T * (1 + 1e-12)):
        raise ValueError(f"need 0 <= t_min < T <= sde.T = {sde.T:g}; got t_min={t_min:g}, T={T:g}")
    return t_min, min(T, float(sde.T))


def validate(grid: ArrayLike, sde: LinearSDE) -> np.ndarray:
    """Check ``grid`` (strictly decreasing forward times in ``[0, sde.T]``, >= 2 nodes).

    Returns it as a 1-D float64 array; raises ``ValueError`` naming the problem.
    """
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1 or g.shape[0] < 2:
        raise ValueError(f"grid must be a 1-D array of at least 2 times, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("grid contains NaN or inf")
    if np.any(np.diff(g) >= 0):
        k = int(np.argmax(np.diff(g) >= 0))
        raise ValueError(
            f"grid must be strictly decreasing (forward times from T_start down to t_min); "
            f"grid[{k}] = {g[k]:g} <= grid[{k + 1}] = {g[k + 1]:g}"
        )
    if g[-1] < 0 or g[0] > sde.T * (1 + 1e-12):
        raise ValueError(f"grid must lie in [0, T] with T = {sde.T:g}; got [{g[-1]:g}, {g[0]:g}]")
    return g


def uniform(sde: LinearSDE, n_steps: int, t_min: float = 0.0, T: float | None = None) -> np.ndarray:
    """``n_steps + 1`` equally spaced times from ``T`` (default ``sde.T``) down to ``t_min``."""
    n = _n_steps(n_steps)
    t_min, T = _endpoints(sde, t_min, T)
    g = T + (t_min - T) * (np.arange(n + 1) / n)
    g[0], g[-1] = T, t_min
    return validate(g, sde)


def karras(
    sde: LinearSDE,
    n_steps: int,
    sigma_min: float,
    sigma_max: float,
    rho: float = 7.0,
    *,
    append_zero: bool = False,
) -> np.ndarray:
    """Karras et al. (2022) grid: ``n_steps + 1`` nodes, uniform in ``sigma^{1/rho}``.

    ``sigma_i = (smax^{1/rho} + i/n_steps (smin^{1/rho} - smax^{1/rho}))^rho``, ``i = 0..n_steps``,
    mapped to forward times with ``sde.t_of_sigma``. ``append_zero=True`` adds ``t = 0`` as a
    last node (k-diffusion's convention: the last step then lands on the data).
    """
    n = _n_steps(n_steps)
    sigma_min, sigma_max = _number(sigma_min, "sigma_min"), _number(sigma_max, "sigma_max")
    rho = _number(rho, "rho")
    if not (0 < sigma_min < sigma_max):
        raise ValueError(f"need 0 < sigma_min < sigma_max; got {sigma_min:g}, {sigma_max:g}")
    if not rho > 0:
        raise ValueError(f"rho must be positive, got {rho:g}")
    smax_sde = float(sde.sigma(sde.T))
    if sigma_max > smax_sde * (1 + SIGMA_RTOL):
        raise ValueError(
            f"sigma_max = {sigma_max:g} exceeds sde.sigma(T) = {smax_sde:.10g}; lower sigma_max "
            "or use an SDE with a larger horizon"
        )
    # VE(0.01, 50) has sigma(T) = sqrt(50^2 - 0.01^2) = 49.999999: a sigma_max of 50 is that node
    sigma_max = min(sigma_max, smax_sde)
    # sigma_i = smax (1 + i/n (r - 1))^rho with r = (smin/smax)^{1/rho}: the published formula
    # divided through by smax^{1/rho}, which overflows for small rho
    r = math.exp((math.log(sigma_min) - math.log(sigma_max)) / rho)
    with np.errstate(divide="ignore"):  # r = 0 (sigma_min/sigma_max underflows): the last node
        sig = sigma_max * np.exp(rho * np.log1p(np.arange(n + 1) / n * (r - 1.0)))
    sig[0], sig[-1] = sigma_max, sigma_min
    t = np.asarray(sde.t_of_sigma(sig), dtype=np.float64)
    if append_zero:
        t = np.append(t, 0.0)
    return validate(t, sde)


def log_snr(sde: LinearSDE, n_steps: int, t_min: float, T: float | None = None) -> np.ndarray:
    """``n_steps + 1`` times uniform in log-SNR ``lambda = log(alpha^2/sigma2)``; ``t_min > 0``."""
    n = _n_steps(n_steps)
    t_min, T = _endpoints(sde, t_min, T)
    if t_min <= 0:
        raise ValueError("log_snr grids need t_min > 0 (log-SNR is +inf at t = 0)")
    lam0, lam1 = float(sde.log_snr(T)), float(sde.log_snr(t_min))
    lam = lam0 + (lam1 - lam0) * (np.arange(n + 1) / n)
    t = np.asarray(sde.t_of_log_snr(lam[1:-1]), dtype=np.float64)
    g = np.concatenate([[T], np.atleast_1d(t), [t_min]])
    return validate(g, sde)


def quadratic(
    sde: LinearSDE, n_steps: int, t_min: float = 0.0, T: float | None = None
) -> np.ndarray:
    """DDIM quadratic spacing ``t_i = t_min + (T - t_min)(1 - i/N)^2`` (dense near ``t_min``)."""
    n = _n_steps(n_steps)
    t_min, T = _endpoints(sde, t_min, T)
    g = t_min + (T - t_min) * (1.0 - np.arange(n + 1) / n) ** 2
    g[0], g[-1] = T, t_min
    return validate(g, sde)


def truncate(grid: ArrayLike, sde: LinearSDE, sigma_T: float, *, rtol: float = 1e-8) -> np.ndarray:
    """Start ``grid`` at noise level ``sigma_T``.

    Keeps the nodes with ``sde.sigma(t) <= sigma_T (1 + rtol)``. If no kept node has
    ``sigma`` within ``rtol`` (relative) of ``sigma_T``, the node ``t_of_sigma(sigma_T)`` is
    prepended; otherwise the first kept node is the start. The default ``rtol = 1e-8``
    accepts published values rounded to 8 digits (the code of arXiv 2603.00772:
    ``sigma_T = 1.24404052`` is node 14 of the 40-node Karras grid with ``sigma_max = 3``,
    ``rho = 2``).
    """
    g = validate(grid, sde)
    sigma_T = _number(sigma_T, "sigma_T")
    if not sigma_T > 0:
        raise ValueError(f"sigma_T must be positive, got {sigma_T:g}")
    sig = np.asarray(sde.sigma(g), dtype=np.float64)
    keep = g[sig <= sigma_T * (1 + rtol)]
    if keep.size and abs(float(sde.sigma(keep[0])) - sigma_T) <= rtol * sigma_T:
        out = keep
    else:
        t0 = float(sde.t_of_sigma(sigma_T))
        out = np.concatenate([[t0], keep])
    if out.size < 2:
        raise ValueError(f"truncating at sigma_T = {sigma_T:g} leaves fewer than 2 nodes")
    return validate(out, sde)
