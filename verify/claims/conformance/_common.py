"""Shared settings and helpers of the ``conformance.*`` claims (a file per claim beside it)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from verify.claims.base import Check, Decision, Presentation, Table, decide_checks
from verify.runtime.sweep import task_seed

DOC = "docs/claims/conformance.md"

CHECKS = ("weak-order", "step-law", "gamma", "output-kl", "final-step", "bookkeeping")


"""The kit's exact checks (rung 2); the particle consistency check (rung 4) is for samplers
that cannot be probed and is not needed here. ``final-step`` and ``bookkeeping`` compare with
closed forms (a point-like target's exact law), never with a re-implementation."""


OWN = {
    "ours euler gamma=0 (EDM)": ("euler", 0.0, None),
    "ours euler gamma=1 (EDM)": ("euler", 1.0, None),
    "ours euler gamma=0.5 (VP)": ("euler", 0.5, "VP"),
    "ours euler gamma=2 (VP)": ("euler", 2.0, "VP"),
    "ours exponential gamma=0.5 (EDM)": ("exponential", 0.5, None),
    "ours exponential gamma=2 (VP)": ("exponential", 2.0, "VP"),
    "ours ancestral gamma=1 (EDM)": ("ancestral", 1.0, None),
    "ours ancestral gamma=0.5 (VP)": ("ancestral", 0.5, "VP"),
    "ours heun gamma=0 (EDM)": ("heun", 0.0, None),
    "ours heun gamma=0 (VP)": ("heun", 0.0, "VP"),
    "ours ddpm (VP)": ("ddpm", 1.0, "VP"),
}


"""name -> (method, gamma, sde: None = EDM, "VP" = VP(0.1, 20))."""


def _sampler_for(group, name):
    from verify.kit import references as R

    if group == "public":
        sampler, conv, method, knobs = R.PUBLIC[name]
        return sampler, conv, method, knobs, None
    if group == "mutants":
        sampler, conv, method, knobs, _ = R.MUTANTS[name]
        return sampler, conv, method, knobs, None
    from analytic import EDM, VP

    method, gamma, kind = OWN[name]
    sde = VP(0.1, 20.0) if kind == "VP" else EDM(30.0)
    return R.ours(method, gamma, sde), "ours", method, {"gamma": gamma}, sde


def _check_one(task):
    """Run the kit on one sampler; plain data back (top level, so it pickles)."""
    from verify.kit.conformance import check_sampler

    sampler, conv, method, knobs, sde = _sampler_for(task["group"], task["name"])
    rep = check_sampler(
        sampler,
        conv,
        method,
        sde=sde,
        quick=task["quick"],
        seed=task["seed"],
        name=task["name"],
        level=task["level"],
        checks=CHECKS,
        **knobs,
    )
    order = rep.checks["weak-order"].data
    return {
        "name": task["name"],
        "convention": conv,
        "method": method,
        "knobs": ", ".join(f"{k}={v:g}" for k, v in knobs.items()) or "-",
        "verdict": rep.verdict,
        "checks": {n: [c.verdict, c.reason] for n, c in rep.checks.items()},
        "slope": order.get("slope"),
        "expected": order.get("expected"),
        "n": order.get("n", []),
        "err": order.get("err", []),
        "step_gap": rep.checks["step-law"].data.get("worst"),
    }


def _run_group(ctx, group, names):
    # family-wise 99% over the claim's samplers (Bonferroni) for the particle check
    level = 1.0 - 0.01 / len(names)
    tasks = [
        {
            "group": group,
            "name": n,
            "quick": ctx.quick,
            "level": level,
            "seed": task_seed(ctx.seed, "conformance", group, n),
        }
        for n in names
    ]
    return ctx.map(_check_one, tasks, desc=f"conformance {group}"), [t["seed"] for t in tasks]


def _fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def _order_figure(ctx, results, name, title):
    fig = ctx.figure(figsize=(8.5, 4))
    ax = fig.add_subplot()
    for r in results:
        if r["n"]:
            ax.loglog(r["n"], r["err"], "o-", ms=3, label=f"{r['name']} ({_fmt(r['slope'])})")
    ax.set_xlabel("number of steps N")
    ax.set_ylabel("weak error |m_N - m| + ||C_N - C||_F (data units)")
    ax.set_title(title, fontsize=9)
    ax.legend(
        fontsize=7,
        title="sampler (fitted weak order)",
        title_fontsize=7,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
    )
    ax.grid(True, which="both", alpha=0.3)
    return ctx.savefig(fig, name, tight=True)


def _table(results):
    rows = []
    for r in results:
        c = r["checks"]
        rows.append(
            [
                r["name"],
                r["convention"],
                r["method"],
                r["knobs"],
                r["verdict"],
                *(c[k][0] for k in CHECKS),
                _fmt(r["slope"]),
                "-" if r["expected"] is None else r["expected"],
                _fmt(r["step_gap"], ".1e"),
            ]
        )
    return Table(
        [
            "sampler",
            "convention",
            "stated method",
            "knobs",
            "verdict",
            *CHECKS,
            "weak order",
            "stated order",
            "max step-law gap",
        ],
        rows,
    )


@dataclass
class GroupResult:
    """One dict per sampler (plain data from ``_check_one``), the task seeds, a figure title."""

    samplers: list
    seeds: list
    title: str = ""


def _compute_group(group, names_fn, title):
    def compute(ctx) -> GroupResult:
        results, seeds = _run_group(ctx, group, names_fn())
        return GroupResult(results, seeds, title)

    return compute


def decide_conforming(r: GroupResult) -> Decision:
    """``holds`` iff every sampler's kit verdict is ``holds``; ``fails`` if one ``fails``."""
    results = r.samplers
    bad = [x["name"] for x in results if x["verdict"] != "holds"]
    fails = [x["name"] for x in results if x["verdict"] == "fails"]
    verdict = "fails" if fails else ("inconclusive" if bad else "holds")
    worst_gap = max(x["step_gap"] for x in results)
    reason = (
        f"{len(results) - len(bad)}/{len(results)} samplers conform (every check holds "
        f"or is n/a); max step-law gap {worst_gap:.1e} <= 1e-6"
    )
    if bad:
        reason += "; not conforming: " + "; ".join(
            f"{x['name']} ({', '.join(k for k in CHECKS if x['checks'][k][0] != 'holds')})"
            for x in results
            if x["name"] in bad
        )
    return Decision(verdict, reason, f"{len(results) - len(bad)}/{len(results)} conform")


def present_conforming(r: GroupResult, ctx) -> Presentation:
    details = Table(
        ["sampler", "check", "verdict", "reason"],
        [[x["name"], k, *x["checks"][k]] for x in r.samplers for k in CHECKS],
    )
    return Presentation(
        {"samplers": _table(r.samplers), "checks": details},
        [_order_figure(ctx, r.samplers, "weak-order", r.title)],
    )


CONFORMING_TOLERANCE = (
    "step-law rel 1e-6; gamma 1e-6 (exact map) / 0.02 (small-step); "
    "|order - stated| <= 0.3; consistency: 99% CIs family-wise over all "
    "samplers and moments (Bonferroni)"
)

KIT_CHECKS = (
    "weak-order",
    "step-law",
    "gamma",
    "output-kl",
    "final-step",
    "start-law",
    "bookkeeping",
)

RULE_CHECKS = ("step-law", "gamma", "output-kl", "final-step", "start-law", "bookkeeping")


"""The checks ``decide_rules`` decides on. ``final-step`` and ``bookkeeping`` compare with
closed forms (the exact law ``N(m, r^2 I)`` of a point-like target), ``start-law`` with the
exact marginal at the first level, ``gamma`` with the knob maps of ``verify.kit.conventions``:
none of them reads a re-implementation of the sampler under test."""


PACKAGES = ("k-diffusion", "diffusers", "torchsde")


def table_rows(package, quick):
    """Table rows of one package: names of ``verify.kit.adapters``' lists."""
    if package == "k-diffusion":
        from verify.kit.adapters.kdiffusion import KDIFFUSION

        return list(KDIFFUSION)
    if package == "diffusers":
        from verify.kit.adapters.schedulers import DIFFUSERS, QUICK_SKIP

        return [n for n in DIFFUSERS if not (quick and n in QUICK_SKIP)]
    from verify.kit.adapters.sdeint import TORCHSDE

    return list(TORCHSDE)


def _kdiffusion_sampling() -> str | None:
    """The published ``k_diffusion/sampling.py`` loads here (its package may not)."""
    from verify.kit.adapters.kdiffusion import sampling_available

    return sampling_available()


_kdiffusion_sampling.requirement = "k_diffusion.sampling"

QUICK_ORDER_STEPS = {"k-diffusion": (16, 32, 64, 128), "diffusers": (20, 40, 80, 160)}


"""Step counts of the weak-order check in the quick table: those the statements say
(``N = 16..128``, ``20..160``; the startup-orders claim's ``N = 64, 128``); the full budget
uses the kit's full lists."""


def _real_report(package, name, quick, seed):
    from verify.kit import conformance as C

    if package == "k-diffusion":
        from verify.kit.adapters.kdiffusion import sampler

        fn, method, knobs = sampler(name)
        if method is None:
            return None, knobs
        steps = QUICK_ORDER_STEPS["k-diffusion"] if quick else None
        return C.check_sampler(
            fn,
            "k-diffusion",
            method,
            checks=KIT_CHECKS,
            quick=quick,
            seed=seed,
            name=name,
            order_steps=steps,
            **knobs,
        ), knobs
    if package == "diffusers":
        from verify.kit.adapters.schedulers import STATED_ORDERS, scheduler

        sch, method, knobs = scheduler(name)
        rep = C.check_sampler(
            sch,
            "diffusers",
            method,
            order=STATED_ORDERS.get(name),
            checks=KIT_CHECKS,
            quick=quick,
            seed=seed,
            name=name,
            order_steps=QUICK_ORDER_STEPS["diffusers"] if quick else None,
            **knobs,
        )
        return rep, knobs
    from verify.kit.adapters.sdeint import check_sdeint

    return check_sdeint(name, gamma=1.0, quick=quick, seed=seed), {"gamma": 1.0}


@contextlib.contextmanager
def _quiet_peers():
    """Silence the peers' own chatter (diffusers' config notices, FutureWarnings) in a claim run.

    The table configures schedulers on purpose (odd step counts, deprecated algorithm types);
    their notices are not results. Users calling ``check_sampler`` themselves still see them.
    """
    import logging
    import warnings

    loggers = [logging.getLogger(n) for n in ("diffusers", "k_diffusion", "torchsde")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def real_table_row(task):
    """One row of the conformance table: plain numbers from the kit (top level: it pickles)."""
    with _quiet_peers():
        rep, knobs = _real_report(task["package"], task["name"], task["quick"], task["seed"])
    row = {"name": task["name"], "package": task["package"]}
    row["knobs"] = (
        ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in knobs.items())
        or "-"
    )
    if rep is None:
        row.update(method="-", checks={k: ["n/a", NOT_AFFINE] for k in KIT_CHECKS})
        row.update(slope=None, expected=None, gamma_eff=None, gamma_map=None, step_gap=None)
        row.update(kl=[None] * 3, n=[], err=[])
        return row
    c = rep.checks
    order = c["weak-order"].data
    grow = c["gamma"].rows if "gamma" in c else []
    row.update(
        method=rep.method,
        checks={k: [c[k].verdict, c[k].reason] for k in KIT_CHECKS if k in c},
        slope=order.get("slope"),
        expected=order.get("expected"),
        n=order.get("n", []),
        err=order.get("err", []),
        gamma_eff=float(np.mean([r[2] for r in grow])) if grow else None,
        gamma_map=float(np.mean([r[3] for r in grow])) if grow and len(grow[0]) > 3 else None,
        step_gap=c["step-law"].data.get("worst") if "step-law" in c else None,
        kl=list(c["output-kl"].data.get("kl", [None] * 3)),
    )
    for k in KIT_CHECKS:
        row["checks"].setdefault(k, ["n/a", "not run"])
    return row


NOT_AFFINE = (
    "not affine in the batch: its adaptive step-size control uses a norm over the whole batch "
    "(k-diffusion sample_dpm_adaptive), so no exact law exists to probe"
)


@dataclass
class TableResult:
    """One dict per table row (``real_table_row``) and the task seeds."""

    package: str
    rows: list
    seeds: list


_TABLES: dict = {}


def _compute_table(package):
    def compute(ctx) -> TableResult:
        key = (package, ctx.budget, ctx.seed)
        if key not in _TABLES:  # the rules claim and the orders claim share one run
            names = table_rows(package, ctx.quick)
            tasks = [
                {
                    "package": package,
                    "name": n,
                    "quick": ctx.quick,
                    "seed": task_seed(ctx.seed, "conformance", package, n),
                }
                for n in names
            ]
            rows = ctx.map(real_table_row, tasks, desc=f"conformance {package}")
            _TABLES[key] = TableResult(package, rows, [t["seed"] for t in tasks])
        return _TABLES[key]

    return compute


def _drivable(r):
    return [x for x in r.rows if x["method"] != "-"]


def decide_rules(r: TableResult) -> Decision:
    """``holds`` iff every drivable row's step law matches its reference (or has none), its
    gamma check holds or is n/a, and its output KL falls (consistency)."""
    checks = []
    for x in _drivable(r):
        for k in RULE_CHECKS:
            v, why = x["checks"].get(k, ["n/a", "not run"])
            if v == "fails":
                checks.append(Check(False, f"{x['name']}: {k} fails ({why})"))
            elif v == "inconclusive":
                checks.append(Check(None, f"{x['name']}: {k} inconclusive ({why})"))
    n = len(_drivable(r))
    gaps = [x["step_gap"] for x in _drivable(r) if x["step_gap"] is not None]
    worst_gap = max(gaps) if gaps else 0.0
    skipped = len(r.rows) - n
    holds = (
        f"{n}/{n} {r.package} samplers implement their published rule (worst step-law gap "
        f"{worst_gap:.1e}), realise the gamma of their knob and converge (output KL falls)"
        + (f"; {skipped} not drivable exactly (n/a)" if skipped else "")
    )
    return decide_checks(checks, holds, f"worst step gap {worst_gap:.1e}")


def decide_orders(r: TableResult) -> Decision:
    """``holds`` iff every row with a stated order has ``|slope - stated| <= 0.3`` (torchsde:
    ``slope >= declared - 0.3``: its declared order is a guarantee)."""
    checks = []
    for x in _drivable(r):
        v, why = x["checks"]["weak-order"]
        if x["expected"] is None or v == "n/a":
            continue
        ok = True if v == "holds" else None if v == "inconclusive" else False
        checks.append(Check(ok, f"{x['name']}: {why}"))  # unstable grids: undecided
    stated = len(checks)
    bad = [c for c in checks if c.ok is False]
    key = f"{stated - len(bad)}/{stated} orders as stated"
    return decide_checks(checks, f"all {stated} stated weak orders are met", key)


def local_order(row):
    """The weak order between the two finest grids of a row: ``log(e_{N/2} / e_N) / log 2``
    for the errors at the last two step counts (``None`` if unavailable or non-positive)."""
    n, e = row.get("n") or [], row.get("err") or []
    if len(n) < 2 or len(e) < 2 or min(e[-2:]) <= 0:
        return None
    return float(np.log(e[-2] / e[-1]) / np.log(n[-1] / n[-2]))


def present_order_table(r: TableResult, ctx) -> Presentation:
    """The table of ``present_table`` with the weak-order columns and no figure (the figure
    is shown once per package, by its rules claim)."""
    cols = ["sampler", "stated method", "knobs", "weak-order", "weak order", "stated order"]
    cols += ["local order (finest two grids)", "weak error at finest N"]
    rows = [
        [
            x["name"],
            x["method"],
            x["knobs"],
            x["checks"]["weak-order"][0],
            _fmt(x["slope"]),
            "-" if x["expected"] is None else x["expected"],
            _fmt(local_order(x)),
            _fmt(x["err"][-1] if x["err"] else None, ".2e"),
        ]
        for x in r.rows
    ]
    return Presentation({f"{r.package}: weak orders (rung 2)": Table(cols, rows)}, [])


def _fmt_g(x, spec=".3g"):
    return "-" if x is None else format(x, spec)


def present_table(r: TableResult, ctx) -> Presentation:
    cols = [
        "sampler",
        "stated method",
        "knobs",
        *KIT_CHECKS,
        "weak order",
        "stated order",
        "gamma_eff (mean over steps)",
        "gamma (mapped)",
        "max step-law gap",
        "KL N=10",
        "KL N=25",
        "KL N=50",
    ]
    rows = [
        [
            x["name"],
            x["method"],
            x["knobs"],
            *(x["checks"][k][0] for k in KIT_CHECKS),
            _fmt(x["slope"]),
            "-" if x["expected"] is None else x["expected"],
            _fmt_g(x["gamma_eff"]),
            _fmt_g(x["gamma_map"]),
            _fmt(x["step_gap"], ".1e"),
            *(_fmt(k, ".2e") for k in x["kl"]),
        ]
        for x in r.rows
    ]
    details = Table(
        ["sampler", "check", "verdict", "reason"],
        [[x["name"], k, *x["checks"][k]] for x in r.rows for k in KIT_CHECKS],
    )
    fig = ctx.figure(figsize=(8.5, 4.4))
    ax = fig.add_subplot()
    for i, x in enumerate(_drivable(r)):
        kl = [k for k in x["kl"] if k is not None and k > 0]
        if len(kl) == 3:
            ls = ("-", "--", ":")[(i // 10) % 3]
            ax.loglog(OUTPUT_KL_N, kl, "o" + ls, ms=3, label=x["name"])
    ax.set_xlabel("number of steps N")
    ax.set_ylabel("KL(output law || target) (nats)")
    ax.set_title(
        f"{r.package}: exact KL of the output law, 2-D Gaussian target (rung 2)", fontsize=9
    )
    ax.legend(fontsize=6, ncol=2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(True, which="both", alpha=0.3)
    return Presentation(
        {
            f"{r.package} samplers (rung 2: exact laws of the probed affine maps)": Table(
                cols, rows
            ),
            "checks": details,
        },
        [ctx.savefig(fig, "kl-vs-steps", tight=True)],
    )


OUTPUT_KL_N = (10, 25, 50)
