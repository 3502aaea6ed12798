"""Shared settings and helpers of the ``tightness.*`` claims: the result, decide and present
of a bound claim, and :func:`bound_claim`, which builds one from its spec."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from verify.claims.base import Check, Claim, Decision, Presentation, Table, decide_checks

DOC = "docs/claims/tightness.md"
ATTAIN_TOL = 1e-6
"""A bound is attained when its worst ratio is at most ``1 + max(ATTAIN_TOL, rtol)``."""
MAX_SKIPPED = 0.5
"""More than this fraction of undefined settings (inside the domain) leaves the search
undecided."""
MIN_INSIDE = 16
"""Fewer settings inside a bound's domain than this leave the search undecided."""
OUTSIDE = "outside the domain"
"""The skip reason of settings outside a bound's domain (where it carries no information):
excluded and reported, not counted as undefined."""
RATE_BOUNDS = {"lsi-rate"}
"""Bounds searched as decay times ``1 / E``: the worst ratio ``E_truth / E_bound`` is the
largest factor by which the bound's rate could be multiplied and still hold on the space."""
TWIN_TOL = 1e-2
"""Largest relative difference between a vectorised twin and the theory function it stands in
for at the worst setting (the theory function's uniform trapezoid rule is less accurate)."""


@dataclass
class TightnessResult:
    """One bound's search: the numbers of ``verify.tightness.runner.BoundRun`` plus the
    claim's expectation ``attained`` (the source says the bound is attained in the space)."""

    key: str
    attained: bool
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
    seeds: list = field(default_factory=list)
    n_counterexamples: int = 0
    n_unchecked: int = 0
    domain: str = ""


def _result(key: str, ctx) -> TightnessResult:
    from verify.tightness.bounds import get_bound
    from verify.tightness.runner import run_bound

    run = run_bound(key, ctx.budget, ctx.seed)
    fields = asdict(run)
    seed = fields.pop("seed")
    fields.pop("budget")
    domain = get_bound(key).domain_text
    return TightnessResult(attained=_SPEC[key]["attained"], seeds=[seed], domain=domain, **fields)


