r"""Tolerances and grids relative to the data's scale (``verify.kit.guard``).

A relative moment gap of a map probed at the scale of the data carries a round-off floor of
about ``eps |m| / s_min`` (``m`` the data mean, ``s_min`` its smallest standard deviation):
:func:`scale_tolerance` raises a tolerance to it. :func:`grid_sigma_min` lowers the grid's
smallest noise level below the data's smallest scale, so the last step to ``sigma = 0`` stays
small against the data; :func:`probe_center` puts the probes at the data mean (a large mean
then costs no digits).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["grid_sigma_min", "probe_center", "scale_tolerance"]


def _data_scale(data):
    """``(|m|_inf, s_min)`` of a Gaussian (or GMM: its components' means and covariances)."""
    means = getattr(data, "means", None)
    if means is not None:
        m = float(np.max(np.abs(np.asarray(means, dtype=np.float64))))
        covs = np.asarray(getattr(data, "covs", getattr(data, "variances", 1.0)), np.float64)
        s = float(np.sqrt(np.min(np.abs(covs)))) if covs.size else 1.0
        return m, s
    m = float(np.max(np.abs(np.asarray(data.mean, dtype=np.float64))))
    lam = np.linalg.eigvalsh(np.atleast_2d(np.asarray(data.cov, dtype=np.float64)))
    return m, float(np.sqrt(max(float(lam.min()), 0.0)))


def scale_tolerance(data, tol: float) -> float:
    """``tol`` raised to the round-off floor of a relative moment gap for ``data``:
    ``max(tol, 1e3 eps max(1, |m|_inf / s_min))`` (a map probed around the data mean loses
    about ``eps |m|`` in each output, compared on the scale ``s_min``)."""
    try:
        m, s = _data_scale(data)
    except (AttributeError, ValueError, TypeError, np.linalg.LinAlgError):
        return tol
    if not (s > 0 and math.isfinite(m)):
        return tol
    return max(tol, 1e3 * np.finfo(np.float64).eps * max(1.0, m / s))


def grid_sigma_min(data, sigma_min: float) -> float:
    """The grid's smallest noise level: ``sigma_min min(1, s_min)`` (``s_min`` the data's
    smallest standard deviation), so the last step to 0 is small against the data."""
    try:
        _, s = _data_scale(data)
    except (AttributeError, ValueError, TypeError, np.linalg.LinAlgError):
        return sigma_min
    return sigma_min * min(1.0, s) if s > 0 and math.isfinite(s) else sigma_min


def probe_center(data, alpha=1.0):
    """Where the probes sit: the data mean (times the forward scale ``alpha``), so that a
    probed map does not lose digits to a large data mean."""
    mean = getattr(data, "mean", None)
    if mean is None:
        return None
    return alpha * np.asarray(mean, dtype=np.float64)
