"""Claims of paper 4: how long to diffuse (``horizon.*``).

Franzese, Rossi, Yang, Finamore, Rossi, Filippone, Michiardi, "How Much is Enough? A Study on
Diffusion Times in Score-Based Generative Models", arXiv 2206.05173 (Entropy 25(4):633, 2023).
The ELBO bound ``B(T) = KL(p_T || pi) + J(T)`` and its terms are computed by
:mod:`verify.theory.elbo`; the PF-ODE likelihood by :mod:`verify.theory.start_laws`. The
mathematics (the decomposition, the two affine score families, the slope identity
``B'(T) = g^2/2 (Delta - I(p_T|pi))``) is in docs/claims/horizon.md. Each claim is
``compute`` (numbers), ``decide`` (verdict) and ``present`` (tables, figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from analytic import VE, VP, Gaussian, GaussianMixture, kl
from verify.claims.base import Check, Claim, Decision, Presentation, Table, decide_checks, worst
from verify.runtime.sweep import task_seed
from verify.theory.elbo import (
    bound_along_T,
    coupled_be_slack,
    gaussian_elbo,
    per_t_quantities,
)
from verify.theory.start_laws import grid_gmm, pf_ode_log_likelihood

DOC = "docs/claims/horizon.md"


def _check(ok, detail: str) -> Check:
    """A :class:`Check` with ``ok`` as a Python bool (numpy bools are not ``True``/``False``)."""
    return Check(None if ok is None else bool(ok), detail)


_RECON = (
    "(reconstructed: the paper's statement was not available; this is the standard result it "
    "rests on)"
)
_SRC = f"arXiv 2206.05173 §2.2 {_RECON}"


def _vp() -> VP:
    return VP(0.1, 20.0, 1.0)


def _ve() -> VE:
    return VE(0.01, 10.0, 1.0)


def _data_1d() -> GaussianMixture:
    """1-D two-mode GMM, not standardised (so the per-t affine score is not the prior's)."""
    return GaussianMixture([0.35, 0.65], np.array([[-2.0], [1.5]]), np.array([0.15, 0.4]))


def _data_skewed() -> GaussianMixture:
    """1-D skewed three-mode GMM (a second data set for the monotonicity theorem)."""
    return GaussianMixture(
        [0.6, 0.3, 0.1], np.array([[-0.5], [1.0], [3.0]]), np.array([0.2, 0.05, 0.5])
    )


def _ci_flag(lo: float, hi: float) -> str:
    return "holds" if lo > 0 else ("fails" if hi < 0 else "inconclusive")


# ====================================================================== prior-kl-monotone
@dataclass
class PriorMonotoneResult:
    """Gaussian (exact): ``Ts``, ``kls`` = KL(p_T||N(0,I)), ``be`` = e^{-B(T)} KL(p_0||N(0,I)),
    ``mono`` max relative increase, ``be_ratio`` max KL/bound; GMM: ``mc`` rows of
    :func:`verify.theory.elbo.coupled_be_slack` with ``n`` draws."""

    Ts: np.ndarray
    kls: np.ndarray
    be: np.ndarray
    mono: float
    be_ratio: float
    mc: list
    n: int
    seeds: list


def _gmm_be_task(task):
    rng = np.random.default_rng(task["seed"])
    return coupled_be_slack(_vp(), grid_gmm(), task["Ts"], task["n"], rng)


def compute_prior_monotone(ctx) -> PriorMonotoneResult:
    sde = _vp()
    rng = ctx.rng("h1-gauss")
    d = 10
    lam = np.linspace(0.1, 3.0, d)
    data = Gaussian(rng.normal(0.0, 0.7, d), lam)
    pi = Gaussian(np.zeros(d), 1.0)
    Ts = np.linspace(0.0, 1.0, 101)
    kls = np.array([kl(sde.marginal(data, t), pi) for t in Ts])
    be = np.exp(-sde.B(Ts)) * kls[0]
    mono = float(np.max(np.diff(kls) / kls[:-1]))  # > 0 would be an increase
    be_ratio = float(np.max(kls[1:] / be[1:]))
    n = 40_000 if ctx.quick else 400_000
    task = {"seed": task_seed(ctx.seed, "h1-gmm"), "Ts": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3], "n": n}
    mc = ctx.map(_gmm_be_task, [task], desc="GMM Bakry-Emery")[0]
    return PriorMonotoneResult(Ts, kls, be, mono, be_ratio, mc, n, [task["seed"]])


def _be_flags(r: PriorMonotoneResult) -> list[str]:
    return [_ci_flag(lo, hi) for row in r.mc for lo, hi in ((row[4], row[5]), (row[6], row[7]))]


def decide_prior_monotone(r: PriorMonotoneResult) -> Decision:
    flags = _be_flags(r)
    g_ok = r.mono <= 1e-12 and r.be_ratio <= 1.0 + 1e-12
    worst_lo = min(min(row[4], row[6]) for row in r.mc)
    return Decision(
        worst(*flags, "holds" if g_ok else "fails"),
        f"Gaussian d=10 (exact): max relative increase of KL(p_T||N(0,I)) = {r.mono:.1e} <= "
        f"1e-12, max KL/BE-bound = {r.be_ratio:.6f} <= 1; GMM (MC, n={r.n}): "
        f"{flags.count('holds')}/{len(flags)} slack CIs above 0 (smallest lower end "
        f"{worst_lo:.2e})",
        f"max KL/BE bound = {r.be_ratio:.4f} (Gaussian)",
    )


