"""Vectorised particle samplers for the reverse family of a linear forward SDE.

Reverse family (Song et al. 2021, "Score-based generative modeling through SDEs", §4 and
App. D; arXiv 2506.11378 §2), in reverse time ``tau`` (forward time ``t`` decreasing):

    dY = [ -f(t) Y + (1 + gamma)/2 g2(t) s(Y, t) ] dtau + sqrt(gamma g2(t)) dW,

``gamma = 0`` the probability-flow ODE, ``gamma = 1`` the reverse SDE (Anderson 1982).

Grid ``t_0 > t_1 > ... > t_N`` (see ``verify.solvers.grids``); step ``k`` goes from
``t = t_k`` to ``s = t_{k+1}``. The methods (``euler``, ``exponential``, ``heun``, ``ddpm``,
``ancestral``, ``pc``), their update rules and their per-step coefficients are the records of
``verify.solvers.methods``; this module applies them to particles, e.g. for the affine methods
``y' = A_k y + B_k s(y, t_k) + C_k xi`` with a fresh standard normal ``xi`` per step and
particle. ``gamma`` is validated by ``verify.solvers.reverse.ReverseFamily``.

Randomness and reproducibility: with ``rng`` the normals are drawn chunk by chunk (outer
loop over chunks of ``chunk_size`` particles, inner loop over steps), so the output depends
on ``(seed, chunk_size)``. With an injected ``noise`` array (shape ``(N, n, d)``; for ``pc``
``(N, 1 + n_corrector, n, d)``, slot 0 for the predictor) or a ``BrownianPath`` (increments
``xi = (W(tau_{k+1}) - W(tau_k)) / sqrt(h)`` with ``tau = sde.T - t``) the output does not
depend on ``chunk_size`` (up to last-bit rounding of BLAS kernels inside the score, whose
blocking follows the array shape). Memory: the output ``(n, d)`` plus a few ``(chunk_size, d)``
buffers and whatever the score allocates per chunk (10^7 particles in d = 2: ~0.5 GiB).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..runtime.seeds import as_generator
from . import grids as _grids
from .brownian import BrownianPath
from .methods import METHODS, HeunSteps, PCSteps, get_method, step_tables
from .reverse import ReverseFamily

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from analytic import LinearSDE
    from analytic.sde import FloatOrArray

    from .types import Gamma

__all__ = [
    "METHODS",
    "NonFiniteError",
    "SampleResult",
    "reverse_sample",
    "step_coefficients",
    "step_integrals",
]


class NonFiniteError(ValueError):
    """A sampler produced NaN or inf; carries ``step`` (index k), ``t`` and ``method``."""

    def __init__(self, step: int, t: float, method: str, detail: str = "") -> None:
        self.step, self.t, self.method = step, t, method
        msg = (
            f"non-finite value in the particles after step k={step} (from t={t:.6g}) of method "
            f"{method!r}{detail}; reduce the step size, check the score near t, or start later"
        )
        super().__init__(msg)


@dataclass
class SampleResult:
    """Output of ``reverse_sample(..., return_trajectory=...)``.

    ``final``: (n, d) particles at ``times[-1]``; ``times``: the grid; ``trajectory``: grid
    index -> (n, d) particles at ``times[index]``.
    """

    final: np.ndarray
    times: np.ndarray
    trajectory: dict[int, np.ndarray] = field(default_factory=dict)


# ------------------------------------------------------------------ step coefficients
def step_integrals(sde: LinearSDE, s: ArrayLike, t: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """``(I1, I2)`` of the exponential step from ``t`` down to ``s``: ``sde.exponential_integrals``.

    Kept for the 0.1 API; the SDE owns its integrals.
    """
    return sde.exponential_integrals(s, t)


def step_coefficients(
    sde: LinearSDE, grid: ArrayLike, gamma: Gamma = 1.0, method: str = "euler"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-step scalars ``(A, B, C)`` of ``y' = A_k y + B_k s(y, t_k) + C_k xi`` (arrays (N,)).

    Defined for the affine methods ``euler``, ``exponential``, ``ddpm`` and ``ancestral``
    (``verify.solvers.methods``). Raises ``ValueError`` for a bad grid, gamma or method.
    """
    grid = _grids.validate(grid, sde)
    g = ReverseFamily(sde, None, gamma).gamma_at(grid[:-1])
    rec = get_method(method)
    if not rec.affine:
        affine = ", ".join(m for m in METHODS if METHODS[m].affine)
        raise ValueError(f"method {method!r} is not affine per step; affine methods: {affine}")
    steps = step_tables(sde, grid, g, method)
    return steps.A, steps.B, steps.C


