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

__all__ = ["OptimalGrid", "optimal_grid", "evaluate_grid"]

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


def _check_method(method, gamma, n):
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
    ``compare``: name -> ``{"sigmas", "kl", "w2"}`` for the standard grids; ``notes``: name ->
    why a standard grid is not in the table; ``started_from``: the start of the best descent.
    """

    sigmas: np.ndarray
    grid: np.ndarray
    kl: float
    w2: float
    method: str
    gamma: float
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
        $\\eta = \\sqrt\\gamma \\le 1$), a number or one value per step; held fixed.
    objective : ``"kl"`` (KL(output || target)) or ``"w2"``.
    sigma_min : the last node: ``0`` (k-diffusion's appended zero) or a fixed ``> 0``.
    sigma_floor : with ``sigma_min = 0``, the lowest allowed positive node.
    karras_sigma_min : ``sigma_min`` of the ``karras`` and ``log-snr`` comparison grids.
    init : ``"marginal"`` (start exactly at $p_{\\sigma_{max}}$) or ``"prior"``
        ($N(0, \\sigma_{max}^2 I)$).
    starts : how many of the best representable standard grids start a descent.

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
    gvec = np.broadcast_to(np.asarray(gamma, dtype=np.float64), (n,))

    def rows(S):
        return _objective_rows(S, lam, m, method, gvec, init, objective)

    grids, notes = standard_grids(n, smax, karras_sigma_min, end=0.0 if zero_end else lo)
    compare = {}
    for name, s in grids.items():
        k, w = evaluate_grid((lam, m), s, method, gvec, init=init)
        compare[name] = {"sigmas": s, "kl": k, "w2": w}

    eye = 1j * _STEP * np.eye(n)

    def fun(z):
        vals = rows(par.sigmas(z[None, :] + eye))
        f = float(vals[0].real)
        if not (np.isfinite(f) and f > 0):
            return np.inf, np.zeros(n)
        return math.log(f), vals.imag / _STEP / f

    cands = []
    for name, s in grids.items():
        z0 = par.logits(s)
        if z0 is not None:
            cands.append((compare[name][objective], name, z0))
    cands.sort(key=lambda c: c[0])
    if not cands:  # no standard grid shares the ends: start from equal log steps
        cands = [(np.inf, "log-uniform", np.zeros(n))]
    best = None
    iters = 0
    for f0, name, z0 in cands[: max(1, int(starts))]:
        if n == 1 or (zero_end and n == 1):
            z, fz = z0, f0
        else:
            res = optimize.minimize(
                fun, z0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter}
            )
            iters += int(res.nit)
            z, fz = res.x, math.exp(res.fun) if np.isfinite(res.fun) else np.inf
            if not fz <= f0:  # never worse than the start
                z, fz = z0, f0
        if best is None or fz < best[0]:
            best = (fz, name, z)
    sig = par.sigmas(best[2])[0].real.astype(np.float64)
    kl, w2 = evaluate_grid((lam, m), sig, method, gvec, init=init)
    if zero_end and n > 1 and sig[-2] <= lo * (1 + 1e-6):
        notes = {**notes, "floor": f"the lowest positive node sits at sigma_floor = {lo:g}"}
    return OptimalGrid(
        sigmas=sig,
        grid=np.asarray(sde.t_of_sigma(sig), dtype=np.float64),
        kl=kl,
        w2=w2,
        method=method,
        gamma=float(gvec[0]) if np.all(gvec == gvec[0]) else gvec.copy(),
        objective=objective,
        n_steps=n,
        compare=compare,
        notes=notes,
        started_from=best[1],
        iterations=iters,
    )
