r"""Relative-entropy dynamics of the reverse family (paper 1, arXiv 2506.11378;
docs/claims/stochasticity.md, docs/theory.md#the-reverse-family).

Reverse family in ``tau = T - t``: ``dY = [-f Y + (1+gamma)/2 g2 s(Y, t)] dtau +
sqrt(gamma g2) dW``; ``q_tau`` its law, ``pbar_tau = p_{T - tau}`` the forward marginal,
``H_tau = KL(q_tau || pbar_tau)`` (direction: sampler || exact, throughout).

The relative-entropy identity (docs/theory.md): with drifts differing by
``delta_b = (1+gamma)/2 g2 e``, ``e = s_tilde - grad log p``,

    dH/dtau = -(gamma g2 / 2) I(q_tau | pbar_tau) + E_q[delta_b . grad log(q_tau / pbar_tau)].

Gaussian data and affine score errors (rung 1-2). ``q = N(mu, C)``, ``pbar = N(m, S)``; the
moments move by (``P~``, ``c~`` the affine score ``s~ = -P~ x + c~``, ``F = -f - (1+gamma)/2
g2 P~``)

    mu' = F mu + (1+gamma)/2 g2 c~,   C' = F C + C F^T + gamma g2 I,
    m'  = -f m,                        S' = -(2 f S + g2 I)       (d/dtau = -d/dt),

and ``H = 1/2 [tr(S^{-1} C) - d - log det(S^{-1} C) + delta^T S^{-1} delta]``,
``delta = mu - m``, has the exact derivative (:func:`gaussian_kl_rate`)

    H' = 1/2 tr((S^{-1} - C^{-1}) C') + 1/2 tr((S^{-1} - S^{-1} (C + delta delta^T) S^{-1}) S')
         + delta^T S^{-1} (mu' - m').

The right side of (E) is closed form too (:func:`gaussian_identity_terms`):
``grad log(q / pbar)(x) = N x + v`` with ``N = P - C^{-1}``, ``v = C^{-1} mu - P m``
(``P = S^{-1}``, ``P m = c``), ``e(x) = A x + b`` with ``A = P - P~``, ``b = c~ - c``, so for
``x ~ N(mu, C)``: ``E[(A x + b) . (N x + v)] = tr(A C N^T) + (A mu + b) . (N mu + v)``.

LSI rate bound (reconstructed, docs/claims/stochasticity.md#exact-score-decay):
``H_tau <= H_0 exp(-int_0^tau gamma g2 / Cbar_u du)``,
``Cbar_u = C_LSI(p_{T-u})``. For Gaussian data ``Cbar = alpha^2 lam_max + sigma2`` and, because
``g2 / S = d/dt log(S / alpha^2)``, the exponent is closed form
(:func:`gaussian_lsi_decay`): ``exp(-gamma log((lam_max + sbar2(t0)) / (lam_max + sbar2(t))))``
with ``sbar2 = sigma2 / alpha^2`` and ``t0`` the start time.

Young + LSI bound (reconstructed, docs/claims/stochasticity.md#young-lsi-bound): for
``lambda in (0, 1)`` and ``gamma > 0``

    H' <= -(1 - lambda) gamma g2 / Cbar H + (1 + gamma)^2 g2 / (8 lambda gamma) E_q |e|^2,

integrated by Gronwall (:func:`young_lsi_bound`, along exact trajectories
:func:`young_bound_along`).

Trajectory-level checks: :func:`gaussian_decay` (identity, finite differences and the LSI rate
bound along a closed-form Gaussian trajectory), :func:`fp_decay` (the integrated identity on an
FP solve, :func:`reverse_fp`), :func:`particles_vs_fp`.

The probability-flow ODE with an approximate score (docs/claims/stochasticity.md): the
instantaneous change of variables ``d/dtau log q(Y_tau) = d f - g2/2 div s~(Y_tau)`` along
characteristics, forwards from Gauss-Hermite or grid nodes of the start law (:func:`flow_kl`)
or backwards from a grid of output points (:func:`flow_output_kl`, a quadrature in the output
variable that stays smooth across a multimodal flow's separatrix); ``div s~`` for offset, scale,
affine and random-Fourier errors (:func:`score_divergence`); :class:`MixtureMarginals` evaluates
``log p_t``, its gradient and Laplacian for mixtures without building mixture objects. The
synchronous-coupling W2 bound of the ODE (:func:`ode_w2_bound`):
``W2 <= int exp(int Lam) g2/2 sqrt(E_q|e|^2)``, ``Lam = -f - g2 / (2 lambda_max(S_t))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, linalg

from analytic import Gaussian
from analytic.covariance import Covariance
from analytic.lsi import relative_fisher_gaussian

__all__ = [
    "affine_score",
    "moment_velocity",
    "gaussian_kl_rate",
    "gaussian_identity_terms",
    "gaussian_lsi_decay",
    "score_error_sq",
    "young_lsi_bound",
    "fd_derivative",
    "mixture_laplacian_log",
    "ode_particles_logq",
    "marginal_logp",
    "reverse_fp",
    "GaussianDecay",
    "gaussian_decay",
    "FPDecay",
    "fp_decay",
    "YoungBound",
    "young_bound_along",
    "ParticlesVsFP",
    "particles_vs_fp",
    "score_divergence",
    "gauss_hermite_nodes",
    "grid_nodes",
    "flow_output_kl",
    "flow_kl",
    "MixtureMarginals",
    "mixture_score",
    "OdeW2Bound",
    "ode_w2_bound",
]


def _mat(v, d):
    """A scalar (times I), a diagonal or a full matrix as a ``(d, d)`` array."""
    return Covariance(v, d, _checked=True).matrix()


def affine_score(sde, data: Gaussian, t: float, score_error=None):
    """``(P~, c~, P, c)``: the (perturbed) score ``s~ = -P~ x + c~`` and the exact ``-P x + c``.

    Exact: ``P = S_t^{-1}``, ``c = P alpha m_0``; with ``(K, A, b) = score_error.affine_parts``
    ``s~ = K s + A x + b``, i.e. ``P~ = K P - A``, ``c~ = K c + b``.
    """
    d = data.dim
    al, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    S = al * al * _mat(data.cov, d) + s2 * np.eye(d)
    P = linalg.inv(S)  # d <= 2 here; symmetric positive definite
    P = 0.5 * (P + P.T)
    c = P @ (al * data.mean)
    if score_error is None:
        return P, c, P, c
    parts = score_error.affine_parts(float(t), d)
    if parts is None:
        raise ValueError("score_error is not affine; use the Fokker-Planck solver")
    K, A, b = (_mat(parts[0], d), _mat(parts[1], d), np.broadcast_to(parts[2], (d,)))
    return K @ P - A, K @ c + b, P, c


def moment_velocity(sde, data: Gaussian, q: Gaussian, t: float, gamma: float, score_error=None):
    """``(dmu, dC, dm, dS)``: d/dtau of the sampler's and the target's moments at time ``t``."""
    d = data.dim
    f, g2 = float(sde.f(t)), float(sde.g2(t))
    Pt, ct, _, _ = affine_score(sde, data, t, score_error)
    F = -f * np.eye(d) - 0.5 * (1.0 + gamma) * g2 * Pt
    C = _mat(q.cov, d)
    dmu = F @ q.mean + 0.5 * (1.0 + gamma) * g2 * ct
    dC = F @ C + C @ F.T + gamma * g2 * np.eye(d)
    al, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    S = al * al * _mat(data.cov, d) + s2 * np.eye(d)
    m = al * data.mean
    return dmu, dC, -f * m, -(2.0 * f * S + g2 * np.eye(d))


def gaussian_kl_rate(q: Gaussian, p: Gaussian, dmu, dC, dm, dS) -> float:
    """Exact ``d/dtau KL(q || p)`` given the velocities of both laws' moments (docstring)."""
    d = q.dim
    C, S = _mat(q.cov, d), _mat(p.cov, d)
    delta = q.mean - p.mean
    Sf, Cf = linalg.cho_factor(S), linalg.cho_factor(C)  # Cholesky solves, no inverses
    t1 = 0.5 * (np.trace(linalg.cho_solve(Sf, dC)) - np.trace(linalg.cho_solve(Cf, dC)))
    X = linalg.cho_solve(Sf, C + np.outer(delta, delta))  # S^{-1} (C + dd^T)
    Y = linalg.cho_solve(Sf, dS)  # S^{-1} dS
    t2 = 0.5 * (np.trace(Y) - np.trace(X @ Y))
    t3 = float(delta @ linalg.cho_solve(Sf, dmu - dm))
    return float(t1 + t2 + t3)


