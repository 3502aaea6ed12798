r"""Score errors as a common-noise source: particles, the density SPDE and its quadratic variation.

Paper 3 (Seo, "Modeling Score Approximation Errors in Diffusion Models via Forward SPDEs",
arXiv 2602.08579). The paper's equations were not available: every formula here is the
standard stochastic Fokker-Planck calculus it rests on, derived in docs/claims/spde.md.

Model. The sampler runs the reverse family (docs/theory.md#the-reverse-family; the drift comes
from :class:`verify.solvers.reverse.ReverseFamily`, ``tau = T - t``)

    dY = b*(Y, t) dtau + sum_k sigma_k(Y, t) o dB^k + sqrt(gamma g2(t)) dW,
    b*(y, t) = -f(t) y + (1 + gamma)/2 g2(t) s(y, t),

where the score error ``eps dtau = sum_k sigma_k o dB^k`` is driven by a few Brownian motions
``B^k`` **shared by all particles** (Stratonovich, ``o``), while ``W`` is independent per
particle. ``s`` may itself carry a deterministic error (``verify.errors``); those errors add
no noise and are the contrast. The density ``u_tau`` of the particles given ``B`` solves
(Ito form)

    du = [-div(b* u) + D lap u + 1/2 sum_k div(sigma_k div(sigma_k u))] dtau
         - sum_k div(sigma_k u) dB^k,                        D = gamma g2 / 2,

so for a test function ``phi``, ``d<u, phi> = <u, L* phi> dtau + sum_k <u, sigma_k . grad phi>
dB^k`` and the quadratic variation of the projection has the rate

    d[<u, phi>]_tau / dtau = sum_k <u_tau, sigma_k . grad phi>^2.               (QV)

For ``N`` particles the empirical projection ``phi_bar = (1/N) sum_i phi(Y_i)`` has in addition
the independent-noise part ``gamma g2 <u^N, |grad phi|^2> / N`` (the ``O(1/N)`` term).
Radial test functions ``phi(x) = psi(|x|)`` have ``grad phi = psi'(|x|) x/|x|``: for
``phi = |x|^2`` (``grad phi = 2x``) and a constant field ``sigma = c`` the rate is
``4 (c . E_u x)^2``, zero for a centred law (the radial blind spot), and a rotation field
``sigma = J x`` (``J`` antisymmetric) has ``sigma . grad phi = 0`` for every radial ``phi``.

Numerics.

* :func:`sample_common_noise`: Euler-Maruyama for ``b*`` and ``W`` (coefficients at the step's
  start, as ``reverse_sample(method="euler")``), stochastic Heun for the common-noise term
  (``e0 = sum_k sigma_k(y) dB^k``, ``incr = (e0 + sum_k sigma_k(y + e0) dB^k)/2``), which
  converges to the Stratonovich equation. Vectorised over ``R`` independent replicates
  (``x_T`` of shape ``(R, N, d)``, one common path each). It records at every node the
  projections ``<u^N, phi>`` and both predicted rates, and the antithetic martingale increment
  ``(<u^N, phi>(Y+) - <u^N, phi>(Y-)) / 2`` (``Y-`` the same step with ``dW`` and ``dB``
  negated): its square has conditional mean ``rate h + O(h^2)``, whereas the raw squared
  increment carries the squared drift ``O(h^2)`` per step, not small against ``O(h/N)``.
* :func:`solve_spde_1d`: the SPDE of ``u`` in 1-D on the finite-volume grid of
  ``verify.solvers.fokker_planck`` (rung 3, docs/theory.md#the-fokker-planck-grid): on each
  step the common noise enters as the frozen drift ``sum_k sigma_k(x) dB^k_j / h_j``
  (Wong-Zakai, which converges to the Stratonovich SPDE). Same ``dB`` as the particles: the
  grid density is the ``N -> infinity`` limit of the particles for that Brownian path.
* :func:`quadratic_variation`: realised ``sum_j (Delta_j <u, phi>)^2`` over the first
  ``ceil(window n_steps)`` steps (default ``window = 0.1``: the "initial 10%" of the
  trajectory) and the matching integral of the predicted rate (left-point rule).
* :func:`w2_gaussian` (closed-form ``W2^2`` between Gaussians), :func:`spearman_bootstrap`
  and :func:`spearman_replicates` (Spearman's rho with bootstrap CIs).
* The exact conditional laws given ``B`` for Gaussian data and affine fields are in
  :mod:`verify.theory.gaussian_paths`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from analytic import LinearSDE
from verify.solvers.fokker_planck import FPResult, solve_reverse_fp
from verify.solvers.reverse import ReverseFamily

__all__ = [
    "RadialTest",
    "radial_square",
    "radial_bump",
    "default_tests",
    "ConstantField",
    "LinearField",
    "BumpField",
    "CommonNoise",
    "CommonNoiseResult",
    "sample_common_noise",
    "brownian_increments",
    "solve_spde_1d",
    "grid_projections",
    "quadratic_variation",
    "w2_gaussian",
    "spearman_bootstrap",
    "martingale_ratio",
    "expected_constant_field_qv",
    "Langevin",
    "HalfScore",
    "neg_log_hessian_1d",
    "entropy_budget",
]


# ------------------------------------------------------------------ radial test functions
@dataclass(frozen=True)
class RadialTest:
    """A radial test function ``phi(x) = psi(|x|)``: ``kind`` ``"square"`` (``|x|^2``) or
    ``"bump"`` (``exp(-|x|^2 / (2 width^2))``)."""

    kind: str
    width: float = 1.0

    def __post_init__(self):
        if self.kind not in ("square", "bump"):
            raise ValueError(f"kind must be 'square' or 'bump', got {self.kind!r}")
        if not (self.width > 0 and math.isfinite(self.width)):
            raise ValueError(f"width must be finite and > 0, got {self.width!r}")

    @property
    def name(self) -> str:
        return "|x|^2" if self.kind == "square" else f"bump(w={self.width:g})"

    def value(self, x: np.ndarray) -> np.ndarray:
        """``phi(x)`` for points ``x`` of shape ``(..., d)``: shape ``(...)``."""
        r2 = np.einsum("...i,...i->...", x, x)
        return r2 if self.kind == "square" else np.exp(-0.5 * r2 / self.width**2)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``grad phi(x)``, shape ``(..., d)``."""
        return x * np.asarray(self.grad_factor(self.value(x)))[..., None]

    def value_from_r2(self, r2: np.ndarray) -> np.ndarray:
        """``psi`` as a function of ``|x|^2``."""
        return r2 if self.kind == "square" else np.exp(-0.5 * r2 / self.width**2)

    def grad_factor(self, value: np.ndarray):
        """``k`` with ``grad phi(x) = k x``: ``2`` for ``|x|^2``, ``-phi / w^2`` for a bump."""
        return 2.0 if self.kind == "square" else -value / self.width**2


