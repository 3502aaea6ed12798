r"""Exact law of a sampler for Gaussian data and affine score errors (rung 2).

The mathematics: docs/theory.md, "Exact chain laws".

Setting. Forward SDE ``dX = f(t) X dt + g(t) dW`` with ``X_t | X_0 ~ N(alpha X_0, sigma2 I)``
and data ``p_0 = N(m_0, Sigma)``, so ``p_t = N(alpha m_0, S_t)``, ``S_t = alpha^2 Sigma +
sigma2 I`` and the exact score is affine (docs/analytic.md, "Gaussian mixtures", K = 1):

    s(x, t) = S_t^{-1} (alpha m_0 - x) = -P_t x + c_t,   P_t = S_t^{-1},  c_t = P_t alpha m_0.

A score error from ``verify.errors`` with ``affine_parts(t, d) -> (K, A, b)`` means
``s~ = K s + A x + b``, i.e. ``P~ = K P - A`` and ``c~ = K c + b``: still affine.

Discrete time. Grid ``t_0 = T_start > ... > t_N = t_min``; a step goes from ``t = t_k`` to
``s = t_{k+1}``, ``h = t - s``, ``g = gamma(t)``. Every method maps ``y`` to
``y' = M y + u + noise`` with noise covariance ``Q``, so the law stays Gaussian and

    m' = M m + u,        C' = M C M^T + Q        (the exact moment recursion).

The coefficients come from the method records of ``verify.solvers.methods`` (the same
records the particle sampler applies). With the affine score ``d(y) = -P y + c``:

* affine methods (``euler``, ``exponential``, ``ddpm``, ``ancestral``), one step
  ``y' = A y + B s(y, t) + C xi``:  M = A I - B P_t,  u = B c_t,  Q = C^2 I.
* ``heun`` (gamma = 0): with ``D_r = -f(r) I - g2(r)/2 P_r``, ``e_r = g2(r)/2 c_r``:
  M = I + h/2 (D_t + D_s) + h^2/2 D_s D_t,  u = h/2 (e_t + e_s + h D_s e_t),  Q = 0.
* ``pc``: the predictor's map, then ``n_corrector`` Langevin maps at ``s`` with
  ``eps = 2 snr^2 sigma2(s)``: M_c = I - eps P_s, u_c = eps c_s, Q_c = 2 eps I.

Continuous time (``method=None``, grid ``(T_start, t_min)``). In ``tau = T_start - t`` the
moments solve ``m' = F m + u``, ``C' = F C + C F^T + gamma g2 I`` with
``F = -f I - (1+gamma)/2 g2 P~_t`` and ``u = (1+gamma)/2 g2 c~_t``. For the exact score and a
constant gamma this has a closed form, the per-eigendirection matrix version of (G)
(docs/theory.md): with ``lambda_i`` the eigenvalues of ``Sigma``, ``sbar2 = sigma2/alpha^2`` and

    e^{-Gamma_i(t)} = ((lambda_i + sbar2(t)) / (lambda_i + sbar2(T_start)))^gamma

(because ``g2/S = d/dt log(S/alpha^2)``), the deviations ``e = m - m_t`` and ``D = C - S_t``
in the eigenbasis obey ``e_i(t) = e_i(T_start) sqrt(S_i(t)/S_i(T_start)) e^{-Gamma_i/2}`` and
``D_ij(t) = D_ij(T_start) sqrt(S_i S_j (t) / S_i S_j (T_start)) e^{-(Gamma_i + Gamma_j)/2}``;
in 1-D that is exactly ``r - 1 = (r_0 - 1) e^{-Gamma}``, ``q = q_0 e^{-Gamma}``. Otherwise
the moment ODE is integrated with ``solve_ivp`` (DOP853, rtol 1e-11). ``ExactLaw.solver``
records ``"recursion"``, ``"closed form"`` or ``"ode"``.

Cost. The process is isotropic, so ``P_t`` is diagonal in the eigenbasis of ``Sigma``
(``eigh`` once; no rotation at all for isotropic/diagonal ``Sigma``). If the error's ``K``
and ``A`` are scalars or diagonal in that basis, every map is diagonal and the recursion is
carried per eigendirection in vectorised arrays, with ``C_k = L_k C_0 L_k + diag(q_k)``
(``L_{k+1} = M_k L_k``, ``q_{k+1} = M_k^2 q_k + Q_k``): O(d) per step. Otherwise the full
``d x d`` recursion is used (``ExactLaw.path`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import integrate

from analytic import Gaussian, kl
from analytic.divergence import h_u_minus_log1p
from analytic.spectral import DenseBasis, SpectralCovariance

from .grids import validate as validate_grid
from .methods import METHODS, AffineSteps, HeunSteps, PCSteps, get_method, pc_options, step_tables
from .reverse import ReverseFamily

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from analytic.sde import FloatOrArray, LinearSDE

    from .methods import StepTables
    from .types import Gamma, ScoreError

__all__ = [
    "METHODS",
    "ExactLaw",
    "ExactTrajectory",
    "exact_law",
    "kl_trajectory",
    "continuous_kl_closed_form",
    "step_maps",
    "exponential_integrals",
    "ve_ancestral_shortfall",
]

_NOT_AFFINE = "not affine-Gaussian; use particles or the Fokker-Planck solver"
_DIAG_RTOL = 1e-10  # off-diagonal / max entry below which a rotated matrix counts as diagonal
_N_CONT_NODES = 101  # nodes reported by a continuous-time trajectory given as (T, t_min)


# ----------------------------------------------------------------------------- results
class ExactLaw(Gaussian):
    """The output law of a sampler: a ``Gaussian`` with provenance.

    Attributes
    ----------
    solver : ``"recursion"`` (discrete chain), ``"closed form"`` or ``"ode"`` (continuous time).
    path : ``"eigenbasis"`` (O(d) per step) or ``"full"`` (d x d recursion).
    rung : rung of the exactness ladder (1 closed form, 2 recursion / moment ODE).
    method : the sampler method (``None`` for continuous time).
    """

    def __init__(
        self, mean: np.ndarray, cov: np.ndarray, *, solver: str, path: str, method: str | None
    ) -> None:
        super().__init__(mean, cov)
        self.solver = solver
        self.path = path
        self.method = method
        self.rung = 1 if solver == "closed form" else 2

    def __repr__(self) -> str:
        return f"ExactLaw({self.method}, {self.solver}, {self.path}; {super().__repr__()})"


class _SpectralExactLaw(ExactLaw):
    """An ``ExactLaw`` in spectral form whose mean is held in the eigenbasis and rotated back
    to the original coordinates only when asked for (the rotation is the one O(d^2) step of
    a dense basis; KL and W2 against laws in the same basis never need it)."""

    def __init__(self, coef, cov, *, solver: str, path: str, method):
        self._coef = np.asarray(coef, dtype=np.float64)
        self._cov = cov
        self._mean_cache = None
        self.solver, self.path, self.method = solver, path, method
        self.rung = 1 if solver == "closed form" else 2

    @property
    def _mean(self):
        if self._mean_cache is None:
            self._mean_cache = self._cov.basis.from_eigen(self._coef[None])[0]
        return self._mean_cache

    @property
    def dim(self) -> int:
        return self._cov.dim


@dataclass
class ExactTrajectory:
    """Laws at every node of the grid and ``kl(law_k, p_{t_k})`` (direction: chain || exact).

    ``t`` are forward times (``t[0] = T_start``), ``tau = t[0] - t``. ``law(k)`` builds the
    ``Gaussian`` at node ``k`` (in the original coordinates); ``laws`` builds all of them.
    """

    t: np.ndarray
    kl: np.ndarray
    solver: str
    path: str
    _build: object = field(repr=False)

    @property
    def tau(self) -> np.ndarray:
        return self.t[0] - self.t

    def law(self, k: int) -> Gaussian:
        return self._build(int(k))

    @property
    def laws(self) -> list[Gaussian]:
        return [self._build(k) for k in range(len(self.t))]

    def __len__(self) -> int:
        return len(self.t)


# ---------------------------------------------------------------------------- validation
def _check_gaussian(p, name: str) -> Gaussian:
    if not isinstance(p, Gaussian):
        raise ValueError(f"{name} is {type(p).__name__}: {_NOT_AFFINE}")
    return p


def _check_grid(grid, sde) -> np.ndarray:
    g = validate_grid(grid, sde).copy()
    g[0] = min(g[0], sde.T)
    return g


def _gamma_values(gamma, t) -> np.ndarray:
    """``gamma`` (a number or a callable of forward time) at the times ``t``; validated."""
    return ReverseFamily(None, None, gamma).gamma_at(np.atleast_1d(np.asarray(t, dtype=float)))


def exponential_integrals(
    sde: LinearSDE, s: ArrayLike, t: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray]:
    """``(I1, I2)`` of the exponential step from ``t`` down to ``s``: ``sde.exponential_integrals``.

    Kept for the 0.1 API; the SDE owns its integrals.
    """
    return sde.exponential_integrals(s, t)


# ------------------------------------------------------------------- linear algebra modes
class _Diag:
    """Matrices diagonal in the working basis, stored as their diagonals (any leading shape)."""

    eye = 1.0

    @staticmethod
    def mul(X, Y):
        return X * Y

    @staticmethod
    def apply(X, v):
        return X * v

    @staticmethod
    def sandwich(M, Q):
        return M * M * Q


class _Full:
    """Dense ``(d, d)`` matrices."""

    def __init__(self, d: int):
        self.eye = np.eye(d)

    @staticmethod
    def mul(X, Y):
        return X @ Y

    @staticmethod
    def apply(X, v):
        return X @ v

    @staticmethod
    def sandwich(M, Q):
        return M @ Q @ M.T


def _index(steps, idx):
    """The coefficient tables at step(s) ``idx`` (an int, or ``(slice, None)`` for columns)."""
    if isinstance(steps, PCSteps):
        return PCSteps(
            _index(steps.predictor, idx),
            steps.predictor_name,
            np.asarray(steps.eps)[idx],
            np.asarray(steps.active)[idx],
            steps.n_corrector,
        )
    cls = type(steps)
    names = ("A", "B", "C") if cls is AffineSteps else ("f_t", "hg_t", "f_s", "hg_s", "h")
    return cls(*(np.asarray(getattr(steps, n))[idx] for n in names))


def step_maps(
    steps: StepTables,
    ops: object,
    Pt: np.ndarray,
    ct: np.ndarray,
    Ps: np.ndarray | None = None,
    cs: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(M, u, Q)`` of one step (module docstring) from the method's coefficient tables.

    ``steps`` are the tables of ``verify.solvers.methods`` at one step (scalars) or as
    columns; ``ops`` the matrix algebra (diagonals or dense); ``(Pt, ct)``/``(Ps, cs)`` the
    affine score ``s(x) = -P x + c`` at ``t``/``s``.
    """
    eye = ops.eye
    if isinstance(steps, AffineSteps):
        return steps.A * eye - steps.B * Pt, steps.B * ct, (steps.C * steps.C) * eye
    if isinstance(steps, HeunSteps):
        h = steps.h
        Dt = -steps.f_t * eye - steps.hg_t * Pt
        Ds = -steps.f_s * eye - steps.hg_s * Ps
        et, es = steps.hg_t * ct, steps.hg_s * cs
        M = eye + 0.5 * h * (Dt + Ds) + 0.5 * h * h * ops.mul(Ds, Dt)
        u = 0.5 * h * (et + es + h * ops.apply(Ds, et))
        return M, u, 0.0 * eye
    M, u, Q = step_maps(steps.predictor, ops, Pt, ct, Ps, cs)
    eps = np.where(steps.active, steps.eps, 0.0)
    # an inactive corrector (eps = 0: sigma2(s) = 0) is the identity map
    Pc = np.where(steps.active, Ps, 0.0) if np.ndim(eps) else (Ps if eps > 0 else 0.0 * Ps)
    cc = np.where(steps.active, cs, 0.0) if np.ndim(eps) else (cs if eps > 0 else 0.0 * cs)
    eps = eps if np.ndim(eps) else float(eps)
    Mc, uc, Qc = eye - eps * Pc, eps * cc, (2.0 * eps) * eye
    for _ in range(steps.n_corrector):
        M, u, Q = ops.mul(Mc, M), ops.apply(Mc, u) + uc, ops.sandwich(Mc, Q) + Qc
    return M, u, Q