def present_prior_monotone(r: PriorMonotoneResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(9, 3.4))
    ax = fig.add_subplot(1, 2, 1)
    ax.semilogy(r.Ts, r.kls, label="KL(p_T || N(0,I)), exact")
    ax.semilogy(r.Ts, r.be, "--", label="Bakry-Emery e^{-B(T)} KL(p_0||N(0,I))")
    ax.set_xlabel("diffusion time T (VP units)")
    ax.set_ylabel("KL (nats)")
    ax.set_title("Gaussian data, d = 10 (rung 1)")
    ax.legend(fontsize=7)
    ax2 = fig.add_subplot(1, 2, 2)
    arr = np.array(r.mc)
    ax2.errorbar(
        arr[:, 0],
        arr[:, 1],
        yerr=[arr[:, 1] - arr[:, 2], arr[:, 3] - arr[:, 1]],
        fmt="o",
        label="KL(p_T || N(0,I)), MC 95% CI",
    )
    ax2.plot(arr[:, 0], arr[:, 8], "--", label="Bakry-Emery e^{-B(T)} KL(p_0||N(0,I)) (MC)")
    ax2.set_yscale("log")
    ax2.set_xlabel("diffusion time T (VP units)")
    ax2.set_ylabel("KL (nats)")
    ax2.set_title("25-mode grid GMM, d = 2 (rung 4)")
    ax2.legend(fontsize=7)
    rows = [
        [T, f"{k:.6e}", f"{b:.6e}"]
        for T, k, b in zip(r.Ts[::10], r.kls[::10], r.be[::10], strict=True)
    ]
    mc_rows = [
        [
            m[0],
            f"{m[1]:.4e}",
            f"[{m[2]:.3e}, {m[3]:.3e}]",
            f"[{m[4]:.2e}, {m[5]:.2e}]",
            f"[{m[6]:.2e}, {m[7]:.2e}]",
        ]
        for m in r.mc
    ]
    return Presentation(
        {
            "Gaussian d=10: KL(p_T||N(0,I)) vs Bakry-Emery bound": Table(
                ["T", "KL(p_T||N(0,I))", "e^{-B(T)} KL(p_0||N(0,I))"], rows
            ),
            "GMM d=2 (MC): KL(p_T||N(0,I)) and BE slack CIs": Table(
                ["T", "KL(p_T||N(0,I))", "95% CI", "slack vs previous T (CI)", "slack vs T=0 (CI)"],
                mc_rows,
            ),
        },
        [ctx.savefig(fig, "kl-vs-T")],
    )


# ============================================================ the bound along T (1-D GMM)
_TS_AUX = (0.0025, 0.005, 0.01, 0.02, 0.03, 0.04)  # refined towards 0 (auxiliary optimum)
_TS_QUICK = np.union1d(np.linspace(0.0, 1.0, 21), _TS_AUX)
_TS_FULL = np.union1d(np.linspace(0.0, 1.0, 61), _TS_AUX)


@lru_cache(maxsize=8)
def _bound_rows(kind: str, quick: bool) -> tuple:
    """Cached :func:`verify.theory.elbo.bound_along_T` (shared by several claims)."""
    n_quad = 6 if quick else 10
    base = _TS_QUICK if quick else _TS_FULL
    if kind == "vp":
        return tuple(bound_along_T(_vp(), _data_1d(), base, n_quad))
    if kind == "ve":
        ve = _ve()
        return tuple(bound_along_T(ve, _data_1d(), base, n_quad, prior_var=ve.sigma2))
    if kind == "vp-skewed":
        return tuple(bound_along_T(_vp(), _data_skewed(), base, n_quad))
    raise ValueError(f"unknown bound table {kind!r}")


@dataclass
class BoundResult:
    """Rows of :func:`verify.theory.elbo.bound_along_T` on the T grid of the budget, per data
    set (``tables``: name -> rows); ``fd`` (per data set, rows ``[T, central difference of
    KL(p_T || pi), -g^2/2 I(p_T | pi)]``) checks the slope identity the monotonicity rests on."""

    tables: dict
    fd: dict = field(default_factory=dict)


def compute_bound(ctx) -> BoundResult:
    return BoundResult({"two-mode GMM": list(_bound_rows("vp", ctx.quick))})


_FD_T = (0.05, 0.2, 0.5)
_FD_H = 1e-5
FD_RTOL = 1e-6


def slope_identity_rows(sde, data, Ts=_FD_T, h=_FD_H) -> list:
    """``[T, (KL(p_{T+h}||pi) - KL(p_{T-h}||pi)) / 2h, -g(T)^2/2 I(p_T | pi)]`` per ``T``: the
    Fokker-Planck slope identity by central differences against the relative Fisher
    information (two independent quadratures)."""
    rows = []
    for T in Ts:
        kp = [per_t_quantities(sde, data, t).kl_prior for t in (T - h, T + h)]
        q = per_t_quantities(sde, data, T)
        rows.append([T, (kp[1] - kp[0]) / (2 * h), -0.5 * float(sde.g2(T)) * q.rel_fisher_prior])
    return rows


def compute_monotone(ctx) -> BoundResult:
    return BoundResult(
        {
            "two-mode GMM": list(_bound_rows("vp", ctx.quick)),
            "skewed three-mode GMM": list(_bound_rows("vp-skewed", ctx.quick)),
        },
        {
            "two-mode GMM": slope_identity_rows(_vp(), _data_1d()),
            "skewed three-mode GMM": slope_identity_rows(_vp(), _data_skewed()),
        },
    )


def compute_ve(ctx) -> BoundResult:
    return BoundResult({"two-mode GMM, VE": list(_bound_rows("ve", ctx.quick))})


_FAMILIES = (("J_aff", "per-t best affine"), ("J_sh", "time-shared affine"))