def radial_square() -> RadialTest:
    """``phi = |x|^2``, ``grad phi = 2x``."""
    return RadialTest("square")


def radial_bump(width: float) -> RadialTest:
    """``phi = exp(-|x|^2/(2 w^2))``, ``grad phi = -x phi / w^2``."""
    return RadialTest("bump", float(width))


def default_tests() -> list[RadialTest]:
    """``|x|^2`` and Gaussian bumps of widths 0.5, 1, 2."""
    return [radial_square(), radial_bump(0.5), radial_bump(1.0), radial_bump(2.0)]


# ------------------------------------------------------------------ common-noise fields
PROFILE_KINDS = ("flat", "late", "early")


@dataclass(frozen=True)
class TimeProfile:
    """A multiplier ``lambda(t)`` of a field's size over forward time ``t in [0, T]``.

    ``"flat"``: ``1``; ``"late"``: ``1 + amp (1 - t/T)^2`` (the error grows as ``t -> 0``, as a
    learned score's raw error does); ``"early"``: ``1 + amp (t/T)^2`` (largest at high noise).
    """

    kind: str = "flat"
    amp: float = 3.0
    T: float = 1.0

    def __post_init__(self):
        if self.kind not in PROFILE_KINDS:
            raise ValueError(f"kind must be one of {PROFILE_KINDS}, got {self.kind!r}")
        if not (math.isfinite(self.amp) and self.amp >= 0 and self.T > 0):
            raise ValueError(f"need amp >= 0 and T > 0, got {self.amp!r}, {self.T!r}")

    def __call__(self, t) -> float:
        u = float(t) / self.T
        if self.kind == "flat":
            return 1.0
        return 1.0 + self.amp * ((1.0 - u) ** 2 if self.kind == "late" else u**2)


def _lam(profile, t) -> float:
    return 1.0 if profile is None else float(profile(t))


