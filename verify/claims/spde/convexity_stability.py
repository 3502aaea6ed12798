"""``spde.convexity-stability``: For a log-concave target, the reverse flows contract in W2 at the
predicted rate.

Its compute, decide and present; the mathematics: docs/claims/spde.md#convexity-stability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import OU, Gaussian, GaussianMixture
from verify.claims.base import (
    Check,
    Claim,
    Decision,
    Presentation,
    Table,
    decide_checks,
)
from verify.claims.spde._common import (
    _SRC,
    DOC,
    plain_log_ticks,
)
from verify.theory import common_noise as spde
from verify.theory import contraction

_EPS = 0.3  # constant common-noise field sigma = eps of the entropy budget

_CONVEX = "log-concave N(0,1)"

_BIMODAL = "bimodal 0.5N(-2,0.5^2)+0.5N(2,0.5^2)"

CVX_DATA_2D = ((0.5, -0.3), ((0.5, 0.15), (0.15, 0.25)))

CVX_MIXTURES = {
    "log-concave mixture 0.5N(-0.4,0.3)+0.5N(0.4,0.3)": ((-0.4, 0.4), 0.3),
    "bimodal mixture 0.5N(-2,0.25)+0.5N(2,0.25)": ((-2.0, 2.0), 0.25),
}

CVX_TOL = 1e-6  # relative slack of W2 <= bound (ODE / quadrature round-off)


def _budget_targets():
    convex = Gaussian(np.zeros(1), 1.0)
    bimodal = GaussianMixture(
        np.array([0.5, 0.5]), np.array([[-2.0], [2.0]]), np.array([0.25, 0.25])
    )
    return {_CONVEX: (convex, 1.0), _BIMODAL: (bimodal, 4.0)}


def _states(name):
    if name == _CONVEX:
        return [
            Gaussian(np.array([m]), v)
            for m in np.linspace(-2, 2, 9)
            for v in (0.25, 0.5, 1.0, 2.0, 4.0)
        ]
    return [
        GaussianMixture(
            np.array([w, 1 - w]), np.array([[-2.0 + d], [2.0 + d]]), np.array([0.25, 0.25])
        )
        for w in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
        for d in (0.0, 0.3)
    ]


def _state_label(u) -> str:
    if isinstance(u, Gaussian):
        return f"N({u.mean[0]:.1f},{float(np.squeeze(u.cov)):.2f})"
    return f"w={u.weights[0]:.2f}, shift {u.means[0, 0] + 2:.1f}"


def _gaussian_pairs(sde, nodes) -> tuple[list, dict]:
    """W2 between reverse flows from two Gaussian starts vs the convexity bound (exact)."""
    data = Gaussian(np.array(CVX_DATA_2D[0]), np.array(CVX_DATA_2D[1]))
    pT = sde.marginal(data, sde.T)
    _, U = np.linalg.eigh(data.cov)
    starts = {
        "offset 0.5 along the weakest direction": Gaussian(pT.mean + 0.5 * U[:, -1], pT.cov),
        "offset 0.5 along the strongest direction": Gaussian(pT.mean + 0.5 * U[:, 0], pT.cov),
        "offset and covariance x 1.6": Gaussian(pT.mean + np.array([0.3, 0.2]), 1.6 * pT.cov),
    }
    rows, curves = [], {}
    for gamma in (0.0, 1.0):
        fac = contraction.contraction_factor(
            sde, gamma, lambda t: contraction.kappa_gaussian(sde, data, t), nodes
        )
        for name, init2 in starts.items():
            w = contraction.gaussian_w2_pair(sde, data, pT, init2, nodes, gamma)
            ratio = w / (w[0] * fac)
            rows.append([gamma, name, w[0], w[-1], fac[-1], ratio.max(), ratio.min()])
            curves[f"Gaussian 2-D, gamma={gamma:g}: {name}"] = (w / w[0], fac)
    return rows, curves


def _mixture_pairs(sde, nodes) -> tuple[list, dict]:
    """1-D PF-ODE characteristics from the quantiles of p_T and their shift by 0.2."""
    rows, curves = {}, {}
    u = (np.arange(500) + 0.5) / 500
    for name, (mus, var) in CVX_MIXTURES.items():
        p = GaussianMixture([0.5, 0.5], [[mus[0]], [mus[1]]], [var, var])
        kap = contraction.kappa_1d(sde, p, nodes, n_grid=2001)
        fac = contraction.contraction_factor(
            sde, 0.0, lambda t, p=p: contraction.kappa_1d(sde, p, t, n_grid=2001), nodes, 2
        )
        x = contraction.quantiles_1d(sde.marginal(p, sde.T), u)
        r = contraction.flow_pair_factors(sde, sde.score(p), x, 0.2, nodes, 1)
        worst = float(np.max(r["factor"].max(axis=1) / fac))
        rows[name] = [name, float(kap.min()), fac[-1], float(r["factor"][-1].max()), worst]
        rows[name] += [float(r["w2_ratio"][-1]), r["err"]]
        curves[f"{name}, gamma=0"] = (r["w2_ratio"], fac)
    return list(rows.values()), curves


@dataclass
class ConvexityResult:
    """``gauss``: rows ``[gamma, start pair, W2_0, W2_end, bound factor at the end, max and min
    of W2_tau / (W2_0 factor_tau)]`` (2-D Gaussian, exact laws); ``mixtures``: rows ``[target,
    min_t kappa_t, bound factor at the end, max pair factor at the end, max over nodes of
    (max pair factor / bound), W2_end / W2_0, RK4 error]``; ``curves`` (W2 ratio, bound) on
    ``tau``; ``budget[target]`` rows ``(state, H, I, N)`` of the Langevin entropy budget with
    ``kappa[target]``."""

    gauss: list
    mixtures: list
    curves: dict
    tau: list
    budget: dict
    kappa: dict
    seeds: list = field(default_factory=list)


def compute_convexity(ctx) -> ConvexityResult:
    sde = OU(T=1.0)
    nodes = np.linspace(1.0, 0.01, 100 if ctx.quick else 400)
    gauss, curves = _gaussian_pairs(sde, nodes)
    mixtures, mcurves = _mixture_pairs(sde, nodes)
    curves.update(mcurves)
    budget, kappa = {}, {}
    for name, (p, k) in _budget_targets().items():
        budget[name] = [(_state_label(u), *spde.entropy_budget(u, p, _EPS)) for u in _states(name)]
        kappa[name] = k
    curves = {k: [np.asarray(a).tolist(), np.asarray(b).tolist()] for k, (a, b) in curves.items()}
    return ConvexityResult(gauss, mixtures, curves, (1.0 - nodes).tolist(), budget, kappa, [])


def convexity_checks(r: ConvexityResult) -> list[Check]:
    """The conditions of spde.convexity-stability, one :class:`Check` each."""
    checks = []
    for g, name, _w0, _w1, _fac, hi, lo in r.gauss:
        what = f"gamma={g:g}, {name}"
        checks.append(Check(hi <= 1 + CVX_TOL, f"{what}: max W2/bound {hi:.8f}"))
        if "weakest" in name:
            checks.append(Check(lo >= 1 - CVX_TOL, f"{what}: attains the bound (min {lo:.8f})"))
    for name, kmin, _fac, _pair, worst, w2r, err in r.mixtures:
        checks.append(Check(worst <= 1 + CVX_TOL + err, f"{name}: max factor/bound {worst:.8f}"))
        if name.startswith("log-concave"):
            checks.append(
                Check(kmin > 0 and w2r < 1, f"{name}: kappa >= {kmin:.3g}, W2 x {w2r:.3f}")
            )
        else:
            checks.append(
                Check(kmin < 0 and w2r > 1, f"{name}: kappa >= {kmin:.3g}, W2 x {w2r:.3f}")
            )
    cv, k = r.budget[_CONVEX], r.kappa[_CONVEX]
    lsi = all(info >= 2 * k * H - 1e-8 for _, H, info, _ in cv)
    checks.append(Check(lsi, f"Langevin to N(0,1): LSI I >= 2 kappa H on {len(cv)} states"))
    dom = [(H, info, N) for _, H, info, N in cv if H > N / (2 * k) + 1e-8]
    ok = all(-info + N < 0 for H, info, N in dom)
    checks.append(
        Check(ok, f"dissipation beats the noise on all {len(dom)} states with H > N/(2 kappa)")
    )
    return checks


def decide_convexity(r: ConvexityResult) -> Decision:
    weak = [row for row in r.gauss if "weakest" in row[1]]
    lc, bm = r.mixtures[0], r.mixtures[1]
    holds = (
        "Gaussian 2-D, exact laws: W2 between two reverse flows never exceeds "
        "W2_0 exp(-int kappa_eff) (max ratio "
        f"{max(row[5] for row in r.gauss):.8f}) and equals it for an offset along the weakest "
        f"direction (end factor {weak[0][4]:.4f} at gamma=0, {weak[1][4]:.4f} at gamma=1); "
        f"log-concave 1-D mixture (PF-ODE characteristics): W2 x {lc[5]:.3f}, worst pair "
        f"{lc[3]:.4f} vs bound {lc[2]:.4f}; bimodal 1-D mixture (kappa_t down to {bm[1]:.3g}): "
        f"W2 grows x {bm[5]:.2f} (the bound, {bm[2]:.3g}, allows it); Langevin: LSI and "
        "dissipation > noise entropy production on every log-concave state."
    )
    key = (
        f"W2 contraction = bound {weak[1][4]:.3f} (gamma=1, weakest offset); log-concave "
        f"mixture x {lc[5]:.3f}; bimodal x {bm[5]:.2f}"
    )
    return decide_checks(convexity_checks(r), holds, key)


def present_convexity(r: ConvexityResult, ctx) -> Presentation:
    tau = np.array(r.tau)
    fig = ctx.figure(figsize=(10, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    for i, (name, (w, fac)) in enumerate(r.curves.items()):
        col = f"C{i % 10}"
        ax1.plot(tau, w, color=col, label=name)
        ax1.plot(tau, fac, color=col, ls=":", lw=0.8)
    ax1.set_yscale("log")
    ax1.set_xlabel("reverse time tau (OU, T = 1)")
    ax1.set_ylabel("W2(q_tau, q'_tau) / W2(q_0, q'_0)")
    ax1.set_title("contraction (solid) vs convexity bound (dotted); rung 2", fontsize=9)
    ax1.legend(fontsize=5.5)
    for (name, vals), mk in zip(r.budget.items(), "os", strict=True):
        H = np.array([v[1] for v in vals])
        drift = np.array([-v[2] + v[3] for v in vals])
        ax2.plot(H, drift, mk, label=name, alpha=0.8)
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set_xscale("symlog", linthresh=1e-3)
    ax2.set_yscale("symlog", linthresh=1e-3)
    ax2.set_xlabel("H(u | pi) = KL(u || pi) (nats)")
    ax2.set_ylabel("dE H/dtau = -I(u|pi) + N(u) (nats / time)")
    ax2.set_title(f"Langevin: dissipation vs noise (constant field, eps = {_EPS})", fontsize=9)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    budget = [
        [name, desc, H, info, N, -info + N, 2 * r.kappa[name] * H]
        for name, vals in r.budget.items()
        for desc, H, info, N in vals
    ]
    plain_log_ticks(fig)
    return Presentation(
        {
            "Gaussian 2-D: W2 between reverse flows vs the bound (exact laws)": Table(
                [
                    "gamma",
                    "start laws",
                    "W2_0",
                    "W2_end",
                    "bound factor",
                    "max W2/bound",
                    "min W2/bound",
                ],
                r.gauss,
            ),
            "1-D mixtures, PF-ODE characteristics (shift 0.2 of p_T)": Table(
                [
                    "target",
                    "min kappa_t",
                    "bound factor",
                    "max pair factor",
                    "max factor/bound",
                    "W2_end/W2_0",
                    "RK4 error",
                ],
                r.mixtures,
            ),
            "Langevin entropy budget (KL(u||pi), I(u|pi), N(u))": Table(
                ["target", "state u", "H = KL(u||pi)", "I(u|pi)", "N(u)", "-I + N", "2 kappa H"],
                budget,
            ),
        },
        [ctx.savefig(fig, "spde-convexity-stability")],
    )


CLAIM = Claim(
    "spde.convexity-stability",
    "For a log-concave target the reverse flows are a W2 contraction at the rate its "
    "convexity predicts: W2(q_tau, q'_tau) <= W2(q_0, q'_0) exp(-int_0^tau kappa_eff), "
    "kappa_eff = f + (1 + gamma)/2 g2 kappa_{T-u}, kappa_t = inf(-Hess log p_t), attained by "
    "a Gaussian offset along the weakest direction; and Langevin's KL dissipation dominates "
    "a common noise's entropy production once H > N/(2 kappa). Without log-concavity (a "
    "bimodal target, kappa_t < 0) the flows need not contract.",
    _SRC.format(sec="abstract: geometric stability and displacement convexity"),
    "OU T=1 to t=0.01, 100 nodes: 2-D Gaussian N((0.5, -0.3), [[0.5, 0.15], [0.15, 0.25]]), "
    "gamma in {0, 1}, three start pairs (exact laws); 1-D log-concave and bimodal mixtures, "
    "PF-ODE characteristics from 500 quantiles of p_T and their shift by 0.2; Langevin "
    "entropy budget by quadrature (constant field 0.3 dB)",
    compute=compute_convexity,
    decide=decide_convexity,
    present=present_convexity,
    rung=2,
    tolerance=f"W2 / bound <= 1 + {CVX_TOL:g} (+ RK4 error), = 1 within {CVX_TOL:g} for the "
    "weakest offset; contraction (log-concave) / expansion (bimodal) of W2; budget signs "
    "(abs 1e-8)",
    doc=f"{DOC}#convexity-stability",
)
