r"""Bounds of ``verify.theory`` as search problems: the bound is computed by the theory
function the claims use (called, never copied); the truth is the exact law.

* ``young-lsi`` (``stochasticity.young-lsi-bound``): the Young + LSI approximate-score bound,
  ``verify.theory.kl_dynamics.young_lsi_bound`` (the Gronwall solution on 201 nodes) fed with
  the exact trajectory of the continuous reverse family with a scale and offset error
  (:func:`verify.tightness.reverse_family_moments`, closed form): ``E_q|e|^2``,
  ``C_LSI(p_t) = alpha^2 lam_max + sigma2`` and ``H(0)``; truth the exact KL at the end.
* ``ode-w2`` (``stochasticity.ode-w2-bound``): the synchronous-coupling Gronwall bound on
  ``W2`` for the probability-flow ODE, ``verify.theory.kl_dynamics.ode_w2_bound`` (its exact
  ``W2`` from the moment ODE is the truth); the ratio is the smallest over its nodes.
* ``kl-bound``, ``kl-bound-init``, ``kl-bound-score``, ``kl-bound-disc``
  (``initialization.kl-bound-terms``) and ``ve-ancestral-disc``
  (``initialization.ve-ancestral-disc-fine-grids``): the initialization-aware bound
  ``KL(p_sigma_min || chain) <= KL(p_T || p_init) + path`` and each term alone, from
  ``verify.theory.start_laws.kl_bound_terms`` / ``score_error_integral`` under ``EDM(80)`` on
  Karras grids; truths: the exact chain law (``kl_bound_terms``) or the continuous reverse
  family in closed form.
* ``elbo`` (``horizon.elbo-bound``): ``KL(p_tmin || model) <= KL(p_T || pi) + J(T)``, ``J`` by
  ``score_error_integral`` (as ``verify.theory.elbo.gaussian_elbo``), truth the continuous
  reverse SDE from the prior in closed form.

Data are Gaussian in d = 2 with eigenvalues ``(lam1, lam2)`` (or ``(lam_max, aniso
lam_max)``) and a mean at angle ``theta``; score errors ``s~ = k s + b`` (:class:`ScaleOffset`).
Every callable of a bound memoises its last batch, so ``bound`` and ``truth`` of one batch
share one computation.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
from numpy.typing import ArrayLike

from analytic import EDM, OU, VE, VP, Gaussian
from analytic.divergence import h_u_minus_log1p
from verify.errors import Offset, Scale, ScoreError
from verify.solvers import grids
from verify.solvers.types import Score
from verify.theory.kl_dynamics import ode_w2_bound, young_lsi_bound
from verify.theory.start_laws import kl_bound_terms, score_error_integral

from .gaussian import reverse_family_kl_mp, reverse_family_moments, schedule
from .problem import Bound
from .search import vectorized

__all__ = ["ScaleOffset", "THEORY_BOUNDS", "edm", "karras_grid"]

SIGMA_MIN = 2e-4
"""End of the Karras grids of the initialization bounds (the authors' sigma_min)."""
YOUNG_NODES = 201
ODE_NODES = 51


class ScaleOffset(ScoreError):
    """``s~ = k s + b`` (``k`` scalar, ``b`` a ``(d,)`` vector): ``affine_parts = (k, 0, b)``."""

    def __init__(self, score: Score, k: float, b: ArrayLike) -> None:
        super().__init__(score)
        self.k, self.b = float(k), np.asarray(b, dtype=np.float64)

    def error(self, x: np.ndarray, t: ArrayLike) -> np.ndarray:
        return (self.k - 1.0) * np.asarray(self.score(x, t)) + self.b

    def affine_parts(self, t: float, dim: int) -> tuple[float, float, np.ndarray]:
        return self.k, 0.0, np.broadcast_to(self.b, (dim,))


def _memo(fn):
    """Memoise the last few batches of a vectorised ``fn(**columns)`` on the columns' bytes."""
    cache: dict = {}

    @functools.wraps(fn)
    def wrapper(**cols):
        key = tuple(
            (k, np.asarray(v).dtype.str, np.asarray(v).tobytes()) for k, v in sorted(cols.items())
        )
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[key] = fn(**cols)
        return cache[key]

    return wrapper


def _pair(a, angle):
    """``a (cos angle, sin angle)`` as ``(..., 2)``."""
    a, angle = np.asarray(a, dtype=np.float64), np.asarray(angle, dtype=np.float64)
    return np.stack([a * np.cos(angle), a * np.sin(angle)], axis=-1)


def _two(x1, x2):
    return np.stack([np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64)], -1)


# ------------------------------------------------------------------------ young-lsi
def _young_parts(c):
    lam = _two(c["lam_max"], np.asarray(c["aniso"]) * np.asarray(c["lam_max"]))
    return dict(
        lam=lam,
        delta=_pair(c["delta"], c["theta"]),
        ratio=_two(c["ratio"], c["ratio"]),
        offset=_pair(c["offset"], c["phi"]),
        scale=np.asarray(c["scale"], dtype=np.float64),
        T=np.asarray(c["T"], dtype=np.float64),
        t_end=np.asarray(c["t_frac"], dtype=np.float64) * np.asarray(c["T"], dtype=np.float64),
        gamma=np.asarray(c["gamma"], dtype=np.float64),
        sched=dict(beta_max=np.asarray(c["beta_max"]), sigma_max=np.asarray(c["sigma_max"])),
    )


