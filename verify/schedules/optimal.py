r"""The noise schedule that minimises a sampler's exact output KL (or $W_2$) on a Gaussian.

For data $N(m, U\mathrm{diag}(\lambda)U^\top)$ the output law of every sampler in
:mod:`verify.schedules.chains` is Gaussian and splits into $d$ independent 1-D chains, so

$$ \mathrm{KL}(\hat p \,\|\, p_{\sigma_N}) = \sum_{i=1}^d \tfrac12\Big[\tfrac{v_i}{S_i} - 1
   - \log\tfrac{v_i}{S_i} + \tfrac{e_i^2}{S_i}\Big], \qquad S_i = \lambda_i + \sigma_N^2, $$

an explicit function of the grid costing $O(N d)$. The grid is parametrised by $N$ logits
$z$: with $L = \log\sigma_{max} - \log\sigma_{lo}$ and $w = \mathrm{softmax}(z)$,
$\log\sigma_k = \log\sigma_{max} - L \sum_{j \le k} w_j$ ($k = 1..N-1$) is strictly
decreasing for every $z$ (a monotone grid without constraints); the last node is $0$
(k-diffusion's appended zero; $w_N$ is the slack down to the floor $\sigma_{lo}$) or a fixed
$\sigma_{min} > 0$. $\log$ of the objective is minimised by L-BFGS (scipy) with its gradient
by the complex step: all $N$ partial derivatives in one vectorised pass over a
``(N, d)`` batch, exact to rounding (Squire & Trapp 1998, SIAM Rev. 40). The descent starts
from the best standard grids (``verify.schedules.standard``) that share the endpoints, so
the result is never worse than those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .chains import CHAIN_METHODS, kl_per_direction, output_moments, w2_squared_per_direction
from .spectrum import spectrum_of
from .standard import standard_grids

__all__ = ["OptimalGrid", "optimal_grid", "optimal_gamma", "evaluate_grid"]

_STEP = 1e-30  # the complex step


def _check_sde(sde):
    from analytic import EDM

    if sde is None:
        return EDM(80.0)
    ok = isinstance(sde, EDM) or getattr(sde, "name", "") == "EDM"
    if not ok:
        raise ValueError(
            f"optimal_grid works in the k-diffusion (EDM) form t = sigma; pass analytic.EDM("
            f"sigma_max), got {sde!r}"
        )
    return sde


def _init_moments(lam, m, s0, init):
    if init == "marginal":
        return np.zeros_like(lam), lam + s0 * s0
    if init == "prior":  # x = sigma_max * randn, as k-diffusion's callers do
        return -m, np.full_like(lam, s0 * s0)
    raise ValueError(f"init must be 'marginal' or 'prior', got {init!r}")


def _objective_rows(S, lam, m, method, gamma, init, objective):
    """The objective (summed over directions) for each row of a batch of grids ``S``."""
    e0, v0 = _init_moments(lam, m, S[0, 0].real, init)
    G, q = output_moments(S, lam, method, gamma)
    e, v = G * e0, G * G * v0 + q
    target = lam + S[:, -1:] * S[:, -1:]
    if objective == "kl":
        return kl_per_direction(e, v, target).sum(axis=1)
    return w2_squared_per_direction(e, v, target).sum(axis=1)


def evaluate_grid(data, sigmas, method="euler", gamma=0.0, *, init="marginal"):
    """``(kl, w2)`` of ``method``'s output on the k-diffusion ``sigmas`` (decreasing)."""
    lam, m = spectrum_of(data)
    s = _check_sigmas(sigmas)
    _check_method(method, gamma, len(s) - 1)
    S = s[None, :]
    kl = float(_objective_rows(S, lam, m, method, gamma, init, "kl")[0])
    w2 = math.sqrt(max(float(_objective_rows(S, lam, m, method, gamma, init, "w2")[0]), 0.0))
    return kl, w2


def _check_sigmas(sigmas):
    s = np.asarray(sigmas, dtype=np.float64)
    if s.ndim != 1 or len(s) < 2 or not np.all(np.isfinite(s)):
        raise ValueError(f"sigmas must be a finite 1-D array of >= 2 values, got {sigmas!r}")
    if np.any(np.diff(s) >= 0) or s[-1] < 0:
        raise ValueError("sigmas must be strictly decreasing and end at a value >= 0")
    return s


