"""verify.schedules: the 1-D recursions against exact_law and the k-diffusion samplers, the
optimiser against brute force, its starts and its own report."""

import itertools

import numpy as np
import pytest

from analytic import EDM, Gaussian, kl
from verify.kit import references as ref
from verify.schedules import evaluate_grid, optimal_grid, output_moments
from verify.schedules.optimal import _objective_rows, _Param
from verify.schedules.standard import karras, standard_grids
from verify.solvers.chain_laws import exact_law

LAM = np.array([0.05, 0.4, 1.0, 3.0])
MEAN = np.array([0.3, -1.0, 0.5, 2.0])
DATA = Gaussian(MEAN, np.diag(LAM))  # full covariance: exact_law rotates by eigh
GRID_POS = np.array([80.0, 9.0, 2.0, 0.5, 0.1, 0.02])
GRID_ZERO = karras(7, 0.002, 80.0)


def _exact_kl(grid, method, gamma, init):
    sde = EDM(80.0)
    start = sde.marginal(DATA, grid[0]) if init == "marginal" else sde.prior(len(LAM))
    target = sde.marginal(DATA, grid[-1])
    law = exact_law(sde, DATA, start, grid, gamma=gamma, method=method)
    return kl(law, target)


@pytest.mark.parametrize("init", ["marginal", "prior"])
@pytest.mark.parametrize(
    ("method", "gamma"), [("euler", 0.0), ("euler", 0.7), ("ancestral", 0.5), ("ancestral", 1.0)]
)
@pytest.mark.parametrize("grid", [GRID_POS, GRID_ZERO], ids=["positive-end", "zero-end"])
def test_recursion_matches_exact_law(grid, method, gamma, init):
    got, _ = evaluate_grid((LAM, MEAN), grid, method, gamma, init=init)
    assert got == pytest.approx(_exact_kl(grid, method, gamma, init), rel=1e-9)


def test_heun_matches_exact_law_and_takes_an_euler_step_to_zero():
    got, _ = evaluate_grid((LAM, MEAN), GRID_POS, "heun")
    assert got == pytest.approx(_exact_kl(GRID_POS, "heun", 0.0, "marginal"), rel=1e-9)
    # to sigma = 0 k-diffusion's Heun takes an Euler step: heun on all but the last step,
    # then one euler step from that law
    sde = EDM(80.0)
    g = GRID_ZERO
    mid = exact_law(sde, DATA, sde.marginal(DATA, g[0]), g[:-1], gamma=0.0, method="heun")
    law = exact_law(sde, DATA, mid, g[-2:], gamma=0.0, method="euler")
    got, _ = evaluate_grid((LAM, MEAN), g, "heun")
    assert got == pytest.approx(kl(law, DATA), rel=1e-9)


def _denoiser(x, sigma):
    s2 = np.asarray(sigma).reshape(-1, 1) ** 2
    return MEAN + LAM / (LAM + s2) * (x - MEAN)


@pytest.mark.parametrize("grid", [GRID_POS, GRID_ZERO], ids=["positive-end", "zero-end"])
@pytest.mark.parametrize(
    ("method", "sampler"),
    [("euler", ref.sample_euler), ("heun", ref.sample_heun), ("dpmpp_2m", ref.sample_dpmpp_2m)],
)
def test_gain_matches_the_k_diffusion_reference_samplers(method, sampler, grid):
    """Deterministic samplers are affine per direction: x_N - m = G (x_0 - m)."""
    x0 = np.stack([MEAN, MEAN + 1.0])
    out = sampler(_denoiser, x0, grid)
    assert np.allclose(out[0], MEAN, atol=1e-12)  # the mean is a fixed point
    G, q = output_moments(grid, LAM, method)
    assert np.allclose(out[1] - out[0], G[0], rtol=1e-11, atol=1e-14)
    assert np.all(q == 0)


def test_ancestral_noise_matches_the_reference_step():
    grid = GRID_POS
    G, q = output_moments(grid, LAM, "ancestral", 0.36)
    Gr, qr = np.ones_like(LAM), np.zeros_like(LAM)
    for s, s1 in itertools.pairwise(grid):
        down, up = ref.get_ancestral_step(s, s1, eta=0.6)
        M = LAM / (LAM + s * s) + down / s * s * s / (LAM + s * s)
        Gr, qr = M * Gr, M * M * qr + up * up
    assert np.allclose(G[0], Gr, rtol=1e-12) and np.allclose(q[0], qr, rtol=1e-12)


