"""The conformance kit (verify.kit.conformance): exact probing, the four checks, the conventions,
the re-implemented public samplers, the mutants, the pytest fixture and the CLI entry."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings

from analytic import EDM, Gaussian, GaussianMixture
from verify.app.cli import main as cli_main
from verify.estimators import mean_ci
from verify.kit import conformance as C
from verify.kit import references as R
from verify.kit.pytest_plugin import conformance_targets

TARGET = C.default_target()
FAST = ("step-law", "gamma")


# ------------------------------------------------------------------ denoisers and probing
def test_gaussian_denoiser_is_tweedie_of_the_edm_marginal():
    """D(x, sigma) = x + sigma^2 grad log p_sigma(x), with p_sigma from analytic (Tweedie)."""
    x = np.random.default_rng(0).normal(size=(7, 2)) * 3
    for sigma in (0.01, 0.7, 15.0):
        p = EDM(20.0).marginal(TARGET, sigma)
        np.testing.assert_allclose(
            C.gaussian_denoiser(TARGET, sigma, x), x + sigma**2 * p.score(x), rtol=1e-10, atol=1e-12
        )
    np.testing.assert_array_equal(C.gaussian_denoiser(TARGET, 0.0, x), x)


def test_kdiffusion_model_accepts_scalar_and_per_row_sigma():
    model = C._kd_model(TARGET)
    x = np.random.default_rng(1).normal(size=(4, 2))
    sig = np.array([0.5, 2.0, 0.5, 3.0])
    out = model(x, sig)
    for i in range(4):
        np.testing.assert_allclose(out[i], model(x[i : i + 1], sig[i])[0], rtol=1e-14)


def _affine_sampler(A, b, Ls):
    """A synthetic k-diffusion-style sampler x' = A x + b + sum_c L_c z_c (one draw per step)."""

    def sampler(model, x, sigmas, *, noise_sampler=None):
        y = x @ A.T + b
        for Lc in Ls:
            y = y + noise_sampler(None, None) @ Lc.T
        return y

    return sampler


def test_probe_recovers_an_affine_sampler_exactly():
    rng = np.random.default_rng(2)
    A, b = rng.normal(size=(2, 2)), rng.normal(size=2)
    Ls = [rng.normal(size=(2, 2)) for _ in range(3)]
    ad = C._SigmaAdapter(_affine_sampler(A, b, Ls), "k-diffusion", TARGET, {})
    M, u, Q = C._probe(ad, np.array([1.0, 0.5]), 2, rng)
    np.testing.assert_allclose(M, A, atol=1e-13)
    np.testing.assert_allclose(u, b, atol=1e-13)
    np.testing.assert_allclose(Q, sum(L @ L.T for L in Ls), atol=1e-12)


def test_probed_law_agrees_with_particles():
    """Rung 2 (probe) vs rung 4 (particles) for one euler_ancestral step."""
    rng = np.random.default_rng(3)
    ad = C._SigmaAdapter(R.sample_euler_ancestral, "k-diffusion", TARGET, {"eta": 1.0})
    seg = np.array([2.0, 1.2])
    law = C._push(C._probe(ad, seg, 2, rng), ad.marginal(2.0))
    x = ad.marginal(2.0).sample(40000, rng)
    y = ad.run(x, seg, C._Source("random", rng=rng))
    for i in range(2):
        assert mean_ci(y[:, i], 0.999).contains(law.mean[i])
        assert mean_ci((y[:, i] - law.mean[i]) ** 2, 0.999).contains(law.cov[i, i])


def test_non_affine_sampler_is_inconclusive_not_a_crash():
    def clipped(model, x, sigmas, *, noise_sampler=None):
        return np.clip(R.sample_euler(model, x, sigmas), -1.0, 1.0)

    rep = C.check_sampler(clipped, "k-diffusion", "euler", checks=FAST)
    assert {c.verdict for c in rep.checks.values()} == {"inconclusive"}
    assert "not affine" in rep.checks["step-law"].reason


# --------------------------------------------------------------- reference step laws
def test_dpmpp_2m_sde_eta1_first_step_is_the_ancestral_step():
    """Two published rules, one law: DPM++ 2M SDE (eta = 1) first step == DDPM posterior step."""
    init = Gaussian(np.array([0.2, 0.1]), np.array([[3.0, 0.2], [0.2, 2.0]]))
    dpm = C.METHOD_SPECS[("k-diffusion", "dpmpp_2m_sde")].chain_law
    anc = C.METHOD_SPECS[("k-diffusion", "euler_ancestral")].step_law
    for t, s in ((5.0, 3.0), (0.5, 0.1)):
        p = dpm(TARGET, init, [t, s], {"eta": 1.0})
        q = anc(EDM(20.0), TARGET, init, t, s, {"eta": 1.0})
        np.testing.assert_allclose(p.mean, q.mean, rtol=1e-12)
        np.testing.assert_allclose(p.cov, q.cov, rtol=1e-12)


