"""``initialization.*`` claims on the authors' mixture toy (arXiv 2603.00772, issue 22).

The 25-mode grid GMM of the authors' code (``verify.theory.start_laws.grid_gmm``), their EDM
grid (Karras, ``sigma_max = 3``, ``sigma_min = 2e-4``, ``rho = 2``, 40 nodes; the three
``sigma_T`` of ``diffusion_generation_gmm.py`` are its nodes 14, 16, 19), exact mixture scores;
chain laws on a 2-D grid and the bound's discretization term by Monte Carlo
(``verify.theory.mixture_chain``). Imported by :mod:`verify.claims.initialization`.
The mathematics is in docs/claims/initialization.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from analytic import Gaussian
from verify.claims.base import (
    Check,
    Claim,
    Decision,
    Presentation,
    Table,
    decide_checks,
    interval_check,
)
from verify.runtime.sweep import stable_int, task_seed
from verify.theory import mixture_chain as mc
from verify.theory.start_laws import grid_gmm, student_t_mixture

__all__ = ["CLAIMS", "authors_sigmas"]

DOC = "docs/claims/initialization.md"
_RECON = "(reconstructed: the paper's statement was not available; this is the standard result "
_RECON += "it rests on)"
_SIGMA_T = (1.24404052, 1.05527906, 0.8012415)  # diffusion_generation_gmm.py: SIGMAS_GEN
_STOP = 31  # node 31 of the 40-node grid, sigma = 0.1343: the grid chain is resolved there
_Z95 = 1.959963984540054


def authors_sigmas(n_nodes: int = 40) -> np.ndarray:
    """The authors' Karras grid ``(3^(1/2) + i/(n-1) (2e-4^(1/2) - 3^(1/2)))^2``, decreasing."""
    i = np.arange(int(n_nodes))
    return (3.0**0.5 + i / (n_nodes - 1) * ((2e-4) ** 0.5 - 3.0**0.5)) ** 2


def _node(sigma_T: float) -> int:
    s = authors_sigmas()
    j = int(np.argmin(np.abs(s - sigma_T)))
    if abs(s[j] - sigma_T) > 1e-8 * sigma_T:
        raise ValueError(f"sigma_T = {sigma_T!r} is not a node of the authors' grid")
    return j


@lru_cache(maxsize=2)
def _gmm():
    return grid_gmm()


def _rng(seed, *keys):
    return np.random.default_rng([int(seed), *(stable_int(k) for k in keys)])


@lru_cache(maxsize=4)
def _e_disc(seed: int, n: int):
    """Per-step ``(e_k, se_k)`` on the authors' grid from node 0 to node ``_STOP``."""
    return mc.e_disc_steps(_gmm(), authors_sigmas()[: _STOP + 1], n, _rng(seed, "edisc", n))


def _start(kind: str, sigma: float):
    gm = _gmm()
    if kind == "prior":
        return Gaussian(np.zeros(2), sigma**2)
    if kind == "exact p_T":
        return gm.noised(1.0, sigma**2)
    raise ValueError(kind)


def _init_term(kind: str, sigma: float, n: int) -> float:
    """``KL(p_T || start)`` by the trapezoid rule on the chain's first grid."""
    if kind == "exact p_T":
        return 0.0
    axes = mc.grid_axes(_gmm(), sigma, n)
    law = mc.GridLaw(axes, np.empty(0))
    law.q = np.exp(_start(kind, sigma).log_prob(law.points))
    return mc.grid_kl(_gmm().noised(1.0, sigma**2), law)


def _chain_kl(kind: str, j0: int, method: str, n: int) -> float:
    s = authors_sigmas()[j0 : _STOP + 1]
    law = mc.chain_density_2d(_gmm(), _start(kind, float(s[0])), s, method, n)
    return mc.grid_kl(_gmm().noised(1.0, float(s[-1]) ** 2), law)


# ===================================================================== gmm-bound-terms
@dataclass
class GmmBoundResult:
    """Rows ``[sigma_T, start, init, E_disc, se, bound, KL exp (n), KL exp (coarse), KL
    ancestral]``; ``n`` and ``n_coarse`` the grid sizes."""

    rows: list
    n: int
    n_coarse: int
    seeds: list


