"""One record per sampler method: its one-step coefficients, its gamma rule and its orders.

Grid ``t_0 > t_1 > ... > t_N`` of forward times; step ``k`` goes from ``t = t_k`` to
``s = t_{k+1}``, ``h = t - s``; ``g = gamma(t)`` is evaluated at the step's start and ``xi``
is a fresh standard normal per step and particle. With ``(a, v) = sde.transition(s, t)`` and
``(I1, I2) = sde.exponential_integrals(s, t)``:

* ``euler`` (Euler-Maruyama):
  ``y' = (1 - h f(t)) y + h (1+g)/2 g2(t) s(y, t) + sqrt(g g2(t) h) xi``.
* ``exponential`` (linear part exact, score and gamma frozen over the step):
  ``y' = y / a + (1+g)/2 I1 s(y, t) + sqrt(g I2) xi``.
* ``heun`` (gamma = 0; Karras et al. 2022, Alg. 1, on every step including one to s = 0):
  ``d(y, r) = -f(r) y + g2(r)/2 s(y, r)``, ``y~ = y + h d(y, t)``,
  ``y' = y + h/2 (d(y, t) + d(y~, s))``.
* ``ddpm`` (gamma = 1; Ho et al. 2020, Alg. 2 with sigma_t^2 = beta_t for VP, Song et al.'s
  reverse-diffusion predictor for VE): ``y' = (y + v s(y, t)) / a + sqrt(v) xi``.
* ``ancestral`` (DDIM family, Song, Meng, Ermon 2021, eq. 12, with ``eta = sqrt(g)``):
  ``x0 = (y + sigma2(t) s) / alpha(t)``, ``eps = (y - alpha(t) x0) / sqrt(sigma2(t))``,
  ``c2 = g sigma2(s) v / sigma2(t)``, ``y' = alpha(s) x0 + sqrt(sigma2(s) - c2) eps +
  sqrt(c2) xi``. ``g = 1`` is the DDPM posterior (beta-tilde) step, ``g = 0`` DDIM; in EDM/VE
  form this is k-diffusion's ``sample_euler_ancestral`` with ``eta = sqrt(g)``.
* ``pc`` (Song et al. 2021, Alg. 2/3): the ``predictor`` (any method above, same gamma),
  then ``n_corrector`` Langevin steps at time ``s``: ``y <- y + eps s(y, s) + sqrt(2 eps) xi'``
  with ``eps = 2 snr^2 sigma2(s)`` (a deterministic version of Song et al.'s step-size rule,
  which uses ``||z|| / ||s|| ~ sqrt(sigma2)``); skipped when ``sigma2(s) = 0``.

Every method but ``heun`` and the corrector is affine in ``(y, s(y, t), xi)`` with per-step
scalars, ``y' = A_k y + B_k s(y, t_k) + C_k xi`` (:class:`AffineSteps`). The particle sampler
(``verify.solvers.particles``) applies these coefficients to particles; the exact chain law
(``verify.solvers.chain_laws``) turns them into the moment map of a Gaussian chain
(``M = A - B P``, ``u = B c``, ``Q = C^2`` for an affine score ``s = -P y + c``). Both read
them from the record here, and the orders tests and the conformance kit read the orders and
gamma rules from the same record.

Orders are in the step size ``h`` of uniform grids, for a smooth (here: exact Gaussian) score:
weak order measured exactly from chain laws, strong order on nested grids sharing one
Brownian path. Measured facts behind two entries (``python -m verify.solvers.orders``):

* ``pc``: with ``eps = 2 snr^2 sigma2(s)`` the corrector's step does *not* shrink with ``h``;
  every step adds one unadjusted-Langevin step whose stationary law is ``N(m, S / (1 -
  eps/(2S)))``, so the chain converges to a law biased by ``O(snr^2)``: weak order 0 against
  the reverse family (with ``snr -> 0`` it has the predictor's order).
* ``ancestral`` with ``t_min = 0``: its coefficients involve ``sqrt(sigma2(s)/sigma2(t))``,
  not smooth at ``t = 0``; the global error is ``O(h log(1/h))``. Measure with ``t_min > 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

if TYPE_CHECKING:
    from analytic import LinearSDE

__all__ = [
    "METHODS",
    "AFFINE_METHODS",
    "Method",
    "AffineSteps",
    "HeunSteps",
    "PCSteps",
    "PREDICTORS",
    "get_method",
    "pc_options",
    "step_tables",
]


# ---------------------------------------------------------------------- coefficient tables
@dataclass(frozen=True)
class AffineSteps:
    """``y' = A_k y + B_k s(y, t_k) + C_k xi``: three arrays of shape ``(N,)``."""

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray

    @property
    def stochastic(self) -> bool:
        return bool(np.any(self.C > 0))


@dataclass(frozen=True)
class HeunSteps:
    """Heun's tables: ``d(y, r) = -f(r) y + hg(r) s(y, r)`` at ``r = t_k`` and ``s = t_{k+1}``.

    ``f_t, hg_t, f_s, hg_s, h``: arrays of shape ``(N,)`` (``hg = g2 / 2``).
    """

    f_t: np.ndarray
    hg_t: np.ndarray
    f_s: np.ndarray
    hg_s: np.ndarray
    h: np.ndarray

    stochastic = False


