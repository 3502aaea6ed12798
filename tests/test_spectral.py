"""Gaussians in spectral form (``analytic.spectral``) and W2 (``analytic.wasserstein``).

Independent routes: the dense covariance matrix and the dense formulas of ``analytic``
(Cholesky), a circulant covariance written from its covariance function, mpmath
(``kl_mp``, ``w2_mp``), the 1-D closed form of W2, and a d x d moment recursion written here
from the samplers' step coefficients.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import linalg

from analytic import OU, VE, VP, DenseBasis, Gaussian, HartleyBasis, kl, kl_mp, w2, w2_mp
from analytic.wasserstein import bures_squared, w2_squared
from verify.solvers.chain_laws import exact_law


def _orth(d, seed):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))[0]


def _spectral(d=7, seed=0, basis=None):
    rng = np.random.default_rng(seed)
    U = _orth(d, seed + 100) if basis is None else basis
    lam = rng.uniform(0.05, 3.0, d)
    m = rng.standard_normal(d)
    return Gaussian.from_spectrum(m, lam, U), U, lam, m


def _dense_of(p):
    return Gaussian(p.mean, p.cov)


# ---------------------------------------------------------------- spectral form
def test_from_spectrum_dense_basis_matches_dense_gaussian():
    p, U, lam, m = _spectral()
    dense = Gaussian(m, (U * lam) @ U.T)
    x = np.random.default_rng(1).standard_normal((5, 7))
    np.testing.assert_allclose(p.log_prob(x), dense.log_prob(x), rtol=1e-13)
    np.testing.assert_allclose(p.score(x), dense.score(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.cov, dense.cov, atol=1e-14)
    np.testing.assert_allclose(p.covariance.diagonal(), np.diag(dense.cov), atol=1e-14)
    assert p.covariance.logdet == pytest.approx(np.linalg.slogdet(dense.cov)[1], rel=1e-13)
    # the forward marginal keeps the form and equals the dense marginal
    for sde in (VP(), VE(0.01, 10.0)):
        pt, dt = sde.marginal(p, 0.4), sde.marginal(dense, 0.4)
        assert pt.covariance.kind == "spectral"
        np.testing.assert_allclose(pt.cov, dt.cov, atol=1e-13)
        np.testing.assert_allclose(pt.score(x), dt.score(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(pt.mean_coefficients, U.T @ dt.mean, atol=1e-13)


def test_from_spectrum_samples_have_the_covariance():
    p, U, lam, m = _spectral(d=4)
    x = p.sample(200_000, np.random.default_rng(2))
    # 5 standard errors of a sample covariance entry: sqrt((S_ii S_jj + S_ij^2) / n)
    S = p.cov
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S * S) / len(x))
    assert np.all(np.abs(np.cov(x.T) - S) < 5 * se)


def test_basis_none_is_a_diagonal_covariance():
    p = Gaussian.from_spectrum([1.0, 2.0], [0.5, 3.0])
    assert p.covariance.kind == "diag"
    np.testing.assert_array_equal(p.cov, np.diag([0.5, 3.0]))


def test_bad_spectra_raise():
    with pytest.raises(ValueError, match="not orthonormal"):
        Gaussian.from_spectrum(np.zeros(3), np.ones(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match="negative"):
        Gaussian.from_spectrum(np.zeros(3), [1.0, -1.0, 1.0], np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        Gaussian.from_spectrum(np.zeros(3), np.ones(2), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        Gaussian.from_spectrum(np.zeros(3), [1.0, np.nan, 1.0], np.eye(3))


# ---------------------------------------------------------------- Hartley basis
@pytest.mark.parametrize("shape", [(4, 6), (5, 3, 3), (8, 8, 1)])
def test_hartley_basis_is_orthonormal_and_diagonalises_a_circulant(shape):
    rng = np.random.default_rng(3)
    H, W = shape[:2]
    C = shape[2] if len(shape) == 3 else 1
    V = _orth(C, 4) if C > 1 else None
    B = HartleyBasis(shape, V)
    U = B.matrix()
    np.testing.assert_allclose(U.T @ U, np.eye(B.dim), atol=1e-13)
    # a symmetric power spectrum P(k) = P(-k) per channel component
    k1, k2 = np.fft.fftfreq(H) * H, np.fft.fftfreq(W) * W
    P = 1.0 / (1.0 + k1[:, None] ** 2 + k2[None, :] ** 2)[..., None] * rng.uniform(0.5, 2, C)
    # the covariance written from its covariance function c(x - x') = (1/HW) sum_k P e^{ik.dx}
    cfun = np.fft.ifft2(P, axes=(0, 1)).real  # (H, W, C), real because P is symmetric
    idx = np.array([(x1, x2) for x1 in range(H) for x2 in range(W)])
    dx = (idx[:, None, :] - idx[None, :, :]) % np.array([H, W])
    Sy = np.zeros((H * W * C, H * W * C))
    for c in range(C):
        Sy[c::C, c::C] = cfun[dx[..., 0], dx[..., 1], c]
    Vm = np.eye(C) if V is None else V
    T = np.kron(np.eye(H * W), Vm)  # x = y V^T per pixel
    Sigma = T @ Sy @ T.T
    p = Gaussian.from_spectrum(np.zeros(B.dim), P.reshape(-1), B)
    np.testing.assert_allclose(p.cov, Sigma, atol=1e-13)
    np.testing.assert_allclose(p.covariance.diagonal(), np.diag(Sigma), atol=1e-13)


def test_hartley_diagonal_for_an_asymmetric_spectrum():
    rng = np.random.default_rng(5)
    B = HartleyBasis((5, 4, 2), _orth(2, 6))
    lam = rng.uniform(0.1, 2.0, B.dim)  # no symmetry: the sine terms do not cancel
    p = Gaussian.from_spectrum(np.zeros(B.dim), lam, B)
    np.testing.assert_allclose(p.covariance.diagonal(), np.diag(p.cov), atol=1e-13)


# ---------------------------------------------------------------- KL and W2
def test_kl_spectral_matches_dense_and_mpmath():
    p, U, _, _ = _spectral(seed=1)
    q = VP().marginal(p, 0.2)  # same basis
    r = Gaussian(np.zeros(7), 0.7)  # isotropic: diagonal in every basis
    s, *_ = _spectral(seed=2)  # a different basis: the full formula
    for a, b in [(p, q), (q, p), (p, r), (r, p), (p, s)]:
        ref = kl(_dense_of(a), _dense_of(b))
        assert kl(a, b) == pytest.approx(ref, rel=1e-11)
    assert kl(p, q) == pytest.approx(float(kl_mp(_dense_of(p), _dense_of(q), dps=30)), rel=1e-12)


def test_w2_one_dimensional_closed_form():
    p, q = Gaussian(1.5, 4.0), Gaussian(-0.5, 0.25)
    assert w2(p, q) == pytest.approx(np.sqrt(2.0**2 + (2.0 - 0.5) ** 2), rel=1e-15)


def test_w2_commuting_formula_against_bures_and_mpmath():
    p, *_ = _spectral(seed=3)
    q = VE(0.01, 10.0).marginal(p, 0.3)
    fast = w2(p, q)
    bures = np.sqrt(float(np.sum((p.mean - q.mean) ** 2)) + bures_squared(p.cov, q.cov))
    ref = float(w2_mp(_dense_of(p), _dense_of(q), dps=40))
    assert fast == pytest.approx(ref, rel=1e-12)
    assert bures == pytest.approx(ref, rel=1e-9)


def test_w2_general_bures_against_mpmath_and_sqrtm():
    rng = np.random.default_rng(8)
    A, Bm = rng.standard_normal((2, 5, 5))
    p = Gaussian(rng.standard_normal(5), A @ A.T + 0.1 * np.eye(5))
    q = Gaussian(rng.standard_normal(5), Bm @ Bm.T + 0.2 * np.eye(5))
    ref = float(w2_mp(p, q, dps=40))
    assert w2(p, q) == pytest.approx(ref, rel=1e-11)
    # scipy's Schur-based sqrtm as a second float route
    R = linalg.sqrtm(p.cov).real
    cross = np.trace(linalg.sqrtm(R @ q.cov @ R).real)
    alt = np.sum((p.mean - q.mean) ** 2) + np.trace(p.cov) + np.trace(q.cov) - 2 * cross
    assert np.sqrt(alt) == pytest.approx(ref, rel=1e-9)


def test_w2_nearly_equal_laws_keep_relative_accuracy():
    # sum (sqrt(a) - sqrt(b))^2 with a/b = 1 + 1e-9: the naive trace formula loses every digit
    lam = np.array([1.0, 2.0, 3.0])
    p = Gaussian.from_spectrum(np.zeros(3), lam, _orth(3, 9))
    q = Gaussian.from_spectrum(np.zeros(3), lam * (1 + 1e-9), p.covariance.basis)
    with mpmath.workdps(50):
        ref = mpmath.sqrt(
            mpmath.fsum(
                (mpmath.sqrt(mpmath.mpf(a)) - mpmath.sqrt(mpmath.mpf(b))) ** 2
                for a, b in zip(lam, lam * (1 + 1e-9), strict=True)
            )
        )
    assert w2(p, q) == pytest.approx(float(ref), rel=1e-7)
    assert w2_squared(p, p) == 0.0


def test_w2_rejects_bad_input():
    with pytest.raises(ValueError, match="dimensions"):
        w2(Gaussian(np.zeros(2), 1.0), Gaussian(np.zeros(3), 1.0))
    with pytest.raises(ValueError, match="Gaussian"):
        w2(Gaussian(0.0, 1.0), 1.0)


# ---------------------------------------------------------------- exact laws
def _dense_recursion(sde, data, init, grid, gamma, method):
    """The d x d moment recursion written from the samplers' one-step coefficients."""
    from verify.solvers.particles import step_coefficients

    A_, B_, C_ = step_coefficients(sde, grid, gamma, method)
    d = data.dim
    m, C = init.mean, init.cov
    for k, tk in enumerate(grid[:-1]):
        pt = sde.marginal(_dense_of(data), tk)
        P = np.linalg.solve(pt.cov, np.eye(d))
        M = A_[k] * np.eye(d) - B_[k] * P
        m = M @ m + B_[k] * P @ pt.mean
        C = M @ C @ M.T + C_[k] ** 2 * np.eye(d)
    return Gaussian(m, 0.5 * (C + C.T))


