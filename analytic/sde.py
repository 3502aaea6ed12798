"""Linear forward SDEs ``dX = f(t) X dt + g(t) dW`` on ``t in [0, T]`` and their marginals.

Transition (docs/analytic.md, "Linear forward SDEs"): ``X_t | X_0 ~ N(alpha(t) X_0, sigma2(t) I)``

    alpha(t)  = exp( int_0^t f(u) du ),
    sigma2(t) = alpha(t)^2 int_0^t g(u)^2 / alpha(u)^2 du = int_0^t g2(u) e^{2 int_u^t f} du.

``LinearSDE`` reads ``f`` and ``g`` (or ``g2 = g^2``) with a whitelisting parser that never
evaluates Python (``analytic.expression``), checks them on a dense grid of ``[0, T]`` (finite,
real, ``g2 >= 0``), and evaluates ``alpha``/``sigma2`` by one of two routes, named by
``method``:

* ``"closed form"``: sympy derives both (in a worker process killed after ``timeout``
  seconds, ``analytic._derive``); the result is accepted only if it has no special forms
  (``exp_polar``, ``Piecewise``, unevaluated ``Integral``, ...) and agrees with the quadrature
  to 1e-10 at test points. It is then lambdified with ``expm1``/``log1p`` rewrites.
* ``"quadrature"``: composite 16-point Gauss-Legendre on adaptive panels of ``[0, T]``
  (``_Quadrature``): ``A = int f`` and ``sigma2`` are accumulated panel by panel,
  ``S_{k+1} = e^{2 dA_k} S_k + int_{panel} g2(u) e^{2 int_u^{b_k} f} du``, so no quantity
  over- or underflows and every term is positive (relative accuracy ~1e-13).

Presets use Song et al. (2021, "Score-based generative modeling through SDEs", §3.4 and
App. B) schedules and override the numerics with cancellation-free closed forms
(``expm1``/``log1p``):

* ``OU()``:     f = -1, g^2 = 2;                 alpha = e^{-t}, sigma2 = 1 - e^{-2t}.
* ``VP(b0,b1)``: f = -beta/2, g^2 = beta, beta(t) = b0 + (b1 - b0) t, B = int beta;
                 alpha = e^{-B/2}, sigma2 = 1 - e^{-B}.
* ``SubVP``:    f = -beta/2, g^2 = beta (1 - e^{-2B}); alpha = e^{-B/2}, sigma2 = (1 - e^{-B})^2.
* ``VE(smin,smax)``: f = 0, g^2 = d/dt sigma(t)^2, sigma(t) = smin (smax/smin)^t;
                 alpha = 1, sigma2 = sigma(t)^2 - sigma(0)^2 (Song et al. 2021, Table 1).
* ``EDM(smax)``: f = 0, g^2 = 2t on [0, smax]: alpha = 1, sigma2 = t^2
                 (Karras et al. 2022, t = sigma).

``sigma(t) = sqrt(sigma2)/alpha`` is the EDM noise level of the scaled process ``X/alpha``;
``sigma(t)^2 = int_0^t g2/alpha^2`` is non-decreasing, and ``t_of_sigma`` inverts it (used by
Karras grids).
"""

from __future__ import annotations

import math
import numbers
import threading
import warnings
from collections.abc import Callable
from functools import cached_property
from typing import TypeAlias

import mpmath
import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from ._checks import as_points, as_time, real_array
from ._derive import derive, derive_with_timeout, u_sym
from .expression import as_expression, parse_expression, t_sym
from .gaussian import Gaussian
from .mixture import GaussianMixture

ExprLike: TypeAlias = str | float | sp.Expr
FloatOrArray: TypeAlias = (
    float | np.ndarray
)  # a scalar time gives a float, an array of times an array
ScoreFunction: TypeAlias = Callable[[ArrayLike, ArrayLike], np.ndarray]

__all__ = ["LinearSDE", "OU", "VP", "VE", "SubVP", "EDM", "derive_transition"]

# 32-point Gauss-Legendre rule on [-1, 1] (exponential-integrator step integrals)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)
# 16-point rule for the composite quadrature of alpha and sigma2
_QX, _QW = np.polynomial.legendre.leggauss(16)

_TINY = float(np.finfo(float).tiny)
_EPS = float(np.finfo(float).eps)
_LOG_HUGE = 700.0  # |log alpha| beyond this is an over/underflow of alpha (e^709 = max)
_GRID = 4097  # points of the coefficient check on [0, T]
_SPECIAL = (
    sp.Integral,
    sp.Piecewise,
    sp.exp_polar,
    sp.polar_lift,
    sp.Subs,
    sp.Limit,
    sp.re,
    sp.im,
    sp.arg,
    sp.meijerg,
    sp.hyper,
    sp.Sum,
    sp.Product,
)


def derive_transition(
    f: ExprLike, g2: ExprLike, t: sp.Symbol = t_sym
) -> tuple[sp.Expr, sp.Expr, bool]:
    """Symbolic ``(alpha, sigma2)`` for ``dX = f X dt + g dW`` (``g2 = g^2``), in this process.

    Returns ``(alpha, sigma2, exact)`` where ``exact`` is False if an integral stayed
    unevaluated (the numeric path then uses quadrature). Strings are read with the safe
    parser (``analytic.expression``); sympy expressions may carry other symbols (parameters).
    No time limit: ``LinearSDE`` calls this through a killable worker instead.
    """

    def expr(v, name):
        if isinstance(v, str):
            return parse_expression(v, name)
        if isinstance(v, sp.Basic):
            return v
        return as_expression(v, name)

    return derive(expr(f, "f"), expr(g2, "g2"), t)


