"""Precision-aware verdicts of the conformance kit (issue 21 item 2).

A correct sampler that computes in float32 holds; the tolerance it is held to is stated with
its reason; a gap above the float32 tolerance that vanishes in a float64 copy of the same code
is attributed to precision by name, while a real defect stays a failure in float64 too. The
expected values come from routes independent of the kit: the scheduler's own ``_get_variance``
recomputed by hand in float64 from its config, and the timesteps / noise levels read off the
scheduler with NumPy.
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest

from verify.kit import conformance as C
from verify.kit.checks import precision as P

_needs = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("diffusers") is None,
    reason="needs torch and diffusers (peers extra)",
)
SD15 = {
    "steps_offset": 1,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "set_alpha_to_one": False,
    "clip_sample": False,
}
EPS32 = 2.0**-23


def test_tolerances_follow_the_dtype_and_say_why():
    p64 = P.Precision()
    assert p64.tol(P.STEP_FLOOR, P.STEP_ULPS) == (1e-6, "1e-06 (float64 tolerance)")
    p32 = P.Precision(np.float32, "its alphas_cumprod")
    tol, why = p32.tol(P.STEP_FLOOR, P.STEP_ULPS, 5)
    assert tol == pytest.approx(50 * EPS32 * 5)
    assert "float32" in why and "50 eps32 x 5 step calls" in why and "alphas_cumprod" in why
    assert P.Precision("torch.float16").eps == 2.0**-10
    p = P.Precision()
    p.note("torch.float32", "its output")
    p.note(np.float64, "later")  # the lowest precision seen is kept
    assert p.name == "float32" and p.source == "its output" and p.reduced


@_needs
def test_float64_modules_turn_a_classes_float32_into_float64():
    import diffusers

    with P.float64_modules(diffusers.DDIMScheduler()):
        s = diffusers.DDIMScheduler(**SD15)
    assert (
        s.alphas_cumprod.dtype.is_floating_point and str(s.alphas_cumprod.dtype) == "torch.float64"
    )
    s32 = diffusers.DDIMScheduler(**SD15)
    assert str(s32.alphas_cumprod.dtype) == "torch.float32"  # restored after the block


def _get_variance_float64(t, prev, n_train=1000):
    """DDIM ``_get_variance`` (Song et al. 2021, arXiv:2010.02502, eq. 16 with eta = 1) for the
    SD-1.5 betas, recomputed here in float64 from the config (not by diffusers, not the kit)."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, n_train, dtype=np.float64) ** 2
    ab = np.cumprod(1.0 - betas)
    a_t, a_p = ab[t], (ab[prev] if prev >= 0 else ab[0])
    return (1 - a_p) / (1 - a_t) * (1 - a_t / a_p)


@_needs
def test_ddim_sd_config_gamma_gap_is_float32_and_is_attributed_to_precision():
    """The issue's number: diffusers' float32 ``_get_variance`` differs from float64 by about
    1.3e-5 (relative) under the SD config; the kit's float32 gamma tolerance is 50 eps32 =
    6e-6, so the float32 run alone would fail; the float64 copy holds and the verdict says so."""
    import diffusers

    s = diffusers.DDIMScheduler(**SD15)
    s.set_timesteps(5)
    ts = [int(t) for t in s.timesteps]
    gaps = []
    for t in ts:
        prev = t - 1000 // 5
        v32 = float(s._get_variance(t, prev))
        gaps.append(abs(v32 / _get_variance_float64(t, prev) - 1))
    assert 3e-6 < max(gaps) < 1e-4  # a float32 gap, far above float64 round-off

    rep = C.check_sampler(s, "diffusers", "ddim", checks=("gamma",), eta=1.0)
    c = rep.checks["gamma"]
    assert c.verdict == "holds", rep.summary()
    assert "float32 rounding (precision)" in c.reason and "float64 copy" in c.reason
    assert c.data["float64"]["worst"] < 1e-10  # the copy: float64 round-off only
    assert c.data["worst"] > P.step_tol(_f32())[0]  # float32 alone is above its tolerance


def _f32():
    class A:
        precision = P.Precision(np.float32, "test")

    return A()


