"""The torch backend (verify.torch): networks, DSM training, checkpoints, adapter, start law.

References are independent of the code under test: closed-form Gaussian scores
(``analytic``), scipy densities, exact identities of the preconditioning.
"""

import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy import stats  # noqa: E402

from analytic import VE, VP, Gaussian, GaussianMixture  # noqa: E402
from verify.errors import Offset  # noqa: E402
from verify.torch import (  # noqa: E402
    MixtureDensity,
    ScoreNet,
    StartLawConfig,
    TorchScore,
    TrainConfig,
    error_field,
    error_profile,
    load_checkpoint,
    save_checkpoint,
    train_score,
    train_start_law,
)

FAST = TrainConfig(hidden=16, depth=2, n_iters=150, batch=64, n_train=500)


def _zero_output(model):
    last = model.mlp[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    return model


@pytest.mark.parametrize("sde", [VP(0.1, 20.0, 1.0), VE(0.01, 5.0, 1.0)], ids=["VP", "VE"])
def test_edm_net_with_zero_output_is_the_exact_score_of_n0_sigma_data(sde):
    # F = 0 leaves D = c_skip y = sd^2/(sigma^2+sd^2) y: the optimal denoiser of N(0, sd^2 I)
    sd = 0.7
    model = _zero_output(ScoreNet(2, hidden=8, depth=1, precond="edm", sigma_data=sd))
    score = TorchScore(model, sde)
    data = Gaussian(np.zeros(2), sd**2)
    x = np.random.default_rng(0).standard_normal((50, 2))
    for t in (0.05, 0.4, 1.0):
        exact = sde.marginal(data, t).score(x)
        np.testing.assert_allclose(score(x, t), exact, rtol=2e-5, atol=1e-5 * np.abs(exact).max())


def test_eps_net_with_zero_output_is_the_zero_score():
    model = _zero_output(ScoreNet(3, precond="eps"))
    out = TorchScore(model, VP())(np.ones((4, 3)), 0.3)
    assert out.dtype == np.float64 and out.shape == (4, 3) and np.all(out == 0)


def test_adapter_batches_per_row_times_and_checks_input():
    sde = VP()
    torch.manual_seed(0)
    score = TorchScore(ScoreNet(2, hidden=8, depth=2), sde, chunk=7)
    full = TorchScore(score.model, sde)
    x = np.random.default_rng(1).standard_normal((30, 2))
    np.testing.assert_allclose(score(x, 0.2), full(x, 0.2), rtol=1e-6)  # float32 BLAS paths
    np.testing.assert_array_equal(score(x, np.full(30, 0.2)), score(x, 0.2))
    with pytest.raises(ValueError, match="shape"):
        score(np.ones((3, 3)), 0.2)
    with pytest.raises(ValueError, match="t must"):
        score(x, 0.0)
    with pytest.raises(ValueError, match="t must"):
        score(x, np.ones(5))


@pytest.mark.parametrize("precond", ["eps", "edm"])
def test_dsm_training_learns_a_gaussian_score(precond):
    sde = VP(0.1, 20.0, 1.0)
    data = Gaussian(np.array([0.5]), 0.5)
    cfg = TrainConfig(hidden=32, depth=2, n_iters=400, batch=128, n_train=2000, precond=precond)
    score = TorchScore(train_score(sde, data, cfg, cache=False), sde)
    rng = np.random.default_rng(0)
    for t, est in zip(
        (0.1, 0.5), error_profile(score, sde, data, [0.1, 0.5], 2000, rng), strict=True
    ):
        # noise-prediction scale: sigma2 E|e|^2 = E|eps_hat - eps_opt|^2 (< 0.05 vs ~1 untrained)
        assert float(sde.sigma2(t)) * est.value < 0.05


def test_training_is_deterministic_given_the_seed():
    sde, data = VP(), Gaussian(np.zeros(2), 1.0)
    a = train_score(sde, data, FAST, cache=False).state_dict()
    b = train_score(sde, data, FAST, cache=False).state_dict()
    c = train_score(sde, data, TrainConfig(**{**FAST.__dict__, "seed": 1}), cache=False)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c.state_dict()[k]) for k in a)


