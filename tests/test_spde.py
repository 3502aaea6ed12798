"""Tests of verify.theory.common_noise and the spde.* claims (paper 3, reconstructed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from analytic import OU, Gaussian
from verify.claims.spde import CLAIMS
from verify.claims.spde._common import EARLY_PAIRS, EARLY_PROFILES, EarlyResult
from verify.claims.spde.convexity_stability import (
    _BIMODAL,
    _CONVEX,
    ConvexityResult,
    decide_convexity,
)
from verify.claims.spde.early_evaluation import decide_early
from verify.claims.spde.early_evaluation_per_profile import decide_early_profile
from verify.claims.spde.qv_identity import QvIdentityResult, decide_qv_identity
from verify.claims.spde.radial_blind_spot import BlindSpotResult, decide_blind_spot
from verify.estimators import Estimate, mean_ci
from verify.solvers import grids
from verify.solvers.fokker_planck import solve_reverse_fp
from verify.theory import common_noise as spde

Q1_BOUNDS = (-3.0, 5.0)


def q1_setting():
    """1-D N(1, 0.5^2), OU T=1, 200 steps to t=0.01, a constant field and a bump."""
    sde = OU(T=1.0)
    p0 = Gaussian(np.array([1.0]), 0.25)
    grid = grids.uniform(sde, 200, t_min=0.01)
    noise = spde.CommonNoise((spde.ConstantField((0.3,)), spde.BumpField((0.4,), (1.0,), 0.5)))
    return sde, p0, grid, noise


class _Flat:
    """Duck-typed SDE with constant f and g2 (no forward marginals needed)."""

    def __init__(self, f=0.0, g2=0.0, T=1.0):
        self._f, self._g2, self.T = f, g2, T

    def f(self, t):
        return self._f + 0.0 * np.asarray(t, float)

    def g2(self, t):
        return self._g2 + 0.0 * np.asarray(t, float)


def _zero_score(x, t):
    return np.zeros_like(x)


# ------------------------------------------------------------------ radial test functions
@pytest.mark.parametrize("phi", spde.default_tests(), ids=lambda p: p.name)
def test_radial_gradient_matches_finite_differences(phi):
    x = np.random.default_rng(0).normal(size=(20, 3))
    h = 1e-6
    fd = np.stack(
        [(phi.value(x + h * e) - phi.value(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1
    )
    np.testing.assert_allclose(phi.grad(x), fd, rtol=1e-6, atol=1e-8)


def test_radial_test_rejects_bad_input():
    with pytest.raises(ValueError, match="kind"):
        spde.RadialTest("cube")
    with pytest.raises(ValueError, match="width"):
        spde.radial_bump(0.0)


def test_rotation_field_is_tangent_to_every_radial_test_function():
    x = np.random.default_rng(1).normal(size=(50, 2))
    rot = spde.LinearField(((0.0, -0.7), (0.7, 0.0)))
    for phi in spde.default_tests():
        assert np.max(np.abs(np.einsum("ni,ni->n", rot(x, 0.5), phi.grad(x)))) < 1e-14


# ------------------------------------------------------------------ particles
def test_constant_field_translates_particles_exactly():
    grid = np.linspace(1.0, 0.0, 51)
    rng = np.random.default_rng(2)
    x0 = rng.normal(size=(10, 2))
    noise = spde.CommonNoise((spde.ConstantField((0.3, -0.2)),))
    dB = spde.brownian_increments(grid, 1, rng)
    res = spde.sample_common_noise(_Flat(), _zero_score, x0, grid, noise, 0.0, rng=rng, dB=dB)
    np.testing.assert_allclose(res.x, x0 + dB.sum() * np.array([0.3, -0.2]), atol=1e-13)


def test_heun_rotation_preserves_radius_to_first_order():
    # Stratonovich rotation keeps |x|; the Heun step does so up to O(dB^4) per step
    grid = np.linspace(1.0, 0.0, 1001)
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=(20, 2))
    noise = spde.CommonNoise((spde.LinearField(((0.0, -1.0), (1.0, 0.0))),))
    res = spde.sample_common_noise(_Flat(), _zero_score, x0, grid, noise, 0.0, rng=rng)
    r0, r1 = np.linalg.norm(x0, axis=1), np.linalg.norm(res.x, axis=1)
    np.testing.assert_allclose(r1, r0, rtol=5e-3)
    assert np.max(res.common_rate) < 1e-20


def test_antithetic_increment_has_the_exact_conditional_variance_for_square():
    # phi = |x|^2, drift-free step y' = y + c dB + s z: mart = 2 (ybar . c dB + s mean(y.z)),
    # so E[mart^2 | y] = (4 (c . ybar)^2 + s^2 4 mean|y|^2 / N) h exactly.
    grid = np.linspace(1.0, 0.0, 401)
    rng = np.random.default_rng(4)
    x0 = rng.normal(size=(40, 1)) + 1.0
    noise = spde.CommonNoise((spde.ConstantField((0.5,)),))
    res = spde.sample_common_noise(
        _Flat(g2=0.3), _zero_score, x0, grid, noise, 1.0, rng=rng, tests=[spde.radial_square()]
    )
    z = res.mart[0] ** 2 / ((res.common_rate[0, :-1] + res.indep_rate[0, :-1]) * res.h)
    est = mean_ci(z)
    assert est.contains(1.0), est


def test_particle_qv_identity_with_ou_and_exact_score():
    sde, p0, grid, noise = q1_setting()
    rng = np.random.default_rng(5)
    zs = []
    for _ in range(6):
        x = sde.marginal(p0, sde.T).sample(300, rng)
        res = spde.sample_common_noise(sde, sde.score(p0), x, grid, noise, 1.0, rng=rng)
        zs.append(spde.martingale_ratio(res))
    est = mean_ci(zs)
    assert est.lo > 0.85 and est.hi < 1.15, est


def test_sampler_rejects_bad_input():
    grid = np.linspace(1.0, 0.0, 11)
    noise = spde.CommonNoise((spde.ConstantField((0.1,)),))
    rng = np.random.default_rng(0)
    x = np.zeros((5, 1))
    with pytest.raises(ValueError, match="grid"):
        spde.sample_common_noise(_Flat(), _zero_score, x, grid[::-1], noise, rng=rng)
    with pytest.raises(ValueError, match="dB"):
        spde.sample_common_noise(_Flat(), _zero_score, x, grid, noise, rng=rng, dB=np.zeros(10))
    with pytest.raises(ValueError, match="gamma"):
        spde.sample_common_noise(_Flat(), _zero_score, x, grid, noise, -1.0, rng=rng)
    with pytest.raises(ValueError, match="x_T"):
        spde.sample_common_noise(_Flat(), _zero_score, np.zeros(5), grid, noise, rng=rng)


# ------------------------------------------------------------------ quadratic variation
def test_quadratic_variation_window_counts_steps():
    proj = np.arange(201.0) ** 0.5
    h = np.full(200, 0.005)
    q = spde.quadratic_variation(proj, h, 0.1, common_rate=np.ones(201))
    assert q["steps"] == 20
    assert q["realised"][0] == pytest.approx(np.sum(np.diff(proj[:21]) ** 2))
    assert q["common"][0] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="window"):
        spde.quadratic_variation(proj, h, 0.0)


# ------------------------------------------------------------------ 1-D SPDE grid
def test_spde_with_zero_noise_is_the_fokker_planck_solution():
    sde = OU(T=1.0)
    p0 = Gaussian(np.array([1.0]), 0.25)
    grid = np.linspace(1.0, 0.05, 41)
    noise = spde.CommonNoise((spde.ConstantField((0.3,)),))
    pT = sde.marginal(p0, 1.0)

    def dens(z):
        return np.exp(pT.log_prob(z))

    kw = dict(bounds=(-4.0, 6.0), n_cells=200, method="be")
    a = spde.solve_spde_1d(sde, sde.score(p0), dens, grid, noise, np.zeros((40, 1)), 1.0, **kw)
    kw["bounds"] = ((-4.0, 6.0),)
    b = solve_reverse_fp(sde, sde.score(p0), dens, grid, 1.0, **kw)
    np.testing.assert_array_equal(a.densities, b.densities)


def test_spde_mean_follows_the_random_ode_for_a_gaussian_langevin():
    # Langevin to N(0,1) with sigma = eps: the conditional mean solves dm = -m dtau + eps dB;
    # with the frozen (Wong-Zakai) drift eps dB_j / h on each step the exact step is
    # m' = e^{-h} m + eps (1 - e^{-h}) dB_j / h. Independent reference: this recursion.
    pi = Gaussian(np.zeros(1), 1.0)
    T, n, eps = 1.0, 100, 0.3
    grid = np.linspace(T, 0.0, n + 1)
    rng = np.random.default_rng(6)
    dB = spde.brownian_increments(grid, 1, rng)
    noise = spde.CommonNoise((spde.ConstantField((eps,)),))
    u0 = Gaussian(np.array([1.5]), 0.5)
    lang = spde.Langevin(T)
    fp = spde.solve_spde_1d(
        lang,
        lang.langevin_score(pi),
        lambda z: np.exp(u0.log_prob(z)),
        grid,
        noise,
        dB,
        1.0,
        bounds=(-7.0, 7.0),
        n_cells=700,
        substeps=2,
        method="trbdf2",
    )
    mean, cov = fp.moments()
    h = T / n
    m = [1.5]
    for j in range(n):
        m.append(math.exp(-h) * m[-1] + eps * (1 - math.exp(-h)) * dB[j, 0] / h)
    np.testing.assert_allclose(mean[:, 0], m, atol=2e-3)
    # variance: v' = -2 v + 2 (unaffected by the common shift)
    v = 1 + (0.5 - 1) * np.exp(-2 * (T - fp.times))
    np.testing.assert_allclose(cov[:, 0, 0], v, atol=5e-3)


def test_grid_projection_matches_particles_for_the_same_path():
    sde, p0, grid, noise = q1_setting()
    rng = np.random.default_rng(7)
    dB = spde.brownian_increments(grid, noise.n, rng)
    pT = sde.marginal(p0, sde.T)
    tests = [spde.radial_square()]
    fp = spde.solve_spde_1d(
        sde,
        sde.score(p0),
        lambda z: np.exp(pT.log_prob(z)),
        grid,
        noise,
        dB,
        1.0,
        bounds=Q1_BOUNDS,
        n_cells=400,
    )
    proj, _ = spde.grid_projections(fp, tests, noise)
    res = spde.sample_common_noise(
        sde, sde.score(p0), pT.sample(20000, rng), grid, noise, 1.0, rng=rng, dB=dB, tests=tests
    )
    sd = np.sqrt(np.var(tests[0].value(res.x)) / 20000)
    assert abs(proj[0, -1] - res.proj[0, -1]) < 4 * sd + 0.01


# ------------------------------------------------------------------ W2 and Spearman
@given(m1=st.floats(-3, 3), m2=st.floats(-3, 3), s1=st.floats(0.1, 3), s2=st.floats(0.1, 3))
def test_w2_gaussian_one_dimensional_closed_form(m1, m2, s1, s2):
    got = spde.w2_gaussian([m1], [[s1**2]], [m2], [[s2**2]])
    assert got == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-9, abs=1e-10)


def test_w2_gaussian_is_symmetric_and_matches_commuting_case():
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    l1, l2 = np.array([0.5, 1.0, 2.0]), np.array([1.5, 0.2, 2.0])
    C1, C2 = Q @ np.diag(l1) @ Q.T, Q @ np.diag(l2) @ Q.T
    want = np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2) + 1.0
    m2 = np.array([1.0, 0.0, 0.0])
    assert spde.w2_gaussian(np.zeros(3), C1, m2, C2) == pytest.approx(want, rel=1e-9)
    A = rng.normal(size=(3, 3))
    C3 = A @ A.T + np.eye(3)
    assert spde.w2_gaussian(np.zeros(3), C1, m2, C3) == pytest.approx(
        spde.w2_gaussian(m2, C3, np.zeros(3), C1), rel=1e-8
    )


def test_spearman_bootstrap_agrees_with_scipy_and_brackets_rho():
    rng = np.random.default_rng(9)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    rho, lo, hi = spde.spearman_bootstrap(x, y, rng, n_boot=500)
    assert rho == pytest.approx(stats.spearmanr(x, y).statistic)
    assert lo <= rho <= hi
    assert spde.spearman_bootstrap(x, np.exp(x), rng, n_boot=200) == (1.0, 1.0, 1.0)


# ------------------------------------------------------------------ claim helpers
def test_expected_constant_field_qv_matches_monte_carlo():
    # independent route: particles of sample_common_noise, common part 4 sum h (c . xbar)^2
    sde = OU(T=1.0)
    grid = grids.uniform(sde, 20)
    mean, cov, c = (1.5, 0.0), (1.0, 0.25), (0.5, 0.0)
    want = spde.expected_constant_field_qv(sde, mean, cov, c, 50, grid)
    p0 = Gaussian(np.array(mean), np.array(cov))
    noise = spde.CommonNoise((spde.ConstantField(c),))
    rng = np.random.default_rng(1000)
    vals = []
    for _ in range(150):
        x = sde.marginal(p0, sde.T).sample(50, rng)
        res = spde.sample_common_noise(
            sde, sde.score(p0), x, grid, noise, 1.0, rng=rng, tests=[spde.radial_square()]
        )
        vals.append(float(res.qv(1.0)["common"][0]))
    est = mean_ci(vals, 0.99)
    assert est.contains(want), (est, want)


def test_expected_constant_field_qv_rejects_bad_input():
    sde = OU(T=1.0)
    grid = grids.uniform(sde, 5)
    with pytest.raises(ValueError, match="mean"):
        spde.expected_constant_field_qv(sde, (1.0,), (1.0, 1.0), (0.1, 0.0), 10, grid)


def test_langevin_is_the_reverse_family_with_half_score():
    from verify.solvers.reverse import ReverseFamily

    pi = Gaussian(np.array([0.5]), 2.0)
    lang = spde.Langevin(2.0)
    fam = ReverseFamily(lang, lang.langevin_score(pi), lang.gamma)
    x = np.linspace(-3, 3, 7)[:, None]
    np.testing.assert_allclose(fam.drift(x, 0.7), pi.score(x), rtol=1e-14)
    np.testing.assert_allclose(fam.diffusion(0.7), math.sqrt(2.0))
    assert float(lang.sigma2(1.5)) == pytest.approx(3.0)
    with pytest.raises(TypeError, match="score"):
        lang.langevin_score(object())


@pytest.mark.parametrize("m, v", [(0.0, 1.0), (1.5, 2.0), (-1.0, 0.3)])
def test_entropy_budget_gaussian_closed_form(m, v):
    # u = N(m, v), pi = N(0, 1): H = (v - 1 - ln v + m^2)/2, I = E_u[(x - (x - m)/v)^2]
    H, I, N = spde.entropy_budget(Gaussian(np.array([m]), v), Gaussian(np.zeros(1), 1.0), 0.3)
    a, b = 1 - 1 / v, m / v
    assert H == pytest.approx(0.5 * (v - 1 - math.log(v) + m**2), abs=1e-9)
    assert I == pytest.approx(a**2 * (v + m**2) + 2 * a * b * m + b**2, abs=1e-8)
    assert N == pytest.approx(0.5 * 0.3**2, rel=1e-6)


# ------------------------------------------------------------------ batched particles
def test_batched_sampler_equals_the_unbatched_one_replicate_by_replicate():
    sde, p0, grid, noise = q1_setting()
    grid = grid[:31]
    x = sde.marginal(p0, sde.T).sample(3 * 40, np.random.default_rng(0)).reshape(3, 40, 1)
    dB = spde.brownian_increments(grid, noise.n, np.random.default_rng(1), n_paths=3)
    res = spde.sample_common_noise(
        sde, sde.score(p0), x, grid, noise, 0.0, rng=np.random.default_rng(2), dB=dB
    )
    for r in range(3):  # gamma = 0: no independent noise, so replicates are deterministic
        one = spde.sample_common_noise(
            sde, sde.score(p0), x[r], grid, noise, 0.0, rng=np.random.default_rng(3), dB=dB[r]
        )
        np.testing.assert_allclose(res.x[r], one.x, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(res.proj[r], one.proj, rtol=1e-12)
        np.testing.assert_allclose(res.common_rate[r], one.common_rate, rtol=1e-12)
    ratio = spde.martingale_ratio(res)
    assert ratio.shape == (3,)


def test_time_profile_multiplies_the_field():
    prof = spde.TimeProfile("late", amp=3.0, T=1.0)
    assert prof(1.0) == 1.0 and prof(0.0) == pytest.approx(4.0)
    assert spde.TimeProfile("early")(1.0) == pytest.approx(4.0)
    x = np.ones((2, 2))
    fld = spde.LinearField(((1.0, 0.0), (0.0, 2.0)), profile=prof)
    np.testing.assert_allclose(fld(x, 0.0), 4.0 * np.array([[1.0, 2.0], [1.0, 2.0]]))
    A, c = fld.affine(0.5, 2)
    np.testing.assert_allclose(A, prof(0.5) * np.diag([1.0, 2.0]))
    with pytest.raises(ValueError, match="kind"):
        spde.TimeProfile("sometimes")
    with pytest.raises(ValueError, match="affine"):
        spde.CommonNoise((spde.BumpField((1.0,), (0.0,), 1.0),)).affine_parts(0.5, 1)


def test_spearman_replicates_point_estimate_and_paired_differences():
    rng = np.random.default_rng(3)
    K, R = 12, 30
    a = rng.normal(size=(K, 1)) + 0.1 * rng.normal(size=(K, R))
    b = a + 0.3 * rng.normal(size=(K, R))
    point, reps = spde.spearman_replicates({"a": a, "b": b}, [("a", "b"), ("a", "a")], rng, 400)
    want = stats.spearmanr(a.mean(1), b.mean(1)).statistic
    assert point[("a", "b")] == pytest.approx(want, rel=1e-12)
    assert point[("a", "a")] == pytest.approx(1.0)
    np.testing.assert_allclose(reps[("a", "a")], 1.0)
    lo, hi = np.quantile(reps[("a", "b")], [0.025, 0.975])
    assert lo < point[("a", "b")] < hi


# ------------------------------------------------------------------ decide: qv-identity
def _est(v, half=0.02):
    return Estimate(v, v - half, v + half, 0.95, 10, half / 2)


def _qv_result(z=1.0, slope=-1.0, gap=0.1):
    return QvIdentityResult(
        z_common=_est(z),
        z_indep=_est(z),
        z_grid=_est(z),
        ns=[50, 200, 1000],
        qv_n=[1.0, 0.25, 0.05],
        pred_n=[1.0, 0.25, 0.05],
        slope=slope,
        common_means=[1.0, 1.0, 0.1],
        paths=[[1.0, 1.0, gap, 0.2]],
        cum={},
    )


def test_decide_qv_identity_both_sides():
    assert decide_qv_identity(_qv_result()).verdict == "holds"
    assert decide_qv_identity(_qv_result(z=1.3)).verdict == "fails"
    assert decide_qv_identity(_qv_result(z=1.09)).verdict == "inconclusive"
    assert decide_qv_identity(_qv_result(slope=-0.7)).verdict == "fails"
    assert decide_qv_identity(_qv_result(gap=0.3)).verdict == "fails"


# ------------------------------------------------------------------ decide: blind spot
def _bs_row(target, error, a, com, w2_lo, floor=0.02, rate=0.0):
    return {
        "target": target,
        "error": error,
        "a": a,
        "com": [com, 0.9 * com, 1.1 * com],
        "realised": com,
        "floor": floor,
        "w2": [w2_lo + 0.01, w2_lo, w2_lo + 0.02],
        "kl": 0.0,
        "max_rate": rate,
    }


def _bs_result(centre_order=4.0, rot_rate=0.0, rot_w2=0.05, dil=10.0):
    mags = (0.1, 0.3, 0.6)
    rows = [_bs_row("centred", "constant", a, (a / 0.6) ** centre_order, 0.05) for a in mags]
    rows += [_bs_row("off-centre", "constant", a, (a / 0.6) ** 2, 0.05) for a in mags]
    rows += [_bs_row("centred", "rotation", a, 0.0, rot_w2, rate=rot_rate) for a in mags]
    rows += [_bs_row("centred", "dilation", a, dil * (a / 0.6) ** 2 + 2.0, 0.05) for a in mags]
    rows += [_bs_row("centred", k, a, 0.0, 0.05) for k in ("offset", "scale") for a in mags]
    exact = {
        "centred": [r["com"][0] for r in rows[:3]],
        "off-centre": [r["com"][0] for r in rows[3:6]],
    }
    ratios = {"off-centre, constant": _est(1.0)}
    return BlindSpotResult(rows, ratios, exact, {"centred": 1e-3, "off-centre": 1e-3}, 200)


def test_decide_blind_spot_both_sides():
    assert decide_blind_spot(_bs_result()).verdict == "holds"
    # the centred QV scaling like a^2 means the blind spot is not there
    assert decide_blind_spot(_bs_result(centre_order=2.0)).verdict == "fails"
    # a rotation's zero rate is an identity (tested on the implementation in
    # test_rotation_field_has_zero_radial_rate), not part of the verdict; a rotation that does
    # no damage fails the claim
    assert decide_blind_spot(_bs_result(rot_rate=1e-3)).verdict == "holds"
    assert decide_blind_spot(_bs_result(rot_w2=1e-4)).verdict == "fails"
    # a dilation below the others' QV
    assert decide_blind_spot(_bs_result(dil=-1.9)).verdict == "fails"


# ------------------------------------------------------------------ decide: early evaluation
def _early_result(rho10=(0.8, 0.7, 0.9), gain=(0.05, 0.0, 0.08), prof=(0.95, 0.9, 0.99)):
    rho = {name: [0.9, 0.8, 0.95] for name in EARLY_PAIRS}
    rho["rho(M10%, W2^2)"] = list(rho10)
    per = {
        p: {"rho(M10%, M100%)": list(prof), "rho(M10%, W2^2)": list(rho10), "gain": list(gain)}
        for p in EARLY_PROFILES
    }
    return EarlyResult([], {}, [], [], rho, list(gain), per, 100)


def test_decide_early_all_sides():
    assert decide_early(_early_result()).verdict == "holds"
    assert decide_early(_early_result(gain=(0.3, 0.2, 0.4))).verdict == "fails"
    assert decide_early(_early_result(rho10=(0.3, 0.2, 0.45))).verdict == "fails"
    assert decide_early(_early_result(rho10=(0.55, 0.45, 0.65))).verdict == "inconclusive"


def test_decide_early_per_profile_both_sides():
    assert decide_early_profile(_early_result()).verdict == "holds"
    assert decide_early_profile(_early_result(prof=(0.6, 0.5, 0.7))).verdict == "fails"
    assert decide_early_profile(_early_result(rho10=(0.3, 0.2, 0.4))).verdict == "fails"
    assert decide_early_profile(_early_result(prof=(0.85, 0.75, 0.9))).verdict == "inconclusive"
    # the original statement's gain test (issue 22): the full trajectory may not add 0.1
    assert decide_early_profile(_early_result(gain=(0.2, 0.15, 0.3))).verdict == "fails"
    late = _early_result()
    late.per_profile["late"]["gain"] = [0.142, 0.078, 0.236]  # the quick run's late profile
    assert decide_early_profile(late).verdict == "inconclusive"


# ------------------------------------------------------------------ decide: convexity
def _cvx_result(weak_min=1.0, hi=1.0, lc_w2=0.7, bm_w2=3.0, bm_kappa=-5.0):
    gauss = [
        [0.0, "offset 0.5 along the weakest direction", 0.5, 0.39, 0.78, hi, weak_min],
        [1.0, "offset 0.5 along the weakest direction", 0.5, 0.11, 0.23, hi, weak_min],
        [1.0, "offset and covariance x 1.6", 0.5, 0.05, 0.23, hi, 0.5],
    ]
    mix = [
        ["log-concave mixture", 1.0, 0.75, 0.74, hi, lc_w2, 1e-9],
        ["bimodal mixture", bm_kappa, 600.0, 12.0, hi, bm_w2, 1e-6],
    ]
    budget = {
        _CONVEX: [("N(0,1)", 0.5, 1.2, 0.05)],
        _BIMODAL: [("w=0.9", 0.3, 0.1, 0.2)],
    }
    return ConvexityResult(gauss, mix, {}, [], budget, {_CONVEX: 1.0, _BIMODAL: 4.0})


def test_decide_convexity_both_sides():
    assert decide_convexity(_cvx_result()).verdict == "holds"
    assert decide_convexity(_cvx_result(hi=1.01)).verdict == "fails"  # bound violated
    assert decide_convexity(_cvx_result(weak_min=0.9)).verdict == "fails"  # not attained
    assert decide_convexity(_cvx_result(lc_w2=1.1)).verdict == "fails"  # no contraction
    assert decide_convexity(_cvx_result(bm_w2=0.9)).verdict == "fails"  # bimodal contracts


# ------------------------------------------------------------------ claims at quick budget
@pytest.mark.slow
@pytest.mark.parametrize(
    "claim_id, verdict",
    [
        ("spde.qv-identity", "holds"),
        ("spde.radial-blind-spot", "holds"),
        ("spde.early-evaluation", "fails"),
        ("spde.early-evaluation-per-profile", "inconclusive"),  # gains 0.097, 0.142 straddle 0.1
        ("spde.convexity-stability", "holds"),
    ],
)
def test_claim_quick_verdict(claim_id, verdict, tmp_path):
    from verify.claims.base import RunContext, run_claim

    claim = next(c for c in CLAIMS if c.id == claim_id)
    out = run_claim(claim, RunContext("quick", 0, tmp_path, stream=None))
    assert out["verdict"] == verdict, out["reason"]
    assert out["figures"] or claim_id.endswith("per-profile")