def compute_gmm_bound(ctx) -> GmmBoundResult:
    n_mc = 2000 if ctx.quick else 10_000
    n, n_coarse = (72, 56) if ctx.quick else (140, 100)
    e, se = _e_disc(ctx.seed, n_mc)
    rows = []
    for sT in _SIGMA_T:
        j = _node(sT)
        ed, ed_se = float(e[j:].sum()), float(np.sqrt(np.sum(se[j:] ** 2)))
        for kind in ("prior", "exact p_T"):
            init = _init_term(kind, sT, n)
            kl = _chain_kl(kind, j, "exponential", n)
            kl_c = _chain_kl(kind, j, "exponential", n_coarse)
            anc = _chain_kl(kind, j, "ancestral", n)
            rows.append([sT, kind, init, ed, ed_se, init + ed, kl, kl_c, anc])
    return GmmBoundResult(rows, n, n_coarse, [task_seed(ctx.seed, "edisc", n_mc)])


def decide_gmm_bound(r: GmmBoundResult) -> Decision:
    checks = []
    for sT, kind, _init, _ed, ed_se, bound, kl, kl_c, _anc in r.rows:
        lo, hi = bound - _Z95 * ed_se, bound + _Z95 * ed_se
        grid_err = abs(kl - kl_c)
        what = f"sigma_T {sT:.3f}, {kind}: KL {kl:.4g} vs bound [{lo:.4g}, {hi:.4g}]"
        if grid_err > 0.1 * abs(lo - kl):
            checks.append(Check(None, f"{what}: grid error {grid_err:.1e} not small"))
        elif kl < lo:
            checks.append(Check(True, f"{what} (holds)"))
        elif kl > hi:
            checks.append(Check(False, f"{what} (KL above the bound)"))
        else:
            checks.append(Check(None, f"{what} (straddles)"))
    tight = [x[6] / x[5] for x in r.rows]
    anc_over = sum(1 for x in r.rows if x[8] > x[5])
    return decide_checks(
        checks,
        f"KL(p_0.134 || exponential chain) <= init + E_disc in all {len(r.rows)} cases "
        f"(KL/bound {min(tight):.2f}-{max(tight):.2f}); the authors' ancestral chain exceeds "
        f"the bound in {anc_over} of them",
        f"KL/bound in [{min(tight):.2f}, {max(tight):.2f}]",
    )


