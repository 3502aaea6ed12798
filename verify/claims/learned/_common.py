"""Shared settings and helpers of the ``learned.*`` claims (a file per claim beside it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytic import VE, VP, GaussianMixture
from verify.claims.base import (
    Check,
    Decision,
    Presentation,
    Table,
)
from verify.estimators import Estimate
from verify.theory.fitted_errors import FittedAffineError

DOC = "docs/claims/learned.md"

TARGET_1D = dict(weights=[0.35, 0.65], means=[[-1.3], [0.8]], covs=[0.05, 0.1])


"""Bimodal 1-D mixture used by claims 2-4 (standard deviation about 1)."""


TARGET_2D = dict(
    weights=[0.2, 0.3, 0.5],
    means=[[-1.5, -0.5], [0.0, 1.2], [1.2, -0.6]],
    covs=[0.08, 0.1, 0.12],
)


"""Three-mode 2-D mixture used by claim 1."""


"""1-D mixture far from N(0, 1) (mean 2.8) used by claim 4, so that KL(p_T || pi) matters."""


def _gmm(spec) -> GaussianMixture:
    return GaussianMixture(spec["weights"], spec["means"], spec["covs"])


def _torch():
    import verify.torch as vt

    return vt


def separated(big: Estimate, small: Estimate) -> str:
    """``holds`` if ``big.lo > small.hi``, ``fails`` if ``small.lo > big.hi``, else inconclusive."""
    if big.lo > small.hi:
        return "holds"
    if small.lo > big.hi:
        return "fails"
    return "inconclusive"


def _combine(verdicts) -> str:
    verdicts = set(verdicts)
    if "fails" in verdicts:
        return "fails"
    return "holds" if verdicts == {"holds"} else "inconclusive"


N_SEEDS = {"quick": 5, "full": 8}


"""Training seeds a learned claim decides on (``ctx.seed + k``, ``k < N_SEEDS[budget]``)."""


def training_seeds(ctx) -> list[int]:
    """``[ctx.seed, ..., ctx.seed + n - 1]`` with ``n = N_SEEDS[ctx.budget]`` (at least 5)."""
    return [int(ctx.seed) + k for k in range(N_SEEDS.get(ctx.budget, 5))]


@dataclass
class OverSeeds:
    """One learned claim's result per training seed: ``per_seed[k]`` is the result of the
    network trained with ``training[k]`` (every other random choice shared)."""

    training: list
    per_seed: list
    seeds: list = field(default_factory=list)


def decide_over_seeds(decide_one, r: OverSeeds, what: str = "") -> Decision:
    """Decide each training seed's result with ``decide_one``; the claim's verdict is ``v``
    when every seed that decides says ``v`` and at most one seed is undecided (4 of 5 decided,
    at the quick budget); otherwise ``inconclusive`` (the verdict depends on the training seed:
    neither a finding nor a result). The distribution over seeds is in the reason."""
    decs = [decide_one(x) for x in r.per_seed]
    verdicts = [d.verdict for d in decs]
    by = {v: [s for s, w in zip(r.training, verdicts, strict=True) if w == v] for v in verdicts}
    spread = "; ".join(f"{v} at seed{'s' if len(ss) > 1 else ''} {ss}" for v, ss in by.items())
    n = len(decs)
    decided = {v for v in verdicts if v in ("holds", "fails")}
    n_decided = sum(v in decided for v in verdicts)
    keys = "; ".join(f"seed {s}: {d.key_number}" for s, d in zip(r.training, decs, strict=True))
    if len(decided) == 1 and n_decided >= n - 1:
        verdict = decided.pop()
        first = verdicts.index(verdict)
        counted = f"all {n} training seeds" if n_decided == n else f"{n_decided} of {n} ({spread})"
        reason = f"{verdict} on {counted} {r.training}{what}; seed {r.training[first]}: "
        reason += decs[first].reason
        key = f"{verdict} on {n_decided}/{n} training seeds; " + decs[first].key_number
    else:
        verdict = "inconclusive"
        reason = f"the verdict depends on the training seed ({spread}){what}: " + keys
        key = ", ".join(f"{v} {len(ss)}/{n}" for v, ss in by.items()) + " training seeds"
    return Decision(verdict, reason, key)


def seed_table(r: OverSeeds, decide_one, columns: dict) -> Table:
    """Per training seed: its verdict and the numbers ``columns`` (``{name: fn(result)}``)."""
    rows = []
    for s, x in zip(r.training, r.per_seed, strict=True):
        rows.append([s, decide_one(x).verdict, *[fn(x) for fn in columns.values()]])
    return Table(["training seed", "verdict", *columns], rows)


@dataclass
class ErrorProfileResult:
    """Per forward time ``ts[i]``: estimates (mean, lo, hi over exact draws of ``p_t``) of the
    raw squared error ``E|e|^2`` (``raw``), the noise-prediction error ``E|sigma_t e|^2``
    (``eps``) and the denoiser-scale error ``E|sigma_t^2 e|^2`` (``den``); ``low``/``high`` the
    ``eps`` estimates on the lowest-density 10% / highest-density 50% of the draws at each
    ``t``; ``deciles[i]`` the ``eps`` mean per density decile at ``ts[i]``; the network."""

    ts: list
    sigma2: list
    raw: list
    eps: list
    den: list
    low: list
    high: list
    deciles: list
    net: dict
    seeds: list = field(default_factory=list)


def _ci3(e: Estimate) -> list:
    return [e.value, e.lo, e.hi]


_PROFILE_CACHE: dict = {}


def compute_error_profile(ctx) -> OverSeeds:
    """Shared by learned.error-profile and learned.error-peak (memoised on seed and budget):
    the profile of the network of each training seed, on the same exact draws of ``p_t``."""
    key = (ctx.seed, ctx.budget)
    if key not in _PROFILE_CACHE:
        _PROFILE_CACHE.clear()
        train = training_seeds(ctx)
        per = [_compute_error_profile(ctx, s) for s in ctx.progress(train, desc="training seeds")]
        _PROFILE_CACHE[key] = OverSeeds(train, per, train + [ctx.seed])
    return _PROFILE_CACHE[key]


def _compute_error_profile(ctx, train_seed: int) -> ErrorProfileResult:
    vt = _torch()
    from verify.estimators import mean_ci

    sde, data = VP(0.1, 20.0, 1.0), _gmm(TARGET_2D)
    cfg = vt.TrainConfig(
        hidden=64 if ctx.quick else 128,
        depth=3,
        n_iters=1500 if ctx.quick else 8000,
        n_train=5000,
        t_min=1e-3,
        seed=train_seed,
    )
    score = vt.load_score(sde, data, cfg)  # NumPy evaluation; torch only to train
    err = vt.error_field(score, sde, data)
    n = 2000 if ctx.quick else 20000
    ts = np.geomspace(2e-3, 1.0, 8 if ctx.quick else 16)
    rng = ctx.rng("profile")
    out = {k: [] for k in ("raw", "eps", "den", "low", "high", "deciles")}
    for t in ts:
        pt = sde.marginal(data, float(t))
        xs = pt.sample(10 * n, rng)  # the first n draws give the profile, all give deciles
        s2 = float(sde.sigma2(t))
        e2 = np.sum(err(xs, float(t)) ** 2, axis=1)
        for k, scale in (("raw", 1.0), ("eps", s2), ("den", s2 * s2)):
            out[k].append(_ci3(mean_ci(scale * e2[:n])))
        logp = pt.log_prob(xs)
        cut_lo, cut_hi = np.quantile(logp, [0.1, 0.5])
        out["low"].append(_ci3(mean_ci(s2 * e2[logp <= cut_lo])))
        out["high"].append(_ci3(mean_ci(s2 * e2[logp >= cut_hi])))
        edges = np.quantile(logp, np.linspace(0, 1, 11))
        idx = np.clip(np.searchsorted(edges, logp, side="right") - 1, 0, 9)
        out["deciles"].append([float(np.mean(s2 * e2[idx == k])) for k in range(10)])
    net = {
        "hidden": cfg.hidden,
        "depth": cfg.depth,
        "n_iters": cfg.n_iters,
        "final_loss": score.train_info["final_loss"],
    }
    return ErrorProfileResult(
        [float(t) for t in ts],
        [float(sde.sigma2(t)) for t in ts],
        net=net,
        seeds=[train_seed, ctx.seed],
        **out,
    )


def _separated(a, b) -> str:
    """``holds`` if ``a``'s CI lies above ``b``'s, ``fails`` if below, else inconclusive."""
    return separated(
        Estimate(a[0], a[1], a[2], 0.95, 0, 0.0), Estimate(b[0], b[1], b[2], 0.95, 0, 0.0)
    )


def _density_checks(r: ErrorProfileResult) -> list[Check]:
    out = []
    for t, lo, hi in zip(r.ts, r.low, r.high, strict=True):
        v = _separated(lo, hi)
        ok = {"holds": True, "fails": False}.get(v)
        out.append(Check(ok, f"t={t:.3g}: low-density {lo[0]:.3g} vs high-density {hi[0]:.3g}"))
    return out


def _ve_setting(ctx, train_seed: int):
    """1-D VE setting shared by the tradeoff and init-steps claims: ``(sde, data, net, cfg)``
    with the network of training seed ``train_seed`` as a :class:`verify.torch.NumpyScore`."""
    vt = _torch()
    sde, data = VE(0.01, 3.0, 1.0), _gmm(TARGET_1D)
    cfg = vt.TrainConfig(
        hidden=48 if ctx.quick else 96,
        depth=3,
        precond="edm",
        n_iters=1500 if ctx.quick else 8000,
        n_train=3000,
        t_min=float(sde.t_of_sigma(0.012)),
        t_sampling="log-sigma",
        seed=train_seed,
    )
    return sde, data, vt.load_score(sde, data, cfg), cfg


def _fp_kl(sde, data, score, gamma, times, n_cells, err=True):
    """Final ``KL(q_out || p_tmin)`` on the Fokker-Planck grid (rung 3) from the exact ``p_T``,
    with its grid-error estimate (half resolution, doubled steps) when ``err``."""
    from verify.solvers.fokker_planck import solve_reverse_fp

    p_start = sde.marginal(data, float(times[0]))
    r = solve_reverse_fp(
        sde,
        score,
        lambda x: p_start.log_prob(x),
        times,
        gamma,
        bounds=((-15.0, 15.0),),
        n_cells=n_cells,
        log=True,
        record=[-1],
        estimate_error=err,
    )

    def logp(x, t):
        return sde.marginal(data, t).log_prob(x)

    if err:
        kl, e = r.kl_trajectory(logp, return_error=True)
        return float(kl[-1]), float(e[-1])
    return float(r.kl_trajectory(logp)[-1]), float("nan")


def _ode_kl(sde, data, vd, t_end, quick: bool, err: bool):
    """Final ``KL`` of the probability-flow ODE (gamma = 0) by characteristics with exact
    log-Jacobians and adaptive Gauss-Kronrod quadrature (rung 2); error: the quadrature's
    estimate plus the change when the RK4 steps are halved."""
    from verify.solvers import grids
    from verify.solvers.density_1d import pf_ode_kl_1d

    pT, pe = sde.marginal(data, sde.T), sde.marginal(data, t_end)
    m, sd = float(pT.mean[0]), float(np.sqrt(pT.cov[0, 0]))
    bounds = (m - 10 * sd, m + 10 * sd)

    def run(steps):
        times = grids.uniform(sde, steps, t_min=t_end)
        return pf_ode_kl_1d(sde, None, vd, pT.log_prob, pe.log_prob, bounds, times, tol=1e-7)

    steps = 30 if quick else 120
    kl, info = run(steps)
    if not err:
        return kl, float("nan")
    return kl, info["error"] + abs(kl - run(steps // 2)[0])


TRADEOFF_MODELS = ("network", "affine fit", "non-affine residual", "exact score")


@dataclass
class TradeoffResult:
    """``gammas``; ``curves[model]`` a list of ``[KL(q_out||p_tmin), numerical error]`` per
    gamma (gamma = 0: PF-ODE characteristics, gamma > 0: Fokker-Planck grid; NaN error where
    none was estimated) for the models of :data:`TRADEOFF_MODELS`."""

    gammas: list
    curves: dict
    seeds: list = field(default_factory=list)

    def delta(self, name) -> tuple[float, float]:
        """``KL(gamma=1) - KL(gamma=0)`` and the sum of the two error estimates."""
        i0, i1 = self.gammas.index(0.0), self.gammas.index(1.0)
        (k0, e0), (k1, e1) = self.curves[name][i0], self.curves[name][i1]
        return k1 - k0, e0 + e1

    def fraction(self, name) -> tuple[float, float, float]:
        """``delta(name) / delta(network)`` with its range over the error boxes."""
        d, e = self.delta(name)
        dn, en = self.delta("network")
        if abs(dn) <= en:
            return float("nan"), -np.inf, np.inf
        ends = [(d + a) / (dn + b) for a in (-e, e) for b in (-en, en)]
        return d / dn, min(ends), max(ends)


_TRADEOFF_CACHE: dict = {}


def compute_tradeoff(ctx) -> OverSeeds:
    """Shared by learned.stochasticity-tradeoff and learned.stochasticity-corrects: the
    curves of the network of each training seed."""
    key = (ctx.seed, ctx.budget)
    if key not in _TRADEOFF_CACHE:
        _TRADEOFF_CACHE.clear()
        train = training_seeds(ctx)
        per = [_compute_tradeoff(ctx, s) for s in ctx.progress(train, desc="training seeds")]
        _TRADEOFF_CACHE[key] = OverSeeds(train, per, list(train))
    return _TRADEOFF_CACHE[key]


def _tradeoff_models(sde, data, net):
    from verify.theory.contraction import neg_log_hessian_mixture_1d
    from verify.theory.fitted_errors import AffineResidual

    exact = sde.score(data)

    def exact_dx(x, t):
        return -neg_log_hessian_mixture_1d(data, sde, [t], np.asarray(x).reshape(-1))[0]

    aff = FittedAffineError(net, sde, data, "affine", n_points=401)
    res = AffineResidual(aff)
    aff_dx = aff.derivative(exact_dx)
    return {  # name: (score for the FP grid, (value, derivative) for the characteristics)
        "network": (net, net.value_and_divergence),
        "affine fit": (aff, lambda x, t: (aff(x, t), aff_dx(x, t))),
        "non-affine residual": (res, res.value_and_derivative(net.value_and_divergence, exact_dx)),
        "exact score": (exact, lambda x, t: (exact(x, t), exact_dx(x, t))),
    }


def _compute_tradeoff(ctx, train_seed: int) -> TradeoffResult:
    from verify.solvers import grids

    sde, data, net, _ = _ve_setting(ctx, train_seed)
    t_end = float(sde.t_of_sigma(0.03))
    times = grids.uniform(sde, 80 if ctx.quick else 400, t_min=t_end)
    n_cells = 1200 if ctx.quick else 4000
    gammas = [0.0, 0.5, 1.0, 2.0] if ctx.quick else [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
    curves = {}
    nan = float("nan")
    for name, (score, vd) in _tradeoff_models(sde, data, net).items():
        decisive = name != "exact score"
        row = [list(_ode_kl(sde, data, vd, t_end, ctx.quick, decisive))]
        for g in gammas[1:]:
            if g == 1.0:
                row.append(list(_fp_kl(sde, data, score, g, times, n_cells, decisive)))
            elif name == "network":
                row.append([_fp_kl(sde, data, score, g, times, n_cells, False)[0], nan])
            else:
                row.append([nan, nan])
        curves[name] = row
    return TradeoffResult(gammas, curves, [train_seed])


"""The share of the network's KL change the affine error model must explain to predict it."""