def test_cache_reuses_the_model_and_retrains_a_corrupt_entry(tmp_path):
    sde, data = VE(0.01, 3.0), Gaussian(np.zeros(1), 1.0)
    m1 = train_score(sde, data, FAST, root=tmp_path)
    assert not m1.train_info["from_cache"]
    m2 = train_score(sde, data, FAST, root=tmp_path)
    assert m2.train_info["from_cache"] and m2.train_info["key"] == m1.train_info["key"]
    x = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_array_equal(TorchScore(m1, sde)(x, 0.5), TorchScore(m2, sde)(x, 0.5))
    meta = json.loads((tmp_path / f"score-{m1.train_info['key']}.json").read_text())
    assert meta["meta"]["torch"] == torch.__version__ and meta["meta"]["config"]["n_iters"] == 150
    # another configuration or target -> another key
    other = train_score(sde, Gaussian(np.ones(1), 1.0), FAST, root=tmp_path)
    assert other.train_info["key"] != m1.train_info["key"]
    # corrupt state_dict -> warning and retrain, never a crash
    (tmp_path / f"score-{m1.train_info['key']}.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable"):
        m3 = train_score(sde, data, FAST, root=tmp_path)
    assert not m3.train_info["from_cache"]
    np.testing.assert_array_equal(TorchScore(m3, sde)(x, 0.5), TorchScore(m1, sde)(x, 0.5))
    # missing JSON -> retrain
    (tmp_path / f"score-{m1.train_info['key']}.json").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not train_score(sde, data, FAST, root=tmp_path).train_info["from_cache"]


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    from verify.torch import cache_dir

    monkeypatch.setenv("DIFFUSION_VERIFY_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("DIFFUSION_VERIFY_CACHE")
    assert cache_dir().name == "diffusion-verify"


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(3)
    model = ScoreNet(2, hidden=12, depth=3, n_freq=4, precond="edm", sigma_data=0.5)
    path = save_checkpoint(model, tmp_path / "net", {"note": "x"})
    back = load_checkpoint(path)
    assert back.checkpoint_meta == {"note": "x"}
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(TorchScore(model, VP())(x, 0.3), TorchScore(back, VP())(x, 0.3))


def test_error_field_and_profile_of_an_offset_score_are_exact():
    sde = VP()
    data = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [0.2, 0.3])
    wrong = Offset(sde.score(data), 0.3)
    x = np.linspace(-3, 3, 7)[:, None]
    np.testing.assert_allclose(error_field(wrong, sde, data)(x, 0.2), 0.3, rtol=1e-12)
    est = error_profile(wrong, sde, data, [0.1, 0.7], 100, np.random.default_rng(0))
    np.testing.assert_allclose([e.value for e in est], 0.09, rtol=1e-12)


def test_mixture_density_log_prob_matches_scipy():
    torch.manual_seed(0)
    model = MixtureDensity(2, 3, init_means=np.arange(6.0).reshape(3, 2), init_std=0.8)
    with torch.no_grad():
        model.logits.copy_(torch.tensor([0.1, -0.3, 0.5]))
        model.log_std.add_(torch.tensor([[0.0, 0.2], [0.1, -0.1], [0.3, 0.0]]))
    x = np.random.default_rng(0).standard_normal((8, 2)) * 3
    w = np.exp([0.1, -0.3, 0.5]) / np.exp([0.1, -0.3, 0.5]).sum()
    sd = np.exp(model.log_std.detach().double().numpy())
    ref = np.log(
        sum(
            w[k]
            * stats.multivariate_normal(np.arange(6.0).reshape(3, 2)[k], np.diag(sd[k] ** 2)).pdf(x)
            for k in range(3)
        )
    )
    got = model.log_prob(torch.as_tensor(x, dtype=torch.float32)).detach().double().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_start_law_fits_a_noised_mixture():
    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.4, 0.6], [[-1.5], [1.0]], [0.05, 0.1])
    t = float(sde.t_of_sigma(0.5))
    cfg = StartLawConfig(n_components=3, n_iters=300)
    law, losses = train_start_law(sde, data, t, cfg, cache=False)
    assert isinstance(law, GaussianMixture) and np.isclose(law.weights.sum(), 1.0)
    p = sde.marginal(data, t)
    x = np.linspace(-6, 6, 4001)[:, None]
    lp, lq = p.log_prob(x), law.log_prob(x)
    kl = np.trapezoid(np.exp(lp) * (lp - lq), x[:, 0])  # KL(p_t || law)
    assert 0 <= kl < 0.02
    assert np.mean(losses[-30:]) < np.mean(losses[:30])


