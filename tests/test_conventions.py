"""Adapters of other projects' stochasticity knobs reproduce the published update rules.

Each test re-implements a source's update for ONE step on 1-D Gaussian data with the exact
denoiser ``D(x, sigma) = x + sigma^2 score(x, sigma)`` (EDM/VE parameterisation, ``EDM()``
SDE, ``t = sigma``), starting from a point ``y0``. Every rule is affine in ``(y0, z)``, so
its conditional mean and variance are read off exactly by evaluating it at ``z = 0`` and at
unit noises. The adapter's gamma plugged into ``reverse_sample`` must reproduce them exactly
(the named ``exact`` method) or to O(h^2) (our Euler step, small-step limit): the fitted
log-log slope of the error against h is about 2, while a wrong gamma gives slope 1.

Published rules from memory, cross-checked against copies of k-diffusion ``sampling.py``:
DDIM (Song, Meng, Ermon 2021, eq. 12); k-diffusion ``sample_euler_ancestral``,
``sample_dpmpp_2m_sde``, ``sample_dpmpp_sde``; EDM Alg. 2 (Karras et al. 2022); deepinv
``DiffusionSDE`` with its Euler solver.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytic import EDM, VP, Gaussian
from verify.kit import conventions as cv
from verify.solvers.particles import reverse_sample

M0, C0 = 0.7, 0.5  # data N(M0, C0)
DATA = Gaussian([M0], C0)
SDE = EDM(10.0)
SCORE = SDE.score(DATA)
Y0 = 2.3


def D(x, sigma):
    """Exact denoiser of N(M0, C0) at noise level sigma."""
    return x + sigma**2 * float(SCORE(np.array([[x]]), sigma)[0, 0])


def moments(step, y0, n_noise):
    """Conditional (mean, var) of an affine one-step rule ``step(y, z)``, z in R^n_noise."""
    z0 = np.zeros(n_noise)
    mean = step(y0, z0)
    var = sum((step(y0, e) - mean) ** 2 for e in np.eye(n_noise))
    return mean, var


def ours(t, s, gamma, method, y0=Y0, sde=SDE, score=SCORE):
    def step(y, z):
        return float(
            reverse_sample(sde, score, [[y]], [t, s], gamma, method, noise=[[[z[0]]]])[0, 0]
        )

    return moments(step, y0, 1)


# ------------------------------------------------------------------ published rules
def get_ancestral_step(sigma_from, sigma_to, eta=1.0):
    if not eta:
        return sigma_to, 0.0
    sigma_up = min(
        sigma_to, eta * (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
    )
    sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
    return sigma_down, sigma_up


def kdiff_euler_ancestral(t, s, eta):
    def step(x, z):
        denoised = D(x, t)
        sigma_down, sigma_up = get_ancestral_step(t, s, eta)
        d = (x - denoised) / t
        x = x + d * (sigma_down - t)
        if s > 0:
            x = x + z[0] * sigma_up
        return x

    return step, 1


def ddim_ve(t, s, eta):
    """DDIM eq. 12 in VE form (alpha = 1): x' = x0 + sqrt(s^2 - c^2) eps + c z."""

    def step(x, z):
        x0 = D(x, t)
        eps = (x - x0) / t
        c = eta * s / t * math.sqrt(t * t - s * s)
        return x0 + math.sqrt(s * s - c * c) * eps + c * z[0]

    return step, 1


def dpmpp_2m_sde_first_step(t, s, eta):
    def step(x, z):
        denoised = D(x, t)
        lt, ls = -math.log(t), -math.log(s)
        h = ls - lt
        eta_h = eta * h
        x = s / t * math.exp(-eta_h) * x + -math.expm1(-h - eta_h) * denoised
        return x + z[0] * s * math.sqrt(-math.expm1(-2 * eta_h))

    return step, 1


