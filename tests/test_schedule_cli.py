"""``diffusion-verify schedule``: prints the optimal sigmas and the table, writes a figure,
one line and exit 2 on bad input."""

import json

from verify.app import cli


def test_schedule_prints_json_and_writes_a_figure(tmp_path, capsys):
    fig = tmp_path / "s.png"
    code = cli.main(
        ["schedule", "--data", "power-law", "--steps", "4", "--json", "--figure", str(fig)]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and fig.stat().st_size > 0
    assert len(out["sigmas"]) == 5 and out["sigmas"][-1] == 0.0
    assert out["kl"] <= min(v["kl"] for v in out["compare"].values())


def test_schedule_bad_input_is_one_line_and_exit_2(capsys):
    for argv in (["--data", "nope"], ["--steps", "0"], ["--sampler", "k-diffusion:sample_lms"]):
        assert cli.main(["schedule", *argv, "--no-figure"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error" in err


def test_readme_example_runs_the_real_k_diffusion_sampler():
    """The README lines, with a Gaussian denoiser for ``model``: the real sampler's output
    variance on the optimal sigmas is the recursion's (deterministic: the affine gain)."""
    import importlib.util

    import numpy as np
    import pytest

    if importlib.util.find_spec("k_diffusion") is None:
        pytest.skip("k-diffusion is not installed")
    from kit_fixtures import kdiffusion_sampling

    sampling = kdiffusion_sampling()  # the published sampling.py (torchvision stand-in)
    import torch

    from analytic import EDM
    from verify.data import gaussian_model
    from verify.schedules import optimal_grid, output_moments

    data = gaussian_model("power-law", d=64)
    res = optimal_grid(EDM(80.0), data, 10, method="euler")
    lam = torch.tensor(data.covariance.eigenvalues)

    def model(x, sigma):  # identity basis, mean 0: D = lam / (lam + sigma^2) x
        return lam / (lam + sigma.reshape(-1, 1) ** 2) * x

    x0 = torch.ones(1, 64, dtype=torch.float64)
    out = sampling.sample_euler(model, x0, torch.tensor(res.sigmas), disable=True)
    G, _ = output_moments(res.sigmas, data.covariance.eigenvalues, "euler")
    assert np.allclose(out[0].numpy(), G[0], rtol=1e-10)


def test_schedule_runs_the_real_sampler_through_the_kit_probe(capsys):
    """``--sampler k-diffusion:sample_X``: the published sampler on the optimal and every
    standard grid; its exact KL (kit spectral probe) is the recursion's to rounding, and the
    optimum is still the smallest."""
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("verify.kit.adapters.kdiffusion").load_sampling()
    for sampler in ("k-diffusion:sample_euler", "k-diffusion:sample_euler_ancestral"):
        argv = ["schedule", "--data", "power-law", "--steps", "4", "--sampler", sampler]
        assert cli.main([*argv, "--json", "--no-figure"]) == 0
        out = json.loads(capsys.readouterr().out)
        rows = out["sampler"]["rows"]
        assert set(rows) == {"optimal", *out["compare"]}
        for r in rows.values():
            assert r["kl"] == pytest.approx(r["chain_kl"], rel=1e-8)
        assert rows["optimal"]["kl"] <= min(r["kl"] for r in rows.values())


def test_schedule_sampler_with_gamma_on_an_ode_is_an_error(capsys):
    argv = ["--sampler", "k-diffusion:sample_euler", "--gamma", "0.5", "--no-figure"]
    assert cli.main(["schedule", *argv]) == 2
    assert "deterministic" in capsys.readouterr().err
