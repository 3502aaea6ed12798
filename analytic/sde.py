"""Linear forward SDEs ``dX = f(t) X dt + g(t) dW`` on ``t in [0, T]`` and their marginals.

Transition (notes §0): ``X_t | X_0 ~ N(alpha(t) X_0, sigma2(t) I)`` with

    alpha(t)  = exp( int_0^t f(u) du ),
    sigma2(t) = alpha(t)^2 int_0^t g(u)^2 / alpha(u)^2 du.

``LinearSDE`` derives both symbolically with sympy from expressions for ``f`` and ``g`` and
evaluates them with lambdified NumPy (vectorised over ``t``) or mpmath (any precision). When
sympy cannot integrate, it falls back to adaptive quadrature and says so in ``repr``.

Presets use Song et al. (2021, "Score-based generative modeling through SDEs", §3.4 and
App. B) schedules and override the numerics with cancellation-free closed forms
(``expm1``/``log1p``):

* ``OU()``:     f = -1, g^2 = 2;                 alpha = e^{-t}, sigma2 = 1 - e^{-2t}.
* ``VP(b0,b1)``: f = -beta/2, g^2 = beta, beta(t) = b0 + (b1 - b0) t, B = int beta;
                 alpha = e^{-B/2}, sigma2 = 1 - e^{-B}.
* ``SubVP``:    f = -beta/2, g^2 = beta (1 - e^{-2B}); alpha = e^{-B/2}, sigma2 = (1 - e^{-B})^2.
* ``VE(smin,smax)``: f = 0, g^2 = d/dt sigma(t)^2, sigma(t) = smin (smax/smin)^t;
                 alpha = 1, sigma2 = sigma(t)^2 - sigma(0)^2 (paper 4, Table 1).
* ``EDM(smax)``: f = 0, g^2 = 2t on [0, smax]: alpha = 1, sigma2 = t^2
                 (Karras et al. 2022, t = sigma).

``sigma(t) = sqrt(sigma2)/alpha`` is the EDM noise level of the scaled process ``X/alpha``;
``t_of_sigma`` inverts it (used by Karras grids).
"""

from __future__ import annotations

import math
from functools import cached_property

import mpmath
import numpy as np
import sympy as sp
from scipy import integrate, optimize

from ._checks import as_time
from .gaussian import Gaussian
from .mixture import GaussianMixture

__all__ = ["LinearSDE", "OU", "VP", "VE", "SubVP", "EDM", "derive_transition"]

t_sym, u_sym = sp.symbols("t u", nonnegative=True, real=True)

# 32-point Gauss-Legendre rule on [-1, 1] (exponential-integrator step integrals)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)


def derive_transition(f, g2, t=t_sym):
    """Symbolic ``(alpha, sigma2)`` for ``dX = f X dt + g dW`` (``g2 = g^2``).

    Returns ``(alpha, sigma2, exact)`` where ``exact`` is False if an integral stayed
    unevaluated (the numeric path then uses quadrature).
    """
    fu = sp.sympify(f).subs(t, u_sym)
    A = sp.integrate(fu, (u_sym, 0, t))
    exact = not A.has(sp.Integral)
    alpha = sp.simplify(sp.exp(A))
    alpha_u = alpha.subs(t, u_sym)
    inner = sp.integrate(sp.simplify(sp.sympify(g2).subs(t, u_sym) / alpha_u**2), (u_sym, 0, t))
    exact = exact and not inner.has(sp.Integral)
    sigma2 = sp.simplify(alpha**2 * inner)
    return alpha, sigma2, exact


def _vectorize(expr, modules=("numpy", "scipy")):
    fn = sp.lambdify(t_sym, expr, modules=list(modules))

    def call(t):
        t = np.asarray(t, dtype=np.float64)
        return np.broadcast_to(np.asarray(fn(t), dtype=np.float64), t.shape).copy()[()]

    return call