@pytest.mark.parametrize("basis", ["dense", "hartley"], ids=["dense-basis", "hartley-basis"])
@pytest.mark.parametrize(
    "method,gamma", [("euler", 0.0), ("euler", 0.7), ("exponential", 0.4), ("ddpm", 1.0),
                     ("ancestral", 1.0)]
)  # fmt: skip
def test_spectral_fast_path_matches_dense_recursion(basis, method, gamma):
    if basis == "dense":
        p, *_ = _spectral(d=8, seed=4)
    else:
        B = HartleyBasis((2, 2, 2), _orth(2, 11))
        p, *_ = _spectral(d=8, seed=4, basis=B)
    sde = VP(0.1, 20.0)
    grid = np.linspace(1.0, 1e-3, 21)
    init = Gaussian(np.full(8, 0.3), 1.2)
    law = exact_law(sde, p, init, grid, gamma, method)
    assert law.covariance.kind == "spectral" and law.path == "eigenbasis"
    ref = _dense_recursion(sde, p, init, grid, gamma, method)
    scale = np.max(np.abs(ref.cov))
    np.testing.assert_allclose(law.mean, ref.mean, atol=1e-12 * np.max(np.abs(ref.mean)))
    np.testing.assert_allclose(law.cov, ref.cov, atol=1e-12 * scale)
    target = _dense_of(p)
    assert kl(law, p) == pytest.approx(kl(ref, target), rel=1e-9)
    assert w2(law, p) == pytest.approx(w2(ref, target), rel=1e-8)


