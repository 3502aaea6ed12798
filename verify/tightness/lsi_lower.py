r"""A lower bound on the log-Sobolev constant of a two-component 1-D Gaussian mixture from test
functions: a quantity that can refute an upper bound on $C_{LSI}$ (the Poincare constant,
$C_P \le C_{LSI}$, cannot refute a bound lying between the two).

Convention (``analytic.lsi``): $\mu$ satisfies LSI with constant $C$ if
$\mathrm{Ent}_\mu(f^2) \le 2 C\, E_\mu |f'|^2$ for every smooth $f$, so for every test function

$$C_{LSI}(\mu) \ge R(f) = \frac{\mathrm{Ent}_\mu(f^2)}{2\,E_\mu|f'|^2}.$$

The family is $f = e^{a \varphi}$ with $\varphi(x) = x$ (exponential tilts, extremal for a
Gaussian: $R = s^2$ for every $a$) and $\varphi(x) = \tanh((x - c)/\ell)$ (a smoothed step
between the wells, the shape that makes $C_{LSI}$ of an unbalanced mixture large), optimised
over $(a, c, \ell)$ by Nelder-Mead from a few starts, together with the $a \to 0$ limits
$\mathrm{Var}(\varphi) / E \varphi'^2$ (Rayleigh quotients, also lower bounds since
$C_P \le C_{LSI}$). With $g = f^2 = e^{2 a \varphi}$, $Z = E_\mu g$ and $q = g \mu / Z$,

$$R = \frac{E_q[2 a \varphi] - \ln Z}{2 a^2 E_q[\varphi'^2]},$$

evaluated in log space (no overflow) by the trapezoid rule on a uniform grid of
$[-\rho - 34, \rho + 34]$ at $s = 1$ (a tilt $|a| \le 5$ shifts the mass by at most 10),
spectrally accurate for these smooth, Gaussian-tailed integrands.
:func:`lsi_lower_bound_mp` re-evaluates the optimal test function by ``mpmath.quad`` at the
working precision: any single $f$ gives a rigorous lower bound, so the certificate needs no
optimisation in mpmath.

Mixture: $w N(-\rho s, s^2) + (1 - w) N(\rho s, s^2)$ (``verify.tightness.bounds.two_mixture``);
$R$ scales as $s^2$, so everything is computed at $s = 1$.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
from scipy import optimize

__all__ = ["lsi_lower_bound", "lsi_lower_bound_mp", "best_test_function"]

A_MAX = 5.0
"""Largest tilt ``|a|`` searched (the grid is widened by ``4 |a|``)."""
N_GRID = 1001
A_SMALL = 1e-2
"""Below this ``|a|`` the ratio is its ``a -> 0`` limit (no cancellation)."""


def _check(w, rho, s):
    w, rho, s = float(w), float(rho), float(s)
    if not (0.0 < w < 1.0 and rho >= 0.0 and s > 0.0 and math.isfinite(rho * s)):
        raise ValueError(f"need 0 < w < 1, rho >= 0, s > 0; got w={w}, rho={rho}, s={s}")
    return w, rho, s


@functools.lru_cache(maxsize=64)
def _grid(w, rho):
    """``(x, log(p(x) h trapezoid weights))`` on ``[-rho - 14 - 4 A_MAX, rho + 14 + 4 A_MAX]``."""
    half = rho + 14.0 + 4.0 * A_MAX
    x = np.linspace(-half, half, N_GRID)
    lw = _logp(x, w, rho) + np.log(x[1] - x[0])
    lw[[0, -1]] += np.log(0.5)
    return x, lw


def _logp(x, w, rho):
    """Log density of the mixture at ``s = 1`` (normalised)."""
    c = -0.5 * np.log(2.0 * np.pi)
    return np.logaddexp(np.log(w) + c - 0.5 * (x + rho) ** 2,
                        np.log1p(-w) + c - 0.5 * (x - rho) ** 2)  # fmt: skip


def _phi(kind, x, c, ell):
    """``(phi, phi')`` of the family member ``kind`` (``"tilt"``: x; ``"step"``: tanh)."""
    if kind == "tilt":
        return x, np.ones_like(x)
    th = np.tanh((x - c) / ell)
    return th, (1.0 - th * th) / ell


def _ratio(kind, a, c, ell, w, rho):
    """``R(e^{a phi})`` at ``s = 1`` (module docstring); ``|a| < A_SMALL``: the ``a -> 0``
    limit, the Rayleigh quotient ``Var(phi) / E phi'^2``."""
    x, lw = _grid(w, rho)
    ph, dph = _phi(kind, x, c, ell)
    if abs(a) < A_SMALL:
        p = np.exp(lw)
        m = p @ ph
        return float((p @ ((ph - m) ** 2)) / (p @ (dph * dph)))
    lg = lw + 2.0 * a * ph
    top = lg.max()
    e = np.exp(lg - top)
    z = e.sum()
    logZ = top + math.log(z)
    num = (e @ (2.0 * a * ph)) / z - logZ
    den = 2.0 * a * a * (e @ (dph * dph)) / z
    return float(num / den)


def _starts(w, rho):
    """Starting ``(kind, a, c, ell)`` of the local searches (the lighter component sits at
    ``-rho``: a step rising towards it, ``a < 0``, loads the entropy there)."""
    return [
        ("tilt", -0.5, 0.0, 1.0),
        ("tilt", 0.5, 0.0, 1.0),
        ("step", 0.0, 0.0, 1.0 + rho),
        ("step", -1.0, 0.0, 1.0),
        ("step", -2.0, 0.0, 0.7),
        ("step", 1.0, 0.0, 1.0),
    ]


@functools.lru_cache(maxsize=4096)
def best_test_function(w: float, rho: float) -> tuple:
    """``(R, kind, a, c, ell)``: the best test function found at ``s = 1`` (memoised)."""
    w, rho, _ = _check(w, rho, 1.0)
    best = (_ratio("tilt", 0.0, 0.0, 1.0, w, rho), "tilt", 0.0, 0.0, 1.0)
    for kind, a0, c0, l0 in _starts(w, rho):

        def neg(v, kind=kind):
            a = float(np.clip(v[0], -A_MAX, A_MAX))
            c, ell = (0.0, 1.0) if kind == "tilt" else (float(v[1]), float(np.exp(v[2])))
            if not (abs(c) <= rho + 5.0 and 0.2 <= ell <= 20.0):
                return 0.0
            return -_ratio(kind, a, c, ell, w, rho)

        v0 = [a0] if kind == "tilt" else [a0, c0, math.log(l0)]
        opts = {"xatol": 1e-5, "fatol": 1e-10, "maxiter": 200}
        res = optimize.minimize(neg, v0, method="Nelder-Mead", options=opts)
        if -res.fun > best[0]:
            v = res.x
            a = float(np.clip(v[0], -A_MAX, A_MAX))
            c, ell = (0.0, 1.0) if kind == "tilt" else (float(v[1]), float(np.exp(v[2])))
            best = (-float(res.fun), kind, a, c, ell)
    return best


def lsi_lower_bound(
    w: float,
    rho: float,
    s: float,
) -> float:
    """$\\sup_f \\mathrm{Ent}(f^2) / (2 E|f'|^2)$ over the family (module docstring): a lower
    bound on $C_{LSI}$ of ``two_mixture(w, rho, s)`` (float64 trapezoid rule)."""
    w, rho, s = _check(w, rho, s)
    return s * s * best_test_function(w, rho)[0]


def lsi_lower_bound_mp(
    w: float,
    rho: float,
    s: float,
) -> mpmath.mpf:
    """The best test function of :func:`lsi_lower_bound` re-evaluated by ``mpmath.quad`` at
    the working precision (the certificate's truth: a lower bound on $C_{LSI}$ whatever the
    float optimisation did)."""
    w, rho, s = _check(w, rho, s)
    _, kind, a, c, ell = best_test_function(w, rho)
    W, Rh, A, Cc, L = (mpmath.mpf(v) for v in (w, rho, a, c, ell))
    norm = 1 / mpmath.sqrt(2 * mpmath.pi)

    def p(x):
        return norm * (W * mpmath.exp(-((x + Rh) ** 2) / 2)
                       + (1 - W) * mpmath.exp(-((x - Rh) ** 2) / 2))  # fmt: skip

    def phi(x):
        if kind == "tilt":
            return x, mpmath.mpf(1)
        th = mpmath.tanh((x - Cc) / L)
        return th, (1 - th * th) / L

    pts = [-mpmath.inf, -Rh - 4, -Rh, Cc, Rh, Rh + 4, mpmath.inf]
    pts = sorted(set(pts), key=lambda v: float(v))

    def E(fn):
        return mpmath.quad(lambda x: fn(x) * p(x), pts)

    if abs(a) < A_SMALL:
        m = E(lambda x: phi(x)[0])
        var = E(lambda x: (phi(x)[0] - m) ** 2)
        return mpmath.mpf(s) ** 2 * var / E(lambda x: phi(x)[1] ** 2)
    Z = E(lambda x: mpmath.exp(2 * A * phi(x)[0]))
    ent = E(lambda x: mpmath.exp(2 * A * phi(x)[0]) * 2 * A * phi(x)[0]) - Z * mpmath.log(Z)
    dir_ = E(lambda x: A * A * phi(x)[1] ** 2 * mpmath.exp(2 * A * phi(x)[0]))
    return mpmath.mpf(s) ** 2 * ent / (2 * dir_)
