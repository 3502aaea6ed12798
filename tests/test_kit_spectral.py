"""The kit's spectral probe (verify.kit.spectral): the exact output law of a sampler on a
spectral Gaussian from one batch run, against independent routes (exact_law, the 1-D chain
recursions of verify.schedules, a hand recursion of k-diffusion's Euler update)."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import EDM, Gaussian
from analytic.spectral import DenseBasis, IdentityBasis
from verify.kit import references as R
from verify.kit import spectral as S
from verify.kit.conformance import NotAffineError
from verify.solvers import grids
from verify.solvers.chain_laws import exact_law

SDE = EDM(80.0)


def _data(d=6, seed=1):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.exp(rng.uniform(-5.0, 0.0, d))
    return Gaussian.from_spectrum(rng.standard_normal(d), lam, DenseBasis(U))


def _sigmas(n=10):
    return np.asarray(SDE.sigma(grids.karras(SDE, n, 0.002, 80.0, 7.0, append_zero=True)))


def _prior_law(mp, d):
    return mp.law(np.zeros(d), 80.0**2)


@pytest.mark.parametrize("coordinates", S.COORDINATES)
@pytest.mark.parametrize(
    "fn, method, gamma, knobs",
    [
        (R.sample_euler, "euler", 0.0, {}),
        (R.sample_euler_ancestral, "ancestral", 1.0, {"eta": 1.0}),
        (R.sample_euler_ancestral, "ancestral", 0.25, {"eta": 0.5}),
    ],
    ids=["euler", "ancestral", "ancestral-eta0.5"],
)
def test_probe_equals_exact_law_for_verify_samplers(fn, method, gamma, knobs, coordinates):
    data = _data()
    grid = grids.karras(SDE, 10, 0.002, 80.0, 7.0, append_zero=True)
    ref = exact_law(SDE, data, SDE.prior(data.dim), grid, gamma=gamma, method=method)
    mp = S.kdiffusion_map(fn, data, np.asarray(SDE.sigma(grid)), coordinates=coordinates, **knobs)
    law = _prior_law(mp, data.dim)
    np.testing.assert_allclose(law.mean, ref.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(law.cov, ref.cov, rtol=1e-9, atol=1e-13)
    e, e0 = S.spectral_error(law, data), S.spectral_error(ref, data)
    assert e["kl"] == pytest.approx(e0["kl"], rel=1e-9)
    assert e["w2"] == pytest.approx(e0["w2"], rel=1e-9)
    assert (mp.draws > 0) == (gamma > 0)


def _euler_by_hand(data, sigmas):
    """k-diffusion's sample_euler update x += (s' - s) (x - D(x, s)) / s, one direction at a
    time in the eigenbasis: mean and variance of the output from N(0, 80^2 I)."""
    lam, mu = data.covariance.eigenvalues, data.mean_coefficients
    mean, var = np.zeros_like(lam), np.full_like(lam, 80.0**2)
    for s, s1 in zip(sigmas[:-1], sigmas[1:], strict=True):
        a = lam / (lam + s * s)
        # x - D = (1 - a)(x - mu); x' = x + (s1 - s)/s (1 - a)(x - mu)
        k = (s1 - s) / s * (1.0 - a)
        mean = mean + k * (mean - mu)
        var = (1.0 + k) ** 2 * var
    return mean, var


def test_real_kdiffusion_euler_equals_a_hand_recursion():
    pytest.importorskip("torch")
    kd = pytest.importorskip("verify.kit.adapters.kdiffusion")
    K = kd.load_sampling()
    data, s = _data(), _sigmas(10)
    mp = S.kdiffusion_map(K.sample_euler, data, s)
    law = _prior_law(mp, data.dim)
    mean, var = _euler_by_hand(data, s)
    np.testing.assert_allclose(law.mean_coefficients, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(law.covariance.eigenvalues, var, rtol=1e-10)
    assert np.all(mp.noise == 0.0)  # sample_euler draws randn_like but scales it by 0


@pytest.mark.parametrize(
    "name, method, knobs",
    [("sample_heun", "heun", {}), ("sample_dpmpp_2m", "dpmpp_2m", {})],
)
def test_real_kdiffusion_odes_equal_the_schedules_chains(name, method, knobs):
    """Gain per direction against verify.schedules.output_moments (its own recursion)."""
    pytest.importorskip("torch")
    kd = pytest.importorskip("verify.kit.adapters.kdiffusion")
    from verify.schedules import output_moments

    data, s = _data(), _sigmas(10)
    mp = S.kdiffusion_map(getattr(kd.load_sampling(), name), data, s, **knobs)
    G, q = output_moments(s, data.covariance.eigenvalues, method)
    np.testing.assert_allclose(mp.gain, G[0], rtol=1e-10)
    # the offset: the mean error from a start at the mean is zero (affine, mean-preserving)
    np.testing.assert_allclose(mp.offset, (1 - mp.gain) * data.mean_coefficients, atol=1e-12)


def test_eigen_and_data_coordinates_agree_for_an_sde_sampler():
    pytest.importorskip("torch")
    kd = pytest.importorskip("verify.kit.adapters.kdiffusion")
    fn = kd.load_sampling().sample_dpmpp_2m_sde
    data, s = _data(), _sigmas(8)
    a = S.kdiffusion_map(fn, data, s, eta=1.0, coordinates="eigen")
    b = S.kdiffusion_map(fn, data, s, eta=1.0, coordinates="data")
    assert a.draws == b.draws > 0
    for f in ("gain", "offset", "noise"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "cls, method",
    [("EulerDiscreteScheduler", "euler"), ("DPMSolverMultistepScheduler", "dpmpp_2m")],
)
def test_diffusers_schedulers_equal_the_chain_on_their_levels(cls, method):
    pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    from verify.schedules import output_moments

    data = _data()
    mp, levels = S.scheduler_map(getattr(diffusers, cls)(), data, 10)
    assert levels[-1] == 0.0 and len(levels) == 11
    G, q = output_moments(levels, data.covariance.eigenvalues, method)
    np.testing.assert_allclose(mp.gain, G[0], rtol=1e-9)
    assert np.all(mp.noise == 0.0)


def _pixel_clipped_euler(model, x, sigmas, noise_sampler=None):
    """Euler that clips every coordinate to [-0.5, 0.5] (not diagonal in the eigenbasis)."""
    x = R.sample_euler(model, x, sigmas)
    return np.clip(x, -0.5, 0.5)


def _per_coordinate_euler(model, x, sigmas, noise_sampler=None):
    """Euler whose last update is scaled per coordinate (an affine map, but not diagonal in
    the data's eigenbasis)."""
    x = R.sample_euler(model, x, sigmas)
    return x * np.linspace(0.9, 1.1, x.shape[1])


@pytest.mark.parametrize("fn", [_pixel_clipped_euler, _per_coordinate_euler])
def test_a_sampler_not_diagonal_in_the_eigenbasis_is_refused(fn):
    data, s = _data(), _sigmas(5)
    with pytest.raises(NotAffineError, match="relative residual"):
        S.kdiffusion_map(fn, data, s, coordinates="data")


def test_a_wrong_noise_scale_shows_in_the_noise_part():
    """s_noise = 1.1: the injected variance is 1.21 times the right one, direction by
    direction (compare the reference at s_noise = 1)."""
    data, s = _data(), _sigmas(6)
    ok = S.kdiffusion_map(R.sample_euler_ancestral, data, s, eta=1.0)
    bad = S.kdiffusion_map(R.sample_euler_ancestral, data, s, eta=1.0, s_noise=1.1)
    np.testing.assert_allclose(bad.noise / ok.noise, 1.21, rtol=1e-12)
    np.testing.assert_allclose(bad.gain, ok.gain, rtol=1e-12)


def test_kl_shares_of_a_single_bad_direction():
    """All the error in the smallest-eigenvalue direction: trailing share 1, leading 0."""
    lam = np.array([4.0, 2.0, 1.0, 0.5])
    basis = IdentityBasis(4)
    data = Gaussian.from_spectrum(np.zeros(4), lam, basis)
    law = Gaussian.from_spectrum(np.zeros(4), lam * np.array([1, 1, 1, 2.0]), basis)
    e = S.spectral_error(law, data, leading=0.25, trailing=0.5)
    assert e["kl"] == pytest.approx(0.5 * (2.0 - 1.0 - np.log(2.0)), rel=1e-14)
    assert (e["kl_leading"], e["kl_trailing"]) == (0.0, 1.0)
    assert e["w2"] == pytest.approx(abs(np.sqrt(1.0) - np.sqrt(0.5)), rel=1e-14)


def test_bad_inputs_raise():
    data = _data()
    with pytest.raises(ValueError, match="spectral form"):
        S.kdiffusion_map(R.sample_euler, Gaussian(np.zeros(2), np.eye(2)), _sigmas(3))
    with pytest.raises(ValueError, match="decreasing"):
        S.kdiffusion_map(R.sample_euler, data, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="coordinates"):
        S.kdiffusion_map(R.sample_euler, data, _sigmas(3), coordinates="pixels")


def test_kdiffusion_heun_is_verify_heun_except_the_last_step_to_zero():
    """Finding: on a grid ending at sigma_min the real sample_heun is exact_law's heun to
    rounding; on a grid ending at 0 k-diffusion takes an Euler last step (Karras et al. 2022,
    Alg. 1) while verify's ``heun`` takes a Heun step with the score at 0, so they differ."""
    pytest.importorskip("torch")
    kd = pytest.importorskip("verify.kit.adapters.kdiffusion")
    fn, data = kd.load_sampling().sample_heun, _data()
    gaps = []
    for zero in (False, True):
        grid = grids.karras(SDE, 10, 0.002, 80.0, 7.0, append_zero=zero)
        ref = exact_law(SDE, data, SDE.prior(data.dim), grid, gamma=0.0, method="heun")
        law = _prior_law(S.kdiffusion_map(fn, data, np.asarray(SDE.sigma(grid))), data.dim)
        gaps.append(np.max(np.abs(law.cov - ref.cov)) / np.max(np.abs(ref.cov)))
    assert gaps[0] < 1e-12 and gaps[1] > 1e-6