@dataclass(frozen=True)
class ConstantField:
    """``sigma(x, t) = lambda(t) c`` (a random constant drift error ``c dB``)."""

    c: tuple
    profile: TimeProfile | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        c = _lam(self.profile, t) * np.asarray(self.c, dtype=np.float64)
        return np.broadcast_to(c, x.shape)

    def affine(self, t: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(A, c)`` with ``sigma(x, t) = A x + c``."""
        return np.zeros((dim, dim)), _lam(self.profile, t) * _vec(self.c, dim)


@dataclass(frozen=True)
class LinearField:
    """``sigma(x, t) = lambda(t) A (x - center)``: ``A = a I`` dilation, ``A = a J``
    (antisymmetric) rotation."""

    A: tuple
    center: tuple | None = None
    profile: TimeProfile | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        A = _lam(self.profile, t) * np.asarray(self.A, dtype=np.float64)
        y = x if self.center is None else x - np.asarray(self.center, dtype=np.float64)
        return y @ A.T

    def affine(self, t: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(A', c')`` with ``sigma(x, t) = A' x + c'``."""
        A = _lam(self.profile, t) * np.asarray(self.A, dtype=np.float64)
        if A.shape != (dim, dim):
            raise ValueError(f"A has shape {A.shape}, need ({dim}, {dim})")
        c = np.zeros(dim) if self.center is None else -A @ _vec(self.center, dim)
        return A, c


@dataclass(frozen=True)
class BumpField:
    """``sigma(x, t) = lambda(t) c exp(-|x - center|^2 / (2 width^2))`` (a localised error)."""

    c: tuple
    center: tuple
    width: float
    profile: TimeProfile | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        d = x - np.asarray(self.center, dtype=np.float64)
        w = np.exp(-0.5 * np.einsum("...i,...i->...", d, d) / self.width**2)
        return w[..., None] * (_lam(self.profile, t) * np.asarray(self.c, dtype=np.float64))


def _vec(c, dim: int) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    if c.shape != (dim,):
        raise ValueError(f"vector has shape {c.shape}, need ({dim},)")
    return c


@dataclass(frozen=True)
class CommonNoise:
    """The error field ``sum_k sigma_k(x, t) o dB^k``: a tuple of field callables
    ``sigma_k(x (..., d), t) -> (..., d)`` (e.g. :class:`ConstantField`, :class:`LinearField`,
    :class:`BumpField`), each driven by its own Brownian motion shared by all particles."""

    fields: tuple = ()

    @property
    def n(self) -> int:
        return len(self.fields)

    def increment(self, x: np.ndarray, t: float, dB: np.ndarray, values=None) -> np.ndarray:
        """``sum_k sigma_k(x, t) dB^k`` for one step: ``x`` ``(N, d)`` with ``dB`` ``(K,)``, or
        ``x`` ``(R, N, d)`` with ``dB`` ``(R, K)`` (one common increment per replicate).
        ``values``: the fields ``sigma_k(x, t)`` if already computed."""
        dB = np.asarray(dB, dtype=np.float64)
        out = np.zeros_like(x)
        for k, fld in enumerate(self.fields):
            coef = dB[..., k]
            if np.any(coef != 0.0):
                v = fld(x, t) if values is None else values[k]
                out += v * (coef if coef.ndim == 0 else coef[:, None, None])
        return out

    @property
    def time_independent(self) -> bool:
        """True when no field has a time profile (``sigma_k(x, t) = sigma_k(x)``)."""
        return all(getattr(f, "profile", None) is None for f in self.fields)

    def affine_parts(self, t: float, dim: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(A_k, c_k)]`` with ``sigma_k(x, t) = A_k x + c_k``; ``ValueError`` if a field is
        not affine (a :class:`BumpField`)."""
        out = []
        for fld in self.fields:
            if not hasattr(fld, "affine"):
                raise ValueError(f"{type(fld).__name__} is not an affine field")
            out.append(fld.affine(t, dim))
        return out


def brownian_increments(
    grid, n_fields: int, rng: np.random.Generator, n_paths: int | None = None
) -> np.ndarray:
    """Independent ``N(0, h_j)`` increments over the reverse-time steps ``h_j = t_j - t_{j+1}``
    of ``grid``: shape ``(n_steps, n_fields)``, or ``(n_paths, n_steps, n_fields)``."""
    h = -np.diff(np.asarray(grid, dtype=np.float64))
    if n_paths is None:
        return rng.standard_normal((h.size, int(n_fields))) * np.sqrt(h)[:, None]
    return rng.standard_normal((int(n_paths), h.size, int(n_fields))) * np.sqrt(h)[:, None]


def _check_grid(grid) -> np.ndarray:
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if grid.size < 2 or not np.all(np.diff(grid) < 0):
        raise ValueError("grid must hold >= 2 forward times, strictly decreasing")
    return grid


def _check_dB(dB, grid: np.ndarray, noise: CommonNoise, n_paths: int | None = None) -> np.ndarray:
    dB = np.asarray(dB, dtype=np.float64)
    shape = (grid.size - 1, noise.n) if n_paths is None else (n_paths, grid.size - 1, noise.n)
    if dB.shape != shape:
        raise ValueError(f"dB must have shape {shape} ((replicates,) n_steps, n_fields)")
    if not np.all(np.isfinite(dB)):
        raise ValueError("dB must be finite")
    return dB


# ------------------------------------------------------------------ particles
@dataclass
class CommonNoiseResult:
    """Output of :func:`sample_common_noise` (arrays gain a leading replicate axis ``R``
    when the start was ``(R, N, d)``).

    ``x`` final particles ``(N, d)``; ``times`` the grid; ``h`` the step lengths;
    ``tests`` the radial test functions; ``proj[i, j] = <u^N_j, phi_i>`` at node ``j``;
    ``common_rate[i, j] = sum_k <u^N_j, sigma_k . grad phi_i>^2``;
    ``indep_rate[i, j] = gamma g2 <u^N_j, |grad phi_i|^2> / N``; ``mart[i, j]`` the
    antithetic martingale part of the increment of step ``j`` (half the difference of
    ``<u^N, phi_i>`` after the step and after the same step with every noise negated;
    ``E[mart^2 | state] = (rates) h + O(h^2)``); ``means[j]`` and ``covs[j]`` the particle
    mean and covariance at node ``j``; ``dB`` the common increments used.
    """

    x: np.ndarray
    times: np.ndarray
    h: np.ndarray
    tests: list
    proj: np.ndarray
    common_rate: np.ndarray
    indep_rate: np.ndarray
    mart: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    dB: np.ndarray

    def qv(self, window: float = 0.1) -> dict:
        """Per test function: realised QV of the projection over the first ``window`` of the
        steps and the predicted common / independent parts (see :func:`quadratic_variation`)."""
        return quadratic_variation(self.proj, self.h, window, self.common_rate, self.indep_rate)


class _Recorder:
    """Per-node projections, rates and moments of a batch ``y`` (R, N, d)."""

    def __init__(self, tests, noise, R, n_nodes, d, gamma):
        self.tests, self.noise, self.gamma = tests, noise, gamma
        m = len(tests)
        self.proj = np.empty((R, m, n_nodes))
        self.common = np.zeros((R, m, n_nodes))
        self.indep = np.empty((R, m, n_nodes))
        self.mart = np.empty((R, m, n_nodes - 1))
        self.means = np.empty((R, n_nodes, d))
        self.covs = np.empty((R, n_nodes, d, d))

    def observe(self, y, j, g2, sig) -> None:
        n = y.shape[1]
        r2 = np.einsum("rni,rni->rn", y, y)
        sx = [np.einsum("rni,rni->rn", v, y) for v in sig]
        for i, phi in enumerate(self.tests):
            val = phi.value_from_r2(r2)
            k = phi.grad_factor(val)
            self.proj[:, i, j] = val.mean(axis=1)
            self.indep[:, i, j] = self.gamma * g2 * (k * k * r2).mean(axis=1) / n
            for v in sx:
                self.common[:, i, j] += (k * v).mean(axis=1) ** 2
        mean = y.mean(axis=1)
        yc = y - mean[:, None, :]
        self.means[:, j] = mean
        self.covs[:, j] = np.einsum("rni,rnj->rij", yc, yc) / (n - 1)

    def antithetic(self, y_plus, y_minus, j) -> None:
        r2p = np.einsum("rni,rni->rn", y_plus, y_plus)
        r2m = np.einsum("rni,rni->rn", y_minus, y_minus)
        for i, phi in enumerate(self.tests):
            vp, vm = phi.value_from_r2(r2p), phi.value_from_r2(r2m)
            self.mart[:, i, j] = 0.5 * (vp.mean(axis=1) - vm.mean(axis=1))


def _check_start(x_T) -> tuple[np.ndarray, bool]:
    y = np.array(x_T, dtype=np.float64)
    batched = y.ndim == 3
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3 or y.shape[1] < 2:
        raise ValueError("x_T must have shape (N, d) or (R, N, d) with N >= 2")
    return y, batched


def sample_common_noise(
    sde,
    score: Callable[[np.ndarray, float], np.ndarray],
    x_T: np.ndarray,
    grid,
    noise: CommonNoise | None = None,
    gamma: float = 1.0,
    *,
    rng: np.random.Generator,
    dB: np.ndarray | None = None,
    tests: Sequence[RadialTest] | None = None,
) -> CommonNoiseResult:
    """Run ``N`` particles of the reverse family with a common-noise score error (module doc).

    ``x_T`` ``(N, d)`` start, or ``(R, N, d)``: ``R`` independent replicates, each with its
    own common path; ``grid`` forward times decreasing from ``T``; ``noise`` the error field
    (``None``: no common noise); ``gamma >= 0`` constant stochasticity of the independent
    noise; ``rng`` for the independent normals (and ``dB`` if not given); ``dB``
    ``(n_steps, K)`` (or ``(R, n_steps, K)``) common increments (share them with
    :func:`solve_spde_1d`); ``tests`` the radial test functions (default :func:`default_tests`).
    ``score`` gets the particles of all replicates as one ``(R N, d)`` array.
    Raises ``ValueError`` for bad input and ``FloatingPointError`` naming the step if a
    particle becomes non-finite.
    """
    grid = _check_grid(grid)
    y, batched = _check_start(x_T)
    family = ReverseFamily(sde, score, gamma)
    if not family.constant_gamma:
        raise ValueError("gamma must be a constant number >= 0 here")
    gamma = family.gamma
    noise = CommonNoise() if noise is None else noise
    R, n, d = y.shape
    paths = R if batched else None
    if dB is None:
        dB = brownian_increments(grid, noise.n, rng, paths)
    dB = _check_dB(dB, grid, noise, paths).reshape(R, grid.size - 1, noise.n)
    tests = default_tests() if tests is None else list(tests)
    rec = _Recorder(tests, noise, R, grid.size, d, gamma)
    g2s = np.asarray(sde.g2(grid), dtype=np.float64) * np.ones_like(grid)
    for j in range(grid.size - 1):
        t, h = grid[j], grid[j] - grid[j + 1]
        sig = [fld(y, t) for fld in noise.fields]  # shared by observe and both Heun branches
        rec.observe(y, j, g2s[j], sig)
        base = y + h * family.drift(y.reshape(R * n, d), t).reshape(R, n, d)
        plus, minus = np.zeros_like(y), np.zeros_like(y)
        if gamma > 0:
            z = math.sqrt(gamma * g2s[j] * h) * rng.standard_normal(y.shape)
            plus += z
            minus -= z
        if noise.n:
            for sign, acc in ((1.0, plus), (-1.0, minus)):
                e0 = noise.increment(y, t, sign * dB[:, j], sig)
                acc += 0.5 * (e0 + noise.increment(y + e0, t, sign * dB[:, j]))
        y_minus, y = base + minus, base + plus
        rec.antithetic(y, y_minus, j)
        if not np.all(np.isfinite(y)):
            raise FloatingPointError(f"particles became non-finite at step {j + 1} (t={t})")
    rec.observe(y, grid.size - 1, g2s[-1], [fld(y, grid[-1]) for fld in noise.fields])
    first = (lambda a: a) if batched else (lambda a: a[0])
    return CommonNoiseResult(
        x=first(y),
        times=grid,
        h=-np.diff(grid),
        tests=tests,
        proj=first(rec.proj),
        common_rate=first(rec.common),
        indep_rate=first(rec.indep),
        mart=first(rec.mart),
        means=first(rec.means),
        covs=first(rec.covs),
        dB=first(dB),
    )


# ------------------------------------------------------------------ quadratic variation
def _n_window(n_steps: int, window: float) -> int:
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window!r}")
    return max(1, min(n_steps, math.ceil(window * n_steps - 1e-9)))


def quadratic_variation(proj, h, window: float = 0.1, common_rate=None, indep_rate=None) -> dict:
    """Realised and predicted quadratic variation over the first ``ceil(window n)`` steps.

    ``proj`` ``(..., n_nodes)`` projections ``<u_j, phi>`` (e.g. ``(n_tests, n_nodes)`` or
    ``(R, n_tests, n_nodes)``; a ``(n_nodes,)`` vector is treated as one test function);
    ``h`` step lengths. Returns ``{"realised": sum_j (proj_{j+1} - proj_j)^2, "common":
    sum_j common_rate_j h_j, "indep": sum_j indep_rate_j h_j, "steps": m}`` (left-point
    rule; the predicted parts only when the rates are given), arrays over the leading axes.
    """
    proj = np.asarray(proj, dtype=np.float64)
    if proj.ndim == 1:
        proj = proj[None]
    h = np.asarray(h, dtype=np.float64).reshape(-1)
    if proj.shape[-1] != h.size + 1:
        raise ValueError("proj must have one more node than h has steps")
    m = _n_window(h.size, window)
    out = {"realised": (np.diff(proj[..., : m + 1], axis=-1) ** 2).sum(axis=-1), "steps": m}
    for key, rate in (("common", common_rate), ("indep", indep_rate)):
        if rate is not None:
            rate = np.asarray(rate, dtype=np.float64)
            if rate.ndim == 1:
                rate = rate[None]
            out[key] = (rate[..., :m] * h[:m]).sum(axis=-1)
    return out


# ------------------------------------------------------------------ 1-D SPDE on a grid
class _NoisyScore:
    """Score plus the Wong-Zakai drift of step ``j``, ``sum_k sigma_k dB_j^k / h_j``, divided by
    ``(1 + gamma)/2 g2`` so that it enters the Fokker-Planck drift as a drift error."""

    def __init__(self, sde, score, noise, dB, times, gamma):
        family = ReverseFamily(sde, score, gamma)
        self.score, self.noise, self.dB = score, noise, dB
        self.mids = 0.5 * (times[:-1] + times[1:])
        self.h = times[:-1] - times[1:]
        self.w = np.asarray(family.drift_coefficients(self.mids)[1], dtype=np.float64)

    def _fields(self, x, t):
        """``sigma_k(x, t)``, cached for time-independent fields on the same points."""
        if not self.noise.time_independent:
            return None
        cached = getattr(self, "_cache", None)
        if cached is None or cached[0].shape != x.shape or not np.array_equal(cached[0], x):
            self._cache = (x.copy(), [fld(x, t) for fld in self.noise.fields])
        return self._cache[1]

    def __call__(self, x, t):
        j = int(np.argmin(np.abs(self.mids - t)))
        if not abs(self.mids[j] - t) <= 1e-9 * max(1.0, abs(t)):
            raise ValueError(f"time {t} is not a step midpoint of the SPDE grid")
        s = np.asarray(self.score(x, t), dtype=np.float64)
        c = float(self.w[j])
        if c <= 0:
            raise ValueError("the SPDE solver needs (1 + gamma) g2(t) > 0")
        inc = self.noise.increment(x, t, self.dB[j], self._fields(x, t))
        return s + inc / (self.h[j] * c)


def solve_spde_1d(
    sde,
    score,
    init_density,
    grid,
    noise: CommonNoise,
    dB: np.ndarray,
    gamma: float = 1.0,
    *,
    bounds,
    n_cells: int,
    substeps: int = 1,
    method: str = "be",
    record=None,
) -> FPResult:
    """The density SPDE (module doc) in 1-D for one Brownian path ``dB`` ``(n_steps, K)``.

    The finite-volume solver of ``verify.solvers.fokker_planck`` with the common noise as a frozen
    Wong-Zakai drift per step (Stratonovich limit; rung 3). ``init_density`` as in
    ``solve_reverse_fp``; zero-flux walls at ``bounds = (lo, hi)``. Time error is ``O(h)``
    (Wong-Zakai) whatever ``method``; ``"be"`` keeps the density positive without a limiter.
    Grid error: rerun with half the cells (``n_cells // 2``) and compare.
    """
    grid = _check_grid(grid)
    dB = _check_dB(dB, grid, noise)
    wrapped = _NoisyScore(sde, score, noise, dB, grid, float(gamma))
    return solve_reverse_fp(
        sde,
        wrapped,
        init_density,
        grid,
        float(gamma),
        bounds=(tuple(bounds),),
        n_cells=int(n_cells),
        substeps=substeps,
        method=method,
        record=record,
    )


def grid_projections(
    res: FPResult, tests: Sequence[RadialTest], noise: CommonNoise | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``<u_j, phi_i>`` and ``sum_k <u_j, sigma_k . grad phi_i>^2`` by quadrature on the grid
    of a :func:`solve_spde_1d` result, ``(n_tests, n_rec)`` each."""
    x = res.grid.points()
    w = res.densities.reshape(len(res.times), -1) * res.grid.cell_volume
    proj = np.stack([w @ phi.value(x) for phi in tests])
    rate = np.zeros_like(proj)
    if noise is None or not noise.n:
        return proj, rate
    grads = [phi.grad(x) for phi in tests]
    if noise.time_independent:  # sigma_k . grad phi once, all times in one product
        sig = [fld(x, res.times[0]) for fld in noise.fields]
        for i, gp in enumerate(grads):
            for s in sig:
                rate[i] += (w @ np.einsum("ni,ni->n", s, gp)) ** 2
        return proj, rate
    for j, t in enumerate(res.times):
        sig = [fld(x, t) for fld in noise.fields]
        for i, gp in enumerate(grads):
            rate[i, j] = sum((w[j] @ np.einsum("ni,ni->n", s, gp)) ** 2 for s in sig)
    return proj, rate


# ------------------------------------------------------------------ early-evaluation tools
def w2_gaussian(m1, C1, m2, C2) -> float:
    """``W2^2(N(m1, C1), N(m2, C2)) = |m1 - m2|^2 + tr(C1 + C2 - 2 (C2^1/2 C1 C2^1/2)^1/2)``
    (Dowson & Landau 1982; Givens & Shortt 1984). Clipped at 0 against round-off."""
    m1, m2 = np.atleast_1d(np.asarray(m1, float)), np.atleast_1d(np.asarray(m2, float))
    C1, C2 = np.atleast_2d(np.asarray(C1, float)), np.atleast_2d(np.asarray(C2, float))
    if C1.shape != C2.shape or C1.shape != (m1.size, m1.size) or m2.shape != m1.shape:
        raise ValueError("means (d,) and covariances (d, d) must have matching shapes")
    r2 = linalg.sqrtm(C2)
    cross = np.real(linalg.sqrtm(r2 @ C1 @ r2))
    val = float(np.sum((m1 - m2) ** 2) + np.trace(C1 + C2 - 2.0 * cross))
    return max(val, 0.0)


def spearman_bootstrap(
    x, y, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float, float]:
    """Spearman's rho of paired ``x``, ``y`` and a percentile bootstrap CI (resampling the
    pairs with replacement; resamples with a constant coordinate are skipped)."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size != y.size or x.size < 4:
        raise ValueError("x and y must be paired arrays of >= 4 values")
    rho = float(stats.spearmanr(x, y).statistic)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    rx = np.array([stats.rankdata(x[i]) for i in idx])
    ry = np.array([stats.rankdata(y[i]) for i in idx])
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    ok = den > 0
    boots = (rx * ry).sum(axis=1)[ok] / den[ok]
    a = (1.0 - level) / 2
    lo, hi = np.quantile(boots, [a, 1 - a])
    return rho, float(lo), float(hi)


# ------------------------------------------------------------------ identity statistics
def martingale_ratio(res: CommonNoiseResult, *, common: bool = True, indep: bool = True):
    """Mean over steps ``j`` and test functions ``i`` of ``mart_ij^2 / (rate_ij h_j)``.

    ``mart`` is the antithetic martingale increment of ``<u^N, phi_i>`` recorded by
    :func:`sample_common_noise` and ``rate`` the predicted QV rate at the step's start: the
    common part ``sum_k <u^N, sigma_k . grad phi>^2`` (``common=True``) plus the independent
    part ``gamma g2 <u^N, |grad phi|^2> / N`` (``indep=True``). By (QV) its expectation is
    ``1 + O(h)``. A float, or an ``(R,)`` array for a batched result.
    """
    rate = np.zeros_like(res.proj)
    if common:
        rate = rate + res.common_rate
    if indep:
        rate = rate + res.indep_rate
    pred = rate[..., :-1] * res.h
    out = np.mean(res.mart**2 / pred, axis=(-2, -1))
    return float(out) if np.ndim(out) == 0 else out


def expected_constant_field_qv(sde, mean, cov_diag, c, n: int, grid, gamma: float = 1.0) -> float:
    r"""Exact ``E[4 sum_j h_j (c . xbar_j)^2]`` (rung 2): the expected common-noise part of the
    QV of ``<u^N, |x|^2>`` for the constant field ``c dB``.

    Setting: the particle chain of :func:`sample_common_noise` (Euler steps, coefficients at
    the step's start) for the Gaussian target ``N(mean, diag(cov_diag))`` with its exact score,
    ``n`` particles drawn from ``p_T`` at ``grid[0]``. The particle mean ``xbar`` is an
    affine-Gaussian chain: with ``S_j = alpha_j^2 Sigma + sigma2_j I``,
    ``w_j = (1 + gamma)/2 g2_j`` and ``M_j = I + h_j (-f_j I - w_j S_j^{-1})``,

        xbar_{j+1} = M_j xbar_j + h_j w_j S_j^{-1} alpha_j mean + c dB_j + zbar_j,
        zbar_j ~ N(0, gamma g2_j h_j I / n),

    so ``mu_j = E xbar_j`` and ``P_j = Cov xbar_j`` follow ``mu_{j+1} = M_j mu_j + h_j w_j
    S_j^{-1} alpha_j mean``, ``P_{j+1} = M_j P_j M_j + h_j c c^T + gamma g2_j h_j I / n`` from
    ``mu_0 = alpha_T mean``, ``P_0 = S_T / n``; and ``E (c . xbar_j)^2 = (c . mu_j)^2 + c^T P_j c``.
    """
    grid = _check_grid(grid)
    m0, cov = np.asarray(mean, float), np.asarray(cov_diag, float)
    c = np.asarray(c, float)
    if not (m0.shape == cov.shape == c.shape and m0.ndim == 1):
        raise ValueError("mean, cov_diag and c must be (d,) vectors of the same length")
    if not (np.all(cov > 0) and float(n) >= 1):
        raise ValueError("cov_diag must be positive and n >= 1 (math.inf: the N -> inf law)")
    n = float(n)
    d = m0.size
    family = ReverseFamily(sde, None, gamma)
    f, w, D = (np.asarray(v) * np.ones_like(grid) for v in family.drift_coefficients(grid))
    alpha = np.asarray(sde.alpha(grid), dtype=np.float64) * np.ones_like(grid)
    sig2 = np.asarray(sde.sigma2(grid), dtype=np.float64) * np.ones_like(grid)
    mu = alpha[0] * m0
    P = np.diag(alpha[0] ** 2 * cov + sig2[0]) / n
    cc = np.outer(c, c)
    total = 0.0
    for j in range(grid.size - 1):
        h = grid[j] - grid[j + 1]
        total += 4 * h * (float(c @ mu) ** 2 + float(c @ P @ c))
        Sinv = 1.0 / (alpha[j] ** 2 * cov + sig2[j])
        Md = 1.0 + h * (-f[j] - w[j] * Sinv)
        mu = Md * mu + w[j] * h * Sinv * alpha[j] * m0
        P = Md[:, None] * P * Md[None, :] + h * cc + 2 * D[j] * h * np.eye(d) / n
    return total


# ------------------------------------------------------------------ Langevin dynamics
class Langevin(LinearSDE):
    r"""Overdamped Langevin dynamics toward a target ``pi`` as a member of the reverse family.

    The forward SDE is Brownian motion ``dX = sqrt(2) dW`` (``f = 0``, ``g2 = 2``, ``alpha = 1``,
    ``sigma2(t) = 2 t``). Its reverse family with ``gamma = 1`` and the score model
    ``s = grad log pi / 2`` (:meth:`langevin_score`) has the drift
    ``-f y + (1 + 1)/2 * 2 * s = grad log pi`` and the noise ``sqrt(2) dW``: it is the
    Langevin diffusion ``dY = grad log pi(Y) dtau + sqrt(2) dW`` (diffusion ``D = 1``), whose law
    is the Wasserstein gradient flow of ``KL(. || pi)``. So every reverse-family tool (particles,
    the Fokker-Planck grid, the SPDE grid) runs Langevin dynamics with ``(Langevin(T),
    langevin_score(pi), gamma=1)``.
    """

    name = "Langevin"
    gamma = 1.0

    def __init__(self, T: float = 1.0):
        super().__init__("0", g2="2", T=T)

    @staticmethod
    def langevin_score(pi) -> HalfScore:
        """The score model ``grad log pi / 2`` that makes the reverse family Langevin toward pi."""
        return HalfScore(pi)

    def __repr__(self) -> str:
        return f"Langevin(T={self.T:g})"


class HalfScore:
    """``(x, t) -> grad log pi(x) / 2`` for a law ``pi`` with a ``score(x)`` method."""

    def __init__(self, pi):
        if not callable(getattr(pi, "score", None)):
            raise TypeError("pi must have a score(x) method (a Gaussian or GaussianMixture)")
        self.pi = pi

    def __call__(self, x, t):
        return 0.5 * self.pi.score(x)


# ------------------------------------------------------------------ entropy budget (1-D)
_BUDGET_X = np.linspace(-14.0, 14.0, 14001)


def neg_log_hessian_1d(p, x, h: float = 1e-5) -> np.ndarray:
    """``-(log p)''(x)`` for a 1-D law by a central difference of its exact score (step ``h``);
    ``x`` of shape ``(n, 1)``, result ``(n,)``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"x must have shape (n, 1), got {x.shape}")
    return -(p.score(x + h) - p.score(x - h))[:, 0] / (2 * h)


def entropy_budget(u, p, eps: float, x=None) -> tuple[float, float, float]:
    r"""``H(u|p)``, ``I(u|p)`` and the common noise's entropy production ``N(u)`` (1-D).

    For Langevin dynamics toward ``p`` (:class:`Langevin`, ``D = 1``) perturbed by the constant
    common field ``sigma = eps`` (``eps dB``), the expected relative entropy obeys
    ``dE H(u|p)/dtau = -I(u|p) + N(u)`` with ``I(u|p) = int u |(log u - log p)'|^2`` and
    ``N(u) = eps^2/2 E_u[-(log p)'']`` (Ito correction of the random shift). Computed by the
    trapezoid rule of the exact densities and scores on ``x`` (default 14001 points on
    ``[-14, 14]``).
    """
    xs = _BUDGET_X if x is None else np.asarray(x, dtype=np.float64).reshape(-1)
    pts = xs[:, None]
    lu = u.log_prob(pts)
    w = np.exp(lu)
    H = np.trapezoid(w * (lu - p.log_prob(pts)), xs)
    info = np.trapezoid(w * (u.score(pts) - p.score(pts))[:, 0] ** 2, xs)
    N = 0.5 * eps**2 * np.trapezoid(w * neg_log_hessian_1d(p, pts), xs)
    return float(H), float(info), float(N)


def _weighted_ranks(m: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks, within each row, of the multiset holding ``counts[r, k]`` copies of
    ``m[r, k]`` (``m`` without ties within a row): the rank of value ``k`` is the number of
    copies below it plus ``(counts + 1) / 2``."""
    order = np.argsort(m, axis=1)
    c_sorted = np.take_along_axis(counts, order, axis=1)
    below = np.cumsum(c_sorted, axis=1) - c_sorted
    ranks = np.empty_like(m)
    np.put_along_axis(ranks, order, below + 0.5 * (c_sorted + 1.0), axis=1)
    return ranks


def _weighted_pearson(ra, rb, counts) -> np.ndarray:
    n = counts.sum(axis=1, keepdims=True)
    da = ra - (counts * ra).sum(axis=1, keepdims=True) / n
    db = rb - (counts * rb).sum(axis=1, keepdims=True) / n
    num = (counts * da * db).sum(axis=1)
    den = np.sqrt((counts * da * da).sum(axis=1) * (counts * db * db).sum(axis=1))
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def spearman_replicates(
    values: dict, pairs, rng: np.random.Generator, n_boot: int = 2000, chunk: int = 200
) -> tuple[dict, dict]:
    """Spearman's rho between per-configuration means, with a two-level bootstrap.

    ``values[name]`` is a ``(K, R)`` array: a quantity for ``K`` configurations on ``R``
    common-noise paths shared by all configurations (common random numbers). The point
    estimate of ``rho(a, b)`` for each pair ``(a, b)`` in ``pairs`` uses the means over paths;
    each bootstrap replicate resamples the paths (jointly for all configurations, which keeps
    their pairing) and then the configurations, both with replacement (as multinomial
    counts; tied copies of a configuration get average ranks), and recomputes every pair's
    rho with the same draws, so differences of two rhos get a paired CI. Returns
    ``(point, replicates)``: ``{pair: rho}`` and ``{pair: (n_boot,) array}``.
    """
    names = sorted({n for pair in pairs for n in pair})
    arrs = {n: np.asarray(values[n], dtype=np.float64) for n in names}
    K, R = arrs[names[0]].shape
    if K < 4 or any(a.shape != (K, R) for a in arrs.values()):
        raise ValueError("values must be (K, R) arrays of the same shape with K >= 4")
    ones = np.ones((1, K))
    means = {n: a.mean(axis=1)[None] for n, a in arrs.items()}
    ranks = {n: _weighted_ranks(m, ones) for n, m in means.items()}
    point = {p: float(_weighted_pearson(ranks[p[0]], ranks[p[1]], ones)[0]) for p in pairs}
    reps = {pair: [] for pair in pairs}
    for start in range(0, int(n_boot), chunk):
        b = min(chunk, int(n_boot) - start)
        pidx = rng.integers(0, R, size=(b, R)) + R * np.arange(b)[:, None]
        weights = np.bincount(pidx.ravel(), minlength=b * R).reshape(b, R) / R
        cidx = rng.integers(0, K, size=(b, K)) + K * np.arange(b)[:, None]
        counts = np.bincount(cidx.ravel(), minlength=b * K).reshape(b, K).astype(float)
        # einsum, not BLAS: tiny products are far slower with BLAS threads on a busy machine
        boot = {
            n: _weighted_ranks(np.einsum("br,kr->bk", weights, a), counts) for n, a in arrs.items()
        }
        for pair in pairs:
            reps[pair].append(_weighted_pearson(boot[pair[0]], boot[pair[1]], counts))
    return point, {pair: np.concatenate(v) for pair, v in reps.items()}