def present_gmm_bound(r: GmmBoundResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(6.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    xs = np.arange(len(r.rows))
    init = np.array([x[2] for x in r.rows])
    ax.bar(xs, init, 0.6, label="init KL(p_T || start)")
    ax.bar(xs, [x[3] for x in r.rows], 0.6, bottom=init, label="E_disc (MC)")
    ax.plot(xs, [x[6] for x in r.rows], "k_", ms=14, mew=2, label="KL exponential (grid)")
    ax.plot(xs, [x[8] for x in r.rows], "r_", ms=10, mew=2, label="KL ancestral (grid)")
    ax.set_xticks(xs, [f"{x[0]:.3f}\n{x[1]}" for x in r.rows], fontsize=6)
    ax.set_ylabel("nats, at sigma = 0.134")
    ax.set_title("25-mode GMM: bound terms vs the chains' KL", fontsize=8)
    ax.legend(fontsize=6)
    cols = ["sigma_T", "start", "init", "E_disc", "E_disc s.e.", "bound"]
    cols += [f"KL exponential (grid {r.n})", f"KL exponential (grid {r.n_coarse})"]
    cols += [f"KL ancestral (grid {r.n})", "KL/bound"]
    rows = [
        [f"{x[0]:.4f}", x[1]] + [f"{v:.5g}" for v in x[2:]] + [f"{x[6] / x[5]:.3f}"] for x in r.rows
    ]
    return Presentation(
        {"bound terms vs the exact-score chains' KL at sigma = 0.134": Table(cols, rows)},
        [ctx.savefig(fig, "gmm-bound-terms")],
    )


# ===================================================================== optimal-sigma-T
_FIRST_CANDIDATE = 0
_LAST_CANDIDATE = 22  # sigma = 0.582


@dataclass
class OptimalResult:
    """Per candidate node: ``[node, sigma_T, init, E_disc, se, bound, KL exponential]``."""

    rows: list
    n: int
    seeds: list


def compute_optimal(ctx) -> OptimalResult:
    n_mc = 2000 if ctx.quick else 10_000
    n = 56 if ctx.quick else 100
    e, se = _e_disc(ctx.seed, n_mc)
    s = authors_sigmas()
    rows = []
    for j in range(_FIRST_CANDIDATE, _LAST_CANDIDATE + 1):
        init = _init_term("prior", float(s[j]), n)
        ed, ed_se = float(e[j:].sum()), float(np.sqrt(np.sum(se[j:] ** 2)))
        kl = _chain_kl("prior", j, "exponential", n)
        rows.append([j, float(s[j]), init, ed, ed_se, init + ed, kl])
    return OptimalResult(rows, n, [task_seed(ctx.seed, "edisc", n_mc)])


def plausible_minimisers(bound, se) -> list[int]:
    """Indices whose bound's 95% lower end lies below the smallest 95% upper end."""
    b, s = np.asarray(bound), np.asarray(se)
    return [int(i) for i in np.flatnonzero(b - _Z95 * s <= np.min(b + _Z95 * s))]


def decide_optimal(r: OptimalResult) -> Decision:
    nodes = [x[0] for x in r.rows]
    plaus = [nodes[i] for i in plausible_minimisers([x[5] for x in r.rows], [x[4] for x in r.rows])]
    j_kl = nodes[int(np.argmin([x[6] for x in r.rows]))]
    s = authors_sigmas()
    dist = min(abs(j - j_kl) for j in plaus)
    text = (
        f"bound minimised at nodes {plaus} (sigma {s[plaus[0]]:.3f}-{s[plaus[-1]]:.3f}), "
        f"the chain's KL at node {j_kl} (sigma {s[j_kl]:.3f})"
    )
    bracket = [_node(x) for x in _SIGMA_T]
    in_bracket = all(min(bracket) <= j <= max(bracket) for j in plaus)
    key = f"argmin bound sigma {s[plaus[0]]:.3f}-{s[plaus[-1]]:.3f}; argmin KL {s[j_kl]:.3f}"
    if len(plaus) > 5:
        return Decision("inconclusive", f"{text}: the bound's minimiser is not resolved", key)
    if dist > 1:
        return Decision("fails", f"{text}: {dist} nodes apart", key)
    return Decision("holds", f"{text}; within the authors' bracket: {in_bracket}", key)


def present_optimal(r: OptimalResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    sig = [x[1] for x in r.rows]
    ax.plot(sig, [x[2] for x in r.rows], "b.-", label="init KL(p_T || N(0, sigma_T^2 I))")
    ax.plot(sig, [x[3] for x in r.rows], "g.-", label="E_disc (MC)")
    ax.plot(sig, [x[5] for x in r.rows], "k.-", label="bound")
    ax.plot(sig, [x[6] for x in r.rows], "r.-", label="KL exponential chain (grid)")
    for x in _SIGMA_T:
        ax.axvline(x, color="0.7", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sigma_T (nodes of the authors' grid)")
    ax.set_ylabel("nats, at sigma = 0.134")
    ax.legend(fontsize=6)
    cols = ["node", "sigma_T", "init", "E_disc", "s.e.", "bound", f"KL exponential (grid {r.n})"]
    rows = [[x[0], f"{x[1]:.4f}"] + [f"{v:.5g}" for v in x[2:]] for x in r.rows]
    return Presentation(
        {"bound and KL vs sigma_T (prior start)": Table(cols, rows)},
        [ctx.savefig(fig, "optimal-sigma-t")],
    )


_SETTING = (
    "EDM (VE); the authors' 25-mode grid GMM (5x5 modes on {-2..2}^2, scale 4 x 0.1, "
    "Dirichlet weights, standardised); their Karras grid (sigma_max 3, sigma_min 2e-4, rho 2, "
    "40 nodes), chains from node j to node 31 (sigma = 0.1343); exact mixture scores; chain "
    "laws on a 2-D grid, E_disc by Monte Carlo"
)

CLAIMS = [
    Claim(
        "initialization.gmm-bound-terms",
        "On the authors' 25-mode GMM with the exact score, the KL of the exponential-integrator "
        "VE chain is at most KL(p_T || start) + E_disc, for sigma_T in {1.244, 1.055, 0.801} "
        "and the prior and exact p_T starts.",
        f"arXiv 2603.00772 v1 §3 and the code's toy settings {_RECON}",
        f"{_SETTING}; sigma_T in {{1.244, 1.055, 0.801}} (nodes 14, 16, 19); starts "
        "N(0, sigma_T^2 I) and p_T; the authors' ancestral chain beside",
        compute=compute_gmm_bound,
        decide=decide_gmm_bound,
        present=present_gmm_bound,
        rung=4,
        tolerance="KL (trapezoid grid, error by refinement) below the 95% CI of init + E_disc",
        doc=f"{DOC}#gmm-bound-terms",
        title="On the 25-mode GMM the chain's KL stays below init + E_disc.",
    ),
    Claim(
        "initialization.optimal-sigma-t",
        "On the authors' 25-mode GMM with the prior start N(0, sigma_T^2 I), the sigma_T "
        "minimising the bound KL(p_T || prior) + E_disc over the nodes of the authors' grid "
        "is within one node of the sigma_T minimising the chain's true KL.",
        f"arXiv 2603.00772 v1 §3 (choosing sigma_T by the bound) {_RECON}",
        f"{_SETTING}; candidates: nodes 0-22 (sigma_T 3 to 0.582), prior start, exponential chain",
        compute=compute_optimal,
        decide=decide_optimal,
        present=present_optimal,
        rung=4,
        tolerance="the bound's plausible minimisers (95% CIs) within one node of the KL's",
        doc=f"{DOC}#optimal-sigma-t",
        title="The bound's best sigma_T is the true KL's best sigma_T on the 25-mode GMM.",
    ),
]


# ============================================================ heavy-tail-bound-terms
_HT_SIGMA_T = 2.3  # benchmarking_dim_10.py: Karras(2.3 -> 0.002, rho 3), 25 steps
_HT_D, _HT_MODES, _HT_DF = 10, 20, 3.0


def heavy_tail_sigmas() -> np.ndarray:
    """Karras ``(2.3^(1/3) + i/25 (0.002^(1/3) - 2.3^(1/3)))^3``, ``i = 0..25`` (26 nodes)."""
    i = np.arange(26)
    return (_HT_SIGMA_T ** (1 / 3) + i / 25 * (0.002 ** (1 / 3) - _HT_SIGMA_T ** (1 / 3))) ** 3


def second_moment(tm) -> float:
    """``E|X|^2`` of a Student-t mixture (``nu > 2``): ``sum_k w_k (tr Sigma_k nu/(nu-2) +
    |mu_k|^2)``, exact (its sample mean has infinite variance for ``nu <= 4``)."""
    if not tm.df > 2:
        raise ValueError(f"E|X|^2 is infinite for df <= 2, got {tm.df!r}")
    tr = np.trace(tm.cov, axis1=1, axis2=2) * tm.df / (tm.df - 2)
    return float(np.sum(tm.w * (tr + np.sum(tm.mu**2, axis=1))))


def prior_start_kl(tm, sigma_T: float, n: int, rng) -> tuple[float, float, float]:
    """``KL(p_T || N(0, sigma_T^2 I))`` = ``E log p_T + d/2 log(2 pi sigma_T^2) + E|X_T|^2 /
    (2 sigma_T^2)``, ``E|X_T|^2 = E|X|^2 + d sigma_T^2`` exact and ``E log p_T`` by Monte Carlo
    (quadrature log-density): ``(value, s.e., naive)``, the last the plain Monte-Carlo mean of
    the log-ratio (whose ``|x|^2`` part has infinite variance for ``nu <= 4``)."""
    d = tm.dim
    x = tm.sample(int(n), rng) + sigma_T * rng.standard_normal((int(n), d))
    lp = tm.log_prob(x, sigma_T)
    const = 0.5 * d * np.log(2 * np.pi * sigma_T**2)
    m2 = second_moment(tm) + d * sigma_T**2
    naive = float(np.mean(lp + const + np.sum(x * x, axis=1) / (2 * sigma_T**2)))
    value = float(lp.mean() + const + m2 / (2 * sigma_T**2))
    return value, float(lp.std(ddof=1) / np.sqrt(n)), naive


@dataclass
class HeavyTailResult:
    """``init (value, se, naive)``, per-step ``e``/``se``, the quadrature error, the settings."""

    init: float
    init_se: float
    naive: float
    e: np.ndarray
    se: np.ndarray
    quad_err: float
    n: int
    seeds: list


def compute_heavy_tail(ctx) -> HeavyTailResult:
    n_q, n_mc, n_init, n_gl = (61, 400, 20_000, 4) if ctx.quick else (121, 2000, 200_000, 8)
    tm = student_t_mixture(_HT_D, _HT_MODES, _HT_DF, seed=0, n_quad=n_q, standardize="exact")
    init, init_se, naive = prior_start_kl(tm, _HT_SIGMA_T, n_init, _rng(ctx.seed, "ht-init"))
    e, se = mc.e_disc_steps(tm, heavy_tail_sigmas(), n_mc, _rng(ctx.seed, "ht-edisc"), n_gl)
    q_err = tm.quadrature_error(tm.sample(200, _rng(ctx.seed, "ht-quad")))
    seeds = [task_seed(ctx.seed, "ht-init"), task_seed(ctx.seed, "ht-edisc")]
    return HeavyTailResult(init, init_se, naive, e, se, q_err, n_mc, seeds)


def decide_heavy_tail(r: HeavyTailResult) -> Decision:
    ed, ed_se = float(r.e.sum()), float(np.sqrt(np.sum(r.se**2)))
    diff, half = r.init - ed, _Z95 * float(np.hypot(r.init_se, ed_se))
    checks = [
        interval_check(diff - half, diff + half, 0.0, above=True, what="init - E_disc (nats)"),
        Check(
            True if r.quad_err < 1e-3 else None,
            f"scale-mixture quadrature error {r.quad_err:.1e} in log p_0",
        ),
    ]
    return decide_checks(
        checks,
        f"start term {r.init:.3f} > E_disc {ed:.3f}",
        f"init {r.init:.3f} vs E_disc {ed:.2f} nats",
    )


def present_heavy_tail(r: HeavyTailResult, ctx) -> Presentation:
    s = heavy_tail_sigmas()
    fig = ctx.figure(figsize=(5.5, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.errorbar(s[:-1], r.e, yerr=_Z95 * r.se, fmt="g.-", label="E_disc per step (95% CI)")
    ax.axhline(r.init, color="b", label="start term KL(p_T || N(0, 2.3^2 I))")
    ax.set_xscale("log")
    ax.set_xlabel("sigma at the step's start")
    ax.set_ylabel("nats")
    ax.legend(fontsize=6)
    ed, ed_se = float(r.e.sum()), float(np.sqrt(np.sum(r.se**2)))
    rows = [
        ["start term (exact E|X|^2 + MC E log p_T)", f"{r.init:.4f}", f"{r.init_se:.4f}"],
        ["start term, plain MC of the log-ratio", f"{r.naive:.4f}", "-"],
        ["E_disc (25 steps)", f"{ed:.4f}", f"{ed_se:.4f}"],
        ["bound", f"{r.init + ed:.4f}", "-"],
        ["quadrature error, log p_0", f"{r.quad_err:.1e}", "-"],
    ]
    table = Table(["term", "value", "s.e."], rows)
    return Presentation(
        {"bound terms, d = 10 Student-t mixture": table},
        [ctx.savefig(fig, "heavy-tail-bound-terms")],
    )


CLAIMS.append(
    Claim(
        "initialization.heavy-tail-bound-terms",
        "For the authors' heavy-tailed target (d = 10, 20 Student-t modes, df 3) with the "
        "Gaussian start N(0, 2.3^2 I) and their 25-step Karras grid, the bound's start term "
        "KL(p_T || start) dominates its discretization term E_disc.",
        "arXiv 2603.00772 v1 §3 ('the initialization error dominates', a third-party summary) "
        f"and the code's benchmarking_dim_10 settings {_RECON}",
        "EDM (VE); the authors' Student-t mixture recipe, d = 10, 20 modes, df 3, exact "
        "standardisation; Karras(2.3 -> 0.002, rho 3), 25 steps; noised scores and densities by "
        "the scale-mixture quadrature (61 nodes quick, 121 full); start term with the exact "
        "second moment and a Monte-Carlo E log p_T (2e4 / 2e5 draws); E_disc by Monte Carlo "
        "(400 / 2000 draws per Gauss-Legendre node, 4 / 8 nodes per step)",
        compute=compute_heavy_tail,
        decide=decide_heavy_tail,
        present=present_heavy_tail,
        rung=4,
        tolerance="95% CI of init - E_disc against 0; quadrature error < 1e-3",
        doc=f"{DOC}#heavy-tail-bound-terms",
        title="With heavy tails the start term dominates the KL bound (it does not).",
        finding="The discretization term dominates: E_disc is about 3.5 nats against a start "
        "term of 0.16-0.19 (about 20x; seeds 0, 1), spread over all 25 steps (0.09-0.19 nats "
        "each), so the bound (3.7 nats) does not show the start as the critical term here; on "
        "the 25-mode GMM the start term dominates only for sigma_T below about 1.2 "
        "(initialization.gmm-bound-terms). A plain Monte-Carlo mean of the log-ratio is "
        "erratic (0.10-0.29 across seeds): its |x|^2 part has infinite variance for df 3.",
    )
)