# ----------------------------------------------------------------------- the problem
class _Problem:
    """Data eigenbasis, rotated init, score (with error) in the working basis."""

    def __init__(self, sde, data, init, score_error):
        self.sde = sde
        self.data = data
        self.d = d = data.dim
        if init.dim != d:
            raise ValueError(f"init has dimension {init.dim} but data has dimension {d}")
        cov = data.covariance
        icov = init.covariance
        self.spectral = cov.kind == "spectral"
        if cov.kind in ("iso", "diag"):
            self.basis = None
            self.lam = cov.diagonal()
        elif self.spectral:  # already in spectral form: no eigh, O(d) per step
            self.basis = cov.basis
            self.lam = np.maximum(cov.eigenvalues, 0.0)
        else:
            lam, U = np.linalg.eigh(cov.value)
            self.lam, self.basis = np.maximum(lam, 0.0), DenseBasis(U, check=False)
        self.m0 = data.mean_coefficients if self.spectral else self.rot(data.mean)
        same = icov.kind == "spectral" and self.spectral and icov.basis == self.basis
        self.mu0 = init.mean_coefficients if same else self.rot(init.mean)
        if icov.kind == "iso" or (self.basis is None and icov.kind == "diag"):
            self.C0 = icov.diagonal()  # an isotropic covariance is diagonal in every basis
        elif same:
            self.C0 = icov.eigenvalues.copy()
        else:
            C0 = self.rot_mat(icov.matrix())
            self.C0 = np.diag(C0).copy() if _is_diag(C0) else 0.5 * (C0 + C0.T)
        self.init = init
        self.error = score_error
        if score_error is not None and not hasattr(score_error, "affine_parts"):
            raise ValueError(f"score_error has no affine_parts(t, dim): {_NOT_AFFINE}")

    @property
    def U(self):
        """The eigenvectors as a dense matrix (``None`` for the standard basis)."""
        return None if self.basis is None else self.basis.matrix()

    # rotations into / out of the eigenbasis
    def rot(self, v):
        if self.basis is None or not np.any(v):  # a zero vector is zero in every basis
            return v
        return self.basis.to_eigen(v[None])[0]

    def unrot(self, v):
        if self.basis is None or not np.any(v):
            return v
        return self.basis.from_eigen(v[None])[0]

    def rot_mat(self, X):
        return X if self.basis is None else self.basis.rotate_matrix(X)

    def unrot_mat(self, X):
        return X if self.basis is None else self.basis.unrotate_matrix(X)

    # score error parts
    def error_parts(self, t):
        """``(K, A, b)`` in the original coordinates, or ``None`` for the exact score."""
        if self.error is None:
            return None
        parts = self.error.affine_parts(float(t), self.d)
        if parts is None:
            raise ValueError(f"score_error is not affine at t = {float(t):g}: {_NOT_AFFINE}")
        K, A, b = parts
        b = np.broadcast_to(np.asarray(b, dtype=np.float64), (self.d,))
        return np.asarray(K, dtype=np.float64), np.asarray(A, dtype=np.float64), b

    def diag_parts(self, parts):
        """Error parts as diagonals in the eigenbasis, or ``None`` if some matrix is not."""
        K, A, b = parts
        out = []
        for X in (K, A):
            if X.ndim == 0:
                out.append(float(X))
                continue
            if X.shape != (self.d, self.d):
                raise ValueError(f"score_error K/A must be scalars or ({self.d}, {self.d}) arrays")
            Xr = self.rot_mat(X)
            if not _is_diag(Xr):
                return None
            out.append(np.diag(Xr).copy())
        return out[0], out[1], self.rot(b)

    # the exact score at times t (vectorised over a leading axis) in the eigenbasis
    def exact_diag(self, t, noise=None):
        """``(P, c)`` of the exact score ``-P x + c`` at the times ``t``, shape ``(len(t), d)``;
        ``noise``: ``(alpha(t), sigma2(t))`` if already computed."""
        if noise is None:
            t = np.atleast_1d(np.asarray(t, dtype=np.float64))
            noise = self.sde.alpha(t), self.sde.sigma2(t)
        al = np.asarray(noise[0], dtype=np.float64).reshape(-1, 1)
        s2 = np.asarray(noise[1], dtype=np.float64).reshape(-1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            P = 1.0 / (al * al * self.lam + s2)
            return P, P * al * self.m0

    def exact_full(self, t):
        P, c = self.exact_diag(t)
        P, c = P[0], c[0]
        if self.basis is None:
            return np.diag(P), c
        return self.unrot_mat(np.diag(P)), self.unrot(c)

    def target_diag(self, t):
        """Exact marginal in the eigenbasis: ``(mean, variances)``."""
        al, s2 = float(self.sde.alpha(t)), float(self.sde.sigma2(t))
        return al * self.m0, al * al * self.lam + s2


def _is_diag(X) -> bool:
    scale = np.max(np.abs(X)) if X.size else 0.0
    off = X - np.diag(np.diag(X))
    return bool(np.max(np.abs(off), initial=0.0) <= _DIAG_RTOL * max(scale, 1e-300))


def _kl_to_diag(mu, C, m, S) -> float:
    """``KL(N(mu, C) || N(m, diag S))`` (C a diagonal or a matrix), as ``analytic.kl`` does it:
    ``1/2 [sum_i h(u_i) + sum (mu - m)^2 / S]``, ``u = eig(S^{-1/2} (C - S) S^{-1/2})``."""
    delta = mu - m
    if C.ndim == 1:
        u = (C - S) / S
    else:
        r = np.sqrt(S)
        W = C - np.diag(S)
        u = np.linalg.eigvalsh(W / r[:, None] / r[None, :])
    if np.any(u <= -1):
        return float("inf")
    return 0.5 * (float(np.sum(h_u_minus_log1p(u))) + float(np.sum(delta * delta / S)))


def _kl_safe(p, q) -> float:
    try:
        return kl(p, q)
    except ValueError:  # a singular target (point-mass data at t = 0)
        return float("nan")


# ------------------------------------------------------------------- discrete recursion
def _stack_parts(parts, d):
    """Per-step diagonal error parts ``[(K, A, b)]`` as three ``(N, d)`` arrays."""
    return tuple(
        np.stack([np.broadcast_to(np.asarray(p[i], dtype=np.float64), (d,)) for p in parts])
        for i in range(3)
    )


def _diag_chain(prob, grid, tables, err_t, err_s, noise=None):
    """Vectorised per-eigendirection maps of the steps on ``grid`` (``tables``: their
    coefficient columns; ``noise``: ``(alpha, sigma2)`` on ``grid``, if computed); returns
    ``(M, u, Q)`` of shape ``(N, d)``."""
    nt = ns = None
    if noise is not None:
        al, s2 = (np.asarray(v, dtype=np.float64).reshape(-1) for v in noise)
        nt, ns = (al[:-1], s2[:-1]), (al[1:], s2[1:])
    Pt, ct = prob.exact_diag(grid[:-1], nt)
    Ps = cs = None
    if not isinstance(tables, AffineSteps):  # heun and pc also use the score at s
        Ps, cs = prob.exact_diag(grid[1:], ns)
    if err_t is not None:
        K, A, b = _stack_parts(err_t, prob.d)
        Pt, ct = K * Pt - A, K * ct + b
    if err_s is not None:
        K, A, b = _stack_parts(err_s, prob.d)
        with np.errstate(invalid="ignore"):
            Ps, cs = K * Ps - A, K * cs + b
    with np.errstate(invalid="ignore"):
        M, u, Q = step_maps(tables, _Diag, Pt, ct, Ps, cs)
    d = prob.d
    shape = (len(grid) - 1, d)
    return np.broadcast_to(M, shape), np.broadcast_to(u, shape), np.broadcast_to(Q, shape)


_CHUNK_ELEMENTS = 1 << 15
"""Elements of one ``(steps, d)`` block of step maps in :func:`_run_discrete`."""


def _check_finite(M, u, Q, grid, offset: int = 0):
    bad = ~(
        np.isfinite(M).reshape(len(M), -1).all(1)
        & np.isfinite(u).reshape(len(u), -1).all(1)
        & np.isfinite(Q).reshape(len(Q), -1).all(1)
    )
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(
            f"the step map is not finite at step {k + offset} "
            f"(t = {grid[k]:g} -> {grid[k + 1]:g}); "
            "a singular data covariance has no score at t = 0: use t_min > 0"
        )


def _run_discrete(prob, grid, tables, method, trajectory):
    need_s = not isinstance(tables, AffineSteps)  # heun and pc use the score at s too
    err_t = err_s = raw_t = raw_s = None
    full = False
    if prob.error is not None:
        raw_t = [prob.error_parts(tk) for tk in grid[:-1]]
        raw_s = [prob.error_parts(tk) for tk in grid[1:]] if need_s else None
        err_t = [prob.diag_parts(p) for p in raw_t]
        err_s = [prob.diag_parts(p) for p in raw_s] if need_s else None
        full = any(e is None for e in err_t) or (need_s and any(e is None for e in err_s))
    if full:
        return _full_recursion(prob, grid, tables, method, raw_t, raw_s, trajectory)
    mu, L, q = prob.mu0.copy(), np.ones(prob.d), np.zeros(prob.d)
    mus, Ls, qs = [mu], [L], [q]
    n = len(grid) - 1
    # the step maps of a few steps at a time: (chunk, d) arrays stay in the CPU cache at
    # large d (one chunk, all steps vectorised, at small d)
    chunk = max(1, _CHUNK_ELEMENTS // prob.d)
    al, s2 = prob.sde.alpha(grid), prob.sde.sigma2(grid)

    def maps(sl):
        return _diag_chain(
            prob,
            grid[sl.start : sl.stop + 1],
            _index(tables, (sl, None)),
            None if err_t is None else err_t[sl],
            None if err_s is None else err_s[sl],
            (al[sl.start : sl.stop + 1], s2[sl.start : sl.stop + 1]),
        )

    for j in range(0, n, chunk):
        M, u, Q = maps(slice(j, min(j + chunk, n)))
        for k in range(len(M)):
            Mk = M[k]
            mu = Mk * mu + u[k]
            L = Mk * L
            q = Mk * Mk * q + Q[k]
            if trajectory:
                mus.append(mu)
                Ls.append(L)
                qs.append(q)
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(q)) and np.all(np.isfinite(L))):
        # a non-finite step map makes the moments non-finite: name the step if it is one
        for j in range(0, n, chunk):
            sl = slice(j, min(j + chunk, n))
            _check_finite(*maps(sl), grid[j:], offset=j)
        raise ValueError(f"the chain's moments overflowed (method={method!r}); check the grid")
    law = _diag_law(prob, mu, L, q, "recursion", method)
    traj = None
    if trajectory:
        traj = _diag_trajectory(prob, grid, mus, Ls, qs, "recursion", method)
    return law, traj


