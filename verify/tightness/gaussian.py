r"""Exact rungs for Gaussian data, vectorised over settings (the search's fast truths).

Every function takes arrays of settings (a leading axis ``n``; per-direction quantities
``(n, d)``, broadcast from scalars or ``(d,)``) and returns ``(n,)`` values, so one call
evaluates a batch of the search. Data ``p_0 = N(m_0, diag(lam))`` in its eigenbasis: the
processes are isotropic, so every quantity splits over the eigendirections (docs/theory.md,
"Exact chain laws"). An ``_mp`` twin of each function evaluates one setting in mpmath at the
working precision (``mpmath.workdps``): the search's certificates.

Schedules (:func:`schedule`, the formulas of ``analytic.sde`` with array parameters):

* ``OU``: ``f = -1``, ``g2 = 2``, ``alpha = e^{-t}``, ``sigma2 = 1 - e^{-2t}``;
* ``VP``: ``beta = b0 + (b1 - b0) t``, ``B = b0 t + (b1 - b0) t^2/2``, ``f = -beta/2``,
  ``g2 = beta``, ``alpha = e^{-B/2}``, ``sigma2 = 1 - e^{-B}``;
* ``VE``: ``sigma(t) = smin (smax/smin)^t``, ``L = log(smax/smin)``, ``f = 0``,
  ``g2 = 2 L smin^2 e^{2 L t}``, ``alpha = 1``, ``sigma2 = smin^2 (e^{2 L t} - 1)``;
* ``EDM``: ``t = sigma``, ``f = 0``, ``g2 = 2 t``, ``alpha = 1``, ``sigma2 = t^2``;

and ``sbar2 = sigma2 / alpha^2`` (``expm1(2t)``, ``expm1(B)``, ``sigma2``).

Euler chain (:func:`euler_chain_kl`). Uniform grid ``t_k = T + k/N (t_min - T)``, step
``t -> s``, ``h = t - s``; Euler-Maruyama of the reverse family with stochasticity ``gamma``
(``verify.solvers.methods``): ``y' = (1 - h f(t)) y + h (1+gamma)/2 g2(t) s~(y, t) +
sqrt(gamma g2(t) h) xi``. With the exact score ``s = -P y + c``, ``P = 1/(alpha^2 lam +
sigma2)``, ``c = P alpha m_0``, and the error ``s~ = k s + b`` (scale ``k``, offset ``b``),
each direction is the scalar Gaussian recursion

    mu' = M mu + u,  v' = M^2 v + Q,   M = 1 - h f - B (k P),  u = B (k c + b),  Q = gamma g2 h,

with ``B = h (1+gamma)/2 g2(t)``, from ``p_T`` (``start="exact"``) or the prior
(``N(0, 1)`` for OU/VP, ``N(0, sigma2(T))`` for VE). The output KL to
``p_{t_min} = N(alpha m_0, S)``, ``S = alpha^2 lam + sigma2`` at ``t_min``, is
``1/2 sum_i [h(v_i/S_i - 1) + (mu_i - alpha m_0i)^2 / S_i]`` (``direction="chain||data"``) or
``1/2 sum_i [h(S_i/v_i - 1) + (mu_i - alpha m_0i)^2 / v_i]`` (``"data||chain"``), with
``h(u) = u - log(1 + u)`` (``analytic.divergence.h_u_minus_log1p``). Settings with different
``N`` share one loop over ``max N`` steps (steps past a setting's ``N`` are the identity).

Continuous time, exact score (:func:`continuous_kl`, formula (G) of docs/theory.md per
eigendirection): from ``N(mu_0, v_0)`` at ``T`` the reverse family at forward time ``t`` has
``r - 1 = (r_0 - 1) e^{-Gamma}``, ``q = q_0 e^{-Gamma}`` with ``r_0 = v_0 / S(T)``,
``q_0 = (mu_0 - alpha(T) m_0)^2 / S(T)`` and ``e^{-Gamma} = ((lam + sbar2(t)) / (lam +
sbar2(T)))^gamma``, so ``KL(q_t || p_t) = 1/2 sum_i [h(r_i - 1) + q_i]``.

Continuous time with a scale and offset error (:func:`reverse_family_moments`,
:func:`reverse_family_kl`; derived in docs/claims/tightness.md). With ``s~ = k s + b``, a
constant ``gamma`` and ``a = 1 - (1 + gamma) k``, the normalised variance ``r = v / S(t)`` and
mean error ``z = (mu - alpha m_0) / sqrt(S(t))`` of each direction obey, in the variable
``s(t) = log(lam + sbar2(t))`` (``ds/dt = g2 / S``), the linear constant-coefficient equations
``dr/ds = -(a r + gamma)`` and ``dz/ds = -(a z + (1 + gamma) b sqrt(S)) / 2``. With
``Delta = s(t) - s(T) <= 0``:

    r(t) = r_0 e^{-a Delta} + gamma (-Delta) phi(-a Delta),    phi(x) = expm1(x) / x,
    z(t) = z_0 e^{-a Delta / 2}
           + (1+gamma)/2 b int_{s(t)}^{s(T)} e^{-a (s(t) - s) / 2} sqrt(S) ds,

with ``sqrt(S) = alpha e^{s/2}``, ``alpha = 1`` (VE, EDM) or ``alpha^2 = 1 / (1 + sbar2)``
(OU, VP: ``alpha^2 + sigma2 = 1``), so the integrand is explicit in ``s`` and smooth:
composite 12-node Gauss-Legendre in ``s`` on panels at distances 0, 0.5, 1.5, 3.5, ..., 31.5
from ``s(t)`` (``a <= 0``) or from ``s(T)`` (``a > 0``): the integrand varies like
``e^{a (s - s(t))/2}`` and is largest at that end. For ``k = 1`` this is (G).
``KL(q_t || p_t) = 1/2 sum_i [h(r_i - 1) + z_i^2]`` and ``KL(p_t || q_t) = 1/2 sum_i
[h(1/r_i - 1) + z_i^2 / r_i]``.

LSI rate bound (:func:`lsi_rate_bound`): ``H_t <= H_T exp(-int_t^T gamma g2 / C(p_u) du)``
with ``C(p_u) = alpha^2 lam_max + sigma2`` (``analytic.lsi.marginal_lsi_bound``, equality for
Gaussian data); since ``g2 / (alpha^2 lam + sigma2) = d/du log(lam + sbar2(u))`` the exponent
is ``gamma log((lam_max + sbar2(T)) / (lam_max + sbar2(t)))``.
"""

