r"""Densities of 1-D samplers on a uniform cell grid, and KL divergences by quadrature.

Rung 3 of the exactness ladder (docs/theory.md#the-fokker-planck-grid): the output density of
a sampler with an arbitrary (nonlinear, learned) score, for 1-D targets.

* :func:`ddpm_density_1d`: the density after the discrete DDPM chain (the ``"ddpm"`` method of
  ``verify.solvers.methods``; docs/theory.md#exact-chain-laws gives its Gaussian law)

      y' = (y + v s(y, t)) / a + sqrt(v) xi,    (a, v) = sde.transition(s, t),

  propagated on a uniform cell-centred grid: the mass of cell ``i`` moves to cell ``j`` with
  the exact Gaussian cell probability ``Phi((b_j - m_i)/sqrt v) - Phi((a_j - m_i)/sqrt v)``,
  ``m_i = (x_i + v s(x_i, t)) / a``, ``[a_j, b_j]`` the edges of cell ``j``. Mass is
  conserved up to the tails leaving the box (reported); very narrow kernels are exact.
  Placing each step's mass at the cell centres adds at most about ``h^2 / 12`` of variance
  per step (tested against the exact Gaussian law of the chain).
* :func:`kl_quadrature_1d`: ``KL(p || q) = int p log(p / q)`` for two 1-D laws with exact
  log-densities, by the trapezoid rule on ``mean(p) +- 12 sd(p)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

    from analytic import Gaussian, LinearSDE

    from .types import Score

__all__ = [
    "ddpm_density_1d",
    "kl_quadrature_1d",
    "pf_ode_flow",
    "pf_ode_flow_logdet",
    "pf_ode_kl_1d",
    "gauss_kronrod",
    "finite_difference_dx",
]


def ddpm_density_1d(
    sde: LinearSDE,
    score: Score,
    q0: Gaussian,
    x: np.ndarray,
    grid_times: ArrayLike,
    *,
    n_sd: float = 9.0,
    floor: float = 1e-16,
) -> tuple[np.ndarray, float]:
    """Density after the VE/VP DDPM chain on ``grid_times`` (module docstring).

    ``q0``: density values at the uniform cell centres ``x`` (1-D, spacing ``h``); ``score``:
    ``(x (n, 1), t) -> (n, 1)``. Uses ``(a, v) = sde.transition(s, t)`` and the step
    ``y' = (y + v s(y, t)) / a + sqrt(v) xi`` exactly as ``reverse_sample(method="ddpm")``.
    Each source cell sends mass only to the cells within ``n_sd`` kernel standard deviations
    of its kernel mean (a band; the Gaussian mass beyond 9 sd, below 2e-19, goes to the band's
    edge cells, so the move conserves mass). Cells holding less than ``floor`` times the total
    mass are dropped (counted as lost). Returns ``(q, lost)``: the density on the same cells
    and the total mass that left the box or fell below the floor (excluded from ``q``).
    """
    x = np.asarray(x, dtype=np.float64)
    h = float(x[1] - x[0])
    n = x.size
    lo_edge = float(x[0] - h / 2)
    q = np.asarray(q0, dtype=np.float64) * h  # cell masses
    start = q.sum()
    for t, s in zip(grid_times[:-1], grid_times[1:], strict=True):
        a, v = (float(np.asarray(c)) for c in np.broadcast_arrays(*sde.transition(s, t)))
        src = np.flatnonzero(q > floor * q.sum())
        m = (x[src] + v * score(x[src, None], float(t))[:, 0]) / a
        sd = np.sqrt(v)
        half = int(np.ceil(n_sd * sd / h)) + 1
        width = min(2 * half + 1, n)
        first = np.clip(np.floor((m - lo_edge) / h).astype(int) - half, 0, n - width)
        cols = first[:, None] + np.arange(width)[None, :]  # (sources, width) target cells
        edges = lo_edge + h * np.concatenate([cols, cols[:, -1:] + 1], axis=1)
        cdf = ndtr((edges - m[:, None]) / sd)
        # the band's first and last cells also take the tails outside the band, unless the
        # band touches a wall (that mass leaves the box)
        cdf[:, 0] = np.where(first > 0, 0.0, cdf[:, 0])
        cdf[:, -1] = np.where(first + width < n, 1.0, cdf[:, -1])
        mass = np.diff(cdf, axis=1) * q[src, None]
        q = np.bincount(cols.ravel(), weights=mass.ravel(), minlength=n)
    return q / h, float(start - q.sum())


def kl_quadrature_1d(p: Gaussian, q: Gaussian, n: int = 20001) -> float:
    """``KL(p || q)`` for 1-D laws by the trapezoid rule on ``mean(p) +- 12 sd(p)``."""
    m, sd = float(p.mean[0]), float(np.sqrt(p.cov[0, 0]))
    x = np.linspace(m - 12 * sd, m + 12 * sd, n)[:, None]
    lp, lq = p.log_prob(x), q.log_prob(x)
    return float(np.trapezoid(np.exp(lp) * (lp - lq), x[:, 0]))


# ------------------------------------------------------------ PF-ODE characteristics
def pf_ode_flow(
    sde: LinearSDE,
    score: Score,
    x0: ArrayLike,
    times: ArrayLike,
    substeps: int = 1,
    record: bool = False,
) -> np.ndarray:
    r"""Push points along the probability-flow ODE (the reverse family with ``gamma = 0``,
    docs/theory.md#the-reverse-family)

        dy/dtau = -f(t) y + g2(t)/2 s(y, t),    t = T - tau,

    from ``times[0]`` down to ``times[-1]`` by the classical 4th-order Runge-Kutta method with
    ``substeps`` steps per interval of ``times`` (stage times ``t``, ``t - h/2``, ``t - h``).
    ``x0`` ``(n,)`` or ``(n, d)`` points; ``score`` ``(x (n, d), t) -> (n, d)``. Returns the
    points at ``times[-1]`` (same shape as ``x0``), or with ``record=True`` an array
    ``(len(times), *x0.shape)`` of the points at every node. The flow is deterministic, so
    characteristics started from any points give the law of the ODE's output exactly
    (up to the RK4 error, ``O(h^4)``).
    """
    from verify.solvers.reverse import ReverseFamily

    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if times.size < 2 or not np.all(np.diff(times) < 0):
        raise ValueError("times must hold >= 2 forward times, strictly decreasing")
    if int(substeps) < 1:
        raise ValueError(f"substeps must be >= 1, got {substeps!r}")
    x0 = np.asarray(x0, dtype=np.float64)
    flat = x0.ndim == 1
    y = x0[:, None].copy() if flat else x0.copy()
    if y.ndim != 2 or not np.all(np.isfinite(y)):
        raise ValueError("x0 must be finite points of shape (n,) or (n, d)")
    fam = ReverseFamily(sde, score, 0.0)
    out = [y.copy()] if record else None
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        h = (t0 - t1) / int(substeps)
        for k in range(int(substeps)):
            t = t0 - k * h
            k1 = fam.drift(y, t)
            k2 = fam.drift(y + 0.5 * h * k1, t - 0.5 * h)
            k3 = fam.drift(y + 0.5 * h * k2, t - 0.5 * h)
            k4 = fam.drift(y + h * k3, max(t - h, t1))
            y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if record:
            out.append(y.copy())
    if not np.all(np.isfinite(y)):
        raise FloatingPointError("a characteristic became non-finite")
    if record:
        arr = np.stack(out)
        return arr[..., 0] if flat else arr
    return y[:, 0] if flat else y


def pf_ode_flow_logdet(
    sde: LinearSDE,
    score: Score,
    score_dx: Callable[[np.ndarray, float], np.ndarray],
    x0: ArrayLike,
    times: ArrayLike,
    substeps: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    r"""1-D characteristics of the probability-flow ODE with their log-Jacobians.

    Integrates, by classical RK4 (``substeps`` per interval of ``times``), the flow and its
    variational equation

        dy/dtau = -f y + g2/2 s(y, t),     d log Phi'/dtau = -f + g2/2 ds/dy (y, t),

    (Liouville: the log-density along a characteristic falls by the divergence of the drift).
    ``score_dx(y (n, 1), t) -> (n,)`` is the score's derivative; ``score=None`` means
    ``score_dx`` returns both, ``(s (n, 1), ds/dy (n,))`` (one autograd pass for a network).
    Returns ``(y, log_jac)`` at ``times[-1]``, arrays ``(n,)``.
    """
    from verify.solvers.reverse import ReverseFamily

    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if times.size < 2 or not np.all(np.diff(times) < 0):
        raise ValueError("times must hold >= 2 forward times, strictly decreasing")
    if int(substeps) < 1:
        raise ValueError(f"substeps must be >= 1, got {substeps!r}")
    y = np.asarray(x0, dtype=np.float64).reshape(-1, 1).copy()
    fam = ReverseFamily(sde, None, 0.0)

    def rhs(yy, t):
        f, w, _ = (float(v) for v in fam.drift_coefficients(t))
        if score is None:
            s, dx = score_dx(yy, t)
        else:
            s, dx = score(yy, t), score_dx(yy, t)
        s = np.asarray(s, dtype=np.float64).reshape(yy.shape)
        dx = np.asarray(dx, dtype=np.float64).reshape(-1)
        return w * s - f * yy, -f + w * dx

    lj = np.zeros(y.shape[0])
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        h = (t0 - t1) / int(substeps)
        for k in range(int(substeps)):
            t = t0 - k * h
            k1, l1 = rhs(y, t)
            k2, l2 = rhs(y + 0.5 * h * k1, t - 0.5 * h)
            k3, l3 = rhs(y + 0.5 * h * k2, t - 0.5 * h)
            k4, l4 = rhs(y + h * k3, max(t - h, t1))
            y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            lj = lj + (h / 6.0) * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(lj))):
        raise FloatingPointError("a characteristic became non-finite")
    return y[:, 0], lj


# Gauss-Kronrod 7-15 rule on [-1, 1] (QUADPACK qk15): Kronrod nodes and weights, and the
# weights of the embedded 7-point Gauss rule on the odd-indexed Kronrod nodes
_XGK = np.array(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
        0.0,
    ]
)
_WGK = np.array(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
        0.209482141084727828012999174891714,
    ]
)
_WG = np.array(
    [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ]
)
_NODES = np.concatenate([-_XGK[:-1], _XGK[::-1]])  # 15 nodes, increasing
_W_K = np.concatenate([_WGK[:-1], _WGK[::-1]])
_W_G = np.zeros(15)
_W_G[1:7:2], _W_G[7], _W_G[9:15:2] = _WG[:3], _WG[3], _WG[2::-1]


def gauss_kronrod(
    f: Callable[[np.ndarray], np.ndarray],
    edges: ArrayLike,
    tol: float,
    *,
    max_levels: int = 8,
    split: int = 4,
) -> tuple[float, float, int]:
    """``int f`` over ``[edges[0], edges[-1]]`` by adaptive Gauss-Kronrod 7-15 quadrature.

    ``f`` maps an array of points to values and is called once per refinement level with all
    new points (so an expensive vectorised integrand, e.g. a batch of ODE characteristics, is
    evaluated in a few passes). Every interval whose Kronrod and Gauss estimates differ by
    more than ``tol`` is split into ``split`` equal parts, for at most ``max_levels`` levels.
    Returns ``(integral, error, n_points)``: the sum of the Kronrod estimates and of
    ``|Kronrod - Gauss|`` over the final intervals (a conservative error estimate for what the
    nodes see: a feature falling between all 15 nodes of a starting interval is missed, so
    start with intervals no wider than a few times the narrowest feature).
    """
    lo = np.asarray(edges[:-1], dtype=np.float64)
    hi = np.asarray(edges[1:], dtype=np.float64)
    total, err, n_points = 0.0, 0.0, 0
    for level in range(int(max_levels) + 1):
        half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
        pts = (mid[:, None] + half[:, None] * _NODES[None, :]).ravel()
        vals = np.asarray(f(pts), dtype=np.float64).reshape(lo.size, 15)
        n_points += pts.size
        k = half * (vals @ _W_K)
        g = half * (vals @ _W_G)
        e = np.abs(k - g)
        bad = e > tol
        if level == int(max_levels):
            bad[:] = False
        total += float(k[~bad].sum())
        err += float(e[~bad].sum())
        if not np.any(bad):
            break
        frac = np.arange(int(split) + 1) / int(split)
        cuts = lo[bad, None] + (hi[bad] - lo[bad])[:, None] * frac[None, :]
        lo, hi = cuts[:, :-1].ravel(), cuts[:, 1:].ravel()
    return total, err, n_points


def pf_ode_kl_1d(
    sde: LinearSDE,
    score: Score,
    score_dx: Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]],
    log_q0: Callable[[np.ndarray], np.ndarray],
    logp_end: Callable[[np.ndarray], np.ndarray],
    bounds: tuple[float, float],
    times: ArrayLike,
    substeps: int = 1,
    *,
    n_intervals: int = 64,
    tol: float = 1e-7,
    max_levels: int = 8,
) -> tuple[float, dict]:
    r"""``KL(q_out || p)`` of the 1-D probability-flow ODE's output by characteristics.

    With the flow map ``Phi`` and its log-Jacobian from :func:`pf_ode_flow_logdet`, the output
    density is ``q_out(Phi(x)) = q0(x) / Phi'(x)`` (change of variables) and

        KL(q_out || p) = int q0(x) [log q0(x) - log Phi'(x) - log p(Phi(x))] dx,

    integrated over ``bounds = (lo, hi)`` (covering the start law's mass) by adaptive
    Gauss-Kronrod quadrature (:func:`gauss_kronrod`, ``n_intervals`` equal intervals to start,
    tolerance ``tol`` per interval): the integrand is smooth except where the flow maps mass
    into a region of low target density, where the quadrature refines. Each level integrates
    the characteristics of its new points in one batch. ``log_q0(x (n, 1))`` and
    ``logp_end(y (n, 1))`` are exact log-densities; ``score``/``score_dx`` as in
    :func:`pf_ode_flow_logdet`. Returns ``(kl, info)``: ``info["error"]`` the quadrature's
    error estimate (sum of ``|Kronrod - Gauss|``; the time-stepping error is not included:
    rerun with more ``substeps``), ``info["points"]`` and ``info["mass"]`` (``int q0``, same
    quadrature).
    """
    lo, hi = (float(v) for v in bounds)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds must be finite with lo < hi, got {bounds!r}")
    mass = [0.0]

    def integrand(pts):
        y, lj = pf_ode_flow_logdet(sde, score, score_dx, pts, times, substeps)
        lq0 = np.asarray(log_q0(pts[:, None]), dtype=np.float64).reshape(-1)
        lp = np.asarray(logp_end(y[:, None]), dtype=np.float64).reshape(-1)
        return np.exp(lq0) * (lq0 - lj - lp)

    edges = np.linspace(lo, hi, int(n_intervals) + 1)
    kl, err, n = gauss_kronrod(integrand, edges, tol, max_levels=max_levels)
    q0 = lambda pts: np.exp(np.asarray(log_q0(pts[:, None]), dtype=np.float64).reshape(-1))  # noqa: E731
    mass[0] = gauss_kronrod(q0, edges, tol)[0]
    return float(kl), {"error": err, "points": n, "mass": mass[0]}


def finite_difference_dx(
    score: Score, eps: float = 1e-4
) -> Callable[[np.ndarray, float], np.ndarray]:
    """``(x, t) -> (s(x + eps, t) - s(x - eps, t)) / (2 eps)`` for a 1-D score callable."""

    def dx(x, t):
        x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        return ((score(x + eps, t) - score(x - eps, t)) / (2 * eps))[:, 0]

    return dx