def _full_recursion(prob, grid, tables, method, raw_t, raw_s, trajectory):
    """The ``d x d`` moment recursion in the original coordinates (non-diagonal errors)."""
    ops = _Full(prob.d)
    mu, C = prob.init.mean, prob.init.cov
    mus, Cs = [mu], [C]
    for k in range(len(grid) - 1):
        Pt, ct = _perturb_full(*prob.exact_full(grid[k]), *raw_t[k])
        Ps = cs = None
        if raw_s is not None:
            Ps, cs = _perturb_full(*prob.exact_full(grid[k + 1]), *raw_s[k])
        M, uk, Qk = step_maps(_index(tables, k), ops, Pt, ct, Ps, cs)
        _check_finite(M[None], uk[None], Qk[None], grid[k:])
        mu = M @ mu + uk
        C = M @ C @ M.T + Qk
        C = 0.5 * (C + C.T)
        if trajectory:
            mus.append(mu)
            Cs.append(C)
    law = ExactLaw(mu, C, solver="recursion", path="full", method=method)
    traj = None
    if trajectory:
        traj = _full_trajectory(prob, grid, mus, Cs, "recursion", method)
    return law, traj


def _perturb_full(P, c, K, A, b):
    KP = K * P if K.ndim == 0 else K @ P
    Kc = K * c if K.ndim == 0 else K @ c
    A = A * np.eye(len(c)) if A.ndim == 0 else A
    return KP - A, Kc + b