def _fig_bound(ctx, rows, name, extra=None, sde_label="VP", families=_FAMILIES):
    """``B(T) = KL(p_T || prior) + J(T)`` against ``T``, one panel per score family
    (``families``: ``(field, label)``); ``rows`` may be a dict ``{name: rows}`` for one panel
    per table (``titles``), each with the one family given."""
    panels = (
        [(rows_i, families[0], title) for title, rows_i in rows.items()]
        if isinstance(rows, dict)
        else [(rows, fam, None) for fam in families]
    )
    fig = ctx.figure(figsize=(4.6 * len(panels), 3.4))
    for i, (prow, (key, label), title) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        T = np.array([r.T for r in prow])
        kp = np.array([r.kl_prior for r in prow])
        J = np.array([getattr(r, key) for r in prow])
        B = kp + J
        ax.plot(T, kp, label="KL(p_T || prior)")
        ax.plot(T, J, label=f"score term J(T), {label}")
        ax.plot(T, B, "k", lw=2, label="bound B(T) = KL + J")
        j = int(np.argmin(B))
        ax.plot([T[j]], [B[j]], "o", color="C3", label=f"min B at T = {T[j]:.2f}")
        for lab, vals in (extra or {}).items():
            ax.plot(T, np.asarray(vals) + J, "--", label=f"aux. bound, {lab}")
        if max(B) / max(min(B), 1e-12) > 50:
            ax.set_yscale("log")
        ax.set_xlabel(f"diffusion time T ({sde_label} units)")
        ax.set_ylabel("nats")
        head = f"{title}: " if title else ""
        ax.set_title(f"{head}{label} score (rung 3: quadrature)", fontsize=8)
        ax.legend(fontsize=7)
    return ctx.savefig(fig, name)


def _argmin_interior(B: np.ndarray, margin: float) -> tuple[int, bool]:
    j = int(np.argmin(B))
    return j, bool(0 < j < len(B) - 1 and B[j] < min(B[j - 1], B[j + 1]) - margin)


MONOTONE_TOL = 1e-9


def decide_monotone(r: BoundResult) -> Decision:
    checks, worst_inc, worst_slope = [], -np.inf, -np.inf
    for name, rows in r.tables.items():
        B = np.array([x.kl_prior + x.J_aff for x in rows])
        tol = MONOTONE_TOL + 2 * max(x.kl_err for x in rows)
        inc = float(np.max(np.diff(B)))
        slope = max(x.slope_aff for x in rows)
        worst_inc, worst_slope = max(worst_inc, inc), max(worst_slope, slope)
        checks.append(
            _check(inc <= tol, f"{name}: max B(T_j+1) - B(T_j) = {inc:.2e} (<= {tol:.0e})")
        )
        checks.append(
            _check(slope <= MONOTONE_TOL, f"{name}: max B'(T) = g^2/2 (Delta - I) = {slope:.2e}")
        )
        for T, fd, ident in r.fd.get(name, []):
            checks.append(
                _check(
                    abs(fd - ident) <= FD_RTOL * abs(ident) + 1e-12,
                    f"{name}: d/dT KL(p_T||pi) at T = {T:g}: central difference {fd:.8e} vs "
                    f"-g^2/2 I(p_T|pi) = {ident:.8e}",
                )
            )
    return decide_checks(
        checks,
        f"per-t best affine family (contains the prior score -x): B(T) is non-increasing on "
        f"every grid (max increment {worst_inc:.2e}) and B'(T) = g^2/2 (Delta - I(p_T|pi)) <= "
        f"{worst_slope:.2e} <= 0",
        f"max B increment {worst_inc:.1e}; max B' {worst_slope:.1e}",
    )


def present_monotone(r: BoundResult, ctx) -> Presentation:
    tables = {}
    for name, rows in r.tables.items():
        tables[f"per-t best affine score, {name}, VP"] = Table(
            ["T", "KL(p_T||N(0,1))", "J(T) per-t affine", "B(T)", "B'(T) identity"],
            [
                [x.T, f"{x.kl_prior:.6f}", f"{x.J_aff:.6f}", f"{x.kl_prior + x.J_aff:.6f}"]
                + [f"{x.slope_aff:.3e}"]
                for x in rows
            ],
        )
    # one panel per target, the per-t family this claim is about (the time-shared family is
    # the next claim's figure)
    return Presentation(tables, [_fig_bound(ctx, dict(r.tables), "bound-vs-T")])


def decide_shared(r: BoundResult) -> Decision:
    ((name, rows),) = r.tables.items()
    J = np.array([x.J_sh for x in rows])
    B = np.array([x.kl_prior + x.J_sh for x in rows])
    dJ = float(np.min(np.diff(J)))
    j, interior = _argmin_interior(B, 1e-6)
    return Decision(
        "holds" if (dJ >= -1e-12 and interior) else "fails",
        f"{name}: J(T) non-decreasing (min increment {dJ:.2e}); B(T) has an interior optimum "
        f"T* = {rows[j].T:.2f} with B(T*) = {B[j]:.4f} < B({rows[j - 1].T:.2f}) = "
        f"{B[j - 1]:.4f}, B({rows[j + 1].T:.2f}) = {B[j + 1]:.4f}; B(T_max) = {B[-1]:.4f}"
        if interior
        else f"{name}: no interior optimum: argmin of B at T = {rows[j].T:.2f}; min increment "
        f"of J {dJ:.2e}",
        f"T* = {rows[j].T:.2f}, B(T*) = {B[j]:.4f} nats",
    )