def test_start_law_cache_round_trip_and_corrupt_entry(tmp_path):
    sde = VE(0.01, 3.0)
    data = GaussianMixture([0.4, 0.6], [[-1.5], [1.0]], [0.05, 0.1])
    cfg = StartLawConfig(n_components=2, n_iters=50)
    law, losses = train_start_law(sde, data, 0.5, cfg, root=tmp_path)
    (path,) = tmp_path.glob("start-*.json")
    again, losses2 = train_start_law(sde, data, 0.5, cfg, root=tmp_path)
    np.testing.assert_array_equal(again.means, law.means)
    np.testing.assert_array_equal(again.covs, law.covs)
    assert losses2 == losses
    other, _ = train_start_law(sde, data, 0.6, cfg, root=tmp_path)  # another t: another key
    assert len(list(tmp_path.glob("start-*.json"))) == 2
    path.write_text("{not json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refit, _ = train_start_law(sde, data, 0.5, cfg, root=tmp_path)
    assert any("unreadable" in str(w.message) for w in caught)
    np.testing.assert_allclose(refit.means, law.means)  # deterministic refit


def test_divergence_matches_a_finite_difference_of_the_network():
    from verify.solvers.density_1d import finite_difference_dx

    sde = VE(0.01, 3.0, 1.0)
    torch.manual_seed(0)
    model = ScoreNet(1, hidden=16, depth=2, precond="edm").double()
    score = TorchScore(model.float(), sde)
    x = np.linspace(-3, 3, 9)[:, None]
    for t in (0.3, 0.9):
        val, div = score.value_and_divergence(x, t)
        np.testing.assert_allclose(val, score(x, t), rtol=1e-6, atol=1e-6)
        fd = finite_difference_dx(score, 1e-3)(x, t)
        np.testing.assert_allclose(div, fd, rtol=2e-3, atol=2e-3)
        np.testing.assert_allclose(score.divergence(x, t), div)
    with pytest.raises(ValueError, match="shape"):
        score.divergence(np.zeros((3, 2)), 0.5)


@pytest.mark.parametrize("precond", ["eps", "edm"])
def test_numpy_network_matches_torch_and_its_autograd_divergence(precond, tmp_path):
    from verify.torch import NumpyScore, cached_score, load_score, to_numpy_score

    sde = VP(0.1, 20.0, 1.0) if precond == "eps" else VE(0.01, 3.0, 1.0)
    data = GaussianMixture([0.4, 0.6], [[-1.0, 0.5], [1.0, -0.3]], [0.2, 0.3])
    cfg = TrainConfig(hidden=16, depth=2, n_iters=30, batch=32, n_train=100, precond=precond)
    assert cached_score(sde, data, cfg, root=tmp_path) is None
    model = train_score(sde, data, cfg, root=tmp_path)
    ns = cached_score(sde, data, cfg, root=tmp_path)
    assert isinstance(ns, NumpyScore) and ns.train_info["from_cache"]
    ts = TorchScore(model, sde)
    x = np.random.default_rng(0).normal(size=(20, 2))
    for t in (0.05, 0.5, 1.0):
        ref = ts(x, t)
        np.testing.assert_allclose(ns(x, t), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
        div = ts.divergence(x, t)
        np.testing.assert_allclose(
            ns.divergence(x, t), div, rtol=1e-4, atol=1e-4 * np.abs(div).max()
        )
    np.testing.assert_allclose(to_numpy_score(model, sde)(x, 0.5), ns(x, 0.5), rtol=1e-14)
    np.testing.assert_allclose(load_score(sde, data, cfg, root=tmp_path)(x, 0.5), ns(x, 0.5))
    with pytest.raises(ValueError, match="shape"):
        ns(x[:, :1], 0.5)


def test_importing_the_backend_and_reading_the_cache_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, verify.torch as vt\n"
        "from analytic import VP, Gaussian\n"
        "vt.TrainConfig(); vt.StartLawConfig(); vt.cache_dir()\n"
        "vt.cached_score(VP(), Gaussian([0.0], 1.0), vt.TrainConfig(seed=12345))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