@pytest.mark.parametrize("method", ["heun", "pc"])
def test_spectral_fast_path_matches_eigh_path_two_evaluation_methods(method):
    p, *_ = _spectral(d=6, seed=5)
    sde = OU(T=2.0)
    grid = np.linspace(2.0, 0.01, 15)
    init = sde.prior(6)
    gamma = 0.0 if method == "heun" else 0.5
    fast = exact_law(sde, p, init, grid, gamma, method)
    slow = exact_law(sde, _dense_of(p), init, grid, gamma, method)  # eigh of the dense matrix
    assert fast.covariance.kind == "spectral" and slow.covariance.kind == "full"
    np.testing.assert_allclose(fast.cov, slow.cov, atol=1e-12)
    np.testing.assert_allclose(fast.mean, slow.mean, atol=1e-12)


def test_spectral_start_law_in_the_same_basis():
    p, *_ = _spectral(d=5, seed=6)
    sde = VP()
    init = sde.marginal(p, 1.0)  # spectral in p's basis: no rotation of its covariance
    grid = np.linspace(1.0, 1e-3, 11)
    law = exact_law(sde, p, init, grid, 0.0, "euler")
    ref = _dense_recursion(sde, p, _dense_of(init), grid, 0.0, "euler")
    np.testing.assert_allclose(law.cov, ref.cov, atol=1e-12)
    np.testing.assert_allclose(law.mean, ref.mean, atol=1e-12)


def test_dense_basis_equality():
    U = _orth(3, 1)
    assert DenseBasis(U) == DenseBasis(U.copy())
    assert DenseBasis(U) != DenseBasis(_orth(3, 2))


def test_identity_basis_shares_the_eigenbasis_with_a_diagonal_law():
    from analytic import IdentityBasis

    lam = np.array([0.5, 2.0, 3.0])
    p = Gaussian.from_spectrum([0.1, 0.0, -0.2], lam, IdentityBasis(3))
    q = Gaussian(np.zeros(3), np.array([1.0, 1.5, 4.0]))
    dense_p, dense_q = Gaussian(p.mean, np.diag(lam)), Gaussian(q.mean, q.cov)
    assert kl(p, q) == pytest.approx(kl(dense_p, dense_q), rel=1e-13)
    assert kl(q, p) == pytest.approx(kl(dense_q, dense_p), rel=1e-13)
    assert w2(p, q) == pytest.approx(float(w2_mp(dense_p, dense_q)), rel=1e-13)
    with pytest.raises(ValueError):
        IdentityBasis(0)