# ----------------------------------------------------------------------- sampler
class _Noise:
    """Standard normals for step k, slot j (0 = predictor, 1.. = corrector), chunk rows."""

    def __init__(self, noise, rng, grid, sde, n, d, n_slots, method) -> None:
        self.rng, self.array, self.path = rng, None, None
        self.n_slots = n_slots
        if noise is None:
            return
        if isinstance(noise, BrownianPath):
            if noise.shape != (n, d):
                raise ValueError(
                    f"noise BrownianPath has shape {noise.shape}, x_T has shape {(n, d)}"
                )
            if method == "pc":
                raise ValueError(
                    "a BrownianPath cannot supply the corrector noise of method 'pc'; pass a "
                    "noise array of shape (N, 1 + n_corrector, n, d) or rng"
                )
            self.path = noise
            self.tau = float(sde.T) - grid
            self.sqrt_h = np.sqrt(grid[:-1] - grid[1:])
            return
        arr = np.asarray(noise, dtype=np.float64)
        N = grid.shape[0] - 1
        want = (N, n, d) if method != "pc" else (N, n_slots, n, d)
        if arr.shape != want:
            raise ValueError(
                f"noise array must have shape {want} (steps, {'slots, ' if method == 'pc' else ''}"
                f"particles, dim); got {arr.shape}"
            )
        self.array = arr if method == "pc" else arr[:, None]

    def fill(self, k, slot, lo, hi, out):
        if self.array is not None:
            out[...] = self.array[k, slot, lo:hi]
        elif self.path is not None:
            self.path.increment(self.tau[k], self.tau[k + 1], rows=slice(lo, hi), out=out)
            out /= self.sqrt_h[k]
        else:
            self.rng.standard_normal(out=out)
        return out


def _own(a, y):
    """``a`` as a writeable float64 array that does not alias the state ``y``."""
    if (
        isinstance(a, np.ndarray)
        and a.dtype == np.float64
        and a.flags.writeable
        and not np.may_share_memory(a, y)
    ):
        return a
    return np.array(a, dtype=np.float64)


def _check_finite(y, k, t, method):
    if not np.isfinite(np.sum(y)) and not np.all(np.isfinite(y)):
        raise NonFiniteError(k, t, method)


