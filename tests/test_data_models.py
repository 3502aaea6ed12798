"""verify.data: the Gaussian models of real data, each number against an independent route."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analytic import EDM, Gaussian, IdentityBasis, SpectralCovariance, kl
from verify.data import MODELS, gaussian_model, power_law_eigenvalues


# ------------------------------------------------------------------------ power law
def test_power_law_eigenvalues_are_the_closed_form():
    lam = power_law_eigenvalues(5, 2.0, variance=1.0)
    raw = np.array([1.0, 1 / 4, 1 / 9, 1 / 16, 1 / 25])
    np.testing.assert_allclose(lam, raw * 5 / raw.sum(), rtol=1e-15)


def test_power_law_model_is_spectral_in_the_identity_basis():
    m = gaussian_model("power-law", d=10, exponent=1.0, variance=0.5)
    assert isinstance(m.covariance, SpectralCovariance)
    assert m.covariance.basis == IdentityBasis(10)
    np.testing.assert_allclose(np.trace(m.cov), 5.0, rtol=1e-14)
    np.testing.assert_array_equal(m.mean, np.zeros(10))
    assert m.metadata["exponent"] == 1.0
    # KL against the same law written as a diagonal Gaussian: 0; against a shifted one:
    # the closed form |delta|^2 / (2 lam) summed
    diag = Gaussian(np.zeros(10), m.covariance.eigenvalues)
    assert kl(m, diag) == pytest.approx(0.0, abs=1e-15)
    shifted = Gaussian(np.full(10, 0.1), m.covariance.eigenvalues)
    want = 0.5 * np.sum(0.01 / m.covariance.eigenvalues)
    assert kl(m, shifted) == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize(
    "kw", [{"d": 0}, {"d": 2.5}, {"exponent": -1.0}, {"exponent": np.nan}, {"variance": 0.0}]
)
def test_power_law_rejects_bad_parameters(kw):
    with pytest.raises(ValueError):
        gaussian_model("power-law", **{"d": 4, **kw})


def test_unknown_model_and_parameters_are_errors():
    with pytest.raises(ValueError, match="unknown data model"):
        gaussian_model("cifar")
    assert "digits" in MODELS
    pytest.importorskip("sklearn")
    with pytest.raises(TypeError, match="no parameters"):
        gaussian_model("digits", d=3)


# ------------------------------------------------------------------------ digits
@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFUSION_VERIFY_CACHE", str(tmp_path))
    return tmp_path


def test_digits_model_is_the_sample_mean_and_covariance(cache):
    datasets = pytest.importorskip("sklearn.datasets")
    x = datasets.load_digits().data / 8.0 - 1.0
    m = gaussian_model("digits")
    assert m.dim == 64 and m.metadata["n_samples"] == 1797 == len(x)
    np.testing.assert_allclose(m.mean, x.mean(axis=0), atol=1e-13)
    lam = m.covariance.eigenvalues
    assert np.all(np.diff(lam) <= 0), "eigenvalues sorted largest first"
    floor = (1 / 8) ** 2 / 12
    np.testing.assert_allclose(m.cov - floor * np.eye(64), np.cov(x.T), atol=1e-12)
    assert lam[-1] >= floor  # constant pixels: exactly the dequantisation floor, not 0


def test_digits_cache_round_trip_and_a_tampered_entry_is_rebuilt(cache):
    pytest.importorskip("sklearn")
    import verify.data as vd

    first = vd.gaussian_model("digits")
    vd._MEMO.clear()
    again = vd.gaussian_model("digits")
    assert again is not first
    np.testing.assert_array_equal(again.covariance.eigenvalues, first.covariance.eigenvalues)
    assert again.metadata == first.metadata
    (npz,) = (cache / "models").glob("*.npz")
    npz.write_bytes(npz.read_bytes()[:-10])
    vd._MEMO.clear()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rebuilt = vd.gaussian_model("digits")
    assert any("ignoring" in str(x.message) for x in w)
    np.testing.assert_allclose(rebuilt.cov, first.cov, atol=1e-14)


def test_digits_bootstrap_reference_kl_matches_the_dense_recursion(cache):
    pytest.importorskip("sklearn")
    from verify.solvers import grids
    from verify.solvers.chain_laws import exact_law

    m = gaussian_model("digits")
    boot = m.metadata["bootstrap"]
    assert boot["replicates"] == 50 and boot["reference"]["method"] == "euler"
    dense = Gaussian(m.mean, m.cov)  # full covariance: eigh + the dense route
    sde = EDM(80.0)
    for n, want in zip(boot["reference"]["n_steps"], boot["kl"], strict=True):
        grid = grids.karras(sde, n, 0.002, 80.0, 7.0, append_zero=True)
        law = exact_law(sde, dense, sde.prior(64), grid, gamma=0.0, method="euler")
        assert kl(law, dense) == pytest.approx(want, rel=1e-8)
    assert all(0 < s for s in boot["kl_sd"])
    bands = zip(boot["kl_q05"], boot["kl"], boot["kl_q95"], strict=True)
    assert all(lo <= k <= hi for lo, k, hi in bands)


def test_block_sums_with_every_block_once_give_the_fitted_eigenvalues():
    from verify.data.fit import fit_pca

    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 6)) @ rng.standard_normal((6, 6))
    mean, lam, U, sums = fit_pca([x[:150], x[150:]], floor=0.0, blocks_per_group=5)
    mz, lam_all = sums.spectrum()
    np.testing.assert_allclose(mz, 0.0, atol=1e-12)
    np.testing.assert_allclose(lam_all, lam, rtol=1e-10)
    np.testing.assert_allclose(np.sort(lam), np.linalg.eigvalsh(np.cov(x.T)), rtol=1e-10)


# ------------------------------------------------------------------------ photographs
@pytest.mark.slow
def test_photo_patch_models_against_numpy_and_the_fft(cache):
    """The 32x32x3 model is numpy's sample covariance of the patches (checked on random
    directions, O(n d) instead of a d x d comparison); the 64x64x3 stationary model's
    eigenvalues are the periodogram averaged over patches, computed here by a direct DFT
    of one channel combination."""
    pytest.importorskip("sklearn")
    from analytic import HartleyBasis
    from verify.data.images import PHOTO_STEP, patches, sample_images

    ims = sample_images()
    m32 = gaussian_model("photo-patches-32")
    x = np.concatenate([patches(im, 32, 8) for im in ims])
    assert m32.dim == 3072 and m32.metadata["n_samples"] == len(x)
    np.testing.assert_allclose(m32.mean, x.mean(axis=0), atol=1e-12)
    v = np.random.default_rng(0).standard_normal((3072, 3))
    xc = x - x.mean(axis=0)
    want = (xc @ v).T @ (xc @ v) / (len(x) - 1) + PHOTO_STEP**2 / 12 * (v.T @ v)
    got = (
        v.T
        @ m32.covariance.basis.from_eigen(
            m32.covariance.basis.to_eigen(v.T) * m32.covariance.eigenvalues
        ).T
    )
    np.testing.assert_allclose(got, want, rtol=1e-9)

    m64 = gaussian_model("photo-patches-64")
    assert isinstance(m64.covariance.basis, HartleyBasis) and m64.dim == 12288
    V = m64.covariance.basis.V
    y = np.concatenate([patches(im, 64, 16) for im in ims]).reshape(-1, 64, 64, 3)
    mc = y.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(m64.mean.reshape(64, 64, 3)[5, 7], mc, atol=1e-12)
    c = ((y - mc) @ V)[..., 1]  # the second colour component
    k = np.arange(64)
    E = np.exp(-2j * np.pi * np.outer(k, k) / 64) / 8.0  # unitary 1-D DFT
    per = np.mean(np.abs(E @ c @ E.T) ** 2, axis=0) * len(y) / (len(y) - 1)
    lam = m64.covariance.eigenvalues.reshape(64, 64, 3)[..., 1]
    np.testing.assert_allclose(lam, per + PHOTO_STEP**2 / 12, rtol=1e-9)
    for m in (m32, m64):
        boot = m.metadata["bootstrap"]
        assert all(0 < r < 1 for r in boot["kl_rel_sd"])


# ------------------------------------------------------------------------ the table
def test_sampler_table_against_the_dense_route():
    """KL and W2 of every row against the dense laws (Cholesky KL, mpmath Bures W2); the
    shares against the per-direction sum done here by hand."""
    from analytic import DenseBasis, kl_mp, w2_mp
    from verify.data.table import SAMPLERS, sampler_table
    from verify.solvers import grids
    from verify.solvers.chain_laws import exact_law

    rng = np.random.default_rng(5)
    U = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    lam = power_law_eigenvalues(6, 1.5)
    data = Gaussian.from_spectrum(rng.standard_normal(6) * 0.3, lam, DenseBasis(U))
    rows = sampler_table({"toy": data}, steps=(5, 10))
    assert len(rows) == 2 * len(SAMPLERS)
    dense = Gaussian(data.mean, data.cov)
    sde = EDM(80.0)
    for r in rows:
        method, gamma = SAMPLERS[r["sampler"]]
        grid = grids.karras(sde, r["n_steps"], 0.002, 80.0, 7.0, append_zero=True)
        law = exact_law(sde, dense, sde.prior(6), grid, gamma=gamma, method=method)
        law = Gaussian(law.mean, law.cov)
        assert r["kl"] == pytest.approx(float(kl_mp(law, dense)), rel=1e-7)
        assert r["w2"] == pytest.approx(float(w2_mp(law, dense)), rel=1e-6)
        # the leading direction (6 // 10 -> 1 direction) and the trailing half by hand
        C = U.T @ law.cov @ U
        dlt = U.T @ (law.mean - data.mean)
        k = 0.5 * (np.diag(C) / lam - 1 - np.log(np.diag(C) / lam) + dlt**2 / lam)
        assert r["kl_leading"] == pytest.approx(k[0] / k.sum(), rel=1e-6)
        assert r["kl_trailing"] == pytest.approx(k[3:].sum() / k.sum(), rel=1e-6)
    # more steps, less error, for the deterministic samplers
    by = {(r["sampler"], r["n_steps"]): r["kl"] for r in rows}
    assert all(by[(s, 10)] < by[(s, 5)] for s in ("euler", "heun", "exponential"))