GAMMA_MAX = 20.0
"""The largest stochasticity searched for ``euler`` (``ancestral``: $\\eta^2 \\le 1$)."""
OPTIMAL_GAMMA = ("optimal", "optimal-schedule")
"""``gamma=`` values that make :func:`optimal_grid` optimise the stochasticity too."""


def _gamma_bounds(method):
    return (0.0, 1.0) if method == "ancestral" else (0.0, GAMMA_MAX)


def optimal_gamma(data, sigmas, method="euler", *, init="marginal", objective="kl", scan=41):
    r"""``(gamma, value)``: the constant stochasticity minimising ``objective`` on a fixed grid.

    ``method``: ``"euler"`` (Euler-Maruyama, $\gamma \in [0, 20]$) or ``"ancestral"``
    ($\gamma = \eta^2 \in [0, 1]$). A scan of ``scan`` values ($0$ and a log lattice from
    $10^{-4}$ for ``euler``, a uniform lattice for ``ancestral``) brackets the minimum, then
    Brent's method (scipy ``minimize_scalar``, bounded) refines it between the neighbours of
    the best lattice value; the result is never worse than the best lattice value.
    """
    if method not in ("euler", "ancestral"):
        raise ValueError(
            f"optimal_gamma needs a stochastic method (euler, ancestral), got {method!r}"
        )
    lam, m = spectrum_of(data)
    s = _check_sigmas(sigmas)
    lo, hi = _gamma_bounds(method)
    if method == "ancestral":
        lattice = np.linspace(lo, hi, scan)
    else:
        lattice = np.concatenate([[0.0], np.geomspace(1e-4, hi, scan - 1)])
    S = np.broadcast_to(s, (len(lattice), len(s)))
    G = np.broadcast_to(lattice[:, None], (len(lattice), len(s) - 1))
    vals = _objective_rows(S, lam, m, method, G, init, objective)
    k = int(np.argmin(vals))
    a, b = lattice[max(k - 1, 0)], lattice[min(k + 1, len(lattice) - 1)]
    best_g, best_v = float(lattice[k]), float(vals[k])
    if b > a:

        def f(g):
            return float(_objective_rows(s[None, :], lam, m, method, g, init, objective)[0])

        res = optimize.minimize_scalar(
            f, bounds=(a, b), method="bounded", options={"xatol": 1e-10 * max(b, 1e-3)}
        )
        if res.fun < best_v:
            best_g, best_v = float(res.x), float(res.fun)
    if objective == "w2":
        best_v = math.sqrt(max(best_v, 0.0))
    return best_g, best_v


def _check_method(method, gamma, n):
    if isinstance(gamma, str):
        if gamma not in OPTIMAL_GAMMA:
            raise ValueError(
                f"gamma must be a number, an array or one of {OPTIMAL_GAMMA}, got {gamma!r}"
            )
        if method not in ("euler", "ancestral"):
            raise ValueError(
                f"gamma={gamma!r} needs a stochastic method (euler, ancestral), got {method!r}"
            )
        return
    if method not in CHAIN_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(CHAIN_METHODS)}")
    g = np.broadcast_to(np.asarray(gamma, dtype=np.float64), (n,))
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma!r}")
    if method in ("heun", "dpmpp_2m") and np.any(g != 0):
        raise ValueError(f"method {method!r} is an ODE solver: it needs gamma = 0")
    if method == "ancestral" and np.any(g > 1):
        raise ValueError("method 'ancestral' needs gamma = eta^2 <= 1")


