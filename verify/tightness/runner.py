"""One tightness run of a catalogued bound: the search plus what the claims show.

:func:`run_bound` searches a :class:`~verify.tightness.bounds.Bound` with the budget and seed
given, then measures each parameter's influence near the worst case
(:func:`~verify.tightness.search.influence`), evaluates the ratio on a grid of the two most
influential parameters through the worst setting (:func:`~verify.tightness.search.ratio_grid`)
and the bound's extra checks (the LSI estimate at the worst setting for the mixture bounds).
Numbers only, in a :class:`BoundRun`; runs are memoised per ``(key, budget, seed)`` within a
process, so ``tightness.table`` reuses the per-bound claims' searches when they run in the same
process (results are deterministic, so a recomputation in another process is identical).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

import numpy as np

from verify.runtime.sweep import task_seed

from .bounds import Bound, get_bound, mixture_constant
from .search import influence, ratio_grid, search

__all__ = ["BoundRun", "run_bound", "lsi_estimate"]


@dataclass
class BoundRun:
    """The numbers of one run (see :class:`~verify.tightness.search.SearchResult`).

    ``certificate`` / ``worst_check`` are dicts of the certificates (strings with 15 digits);
    ``grid`` holds ``x``, ``y`` (parameter names), ``xs``, ``ys`` (their values; choices as
    strings) and ``log10_ratio`` (``len(ys) x len(xs)``, NaN where undefined); ``extra`` the
    bound's additional numbers.
    """

    key: str
    budget: int
    seed: int
    verdict: str
    worst_ratio: float
    setting: dict
    bound_value: float
    truth_value: float
    best_constant: float
    theorem_constant: float | None
    evaluations: int
    skipped: dict
    refuted: int
    rtol: float
    trace: list
    certificate: dict | None
    worst_check: dict | None
    influence: dict
    grid: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    n_counterexamples: int = 0
    n_unchecked: int = 0


@functools.lru_cache(maxsize=64)
def lsi_estimate(w: float, rho: float, s: float) -> float:
    """``analytic.lsi.lsi_constant_1d`` of the two-component mixture (memoised; 1-3 s)."""
    return mixture_constant(w, rho, s, n=400, kind="lsi")


def _grid(b: Bound, res, infl: dict, n: int) -> dict:
    names = sorted(infl, key=lambda k: (-infl[k], list(b.space).index(k)))
    x, y = names[0], names[1]
    xs, ys, R = ratio_grid(b.bound, b.truth, b.space, res.setting, x, y, n=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.where(np.isfinite(R) & (R > 0), np.log10(R), np.nan)

    def plain(v):
        return [str(a) if not isinstance(a, int | float | np.number) else float(a) for a in v]

    return {"x": x, "y": y, "xs": plain(xs), "ys": plain(ys), "log10_ratio": L.tolist()}


def _extra(b: Bound, res, lsi: bool) -> dict:
    """The bound's additional numbers at the worst setting: the LSI estimate of a mixture
    (``lsi``: 1-3 s, full budget), ``ode_w2_bound`` itself for the Gronwall twin."""
    s = res.setting
    if b.key.startswith("mixture-lsi") and lsi:
        c = lsi_estimate(float(s["w"]), float(s["rho"]), float(s["s"]))
        return {
            "lsi_estimate_at_worst": c,
            "bound_at_worst": res.bound_value,
            "ratio_to_lsi_estimate": res.bound_value / c,
        }
    if b.key == "ode-w2":
        from .theory_bounds import ode_w2_theory_ratio, ode_w2_twin_ratio

        # both over all nodes (the search's ratio is over the informative nodes only)
        return {
            "theory_min_ratio_at_worst": ode_w2_theory_ratio(s),
            "twin_min_ratio_at_worst": ode_w2_twin_ratio(s),
        }
    return {}


@functools.lru_cache(maxsize=64)
def _run(key: str, budget: int, seed: int, grid_n: int, extras: bool) -> BoundRun:
    b = get_bound(key)
    res = search(
        b.bound,
        b.truth,
        b.space,
        budget=budget,
        rng=seed,
        constant=b.constant,
        bound_mp=b.bound_mp,
        truth_mp=b.truth_mp,
        precision=b.precision,
        rtol=b.rtol,
        atol=b.atol,
        domain=b.domain,
        starts=b.seeds,
    )
    infl = influence(res, b.bound, b.truth, b.space, n=b.infl_n)
    return BoundRun(
        key=b.key,
        budget=budget,
        seed=seed,
        verdict=res.verdict,
        worst_ratio=res.worst_ratio,
        setting=res.setting,
        bound_value=res.bound_value,
        truth_value=res.truth_value,
        best_constant=res.best_constant,
        theorem_constant=res.theorem_constant,
        evaluations=res.evaluations,
        skipped=res.skipped,
        refuted=res.refuted,
        rtol=res.rtol,
        trace=res.trace,
        certificate=asdict(res.certificate) if res.certificate else None,
        worst_check=asdict(res.worst_check) if res.worst_check else None,
        influence=infl,
        grid=_grid(b, res, infl, grid_n) if grid_n else {},
        extra=_extra(b, res, extras),
        n_counterexamples=len(res.counterexamples),
        n_unchecked=len(res.unchecked),
    )


def run_bound(
    key: str,
    budget: str | int = "quick",
    seed: int = 0,
    *,
    grid_n: int | None = None,
    extras: bool | None = None,
) -> BoundRun:
    """Search bound ``key`` with ``budget`` (``"quick"``, ``"full"`` or a number of settings)
    from the base ``seed`` (the search's seed is ``task_seed(seed, "tightness", key)``).

    ``grid_n`` points per axis of the ratio grid (default the bound's; 0: none); ``extras``
    the expensive extra checks (the LSI estimate; default: at the full budget only).
    Memoised per arguments within a process.
    """
    b = get_bound(key)
    n = b.budget(budget)
    grid_n = b.grid_n if grid_n is None else int(grid_n)
    extras = (budget == "full") if extras is None else bool(extras)
    return _run(b.key, n, task_seed(int(seed), "tightness", b.key), grid_n, extras)
