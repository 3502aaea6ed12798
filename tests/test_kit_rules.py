"""The kit's decision rules on both sides of their thresholds (issue 21 item 9: mutants of the
rules that the other kit tests let survive, found by ``benchmarks/mutation_kit.py``).

The samplers are k-diffusion-convention NumPy samplers whose defect has a known size: for the
point-like target of ``final-step`` every Euler step is exact (the flow lines are
``x = m + sigma z``), so a chain that ends at the level ``r`` instead of 0 leaves residual
noise of std exactly ``r``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify.kit.checks.final_step import FINAL_STEPS, R_TOL
from verify.kit.conformance import check_sampler, default_target


def _euler_to(end_level):
    """Euler whose last step goes to ``end_level(N)`` instead of 0 (``N`` steps)."""

    def sampler(model, x, sigmas):
        x = np.array(x, dtype=np.float64)
        sig = np.array(sigmas, dtype=np.float64)
        n = len(sig) - 1
        sig[-1] = end_level(n)
        for i in range(n):
            d = (x - model(x, sig[i] * np.ones(x.shape[0]))) / sig[i]
            x = x + d * (sig[i + 1] - sig[i])
        return x

    return sampler


def _final(end_level):
    rep = check_sampler(_euler_to(end_level), "k-diffusion", "euler", checks=("final-step",))
    return rep.checks["final-step"]


TOL = R_TOL * math.sqrt(float(np.linalg.eigvalsh(np.atleast_2d(default_target().cov)).max()))
"""The documented tolerance: R_TOL times the target's largest standard deviation."""


def test_residual_noise_is_the_level_the_chain_ends_at_and_is_named():
    fs = _final(lambda n: 0.01)
    assert fs.verdict == "fails"
    assert fs.data["residual_std"] == pytest.approx(0.01, rel=1e-6)
    assert "std 0.0100" in fs.reason and f"N = {FINAL_STEPS[-1]}" in fs.reason
    assert "its last level" not in fs.reason  # the kit's grid ends at 0; the sampler does not
    assert [row[0] for row in fs.rows] == list(FINAL_STEPS)


@pytest.mark.parametrize(("factor", "verdict"), [(0.5, "holds"), (2.0, "fails")])
def test_a_constant_residual_either_side_of_the_tolerance(factor, verdict):
    fs = _final(lambda n: factor * TOL)
    assert fs.verdict == verdict, fs.reason
    assert fs.data["tol"] == pytest.approx(TOL, rel=1e-12)


def test_a_residual_below_tolerance_at_the_largest_n_holds_even_if_large_at_the_smallest():
    # r(50) = 0.01 > tol, r(400) = 0.00125 < tol: a discretisation-like error that vanishes
    fs = _final(lambda n: 0.5 / n)
    assert fs.rows[0][2] > TOL > fs.rows[-1][2]
    assert fs.verdict == "holds", fs.reason


def test_a_residual_that_falls_with_n_holds_one_that_stays_fails():
    # r(400) = 2 / 400 = 5e-3 > tol but it fell by 8x from N = 50: a discretisation error
    falls = _final(lambda n: 2.0 / n)
    assert falls.rows[-1][2] > TOL and falls.verdict == "holds", falls.reason
    # a residual that falls by less than DECAY = 0.7 (here 0.9x) is a stop short of 0
    stays = _final(lambda n: 5e-3 * (0.9 if n == FINAL_STEPS[-1] else 1.0))
    assert stays.verdict == "fails", stays.reason
    assert stays.data["residual_std"] == pytest.approx(5e-3, rel=1e-6)


def test_the_exact_sampler_holds_and_reports_zero_residual():
    fs = _final(lambda n: 0.0)
    assert fs.verdict == "holds"
    assert fs.data["residual_std"] < 1e-6
    assert "ends at sigma = 0" in fs.reason