def gaussian_identity_terms(
    sde, data: Gaussian, q: Gaussian, t: float, gamma: float, score_error=None
):
    """``(-(gamma g2/2) I(q | p_t), E_q[delta_b . grad log(q/p_t)], I(q | p_t))``: the two
    terms of identity (E) at forward time ``t`` and the relative Fisher information."""
    d = data.dim
    g2 = float(sde.g2(t))
    p = sde.marginal(data, t)
    fisher = relative_fisher_gaussian(q, p)
    Pt, ct, P, c = affine_score(sde, data, t, score_error)
    C = _mat(q.cov, d)
    Cf = linalg.cho_factor(C)
    N = P - linalg.cho_solve(Cf, np.eye(d))  # P - C^{-1} (the precision, by Cholesky)
    v = linalg.cho_solve(Cf, q.mean) - c
    A, b = P - Pt, ct - c  # e(x) = s~ - s = (P - P~) x + (c~ - c)
    cross = float(np.trace(A @ C @ N.T) + (A @ q.mean + b) @ (N @ q.mean + v))
    return -0.5 * gamma * g2 * fisher, 0.5 * (1.0 + gamma) * g2 * cross, fisher


def gaussian_lsi_decay(sde, data: Gaussian, t, gamma: float, t0: float):
    """``exp(-int gamma g2 / Cbar)`` from ``t0`` down to ``t`` (closed form, docstring)."""
    lam = float(np.max(linalg.eigvalsh(_mat(data.cov, data.dim))))
    t = np.asarray(t, dtype=np.float64)

    def sbar2(x):
        return np.asarray(sde.sigma2(x)) / np.asarray(sde.alpha(x)) ** 2

    return ((lam + sbar2(t)) / (lam + sbar2(t0))) ** gamma


def score_error_sq(sde, data: Gaussian, q: Gaussian, t: float, score_error) -> float:
    """``E_q |e(x, t)|^2`` for an affine error ``e = A x + b`` and ``q = N(mu, C)``:
    ``tr(A C A^T) + |A mu + b|^2``."""
    Pt, ct, P, c = affine_score(sde, data, t, score_error)
    A, b = P - Pt, ct - c
    C = _mat(q.cov, data.dim)
    r = A @ q.mean + b
    return float(np.trace(A @ C @ A.T) + r @ r)


def young_lsi_bound(tau, H0: float, gamma: float, g2, cbar, e2, lam: float) -> np.ndarray:
    """Gronwall solution of ``B' = -k B + F``, ``B(0) = H0`` on the nodes ``tau`` (increasing),
    ``k = (1 - lam) gamma g2 / cbar``, ``F = (1 + gamma)^2 g2 e2 / (8 lam gamma)``:
    ``B(tau) = e^{-K(tau)} [H0 + int_0^tau e^{K(u)} F(u) du]``, ``K = int k``, both integrals
    by the trapezoid rule on the nodes (second order)."""
    if not (gamma > 0 and 0 < lam < 1):
        raise ValueError("young_lsi_bound needs gamma > 0 and 0 < lam < 1")
    tau, g2, cbar, e2 = (np.asarray(a, dtype=np.float64) for a in (tau, g2, cbar, e2))
    k = (1.0 - lam) * gamma * g2 / cbar
    K = integrate.cumulative_trapezoid(k, tau, initial=0.0)
    F = (1.0 + gamma) ** 2 * g2 * e2 / (8.0 * lam * gamma)
    J = integrate.cumulative_trapezoid(np.exp(K) * F, tau, initial=0.0)
    return np.exp(-K) * (H0 + J)


def fd_derivative(fun, x, h):
    """Five-point central difference ``(f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / (12 h)``
    (error ``O(h^4)``); ``fun`` vectorised over ``x``."""
    x = np.asarray(x, dtype=np.float64)
    return (fun(x - 2 * h) - 8 * fun(x - h) + 8 * fun(x + h) - fun(x + 2 * h)) / (12.0 * h)


