r"""Fokker-Planck grid solver for the law of the reverse-time family (1-D and 2-D).

Rung 3 of the exactness ladder (docs/theory.md, "The Fokker-Planck grid"): ground truth for
non-Gaussian targets and nonlinear score errors, with a grid-convergence error estimate.

Equation (docs/theory.md, "The reverse family"). Forward SDE ``dX = f(t) X dt + g(t) dW`` on
``[0, T]``; in reverse time ``tau = T - t`` the family

    dY = [-f(t) Y + (1 + gamma(t))/2 g2(t) s(Y, t)] dtau + sqrt(gamma(t) g2(t)) dW

has a density ``q_tau`` that solves the Fokker-Planck equation

    dq/dtau = -div(b q) + D lap q,   b(y, tau) = -f y + (1 + gamma)/2 g2 s(y, T - tau),
                                     D(tau) = gamma g2 / 2.

With the exact score and ``q_0 = p_T`` the solution is ``q_tau = p_{T-tau}`` for every
``gamma >= 0``; with a wrong Gaussian start and the exact score the Gaussian moments follow
the closed form (G) (docs/theory.md). Both are used as tests.

Scheme.

* Space: conservative finite volumes on a uniform cell-centred grid over a box, with
  zero-flux (reflecting) walls so the discrete mass is conserved to round-off. The flux
  through the face between cells ``L`` and ``R`` (spacing ``h``) is the
  Scharfetter-Gummel (exponential-fitting) flux
  ``F = (D/h) [B(-P) q_L - B(P) q_R]``, ``P = b h / D``, ``B(z) = z / (e^z - 1)``, with
  ``b`` the drift component at the face centre. It is exact for constant ``b`` and ``D``
  across the face, is second-order accurate in ``h`` where the cell Peclet number ``P``
  is small, and reduces to first-order upwinding as ``D -> 0``: ``gamma = 0`` (pure
  transport, the probability-flow ODE) is stable but only first order in space (by
  Godunov's theorem no positive linear scheme does better), with numerical diffusion
  about ``|b| h / 2``. The generator ``L`` has non-negative off-diagonals and zero
  column sums, so ``I - theta L`` is an M-matrix.
* Time: on each step ``[t_k, t_{k+1}]`` of the grid the operator (score, f, g2, gamma)
  is frozen at the midpoint ``(t_k + t_{k+1}) / 2`` (one score call per step, on all
  cell faces), which is second order in the step. The frozen problem is integrated with
  ``substeps`` implicit substeps reusing one factorisation:

  - ``method="trbdf2"`` (default): TR-BDF2 (``kappa = 2 - sqrt 2``, L-stable, one
    factorisation shared by both stages); second order in time overall, mass conserving.
    It is not an M-matrix scheme: where it produces (tiny, tail) negative values a
    positivity limiter sets them to 0 and rescales to the pre-clip mass; the clipped mass
    is reported (``FPResult.clipped_mass``: 0 to ~1e-11 for smooth starts, up to ~1e-3
    for a discontinuous start with few large steps; use ``"be"`` or more steps then).
  - ``method="be"``: backward Euler. Positivity preserving with no limiter (inverse of an
    M-matrix) and mass conserving; first order: time error ``O(dt / substeps)``.

* Linear algebra: ``solver="direct"`` factorises the full 2-D sparse matrix (assembled
  vectorised from the face coefficients of both axes) with ``scipy.sparse.linalg.splu``
  once per step; in 1-D the matrix is tridiagonal and LAPACK ``gttrf``/``gttrs`` is used.
  ``solver="split"`` (2-D) uses Strang dimension splitting ``S_0(h/2) S_1(h) S_0(h/2)``
  of the same non-separable operator ``L = L_0 + L_1``; every factor is a batch of
  tridiagonal M-matrix solves, so the cost is O(cells) per step (positivity and mass
  conservation are kept; the splitting adds an O(h_sub) error with backward Euler and
  an O(h_sub^2) error with TR-BDF2, zero when the drift is separable).

Grid error: ``estimate_error=True`` reruns with half the cells per axis, half the
substeps (when ``substeps >= 2``) and the operator frozen over pairs of grid steps
(doubling the freezing error), twice: pairs starting at even and at odd indices, so that
every grid time ends a doubled step in one run. The first is kept as
``FPResult.coarse``. The difference of a quantity of interest between the fine and the
matching coarse run (``kl_trajectory(..., return_error=True)``, ``fisher_trajectory``,
``error_estimate(qoi)``, ``density_error``) is the reported error estimate; for a
scheme of order ``p`` it is about ``2^p - 1`` times the fine-grid error once the coarse
grid resolves the density (measured: ~3x for ``gamma > 0``, ~1x for ``gamma = 0``).

Diagnostics are quadratures on the grid: ``kl_on_grid`` gives ``kl(q || p) =
sum q log(q/p) dV`` (KL direction ``E_q log q/p``, as everywhere) and ``fisher_on_grid`` the
relative Fisher information ``int q |grad log q - grad log p|^2`` with ``grad log q`` by
face differences of ``log q`` weighted by the geometric face mean of ``q``.

The ``sde`` argument is duck-typed: vectorised ``f(t)``, ``g2(t)`` and an attribute
``T`` are used (``alpha``/``sigma2`` are not needed here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import lapack

from .reverse import ReverseFamily

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from analytic import LinearSDE

    from .types import Gamma

__all__ = [
    "NonFiniteDensityError",
    "Grid",
    "FPResult",
    "solve_reverse_fp",
    "kl_on_grid",
    "fisher_on_grid",
]


class NonFiniteDensityError(ValueError, FloatingPointError):
    """The score or the density became NaN or inf; the message names the step and time."""


_KAPPA = 2.0 - math.sqrt(2.0)
_W_STAGE = 1.0 / (_KAPPA * (2.0 - _KAPPA))
_W_OLD = (1.0 - _KAPPA) ** 2 / (_KAPPA * (2.0 - _KAPPA))
_METHODS = ("be", "trbdf2")
_SOLVERS = ("direct", "split")


# --------------------------------------------------------------------------- grid
@dataclass(frozen=True)
class Grid:
    """A uniform cell-centred grid on the box ``bounds`` (1-D or 2-D).

    Densities on the grid are arrays of shape ``grid.shape`` (C order, axis ``k`` is
    coordinate ``k``) holding cell values; ``grid.points()`` lists the cell centres as an
    ``(n, d)`` array in the same (flattened) order.
    """

    bounds: tuple[tuple[float, float], ...]
    shape: tuple[int, ...]

    @classmethod
    def from_spec(
        cls,
        bounds: tuple[float, float] | Sequence[tuple[float, float]],
        n_cells: int | Sequence[int],
    ) -> Grid:
        """Validate ``bounds`` (``((lo, hi),)`` per axis) and ``n_cells`` (int or tuple)."""
        try:
            b = tuple((float(lo), float(hi)) for lo, hi in bounds)
        except (TypeError, ValueError):
            raise ValueError(
                "bounds must be a sequence of (lo, hi) pairs, one per axis, e.g. ((-5, 5),)"
            ) from None
        if len(b) not in (1, 2):
            raise ValueError(f"bounds must describe 1 or 2 axes, got {len(b)}")
        for lo, hi in b:
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"bounds: need finite lo < hi on every axis, got {b}")
        if np.ndim(n_cells) == 0:
            n = (int(n_cells),) * len(b)
        else:
            n = tuple(int(k) for k in n_cells)
        if len(n) != len(b) or min(n) < 3:
            raise ValueError(
                f"n_cells must be an int or one int per axis, each >= 3; got {n_cells!r} "
                f"for {len(b)} axes"
            )
        return cls(b, n)

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def h(self) -> tuple[float, ...]:
        """Cell widths per axis."""
        return tuple((hi - lo) / n for (lo, hi), n in zip(self.bounds, self.shape, strict=True))

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.h))

    @property
    def centres(self) -> tuple[np.ndarray, ...]:
        """1-D arrays of cell-centre coordinates per axis."""
        return tuple(
            lo + (np.arange(n) + 0.5) * h
            for (lo, _), n, h in zip(self.bounds, self.shape, self.h, strict=True)
        )

    def points(self) -> np.ndarray:
        """Cell centres as an ``(n, d)`` float64 array (C order)."""
        mesh = np.meshgrid(*self.centres, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def face_points(self, axis: int) -> np.ndarray:
        """Centres of the interior faces normal to ``axis`` as ``(m, d)`` (C order over
        ``shape`` with ``shape[axis]`` reduced by one)."""
        coords = list(self.centres)
        lo = self.bounds[axis][0]
        coords[axis] = lo + np.arange(1, self.shape[axis]) * self.h[axis]
        mesh = np.meshgrid(*coords, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def coarsen(self) -> Grid:
        """The grid with half the cells per axis on the same box."""
        return Grid(self.bounds, tuple(max(3, n // 2) for n in self.shape))


def _as_grid_array(q, grid: Grid, name: str = "q") -> np.ndarray:
    arr = np.asarray(q, dtype=np.float64)
    if arr.shape == grid.shape:
        return arr
    if arr.size == grid.size and arr.ndim == 1:
        return arr.reshape(grid.shape)
    raise ValueError(f"{name} must have shape {grid.shape} (the grid), got {arr.shape}")


# ------------------------------------------------------------------- diagnostics
def kl_on_grid(q: np.ndarray, logp: ArrayLike, grid: Grid) -> float:
    """``kl(q || p) = sum_cells q log(q / p) dV`` by midpoint quadrature.

    ``q``: density values on ``grid`` (shape ``grid.shape``); ``logp``: log-density of
    the reference, either a callable ``x (n, d) -> (n,)`` or an array of its values at
    the cell centres. Cells with ``q == 0`` contribute 0.
    """
    q = _as_grid_array(q, grid).ravel()
    lp = logp(grid.points()) if callable(logp) else logp
    lp = np.asarray(lp, dtype=np.float64).ravel()
    if lp.size != q.size:
        raise ValueError(f"logp must give one value per cell ({q.size}), got {lp.size}")
    pos = q > 0
    return float(np.sum(q[pos] * (np.log(q[pos]) - lp[pos])) * grid.cell_volume)


def fisher_on_grid(q: np.ndarray, score: ArrayLike, grid: Grid, *, rtol: float = 1e-12) -> float:
    r"""Relative Fisher information ``I(q|p) = int q |grad log q - grad log p|^2 dx``.

    ``score``: callable ``x (n, d) -> grad log p (n, d)``. ``grad log q`` is taken on
    every interior face as the difference quotient of ``log q`` across it and compared
    with the score at the face centre; each face is weighted by the geometric mean
    ``sqrt(q_L q_R)`` and ``dV``. Faces next to cells with ``q <= rtol * max q`` are
    skipped (their weight is negligible and ``log q`` is meaningless there).
    """
    q = _as_grid_array(q, grid)
    floor = rtol * float(q.max())
    total = 0.0
    for axis in range(grid.dim):
        qL = _take(q, axis, slice(None, -1)).ravel()
        qR = _take(q, axis, slice(1, None)).ravel()
        ok = (qL > floor) & (qR > floor)
        pts = grid.face_points(axis)[ok]
        if pts.shape[0] == 0:
            continue
        s = np.asarray(score(pts), dtype=np.float64).reshape(pts.shape[0], grid.dim)
        dlog = (np.log(qR[ok]) - np.log(qL[ok])) / grid.h[axis]
        total += float(np.sum(np.sqrt(qL[ok] * qR[ok]) * (dlog - s[:, axis]) ** 2))
    return total * grid.cell_volume


def _take(a: np.ndarray, axis: int, sl: slice) -> np.ndarray:
    idx = [slice(None)] * a.ndim
    idx[axis] = sl
    return a[tuple(idx)]


# ------------------------------------------------------------------------ result
@dataclass
class FPResult:
    """Output of :func:`solve_reverse_fp`.

    Attributes: ``grid``; ``indices`` (indices into ``grid_times`` recorded);
    ``times`` (forward times of the recorded densities) and ``taus = T - times``;
    ``densities`` (``(n_rec, *grid.shape)``); ``density`` (final); ``mass`` (total mass
    after every step, index 0 = initial); ``min_density`` (minimum over all steps);
    ``clipped_mass`` (mass removed by the TR-BDF2 positivity limiter before
    renormalisation; 0 for ``"be"``); ``method``, ``solver``, ``substeps``; ``coarse``
    (a half-resolution rerun when ``estimate_error=True``, else ``None``) and
    ``density_error`` (L1 distance of the fine densities, aggregated to the coarse cells,
    from the coarse ones at every recorded time; ``None`` unless ``estimate_error`` and
    even ``n_cells``).
    """

    grid: Grid
    indices: np.ndarray
    times: np.ndarray
    taus: np.ndarray
    densities: np.ndarray
    mass: np.ndarray
    min_density: float
    clipped_mass: float
    method: str
    solver: str
    substeps: int
    coarse: FPResult | None = None
    density_error: np.ndarray | None = field(default=None)
    _coarse_alt: FPResult | None = field(default=None, repr=False)

    @property
    def density(self) -> np.ndarray:
        return self.densities[-1]

    @property
    def centres(self) -> tuple[np.ndarray, ...]:
        return self.grid.centres

    def points(self) -> np.ndarray:
        return self.grid.points()

    def kl_trajectory(
        self, logp_fn: Callable, *, return_error: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
        """``kl(q_tau || p_t)`` at the recorded times; ``logp_fn(x, t)`` is ``log p_t(x)``.

        With ``return_error=True`` returns ``(kl, err)`` where ``err`` is the difference
        from the half-resolution rerun (requires ``estimate_error=True``).
        """
        pts = self.grid.points()
        kl = np.array(
            [
                kl_on_grid(q, np.asarray(logp_fn(pts, t)), self.grid)
                for q, t in zip(self.densities, self.times, strict=True)
            ]
        )
        return (kl, self._error(kl, lambda r: r.kl_trajectory(logp_fn))) if return_error else kl

    def fisher_trajectory(
        self, score_fn: Callable, *, return_error: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
        """Relative Fisher information ``I(q_tau | p_t)``; ``score_fn(x, t)`` is
        ``grad log p_t(x)``. ``return_error`` as in :meth:`kl_trajectory`."""
        out = np.array(
            [
                fisher_on_grid(q, lambda x, t=t: score_fn(x, t), self.grid)
                for q, t in zip(self.densities, self.times, strict=True)
            ]
        )
        if return_error:
            return out, self._error(out, lambda r: r.fisher_trajectory(score_fn))
        return out

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Means ``(n_rec, d)`` and covariances ``(n_rec, d, d)`` of the recorded
        densities by quadrature."""
        x = self.grid.points()
        w = self.densities.reshape(len(self.times), -1) * self.grid.cell_volume
        m = w.sum(axis=1, keepdims=True)
        mean = (w @ x) / m
        dx = x[None, :, :] - mean[:, None, :]
        cov = np.einsum("rn,rni,rnj->rij", w, dx, dx) / m[:, :, None]
        return mean, cov

    def error_estimate(self, qoi: Callable[[FPResult], np.ndarray]) -> np.ndarray:
        """``|qoi(self) - qoi(self.coarse)|``: the grid-error estimate of any quantity."""
        return self._error(np.asarray(qoi(self)), qoi)

    def _error(self, fine: np.ndarray, qoi: Callable) -> np.ndarray:
        if self.coarse is None or self._coarse_alt is None:
            raise ValueError("no error estimate: rerun solve_reverse_fp with estimate_error=True")
        return self._pick(
            np.abs(fine - np.asarray(qoi(self.coarse))),
            np.abs(fine - np.asarray(qoi(self._coarse_alt))),
        )

    def _pick(self, err_even: np.ndarray, err_odd: np.ndarray) -> np.ndarray:
        """Per recorded index, the coarse run in which that grid time ends a doubled step
        (even indices: run 0, odd: run 1; the last time ends a step in both)."""
        even = (self.indices % 2 == 0)[(...,) + (None,) * (np.ndim(err_even) - 1)]
        out = np.where(even, err_even, err_odd)
        last = self.indices == self.mass.size - 1
        out[last] = np.maximum(err_even[last], err_odd[last])
        return out