def _ranged(overshoot):
    """A sampler called ``(model, x, sigma_min, sigma_max, n)`` (as k-diffusion's
    ``sample_dpm_fast``): Euler on a geometric grid ending at ``overshoot * sigma_min``."""

    def sampler(model, x, sigma_min, sigma_max, n):
        x = np.array(x, dtype=np.float64)
        sig = np.geomspace(float(sigma_max), overshoot * float(sigma_min), int(n) + 1)
        for i in range(int(n)):
            d = (x - model(x, sig[i] * np.ones(x.shape[0]))) / sig[i]
            x = x + d * (sig[i + 1] - sig[i])
        return x

    return sampler


@pytest.mark.parametrize(
    ("overshoot", "verdict"), [(1.0, "holds"), (1.005, "holds"), (1.02, "fails")]
)
def test_a_ranged_sampler_ending_at_sigma_min_holds_within_one_percent(overshoot, verdict):
    rep = check_sampler(_ranged(overshoot), "k-diffusion", None, checks=("final-step",))
    fs = rep.checks["final-step"]
    assert fs.verdict == verdict, fs.reason
    if verdict == "holds":
        assert "integrates to sigma_min by its interface" in fs.reason
        assert fs.data["residual_std"] == pytest.approx(overshoot * fs.data["last_level"])
    else:
        assert "residual noise" in fs.reason


def test_a_scheduler_that_ends_above_zero_names_its_last_level():
    """DDIM (leading) with ``set_alpha_to_one=False`` ends at ``alphas_cumprod[0] = 1 - 1e-4``:
    its last level is ``sigma = sqrt(beta_0 / (1 - beta_0)) = 0.0100`` (closed form)."""
    diffusers = pytest.importorskip("diffusers")
    s = diffusers.DDIMScheduler(clip_sample=False, set_alpha_to_one=False)
    fs = check_sampler(s, "diffusers", "ddim", checks=("final-step",)).checks["final-step"]
    level = math.sqrt(1e-4 / (1 - 1e-4))
    assert fs.verdict == "fails"
    assert fs.data["last_level"] == pytest.approx(level, rel=1e-4)
    assert f"its last level is sigma = {level:.4g}" in fs.reason


# ------------------------------------------------------------------ argument guards
class _DuckScheduler:
    """A duck-typed scheduler: ``step``, ``set_timesteps`` and ``alphas_cumprod``."""

    def __init__(self, alphas_cumprod):
        self.alphas_cumprod = alphas_cumprod

    def step(self, *a, **k):
        raise AssertionError("not called: the guard refuses first")

    def set_timesteps(self, n):
        pass


def _euler(model, x, sigmas):
    return _euler_to(lambda n: 0.0)(model, x, sigmas)


@pytest.mark.parametrize("sched", [_DuckScheduler([0.5]), _DuckScheduler])
def test_a_scheduler_given_as_a_function_is_refused_naming_the_convention(sched):
    with pytest.raises(ValueError, match="looks like a diffusers scheduler"):
        check_sampler(sched, "k-diffusion", "euler")


def test_a_k_diffusion_sampler_with_an_rng_knob_is_not_mistaken_for_ours():
    def sampler(model, x, sigmas, rng=None):
        return _euler(model, x, sigmas)

    rep = check_sampler(sampler, "k-diffusion", "euler", checks=("final-step",))
    assert rep.checks["final-step"].verdict == "holds"
    with pytest.raises(ValueError, match="our convention"):
        check_sampler(lambda score, x, grid, rng: x, "k-diffusion", "euler")


def test_a_required_parameter_the_kit_does_not_pass_is_named():
    def sampler(model, x, sigmas, *, temperature):
        return _euler(model, x, sigmas)

    with pytest.raises(ValueError, match="needs temperature"):
        check_sampler(sampler, "k-diffusion", "euler", checks=("final-step",))


@pytest.mark.parametrize(
    ("ac", "needle"),
    [([], "non-empty"), ([0.5, 0.0], "has 0"), ([1.5], "has 1.5"), ([0.5, np.nan], "has nan")],
)
def test_a_duck_scheduler_with_bad_alphas_cumprod_is_refused_naming_it(ac, needle):
    with pytest.raises(ValueError, match="alphas_cumprod") as exc:
        check_sampler(_DuckScheduler(ac), "diffusers", "ddim")
    assert needle in str(exc.value)