def dpmpp_sde(t, s_next, eta, r=0.5):
    """k-diffusion sample_dpmpp_sde, one step, Brownian-tree noises (correlated)."""
    sigma_fn = lambda lam: math.exp(-lam)
    t_fn = lambda sigma: -math.log(sigma)

    def step(x, z):
        lt, lnext = t_fn(t), t_fn(s_next)
        h = lnext - lt
        ls = lt + h * r
        fac = 1 / (2 * r)
        sig_s = sigma_fn(ls)
        # Brownian tree in sigma: W(sig_s) - W(t), then W(s_next) - W(sig_s)
        w1 = math.sqrt(t - sig_s) * z[0]
        w2 = w1 + math.sqrt(sig_s - s_next) * z[1]
        n1, n2 = w1 / math.sqrt(t - sig_s), w2 / math.sqrt(t - s_next)
        denoised = D(x, t)
        sd, su = get_ancestral_step(t, sig_s, eta)
        s_ = t_fn(sd)
        x_2 = (sigma_fn(s_) / t) * x - math.expm1(lt - s_) * denoised
        x_2 = x_2 + n1 * su
        denoised_2 = D(x_2, sig_s)
        sd, su = get_ancestral_step(t, s_next, eta)
        t_next_ = t_fn(sd)
        denoised_d = (1 - fac) * denoised + fac * denoised_2
        x = (sigma_fn(t_next_) / t) * x - math.expm1(lt - t_next_) * denoised_d
        return x + n2 * su

    return step, 2


def edm_alg2(t, s, gamma_i, heun=True):
    """Karras et al. 2022 Alg. 2 (S_noise = 1), one step."""

    def step(x, z):
        t_hat = t + gamma_i * t
        x_hat = x + math.sqrt(t_hat**2 - t**2) * z[0]
        d = (x_hat - D(x_hat, t_hat)) / t_hat
        x_next = x_hat + (s - t_hat) * d
        if heun and s > 0:
            d2 = (x_next - D(x_next, s)) / s
            x_next = x_hat + (s - t_hat) * (0.5 * d + 0.5 * d2)
        return x_next

    return step, 1


def deepinv_euler(t, s, alpha):
    """deepinv DiffusionSDE (reverse drift/diffusion with weight alpha) + Euler solver."""
    f = lambda x, u: 0.0 * x  # EDM forward drift
    g = lambda u: math.sqrt(2 * u)  # EDM forward diffusion

    def step(x, z):
        dt = t - s
        sc = (D(x, t) - x) / t**2
        drift = -f(x, t) + (1 + alpha) / 2 * g(t) ** 2 * sc
        return x + drift * dt + math.sqrt(alpha) * g(t) * math.sqrt(dt) * z[0]

    return step, 1


# ------------------------------------------------------------------------ exact maps
@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
@pytest.mark.parametrize(("t", "s"), [(5.0, 3.0), (1.0, 0.9), (0.4, 0.05), (0.4, 0.0)])
@pytest.mark.parametrize(
    ("source", "adapter"),
    [
        (kdiff_euler_ancestral, cv.kdiffusion_ancestral_eta_to_gamma),
        (ddim_ve, cv.ddim_eta_to_gamma),
        (deepinv_euler, cv.deepinv_alpha_to_gamma),
    ],
)
def test_exact_adapters_reproduce_the_source_step(source, adapter, t, s, eta):
    gm = adapter(eta)
    if source is deepinv_euler and s == 0.0:
        s = 0.01
    step, k = source(t, s, eta)
    want = moments(step, Y0, k)
    got = ours(t, s, gm, gm.exact)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_eq12_in_vp_form_is_our_ancestral_step(eta):
    sde = VP()
    score = sde.score(DATA)
    t, s = 0.6, 0.45
    abar_t, abar_s = float(sde.alpha(t)) ** 2, float(sde.alpha(s)) ** 2

    def step(x, z):
        eps = -math.sqrt(1 - abar_t) * float(score(np.array([[x]]), t)[0, 0])
        x0 = (x - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)
        sig2 = eta**2 * (1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s)
        return math.sqrt(abar_s) * x0 + math.sqrt(1 - abar_s - sig2) * eps + math.sqrt(sig2) * z[0]

    want = moments(step, Y0, 1)
    gm = cv.ddim_eta_to_gamma(eta)
    got = ours(t, s, gm, "ancestral", sde=sde, score=score)
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------------- small-step maps
def _slope(source_of_h, gamma_of_h, t=1.0, ks=range(3, 9)):
    hs, errs = [], []
    for k in ks:
        h = t * 2.0**-k
        step, n = source_of_h(t, t - h)
        m_src, v_src = moments(step, Y0, n)
        m_our, v_our = ours(t, t - h, gamma_of_h(t, t - h), "euler")
        hs.append(h)
        errs.append(abs(m_src - m_our) + abs(v_src - v_our))
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


