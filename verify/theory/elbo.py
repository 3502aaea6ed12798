r"""The ELBO bound along the diffusion time T (arXiv 2206.05173 §2; docs/claims/horizon.md).

Song, Durkan, Murray, Ermon (2021, Thm 1) bound the data KL of the reverse SDE by

    KL(p_0 || p_model) <= B(T) = KL(p_T || pi) + J(T),
    J(T) = 1/2 int_0^T g(t)^2 E_{p_t}|s(x, t) - grad log p_t(x)|^2 dt,

and Franzese et al. (arXiv 2206.05173 §2.2) study how ``B`` depends on ``T``. This module
computes the terms for 1-D Gaussian-mixture data under a linear SDE with stationary prior
``pi = N(0, 1)`` (VP), for two affine score families:

* per-t best affine ``s(x, t) = -(x - m_t)/Var_t`` (the L2(p_t) projection of the score on
  affine maps): ``E|s - grad log p_t|^2 = I(p_t) - 1/Var_t =: Delta(t)`` (Cramer-Rao gap);
* time-shared affine ``s_v(x, t) = -(x - m_t)/v`` with one ``v`` for all ``t`` in
  ``[0, T]``: ``E|s_v - grad log p_t|^2 = I(p_t) + Var_t/v^2 - 2/v``, so
  ``J(v, T) = 1/2 [int g^2 I + int g^2 Var / v^2 - 2/v int g^2]``, minimised by
  ``1/v = int g^2 / int g^2 Var``.

Expectations over the 1-D mixture ``p_t`` are computed by the uniform trapezoid rule on
``[min mu - 14 sd, max mu + 14 sd]`` (:func:`expect_1d`; geometric convergence for analytic
integrands with Gaussian decay, Trefethen and Weideman 2014), the t-integrals by composite
Gauss-Legendre on the T grid (:func:`bound_along_T`).

The slope identity. ``p_t`` and ``pi`` solve the same Fokker-Planck equation (``pi`` is
stationary for VP), so ``d/dT KL(p_T || pi) = -g^2/2 I(p_T | pi)`` with
``I(p | pi) = E_p |grad log p - grad log pi|^2`` (the relative Fisher information); hence for
the per-t family ``B'(T) = g^2/2 (Delta(T) - I(p_T | pi))``.

Bakry-Emery for VP (:func:`coupled_be_slack`): ``KL(p_T || pi) <= e^{-(B(T) - B(s))}
KL(p_s || pi)`` for ``s < T`` (``B`` the integrated ``beta``), checked by Monte Carlo on one
coupled forward path per sample, with exact log-densities of the mixture marginals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytic import Gaussian, GaussianMixture
from verify.estimators import mean_ci

__all__ = [
    "N_FINE",
    "N_COARSE",
    "PerT",
    "BoundRow",
    "expect_1d",
    "moments_1d",
    "per_t_quantities",
    "bound_along_T",
    "coupled_be_slack",
    "ElboTerms",
    "gaussian_elbo",
    "aux_models_1d",
    "kl_1d",
]

N_FINE = 6001
"""Trapezoid nodes of :func:`expect_1d` (default)."""
N_COARSE = 3001
"""Trapezoid nodes of the error estimate (half the nodes)."""


def _check_1d(p) -> GaussianMixture:
    if not isinstance(p, GaussianMixture) or p.dim != 1:
        raise ValueError(f"p must be a 1-D GaussianMixture, got {p!r}")
    return p


def expect_1d(p: GaussianMixture, fn, n: int = N_FINE) -> float:
    """``E_p[fn(x)]`` for a 1-D mixture by the trapezoid rule (module docstring).

    ``fn`` maps an ``(n, 1)`` array of nodes to ``(n,)`` values.
    """
    p = _check_1d(p)
    if int(n) < 3:
        raise ValueError(f"n must be >= 3 nodes, got {n!r}")
    sd = np.sqrt(p.covs.reshape(-1))
    mu = p.means[:, 0]
    x = np.linspace(float(np.min(mu - 14 * sd)), float(np.max(mu + 14 * sd)), int(n))[:, None]
    w = np.exp(p.log_prob(x)) * (x[1, 0] - x[0, 0])
    return float(np.sum(w * fn(x)))


def moments_1d(p: GaussianMixture) -> tuple[float, float]:
    """``(mean, variance)`` of a 1-D mixture (closed form)."""
    p = _check_1d(p)
    return float(p.mean[0]), float(p.cov[0, 0])


@dataclass(frozen=True)
class PerT:
    """The per-t quantities at one forward time (nats / nats per unit g^2).

    ``delta`` = ``I(p_t) - 1/Var_t`` (per-t best-affine score error), ``fisher`` = ``I(p_t)``,
    ``var`` = ``Var_t``, ``kl_prior`` = ``KL(p_t || N(0, 1))``, ``rel_fisher_prior`` =
    ``I(p_t | N(0, 1)) = E|grad log p_t + x|^2``.
    """

    delta: float
    fisher: float
    var: float
    kl_prior: float
    rel_fisher_prior: float


def _prior_var(prior_var, t: float) -> float:
    v = 1.0 if prior_var is None else (prior_var(t) if callable(prior_var) else prior_var)
    v = float(v)
    if not v > 0:
        raise ValueError(f"prior variance must be positive, got {v!r} at t = {t!r}")
    return v


def per_t_quantities(sde, data: GaussianMixture, t: float, n: int = N_FINE, prior_var=None) -> PerT:
    """:class:`PerT` of ``p_t`` (``data`` itself at ``t = 0``) by :func:`expect_1d`.

    The prior is ``N(0, prior_var)`` (a number, a callable of ``t``, or ``None`` for 1: the VP
    prior; for VE pass ``sde.sigma2``). All expectations share one evaluation of the
    mixture's log-density and score on the nodes.
    """
    p = sde.marginal(data, t) if t > 0 else _check_1d(data)
    m, v = moments_1d(p)
    pv = _prior_var(prior_var, t)
    sd = np.sqrt(p.covs.reshape(-1))
    mu = p.means[:, 0]
    x = np.linspace(float(np.min(mu - 14 * sd)), float(np.max(mu + 14 * sd)), int(n))[:, None]
    lp = p.log_prob(x)
    w = np.exp(lp) * (x[1, 0] - x[0, 0])
    sc, y = p.score(x)[:, 0], x[:, 0]
    log_pi = -0.5 * y * y / pv - 0.5 * np.log(2 * np.pi * pv)
    return PerT(
        delta=float(w @ (sc + (y - m) / v) ** 2),
        fisher=float(w @ sc**2),
        var=v,
        kl_prior=float(w @ (lp - log_pi)),
        rel_fisher_prior=float(w @ (sc + y / pv) ** 2),
    )


@dataclass(frozen=True)
class BoundRow:
    """One diffusion time of :func:`bound_along_T`.

    ``kl_prior`` = ``KL(p_T || N(0, 1))`` and ``kl_err`` its quadrature-error estimate;
    ``J_aff`` / ``J_sh`` the score terms of the per-t / time-shared affine families, ``v_sh``
    the fitted shared ``v``; ``delta`` = ``Delta(T)``, ``rel_fisher`` = ``I(p_T | pi)``,
    ``g2`` = ``g(T)^2``.
    """

    T: float
    kl_prior: float
    kl_err: float
    J_aff: float
    J_sh: float
    v_sh: float
    delta: float
    rel_fisher: float
    g2: float

    @property
    def slope_aff(self) -> float:
        """``B'(T) = g^2/2 (Delta(T) - I(p_T | pi))`` for the per-t family."""
        return 0.5 * self.g2 * (self.delta - self.rel_fisher)


