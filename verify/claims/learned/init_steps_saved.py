"""``learned.init-steps-saved``: A learned start law reaches the prior-started sampler's quality in
fewer steps.

Its compute, decide and present; the mathematics: docs/claims/learned.md#init-steps-saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import Gaussian
from verify.claims.base import (
    Claim,
    Decision,
    Presentation,
    Table,
)
from verify.claims.learned._common import (
    _RECON,
    _SETTING_1D,
    DOC,
    OverSeeds,
    _first_seed,
    _torch,
    _ve_setting,
    decide_over_seeds,
    seed_table,
    training_seeds,
)
from verify.claims.spde._common import plain_log_ticks
from verify.solvers.density_1d import ddpm_density_1d, kl_quadrature_1d


@dataclass
class InitStepsResult:
    """KL(q_out || p_sigma_min) per step count for the prior start (``base``) and the learned
    start (``learned``); ``target_kl`` the prior's KL at ``n_ref`` steps; ``n_star`` the fewest
    steps of the learned start that reach it (``None``: none); ``margin`` and its grid error
    ``err_margin`` (half-resolution rerun); initialisation KLs; the largest mass that left
    the box."""

    steps: list
    base: dict
    learned: dict
    n_ref: int
    target_kl: float
    n_star: int | None
    margin: float
    err_margin: float
    kl_init_learned: float
    kl_init_prior: float
    lost_max: float
    sigma_max: float
    sigma_T: float
    seeds: list = field(default_factory=list)


def _chain_kl(sde, net, p_target, n_cells, start, smax, n_steps, sigma_min):
    from verify.solvers import grids

    x = np.linspace(-16, 16, n_cells + 1)  # >= 5.3 sd of every intermediate law
    x = 0.5 * (x[1:] + x[:-1])
    times = grids.karras(sde, n_steps, sigma_min, smax, rho=7.0)
    q, lost = ddpm_density_1d(sde, net, np.exp(start.log_prob(x[:, None])), x, times)
    h = x[1] - x[0]
    lp = p_target.log_prob(x[:, None])
    pos = q > 0
    return float(np.sum(q[pos] * (np.log(q[pos]) - lp[pos])) * h), lost


def compute_init_steps(ctx) -> OverSeeds:
    """The step counts of the network and start law of each training seed."""
    train = training_seeds(ctx)
    per = [_compute_init_steps(ctx, s) for s in ctx.progress(train, desc="training seeds")]
    return OverSeeds(train, per, list(train))


def _compute_init_steps(ctx, train_seed: int) -> InitStepsResult:
    vt = _torch()
    sde, data, net, cfg = _ve_setting(ctx, train_seed)
    sigma_min, sigma_max, sigma_T = 0.03, float(sde.sigma(sde.T)), 1.0
    t_T = float(sde.t_of_sigma(sigma_T))
    start_cfg = vt.StartLawConfig(n_iters=600 if ctx.quick else 3000, seed=train_seed)
    found = vt.cached_start_law(sde, data, t_T, start_cfg)  # no torch import when cached
    law = found[0] if found is not None else vt.train_start_law(sde, data, t_T, start_cfg)[0]
    prior = Gaussian(np.zeros(1), float(sde.sigma2(sde.T)))
    p_target = sde.marginal(data, float(sde.t_of_sigma(sigma_min)))
    lost_max = 0.0

    def run(n_cells, start, smax, n_steps):
        nonlocal lost_max
        kl, lost = _chain_kl(sde, net, p_target, n_cells, start, smax, n_steps, sigma_min)
        lost_max = max(lost_max, lost)
        return kl

    n_fine = 1300 if ctx.quick else 4000
    n_ref = 32 if ctx.quick else 64
    steps = [2, 4, 8, 12, 16, 24, 32] if ctx.quick else [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
    base, learned = {}, {}
    for n in steps:
        base[n] = run(n_fine, prior, sigma_max, n)
        learned[n] = run(n_fine, law, sigma_T, n)
    target_kl = base[n_ref]
    ok = [n for n in steps if learned[n] <= target_kl]
    n_star = min(ok) if ok else None
    margin, err_margin = float("nan"), float("nan")
    if n_star is not None:
        margin = target_kl - learned[n_star]
        coarse = run(n_fine // 2, prior, sigma_max, n_ref) - run(n_fine // 2, law, sigma_T, n_star)
        err_margin = abs(margin - coarse)
    return InitStepsResult(
        steps,
        base,
        learned,
        n_ref,
        target_kl,
        n_star,
        margin,
        err_margin,
        kl_quadrature_1d(sde.marginal(data, t_T), law),
        kl_quadrature_1d(sde.marginal(data, sde.T), prior),
        lost_max,
        sigma_max,
        sigma_T,
        [train_seed],
    )


def decide_init_steps(r: InitStepsResult) -> Decision:
    if r.n_star is None:
        verdict, n_star_s = "fails", "none"
    else:
        n_star_s = str(r.n_star)
        if r.n_star < r.n_ref and r.margin > r.err_margin:
            verdict = "holds"
        elif r.n_star < r.n_ref:
            verdict = "inconclusive"
        else:
            verdict = "fails"
    saved = r.n_ref - r.n_star if r.n_star is not None else 0
    reason = (
        f"classical prior at sigma={r.sigma_max:.2f} with {r.n_ref} steps: "
        f"KL(q||p)={r.target_kl:.3e}; learned start at sigma_T={r.sigma_T:g} reaches it at "
        f"{n_star_s} steps (KL={r.learned.get(r.n_star, float('nan')):.3e}; margin "
        f"{r.margin:.2e}, its grid err {r.err_margin:.1e}) -> {saved} steps saved. "
        f"Init KL(p_T||start): learned {r.kl_init_learned:.2e}, "
        f"prior {r.kl_init_prior:.2e}; mass leaving the box <= {r.lost_max:.1e}"
    )
    key = f"{saved} of {r.n_ref} steps saved (equal KL(q_out||p_sigma_min))"
    return Decision(verdict, reason, key)


def present_init_steps(r: InitStepsResult, ctx) -> Presentation:
    fig = ctx.figure(figsize=(6, 3.8))
    ax = fig.add_subplot()
    ax.plot(
        r.steps,
        [r.base[n] for n in r.steps],
        "o-",
        label=f"prior N(0, {r.sigma_max:.2f}^2) at sigma={r.sigma_max:.2f}",
    )
    ax.plot(
        r.steps,
        [r.learned[n] for n in r.steps],
        "s-",
        label=f"learned mixture start at sigma_T={r.sigma_T:g}",
    )
    ax.axhline(
        r.target_kl, color="gray", ls=":", label=f"prior, {r.n_ref} steps (reference quality)"
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("DDPM steps (Karras grid, rho = 7)")
    ax.set_ylabel("KL(q_out || p_sigma_min) (nats), grid quadrature")
    ax.set_title("learned score: learned start law vs classical prior (1-D VE)")
    ax.legend(fontsize=7)
    plain_log_ticks(fig)
    return Presentation(
        {
            "KL(q_out || p_sigma_min) vs steps (nats)": Table(
                ["steps", "prior at sigma_max", "learned start at sigma_T"],
                [[n, r.base[n], r.learned[n]] for n in r.steps],
            ),
            "initialisation error KL(p_T || start) (nats, quadrature)": Table(
                ["start law", "sigma", "KL(p_T||start)"],
                [
                    ["learned mixture", r.sigma_T, r.kl_init_learned],
                    ["prior N(0, sigma2(T))", r.sigma_max, r.kl_init_prior],
                ],
            ),
        },
        [ctx.savefig(fig, "steps-saved")],
    )


def decide_init_steps_seeds(r: OverSeeds) -> Decision:
    return decide_over_seeds(decide_init_steps, r)


def present_init_steps_seeds(r: OverSeeds, ctx) -> Presentation:
    shown = _first_seed(present_init_steps(r.per_seed[0], ctx), r.training[0])
    cols = {
        "n* (learned start)": lambda x: x.n_star if x.n_star is not None else float("nan"),
        "steps saved": lambda x: x.n_ref - x.n_star if x.n_star is not None else 0,
        "KL margin": lambda x: x.margin,
        "its grid error": lambda x: x.err_margin,
        "KL(p_T||learned start)": lambda x: x.kl_init_learned,
    }
    fig = ctx.figure(figsize=(6, 3.8))
    ax = fig.add_subplot()
    for s, x in zip(r.training, r.per_seed, strict=True):
        ax.plot(x.steps, [x.learned[n] for n in x.steps], "s-", ms=3, label=f"learned, seed {s}")
        ax.plot(x.steps, [x.base[n] for n in x.steps], "o:", ms=3, color="0.6")
    ax.axhline(r.per_seed[0].target_kl, color="k", ls="--", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("DDPM steps (Karras grid, rho = 7); dotted grey: prior start")
    ax.set_ylabel("KL(q_out || p_sigma_min) (nats)")
    ax.set_title("learned start vs prior, per training seed (rung 3)", fontsize=9)
    ax.legend(fontsize=7)
    plain_log_ticks(fig)
    table = seed_table(r, decide_init_steps, cols)
    tables = {"verdict and steps saved per training seed": table, **shown.tables}
    return Presentation(tables, [ctx.savefig(fig, "steps-saved-seeds"), *shown.figures])


CLAIM = Claim(
    "learned.init-steps-saved",
    "With a learned score, a start law learned by maximum likelihood on p_T at a small "
    "sigma_T reaches the output quality (KL(q_out || p_sigma_min)) of the classical sampler "
    "started at the prior N(0, sigma_max^2) with fewer DDPM steps.",
    f"arXiv 2603.00772 v1 abstract and §3 ({_RECON})",
    _SETTING_1D + ", VE(0.01, 3): classical prior at sigma=3 vs learned 4-component "
    "mixture at sigma_T=1; DDPM steps on Karras grids; sigma_min=0.03",
    compute=compute_init_steps,
    decide=decide_init_steps_seeds,
    present=present_init_steps_seeds,
    rung=3,
    tolerance="KL margin larger than its grid-error estimate (half-resolution rerun)",
    doc=f"{DOC}#init-steps-saved",
    requires=("torch",),
)