def test_a_sampler_that_cannot_take_the_sigmas_is_refused():
    with pytest.raises(ValueError, match="cannot be called as sampler"):
        check_sampler(lambda model, x: x, "k-diffusion", "euler")


def test_a_valid_duck_typed_scheduler_passes_the_guard():
    from verify.kit.references import DDIMScheduler

    rep = check_sampler(DDIMScheduler(), "diffusers", "ddim", checks=("final-step",))
    assert rep.checks["final-step"].verdict == "holds", rep.summary()


# ------------------------------------------------------------------ consistency wrapper
def test_the_consistency_check_runs_for_a_sampler_without_step_count_limits():
    rep = check_sampler(_euler, "k-diffusion", "euler", checks=("consistency",))
    c = rep.checks["consistency"]
    assert c.verdict == "holds", rep.summary()
    assert "run at N =" not in c.reason  # the kit's own N: nothing replaced


# ------------------------------------------------------------------ diffusers rules
def test_start_law_rows_are_the_start_step_counts_of_the_scheduler():
    diffusers = pytest.importorskip("diffusers")
    from verify.kit.checks.start_law import START_STEPS

    s = diffusers.DDIMScheduler(clip_sample=False)
    c = check_sampler(s, "diffusers", "ddim", checks=("start-law",)).checks["start-law"]
    assert c.verdict == "holds"
    assert [r[0] for r in c.rows] == list(START_STEPS)
    assert all(r[1] == 1.0 and r[-1] == "yes" for r in c.rows)  # DDIM: init_noise_sigma = 1


def test_bookkeeping_reads_the_gap_at_every_level_and_reports_a_small_worst_when_it_holds():
    diffusers = pytest.importorskip("diffusers")
    from verify.kit.checks.bookkeeping import BOOK_TOL

    ok = diffusers.DDIMScheduler(clip_sample=False)
    b = check_sampler(ok, "diffusers", "ddim", checks=("bookkeeping",)).checks["bookkeeping"]
    assert b.verdict == "holds" and b.data["worst"] <= BOOK_TOL
    # trailing at N = 7: step() goes to t - 1000 // 7 = t - 142 while its next timestep is
    # t - 143 (rounded): after the first call the update reached sigma(857) (closed form from
    # the schedule), and the gap stays at every call, also at the levels below 1
    bad = diffusers.DDIMScheduler(clip_sample=False, timestep_spacing="trailing")
    b = check_sampler(bad, "diffusers", "ddim", checks=("bookkeeping",)).checks["bookkeeping"]
    ac = bad.alphas_cumprod.double().numpy()
    sig = np.sqrt((1 - ac) / ac)
    rows = [r for r in b.rows if r[0] == 7]
    assert rows[0][4] == pytest.approx(sig[857], rel=1e-5)
    low = [r for r in rows if 0 < r[3] < 1]
    assert low, rows
    for r in low:
        assert r[5] == pytest.approx(abs(r[4] / r[3] - 1), rel=1e-9)
        assert r[5] > r[6]


def test_a_scheduler_without_a_thresholding_option_is_not_reported_as_thresholding():
    diffusers = pytest.importorskip("diffusers")
    s = diffusers.EulerDiscreteScheduler()
    assert "thresholding" not in s.config
    rep = check_sampler(s, "diffusers", "euler", checks=("final-step", "consistency"))
    assert all("thresholding" not in c.reason for c in rep.checks.values()), rep.summary()


def test_start_law_reads_init_noise_sigma_after_set_timesteps():
    """A duck-typed scheduler that sets its ``init_noise_sigma`` in ``set_timesteps`` (as
    diffusers' sigma schedulers do) is read after it; before, its value is a wrong 5."""
    from verify.kit.references import DDIMScheduler

    class LateInit(DDIMScheduler):
        init_noise_sigma = 5.0

        def set_timesteps(self, n, *a, **k):
            out = super().set_timesteps(n, *a, **k)
            self.init_noise_sigma = 1.0
            return out

    c = check_sampler(LateInit(), "diffusers", "ddim", checks=("start-law",)).checks["start-law"]
    assert c.verdict == "holds", c.reason
    assert all(r[1] == 1.0 for r in c.rows)
