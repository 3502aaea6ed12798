r"""``bookkeeping``: does each step land at the level the next model call is evaluated at?

**Probe.** The sampler is driven with the exact denoiser of a point-like target
``N(m, 1e-12 I)``. For that target every consistent step, deterministic or stochastic, single-
or multistep, is exact: the probability-flow trajectories are straight lines ``x = m + sigma z``
(Euler, DDIM, DPM-Solver are exact on them) and an ancestral step from ``p_t`` lands exactly on
``p_s``. So the law after ``k`` calls (started at the exact marginal of the first level) is
``N(c m, c^2 sigma_a^2 I)``, where ``sigma_a`` is the level the update *assumed* it reaches and
``c`` the coordinate factor the kit applies for the level it *expects* (``c = 1`` for VE; VP:
``c = sqrt((1 + sigma_k^2) / (1 + sigma_a^2))``). Hence ``c = <mean, m> / |m|^2`` and
``sigma_a = sqrt(tr C / d) / c``.

Only diffusers-style schedulers keep their own timesteps; in the k-diffusion and ours
conventions the kit passes the levels itself (``n/a``).

**Rule.** ``sigma_a`` must equal the level ``sigma_k`` at which the next call evaluates the
model (its timestep), relative gap ``<= BOOK_TOL = 1e-4``, at step counts that do not divide the
training steps (``N = 7, 13``; float32 rounding of a schedule gives about 1e-6). A scheduler
that steps to ``t - T // N`` while its timestep list is rounded from ``T / N`` spacing (DDIM
``trailing`` at N = 7) fails, with the call, both levels and both timesteps named.
"""

from __future__ import annotations

import math

import numpy as np

from analytic import Gaussian
from verify.kit.checks.result import CheckResult

__all__ = ["BOOK_STEPS", "BOOK_TOL", "assumed_level", "check_bookkeeping"]

BOOK_TOL = 1e-4
BOOK_STEPS = (7, 13)
POINT_VAR = 1e-12
ROUNDING = 10.0
"""A schedule kept in a float dtype with machine epsilon ``eps`` carries an absolute error of
about ``eps (1 + sigma_0)`` in its sample (the start's size); at level ``sigma`` that is a
relative error ``eps (1 + sigma_0) / sigma`` in the level reached: the tolerance is
``max(BOOK_TOL, ROUNDING eps (1 + sigma_0) / sigma)`` (float32 Euler at sigma = 0.01 from
sigma_0 = 157: 3.7e-4 measured, 9.4e-3 allowed)."""


def point_target(data) -> Gaussian:
    """``N(m, 1e-12 I)`` with ``m`` the data's mean direction, scaled to ``max |m_i| = 1``
    (ones if the mean is 0): the residual noise and the reached level do not depend on the
    mean of an affine chain, and a mean of 1e8 would bury a variance of 1e-12 in round-off."""
    m = np.asarray(data.mean, dtype=np.float64)
    if not np.any(m):
        m = np.ones_like(m)
    m = m / np.max(np.abs(m))
    return Gaussian(m, POINT_VAR * np.eye(m.size))


def assumed_level(law, m) -> tuple[float, float]:
    """``(c, sigma_a)`` of a law ``N(c m, c^2 sigma_a^2 I)``."""
    c = float(np.dot(law.mean, m) / np.dot(m, m))
    var = float(np.trace(np.atleast_2d(law.cov))) / m.size
    return c, math.sqrt(max(var, 0.0)) / c


def _calls(ad, n):
    """``[(seg after k calls, level of call k, timestep of call k)]`` for the positive levels."""
    if hasattr(ad, "_fresh"):  # a diffusers scheduler: its own levels per call
        s, lv = ad._fresh(n)
        ts = [float(t) for t in np.asarray(s.timesteps, dtype=np.float64)]
        model = [ad._sigma_of_t(t) for t in ts]  # the level the model is evaluated at
        return [((n, 0, k), model[k], ts[k]) for k in range(1, len(ts)) if lv[k] > 0]
    nodes = ad.nodes(n)
    if not hasattr(ad, "prefix"):  # a duck-typed NumPy scheduler: one call per level
        ts = [float(t) for t in ad._abars(n)[0]]
        return [((n, 0, k), float(nodes[k]), ts[k]) for k in range(1, len(ts)) if nodes[k] > 0]
    return [(ad.prefix(n, k), float(nodes[k]), None) for k in range(1, len(nodes)) if nodes[k] > 0]


def check_bookkeeping(make_adapter, data, d, rng) -> CheckResult:
    """Levels the updates assume against the levels the model is evaluated at (module doc)."""
    from verify.kit import probing as C

    pm = point_target(data)
    ad = make_adapter(pm)
    if ad.convention != "diffusers":
        return CheckResult(
            "bookkeeping",
            "n/a",
            "the kit passes the levels (sigmas / grid) itself: the sampler keeps no timestep "
            "bookkeeping of its own",
        )
    eps = float(np.finfo(getattr(ad, "dtype", np.float64)).eps)
    rows, worst, first_bad = [], 0.0, None
    for n in BOOK_STEPS:
        calls = _calls(ad, n)
        s0 = float(ad.nodes(n)[0])
        start = ad.marginal(s0)
        for j, (seg, level, t) in enumerate(calls):
            maps = C._probe(ad, seg, d, rng, verify=j == len(calls) - 1)
            law = C._push(maps, start)
            c, sa = assumed_level(law, pm.mean)
            gap = abs(sa / level - 1.0) if level > 0 else 0.0
            tol = max(BOOK_TOL, ROUNDING * eps * (1.0 + s0) / level)
            worst = max(worst, gap / tol * BOOK_TOL)
            k = seg[2] if isinstance(seg, tuple) else len(seg) - 1
            row = [n, k, "-" if t is None else t, level, sa, gap, tol]
            rows.append(row)
            if gap > tol and first_bad is None:
                first_bad = row
    cols = [
        "N",
        "calls",
        "timestep of the next call",
        "its level",
        "level the update reached",
        "relative gap",
        "tolerance",
    ]
    if first_bad is None:
        return CheckResult(
            "bookkeeping",
            "holds",
            f"every step lands at the level of the next model call (relative gaps within "
            f"max({BOOK_TOL:g}, {ROUNDING:g} eps (1 + sigma_0) / sigma), eps of "
            f"{np.dtype(getattr(ad, 'dtype', np.float64)).name}) at N = "
            f"{', '.join(map(str, BOOK_STEPS))} "
            "(step counts that do not divide the training steps)",
            cols,
            rows,
            {"worst": worst},
        )
    n, k, t, level, sa, gap, tol = first_bad
    at = "" if t == "-" else f" (timestep {t:g})"
    return CheckResult(
        "bookkeeping",
        "fails",
        f"timestep bookkeeping: at N = {n}, after {k} calls the update reached sigma = {sa:.5g} "
        f"but the next call evaluates the model at sigma = {level:.5g}{at}: relative gap "
        f"{gap:.1e} > {tol:.1e} (the levels the update assumes are not the levels of its "
        "timesteps)",
        cols,
        rows,
        {"worst": worst},
    )
