"""The bounds wired to verify.theory: every fast twin and closed-form truth against the theory
function or exact law it stands for, the mpmath / higher-rung twins against the float forms."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from analytic import EDM, OU, VP, Gaussian, kl
from verify.solvers.chain_laws import exact_law
from verify.theory.elbo import gaussian_elbo
from verify.theory.kl_dynamics import ode_w2_bound, young_bound_along
from verify.tightness import Space
from verify.tightness.bounds import BOUNDS, get_bound
from verify.tightness.theory_bounds import (
    SIGMA_MIN,
    ScaleOffset,
    gronwall_w2,
    karras_grid,
    ve_ancestral_kl_mp,
)


def _cols(s):
    return {k: np.array([v], dtype=object if isinstance(v, str) else float) for k, v in s.items()}


@pytest.mark.parametrize(
    "sde, T, lam, b, k",
    [("OU", 2.0, (2.0, 0.5), (0.3, -0.2), 0.8), ("VP", 1.0, (1.5, 0.3), (0.0, 0.4), 1.2)],
)
def test_gronwall_twin_matches_ode_w2_bound(sde, T, lam, b, k):
    obj = OU(T=T) if sde == "OU" else VP(0.1, 20.0, T=T)
    data = Gaussian(np.zeros(2), np.array(lam))
    ref = ode_w2_bound(obj, data, ScaleOffset(obj.score(data), k, np.array(b)), 3201)
    t, B, W = gronwall_w2(sde, np.array([T]), np.array([lam]), np.array([b]), np.array([k]),
                          101, nodes=True)  # fmt: skip
    assert t[0, -1] == 0.0
    # the exact W2 and the bound at t = 0 (their uniform rule on 3201 nodes is converged)
    assert W[0, -1] == pytest.approx(ref.W2[-1], rel=1e-8)
    assert B[0, -1] == pytest.approx(ref.B[-1], rel=1e-6)


def test_ancestral_mp_recursion_matches_the_exact_chain_law():
    b = get_bound("ve-ancestral-disc")
    for s in (
        dict(lam1=0.01, lam2=10.0, mean=0.5, mtheta=0.3, sigma_T=80.0, n_steps=10, rho=1.0),
        dict(lam1=0.7, lam2=0.05, mean=1.0, mtheta=1.2, sigma_T=2.0, n_steps=25, rho=7.0),
    ):
        with mpmath.workdps(40):
            mp = float(ve_ancestral_kl_mp([s["lam1"], s["lam2"]], karras_grid(
                s["n_steps"], s["sigma_T"], s["rho"])))  # fmt: skip
        assert mp == pytest.approx(b.truth(**s), rel=1e-9)


def test_young_wiring_matches_young_bound_along():
    s = dict(sde="OU", lam_max=2.0, aniso=0.25, T=1.5, t_frac=0.0, gamma=1.0, lam_y=0.3,
             offset=0.4, phi=0.5, scale=0.9, delta=0.7, theta=0.2, ratio=1.8, beta_max=20.0,
             sigma_max=10.0)  # fmt: skip
    b = get_bound("young-lsi")
    sde = OU(T=1.5)
    lam = np.array([2.0, 0.5])
    data = Gaussian(np.zeros(2), lam)
    pT = sde.marginal(data, 1.5)
    S = np.diag(pT.cov)
    init = Gaussian(0.7 * np.array([math.cos(0.2), math.sin(0.2)]) * np.sqrt(S), 1.8 * S)
    off = 0.4 * np.array([math.cos(0.5), math.sin(0.5)])
    ref = young_bound_along(sde, data, init, ScaleOffset(sde.score(data), 0.9, off), 1.0, 201,
                            [0.3])  # fmt: skip
    assert b.bound(**_cols(s))[0] == pytest.approx(ref.B_final, rel=1e-8)
    assert b.truth(**_cols(s))[0] == pytest.approx(ref.H_final, rel=1e-8)


@pytest.mark.parametrize("error", ["offset", "scale"])
def test_elbo_wiring_matches_gaussian_elbo(error):
    s = dict(sde="VP", T=0.6, lam1=2.0, lam2=0.3, mean=1.2, mtheta=0.4, error=error,
             offset=0.3, phi=0.7, scale=0.9)  # fmt: skip
    b = get_bound("elbo")
    vp = VP(0.1, 20.0, T=1.0)
    data = Gaussian(1.2 * np.array([math.cos(0.4), math.sin(0.4)]), np.array([2.0, 0.3]))
    from verify.errors import Offset, Scale

    err = (Offset(vp.score(data), 0.3 * np.array([math.cos(0.7), math.sin(0.7)]))
           if error == "offset" else Scale(vp.score(data), 0.9))  # fmt: skip
    ref = gaussian_elbo(vp, data, Gaussian(np.zeros(2), 1.0), 0.6, err, with_ode=False)
    assert b.bound(**s) == pytest.approx(ref.bound, rel=1e-10)
    assert b.truth(**s) == pytest.approx(ref.kl_sde, rel=1e-8)


def test_score_and_init_terms_against_the_exact_law():
    edm = EDM(80.0)
    data = Gaussian(np.array([0.5, -0.2]), np.array([0.4, 2.0]))
    s = dict(lam1=0.4, lam2=2.0, mean=float(np.hypot(0.5, 0.2)), mtheta=math.atan2(-0.2, 0.5),
             sigma_T=3.0, error="scale", offset=0.0, phi=0.0, scale=0.85)  # fmt: skip
    from verify.errors import Scale

    ref = gaussian_elbo(edm, data, edm.marginal(data, 3.0), 3.0, Scale(edm.score(data), 0.85),
                        t_min=SIGMA_MIN, with_ode=False)  # fmt: skip
    b = get_bound("kl-bound-score")
    assert b.truth(**_cols(s))[0] == pytest.approx(ref.kl_sde, rel=1e-8)
    assert b.bound(**s) == pytest.approx(ref.J, rel=1e-10)
    # the init term: exact score from a wrong start, gamma = 0.5, against exact_law's ODE
    init_b = get_bound("kl-bound-init")
    si = dict(lam1=0.4, lam2=2.0, sigma_T=3.0, gamma=0.5, delta=0.8, theta=0.3, ratio=2.0)
    pT = edm.marginal(data, 3.0)
    Sd = np.diag(pT.cov)
    init = Gaussian(pT.mean + 0.8 * np.array([math.cos(0.3), math.sin(0.3)]) * np.sqrt(Sd),
                    2.0 * Sd)  # fmt: skip
    law = exact_law(edm, data, init, (3.0, SIGMA_MIN), 0.5, method=None)
    assert init_b.truth(**_cols(si))[0] == pytest.approx(
        kl(edm.marginal(data, SIGMA_MIN), law), rel=1e-9
    )
    assert init_b.bound(**_cols(si))[0] == pytest.approx(kl(pT, init), rel=1e-12)


@pytest.mark.parametrize("key", sorted(k for k, b in BOUNDS.items() if b.truth_mp or b.bound_mp))
def test_high_precision_twins_agree_with_the_float_forms(key):
    b = BOUNDS[key]
    sp = Space(b.space)
    rng = np.random.default_rng(sorted(BOUNDS).index(key))
    U = rng.uniform(0.05, 0.95, (3, sp.dim))
    for setting in sp.settings(U):
        cols = _cols(setting)
        if key == "ode-w2":  # the smallest ratio over nodes: the finer nodes contain the coarse
            fine = b.bound_mp(**setting) / b.truth_mp(**setting)
            coarse = b.bound(**cols)[0] / b.truth(**cols)[0]
            if not b.domain(**cols)[0]:  # no node with |L| >= ln 2: excluded, no ratio
                assert math.isnan(coarse)
                continue
            assert 1 - 1e-5 <= fine <= coarse * (1 + 1e-6)
            continue
        for fn, twin in ((b.truth, b.truth_mp), (b.bound, b.bound_mp)):
            if twin is None:
                continue
            vec = getattr(fn, "vectorized", False)
            val = float(fn(**cols)[0]) if vec else float(fn(**setting))
            with mpmath.workdps(30):
                hp = float(twin(**setting))
            assert hp == pytest.approx(val, rel=max(1e-8, 20 * b.rtol)), (key, setting)


# ------------------------------------------------ E_disc in closed form (VE / EDM)
def _disc_integral_mp(lam, sigmas, dps=30):
    """The defining integral of E_disc for EDM (sigma(t) = t, g^2 = 2t) by mpmath quadrature:
    1/2 sum_k int_{t_{k+1}}^{t_k} g^2 [S_t (1/S_t - 1/S_k)^2 + (t_k^2 - t^2) / S_k^2] dt,
    the expectation E|grad log p_{t_k}(X_{t_k}) - grad log p_t(X_t)|^2 unsimplified."""
    with mpmath.workdps(dps):
        total = mpmath.mpf(0)
        ts = [mpmath.mpf(float(x)) for x in sigmas]
        for lm in map(mpmath.mpf, lam):
            for tk, tk1 in zip(ts[:-1], ts[1:], strict=True):
                Sk = lm + tk**2

                def f(t, Sk=Sk, tk=tk, lm=lm):
                    St = lm + t**2
                    return 2 * t * (St * (1 / St - 1 / Sk) ** 2 + (tk**2 - t**2) / Sk**2)

                total += mpmath.quad(f, [tk1, (tk1 + tk) / 2, tk])
        return total / 2


@pytest.mark.parametrize(
    "lam, n_steps, sigma_T, rho",
    [
        ((0.01, 0.01), 2, 80.0, 1.0),
        ((10.0, 0.01), 10, 80.0, 1.0),
        ((1.0, 0.3), 50, 5.0, 7.0),
        ((0.01, 10.0), 100, 0.3, 10.0),
    ],  # fmt: skip
)
def test_disc_term_closed_form_matches_the_defining_integral(lam, n_steps, sigma_T, rho):
    from verify.tightness.theory_bounds import ve_disc_term, ve_disc_term_mp

    grid = karras_grid(n_steps, sigma_T, rho)
    ref = _disc_integral_mp(lam, grid)
    assert ve_disc_term(lam, grid) == pytest.approx(float(ref), rel=1e-13)
    with mpmath.workdps(40):
        assert abs(ve_disc_term_mp(lam, grid) / ref - 1) < mpmath.mpf(10) ** -25


def test_disc_term_corner_where_16_node_gauss_legendre_was_5_percent_off():
    # lambda = (0.01, 0.01), N = 2, rho = 1, sigma_T = 80: 11.619 (closed form, the defining
    # integral in mpmath) where kl_bound_terms' Gauss-Legendre gives 12.203
    s = dict(lam1=0.01, lam2=0.01, mean=0.3, mtheta=0.2, sigma_T=80.0, n_steps=2, rho=1.0)
    b = get_bound("kl-bound-disc")
    ref = float(_disc_integral_mp((0.01, 0.01), karras_grid(2, 80.0, 1.0)))
    assert ref == pytest.approx(11.619, abs=5e-4)
    assert b.bound(**s) == pytest.approx(ref, rel=1e-13)
    assert float(b.bound_mp(**s)) == pytest.approx(ref, rel=1e-13)
    for key in ("ve-ancestral-disc", "ve-ancestral-disc-steep"):
        assert get_bound(key).bound is b.bound and get_bound(key).bound_mp is b.bound_mp