def _vectorize(expr, modules=("numpy", "scipy")):
    """``t -> float64 array`` evaluating ``expr``; NaN where it is undefined or complex."""
    fn = sp.lambdify(t_sym, expr, modules=list(modules))

    def call(t):
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = np.asarray(fn(t))
        if np.iscomplexobj(v):
            v = np.where(v.imag == 0, v.real, np.nan)
        return np.broadcast_to(np.asarray(v, dtype=np.float64), t.shape).copy()[()]

    return call


def _real_number(x, name: str) -> float:
    """``x`` as a finite float; ``TypeError`` for bools, strings, complex and other types."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            x = float(x)
        else:
            raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def _exact(x: float) -> sp.Rational:
    """The rational of ``x``'s shortest decimal form (``0.1 -> 1/10``)."""
    return as_expression(float(x), "parameter")


def _gl(fn, a, b, x=_QX, w=_QW):
    """Gauss-Legendre ``int_a^b fn`` for arrays ``a``, ``b`` (same shape)."""
    half = 0.5 * (b - a)
    u = (0.5 * (a + b))[..., None] + half[..., None] * x
    return half * np.sum(fn(u) * w, axis=-1)


class _Quadrature:
    """``A(t) = int_0^t f`` and ``sigma2(t)`` by composite Gauss-Legendre on adaptive panels.

    Panels ``[b_k, b_{k+1}]`` are bisected until the 16-point rule on a panel agrees with the
    rule on its halves (``f``: absolute ``max(1e-13 width/T, 1e-15)``; ``g2``: 1e-13 relative
    plus 1e-15 of ``int |g2|``) and ``|int_panel f| <= 1/2``. Then ``A_k = A(b_k)`` and
    ``S_k = sigma2(b_k)`` follow from

        A_{k+1} = A_k + dA_k,
        S_{k+1} = e^{2 dA_k} S_k + int_{b_k}^{b_{k+1}} g2(u) e^{2 int_u^{b_{k+1}} f} du,

    and for ``t`` in panel ``k`` the same two formulas on ``[b_k, t]`` (nested 16-point rules).
    A panel that cannot be resolved (a singularity between the check points) is an error.
    """

    MAX_PANELS = 8000

    def __init__(self, f, g2, T: float, names=("f", "g2")) -> None:
        self.f, self.g2, self.T = f, g2, T
        self.names = names
        edges = self._panels()
        a, b = edges[:-1], edges[1:]
        m = 0.5 * (a + b)
        dA = _gl(f, a, m) + _gl(f, m, b)
        dS = self._local_sigma2(a, b)
        A = np.concatenate([[0.0], np.cumsum(dA)])
        S = np.empty_like(A)
        S[0] = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(dA.size):
                S[k + 1] = np.exp(2.0 * dA[k]) * S[k] + dS[k]
        self.edges, self.A_edges, self.S_edges = edges, A, S

    def _panels(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self._refine()

    def _refine(self) -> np.ndarray:
        T, f, g2 = self.T, self.f, self.g2
        todo = np.linspace(0.0, T, 9)
        todo = np.stack([todo[:-1], todo[1:]], axis=1)
        done = []
        absf = lambda u: np.abs(f(u))
        grid = np.linspace(0.0, T, 257)
        g_scale = float(np.trapezoid(np.abs(g2(grid)), grid))
        while todo.size:
            a, b = todo[:, 0], todo[:, 1]
            m = 0.5 * (a + b)
            fw, fh = _gl(f, a, b), _gl(f, a, m) + _gl(f, m, b)
            gw, gh = _gl(g2, a, b), _gl(g2, a, m) + _gl(g2, m, b)
            fa = _gl(absf, a, m) + _gl(absf, m, b)
            ok_f = np.abs(fw - fh) <= np.maximum(1e-13 * (b - a) / T, 1e-15) + 16 * _EPS * fa
            ok_g = np.abs(gw - gh) <= 1e-13 * np.abs(gh) + 1e-15 * g_scale + 1e-300
            ok = ok_f & ok_g & (np.abs(fh) <= 0.5) & np.isfinite(fh) & np.isfinite(gh)
            done.append(todo[ok])
            bad = todo[~ok]
            width = bad[:, 1] - bad[:, 0]
            n_panels = sum(len(d) for d in done) + 2 * len(bad)
            if bad.size and (np.min(width) < T * 2.0**-46 or n_panels > self.MAX_PANELS):
                k = int(np.argmin(width))
                which = self.names[1] if np.mean(ok_f[~ok]) > np.mean(ok_g[~ok]) else self.names[0]
                raise ValueError(
                    f"the integral of {which} does not converge near t = {bad[k, 0]:.6g}: "
                    f"{which} is singular (not integrable), too large or too rough there"
                )
            mid = 0.5 * (bad[:, 0] + bad[:, 1])
            todo = np.concatenate([np.stack([bad[:, 0], mid], 1), np.stack([mid, bad[:, 1]], 1)])
        panels = np.concatenate(done)
        panels = panels[np.argsort(panels[:, 0])]
        return np.concatenate([panels[:, 0], [T]])

    def _local_sigma2(self, a, t):
        """``int_a^t g2(u) e^{2 int_u^t f} du`` (nested 16-point rules), arrays ``a``, ``t``."""
        half = 0.5 * (t - a)
        u = (0.5 * (a + t))[..., None] + half[..., None] * _QX  # (..., 16)
        tt = np.broadcast_to(t[..., None], u.shape)
        F = _gl(self.f, u, tt)  # int_u^t f, (..., 16)
        return half * np.sum(self.g2(u) * np.exp(2.0 * F) * _QW, axis=-1)

    def _locate(self, t):
        t = np.asarray(t, dtype=np.float64)
        k = np.clip(np.searchsorted(self.edges, t, side="right") - 1, 0, self.edges.size - 2)
        return t, k, self.edges[k]

    def log_alpha(self, t):
        t, k, a = self._locate(t)
        return self.A_edges[k] + _gl(self.f, a, t)

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        t, k, a = self._locate(t)
        F = _gl(self.f, a, t)
        return np.exp(2.0 * F) * self.S_edges[k] + self._local_sigma2(a, t)


_derive_cache: dict = {}
_derive_cache_lock = threading.Lock()


def _derive_cached(f, g2, timeout: float):
    """``(derive_numeric(f, g2) or None, reason)``, cached per ``(f, g2)`` (also failures)."""
    key = (f, g2)
    with _derive_cache_lock:
        hit = _derive_cache.get(key)
    if hit is not None and (hit[0] is not None or hit[2] >= timeout):
        return hit[0], hit[1]
    res, why = derive_with_timeout(f, g2, timeout)
    with _derive_cache_lock:
        if len(_derive_cache) > 512:
            _derive_cache.clear()
        _derive_cache[key] = (res, why, timeout)
    return res, why


class LinearSDE:
    """``dX = f(t) X dt + g(t) dW`` on ``[0, T]`` from expressions in ``t``.

    Parameters
    ----------
    f, g : strings (safe grammar of docs/analytic.md, "Expression grammar"), real numbers or
        sympy expressions in ``t`` (``g2=`` may be given instead of ``g``).
    T : float
        Horizon.
    timeout : float
        Seconds allowed for the symbolic derivation (then quadrature; see ``method``);
        ``0`` skips sympy.

    Raises ``ValueError`` when ``f`` or ``g2`` is not finite and real on ``[0, T]``, ``g2`` is
    negative, an integral diverges, or ``alpha``/``sigma2`` over/underflows float64.

    Examples
    --------
    >>> sde = LinearSDE("-1", "sqrt(2)", T=2.0)   # the OU process
    >>> round(float(sde.sigma2(1.0)), 12) == round(1 - np.exp(-2.0), 12)
    True
    """

    name = "LinearSDE"

    def __init__(
        self,
        f: ExprLike,
        g: ExprLike | None = None,
        *,
        g2: ExprLike | None = None,
        T: float = 1.0,
        timeout: float = 3.0,
    ) -> None:
        if (g is None) == (g2 is None):
            raise ValueError("give exactly one of g and g2")
        T = _real_number(T, "T")
        if not T > 0:
            raise ValueError(f"T must be a positive finite number, got {T}")
        self.T = T
        self.timeout = _real_number(timeout, "timeout")
        if self.timeout < 0:
            raise ValueError(f"timeout must be >= 0 seconds, got {self.timeout}")
        self.f_expr = as_expression(f, "f")
        if g2 is not None:
            self.g2_expr, g_name = as_expression(g2, "g2"), "g2"
        else:
            g_expr = as_expression(g, "g")
            self._check_on_grid(g_expr, _vectorize(g_expr), "g")
            self.g2_expr, g_name = g_expr**2, "g"
        self._g_name = g_name
        self._f = _vectorize(self.f_expr)
        self._g2 = _vectorize(self.g2_expr)
        self._check_coefficients()
        self._check_range()

    # ------------------------------------------------------------ validation
    def _check_coefficients(self) -> None:
        self._check_on_grid(self.f_expr, self._f, "f")
        self._check_on_grid(self.g2_expr, self._g2, self._g_name, nonneg=True)

    def _check_on_grid(self, expr, fn, name, nonneg=False):
        """Raise unless ``fn`` is finite and real (and >= 0) on a grid of [0, T]."""
        ts = np.linspace(0.0, self.T, _GRID)
        try:
            v = np.asarray(fn(ts), dtype=np.float64)
        except Exception as exc:
            raise ValueError(f"{name} = {expr} cannot be evaluated numerically: {exc}") from None
        bad = ~np.isfinite(v)
        if np.any(bad):
            t0 = float(ts[np.argmax(bad)])
            val = sp.N(expr.subs(t_sym, _exact(t0)))
            finite = not val.has(sp.zoo, sp.nan, sp.oo, -sp.oo)
            why = "complex" if finite and sp.im(val) != 0 else "not finite"
            raise ValueError(f"{name} = {expr} is {why} at t = {t0:.6g} (must be finite on [0, T])")
        if nonneg:
            scale = float(np.max(np.abs(v)))
            if np.min(v) < -64 * _EPS * scale:
                t0 = float(ts[np.argmin(v)])
                raise ValueError(
                    f"g^2 = {expr} is negative at t = {t0:.6g} (value {np.min(v):.3g}); "
                    f"{name} must give g^2 >= 0 on [0, T]"
                )
            if scale == 0.0:
                raise ValueError(f"{name} = {expr} is zero on [0, T]: the SDE has no noise")
            self._certify_nonnegative(expr, fn, name, 64 * _EPS * scale)

    def _certify_nonnegative(self, expr, fn, name, tol) -> None:
        """g^2 >= 0 between the grid points too: an interval-arithmetic search of [0, T]
        (:func:`analytic.interval.first_negative`); a narrow dip below 0 that the grid misses
        (and the quadrature would silently clip to 0) is an error naming where."""
        from analytic.interval import Unsupported, first_negative

        g2_expr = expr  # g2_expr of the SDE (g**2 when g was given)
        point = lambda u: float(np.asarray(fn(np.array([u])), dtype=np.float64)[0])
        try:
            t0 = first_negative(g2_expr, t_sym, self.T, point, tol)
        except Unsupported:
            return  # an operation without an interval form: the grid check stands
        if t0 is not None:
            raise ValueError(
                f"g^2 = {g2_expr} is negative at t = {t0:.9g} (value {point(t0):.3g}), between "
                f"the points of a grid check; {name} must give g^2 >= 0 on [0, T]"
            )

    @cached_property
    def _quad(self) -> _Quadrature:
        g2 = self._g2
        return _Quadrature(self._f, lambda u: np.maximum(g2(u), 0.0), self.T, ("f", self._g_name))

    def _check_range(self) -> None:
        """``alpha`` must stay a normal positive float and ``sigma2``, ``sigma`` finite."""
        q = self._quad
        A = q.A_edges
        if np.max(np.abs(A)) > _LOG_HUGE:
            k = int(np.argmax(np.abs(A)))
            kind = "overflows" if A[k] > 0 else "underflows"
            raise ValueError(
                f"alpha(t) = exp(int_0^t f) {kind} float64 at t = {q.edges[k]:.6g} "
                f"(int_0^t f = {A[k]:.4g}): reduce f or T"
            )
        S = q.S_edges
        if not np.all(np.isfinite(S)) or not np.isfinite(0.5 * np.log(S[-1]) - A[-1]):
            raise ValueError(f"sigma2(T) or sigma(T) overflows float64: reduce {self._g_name} or T")
        if not S[-1] >= _TINY:
            raise ValueError(f"sigma2(T) = {S[-1]:.3g} underflows: {self._g_name} is too small")

    # ------------------------------------------------------------ symbolic
    @cached_property
    def _derived(self):
        if self.timeout == 0:
            return None, "timeout = 0: sympy skipped"
        return _derive_cached(self.f_expr, self.g2_expr, self.timeout)

    @cached_property
    def symbolic(self) -> tuple[sp.Expr, sp.Expr, bool]:
        """``(alpha, sigma2, exact)`` derived with sympy (see ``derive_transition``).

        Past the time limit: the unevaluated integrals, with ``exact = False``.
        """
        res, _ = self._derived
        if res is not None:
            return res[0]
        f_u = self.f_expr.subs(t_sym, u_sym)
        alpha = sp.exp(sp.Integral(f_u, (u_sym, 0, t_sym)))
        inner = sp.Integral(
            self.g2_expr.subs(t_sym, u_sym) / alpha.subs(t_sym, u_sym) ** 2, (u_sym, 0, t_sym)
        )
        return alpha, alpha**2 * inner, False

    @cached_property
    def _numeric(self):
        """``(alpha_fn, sigma2_fn, True)`` for an accepted closed form, else ``(None, None,
        False)``.

        Accepted: exact, no special forms, finite on the grid, and within 1e-10 of the
        quadrature at ten times in (0, T].
        """
        res, why = self._derived
        self._why_quadrature = why
        if res is None:
            return None, None, False
        (alpha, sigma2, exact), (alpha_n, sigma2_n) = res
        if not exact or any(e.has(*_SPECIAL) or e.has(sp.I) for e in (alpha, sigma2)):
            self._why_quadrature = "sympy returned special forms"
            return None, None, False
        try:
            a_fn, s_fn = _vectorize(alpha_n), _vectorize(sigma2_n)
            ts = self.T * np.array([1e-4, 1e-2, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0])
            grid = np.linspace(0.0, self.T, _GRID)
            a_ok = np.all(np.isfinite(a_fn(grid))) and np.all(np.isfinite(s_fn(grid)))
            a_ref, s_ref = np.exp(self._quad.log_alpha(ts)), self._quad.sigma2(ts)
            a_ok = a_ok and np.all(np.abs(a_fn(ts) - a_ref) <= 1e-10 * a_ref)
            a_ok = a_ok and np.all(np.abs(s_fn(ts) - s_ref) <= 1e-10 * s_ref + 1e-300)
        except Exception:
            a_ok = False
        if not a_ok:
            self._why_quadrature = "the closed form does not match the quadrature"
            return None, None, False
        return a_fn, s_fn, True

    @cached_property
    def _mp_closed(self):
        """mpmath lambdas of the accepted closed forms, or None (then mpmath quadrature)."""
        if not self._numeric[2]:
            return None
        alpha, sigma2, _ = self._derived[0][0]
        try:
            fa = sp.lambdify(t_sym, alpha, modules="mpmath")
            fs = sp.lambdify(t_sym, sigma2, modules="mpmath")
            t = 0.5 * self.T
            ok = abs(float(fs(mpmath.mpf(t))) - float(self.sigma2(t))) <= 1e-9 * self.sigma2(t)
            ok = ok and abs(float(fa(mpmath.mpf(t))) - float(self.alpha(t))) <= 1e-9 * self.alpha(t)
        except Exception:
            return None
        return (fa, fs) if ok else None

    @property
    def method(self) -> str:
        """``"closed form"`` or ``"quadrature"``: how alpha and sigma2 are evaluated."""
        return "closed form" if self._numeric[2] else "quadrature"

    # ------------------------------------------------------- coefficients
    def f(self, t: ArrayLike) -> FloatOrArray:
        """Drift coefficient ``f(t)`` (the drift is ``f(t) x``)."""
        return self._f(as_time(t, self.T))

    def g2(self, t: ArrayLike) -> FloatOrArray:
        """Squared diffusion coefficient ``g(t)^2`` (round-off negatives clipped to 0)."""
        return np.maximum(self._g2(as_time(t, self.T)), 0.0)[()]

    def alpha(self, t: ArrayLike) -> FloatOrArray:
        """``alpha(t) = exp(int_0^t f)``."""
        t = as_time(t, self.T)
        a, _, ok = self._numeric
        if ok:
            return a(t)
        return np.exp(self._quad.log_alpha(t))[()]

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        """``sigma2(t) = alpha(t)^2 int_0^t g^2/alpha^2``."""
        t = as_time(t, self.T)
        _, s2, ok = self._numeric
        if ok:
            return np.maximum(s2(t), 0.0)[()]
        return np.asarray(self._quad.sigma2(t))[()]

    def alpha_mp(self, t: float, dps: int = 50) -> mpmath.mpf:
        """``alpha(t)`` in mpmath at ``dps`` decimal digits (closed form or ``mpmath.quad``)."""
        t = float(as_time(t, self.T))
        with mpmath.workdps(dps):
            mp = self._mp_closed
            if mp is not None:
                return mp[0](mpmath.mpf(t))
            fm = sp.lambdify(t_sym, self.f_expr, modules="mpmath")
            return mpmath.exp(mpmath.quad(fm, [0, mpmath.mpf(t)]))

    def sigma2_mp(self, t: float, dps: int = 50) -> mpmath.mpf:
        """``sigma2(t)`` in mpmath at ``dps`` digits: the closed form, or
        ``int_0^t g2(u) exp(2 int_u^t f) du`` by nested ``mpmath.quad``."""
        t = float(as_time(t, self.T))
        with mpmath.workdps(dps):
            mp = self._mp_closed
            if mp is not None:
                return mp[1](mpmath.mpf(t))
            fm = sp.lambdify(t_sym, self.f_expr, modules="mpmath")
            gm = sp.lambdify(t_sym, self.g2_expr, modules="mpmath")
            tt = mpmath.mpf(t)
            inner = lambda s: gm(s) * mpmath.exp(2 * mpmath.quad(fm, [s, tt]))
            return mpmath.quad(inner, [0, tt])

    # ------------------------------------------------------ derived maps
    def sigma(self, t: ArrayLike) -> FloatOrArray:
        """EDM noise level ``sqrt(sigma2(t)) / alpha(t)`` of the scaled process ``X_t / alpha``."""
        return np.sqrt(self.sigma2(t)) / self.alpha(t)

    def log_snr(self, t: ArrayLike) -> FloatOrArray:
        """``lambda(t) = log(alpha^2 / sigma2)`` (decreasing in t; ``+inf`` at ``t = 0``)."""
        with np.errstate(divide="ignore"):
            return 2.0 * np.log(self.alpha(t)) - np.log(self.sigma2(t))

    # relative slack above sigma(T) that t_of_sigma clamps to T (VE(0.01, 50): sigma(T) =
    # sqrt(50^2 - 0.01^2) = 49.999999, 2e-8 below the nominal sigma_max = 50)
    SIGMA_RTOL = 1e-6

    def t_of_sigma(self, sigma: ArrayLike) -> FloatOrArray:
        """Inverse of ``sigma(t)``: the forward time at which ``X_t/alpha`` has noise ``sigma``.

        ``t_of_sigma(0) = 0``; values up to ``sigma(T) (1 + SIGMA_RTOL)`` map to at most ``T``.
        """
        s = real_array(sigma, "sigma")
        if np.any(~np.isfinite(s)) or np.any(s < 0):
            raise ValueError("sigma must be finite and non-negative")
        smax = float(self.sigma(self.T))
        if np.any(s > smax * (1 + self.SIGMA_RTOL)):
            raise ValueError(
                f"sigma must be <= sigma(T) = {smax!r} for this SDE (relative slack "
                f"{self.SIGMA_RTOL:g}); got max {float(np.max(s))!r}"
            )
        s = np.minimum(s, smax)
        t = np.asarray(self._t_of_sigma(s), dtype=np.float64)
        return np.clip(np.where(s == 0.0, 0.0, t), 0.0, self.T)[()]

    @cached_property
    def _sigma_ladder(self):
        """``(t_j, sigma(t_j))`` at ``t_j = T 2^-j`` (decreasing), for bracketing."""
        t = self.T * np.exp2(-np.arange(1100.0))
        return t, np.asarray(self.sigma(t), dtype=np.float64)

    def _t_of_sigma(self, s):
        """Generic inverse: bracket ``[t_j, 2 t_j]`` on the ladder, then 64 vectorised
        bisections (``sigma`` is non-decreasing: ``sigma^2 = int_0^t g2/alpha^2``)."""
        s = np.asarray(s, dtype=np.float64)
        out = np.full(s.shape, self.T)
        ts, sg = self._sigma_ladder
        inside = (s > 0) & (s < sg[0])
        out[s == 0] = 0.0
        if np.any(inside):
            v = s[inside]
            j = np.maximum(np.argmax(sg[None, :] < v[:, None], axis=1), 1)  # first point below v
            lo, hi = ts[j], ts[j - 1]
            for _ in range(64):
                mid = 0.5 * (lo + hi)
                below = np.asarray(self.sigma(mid)) < v
                lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
            out[inside] = 0.5 * (lo + hi)
        return out[()]

    def t_of_log_snr(self, lam: ArrayLike) -> FloatOrArray:
        """Inverse of ``log_snr``."""
        lam = real_array(lam, "lam")
        if np.any(np.isnan(lam)):
            raise ValueError("lam contains NaN")
        with np.errstate(over="ignore"):
            return self.t_of_sigma(np.exp(-0.5 * lam))

    def transition(self, s: ArrayLike, t: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        """``(a, v)`` with ``X_t | X_s ~ N(a X_s, v I)`` for ``0 <= s <= t <= T``.

        ``a = alpha(t)/alpha(s)``, ``v = sigma2(t) - a^2 sigma2(s)``.
        """
        s = as_time(s, self.T, name="s")
        t = as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        a = self.alpha(t) / self.alpha(s)
        return a, np.maximum(self.sigma2(t) - a * a * self.sigma2(s), 0.0)

    def exponential_integrals(
        self, s: ArrayLike, t: ArrayLike
    ) -> tuple[FloatOrArray, FloatOrArray]:
        """``(I1, I2)`` of an exponential-integrator step from forward time ``t`` down to ``s``.

        ``I1 = int_s^t (alpha(s)/alpha(u)) g2(u) du`` and
        ``I2 = int_s^t (alpha(s)/alpha(u))^2 g2(u) du = v / a^2`` with
        ``(a, v) = transition(s, t)``. ``I2`` comes from the transition (cancellation-free in
        the presets); ``I1`` has a closed form in every preset and is a 32-point
        Gauss-Legendre quadrature on ``[s, t]`` for a general ``LinearSDE`` (the integrand
        is smooth: relative error far below 1e-12 on a sampler's steps). Vectorised over
        ``s`` and ``t`` (broadcast). The samplers, the exact chain laws and the conformance
        kit all read the integrals from here, so a subclass gets one answer everywhere.
        """
        s, t = np.broadcast_arrays(real_array(s, "s"), real_array(t, "t"))
        a, v = self.transition(s, t)
        a, v = np.asarray(a, dtype=np.float64), np.asarray(v, dtype=np.float64)
        I2 = v / (a * a)
        I1 = self._exponential_I1(s, t, v)
        return np.asarray(I1, dtype=np.float64)[()], np.asarray(I2, dtype=np.float64)[()]

    def _exponential_I1(self, s, t, v):
        mid, half = 0.5 * (t + s), 0.5 * (t - s)
        u = mid[..., None] + half[..., None] * _GL_X
        alpha_s = np.asarray(self.alpha(s), dtype=np.float64)[..., None]
        integrand = alpha_s / np.asarray(self.alpha(u)) * np.asarray(self.g2(u))
        return half * np.sum(integrand * _GL_W, axis=-1)

    # ------------------------------------------------------------- laws
    def prior(self, dim: int = 1) -> Gaussian:
        """The reference law started by samplers: ``N(0, sigma2(T) I)``."""
        return Gaussian(np.zeros(_dimension(dim)), float(self.sigma2(self.T)))

    def marginal(self, p0: Gaussian | GaussianMixture, t: float) -> Gaussian | GaussianMixture:
        """Law of ``X_t`` when ``X_0 ~ p0`` (a ``Gaussian`` or ``GaussianMixture``).

        ``t`` is one time (a scalar); for many times call it once per time.
        """
        if not isinstance(p0, Gaussian | GaussianMixture):
            raise TypeError(f"p0 must be a Gaussian or GaussianMixture, got {type(p0).__name__}")
        if np.ndim(t) != 0:
            raise ValueError(
                f"marginal(p0, t) takes one time t (a scalar), got shape {np.shape(t)}; "
                "call it once per time (sde.score(p0)(x, t) accepts one time per row of x)"
            )
        t = float(as_time(t, self.T))
        if t == 0.0:
            return p0
        return p0.noised(float(self.alpha(t)), float(self.sigma2(t)))

    def score(self, p0: Gaussian | GaussianMixture) -> ScoreFunction:
        """The exact score ``(x, t) -> grad log p_t(x)`` of the forward marginals of ``p0``.

        ``t`` is a scalar or one time per row of ``x`` (shape ``(n,)``).
        """
        sde = self
        if not isinstance(p0, Gaussian | GaussianMixture):
            raise TypeError(f"p0 must be a Gaussian or GaussianMixture, got {type(p0).__name__}")

        def exact_score(x, t):
            if np.ndim(t) == 0:
                return sde.marginal(p0, t).score(x)
            x = as_points(x, p0.dim)
            tt = as_time(t, sde.T)
            if tt.ndim != 1 or tt.shape[0] != x.shape[0]:
                raise ValueError(
                    f"t must be a scalar or one time per row of x, shape ({x.shape[0]},); "
                    f"got shape {tt.shape}"
                )
            out = np.empty_like(x)
            for v in np.unique(tt):
                rows = tt == v
                out[rows] = sde.marginal(p0, float(v)).score(x[rows])
            return out

        exact_score.p0 = p0
        exact_score.sde = self
        return exact_score

    def __repr__(self) -> str:
        return f"{self.name}(f={self.f_expr}, g2={self.g2_expr}, T={self.T:g}; {self.method})"


def _dimension(dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim must be a positive int, got {type(dim).__name__} {dim!r}")
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    return int(dim)


class _Preset(LinearSDE):
    """A preset with hand-written closed forms for ``alpha`` and ``sigma2`` (symbolic too)."""

    _culprits = "T"  # the arguments an over/underflow is blamed on

    def closed_form(self) -> tuple[sp.Expr, sp.Expr]:
        """``(alpha, sigma2)`` as published, as sympy expressions in ``t``."""
        raise NotImplementedError

    @property
    def method(self) -> str:
        return "closed form"

    def _check_range(self) -> None:
        T = self.T
        with np.errstate(all="ignore"):
            a, s2, g2 = float(self.alpha(T)), float(self.sigma2(T)), float(self.g2(T))
            sig = math.sqrt(s2) / a if a > 0 else math.inf
        if not (math.isfinite(a) and a >= _TINY):
            raise ValueError(f"{self!r}: alpha(T) = {a:.3g} underflows; reduce {self._culprits}")
        if not (math.isfinite(s2) and math.isfinite(g2) and math.isfinite(sig)):
            raise ValueError(
                f"{self!r}: sigma2(T), g2(T) or sigma(T) overflows float64; reduce {self._culprits}"
            )
        if not s2 >= _TINY:
            raise ValueError(f"{self!r}: sigma2(T) = {s2:.3g} underflows; the noise is too small")

    def sigma2_mp(self, t: float, dps: int = 50) -> mpmath.mpf:
        t = float(as_time(t, self.T))
        with mpmath.workdps(dps):
            return sp.lambdify(t_sym, self.closed_form()[1], modules="mpmath")(mpmath.mpf(t))

    def alpha_mp(self, t: float, dps: int = 50) -> mpmath.mpf:
        t = float(as_time(t, self.T))
        with mpmath.workdps(dps):
            return sp.lambdify(t_sym, self.closed_form()[0], modules="mpmath")(mpmath.mpf(t))

    def _params(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{self.name}({self._params()}T={self.T:g})"

    def _check_coefficients(self) -> None:
        # the presets' own (stable) f and g2 on the grid; closed forms are trusted otherwise
        ts = np.linspace(0.0, self.T, _GRID)
        with np.errstate(all="ignore"):
            f, g2 = np.asarray(self.f(ts)), np.asarray(self.g2(ts))
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g2))):
            raise ValueError(f"{self!r}: f or g2 is not finite on [0, T]; reduce {self._culprits}")
        if np.any(g2 < 0):
            raise ValueError(f"{self!r}: g2 is negative on [0, T]")


def _horizon(T) -> float:
    T = _real_number(T, "T")
    if not T > 0:
        raise ValueError(f"T must be a positive finite number, got {T}")
    return T


class OU(_Preset):
    """Ornstein-Uhlenbeck ``dX = -X dt + sqrt(2) dW``.

    ``alpha = e^{-t}``, ``sigma2 = 1 - e^{-2t}``.
    """

    name = "OU"

    def __init__(self, T: float = 1.0) -> None:
        super().__init__(-1, g2=2, T=_horizon(T))

    def closed_form(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.exp(-t_sym), 1 - sp.exp(-2 * t_sym)

    def alpha(self, t: ArrayLike) -> FloatOrArray:
        return np.exp(-as_time(t, self.T))

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        return -np.expm1(-2.0 * as_time(t, self.T))

    def _t_of_sigma(self, s):
        return 0.5 * np.log1p(s * s)

    def transition(self, s: ArrayLike, t: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        s, t = as_time(s, self.T, name="s"), as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        return np.exp(-(t - s)), -np.expm1(-2.0 * (t - s))

    def _exponential_I1(self, s, t, v):
        return 2.0 * np.expm1(t - s)  # alpha(s)/alpha(u) = e^{u - s}, g2 = 2

    def prior(self, dim: int = 1) -> Gaussian:
        """``N(0, I)``, the stationary law (Song et al. 2021)."""
        return Gaussian(np.zeros(_dimension(dim)), 1.0)


class _BetaLinear(_Preset):
    _culprits = "beta_max or T"

    def __init__(self, beta_min: float, beta_max: float, T: float, g2) -> None:
        if not (0 <= beta_min <= beta_max):
            raise ValueError(
                f"need 0 <= beta_min <= beta_max < inf, got beta_min={beta_min}, "
                f"beta_max={beta_max}"
            )
        if beta_max == 0:
            raise ValueError("beta_max must be positive")
        self.beta_min, self.beta_max = beta_min, beta_max
        if not math.isfinite(0.5 * (beta_min + beta_max) * T):
            raise ValueError(f"B(T) = int_0^T beta overflows: reduce {self._culprits}")
        super().__init__(-self._beta_expr() / 2, g2=g2, T=T)

    @staticmethod
    def _args(beta_min, beta_max, T):
        return _real_number(beta_min, "beta_min"), _real_number(beta_max, "beta_max"), _horizon(T)

    def _beta_expr(self):
        b0, b1 = _exact(self.beta_min), _exact(self.beta_max)
        return b0 + (b1 - b0) * t_sym

    def _B_expr(self):
        b0, b1 = _exact(self.beta_min), _exact(self.beta_max)
        return b0 * t_sym + (b1 - b0) * t_sym**2 / 2

    def B(self, t: ArrayLike) -> FloatOrArray:
        """``B(t) = int_0^t beta = b0 t + (b1 - b0) t^2 / 2``."""
        t = as_time(t, self.T)
        return t * (self.beta_min + 0.5 * (self.beta_max - self.beta_min) * t)

    def _dB(self, s, t):
        # B(t) - B(s) without cancellation
        return (t - s) * (self.beta_min + 0.5 * (self.beta_max - self.beta_min) * (t + s))

    def alpha(self, t: ArrayLike) -> FloatOrArray:
        return np.exp(-0.5 * self.B(t))

    def _params(self) -> str:
        return f"beta_min={self.beta_min:g}, beta_max={self.beta_max:g}, "

    def prior(self, dim: int = 1) -> Gaussian:
        """``N(0, I)``, the prior of Song et al. (2021) for VP and sub-VP."""
        return Gaussian(np.zeros(_dimension(dim)), 1.0)


class VP(_BetaLinear):
    """Variance preserving: ``f = -beta/2``, ``g^2 = beta``; ``sigma2 = 1 - e^{-B(t)}``."""

    name = "VP"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0) -> None:
        beta_min, beta_max, T = self._args(beta_min, beta_max, T)
        b0, b1 = _exact(beta_min), _exact(beta_max)
        super().__init__(beta_min, beta_max, T, g2=b0 + (b1 - b0) * t_sym)

    def closed_form(self) -> tuple[sp.Expr, sp.Expr]:
        B = self._B_expr()
        return sp.exp(-B / 2), 1 - sp.exp(-B)

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        return -np.expm1(-self.B(t))

    def _t_of_sigma(self, s):
        # sigma^2 = e^B - 1  =>  B = log1p(s^2); solve (b1-b0)/2 t^2 + b0 t - B = 0 stably
        B = np.log1p(s * s)
        b0, db = self.beta_min, self.beta_max - self.beta_min
        with np.errstate(invalid="ignore", divide="ignore"):
            t = 2.0 * B / (b0 + np.sqrt(b0 * b0 + 2.0 * db * B))
        return np.where(B == 0.0, 0.0, t)

    def transition(self, s: ArrayLike, t: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        s, t = as_time(s, self.T, name="s"), as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        dB = self._dB(s, t)
        return np.exp(-0.5 * dB), -np.expm1(-dB)

    def _exponential_I1(self, s, t, v):
        # alpha(s)/alpha(u) = e^{(B(u) - B(s))/2}, g2 = beta = B': I1 = 2 (e^{dB/2} - 1)
        return 2.0 * np.expm1(0.5 * self._dB(s, t))


class SubVP(_BetaLinear):
    """Sub-VP: ``f = -beta/2``, ``g^2 = beta (1 - e^{-2B})``; ``sigma2 = (1 - e^{-B})^2``."""

    name = "SubVP"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0) -> None:
        beta_min, beta_max, T = self._args(beta_min, beta_max, T)
        b0, b1 = _exact(beta_min), _exact(beta_max)
        beta = b0 + (b1 - b0) * t_sym
        B = b0 * t_sym + (b1 - b0) * t_sym**2 / 2
        super().__init__(beta_min, beta_max, T, g2=beta * (1 - sp.exp(-2 * B)))

    def closed_form(self) -> tuple[sp.Expr, sp.Expr]:
        B = self._B_expr()
        return sp.exp(-B / 2), (1 - sp.exp(-B)) ** 2

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        return np.expm1(-self.B(t)) ** 2

    def g2(self, t: ArrayLike) -> FloatOrArray:
        """``beta(t) (1 - e^{-2 B(t)})`` (with ``expm1``)."""
        t = as_time(t, self.T)
        beta = self.beta_min + (self.beta_max - self.beta_min) * t
        return -beta * np.expm1(-2.0 * self.B(t))

    def _exponential_I1(self, s, t, v):
        # g2 = beta (1 - e^{-2B}): the VP term minus int beta e^{(B(u)-B(s))/2 - 2B(u)} du
        #   = 2 expm1(dB/2) + (2/3) e^{-2 B(s)} expm1(-3 dB/2)
        dB = self._dB(s, t)
        Bs = s * (self.beta_min + 0.5 * (self.beta_max - self.beta_min) * s)
        return 2.0 * np.expm1(0.5 * dB) + (2.0 / 3.0) * np.exp(-2.0 * Bs) * np.expm1(-1.5 * dB)


class VE(_Preset):
    """Variance exploding: ``sigma(t) = smin (smax/smin)^t``, ``g^2 = d sigma^2/dt``;
    ``alpha = 1``, ``sigma2 = smin^2 ((smax/smin)^{2t} - 1)`` (computed with ``expm1``)."""

    name = "VE"
    _culprits = "sigma_max or T"

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, T: float = 1.0) -> None:
        sigma_min = _real_number(sigma_min, "sigma_min")
        sigma_max = _real_number(sigma_max, "sigma_max")
        T = _horizon(T)
        if not (0 < sigma_min < sigma_max):
            raise ValueError(
                f"need 0 < sigma_min < sigma_max < inf, got sigma_min={sigma_min}, "
                f"sigma_max={sigma_max}"
            )
        if sigma_min * sigma_min < _TINY:
            raise ValueError(f"sigma_min = {sigma_min:g} is too small: sigma_min**2 underflows")
        self.sigma_min, self.sigma_max = sigma_min, sigma_max
        self._log_r = math.log(self.sigma_max) - math.log(self.sigma_min)
        if 2.0 * (math.log(sigma_min) + self._log_r * T) + math.log(2 * self._log_r) > 709.0:
            raise ValueError(
                f"sigma2(T) = sigma_min^2 (sigma_max/sigma_min)^(2T) overflows float64: "
                f"reduce {self._culprits}"
            )
        smin, smax = _exact(self.sigma_min), _exact(self.sigma_max)
        g2 = 2 * sp.log(smax / smin) * smin**2 * (smax / smin) ** (2 * t_sym)
        super().__init__(0, g2=g2, T=T)

    def closed_form(self) -> tuple[sp.Expr, sp.Expr]:
        smin, smax = _exact(self.sigma_min), _exact(self.sigma_max)
        return sp.Integer(1), smin**2 * ((smax / smin) ** (2 * t_sym) - 1)

    def alpha(self, t: ArrayLike) -> FloatOrArray:
        return np.ones_like(as_time(t, self.T))[()]

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        t = as_time(t, self.T)
        return self.sigma_min**2 * np.expm1(2.0 * self._log_r * t)

    def g2(self, t: ArrayLike) -> FloatOrArray:
        t = as_time(t, self.T)
        return 2.0 * self._log_r * self.sigma_min**2 * np.exp(2.0 * self._log_r * t)

    def _t_of_sigma(self, s):
        return np.log1p((s / self.sigma_min) ** 2) / (2.0 * self._log_r)

    def transition(self, s: ArrayLike, t: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        s, t = as_time(s, self.T, name="s"), as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        v = (
            self.sigma_min**2
            * np.exp(2.0 * self._log_r * s)
            * np.expm1(2.0 * self._log_r * (t - s))
        )
        return np.ones_like(v)[()], v

    def _exponential_I1(self, s, t, v):
        return v.copy()  # alpha = 1: I1 = I2 = v

    def _params(self) -> str:
        return f"sigma_min={self.sigma_min:g}, sigma_max={self.sigma_max:g}, "


class EDM(_Preset):
    """Karras et al. (2022) VE parameterisation: ``t = sigma``, ``f = 0``, ``g^2 = 2t`` on
    ``[0, sigma_max]``; ``alpha = 1``, ``sigma2 = t^2``."""

    name = "EDM"
    _culprits = "sigma_max"

    def __init__(self, sigma_max: float = 80.0) -> None:
        sigma_max = _real_number(sigma_max, "sigma_max")
        if not sigma_max > 0:
            raise ValueError("sigma_max must be positive and finite")
        if sigma_max > 1e150:
            raise ValueError(f"sigma_max = {sigma_max:g} is too large: sigma_max**2 overflows")
        if sigma_max < 1e-150:
            raise ValueError(f"sigma_max = {sigma_max:g} is too small: sigma_max**2 underflows")
        super().__init__(0, g2=2 * t_sym, T=sigma_max)

    def closed_form(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.Integer(1), t_sym**2

    def alpha(self, t: ArrayLike) -> FloatOrArray:
        return np.ones_like(as_time(t, self.T))[()]

    def sigma2(self, t: ArrayLike) -> FloatOrArray:
        t = as_time(t, self.T)
        return t * t

    def _t_of_sigma(self, s):
        return s

    def transition(self, s: ArrayLike, t: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        s, t = as_time(s, self.T, name="s"), as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        return np.ones_like(t)[()], (t - s) * (t + s)

    def _exponential_I1(self, s, t, v):
        return v.copy()  # alpha = 1: I1 = I2 = v