def _cumulative(sde, data, Ts, n_quad, prior_var=None):
    """Cumulative ``int_0^{T_j}`` of ``g^2 Delta``, ``g^2 I``, ``g^2``, ``g^2 Var``."""
    xq, wq = np.polynomial.legendre.leggauss(int(n_quad))
    cum = {k: [0.0] for k in ("d", "i", "b", "bv")}
    for a, b in zip(Ts[:-1], Ts[1:], strict=True):
        acc = dict.fromkeys(cum, 0.0)
        for x, w in zip(xq, wq, strict=True):
            t = a + 0.5 * (b - a) * (x + 1.0)
            q = per_t_quantities(sde, data, t, prior_var=prior_var)
            beta = float(sde.g2(t)) * 0.5 * (b - a) * w
            acc["d"] += beta * q.delta
            acc["i"] += beta * q.fisher
            acc["b"] += beta
            acc["bv"] += beta * q.var
        for k in cum:
            cum[k].append(cum[k][-1] + acc[k])
    return cum


def bound_along_T(
    sde, data: GaussianMixture, Ts, n_quad: int = 6, prior_var=None
) -> list[BoundRow]:
    """:class:`BoundRow` at each ``T`` of the increasing grid ``Ts`` (``Ts[0] = 0``).

    The t-integrals are composite Gauss-Legendre with ``n_quad`` nodes per interval of ``Ts``;
    the expectations at each node are :func:`per_t_quantities` (prior ``N(0, prior_var)``).
    """
    Ts = np.asarray(Ts, dtype=np.float64)
    if Ts.ndim != 1 or Ts.size < 2 or Ts[0] != 0.0 or np.any(np.diff(Ts) <= 0):
        raise ValueError("Ts must be an increasing 1-D grid starting at 0")
    cum = _cumulative(sde, _check_1d(data), Ts, n_quad, prior_var)
    rows = []
    for j, T in enumerate(Ts[1:], start=1):
        q = per_t_quantities(sde, data, T, prior_var=prior_var)
        qc = per_t_quantities(sde, data, T, N_COARSE, prior_var)
        inv_v = cum["b"][j] / cum["bv"][j]  # optimal 1/v of the time-shared family
        rows.append(
            BoundRow(
                T=float(T),
                kl_prior=q.kl_prior,
                kl_err=abs(q.kl_prior - qc.kl_prior),
                J_aff=0.5 * cum["d"][j],
                J_sh=0.5 * (cum["i"][j] + cum["bv"][j] * inv_v**2 - 2.0 * inv_v * cum["b"][j]),
                v_sh=1.0 / inv_v,
                delta=q.delta,
                rel_fisher=q.rel_fisher_prior,
                g2=float(sde.g2(T)),
            )
        )
    return rows