# ------------------------------------------------------------ particles with exact log q
def mixture_laplacian_log(mix, x) -> np.ndarray:
    r"""``Lap log p(x)`` of a Gaussian mixture with isotropic or diagonal components.

    With ``u_k = V_k^{-1} (mu_k - x)`` and responsibilities ``pi_k``:
    ``grad^2 log p = sum_k pi_k (u_k u_k^T - V_k^{-1}) - s s^T``, ``s = sum_k pi_k u_k``, so
    ``Lap log p = sum_k pi_k (|u_k|^2 - tr V_k^{-1}) - |s|^2``.
    """
    x = np.asarray(x, dtype=np.float64)
    covs = np.asarray(mix.covs, dtype=np.float64)
    if covs.ndim == 3:
        raise ValueError("mixture_laplacian_log needs isotropic or diagonal components")
    v = covs[:, None] * np.ones((1, mix.dim)) if covs.ndim == 1 else covs  # (K, d)
    pi = mix.responsibilities(x)  # (n, K)
    u = (mix.means[None, :, :] - x[:, None, :]) / v[None, :, :]  # (n, K, d)
    s = np.einsum("nk,nkd->nd", pi, u)
    term = np.sum(u * u, axis=2) - np.sum(1.0 / v, axis=1)[None, :]
    return np.sum(pi * term, axis=1) - np.sum(s * s, axis=1)


def ode_particles_logq(sde, data, init, grid, n: int, rng, record):
    r"""Probability-flow ODE particles with their exact log-density (instantaneous change of
    variables): ``dY/dtau = b = -f Y + g2/2 grad log p_t(Y)`` and
    ``d/dtau log q_tau(Y_tau) = -div b = d f - g2/2 Lap log p_t(Y)``; classical RK4 on the
    grid (forward times, decreasing). ``data`` a mixture with isotropic/diagonal components,
    ``init`` a law with ``sample``/``log_prob``. Returns ``{index: (Y, log q)}`` for ``record``.
    """
    grid = np.asarray(grid, dtype=np.float64)
    y = init.sample(int(n), rng)
    lq = init.log_prob(y)
    rhs, _, _ = _flow_rhs(sde, data, grid, [None], y.shape[0])
    rec = set(int(i) % len(grid) for i in record)
    out = {0: (y.copy(), lq.copy())} if 0 in rec else {}
    for k in range(len(grid) - 1):
        t, h = grid[k], grid[k] - grid[k + 1]
        tm = 0.5 * (grid[k] + grid[k + 1])
        k1 = rhs(y, t)
        k2 = rhs(y + 0.5 * h * k1[0], tm)
        k3 = rhs(y + 0.5 * h * k2[0], tm)
        k4 = rhs(y + h * k3[0], grid[k + 1])
        y = y + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        lq = lq + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        if k + 1 in rec:
            out[k + 1] = (y.copy(), lq.copy())
    return out


# ---------------------------------------------------------------- trajectories and checks
def marginal_logp(sde, data):
    """``log p_t(x)`` as a function ``(x, t)``: ``data.log_prob`` at ``t <= 0`` (through
    :class:`MixtureMarginals` for mixtures with isotropic/diagonal components)."""
    covs = getattr(data, "covs", None)
    if covs is not None and np.ndim(covs) < 3:
        mm = MixtureMarginals(sde, data)
        return lambda x, t: mm.at(np.asarray(x, dtype=np.float64), t, want_lap=False)[0]

    def logp(x, t):
        return data.log_prob(x) if t <= 0 else sde.marginal(data, t).log_prob(x)

    return logp


def reverse_fp(sde, score, init, gamma, bounds, n_cells, n_steps, record=None):
    """The reverse family's density on the Fokker-Planck grid (``verify.solvers.fokker_planck``)
    from ``init`` at ``T`` down to ``t = 0`` on ``n_steps`` uniform steps, with the grid-error
    estimate; the 2-D solve uses dimension splitting."""
    from verify.solvers import grids
    from verify.solvers.fokker_planck import solve_reverse_fp

    times = grids.uniform(sde, n_steps, t_min=0.0)
    return solve_reverse_fp(
        sde,
        score,
        init.log_prob,
        times,
        gamma,
        bounds=bounds,
        n_cells=n_cells,
        log=True,
        estimate_error=True,
        record=record,
        solver="split" if len(bounds) == 2 else "direct",
    )


@dataclass
class GaussianDecay:
    """Exact-score KL dynamics along one Gaussian trajectory (see :func:`gaussian_decay`).

    ``tau``, ``H`` (``KL(q_tau || p_{T-tau})``), ``bound`` (LSI rate bound), ``rate`` (exact
    ``dH/dtau`` from the moment velocities) and ``rhs`` (``-(gamma g2/2) I``) per node;
    ``err_id`` / ``err_fd``: max relative deviation of ``rate`` / of a 5-point finite
    difference of the closed form from ``rhs`` (for ``gamma = 0``: max ``|rate|`` / ``|FD|``);
    ``const_dev`` max relative change of ``H``; ``max_rate`` max ``dH/dtau`` over the scale
    ``max |rhs|``; ``min_fisher`` min ``I(q | p)``; ``min_ratio`` / ``max_ratio`` of
    bound / ``H``.
    """

    setting: str
    gamma: float
    tau: list
    H: list
    bound: list
    rate: list
    rhs: list
    err_id: float
    err_fd: float
    const_dev: float
    max_rate: float
    min_fisher: float
    min_ratio: float
    max_ratio: float


def gaussian_decay(sde, data, init, gamma: float, n_nodes: int, setting: str = "") -> GaussianDecay:
    """Identity (E) with the exact score, its finite-difference check, and the LSI rate bound
    along the closed-form trajectory from ``sde.T`` to ``0.02 T`` (``n_nodes`` nodes)."""
    from verify.solvers.chain_laws import continuous_kl_closed_form, exact_law

    gam, T = gamma, float(sde.T)
    nodes = np.linspace(T, 0.02 * T, n_nodes)
    _, tr = exact_law(sde, data, init, nodes, gamma=gam, method=None, trajectory=True)
    H = tr.kl
    rate, rhs, fishers = [], [], []
    for k, t in enumerate(tr.t):
        q = tr.law(k)
        p = sde.marginal(data, t)
        rate.append(gaussian_kl_rate(q, p, *moment_velocity(sde, data, q, t, gam)))
        diss, _, fisher = gaussian_identity_terms(sde, data, q, t, gam)
        rhs.append(diss)
        fishers.append(fisher)
    h = 1e-3 * T
    inner = slice(1, -1)  # the FD stencil needs t +- 2h inside [0, T]

    def kl_of_t(x):
        return continuous_kl_closed_form(sde, data, init, x, gam, T_start=T)

    fd = -fd_derivative(kl_of_t, tr.t[inner], h)  # d/dtau = -d/dt
    rate, rhs = np.array(rate), np.array(rhs)
    scale = max(np.max(np.abs(rhs)), 1e-300)
    if gam > 0:
        err_id = float(np.max(np.abs(rate - rhs)) / scale)
        err_fd = float(np.max(np.abs(fd - rhs[inner])) / scale)
    else:
        err_id, err_fd = float(np.max(np.abs(rate))), float(np.max(np.abs(fd)))
    bound = H[0] * gaussian_lsi_decay(sde, data, tr.t, gam, T)
    ratio = bound / np.maximum(H, 1e-300)
    return GaussianDecay(
        setting=setting,
        gamma=gam,
        tau=(T - tr.t).tolist(),
        H=H.tolist(),
        bound=bound.tolist(),
        rate=rate.tolist(),
        rhs=rhs.tolist(),
        err_id=err_id,
        err_fd=err_fd,
        const_dev=float(np.max(np.abs(H - H[0])) / H[0]),
        # strict decrease: dH/dtau = -(gamma g2/2) I with I > 0 (q != p); where H has decayed
        # to round-off (~1e-20) the computed rate may be +1e-17, so compare relative to scale
        max_rate=float(np.max(rate) / scale),
        min_fisher=float(np.min(fishers)),
        min_ratio=float(np.min(ratio)),
        max_ratio=float(np.max(ratio)),
    )