def _first_seed(shown: Presentation, seed: int) -> Presentation:
    """The one-seed presentation of training seed ``seed``, its table names saying so."""
    tables = {f"{name} [training seed {seed}]": t for name, t in shown.tables.items()}
    return Presentation(tables, list(shown.figures))


def _min_density_ratio(x: ErrorProfileResult) -> float:
    return float(np.min(np.array(x.low)[:, 0] / np.array(x.high)[:, 0]))


def _profile_columns():
    def peak(x):
        return x.ts[int(np.argmax([e[0] for e in x.eps]))]

    return {
        "E|sigma e|^2 at smallest t": lambda x: x.eps[0][0],
        "max over t": lambda x: max(e[0] for e in x.eps),
        "argmax t": peak,
        "min low/high density": _min_density_ratio,
        "final DSM loss": lambda x: x.net["final_loss"],
    }


def _tradeoff_columns():
    return {
        "network dKL(0->1)": lambda x: x.delta("network")[0],
        "error": lambda x: x.delta("network")[1],
        "affine fit dKL(0->1)": lambda x: x.delta("affine fit")[0],
        "error ": lambda x: x.delta("affine fit")[1],
        "non-affine residual dKL": lambda x: x.delta("non-affine residual")[0],
        "affine share": lambda x: x.fraction("affine fit")[0],
    }


_SETTING_1D = "1-D mixture 0.35 N(-1.3, 0.05) + 0.65 N(0.8, 0.1)"

_RECON = (
    "reconstructed: the paper's statement was not available; "
    "this is the standard result it rests on"
)