class LinearSDE:
    """``dX = f(t) X dt + g(t) dW`` on ``[0, T]`` from sympy expressions in ``t``.

    Parameters
    ----------
    f, g : sympy expressions or strings in ``t`` (``g2=`` may be given instead of ``g``).
    T : float
        Horizon.

    Examples
    --------
    >>> sde = LinearSDE("-1", "sqrt(2)", T=2.0)   # the OU process
    >>> round(float(sde.sigma2(1.0)), 12) == round(1 - np.exp(-2.0), 12)
    True
    """

    name = "LinearSDE"

    def __init__(self, f, g=None, *, g2=None, T: float = 1.0):
        if (g is None) == (g2 is None):
            raise ValueError("give exactly one of g and g2")
        T = float(T)
        if not (np.isfinite(T) and T > 0):
            raise ValueError(f"T must be a positive finite number, got {T}")
        self.T = T
        loc = {"t": t_sym}
        self.f_expr = sp.sympify(f, locals=loc)
        self.g2_expr = (
            sp.sympify(g2, locals=loc) if g2 is not None else sp.sympify(g, locals=loc) ** 2
        )
        free = (self.f_expr.free_symbols | self.g2_expr.free_symbols) - {t_sym}
        if free:
            raise ValueError(f"f and g may only depend on t; found free symbols {free}")
        self._f = _vectorize(self.f_expr)
        self._g2 = _vectorize(self.g2_expr)

    # ------------------------------------------------------------ symbolic
    @cached_property
    def symbolic(self):
        """``(alpha, sigma2, exact)`` derived with sympy (see ``derive_transition``)."""
        return derive_transition(self.f_expr, self.g2_expr)

    @cached_property
    def _numeric(self):
        alpha, sigma2, exact = self.symbolic
        if exact:
            return _vectorize(alpha), _vectorize(sigma2), True
        return None, None, False

    @property
    def method(self) -> str:
        """``"closed form"`` or ``"quadrature"``: how alpha and sigma2 are evaluated."""
        return "closed form" if self._numeric[2] else "quadrature"

    # ------------------------------------------------------- coefficients
    def f(self, t):
        """Drift coefficient ``f(t)`` (the drift is ``f(t) x``)."""
        return self._f(as_time(t, self.T))

    def g2(self, t):
        """Squared diffusion coefficient ``g(t)^2``."""
        return self._g2(as_time(t, self.T))

    def alpha(self, t):
        """``alpha(t) = exp(int_0^t f)``."""
        t = as_time(t, self.T)
        a, _, ok = self._numeric
        if ok:
            return a(t)
        return np.vectorize(lambda s: math.exp(integrate.quad(self._f, 0.0, s)[0]))(t)[()]

    def sigma2(self, t):
        """``sigma2(t) = alpha(t)^2 int_0^t g^2/alpha^2``."""
        t = as_time(t, self.T)
        _, s2, ok = self._numeric
        if ok:
            return np.maximum(s2(t), 0.0)

        def one(s):
            a = lambda u: math.exp(integrate.quad(self._f, 0.0, u)[0])
            inner = integrate.quad(
                lambda u: self._g2(u) / a(u) ** 2, 0.0, s, epsabs=0, epsrel=1e-12
            )
            return a(s) ** 2 * inner[0]

        return np.vectorize(one)(t)[()]

    def alpha_mp(self, t, dps: int = 50):
        """``alpha(t)`` in mpmath at ``dps`` decimal digits."""
        with mpmath.workdps(dps):
            alpha, _, exact = self.symbolic
            if exact:
                return sp.lambdify(t_sym, alpha, modules="mpmath")(mpmath.mpf(t))
            fm = sp.lambdify(t_sym, self.f_expr, modules="mpmath")
            return mpmath.exp(mpmath.quad(fm, [0, mpmath.mpf(t)]))

    def sigma2_mp(self, t, dps: int = 50):
        """``sigma2(t)`` in mpmath at ``dps`` decimal digits."""
        with mpmath.workdps(dps):
            _, sigma2, exact = self.symbolic
            if exact:
                return sp.lambdify(t_sym, sigma2, modules="mpmath")(mpmath.mpf(t))
            fm = sp.lambdify(t_sym, self.f_expr, modules="mpmath")
            gm = sp.lambdify(t_sym, self.g2_expr, modules="mpmath")
            a = lambda s: mpmath.exp(mpmath.quad(fm, [0, s]))
            tt = mpmath.mpf(t)
            return a(tt) ** 2 * mpmath.quad(lambda s: gm(s) / a(s) ** 2, [0, tt])

    # ------------------------------------------------------ derived maps
    def sigma(self, t):
        """EDM noise level ``sqrt(sigma2(t)) / alpha(t)`` of the scaled process ``X_t / alpha``."""
        return np.sqrt(self.sigma2(t)) / self.alpha(t)

    def log_snr(self, t):
        """``lambda(t) = log(alpha^2 / sigma2)`` (decreasing in t)."""
        return 2.0 * np.log(self.alpha(t)) - np.log(self.sigma2(t))

    def t_of_sigma(self, sigma):
        """Inverse of ``sigma(t)``: the forward time at which ``X_t/alpha`` has noise ``sigma``."""
        s = np.asarray(sigma, dtype=np.float64)
        if np.any(~np.isfinite(s)) or np.any(s < 0):
            raise ValueError("sigma must be finite and non-negative")
        smax = float(self.sigma(self.T))
        if np.any(s > smax * (1 + 1e-10)):
            raise ValueError(f"sigma must be <= sigma(T) = {smax:g} for this SDE")
        return self._t_of_sigma(np.minimum(s, smax))

    def _t_of_sigma(self, s):
        tiny = np.finfo(float).tiny

        def logsig(t):
            return math.log(max(float(self.sigma(t)), tiny))

        def one(v):
            if v == 0.0:
                return 0.0
            if self.sigma(self.T) <= v:
                return self.T
            lo = self.T
            for _ in range(4000):  # bracket: halve until sigma(lo) < v
                lo *= 0.5
                if self.sigma(lo) < v:
                    break
            lv = math.log(v)
            return optimize.brentq(
                lambda t: logsig(t) - lv, lo, self.T, xtol=1e-300, rtol=4 * np.finfo(float).eps
            )

        return np.vectorize(one, otypes=[float])(s)[()]

    def t_of_log_snr(self, lam):
        """Inverse of ``log_snr``."""
        lam = np.asarray(lam, dtype=np.float64)
        return self.t_of_sigma(np.exp(-0.5 * lam))

    def transition(self, s, t):
        """``(a, v)`` with ``X_t | X_s ~ N(a X_s, v I)`` for ``0 <= s <= t <= T``.

        ``a = alpha(t)/alpha(s)``, ``v = sigma2(t) - a^2 sigma2(s)``.
        """
        s = as_time(s, self.T, name="s")
        t = as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        a = self.alpha(t) / self.alpha(s)
        return a, np.maximum(self.sigma2(t) - a * a * self.sigma2(s), 0.0)

    def exponential_integrals(self, s, t):
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
        s, t = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64))
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
        return Gaussian(np.zeros(int(dim)), float(self.sigma2(self.T)))

    def marginal(self, p0, t):
        """Law of ``X_t`` when ``X_0 ~ p0`` (a ``Gaussian`` or ``GaussianMixture``)."""
        t = float(as_time(t, self.T))
        if not isinstance(p0, Gaussian | GaussianMixture):
            raise ValueError("p0 must be a Gaussian or GaussianMixture")
        if t == 0.0:
            return p0
        return p0.noised(float(self.alpha(t)), float(self.sigma2(t)))

    def score(self, p0):
        """The exact score ``(x, t) -> grad log p_t(x)`` of the forward marginals of ``p0``."""
        sde = self

        def exact_score(x, t):
            return sde.marginal(p0, t).score(x)

        exact_score.p0 = p0
        exact_score.sde = self
        return exact_score

    def __repr__(self) -> str:
        return f"{self.name}(f={self.f_expr}, g2={self.g2_expr}, T={self.T:g}; {self.method})"


