"""Shared settings and helpers of the ``stochasticity.*`` claims (a file per claim beside it)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from analytic import OU, VE, VP, Gaussian, GaussianMixture, SubVP
from verify.claims.base import Check
from verify.errors import Offset, Scale
from verify.solvers import grids
from verify.theory.kl_dynamics import (
    ParticlesVsFP,
    marginal_logp,
    mixture_score,
    reverse_fp,
)

SOURCE = "Schaeffer, Rosa, Valle, arXiv 2506.11378"

DOC = "docs/claims/stochasticity.md"


def _check(ok, detail: str) -> Check:
    """A :class:`Check` with a plain ``bool`` (numpy booleans are not ``False`` by identity)."""
    return Check(bool(ok), detail)


def _save(ctx, fig, name: str) -> str:
    """Lay the figure out and save it; log axes get plain tick labels (``0.01``, not
    mathtext, which dominates the rendering time), minor log ticks no labels."""
    from matplotlib import ticker

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_major_formatter(ticker.LogFormatter())
                axis.set_minor_formatter(ticker.NullFormatter())
    fig.tight_layout()
    return ctx.savefig(fig, name)


@functools.lru_cache(maxsize=32)
def _sde(kind: str, *args: float):
    """A preset SDE, built once (the VP presets derive their closed forms with sympy)."""
    return {"OU": OU, "VP": VP, "VE": VE, "SubVP": SubVP}[kind](*args)


def gauss_setting(name: str):
    """``(sde, data, init)`` of the named Gaussian setting."""
    if name == "1d-prior":  # the analytic example: OU, N(1, 4), T = 2, started at N(0, 1)
        sde = OU(2.0)
        data = Gaussian(np.array([1.0]), 4.0)
        return sde, data, sde.prior(1)
    if name == "1d-mean-offset":  # p_T shifted by 1: a pure mean offset
        sde = OU(2.0)
        data = Gaussian(np.array([1.0]), 4.0)
        pT = sde.marginal(data, sde.T)
        return sde, data, Gaussian(pT.mean + 1.0, pT.cov)
    if name == "2d-vp":  # VP, correlated 2-D data, p_T shifted and inflated
        sde = _sde("VP", 0.1, 20.0, 1.0)
        data = Gaussian(np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]))
        pT = sde.marginal(data, sde.T)
        return sde, data, Gaussian(pT.mean + 0.5, 1.5 * pT.cov)
    if name == "2d-ou":  # OU, anisotropic 2-D data, prior start
        sde = OU(1.0)
        data = Gaussian(np.array([1.0, -0.5]), np.array([3.0, 0.5]))
        return sde, data, sde.prior(2)
    raise ValueError(f"unknown Gaussian setting {name!r}")


def gmm_setting(name: str):
    """``(sde, data, bounds, n_cells)`` of the named mixture setting (FP grid)."""
    if name == "gmm-1d":
        data = GaussianMixture([0.3, 0.7], [[-2.0], [1.5]], [0.25, 0.25])
        return OU(1.0), data, ((-7.0, 7.0),), 800
    if name == "gmm-2d":
        data = GaussianMixture(
            [0.25, 0.25, 0.5], [[-2.0, 0.0], [2.0, 0.0], [0.0, 2.0]], [0.3, 0.3, 0.3]
        )
        return OU(1.0), data, ((-5.5, 5.5), (-5.5, 5.5)), 96
    raise ValueError(f"unknown mixture setting {name!r}")


def score_error(kind: str, score, dim: int):
    """The claims' score errors: offset c = 0.5, scale k = 0.8 or k = 1.2."""
    if kind == "offset":
        return Offset(score, 0.5 * np.ones(dim) if dim > 1 else 0.5)
    if kind == "scale":
        return Scale(score, 0.8)
    if kind == "scale-up":
        return Scale(score, 1.2)
    raise ValueError(f"unknown score error {kind!r}")


# FP steps (setting, quick): the spatial error dominates (halving the steps moves the KL by
# < 1e-3 of its grid-error estimate), so the quick budget uses the coarser time grid
DECAY_FP_STEPS = {
    ("gmm-1d", True): 100,
    ("gmm-1d", False): 200,
    ("gmm-2d", True): 50,
    ("gmm-2d", False): 160,
}


@functools.lru_cache(maxsize=8)
def prior_fp_solve(setting: str, gamma: float, n_steps: int):
    """The FP solve of the reverse family from ``N(0, I)`` with the exact score on the named
    mixture setting (every node recorded, grid-error estimate). Memoised: the exact-score
    decay, the mixture LSI bound and the simple-datasets claims read the same solves."""
    sde, data, bounds, n_cells = gmm_setting(setting)
    return reverse_fp(
        sde, mixture_score(sde, data), sde.prior(data.dim), gamma, bounds, n_cells, n_steps
    )


MIXTURE_LSI_CONSTANTS = ("Bakry-Emery", "CCNW [M]", "1-D numerical")