def _young_one_sde(sde, p, n_nodes):
    """``(bound, truth)`` arrays for settings of one SDE (module docstring)."""
    n = len(p["T"])
    frac = np.linspace(0.0, 1.0, n_nodes)
    t_nodes = p["T"][:, None] - frac[None, :] * (p["T"] - p["t_end"])[:, None]  # (n, m) down
    r, z = reverse_family_moments(
        p["lam"], p["gamma"], sde=sde, T=p["T"], t=t_nodes, delta=p["delta"],
        ratio=p["ratio"], offset=p["offset"], scale=p["scale"], **p["sched"],
    )  # fmt: skip
    sc = {k: np.asarray(v, dtype=np.float64).reshape(-1, 1) for k, v in p["sched"].items()}
    _, g2, al, s2, _ = schedule(sde, t_nodes, **sc)
    S = al[..., None] ** 2 * p["lam"][:, None, :] + s2[..., None]
    k, b = p["scale"][:, None, None], p["offset"][:, None, :]
    e2 = np.sum((k - 1) ** 2 * (r + z * z) / S - 2 * (k - 1) * b * z / np.sqrt(S) + b * b, -1)
    cbar = al**2 * np.max(p["lam"], axis=1)[:, None] + s2
    kl = 0.5 * np.sum(h_u_minus_log1p(r - 1.0) + z * z, axis=-1)  # (n, m)
    bound = np.empty(n)
    for i in range(n):
        tau = p["T"][i] - t_nodes[i]
        B = young_lsi_bound(tau, kl[i, 0], p["gamma"][i], g2[i], cbar[i], e2[i], p["lam_y"][i])
        bound[i] = B[-1]
    return bound, kl[:, -1], kl[:, 0]


def _young_eval(n_nodes, cols):
    p = _young_parts(cols)
    p["lam_y"] = np.asarray(cols["lam_y"], dtype=np.float64)
    sde = np.asarray(cols["sde"], dtype=object)
    bound, truth, start = (np.empty(len(sde)) for _ in range(3))
    for name in sorted(set(sde.tolist())):
        m = sde == name
        sub = {k: (v[m] if isinstance(v, np.ndarray) and v.shape[:1] == m.shape else v)
               for k, v in p.items() if k != "sched"}  # fmt: skip
        sub["sched"] = {k: np.asarray(v)[m] for k, v in p["sched"].items()}
        bound[m], truth[m], start[m] = _young_one_sde(str(name), sub, n_nodes)
    return bound, truth, start


@_memo
def _young_batch(**cols):
    return _young_eval(YOUNG_NODES, cols)


@vectorized
def _young_bound(**cols):
    return _young_batch(**cols)[0]


@vectorized
def _young_truth(**cols):
    return _young_batch(**cols)[1]


YOUNG_MAX_FRACTION = 0.5
"""The young-lsi search's domain: settings where the truth ends at most this fraction of its
start, ``KL(q_t || p_t) <= KL(q_T || p_T) / 2`` (where the LSI contraction, the part of the
bound that carries information, has acted)."""


@vectorized
def young_domain(**cols):
    """``KL(q_t || p_t) <= KL(q_T || p_T) / 2`` (from the memoised batch of the search)."""
    _, truth, start = _young_batch(**cols)
    with np.errstate(invalid="ignore"):
        return truth <= YOUNG_MAX_FRACTION * start


def _young_bound_fine(**s):
    cols = {k: np.array([v]) for k, v in s.items()}
    return float(_young_eval(4 * YOUNG_NODES - 3, cols)[0][0])


def _young_truth_mp(**s):
    p = _young_parts({k: np.array([v]) for k, v in s.items()})
    return reverse_family_kl_mp(
        p["lam"][0].tolist(), s["gamma"], sde=s["sde"], T=s["T"], t=s["t_frac"] * s["T"],
        delta=p["delta"][0].tolist(), ratio=p["ratio"][0].tolist(),
        offset=p["offset"][0].tolist(), scale=s["scale"], beta_max=s["beta_max"],
        sigma_max=s["sigma_max"],
    )  # fmt: skip


YOUNG_SPACE = {
    "sde": ["OU", "VP", "VE"],
    "lam_max": (0.03, 20.0, "log"),
    "aniso": (0.01, 1.0, "log"),
    "T": (0.1, 2.0, "log"),
    "t_frac": (0.0, 0.95),
    "gamma": (0.05, 5.0, "log"),
    "lam_y": (0.02, 0.98),
    "offset": (0.0, 1.0),
    "phi": (0.0, math.pi / 2),
    "scale": (0.7, 1.3),
    "delta": (0.0, 3.0),
    "theta": (0.0, math.pi / 2),
    "ratio": (0.2, 10.0, "log"),
    "beta_max": (1.0, 30.0),
    "sigma_max": (1.0, 50.0, "log"),
}


# --------------------------------------------------------------------------- ode-w2
def _gronwall(tau, Lam, h):
    """``e^{L} int_0^tau e^{-L} h``, ``L = int_0^tau Lam``: cumulative trapezoid rules."""
    from scipy import integrate

    L = integrate.cumulative_trapezoid(Lam, tau, axis=1, initial=0.0)
    return np.exp(L) * integrate.cumulative_trapezoid(np.exp(-L) * h, tau, axis=1, initial=0.0)