@dataclass
class FPDecay:
    """Exact-score KL dynamics on the Fokker-Planck grid (see :func:`fp_decay`).

    ``tau``, ``H`` and its grid-error estimate ``eH`` per recorded node; ``max_resid`` the
    largest residual of the integrated identity ``H - H_0 + int (gamma g2/2) I``,
    ``max_tol`` its largest tolerance and ``max_excess = max(|resid| - tol)``;
    ``max_increase_excess`` the largest increase of ``H`` beyond its grid error (``nan`` for
    ``gamma = 0``); ``const_dev`` / ``const_tol`` the change of ``H`` for ``gamma = 0`` and its
    tolerance.
    """

    setting: str
    gamma: float
    tau: list
    H: list
    eH: list
    max_resid: float
    max_excess: float
    max_tol: float
    max_increase_excess: float
    const_dev: float
    const_tol: float
    seeds: list = field(default_factory=list)


def _running_quad_error(w, fisher, taus, integ):
    """Trapezoid on every node vs on every other node: the quadrature error estimate."""
    coarse = integrate.cumulative_trapezoid(-w[::2] * fisher[::2], taus[::2], initial=0.0)
    quad_err = np.zeros_like(integ)
    quad_err[::2] = np.abs(integ[::2] - coarse)
    quad_err[1::2] = quad_err[::2][: quad_err[1::2].size]
    return quad_err


def fp_decay(res, sde, data, gamma: float, setting: str = "") -> FPDecay:
    r"""Integrated identity ``H_tau - H_0 = -int_0^tau (gamma g2/2) I du`` on an FP solve
    ``res`` (exact score, every node recorded), with its tolerance.

    Grid errors accumulate along tau (numerical diffusion does not un-happen), while the
    fine-vs-coarse estimate can dip where the coarse grid leaves its asymptotic regime (near
    t = 0): the tolerance is twice the running maximum of the KL's grid-error estimate (the
    estimate is ~1x the fine error for gamma = 0, ~3x for gamma > 0) plus twice the
    integrated Fisher error, plus the quadrature error.
    """
    score = mixture_score(sde, data)
    H, eH = res.kl_trajectory(marginal_logp(sde, data), return_error=True)
    # Fisher information at t = 0 needs grad log p_0: fine for a mixture (smooth)
    fisher, eI = res.fisher_trajectory(lambda x, t: score(x, t), return_error=True)
    g2 = np.asarray(sde.g2(res.times), dtype=np.float64) * np.ones_like(res.times)
    w = 0.5 * gamma * g2
    integ = integrate.cumulative_trapezoid(-w * fisher, res.taus, initial=0.0)
    quad_err = _running_quad_error(w, fisher, res.taus, integ)
    resid = H - H[0] - integ
    eH_run = np.maximum.accumulate(eH)
    tol = 2.0 * (eH_run + integrate.cumulative_trapezoid(w * eI, res.taus, initial=0.0))
    tol = tol + quad_err
    dH = np.diff(H)
    incr_tol = 2.0 * (eH[1:] + eH[:-1])
    return FPDecay(
        setting=setting,
        gamma=gamma,
        tau=res.taus.tolist(),
        H=H.tolist(),
        eH=eH.tolist(),
        max_resid=float(np.max(np.abs(resid))),
        max_excess=float(np.max(np.abs(resid) - tol)),
        max_tol=float(np.max(tol)),
        max_increase_excess=float(np.max(dH - incr_tol)) if gamma > 0 else float("nan"),
        const_dev=float(np.max(np.abs(H - H[0]))),
        const_tol=float(2.0 * eH_run[-1]),
    )


@dataclass
class YoungBound:
    """The Young + LSI bound along one trajectory, best ``lambda`` (see
    :func:`young_bound_along`): final truth ``H_final``, bound ``B_final``, their ratio,
    the smallest bound/truth over all nodes and all ``lambda``, and the curves."""

    setting: str
    kind: str
    gamma: float
    lam: float
    H_final: float
    B_final: float
    ratio_final: float
    min_ratio_all: float
    tau: list
    H: list
    B: list


def young_bound_along(
    sde, data, init, score_error, gamma: float, n_nodes: int, lams, setting="", kind=""
) -> YoungBound:
    """Exact ``KL(q_tau || p_{T-tau})`` (moment ODE) for an affine score error against the
    Young + LSI bound (:func:`young_lsi_bound`) for each ``lambda`` in ``lams``; the exact
    ``E_q |e|^2`` (:func:`score_error_sq`, batched over the nodes) and
    ``C_LSI(p_t) = lambda_max(S_t)`` at every node."""
    from verify.solvers.chain_laws import exact_law

    T = float(sde.T)
    nodes = np.linspace(T, 0.0, n_nodes)
    _, tr = exact_law(
        sde, data, init, nodes, gamma=gamma, method=None, score_error=score_error, trajectory=True
    )
    e2, cbar = _error_sq_and_lsi(sde, data, tr, score_error)
    g2 = np.asarray(sde.g2(tr.t), dtype=np.float64) * np.ones_like(tr.t)
    best, min_ratio = None, np.inf
    for lam in lams:
        B = young_lsi_bound(tr.tau, tr.kl[0], gamma, g2, cbar, e2, lam)
        min_ratio = min(min_ratio, float(np.min(B[1:] / np.maximum(tr.kl[1:], 1e-300))))
        if best is None or B[-1] < best[1][-1]:
            best = (lam, B)
    lam, B = best
    return YoungBound(
        setting=setting,
        kind=kind,
        gamma=gamma,
        lam=lam,
        H_final=float(tr.kl[-1]),
        B_final=float(B[-1]),
        ratio_final=float(B[-1] / tr.kl[-1]),
        min_ratio_all=min_ratio,
        tau=tr.tau.tolist(),
        H=tr.kl.tolist(),
        B=B.tolist(),
    )


