r"""Whether stochasticity helps or hurts for an offset or a scale score error (Gaussian data).

Setting (docs/claims/stochasticity.md#error-direction). A linear forward SDE
``dX = f X dt + g dW`` (any schedule: ``alpha``, ``sigma2``, ``sbar2 = sigma2 / alpha^2``),
1-D data ``p_0 = N(m_0, s0^2)`` (in ``d`` dimensions: per eigendirection of the data
covariance, the KL is the sum), the reverse family of docs/theory.md#the-reverse-family with a
constant ``gamma``, started at ``p_T`` and run in continuous time to ``t = 0``, with the score

* ``offset``: ``s~ = s + c`` (a constant ``c``), or
* ``scale``:  ``s~ = k s`` (a constant ``k > 0``).

The log-SNR clock. ``S_t = alpha^2 (s0^2 + sbar2)`` and ``g^2 / S_t = d/dt log(s0^2 + sbar2)``,
so with ``u(t) = log(1 + sbar2(t) / s0^2)`` (``u(0) = 0``) the reverse time runs ``u`` down
from ``l = u(T)`` to 0 at speed ``g^2 / S``. In this clock the moment ODE of the exact law
(docs/theory.md#exact-chain-laws) has constant coefficients:

* scale: ``r = Var / S_t`` obeys ``dr/dlambda = gamma - (k (1 + gamma) - 1) r``, ``r = 1`` at
  the start (``lambda = l - u``), so at ``t = 0``
  ``r - 1 = (1 + gamma)(1 - k) l E(kappa l)``, ``kappa = k (1 + gamma) - 1``,
  ``E(x) = (1 - e^{-x}) / x``; ``KL = (r - 1 - log r) / 2`` (:func:`final_kl`);
* offset: ``z = (mean - m_t) / sqrt(S_t)`` obeys ``dz/dlambda = -gamma z / 2 + (1 + gamma) c
  sqrt(S) / 2``, ``z = 0`` at the start, so at ``t = 0``
  ``z = c s0 (1 + gamma)/2 int_0^l e^{-(gamma - 1) u / 2} alpha(t(u)) du`` and ``KL = z^2 / 2``;
  in forward time ``du = g^2 / S dt`` (:func:`final_kl` integrates on a composite
  Gauss-Legendre rule refined towards ``t = 0``).

Limits. ``gamma = 0``: ``r_0 = e^{(1 - k) l}``, ``z_0 = c J`` with
``J = s0/2 int_0^l alpha e^{u/2} du = 1/2 int_0^T alpha (d sbar2/dt) / sqrt(s0^2 + sbar2) dt``.
``gamma -> infinity``: the output is the equilibrium of the approximate score at ``t = 0``,
``N(m_0 + c s0^2, s0^2 / k)``: ``r_inf = 1 / k``, ``z_inf = c s0``.

Criteria (:func:`criteria`), derived in the doc:

* large stochasticity helps (``KL(gamma -> inf) < KL(0)``) iff
  offset: ``s0 < J(s0, T)``; scale: ``l > log(k) / (k - 1)`` (independent of the offset size
  ``c``; for the scale error only the log-SNR gain ``l = log(1 + sbar2(T)/s0^2)`` and ``k``
  matter);
* a little stochasticity helps (``dKL/dgamma < 0`` at 0) iff
  offset: ``int_0^l alpha e^{u/2} (u - 2) du > 0``; scale: ``(1 - k) phi(l) < 0`` with
  ``phi(l) = (1 - e^{-(1-k) l}) / (1 - k) - k l``.

Closed forms of ``J``: VE (``alpha = 1``) ``J = sqrt(s0^2 + sbar2(T)) - s0``; variance
preserving (``alpha^2 = 1/(1 + sbar2)``: OU, VP)
``J = log((sqrt(1 + sbar2(T)) + sqrt(s0^2 + sbar2(T))) / (1 + s0))``.
"""

from __future__ import annotations

import numpy as np

from analytic.divergence import h_u_minus_log1p

__all__ = [
    "KINDS",
    "log_snr_gain",
    "final_kl",
    "limit_kl",
    "offset_J",
    "offset_small_margin",
    "criteria_margins",
    "criteria",
    "scale_threshold_limit",
    "scale_threshold_small",
    "exact_final_kls",
    "equilibrium_kl",
    "SCHEDULES",
    "schedule_shape",
    "schedule_gamma",
    "schedule_final_kl",
    "Clock",
]

KINDS = ("offset", "scale")

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_N_DYADIC = 48  # subintervals [T 2^-(j+1), T 2^-j] and a last one [0, T 2^-48]