@_needs
def test_ddim_last_step_of_one_ulp_is_not_read_as_gamma_zero():
    """``DDIMScheduler(clip_sample=False, set_alpha_to_one=False)``: its last step goes from
    alphas_cumprod[0] to final_alpha_cumprod = alphas_cumprod[0] (1 ulp in float64 sigma, no
    noise); it used to read as gamma_eff = 0 and fail."""
    import diffusers

    s = diffusers.DDIMScheduler(clip_sample=False, set_alpha_to_one=False)
    ad = C._setup(s, "diffusers", C.default_target(), None, "auto", True, None, {"eta": 1.0})[0]
    lv = ad.nodes(5)
    last = ad._fresh(5)[1][-2:]
    ac0 = float(s.alphas_cumprod[0])
    assert last[1] == pytest.approx(math.sqrt((1 - ac0) / ac0), rel=1e-12)
    assert abs(last[0] - last[1]) <= 4 * np.spacing(last[1])  # a 1-ulp step
    assert not P.step_length_counts(ad, last[0], last[1])
    assert P.step_length_counts(ad, lv[0], lv[1])
    rep = C.check_sampler(s, "diffusers", "ddim", checks=("gamma",), eta=1.0)
    assert rep.checks["gamma"].verdict == "holds", rep.summary()

    class HalfEta(diffusers.DDIMScheduler):  # the planted bug is still caught
        def step(self, *a, eta=0.0, **k):
            return super().step(*a, eta=eta / 2, **k)

    bad = HalfEta(clip_sample=False, set_alpha_to_one=False)
    rep = C.check_sampler(bad, "diffusers", "ddim", checks=("gamma",), eta=1.0)
    c = rep.checks["gamma"]
    assert c.verdict == "fails" and "far above float32 round-off" in c.reason, rep.summary()
    assert c.data["worst"] == pytest.approx(0.75, abs=1e-3)  # 1 - (1/2)^2


@_needs
def test_full_budget_dpmsolver_step_law_holds_in_float32_and_vanishes_in_float64():
    """At --budget full (10-step chains) the default DPMSolverMultistep's step-law gap is about
    1.6e-5 from float32 alone; a float64 copy of the same code gives about 1e-13."""
    import diffusers

    data = C.default_target()
    ad = C._setup(
        diffusers.DPMSolverMultistepScheduler(), "diffusers", data, None, "auto", False, None, {}
    )[0]
    spec = C._spec("diffusers", "dpmpp_2m")
    r32, _ = C._check_steps(ad, spec, {}, 10, 2, np.random.default_rng(0))
    r64, _ = C._check_steps(ad.float64(), spec, {}, 10, 2, np.random.default_rng(0))
    assert 1e-6 < r32.data["worst"] < 1e-4 and r64.data["worst"] < 1e-11
    assert r32.verdict == "holds" and "float32" in r32.reason, r32.reason
    assert "float64 tolerance" in r64.reason


@_needs
def test_a_real_defect_is_not_excused_as_precision():
    """DPMSolverMultistep with Karras sigmas steps on rounded timesteps (a finding of the kit):
    its gap stays in float64, so the step law still fails, saying it is not precision."""
    import diffusers

    sched = diffusers.DPMSolverMultistepScheduler(use_karras_sigmas=True)
    rep = C.check_sampler(sched, "diffusers", "dpmpp_2m", checks=("step-law",))
    c = rep.checks["step-law"]
    assert c.verdict == "fails" and "not precision" in c.reason, rep.summary()


# ------------------------------------------------------------- float32 k-diffusion samplers
def _ancestral_step(s, sn, eta):
    up = min(sn, eta * math.sqrt(sn * sn * (s * s - sn * sn) / (s * s)))
    return math.sqrt(sn * sn - up * up), up


def euler_ancestral_float32(model, x, sigmas, *, eta=1.0, noise_sampler=None):
    """k-diffusion's Euler ancestral (Karras et al. 2022, arXiv:2206.00364) in float32."""
    import torch

    x = x.to(torch.float32)
    ones = x.new_ones(x.shape[0])
    for i in range(len(sigmas) - 1):
        s, sn = float(sigmas[i]), float(sigmas[i + 1])
        den = model(x.double(), s * ones.double()).to(torch.float32)
        down, up = _ancestral_step(s, sn, eta)
        x = x + (x - den) / s * (down - s)
        if sn > 0:
            x = x + noise_sampler(s, sn).to(torch.float32) * up
    return x


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_a_float32_copy_of_a_correct_sampler_holds_and_names_float32():
    """The replay "a float32 copy of a correct sampler (must hold)"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = C.check_sampler(
            euler_ancestral_float32,
            "k-diffusion",
            "euler_ancestral",
            backend="torch",
            checks=("weak-order", "step-law", "gamma", "output-kl"),
            eta=1.0,
        )
    assert rep.verdict == "holds", rep.summary()
    assert "float32" in rep.checks["step-law"].reason
    assert "its output" in rep.checks["gamma"].reason


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_a_float32_sampler_that_is_not_affine_names_float32():
    import torch

    def clamped(model, x, sigmas, *, eta=1.0, noise_sampler=None):
        return torch.clamp(
            euler_ancestral_float32(model, x, sigmas, eta=eta, noise_sampler=noise_sampler), -3, 3
        )

    rep = C.check_sampler(
        clamped, "k-diffusion", "euler_ancestral", backend="torch", checks=("step-law",), eta=1.0
    )
    c = rep.checks["step-law"]
    assert c.verdict == "inconclusive" and "not affine" in c.reason
    assert "float32: 1000 eps32" in c.reason, c.reason
