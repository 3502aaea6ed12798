r"""Claims of paper 2: initialization-aware VE sampling (``initialization.*``; notes §2).

Fassina, Cardoso, Le Corff, Romary, "Initialization-Aware Score-Based Diffusion Sampling",
arXiv 2603.00772 (v1; v2 retitled "Generalizing score-based generative models for
heavy-tailed distributions"). For a reader of the paper: the forward process is variance
exploding in the EDM parameterisation (``analytic.EDM``: ``t = sigma``, ``g^2 = 2 sigma``,
``p_sigma = p_data * N(0, sigma^2 I)``); the classical sampler starts at
``pi_infty = N(0, sigma_T^2 I)`` with ``sigma_T = 80`` and ~40 Karras steps. The paper's KL
bound (v1 Thm 3.1; reconstructed in notes §2.2, see ``verify.theory.start_laws``) has an
initialization term ``KL(p_T || p_init)``, a score term and a discretization term
``E_disc``; learning ``p_init`` from noised data makes the first small at a small
``sigma_T``, so the chain can start late and take few steps. The authors' 2-D settings
(notes §2.3): Karras grid ``sigma_max = 3``, ``sigma_min = 2e-4``, ``rho = 2``, 40 nodes,
truncated at ``sigma_T in {1.24404052, 1.05527906, 0.8012415}`` (nodes 14, 16, 19: the
chains have 25, 23 and 20 steps); their VE DDPM step is our ``"ancestral"`` method with
``gamma = 1`` (``verify.solvers.particles``); the 25-mode grid GMM is ``initialization.grid_gmm``.

Which "learned" law: for Gaussian data the exact ``p_T`` (the ideal learned law, KL = 0)
and a moment-matched Gaussian fitted to ``n`` samples of ``p_T`` (whose KL is pure
estimation error with the closed-form expectation in :func:`expected_kl_gaussian_mle`); for
the GMM the EM mixture (K = 25) fitted to samples of ``p_T`` (``fit_gmm``), with the exact
``p_T`` beside it.

The GMM's final quality (``initialization.short-horizon``) stands on rung 5: the particle output
has no density, so ``KL(output || p_sigma_min) = -H(output) - E_output[log p_sigma_min]`` is
estimated with the Kozachenko-Leonenko entropy (``verify.estimators.kl_to_known``, k = 3,
95% batch-means CI), cross-checked by the two-sample Wang-Kulkarni-Verdu estimator, and the
estimator is run on exact target draws (true KL = 0) to show its bias at the same ``n``.
Heavy tails (``initialization.heavy-tails``) run the authors' recipe at ``d = 10`` and, with
each covariance's eigenvalues floored at 1e-3 of its largest (a stated deviation: the recipe's
covariances are singular to machine precision at ``d = 100``), at ``d = 100``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from analytic import EDM, Gaussian, kl
from verify.claims.base import Claim, ClaimResult, Table
from verify.estimators import kl_to_known, knn_kl, mean_ci
from verify.runtime.sweep import task_seed
from verify.solvers import grids
from verify.solvers.chain_laws import exact_law, ve_ancestral_shortfall
from verify.solvers.particles import reverse_sample
from verify.theory.start_laws import (
    fit_gmm,
    grid_gmm,
    kl_bound_terms,
    moment_matched,
    student_t_mixture,
)

_SRC = "arXiv 2603.00772 v1 §3 (reconstructed, notes §2.2)"
_SIGMA_T = (1.24404052, 1.05527906, 0.8012415)


def expected_kl_gaussian_mle(d: int, n: int) -> float:
    r"""``E KL(p || p_hat)``, ``p = N(m, S)`` in ``d`` dims, ``p_hat`` its ML fit to ``n`` draws.

    ``S_hat = W/n``, ``W ~ Wishart_d(n - 1, S)``, ``m_hat ~ N(m, S/n)`` independent, so with
    ``E[W^{-1}] = S^{-1}/(n - d - 2)`` and
    ``E log det(S^{-1} W) = sum_{i=1}^d psi((n-i)/2) + d log 2``:

        E KL = 1/2 [ d (n + 1)/(n - d - 2) - d + sum_{i=1}^d psi((n - i)/2) + d log(2/n) ].

    Independent of ``m``, ``S`` (hence of ``sigma_T``); ~ ``d(d + 3)/(4n)`` for large ``n``.
    """
    if n <= d + 2:
        raise ValueError("need n > d + 2")
    i = np.arange(1, d + 1)
    return 0.5 * (
        d * (n + 1) / (n - d - 2) - d + float(np.sum(digamma((n - i) / 2.0))) + d * np.log(2.0 / n)
    )


def _spectrum(ctx, d):
    return np.sort(ctx.rng("spectrum", d).uniform(0.2, 2.0, d))


# --------------------------------------------------------------------- initialization.1
def _run_prior_decay(ctx) -> ClaimResult:
    d = 100
    lam = _spectrum(ctx, d)
    data = Gaussian(np.zeros(d), lam)
    offset = Gaussian(np.full(d, 0.5), lam)
    sde = EDM(100.0)  # horizon above 80 so the local slope at 80 can be taken centrally

    def kl_prior(p0, s):
        return kl(sde.marginal(p0, s), Gaussian(np.zeros(d), s * s))

    def slope(p0, s, h=1e-4):
        return (np.log(kl_prior(p0, s * (1 + h))) - np.log(kl_prior(p0, s * (1 - h)))) / (
            np.log1p(h) - np.log1p(-h)
        )

    A = float(np.sum(lam**2)) / 4.0
    n = 20_000 if ctx.quick else 200_000
    ekl = expected_kl_gaussian_mle(d, n)
    rows = []
    ok = True
    for s in (2.0, 7.0, 80.0):
        pT = sde.marginal(data, s)
        kp = kl_prior(data, s)
        learned = moment_matched(pT.sample(n, ctx.rng("learned", s)))
        kle = kl(pT, learned)
        rows.append(
            [
                s,
                kp,
                slope(data, s),
                kp * s**4 / A,
                kl_prior(offset, s),
                slope(offset, s),
                kle,
                ekl,
                kl(pT, pT),
            ]
        )
        ok = ok and 0.9 <= kle / ekl <= 1.1 and kl(pT, pT) == 0.0
    s80 = rows[-1]
    ok = ok and abs(s80[2] + 4) < 0.01 and abs(s80[3] - 1) < 1e-3 and abs(rows[1][2] + 4) < 0.1
    ok = ok and rows[0][6] < rows[0][1]
    sig = np.geomspace(1.0, 80.0, 60)
    fig = ctx.figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    ax.loglog(sig, [kl_prior(data, s) for s in sig], label="KL(p_T || N(0, s^2 I)), mean 0")
    ax.loglog(sig, [kl_prior(offset, s) for s in sig], label="same, mean offset 0.5 per coord.")
    ax.loglog(sig, A / sig**4, "k:", label="sum(lambda^2)/(4 s^4)")
    ax.axhline(ekl, color="r", ls="--", label=f"moment-matched start, n={n} (E KL)")
    ax.set_xlabel("sigma_T (EDM noise level)")
    ax.set_ylabel("KL(p_T || start) (nats)")
    ax.set_title("Gaussian data, d = 100")
    ax.legend(fontsize=7)
    verdict = "holds" if ok else "fails"
    reason = (
        f"mean-matched: KL(p_T||N(0,s^2 I)) = {rows[0][1]:.3g}, {rows[1][1]:.3g}, "
        f"{rows[2][1]:.3g} at s = 2, 7, 80, local slope {rows[1][2]:.3f}, {s80[2]:.4f} (-4), "
        f"KL s^4/(sum lambda^2/4) = {s80[3]:.5f} at 80; offset means: slope {s80[5]:.3f} (-2). "
        f"Learned start: exact p_T KL = 0; moment-matched (n={n}) KL(p_T||fit) = "
        f"{rows[0][6]:.4f}, {rows[1][6]:.4f}, {rows[2][6]:.4f} vs E KL = {ekl:.4f} "
        "(independent of s)"
    )
    return ClaimResult(
        verdict,
        reason,
        rung=1,
        tolerance="slope at 80 within 0.01 of -4 (at 7 within 0.1); KL s^4/A within 1e-3 of 1; "
        "learned KL within 10% of its exact expectation",
        key_number=f"slope at sigma_T=80: {s80[2]:.4f}",
        tables={
            "KL(p_T || start), d = 100": Table(
                [
                    "sigma_T",
                    "KL(p_T||N(0,s^2I))",
                    "local slope",
                    "KL s^4/(sum lambda^2/4)",
                    "KL offset mean",
                    "slope offset",
                    "KL(p_T||moment-matched)",
                    "E KL(p_T||MLE)",
                    "KL(p_T||exact p_T)",
                ],
                [[r[0]] + [f"{v:.6g}" for v in r[1:]] for r in rows],
            )
        },
        figures=[ctx.savefig(fig, "kl-prior-vs-sigma")],
        seeds=[ctx.seed],
    )


# --------------------------------------------------------------------- initialization.3
def _datasets(ctx):
    gm = grid_gmm()
    d = 100
    return {
        "grid-GMM moments, d=2": Gaussian(gm.mean, gm.cov),
        "d=100": Gaussian(np.zeros(d), _spectrum(ctx, d)),
    }


def _run_disc(ctx) -> ClaimResult:
    sde = EDM(3.0)
    full = grids.karras(sde, 39, 2e-4, 3.0, 2.0)
    rows = []
    ok = True
    for name, data in _datasets(ctx).items():
        for sT in (3.0, *_SIGMA_T):
            g = grids.truncate(full, sde, sT)
            pT = sde.marginal(data, g[0])
            b = kl_bound_terms(sde, data, pT, g, method="exponential")
            anc = kl(sde.marginal(data, g[-1]), exact_law(sde, data, pT, g, 1.0, "ancestral"))
            rows.append([name, sT, len(g) - 1, b.disc, anc, b.true_kl, anc / b.disc])
            ok = ok and anc > 1e-8 and b.true_kl <= b.disc
    # rung-1 cross-check of one ancestral step from the exact p_t (1-D, VE)
    s0, t, s = 0.7, 1.24404052, 1.14771948
    one = exact_law(sde, Gaussian([0.0], s0), Gaussian([0.0], s0 + t * t), [t, s], 1.0, "ancestral")
    deficit = (s0 + s * s) - float(one.cov[0, 0])
    closed = float(ve_ancestral_shortfall(s0, t * t, s * s))
    xcheck = abs(deficit - closed) / closed
    ok = ok and xcheck < 1e-10
    fig = ctx.figure(figsize=(9, 3.4))
    for i, name in enumerate(_datasets(ctx)):
        ax = fig.add_subplot(1, 2, i + 1)
        sub = [r for r in rows if r[0] == name]
        x = np.arange(len(sub))
        for j, (col, lab) in enumerate(
            (
                (3, "E_disc (bound term)"),
                (4, "ancestral (authors' DDPM)"),
                (5, "exponential (bounded chain)"),
            )
        ):
            ax.bar(x + (j - 1) * 0.27, [r[col] for r in sub], 0.27, label=lab)
        ax.set_yscale("log")
        ax.set_xticks(x, [f"{r[1]:.3g}\n({r[2]} steps)" for r in sub], fontsize=7)
        ax.set_xlabel("sigma_T (start)")
        ax.set_ylabel("KL(p_sigma_min || chain) (nats)")
        ax.set_title(f"exact score, exact start; {name}", fontsize=8)
        ax.legend(fontsize=7)
    ratios = [r[6] for r in rows]
    verdict = "holds" if ok else "fails"
    reason = (
        f"exact score and exact start: KL(p_sigma_min || ancestral chain) in "
        f"[{min(r[4] for r in rows):.2e}, {max(r[4] for r in rows):.2e}] > 1e-8 (nonzero); it is "
        f"{min(ratios):.3f}-{max(ratios):.3f} x E_disc; the exponential chain (the one the bound "
        f"is for) stays below E_disc in all {len(rows)} cases; one-step variance deficit matches "
        f"the closed form to {xcheck:.1e}"
    )
    return ClaimResult(
        verdict,
        reason,
        rung=2,
        tolerance="ancestral KL > 1e-8; exponential KL <= E_disc; one-step closed form rel 1e-10",
        key_number=f"ancestral KL / E_disc in [{min(ratios):.3f}, {max(ratios):.3f}]",
        tables={
            "discretization term vs true KL (KL(p_sigma_min || chain))": Table(
                [
                    "data",
                    "sigma_T",
                    "steps",
                    "E_disc",
                    "KL ancestral",
                    "KL exponential",
                    "ancestral / E_disc",
                ],
                [[r[0], r[1], r[2]] + [f"{v:.4e}" for v in r[3:]] for r in rows],
            )
        },
        figures=[ctx.savefig(fig, "disc-term")],
    )


# --------------------------------------------------------------------- initialization.2
_SIGMA_MIN = 2e-4


_GMM_SAMPLERS = (("ancestral", 1.0, 1), ("heun", 0.0, 2))  # (method, gamma, NFE per step)


def _gmm_chain_task(task):
    """One grid-GMM run (rung 5): the output of the VE DDPM (ancestral) and Heun PF-ODE chains.

    ``kind="full"``: EDM sigma_max = 80, prior ``N(0, 80^2 I)``, Karras(80, 2e-4, rho 7),
    39 steps. ``kind="short"``: Karras(3, 2e-4, rho 2) truncated at ``sigma``, started from
    the EM fit (K = 25) to ``n_fit`` samples of ``p_T`` and from the exact ``p_T``; also
    ``KL(p_T || start)`` by Monte Carlo. ``kind="calib"``: exact draws of the target (the
    estimator's bias at this ``n``; the true KL is 0). Every KL is
    ``KL(output || p_sigma_min)`` by :func:`verify.estimators.kl_to_known` (95% batch-means CI),
    then the two-sample :func:`verify.estimators.knn_kl` (Wang-Kulkarni-Verdu) against fresh
    target draws. Returns ``{(sampler, start): [NFE, kl, lo, hi, wkv, lo, hi]}`` (and
    ``"start"``: the MC start terms).
    """
    data = grid_gmm()
    rng = np.random.default_rng(task["seed"])
    n, k = task["n"], task["k"]
    sde3 = EDM(3.0)
    target = sde3.marginal(data, _SIGMA_MIN)

    def est(x):
        e = kl_to_known(x, target.log_prob, k)
        w = knn_kl(x, target.sample(n, rng), k)
        return [e.value, e.lo, e.hi, w.value, w.lo, w.hi]

    out = {}
    if task["kind"] == "calib":
        out[("-", "exact target draws (estimator bias)")] = [0, *est(target.sample(n, rng))]
        return out
    if task["kind"] == "full":
        sde = EDM(80.0)
        g = grids.karras(sde, 39, _SIGMA_MIN, 80.0, 7.0)
        starts = [("prior N(0, 80^2 I), full horizon", Gaussian(np.zeros(2), 6400.0))]
    else:
        s, sde = task["sigma"], sde3
        g = grids.truncate(grids.karras(sde3, 39, _SIGMA_MIN, 3.0, 2.0), sde3, s)
        pT = sde3.marginal(data, g[0])
        fit = fit_gmm(pT.sample(task["n_fit"], rng), 25, rng, n_init=1, tol=1e-5)
        mc = pT.sample(task["n_mc"], rng)
        lp = pT.log_prob(mc)
        e_em = mean_ci(lp - fit.law.log_prob(mc))
        e_pr = mean_ci(lp - Gaussian(np.zeros(2), s * s).log_prob(mc))
        out["start"] = [e_em.value, e_em.lo, e_em.hi, e_pr.value, e_pr.lo, e_pr.hi]
        starts = [("EM start", fit.law), ("exact p_T start", pT)]
    score = sde.score(data)
    for name, start in starts:
        for method, gamma, per_step in _GMM_SAMPLERS:
            x = reverse_sample(sde, score, start.sample(n, rng), g, gamma, method, rng=rng)
            out[(method, name)] = [per_step * (len(g) - 1), *est(x)]
    return out


def _gmm_verdict(short, full):
    """holds: short CI upper <= full CI upper; fails: short CI above full CI; else inconclusive."""
    if short[3] <= full[3]:
        return "holds"
    if short[2] > full[3]:
        return "fails"
    return "inconclusive"


def _run_short(ctx) -> ClaimResult:
    sde3, sde80 = EDM(3.0), EDM(80.0)
    full3 = grids.karras(sde3, 39, 2e-4, 3.0, 2.0)
    full80 = grids.karras(sde80, 39, 2e-4, 80.0, 7.0)
    n_fit = 10_000 if ctx.quick else 100_000
    rows = []
    ok = True
    for name, data in _datasets(ctx).items():
        d = data.dim
        target = sde3.marginal(data, 2e-4)
        for method, gamma in (("ancestral", 1.0), ("heun", 0.0)):
            k80 = kl(
                target, exact_law(sde80, data, Gaussian(np.zeros(d), 6400.0), full80, gamma, method)
            )
            k3 = kl(target, exact_law(sde3, data, Gaussian(np.zeros(d), 9.0), full3, gamma, method))
            for sT in _SIGMA_T:
                g = grids.truncate(full3, sde3, sT)
                pT = sde3.marginal(data, g[0])
                learned = moment_matched(pT.sample(n_fit, ctx.rng("fit", name, sT)))
                ke = kl(target, exact_law(sde3, data, pT, g, gamma, method))
                kl_l = kl(target, exact_law(sde3, data, learned, g, gamma, method))
                rows.append([name, method, sT, len(g) - 1, ke, kl_l, k80, k3])
                ok = ok and ke <= 1.1 * k80
    # ---- grid GMM: final quality of the particle output (rung 5)
    n = 20_000 if ctx.quick else 200_000
    n_mc = 20_000 if ctx.quick else 200_000
    base = {"n": n, "k": 3, "n_fit": n_fit, "n_mc": n_mc}
    tasks = [
        {**base, "kind": "full", "seed": task_seed(ctx.seed, "gmm", "full")},
        {**base, "kind": "calib", "seed": task_seed(ctx.seed, "gmm", "calib")},
    ] + [
        {**base, "kind": "short", "sigma": s, "seed": task_seed(ctx.seed, "gmm", s)}
        for s in _SIGMA_T
    ]
    res = ctx.map(_gmm_chain_task, tasks, desc="grid-GMM chains")
    full_key = "prior N(0, 80^2 I), full horizon"
    gmm_rows = []  # [sigma_T, sampler, start, NFE, kl, lo, hi, wkv, lo, hi]
    for sg, r in zip(["-", "-", *_SIGMA_T], res, strict=True):
        gmm_rows += [[sg, key[0], key[1], *v] for key, v in r.items() if key != "start"]
    starts = [[sg, *r["start"]] for sg, r in zip(_SIGMA_T, res[2:], strict=True)]
    row = {(r[0], r[1], r[2]): r for r in gmm_rows}
    calib = row[("-", "-", "exact target draws (estimator bias)")]
    verdicts = {}
    for method, _, _ in _GMM_SAMPLERS:
        full = row[("-", method, full_key)]
        for sg in _SIGMA_T:
            for st in ("EM start", "exact p_T start"):
                verdicts[(method, sg, st)] = _gmm_verdict(row[(sg, method, st)][3:], full[3:])
    em_v = [v for (m, sg, st), v in verdicts.items() if st == "EM start"]
    gmm_verdict = (
        "fails" if "fails" in em_v else "inconclusive" if "inconclusive" in em_v else "holds"
    )
    verdict = "fails" if not ok else gmm_verdict
    undecided = [
        f"{m} sigma_T={sg:.3g}"
        for (m, sg, st), v in verdicts.items()
        if st == "EM start" and v == "inconclusive"
    ]
    hw = float(np.median([(r[6] - r[5]) / 2 for r in gmm_rows]))
    # ---- figure: Gaussian (exact) | GMM ancestral | GMM Heun
    fig = ctx.figure(figsize=(14, 4.2))
    ax = fig.add_subplot(1, 3, 1)
    for name in _datasets(ctx):
        for method in ("ancestral", "heun"):
            sub = [r for r in rows if r[0] == name and r[1] == method]
            line = ax.plot(
                [r[3] for r in sub],
                [r[4] for r in sub],
                "o-",
                label=f"{name}, {method}, exact start",
            )[0]
            ax.axhline(sub[0][6], color=line.get_color(), ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("number of steps (short horizon); dashed: EDM 80, 39 steps")
    ax.set_ylabel("KL(p_sigma_min || chain) (nats), exact")
    ax.set_title("Gaussian data (rung 2)", fontsize=8)
    ax.legend(fontsize=6)
    for i, (method, _, _) in enumerate(_GMM_SAMPLERS):
        ax2 = fig.add_subplot(1, 3, i + 2)
        full = row[("-", method, full_key)]
        ax2.axhspan(full[5], full[6], color="0.85", label=f"full horizon, prior, {full[3]} NFE")
        ax2.axhline(full[4], color="0.4", lw=0.8)
        for j, (st, mk) in enumerate((("EM start", "o"), ("exact p_T start", "^"))):
            sub = [row[(sg, method, st)] for sg in _SIGMA_T]
            ax2.errorbar(
                np.arange(len(sub)) + (j - 0.5) * 0.15,
                [r[4] for r in sub],
                yerr=[[r[4] - r[5] for r in sub], [r[6] - r[4] for r in sub]],
                fmt=mk,
                capsize=3,
                label=f"short horizon, {st}",
            )
        ax2.errorbar(
            [len(_SIGMA_T) - 0.25],
            [calib[4]],
            yerr=[[calib[4] - calib[5]], [calib[6] - calib[4]]],
            fmt="kx",
            capsize=3,
            label="exact target draws (true KL = 0)",
        )
        sub = [row[(sg, method, "EM start")] for sg in _SIGMA_T]
        ax2.set_xticks(
            np.arange(len(sub) + 1),
            [f"sigma_T={r[0]:.3g}\n{r[3]} NFE" for r in sub] + ["estimator\nbias check"],
            fontsize=7,
        )
        ax2.axhline(0.0, color="k", lw=0.5)
        top = max(r[6] for r in gmm_rows if r[1] in (method, "-"))
        ax2.set_ylim(top=1.5 * top)  # room for the legend
        ax2.set_ylabel("KL(output || p_sigma_min) (nats), kNN, 95% CI")
        ax2.set_title(f"25-mode grid GMM, {method}, n = {n} particles", fontsize=8)
        ax2.legend(fontsize=6)
    fig.tight_layout()
    worst = max(r[4] / r[6] for r in rows)
    fin = {
        (r[0].split(", ")[-1], r[1]): max(q[5] / q[6] for q in rows if q[:2] == r[:2]) for r in rows
    }
    fin_txt = ", ".join(f"{k[1]} {k[0]}: {v:.2g}x" for k, v in fin.items())

    def ci(r):
        return f"{r[4]:.3f} [{r[5]:.3f}, {r[6]:.3f}]"

    gmm_txt = []
    for method, _, _ in _GMM_SAMPLERS:
        full = row[("-", method, full_key)]
        per = "; ".join(
            f"sigma_T={sg:.3g} ({row[(sg, method, 'EM start')][3]} NFE): EM "
            f"{ci(row[(sg, method, 'EM start')])} -> {verdicts[(method, sg, 'EM start')]}, "
            f"exact p_T {ci(row[(sg, method, 'exact p_T start')])}"
            for sg in _SIGMA_T
        )
        gmm_txt.append(f"{method}: full horizon (prior, {full[3]} NFE) {ci(full)}; {per}")
    reason = (
        f"Grid GMM (rung 5, kNN KL(output || p_sigma_min), n={n}, 95% batch-means CI): "
        + ". ".join(gmm_txt)
        + f". The estimator on exact target draws gives {ci(calib)} (its bias at this n). GMM "
        f"verdict (EM start, the realistic learned law, fitted to n={n_fit} samples of p_T; "
        f"both samplers, all sigma_T): {gmm_verdict}"
        + (
            ""
            if gmm_verdict != "inconclusive"
            else f" (the undecided comparisons, {', '.join(undecided)}, differ by less than the "
            f"estimator resolves at n={n}: 95% CI half-width ~{hw:.3f} nats)"
        )
        + ". "
        f"Gaussian (exact, rung 2), learned law = exact p_T: short-horizon chains (20-25 steps) "
        f"reach KL(p_sigma_min||chain) <= {worst:.3f} x that of EDM sigma_max=80 with 39 steps "
        f"(tolerance 1.1x) for both samplers, d = 2 and 100; with a moment-matched start fitted "
        f"to n={n_fit} samples the worst ratio is {fin_txt} (the start's estimation error "
        f"E KL ~ d(d+3)/(4n) is carried to the output, unchanged by the PF-ODE). Start term "
        f"KL(p_T||EM) = {', '.join(f'{r[1]:.3g}' for r in starts)} vs KL(p_T||prior) = "
        f"{', '.join(f'{r[4]:.3g}' for r in starts)} (MC, n={n_mc})"
    )
    key = "; ".join(
        f"{m}: full {row[('-', m, full_key)][4]:.3f}, short EM "
        + "/".join(f"{row[(sg, m, 'EM start')][4]:.3f}" for sg in _SIGMA_T)
        for m, _, _ in _GMM_SAMPLERS
    )
    return ClaimResult(
        verdict,
        reason,
        rung=5,
        tolerance="GMM (deciding, EM start, each sampler and sigma_T): holds if the 95% CI "
        "upper end of KL(output||p_sigma_min) is <= that of the same sampler's full-horizon run, "
        "fails if the short-horizon CI lies above the full-horizon CI, else inconclusive; "
        "Gaussian: KL_short <= 1.1 KL_full (exact, rung 2; a failure here fails the claim)",
        key_number=f"GMM KL(output||p) {key}; Gaussian max KL_short/KL_full = {worst:.3f}",
        tables={
            "grid GMM: KL(output || p_sigma_min), kNN (rung 5)": Table(
                [
                    "sigma_T",
                    "sampler",
                    "start",
                    "NFE",
                    "KL(output||p) kl_to_known",
                    "95% CI lo",
                    "95% CI hi",
                    "KL(output||p) Wang-Kulkarni-Verdu",
                    "95% CI lo",
                    "95% CI hi",
                ],
                [r[:4] + [f"{v:.4f}" for v in r[4:]] for r in gmm_rows],
            ),
            "Gaussian: KL(p_sigma_min || chain), exact": Table(
                [
                    "data",
                    "sampler",
                    "sigma_T",
                    "steps",
                    "exact p_T start",
                    f"moment-matched start (n={n_fit})",
                    "EDM 80, 39 steps, prior",
                    "sigma_max 3, 39 steps, prior",
                ],
                [r[:4] + [f"{v:.4e}" for v in r[4:]] for r in rows],
            ),
            "grid GMM: KL(p_T || start), Monte Carlo": Table(
                ["sigma_T", "EM start", "95% CI", "prior N(0,s^2 I)", "95% CI"],
                [
                    [
                        r[0],
                        f"{r[1]:.4g}",
                        f"[{r[2]:.3g}, {r[3]:.3g}]",
                        f"{r[4]:.4g}",
                        f"[{r[5]:.3g}, {r[6]:.3g}]",
                    ]
                    for r in starts
                ],
            ),
        },
        figures=[ctx.savefig(fig, "short-horizon")],
        seeds=[t["seed"] for t in tasks],
    )


# --------------------------------------------------------------------- initialization.4
_LEVELS = (0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999)
_RATIO_LEVELS = (0.99, 0.999)
_EIG_FLOOR = {10: 0.0, 100: 1e-3}  # d = 100: deviation from the recipe (student_t_mixture)


def _tail_target(task):
    return student_t_mixture(task["d"], n_quad=task["n_quad"], eig_floor=_EIG_FLOOR[task["d"]])


def _tail_task(task):
    """Run the VE DDPM (ancestral) chain from one start law; return the output particles."""
    target = _tail_target(task)
    sde = EDM(2.3)
    grid = grids.karras(sde, 25, 0.002, 2.3, 3.0)
    rng = np.random.default_rng(task["seed"])
    n, d = task["n"], task["d"]
    if task["start"] == "gaussian":
        x = 2.3 * rng.standard_normal((n, d))
    else:  # exact p_T: clean + sigma_T z (the authors' "p_t" start, the ideal learned law)
        x = target.sample(n, rng) + 2.3 * rng.standard_normal((n, d))
    return reverse_sample(
        sde, lambda y, t: target.score(y, t), x, grid, 1.0, "ancestral", rng=rng, chunk_size=4000
    )


def _tail_quantiles(proj, levels=_LEVELS):
    return np.quantile(np.abs(proj), levels)


def _tail_summary(d, target, outs, rng, n_truth, n_boot):
    """Worst direction, tail quantiles and bootstrap CIs of generated/true quantile ratios."""
    n = min(len(x) for x in outs.values())
    truth = target.sample(n_truth, rng) + 0.002 * rng.standard_normal((n_truth, d))
    qerr = target.quadrature_error(truth[:2000])
    # worst direction (max-sliced W1) for the Gaussian start among random + principal axes
    dirs = rng.standard_normal((256, d))
    dirs = np.vstack([dirs, target.U.transpose(0, 2, 1).reshape(-1, d)])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    m = np.median(truth, axis=0)
    pt = np.sort((truth[:n] - m) @ dirs.T, axis=0)
    w1 = {
        k: np.mean(np.abs(np.sort((v[:n] - m) @ dirs.T, axis=0) - pt), axis=0)
        for k, v in outs.items()
    }
    j = int(np.argmax(w1["gaussian"]))
    v = dirs[j]
    pt_v = np.abs((truth - m) @ v)
    pg = {k: np.abs((x - m) @ v) for k, x in outs.items()}
    q_true = _tail_quantiles(pt_v)
    q = {k: _tail_quantiles(x) for k, x in pg.items()}
    # percentile bootstrap of the ratio generated/true (both samples resampled)
    boot = {k: [] for k in outs}
    for _ in range(n_boot):
        qt = np.quantile(pt_v[rng.integers(0, pt_v.size, pt_v.size)], _RATIO_LEVELS)
        for k, x in pg.items():
            boot[k].append(np.quantile(x[rng.integers(0, x.size, x.size)], _RATIO_LEVELS) / qt)
    ratio = {}
    for k in outs:
        b = np.asarray(boot[k])
        for i, lv in enumerate(_RATIO_LEVELS):
            lo, hi = np.quantile(b[:, i], [0.025, 0.975])
            ratio[(k, lv)] = (q[k][_LEVELS.index(lv)] / q_true[_LEVELS.index(lv)], lo, hi)
    g, le = ratio[("gaussian", 0.999)], ratio[("learned", 0.999)]
    g_light = g[2] < 1.0
    better = abs(np.log(le[0])) < abs(np.log(g[0]))
    separated = le[1] > g[2]
    disjoint = le[1] > g[2] or le[2] < g[1]
    if g_light and better and separated:
        verdict = "holds"
    elif g[1] > 1.0 or (not better and disjoint):
        verdict = "fails"
    else:
        verdict = "inconclusive"
    return {
        "d": d,
        "n": n,
        "n_truth": n_truth,
        "q_true": q_true,
        "q": q,
        "ratio": ratio,
        "w1": (w1["gaussian"][j], w1["learned"][j]),
        "qerr": qerr,
        "verdict": verdict,
    }


def _run_tails(ctx) -> ClaimResult:
    setups = {
        10: {"n": 16_000 if ctx.quick else 400_000, "n_quad": 61 if ctx.quick else 121},
        100: {"n": 8_000 if ctx.quick else 100_000, "n_quad": 161},
    }
    tasks = [
        {"start": k, "d": d, **cfg, "seed": task_seed(ctx.seed, "t", d, k)}
        for d, cfg in setups.items()
        for k in ("gaussian", "learned")
    ]
    outs = ctx.map(_tail_task, tasks, desc="heavy-tail chains")
    res = []
    for d, cfg in setups.items():
        o = {t["start"]: x for t, x in zip(tasks, outs, strict=True) if t["d"] == d}
        target = _tail_target({"d": d, "n_quad": cfg["n_quad"]})
        res.append(
            _tail_summary(
                d,
                target,
                o,
                ctx.rng("tails", d),
                max(cfg["n"], 100_000 if ctx.quick else 400_000),
                200,
            )
        )
    vs = [r["verdict"] for r in res]
    verdict = "fails" if "fails" in vs else "inconclusive" if "inconclusive" in vs else "holds"
    fig = ctx.figure(figsize=(10, 4.2))
    x_axis = 1.0 - np.asarray(_LEVELS)
    for i, r in enumerate(res):
        ax = fig.add_subplot(1, len(res), i + 1)
        ax.loglog(x_axis, r["q_true"], "k-o", label=f"true samples (n = {r['n_truth']})")
        ax.loglog(x_axis, r["q"]["gaussian"], "s--", label="Gaussian start N(0, sigma_T^2 I)")
        ax.loglog(x_axis, r["q"]["learned"], "^--", label="learned start (exact p_T)")
        ax.invert_xaxis()
        ax.set_xlabel("tail probability 1 - q")
        ax.set_ylabel("quantile of |<x - median, v>| (data units)")
        floor = "" if _EIG_FLOOR[r["d"]] == 0 else f", eig floor {_EIG_FLOOR[r['d']]:g}"
        ax.set_title(
            f"Student-t (df 3) mixture, d = {r['d']}{floor}\nworst direction v, "
            f"{r['n']} particles per start",
            fontsize=8,
        )
        ax.legend(fontsize=7)
    fig.tight_layout()

    def rtxt(r, k, lv):
        v, lo, hi = r["ratio"][(k, lv)]
        return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"

    parts = []
    for r in res:
        parts.append(
            f"d = {r['d']} ({r['n']} particles): q0.999 ratio generated/true Gaussian start "
            f"{rtxt(r, 'gaussian', 0.999)}, learned start {rtxt(r, 'learned', 0.999)}; q0.99 "
            f"{rtxt(r, 'gaussian', 0.99)} vs {rtxt(r, 'learned', 0.99)}; max-sliced W1 "
            f"{r['w1'][0]:.4f} vs {r['w1'][1]:.4f}; score quadrature error {r['qerr']:.1e} nats "
            f"-> {r['verdict']}"
        )
        lo, hi = r["ratio"][("learned", 0.999)][1:]
        if not lo <= 1.0 <= hi:
            parts[-1] += (
                " (the exact-p_T start's q0.999 CI excludes 1: with an exact start what remains "
                "is the 25-step chain's own discretization error, or Monte-Carlo error beyond the "
                f"percentile bootstrap, which rests on ~{r['n'] // 1000} points above the 0.999 "
                "quantile)"
            )
    reason = (
        "; ".join(parts)
        + ". (95% percentile-bootstrap CIs, 200 resamples of both the generated and the true "
        "samples.) d = 100 deviates from the authors' covariance recipe: each Sigma_k's "
        "eigenvalues are floored at 1e-3 of its largest (the recipe's are singular to machine "
        "precision at d = 100); d = 10 is the recipe as published"
    )
    rows = []
    for r in res:
        for lv, a, b, c in zip(
            _LEVELS, r["q_true"], r["q"]["gaussian"], r["q"]["learned"], strict=True
        ):
            rows.append([r["d"], lv, f"{a:.4g}", f"{b:.4g}", f"{c:.4g}"])
    ratio_rows = [
        [r["d"], lv, k, *[f"{v:.4f}" for v in r["ratio"][(k, lv)]]]
        for r in res
        for lv in _RATIO_LEVELS
        for k in ("gaussian", "learned")
    ]
    key = ", ".join(
        f"d={r['d']}: Gaussian {r['ratio'][('gaussian', 0.999)][0]:.3f}, learned "
        f"{r['ratio'][('learned', 0.999)][0]:.3f}"
        for r in res
    )
    return ClaimResult(
        verdict,
        reason,
        rung=5,
        tolerance="per d, 95% bootstrap CIs of the 0.999-quantile ratio: Gaussian start < 1, "
        "learned start closer to 1 and separated (holds); Gaussian CI > 1, or learned not closer "
        "with disjoint CIs (fails); else inconclusive. Claim: fails if any d fails, inconclusive "
        "if any is inconclusive",
        key_number=f"q0.999 ratio {key}",
        tables={
            "tail quantiles along the worst direction": Table(
                ["d", "level q", "true", "Gaussian start", "learned start"], rows
            ),
            "quantile ratio generated/true (95% bootstrap CI)": Table(
                ["d", "level q", "start", "ratio", "CI lo", "CI hi"], ratio_rows
            ),
        },
        figures=[ctx.savefig(fig, "tail-quantiles")],
        seeds=[t["seed"] for t in tasks],
    )


CLAIMS = [
    Claim(
        "initialization.prior-kl-decay",
        "With the prior N(0, sigma_T^2 I) and matched means, KL(p_T || prior) decays only like "
        "sigma_T^-4 (sigma_T^-2 with mismatched means); a learned start law removes that term.",
        _SRC,
        "EDM (VE, t = sigma); Gaussian data d = 100, eigenvalues U(0.2, 2); sigma_T in {2, 7, 80}",
        _run_prior_decay,
    ),
    Claim(
        "initialization.short-horizon",
        "Starting from a learned law at a small sigma_T on the authors' truncated Karras grid, "
        "the final KL matches or beats the full-horizon sampler with far fewer steps (grid GMM: "
        "an EM mixture fitted to samples of p_T, final KL(output || p_data) by a kNN estimator "
        "with CI; Gaussian data: the exact p_T start, exact KL, a finite-sample fit beside it).",
        "arXiv 2603.00772 §4 and code settings (reconstructed, notes §2.2-2.3)",
        "EDM; Karras(3, 2e-4, rho 2, 40 nodes) truncated at sigma_T in {1.244, 1.055, 0.801} "
        "vs EDM 80 (rho 7, 40 nodes, prior start); VE DDPM (ancestral) and Heun PF-ODE on the "
        "25-mode grid GMM (2-D, particles, EM start K = 25); Gaussian d = 2, 100 exact (same "
        "samplers)",
        _run_short,
    ),
    Claim(
        "initialization.ve-ancestral-disc",
        "The VE ancestral (DDPM) step has a nonzero discretization error even with the exact "
        "score and exact start; compared with the bound's discretization term E_disc.",
        _SRC,
        "EDM(3); Karras(3, 2e-4, rho 2, 40 nodes), starts sigma_T in {3, 1.244, 1.055, 0.801}; "
        "Gaussian d = 2 (grid-GMM moments) and d = 100",
        _run_disc,
    ),
    Claim(
        "initialization.heavy-tails",
        "For a heavy-tailed target, a Gaussian start at a small sigma_T under-represents the "
        "tails of the output along the worst direction; a learned start recovers them.",
        "arXiv 2603.00772 v2 §5 and code benchmarking_dim_10 (reconstructed, notes §2.3)",
        "EDM; mixture of 4 Student-t (df 3), d = 10 (authors' recipe) and d = 100 (covariance "
        "eigenvalues floored at 1e-3 of the largest); Karras(2.3, 0.002, rho 3), 25 ancestral "
        "(DDPM) steps; score by log-u trapezoid scale-mixture quadrature",
        _run_tails,
    ),
]