@dataclass(frozen=True)
class PCSteps:
    """A predictor's tables plus ``n_corrector`` Langevin steps ``eps_k`` at ``s = t_{k+1}``.

    ``active[k]`` is False where ``eps_k = 0`` (``sigma2(s) = 0``, or ``snr = 0``, or no
    corrector): the corrector is skipped there.
    """

    predictor: AffineSteps | HeunSteps
    predictor_name: str
    eps: np.ndarray
    active: np.ndarray
    n_corrector: int

    @property
    def stochastic(self) -> bool:
        return bool(self.predictor.stochastic or np.any(self.active))


def _as_float(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) * 1.0 for a in arrays)


def _euler(sde, grid, g):
    t, s = grid[:-1], grid[1:]
    h = t - s
    f_t, g2_t = _as_float(sde.f(t), sde.g2(t))
    f_t, g2_t = f_t * np.ones_like(t), g2_t * np.ones_like(t)
    return AffineSteps(1.0 - h * f_t, h * 0.5 * (1.0 + g) * g2_t, np.sqrt(g * g2_t * h))


def _exponential(sde, grid, g):
    t, s = grid[:-1], grid[1:]
    a, _ = _as_float(*sde.transition(s, t))
    I1, I2 = _as_float(*sde.exponential_integrals(s, t))
    return AffineSteps(1.0 / a, 0.5 * (1.0 + g) * I1, np.sqrt(g * I2))


def _ddpm(sde, grid, g):
    t, s = grid[:-1], grid[1:]
    a, v = _as_float(*sde.transition(s, t))
    return AffineSteps(1.0 / a, v / a, np.sqrt(v))


def _ancestral(sde, grid, g):
    t, s = grid[:-1], grid[1:]
    a, v = _as_float(*sde.transition(s, t))
    s2t, s2s = _as_float(sde.sigma2(t), sde.sigma2(s))
    s2t, s2s = s2t * np.ones_like(t), s2s * np.ones_like(s)
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
    return AffineSteps(A, B, np.sqrt(c2))


def _heun(sde, grid, g):
    t, s = grid[:-1], grid[1:]
    f_t, g2_t, f_s, g2_s = _as_float(sde.f(t), sde.g2(t), sde.f(s), sde.g2(s))
    one = np.ones_like(t)
    return HeunSteps(f_t * one, 0.5 * g2_t * one, f_s * one, 0.5 * g2_s * one, t - s)


# ------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Method:
    """A sampler method: name, one-step coefficients, gamma rule, expected orders.

    ``tables(sde, grid, g)`` returns the per-step coefficients (``AffineSteps`` or
    ``HeunSteps``) for validated gammas ``g`` at the step starts; ``fixed_gamma`` is the only
    gamma the method is defined for (``None``: any ``gamma >= 0``); ``weak_order`` and
    ``strong_order`` in ``h`` (``None`` where not defined); ``notes`` the caveats.
    """

    name: str
    formula: str
    reference: str
    weak_order: float | None
    strong_order: float | None
    fixed_gamma: float | None = None
    affine: bool = True
    notes: str = ""
    tables: Callable | None = field(default=None, repr=False)

    @property
    def default_gamma(self) -> float:
        """The gamma used when none is given: ``fixed_gamma``, else 1 (the reverse SDE)."""
        return 1.0 if self.fixed_gamma is None else self.fixed_gamma

    def check_gamma(self, g: np.ndarray, name: str = "method") -> None:
        """Raise ``ValueError`` if the gammas ``g`` at the step starts break the rule."""
        if self.fixed_gamma is not None and np.any(np.asarray(g) != self.fixed_gamma):
            bad = np.asarray(g)[np.asarray(g) != self.fixed_gamma]
            what = {0.0: "the probability-flow ODE", 1.0: "the reverse-SDE chain"}
            raise ValueError(
                f"{name}={self.name!r} is {what.get(self.fixed_gamma, 'fixed-gamma')}: it needs "
                f"gamma = {self.fixed_gamma:g}, got gamma = {float(bad.flat[0])!r}"
            )


