r"""Adversarial search for the tightest case of a bound ``truth <= bound``.

``search(bound, truth, space, budget, rng)`` minimises the ratio

    rho(x) = bound(x) / truth(x)

over the settings ``x`` of ``space`` (:mod:`verify.tightness.space`). ``rho >= 1`` everywhere
is what the bound claims; the smallest ``rho`` found is the *worst ratio* and its setting the
tightest case. The search, deterministic for a seed, spends ``budget`` evaluations (one
evaluation = ``bound`` and ``truth`` at one setting) in four phases:

1. **corners and faces**: the ``2^k`` corners of the unit cube of the ``k`` searched
   coordinates (at most a quarter of the budget; a deterministic subset beyond that), its
   centre and the ``2k`` face centres, crossed with the choices; worst cases of bounds often
   sit on the boundary of a space;
2. **space filling**: a scrambled Sobol sequence (``scipy.stats.qmc``) on the cube, about
   60 % of what is left (a power of two);
3. **local refinement**: from the best few distinct points, bounded L-BFGS-B on the float
   coordinates (log coordinates where asked) of ``log rho``, with a forward-difference
   gradient evaluated as one batch of ``k + 1`` settings (the step points inward at a bound);
   integer and choice coordinates stay fixed;
4. **discrete polish**: at the best point, every integer coordinate at its bounds and its
   neighbours, every choice; then one more refinement from an improved point.

Vectorised callables (marked with :func:`vectorized`, or ``vectorized=True``) receive one
1-D array per parameter (choices as arrays of the choice values) and return an array of
values, so a batch of settings costs one call; others are called once per setting.

Undefined settings. A setting where ``bound`` or ``truth`` raises, returns NaN/inf, or
``truth <= atol`` (no ratio; ``atol = 0`` by default), or outside an optional ``domain``
(the settings where the bound carries information, e.g. where the truth has moved by a
stated fraction of its start; evaluated after ``bound`` and ``truth`` on the same columns, so
it may read their memoised batch), is skipped and counted by reason in
``SearchResult.skipped``; it never ends the search and never enters a result as NaN.

Certificate. Every candidate counterexample (``rho < 1 - rtol`` in float64) is re-evaluated
*at its own setting* before it is reported, in ascending ratio, at most ``max_certify`` of
them: with ``bound_mp`` / ``truth_mp`` (callables evaluated under ``mpmath.workdps(dps)``;
they may also be a higher rung of the same quantity) it is confirmed when the high-precision
ratio is below ``1 - rtol``, and a refuted candidate takes its high-precision ratio. Without
them the float callables themselves are called with ``mpmath.mpf`` arguments under
``workdps(dps)`` (plain arithmetic and mpmath functions then compute at ``dps`` digits); a
callable that does not compute in mpmath (numpy ufuncs, a float64 result) is re-evaluated in
float64 at the setting, and a reproduced ratio below ``1 - rtol`` (``rtol`` the declared
resolution of the numbers) confirms it; a value that does not reproduce is excluded and makes
the verdict ``"inconclusive"``. A setting whose bound and truth were evaluated is a
counterexample whatever its neighbours give (a bound may fail beyond a threshold only): the
ratios at ``14k`` perturbations of the setting are reported beside a float64 check, as
information, never as a condition. Every confirmed point is kept
(``SearchResult.counterexamples``); candidates beyond ``max_certify`` are listed unchecked
(``SearchResult.unchecked``).

``verdict`` is ``"fails"`` with at least one confirmed counterexample, ``"holds"`` when no
ratio below ``1 - rtol`` survives the check, and ``"inconclusive"`` when candidates were left
unchecked (beyond ``max_certify``) or a float re-evaluation did not reproduce a value. With
high-precision callables the worst point is checked in any case (``worst_check``).

Best constant. For a bound ``C * expression(x)`` (``constant=C``), the smallest constant that
still holds over every setting searched is ``max truth / expression = C / worst_ratio``
(``best_constant``), reported next to the theorem's ``C``; with ``constant=None`` it is the
best factor ``1 / worst_ratio`` by which the bound could be multiplied.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import mpmath
import numpy as np
from scipy import optimize
from scipy.stats import qmc

from ..runtime.seeds import as_generator
from .space import Space

__all__ = [
    "vectorized",
    "Certificate",
    "SearchResult",
    "search",
    "influence",
    "ratio_grid",
    "SKIP_REASONS",
]

SKIP_REASONS = (
    "bound raised",
    "truth raised",
    "bound not finite",
    "truth not finite",
    "truth <= atol",
    "outside the domain",
)
"""Why a setting is skipped (the keys of ``SearchResult.skipped``)."""

_FD_STEP = 1e-6  # forward-difference step in unit coordinates
_PERTURB = (1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2)  # float re-evaluation perturbations
_NONPOS = -1.0e3  # objective offset for rho <= 0 (below log of any positive float)


def vectorized(fn: Callable) -> Callable:
    """Mark ``fn`` as vectorised: it takes 1-D arrays (one per parameter) and returns an array."""
    fn.vectorized = True
    return fn


@dataclass
class Certificate:
    """A high-precision (or re-evaluated) check of ``truth <= bound`` at one setting.

    ``bound``, ``truth`` and ``ratio`` are strings with 15 significant digits, ``*_float``
    the float64 values the search saw; ``method`` says how the check was done and ``dps`` its
    decimal precision (``None`` for a float re-evaluation); ``confirmed`` is True when the
    check finds ``ratio < 1 - rtol`` (a counterexample).
    """

    setting: dict
    bound: str
    truth: str
    ratio: str
    bound_float: float
    truth_float: float
    method: str
    dps: int | None
    confirmed: bool

    @property
    def ratio_value(self) -> float:
        return float(self.ratio)

    def summary(self) -> str:
        what = "counterexample" if self.confirmed else "no counterexample"
        return (
            f"{what} at {_fmt_setting(self.setting)}: bound = {self.bound}, truth = "
            f"{self.truth}, ratio = {self.ratio} ({self.method})"
        )


@dataclass
class SearchResult:
    """What :func:`search` returns (module docstring).

    ``samples`` holds every evaluated setting: ``unit`` (n, k) coordinates, ``values`` (name ->
    (n,) array), ``bound``, ``truth``, ``ratio`` (NaN where skipped) and ``phase`` (0 corners,
    1 Sobol, 2 local, 3 polish). ``counterexamples`` lists the certificate of every evaluated
    setting confirmed as a counterexample (ascending ratio; ``certificate`` is the first),
    ``unchecked`` the settings with a float64 ratio below ``1 - rtol`` left unchecked beyond
    ``max_certify`` (then the verdict is not ``"holds"``).
    """

    worst_ratio: float
    setting: dict
    verdict: str
    evaluations: int
    trace: list
    bound_value: float
    truth_value: float
    certificate: Certificate | None
    worst_check: Certificate | None
    best_constant: float
    theorem_constant: float | None
    skipped: dict
    refuted: int
    rtol: float
    names: list
    samples: dict = field(repr=False, default_factory=dict)
    counterexamples: list = field(default_factory=list)
    unchecked: list = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return int(sum(self.skipped.values()))

    def summary(self) -> str:
        """A few lines: verdict, worst ratio and setting, best constant, certificate."""
        lines = [
            f"verdict: {self.verdict} (worst ratio bound/truth = {self.worst_ratio:.10g} after "
            f"{self.evaluations} evaluations, {self.n_skipped} skipped)",
            f"worst setting: {_fmt_setting(self.setting)}",
            f"bound = {self.bound_value:.15g}, truth = {self.truth_value:.15g}",
        ]
        if self.theorem_constant is not None:
            lines.append(
                f"best constant: {self.best_constant:.6g} (theorem: {self.theorem_constant:.6g})"
            )
        else:
            lines.append(f"best factor on the bound: {self.best_constant:.6g}")
        if self.certificate is not None:
            lines.append("certificate: " + self.certificate.summary())
        elif self.worst_check is not None:
            lines.append("check at the worst setting: " + self.worst_check.summary())
        if len(self.counterexamples) > 1:
            lines.append(f"{len(self.counterexamples)} certified counterexamples:")
            lines.extend("  " + c.summary() for c in self.counterexamples)
        if self.unchecked:
            lines.append(
                f"{len(self.unchecked)} more evaluated setting(s) with a float64 ratio below "
                f"1 - rtol, not re-checked (max_certify): "
                + "; ".join(_fmt_setting(s) for s in self.unchecked[:8])
                + (" ..." if len(self.unchecked) > 8 else "")
            )
        if self.refuted:
            lines.append(f"{self.refuted} float64 candidate(s) refuted by the re-evaluation")
        return "\n".join(lines)


def _fmt_setting(setting: Mapping) -> str:
    def one(v):
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    return "{" + ", ".join(f"{k}={one(v)}" for k, v in setting.items()) + "}"


class _BudgetExhausted(Exception):
    pass


class _ShapeError(TypeError):
    """A vectorised callable returned the wrong shape (a usage error: never skipped)."""


class _Evaluator:
    """Evaluates batches of unit points; records everything; enforces the budget."""

    def __init__(self, space, bound, truth, vec_bound, vec_truth, budget, atol=0.0, domain=None):
        self.space = space
        self.domain = domain  # (callable, vectorised) or None
        self.atol = float(atol)
        self.bound, self.truth = bound, truth
        self.vec_bound, self.vec_truth = vec_bound, vec_truth
        self.budget = budget
        self.U, self.B, self.T, self.R, self.phase = [], [], [], [], []
        self.cache: dict[tuple, int] = {}
        self.skipped = dict.fromkeys(SKIP_REASONS, 0)
        self.trace: list[list] = []
        self.best = math.inf
        self.errors: dict[str, str] = {}  # the first exception of each callable

    @property
    def n(self) -> int:
        return len(self.R)

    def _call(self, fn, vec, cols, settings, label):
        n = len(settings)
        out = np.full(n, np.nan)
        failed = np.zeros(n, dtype=bool)
        if vec:
            try:
                vals = np.asarray(fn(**cols), dtype=np.float64)
                if vals.shape == () and n == 1:
                    vals = vals.reshape(1)
                if vals.shape != (n,):
                    raise _ShapeError(
                        f"vectorised {label} returned shape {vals.shape} for {n} settings"
                    )
                return vals, failed
            except _ShapeError:
                raise
            except Exception:
                pass  # find the failing settings one by one
            for i in range(n):
                try:
                    one = {k: v[i : i + 1] for k, v in cols.items()}
                    out[i] = float(np.asarray(fn(**one), dtype=np.float64).reshape(-1)[0])
                except Exception as exc:
                    self._note(label, exc)
                    failed[i] = True
            return out, failed
        for i, s in enumerate(settings):
            try:
                out[i] = float(fn(**s))
            except Exception as exc:
                self._note(label, exc)
                failed[i] = True
        return out, failed

    def _inside(self, cols, settings) -> np.ndarray:
        """Where ``domain`` holds (everywhere without one); a domain that raises is an error."""
        n = len(settings)
        if self.domain is None:
            return np.ones(n, dtype=bool)
        fn, vec = self.domain
        if vec:
            out = np.asarray(fn(**cols), dtype=bool).reshape(-1)
            if out.shape != (n,):
                raise _ShapeError(f"vectorised domain returned shape {out.shape} for {n} settings")
            return out
        return np.array([bool(fn(**s)) for s in settings], dtype=bool)

    def _note(self, label, exc):
        self.errors.setdefault(label, f"{type(exc).__name__}: {exc}")

    def evaluate(self, U, phase: int) -> np.ndarray:
        """``log rho`` objective values at unit points ``U`` (cached points cost nothing)."""
        U = self.space.snap(U)
        keys = [tuple(np.round(u, 15)) for u in U]
        new = []
        seen = {}
        for i, k in enumerate(keys):
            if k not in self.cache and k not in seen:
                seen[k] = i
                new.append(i)
        if self.n + len(new) > self.budget:
            new = new[: max(self.budget - self.n, 0)]
            if not new:
                raise _BudgetExhausted
        if new:
            self._evaluate_new(U[new], [keys[i] for i in new], phase)
        obj = np.empty(len(U))
        for i, k in enumerate(keys):
            j = self.cache.get(k)
            obj[i] = np.inf if j is None else _objective(self.R[j])
        if any(k not in self.cache for k in keys):
            raise _BudgetExhausted
        return obj

    def _evaluate_new(self, U, keys, phase):
        """Evaluate new unit points ``U``; ``keys`` (or ``None``) are their cache keys."""
        cols = self.space.columns(U)
        settings = self.space.settings(U)
        # bound and truth first, then the domain on the same columns: a domain that reads the
        # bound's or the truth's (memoised) batch shares its computation
        b, b_fail = self._call(self.bound, self.vec_bound, cols, settings, "bound")
        t, t_fail = self._call(self.truth, self.vec_truth, cols, settings, "truth")
        inside = self._inside(cols, settings)
        r = np.full(len(U), np.nan)
        for i in range(len(U)):
            reason = None
            if not inside[i]:
                reason = "outside the domain"
            elif b_fail[i]:
                reason = "bound raised"
            elif t_fail[i]:
                reason = "truth raised"
            elif not math.isfinite(b[i]):
                reason = "bound not finite"
            elif not math.isfinite(t[i]):
                reason = "truth not finite"
            elif t[i] <= self.atol:
                reason = "truth <= atol"
            if reason is None:
                r[i] = b[i] / t[i]
            else:
                self.skipped[reason] += 1
            if keys is not None:
                self.cache[keys[i]] = self.n
            self.U.append(U[i])
            self.B.append(b[i] if reason is None else np.nan)
            self.T.append(t[i] if reason is None else np.nan)
            self.R.append(r[i])
            self.phase.append(phase)
            if reason is None and r[i] < self.best:
                self.best = float(r[i])
        self.trace.append([self.n, self.best])


def _objective(r: float) -> float:
    if not math.isfinite(r):
        return math.inf
    return math.log(r) if r > 0 else _NONPOS + r


# ----------------------------------------------------------------------------- phases
def _corner_points(space, cap, rng):
    k = space.dim
    if 2**k <= cap:
        corners = np.array(list(itertools.product((0.0, 1.0), repeat=k)))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a subset of corners, not a QMC sum
            corners = (qmc.Sobol(k, scramble=True, rng=rng).random(cap) > 0.5).astype(float)
        corners = np.unique(corners, axis=0)
    # choice coordinates: every choice at every corner when affordable
    extra = [np.full(k, 0.5)]
    for j in range(k):
        for v in (0.0, 1.0):
            face = np.full(k, 0.5)
            face[j] = v
            extra.append(face)
    pts = np.vstack([corners, np.array(extra)])
    choice_idx = [j for j, p in enumerate(space.searched) if p.kind == "choice"]
    if choice_idx:
        combos = list(
            itertools.product(*[range(len(space.searched[j].choices)) for j in choice_idx])
        )
        rows = []
        for base in pts:
            for combo in combos:
                row = base.copy()
                for j, c in zip(choice_idx, combo, strict=True):
                    row[j] = (c + 0.5) / len(space.searched[j].choices)
                rows.append(row)
        pts = np.unique(np.array(rows), axis=0)
    if len(pts) > cap:
        pts = pts[np.sort(rng.permutation(len(pts))[:cap])]
    return pts


def _distinct_best(ev, n_starts, used=(), min_dist=0.05):
    """Indices of the best ``n_starts`` points, pairwise and from ``used`` at least
    ``min_dist`` apart (sup norm in unit coordinates)."""
    R = np.array(ev.R, dtype=np.float64)
    order = np.argsort(np.where(np.isfinite(R), R, np.inf), kind="stable")
    starts = []
    taken = [np.asarray(u) for u in used]
    for i in order:
        if not np.isfinite(R[i]):
            break
        u = ev.U[i]
        if all(np.max(np.abs(u - w)) > min_dist for w in taken):
            starts.append(int(i))
            taken.append(u)
        if len(starts) == n_starts:
            break
    return starts


def _local(ev, u0, maxfun):
    """Bounded L-BFGS-B on the float coordinates from ``u0`` (unit point), ``maxfun`` settings."""
    space = ev.space
    idx = space.float_idx
    if not idx or maxfun < len(idx) + 2:
        return
    k = len(idx)

    def point(x):
        u = u0.copy()
        u[idx] = np.clip(x, 0.0, 1.0)
        return u

    def fg(x):
        x = np.clip(x, 0.0, 1.0)
        steps = np.where(x + _FD_STEP <= 1.0, _FD_STEP, -_FD_STEP)
        pts = [point(x)]
        for j in range(k):
            xj = x.copy()
            xj[j] += steps[j]
            pts.append(point(xj))
        obj = ev.evaluate(np.array(pts), phase=2)
        f0 = obj[0]
        if not math.isfinite(f0):
            return 1e6, np.zeros(k)
        grad = (obj[1:] - f0) / steps
        return f0, np.where(np.isfinite(grad), grad, 0.0)

    budget_iter = max(1, maxfun // (k + 1))
    try:
        optimize.minimize(
            fg,
            u0[idx],
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * k,
            options={"maxfun": budget_iter, "maxiter": budget_iter, "ftol": 1e-15, "gtol": 1e-12},
        )
    except _BudgetExhausted:
        pass


def _polish(ev, u_best):
    """Integer coordinates at bounds and neighbours, every choice, at the best point."""
    space = ev.space
    pts = []
    for j in space.discrete_idx:
        p = space.searched[j]
        if p.kind == "choice":
            cands = [(i + 0.5) / len(p.choices) for i in range(len(p.choices))]
        else:
            v = int(p.python(p.values(u_best[j])))
            lo, hi = math.ceil(p.low), math.floor(p.high)
            vals = {lo, hi, v - 1, v + 1, int(round(v * 0.9)), int(round(v * 1.1))}
            cands = [p.unit(x) for x in sorted(vals) if lo <= x <= hi]
        for c in cands:
            u = u_best.copy()
            u[j] = c
            pts.append(u)
    if pts:
        ev.evaluate(np.array(pts), phase=3)


def _best_index(ev) -> int | None:
    R = np.asarray(ev.R, dtype=np.float64)
    if not np.any(np.isfinite(R)):
        return None
    return int(np.nanargmin(R))


def _refine(ev, space, starts, budget, used):
    reserve = 12 * len(space.discrete_idx) + len(space.float_idx) + 2
    per = max(0, budget - ev.n - reserve) // max(1, len(starts))
    for i in starts:
        used.append(np.array(ev.U[i]))
        _local(ev, np.array(ev.U[i]), per)
    before = _best_index(ev)
    if before is not None and space.discrete_idx:
        _polish(ev, np.array(ev.U[before]))
        after = _best_index(ev)
        if after != before:
            used.append(np.array(ev.U[after]))
            _local(ev, np.array(ev.U[after]), max(0, budget - ev.n - reserve))


def _run_phases(ev, space, budget, rng, n_starts, max_rounds=8, starts=()):
    """The given ``starts`` (settings), corners, then rounds of Sobol blocks (continuing one
    sequence) each followed by local refinement from the best points not refined yet, until
    the budget is spent."""
    used: list[np.ndarray] = []
    try:
        if len(starts):
            ev.evaluate(np.array([space.unit(s) for s in starts]), phase=0)
        ev.evaluate(_corner_points(space, max(1, budget // 4), rng), phase=0)
        sobol = qmc.Sobol(space.dim, scramble=True, rng=rng)
        share = 0.6
        for round_ in range(max_rounds):
            left = budget - ev.n
            if left <= 0:
                break
            m = max(2, int(math.floor(math.log2(max(4.0, share * left)))))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # balance of a continued block
                block = sobol.random(min(2**m, left))
            ev.evaluate(block, phase=1)
            share = 0.5
            if space.float_idx:
                k = n_starts if round_ == 0 else max(1, n_starts // 2)
                _refine(ev, space, _distinct_best(ev, k, used), budget, used)
    except _BudgetExhausted:
        pass


# ------------------------------------------------------------------------ certificates
def _mp_str(x) -> str:
    return mpmath.nstr(mpmath.mpf(x), 15) if not isinstance(x, str) else x


def _check(setting, b_float, t_float, hp, rtol, dps):
    """A :class:`Certificate` at ``setting`` from the high-precision callables ``hp``."""
    bound_mp, truth_mp, label = hp
    with mpmath.workdps(dps):
        b = bound_mp(**setting)
        t = truth_mp(**setting)
        return _certificate(setting, b, t, b_float, t_float, label, rtol, dps)


def _certificate(setting, b, t, b_float, t_float, label, rtol, dps):
    """The :class:`Certificate` of high-precision values ``b`` (bound) and ``t`` (truth):
    ``ok`` iff both are finite, ``t > 0`` and ``b / t < 1 - rtol``. Call under ``workdps(dps)``."""
    b, t = mpmath.mpf(b), mpmath.mpf(t)
    if not (mpmath.isfinite(b) and mpmath.isfinite(t)) or t <= 0:
        ratio, ok = mpmath.mpf("nan"), False
    else:
        ratio = b / t
        ok = bool(ratio < 1 - mpmath.mpf(rtol))
    return Certificate(
        dict(setting),
        _mp_str(b),
        _mp_str(t),
        mpmath.nstr(ratio, 15),
        float(b_float),
        float(t_float),
        label,
        dps,
        ok,
    )


def _mp_setting(setting: Mapping) -> dict:
    """``setting`` with every float as an ``mpmath.mpf`` (exact: a float is a binary number)."""
    out = {}
    for k, v in setting.items():
        if isinstance(v, float | np.floating) and not isinstance(v, bool):
            out[k] = mpmath.mpf(float(v))
        else:
            out[k] = v
    return out


def _mp_call(fn, vec, setting):
    """``fn`` at ``setting`` with mpmath arguments: an ``mpf``, or ``None`` when ``fn`` does not
    compute in mpmath (it raised, or returned a float64 / something else)."""
    args = _mp_setting(setting)
    try:
        if vec:
            cols = {k: np.array([v], dtype=object) for k, v in args.items()}
            out = np.asarray(fn(**cols), dtype=object).reshape(-1)
            if out.size != 1:
                return None
            out = out[0]
        else:
            out = fn(**args)
    except Exception:
        return None
    return out if isinstance(out, mpmath.mpf) else None


def _point_check(ev, i, rtol, dps):
    """Certify evaluated point ``i`` at the point itself, without high-precision twins.

    First the float callables themselves with ``mpmath.mpf`` arguments under
    ``workdps(dps)`` (plain arithmetic and ``mpmath`` functions then compute at ``dps``
    digits); if either callable does not compute in mpmath, a float64 re-evaluation at the
    setting: deterministic callables reproduce the values the search saw, and a ratio below
    ``1 - rtol`` (``rtol`` the declared resolution) is a counterexample whatever the
    neighbouring settings give. The ratio at ``14k`` perturbations of the setting is reported
    beside it (information only: a bound may fail at one point, e.g. beyond a threshold).
    """
    space = ev.space
    setting = space.settings(np.array([ev.U[i]]))[0]
    with mpmath.workdps(dps):
        b = _mp_call(ev.bound, ev.vec_bound, setting)
        t = _mp_call(ev.truth, ev.vec_truth, setting)
        if b is not None and t is not None:
            label = (
                "mpmath re-evaluation of the callables with mpf arguments at the setting "
                "(no twins; as precise as the callables compute)"
            )
            return _certificate(setting, b, t, ev.B[i], ev.T[i], label, rtol, dps)
    u = np.array(ev.U[i])
    pts = [u]
    for j in space.float_idx:
        for step in _PERTURB:
            for sgn in (-1.0, 1.0):
                v = u.copy()
                v[j] = np.clip(v[j] + sgn * step, 0.0, 1.0)
                pts.append(v)
    P = np.array(pts)
    cols = space.columns(P)
    sets = space.settings(P)
    b, bf = ev._call(ev.bound, ev.vec_bound, cols, sets, "bound")
    t, tf = ev._call(ev.truth, ev.vec_truth, cols, sets, "truth")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(bf | tf | (t <= 0), np.nan, b / t)
    ok = bool(np.isfinite(r[0]) and r[0] < 1 - rtol)
    n_pert = len(pts) - 1
    below = int(np.sum(np.isfinite(r[1:]) & (r[1:] < 1 - rtol)))
    return Certificate(
        sets[0],
        f"{b[0]:.15g}",
        f"{t[0]:.15g}",
        f"{r[0]:.15g}",
        float(ev.B[i]),
        float(ev.T[i]),
        f"float64 re-evaluation at the setting (the callables do not compute in mpmath; "
        f"ratio below 1 - rtol at {below} of {n_pert} perturbations of "
        f"{', '.join(f'{p:g}' for p in _PERTURB)} in unit coordinates, information only)",
        None,
        ok,
    )


def _certify(ev, hp, rtol, dps, max_certify):
    """Check every candidate (float ratio ``< 1 - rtol``) in ascending ratio, at most
    ``max_certify`` of them (module docstring).

    Returns ``(verdict, effective ratios, certificate, checked, refuted, unchecked)``: the
    certificate is the confirmed counterexample of smallest ratio; a checked candidate takes
    its certified ratio (high precision; a float re-evaluation that does not reproduce the
    value is excluded, NaN, and leaves the verdict at best ``"inconclusive"``); ``unchecked``
    lists the indices of candidates beyond ``max_certify``.
    """
    eff = np.array(ev.R, dtype=np.float64)
    checked: dict[int, Certificate] = {}
    refuted = unresolved = 0
    settings = ev.space.settings(np.array(ev.U)) if ev.n else []
    with np.errstate(invalid="ignore"):
        cand = [int(j) for j in np.argsort(np.where(np.isfinite(eff), eff, np.inf), kind="stable")]
    cand = [j for j in cand if np.isfinite(eff[j]) and eff[j] < 1 - rtol]
    for i in cand[:max_certify]:
        if hp is not None:
            cert = _check(settings[i], ev.B[i], ev.T[i], hp, rtol, dps)
        else:
            cert = _point_check(ev, i, rtol, dps)
        checked[i] = cert
        val = float(cert.ratio)
        if cert.confirmed:
            if cert.dps is not None:
                eff[i] = val
            continue
        refuted += 1
        if cert.dps is None or not math.isfinite(val):
            unresolved += int(cert.dps is None)
            eff[i] = np.nan
        else:
            eff[i] = val
    unchecked = cand[max_certify:]
    confirmed = [j for j, c in checked.items() if c.confirmed]
    if confirmed:
        j = min(confirmed, key=lambda j: eff[j])
        return "fails", eff, checked[j], checked, refuted, unchecked
    verdict = "inconclusive" if (unresolved or unchecked) else "holds"
    return verdict, eff, None, checked, refuted, unchecked


# ------------------------------------------------------------------------------ public
def _is_vec(fn, flag):
    return bool(getattr(fn, "vectorized", False)) if flag is None else bool(flag)


def _rng(rng) -> np.random.Generator:
    return as_generator(rng, default=0)


def _single(fn, vec):
    """``fn`` as a one-setting callable (a vectorised ``fn`` gets 1-element arrays)."""
    if not vec:
        return fn

    def one(**setting):
        out = fn(**{k: np.array([v]) for k, v in setting.items()})
        return float(np.asarray(out, dtype=np.float64).reshape(-1)[0])

    return one


def _hp(bound, truth, bound_mp, truth_mp, precision, vec_bound, vec_truth):
    if bound_mp is None and truth_mp is None:
        return None
    if bound_mp is not None and not callable(bound_mp):
        raise TypeError("bound_mp must be callable")
    if truth_mp is not None and not callable(truth_mp):
        raise TypeError("truth_mp must be callable")
    label = precision or (
        "mpmath"
        + ("" if bound_mp is not None else " truth; float64 bound")
        + ("" if truth_mp is not None else " bound; float64 truth")
    )
    return (bound_mp or _single(bound, vec_bound), truth_mp or _single(truth, vec_truth), label)


def search(
    bound: Callable,
    truth: Callable,
    space: Mapping,
    budget: int = 512,
    rng: np.random.Generator | int | None = None,
    *,
    constant: float | None = None,
    bound_mp: Callable | None = None,
    truth_mp: Callable | None = None,
    dps: int = 50,
    precision: str | None = None,
    rtol: float = 1e-12,
    atol: float = 0.0,
    vectorized: bool | None = None,
    n_starts: int = 4,
    max_certify: int = 64,
    domain: Callable | None = None,
    starts: Sequence[Mapping] = (),
) -> SearchResult:
    """Search ``space`` for the smallest ``bound / truth`` (module docstring).

    Parameters
    ----------
    bound, truth : callables ``f(**setting) -> float`` (or arrays, if vectorised).
    space : ``name -> spec`` (:mod:`verify.tightness.space`).
    budget : number of settings to evaluate (>= 8).
    rng : a ``numpy.random.Generator`` or an int seed (default 0): the Sobol scrambling and
        the corner subset; the search is deterministic for a seed.
    constant : the theorem's constant ``C`` when ``bound = C * expression``.
    bound_mp, truth_mp : high-precision (or higher-rung) callables for the certificate.
    dps : decimal digits of the mpmath check; ``precision`` a label for the check.
    rtol : ratios within ``rtol`` of 1 count as equality (the resolution of the numbers).
    atol : a truth at most ``atol`` has no ratio (the setting is skipped): e.g. a KL at the
        rounding level where the error vanishes.
    vectorized : force (True/False) or detect (None: the ``vectorized`` attribute) batches.
    n_starts : local refinements from this many distinct best points.
    max_certify : candidates checked at most (more unchecked: the verdict is not ``"holds"``).
    domain : ``f(**setting) -> bool`` (vectorised like ``truth``): the settings where the bound
        is measured; the others are skipped as ``"outside the domain"`` (e.g. where the bound
        carries no information: no elapsed time, no contraction).
    starts : settings (dicts over the space's parameters) evaluated first, before the corners:
        a documented warm start (e.g. the worst region a full-budget run found); they count
        towards the budget and can seed the local refinement like any evaluated point.
    """
    if not callable(bound) or not callable(truth):
        raise TypeError("bound and truth must be callables f(**setting) -> float")
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 8:
        raise ValueError(f"budget must be an integer >= 8, got {budget!r}")
    if not (isinstance(rtol, float | int) and 0 <= rtol < 1):
        raise ValueError(f"rtol must be in [0, 1), got {rtol!r}")
    if constant is not None and not (math.isfinite(constant) and constant > 0):
        raise ValueError(f"constant must be a positive finite number, got {constant!r}")
    if int(dps) < 16:
        raise ValueError(f"dps must be >= 16, got {dps!r}")
    sp = Space(space)
    gen = _rng(rng)
    vb, vt = _is_vec(bound, vectorized), _is_vec(truth, vectorized)
    hp = _hp(bound, truth, bound_mp, truth_mp, precision, vb, vt)
    if not (math.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    if domain is not None and not callable(domain):
        raise TypeError("domain must be a callable f(**setting) -> bool")
    dom = None if domain is None else (domain, _is_vec(domain, vectorized))
    ev = _Evaluator(sp, bound, truth, vb, vt, budget, atol, dom)
    _run_phases(ev, sp, int(budget), gen, int(n_starts), starts=tuple(starts))
    if isinstance(max_certify, bool) or not isinstance(max_certify, int | np.integer):
        raise ValueError(f"max_certify must be an integer >= 1, got {max_certify!r}")
    if max_certify < 1:
        raise ValueError(f"max_certify must be an integer >= 1, got {max_certify!r}")
    verdict, eff, cert, checked, refuted, unchecked = _certify(
        ev, hp, rtol, int(dps), int(max_certify)
    )
    return _result(
        ev, sp, verdict, eff, cert, checked, refuted, unchecked, hp, rtol, int(dps), constant
    )


def _result(ev, sp, verdict, eff, cert, checked, refuted, unchecked, hp, rtol, dps, constant):
    names = sp.names
    if not np.any(np.isfinite(eff)):
        first = "; ".join(f"{k} first raised {v}" for k, v in ev.errors.items())
        raise ValueError(
            f"no setting of the space has both bound and truth defined with truth > 0 "
            f"({ev.n} evaluated; skipped: { {k: v for k, v in ev.skipped.items() if v} })"
            + (f"; {first}" if first else "")
        )
    i = int(np.nanargmin(eff))
    if cert is not None:  # the certified point (lower float values may be unchecked)
        i = next(j for j, c in checked.items() if c is cert)
    settings = sp.settings(np.array(ev.U))
    worst = float(eff[i])
    if i in checked:
        worst_check = checked[i]
    elif hp is not None:
        worst_check = _check(settings[i], ev.B[i], ev.T[i], hp, rtol, dps)
    else:
        worst_check = None
    C = 1.0 if constant is None else float(constant)
    U = np.array(ev.U)
    samples = {
        "unit": U,
        "values": sp.columns(U),
        "bound": np.array(ev.B),
        "truth": np.array(ev.T),
        "ratio": eff,
        "phase": np.array(ev.phase),
    }
    return SearchResult(
        worst_ratio=worst,
        setting=settings[i],
        verdict=verdict,
        evaluations=ev.n,
        trace=[list(x) for x in ev.trace],
        bound_value=float(ev.B[i]),
        truth_value=float(ev.T[i]),
        certificate=cert,
        worst_check=worst_check,
        best_constant=C / worst if worst > 0 else math.inf,
        theorem_constant=constant,
        skipped={k: v for k, v in ev.skipped.items() if v},
        refuted=refuted,
        rtol=rtol,
        names=names,
        samples=samples,
        counterexamples=sorted(
            (c for c in checked.values() if c.confirmed), key=lambda c: c.ratio_value
        ),
        unchecked=[settings[j] for j in unchecked],
    )


# ------------------------------------------------------------------- reading a result
def _axis(p, n):
    """Unit coordinates of a slice along parameter ``p``: ``n`` points, every integer (at most
    ``n``) or every choice."""
    if p.kind == "choice":
        return np.array([(i + 0.5) / len(p.choices) for i in range(len(p.choices))])
    if p.kind == "int":
        return np.array([p.unit(v) for v in np.unique(p.values(np.linspace(0, 1, n)))])
    return np.linspace(0.0, 1.0, n)


def _ratios(sp, bound, truth, U, vectorized):
    ev = _Evaluator(sp, bound, truth, _is_vec(bound, vectorized), _is_vec(truth, vectorized), 10**9)
    ev._evaluate_new(U, None, phase=4)
    return np.array(ev.R, dtype=np.float64)


def influence(
    result: SearchResult,
    bound: Callable,
    truth: Callable,
    space: Mapping,
    n: int = 12,
    vectorized: bool | None = None,
) -> dict[str, float]:
    """How much each parameter moves the ratio near the worst case.

    For each searched parameter, ``log10(bound / truth)`` along its slice through the worst
    setting (``n`` points of its range, the others fixed); the influence is the slice's
    spread ``max - min`` (0 if the ratio does not change; undefined points are ignored).
    """
    sp = Space(space)
    u0 = sp.unit(result.setting)
    out = {}
    for j, p in enumerate(sp.searched):
        ax = _axis(p, n)
        U = np.tile(u0, (len(ax), 1))
        U[:, j] = ax
        r = _ratios(sp, bound, truth, U, vectorized)
        r = r[np.isfinite(r) & (r > 0)]
        out[p.name] = float(np.ptp(np.log10(r))) if r.size > 1 else 0.0
    return out


def ratio_grid(
    bound: Callable,
    truth: Callable,
    space: Mapping,
    base: Mapping,
    x: str,
    y: str,
    n: int = 24,
    vectorized: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, ys, R)``: ``bound / truth`` on an ``n x n`` grid of ``(x, y)`` (in the space's
    coordinates, log where asked; every choice of a choice parameter) with the other
    parameters at ``base`` (e.g. the worst setting). ``R[i, j]`` is at ``(xs[j], ys[i])``;
    NaN where undefined."""
    sp = Space(space)
    if x not in sp.names or y not in sp.names or x == y:
        raise ValueError(f"x and y must be two different searched parameters of {sp.names}")
    jx, jy = sp.names.index(x), sp.names.index(y)

    ux, uy = _axis(sp.searched[jx], n), _axis(sp.searched[jy], n)
    u0 = sp.unit(base)
    U = np.tile(u0, (len(ux) * len(uy), 1))
    gx, gy = np.meshgrid(ux, uy)
    U[:, jx], U[:, jy] = gx.ravel(), gy.ravel()
    R = _ratios(sp, bound, truth, U, vectorized).reshape(len(uy), len(ux))
    xs = sp.searched[jx].values(ux)
    ys = sp.searched[jy].values(uy)
    return xs, ys, R