@dataclass
class OptimalGrid:
    """The optimal schedule and its comparison with the standard ones.

    ``sigmas``: k-diffusion form (``N + 1`` values, decreasing, ending at 0 or ``sigma_min``),
    what ``k_diffusion.sampling.sample_*(model, x, sigmas)`` and diffusers'
    ``set_timesteps(sigmas=...)`` take; ``grid``: the forward times of ``analytic.EDM``
    (``t = sigma``); ``kl``, ``w2``: the exact output KL (chain || data) and $W_2$;
    ``gamma``: the stochasticity used (with ``gamma="optimal"`` the optimised constant, with
    ``"optimal-schedule"`` the optimised per-step array);
    ``compare``: name -> ``{"sigmas", "kl", "w2"}`` for the standard grids (with an optimised
    gamma, each at its own best constant ``"gamma"``); ``notes``: name ->
    why a standard grid is not in the table; ``started_from``: the start of the best descent.
    """

    sigmas: np.ndarray
    grid: np.ndarray
    kl: float
    w2: float
    method: str
    gamma: float | np.ndarray
    objective: str
    n_steps: int
    compare: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    started_from: str = ""
    iterations: int = 0

    @property
    def diffusers_sigmas(self) -> list:
        """``sigmas=`` for diffusers' ``set_timesteps`` (final 0 included, as AYS ships them)."""
        return [float(s) for s in self.sigmas]

    def torch_sigmas(self):
        """The sigmas as a float32 ``torch`` tensor (k-diffusion's form)."""
        import torch

        return torch.tensor(self.sigmas, dtype=torch.float32)

    def diffusers_timesteps(self, alphas_cumprod) -> np.ndarray:
        """``timesteps=`` for a discrete-time diffusers model with ``alphas_cumprod``:
        each positive sigma mapped to the fractional training step by linear interpolation in
        $\\log\\sigma$, $\\sigma_j = \\sqrt{(1 - \\bar\\alpha_j)/\\bar\\alpha_j}$ (as
        ``EulerDiscreteScheduler._sigma_to_t`` does with ``sigmas=``)."""
        ac = np.asarray(alphas_cumprod, dtype=np.float64)
        log_s = np.log(np.sqrt((1.0 - ac) / ac))
        pos = self.sigmas[:-1]
        return np.interp(np.log(np.maximum(pos, 1e-10)), log_s, np.arange(len(ac), dtype=float))

    def ratio(self, name: str) -> float:
        """``objective(standard grid) / objective(optimum)``."""
        return self.compare[name][self.objective] / getattr(self, self.objective)

    def table(self) -> str:
        """The comparison as text: one row per schedule, the optimum first."""
        rows = [("optimal", self.kl, self.w2, 1.0)]
        for name, r in sorted(self.compare.items(), key=lambda kv: kv[1][self.objective]):
            rows.append((name, r["kl"], r["w2"], self.ratio(name)))
        out = [f"{'schedule':<10} {'KL':>11} {'W2':>11} {'x optimum':>10}"]
        out += [f"{n:<10} {k:11.4e} {w:11.4e} {x:10.3g}" for n, k, w, x in rows]
        out += [f"  ({n}: {why})" for n, why in self.notes.items()]
        return "\n".join(out)


class _Param:
    """Logits ``z`` (N,) <-> monotone sigma grids with fixed ends (module docstring)."""

    def __init__(self, n, sigma_max, sigma_lo, zero_end):
        self.n, self.smax, self.lo, self.zero_end = n, sigma_max, sigma_lo, zero_end
        self.L = math.log(sigma_max) - math.log(sigma_lo)

    def sigmas(self, Z):
        Z = np.atleast_2d(Z)
        w = np.exp(Z - Z.real.max(axis=1, keepdims=True))
        w = w / w.sum(axis=1, keepdims=True)
        nodes = self.smax * np.exp(-self.L * np.cumsum(w, axis=1))[:, : self.n - 1]
        P = Z.shape[0]
        end = 0.0 if self.zero_end else self.lo
        return np.concatenate(
            [np.full((P, 1), self.smax), nodes, np.full((P, 1), end)], axis=1
        ).astype(Z.dtype)

    def logits(self, sigmas):
        """``z`` for a grid with the same ends, or ``None`` if it is not representable."""
        s = np.asarray(sigmas, dtype=np.float64)
        if len(s) != self.n + 1 or not math.isclose(s[0], self.smax, rel_tol=1e-12):
            return None
        if (s[-1] == 0) != self.zero_end or (not self.zero_end and s[-1] != self.lo):
            return None
        pos = np.append(s[:-1], self.lo) if self.zero_end else s
        inc = -np.diff(np.log(pos))
        if np.any(inc <= 0):
            return None
        return np.log(inc / self.L)