def _diag_cov(prob, L, q):
    """``L C0 L + diag(q)`` in the eigenbasis: a (d,) diagonal or a (d, d) matrix."""
    if prob.C0.ndim == 1:
        return L * L * prob.C0 + q
    C = (L[:, None] * prob.C0) * L[None, :]
    C[np.diag_indices(prob.d)] += q
    return C


def _diag_law(prob, mu, L, q, solver, method):
    Crot = _diag_cov(prob, L, q)
    if prob.spectral and Crot.ndim == 1:  # stays in spectral form: O(d)
        cov = SpectralCovariance(Crot, prob.basis, _checked=True)
        return _SpectralExactLaw(mu, cov, solver=solver, path="eigenbasis", method=method)
    mean = prob.unrot(mu)
    if prob.basis is None:
        cov = Crot
    elif Crot.ndim == 1:
        U = prob.basis.U
        cov = (U * Crot) @ U.T
        cov = 0.5 * (cov + cov.T)
    else:
        cov = prob.unrot_mat(Crot)
        cov = 0.5 * (cov + cov.T)
    return ExactLaw(mean, cov, solver=solver, path="eigenbasis", method=method)


def _diag_trajectory(prob, grid, mus, Ls, qs, solver, method):
    kls = np.empty(len(grid))
    for k, tk in enumerate(grid):
        Crot = _diag_cov(prob, Ls[k], qs[k])
        m_t, S_t = prob.target_diag(tk)
        kls[k] = _kl_to_diag(mus[k], Crot, m_t, S_t) if np.all(S_t > 0) else np.nan

    def build(k):
        return _diag_law(prob, mus[k], Ls[k], qs[k], solver, method)

    return ExactTrajectory(np.asarray(grid, dtype=np.float64), kls, solver, "eigenbasis", build)