def gronwall_w2(
    sde,
    T,
    lam,
    offset,
    scale,
    n_nodes=ODE_NODES,
    grading=3.0,
    *,
    nodes=False,
    l_min=0.0,
    **sched,
):
    """``(B, W2)`` at the node where ``B / W2`` is smallest, for a batch of settings: the
    probability-flow ODE from ``p_T`` with ``s~ = k s + b`` and the bound of
    ``verify.theory.kl_dynamics.ode_w2_bound``, vectorised over settings (that function
    integrates one setting's moment ODE and the bound by the trapezoid rule on uniform nodes;
    this twin uses the closed form :func:`reverse_family_moments`, is checked against it in
    the tests, and is evaluated by the claim next to it at the worst setting):

        W2^2 = sum_i S_i (z_i^2 + (sqrt(r_i) - 1)^2),
        E_q|e|^2 = sum_i [((1 - k) z_i / sqrt(S_i) + b_i)^2 + (1 - k)^2 r_i / S_i],
        Lam = -f - g2 / (2 max_i S_i),   B = e^{L} int e^{-L} g2/2 sqrt(E_q|e|^2) dtau,

    ``L = int Lam dtau``. Nodes ``t_j = T (1 - j/(n-1))^grading`` (graded towards ``t = 0``,
    where ``S_t`` changes on the scale of the data variance); the trapezoid rule on these
    nodes and on the ``2n - 1`` nodes halving them, Richardson-extrapolated
    (``(4 B_fine - B)/3``, error ``O(h^4)``). ``nodes=True`` returns ``(t, B, W2)`` at all
    ``n_nodes`` nodes instead. ``l_min > 0``: the smallest ratio over the nodes where the
    Gronwall exponent has grown to ``|L| >= l_min`` only (near ``tau = 0`` both sides are
    ``int g2/2 |e|`` to first order whatever ``Lam`` is, so the ratio there tends to 1 for any
    rate); NaN for a setting without such a node.
    """
    T = np.asarray(T, dtype=np.float64)
    n = T.shape[0]
    m = 2 * int(n_nodes) - 1
    t_nodes = T[:, None] * np.linspace(1.0, 0.0, m)[None, :] ** float(grading)
    r, z = reverse_family_moments(lam, 0.0, sde=sde, T=T, t=t_nodes, offset=offset,
                                  scale=scale, **sched)  # fmt: skip
    sc = {k: np.asarray(v, dtype=np.float64).reshape(-1, 1) for k, v in sched.items()}
    f, g2, al, s2, _ = schedule(sde, t_nodes, **sc)
    S = al[..., None] ** 2 * np.asarray(lam)[:, None, :] + s2[..., None]
    k, b = np.asarray(scale, dtype=np.float64)[:, None, None], np.asarray(offset)[:, None, :]
    W2 = np.sqrt(np.sum(S * (z * z + (np.sqrt(r) - 1.0) ** 2), axis=-1))[:, ::2]
    e_rms = np.sqrt(np.sum(((1 - k) * z / np.sqrt(S) + b) ** 2 + (1 - k) ** 2 * r / S, -1))
    Lam = -f - 0.5 * g2 / np.max(S, axis=-1)
    tau = T[:, None] - t_nodes
    h = 0.5 * g2 * e_rms
    fine = _gronwall(tau, Lam, h)[:, ::2]
    coarse = _gronwall(tau[:, ::2], Lam[:, ::2], h[:, ::2])
    B = (4.0 * fine - coarse) / 3.0
    if nodes:
        return t_nodes[:, ::2], B, W2
    from scipy import integrate

    L = integrate.cumulative_trapezoid(Lam, tau, axis=1, initial=0.0)[:, ::2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(W2[:, 1:] > 0, B[:, 1:] / W2[:, 1:], np.nan)
    ratio = np.where(np.abs(L[:, 1:]) >= l_min, ratio, np.nan)
    ok = np.any(np.isfinite(ratio), axis=1)
    i = np.argmin(np.where(np.isfinite(ratio), ratio, np.inf), axis=1)
    rows = np.arange(n)
    return np.where(ok, B[rows, i + 1], np.nan), np.where(ok, W2[rows, i + 1], np.nan)


def _ode_parts(c):
    lam = _two(c["lam1"], np.asarray(c["aniso"]) * np.asarray(c["lam1"]))
    return dict(T=np.asarray(c["T"], dtype=np.float64), lam=lam,
                offset=_pair(c["offset"], c["phi"]), scale=np.asarray(c["scale"], float),
                beta_max=np.asarray(c["beta_max"], float),
                sigma_max=np.asarray(c["sigma_max"], float))  # fmt: skip


ODE_MIN_EXPONENT = math.log(2.0)
"""The ode-w2 search measures the ratio at the nodes where the Gronwall factor ``e^L`` is at
least 2 or at most 1/2 (``|L| >= ln 2``): there a wrong ``Lam`` moves the bound by a factor."""


def _ode_eval(cols, n_nodes, l_min=ODE_MIN_EXPONENT):
    p = _ode_parts(cols)
    sde = np.asarray(cols["sde"], dtype=object)
    B, W = np.empty(len(sde)), np.empty(len(sde))
    for name in sorted(set(sde.tolist())):
        m = sde == name
        q = {k: v[m] for k, v in p.items()}
        B[m], W[m] = gronwall_w2(str(name), q["T"], q["lam"], q["offset"], q["scale"],
                                 n_nodes, beta_max=q["beta_max"],
                                 sigma_max=q["sigma_max"], l_min=l_min)  # fmt: skip
    return B, W


@_memo
def _ode_batch(**cols):
    return _ode_eval(cols, ODE_NODES)


@vectorized
def _ode_bound(**cols):
    return _ode_batch(**cols)[0]


@vectorized
def _ode_truth(**cols):
    return _ode_batch(**cols)[1]


@vectorized
def ode_domain(**cols):
    """Settings with a node where ``|L| >= ln 2`` (:data:`ODE_MIN_EXPONENT`; memoised batch)."""
    return np.isfinite(_ode_batch(**cols)[1])


def _ode_fine(**s):
    return _ode_eval({k: np.array([v]) for k, v in s.items()}, 4 * ODE_NODES - 3)


def _ode_bound_fine(**s):
    return float(_ode_fine(**s)[0][0])


def _ode_truth_fine(**s):
    return float(_ode_fine(**s)[1][0])


def ode_w2_twin_ratio(setting: dict) -> float:
    """``min B / W2`` of the twin :func:`gronwall_w2` over all its nodes at ``setting`` (what
    :func:`ode_w2_theory_ratio` computes, for the cross-check; the search's own ratio is over
    the informative nodes only)."""
    B, W = _ode_eval({k: np.array([v]) for k, v in setting.items()}, ODE_NODES, l_min=0.0)
    return float(B[0] / W[0])


def ode_w2_theory_ratio(setting: dict, n_nodes: int = 201) -> float:
    """``min B / W2`` of ``verify.theory.kl_dynamics.ode_w2_bound`` itself at ``setting`` (the
    cross-check of :func:`gronwall_w2` at the worst setting)."""
    s = setting
    T = float(s["T"])
    sde = {"OU": lambda: OU(T=T), "VP": lambda: VP(0.1, float(s["beta_max"]), T=T),
           "VE": lambda: VE(0.01, float(s["sigma_max"]), T=T)}[s["sde"]]()  # fmt: skip
    data = Gaussian(np.zeros(2), np.array([s["lam1"], s["aniso"] * s["lam1"]], dtype=float))
    b = float(s["offset"]) * np.array([math.cos(float(s["phi"])), math.sin(float(s["phi"]))])
    res = ode_w2_bound(sde, data, ScaleOffset(sde.score(data), s["scale"], b), int(n_nodes))
    return float(res.min_ratio)


ODE_SPACE = {
    "sde": ["OU", "VP", "VE"],
    "T": (0.1, 2.0, "log"),
    "lam1": (0.03, 20.0, "log"),
    "aniso": (0.01, 1.0, "log"),
    "offset": (0.0, 1.0),
    "phi": (0.0, math.pi / 2),
    "scale": (0.7, 1.3),
    "beta_max": (1.0, 30.0),
    "sigma_max": (1.0, 50.0, "log"),
}


# ------------------------------------------------------- initialization-aware bound
def _data(lam1, lam2, mean, theta) -> Gaussian:
    m = float(mean) * np.array([math.cos(float(theta)), math.sin(float(theta))])
    return Gaussian(m, np.array([float(lam1), float(lam2)]))


def _error(score, error, offset, phi, scale):
    """``verify.errors.Offset(score, b)`` or ``Scale(score, k)`` (``error`` names which): the
    time-constant errors that ``verify.theory.start_laws`` integrates in one pass."""
    if error == "offset":
        return Offset(score, float(offset) * np.array([math.cos(float(phi)),
                                                       math.sin(float(phi))]))  # fmt: skip
    return Scale(score, float(scale))


def _err_arrays(error, offset, phi, scale):
    """``(b (n, 2), k (n,))`` of :func:`_error` for a batch (zero offset / unit scale where
    the other kind is chosen)."""
    is_off = np.asarray(error, dtype=object) == "offset"
    b = _pair(np.where(is_off, np.asarray(offset, float), 0.0), phi)
    k = np.where(is_off, 1.0, np.asarray(scale, float))
    return b, k


@functools.lru_cache(maxsize=1)
def edm() -> EDM:
    """The EDM process of the initialization bounds (``sigma_max = 80``)."""
    return EDM(80.0)


def karras_grid(n_steps: int, sigma_T: float, rho: float) -> np.ndarray:
    """``grids.karras(EDM(80), N, 2e-4, sigma_T, rho)``."""
    return grids.karras(edm(), int(n_steps), SIGMA_MIN, float(sigma_T), float(rho))


def _start(data, t, delta, theta, ratio) -> Gaussian:
    pT = edm().marginal(data, float(t))
    S = np.diag(np.atleast_2d(pT.cov))
    d = float(delta) * np.array([math.cos(float(theta)), math.sin(float(theta))])
    return Gaussian(pT.mean + d * np.sqrt(S), float(ratio) * S)


@functools.lru_cache(maxsize=4096)
def _terms(lam1, lam2, mean, mtheta, sigma_T, n_steps, rho, error, offset, phi, scale, delta,
           theta, ratio, method):  # fmt: skip
    data = _data(lam1, lam2, mean, mtheta)
    grid = karras_grid(n_steps, sigma_T, rho)
    init = _start(data, grid[0], delta, theta, ratio)
    err = None if error == "none" else _error(edm().score(data), error, offset, phi, scale)
    return kl_bound_terms(edm(), data, init, grid, err, method=method, gamma=1.0)


_KL_DEFAULTS = dict(error="none", offset=0.0, phi=0.0, scale=1.0, delta=0.0, theta=0.0,
                    ratio=1.0)  # fmt: skip


def _kl_terms(method="exponential", **s):
    return _terms(**{**_KL_DEFAULTS, **s}, method=method)


def _kl_bound(**s):
    t = _kl_terms(**s)
    return t.init + t.path


def _kl_truth(**s):
    return _kl_terms(**s).true_kl


def _log_gap(x, ratio):
    """``log(ratio) - x`` where ``ratio = 1 / (1 - x)``, ``0 <= x < 1``, without cancellation:
    the series ``sum_{j >= 2} x^j / j`` below ``x = 0.1`` (20 terms: 1e-21 relative), else the
    logarithm of the ratio itself (accurate where ``1 - x`` would lose digits)."""
    x = np.asarray(x, dtype=np.float64)
    small = x < 0.1
    xs = np.where(small, x, 0.0)
    series = np.zeros_like(xs)
    for j in range(20, 1, -1):  # Horner: x^2 (1/2 + x (1/3 + x (...)))
        series = series * xs + 1.0 / j
    series = series * xs * xs
    direct = np.log(np.where(small, 1.0, ratio)) - np.where(small, 0.0, x)
    return np.where(small, series, direct)


def ve_disc_term(lam, sigmas) -> float:
    r"""The discretization term ``E_disc`` of arXiv 2603.00772 v1 §3 for a VE process (alpha
    = 1, ``g^2 dt = d sigma^2``) and data with covariance eigenvalues ``lam``, in closed form.

    With the exact score of ``N(m, diag(lam))``, per direction ``S_t = lam + sigma_t^2`` and
    ``X_{t_k} = X_t + sqrt(sigma_k^2 - sigma_t^2) xi`` (forward coupling, ``t < t_k``),
    ``E|grad log p_{t_k}(X_{t_k}) - grad log p_t(X_t)|^2 = S_t (1/S_t - 1/S_k)^2 +
    (sigma_k^2 - sigma_t^2) / S_k^2 = 1/S_t - 1/S_k`` (the mean cancels), so

    $$E_{disc} = \tfrac12 \sum_{dirs} \sum_k \int_{S_{k+1}}^{S_k} (1/S - 1/S_k)\, dS
    = \tfrac12 \sum \big[\ln(S_k/S_{k+1}) - (\sigma_k^2 - \sigma_{k+1}^2)/S_k\big],$$

    with ``x = (S_k - S_{k+1}) / S_k``, a series in ``x`` for short steps (:func:`_log_gap`).
    ``sigmas`` is the decreasing grid of noise levels (``sigma_0 = sigma_T``)."""
    sig = np.asarray(sigmas, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64).reshape(-1, 1)
    S = lam + sig[None, :] ** 2
    x = (sig[:-1] ** 2 - sig[1:] ** 2)[None, :] / S[:, :-1]
    return float(0.5 * np.sum(_log_gap(x, S[:, :-1] / S[:, 1:])))


def ve_disc_term_mp(lam, sigmas, dps: int | None = None):
    """:func:`ve_disc_term` in mpmath (the closed form term by term, at the working
    precision): the certificate's twin."""
    with mpmath.workdps(dps or mpmath.mp.dps):
        sig = [mpmath.mpf(float(x)) for x in sigmas]
        total = mpmath.mpf(0)
        for lm in lam:
            lm = mpmath.mpf(float(lm))
            for sk, sk1 in zip(sig[:-1], sig[1:], strict=True):
                Sk, Sk1 = lm + sk**2, lm + sk1**2
                total += mpmath.log(Sk / Sk1) - (sk**2 - sk1**2) / Sk
        return total / 2


def _disc_bound(**s):
    return ve_disc_term([s["lam1"], s["lam2"]], karras_grid(s["n_steps"], s["sigma_T"], s["rho"]))


def _disc_bound_mp(**s):
    grid = karras_grid(s["n_steps"], s["sigma_T"], s["rho"])
    return ve_disc_term_mp([s["lam1"], s["lam2"]], grid)


def _disc_bound_gl(**s):
    """``kl_bound_terms``' E_disc (16-node Gauss-Legendre per step): the former bound."""
    return _kl_terms(**s).disc


def _anc_truth(**s):
    return _kl_terms(method="ancestral", **s).true_kl


def ve_ancestral_kl_mp(lam, sigmas):
    """``KL(p_sigma_min || chain)`` of the EDM ancestral (DDPM posterior, gamma = 1) chain with
    the exact score from ``p_T``, for data ``N(m, diag(lam))``, in mpmath: an independent
    scalar recursion per direction (the mean is exact, so only variances enter). A step
    ``sigma_t -> sigma_s`` is ``x' = (1 - r) D(x) + r x + sqrt(sigma_s^2 (1 - r)) xi`` with
    ``r = sigma_s^2 / sigma_t^2`` and ``D(x) = lam / (lam + sigma_t^2) x`` (mean 0 per
    direction), so ``v' = M^2 v + sigma_s^2 (1 - r)``, ``M = (1 - r) lam / (lam + sigma_t^2) +
    r``; ``KL = 1/2 sum [S/v - 1 - log(S/v)]``, ``S = lam + sigma_min^2``."""
    total = mpmath.mpf(0)
    sig = [mpmath.mpf(float(x)) for x in sigmas]
    for lm in lam:
        lm = mpmath.mpf(lm)
        v = lm + sig[0] ** 2
        for st, ss in zip(sig[:-1], sig[1:], strict=True):
            r = ss**2 / st**2
            M = (1 - r) * lm / (lm + st**2) + r
            v = M * M * v + ss**2 * (1 - r)
        S = lm + sig[-1] ** 2
        total += S / v - 1 - mpmath.log(S / v)
    return total / 2


def _anc_truth_mp(**s):
    grid = karras_grid(s["n_steps"], s["sigma_T"], s["rho"])
    return ve_ancestral_kl_mp([s["lam1"], s["lam2"]], grid)


KL_SPACE = {
    "lam1": (0.01, 10.0, "log"),
    "lam2": (0.01, 10.0, "log"),
    "mean": (0.0, 2.0),
    "mtheta": (0.0, math.pi / 2),
    "sigma_T": (0.3, 80.0, "log"),
    "n_steps": (2, 100, "log", "int"),
    "rho": (1.0, 10.0),
    "error": ["offset", "scale"],
    "offset": (0.0, 0.5),
    "phi": (0.0, math.pi / 2),
    "scale": (0.8, 1.2),
    "delta": (0.0, 2.0),
    "theta": (0.0, math.pi / 2),
    "ratio": (0.25, 4.0, "log"),
}
_DISC_KEYS = ("lam1", "lam2", "mean", "mtheta", "sigma_T", "n_steps", "rho")
DISC_SPACE = {k: KL_SPACE[k] for k in _DISC_KEYS}
ANC_SPACE = {**DISC_SPACE, "n_steps": (10, 100, "log", "int")}
STEEP_SPACE = {**ANC_SPACE, "rho": (5.0, 10.0)}


# -------------------------------------- continuous-time terms: init, score, ELBO
@vectorized
def _init_truth(lam1, lam2, sigma_T, gamma, delta, theta, ratio):
    lam = _two(lam1, lam2)
    return reverse_family_kl_data(lam, gamma, "EDM", sigma_T, SIGMA_MIN,
                                  _pair(delta, theta), _two(ratio, ratio), 0.0, 1.0)  # fmt: skip


@vectorized
def _init_bound(lam1, lam2, sigma_T, gamma, delta, theta, ratio):
    # KL(p_T || N(m + delta sqrt(S), ratio S)) = 1/2 sum [h(1/ratio - 1) + delta^2 / ratio]
    r = _two(ratio, ratio)
    d = _pair(delta, theta)
    return 0.5 * np.sum(h_u_minus_log1p(1.0 / r - 1.0) + d * d / r, axis=-1)


def reverse_family_kl_data(lam, gamma, sde, T, t, delta, ratio, offset, scale, **sched):
    """``KL(p_t || q_t)`` of the continuous reverse family (``direction="data||chain"``)."""
    from .gaussian import reverse_family_kl

    return reverse_family_kl(
        lam, gamma, sde=sde, T=T, t=t, delta=delta, ratio=ratio, offset=offset, scale=scale,
        direction="data||chain", **sched,
    )  # fmt: skip


def _init_truth_mp(lam1, lam2, sigma_T, gamma, delta, theta, ratio):
    th = mpmath.mpf(theta)
    return reverse_family_kl_mp(
        [lam1, lam2], gamma, sde="EDM", T=sigma_T, t=SIGMA_MIN,
        delta=[mpmath.mpf(delta) * mpmath.cos(th), mpmath.mpf(delta) * mpmath.sin(th)],
        ratio=[ratio, ratio], direction="data||chain",
    )  # fmt: skip


def _init_bound_mp(lam1, lam2, sigma_T, gamma, delta, theta, ratio):
    r, d = mpmath.mpf(ratio), mpmath.mpf(delta)
    return (2 * (1 / r - 1 + mpmath.log(r)) + d * d / r) / 2


INIT_SPACE = {
    "lam1": (0.01, 10.0, "log"),
    "lam2": (0.01, 10.0, "log"),
    "sigma_T": (0.3, 80.0, "log"),
    "gamma": (0.0, 3.0),
    "delta": (0.0, 2.0),
    "theta": (0.0, math.pi / 2),
    "ratio": (0.25, 4.0, "log"),
}


def _score_bound(lam1, lam2, mean, mtheta, sigma_T, error, offset, phi, scale):
    data = _data(lam1, lam2, mean, mtheta)
    grid = np.geomspace(float(sigma_T), SIGMA_MIN, 33)
    err = _error(edm().score(data), error, offset, phi, scale)
    return score_error_integral(edm(), data, grid, err)


@vectorized
def _score_truth(lam1, lam2, mean, mtheta, sigma_T, error, offset, phi, scale):
    b, k = _err_arrays(error, offset, phi, scale)
    return reverse_family_kl_data(_two(lam1, lam2), 1.0, "EDM", sigma_T, SIGMA_MIN, 0.0, 1.0,
                                  b, k)  # fmt: skip


def _score_truth_mp(lam1, lam2, mean, mtheta, sigma_T, error, offset, phi, scale):
    b, k = _err_arrays(np.array([error]), offset, phi, scale)
    return reverse_family_kl_mp([lam1, lam2], 1.0, sde="EDM", T=sigma_T, t=SIGMA_MIN,
                                scale=float(k[0]), offset=b[0].tolist(),
                                direction="data||chain")  # fmt: skip


SCORE_SPACE = {
    "lam1": (0.01, 10.0, "log"),
    "lam2": (0.01, 10.0, "log"),
    "mean": (0.0, 2.0),
    "mtheta": (0.0, math.pi / 2),
    "sigma_T": (0.3, 80.0, "log"),
    "error": ["offset", "scale"],
    "offset": (0.0, 0.5),
    "phi": (0.0, math.pi / 2),
    "scale": (0.8, 1.2),
}


@functools.lru_cache(maxsize=4)
def _elbo_sde(name):
    return VP(0.1, 20.0, T=1.0) if name == "VP" else VE(0.01, 10.0, T=1.0)


def _elbo_prior_var(name, T):
    return 1.0 if name == "VP" else float(_elbo_sde(name).sigma2(T))


def _elbo_start(name, lam, mean, T):
    """``(delta, ratio)`` of the prior relative to ``p_T`` per direction."""
    s = _elbo_sde(name)
    al, s2 = float(s.alpha(T)), float(s.sigma2(T))
    S = al * al * lam + s2
    return (0.0 - al * mean) / np.sqrt(S), _elbo_prior_var(name, T) / S


def _elbo_bound(sde, T, lam1, lam2, mean, mtheta, error, offset, phi, scale):
    s = _elbo_sde(sde)
    data = _data(lam1, lam2, mean, mtheta)
    err = _error(s.score(data), error, offset, phi, scale)
    J = score_error_integral(s, data, np.geomspace(T, 1e-3, 33), err)
    delta, ratio = _elbo_start(sde, np.array([lam1, lam2]), data.mean, T)
    prior_kl = 0.5 * float(np.sum(h_u_minus_log1p(1.0 / ratio - 1.0) + delta**2 / ratio))
    return prior_kl + J


def _elbo_args(sde, T, lam1, lam2, mean, mtheta, error, offset, phi, scale):
    data = _data(lam1, lam2, mean, mtheta)
    delta, ratio = _elbo_start(sde, np.array([lam1, lam2]), data.mean, T)
    b, k = _err_arrays(np.array([error]), offset, phi, scale)
    sched = {"beta_min": 0.1, "beta_max": 20.0} if sde == "VP" else {
        "sigma_min": 0.01, "sigma_max": 10.0}  # fmt: skip
    return delta, ratio, b[0], float(k[0]), sched


def _elbo_truth(sde, T, lam1, lam2, mean, mtheta, error, offset, phi, scale):
    delta, ratio, b, k, sched = _elbo_args(sde, T, lam1, lam2, mean, mtheta, error, offset,
                                           phi, scale)  # fmt: skip
    out = reverse_family_kl_data(np.array([[lam1, lam2]]), 1.0, sde, T, 1e-3, delta[None],
                                 ratio[None], b[None], k, **sched)  # fmt: skip
    return float(out[0])


def _elbo_truth_mp(sde, T, lam1, lam2, mean, mtheta, error, offset, phi, scale):
    delta, ratio, b, k, sched = _elbo_args(sde, T, lam1, lam2, mean, mtheta, error, offset,
                                           phi, scale)  # fmt: skip
    return reverse_family_kl_mp([lam1, lam2], 1.0, sde=sde, T=T, t=1e-3, delta=delta.tolist(),
                                ratio=ratio.tolist(), offset=b.tolist(), scale=k,
                                direction="data||chain", **sched)  # fmt: skip


ELBO_SPACE = {
    "sde": ["VP", "VE"],
    "T": (0.05, 1.0, "log"),
    "lam1": (0.01, 10.0, "log"),
    "lam2": (0.01, 10.0, "log"),
    "mean": (0.0, 2.0),
    "mtheta": (0.0, math.pi / 2),
    "error": ["offset", "scale"],
    "offset": (0.0, 0.5),
    "phi": (0.0, math.pi / 2),
    "scale": (0.8, 1.2),
}

_RECON = (
    "(reconstructed: the paper's statement was not available; this is the standard result "
    "it rests on)"
)
_SMALL = {"quick": 32, "full": 600}

THEORY_BOUNDS = (
    Bound(
        "young-lsi",
        "Young + LSI approximate-score bound (gamma > 0)",
        "KL(q_t || p_t) <= B(t), B' = -(1-lam) gamma g^2/C_LSI B + (1+gamma)^2 g^2 E_q|e|^2 /"
        " (8 lam gamma), B(T) = KL(q_T || p_T)",
        "stochasticity.young-lsi-bound",
        f"arXiv 2506.11378 §2, approximate-score bound {_RECON}",
        _young_bound,
        _young_truth,
        YOUNG_SPACE,
        bound_mp=_young_bound_fine,
        truth_mp=_young_truth_mp,
        precision="truth: mpmath (50 digits); bound: young_lsi_bound on 4x finer nodes",
        atol=1e-12,
        constant=1.0,
        rtol=1e-4,
        budgets={"quick": 1024, "full": 2048},
        rung=1,
        truth_name="closed form of the reverse family with a scale and offset error, d = 2",
        grid_n=6,
        infl_n=4,
        domain=young_domain,
        domain_text="settings where the truth ends at most half its start (KL_t <= KL_T / 2);"
        " the others (little elapsed time or contraction, where every rate gives ratio 1) are "
        "excluded",
    ),
    Bound(
        "ode-w2",
        "Gronwall (synchronous coupling) W2 bound for the probability-flow ODE (gamma = 0)",
        "W2(q_t, p_t) <= int exp(int Lam) g^2/2 sqrt(E_q|e|^2) du, Lam = -f - g^2/(2 lam_max(S_t))",
        "stochasticity.ode-w2-bound",
        f"arXiv 2506.11378 abstract (Lipschitz scores, the probability-flow ODE) {_RECON}",
        _ode_bound,
        _ode_truth,
        ODE_SPACE,
        bound_mp=_ode_bound_fine,
        truth_mp=_ode_truth_fine,
        precision="the bound's quadrature on 4x finer nodes",
        constant=1.0,
        rtol=2e-4,
        atol=1e-12,
        budgets={"quick": 128, "full": 2048},
        rung=1,
        truth_name="exact W2 (closed form; ode_w2_bound itself at the worst setting)",
        grid_n=8,
        infl_n=4,
        domain=ode_domain,
        domain_text="the ratio at the nodes where the Gronwall exponent |L| >= ln 2 (near "
        "tau = 0 every rate gives ratio 1); settings without such a node are excluded",
    ),
    Bound(
        "kl-bound",
        "Initialization-aware KL bound, all terms (VE / EDM, exponential chain)",
        "KL(p_sigma_min || chain) <= KL(p_T || p_init) + 1/2 sum_k int g^2 E|s~(X_tk, tk) - "
        "grad log p_t(X_t)|^2 dt",
        "initialization.kl-bound-terms",
        f"arXiv 2603.00772 v1 §3 {_RECON}",
        _kl_bound,
        _kl_truth,
        KL_SPACE,
        precision=None,
        atol=1e-12,
        constant=1.0,
        rtol=1e-9,
        budgets={"quick": 256, "full": 1024},
        rung=2,
        truth_name="exact chain law (verify.theory.start_laws.kl_bound_terms)",
        grid_n=5,
        infl_n=3,
    ),
    Bound(
        "kl-bound-init",
        "The initialization term alone (exact score, continuous time)",
        "KL(p_sigma_min || q) <= KL(p_T || p_init) for the reverse family with any gamma",
        "initialization.kl-bound-terms",
        "standard (data processing; the initialization term of arXiv 2603.00772 v1 §3)",
        _init_bound,
        _init_truth,
        INIT_SPACE,
        bound_mp=_init_bound_mp,
        truth_mp=_init_truth_mp,
        precision="mpmath, 50 digits",
        atol=1e-12,
        constant=1.0,
        rtol=1e-10,
        budgets={"quick": 192, "full": 4096},
        rung=1,
        truth_name="closed form of the reverse family (EDM), KL(data || sampler)",
        grid_n=10,
    ),
    Bound(
        "kl-bound-score",
        "The score term alone (exact start, continuous reverse SDE)",
        "KL(p_sigma_min || q) <= 1/2 int g^2 E_p|s~ - grad log p_t|^2 dt",
        "initialization.kl-bound-terms",
        "standard (Girsanov; Song et al. 2021, Thm 1; the score term of arXiv 2603.00772 v1 §3)",
        _score_bound,
        _score_truth,
        SCORE_SPACE,
        truth_mp=_score_truth_mp,
        precision="truth: mpmath (50 digits); bound: score_error_integral in float64",
        atol=1e-12,
        constant=1.0,
        rtol=1e-9,
        budgets={"quick": 64, "full": 1024},
        rung=1,
        truth_name="closed form of the reverse SDE (EDM) with a scale and offset error",
        grid_n=6,
        infl_n=4,
    ),
    Bound(
        "kl-bound-disc",
        "The discretization term alone (exact score and start, exponential chain)",
        "KL(p_sigma_min || chain) <= E_disc = 1/2 sum_k int g^2 E|grad log p_tk(X_tk) - "
        "grad log p_t(X_t)|^2 dt",
        "initialization.kl-bound-terms",
        f"arXiv 2603.00772 v1 §3 (the discretization term) {_RECON}",
        _disc_bound,
        _kl_truth,
        DISC_SPACE,
        bound_mp=_disc_bound_mp,
        precision="bound: the closed form in mpmath (50 digits); truth: the exact chain law in "
        "float64",
        constant=1.0,
        rtol=1e-9,
        budgets=_SMALL,
        rung=2,
        truth_name="exact chain law (kl_bound_terms, exponential integrator)",
        grid_n=5,
        infl_n=3,
    ),
    Bound(
        "ve-ancestral-disc",
        "The discretization term as a bound on the VE ancestral chain (N >= 10 steps)",
        "KL(p_sigma_min || ancestral chain) <= E_disc on Karras grids of at least 10 steps",
        "initialization.ve-ancestral-disc-fine-grids",
        "this toolkit's sweep (the true statement beside initialization.ve-ancestral-disc)",
        _disc_bound,
        _anc_truth,
        ANC_SPACE,
        bound_mp=_disc_bound_mp,
        truth_mp=_anc_truth_mp,
        precision="truth: an independent mpmath recursion of the ancestral chain; bound: "
        "E_disc's closed form in mpmath (50 digits)",
        constant=1.0,
        rtol=1e-9,
        budgets=_SMALL,
        rung=2,
        truth_name="exact chain law of the ancestral (DDPM posterior) step",
        grid_n=5,
        infl_n=3,
    ),
    Bound(
        "ve-ancestral-disc-steep",
        "The discretization term as a bound on the VE ancestral chain (N >= 10, rho >= 5)",
        "KL(p_sigma_min || ancestral chain) <= E_disc on Karras grids with N >= 10, rho >= 5",
        "initialization.ve-ancestral-disc-fine-grids",
        "this toolkit's search (the true statement beside tightness.ve-ancestral-disc)",
        _disc_bound,
        _anc_truth,
        STEEP_SPACE,
        bound_mp=_disc_bound_mp,
        truth_mp=_anc_truth_mp,
        precision="truth: an independent mpmath recursion of the ancestral chain; bound: "
        "E_disc's closed form in mpmath (50 digits)",
        constant=1.0,
        rtol=1e-9,
        budgets=_SMALL,
        rung=2,
        truth_name="exact chain law of the ancestral (DDPM posterior) step",
        grid_n=5,
        infl_n=3,
    ),
    Bound(
        "elbo",
        "ELBO / Girsanov bound along the diffusion time T",
        "KL(p_tmin || model) <= KL(p_T || pi) + 1/2 int g^2 E|s~ - grad log p_t|^2 dt",
        "horizon.elbo-bound",
        "standard (Song, Durkan, Murray, Ermon 2021, Thm 1; arXiv 2206.05173 §2.1)",
        _elbo_bound,
        _elbo_truth,
        ELBO_SPACE,
        truth_mp=_elbo_truth_mp,
        precision="truth: mpmath (50 digits); bound: score_error_integral in float64",
        atol=1e-12,
        constant=1.0,
        rtol=1e-9,
        budgets={"quick": 64, "full": 1024},
        rung=1,
        truth_name="closed form of the reverse SDE from the prior (VP, VE)",
        grid_n=6,
        infl_n=4,
    ),
)