def _check(s0, kind, size):
    if not (np.isfinite(s0) and s0 > 0):
        raise ValueError(f"s0 must be a positive data standard deviation, got {s0!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "scale" and not (np.isfinite(size) and size > 0):
        raise ValueError(f"the scale error k must be > 0, got {size!r}")
    if kind == "offset" and not np.isfinite(size):
        raise ValueError(f"the offset c must be finite, got {size!r}")


def _sbar2(sde, t):
    t = np.asarray(t, dtype=np.float64)
    return np.asarray(sde.sigma2(t), dtype=np.float64) / np.asarray(sde.alpha(t)) ** 2


def log_snr_gain(sde, s0: float, T: float | None = None) -> float:
    """``l = log(1 + sbar2(T) / s0^2)``: the log-SNR clock's total length (``T`` default
    ``sde.T``)."""
    T = float(sde.T if T is None else T)
    return float(np.log1p(_sbar2(sde, T) / s0**2))


def _nodes(sde, T):
    """Composite Gauss-Legendre nodes/weights on ``[0, T]``, dyadically refined towards 0
    (where the large-gamma kernel concentrates)."""
    edges = T * np.concatenate([[0.0], 2.0 ** -np.arange(_N_DYADIC, -1, -1)])
    a, b = edges[:-1], edges[1:]
    t = (0.5 * (b - a))[:, None] * _GL_X[None, :] + (0.5 * (a + b))[:, None]
    w = (0.5 * (b - a))[:, None] * _GL_W[None, :]
    return t.ravel(), w.ravel()


def _offset_pieces(sde, s0, T):
    """``(u, alpha e^{u/2} du/dt, weights)`` on the quadrature nodes (``du/dt = g2 / S``)."""
    t, w = _nodes(sde, T)
    al = np.asarray(sde.alpha(t), dtype=np.float64)
    sb2 = _sbar2(sde, t)
    u = np.log1p(sb2 / s0**2)
    S = al * al * (s0**2 + sb2)
    du = np.asarray(sde.g2(t), dtype=np.float64) / S
    return u, al * np.exp(0.5 * u) * du, w


def final_kl(sde, s0: float, kind: str, size: float, gamma, T: float | None = None):
    """Exact ``KL(q_0 || p_0)`` of the reverse family started at ``p_T`` (module docstring),
    vectorised over ``gamma`` (array of constants ``>= 0``)."""
    _check(s0, kind, size)
    gamma = np.asarray(gamma, dtype=np.float64)
    if np.any(~np.isfinite(gamma)) or np.any(gamma < 0):
        raise ValueError("gamma must be finite and >= 0")
    T = float(sde.T if T is None else T)
    if kind == "scale":
        k, ell = float(size), log_snr_gain(sde, s0, T)
        x = (k * (1.0 + gamma) - 1.0) * ell
        with np.errstate(divide="ignore", invalid="ignore"):
            E = np.where(np.abs(x) < 1e-12, 1.0 - 0.5 * x, -np.expm1(-x) / x)
        return 0.5 * h_u_minus_log1p((1.0 + gamma) * (1.0 - k) * ell * E)
    u, a, w = _offset_pieces(sde, s0, T)
    g = np.atleast_1d(gamma)[:, None]
    z = size * s0 * 0.5 * (1.0 + g[:, 0]) * np.sum(w * a * np.exp(-0.5 * g * u), axis=1)
    return (0.5 * z * z).reshape(gamma.shape)[()]


def limit_kl(s0: float, kind: str, size: float) -> float:
    """``KL`` of the ``gamma -> infinity`` output ``N(m_0 + c s0^2, s0^2 / k)`` from
    ``N(m_0, s0^2)``: ``c^2 s0^2 / 2`` (offset), ``(1/k - 1 + log k) / 2`` (scale)."""
    _check(s0, kind, size)
    if kind == "offset":
        return 0.5 * (size * s0) ** 2
    return float(0.5 * h_u_minus_log1p(1.0 / size - 1.0))


def offset_J(sde, s0, T: float | None = None):
    """``J = 1/2 int_0^T alpha (d sbar2/dt) / sqrt(s0^2 + sbar2) dt``: the ODE's normalised
    mean error per unit offset (``z_0 = c J``); vectorised over ``s0``."""
    T = float(sde.T if T is None else T)
    s0 = np.asarray(s0, dtype=np.float64)
    _, a, w = _offset_pieces(sde, s0[..., None], T)
    return (0.5 * s0 * np.sum(w * a, axis=-1))[()]


def offset_small_margin(sde, s0, T: float | None = None):
    """``int alpha e^{u/2} (u - 2) du / int alpha e^{u/2} du`` (the weighted mean of ``u`` minus
    2; positive iff a little stochasticity helps an offset); vectorised over ``s0``."""
    T = float(sde.T if T is None else T)
    s0 = np.asarray(s0, dtype=np.float64)
    u, a, w = _offset_pieces(sde, s0[..., None], T)
    return (np.sum(w * a * (u - 2.0), axis=-1) / np.sum(w * a, axis=-1))[()]


def scale_threshold_limit(k: float) -> float:
    """``l*(k) = log(k) / (k - 1)`` (``1`` at ``k = 1``): large stochasticity helps a scale
    error iff the log-SNR gain exceeds it."""
    if not k > 0:
        raise ValueError(f"k must be > 0, got {k!r}")
    return 1.0 if abs(k - 1) < 1e-12 else float(np.log(k) / (k - 1.0))


def _phi(k, ell):
    a = 1.0 - k
    lin = ell if abs(a * ell) < 1e-12 else -np.expm1(-a * ell) / a
    return lin - k * ell


def scale_threshold_small(k: float) -> float:
    """``l0(k)``: the positive root of ``phi(l) = (1 - e^{-(1-k) l})/(1 - k) - k l``; a little
    stochasticity helps a scale error iff ``l > l0(k)`` (``l0 > l*``; bisection)."""
    from scipy import optimize

    if not k > 0 or abs(k - 1) < 1e-9:
        raise ValueError(f"k must be > 0 and != 1, got {k!r}")
    lo = scale_threshold_limit(k)  # phi has its extremum at l*, the root lies beyond
    hi = 2.0 * lo
    while np.sign(_phi(k, hi)) == np.sign(_phi(k, lo)):
        hi *= 2.0
    return float(optimize.brentq(lambda x: _phi(k, x), lo, hi, xtol=1e-14, rtol=1e-14))


def criteria_margins(sde, s0s, kind: str, size: float, T: float | None = None):
    """``(limit margins, small margins)`` of :func:`criteria` for an array of ``s0``."""
    T = float(sde.T if T is None else T)
    s0s = np.asarray(s0s, dtype=np.float64)
    for s0 in s0s.ravel():
        _check(float(s0), kind, size)
    if kind == "offset":
        return offset_J(sde, s0s, T) - s0s, offset_small_margin(sde, s0s, T)
    k = float(size)
    ell = np.log1p(_sbar2(sde, T) / s0s**2)
    a = 1.0 - k
    lin = ell if abs(a) < 1e-12 else -np.expm1(-a * ell) / a
    return ell - scale_threshold_limit(k), -(1.0 - k) * (lin - k * ell)


def criteria(sde, s0: float, kind: str, size: float, T: float | None = None) -> dict:
    """The two predictions and their margins (positive = stochasticity helps).

    ``limit_helps``: large stochasticity beats the ODE (margin ``J - s0`` for an offset,
    ``l - l*(k)`` for a scale error); ``small_helps``: ``dKL/dgamma < 0`` at ``gamma = 0``
    (margin ``int alpha e^{u/2} (u - 2) du / int alpha e^{u/2} du`` for an offset,
    ``-(1 - k) phi(l)`` for a scale error).
    """
    _check(s0, kind, size)
    T = float(sde.T if T is None else T)
    ell = log_snr_gain(sde, s0, T)
    if kind == "offset":
        m_lim = offset_J(sde, s0, T) - s0
        m_small = float(offset_small_margin(sde, s0, T))
    else:
        k = float(size)
        m_lim = ell - scale_threshold_limit(k)
        m_small = float(-(1.0 - k) * _phi(k, ell))
    return {
        "ell": ell,
        "limit_margin": float(m_lim),
        "small_margin": m_small,
        "limit_helps": bool(m_lim > 0),
        "small_helps": bool(m_small > 0),
    }


def exact_final_kls(sde, s0s, kind: str, sizes, gamma, T: float | None = None) -> np.ndarray:
    r"""``KL(q_0 || p_0)`` per pair ``(s0, size)`` from the exact law's moment ODE
    (``verify.solvers.chain_laws.exact_law``, ``method=None``), all pairs in one solve: they
    are the eigendirections of diagonal data ``N(1, diag(s0^2))`` with a per-direction offset
    vector (``Offset``) or diagonal scale matrix (``Scale``). Returns an array
    ``(len(s0s), len(sizes))``. An independent route to :func:`final_kl`."""
    from analytic import Gaussian
    from verify.errors import Offset, Scale
    from verify.solvers.chain_laws import exact_law

    s0s, sizes = np.asarray(s0s, dtype=np.float64), np.asarray(sizes, dtype=np.float64)
    for s0 in s0s:
        for size in sizes:
            _check(float(s0), kind, float(size))
    T = float(sde.T if T is None else T)
    S0, Z = (a.ravel() for a in np.meshgrid(s0s, sizes, indexing="ij"))
    var = S0**2
    data = Gaussian(np.ones(var.size), var)
    score = sde.score(data)
    err = Offset(score, Z) if kind == "offset" else Scale(score, np.diag(Z))
    law = exact_law(
        sde, data, sde.marginal(data, T), (T, 0.0), gamma=float(gamma), method=None, score_error=err
    )
    cov = np.asarray(law.cov, dtype=np.float64)
    v = np.diag(cov) if cov.ndim == 2 else cov
    out = 0.5 * (h_u_minus_log1p(v / var - 1.0) + (law.mean - 1.0) ** 2 / var)
    return out.reshape(s0s.size, sizes.size)


# ------------------------------------------------------------------ time-dependent gamma
SCHEDULES = ("early", "constant", "late")
_N_FINE = 2401


def schedule_shape(name: str, t, T: float):
    """Unnormalised ``gamma(t)`` of a schedule in forward time ``t`` (reverse time
    ``tau = T - t``): ``early`` ``(t/T)^2`` (stochasticity at the start of sampling),
    ``late`` ``(1 - t/T)^2`` (at the end), ``constant`` 1."""
    x = np.asarray(t, dtype=np.float64) / T
    if name == "early":
        return x * x
    if name == "late":
        return (1.0 - x) ** 2
    if name == "constant":
        return np.ones_like(x)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")


class Clock:
    """The log-SNR clock of data scale ``s0`` under ``sde`` on ``[0, T]``, on fine forward times
    refined towards 0, in reverse-time order: ``t`` (decreasing), ``lam`` (``log((s0^2 +
    sbar2(T)) / (s0^2 + sbar2(t)))``, from 0 to ``l``), ``w = alpha sqrt(s0^2 + sbar2) =
    sqrt(S_t)``, ``g2``. Times the clock cannot resolve (equal ``lam``) are dropped."""

    def __init__(self, sde, s0: float, T: float | None = None, n: int = _N_FINE):
        if not (np.isfinite(s0) and s0 > 0):
            raise ValueError(f"s0 must be a positive data standard deviation, got {s0!r}")
        self.T = float(sde.T if T is None else T)
        self.s0 = float(s0)
        t = np.concatenate([[0.0], self.T * np.geomspace(1e-10, 1.0, n - 1)])[::-1]
        al = np.asarray(sde.alpha(t), dtype=np.float64)
        sb2 = _sbar2(sde, t)
        lam = np.log((s0**2 + sb2[0]) / (s0**2 + sb2))
        keep = np.concatenate([[True], np.diff(lam) > 0])
        self.t, self.lam = t[keep], lam[keep]
        self.w = (al * np.sqrt(s0**2 + sb2))[keep]
        self.g2 = (np.asarray(sde.g2(t), dtype=np.float64) * np.ones_like(t))[keep]

    def shape(self, name: str) -> np.ndarray:
        return schedule_shape(name, self.t, self.T)

    def gamma_for_budget(self, name: str, budget: float, measure: str = "clock") -> np.ndarray:
        """``gamma`` on ``t``: the schedule scaled to ``int gamma g^2/S dtau = budget``
        (``measure="clock"``) or ``int gamma g^2 dtau = budget`` (``"g2"``)."""
        sh = self.shape(name)
        if measure == "clock":
            return budget / _integral(sh, self.lam) * sh
        if measure == "g2":
            return budget / _integral(sh * self.g2, self.T - self.t) * sh
        raise ValueError(f"measure must be 'clock' or 'g2', got {measure!r}")

    def final_kl(self, kind: str, size: float, gamma) -> float:
        r"""Exact ``KL(q_0 || p_0)`` for ``gamma`` given on ``t`` (see
        :func:`schedule_final_kl`)."""
        lam, gm = self.lam, np.asarray(gamma, dtype=np.float64) * np.ones_like(self.lam)
        G = _cumulative(gm, lam)  # int gamma dlambda
        if kind == "start":
            return 0.5 * size**2 * float(np.exp(-G[-1]))
        if kind == "start-var":
            if not (np.isfinite(size) and size > 0):
                raise ValueError(f"a start variance ratio must be positive, got {size!r}")
            return float(0.5 * h_u_minus_log1p((size - 1.0) * np.exp(-G[-1])))
        _check(self.s0, kind, size)
        if kind == "offset":
            z = _integral(np.exp(-0.5 * (G[-1] - G)) * 0.5 * (1.0 + gm) * size * self.w, lam)
            return 0.5 * float(z) ** 2
        k = float(size)
        K = _cumulative(k * (1.0 + gm) - 1.0, lam)
        r = np.exp(-K[-1]) * (1.0 + _integral(gm * np.exp(K), lam))
        return float(0.5 * h_u_minus_log1p(r - 1.0))

    def bump(self, kind: str, size: float, lam1: float, eps=1e-4, width=0.02):
        """``(exact dKL, rule says helps)`` for ``gamma = eps exp(-(lam - lam1)^2 / (2 width^2))``
        on top of the ODE; the rule: offset ``z_acc(lam1) > c sqrt(S)``, with ``z_acc`` the
        ODE's normalised error at ``lam1``; scale ``lam1 > log(k)/(k-1)``."""
        g = eps * np.exp(-0.5 * ((self.lam - lam1) / width) ** 2)
        dK = self.final_kl(kind, size, g) - self.final_kl(kind, size, 0.0)
        if kind == "offset":
            i = int(np.searchsorted(self.lam, lam1))
            z_acc = 0.5 * size * float(_cumulative(self.w, self.lam)[i])
            return float(dK), bool(z_acc > size * self.w[i])
        return float(dK), bool(lam1 > scale_threshold_limit(size))


def schedule_gamma(sde, name: str, budget: float, T: float | None = None):
    """``gamma(t) = a shape(t)`` with ``int_0^T gamma g^2 dt = budget`` (the integrated
    stochasticity), as a vectorised callable of forward time."""
    T = float(sde.T if T is None else T)
    t = np.linspace(0.0, T, 4001)
    g2 = np.asarray(sde.g2(t), dtype=np.float64) * np.ones_like(t)
    a = budget / _integral(schedule_shape(name, t, T) * g2, t)

    def gamma(x):
        return a * schedule_shape(name, x, T)

    return gamma


def schedule_final_kl(sde, s0: float, kind: str, size: float, gamma, T: float | None = None):
    r"""Exact ``KL(q_0 || p_0)`` for a time-dependent ``gamma(t)`` (a callable of forward time):
    ``kind`` ``"offset"`` / ``"scale"`` as in :func:`final_kl` (start ``p_T``) or ``"start"``:
    exact score, start ``N(m_T + size sqrt(S_T), S_T)`` (a mean offset of ``size`` standard
    deviations), KL ``size^2 e^{-int gamma dlambda} / 2``; or ``"start-var"``: exact score,
    start ``N(m_T, size S_T)`` (a variance ratio ``size``), KL ``h((size - 1) e^{-int gamma
    dlambda}) / 2`` with ``h(u) = u - log(1 + u)`` (closed form (G): ``r - 1`` decays with the
    clock, KL does not). In the clock ``lambda`` the moment
    ODE is linear (module docstring): ``z`` and ``r`` by their integrating factors with
    cumulative Simpson quadrature on 2401 forward times refined towards 0 (relative error
    ~1e-9 under OU, ~1e-6 under VE, whose clock is steepest at t = 0)."""
    clock = Clock(sde, s0, T)
    return clock.final_kl(kind, size, np.asarray(gamma(clock.t), dtype=np.float64))


def _cumulative(y, x):
    from scipy import integrate

    return integrate.cumulative_simpson(y, x=x, initial=0.0)


def _integral(y, x):
    from scipy import integrate

    return float(integrate.simpson(y, x=x))


def equilibrium_kl(data, kind: str, size: float, bounds=(-20.0, 20.0), n: int = 40001) -> float:
    r"""``KL(p~ || p_0)`` of the ``gamma -> infinity`` output for 1-D data ``p_0`` (any law with
    ``log_prob``): the equilibrium of the approximate score at ``t = 0``,
    ``p~ propto p_0 e^{c x}`` (offset) or ``p_0^k`` (scale), by quadrature on ``n`` points of
    ``bounds`` (midpoint rule; the densities are negligible at the ends)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    lo, hi = bounds
    h = (hi - lo) / n
    x = lo + h * (np.arange(n) + 0.5)
    lp = np.asarray(data.log_prob(x[:, None]), dtype=np.float64)
    lq = lp + size * x if kind == "offset" else size * lp
    lq = lq - lq.max()
    q = np.exp(lq)
    Z = q.sum() * h
    return float(np.sum(q * (lq - np.log(Z) - lp)) * h / Z)