# ------------------------------------------------------------------- operators
def _bernoulli(z: np.ndarray) -> np.ndarray:
    """``B(z) = z / (e^z - 1)``, ``B(0) = 1``, evaluated without overflow or 0/0."""
    small = np.abs(z) < 1e-8
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = z / np.expm1(z)
    out[small] = 1.0 - 0.5 * z[small]
    return out


def _face_coefficients(b: np.ndarray, diff: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative ``(a_L, a_R)`` with face flux ``F = a_L q_L - a_R q_R`` (SG flux)."""
    if diff == 0.0:
        return np.maximum(b, 0.0), np.maximum(-b, 0.0)
    pe = b * (h / diff)
    return (diff / h) * _bernoulli(-pe), (diff / h) * _bernoulli(pe)


class _Tridiag:
    """``A = I - theta L_axis`` for one axis: a batch of tridiagonal systems (gttrf)."""

    def __init__(self, aL: np.ndarray, aR: np.ndarray, h: float, axis: int, shape, theta):
        # aL, aR: face coefficients with shape `shape` reduced by one along `axis`.
        self.axis, self.shape, self.theta = axis, tuple(shape), float(theta)
        aL = np.moveaxis(aL, axis, -1) / h
        aR = np.moveaxis(aR, axis, -1) / h
        lines = aL.shape[:-1] + (aL.shape[-1] + 1,)
        diag = np.zeros(lines)
        diag[..., :-1] -= aL
        diag[..., 1:] -= aR
        up = np.zeros(lines)
        up[..., :-1] = aR
        lo = np.zeros(lines)
        lo[..., :-1] = aL
        # L as three diagonals in the moved (axis-last) ordering; zeros between lines.
        self.ld, self.lu, self.ll = diag.ravel(), up.ravel()[:-1], lo.ravel()[:-1]
        dl, d, du, du2, ipiv, info = lapack.dgttrf(
            -theta * self.ll, 1.0 - theta * self.ld, -theta * self.lu
        )
        if info != 0:
            raise FloatingPointError(f"tridiagonal factorisation failed (info={info})")
        self._lu = (dl, d, du, du2, ipiv)

    def _to_lines(self, q: np.ndarray) -> np.ndarray:
        return np.moveaxis(q.reshape(self.shape), self.axis, -1).ravel()

    def _from_lines(self, v: np.ndarray) -> np.ndarray:
        moved = list(self.shape)
        moved.append(moved.pop(self.axis))
        return np.moveaxis(v.reshape(moved), -1, self.axis).ravel()

    def matvec(self, q: np.ndarray) -> np.ndarray:
        v = self._to_lines(q)
        out = self.ld * v
        out[:-1] += self.lu * v[1:]
        out[1:] += self.ll * v[:-1]
        return self._from_lines(out)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        x, info = lapack.dgttrs(*self._lu, self._to_lines(rhs))
        if info != 0:
            raise FloatingPointError(f"tridiagonal solve failed (info={info})")
        return self._from_lines(x)


class _Sparse:
    """``A = I - theta L`` for the full operator, factorised once with splu."""

    def __init__(self, L: sp.csc_matrix, theta: float):
        self.L, self.theta = L, float(theta)
        n = L.shape[0]
        A = (sp.identity(n, format="csc") - theta * L).tocsc()
        self._lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A")

    def matvec(self, q):
        return self.L @ q

    def solve(self, rhs):
        return self._lu.solve(rhs)


def _assemble(grid: Grid, coeffs) -> sp.csc_matrix:
    """Sparse generator ``L`` (columns sum to 0) from per-axis face coefficients."""
    idx = np.arange(grid.size).reshape(grid.shape)
    rows, cols, vals = [], [], []
    for axis, (aL, aR) in enumerate(coeffs):
        left = _take(idx, axis, slice(None, -1)).ravel()
        right = _take(idx, axis, slice(1, None)).ravel()
        cl, cr = aL.ravel() / grid.h[axis], aR.ravel() / grid.h[axis]
        rows += [left, right, left, right]
        cols += [left, left, right, right]
        vals += [-cl, cl, cr, -cr]
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    return sp.csc_matrix((vals, (rows, cols)), shape=(grid.size, grid.size))


def _pieces(grid: Grid, coeffs, h_sub: float, method: str, solver: str) -> list:
    """Factorised ``I - theta L`` pieces applied in turn for one substep of length h_sub."""
    theta = h_sub if method == "be" else 0.5 * _KAPPA * h_sub
    if grid.dim == 1:
        return [_Tridiag(*coeffs[0], grid.h[0], 0, grid.shape, theta)]
    if solver == "direct":
        return [_Sparse(_assemble(grid, coeffs), theta)]
    # Strang splitting S_0(h/2) S_1(h) S_0(h/2); the S_0 factor is shared.
    half = _Tridiag(*coeffs[0], grid.h[0], 0, grid.shape, 0.5 * theta)
    return [half, _Tridiag(*coeffs[1], grid.h[1], 1, grid.shape, theta), half]


def _substep(piece, q: np.ndarray, method: str) -> np.ndarray:
    if method == "be":
        return piece.solve(q)
    # TR-BDF2; piece.theta = kappa * h / 2 for both stages.
    stage = piece.solve(q + piece.theta * piece.matvec(q))
    return piece.solve(_W_STAGE * stage - _W_OLD * q)


# ------------------------------------------------------------------------ solver
def _check_times(grid_times, T: float) -> np.ndarray:
    t = np.asarray(grid_times, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError("grid_times must be a 1-D array of at least 2 forward times")
    if not np.all(np.isfinite(t)):
        raise ValueError("grid_times contains NaN or inf")
    if np.any(np.diff(t) >= 0):
        raise ValueError(
            "grid_times must be strictly decreasing forward times (T -> t_min), like "
            "k-diffusion sigmas; reverse or sort your grid"
        )
    if t[0] > T * (1 + 1e-12) + 1e-300 or t[-1] < 0:
        raise ValueError(f"grid_times must lie in [0, T] = [0, {T}], got [{t[-1]}, {t[0]}]")
    return t


def _initial(init_density, grid: Grid, log: bool, normalize: bool) -> np.ndarray:
    if callable(init_density):
        vals = np.asarray(init_density(grid.points()), dtype=np.float64).reshape(-1)
        if vals.size != grid.size:
            raise ValueError(
                f"init_density must return one value per point ({grid.size}), got {vals.size}"
            )
        if log:
            vals = np.exp(vals - np.max(vals[np.isfinite(vals)]))
    else:
        vals = _as_grid_array(init_density, grid, "init_density").ravel().copy()
        if log:
            vals = np.exp(vals - np.max(vals[np.isfinite(vals)]))
    if not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise ValueError("init_density must be finite and >= 0 on the grid")
    mass = vals.sum() * grid.cell_volume
    if not mass > 0:
        raise ValueError("init_density has zero mass on the grid; widen bounds")
    return vals / mass if normalize else vals


def solve_reverse_fp(
    sde: LinearSDE,
    score: Callable[[np.ndarray, float], np.ndarray],
    init_density: Callable[[np.ndarray], np.ndarray],
    grid_times: ArrayLike,
    gamma: Gamma = 1.0,
    *,
    bounds: tuple[float, float] | Sequence[tuple[float, float]],
    n_cells: int | Sequence[int],
    substeps: int = 1,
    method: str = "trbdf2",
    solver: str = "direct",
    log: bool = False,
    normalize: bool = True,
    record: Sequence[int] | None = None,
    callback: Callable[[int, float, np.ndarray], None] | None = None,
    estimate_error: bool = False,
    _freeze_every: int = 1,
    _freeze_offset: int = 0,
) -> FPResult:
    """Evolve the density of the reverse family on a grid (see the module docstring).

    Parameters
    ----------
    sde : forward linear SDE with vectorised ``f(t)``, ``g2(t)`` and attribute ``T``.
    score : ``s(x, t)``, ``x`` of shape ``(n, d)``, returns ``(n, d)``; called once per
        grid step, on all interior cell faces, at the step's midpoint time.
    init_density : callable ``x (n, d) -> (n,)`` density (log-density if ``log=True``)
        evaluated at cell centres, or an array of cell values of shape ``grid.shape``.
    grid_times : forward times strictly decreasing from ``T`` (or below) to ``t_min``.
    gamma : stochasticity ``>= 0``, a number or a callable of forward time ``t``.
    bounds : ``((lo, hi),)`` per axis (1 or 2 axes); zero-flux walls.
    n_cells : cells per axis (int or tuple).
    substeps : implicit substeps per grid step (one factorisation per step).
    method : ``"trbdf2"`` (second order, positivity limiter) or ``"be"`` (M-matrix,
        positive without a limiter, first order in time).
    solver : ``"direct"`` (sparse LU of the full operator) or ``"split"`` (2-D Strang
        dimension splitting, O(cells) per step). Identical in 1-D.
    normalize : rescale the initial density to unit mass on the grid.
    record : indices into ``grid_times`` whose densities are kept (default: all).
    callback : ``callback(k, t, q)`` after step ``k`` (1-based) at forward time ``t``.
    estimate_error : also solve on the half-resolution grid with doubled freezing steps
        (``FPResult.coarse``) for the grid-error estimates.

    Raises ``ValueError`` for bad input and :class:`NonFiniteDensityError` (a ``ValueError``,
    naming the step and time) if the score or the density becomes non-finite.
    """
    grid = Grid.from_spec(bounds, n_cells)
    T = float(sde.T)
    times = _check_times(grid_times, T)
    family = ReverseFamily(sde, score, gamma)
    substeps = _check_options(method, solver, substeps)
    rec = _record_indices(record, times.size - 1)
    q = _initial(init_density, grid, log, normalize)
    march = _March(grid, family, times, substeps, method, solver, (_freeze_every, _freeze_offset))
    recorded, mass, min_q, clipped = march.run(q, rec, callback)
    result = FPResult(
        grid=grid,
        indices=rec,
        times=times[rec],
        taus=T - times[rec],
        densities=np.stack(recorded),
        mass=mass,
        min_density=min_q,
        clipped_mass=clipped * grid.cell_volume,
        method=method,
        solver=solver,
        substeps=substeps,
    )
    if estimate_error:
        kwargs = {"method": method, "solver": solver, "log": log, "normalize": normalize}
        _estimate_error(result, sde, score, init_density, times, family.gamma, substeps, kwargs)
    return result


def _check_options(method: str, solver: str, substeps) -> int:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    if isinstance(substeps, bool) or int(substeps) != substeps or substeps < 1:
        raise ValueError(f"substeps must be an int >= 1, got {substeps!r}")
    return int(substeps)


def _record_indices(record, n_steps: int) -> np.ndarray:
    if record is None:
        return np.arange(n_steps + 1)
    rec = np.asarray(record, dtype=int).reshape(-1)
    if rec.size == 0 or np.any(rec < -(n_steps + 1)) or np.any(rec > n_steps):
        raise ValueError(f"record must hold indices into grid_times (0..{n_steps})")
    return np.unique(rec % (n_steps + 1))


class _March:
    """The time loop of :func:`solve_reverse_fp`: freeze, assemble, step, limit, record."""

    def __init__(self, grid, family, times, substeps, method, solver, freeze):
        self.grid, self.family, self.times = grid, family, times
        self.substeps, self.method, self.solver = substeps, method, solver
        self.freeze_every, self.freeze_offset = freeze
        faces = [grid.face_points(axis) for axis in range(grid.dim)]
        self.offsets = np.cumsum([0] + [f.shape[0] for f in faces])
        self.all_faces = np.concatenate(faces, axis=0)
        self.face_shapes = [
            tuple(n - (k == axis) for k, n in enumerate(grid.shape)) for axis in range(grid.dim)
        ]

    def freeze_time(self, k: int) -> float:
        """The midpoint of step ``k`` (of a block of ``freeze_every`` steps in the coarse
        error-estimation run, which doubles the freezing error)."""
        n_steps, off = self.times.size - 1, self.freeze_offset
        if self.freeze_every == 1:
            j0, j1 = k, k + 1
        elif k < off:
            j0, j1 = 0, off
        else:
            j0 = off + ((k - off) // 2) * 2
            j1 = min(j0 + 2, n_steps)
        return 0.5 * (self.times[j0] + self.times[j1])

    def coefficients(self, k: int, tm: float) -> list:
        """Scharfetter-Gummel face coefficients of the operator frozen at ``tm``."""
        f_t, c_score, diff = (float(c) for c in self.family.drift_coefficients(tm))
        faces = self.all_faces
        s = np.asarray(self.family.score(faces, tm), dtype=np.float64)
        if s.shape != faces.shape:
            raise ValueError(f"score must return shape {faces.shape}, got {s.shape}")
        if not np.all(np.isfinite(s)):
            raise NonFiniteDensityError(
                f"score returned NaN or inf at step {k + 1} (t={tm:g}); the argument "
                "score must be finite on the grid's cell faces"
            )
        coeffs = []
        for axis in range(self.grid.dim):
            lo, hi = self.offsets[axis], self.offsets[axis + 1]
            b = -f_t * faces[lo:hi, axis] + c_score * s[lo:hi, axis]
            aL, aR = _face_coefficients(b, diff, self.grid.h[axis])
            shape = self.face_shapes[axis]
            coeffs.append((aL.reshape(shape), aR.reshape(shape)))
        return coeffs

    def run(self, q, rec, callback):
        grid, times, n_steps = self.grid, self.times, self.times.size - 1
        dv = grid.cell_volume
        mass = np.empty(n_steps + 1)
        mass[0] = q.sum() * dv
        min_q, clipped = float(q.min()), 0.0
        recorded = [q.reshape(grid.shape).copy()] if rec[0] == 0 else []
        key, pieces, coeffs = None, [], None
        for k in range(n_steps):
            t1, dt = times[k + 1], times[k] - times[k + 1]
            tm = self.freeze_time(k)
            if key is None or key[0] != tm:
                coeffs = self.coefficients(k, tm)
            if key != (tm, dt):
                key = (tm, dt)
                pieces = _pieces(grid, coeffs, dt / self.substeps, self.method, self.solver)
            for _ in range(self.substeps):
                for piece in pieces:
                    q = _substep(piece, q, self.method)
            if self.method == "trbdf2" and q.min() < 0.0:
                # Positivity limiter: drop the (tiny, tail) negative values, rescale to the
                # pre-clip mass. Perturbation = size of the negatives; mass unchanged.
                before = q.sum()
                q = np.maximum(q, 0.0)
                clipped += q.sum() - before
                q *= before / q.sum()
            if not np.all(np.isfinite(q)):
                raise NonFiniteDensityError(
                    f"density became non-finite at step {k + 1} (t={t1}); refine the grid "
                    "or the time steps, or check the score"
                )
            mass[k + 1] = q.sum() * dv
            min_q = min(min_q, float(q.min()))
            if callback is not None:
                callback(k + 1, float(t1), q.reshape(grid.shape))
            if k + 1 in rec:
                recorded.append(q.reshape(grid.shape).copy())
        return recorded, mass, min_q, clipped


def _estimate_error(result, sde, score, init_density, times, gamma, substeps, kwargs) -> None:
    """Two coarse runs: half the cells, half the substeps, and the operator frozen over pairs
    of steps, pairs starting at even (run 0) or odd (run 1) indices, so that every grid time
    ends a doubled step in one of them."""
    grid = result.grid
    coarse_grid = grid.coarsen()
    init = init_density
    if not callable(init_density):
        init = _restrict(_as_grid_array(init_density, grid, "init_density"), grid)
        if init is None:
            raise ValueError("estimate_error with an array init_density needs even n_cells")
    runs = [
        solve_reverse_fp(
            sde,
            score,
            init,
            times,
            gamma,
            bounds=grid.bounds,
            n_cells=coarse_grid.shape,
            substeps=max(1, substeps // 2),
            record=result.indices,
            _freeze_every=2,
            _freeze_offset=offset,
            **kwargs,
        )
        for offset in (0, 1)
    ]
    result.coarse = runs[0]
    result._coarse_alt = runs[1]
    agg = _restrict(result.densities, grid, batch=True)
    if agg is not None:
        cdv = coarse_grid.cell_volume
        n = len(result.indices)
        result.density_error = result._pick(
            *(np.abs(agg - r.densities).reshape(n, -1).sum(axis=1) * cdv for r in runs)
        )


def _restrict(q: np.ndarray, grid: Grid, batch: bool = False) -> np.ndarray | None:
    """Average ``2^d`` fine cells into one coarse cell (``None`` if a size is odd)."""
    if any(n % 2 for n in grid.shape):
        return None
    lead = q.shape[:1] if batch else ()
    shp = lead + tuple(x for n in grid.shape for x in (n // 2, 2))
    axes = tuple(len(lead) + 2 * k + 1 for k in range(grid.dim))
    return q.reshape(shp).mean(axis=axes)
