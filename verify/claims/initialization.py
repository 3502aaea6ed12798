r"""Claims of paper 2: initialization-aware VE sampling (``initialization.*``; notes §2).

Fassina, Cardoso, Le Corff, Romary, "Initialization-Aware Score-Based Diffusion Sampling",
arXiv 2603.00772 (v1; v2 retitled "Generalizing score-based generative models for
heavy-tailed distributions"). For a reader of the paper: the forward process is variance
exploding in the EDM parameterisation (``analytic.EDM``: ``t = sigma``, ``g^2 = 2 sigma``,
``p_sigma = p_data * N(0, sigma^2 I)``); the classical sampler starts at
``pi_infty = N(0, sigma_T^2 I)`` with ``sigma_T = 80`` and ~40 Karras steps. The paper's KL
bound (v1 Thm 3.1; reconstructed in notes §2.2, see ``verify.initialization``) has an
initialization term ``KL(p_T || p_init)``, a score term and a discretization term
``E_disc``; learning ``p_init`` from noised data makes the first small at a small
``sigma_T``, so the chain can start late and take few steps. The authors' 2-D settings
(notes §2.3): Karras grid ``sigma_max = 3``, ``sigma_min = 2e-4``, ``rho = 2``, 40 nodes,
truncated at ``sigma_T in {1.24404052, 1.05527906, 0.8012415}`` (nodes 14, 16, 19: the
chains have 25, 23 and 20 steps); their VE DDPM step is our ``"ancestral"`` method with
``gamma = 1`` (``verify.samplers``); the 25-mode grid GMM is ``initialization.grid_gmm``.

Which "learned" law: for Gaussian data the exact ``p_T`` (the ideal learned law, KL = 0)
and a moment-matched Gaussian fitted to ``n`` samples of ``p_T`` (whose KL is pure
estimation error with the closed-form expectation in :func:`expected_kl_gaussian_mle`); for
the GMM the EM mixture (K = 25) fitted to samples of ``p_T`` (``fit_gmm``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from analytic import EDM, Gaussian, kl
from verify import grids
from verify.claims.base import Claim, ClaimResult, Table
from verify.estimators import kl_mc
from verify.exact import exact_law, ve_ancestral_shortfall
from verify.initialization import (
    fit_gmm,
    grid_gmm,
    kl_bound_terms,
    moment_matched,
    student_t_mixture,
)
from verify.samplers import reverse_sample
from verify.sweep import task_seed

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
def _gmm_init_task(task):
    """KL(p_T || start) by Monte Carlo (95% CI) for the grid GMM: prior vs EM start."""
    sde = EDM(3.0)
    data = grid_gmm()
    rng = np.random.default_rng(task["seed"])
    pT = sde.marginal(data, task["sigma"])
    fit = fit_gmm(pT.sample(task["n_fit"], rng), 25, rng, n_init=1, tol=1e-5)
    prior = Gaussian(np.zeros(2), task["sigma"] ** 2)
    e_em = kl_mc(pT, fit.law, task["n_mc"], rng)
    e_pr = kl_mc(pT, prior, task["n_mc"], rng)
    return [task["sigma"], e_em.value, e_em.lo, e_em.hi, e_pr.value, e_pr.lo, e_pr.hi]


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
    n_mc = 20_000 if ctx.quick else 200_000
    tasks = [
        {"sigma": s, "n_fit": n_fit, "n_mc": n_mc, "seed": task_seed(ctx.seed, "gmm", s)}
        for s in _SIGMA_T
    ]
    mc = ctx.map(_gmm_init_task, tasks, desc="GMM start laws")
    mc_ok = all(r[3] < r[5] for r in mc)
    verdict = "holds" if ok and mc_ok else "fails"
    fig = ctx.figure(figsize=(9, 3.4))
    ax = fig.add_subplot(1, 2, 1)
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
    ax.set_ylabel("KL(p_sigma_min || chain) (nats)")
    ax.legend(fontsize=6)
    ax2 = fig.add_subplot(1, 2, 2)
    arr = np.array(mc)
    ax2.errorbar(
        arr[:, 0],
        arr[:, 1],
        yerr=[arr[:, 1] - arr[:, 2], arr[:, 3] - arr[:, 1]],
        fmt="o-",
        label="EM GMM start (K=25)",
    )
    ax2.errorbar(
        arr[:, 0],
        arr[:, 4],
        yerr=[arr[:, 4] - arr[:, 5], arr[:, 6] - arr[:, 4]],
        fmt="s-",
        label="prior N(0, sigma_T^2 I)",
    )
    ax2.set_yscale("log")
    ax2.set_xlabel("sigma_T")
    ax2.set_ylabel("KL(p_T || start) (nats), 95% CI")
    ax2.set_title("25-mode grid GMM (Monte Carlo)", fontsize=8)
    ax2.legend(fontsize=7)
    worst = max(r[4] / r[6] for r in rows)
    fin = {
        (r[0].split(", ")[-1], r[1]): max(q[5] / q[6] for q in rows if q[:2] == r[:2]) for r in rows
    }
    fin_txt = ", ".join(f"{k[1]} {k[0]}: {v:.2g}x" for k, v in fin.items())
    reason = (
        f"Gaussian (exact), learned law = exact p_T (the ideal learned law): short-horizon chains "
        f"(20-25 steps) reach KL(p_sigma_min||chain) <= {worst:.3f} x that of EDM sigma_max=80 "
        f"with 39 steps (tolerance 1.1x) for both samplers, d = 2 and 100. With a moment-matched "
        f"start fitted to n={n_fit} samples instead, the worst ratio is {fin_txt}: the start's "
        f"estimation error (E KL ~ d(d+3)/(4n)) is carried to the output (unchanged by the "
        f"PF-ODE), so the deterministic sampler needs n >> d^2. GMM (MC, n={n_mc}): "
        f"KL(p_T||EM start) = {', '.join(f'{r[1]:.3g}' for r in mc)} vs KL(p_T||prior) = "
        f"{', '.join(f'{r[4]:.3g}' for r in mc)} at sigma_T = "
        f"{', '.join(f'{s:.3g}' for s in _SIGMA_T)} (the GMM's final-output KL is not computed: "
        "the particle output has no exact density)"
    )
    return ClaimResult(
        verdict,
        reason,
        rung=4,
        tolerance="Gaussian: KL_short <= 1.1 KL_full (exact, rung 2); GMM: 95% CI upper end of "
        "KL(p_T||EM) below the CI lower end of KL(p_T||prior)",
        key_number=f"max KL_short / KL_full(EDM 80) = {worst:.3f}",
        tables={
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
                    for r in mc
                ],
            ),
        },
        figures=[ctx.savefig(fig, "short-horizon")],
        seeds=[t["seed"] for t in tasks],
    )


# --------------------------------------------------------------------- initialization.4
_LEVELS = (0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999)


def _tail_task(task):
    """Run the VE DDPM (ancestral) chain from one start law; return the output particles."""
    target = student_t_mixture(task["d"], n_quad=task["n_quad"])
    sde = EDM(2.3)
    grid = grids.karras(sde, 25, 0.002, 2.3, 3.0)
    rng = np.random.default_rng(task["seed"])
    n, d = task["n"], task["d"]
    if task["start"] == "gaussian":
        x = 2.3 * rng.standard_normal((n, d))
    else:  # exact p_T: clean + sigma_T z (the authors' "p_t" start, the ideal learned law)
        x = target.sample(n, rng) + 2.3 * rng.standard_normal((n, d))
    return reverse_sample(sde, lambda y, t: target.score(y, t), x, grid, 1.0, "ancestral", rng=rng)


def _tail_quantiles(proj, levels=_LEVELS):
    return np.quantile(np.abs(proj), levels)


def _run_tails(ctx) -> ClaimResult:
    d = 10
    n = 16_000 if ctx.quick else 400_000
    n_quad = 61 if ctx.quick else 121
    target = student_t_mixture(d, n_quad=n_quad)
    rng = ctx.rng("tails")
    truth = target.sample(n, rng) + 0.002 * rng.standard_normal((n, d))
    qerr = target.quadrature_error(truth[:4000])
    tasks = [
        {"start": k, "d": d, "n": n, "n_quad": n_quad, "seed": task_seed(ctx.seed, "t", k)}
        for k in ("gaussian", "learned")
    ]
    outs = dict(
        zip(
            ("gaussian", "learned"),
            ctx.map(_tail_task, tasks, desc="heavy-tail chains"),
            strict=True,
        )
    )
    # worst direction (max-sliced W1) for the Gaussian start among random + principal axes
    dirs = rng.standard_normal((256, d))
    dirs = np.vstack([dirs, target.U.transpose(0, 2, 1).reshape(-1, d)])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    m = np.median(truth, axis=0)
    pt = np.sort((truth - m) @ dirs.T, axis=0)
    w1 = {
        k: np.mean(np.abs(np.sort((v - m) @ dirs.T, axis=0) - pt), axis=0) for k, v in outs.items()
    }
    j = int(np.argmax(w1["gaussian"]))
    v = dirs[j]
    q_true = _tail_quantiles((truth - m) @ v)
    q = {k: _tail_quantiles((x - m) @ v) for k, x in outs.items()}
    # bootstrap CI of the ratio generated/true at the 0.999 level
    boot = {k: [] for k in outs}
    i999 = _LEVELS.index(0.999)
    pt_v, pg = (truth - m) @ v, {k: (x - m) @ v for k, x in outs.items()}
    for _ in range(200):
        it = rng.integers(0, n, n)
        qt = np.quantile(np.abs(pt_v[it]), 0.999)
        for k in outs:
            boot[k].append(np.quantile(np.abs(pg[k][rng.integers(0, n, n)]), 0.999) / qt)
    ci = {k: np.quantile(b, [0.025, 0.975]) for k, b in boot.items()}
    r = {k: q[k][i999] / q_true[i999] for k in outs}
    g_light = ci["gaussian"][1] < 1.0
    better = abs(np.log(r["learned"])) < abs(np.log(r["gaussian"]))
    separated = ci["learned"][0] > ci["gaussian"][1]
    disjoint = ci["learned"][0] > ci["gaussian"][1] or ci["learned"][1] < ci["gaussian"][0]
    if g_light and better and separated:
        verdict = "holds"
    elif ci["gaussian"][0] > 1.0 or (not better and disjoint):
        verdict = "fails"
    else:
        verdict = "inconclusive"
    fig = ctx.figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    x_axis = 1.0 - np.asarray(_LEVELS)
    ax.loglog(x_axis, q_true, "k-o", label="true samples")
    ax.loglog(x_axis, q["gaussian"], "s--", label="Gaussian start N(0, sigma_T^2 I)")
    ax.loglog(x_axis, q["learned"], "^--", label="learned start (exact p_T)")
    ax.invert_xaxis()
    ax.set_xlabel("tail probability 1 - q")
    ax.set_ylabel("quantile of |<x - median, v>| (data units)")
    ax.set_title(f"Student-t (df 3) mixture, d = {d}, worst direction", fontsize=8)
    ax.legend(fontsize=7)
    cig = f"[{ci['gaussian'][0]:.3f}, {ci['gaussian'][1]:.3f}]"
    cil = f"[{ci['learned'][0]:.3f}, {ci['learned'][1]:.3f}]"
    reason = (
        "along the max-sliced direction, 0.999-quantile ratio generated/true: Gaussian start "
        f"{r['gaussian']:.3f} (95% bootstrap CI {cig}), learned start {r['learned']:.3f} ({cil}); "
        f"max-sliced W1 {w1['gaussian'][j]:.4f} vs {w1['learned'][j]:.4f}; score quadrature "
        f"error (log-density, sigma = 0) {qerr:.1e} nats; d = 100 not run (the recipe's "
        "covariances are numerically singular there)"
    )
    return ClaimResult(
        verdict,
        reason,
        rung=5,
        tolerance="95% bootstrap CIs of the 0.999-quantile ratio: Gaussian start < 1, learned "
        "start closer to 1 and separated",
        key_number=f"q0.999 ratio: Gaussian {r['gaussian']:.3f}, learned {r['learned']:.3f}",
        tables={
            "tail quantiles along the worst direction": Table(
                ["level q", "true", "Gaussian start", "learned start"],
                [
                    [lv, f"{a:.4g}", f"{b:.4g}", f"{c:.4g}"]
                    for lv, a, b, c in zip(
                        _LEVELS, q_true, q["gaussian"], q["learned"], strict=True
                    )
                ],
            )
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
        "the final KL matches or beats the full-horizon sampler with far fewer steps (verdict "
        "for the ideal learned law p_T; a finite-sample fit is reported beside it).",
        "arXiv 2603.00772 §4 and code settings (reconstructed, notes §2.2-2.3)",
        "EDM; Karras(3, 2e-4, rho 2, 40 nodes) truncated at sigma_T in {1.244, 1.055, 0.801} "
        "vs EDM 80 (rho 7, 40 nodes); Gaussian d = 2, 100 exact; 25-mode grid GMM start term MC",
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
        "EDM; mixture of 4 Student-t (df 3), d = 10; Karras(2.3, 0.002, rho 3), 25 ancestral "
        "(DDPM) steps; score by log-u trapezoid scale-mixture quadrature",
        _run_tails,
    ),
]