def test_edm_churn_step_law_matches_particles():
    rng = np.random.default_rng(4)
    ad = C._SigmaAdapter(R.sample_edm_heun, "k-diffusion", TARGET, {"s_churn": 10.0})
    init = ad.marginal(3.0)
    ref = C.METHOD_SPECS[("k-diffusion", "edm_heun")].step_law(
        ad.sde, TARGET, init, 3.0, 2.0, {"s_churn": 10.0}
    )
    y = ad.run(init.sample(40000, rng), np.array([3.0, 2.0]), C._Source("random", rng=rng))
    for i in range(2):
        assert mean_ci(y[:, i], 0.999).contains(ref.mean[i])
        assert mean_ci((y[:, i] - ref.mean[i]) ** 2, 0.999).contains(ref.cov[i, i])


def test_ddim_scheduler_in_edm_coordinates_is_our_ancestral_step():
    """Probed DDIM step (VP alpha-bar, x / sqrt(abar)) has our 'ancestral' noise eta^2 v s^2/t^2."""
    from verify.solvers.particles import step_coefficients

    ad = C._DiffusersAdapter(R.DDIMScheduler, TARGET, {"eta": 0.7})
    t, s, seg = ad.steps(10)[3]
    _, _, Q = C._probe(ad, seg, 2, np.random.default_rng(5))
    c = step_coefficients(ad.sde, [t, s], 0.49, "ancestral")[2][0]
    np.testing.assert_allclose(Q, c * c * np.eye(2), rtol=1e-9, atol=1e-14)


# ------------------------------------------------------------------ public samplers pass
@pytest.mark.parametrize("name", list(R.PUBLIC))
def test_public_samplers_pass_the_exact_checks(name):
    sampler, conv, method, knobs = R.PUBLIC[name]
    rep = C.check_sampler(sampler, conv, method, checks=FAST, **knobs)
    assert rep.checks["step-law"].verdict == "holds", rep.summary()
    assert rep.checks["gamma"].verdict in ("holds", "n/a"), rep.summary()


@pytest.mark.parametrize(
    "sampler, conv, method, knobs, lo, hi",
    [
        (R.sample_euler, "k-diffusion", "euler", {}, 0.7, 1.3),
        (R.sample_edm_heun, "k-diffusion", "edm_heun", {}, 1.7, 2.3),
        (R.ours("exponential", 0.5), "ours", "exponential", {"gamma": 0.5}, 0.7, 1.3),
    ],
)
def test_observed_weak_order(sampler, conv, method, knobs, lo, hi):
    rep = C.check_sampler(sampler, conv, method, checks=("weak-order",), **knobs)
    assert rep.checks["weak-order"].verdict == "holds"
    assert lo <= rep.checks["weak-order"].data["slope"] <= hi


def test_stated_order_that_is_wrong_fails():
    rep = C.check_sampler(R.sample_euler, "k-diffusion", "euler", order=2, checks=("weak-order",))
    assert rep.failed == ["weak-order"]


def test_dpmpp_small_step_gamma_is_eta():
    rep = C.check_sampler(
        R.sample_dpmpp_2m_sde, "k-diffusion", "dpmpp_2m_sde", eta=0.5, checks=("gamma",)
    )
    g = rep.checks["gamma"]
    assert g.verdict == "holds"
    assert max(abs(r[2] - 0.5) for r in g.rows) < 2e-3


def test_our_samplers_on_a_vp_sde_conform():
    from analytic import VP

    sde = VP(0.1, 20.0)
    rep = C.check_sampler(
        R.ours("euler", 0.3, sde), "ours", "euler", sde=sde, gamma=0.3, checks=FAST
    )
    assert rep.verdict == "holds", rep.summary()


@settings(max_examples=6, deadline=None)
@given(target=conformance_targets())
def test_euler_ancestral_step_law_holds_for_random_targets(target):
    rep = C.check_sampler(
        R.sample_euler_ancestral,
        "k-diffusion",
        "euler_ancestral",
        data=target,
        checks=("step-law",),
        eta=0.8,
    )
    assert rep.verdict == "holds", rep.summary()