def _fmt_setting(setting: dict) -> str:
    def one(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={one(v)}" for k, v in setting.items())


def _cert_text(cert: dict) -> str:
    return (
        f"bound = {cert['bound']}, truth = {cert['truth']}, ratio = {cert['ratio']} "
        f"({cert['method']})"
    )


def decide_bound(r: TightnessResult) -> Decision:
    """``fails`` on a certified counterexample or a bound stated as attained that is not;
    ``inconclusive`` when the search could not decide (too many undefined settings, or
    candidates it could neither confirm nor refute); ``holds`` otherwise."""
    checks = []
    if r.verdict == "fails":
        cert = r.certificate or {}
        checks.append(
            Check(
                False,
                f"certified counterexample at {_fmt_setting(r.setting)}: "
                + (_cert_text(cert) if cert else f"ratio {r.worst_ratio:.6g}")
                + (
                    f" ({r.n_counterexamples} evaluated settings certified as counterexamples)"
                    if r.n_counterexamples > 1
                    else ""
                ),
            )  # fmt: skip
        )
    elif r.verdict == "inconclusive":
        checks.append(
            Check(
                None,
                f"{r.refuted} float64 candidates below 1 could not be confirmed or "
                f"refuted at high precision ({r.n_unchecked} left unchecked)",
            )  # fmt: skip
        )
    n_out = int(r.skipped.get(OUTSIDE, 0))
    n_skip = int(sum(r.skipped.values())) - n_out
    n_in = r.evaluations - n_out
    if r.evaluations and n_in < MIN_INSIDE:
        checks.append(Check(None, f"only {n_in} of {r.evaluations} settings inside the domain"))
    if n_in and n_skip > MAX_SKIPPED * n_in:
        checks.append(Check(None, f"{n_skip} of {n_in} settings undefined ({r.skipped})"))
    tol = max(ATTAIN_TOL, r.rtol)
    if r.attained and r.verdict != "fails" and r.worst_ratio > 1 + tol:
        checks.append(
            Check(
                False,
                f"stated as attained, but the worst ratio is {r.worst_ratio:.6g} > 1 + {tol:g}",
            )  # fmt: skip
        )
    lsi = r.extra.get("ratio_to_lsi_estimate")
    if lsi is not None and lsi < 1 - r.rtol:
        checks.append(
            Check(
                False, f"below the LSI estimate at the worst setting: bound / C_LSI = {lsi:.6g}"
            )  # fmt: skip
        )
    theory = r.extra.get("theory_min_ratio_at_worst")
    if theory is not None:  # the vectorised twin against the theory function itself
        twin = r.extra["twin_min_ratio_at_worst"]
        if abs(theory - twin) > TWIN_TOL * abs(twin):
            checks.append(
                Check(
                    False,
                    f"the vectorised twin ({twin:.8g}) and verify.theory ({theory:.8g}) "
                    f"disagree at the worst setting by more than {TWIN_TOL:g}",
                )  # fmt: skip
            )
    if r.key in RATE_BOUNDS:
        const = f"best rate factor {r.worst_ratio:.6g} (theorem 1)"
    elif r.theorem_constant is not None:
        const = f"best constant {r.best_constant:.6g} (theorem {r.theorem_constant:g})"
    else:
        const = f"best factor {r.best_constant:.6g}"
    excluded = f", {n_out} outside the domain: {r.domain}" if n_out else ""
    holds = (
        f"no counterexample in {r.evaluations} settings ({n_skip} undefined{excluded}); worst "
        f"bound/truth "
        f"= {r.worst_ratio:.10g} at {_fmt_setting(r.setting)}; {const}"
        + ("; attained" if r.attained else "")
        + (f"; bound / C_LSI estimate there = {lsi:.6g}" if lsi is not None else "")
        + (f"; verify.theory's own ratio there = {theory:.8g}" if theory is not None else "")
        + "."
    )
    key = f"worst ratio {r.worst_ratio:.6g}; " + const.replace(" (theorem ", " vs ").rstrip(")")
    return decide_checks(checks, holds, key)


def _grid_axis(values):
    if all(isinstance(v, float | int) for v in values):
        return np.asarray(values, dtype=float), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def _ratio_norm(L: np.ndarray):
    """Colour scale of ``log10(bound / truth)`` and the values to paint with it.

    When the values are all >= 0 (no counterexample) and span more than two decades, a log
    scale (a linear one would paint a tight row and a nearly tight one alike); zeros (bound
    attained to rounding) take the lowest colour. When some are negative (counterexamples), a
    diverging map centred on 0. Returns ``(norm, cmap, values)``."""
    from matplotlib.colors import LogNorm, Normalize, TwoSlopeNorm

    v = L[np.isfinite(L)]
    if v.size == 0:
        return Normalize(0.0, 1.0), "viridis", L
    if np.any(v < 0):
        hi = float(np.max(np.abs(v)))
        return TwoSlopeNorm(0.0, -hi, max(hi, 1e-300)), "coolwarm", L
    hi = float(np.max(v))
    pos = v[v > 0]
    lo = float(np.min(pos)) if pos.size else hi
    if pos.size and hi / lo > 100:
        return LogNorm(lo, hi), "viridis", np.where(np.isfinite(L), np.maximum(L, lo), L)
    return Normalize(float(np.min(v)), max(hi, float(np.min(v)) + 1e-300)), "viridis", L


def _even(values) -> bool:
    """Whether grid points are evenly enough spaced that a label fits in every cell."""
    d = np.diff(np.asarray(values, dtype=float))
    return d.size == 0 or bool(np.min(np.abs(d)) >= 0.5 * np.max(np.abs(d)))


def _figure(r: TightnessResult, ctx, rung: int):
    fig = ctx.figure(figsize=(5.8, 3.9))
    ax = fig.add_subplot()
    g = r.grid
    xs, xlab = _grid_axis(g["xs"])
    ys, ylab = _grid_axis(g["ys"])
    L = np.asarray(g["log10_ratio"], dtype=float)
    norm, cmap, painted = _ratio_norm(L)
    mesh = ax.pcolormesh(xs, ys, painted, shading="nearest", cmap=cmap, norm=norm)
    log = type(norm).__name__ == "LogNorm"
    fig.colorbar(mesh, ax=ax, label="log10(bound / truth)" + (", log scale" if log else ""))
    finite = np.isfinite(L)
    if L.size <= 48 and _even(xs) and _even(ys):
        # few cells of equal size: print each value, so equal colours never hide a difference
        for (iy, ix), v in np.ndenumerate(L):
            if finite[iy, ix]:
                ax.text(xs[ix], ys[iy], f"{v:.1e}", ha="center", va="center", fontsize=5.5,
                        color="w" if norm(painted[iy, ix]) < 0.5 else "k")  # fmt: skip
    if xlab is None and ylab is None:
        ax.plot([r.setting[g["x"]]], [r.setting[g["y"]]], "r*", ms=12, label="worst setting")
        ax.legend(fontsize=7, loc="best")
    if xlab is not None:
        ax.set_xticks(xs, xlab)
    if ylab is not None:
        ax.set_yticks(ys, ylab)
    ax.set_xlabel(g["x"])
    ax.set_ylabel(g["y"])
    ax.set_title(
        f"tightness.{r.key}: bound / truth through the worst setting\n(other parameters "
        f"fixed there; rung {rung}; white: undefined)",
        fontsize=8.5,
    )
    return ctx.savefig(fig, "ratio")


def _trace_rows(trace, n=12):
    if len(trace) <= n:
        return [list(t) for t in trace]
    idx = np.unique(np.round(np.linspace(0, len(trace) - 1, n)).astype(int))
    return [list(trace[i]) for i in idx]


def present_bound(r: TightnessResult, ctx) -> Presentation:
    check = r.certificate or r.worst_check
    tables = {
        "Worst case found": Table(
            [
                "worst ratio bound/truth",
                "worst ratio - 1",
                "bound",
                "truth",
                "best constant",
                "theorem constant",
                "settings",
                "undefined",
            ],
            [
                [
                    r.worst_ratio,
                    r.worst_ratio - 1.0,
                    r.bound_value,
                    r.truth_value,
                    r.best_constant,
                    "" if r.theorem_constant is None else r.theorem_constant,
                    r.evaluations,
                    int(sum(r.skipped.values())),
                ]
            ],
        ),
        "Worst setting": Table(list(r.setting), [list(r.setting.values())]),
        "Influence near the worst setting (spread of log10 ratio along each parameter)": Table(
            ["parameter", "spread of log10(bound/truth)"],
            [[k, v] for k, v in sorted(r.influence.items(), key=lambda kv: -kv[1])],
        ),
    }
    if check:
        tables["High-precision check at the worst setting"] = Table(
            ["bound", "truth", "ratio", "check", "counterexample"],
            [
                [
                    check["bound"],
                    check["truth"],
                    check["ratio"],
                    check["method"],
                    check["confirmed"],
                ]
            ],  # fmt: skip
        )
    if r.extra:
        tables["LSI estimate at the worst setting (analytic.lsi.lsi_constant_1d)"] = Table(
            list(r.extra), [list(r.extra.values())]
        )
    tables["Search trace (float64)"] = Table(
        ["settings evaluated", "smallest bound/truth so far"], _trace_rows(r.trace)
    )
    figures = [_figure(r, ctx, _SPEC[r.key]["rung"])] if r.grid else []
    return Presentation(tables, figures)


class _Compute:
    """``compute(ctx)`` of ``tightness.<key>`` (a picklable callable)."""

    def __init__(self, key: str):
        self.key = key
        self.__name__ = f"compute_{key.replace('-', '_')}"

    def __call__(self, ctx) -> TightnessResult:
        return _result(self.key, ctx)


_R = (
    "(reconstructed: the paper's statement was not available; this is the standard result it "
    "rests on)"
)
_GRID_TRUTH = (
    "truth: a lower bound on C_LSI, sup_f Ent(f^2) / (2 E|f'|^2) over f = exp(a x) and "
    "exp(a tanh((x - c)/l)) by the trapezoid rule, certified by mpmath.quad of the optimal f; "
    "at the full budget also lsi_constant_1d at the worst setting."
)
_EDM = (
    "EDM(80), Karras grids (N steps, sigma_min = 2e-4, sigma_T, rho); Gaussian data d = 2, "
    "eigenvalues lam1, lam2 in [0.01, 10], mean norm in [0, 2]"
)


_SPEC: dict[str, dict] = {}
"""The spec of each bound claim, by key (filled by :func:`bound_claim`, one call per file)."""


def _tolerance(spec) -> str:
    base = "no certified counterexample (within the truth's resolution)"
    return base + (f"; attained: worst ratio <= 1 + {ATTAIN_TOL:g}" if spec["attained"] else "")


def bound_claim(spec: dict) -> Claim:
    """The claim ``tightness.<key>`` of one bound's ``spec`` (key, attained, checks,
    inequality, rung, statement, source, setting, optional finding); registers the spec (a
    duplicate id is refused by the registry)."""
    _SPEC[spec["key"]] = spec
    return Claim(
        f"tightness.{spec['key']}",
        spec["statement"],
        spec["source"],
        spec["setting"],
        compute=_Compute(spec["key"]),
        decide=decide_bound,
        present=present_bound,
        rung=spec["rung"],
        tolerance=_tolerance(spec),
        doc=f"{DOC}#{spec['key']}",
        finding=spec.get("finding", ""),
    )
