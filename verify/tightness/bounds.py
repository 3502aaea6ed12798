r"""The bounds the claims check, as search problems ``(bound, truth, space)``.

Each :class:`Bound` names a theorem's inequality ``truth <= bound`` and the exact (or
numerical) truth it is searched against; ``tightness.<key>`` claims and ``diffusion-verify
tighten <key>`` run :func:`verify.tightness.search` on it. The formulas and spaces are written
out in docs/claims/tightness.md; each ``truth`` is the highest rung available:

* ``lsi-rate`` (``stochasticity.exact-score-decay``; arXiv 2506.11378 §2, reconstructed):
  ``KL(q_t || p_t) <= KL(q_T || p_T) ((lam_max + sbar2(t)) / (lam_max + sbar2(T)))^gamma``,
  exact score, Gaussian data ``N(m, diag(lam))`` in d = 2, start ``N`` with offset ``delta``
  (units of the standard deviation, at angle ``theta`` to the top eigendirection) and
  variance ratio ``ratio``; searched as decay times ``1/E_truth <= 1/E_LSI`` (the ratio is
  ``E_truth / E_LSI``, :func:`verify.tightness.lsi_rate_exponents`) on the domain
  ``E_truth >= ln 2`` (:func:`lsi_rate_domain`), so a wrong rate cannot hide at corners where
  both exponents vanish; :func:`lsi_decay_time_bound` plants other rates.
* ``bakry-emery-vp`` (``horizon.prior-kl-monotone``; standard, Bakry-Emery for the OU
  semigroup time-changed by ``B``): ``KL(p_T || N(0, I)) <= e^{-(B(T) - B(s))} KL(p_s || N(0,
  I))`` for VP and Gaussian data in d = 2; both sides closed form (:func:`prior_kl_vp`).
* ``mixture-lsi-bakry-emery`` (``analytic.lsi.mixture_lsi_bakry_emery``, derived there):
  ``C_LSI(p) <= 1 / kappa`` for a two-component 1-D mixture with common variance ``s^2``;
  ``mixture-lsi-ccnw`` (``analytic.lsi.mixture_lsi_ccnw``: ``C_LSI(nu * N(0, t)) <= 6 (4 R^2 +
  t) exp(4 R^2 / t)``, a reconstruction attributed to arXiv 2102.11476 that could not be
  confirmed against the paper). The truth is a lower bound on ``C_LSI`` from test functions,
  ``sup_f Ent(f^2) / (2 E|f'|^2)`` (:mod:`verify.tightness.lsi_lower`), so a bound below the
  true constant can be refuted (the Poincare constant, below ``C_LSI``, could not refute a
  bound between the two); certified by ``mpmath.quad`` of the optimal test function; at the
  full budget the claims also evaluate ``analytic.lsi.lsi_constant_1d`` at the worst setting.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from numpy.typing import ArrayLike

from analytic import GaussianMixture
from analytic.divergence import h_u_minus_log1p
from analytic.lsi import (
    lsi_constant_1d,
    mixture_lsi_bakry_emery,
    mixture_lsi_ccnw,
    poincare_constant_1d,
)

from .gaussian import (
    continuous_kl,
    lsi_rate_bound,
    lsi_rate_exponents,
    lsi_rate_exponents_mp,
    schedule,
    schedule_mp,
)
from .lsi_lower import lsi_lower_bound, lsi_lower_bound_mp
from .problem import Bound
from .search import vectorized
from .theory_bounds import THEORY_BOUNDS

__all__ = [
    "Bound",
    "BOUNDS",
    "get_bound",
    "prior_kl_vp",
    "prior_kl_vp_mp",
    "two_mixture",
    "mixture_constant",
]


def _grouped(fn):
    """Vectorised ``fn(sde=name, **arrays)`` applied per value of the choice column ``sde``."""

    @vectorized
    def wrapper(**cols):
        sde = np.asarray(cols.pop("sde"), dtype=object)
        out = np.empty(len(sde))
        for name in sorted(set(sde.tolist())):
            m = sde == name
            out[m] = fn(sde=str(name), **{k: np.asarray(v)[m] for k, v in cols.items()})
        return out

    return wrapper


# ------------------------------------------------------------------------ lsi-rate
def _lsi_args(lam_max, aniso, T, t_frac, gamma, delta, theta, ratio, beta_max, sigma_max):
    lam_max, aniso, theta = (np.asarray(x, dtype=np.float64) for x in (lam_max, aniso, theta))
    delta, ratio = np.asarray(delta, dtype=np.float64), np.asarray(ratio, dtype=np.float64)
    lam = np.stack([lam_max, aniso * lam_max], axis=-1)
    d = np.stack([delta * np.cos(theta), delta * np.sin(theta)], axis=-1)
    r = np.stack([ratio, ratio], axis=-1)
    T = np.asarray(T, dtype=np.float64)
    return lam, gamma, dict(T=T, t=np.asarray(t_frac) * T, delta=d, ratio=r,
                            beta_max=beta_max, sigma_max=sigma_max)  # fmt: skip


def _lsi_truth(sde, **s):
    """``1 / E_truth``: the decay time of the truth, ``E_truth = ln(KL_T / KL_t)``."""
    lam, g, kw = _lsi_args(**s)
    return 1.0 / lsi_rate_exponents(lam, g, sde=sde, **kw)[0]


def lsi_decay_time_bound(rate: float = 1.0):
    """The vectorised bound ``1 / (rate E_LSI)`` on the decay time ``1 / E_truth``: the LSI
    rate bound with its rate multiplied by ``rate`` (1: the theorem; tests plant 0.5)."""
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive finite number, got {rate!r}")

    def _bound(sde, **s):
        lam, g, kw = _lsi_args(**s)
        return 1.0 / (rate * lsi_rate_exponents(lam, g, sde=sde, **kw)[1])

    return _grouped(_bound)


LSI_MIN_DECAY = math.log(2.0)
"""The lsi-rate search's domain: settings where the truth has fallen to at most half its start,
``E_truth = ln(KL_T / KL_t) >= ln 2``."""


def _lsi_decay(sde, **s):
    lam, g, kw = _lsi_args(**s)
    return lsi_rate_exponents(lam, g, sde=sde, **kw)[0]


_lsi_decay_grouped = _grouped(_lsi_decay)


@vectorized
def lsi_rate_domain(**cols):
    """``E_truth >= ln 2`` (:data:`LSI_MIN_DECAY`): the truth is at most half its start."""
    with np.errstate(invalid="ignore"):
        return _lsi_decay_grouped(**cols) >= LSI_MIN_DECAY


def lsi_rate_kl(sde, **s):
    """``(KL_t, bound_t)`` of the rate bound in KL (the form the theorem states), batched."""
    lam, g, kw = _lsi_args(**s)
    return continuous_kl(lam, g, sde=sde, **kw), lsi_rate_bound(lam, g, sde=sde, **kw)


def _lsi_mp_args(lam_max, aniso, T, t_frac, gamma, delta, theta, ratio, beta_max, sigma_max):
    lm, th, de = mpmath.mpf(lam_max), mpmath.mpf(theta), mpmath.mpf(delta)
    lam = [lm, mpmath.mpf(aniso) * lm]
    kw = dict(
        T=mpmath.mpf(T),
        t=mpmath.mpf(t_frac) * mpmath.mpf(T),
        delta=[de * mpmath.cos(th), de * mpmath.sin(th)],
        ratio=[mpmath.mpf(ratio)] * 2,
        beta_max=beta_max,
        sigma_max=sigma_max,
    )
    return lam, gamma, kw


def _lsi_truth_mp(sde, **s):
    lam, g, kw = _lsi_mp_args(**s)
    return 1 / lsi_rate_exponents_mp(lam, g, sde=sde, **kw)[0]


def _lsi_bound_mp(sde, **s):
    lam, g, kw = _lsi_mp_args(**s)
    return 1 / lsi_rate_exponents_mp(lam, g, sde=sde, **kw)[1]


LSI_RATE_SPACE = {
    "sde": ["OU", "VP", "VE"],
    "lam_max": (0.03, 20.0, "log"),
    "aniso": (0.01, 1.0, "log"),
    "T": (0.1, 2.0, "log"),
    "t_frac": (0.0, 0.95),
    "gamma": (0.1, 5.0),
    "delta": (0.0, 3.0),
    "theta": (0.0, math.pi / 2),
    "ratio": (0.2, 10.0, "log"),
    "beta_max": (1.0, 30.0),
    "sigma_max": (1.0, 50.0, "log"),
}


# ------------------------------------------------------------------ bakry-emery-vp
def prior_kl_vp(
    lam: ArrayLike,
    mean: ArrayLike,
    t: ArrayLike,
    *,
    beta_min: float = 0.1,
    beta_max: float = 20.0,
) -> np.ndarray:
    """``KL(p_t || N(0, I))`` for data ``N(mean, diag(lam))`` under VP, batched.

    ``p_t = N(alpha m, alpha^2 lam + sigma2)`` per direction: ``1/2 sum [h(v - 1) + mu^2]``,
    ``h(u) = u - log(1 + u)``. ``lam``, ``mean`` ``(n, d)``; ``t`` and the schedule ``(n,)``.
    """
    lam, mean = np.atleast_2d(lam), np.atleast_2d(mean)
    t = np.asarray(t, dtype=np.float64).reshape(-1, 1)
    b0 = np.asarray(beta_min, dtype=np.float64).reshape(-1, 1)
    b1 = np.asarray(beta_max, dtype=np.float64).reshape(-1, 1)
    _, _, al, s2, _ = schedule("VP", t, beta_min=b0, beta_max=b1)
    v = al * al * lam + s2
    return 0.5 * np.sum(h_u_minus_log1p(v - 1.0) + (al * mean) ** 2, axis=1)


def prior_kl_vp_mp(
    lam: ArrayLike,
    mean: ArrayLike,
    t: float,
    *,
    beta_min: float = 0.1,
    beta_max: float = 20.0,
) -> mpmath.mpf:
    """:func:`prior_kl_vp` for one setting in mpmath (``lam``, ``mean`` lists)."""
    _, _, al, s2, _ = schedule_mp("VP", t, beta_min=beta_min, beta_max=beta_max)
    total = mpmath.mpf(0)
    for lm, m in zip(lam, mean, strict=True):
        v = al**2 * mpmath.mpf(lm) + s2
        total += v - 1 - mpmath.log(v) + (al * mpmath.mpf(m)) ** 2
    return total / 2


def _vp_B(t, b0, b1):
    return t * (b0 + 0.5 * (b1 - b0) * t)


def _be_parts(lam1, lam2, mean, theta, beta_min, beta_max, T, s_frac):
    lam = np.stack([np.asarray(lam1, float), np.asarray(lam2, float)], axis=-1)
    mean = np.asarray(mean, float)
    m = np.stack([mean * np.cos(theta), mean * np.sin(theta)], axis=-1)
    T = np.asarray(T, float)
    return lam, m, T, np.asarray(s_frac) * T


@vectorized
def _be_truth(lam1, lam2, mean, theta, beta_min, beta_max, T, s_frac):
    lam, m, T, _ = _be_parts(lam1, lam2, mean, theta, beta_min, beta_max, T, s_frac)
    return prior_kl_vp(lam, m, T, beta_min=beta_min, beta_max=beta_max)


@vectorized
def _be_bound(lam1, lam2, mean, theta, beta_min, beta_max, T, s_frac):
    lam, m, T, s = _be_parts(lam1, lam2, mean, theta, beta_min, beta_max, T, s_frac)
    contraction = np.exp(-(_vp_B(T, beta_min, beta_max) - _vp_B(s, beta_min, beta_max)))
    return contraction * prior_kl_vp(lam, m, s, beta_min=beta_min, beta_max=beta_max)


def _be_mp(lam1, lam2, mean, theta, beta_min, beta_max, T, s_frac):
    th, mn = mpmath.mpf(theta), mpmath.mpf(mean)
    return [lam1, lam2], [mn * mpmath.cos(th), mn * mpmath.sin(th)], mpmath.mpf(T)


def _be_truth_mp(beta_min, beta_max, s_frac, **s):
    lam, m, T = _be_mp(beta_min=beta_min, beta_max=beta_max, s_frac=s_frac, **s)
    return prior_kl_vp_mp(lam, m, T, beta_min=beta_min, beta_max=beta_max)


def _be_bound_mp(beta_min, beta_max, s_frac, **s):
    lam, m, T = _be_mp(beta_min=beta_min, beta_max=beta_max, s_frac=s_frac, **s)
    b0, b1 = mpmath.mpf(beta_min), mpmath.mpf(beta_max)
    sT = mpmath.mpf(s_frac) * T

    def B(x):
        return x * (b0 + (b1 - b0) * x / 2)

    return mpmath.exp(-(B(T) - B(sT))) * prior_kl_vp_mp(
        lam, m, sT, beta_min=beta_min, beta_max=beta_max
    )


BE_SPACE = {
    "lam1": (0.03, 20.0, "log"),
    "lam2": (0.03, 20.0, "log"),
    "mean": (0.0, 3.0),
    "theta": (0.0, math.pi / 2),
    "beta_min": (0.01, 1.0, "log"),
    "beta_max": (1.0, 30.0),
    "T": (0.02, 1.0, "log"),
    "s_frac": (0.0, 0.95),
}


# ------------------------------------------------------------- mixture LSI constants
def two_mixture(w: float, rho: float, s: float) -> GaussianMixture:
    """``w N(-rho s, s^2) + (1 - w) N(rho s, s^2)``: separation ``D = 2 rho s``."""
    return GaussianMixture([w, 1.0 - w], [[-rho * s], [rho * s]], [s * s, s * s])


def mixture_constant(
    w: float,
    rho: float,
    s: float,
    *,
    n: int = 400,
    kind: str = "poincare",
) -> float:
    """The grid Poincare (``kind="poincare"``) or LSI (``"lsi"``) constant of
    :func:`two_mixture` on ``[-rho s - 10 s, rho s + 10 s]`` with ``n`` cells."""
    mix = two_mixture(float(w), float(rho), float(s))
    half = float(rho) * float(s) + 10.0 * float(s)
    fn = poincare_constant_1d if kind == "poincare" else lsi_constant_1d
    return fn(mix.log_prob, (-half, half), n)


def _mix_truth(w, rho, s):
    return lsi_lower_bound(w, rho, s)


def _mix_truth_mp(w, rho, s):
    return lsi_lower_bound_mp(w, rho, s)


def _be_mix_bound(w, rho, s):
    return mixture_lsi_bakry_emery(two_mixture(w, rho, s))


def _ccnw_bound(w, rho, s):
    return mixture_lsi_ccnw(two_mixture(w, rho, s))


MIX_BE_SPACE = {"w": (0.05, 0.5), "rho": (0.0, 0.99), "s": (0.3, 3.0, "log")}
MIX_CCNW_SPACE = {"w": (0.05, 0.5), "rho": (0.0, 3.0), "s": (0.3, 3.0, "log")}
_TEST_FN = "the optimal test function re-integrated by mpmath.quad at 50 digits"
_TRUTH_NAME = (
    "lower bound on C_LSI from test functions, sup_f Ent(f^2) / (2 E|f'|^2) over tilts "
    "exp(a x) and steps exp(a tanh((x - c)/l)) (verify.tightness.lsi_lower)"
)

BOUNDS: dict[str, Bound] = {
    b.key: b
    for b in (
        Bound(
            "lsi-rate",
            "LSI rate bound along the reverse family (exact score), as decay exponents",
            "KL(q_t || p_t) <= KL(q_T || p_T) exp(-E_LSI), E_LSI = int_t^T gamma g^2 / C_LSI(p_u)"
            " du; searched as 1/E_truth <= 1/E_LSI, E_truth = ln(KL(q_T || p_T) / KL(q_t || p_t))",
            "stochasticity.exact-score-decay",
            "arXiv 2506.11378 §2 (reconstructed: the paper's statement was not available; this "
            "is the standard result it rests on)",
            lsi_decay_time_bound(1.0),
            _grouped(_lsi_truth),
            LSI_RATE_SPACE,
            bound_mp=_lsi_bound_mp,
            truth_mp=_lsi_truth_mp,
            precision="mpmath, 50 digits",
            constant=1.0,
            rtol=1e-10,
            budgets={"quick": 1024, "full": 4096},
            truth_name="decay time 1/E_truth of the closed form (G), Gaussian data in d = 2",
            domain=lsi_rate_domain,
            domain_text="settings where the truth falls to at most half its start "
            "(E_truth >= ln 2); the others (no elapsed time, no contraction) are excluded",
        ),
        Bound(
            "bakry-emery-vp",
            "Bakry-Emery contraction of KL to the VP prior",
            "KL(p_T || N(0,I)) <= e^{-(B(T) - B(s))} KL(p_s || N(0,I))",
            "horizon.prior-kl-monotone",
            "standard (Bakry and Emery 1985; the OU semigroup time-changed by B(t) = int beta)",
            _be_bound,
            _be_truth,
            BE_SPACE,
            bound_mp=_be_bound_mp,
            truth_mp=_be_truth_mp,
            precision="mpmath, 50 digits",
            constant=1.0,
            rtol=1e-10,
            truth_name="closed form, Gaussian data in d = 2",
        ),
        Bound(
            "mixture-lsi-bakry-emery",
            "Bakry-Emery bound on the LSI constant of a two-component mixture",
            "C_LSI(w N(-rho s, s^2) + (1-w) N(rho s, s^2)) <= 1/kappa, kappa = (1 - rho^2)/s^2",
            "analytic.lsi.mixture_lsi_bakry_emery",
            "derived in analytic/lsi.py (Bakry-Emery with Popoviciu's variance bound)",
            _be_mix_bound,
            _mix_truth,
            MIX_BE_SPACE,
            truth_mp=_mix_truth_mp,
            precision=_TEST_FN,
            constant=1.0,
            rtol=1e-8,
            budgets={"quick": 48, "full": 400},
            rung=3,
            grid_n=6,
            infl_n=6,
            truth_name=_TRUTH_NAME,
        ),
        Bound(
            "mixture-lsi-ccnw",
            "Chen-Chewi-Niles-Weed bound on the LSI constant of a Gaussian convolution",
            "C_LSI(nu * N(0, t)) <= 6 (4 R^2 + t) exp(4 R^2 / t) for nu supported in B(0, R)",
            "analytic.lsi.mixture_lsi_ccnw",
            "reconstruction attributed to Chen, Chewi, Niles-Weed 2021 (arXiv 2102.11476): the "
            "paper proves a dimension-free LSI for Gaussian convolutions of measures of bounded "
            "support, but this formula was written from memory and could not be confirmed "
            "against its theorem; the search is its falsifiable check",
            _ccnw_bound,
            _mix_truth,
            MIX_CCNW_SPACE,
            truth_mp=_mix_truth_mp,
            precision=_TEST_FN,
            constant=6.0,
            rtol=1e-8,
            budgets={"quick": 48, "full": 400},
            rung=3,
            grid_n=6,
            infl_n=6,
            truth_name=_TRUTH_NAME,
        ),
    )
}
"""The bounds, by key (the claim id after ``tightness.``)."""
BOUNDS.update({b.key: b for b in THEORY_BOUNDS})


def get_bound(key: str) -> Bound:
    """The bound with this key (``"lsi-rate"`` or ``"tightness.lsi-rate"``)."""
    key = key.removeprefix("tightness.")
    if key not in BOUNDS:
        raise KeyError(f"unknown bound {key!r}; known: {', '.join(BOUNDS)}")
    return BOUNDS[key]