def direction_sde(name: str):
    """The linear SDEs of the error-direction grid, by name."""
    table = {
        "OU T=0.5": ("OU", 0.5),
        "OU T=1": ("OU", 1.0),
        "OU T=2": ("OU", 2.0),
        "OU T=4": ("OU", 4.0),
        "VP T=0.25": ("VP", 0.1, 20.0, 0.25),
        "VP T=1": ("VP", 0.1, 20.0, 1.0),
        "VE smax=2": ("VE", 0.01, 2.0),
        "VE smax=10": ("VE", 0.01, 10.0),
        "subVP T=1": ("SubVP", 0.1, 20.0, 1.0),
    }
    if name not in table:
        raise ValueError(f"unknown SDE {name!r}")
    return _sde(*table[name])


MIXTURES = {
    "0.3N(-2,.25)+0.7N(1.5,.25)": ([0.3, 0.7], [[-2.0], [1.5]], [0.25, 0.25]),
    "N(1.5,.25)": ([1.0], [[1.5]], [0.25]),
    "0.5N(+-0.9,.19) (var 1)": ([0.5, 0.5], [[-0.9], [0.9]], [0.19, 0.19]),
    "0.5N(+-1.5,.25)": ([0.5, 0.5], [[-1.5], [1.5]], [0.25, 0.25]),
    "0.8N(-.5,.3)+0.2N(2,.3)": ([0.8, 0.2], [[-0.5], [2.0]], [0.3, 0.3]),
    "0.5N(+-2,.05)": ([0.5, 0.5], [[-2.0], [2.0]], [0.05, 0.05]),
}

MIX_SWEEP = (
    ("0.3N(-2,.25)+0.7N(1.5,.25)", "offset", 0.5),
    ("0.3N(-2,.25)+0.7N(1.5,.25)", "scale", 0.8),
    ("0.5N(+-0.9,.19) (var 1)", "offset", 0.5),
)

MIX_SWEEP_GAMMAS = (0.5, 1.0, 2.0, 4.0, 16.0, 64.0)

MIX_FLOW_STEPS = 40  # RK4 steps (quadratic grid) along the backward characteristics

MIX_FLOW_BOUNDS, MIX_FLOW_N = ((-8.0, 8.0),), 320  # output-variable quadrature


def mixture(name: str) -> GaussianMixture:
    """The 1-D mixtures of the error-direction-on-mixtures claims, by name."""
    return GaussianMixture(*MIXTURES[name])


def _ode_output_kl(sde, mix, errs):
    """The ODE output's KL for each error (backward characteristics, output quadrature)."""
    from verify.theory.kl_dynamics import flow_output_kl

    return flow_output_kl(
        sde,
        mix,
        sde.marginal(mix, float(sde.T)),
        grids.quadratic(sde, MIX_FLOW_STEPS, t_min=0.0),
        list(errs),
        bounds=MIX_FLOW_BOUNDS,
        n=MIX_FLOW_N,
    )


def _mix_sweep_task(task):
    mix, sde = mixture(task["mixture"]), OU(2.0)
    err = score_error_of(task["kind"], task["size"], mixture_score(sde, mix))
    res = reverse_fp(
        sde, err, sde.marginal(mix, 2.0), task["gamma"], ((-8.0, 8.0),), 400, 50, record=[-1]
    )
    H, eH = res.kl_trajectory(marginal_logp(sde, mix), return_error=True)
    return [task["mixture"], task["kind"], task["size"], task["gamma"], float(H[-1]), float(eH[-1])]


def score_error_of(kind: str, size: float, score):
    """``Offset(score, size)`` or ``Scale(score, size)``."""
    if kind == "offset":
        return Offset(score, size)
    if kind == "scale":
        return Scale(score, size)
    raise ValueError(f"unknown score error {kind!r}")


@functools.lru_cache(maxsize=2)
def _mix_sweep(seed: int) -> tuple:
    from verify.runtime.sweep import LocalExecutor

    tasks = [
        {"mixture": m, "kind": k, "size": z, "gamma": g}
        for m, k, z in MIX_SWEEP
        for g in MIX_SWEEP_GAMMAS
    ]
    return tuple(LocalExecutor().map(_mix_sweep_task, tasks))


@dataclass
class SimpleDatasetsResult:
    """One :class:`ParticlesVsFP` per gamma (2-D mixture, exact score) and the CI level."""

    records: list[ParticlesVsFP]
    n_comparisons: int
    seeds: list = field(default_factory=list)


def _simple_misses(r: SimpleDatasetsResult) -> tuple[list, int]:
    misses, n_cmp = [], 0
    for x in r.records:
        for k, tau in enumerate(x.tau):
            lo, hi = x.lo[k] - x.fp_err[k], x.hi[k] + x.fp_err[k]
            n_cmp += 1
            if not lo <= x.fp[k] <= hi:
                misses.append(
                    f"gamma={x.gamma:g} tau={tau:.2f}: FP {x.fp[k]:.4f} outside "
                    f"[{lo:.4f}, {hi:.4f}]"
                )
    return misses, n_cmp