def _error_sq_and_lsi(sde, data, tr, score_error):
    """``E_q |e|^2 = tr(A C A^T) + |A mu + b|^2`` and ``lambda_max(S_t)`` at every node of an
    exact trajectory, batched (``e = (P - P~) x + (c~ - c)`` as in :func:`affine_score`)."""
    d = data.dim
    laws = tr.laws
    mu = np.array([q.mean for q in laws])
    C = np.array([_mat(q.cov, d) for q in laws])
    al = np.asarray(sde.alpha(tr.t), dtype=np.float64) * np.ones_like(tr.t)
    s2 = np.asarray(sde.sigma2(tr.t), dtype=np.float64) * np.ones_like(tr.t)
    S = al[:, None, None] ** 2 * _mat(data.cov, d)[None] + s2[:, None, None] * np.eye(d)[None]
    P = np.linalg.inv(S)
    P = 0.5 * (P + np.swapaxes(P, 1, 2))
    c = np.einsum("nij,nj->ni", P, al[:, None] * data.mean[None, :])
    A = np.empty_like(P)
    b = np.empty_like(c)
    for k, t in enumerate(tr.t):
        K, A0, b0 = score_error.affine_parts(float(t), d)
        K, A0 = _mat(K, d), _mat(A0, d)
        A[k] = P[k] - (K @ P[k] - A0)
        b[k] = K @ c[k] + np.broadcast_to(b0, (d,)) - c[k]
    r = np.einsum("nij,nj->ni", A, mu) + b
    e2 = np.einsum("nij,njk,nik->n", A, C, A) + np.sum(r * r, axis=1)
    return e2, np.linalg.eigvalsh(S)[:, -1]


@dataclass
class ParticlesVsFP:
    """Particles (rung 4) next to the Fokker-Planck density (rung 3) at recorded nodes.

    For ``gamma = 0`` the compared quantity is ``KL(q_tau || p_{T-tau})`` (ODE particles with
    their exact log-density), otherwise the cross-entropy ``E_q[-log p_{T-tau}]``: ``fp`` the FP
    value, ``fp_err`` twice the running maximum of its grid-error estimate, ``mc`` / ``lo`` /
    ``hi`` the particle mean and CI at ``level``; ``fp_kl`` the FP ``KL(q_tau || p_{T-tau})``;
    ``final`` (at most 2000) output particles.
    """

    gamma: float
    tau: list
    fp: list
    fp_err: list
    fp_kl: list
    mc: list
    lo: list
    hi: list
    z: float
    final: list


def _fp_cross_entropy(res, logp):
    """``E_q[-log p_t]`` on the grid at every recorded time of the FP solve ``res``."""
    dv = res.grid.cell_volume
    pts = res.grid.points()
    return np.array(
        [
            -np.sum(q.ravel() * logp(pts, t)) * dv
            for q, t in zip(res.densities, res.times, strict=True)
        ]
    )


def particles_vs_fp(
    sde, data, init, gamma, res, *, n_fp, mult, n, n_rec, level, rng, score=None
) -> ParticlesVsFP:
    """Particles against an FP solve ``res`` of the reverse family (:func:`reverse_fp` on
    ``n_fp`` uniform steps, recording at least the ``n_rec`` evenly spaced nodes compared).

    ``score`` is the score both use (default: the exact mixture score); the particles use a
    grid ``mult`` times finer (RK4 with exact log q for ``gamma = 0``, exact score only;
    Euler-Maruyama otherwise), ``n`` of them from ``init``, CIs at ``level``.
    """
    from scipy import stats

    from verify.estimators import mean_ci
    from verify.solvers import grids
    from verify.solvers.particles import reverse_sample

    logp = marginal_logp(sde, data)
    fp_idx = list(np.linspace(0, n_fp, n_rec).astype(int))
    pos = [int(np.flatnonzero(res.indices == i)[0]) for i in fp_idx]
    part_grid = grids.uniform(sde, n_fp * mult, t_min=0.0)
    part_idx = [i * mult for i in fp_idx]
    z = float(stats.norm.ppf(0.5 + level / 2))
    if gamma == 0:
        if score is not None:
            raise ValueError("gamma = 0 particles carry exact log q for the exact score only")
        fp_val, fp_err = res.kl_trajectory(logp, return_error=True)
        traj = ode_particles_logq(sde, data, init, part_grid, n, rng, part_idx)
        ests = [mean_ci(traj[i][1] - logp(traj[i][0], part_grid[i]), level) for i in part_idx]
        final = traj[part_idx[-1]][0]
    else:
        fp_val = _fp_cross_entropy(res, logp)
        fp_err = res.error_estimate(lambda r: _fp_cross_entropy(r, logp))
        x_T = init.sample(n, rng)
        out = reverse_sample(
            sde,
            mixture_score(sde, data) if score is None else score,
            x_T,
            part_grid,
            gamma=gamma,
            method="euler",
            rng=rng,
            return_trajectory=part_idx,
        )
        ests = [mean_ci(-logp(out.trajectory[i], part_grid[i]), level) for i in part_idx]
        final = out.final
    fp_val, fp_err = np.asarray(fp_val)[pos], np.asarray(fp_err)[pos]
    fp_kl = res.kl_trajectory(logp)[pos]
    fp_err_run = np.maximum.accumulate(fp_err)
    return ParticlesVsFP(
        gamma=gamma,
        tau=res.taus[pos].tolist(),
        fp=fp_val.tolist(),
        fp_err=(2.0 * fp_err_run).tolist(),
        fp_kl=fp_kl.tolist(),
        mc=[e.value for e in ests],
        lo=[e.lo for e in ests],
        hi=[e.hi for e in ests],
        z=z,
        final=final[:2000].tolist(),
    )