def _full_trajectory(prob, grid, mus, Cs, solver, method):
    kls = np.array(
        [
            _kl_safe(Gaussian(mus[k], Cs[k]), prob.sde.marginal(prob.data, tk))
            for k, tk in enumerate(grid)
        ]
    )

    def build(k):
        return ExactLaw(mus[k], Cs[k], solver=solver, path="full", method=method)

    return ExactTrajectory(np.asarray(grid, dtype=np.float64), kls, solver, "full", build)


# ------------------------------------------------------------------------ continuous time
def _continuous_nodes(grid, sde):
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim == 1 and g.shape[0] == 2 and isinstance(grid, tuple):
        _check_grid(g, sde)
        return np.linspace(g[0], g[1], _N_CONT_NODES)
    return _check_grid(g, sde)


def _run_continuous(prob, nodes, gamma, solver, trajectory):
    const_gamma = not callable(gamma)
    if solver not in (None, "closed form", "ode"):
        raise ValueError(f"solver must be None, 'closed form' or 'ode', got {solver!r}")
    _gamma_values(gamma, nodes)
    closed_ok = const_gamma and prob.error is None
    if solver == "closed form" and not closed_ok:
        raise ValueError("solver='closed form' needs the exact score and a constant gamma")
    if solver is None:
        solver = "closed form" if closed_ok else "ode"
    if solver == "closed form":
        return _closed_form(prob, nodes, float(gamma), trajectory)
    return _moment_ode(prob, nodes, gamma, trajectory)