SMALL_STEP = {
    "ddim": (lambda eta: lambda t, s: ddim_ve(t, s, eta), cv.ddim_eta_to_gamma),
    "kdiff_ancestral": (
        lambda eta: lambda t, s: kdiff_euler_ancestral(t, s, eta),
        cv.kdiffusion_ancestral_eta_to_gamma,
    ),
    "dpmpp_2m_sde": (
        lambda eta: lambda t, s: dpmpp_2m_sde_first_step(t, s, eta),
        lambda eta: cv.dpmpp_sde_eta_to_gamma(eta, "2m"),
    ),
    "dpmpp_sde": (
        lambda eta: lambda t, s: dpmpp_sde(t, s, eta),
        lambda eta: cv.dpmpp_sde_eta_to_gamma(eta, "sde"),
    ),
}


@pytest.mark.parametrize("eta", [0.5, 1.0])
@pytest.mark.parametrize("name", list(SMALL_STEP))
def test_small_step_adapters_agree_to_second_order(name, eta):
    source, adapter = SMALL_STEP[name]
    gamma = float(adapter(eta))
    assert _slope(source(eta), lambda t, s: gamma) > 1.7
    # a wrong gamma is detected: the error is then first order
    assert _slope(source(eta), lambda t, s: gamma + 0.3) < 1.3


def test_dpmpp_2m_sde_mean_equals_our_exponential_step_for_eta_one():
    t, s = 2.0, 1.2
    step, n = dpmpp_2m_sde_first_step(t, s, 1.0)
    m_src, v_src = moments(step, Y0, n)
    m_our, v_our = ours(t, s, 1.0, "exponential")
    assert math.isclose(m_src, m_our, rel_tol=1e-12)
    assert not math.isclose(v_src, v_our, rel_tol=1e-3)  # different noise freezing


@pytest.mark.parametrize("heun", [False, True])
@pytest.mark.parametrize("c", [0.5, 2.0])
def test_edm_churn_effective_gamma_is_second_order(c, heun):
    """Churn gamma_i = c h / t (so gamma_eff ~ c): the churn step matches our Euler step."""

    def source_of_h(t, s):
        return edm_alg2(t, s, c * (t - s) / t, heun=heun)

    def gamma_of_h(t, s):
        gm = cv.edm_churn([t, s], s_churn=c * (t - s) / t, n_steps=1)
        return gm(t)

    assert abs(gamma_of_h(1.0, 0.999) - c) < 1e-2
    assert _slope(source_of_h, gamma_of_h) > 1.7
    assert _slope(source_of_h, lambda t, s: gamma_of_h(t, s) + 0.3) < 1.5


def test_edm_churn_map_on_a_grid():
    grid = np.array([10.0, 5.0, 2.0, 1.0, 0.5])
    gm = cv.edm_churn(grid, s_churn=2.0, s_tmin=1.5, s_tmax=6.0)
    gi = 0.5  # min(2/4, sqrt(2) - 1) = 0.414...
    gi = min(gi, math.sqrt(2) - 1)
    want = [0.0] + [((1 + gi) ** 2 - 1) * t**2 / (t**2 - s**2) for t, s in [(5, 2), (2, 1)]]
    want.append(0.0)
    np.testing.assert_allclose([gm(t) for t in grid[:-1]], want)
    assert gm.exact is None and gm.small_step
    with pytest.raises(ValueError, match="step start"):
        gm(3.0)
    with pytest.raises(ValueError, match="s_noise"):
        cv.edm_churn(grid, 1.0, s_noise=1.007)
    # usable directly as reverse_sample's gamma
    x = reverse_sample(SDE, SCORE, [[1.0]], grid, gm, "euler", rng=np.random.default_rng(0))
    assert np.isfinite(x).all()


def test_gamma_maps_state_their_exactness_and_validate():
    assert float(cv.ddim_eta_to_gamma(0.5)) == 0.25
    assert float(cv.kdiffusion_ancestral_eta_to_gamma(0.5)) == 0.25
    assert float(cv.dpmpp_sde_eta_to_gamma(0.5)) == 0.5
    assert float(cv.dpmpp_sde_eta_to_gamma(0.5, "sde")) == 0.25
    assert float(cv.deepinv_alpha_to_gamma(0.5)) == 0.5
    assert cv.ddim_eta_to_gamma(1.0).exact == "ancestral"
    assert cv.dpmpp_sde_eta_to_gamma(1.0).exact is None
    with pytest.raises(ValueError, match="eta"):
        cv.ddim_eta_to_gamma(-1.0)
    with pytest.raises(ValueError, match="variant"):
        cv.dpmpp_sde_eta_to_gamma(1.0, "3x")
