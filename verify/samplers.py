"""Vectorised particle samplers for the reverse family of a linear forward SDE.

Reverse family (Song et al. 2021, "Score-based generative modeling through SDEs", §4 and
App. D; paper 1 of the notes), in reverse time ``tau`` (forward time ``t`` decreasing):

    dY = [ -f(t) Y + (1 + gamma)/2 g2(t) s(Y, t) ] dtau + sqrt(gamma g2(t)) dW,

``gamma = 0`` the probability-flow ODE, ``gamma = 1`` the reverse SDE (Anderson 1982).

Grid ``t_0 > t_1 > ... > t_N`` (see ``verify.grids``); step ``k`` goes from ``t = t_k`` to
``s = t_{k+1}``, ``h = t - s``; ``g = gamma(t)`` is evaluated at the step's start; ``xi`` is a
fresh standard normal per step and particle. Methods:

* ``"euler"`` (Euler-Maruyama):
  ``y' = y + h [-f(t) y + (1+g)/2 g2(t) s(y, t)] + sqrt(g g2(t) h) xi``.
* ``"exponential"`` (linear part exact, score and gamma frozen over the step):
  ``y' = (alpha(s)/alpha(t)) y + (1+g)/2 I1 s(y, t) + sqrt(g I2) xi`` with
  ``I1 = int_s^t (alpha(s)/alpha(u)) g2(u) du``, ``I2 = int_s^t (alpha(s)/alpha(u))^2 g2(u) du``
  (``step_integrals``).
* ``"heun"`` (gamma = 0; Karras et al. 2022, Alg. 1, on every step including one to s = 0):
  ``d(y, t) = -f(t) y + 1/2 g2(t) s(y, t)``, ``y~ = y + h d(y, t)``,
  ``y' = y + h/2 (d(y, t) + d(y~, s))``.
* ``"ddpm"`` (gamma = 1; Ho et al. 2020, Alg. 2 with sigma_t^2 = beta_t for VP, Song et al.'s
  reverse-diffusion predictor for VE): with ``(a, v) = transition(s, t)``,
  ``y' = (y + v s(y, t)) / a + sqrt(v) xi``.
* ``"ancestral"`` (DDIM family, Song, Meng, Ermon 2021, eq. 12, with ``eta = sqrt(g)``):
  ``x0 = (y + sigma2(t) s) / alpha(t)``, ``eps = (y - alpha(t) x0) / sqrt(sigma2(t))``,
  ``c2 = g sigma2(s) v / sigma2(t)``,
  ``y' = alpha(s) x0 + sqrt(sigma2(s) - c2) eps + sqrt(c2) xi``.
  ``g = 1`` is the DDPM posterior (beta-tilde) step, ``g = 0`` is DDIM; in EDM/VE form this is
  k-diffusion's ``sample_euler_ancestral`` with ``eta = sqrt(g)`` (``verify.conventions``).
* ``"pc"`` (Song et al. 2021, Alg. 2/3): the ``predictor`` (any method above, same gamma),
  then ``n_corrector`` Langevin steps at time ``s``: ``y <- y + eps s(y, s) + sqrt(2 eps) xi'``
  with ``eps = 2 snr^2 sigma2(s)`` (a deterministic version of Song et al.'s step-size rule,
  which uses ``||z|| / ||s|| ~ sqrt(sigma2)``); skipped when ``sigma2(s) = 0``.

All but ``heun`` and the corrector are affine in ``(y, s(y, t), xi)`` with per-step scalar
coefficients: ``y' = A_k y + B_k s(y, t_k) + C_k xi`` (``step_coefficients``); this is the
form ``verify.exact`` propagates exactly for Gaussian data.

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

import numpy as np

from . import grids as _grids
from .brownian import BrownianPath

__all__ = [
    "METHODS",
    "NonFiniteError",
    "SampleResult",
    "reverse_sample",
    "step_coefficients",
    "step_integrals",
]

METHODS = ("euler", "exponential", "heun", "ddpm", "ancestral", "pc")
_LINEAR = ("euler", "exponential", "ddpm", "ancestral")

# 32-point Gauss-Legendre rule on [-1, 1]
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)


class NonFiniteError(ValueError):
    """A sampler produced NaN or inf; carries ``step`` (index k), ``t`` and ``method``."""

    def __init__(self, step: int, t: float, method: str, detail: str = ""):
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


# ------------------------------------------------------------------ step integrals
def step_integrals(sde, s, t):
    """``(I1, I2)`` of the exponential step from forward time ``t`` down to ``s <= t``.

    ``I1 = int_s^t (alpha(s)/alpha(u)) g2(u) du``, ``I2 = int_s^t (alpha(s)/alpha(u))^2 g2(u) du``.

    ``I2 = v / a^2`` with ``(a, v) = sde.transition(s, t)`` (cancellation-free for presets).
    ``I1`` in closed form: VP ``2 expm1((B(t) - B(s))/2)``; OU ``2 expm1(t - s)``; VE and EDM
    (alpha = 1) ``I1 = I2 = v``; otherwise (SubVP, any ``LinearSDE``) 32-point Gauss-Legendre
    quadrature on ``[s, t]``. Vectorised over ``s`` and ``t`` (broadcast).
    """
    from analytic import EDM, OU, VE, VP

    s = np.asarray(s, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    a, v = sde.transition(s, t)
    a, v = np.asarray(a, dtype=np.float64), np.asarray(v, dtype=np.float64)
    I2 = v / (a * a)
    if isinstance(sde, VP):
        b0, b1 = sde.beta_min, sde.beta_max
        dB = (t - s) * (b0 + 0.5 * (b1 - b0) * (t + s))
        I1 = 2.0 * np.expm1(0.5 * dB)
    elif isinstance(sde, OU):
        I1 = 2.0 * np.expm1(t - s)
    elif isinstance(sde, VE | EDM):
        I1 = np.broadcast_to(v, I2.shape).copy()
    else:
        s_, t_ = np.broadcast_arrays(s, t)
        mid, half = 0.5 * (t_ + s_), 0.5 * (t_ - s_)
        u = mid[..., None] + half[..., None] * _GL_X
        alpha_s = np.asarray(sde.alpha(s_), dtype=np.float64)[..., None]
        integrand = alpha_s / np.asarray(sde.alpha(u)) * np.asarray(sde.g2(u))
        I1 = half * np.sum(integrand * _GL_W, axis=-1)
    return I1[()], I2[()]


# -------------------------------------------------------------- coefficient tables
def _gammas(gamma, grid: np.ndarray) -> np.ndarray:
    """``gamma(t_k)`` at every step start ``t_k`` (k = 0..N-1), validated."""
    starts = grid[:-1]
    if callable(gamma):
        g = np.array([float(gamma(float(t))) for t in starts], dtype=np.float64)
    else:
        try:
            g0 = float(gamma)
        except (TypeError, ValueError):
            raise ValueError(
                f"gamma must be a number >= 0 or a callable of t, got {gamma!r}"
            ) from None
        g = np.full(starts.shape, g0)
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        k = int(np.argmax(~np.isfinite(g) | (g < 0)))
        raise ValueError(
            f"gamma must be finite and >= 0; gamma(t={starts[k]:g}) = {g[k]!r} at step {k}"
        )
    return g


def step_coefficients(sde, grid, gamma=1.0, method: str = "euler"):
    """Per-step scalars ``(A, B, C)`` of ``y' = A_k y + B_k s(y, t_k) + C_k xi`` (arrays (N,)).

    Defined for the affine methods ``euler``, ``exponential``, ``ddpm`` and ``ancestral``
    (module docstring). Raises ``ValueError`` for a bad grid, gamma or method constraint.
    """
    grid = _grids.validate(grid, sde)
    g = _gammas(gamma, grid)
    return _linear_coefficients(sde, grid, g, method)


def _linear_coefficients(sde, grid, g, method):
    t, s = grid[:-1], grid[1:]
    h = t - s
    if method == "euler":
        g2t = np.asarray(sde.g2(t), dtype=np.float64)
        A = 1.0 - h * np.asarray(sde.f(t), dtype=np.float64)
        B = h * 0.5 * (1.0 + g) * g2t
        C = np.sqrt(g * g2t * h)
    elif method == "exponential":
        a, _ = sde.transition(s, t)
        I1, I2 = step_integrals(sde, s, t)
        A = 1.0 / np.asarray(a, dtype=np.float64)
        B = 0.5 * (1.0 + g) * I1
        C = np.sqrt(g * I2)
    elif method == "ddpm":
        if np.any(g != 1.0):
            raise ValueError(f"method 'ddpm' needs gamma = 1 (got gamma = {g[g != 1.0][0]!r})")
        a, v = sde.transition(s, t)
        a, v = np.asarray(a, dtype=np.float64), np.asarray(v, dtype=np.float64)
        A, B, C = 1.0 / a, v / a, np.sqrt(v)
    elif method == "ancestral":
        a, v = sde.transition(s, t)
        a, v = np.asarray(a, dtype=np.float64), np.asarray(v, dtype=np.float64)
        s2t = np.asarray(sde.sigma2(t), dtype=np.float64)
        s2s = np.asarray(sde.sigma2(s), dtype=np.float64)
        if np.any(s2t <= 0):
            k = int(np.argmax(s2t <= 0))
            raise ValueError(
                f"method 'ancestral' needs sigma2(t) > 0 at every step start; "
                f"sigma2({t[k]:g}) = 0 at step {k}"
            )
        c2 = g * s2s * v / s2t
        bad = c2 > s2s * (1.0 + 1e-12)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValueError(
                f"method 'ancestral': gamma = {g[k]:g} at step {k} (t={t[k]:g} -> s={s[k]:g}) "
                f"asks for more noise c2 = {c2[k]:g} than sigma2(s) = {s2s[k]:g}; lower gamma "
                "or refine the grid"
            )
        c2 = np.minimum(c2, s2s)
        A = 1.0 / a  # alpha(s) / alpha(t)
        rt = np.sqrt(s2t)
        rest = np.sqrt(s2s - c2)
        # B = A sigma2(t) - sqrt((sigma2(s) - c2) sigma2(t)), without cancellation:
        # A^2 sigma2(t) - sigma2(s) = v / a^2.
        B = rt * (v / (a * a) + c2) / (A * rt + rest)
        C = np.sqrt(c2)
    else:
        raise ValueError(
            f"method {method!r} is not affine per step; affine methods: {', '.join(_LINEAR)}"
        )
    return (
        np.asarray(A, dtype=np.float64),
        np.asarray(B, dtype=np.float64),
        np.asarray(C, dtype=np.float64),
    )


# ----------------------------------------------------------------------- sampler
class _Noise:
    """Standard normals for step k, slot j (0 = predictor, 1.. = corrector), chunk rows."""

    def __init__(self, noise, rng, grid, sde, n, d, n_slots, method):
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
    sde,
    score: Callable,
    x_T,
    grid,
    gamma=1.0,
    method: str = "euler",
    rng: np.random.Generator | None = None,
    *,
    noise=None,
    chunk_size: int = 65536,
    return_trajectory: Iterable[int] | None = None,
    callback: Callable | None = None,
    predictor: str = "euler",
    snr: float = 0.16,
    n_corrector: int = 1,
    progress: bool = False,
):
    """Run the reverse family from particles ``x_T`` along ``grid`` (module docstring).

    Parameters
    ----------
    sde : a forward SDE from ``analytic``.
    score : callable ``(x (m, d), t float) -> (m, d)``; called on chunks with scalar t.
    x_T : (n, d) starting particles at forward time ``grid[0]``.
    grid : strictly decreasing forward times (``verify.grids``).
    gamma : number >= 0 or callable of forward time (evaluated at each step's start).
    method : one of ``METHODS``.
    rng : numpy Generator; required when the run draws noise and ``noise`` is None.
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
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    grid = _grids.validate(grid, sde)
    N = grid.shape[0] - 1
    x = np.asarray(x_T, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x_T must have shape (n, d), got {x.shape}")
    n, d = x.shape
    if not np.all(np.isfinite(x)):
        raise ValueError("x_T contains NaN or inf")
    dim = getattr(getattr(score, "p0", None), "dim", None)
    if dim is not None and dim != d:
        raise ValueError(f"x_T has dimension {d} but the score's data law has dimension {dim}")
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    g = _gammas(gamma, grid)

    # ---- per-step tables
    pred = predictor if method == "pc" else method
    if method == "pc":
        if predictor not in METHODS or predictor == "pc":
            raise ValueError(
                f"predictor must be one of {', '.join(m for m in METHODS if m != 'pc')}, "
                f"got {predictor!r}"
            )
        n_corrector = int(n_corrector)
        if n_corrector < 0:
            raise ValueError(f"n_corrector must be >= 0, got {n_corrector}")
        snr = float(snr)
        if not (np.isfinite(snr) and snr >= 0):
            raise ValueError(f"snr must be finite and >= 0, got {snr}")
        s2s = np.asarray(sde.sigma2(grid[1:]), dtype=np.float64)
        eps = 2.0 * snr * snr * s2s
        do_corr = (s2s > 0) & (eps > 0) & (n_corrector > 0)
    else:
        n_corrector = 0
        do_corr = np.zeros(N, dtype=bool)
        eps = np.zeros(N)
    if pred == "heun":
        if np.any(g != 0):
            raise ValueError(f"method 'heun' needs gamma = 0 (probability-flow ODE), got {gamma!r}")
        t, s = grid[:-1], grid[1:]
        heun = (
            np.asarray(sde.f(t), dtype=np.float64),
            0.5 * np.asarray(sde.g2(t), dtype=np.float64),
            np.asarray(sde.f(s), dtype=np.float64),
            0.5 * np.asarray(sde.g2(s), dtype=np.float64),
            t - s,
        )
        C = np.zeros(N)
    else:
        A, B, C = _linear_coefficients(sde, grid, g, pred)
    stochastic = bool(np.any(C > 0) or np.any(do_corr))
    n_slots = 1 + n_corrector
    if noise is None and stochastic and not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"method {method!r} with gamma = {gamma!r} draws noise: pass rng="
            "np.random.default_rng(seed) or an injected noise array / BrownianPath"
        )
    src = _Noise(noise, rng, grid, sde, n, d, n_slots, method)

    record = None
    if return_trajectory is not None:
        idx = sorted({int(i) for i in return_trajectory})
        if idx and (idx[0] < 0 or idx[-1] > N):
            raise ValueError(f"return_trajectory indices must lie in 0..{N}, got {idx}")
        record = {i: np.empty((n, d)) for i in idx}

    out = np.array(x, dtype=np.float64, order="C", copy=True)
    m0 = min(chunk_size, n)
    xi = np.empty((m0, d))
    tmp = np.empty((m0, d)) if pred == "heun" else None
    chunks = range(0, n, chunk_size)
    if progress:
        from .progress import progress as _progress

        chunks = _progress(chunks, desc=f"reverse_sample[{method}]", total=len(chunks))
    tk = [float(v) for v in grid]
    checked_shape = False
    for lo in chunks:
        hi = min(lo + chunk_size, n)
        m = hi - lo
        y = out[lo:hi]
        xb = xi[:m]
        if record is not None and 0 in record:
            record[0][lo:hi] = y
        for k in range(N):
            t, s = tk[k], tk[k + 1]
            sc = _own(score(y, t), y)
            if not checked_shape:
                if np.shape(sc) != (m, d):
                    raise ValueError(
                        f"score returned shape {np.shape(sc)} for input of shape {(m, d)}"
                    )
                checked_shape = True
            if pred == "heun":
                f_t, hg_t, f_s, hg_s, hk = (c[k] for c in heun)
                # d1 = -f_t y + hg_t sc  (kept in sc); y~ = y + h d1 (in tmp)
                sc *= hg_t
                if f_t != 0.0:
                    sc -= f_t * y
                yt = tmp[:m]
                np.multiply(sc, hk, out=yt)
                yt += y
                sc2 = _own(score(yt, s), yt)
                sc2 *= hg_s
                if f_s != 0.0:
                    yt *= f_s
                    sc2 -= yt
                sc += sc2
                sc *= 0.5 * hk
                y += sc
            else:
                if A[k] != 1.0:
                    y *= A[k]
                sc *= B[k]
                y += sc
                if C[k] > 0.0:
                    src.fill(k, 0, lo, hi, xb)
                    xb *= C[k]
                    y += xb
            if do_corr[k]:
                e = eps[k]
                se = math.sqrt(2.0 * e)
                for j in range(1, n_slots):
                    sc = _own(score(y, s), y)
                    sc *= e
                    y += sc
                    src.fill(k, j, lo, hi, xb)
                    xb *= se
                    y += xb
            _check_finite(y, k, t, method)
            if record is not None and k + 1 in record:
                record[k + 1][lo:hi] = y
            if callback is not None:
                callback(k, s, y)
    if record is not None:
        return SampleResult(final=out, times=grid.copy(), trajectory=record)
    return out