def present_shared(r: BoundResult, ctx) -> Presentation:
    ((name, rows),) = r.tables.items()
    table = Table(
        ["T", "KL(p_T||prior)", "J(T) shared affine", "fitted v", "B(T)"],
        [
            [
                x.T,
                f"{x.kl_prior:.6f}",
                f"{x.J_sh:.6f}",
                f"{x.v_sh:.4f}",
                f"{x.kl_prior + x.J_sh:.6f}",
            ]
            for x in rows
        ],
    )
    ve = "VE" in name
    fig = _fig_bound(
        ctx,
        rows,
        "bound-vs-T-ve" if ve else "bound-vs-T-shared",
        None,
        "VE" if ve else "VP",
        families=_FAMILIES[1:],  # the time-shared family this claim is about
    )
    return Presentation({f"time-shared affine score, {name}": table}, [fig])


# ============================================= auxiliary model with an approximate score
AUX_DATA = Gaussian(np.array([1.0, -0.5, 0.5, 0.0]), np.diag([0.05, 0.3, 1.5, 3.0]))
"""Anisotropic Gaussian data (d = 4): an isotropic Gaussian auxiliary model is misspecified."""
AUX_EPS = 0.05
"""Offset score error per coordinate: ``E|s~ - grad log p_t|^2 = d eps^2`` at every ``t``."""
AUX_TMIN = 1e-3
_AUX_STARTS = ("prior", "auxiliary")
_AUX_SDES = {"VP": _vp, "VE": _ve}
_AUX_OPT_RTOL = 1e-6  # T*_aux must sit below T*_prior by this relative margin
_AUX_GAIN_TOL = 1e-9  # B_aux(T*_aux) must sit below B_prior(T*_prior) by this (nats)


def prior_at(sde, T: float, d: int) -> Gaussian:
    """The plain prior: ``N(0, I)`` for VP, ``N(0, sigma^2(T) I)`` for VE (Table 1)."""
    return Gaussian(np.zeros(d), 1.0 if isinstance(sde, VP) else float(sde.sigma2(T)))


def isotropic_fit(p: Gaussian) -> Gaussian:
    """The maximum-likelihood isotropic Gaussian ``N(m, v I)`` for ``p``:
    ``argmax E_p log N(x; m, v I)`` is ``m = E_p x``, ``v = tr Cov_p / d``."""
    d = p.mean.shape[0]
    return Gaussian(p.mean, float(np.trace(p.cov)) / d)


def int_g2(sde, a: float, b: float) -> float:
    """``int_a^b g(t)^2 dt`` in closed form: ``B(b) - B(a)`` (VP), ``sigma^2(b) - sigma^2(a)``
    (VE, ``g^2 = d sigma^2/dt``)."""
    if isinstance(sde, VP):
        return float(sde.B(b) - sde.B(a))
    if isinstance(sde, VE):
        return float(sde.sigma2(b) - sde.sigma2(a))
    raise ValueError(f"int_g2 needs a VP or VE SDE, got {sde!r}")


def aux_start(sde, data: Gaussian, T: float, start: str) -> Gaussian:
    """The reverse process's start law at ``T``: the prior, the isotropic auxiliary fit to
    ``p_T`` (``"auxiliary"``), or the prior in the auxiliary's place (``"prior-as-aux"``, a
    planted bug)."""
    if start in ("prior", "prior-as-aux"):
        return prior_at(sde, T, data.mean.shape[0])
    if start == "auxiliary":
        return isotropic_fit(sde.marginal(data, T))
    raise ValueError(f"unknown start law {start!r}")


def aux_bound(sde, data: Gaussian, T: float, eps: float, start: str) -> tuple[float, float]:
    """``(KL(p_T || start), J(T))`` with ``J(T) = d eps^2 / 2 int_{t_min}^T g^2 dt`` (the
    ELBO's score term for an offset error ``eps`` per coordinate); the bound is their sum."""
    d = data.mean.shape[0]
    J = 0.5 * d * eps * eps * int_g2(sde, AUX_TMIN, T)
    return float(kl(sde.marginal(data, T), aux_start(sde, data, T, start))), J


def ode_kl(sde, data: Gaussian, T: float, eps: float, start: str) -> float:
    """``KL(p_tmin || model)`` of the probability-flow ODE from ``start`` at ``T`` with the
    offset score error ``eps`` (the expected NLL gap; exact law by the moment ODE)."""
    from verify.errors import Offset
    from verify.solvers.chain_laws import exact_law

    err = Offset(sde.score(data), eps) if eps else None
    law = exact_law(
        sde, data, aux_start(sde, data, T, start), [T, AUX_TMIN], 0.0, None, score_error=err
    )
    return float(kl(sde.marginal(data, AUX_TMIN), law))


def optimum_along_T(fn, Ts) -> list:
    """``[T*, f(T*), j, interior, f(T_{j-1}), f(T_{j+1})]``: the grid argmin ``j`` of ``fn``
    on ``Ts`` and, if it is bracketed (strictly below both neighbours), the optimum refined by
    bounded Brent on ``[T_{j-1}, T_{j+1}]`` (else the grid point, ``interior`` False)."""
    from scipy.optimize import minimize_scalar

    Ts = np.asarray(Ts, dtype=np.float64)
    vals = np.array([fn(float(T)) for T in Ts])
    j = int(np.argmin(vals))
    left = float(vals[j - 1]) if j > 0 else float("nan")
    right = float(vals[j + 1]) if j < len(Ts) - 1 else float("nan")
    interior = bool(0 < j < len(Ts) - 1 and vals[j] < min(left, right))
    if not interior:
        return [float(Ts[j]), float(vals[j]), j, False, left, right, vals.tolist()]
    res = minimize_scalar(
        fn, bounds=(Ts[j - 1], Ts[j + 1]), method="bounded", options={"xatol": 1e-10}
    )
    T_best, f_best = (float(res.x), float(res.fun)) if res.fun <= vals[j] else (Ts[j], vals[j])
    return [float(T_best), float(f_best), j, True, left, right, vals.tolist()]