def reverse_sample(
    sde: LinearSDE,
    score: Callable,
    x_T: ArrayLike,
    grid: ArrayLike,
    gamma: Gamma = 1.0,
    method: str = "euler",
    rng: np.random.Generator | int | None = None,
    *,
    noise: np.ndarray | BrownianPath | None = None,
    chunk_size: int = 65536,
    return_trajectory: Iterable[int] | None = None,
    callback: Callable | None = None,
    predictor: str = "euler",
    snr: float = 0.16,
    n_corrector: int = 1,
    progress: bool = False,
) -> np.ndarray | SampleResult:
    """Run the reverse family from particles ``x_T`` along ``grid`` (module docstring).

    Parameters
    ----------
    sde : a forward SDE from ``analytic``.
    score : callable ``(x (m, d), t float) -> (m, d)``; called on chunks with scalar t.
    x_T : (n, d) starting particles at forward time ``grid[0]``.
    grid : strictly decreasing forward times (``verify.solvers.grids``).
    gamma : number >= 0 or callable of forward time (evaluated at each step's start).
    method : one of ``METHODS``.
    rng : numpy Generator or int seed; required when the run draws noise and ``noise`` is None.
    noise : injected standard normals, array ``(N, n, d)`` (``pc``: ``(N, 1 + n_corrector,
        n, d)``) or a ``BrownianPath`` of shape ``(n, d)`` (not for ``pc``).
    chunk_size : particles per chunk. With ``rng`` the output depends on ``(seed, chunk_size)``.
    return_trajectory : grid indices (0..N) whose particles to keep; then a ``SampleResult``
        is returned instead of the final array.
    callback : ``callback(k, t, y)`` after step k, with ``t = grid[k + 1]`` the time the
        particles ``y`` are now at; ``y`` is the current chunk (all particles if n <= chunk_size).
    predictor, snr, n_corrector : for ``method="pc"``.
    progress : show a progress bar over chunks on stderr.

    Returns
    -------
    (n, d) float64 array, or ``SampleResult`` when ``return_trajectory`` is given.

    Raises
    ------
    ValueError for bad input; ``NonFiniteError`` (a ``ValueError``) naming the step index,
    time and method when a particle becomes NaN or inf.
    """
    grid = _grids.validate(grid, sde)
    x = _check_start(x_T, score)
    n, d = x.shape
    chunk_size = _positive_int(chunk_size, "chunk_size")
    g = ReverseFamily(sde, score, gamma).gamma_at(grid[:-1])
    options = {}
    if method == "pc":
        options = {"predictor": predictor, "snr": snr, "n_corrector": n_corrector}
    get_method(method)
    tables = step_tables(sde, grid, g, method, **options)
    rng = as_generator(rng)
    if noise is None and tables.stochastic and rng is None:
        raise ValueError(
            f"method {method!r} with gamma = {gamma!r} draws noise: pass rng="
            "np.random.default_rng(seed) or an injected noise array / BrownianPath"
        )
    n_slots = 1 + (tables.n_corrector if method == "pc" else 0)
    src = _Noise(noise, rng, grid, sde, n, d, n_slots, method)
    record = _trajectory_buffers(return_trajectory, len(grid) - 1, n, d)

    out = np.array(x, dtype=np.float64, order="C", copy=True)
    chunks = range(0, n, chunk_size)
    if progress:
        from verify.runtime.progress import progress as _progress

        chunks = _progress(chunks, desc=f"reverse_sample[{method}]", total=len(chunks))
    run = _ChunkRun(score, grid, tables, src, method, callback, record, min(chunk_size, n), d)
    for lo in chunks:
        run(out, lo, min(lo + chunk_size, n))
    if record is not None:
        return SampleResult(final=out, times=grid.copy(), trajectory=record)
    return out


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_start(x_T, score) -> np.ndarray:
    x = np.asarray(x_T, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x_T must have shape (n, d), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x_T contains NaN or inf")
    dim = getattr(getattr(score, "p0", None), "dim", None)
    if dim is not None and dim != x.shape[1]:
        raise ValueError(
            f"x_T has dimension {x.shape[1]} but the score's data law has dimension {dim}"
        )
    return x


def _trajectory_buffers(return_trajectory, N: int, n: int, d: int):
    if return_trajectory is None:
        return None
    idx = sorted({int(i) for i in return_trajectory})
    if idx and (idx[0] < 0 or idx[-1] > N):
        raise ValueError(f"return_trajectory indices must lie in 0..{N}, got {idx}")
    return {i: np.empty((n, d)) for i in idx}


class _ChunkRun:
    """Runs every step on one chunk of particles, in place (reused buffers)."""

    def __init__(self, score, grid, tables, src, method, callback, record, m0, d) -> None:
        self.score, self.src, self.method = score, src, method
        self.callback, self.record = callback, record
        self.tk = [float(v) for v in grid]
        if isinstance(tables, PCSteps):
            self.pred, self.corr = tables.predictor, tables
        else:
            self.pred, self.corr = tables, None
        self.xi = np.empty((m0, d))
        self.tmp = np.empty((m0, d)) if isinstance(self.pred, HeunSteps) else None
        self.checked_shape = False

    def _score(self, y, t):
        sc = _own(self.score(y, t), y)
        if not self.checked_shape:
            if np.shape(sc) != y.shape:
                raise ValueError(
                    f"score returned shape {np.shape(sc)} for input of shape {y.shape}"
                )
            self.checked_shape = True
        return sc

    def _heun(self, y, k, t, s):
        p = self.pred
        # d1 = -f_t y + hg_t sc (kept in sc); y~ = y + h d1 (in tmp)
        sc = self._score(y, t)
        sc *= p.hg_t[k]
        if p.f_t[k] != 0.0:
            sc -= p.f_t[k] * y
        yt = self.tmp[: len(y)]
        np.multiply(sc, p.h[k], out=yt)
        yt += y
        sc2 = _own(self.score(yt, s), yt)
        sc2 *= p.hg_s[k]
        if p.f_s[k] != 0.0:
            yt *= p.f_s[k]
            sc2 -= yt
        sc += sc2
        sc *= 0.5 * p.h[k]
        y += sc

    def _affine(self, y, k, t, lo, hi):
        p, xb = self.pred, self.xi[: len(y)]
        sc = self._score(y, t)
        if p.A[k] != 1.0:
            y *= p.A[k]
        sc *= p.B[k]
        y += sc
        if p.C[k] > 0.0:
            self.src.fill(k, 0, lo, hi, xb)
            xb *= p.C[k]
            y += xb

    def _corrector(self, y, k, s, lo, hi):
        e = self.corr.eps[k]
        se, xb = math.sqrt(2.0 * e), self.xi[: len(y)]
        for j in range(1, 1 + self.corr.n_corrector):
            sc = _own(self.score(y, s), y)
            sc *= e
            y += sc
            self.src.fill(k, j, lo, hi, xb)
            xb *= se
            y += xb

    def __call__(self, out, lo, hi):
        # a diverging chain raises NonFiniteError (with its step and time), not warnings first
        with np.errstate(over="ignore", invalid="ignore"):
            self._steps(out, lo, hi)

    def _steps(self, out, lo, hi):
        y, record = out[lo:hi], self.record
        if record is not None and 0 in record:
            record[0][lo:hi] = y
        for k in range(len(self.tk) - 1):
            t, s = self.tk[k], self.tk[k + 1]
            if isinstance(self.pred, HeunSteps):
                self._heun(y, k, t, s)
            else:
                self._affine(y, k, t, lo, hi)
            if self.corr is not None and self.corr.active[k]:
                self._corrector(y, k, s, lo, hi)
            _check_finite(y, k, t, self.method)
            if record is not None and k + 1 in record:
                record[k + 1][lo:hi] = y
            if self.callback is not None:
                self.callback(k, s, y)