def _closed_form(prob, nodes, g, trajectory):
    """Formula (G) per eigendirection (exact score, constant gamma)."""
    sde = prob.sde
    al = np.asarray(sde.alpha(nodes), dtype=np.float64) * np.ones(len(nodes))
    s2 = np.asarray(sde.sigma2(nodes), dtype=np.float64) * np.ones(len(nodes))
    S = al[:, None] ** 2 * prob.lam + s2[:, None]
    m = al[:, None] * prob.m0
    with np.errstate(divide="ignore"):
        logS = np.log(S) - 2.0 * np.log(al)[:, None]
    # sqrt(S(t)/S(T0)) * e^{-Gamma(t)/2}, Gamma = gamma log((lam+sbar2(T0))/(lam+sbar2(t)))
    E = np.sqrt(S / S[0]) * np.exp(0.5 * g * (logS - logS[0]))
    mus = m + E * (prob.mu0 - m[0])
    # C = S + E D0 E  with D0 = C0 - S(T0)  (write as L C0 L + diag(q): L = E, q = S - E^2 S0)
    Ls = list(E)
    qs = list(S - E * E * S[0])
    return _pack_diag(prob, nodes, list(mus), Ls, qs, "closed form", trajectory)


def _moment_ode(prob, nodes, gamma, trajectory):
    """The moment ODE (DOP853, rtol 1e-11): diagonal in the eigenbasis when the error is.

    In ``tau``: ``m' = F m + u``, ``C' = F C + C F^T + 2 D I`` with ``F = -f - w P~``,
    ``u = w c~`` and ``(f, w, D)`` the reverse family's drift coefficients.
    """
    family = ReverseFamily(prob.sde, None, gamma)
    err_diag = True
    if prob.error is not None:
        probe = np.linspace(nodes[0], nodes[-1], 17)
        err_diag = all(prob.diag_parts(prob.error_parts(tk)) is not None for tk in probe)
    taus = nodes[0] - nodes
    taus[-1] = nodes[0] - nodes[-1]

    def coeffs(tau):
        t = min(max(nodes[0] - tau, nodes[-1]), nodes[0])
        return (t, *(float(c) for c in family.drift_coefficients(t)))

    if err_diag:
        return _moment_ode_diag(prob, nodes, taus, coeffs, trajectory)
    return _moment_ode_full(prob, nodes, taus, coeffs, trajectory)


def _moment_ode_diag(prob, nodes, taus, coeffs, trajectory):
    d = prob.d

    def rhs(tau, y):
        t, f, w, D = coeffs(tau)
        P, c = prob.exact_diag(t)
        P, c = P[0], c[0]
        if prob.error is not None:
            parts = prob.diag_parts(prob.error_parts(t))
            if parts is None:
                raise ValueError("score_error stopped being diagonal in the data eigenbasis")
            K, A, b = parts
            P, c = K * P - A, K * c + b
        F = -f - w * P
        mu, L, q = y[:d], y[d : 2 * d], y[2 * d :]
        return np.concatenate([F * mu + w * c, F * L, 2 * F * q + 2 * D])

    y0 = np.concatenate([prob.mu0, np.ones(d), np.zeros(d)])
    Y = _solve(rhs, taus[-1], y0, taus).y.T
    mus, Ls, qs = list(Y[:, :d]), list(Y[:, d : 2 * d]), list(Y[:, 2 * d :])
    return _pack_diag(prob, nodes, mus, Ls, qs, "ode", trajectory)


def _moment_ode_full(prob, nodes, taus, coeffs, trajectory):
    d = prob.d

    def rhs(tau, y):
        t, f, w, D = coeffs(tau)
        P, c = prob.exact_full(t)
        P, c = _perturb_full(P, c, *prob.error_parts(t))
        F = -f * np.eye(d) - w * P
        mu, C = y[:d], y[d:].reshape(d, d)
        dC = F @ C + C @ F.T + 2 * D * np.eye(d)
        return np.concatenate([F @ mu + w * c, dC.ravel()])

    y0 = np.concatenate([prob.init.mean, prob.init.cov.ravel()])
    Y = _solve(rhs, taus[-1], y0, taus).y.T
    mus = [Y[k, :d] for k in range(len(nodes))]
    Cs = [0.5 * (Y[k, d:].reshape(d, d) + Y[k, d:].reshape(d, d).T) for k in range(len(nodes))]
    law = ExactLaw(mus[-1], Cs[-1], solver="ode", path="full", method=None)
    traj = _full_trajectory(prob, nodes, mus, Cs, "ode", None) if trajectory else None
    return law, traj


def _solve(rhs, tau_end, y0, taus):
    sol = integrate.solve_ivp(
        rhs, (0.0, tau_end), y0, method="DOP853", t_eval=taus, rtol=1e-11, atol=1e-14
    )
    if not sol.success:
        raise ValueError(f"the moment ODE failed: {sol.message}")
    return sol


