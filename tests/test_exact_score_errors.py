"""Exact laws under score errors, against moment equations written out in the test.

The reference never calls ``affine_parts``: it probes the erroneous score itself at ``x = 0``
and the unit vectors (an affine field is fixed by ``d + 1`` values), builds the moment
equations of the reverse family from ``sde.f``/``sde.g2`` and solves them with its own
integrator (continuous time: scipy's LSODA; discrete time: the Euler-Maruyama moment map
written from its definition). A law that drops a part of the error (``P~ = K P - A`` without
``A``, ``c~ = K c + b`` without ``b`` or ``K``) differs from it by far more than the tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from analytic import EDM, OU, VP, Gaussian
from verify.errors import Affine, Offset, Scale
from verify.solvers.chain_laws import continuous_kl_closed_form, exact_law, ve_ancestral_shortfall

DATA = Gaussian([0.6, -0.4], [[1.3, 0.4], [0.4, 0.5]])


def _probed_affine(score, t, d):
    """``(P~, c~)`` with ``score(x, t) = -P~ x + c~``, from ``d + 1`` evaluations."""
    x = np.vstack([np.zeros(d), np.eye(d)])
    s = np.asarray(score(x, t), dtype=float)
    c = s[0]
    P = -(s[1:] - c).T  # column j: s(e_j) - s(0) = -P e_j
    return P, c


def _moment_ode_reference(sde, score, init, T, t_min, gamma):
    d = init.dim

    def rhs(tau, y):
        t = T - tau
        f, g2 = float(sde.f(t)), float(sde.g2(t))
        P, c = _probed_affine(score, t, d)
        w = 0.5 * (1.0 + gamma) * g2
        F = -f * np.eye(d) - w * P
        m, C = y[:d], y[d:].reshape(d, d)
        return np.concatenate([F @ m + w * c, (F @ C + C @ F.T + gamma * g2 * np.eye(d)).ravel()])

    y0 = np.concatenate([init.mean, init.cov.ravel()])
    sol = integrate.solve_ivp(rhs, (0.0, T - t_min), y0, method="LSODA", rtol=1e-10, atol=1e-12)
    assert sol.success
    m, C = sol.y[:d, -1], sol.y[d:, -1].reshape(d, d)
    return m, 0.5 * (C + C.T)


def _euler_reference(sde, score, init, grid, gamma):
    d = init.dim
    m, C = init.mean.copy(), init.cov.copy()
    for t, s in zip(grid[:-1], grid[1:], strict=True):
        h, f, g2 = t - s, float(sde.f(t)), float(sde.g2(t))
        P, c = _probed_affine(score, t, d)
        B = h * 0.5 * (1.0 + gamma) * g2
        M = (1.0 - h * f) * np.eye(d) - B * P
        m, C = M @ m + B * c, M @ C @ M.T + gamma * g2 * h * np.eye(d)
    return m, C


ERRORS = {
    "affine scalar A": lambda s: Affine(s, A=0.4, b=[0.3, -0.2]),
    "affine full A": lambda s: Affine(s, A=[[0.3, 0.2], [-0.1, 0.5]], b=0.1),
    "affine A(t)": lambda s: Affine(s, A=lambda t: 0.5 * t, b=0.0),
    "scale": lambda s: Scale(s, 1.3),
    "scale full k": lambda s: Scale(s, [[1.2, 0.1], [0.0, 0.9]]),
    "offset": lambda s: Offset(s, [0.5, 0.0]),
}


@pytest.mark.parametrize("name", list(ERRORS))
@pytest.mark.parametrize("gamma", [0.0, 0.7])
def test_continuous_law_under_a_score_error_solves_the_moment_ode(name, gamma):
    sde, T, t_min = VP(0.1, 8.0), 1.0, 0.05
    err = ERRORS[name](sde.score(DATA))
    init = sde.prior(2)
    m_ref, C_ref = _moment_ode_reference(sde, err, init, T, t_min, gamma)
    law = exact_law(sde, DATA, init, (T, t_min), gamma=gamma, method=None, score_error=err)
    np.testing.assert_allclose(law.mean, m_ref, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(law.cov, C_ref, rtol=1e-7, atol=1e-8)
    exact = exact_law(sde, DATA, init, (T, t_min), gamma=gamma, method=None)
    assert np.max(np.abs(law.cov - exact.cov)) + np.max(np.abs(law.mean - exact.mean)) > 1e-3


@pytest.mark.parametrize("name", list(ERRORS))
def test_euler_law_under_a_score_error_is_its_moment_map(name):
    sde, gamma = OU(T=1.5), 0.6
    err = ERRORS[name](sde.score(DATA))
    grid = np.linspace(1.5, 0.02, 13)
    init = Gaussian([0.2, 0.1], [[1.1, 0.1], [0.1, 0.9]])
    m_ref, C_ref = _euler_reference(sde, err, init, grid, gamma)
    law = exact_law(sde, DATA, init, grid, gamma=gamma, method="euler", score_error=err)
    np.testing.assert_allclose(law.mean, m_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(law.cov, C_ref, rtol=1e-10, atol=1e-12)


ISO = Gaussian([0.3, 0.1], 0.7)  # isotropic: the exact precision is diagonal
SPARSE = {"affine sparse A": lambda s: Affine(s, A=[[0.3, 0.2], [0.0, 0.0]])}


@pytest.mark.parametrize(
    "data, name",
    [(DATA, None), (DATA, "affine full A"), (DATA, "scale full k"), (ISO, "affine sparse A")],
)
def test_pc_without_an_active_corrector_has_its_predictors_law(data, name):
    # snr = 0: every corrector step is the identity (no drift and no noise), on the diagonal
    # and on the full d x d path alike (also where the perturbed precision has exact zeros)
    sde = VP(0.1, 20.0)
    err = None if name is None else {**ERRORS, **SPARSE}[name](sde.score(data))
    grid = np.linspace(1.0, 1e-2, 9)
    init = sde.prior(2)
    ref = exact_law(sde, data, init, grid, 0.8, "euler", err)
    for n_corrector in (1, 3):
        law = exact_law(sde, data, init, grid, 0.8, "pc", err, snr=0.0, n_corrector=n_corrector)
        np.testing.assert_allclose(law.mean, ref.mean, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(law.cov, ref.cov, rtol=1e-13, atol=1e-14)


def test_pc_corrector_is_skipped_where_sigma2_vanishes():
    # a last step to t = 0 under EDM: sigma2(0) = 0 exactly, so the corrector there is the
    # identity; the chain up to that step has the law of pc, the last step that of euler
    sde = EDM(10.0)
    grid = np.array([10.0, 3.0, 1.0, 0.0])
    init = sde.prior(2)
    head = exact_law(sde, DATA, init, grid[:-1], 1.0, "pc", snr=0.1)
    law = exact_law(sde, DATA, init, grid, 1.0, "pc", snr=0.1)
    tail = exact_law(sde, DATA, head, grid[-2:], 1.0, "euler")
    np.testing.assert_allclose(law.mean, tail.mean, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(law.cov, tail.cov, rtol=1e-12, atol=1e-13)


def test_closed_form_kl_rejects_times_outside_the_horizon():
    sde = OU(T=1.5)
    for bad in (-0.1, 1.6):
        with pytest.raises(ValueError, match=r"t must lie in \[0, T_start = 1.5\]"):
            continuous_kl_closed_form(sde, DATA, sde.prior(2), [0.5, bad], 1.0)


@pytest.mark.parametrize("s", [0.0, 1.2])
def test_ve_ancestral_shortfall_is_the_chain_gap_down_to_the_data(s):
    # one ancestral step from p_t: the target variance minus the exact chain variance, also
    # for the last step to t = 0 (sigma2(s) = 0, where the step ends at the data)
    sde, t = EDM(10.0), 2.0  # alpha = 1, sigma2(t) = t^2: sigma2(0) = 0 exactly
    data = Gaussian(0.4, 0.9)
    law = exact_law(sde, data, sde.marginal(data, t), [t, s], 1.0, "ancestral")
    gap = 0.9 + float(sde.sigma2(s)) - law.cov[0, 0]
    want = ve_ancestral_shortfall(0.9, float(sde.sigma2(t)), float(sde.sigma2(s)))
    assert gap == pytest.approx(want, rel=1e-9) and gap > 0