class _Preset(LinearSDE):
    """A preset with hand-written closed forms for ``alpha`` and ``sigma2`` (symbolic too)."""

    def closed_form(self):
        """``(alpha, sigma2)`` as published, as sympy expressions in ``t``."""
        raise NotImplementedError

    @cached_property
    def symbolic(self):
        return derive_transition(self.f_expr, self.g2_expr)

    @property
    def method(self) -> str:
        return "closed form"

    def sigma2_mp(self, t, dps: int = 50):
        with mpmath.workdps(dps):
            return sp.lambdify(t_sym, self.closed_form()[1], modules="mpmath")(mpmath.mpf(t))

    def alpha_mp(self, t, dps: int = 50):
        with mpmath.workdps(dps):
            return sp.lambdify(t_sym, self.closed_form()[0], modules="mpmath")(mpmath.mpf(t))

    def _params(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{self.name}({self._params()}T={self.T:g})"


class OU(_Preset):
    """Ornstein-Uhlenbeck ``dX = -X dt + sqrt(2) dW``.

    ``alpha = e^{-t}``, ``sigma2 = 1 - e^{-2t}``.
    """

    name = "OU"

    def __init__(self, T: float = 1.0):
        super().__init__(-1, g2=2, T=T)

    def closed_form(self):
        return sp.exp(-t_sym), 1 - sp.exp(-2 * t_sym)

    def alpha(self, t):
        return np.exp(-as_time(t, self.T))

    def sigma2(self, t):
        return -np.expm1(-2.0 * as_time(t, self.T))

    def _t_of_sigma(self, s):
        return 0.5 * np.log1p(s * s)

    def transition(self, s, t):
        s, t = as_time(s, self.T, name="s"), as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        return np.exp(-(t - s)), -np.expm1(-2.0 * (t - s))

    def _exponential_I1(self, s, t, v):
        return 2.0 * np.expm1(t - s)  # alpha(s)/alpha(u) = e^{u - s}, g2 = 2

    def prior(self, dim: int = 1) -> Gaussian:
        return Gaussian(np.zeros(int(dim)), 1.0)


class _BetaLinear(_Preset):
    def __init__(self, beta_min: float, beta_max: float, T: float, g2):
        if not (0 <= beta_min <= beta_max) or not np.isfinite(beta_max):
            raise ValueError("need 0 <= beta_min <= beta_max < inf")
        if beta_max == 0:
            raise ValueError("beta_max must be positive")
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)
        super().__init__(-self._beta_expr() / 2, g2=g2, T=T)

    def _beta_expr(self):
        b0, b1 = sp.nsimplify(self.beta_min), sp.nsimplify(self.beta_max)
        return b0 + (b1 - b0) * t_sym

    def _B_expr(self):
        b0, b1 = sp.nsimplify(self.beta_min), sp.nsimplify(self.beta_max)
        return b0 * t_sym + (b1 - b0) * t_sym**2 / 2

    def B(self, t):
        """``B(t) = int_0^t beta = b0 t + (b1 - b0) t^2 / 2``."""
        t = as_time(t, self.T)
        return t * (self.beta_min + 0.5 * (self.beta_max - self.beta_min) * t)

    def _dB(self, s, t):
        # B(t) - B(s) without cancellation
        return (t - s) * (self.beta_min + 0.5 * (self.beta_max - self.beta_min) * (t + s))

    def alpha(self, t):
        return np.exp(-0.5 * self.B(t))

    def _params(self) -> str:
        return f"beta_min={self.beta_min:g}, beta_max={self.beta_max:g}, "

    def prior(self, dim: int = 1) -> Gaussian:
        return Gaussian(np.zeros(int(dim)), 1.0)