def test_consistency_with_a_mixture_target():
    gmm = GaussianMixture(
        np.array([0.4, 0.6]), np.array([[-1.0, 0.0], [1.5, 0.5]]), np.array([0.2, 0.3])
    )
    rep = C.check_sampler(R.sample_euler, "k-diffusion", "euler", data=gmm, seed=1)
    assert rep.checks["consistency"].verdict == "holds"
    assert rep.checks["step-law"].verdict == "n/a"


def test_consistency_catches_a_variance_error():
    rep = C.check_sampler(
        R.MUTANTS["noise scale x sqrt 2"][0], "k-diffusion", None, checks=("consistency",), eta=1.0
    )
    assert rep.failed == ["consistency"]


# ----------------------------------------------------------------------- mutants
@pytest.mark.parametrize("name", list(R.MUTANTS))
def test_every_mutant_is_caught_by_the_step_law(name):
    sampler, conv, method, knobs, _ = R.MUTANTS[name]
    rep = C.check_sampler(sampler, conv, method, checks=FAST, **knobs)
    assert rep.verdict == "fails"
    assert "step-law" in rep.failed


def test_noise_mutants_are_named_by_the_gamma_check():
    for name in ("noise scale x sqrt 2", "DDIM eta not squared"):
        sampler, conv, method, knobs, _ = R.MUTANTS[name]
        rep = C.check_sampler(sampler, conv, method, checks=("gamma",), **knobs)
        assert rep.failed == ["gamma"]
    sampler, conv, method, knobs, _ = R.MUTANTS["noise scale x sqrt 2"]
    g = C.check_sampler(sampler, conv, method, checks=("gamma",), **knobs).checks["gamma"]
    assert all(math.isclose(r[2], 2.0, rel_tol=1e-9) for r in g.rows)  # gamma_eff = 2 eta^2


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="convention"):
        C.check_sampler(R.sample_euler, "torchsde")
    with pytest.raises(ValueError, match="unknown method"):
        C.check_sampler(R.sample_euler, "k-diffusion", "rk45")
    with pytest.raises(ValueError, match="checks"):
        C.check_sampler(R.sample_euler, "k-diffusion", "euler", checks=("speed",))


# --------------------------------------------------------------------- CLI and fixture
def test_cli_conformance_exit_codes(capsys):
    base = ["conformance", "--method", "euler_ancestral", "--knob", "eta=1.0"]
    assert cli_main([*base[:1], "verify.kit.references:sample_euler_ancestral", *base[1:]]) == 0
    assert "step-law: holds" in capsys.readouterr().out
    assert cli_main([*base[:1], "verify.kit.references:_mut_score_next", *base[1:]]) == 1
    assert "step-law: fails" in capsys.readouterr().out
    assert cli_main(["conformance", "no_such_module:f"]) == 2


def test_pytest_fixture_one_test(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["verify.kit.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent("""
        from verify.kit.references import sample_euler, _mut_wrong_sigma

        def test_mine(check_sampler):
            check_sampler(sample_euler, convention="k-diffusion", method="euler")

        def test_broken_is_caught(check_sampler):
            rep = check_sampler(
                _mut_wrong_sigma, "k-diffusion", "euler", expect="fails", checks=("step-law",)
            )
            assert "step-law" in rep.failed

        def test_broken_fails_the_test(check_sampler):
            check_sampler(_mut_wrong_sigma, "k-diffusion", "euler", checks=("step-law",))
    """)
    )
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "1 failed, 2 passed" in res.stdout, res.stdout + res.stderr
    assert "step-law: fails" in res.stdout


# ------------------------------------------------------------------------ claims
@pytest.mark.slow
def test_conformance_claims_at_quick_budget(tmp_path):
    from verify.claims.base import RunContext
    from verify.claims.conformance import CLAIMS

    own = ("conformance.own-samplers", "conformance.public-samplers", "conformance.mutants-caught")
    for claim in [c for c in CLAIMS if c.id in own]:
        ctx = RunContext("quick", 0, tmp_path, stream=None).for_claim(claim.id)
        res = claim.evaluate(ctx)
        assert res.verdict == "holds", (claim.id, res.reason)
        assert res.figures


def test_a_conformance_report_renders_as_html_in_a_notebook():
    from verify.kit.references import sample_euler_ancestral

    rep = C.check_sampler(
        sample_euler_ancestral,
        "k-diffusion",
        "euler_ancestral",
        checks=("weak-order", "step-law"),
        eta=1.0,
    )
    page = rep._repr_html_()
    assert page.startswith("<div>") and "sample_euler_ancestral" in page
    assert page.count("<details>") == 2 and ">holds</span>" in page  # one table per check