def _brute_force(lam, m, n, method):
    """Best grid on a log-sigma lattice from sigma_max down to the floor (both excluded /
    included as the optimiser's parametrisation allows), all grids in one batch."""
    smax, lo = 80.0, 1e-4
    axis = np.exp(np.linspace(np.log(smax), np.log(lo), 600))[1:]
    nodes = np.array(list(itertools.combinations(axis, n - 1)))
    S = np.column_stack([np.full(len(nodes), smax), nodes, np.zeros(len(nodes))])
    vals = _objective_rows(S, lam, m, method, 0.0, "marginal", "kl")
    k = int(np.argmin(vals))
    return float(vals[k]), S[k]


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("method", ["euler", "dpmpp_2m"])
def test_optimum_matches_brute_force_in_1d(n, method):
    lam, m = np.array([0.5]), np.array([0.0])
    res = optimal_grid(EDM(80.0), (lam, m), n, method)
    bf_kl, bf_grid = _brute_force(lam, m, n, method)
    assert res.kl <= bf_kl * (1 + 1e-9)  # the descent reaches at least the lattice optimum
    assert res.kl >= bf_kl * (1 - 0.05)  # and the lattice (step 2% in sigma) is close
    assert np.allclose(np.log(res.sigmas[1:-1]), np.log(bf_grid[1:-1]), atol=0.05)


@pytest.mark.parametrize(
    ("method", "gamma"), [("euler", 0.0), ("heun", 0.0), ("dpmpp_2m", 0.0), ("ancestral", 1.0)]
)
def test_optimum_is_reproduced_by_exact_law_and_beats_its_starts(method, gamma):
    res = optimal_grid(EDM(80.0), DATA, 6, method, gamma)
    assert res.sigmas[0] == 80.0 and res.sigmas[-1] == 0.0
    assert np.all(np.diff(res.sigmas) < 0)
    if method != "heun" and method != "dpmpp_2m":  # exact_law has no dpmpp_2m; heun above
        assert res.kl == pytest.approx(_exact_kl(res.sigmas, method, gamma, "marginal"), rel=1e-9)
    starts = [v["kl"] for k, v in res.compare.items() if k in ("karras", "log-snr", "uniform-t")]
    assert res.kl <= min(starts)
    assert res.ratio("karras") >= 1.0


def test_w2_objective_and_positive_end():
    res = optimal_grid(EDM(80.0), DATA, 5, "euler", objective="w2", sigma_min=0.01)
    assert res.sigmas[-1] == 0.01
    assert res.w2 <= min(v["w2"] for v in res.compare.values() if v["sigmas"][-1] == 0.01)
    kl_opt = optimal_grid(EDM(80.0), DATA, 5, "euler", sigma_min=0.01)
    assert kl_opt.kl <= res.kl and res.w2 <= kl_opt.w2


def test_complex_step_gradient_matches_central_differences():
    par = _Param(5, 80.0, 1e-4, True)
    z = np.array([0.3, -0.2, 0.1, 0.5, -0.4])

    def f(zz):
        return _objective_rows(par.sigmas(zz), LAM, MEAN, "dpmpp_2m", 0.0, "marginal", "kl")

    grad = f(z[None, :] + 1e-30j * np.eye(5)).imag / 1e-30
    eps = 1e-6
    fd = (f(z[None, :] + eps * np.eye(5)) - f(z[None, :] - eps * np.eye(5))) / (2 * eps)
    assert np.allclose(grad, fd, rtol=1e-6, atol=1e-12)


def test_standard_grids_match_k_diffusion_formulas():
    grids, notes = standard_grids(10, 80.0)
    # get_sigmas_karras(10, 0.002, 80): first, last-but-zero, zero
    g = grids["karras"]
    assert g[0] == pytest.approx(80.0) and g[-2] == pytest.approx(0.002) and g[-1] == 0.0
    assert len(g) == 11 and "edm" in notes and "tangent" in notes
    assert grids["ays-sd"][0] == 14.615  # diffusers' AysSchedules["StableDiffusionSigmas"]
    _, notes5 = standard_grids(5, 80.0)
    assert "ays-sd" in notes5


def test_bad_input_raises():
    from analytic import VP

    with pytest.raises(ValueError, match="EDM"):
        optimal_grid(VP(), DATA, 5)
    with pytest.raises(ValueError, match="unknown method"):
        optimal_grid(None, DATA, 5, "rk4")
    with pytest.raises(ValueError, match="gamma = 0"):
        optimal_grid(None, DATA, 5, "heun", 0.5)
    with pytest.raises(ValueError, match="eigenvalue"):
        optimal_grid(None, (np.array([1.0, 0.0]), np.zeros(2)), 5)
    with pytest.raises(ValueError, match="n_steps"):
        optimal_grid(None, DATA, 0)
    with pytest.raises(ValueError, match="objective"):
        optimal_grid(None, DATA, 3, objective="tv")