_RECORDS = (
    Method(
        "euler",
        "y' = (1 - h f) y + h (1+g)/2 g2 s(y, t) + sqrt(g g2 h) xi",
        "Euler-Maruyama (Kloeden & Platen 1992, §10.2)",
        1,
        1,
        tables=_euler,
    ),
    Method(
        "exponential",
        "y' = y/a + (1+g)/2 I1 s(y, t) + sqrt(g I2) xi",
        "exponential integrator, score frozen over the step (Zhang & Chen 2023, DEIS)",
        1,
        1,
        tables=_exponential,
    ),
    Method(
        "heun",
        "y~ = y + h d(y, t); y' = y + h/2 (d(y, t) + d(y~, s))",
        "Karras et al. 2022, Alg. 1",
        2,
        2,
        fixed_gamma=0.0,
        affine=False,
        notes="gamma = 0 only (an ODE solver: strong = weak order).",
        tables=_heun,
    ),
    Method(
        "ddpm",
        "y' = (y + v s(y, t))/a + sqrt(v) xi",
        "Ho et al. 2020, Alg. 2; Song et al. 2021 reverse-diffusion predictor",
        1,
        1,
        fixed_gamma=1.0,
        notes="gamma = 1 only.",
        tables=_ddpm,
    ),
    Method(
        "ancestral",
        "y' = alpha(s) x0 + sqrt(sigma2(s) - c2) eps + sqrt(c2) xi, c2 = g sigma2(s) v/sigma2(t)",
        "DDIM, Song, Meng & Ermon 2021, eq. 12 (eta = sqrt(gamma))",
        1,
        1,
        notes="DDIM eta = sqrt(gamma); needs t_min > 0 (else O(h log 1/h)).",
        tables=_ancestral,
    ),
    Method(
        "pc",
        "predictor, then n_corrector steps y <- y + eps s(y, s) + sqrt(2 eps) xi, "
        "eps = 2 snr^2 sigma2(s)",
        "Song et al. 2021, Alg. 2/3 (predictor-corrector)",
        0,
        None,
        affine=False,
        notes=(
            "fixed snr: the Langevin corrector's O(snr^2) bias does not vanish as h -> 0, so the "
            "chain does not converge to the reverse family (weak order 0); strong order not "
            "defined (a BrownianPath cannot drive the corrector)."
        ),
    ),
)

METHODS: Mapping[str, Method] = MappingProxyType({m.name: m for m in _RECORDS})
"""name -> :class:`Method`, the single source of truth for every sampler method."""

AFFINE_METHODS = tuple(name for name, m in METHODS.items() if m.affine)
PREDICTORS = tuple(name for name in METHODS if name != "pc")


def get_method(name: str, what: str = "method") -> Method:
    """The record of ``name``; ``ValueError`` listing the choices otherwise."""
    choices = METHODS if what == "method" else {k: METHODS[k] for k in PREDICTORS}
    if not isinstance(name, str) or name not in choices:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(choices)}")
    return METHODS[name]


def pc_options(predictor: str = "euler", snr: float = 0.16, n_corrector: int = 1) -> dict:
    """Validated options of the ``pc`` method: ``predictor``, ``snr >= 0``, ``n_corrector >= 0``."""
    get_method(predictor, "predictor")
    if isinstance(snr, bool) or not isinstance(snr, int | float | np.floating | np.integer):
        raise TypeError(f"snr must be a number >= 0, got {snr!r}")
    if not (math.isfinite(float(snr)) and float(snr) >= 0):
        raise ValueError(f"snr must be finite and >= 0, got {snr!r}")
    if (
        isinstance(n_corrector, bool)
        or not isinstance(n_corrector, int | np.integer | float)
        or int(n_corrector) != n_corrector
        or n_corrector < 0
    ):
        raise ValueError(f"n_corrector must be a non-negative integer, got {n_corrector!r}")
    return {"predictor": predictor, "snr": float(snr), "n_corrector": int(n_corrector)}


def step_tables(
    sde: LinearSDE, grid: np.ndarray, g: np.ndarray, method: str, **options: object
) -> StepTables:
    """The per-step coefficients of ``method`` on a validated ``grid`` with gammas ``g``.

    Returns :class:`AffineSteps`, :class:`HeunSteps` or (``pc``) :class:`PCSteps`; checks the
    method's gamma rule. ``options`` are the ``pc`` options (see :func:`pc_options`).
    """
    rec = get_method(method)
    if method != "pc":
        if options:
            raise ValueError(f"method {method!r} takes no options, got {sorted(options)}")
        rec.check_gamma(g)
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_tables(rec.tables(sde, grid, g), grid, g, method)
    opts = pc_options(**options)
    pred = METHODS[opts["predictor"]]
    pred.check_gamma(g, "predictor")
    s2s = np.asarray(sde.sigma2(grid[1:]), dtype=np.float64) * np.ones(len(grid) - 1)
    eps = 2.0 * opts["snr"] ** 2 * s2s
    active = (eps > 0) & (opts["n_corrector"] > 0)
    with np.errstate(over="ignore", invalid="ignore"):
        tables = _finite_tables(pred.tables(sde, grid, g), grid, g, pred.name)
    return PCSteps(tables, pred.name, eps, active, opts["n_corrector"])


StepTables: TypeAlias = "AffineSteps | HeunSteps | PCSteps"


def _finite_tables(tables, grid, g, method):
    """``tables`` if every coefficient is finite, else a ``ValueError`` naming the step."""
    bad = np.zeros(len(grid) - 1, dtype=bool)
    for value in vars(tables).values():
        bad |= ~np.isfinite(np.asarray(value, dtype=np.float64))
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(
            f"method {method!r}: the step coefficients overflow at step {k} (t={grid[k]:g} -> "
            f"{grid[k + 1]:g}, gamma={g[k]:g}); lower gamma or refine the grid"
        )
    return tables
