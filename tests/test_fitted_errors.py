"""verify.theory.fitted_errors: the affine error model fitted to a score's error field."""

import numpy as np
import pytest

from analytic import VE, Gaussian, GaussianMixture
from verify.solvers import grids
from verify.theory.fitted_errors import AffineResidual, FittedAffineError


def test_fitted_error_models_recover_known_coefficients():
    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.35, 0.65], [[-1.3], [0.8]], [0.05, 0.1])
    exact = sde.score(data)

    def net(x, t):
        return 1.3 * exact(x, t) + 0.2

    t = 0.6
    a, b = FittedAffineError(net, sde, data, "affine").parts(t)
    np.testing.assert_allclose([a, b], [0.3, 0.2], atol=1e-10)
    fit = FittedAffineError(lambda x, t: 0.8 * exact(x, t), sde, data, "scale")
    np.testing.assert_allclose(fit.parts(t), [-0.2, 0.0], atol=1e-12)
    off = FittedAffineError(lambda x, t: exact(x, t) - 0.5, sde, data, "offset")
    np.testing.assert_allclose(off.parts(t), [0.0, -0.5], atol=1e-12)
    xs = np.linspace(-2, 2, 5)[:, None]
    np.testing.assert_allclose(FittedAffineError(net, sde, data, "affine")(xs, t), net(xs, t))


def test_fitted_model_is_a_score_error_with_affine_parts_for_exact_laws():
    # For Gaussian data s_tilde = (1 + a) s + b is affine, so exact_law consumes its
    # affine_parts; particles driven by the model itself (second algorithm) must agree.
    from verify.errors import ScoreError
    from verify.solvers.chain_laws import exact_law
    from verify.solvers.particles import reverse_sample

    sde = VE(0.01, 3.0)
    data = Gaussian(np.array([0.4]), 0.5)
    exact = sde.score(data)

    def model(x, t):
        return 0.9 * exact(x, t) - 0.1

    fit = FittedAffineError(model, sde, data, "affine")
    assert isinstance(fit, ScoreError)
    K, A, b = fit.affine_parts(0.5, 1)
    np.testing.assert_allclose([K, A, b[0]], [0.9, 0.0, -0.1], atol=1e-10)
    x = np.linspace(-1, 1, 5)[:, None]
    np.testing.assert_allclose(fit.error(x, 0.5), model(x, 0.5) - exact(x, 0.5), atol=1e-10)
    grid = grids.uniform(sde, 8, t_min=0.05)
    init = sde.marginal(data, sde.T)
    law = exact_law(sde, data, init, grid, 1.0, "euler", score_error=fit)
    rng = np.random.default_rng(0)
    n = 200_000
    y = reverse_sample(sde, fit, init.sample(n, rng), grid, 1.0, "euler", rng=rng)
    y = np.asarray(getattr(y, "x", y))[:, 0]
    v = law.cov[0, 0]
    assert abs(y.mean() - law.mean[0]) < 4.5 * np.sqrt(v / n)
    assert abs(y.var() - v) < 4.5 * v * np.sqrt(2 / n)


def test_fitted_model_rejects_bad_input():
    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [0.1, 0.1])
    with pytest.raises(ValueError, match="kind"):
        FittedAffineError(sde.score(data), sde, data, "quadratic")
    with pytest.raises(TypeError, match="model"):
        FittedAffineError(None, sde, data)


def test_affine_residual_of_an_affine_model_is_the_exact_score():
    from verify.solvers.density_1d import finite_difference_dx

    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.35, 0.65], [[-1.3], [0.8]], [0.05, 0.1])
    exact = sde.score(data)

    def model(x, t):
        return 1.3 * exact(x, t) + 0.2

    res = AffineResidual(FittedAffineError(model, sde, data, "affine"))
    x = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_allclose(res(x, 0.6), exact(x, 0.6), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(res.error(x, 0.6), 0.0, atol=1e-8)
    # derivative: model' - a s', with finite differences as the independent route
    dxe = finite_difference_dx(exact, 1e-5)
    d = res.derivative(finite_difference_dx(model, 1e-5), dxe)(x, 0.6)
    np.testing.assert_allclose(d, dxe(x, 0.6), rtol=1e-5, atol=1e-5)
    val, der = res.value_and_derivative(
        lambda y, t: (model(y, t), finite_difference_dx(model, 1e-5)(y, t)), dxe
    )(x, 0.6)
    np.testing.assert_allclose(val, exact(x, 0.6), atol=1e-8)
    with pytest.raises(TypeError, match="affine"):
        AffineResidual(FittedAffineError(model, sde, data, "scale"))