# ------------------------------------------------------------------ gamma optimised too
LAM3, MEAN3 = np.array([0.05, 0.5, 2.0]), np.zeros(3)


def test_optimal_gamma_on_a_fixed_grid_matches_a_fine_scan():
    from verify.schedules import optimal_gamma

    s = karras(6, 0.002, 80.0)
    for method, scan in (("euler", np.geomspace(1e-5, 20.0, 4001)), ("ancestral", None)):
        lattice = np.linspace(0.0, 1.0, 4001) if scan is None else np.append(0.0, scan)
        kls = [evaluate_grid((LAM3, MEAN3), s, method, g)[0] for g in lattice]
        g, k = optimal_gamma((LAM3, MEAN3), s, method)
        assert k <= min(kls) * (1 + 1e-12)
        assert k == pytest.approx(evaluate_grid((LAM3, MEAN3), s, method, g)[0], rel=1e-12)
        assert abs(g - lattice[int(np.argmin(kls))]) <= 0.01 * max(g, 1e-3)


def test_joint_gamma_and_grid_match_brute_force():
    """N = 2, three directions: the optimiser's (sigma_1, gamma) against a lattice over both."""
    smax, lo = 80.0, 1e-4
    nodes = np.exp(np.linspace(np.log(smax), np.log(lo), 500))[1:]
    gammas = np.append(0.0, np.geomspace(1e-3, 20.0, 300))
    Sg, Gg = np.meshgrid(nodes, gammas, indexing="ij")
    S = np.column_stack([np.full(Sg.size, smax), Sg.ravel(), np.zeros(Sg.size)])
    G = np.repeat(Gg.ravel()[:, None], 2, axis=1)
    vals = _objective_rows(S, LAM3, MEAN3, "euler", G, "marginal", "kl")
    k = int(np.argmin(vals))
    res = optimal_grid(EDM(80.0), (LAM3, MEAN3), 2, "euler", "optimal")
    assert res.kl <= vals[k] * (1 + 1e-9)  # at least the lattice optimum
    # and a local minimum: 0.5% moves of the node or of gamma do not lower the KL
    for ds, dg in ((1.005, 1), (1 / 1.005, 1), (1, 1.005), (1, 1 / 1.005)):
        s = res.sigmas.copy()
        s[1] *= ds
        moved, _ = evaluate_grid((LAM3, MEAN3), s, "euler", res.gamma * dg)
        assert moved >= res.kl * (1 - 1e-9)
    # the reported KL is the exact law's, at the returned gamma
    sde = EDM(80.0)
    data = Gaussian(MEAN3, np.diag(LAM3))
    law = exact_law(sde, data, sde.marginal(data, 80.0), res.sigmas, gamma=res.gamma)
    assert res.kl == pytest.approx(kl(law, data), rel=1e-9)


def test_gamma_schedule_is_no_worse_than_the_constant_and_stays_in_bounds():
    data = (LAM, MEAN)
    const = optimal_grid(EDM(80.0), data, 4, "ancestral", "optimal")
    sched = optimal_grid(EDM(80.0), data, 4, "ancestral", "optimal-schedule")
    assert 0.0 <= const.gamma <= 1.0
    assert sched.gamma.shape == (4,) and np.all((sched.gamma >= 0) & (sched.gamma <= 1))
    assert sched.kl <= const.kl * (1 + 1e-9)
    fixed = optimal_grid(EDM(80.0), data, 4, "ancestral", 1.0)
    assert const.kl <= fixed.kl * (1 + 1e-9)
    assert all("gamma" in row for row in const.compare.values())
    with pytest.raises(ValueError, match="stochastic method"):
        optimal_grid(None, data, 4, "heun", "optimal")
    with pytest.raises(ValueError, match="gamma must be"):
        optimal_grid(None, data, 4, "euler", "best")


def test_stored_ays_sigmas_are_the_installed_diffusers_ones(monkeypatch):
    from verify.schedules import standard

    table = standard._ays_table()
    if table is None:
        pytest.skip("diffusers is not installed")
    for key, sigmas in standard.AYS_PUBLISHED.items():
        assert table[key] == sigmas, key
    # without diffusers the stored lists are used
    monkeypatch.setattr(standard, "_ays_table", lambda: None)
    s, why = standard.ays(10, "StableDiffusionXL")
    assert why == "" and s[0] == 14.615 and s[-1] == 0.0