class VP(_BetaLinear):
    """Variance preserving: ``f = -beta/2``, ``g^2 = beta``; ``sigma2 = 1 - e^{-B(t)}``."""

    name = "VP"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0):
        b0, b1 = sp.nsimplify(float(beta_min)), sp.nsimplify(float(beta_max))
        super().__init__(beta_min, beta_max, T, g2=b0 + (b1 - b0) * t_sym)

    def closed_form(self):
        B = self._B_expr()
        return sp.exp(-B / 2), 1 - sp.exp(-B)

    def sigma2(self, t):
        return -np.expm1(-self.B(t))

    def _t_of_sigma(self, s):
        # sigma^2 = e^B - 1  =>  B = log1p(s^2); solve (b1-b0)/2 t^2 + b0 t - B = 0 stably
        B = np.log1p(s * s)
        b0, db = self.beta_min, self.beta_max - self.beta_min
        return 2.0 * B / (b0 + np.sqrt(b0 * b0 + 2.0 * db * B))

    def transition(self, s, t):
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

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0):
        b0, b1 = sp.nsimplify(float(beta_min)), sp.nsimplify(float(beta_max))
        beta = b0 + (b1 - b0) * t_sym
        B = b0 * t_sym + (b1 - b0) * t_sym**2 / 2
        super().__init__(beta_min, beta_max, T, g2=beta * (1 - sp.exp(-2 * B)))

    def closed_form(self):
        B = self._B_expr()
        return sp.exp(-B / 2), (1 - sp.exp(-B)) ** 2

    def sigma2(self, t):
        return np.expm1(-self.B(t)) ** 2

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

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, T: float = 1.0):
        if not (0 < sigma_min < sigma_max) or not np.isfinite(sigma_max):
            raise ValueError("need 0 < sigma_min < sigma_max < inf")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self._log_r = math.log(self.sigma_max) - math.log(self.sigma_min)
        smin, smax = sp.nsimplify(self.sigma_min), sp.nsimplify(self.sigma_max)
        g2 = 2 * sp.log(smax / smin) * smin**2 * (smax / smin) ** (2 * t_sym)
        super().__init__(0, g2=g2, T=T)

    def closed_form(self):
        smin, smax = sp.nsimplify(self.sigma_min), sp.nsimplify(self.sigma_max)
        return sp.Integer(1), smin**2 * ((smax / smin) ** (2 * t_sym) - 1)

    def alpha(self, t):
        return np.ones_like(as_time(t, self.T))[()]

    def sigma2(self, t):
        t = as_time(t, self.T)
        return self.sigma_min**2 * np.expm1(2.0 * self._log_r * t)

    def g2(self, t):
        t = as_time(t, self.T)
        return 2.0 * self._log_r * self.sigma_min**2 * np.exp(2.0 * self._log_r * t)

    def _t_of_sigma(self, s):
        return np.log1p((s / self.sigma_min) ** 2) / (2.0 * self._log_r)

    def transition(self, s, t):
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

    def __init__(self, sigma_max: float = 80.0):
        if not (np.isfinite(sigma_max) and sigma_max > 0):
            raise ValueError("sigma_max must be positive and finite")
        super().__init__(0, g2=2 * t_sym, T=float(sigma_max))

    def closed_form(self):
        return sp.Integer(1), t_sym**2

    def alpha(self, t):
        return np.ones_like(as_time(t, self.T))[()]

    def sigma2(self, t):
        t = as_time(t, self.T)
        return t * t

    def _t_of_sigma(self, s):
        return s

    def transition(self, s, t):
        s, t = as_time(s, self.T, name="s"), as_time(t, self.T)
        if np.any(s > t):
            raise ValueError("transition needs s <= t (forward in time)")
        return np.ones_like(t)[()], (t - s) * (t + s)

    def _exponential_I1(self, s, t, v):
        return v.copy()  # alpha = 1: I1 = I2 = v