def coupled_be_slack(sde, data, Ts, n: int, rng: np.random.Generator) -> list[list[float]]:
    """Bakry-Emery slack by coupled Monte Carlo (module docstring), for VP and ``pi = N(0, I)``.

    One forward path per draw ``x_0 ~ data`` through the increasing times ``Ts``; with
    ``L_t = log p_t(x_t) - log pi(x_t)`` (exact log-densities), the slack of consecutive times
    is ``E[e^{-(B(T) - B(s))} L_s - L_T] >= 0`` and from 0 ``E[e^{-B(T)} L_0 - L_T] >= 0``.
    Rows ``[T, KL, lo, hi, slack-step lo, hi, slack-from-0 lo, hi, BE bound]`` (95% CIs).
    """
    pi = Gaussian(np.zeros(data.dim), 1.0)
    x = data.sample(n, rng)
    L_prev = data.log_prob(x) - pi.log_prob(x)
    L0 = L_prev
    rows = []
    t_prev = 0.0
    for T in Ts:
        a, v = sde.transition(t_prev, T)
        x = float(a) * x + np.sqrt(float(v)) * rng.standard_normal(x.shape)
        p = sde.marginal(data, T)
        L = p.log_prob(x) - pi.log_prob(x)
        dB = float(sde.B(T) - sde.B(t_prev))
        step = mean_ci(np.exp(-dB) * L_prev - L)
        from0 = mean_ci(np.exp(-float(sde.B(T))) * L0 - L)
        kl_T = mean_ci(L)
        bound = float(np.exp(-float(sde.B(T))) * np.mean(L0))
        rows.append([T, kl_T.value, kl_T.lo, kl_T.hi, step.lo, step.hi, from0.lo, from0.hi, bound])
        L_prev, t_prev = L, T
    return rows


@dataclass(frozen=True)
class ElboTerms:
    """:func:`gaussian_elbo` at one horizon: ``kl_prior = KL(p_T || pi)``, ``J`` the score
    term, ``bound = kl_prior + J``, ``kl_sde`` / ``kl_ode`` = ``KL(p_tmin || law)`` of the
    continuous reverse SDE (gamma = 1) / probability-flow ODE (gamma = 0) from ``pi`` with the
    erroneous score (exact laws)."""

    T: float
    kl_prior: float
    J: float
    kl_sde: float
    kl_ode: float

    @property
    def bound(self) -> float:
        return self.kl_prior + self.J


def gaussian_elbo(
    sde, data, prior, T: float, score_error, *, t_min: float = 1e-3, n_steps=32, with_ode=True
) -> ElboTerms:
    """The ELBO bound ``KL(p_tmin || model) <= KL(p_T || pi) + 1/2 int g^2 E|s~ - grad log
    p_t|^2 dt`` (Song et al. 2021, Thm 1) term by term for Gaussian data and an affine score
    error (``verify.errors``), with the true KL of the continuous reverse SDE and ODE
    (``verify.solvers.chain_laws.exact_law``, ``method=None``). ``J`` by Gauss-Legendre on
    ``n_steps`` geometric intervals of ``[t_min, T]``; ``kl_ode`` is ``nan`` unless
    ``with_ode``."""
    from analytic import kl
    from verify.solvers.chain_laws import exact_law
    from verify.theory.start_laws import score_error_integral

    grid = np.geomspace(T, t_min, int(n_steps) + 1)
    J = score_error_integral(sde, data, grid, score_error)
    target = sde.marginal(data, t_min)

    def true_kl(gamma):
        law = exact_law(sde, data, prior, [T, t_min], gamma, method=None, score_error=score_error)
        return float(kl(target, law))

    return ElboTerms(
        float(T),
        float(kl(sde.marginal(data, T), prior)),
        J,
        true_kl(1.0),
        true_kl(0.0) if with_ode else float("nan"),
    )


def aux_models_1d(samples, rng: np.random.Generator) -> dict:
    """Auxiliary models fitted to 1-D ``samples`` (maximum likelihood): ``"gaussian"`` (the
    moment-matched Gaussian, K = 1) and ``"gmm2"`` (EM, K = 2), as ``GaussianMixture``."""
    from verify.theory.start_laws import fit_gmm, moment_matched

    g = moment_matched(samples)
    return {
        "gaussian": GaussianMixture([1.0], g.mean[None], np.asarray(g.cov).reshape(1, 1, 1)),
        "gmm2": fit_gmm(samples, 2, rng, n_init=1, tol=1e-5).law,
    }


def kl_1d(p: GaussianMixture, q, n: int = N_FINE) -> float:
    """``KL(p || q)`` for a 1-D mixture ``p``, any ``q`` with ``log_prob`` (:func:`expect_1d`)."""
    return expect_1d(p, lambda x: p.log_prob(x) - q.log_prob(x), n)