def _pack_diag(prob, nodes, mus, Ls, qs, solver, trajectory):
    law = _diag_law(prob, mus[-1], Ls[-1], qs[-1], solver, None)
    traj = _diag_trajectory(prob, nodes, mus, Ls, qs, solver, None) if trajectory else None
    return law, traj


# ------------------------------------------------------------------------------ public
def exact_law(
    sde: LinearSDE,
    data: Gaussian,
    init: Gaussian,
    grid: ArrayLike,
    gamma: Gamma = 1.0,
    method: str | None = "euler",
    score_error: ScoreError | None = None,
    *,
    trajectory: bool = False,
    predictor: str = "euler",
    snr: float = 0.16,
    n_corrector: int = 1,
    solver: str | None = None,
) -> ExactLaw | tuple[ExactLaw, ExactTrajectory]:
    """The exact law of a sampler's output for Gaussian data (module docstring).

    Parameters
    ----------
    sde : a linear forward SDE (``analytic``).
    data : ``Gaussian`` data law ``p_0`` (anything else raises ``ValueError``: not affine).
    init : ``Gaussian`` start law at ``grid[0]`` (e.g. ``sde.marginal(data, T)``,
        ``sde.prior(d)``).
    grid : decreasing forward times ``t_0 > ... > t_N``; with ``method=None`` continuous
        time from ``grid[0]`` to ``grid[-1]`` (a tuple ``(T, t_min)``, or an array of the
        nodes at which the trajectory is reported).
    gamma : stochasticity ``>= 0``, a number or a callable of forward time.
    method : one of ``METHODS``, or ``None`` for the continuous-time reverse family.
    score_error : ``None`` (exact score) or an object with ``affine_parts(t, dim) -> (K, A, b)``.
    trajectory : also return an ``ExactTrajectory`` (laws and ``kl(law_k, p_{t_k})`` per node).
    predictor, snr, n_corrector : the ``"pc"`` method's predictor and Langevin corrector.
    solver : continuous time only: ``None`` (closed form when possible), ``"closed form"``
        or ``"ode"``.

    Returns
    -------
    ``ExactLaw`` (a ``Gaussian``), or ``(ExactLaw, ExactTrajectory)`` if ``trajectory``.
    """
    _check_gaussian(data, "data")
    _check_gaussian(init, "init")
    prob = _Problem(sde, data, init, score_error)
    if method is None:
        nodes = _continuous_nodes(grid, sde)
        law, traj = _run_continuous(prob, nodes, gamma, solver, trajectory)
        return (law, traj) if trajectory else law
    if solver is not None:
        raise ValueError("solver= applies to continuous time (method=None) only")
    g = _check_grid(grid, sde)
    gvals = _gamma_values(gamma, g[:-1])
    get_method(method)
    kw = {}
    if method == "pc":
        kw = pc_options(predictor, snr, n_corrector)
    law, traj = _run_discrete(prob, g, step_tables(sde, g, gvals, method, **kw), method, trajectory)
    return (law, traj) if trajectory else law


def kl_trajectory(
    sde: LinearSDE,
    data: Gaussian,
    init: Gaussian,
    grid: ArrayLike,
    gamma: Gamma = 1.0,
    method: str | None = "euler",
    score_error: ScoreError | None = None,
    **kwargs: object,
) -> tuple[np.ndarray, np.ndarray]:
    """``(t_nodes, kl_values)``: ``kl(law_k, p_{t_k})`` at every node (chain || exact)."""
    _, traj = exact_law(
        sde, data, init, grid, gamma, method, score_error, trajectory=True, **kwargs
    )
    return traj.t, traj.kl


def continuous_kl_closed_form(
    sde: LinearSDE,
    data: Gaussian,
    init: Gaussian,
    t: ArrayLike,
    gamma: float,
    T_start: float | None = None,
) -> FloatOrArray:
    """``KL(law_tau || p_{T_start - tau})`` at forward times ``t`` by the closed form (G).

    (docs/theory.md, "The reverse family".)

    Exact score, constant ``gamma``; ``init`` at ``T_start`` (default ``sde.T``) must have a
    covariance diagonal in the eigenbasis of the data covariance (always true in 1-D). Per
    eigendirection ``r - 1 = (r_0 - 1) e^{-Gamma}``, ``q = q_0 e^{-Gamma}``,
    ``e^{-Gamma} = ((lam + sbar2(t)) / (lam + sbar2(T_start)))^gamma`` and
    ``KL = 1/2 sum_i [r_i - 1 - log r_i + q_i]`` (evaluated without cancellation).
    """
    _check_gaussian(data, "data")
    _check_gaussian(init, "init")
    g = _gamma_values(gamma, [0.0])[0]
    if callable(gamma):
        raise ValueError("continuous_kl_closed_form needs a constant gamma")
    prob = _Problem(sde, data, init, None)
    if prob.C0.ndim != 1:
        raise ValueError("init covariance must be diagonal in the data eigenbasis")
    T0 = float(sde.T if T_start is None else T_start)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if np.any(t > T0) or np.any(t < 0):
        raise ValueError(f"t must lie in [0, T_start = {T0:g}]")

    def sbar2(x):
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(sde.sigma2(x)) / np.asarray(sde.alpha(x)) ** 2

    m0, S0 = prob.target_diag(T0)
    r0m1 = (prob.C0 - S0) / S0
    q0 = (prob.mu0 - m0) ** 2 / S0
    decay = ((prob.lam + sbar2(t)[:, None]) / (prob.lam + sbar2(T0))) ** g
    u = r0m1 * decay
    return 0.5 * np.sum(h_u_minus_log1p(u) + q0 * decay, axis=1)