# ------------------------------------------------- probability-flow ODE along characteristics
def score_divergence(score_error, p, x, t) -> np.ndarray:
    r"""``div s~(x, t)`` for the score ``s~`` of ``score_error`` around the exact score of the
    marginal mixture ``p = p_t``: ``Lap log p + div e`` with ``div e = 0`` (``Offset``),
    ``(k - 1) Lap log p`` (``Scale`` with a scalar ``k``), ``tr A`` (``Affine``) or
    ``-amplitude sum_j (w_j . a_j) sin(w_j . x + phi_j)`` (``FourierField``); ``score_error``
    ``None`` is the exact score."""
    from verify.errors import Affine, FourierField, Offset, Scale

    lap = mixture_laplacian_log(p, x)
    if score_error is None or type(score_error) is Offset:
        return lap
    if type(score_error) is Scale:
        k = score_error.k(t) if callable(score_error.k) else score_error.k
        if np.ndim(k) != 0:
            raise ValueError("score_divergence needs a scalar Scale factor k")
        return float(k) * lap
    if type(score_error) is Affine:
        A = score_error.A(t) if callable(score_error.A) else score_error.A
        return lap + (float(A) * x.shape[1] if np.ndim(A) == 0 else float(np.trace(A)))
    if type(score_error) is FourierField:
        W, phi, a = score_error.features(x.shape[1])
        amp = score_error.amplitude
        amp = float(amp(t) if callable(amp) else amp)
        return lap - amp * (np.sin(x @ W.T + phi) @ np.sum(W * a, axis=1))
    raise ValueError(f"score_divergence does not know {type(score_error).__name__}")


def gauss_hermite_nodes(init, n: int):
    """Nodes ``(m, d)`` and weights ``(m,)`` of a tensor Gauss-Hermite rule for ``E_init[F]``,
    ``init`` a ``Gaussian`` or a mixture with diagonal or isotropic components (``n`` nodes per
    axis and component)."""
    from analytic import Gaussian as _G

    x1, w1 = np.polynomial.hermite_e.hermegauss(int(n))  # weight e^{-x^2/2}
    w1 = w1 / np.sqrt(2.0 * np.pi)
    if isinstance(init, _G):
        comps, weights = [init], [1.0]
    else:
        comps = [init.component(k) for k in range(init.n_components)]
        weights = list(init.weights)
    d = comps[0].dim
    grid = np.stack(np.meshgrid(*([x1] * d), indexing="ij"), -1).reshape(-1, d)
    wgrid = np.prod(np.stack(np.meshgrid(*([w1] * d), indexing="ij"), -1).reshape(-1, d), axis=1)
    xs, ws = [], []
    for c, wk in zip(comps, weights, strict=True):
        cov = c.covariance
        if cov.kind not in ("iso", "diag"):
            raise ValueError("gauss_hermite_nodes needs diagonal or isotropic components")
        xs.append(c.mean + grid * np.sqrt(cov.diagonal()))
        ws.append(wk * wgrid)
    return np.concatenate(xs), np.concatenate(ws)


class MixtureMarginals:
    r"""Fast ``log p_t``, ``grad log p_t`` and ``Lap log p_t`` of the forward marginals of a
    Gaussian mixture with isotropic or diagonal components (docs/theory.md: the marginal is
    the mixture with means ``alpha mu_k`` and variances ``alpha^2 v_k + sigma2``).

    With ``u_k = (m_k - x) / V_k`` and responsibilities ``pi_k``: ``grad log p = sum pi_k u_k``
    and ``Lap log p = sum_k pi_k (|u_k|^2 - tr V_k^{-1}) - |grad log p|^2`` (as in
    :func:`mixture_laplacian_log`), evaluated without building mixture objects.
    """

    def __init__(self, sde, data):
        covs = np.asarray(data.covs, dtype=np.float64)
        if covs.ndim == 3:
            raise ValueError("MixtureMarginals needs isotropic or diagonal components")
        self.sde = sde
        self.d = data.dim
        self.logw = np.log(np.asarray(data.weights, dtype=np.float64))
        self.mu = np.asarray(data.means, dtype=np.float64)
        self.v = covs[:, None] * np.ones((1, self.d)) if covs.ndim == 1 else covs

    def at(self, x, t, want_lap: bool = True, *, coeffs=None):
        """``(log p_t(x), grad log p_t(x), Lap log p_t(x))`` (``Lap`` is ``None`` unless
        ``want_lap``); ``coeffs = (alpha(t), sigma2(t))`` if already known."""
        if coeffs is None:
            t = float(t)
            coeffs = (float(self.sde.alpha(t)), float(self.sde.sigma2(t))) if t > 0 else (1, 0)
        al, s2 = coeffs
        m = al * self.mu  # (K, d)
        V = al * al * self.v + s2  # (K, d)
        iV = 1.0 / V
        # |x - m_k|^2_{V_k^{-1}} = x.x/V - 2 x.m/V + m.m/V, as matrix products (n, K)
        xx = (x * x) @ iV.T
        xm = x @ (m * iV).T
        mm = np.sum(m * m * iV, axis=1)
        logn = (self.logw - 0.5 * np.sum(np.log(2.0 * np.pi * V), axis=1) - 0.5 * mm)[None, :]
        logn = logn - 0.5 * xx + xm
        top = logn.max(axis=1, keepdims=True)
        e = np.exp(logn - top)
        tot = e.sum(axis=1, keepdims=True)
        pi = e / tot
        logp = (top + np.log(tot))[:, 0]
        # grad log p = sum_k pi_k (m_k - x) / V_k
        score = pi @ (m * iV) - x * (pi @ iV)
        lap = None
        if want_lap:
            # |u_k|^2 = sum_d (m_kd - x_d)^2 / V_kd^2
            uu = (x * x) @ (iV * iV).T - 2.0 * x @ (m * iV * iV).T + np.sum(m * m * iV * iV, 1)
            term = uu - np.sum(iV, axis=1)[None, :]
            lap = np.sum(pi * term, axis=1) - np.sum(score * score, axis=1)
        return logp, score, lap


def mixture_score(sde, data):
    """The exact score ``grad log p_t(x)`` of a mixture's forward marginals as a callable
    ``(x, t)`` (:class:`MixtureMarginals`; the same values as ``sde.score(data)`` to
    round-off, without building mixture objects)."""
    mm = MixtureMarginals(sde, data)
    return lambda x, t: mm.at(np.asarray(x, dtype=np.float64), t, want_lap=False)[1]


