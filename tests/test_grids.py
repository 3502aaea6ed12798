"""Specifications of ``verify.solvers.grids``."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import EDM, OU, VE, VP, SubVP
from verify.solvers import grids

SDES = [VP(), VE(0.01, 50.0), OU(T=3.0), SubVP(), EDM(80.0)]

# The code of arXiv 2603.00772 (GeneralizingDiffusionHeavytail): the 13 flow-grid sigmas are
# nodes of the Karras grid sigma_max = 3, sigma_min = 2e-4, rho = 2, n = 40 nodes (i = 0..39)
FLOW_SIGMAS = [
    2.55969277,
    2.28555770,
    2.02694511,
    1.78385499,
    1.24404052,
    1.05527906,
    0.8012415,
    0.582129509,
    0.397943082,
    0.248682220,
    0.134346923,
    0.0549371894,
    0.0104530209,
]


def _builders(sde):
    smax = float(sde.sigma(sde.T))
    return {
        "uniform": grids.uniform(sde, 17, t_min=0.0),
        "uniform_early_stop": grids.uniform(sde, 17, t_min=1e-3 * sde.T),
        "karras": grids.karras(sde, 17, 2e-3 * smax, smax),
        "log_snr": grids.log_snr(sde, 17, 1e-3 * sde.T),
        "quadratic": grids.quadratic(sde, 17, t_min=1e-3 * sde.T),
    }


@pytest.mark.parametrize("sde", SDES, ids=repr)
def test_grids_are_strictly_decreasing_inside_the_horizon(sde):
    for name, g in _builders(sde).items():
        assert g.dtype == np.float64 and g.shape == (18,), name
        assert np.all(np.diff(g) < 0), name
        assert g[0] <= sde.T * (1 + 1e-12) and g[-1] >= 0, name
        np.testing.assert_array_equal(grids.validate(g, sde), g)


@pytest.mark.parametrize("sde", SDES, ids=repr)
def test_grid_endpoints(sde):
    b = _builders(sde)
    assert b["uniform"][0] == sde.T and b["uniform"][-1] == 0.0
    assert b["uniform_early_stop"][-1] == 1e-3 * sde.T
    assert b["log_snr"][0] == sde.T and b["log_snr"][-1] == 1e-3 * sde.T
    assert b["quadratic"][0] == sde.T and b["quadratic"][-1] == 1e-3 * sde.T
    smax = float(sde.sigma(sde.T))
    np.testing.assert_allclose(sde.sigma(b["karras"][[0, -1]]), [smax, 2e-3 * smax], rtol=1e-9)


def test_karras_reproduces_the_published_sigmas():
    sde = EDM(3.0)  # sigma = t
    g = grids.karras(sde, 39, 2e-4, 3.0, rho=2.0)
    assert g.shape == (40,)
    for s in FLOW_SIGMAS:
        assert np.min(np.abs(g - s) / s) < 5e-9, s
    np.testing.assert_allclose(g[14], 1.24404052, rtol=1e-8)
    # formula of Karras et al. eq. 5 with n = 40 nodes
    i = np.arange(40)
    ref = (3.0**0.5 + i / 39 * ((2e-4) ** 0.5 - 3.0**0.5)) ** 2
    np.testing.assert_allclose(g, ref, rtol=1e-13)
    assert grids.karras(sde, 39, 2e-4, 3.0, rho=2.0, append_zero=True)[-1] == 0.0


def test_karras_maps_sigmas_through_t_of_sigma():
    sde = VP()
    smax = float(sde.sigma(1.0))
    g = grids.karras(sde, 10, 0.01, smax, rho=7.0)
    i = np.arange(11)
    sig = (smax ** (1 / 7) + i / 10 * (0.01 ** (1 / 7) - smax ** (1 / 7))) ** 7
    np.testing.assert_allclose(sde.sigma(g), sig, rtol=1e-10)


def test_log_snr_grid_is_uniform_in_log_snr():
    sde = VP()
    g = grids.log_snr(sde, 12, 1e-3)
    np.testing.assert_allclose(np.diff(sde.log_snr(g)), np.diff(sde.log_snr(g))[0], rtol=1e-8)


def test_quadratic_grid_formula():
    sde = OU(T=2.0)
    g = grids.quadratic(sde, 4, t_min=0.1)
    np.testing.assert_allclose(g, 0.1 + 1.9 * (1 - np.arange(5) / 4) ** 2)


def test_truncate_starts_at_a_published_node_without_a_tiny_step():
    sde = EDM(3.0)
    g = grids.karras(sde, 39, 2e-4, 3.0, rho=2.0)
    for s, n_kept in [(1.24404052, 26), (1.05527906, 24), (0.8012415, 21)]:
        tr = grids.truncate(g, sde, s)
        assert tr.shape == (n_kept,)
        np.testing.assert_allclose(tr[0], s, rtol=1e-8)
        np.testing.assert_array_equal(tr[1:], g[40 - n_kept + 1 :])


def test_truncate_prepends_the_start_node_when_needed():
    sde = VP()
    g = grids.uniform(sde, 10)
    sig_T = float(sde.sigma(0.55))
    tr = grids.truncate(g, sde, sig_T)
    np.testing.assert_allclose(tr[0], 0.55, rtol=1e-10)
    np.testing.assert_array_equal(tr[1:], g[g < 0.55 - 1e-12])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: grids.validate([1.0, 0.5, 0.5], s), "strictly decreasing"),
        (lambda s: grids.validate([0.5, 1.0], s), "strictly decreasing"),
        (lambda s: grids.validate([2.0, 0.5], s), r"\[0, T\]"),
        (lambda s: grids.validate([1.0, -0.1], s), r"\[0, T\]"),
        (lambda s: grids.validate([1.0, np.nan], s), "NaN"),
        (lambda s: grids.validate([[1.0, 0.5]], s), "1-D"),
        (lambda s: grids.uniform(s, 0), "n_steps"),
        (lambda s: grids.uniform(s, 10, t_min=2.0), "t_min"),
        (lambda s: grids.karras(s, 10, 0.01, 1e3), "sigma_max"),
        (lambda s: grids.karras(s, 10, 1.0, 0.5), "sigma_min"),
        (lambda s: grids.log_snr(s, 10, 0.0), "t_min > 0"),
        (lambda s: grids.truncate(grids.uniform(s, 4), s, -1.0), "sigma_T"),
    ],
)
def test_bad_grids_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(VP())


def test_karras_accepts_sigma_max_equal_to_the_ve_horizon_up_to_rounding():
    """VE(0.01, 50): sigma(T) = sqrt(50^2 - 0.01^2) = 49.999999; sigma_max = 50 is that node."""
    sde = VE(0.01, 50.0)
    g = grids.karras(sde, 50, 0.01, 50.0)
    assert g[0] == pytest.approx(sde.T, rel=1e-12) and g.shape == (51,)
    with pytest.raises(ValueError, match="exceeds sde.sigma"):
        grids.karras(sde, 50, 0.01, 50.01)
