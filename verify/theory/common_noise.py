r"""Score errors as a common-noise source: particles, the density SPDE and its quadratic variation.

Paper 3 (Seo, "Modeling Score Approximation Errors in Diffusion Models via Forward SPDEs",
arXiv 2602.08579); every formula here is the reconstruction of notes §3.2 (generic
stochastic Fokker-Planck calculus), not the paper's own equations.

Model. The sampler runs the reverse family of ``verify.solvers.particles`` (``tau = T - t``)

    dY = b*(Y, t) dtau + sum_k sigma_k(Y, t) o dB^k + sqrt(gamma g2(t)) dW,
    b*(y, t) = -f(t) y + (1 + gamma)/2 g2(t) s(y, t),

where the score error ``eps dtau = sum_k sigma_k o dB^k`` is driven by a few Brownian motions
``B^k`` **shared by all particles** (Stratonovich, ``o``), while ``W`` is independent per
particle. ``s`` may itself carry a deterministic error (``verify.errors``); those errors add
no noise and are the contrast. The density ``u_tau`` of the particles given ``B`` solves
(notes §3.2, Itô form)

    du = [-div(b* u) + D lap u + 1/2 sum_k div(sigma_k div(sigma_k u))] dtau
         - sum_k div(sigma_k u) dB^k,                        D = gamma g2 / 2,

so for a test function ``phi``, ``d<u, phi> = <u, L* phi> dtau + sum_k <u, sigma_k . grad phi>
dB^k`` and the quadratic variation of the projection has the rate

    d[<u, phi>]_tau / dtau = sum_k <u_tau, sigma_k . grad phi>^2.               (QV)

For ``N`` particles the empirical projection ``phi_bar = (1/N) sum_i phi(Y_i)`` has in addition
the independent-noise part ``gamma g2 <u^N, |grad phi|^2> / N`` (the ``O(1/N)`` term): the
rate of ``[phi_bar]`` is ``sum_k <u^N, sigma_k . grad phi>^2 + gamma g2 <u^N, |grad phi|^2>/N``.
Radial test functions ``phi(x) = psi(|x|)`` have ``grad phi = psi'(|x|) x/|x|``: for
``phi = |x|^2`` (``grad phi = 2x``) and a constant field ``sigma = c`` the rate is
``4 (c . E_u x)^2``, zero for a centred law (the radial blind spot), and a rotation field
``sigma = J x`` (``J`` antisymmetric) has ``sigma . grad phi = 0`` for every radial ``phi``.

Numerics.

* :func:`sample_common_noise`: Euler-Maruyama for ``b*`` and ``W`` (coefficients at the step's
  start, as ``reverse_sample(method="euler")``), stochastic Heun for the common-noise term
  (``e0 = sum_k sigma_k(y) dB^k``, ``incr = (e0 + sum_k sigma_k(y + e0) dB^k)/2``), which
  converges to the Stratonovich equation. It records at every node the projections
  ``<u^N, phi>`` and both predicted rates, so QV identities are checked without storing the
  particles. For the identity check it also records the antithetic martingale increment
  ``(<u^N, phi>(Y+) - <u^N, phi>(Y-)) / 2``, ``Y-`` the same step with ``dW`` and ``dB`` negated:
  its square has conditional mean ``rate h + O(h^2)``, whereas the raw squared increment
  carries the squared drift ``O(h^2)`` per step, which is not small against the ``O(h/N)``
  independent-noise rate.
* :func:`solve_spde_1d`: the SPDE of ``u`` in 1-D on the finite-volume grid of
  ``verify.solvers.fokker_planck`` (rung 3): on each step ``[t_j, t_{j+1}]`` (length ``h_j``) the
  common noise enters as the frozen drift ``sum_k sigma_k(x) dB^k_j / h_j`` (Wong-Zakai,
  which converges to the Stratonovich SPDE), added to the score as
  ``sigma dB / h / ((1 + gamma)/2 g2)``. Same ``dB`` as the particles: the grid density is
  the ``N -> infinity`` limit of the particles for that Brownian path.
* :func:`quadratic_variation`: realised ``sum_j (Delta_j <u, phi>)^2`` over the first
  ``ceil(window n_steps)`` steps (default ``window = 0.1``: the "initial 10%" of notes §3.1,
  DDPM steps 999..900), and the matching integral of the predicted rate (left-point rule).
* :func:`w2_gaussian` (closed-form ``W2^2`` between Gaussians) and
  :func:`spearman_bootstrap` (Spearman's rho with a percentile bootstrap CI) for the
  early-evaluation claim.
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
        r2 = np.einsum("ni,ni->n", x, x)
        return r2 if self.kind == "square" else np.exp(-0.5 * r2 / self.width**2)

    def grad(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "square":
            return 2.0 * x
        return -(x / self.width**2) * self.value(x)[:, None]


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
@dataclass(frozen=True)
class ConstantField:
    """``sigma(x) = c`` (a random constant drift error ``c dB``)."""

    c: tuple

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.c, dtype=np.float64), x.shape)


@dataclass(frozen=True)
class LinearField:
    """``sigma(x) = A (x - center)``: ``A = a I`` dilation, ``A = a J`` (antisymmetric) rotation."""

    A: tuple
    center: tuple | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        A = np.asarray(self.A, dtype=np.float64)
        y = x if self.center is None else x - np.asarray(self.center, dtype=np.float64)
        return y @ A.T


@dataclass(frozen=True)
class BumpField:
    """``sigma(x) = c exp(-|x - center|^2 / (2 width^2))`` (a localised error)."""

    c: tuple
    center: tuple
    width: float

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        d = x - np.asarray(self.center, dtype=np.float64)
        w = np.exp(-0.5 * np.einsum("ni,ni->n", d, d) / self.width**2)
        return w[:, None] * np.asarray(self.c, dtype=np.float64)


@dataclass(frozen=True)
class CommonNoise:
    """The error field ``sum_k sigma_k(x, t) o dB^k``: a tuple of field callables
    ``sigma_k(x (n, d), t) -> (n, d)`` (e.g. :class:`ConstantField`, :class:`LinearField`,
    :class:`BumpField`), each driven by its own Brownian motion shared by all particles."""

    fields: tuple = ()

    @property
    def n(self) -> int:
        return len(self.fields)

    def increment(self, x: np.ndarray, t: float, dB: np.ndarray) -> np.ndarray:
        """``sum_k sigma_k(x, t) dB^k`` for one step (``dB`` of shape ``(K,)``)."""
        out = np.zeros_like(x)
        for k, fld in enumerate(self.fields):
            if dB[k] != 0.0:
                out += fld(x, t) * dB[k]
        return out


def brownian_increments(grid, n_fields: int, rng: np.random.Generator) -> np.ndarray:
    """``dB`` of shape ``(n_steps, n_fields)``: independent ``N(0, h_j)`` increments over the
    reverse-time steps ``h_j = t_j - t_{j+1}`` of ``grid``."""
    h = -np.diff(np.asarray(grid, dtype=np.float64))
    return rng.standard_normal((h.size, int(n_fields))) * np.sqrt(h)[:, None]


def _check_grid(grid) -> np.ndarray:
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if grid.size < 2 or not np.all(np.diff(grid) < 0):
        raise ValueError("grid must hold >= 2 forward times, strictly decreasing")
    return grid


def _check_dB(dB, grid: np.ndarray, noise: CommonNoise) -> np.ndarray:
    dB = np.asarray(dB, dtype=np.float64)
    if dB.shape != (grid.size - 1, noise.n):
        raise ValueError(f"dB must have shape (n_steps, n_fields) = {(grid.size - 1, noise.n)}")
    if not np.all(np.isfinite(dB)):
        raise ValueError("dB must be finite")
    return dB


# ------------------------------------------------------------------ particles
@dataclass
class CommonNoiseResult:
    """Output of :func:`sample_common_noise`.

    ``x`` final particles ``(N, d)``; ``times`` the grid; ``h`` the step lengths;
    ``tests`` the radial test functions; ``proj[i, j] = <u^N_j, phi_i>`` at node ``j``;
    ``common_rate[i, j] = sum_k <u^N_j, sigma_k . grad phi_i>^2``;
    ``indep_rate[i, j] = gamma g2 <u^N_j, |grad phi_i|^2> / N``; ``mart[i, j]`` the
    martingale part of the increment of step ``j`` (antithetic: half the difference of
    ``<u^N, phi_i>`` after the step and after the same step with every noise negated; it
    removes the predictable part, so ``E[mart^2 | state] = (rates) h + O(h^2)``);
    ``means[j]`` and ``covs[j]`` the particle mean and covariance at node ``j``; ``dB`` the
    common increments used.
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

    ``x_T`` (N, d) start; ``grid`` forward times decreasing from ``T``; ``noise`` the error
    field (``None``: no common noise); ``gamma >= 0`` constant stochasticity of the independent
    noise; ``rng`` for the independent normals (and ``dB`` if not given); ``dB``
    ``(n_steps, K)`` common increments (share them with :func:`solve_spde_1d`); ``tests`` the
    radial test functions to project on (default :func:`default_tests`).
    Raises ``ValueError`` for bad input and ``FloatingPointError`` naming the step if a
    particle becomes non-finite.
    """
    grid = _check_grid(grid)
    y = np.array(x_T, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] < 2:
        raise ValueError("x_T must have shape (N, d) with N >= 2")
    family = ReverseFamily(sde, score, gamma)
    if not family.constant_gamma:
        raise ValueError("gamma must be a constant number >= 0 here")
    gamma = family.gamma
    noise = CommonNoise() if noise is None else noise
    dB = brownian_increments(grid, noise.n, rng) if dB is None else _check_dB(dB, grid, noise)
    tests = default_tests() if tests is None else list(tests)
    n, d = y.shape
    n_nodes = grid.size
    proj = np.empty((len(tests), n_nodes))
    common = np.zeros((len(tests), n_nodes))
    indep = np.empty((len(tests), n_nodes))
    mart = np.empty((len(tests), n_nodes - 1))
    means = np.empty((n_nodes, d))
    covs = np.empty((n_nodes, d, d))

    def observe(j: int, t: float) -> None:
        g2 = float(np.asarray(sde.g2(t)))
        sig = [fld(y, t) for fld in noise.fields]
        for i, phi in enumerate(tests):
            gp = phi.grad(y)
            proj[i, j] = phi.value(y).mean()
            indep[i, j] = gamma * g2 * np.einsum("ni,ni->n", gp, gp).mean() / n
            common[i, j] = sum(np.einsum("ni,ni->n", s, gp).mean() ** 2 for s in sig)
        means[j] = y.mean(axis=0)
        covs[j] = np.cov(y, rowvar=False).reshape(d, d)

    observe(0, grid[0])
    for j in range(n_nodes - 1):
        t, h = grid[j], grid[j] - grid[j + 1]
        g2 = float(np.asarray(sde.g2(t)))
        base = y + h * family.drift(y, t)
        plus = np.zeros_like(y)
        minus = np.zeros_like(y)
        if gamma > 0:
            z = math.sqrt(gamma * g2 * h) * rng.standard_normal(y.shape)
            plus += z
            minus -= z
        if noise.n:
            for sign, acc in ((1.0, plus), (-1.0, minus)):
                e0 = noise.increment(y, t, sign * dB[j])
                acc += 0.5 * (e0 + noise.increment(y + e0, t, sign * dB[j]))
        y_minus = base + minus
        y = base + plus
        for i, phi in enumerate(tests):
            mart[i, j] = 0.5 * (phi.value(y).mean() - phi.value(y_minus).mean())
        if not np.all(np.isfinite(y)):
            raise FloatingPointError(f"particles became non-finite at step {j + 1} (t={t})")
        observe(j + 1, grid[j + 1])
    return CommonNoiseResult(
        x=y,
        times=grid,
        h=-np.diff(grid),
        tests=tests,
        proj=proj,
        common_rate=common,
        indep_rate=indep,
        mart=mart,
        means=means,
        covs=covs,
        dB=dB,
    )


# ------------------------------------------------------------------ quadratic variation
def _n_window(n_steps: int, window: float) -> int:
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window!r}")
    return max(1, min(n_steps, math.ceil(window * n_steps - 1e-9)))


def quadratic_variation(proj, h, window: float = 0.1, common_rate=None, indep_rate=None) -> dict:
    """Realised and predicted quadratic variation over the first ``ceil(window n)`` steps.

    ``proj`` ``(n_tests, n_nodes)`` (or ``(n_nodes,)``) projections ``<u_j, phi>``; ``h`` step
    lengths. Returns ``{"realised": sum_j (proj_{j+1} - proj_j)^2, "common": sum_j
    common_rate_j h_j, "indep": sum_j indep_rate_j h_j, "steps": m}`` (left-point rule; the
    predicted parts only when the rates are given), arrays over test functions.
    """
    proj = np.atleast_2d(np.asarray(proj, dtype=np.float64))
    h = np.asarray(h, dtype=np.float64).reshape(-1)
    if proj.shape[1] != h.size + 1:
        raise ValueError("proj must have one more node than h has steps")
    m = _n_window(h.size, window)
    out = {"realised": (np.diff(proj[:, : m + 1], axis=1) ** 2).sum(axis=1), "steps": m}
    for key, rate in (("common", common_rate), ("indep", indep_rate)):
        if rate is not None:
            rate = np.atleast_2d(np.asarray(rate, dtype=np.float64))
            out[key] = (rate[:, :m] * h[:m]).sum(axis=1)
    return out


# ------------------------------------------------------------------ 1-D SPDE on a grid
class _NoisyScore:
    """Score plus the Wong-Zakai drift of step ``j``, ``sum_k sigma_k dB_j^k / h_j``, divided by
    ``(1 + gamma)/2 g2`` so that it enters the Fokker-Planck drift as a drift error."""

    def __init__(self, sde, score, noise, dB, times, gamma):
        self.family = ReverseFamily(sde, score, gamma)
        self.score, self.noise, self.dB = score, noise, dB
        self.mids = 0.5 * (times[:-1] + times[1:])
        self.h = times[:-1] - times[1:]

    def __call__(self, x, t):
        j = int(np.argmin(np.abs(self.mids - t)))
        if not abs(self.mids[j] - t) <= 1e-9 * max(1.0, abs(t)):
            raise ValueError(f"time {t} is not a step midpoint of the SPDE grid")
        s = np.asarray(self.score(x, t), dtype=np.float64)
        c = float(self.family.drift_coefficients(t)[1])
        if c <= 0:
            raise ValueError("the SPDE solver needs (1 + gamma) g2(t) > 0")
        return s + self.noise.increment(x, t, self.dB[j]) / (self.h[j] * c)


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
    if noise is not None:
        for j, t in enumerate(res.times):
            sig = [fld(x, t) for fld in noise.fields]
            for i, phi in enumerate(tests):
                gp = phi.grad(x)
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
def martingale_ratio(res: CommonNoiseResult, *, common: bool = True, indep: bool = True) -> float:
    """Mean over steps ``j`` and test functions ``i`` of ``mart_ij^2 / (rate_ij h_j)``.

    ``mart`` is the antithetic martingale increment of ``<u^N, phi_i>`` recorded by
    :func:`sample_common_noise` and ``rate`` the predicted QV rate at the step's start: the
    common part ``sum_k <u^N, sigma_k . grad phi>^2`` (``common=True``) plus the independent
    part ``gamma g2 <u^N, |grad phi|^2> / N`` (``indep=True``). By (QV) its expectation is
    ``1 + O(h)``.
    """
    rate = np.zeros_like(res.proj)
    if common:
        rate = rate + res.common_rate
    if indep:
        rate = rate + res.indep_rate
    pred = rate[:, :-1] * res.h
    return float(np.mean(res.mart**2 / pred))


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
    if not (np.all(cov > 0) and int(n) >= 1):
        raise ValueError("cov_diag must be positive and n >= 1")
    d = m0.size
    family = ReverseFamily(sde, None, gamma)
    a_T, s2_T = float(sde.alpha(grid[0])), float(sde.sigma2(grid[0]))
    mu = a_T * m0
    P = np.diag(a_T**2 * cov + s2_T) / n
    total = 0.0
    for j in range(grid.size - 1):
        t, h = grid[j], grid[j] - grid[j + 1]
        f, w, D = (float(v) for v in family.drift_coefficients(t))
        a, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
        total += 4 * h * (float(c @ mu) ** 2 + float(c @ P @ c))
        Sinv = 1.0 / (a**2 * cov + s2)
        M = np.diag(1.0 + h * (-f - w * Sinv))
        mu = M @ mu + w * h * Sinv * a * m0
        P = M @ P @ M + h * np.outer(c, c) + 2 * D * h * np.eye(d) / n
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