def _approx_score_and_div(err, x, t, score, lap):
    """``(s~, div s~)`` from the exact ``score`` and ``lap`` at ``x``: affine errors through
    their parts, a ``FourierField`` through :func:`score_divergence`'s formula."""
    from verify.errors import FourierField

    if err is None:
        return score, lap
    parts = err.affine_parts(t, x.shape[1])
    if parts is not None:
        K, A, b = parts
        if np.ndim(K) != 0 or np.ndim(A) != 0:
            raise ValueError("flow_kl needs scalar K and A in the error's affine parts")
        return float(K) * score + float(A) * x + b, float(K) * lap + float(A) * x.shape[1]
    if type(err) is FourierField:
        W, phi, a = err.features(x.shape[1])
        amp = float(err.amplitude(t) if callable(err.amplitude) else err.amplitude)
        arg = x @ W.T + phi
        return score + amp * (np.cos(arg) @ a), lap - amp * (np.sin(arg) @ np.sum(W * a, 1))
    raise ValueError(f"flow_kl does not know the divergence of {type(err).__name__}")


def grid_nodes(init, bounds, n: int):
    """Midpoint-rule nodes ``(m, d)`` and weights ``init(x) dV`` on a uniform grid of ``n``
    points per axis of ``bounds`` (for ``E_init[F]`` with ``F`` not smooth enough for
    Gauss-Hermite, e.g. across the separatrix of a multimodal flow)."""
    axes = []
    for lo, hi in bounds:
        h = (hi - lo) / n
        axes.append(lo + h * (np.arange(n) + 0.5))
    x = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(bounds))
    dv = float(np.prod([(hi - lo) / n for lo, hi in bounds]))
    return x, np.exp(init.log_prob(x)) * dv


def flow_kl(sde, data, init, grid, score_error=None, *, n_nodes: int = 40, record=None, nodes=None):
    r"""``KL(q_tau || p_{T-tau})`` of the probability-flow ODE (``gamma = 0``) along exact
    characteristics, at the grid indices ``record`` (default: the last).

    ``dY/dtau = -f Y + g2/2 s~(Y, t)`` and ``d/dtau log q_tau(Y_tau) = d f - g2/2 div s~``
    (instantaneous change of variables) from Gauss-Hermite nodes of ``init`` (a mixture or
    Gaussian with diagonal components), classical RK4 on ``grid`` (forward times, decreasing);
    ``KL = sum_i w_i (log q(Y_i) - log p(Y_i))``. ``data`` a mixture with isotropic/diagonal
    components; ``score_error`` ``None``, an error with scalar affine parts (``Offset``,
    ``Scale``, ``Affine``) or a ``FourierField``, or a list of them (then the result has one
    row per error, all integrated together). ``nodes=(x, w)`` replaces the Gauss-Hermite rule
    (e.g. :func:`grid_nodes`). Deterministic.
    """
    many = isinstance(score_error, list | tuple)
    errors = list(score_error) if many else [score_error]
    grid = np.asarray(grid, dtype=np.float64)
    y0, w = gauss_hermite_nodes(init, n_nodes) if nodes is None else nodes
    m = y0.shape[0]
    y = np.concatenate([y0] * len(errors))
    lq = np.concatenate([init.log_prob(y0)] * len(errors))
    mm = MixtureMarginals(sde, data)
    d = data.dim
    # every time the scheme visits (nodes and midpoints), coefficients in one vectorised call
    ts = np.unique(np.concatenate([grid, 0.5 * (grid[:-1] + grid[1:])]))
    cols = [
        np.broadcast_to(np.asarray(fn(ts), dtype=np.float64), ts.shape)
        for fn in (sde.f, sde.g2, sde.alpha, sde.sigma2)
    ]
    tab = {float(t): tuple(float(c[i]) for c in cols) for i, t in enumerate(ts)}

    def rhs(y, t):
        f, g2, al, s2 = tab[float(t)]
        _, score, lap = mm.at(y, t, coeffs=(al, s2))
        s, div = np.empty_like(score), np.empty_like(lap)
        for j, err in enumerate(errors):
            blk = slice(j * m, (j + 1) * m)
            s[blk], div[blk] = _approx_score_and_div(err, y[blk], t, score[blk], lap[blk])
        return -f * y + 0.5 * g2 * s, d * f - 0.5 * g2 * div

    def kl_now(y, lq, t):
        logp = mm.at(y, t, want_lap=False, coeffs=tab[float(t)][2:])[0]
        return (lq - logp).reshape(len(errors), m) @ w

    rec = sorted({int(i) % len(grid) for i in ([-1] if record is None else record)})
    out = [kl_now(y, lq, grid[0])] if 0 in rec else []
    for k in range(len(grid) - 1):
        t, h = grid[k], grid[k] - grid[k + 1]
        k1 = rhs(y, t)
        tm = 0.5 * (grid[k] + grid[k + 1])
        k2 = rhs(y + 0.5 * h * k1[0], tm)
        k3 = rhs(y + 0.5 * h * k2[0], tm)
        k4 = rhs(y + h * k3[0], grid[k + 1])
        y = y + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        lq = lq + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        if k + 1 in rec:
            out.append(kl_now(y, lq, grid[k + 1]))
    out = np.array(out)  # (n_rec, n_errors)
    return out.T if many else out[:, 0]


def _flow_rhs(sde, data, grid, errors, m):
    """The probability-flow ODE right-hand side for stacked blocks of ``m`` points, one per
    error, with the coefficients of every time the RK4 scheme visits tabulated at once."""
    mm = MixtureMarginals(sde, data)
    d = data.dim
    ts = np.unique(np.concatenate([grid, 0.5 * (grid[:-1] + grid[1:])]))
    cols = [
        np.broadcast_to(np.asarray(fn(ts), dtype=np.float64), ts.shape)
        for fn in (sde.f, sde.g2, sde.alpha, sde.sigma2)
    ]
    tab = {float(t): tuple(float(c[i]) for c in cols) for i, t in enumerate(ts)}

    def rhs(y, t):
        f, g2, al, s2 = tab[float(t)]
        _, score, lap = mm.at(y, t, coeffs=(al, s2))
        s, div = np.empty_like(score), np.empty_like(lap)
        for j, err in enumerate(errors):
            blk = slice(j * m, (j + 1) * m)
            s[blk], div[blk] = _approx_score_and_div(err, y[blk], t, score[blk], lap[blk])
        return -f * y + 0.5 * g2 * s, d * f - 0.5 * g2 * div

    return rhs, mm, tab