@dataclass
class AuxTradeoffResult:
    """Per SDE name: ``Ts`` and ``optima[start]`` rows of :func:`optimum_along_T` (the last
    entry the curve on the grid) of the quantity ``what`` (``"bound"``: ``KL(p_T || start) +
    J(T)``; ``"ode-kl"``: the PF-ODE's exact ``KL(p_tmin || model)``); ``eps`` the score
    error, ``starts`` the two start laws compared (prior first)."""

    what: str
    eps: float
    starts: tuple
    Ts: dict
    optima: dict
    seeds: list


def aux_tradeoff(what: str, sdes, n_T: int, eps=AUX_EPS, starts=_AUX_STARTS):
    """:class:`AuxTradeoffResult` on a geometric grid of ``n_T`` horizons in ``[0.01, 1]``."""
    if what not in ("bound", "ode-kl"):
        raise ValueError(f"what must be 'bound' or 'ode-kl', got {what!r}")
    Ts_all, optima = {}, {}
    for name in sdes:
        sde = _AUX_SDES[name]()
        Ts = np.geomspace(0.01, 1.0, int(n_T))
        Ts_all[name] = Ts.tolist()
        optima[name] = {}
        for start in starts:
            if what == "bound":

                def fn(T, sde=sde, start=start):
                    return sum(aux_bound(sde, AUX_DATA, T, eps, start))
            else:

                def fn(T, sde=sde, start=start):
                    return ode_kl(sde, AUX_DATA, T, eps, start)

            optima[name][start] = optimum_along_T(fn, Ts)
    return AuxTradeoffResult(what, float(eps), tuple(starts), Ts_all, optima, [])


def compute_aux(ctx) -> AuxTradeoffResult:
    return aux_tradeoff("bound", ("VP",), 80 if ctx.quick else 400)


def compute_aux_ve(ctx) -> AuxTradeoffResult:
    return aux_tradeoff("bound", ("VE",), 80 if ctx.quick else 400)


def compute_aux_lik(ctx) -> AuxTradeoffResult:
    return aux_tradeoff("ode-kl", ("VP", "VE"), 24 if ctx.quick else 48)


def decide_aux_tradeoff(r: AuxTradeoffResult) -> Decision:
    """Holds if, per SDE, both optima are bracketed on the grid, ``T*_aux < T*_prior`` (by
    the relative margin ``_AUX_OPT_RTOL``) and ``f_aux(T*_aux) < f_prior(T*_prior)`` (by
    ``_AUX_GAIN_TOL``); fails otherwise."""
    checks, parts = [], []
    sp, sa = r.starts
    for name, opt in r.optima.items():
        for s in r.starts:
            o = opt[s]
            checks.append(
                _check(
                    o[3],
                    f"{name}, {s}: T* = {o[0]:.4g} "
                    + ("bracketed" if o[3] else f"at grid index {o[2]} (not bracketed)")
                    + f" (f = {o[1]:.5g}; neighbours {o[4]:.5g}, {o[5]:.5g})",
                )
            )
        p, a = opt[sp], opt[sa]
        checks.append(
            _check(
                a[0] < p[0] * (1 - _AUX_OPT_RTOL),
                f"{name}: T*_aux = {a[0]:.4g} < T*_prior = {p[0]:.4g}",
            )
        )
        checks.append(
            _check(
                a[1] < p[1] - _AUX_GAIN_TOL,
                f"{name}: f_aux(T*_aux) = {a[1]:.5g} < f_prior(T*_prior) = {p[1]:.5g}",
            )
        )
        parts.append(
            f"{name}: T* {p[0]:.3f} -> {a[0]:.3f}, {'B' if r.what == 'bound' else 'KL'} "
            f"{p[1]:.4f} -> {a[1]:.4f}"
        )
    what = (
        "the ELBO bound KL(p_T||start) + J(T)"
        if r.what == "bound"
        else "the PF-ODE's exact KL(p_tmin||model) (expected NLL gap)"
    )
    return decide_checks(
        checks,
        f"with an offset score error eps = {r.eps:g} per coordinate, {what} has a bracketed "
        f"interior optimum with the prior and with the isotropic auxiliary fit; the auxiliary "
        "model shortens it and lowers the optimum: " + "; ".join(parts),
        "; ".join(parts),
    )


