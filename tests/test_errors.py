"""Specifications of ``verify.errors`` (score and prior error models)."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import VE, VP, Gaussian, GaussianMixture
from verify import errors

SDE = VP()
DATA = GaussianMixture([0.3, 0.7], [[-1.0, 0.0], [1.0, 0.5]], [0.4, 0.2])
SCORE = SDE.score(DATA)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 2)) * 2
TS = [0.05, 0.3, 0.9]

A_MAT = np.array([[0.1, -0.2], [0.3, 0.05]])
AFFINE_MODELS = {
    "offset_scalar": errors.Offset(SCORE, 0.3),
    "offset_vector": errors.Offset(SCORE, [0.3, -0.1]),
    "offset_callable": errors.Offset(SCORE, lambda t: np.array([t, -t])),
    "scale_scalar": errors.Scale(SCORE, 0.8),
    "scale_matrix": errors.Scale(SCORE, np.array([[1.1, 0.1], [0.0, 0.9]])),
    "affine": errors.Affine(SCORE, A_MAT, [0.2, 0.1]),
    "affine_callable": errors.Affine(SCORE, lambda t: t * A_MAT, lambda t: np.array([t, 1.0])),
    "solenoidal": errors.Solenoidal(SCORE, 0.5),
    "early_blowup": errors.EarlyBlowup(SCORE, SDE, [0.1, -0.2], 1.0),
}


@pytest.mark.parametrize("name", list(AFFINE_MODELS))
def test_affine_parts_reproduce_the_perturbed_score(name):
    model = AFFINE_MODELS[name]
    for t in TS:
        K, A, b = model.affine_parts(t, 2)
        s = SCORE(X, t)
        apply = lambda M, v: M * v if np.ndim(M) == 0 else v @ np.asarray(M).T
        want = apply(K, s) + apply(A, X) + b
        np.testing.assert_allclose(model(X, t), want, rtol=1e-12, atol=1e-12)
        assert np.shape(b) == (2,)


def test_wrappers_compute_what_they_say():
    t = 0.3
    s = SCORE(X, t)
    np.testing.assert_allclose(errors.Offset(SCORE, [1.0, 2.0])(X, t), s + [1.0, 2.0])
    np.testing.assert_allclose(errors.Scale(SCORE, 0.5)(X, t), 0.5 * s)
    np.testing.assert_allclose(errors.Affine(SCORE, A_MAT, 0.0)(X, t), s + X @ A_MAT.T)
    np.testing.assert_allclose(
        errors.EarlyBlowup(SCORE, SDE, 2.0, 1.5)(X, t), s + 2.0 * float(SDE.sigma(t)) ** -1.5
    )
    sol = errors.Solenoidal(SCORE, 0.5)(X, t) - s
    np.testing.assert_allclose(sol, 0.5 * np.stack([-X[:, 1], X[:, 0]], axis=1))


def test_fourier_field_is_smooth_fixed_and_not_affine():
    f = errors.FourierField(SCORE, 0.2, n_features=32, length_scale=0.7, seed=3)
    g = errors.FourierField(SCORE, 0.2, n_features=32, length_scale=0.7, seed=3)
    e = f(X, 0.3) - SCORE(X, 0.3)
    np.testing.assert_allclose(e, g(X, 0.3) - SCORE(X, 0.3))
    W, phi, a = f.features(2)
    np.testing.assert_allclose(e, 0.2 * np.cos(X @ W.T + phi) @ a)
    assert np.all(np.abs(e) <= 0.2 * np.abs(a).sum(0))
    assert f.affine_parts(0.3, 2) is None
    # time independent, and different seeds give different fields
    np.testing.assert_allclose(e, f(X, 0.9) - SCORE(X, 0.9))
    h = errors.FourierField(SCORE, 0.2, n_features=32, seed=4)
    assert not np.allclose(e, h(X, 0.3) - SCORE(X, 0.3))


def _divergence(field, x, eps=1e-5):
    div = np.zeros(x.shape[0])
    for i in range(x.shape[1]):
        dx = np.zeros(x.shape[1])
        dx[i] = eps
        div += (field(x + dx)[:, i] - field(x - dx)[:, i]) / (2 * eps)
    return div


@pytest.mark.parametrize("nonlinear", [False, True])
def test_solenoidal_error_is_divergence_free(nonlinear):
    model = errors.Solenoidal(SCORE, 0.7, nonlinear=nonlinear, center=[0.2, -0.1])
    e = lambda x: model.error(x, 0.3)
    np.testing.assert_allclose(_divergence(e, X), 0.0, atol=1e-8)
    if nonlinear:
        # orthogonal to the gradient of the bump psi: e . grad psi = 0
        z = X - [0.2, -0.1]
        assert np.allclose(np.einsum("ij,ij->i", e(X), z), 0.0, atol=1e-12)
        assert model.affine_parts(0.3, 2) is None
    else:
        # orthogonal to x, hence to the score of any isotropic law centred at 0
        assert np.allclose(np.einsum("ij,ij->i", e(X), X), 0.0, atol=1e-12)


def test_solenoidal_in_higher_dimension_and_custom_J():
    x = RNG.standard_normal((10, 5))
    sc = lambda x, t: -x
    m = errors.Solenoidal(sc, 1.0)
    J = m.J(5)
    np.testing.assert_array_equal(J, -J.T)
    np.testing.assert_allclose(_divergence(lambda y: m.error(y, 0.1), x), 0.0, atol=1e-8)
    with pytest.raises(ValueError, match="antisymmetric"):
        errors.Solenoidal(sc, 1.0, J=np.eye(2))
    with pytest.raises(ValueError, match="2-D"):
        errors.Solenoidal(sc, 1.0, nonlinear=True)(x, 0.1)


def test_early_blowup_grows_as_t_goes_to_zero():
    m = errors.EarlyBlowup(SCORE, SDE, 1.0, 0.5)
    b = [m.affine_parts(t, 2)[2][0] for t in (0.5, 0.1, 0.01, 0.001)]
    assert np.all(np.diff(b) > 0)
    with pytest.raises(ValueError, match="sigma"):
        m(X, 0.0)


def test_error_models_keep_the_exact_score_metadata():
    m = errors.Offset(SCORE, 0.1)
    assert m.p0 is DATA and m.sde is SDE


# --------------------------------------------------------------------------- priors
@pytest.mark.parametrize("data", [Gaussian([1.0, -1.0], [[1.0, 0.2], [0.2, 0.5]]), DATA])
def test_prior_laws(data):
    sde = VE(0.01, 5.0)
    exact = sde.marginal(data, sde.T)
    p = errors.prior_law(sde, data, "prior")
    np.testing.assert_allclose(p.cov, float(sde.sigma2(sde.T)) * np.eye(2))
    np.testing.assert_allclose(p.mean, 0.0)
    e = errors.prior_law(sde, data, "exact")
    np.testing.assert_allclose(e.mean, exact.mean)
    np.testing.assert_allclose(e.cov, exact.cov)
    sh = errors.prior_law(sde, data, "shifted", shift=[0.5, -0.5])
    np.testing.assert_allclose(sh.mean, exact.mean + [0.5, -0.5])
    np.testing.assert_allclose(sh.cov, exact.cov)
    rs = errors.prior_law(sde, data, "rescaled", factor=1.3)
    np.testing.assert_allclose(rs.mean, exact.mean)
    np.testing.assert_allclose(rs.cov, 1.3 * exact.cov, rtol=1e-12)
    law = Gaussian([0.0, 0.0], 2.0)
    assert errors.prior_law(sde, data, law) is law
    e_early = errors.prior_law(sde, data, "exact", t=0.5)
    np.testing.assert_allclose(e_early.cov, sde.marginal(data, 0.5).cov)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "wrong"}, "unknown prior kind"),
        ({"kind": "shifted"}, "shift"),
        ({"kind": "rescaled", "factor": -1.0}, "factor"),
        ({"kind": "shifted", "shift": [1.0, 2.0, 3.0]}, "shift"),
    ],
)
def test_bad_prior_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        errors.prior_law(SDE, DATA, **kwargs)


def test_bad_error_arguments_raise():
    with pytest.raises(ValueError, match="c must be"):
        errors.Offset(SCORE, [1.0, 2.0, 3.0])(X, 0.3)
    with pytest.raises(ValueError, match="A must be"):
        errors.Affine(SCORE, np.eye(3))(X, 0.3)
    with pytest.raises(ValueError, match="callable"):
        errors.Offset(None, 1.0)