from __future__ import annotations

import mpmath
import numpy as np
from numpy.typing import ArrayLike

from analytic.divergence import h_u_minus_log1p

__all__ = [
    "SDES",
    "schedule",
    "schedule_mp",
    "euler_chain_kl",
    "euler_chain_kl_mp",
    "continuous_kl",
    "continuous_kl_mp",
    "lsi_rate_bound",
    "lsi_rate_bound_mp",
    "lsi_rate_exponents",
    "lsi_rate_exponents_mp",
    "reverse_family_moments",
    "reverse_family_kl",
    "reverse_family_kl_mp",
]

SDES = ("OU", "VP", "VE", "EDM")


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def schedule(
    sde: str,
    t: ArrayLike,
    *,
    beta_min: ArrayLike = 0.1,
    beta_max: ArrayLike = 20.0,
    sigma_min: ArrayLike = 0.01,
    sigma_max: ArrayLike = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(f, g2, alpha, sigma2, sbar2)`` at forward times ``t`` (module docstring; arrays)."""
    t = _arr(t)
    if sde == "OU":
        one = np.ones_like(t)
        return -one, 2.0 * one, np.exp(-t), -np.expm1(-2.0 * t), np.expm1(2.0 * t)
    if sde == "VP":
        b0, b1 = _arr(beta_min), _arr(beta_max)
        beta = b0 + (b1 - b0) * t
        B = t * (b0 + 0.5 * (b1 - b0) * t)
        return -0.5 * beta, beta, np.exp(-0.5 * B), -np.expm1(-B), np.expm1(B)
    if sde == "VE":
        smin, smax = _arr(sigma_min), _arr(sigma_max)
        L = np.log(smax / smin)
        s2 = smin * smin * np.expm1(2.0 * L * t)
        zero = np.zeros(np.broadcast(t, L).shape)
        return zero, 2.0 * L * smin * smin * np.exp(2.0 * L * t), zero + 1.0, s2, s2
    if sde == "EDM":
        zero = np.zeros_like(t)
        return zero, 2.0 * t, zero + 1.0, t * t, t * t
    raise ValueError(f"sde must be one of {SDES}, got {sde!r}")


def schedule_mp(
    sde: str,
    t: float,
    *,
    beta_min: float = 0.1,
    beta_max: float = 20.0,
    sigma_min: float = 0.01,
    sigma_max: float = 10.0,
) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """:func:`schedule` for one setting in mpmath (working precision)."""
    t = mpmath.mpf(t)
    if sde == "OU":
        return (
            mpmath.mpf(-1),
            mpmath.mpf(2),
            mpmath.exp(-t),
            -mpmath.expm1(-2 * t),
            mpmath.expm1(2 * t),
        )
    if sde == "VP":
        b0, b1 = mpmath.mpf(beta_min), mpmath.mpf(beta_max)
        beta = b0 + (b1 - b0) * t
        B = t * (b0 + (b1 - b0) * t / 2)
        return -beta / 2, beta, mpmath.exp(-B / 2), -mpmath.expm1(-B), mpmath.expm1(B)
    if sde == "VE":
        smin, smax = mpmath.mpf(sigma_min), mpmath.mpf(sigma_max)
        L = mpmath.log(smax / smin)
        s2 = smin**2 * mpmath.expm1(2 * L * t)
        return mpmath.mpf(0), 2 * L * smin**2 * mpmath.exp(2 * L * t), mpmath.mpf(1), s2, s2
    if sde == "EDM":
        return mpmath.mpf(0), 2 * t, mpmath.mpf(1), t * t, t * t
    raise ValueError(f"sde must be one of {SDES}, got {sde!r}")


def _check_sde(sde):
    if sde not in SDES:
        raise ValueError(f"sde must be one of {SDES}, got {sde!r}")


def _direction(direction):
    if direction not in ("chain||data", "data||chain"):
        raise ValueError(f"direction must be 'chain||data' or 'data||chain', got {direction!r}")


def _prior_var(sde, T, sched):
    if sde in ("VE", "EDM"):
        return schedule(sde, T, **sched)[3]
    return np.ones_like(_arr(T))


def _kl_gauss(mu, v, m, S, direction):
    """Summed per-direction KL of diagonal Gaussians ``N(mu, v)`` and ``N(m, S)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "chain||data":
            per = h_u_minus_log1p(v / S - 1.0) + (mu - m) ** 2 / S
        else:
            per = h_u_minus_log1p(S / v - 1.0) + (mu - m) ** 2 / v
    return 0.5 * np.sum(per, axis=-1)


def _batch(lam, scalars: dict, per_dir: dict):
    """Broadcast a batch: ``(n, d, lam (n, d), {name: (n, 1)}, {name: (n, d)}, scalar?)``.

    The batch size ``n`` comes from the ``(n,)`` per-setting arguments and ``(n, d)`` arrays.
    ``lam`` of shape ``(n, d)``; a 1-D ``lam`` is one eigenvalue per setting (``d = 1``) when
    the batch has ``n > 1`` settings and ``len(lam) == n``, and the eigenvalues ``(d,)`` of a
    single setting otherwise (pass ``(1, d)`` to share ``d`` eigenvalues across a batch); the
    same rule applies to a 1-D ``mean`` / ``offset`` when ``d = 1``.
    """
    lam = _arr(lam)
    if lam.ndim > 2:
        raise ValueError(f"lam must be a scalar, (d,) or (n, d), got shape {lam.shape}")
    sc = {k: _arr(v) for k, v in scalars.items()}
    pd = {k: _arr(v) for k, v in per_dir.items()}
    for k, v in sc.items():
        if v.ndim > 1:
            raise ValueError(f"{k} must be a scalar or a (n,) array, got shape {v.shape}")
    lead = [v.shape[0] for v in sc.values() if v.ndim == 1]
    lead += [v.shape[0] for v in pd.values() if v.ndim == 2]
    if lam.ndim == 2:
        lead.append(lam.shape[0])
    try:
        n = int(np.broadcast_shapes(*[(m,) for m in lead])[0]) if lead else 1
    except ValueError:
        raise ValueError(f"settings of different lengths {sorted(set(lead))}") from None
    if lam.ndim == 2:
        lam2 = lam
    elif lam.ndim == 1 and n > 1:
        if lam.shape[0] != n:
            raise ValueError(
                f"lam of shape {lam.shape} is ambiguous for a batch of {n} settings: pass "
                f"(n,) for one eigenvalue per setting or (n, d) / (1, d)"
            )
        lam2 = lam.reshape(-1, 1)
    else:
        lam2 = lam.reshape(1, -1)
    d = lam2.shape[1]
    cols = {k: np.broadcast_to(v.reshape(-1, 1) if v.ndim else v, (n, 1)) for k, v in sc.items()}
    dirs = {}
    for k, v in pd.items():
        if v.ndim == 1 and d == 1 and n > 1 and v.shape[0] == n:
            v2 = v.reshape(-1, 1)
        else:
            v2 = v if v.ndim == 2 else v.reshape(1, -1) if v.ndim == 1 else v.reshape(1, 1)
        try:
            dirs[k] = np.broadcast_to(v2, (n, d))
        except ValueError:
            raise ValueError(f"{k} of shape {v.shape} does not broadcast to ({n}, {d})") from None
    scalar = lam.ndim <= 1 and n == 1 and all(v.ndim == 0 for v in sc.values())
    scalar = scalar and all(v.ndim <= 1 for v in pd.values())
    return n, d, np.broadcast_to(lam2, (n, d)), cols, dirs, scalar


def euler_chain_kl(
    lam: ArrayLike,
    n_steps: ArrayLike,
    gamma: ArrayLike = 1.0,
    *,
    sde: str = "VP",
    T: ArrayLike = 1.0,
    t_min: ArrayLike = 1e-3,
    mean: ArrayLike = 0.0,
    offset: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    start: str = "exact",
    direction: str = "chain||data",
    beta_min: ArrayLike = 0.1,
    beta_max: ArrayLike = 20.0,
    sigma_min: ArrayLike = 0.01,
    sigma_max: ArrayLike = 10.0,
) -> float | np.ndarray:
    """Exact KL of the Euler-Maruyama chain's output, for a batch of settings (docstring).

    ``lam``: data eigenvalues ``(n, d)`` (or ``(d,)`` / scalar); ``mean``, ``offset``:
    per-direction data mean and score offset (broadcast to ``(n, d)``); ``n_steps``,
    ``gamma``, ``T``, ``t_min``, ``scale`` and the schedule parameters: ``(n,)`` or scalars.
    Returns ``(n,)`` KLs (a float when every input is a single setting).
    """
    _check_sde(sde)
    _direction(direction)
    if start not in ("exact", "prior"):
        raise ValueError(f"start must be 'exact' or 'prior', got {start!r}")
    scal = dict(
        N=n_steps,
        g=gamma,
        T=T,
        tm=t_min,
        k=scale,
        beta_min=beta_min,
        beta_max=beta_max,
        sigma_min=sigma_min,
        sigma_max=sigma_max,
    )
    n, d, lam2, c, dirs, scalar = _batch(lam, scal, {"m0": mean, "b": offset})
    N, g, T_, tm, k = c["N"], c["g"], c["T"], c["tm"], c["k"]
    if np.any(lam2 < 0) or not np.all(np.isfinite(lam2)):
        raise ValueError("lam must be finite and >= 0")
    if np.any(N < 1) or np.any(N != np.rint(N)):
        raise ValueError("n_steps must be positive integers")
    if np.any(g < 0):
        raise ValueError("gamma must be >= 0")
    if np.any(tm < 0) or np.any(tm >= T_):
        raise ValueError("need 0 <= t_min < T")
    sched = {key: c[key] for key in ("beta_min", "beta_max", "sigma_min", "sigma_max")}
    m0, b = dirs["m0"], dirs["b"]
    _, _, aT, s2T, _ = schedule(sde, T_, **sched)
    if start == "exact":
        mu, v = aT * m0, aT * aT * lam2 + s2T
    else:
        mu, v = np.zeros((n, d)), np.broadcast_to(_prior_var(sde, T_, sched), (n, d)).copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(int(np.max(N))):
            active = j < N
            t = np.where(j == 0, T_, T_ + (tm - T_) * (j / N))
            s = np.where(j + 1 == N, tm, T_ + (tm - T_) * ((j + 1) / N))
            h = t - s
            f, g2, al, s2, _ = schedule(sde, t, **sched)
            P = 1.0 / (al * al * lam2 + s2)
            B = h * 0.5 * (1.0 + g) * g2
            M = np.where(active, 1.0 - h * f - B * (k * P), 1.0)
            u = np.where(active, B * (k * P * al * m0 + b), 0.0)
            mu = M * mu + u
            v = M * M * v + np.where(active, g * g2 * h, 0.0)
        _, _, al, s2, _ = schedule(sde, tm, **sched)
        out = _kl_gauss(mu, v, al * m0, al * al * lam2 + s2, direction)
    return float(out[0]) if scalar else out


def euler_chain_kl_mp(
    lam: float,
    n_steps: int,
    gamma: float = 1.0,
    *,
    sde: str = "VP",
    T: float = 1.0,
    t_min: float = 1e-3,
    mean: float = 0.0,
    offset: float = 0.0,
    scale: float = 1.0,
    start: str = "exact",
    direction: str = "chain||data",
    beta_min: float = 0.1,
    beta_max: float = 20.0,
    sigma_min: float = 0.01,
    sigma_max: float = 10.0,
) -> mpmath.mpf:
    """:func:`euler_chain_kl` for one setting in mpmath (``lam`` a scalar or a list)."""
    _check_sde(sde)
    _direction(direction)
    lam = [mpmath.mpf(x) for x in np.atleast_1d(np.asarray(lam, dtype=object)).tolist()]
    d = len(lam)

    def vec(x):
        x = np.atleast_1d(np.asarray(x, dtype=object)).tolist()
        return [mpmath.mpf(v) for v in (x if len(x) == d else x * d)]

    m0, b = vec(mean), vec(offset)
    N = int(n_steps)
    g, T_, tm, k = (mpmath.mpf(x) for x in (gamma, T, t_min, scale))
    sched = dict(beta_min=beta_min, beta_max=beta_max, sigma_min=sigma_min, sigma_max=sigma_max)
    _, _, aT, s2T, _ = schedule_mp(sde, T_, **sched)
    if start == "exact":
        mu = [aT * m for m in m0]
        v = [aT**2 * x + s2T for x in lam]
    else:
        pv = s2T if sde in ("VE", "EDM") else mpmath.mpf(1)
        mu, v = [mpmath.mpf(0)] * d, [pv] * d
    for j in range(N):
        t = T_ if j == 0 else T_ + (tm - T_) * j / N
        s = tm if j + 1 == N else T_ + (tm - T_) * (j + 1) / N
        h = t - s
        f, g2, al, s2, _ = schedule_mp(sde, t, **sched)
        B = h * (1 + g) / 2 * g2
        for i in range(d):
            P = 1 / (al**2 * lam[i] + s2)
            M = 1 - h * f - B * k * P
            mu[i] = M * mu[i] + B * (k * P * al * m0[i] + b[i])
            v[i] = M * M * v[i] + g * g2 * h
    _, _, al, s2, _ = schedule_mp(sde, tm, **sched)
    total = mpmath.mpf(0)
    for i in range(d):
        S, m = al**2 * lam[i] + s2, al * m0[i]
        if direction == "chain||data":
            total += v[i] / S - 1 - mpmath.log(v[i] / S) + (mu[i] - m) ** 2 / S
        else:
            total += S / v[i] - 1 - mpmath.log(S / v[i]) + (mu[i] - m) ** 2 / v[i]
    return total / 2


def _decays(lam, gamma, sde, T, t, delta, ratio, sched, top: bool):
    scal = dict(g=gamma, T=T, t=t, **sched)
    n, d, lam2, c, dirs, scalar = _batch(lam, scal, {"delta": delta, "ratio": ratio})
    if np.any(lam2 <= 0) or np.any(dirs["ratio"] <= 0) or np.any(c["g"] < 0):
        raise ValueError("need lam > 0, ratio > 0 and gamma >= 0")
    if np.any(c["t"] < 0) or np.any(c["t"] > c["T"]):
        raise ValueError("need 0 <= t <= T")
    sc = {key: c[key] for key in sched}
    sbT = schedule(sde, c["T"], **sc)[4]
    sbt = schedule(sde, c["t"], **sc)[4]
    lam_used = np.max(lam2, axis=1, keepdims=True) if top else lam2
    decay = ((lam_used + sbt) / (lam_used + sbT)) ** c["g"]
    return decay, dirs["ratio"] - 1.0, dirs["delta"] ** 2, scalar


def _sched(beta_min, beta_max, sigma_min, sigma_max):
    return dict(beta_min=beta_min, beta_max=beta_max, sigma_min=sigma_min, sigma_max=sigma_max)


def continuous_kl(
    lam: ArrayLike,
    gamma: ArrayLike,
    *,
    sde: str = "OU",
    T: ArrayLike = 1.0,
    t: ArrayLike = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    beta_min: ArrayLike = 0.1,
    beta_max: ArrayLike = 20.0,
    sigma_min: ArrayLike = 0.01,
    sigma_max: ArrayLike = 10.0,
) -> float | np.ndarray:
    """``KL(q_t || p_t)`` of the continuous reverse family by (G), batched (docstring).

    The start law at ``T`` is ``N(alpha(T) m_0 + delta sqrt(S(T)), ratio S(T))`` per
    direction (``delta``, ``ratio`` broadcast to ``(n, d)``): ``q_0 = delta^2``,
    ``r_0 = ratio``. ``lam`` ``(n, d)``; ``gamma``, ``T``, ``t`` and the schedule ``(n,)``.
    """
    _check_sde(sde)
    sched = _sched(beta_min, beta_max, sigma_min, sigma_max)
    decay, r0m1, q0, scalar = _decays(lam, gamma, sde, T, t, delta, ratio, sched, top=False)
    out = 0.5 * np.sum(h_u_minus_log1p(r0m1 * decay) + q0 * decay, axis=1)
    return float(out[0]) if scalar else out


def lsi_rate_bound(
    lam: ArrayLike,
    gamma: ArrayLike,
    *,
    sde: str = "OU",
    T: ArrayLike = 1.0,
    t: ArrayLike = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    beta_min: ArrayLike = 0.1,
    beta_max: ArrayLike = 20.0,
    sigma_min: ArrayLike = 0.01,
    sigma_max: ArrayLike = 10.0,
) -> float | np.ndarray:
    """``H_T ((lam_max + sbar2(t)) / (lam_max + sbar2(T)))^gamma``, batched (docstring);
    ``H_T`` the start KL, arguments as :func:`continuous_kl`."""
    _check_sde(sde)
    sched = _sched(beta_min, beta_max, sigma_min, sigma_max)
    decay, r0m1, q0, scalar = _decays(lam, gamma, sde, T, t, delta, ratio, sched, top=True)
    H0 = 0.5 * np.sum(h_u_minus_log1p(r0m1) + q0, axis=1)
    out = H0 * decay[:, 0]
    return float(out[0]) if scalar else out


def _sbar2_gap(sde, T, t, sched):
    """``sbar2(T) - sbar2(t)`` without cancellation for ``t`` near ``T`` (arrays)."""
    dt = T - t
    if sde == "OU":
        return np.exp(2.0 * t) * np.expm1(2.0 * dt)
    if sde == "VP":
        b0, b1 = sched["beta_min"], sched["beta_max"]
        Bt = t * (b0 + 0.5 * (b1 - b0) * t)
        return np.exp(Bt) * np.expm1(dt * (b0 + 0.5 * (b1 - b0) * (T + t)))
    if sde == "VE":
        smin, smax = sched["sigma_min"], sched["sigma_max"]
        L = np.log(smax / smin)
        return smin * smin * np.exp(2.0 * L * t) * np.expm1(2.0 * L * dt)
    return dt * (T + t)  # EDM


def lsi_rate_exponents(
    lam: ArrayLike,
    gamma: ArrayLike,
    *,
    sde: str = "OU",
    T: ArrayLike = 1.0,
    t: ArrayLike = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    beta_min: ArrayLike = 0.1,
    beta_max: ArrayLike = 20.0,
    sigma_min: ArrayLike = 0.01,
    sigma_max: ArrayLike = 10.0,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    r"""``(E_truth, E_bound)``: the decay exponents of the truth and of the LSI rate bound,
    batched (arguments as :func:`continuous_kl`).

    $E_{truth} = \ln(H_T / H_t)$ with $H$ the KL of (G) and $E_{bound} = \Gamma_{top} =
    \gamma \ln((\lambda_{max} + \bar\sigma^2(T)) / (\lambda_{max} + \bar\sigma^2(t)))$; the
    bound $H_t \le H_T e^{-E_{bound}}$ is $E_{truth} \ge E_{bound}$. Both without cancellation
    when the exponents are small: $\Gamma_i = \gamma\,\mathrm{log1p}(\Delta\bar\sigma^2 /
    (\lambda_i + \bar\sigma^2(t)))$ with the gap $\Delta\bar\sigma^2$ in closed form, and
    $H_t - H_T = \tfrac12 \sum_i [u w_i + h(w_i) + q_i (x_i - 1)]$, $x_i - 1 =
    \mathrm{expm1}(-\Gamma_i)$, $u = r_0 - 1$, $w_i = u (x_i - 1) / r_0$ (because $h(u x) - h(u)
    = (1 + u) w - \log(1 + w)$), so $E_{truth} = -\mathrm{log1p}((H_t - H_T) / H_T)$ while
    $H_t > H_T / 2$, and $\ln(H_T / H_t)$ from $H_t$ itself beyond.
    """
    _check_sde(sde)
    sched = _sched(beta_min, beta_max, sigma_min, sigma_max)
    scal = dict(g=gamma, T=T, t=t, **sched)
    n, d, lam2, c, dirs, scalar = _batch(lam, scal, {"delta": delta, "ratio": ratio})
    if np.any(lam2 <= 0) or np.any(dirs["ratio"] <= 0) or np.any(c["g"] < 0):
        raise ValueError("need lam > 0, ratio > 0 and gamma >= 0")
    if np.any(c["t"] < 0) or np.any(c["t"] > c["T"]):
        raise ValueError("need 0 <= t <= T")
    sc = {key: c[key] for key in sched}
    sbt = schedule(sde, c["t"], **sc)[4]
    gap = _sbar2_gap(sde, c["T"], c["t"], sc)
    Gam = c["g"] * np.log1p(gap / (lam2 + sbt))  # (n, d)
    top = np.argmax(lam2, axis=1)
    E_bound = Gam[np.arange(n), top]
    xm1 = np.expm1(-Gam)
    u, q = dirs["ratio"] - 1.0, dirs["delta"] ** 2
    w = u * xm1 / dirs["ratio"]
    H_T = 0.5 * np.sum(h_u_minus_log1p(u) + q, axis=1)
    D = 0.5 * np.sum(u * w + h_u_minus_log1p(w) + q * xm1, axis=1)
    x = np.exp(-Gam)
    H_t = 0.5 * np.sum(h_u_minus_log1p(u * x) + q * x, axis=1)  # direct: accurate for large Gam
    with np.errstate(divide="ignore", invalid="ignore"):
        near = D / H_T > -0.5
        E_truth = np.where(near, -np.log1p(np.where(near, D / H_T, 0.0)), np.log(H_T / H_t))
    if scalar:
        return float(E_truth[0]), float(E_bound[0])
    return E_truth, E_bound


def lsi_rate_exponents_mp(
    lam: ArrayLike,
    gamma: float,
    *,
    sde: str = "OU",
    T: float = 1.0,
    t: float = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    **sched: float,
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """:func:`lsi_rate_exponents` for one setting in mpmath (from :func:`continuous_kl_mp` at
    ``t`` and at ``T``, at the working precision)."""
    H_t = continuous_kl_mp(lam, gamma, sde=sde, T=T, t=t, delta=delta, ratio=ratio, **sched)
    H_T = continuous_kl_mp(lam, gamma, sde=sde, T=T, t=T, delta=delta, ratio=ratio, **sched)
    lm = max(_mp_list(lam, len(np.atleast_1d(lam))))
    sbT = schedule_mp(sde, T, **sched)[4]
    sbt = schedule_mp(sde, t, **sched)[4]
    return mpmath.log(H_T / H_t), mpmath.mpf(gamma) * mpmath.log((lm + sbT) / (lm + sbt))


def _mp_list(x, d):
    x = np.atleast_1d(np.asarray(x, dtype=object)).tolist()
    return [mpmath.mpf(v) for v in (x if len(x) == d else x * d)]


def continuous_kl_mp(
    lam: ArrayLike,
    gamma: float,
    *,
    sde: str = "OU",
    T: float = 1.0,
    t: float = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    **sched: float,
) -> mpmath.mpf:
    """:func:`continuous_kl` for one setting in mpmath."""
    lam = _mp_list(lam, len(np.atleast_1d(lam)))
    d = len(lam)
    delta, ratio = _mp_list(delta, d), _mp_list(ratio, d)
    sbT = schedule_mp(sde, T, **sched)[4]
    sbt = schedule_mp(sde, t, **sched)[4]
    g = mpmath.mpf(gamma)
    total = mpmath.mpf(0)
    for i in range(d):
        decay = ((lam[i] + sbt) / (lam[i] + sbT)) ** g
        u = (ratio[i] - 1) * decay
        total += u - mpmath.log1p(u) + delta[i] ** 2 * decay
    return total / 2


def lsi_rate_bound_mp(
    lam: ArrayLike,
    gamma: float,
    *,
    sde: str = "OU",
    T: float = 1.0,
    t: float = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    **sched: float,
) -> mpmath.mpf:
    """:func:`lsi_rate_bound` for one setting in mpmath."""
    lam = _mp_list(lam, len(np.atleast_1d(lam)))
    d = len(lam)
    delta, ratio = _mp_list(delta, d), _mp_list(ratio, d)
    sbT = schedule_mp(sde, T, **sched)[4]
    sbt = schedule_mp(sde, t, **sched)[4]
    lmax = max(lam)
    H0 = sum((r - 1) - mpmath.log(r) + q**2 for r, q in zip(ratio, delta, strict=True)) / 2
    return H0 * ((lmax + sbt) / (lmax + sbT)) ** mpmath.mpf(gamma)


# ------------------------------------------- continuous time, scale and offset errors
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_S_BREAKS = np.array([0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, np.inf])
"""Panel breakpoints (distance from ``s(t)``) of the composite rule for ``z``: the integrand
decays or grows like ``e^{-a (s - s(t))/2}``, on a scale of order 1 in ``s``."""


def _phi(x):
    """``expm1(x) / x`` (1 at 0), elementwise."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(small, 1.0 + 0.5 * x, np.expm1(x) / np.where(small, 1.0, x))
    return out


def reverse_family_moments(
    lam: ArrayLike,
    gamma: ArrayLike,
    *,
    sde: str = "OU",
    T: ArrayLike = 1.0,
    t: ArrayLike = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    offset: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    beta_min: ArrayLike = 0.1,
    beta_max: ArrayLike = 20.0,
    sigma_min: ArrayLike = 0.01,
    sigma_max: ArrayLike = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(r, z)`` of the continuous reverse family with ``s~ = k s + b`` (module docstring).

    ``lam``, ``delta``, ``ratio``, ``offset`` per direction (``(n, d)``); ``gamma``, ``T``,
    ``scale`` and the schedule ``(n,)``; ``t`` ``(n,)`` or ``(n, m)`` forward times (``m``
    nodes per setting). Returns arrays ``(n, d)`` (or ``(n, m, d)``).
    """
    _check_sde(sde)
    sched = _sched(beta_min, beta_max, sigma_min, sigma_max)
    t = _arr(t)
    nodes = t.ndim == 2
    scal = dict(g=gamma, T=T, k=scale, **sched)
    if not nodes:
        scal["t"] = t
    per = {"delta": delta, "ratio": ratio, "b": offset}
    n, d, lam2, c, dirs, _ = _batch(lam, scal, per)
    tt = (np.broadcast_to(t, (n, t.shape[1])) if nodes else c["t"])[:, :, None]  # (n, m, 1)
    T_, g, k = c["T"][:, :, None], c["g"][:, :, None], c["k"][:, :, None]
    if np.any(tt < 0) or np.any(tt > T_) or np.any(lam2 <= 0) or np.any(dirs["ratio"] <= 0):
        raise ValueError("need 0 <= t <= T, lam > 0 and ratio > 0")
    sc = {key: c[key][:, :, None] for key in sched}
    L, r0, z0, b = (x[:, None, :] for x in (lam2, dirs["ratio"], dirs["delta"], dirs["b"]))
    a = 1.0 - (1.0 + g) * k
    s_t = np.log(L + schedule(sde, tt, **sc)[4])
    Delta = s_t - np.log(L + schedule(sde, T_, **sc)[4])
    r = r0 * np.exp(-a * Delta) + g * (-Delta) * _phi(-a * Delta)
    # z: int_{s_t}^{s_T} e^{-a (s_t - s)/2} sqrt(S) ds by Gauss-Legendre in s (smooth there):
    # sqrt(S) = alpha e^{s/2} with alpha = 1 (VE, EDM) or alpha^2 = 1/(1 + sbar2) (OU, VP)
    s_T = s_t - Delta
    # panels graded from the end where the integrand ~ e^{a (s - s(t))/2} is largest
    dist = np.minimum(_S_BREAKS, (s_T - s_t)[..., None])  # (n, m, d, P+1)
    lo, width = dist[..., :-1, None], np.diff(dist, axis=-1)[..., None]
    off = lo + width * (0.5 * (_GL_X + 1.0))  # distances from the graded end, (n, m, d, P, q)
    top = np.broadcast_to(a > 0, s_t.shape)[..., None, None]
    sq = np.where(top, s_T[..., None, None] - off, s_t[..., None, None] + off)
    sqrtS = np.exp(0.5 * sq)
    if sde in ("OU", "VP"):
        sqrtS = sqrtS / np.sqrt(1.0 + np.exp(sq) - L[..., None, None])
    integrand = np.exp(-0.5 * a[..., None, None] * (s_t[..., None, None] - sq)) * sqrtS
    integral = np.sum(0.5 * width[..., 0] * (integrand @ _GL_W), axis=-1)
    z = z0 * np.exp(-0.5 * a * Delta) + 0.5 * (1.0 + g) * b * integral
    if not nodes:
        r, z = r[:, 0, :], z[:, 0, :]
    return r, z


def reverse_family_kl(
    lam: ArrayLike,
    gamma: ArrayLike,
    *,
    direction: str = "chain||data",
    **kw: float,
) -> float | np.ndarray:
    """``KL`` between the reverse family with ``s~ = k s + b`` and ``p_t`` (batched; arguments
    as :func:`reverse_family_moments`; ``direction`` as :func:`euler_chain_kl`)."""
    _direction(direction)
    r, z = reverse_family_moments(lam, gamma, **kw)
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "chain||data":
            per = h_u_minus_log1p(r - 1.0) + z * z
        else:
            per = h_u_minus_log1p(1.0 / r - 1.0) + z * z / r
    return 0.5 * np.sum(per, axis=-1)


def reverse_family_kl_mp(
    lam: ArrayLike,
    gamma: float,
    *,
    sde: str = "OU",
    T: float = 1.0,
    t: float = 0.0,
    delta: ArrayLike = 0.0,
    ratio: ArrayLike = 1.0,
    offset: ArrayLike = 0.0,
    scale: float = 1.0,
    direction: str = "chain||data",
    **sched: float,
) -> mpmath.mpf:
    """:func:`reverse_family_kl` for one setting in mpmath (``mpmath.quad`` for the integral)."""
    _direction(direction)
    lam = _mp_list(lam, len(np.atleast_1d(lam)))
    d = len(lam)
    delta, ratio, b = _mp_list(delta, d), _mp_list(ratio, d), _mp_list(offset, d)
    g, k, T_, t_ = (mpmath.mpf(x) for x in (gamma, scale, T, t))
    a = 1 - (1 + g) * k
    total = mpmath.mpf(0)
    for i in range(d):

        def s_of(x, i=i):
            return mpmath.log(lam[i] + schedule_mp(sde, x, **sched)[4])

        s_t = s_of(t_)
        Delta = s_t - s_of(T_)
        r = ratio[i] * mpmath.exp(-a * Delta) + (
            g * (mpmath.exp(-a * Delta) - 1) / a if a != 0 else -g * Delta
        )

        def f(u, i=i, s_t=s_t):
            _, g2u, alu, s2u, _ = schedule_mp(sde, u, **sched)
            return mpmath.exp(-a * (s_t - s_of(u)) / 2) * g2u / mpmath.sqrt(alu**2 * lam[i] + s2u)

        integral = mpmath.quad(f, [t_, T_]) if T_ > t_ else mpmath.mpf(0)
        z = delta[i] * mpmath.exp(-a * Delta / 2) + (1 + g) / 2 * b[i] * integral
        if direction == "chain||data":
            total += r - 1 - mpmath.log(r) + z * z
        else:
            total += 1 / r - 1 + mpmath.log(r) + z * z / r
    return total / 2