def optimal_grid(
    sde,
    data,
    n_steps,
    method="euler",
    gamma=0.0,
    objective="kl",
    *,
    sigma_min=0.0,
    sigma_floor=1e-4,
    karras_sigma_min=0.002,
    init="marginal",
    starts=2,
    maxiter=1000,
    scan=256,
    seed=0,
):
    """The ``n_steps`` grid minimising the exact output ``objective`` of ``method`` on ``data``.

    Parameters
    ----------
    sde : ``analytic.EDM(sigma_max)`` (or ``None``: ``EDM(80)``): k-diffusion's $t = \\sigma$.
    data : a ``Gaussian`` (spectral, diagonal or full), or ``(eigenvalues, mean_coefficients)``.
    n_steps : number of sampler steps ``N >= 1``.
    method : ``"euler"``, ``"heun"``, ``"dpmpp_2m"`` or ``"ancestral"`` (k-diffusion's
        ``sample_euler``, ``sample_heun``, ``sample_dpmpp_2m``, ``sample_euler_ancestral``).
    gamma : stochasticity (``euler``: Euler-Maruyama with $\\gamma$; ``ancestral``:
        $\\eta = \\sqrt\\gamma \\le 1$), a number or one value per step, held fixed; or
        ``"optimal"`` (a constant $\\gamma$ optimised jointly with the grid, in $[0, 20]$ for
        ``euler``, $[0, 1]$ for ``ancestral``) or ``"optimal-schedule"`` (one $\\gamma_k$ per
        step, optimised jointly); L-BFGS-B with the bounds, the complex step in $\\gamma$
        too, started from each start grid's best constant (:func:`optimal_gamma`).
    objective : ``"kl"`` (KL(output || target)) or ``"w2"``.
    sigma_min : the last node: ``0`` (k-diffusion's appended zero) or a fixed ``> 0``.
    sigma_floor : with ``sigma_min = 0``, the lowest allowed positive node.
    karras_sigma_min : ``sigma_min`` of the ``karras`` and ``log-snr`` comparison grids.
    init : ``"marginal"`` (start exactly at $p_{\\sigma_{max}}$) or ``"prior"``
        ($N(0, \\sigma_{max}^2 I)$).
    starts : how many of the best starts begin a descent: the representable standard grids
        and the best of ``scan`` random grids (logits $z \\sim N(0, 2^2)$ per step, drawn with
        ``numpy.random.default_rng(seed)``, evaluated in one batch), ranked by their value.
        The objective has several local minima (the solver's errors can cancel in more than
        one way); the random scan finds basins that the standard grids miss.

    Returns
    -------
    :class:`OptimalGrid`.
    """
    sde = _check_sde(sde)
    lam, m = spectrum_of(data)
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    n = int(n_steps)
    if objective not in ("kl", "w2"):
        raise ValueError(f"objective must be 'kl' or 'w2', got {objective!r}")
    _check_method(method, gamma, n)
    smax = float(sde.T)
    zero_end = sigma_min == 0
    lo = float(sigma_floor if zero_end else sigma_min)
    if not (0 < lo < smax):
        raise ValueError(f"need 0 < sigma_floor/sigma_min < sigma_max = {smax:g}, got {lo:g}")
    par = _Param(n, smax, lo, zero_end)
    free = gamma if isinstance(gamma, str) else ""
    n_g = {"": 0, "optimal": 1, "optimal-schedule": n}[free]
    gvec = None if free else np.broadcast_to(np.asarray(gamma, dtype=np.float64), (n,))

    grids, notes = standard_grids(n, smax, karras_sigma_min, end=0.0 if zero_end else lo)
    compare = {}
    for name, s in grids.items():
        if free:
            g0, _ = optimal_gamma((lam, m), s, method, init=init, objective=objective)
            k, w = evaluate_grid((lam, m), s, method, g0, init=init)
            compare[name] = {"sigmas": s, "kl": k, "w2": w, "gamma": g0}
        else:
            k, w = evaluate_grid((lam, m), s, method, gvec, init=init)
            compare[name] = {"sigmas": s, "kl": k, "w2": w}

    n_x = n + n_g
    eye = 1j * _STEP * np.eye(n_x)

    def split(x):
        """Rows of perturbed grids and gammas for the complex step in every coordinate."""
        X = x[None, :] + eye
        S = par.sigmas(X[:, :n])
        if free == "optimal":
            G = np.broadcast_to(X[:, n:], (n_x, n))
        elif free:
            G = X[:, n:]
        else:
            G = gvec
        return S, G

    def fun(x):
        S, G = split(x)
        vals = _objective_rows(S, lam, m, method, G, init, objective)
        f = float(vals[0].real)
        if not (np.isfinite(f) and f > 0):
            return np.inf, np.zeros(n_x)
        return math.log(f), vals.imag / _STEP / f

    cands = []
    for name, s in grids.items():
        z0 = par.logits(s)
        if z0 is not None:
            g0 = [compare[name]["gamma"]] * n_g if free else []
            cands.append((compare[name][objective], name, np.concatenate([z0, g0])))
    if scan and n > 1:
        rng = np.random.default_rng(seed)
        Z = 2.0 * rng.standard_normal((int(scan), n))
        if free:
            glo, ghi = _gamma_bounds(method)
            g0 = np.median([c["gamma"] for c in compare.values()]) if compare else 0.1
            Gs = np.clip(g0 * np.exp(rng.standard_normal((int(scan), 1))), glo, ghi)
            Gm = np.broadcast_to(Gs, (int(scan), n)) if free == "optimal" else np.repeat(Gs, n, 1)
            X = np.concatenate([Z, Gs if free == "optimal" else Gm], axis=1)
        else:
            Gm, X = gvec, Z
        with np.errstate(all="ignore"):
            vals = _objective_rows(par.sigmas(Z), lam, m, method, Gm, init, objective)
        vals = np.where(np.isfinite(vals) & (vals > 0), vals, np.inf)
        k = int(np.argmin(vals))
        if np.isfinite(vals[k]):
            cands.append((float(vals[k]), "random scan", X[k]))
    cands.sort(key=lambda c: c[0])
    if not cands:  # no standard grid shares the ends: start from equal log steps
        z0 = np.zeros(n)
        g0 = []
        f0 = np.inf
        if free:
            g, _ = optimal_gamma((lam, m), par.sigmas(z0)[0], method, init=init)
            g0 = [g] * n_g
        cands = [(f0, "log-uniform", np.concatenate([z0, g0]))]
    bounds = [(None, None)] * n + [_gamma_bounds(method)] * n_g
    best = None
    iters = 0
    for f0, name, x0 in cands[: max(1, int(starts))]:
        if n_x == 1 or (n == 1 and not free):
            x, fx = x0, f0
        else:
            res = optimize.minimize(
                fun, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter}
            )
            iters += int(res.nit)
            x, fx = res.x, math.exp(res.fun) if np.isfinite(res.fun) else np.inf
            if not fx <= f0:  # never worse than the start
                x, fx = x0, f0
        if best is None or fx < best[0]:
            best = (fx, name, x)
    x = best[2]
    sig = par.sigmas(x[:n])[0].real.astype(np.float64)
    if free == "optimal":
        g_out = float(x[n])
        gvec = np.full(n, g_out)
    elif free:
        gvec = np.asarray(x[n:], dtype=np.float64).copy()
        g_out = gvec
    else:
        g_out = float(gvec[0]) if np.all(gvec == gvec[0]) else gvec.copy()
    kl, w2 = evaluate_grid((lam, m), sig, method, gvec, init=init)
    if zero_end and n > 1 and sig[-2] <= lo * (1 + 1e-6):
        notes = {**notes, "floor": f"the lowest positive node sits at sigma_floor = {lo:g}"}
    return OptimalGrid(
        sigmas=sig,
        grid=np.asarray(sde.t_of_sigma(sig), dtype=np.float64),
        kl=kl,
        w2=w2,
        method=method,
        gamma=g_out,
        objective=objective,
        n_steps=n,
        compare=compare,
        notes=notes,
        started_from=best[1],
        iterations=iters,
    )