def flow_output_kl(sde, data, init, grid, score_error, *, bounds, n: int):
    r"""``(KL(q_out || p_0), mass)`` of the probability-flow ODE's output, by quadrature in the
    output variable: from a uniform midpoint grid ``y`` (``n`` points per axis of ``bounds``)
    at ``t = grid[-1]`` the characteristics are integrated backwards (RK4) to ``t = grid[0]``,
    giving ``log q_out(y) = log init(X) + int (d f - g2/2 div s~) dtau`` along the path. Smooth
    in ``y`` (unlike the start-variable quadrature of :func:`flow_kl` across a multimodal
    flow's separatrix); ``mass = sum q_out dV`` (should be 1) measures the quadrature error.
    ``score_error`` one error or a list (then arrays, one entry per error).
    """
    many = isinstance(score_error, list | tuple)
    errors = list(score_error) if many else [score_error]
    grid = np.asarray(grid, dtype=np.float64)
    y0, _ = grid_nodes(init, bounds, n)
    dv = float(np.prod([(hi - lo) / n for lo, hi in bounds]))  # the cell volume
    m = y0.shape[0]
    rhs, mm, tab = _flow_rhs(sde, data, grid, errors, m)
    y = np.concatenate([y0] * len(errors))
    acc = np.zeros(y.shape[0])
    back = grid[::-1]  # forward times increasing: the backward characteristic
    for k in range(len(back) - 1):
        t, h = back[k], back[k + 1] - back[k]  # dY/dt = -b: the sign flips, dA/dt = +rate
        tm = 0.5 * (back[k] + back[k + 1])
        k1 = rhs(y, t)
        k2 = rhs(y - 0.5 * h * k1[0], tm)
        k3 = rhs(y - 0.5 * h * k2[0], tm)
        k4 = rhs(y - h * k3[0], back[k + 1])
        y = y - h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        acc = acc + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    lq = (init.log_prob(y) + acc).reshape(len(errors), m)
    lp = mm.at(y0, grid[-1], want_lap=False, coeffs=tab[float(grid[-1])][2:])[0]
    q = np.exp(lq)
    mass = q.sum(axis=1) * dv
    klv = np.sum(q * (lq - lp[None, :]), axis=1) * dv
    return (klv, mass) if many else (float(klv[0]), float(mass[0]))


# ------------------------------------------------------ probability-flow ODE: W2 Gronwall bound
@dataclass
class OdeW2Bound:
    """The synchronous-coupling bound on ``W2(q_tau, p_{T-tau})`` for the probability-flow ODE
    (see :func:`ode_w2_bound`): ``tau``, exact ``W2``, the bound ``B``, the one-sided Lipschitz
    constant ``Lam`` and ``sqrt(E_q |e|^2)`` per node, and the ratios."""

    setting: str
    kind: str
    tau: list
    W2: list
    B: list
    Lam: list
    e_rms: list
    min_ratio: float
    max_ratio: float
    final_ratio: float


def ode_w2_bound(sde, data, score_error, n_nodes: int, setting="", kind="") -> OdeW2Bound:
    r"""``W2(q_tau, p_{T-tau}) <= B_tau`` for the ODE (``gamma = 0``) started at ``p_T`` with an
    affine score error, Gaussian data with a diagonal covariance (rung 2).

    Synchronous coupling ``D = Y~ - Y`` of the approximate and the exact flow from the same
    start: ``dD/dtau = b(Y~) - b(Y) + g2/2 e(Y~)`` with ``b = -f y + g2/2 grad log p_t``; the
    exact drift has the one-sided Lipschitz constant ``Lam(t) = -f - g2 / (2 lam_max(S_t))``, so
    ``d ||D||_2 / dtau <= Lam ||D||_2 + g2/2 sqrt(E_q |e|^2)`` and (Gronwall)
    ``W2 <= B_tau = int_0^tau exp(int_u^tau Lam) g2(u)/2 sqrt(E_q|e|^2)(u) du`` (trapezoid on
    the nodes). Exact ``W2^2 = sum_i (mu_i - m_i)^2 + (sqrt(v_i) - sqrt(S_i))^2``; ``E_q|e|^2 =
    sum_i (A_i mu_i + b_i)^2 + A_i^2 v_i`` for ``e = A x + b`` per direction.
    """
    from verify.solvers.chain_laws import exact_law

    cov = data.covariance
    if cov.kind not in ("iso", "diag"):
        raise ValueError("ode_w2_bound needs data with a diagonal covariance")
    lam0, m0 = cov.diagonal() * np.ones(data.dim), np.asarray(data.mean, dtype=np.float64)
    T = float(sde.T)
    nodes = np.linspace(T, 0.0, n_nodes)
    init = sde.marginal(data, T)
    _, tr = exact_law(
        sde, data, init, nodes, gamma=0.0, method=None, score_error=score_error, trajectory=True
    )
    laws = tr.laws
    mu = np.array([q.mean for q in laws])
    v = np.array([np.diag(np.atleast_2d(q.cov)) for q in laws])
    al = np.asarray(sde.alpha(tr.t), dtype=np.float64)[:, None] * np.ones((1, data.dim))
    S = al**2 * lam0 + np.asarray(sde.sigma2(tr.t), dtype=np.float64)[:, None]
    m = al * m0
    W2 = np.sqrt(np.sum((mu - m) ** 2 + (np.sqrt(v) - np.sqrt(S)) ** 2, axis=1))
    K, A0, b0 = (np.asarray(p, dtype=np.float64) for p in score_error.affine_parts(0.0, data.dim))
    if K.ndim or A0.ndim:
        raise ValueError("ode_w2_bound needs scalar K and A in the error's affine parts")
    P, c = 1.0 / S, m / S
    A, b = (1.0 - K) * P - A0, (K - 1.0) * c + b0  # e = s~ - s = (P - P~) x + (c~ - c)
    e_rms = np.sqrt(np.sum((A * mu + b) ** 2 + A**2 * v, axis=1))
    f = np.asarray(sde.f(tr.t), dtype=np.float64) * np.ones_like(tr.t)
    g2 = np.asarray(sde.g2(tr.t), dtype=np.float64) * np.ones_like(tr.t)
    Lam = -f - 0.5 * g2 / np.max(S, axis=1)
    L = integrate.cumulative_trapezoid(Lam, tr.tau, initial=0.0)
    B = np.exp(L) * integrate.cumulative_trapezoid(
        np.exp(-L) * 0.5 * g2 * e_rms, tr.tau, initial=0.0
    )
    ratio = B[1:] / np.maximum(W2[1:], 1e-300)
    return OdeW2Bound(
        setting=setting,
        kind=kind,
        tau=tr.tau.tolist(),
        W2=W2.tolist(),
        B=B.tolist(),
        Lam=Lam.tolist(),
        e_rms=e_rms.tolist(),
        min_ratio=float(np.min(ratio)),
        max_ratio=float(np.max(ratio)),
        final_ratio=float(ratio[-1]),
    )