def ve_ancestral_shortfall(s0_2: ArrayLike, sig_t2: ArrayLike, sig_s2: ArrayLike) -> FloatOrArray:
    """Variance deficit of one ``"ancestral"`` gamma = 1 step under VE (``alpha = 1``).

    1-D data ``N(m, s0_2)``, chain started exactly at ``p_t = N(m, s0_2 + sig_t2)``, exact
    score, one step to ``s`` (``sig_s2 = sigma2(s) < sig_t2``). The step's map is
    ``M = (s0_2 + sig_s2)/(s0_2 + sig_t2)`` with noise ``c2 = sig_s2 (sig_t2 - sig_s2)/sig_t2``,
    so ``target var - chain var = s0_2 (sig_t2 - sig_s2)^2 / (sig_t2 (s0_2 + sig_t2))``.
    """
    s0_2, sig_t2, sig_s2 = (np.asarray(x, dtype=np.float64) for x in (s0_2, sig_t2, sig_s2))
    if np.any(s0_2 < 0) or np.any(sig_t2 <= 0) or np.any(sig_s2 < 0) or np.any(sig_s2 > sig_t2):
        raise ValueError("need s0_2 >= 0 and 0 <= sig_s2 <= sig_t2, sig_t2 > 0")
    dv = sig_t2 - sig_s2
    return (s0_2 * dv * dv / (sig_t2 * (s0_2 + sig_t2)))[()]


def path_kl(sde, data, grid, gamma=1.0, method="euler"):
    """KL on the grid between a chain's path and the reverse process's path (exact score).

    ``KL(P || Q)`` where ``P`` is the joint law of the chain ``(y_0, ..., y_N)`` of an affine
    stochastic ``method`` and ``Q`` that of the continuous-time reverse family sampled at the
    same grid times, both started at ``p_{t_0}`` with the exact score of Gaussian ``data`` and a
    constant ``gamma > 0``. Both are Gaussian Markov chains, so by the chain rule

        KL(P || Q) = sum_k E_{y_k ~ P_k} KL(P(y_{k+1} | y_k) || Q(y_{k+1} | y_k)),

    per eigendirection of the data covariance. The chain's step is ``y' = M y + u + C xi``
    (its record's coefficients with ``s = -P_t y + c_t``); by formula (G) the reverse
    process's transition from ``t`` to ``s`` is

        y' | y ~ N(m_s + rho (y - m_t), S_s (1 - e^{-Gamma})),   rho = sqrt(S_s/S_t) e^{-Gamma/2},
        e^{-Gamma} = ((lam + sbar2(s)) / (lam + sbar2(t)))^gamma

    (docs/theory.md, "The reverse family"). This is the path-space quantity that
    Girsanov-type discretisation bounds control; by the data-processing inequality it bounds
    the output KL ``KL(P_N || p_{t_N})`` from above.

    Returns ``(total, per_step)`` with ``per_step`` of shape ``(N,)`` (summed over directions).
    """
    _check_gaussian(data, "data")
    g = _check_grid(grid, sde)
    gamma = float(ReverseFamily(sde, None, gamma).gamma)
    rec = get_method(method)
    if not rec.affine or gamma <= 0 or rec.fixed_gamma not in (None, gamma):
        raise ValueError(
            f"path_kl needs an affine stochastic method with gamma > 0 (got {method!r}, "
            f"gamma={gamma:g}): a deterministic chain has no density on path space"
        )
    tables = step_tables(sde, g, np.full(len(g) - 1, gamma), method)
    prob = _Problem(sde, data, sde.marginal(data, float(g[0])), None)
    t, s = g[:-1], g[1:]
    Pt, ct = prob.exact_diag(t)  # (N, d)
    m_t, S_t = _targets(prob, t)
    m_s, S_s = _targets(prob, s)
    al_t, al_s = (np.asarray(sde.alpha(x), dtype=np.float64).reshape(-1, 1) for x in (t, s))
    sb_t = np.asarray(sde.sigma2(t), dtype=np.float64).reshape(-1, 1) / al_t**2
    sb_s = np.asarray(sde.sigma2(s), dtype=np.float64).reshape(-1, 1) / al_s**2
    decay = ((prob.lam + sb_s) / (prob.lam + sb_t)) ** gamma  # e^{-Gamma}
    rho = np.sqrt(S_s / S_t * decay)
    V = -S_s * np.expm1(np.log(decay))  # S_s (1 - e^{-Gamma}), cancellation-free
    A, B, C = (np.asarray(x)[:, None] for x in (tables.A, tables.B, tables.C))
    M, u, C2 = A - B * Pt, B * ct, C * C
    # the chain's marginal before each step, per direction (it starts at p_{t_0})
    mus, vs = np.empty_like(M), np.empty_like(M)
    mu, v = m_t[0].copy(), S_t[0].copy()
    for k in range(len(M)):
        mus[k], vs[k] = mu, v
        mu, v = M[k] * mu + u[k], M[k] * M[k] * v + C2[k]
    dm = (M - rho) * mus + u - (m_s - rho * m_t)
    r = C2 / V
    per = 0.5 * (h_u_minus_log1p(r - 1.0) + ((M - rho) ** 2 * vs + dm * dm) / V)
    per_step = per.sum(axis=1)
    return float(per_step.sum()), per_step


def _targets(prob, t):
    al = np.asarray(prob.sde.alpha(t), dtype=np.float64).reshape(-1, 1)
    s2 = np.asarray(prob.sde.sigma2(t), dtype=np.float64).reshape(-1, 1)
    return al * prob.m0, al * al * prob.lam + s2