def present_aux_tradeoff(r: AuxTradeoffResult, ctx) -> Presentation:
    names = list(r.optima)
    fig = ctx.figure(figsize=(4.6 * len(names), 3.4))
    ylab = "KL(p_T||start) + J(T) (nats)" if r.what == "bound" else "KL(p_tmin||PF-ODE) (nats)"
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        for s in r.starts:
            o = r.optima[name][s]
            line = ax.plot(r.Ts[name], o[6], label=f"start: {s}")[0]
            ax.plot([o[0]], [o[1]], "o", color=line.get_color(), label=f"T* = {o[0]:.3f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"diffusion time T ({name})")
        ax.set_ylabel(ylab)
        rung = "rung 1: closed form" if r.what == "bound" else "rung 2: exact law"
        ax.set_title(f"{name}, Gaussian d = 4, eps = {r.eps:g} ({rung})", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    rows = [
        [name, s, f"{o[0]:.6f}", f"{o[1]:.6e}", bool(o[3]), f"{o[4]:.6e}", f"{o[5]:.6e}"]
        for name in names
        for s, o in r.optima[name].items()
    ]
    cols = ["SDE", "start law", "T*", "value at T*", "bracketed", "left neighbour"]
    cols += ["right neighbour"]
    fname = (
        ("aux-bound-vs-T" if r.what == "bound" else "aux-ode-kl-vs-T")
        + "-"
        + "-".join(n.lower() for n in names)
    )
    return Presentation(
        {f"optimal diffusion time, prior vs auxiliary start ({r.what})": Table(cols, rows)},
        [ctx.savefig(fig, fname)],
    )


# ====================================================================== PF-ODE likelihood
PF_TOL = 1e-6


@dataclass
class PfResult:
    """Per data set ``[name, max |error|, mean log p_0 - loglik(prior end), x, exact, loglik]``."""

    rows: list
    seeds: list


def _pf_task(task):
    sde = _vp()
    rng = np.random.default_rng(task["seed"])
    if task["data"] == "gaussian":
        data = Gaussian(np.array([1.0, -0.5]), np.array([[1.0, 0.6], [0.6, 0.8]]))
    elif task["data"] == "gmm1d":
        data = _data_1d()
    else:
        data = grid_gmm()
    x = data.sample(task["n"], rng)
    ll, xT = pf_ode_log_likelihood(sde, data, x)
    # the same ODE solution with the prior N(0, I) as end law (what a model reports)
    llp = ll - sde.marginal(data, sde.T).log_prob(xT) + sde.prior(data.dim).log_prob(xT)
    exact = data.log_prob(x)
    return [
        task["data"],
        float(np.max(np.abs(ll - exact))),
        float(np.mean(exact - llp)),
        x[:, 0].tolist(),
        exact.tolist(),
        ll.tolist(),
    ]


def compute_pf(ctx) -> PfResult:
    n = {"gaussian": 40, "gmm1d": 40, "grid-gmm": 100 if ctx.quick else 1000}
    tasks = [{"data": k, "n": v, "seed": task_seed(ctx.seed, "pf", k)} for k, v in n.items()]
    return PfResult(ctx.map(_pf_task, tasks, desc="PF-ODE likelihoods"), [t["seed"] for t in tasks])


def decide_pf(r: PfResult) -> Decision:
    err = max(row[1] for row in r.rows)
    n = sum(len(row[4]) for row in r.rows)
    return Decision(
        "holds" if err < PF_TOL else "fails",
        f"max |PF-ODE log-lik - exact log p_0| = {err:.1e} < {PF_TOL:g} over {n} points "
        "(Gaussian, 1-D GMM, 2-D 25-mode GMM); with the prior N(0,I) as end law the mean gap is "
        + ", ".join(f"{row[0]} {row[2]:.2e}" for row in r.rows)
        + " nats",
        f"max abs error = {err:.1e} nats",
    )


def present_pf(r: PfResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(9, 3.2))
    for i, row in enumerate(r.rows):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.plot(row[4], row[5], "o", ms=3)
        lo, hi = min(row[4]), max(row[4])
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel("exact log p_0(x) (nats)")
        ax.set_ylabel("PF-ODE log-likelihood (nats)")
        ax.set_title(f"{row[0]}: max err {row[1]:.1e} (rung 2)", fontsize=8)
    return Presentation(
        {
            "PF-ODE likelihood vs exact": Table(
                ["data", "max |error| (nats)", "mean log p_0 - loglik with prior end (nats)"],
                [[row[0], f"{row[1]:.2e}", f"{row[2]:.3e}"] for row in r.rows],
            )
        },
        [ctx.savefig(fig, "pf-ode-loglik")],
    )


# ============================================================================= elbo-bound
_ELBO_T = {"VP": (0.3, 1.0), "VE": (0.7, 1.0)}
_ELBO_DATA = Gaussian(np.array([1.0, -0.5]), np.array([[1.0, 0.6], [0.6, 0.8]]))


@dataclass
class ElboResult:
    """Rows ``[sde, T, error, KL(p_T||pi), J, bound, KL SDE, KL ODE or nan, KL SDE/bound]``
    (every number exact: closed forms and exact moment ODEs)."""

    rows: list


def _elbo_errors(score):
    from verify.errors import Offset, Scale

    return {"offset 0.2": Offset(score, 0.2), "scale 0.9": Scale(score, 0.9)}


def compute_elbo(ctx) -> ElboResult:
    rows = []
    for name, sde in (("VP", _vp()), ("VE", _ve())):
        for T in _ELBO_T[name]:
            var = 1.0 if name == "VP" else float(sde.sigma2(T))
            prior = Gaussian(np.zeros(2), var)
            for ename, err in _elbo_errors(sde.score(_ELBO_DATA)).items():
                ode = T == 1.0 and ename.startswith("scale")  # reported, not bounded
                e = gaussian_elbo(sde, _ELBO_DATA, prior, T, err, with_ode=ode)
                rows.append([name, T, ename, e.kl_prior, e.J, e.bound, e.kl_sde, e.kl_ode])
                rows[-1].append(e.kl_sde / e.bound)
    return ElboResult(rows)


def decide_elbo(r: ElboResult) -> Decision:
    over = [x for x in r.rows if x[6] > x[5] * (1 + 1e-9)]
    ode = [x for x in r.rows if np.isfinite(x[7])]
    ode_over = sum(1 for x in ode if x[7] > x[5])
    tight = [x[8] for x in r.rows]
    checks = [
        _check(
            not over,
            f"KL of the reverse SDE above KL(p_T||pi) + J in {len(over)} of {len(r.rows)} cases"
            + (f" (worst {max(x[6] / x[5] for x in over):.3g}x)" if over else ""),
        )
    ]
    return decide_checks(
        checks,
        f"KL(p_tmin || reverse SDE) <= KL(p_T||pi) + J(T) in all {len(r.rows)} cases (VP, VE; "
        f"offset and scale errors; ratio {min(tight):.3f}-{max(tight):.3f}); the probability-"
        f"flow ODE, which the bound does not cover, exceeds it in {ode_over} of {len(ode)} "
        "cases",
        f"KL_SDE/bound in [{min(tight):.3f}, {max(tight):.3f}]; ODE above it {ode_over}/{len(ode)}",
    )


def present_elbo(r: ElboResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(9, 3.4))
    for i, name in enumerate(("VP", "VE")):
        ax = fig.add_subplot(1, 2, i + 1)
        for ename in dict.fromkeys(x[2] for x in r.rows):
            sub = [x for x in r.rows if x[0] == name and x[2] == ename]
            T = [x[1] for x in sub]
            line = ax.plot(T, [x[5] for x in sub], "o-", label=f"bound, {ename}")[0]
            ax.plot(T, [x[6] for x in sub], "s--", color=line.get_color(), label=f"KL SDE, {ename}")
            ode = [x for x in sub if np.isfinite(x[7])]
            ax.plot(
                [x[1] for x in ode],
                [x[7] for x in ode],
                "x",
                ms=8,
                color=line.get_color(),
                label=f"KL ODE, {ename}",
            )
        ax.set_yscale("log")
        ax.set_xlabel(f"diffusion time T ({name})")
        ax.set_ylabel("KL(p_tmin || model) (nats)")
        ax.set_title(f"{name}, Gaussian d = 2 (rung 2: exact laws)", fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    cols = ["SDE", "T", "score error", "KL(p_T||pi)", "J(T)", "bound", "KL reverse SDE"]
    cols += ["KL PF-ODE", "KL SDE / bound"]
    rows = [x[:3] + [f"{v:.5e}" for v in x[3:]] for x in r.rows]
    return Presentation(
        {"ELBO bound term by term vs the exact KL": Table(cols, rows)},
        [ctx.savefig(fig, "elbo-bound")],
    )


CLAIMS = [
    Claim(
        "horizon.prior-kl-monotone",
        "KL(p_T || N(0, I)) is non-increasing in the diffusion time T and obeys the "
        "Bakry-Emery bound KL(p_T || N(0,I)) <= e^{-B(T)} KL(p_0 || N(0,I)) for VP.",
        _SRC,
        "VP(0.1, 20); Gaussian d=10 exact; 25-mode 2-D grid GMM by coupled Monte Carlo",
        compute=compute_prior_monotone,
        decide=decide_prior_monotone,
        present=present_prior_monotone,
        rung=4,
        tolerance="Gaussian: rel 1e-12 (rung 1); GMM: 95% CI of slack > 0",
        doc=f"{DOC}#prior-kl-monotone",
    ),
    Claim(
        "horizon.bound-monotone-per-t-family",
        "If the score family at each t contains the prior's score (here: the best affine score "
        "at each t; the prior score -x is affine), the ELBO bound B(T) = KL(p_T||pi) + J(T) is "
        "non-increasing in T, since B'(T) = g^2/2 (Delta(T) - I(p_T|pi)) <= 0: there is no "
        "interior optimum T*.",
        "derived in docs/claims/horizon.md (a consequence of the Fokker-Planck identity "
        "d/dT KL(p_T||pi) = -g^2/2 I(p_T|pi); it refines the trade-off of arXiv 2206.05173 §2.2)",
        "VP(0.1, 20), T in (0, 1]; 1-D two-mode GMM and a skewed three-mode GMM; quadrature",
        compute=compute_monotone,
        decide=decide_monotone,
        present=present_monotone,
        rung=3,
        tolerance=f"increments of B <= {MONOTONE_TOL:g} + 2 x quadrature error; B' <= "
        f"{MONOTONE_TOL:g}",
        doc=f"{DOC}#bound-monotone-per-t-family",
    ),
    Claim(
        "horizon.interior-optimum-shared-capacity",
        "With a score model whose capacity is shared across t (one affine parameter for all t, "
        "fitted per T as in Def. 1), J(T) is non-decreasing and the bound has an interior "
        "optimum T*.",
        f"arXiv 2206.05173 §2.2, Def. 1 {_RECON}",
        "VP(0.1, 20), T in (0, 1]; 1-D two-mode GMM; quadrature",
        compute=compute_bound,
        decide=decide_shared,
        present=present_shared,
        rung=3,
        tolerance="argmin of B on the T grid strictly below both neighbours (1e-6)",
        doc=f"{DOC}#interior-optimum-shared-capacity",
    ),
    Claim(
        "horizon.tradeoff-ve",
        "The diffusion-time trade-off holds under VE too: with the time-shared affine score "
        "family and the VE prior N(0, sigma^2(T)), J(T) is non-decreasing and "
        "B(T) = KL(p_T||N(0, sigma^2(T))) + J(T) has an interior optimum T*.",
        f"arXiv 2206.05173 §2.2 and Table 1 (VE) {_RECON}",
        "VE(sigma_min 0.01, sigma_max 10), T in (0, 1]; 1-D two-mode GMM; quadrature",
        compute=compute_ve,
        decide=decide_shared,
        present=present_shared,
        rung=3,
        tolerance="argmin of B on the T grid strictly below both neighbours (1e-6)",
        doc=f"{DOC}#tradeoff-ve",
    ),
    Claim(
        "horizon.auxiliary-model",
        "With an approximate score (an offset error eps per coordinate, so the score term "
        "J(T) = d eps^2/2 int g^2 grows with T), the bound KL(p_T || start) + J(T) has an "
        "interior optimum in T both with the prior N(0, I) and with a misspecified auxiliary "
        "model (the maximum-likelihood isotropic Gaussian fitted to p_T); the auxiliary model "
        "moves the optimum to a shorter T and lowers the bound at its optimum.",
        f"arXiv 2206.05173 §1, §2.2, §3 {_RECON}",
        "VP(0.1, 20), Gaussian data d = 4 (mean (1, -0.5, 0.5, 0), covariance "
        "diag(0.05, 0.3, 1.5, 3)), offset score error eps = 0.05, t_min = 1e-3; T on a "
        "geometric grid in [0.01, 1] (80 points quick, 400 full), the optimum refined by "
        "bounded Brent between the grid neighbours",
        compute=compute_aux,
        decide=decide_aux_tradeoff,
        present=present_aux_tradeoff,
        rung=1,
        tolerance=f"both optima bracketed on the grid; T*_aux < T*_prior (1 - {_AUX_OPT_RTOL:g}); "
        f"B_aux(T*_aux) < B_prior(T*_prior) - {_AUX_GAIN_TOL:g}",
        doc=f"{DOC}#auxiliary-model",
    ),
    Claim(
        "horizon.auxiliary-model-ve",
        "Under VE too, with an approximate score the bound KL(p_T || start) + J(T) has an "
        "interior optimum with the prior N(0, sigma^2(T) I) and with a Gaussian auxiliary model "
        "fitted to p_T; the auxiliary model shortens the optimal T and lowers the bound there.",
        f"arXiv 2206.05173 §3 and Table 1 (VE) {_RECON}",
        "VE(sigma_min 0.01, sigma_max 10), prior N(0, sigma^2(T) I) with sigma^2(T) = "
        "sigma_min^2 ((sigma_max/sigma_min)^{2T} - 1); data, score error, auxiliary model and "
        "T grid as in horizon.auxiliary-model",
        compute=compute_aux_ve,
        decide=decide_aux_tradeoff,
        present=present_aux_tradeoff,
        rung=1,
        tolerance=f"both optima bracketed on the grid; T*_aux < T*_prior (1 - {_AUX_OPT_RTOL:g}); "
        f"B_aux(T*_aux) < B_prior(T*_prior) - {_AUX_GAIN_TOL:g}",
        doc=f"{DOC}#auxiliary-model-ve",
        title=(
            "Under VE, a Gaussian auxiliary model shortens the optimal horizon and lowers "
            "the bound."
        ),
    ),
    Claim(
        "horizon.elbo-bound",
        "The ELBO bound KL(p_data || p_model) <= KL(p_T || pi) + 1/2 int_0^T g^2 "
        "E|s - grad log p_t|^2 dt holds for the reverse SDE along T, term by term against the "
        "exact KL, under VP and VE, for offset and scale score errors.",
        "standard (Song, Durkan, Murray, Ermon 2021, Thm 1; arXiv 2206.05173 §2.1)",
        "VP(0.1, 20) at T in {0.3, 1}, VE(0.01, 10) at T in {0.7, 1}; Gaussian "
        "d = 2; score errors offset 0.2 and scale 0.9; continuous reverse SDE (gamma = 1) from "
        "the prior to t_min = 1e-3, exact law; the PF-ODE (gamma = 0) at T = 1 (scale error) "
        "beside it",
        compute=compute_elbo,
        decide=decide_elbo,
        present=present_elbo,
        rung=2,
        tolerance="KL_SDE <= bound (rel 1e-9)",
        doc=f"{DOC}#elbo-bound",
    ),
    Claim(
        "horizon.auxiliary-likelihood",
        "With the probability-flow ODE as the model and an approximate score (an offset error), "
        "the expected test NLL gap KL(p_tmin || p_model) has an interior optimum in T with the "
        "prior and with a Gaussian auxiliary end law fitted to p_T, under VP and VE; the "
        "auxiliary end law shortens the optimal T and lowers the gap there.",
        f"arXiv 2206.05173 §3 (likelihoods through the PF-ODE; Song et al. 2021 §4.3) {_RECON}",
        "VP(0.1, 20) and VE(0.01, 10); Gaussian data d = 4 as in horizon.auxiliary-model; "
        "offset score error eps = 0.05; PF-ODE (gamma = 0) from T to t_min = 1e-3, exact law "
        "by the moment ODE; T on a geometric grid in [0.01, 1] (24 points quick, 48 full), "
        "the optimum refined by bounded Brent",
        compute=compute_aux_lik,
        decide=decide_aux_tradeoff,
        present=present_aux_tradeoff,
        rung=2,
        tolerance=f"both optima bracketed; T*_aux < T*_prior (1 - {_AUX_OPT_RTOL:g}); "
        f"KL_aux(T*_aux) < KL_prior(T*_prior) - {_AUX_GAIN_TOL:g}",
        doc=f"{DOC}#auxiliary-likelihood",
    ),
    Claim(
        "horizon.pf-ode-likelihood",
        "The likelihood through the probability-flow ODE (instantaneous change of variables, "
        "exact divergence) equals the exact log-density for Gaussian and GMM data.",
        "arXiv 2206.05173 §2 / Song et al. 2021 §4.3 (standard)",
        "VP(0.1, 20), T = 1; Gaussian d=2, 1-D GMM, 25-mode 2-D GMM",
        compute=compute_pf,
        decide=decide_pf,
        present=present_pf,
        rung=2,
        tolerance=f"abs {PF_TOL:g} (DOP853, rtol 1e-10)",
        doc=f"{DOC}#pf-ode-likelihood",
    ),
]
