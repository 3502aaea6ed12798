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
