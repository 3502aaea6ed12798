"""Clipping / thresholding of the predicted x_0 (issue 21 item 3): detected and named.

``DDIMScheduler()`` clips the predicted x_0 to [-1, 1] by default (``clip_sample=True``); it
used to "fail consistency" and be "not affine" without naming the option. The kit now runs
the exact checks on a copy with the option off and the consistency check as configured on a
target inside the clip range, each saying so.
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest

from verify.kit import conformance as C
from verify.kit.checks import clipping

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("diffusers") is None, reason="needs diffusers (peers extra)"
)


def _check(sched, method, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return C.check_sampler(sched, "diffusers", method, **kw)


def test_the_target_inside_the_clip_range_is_five_sd_in():
    tgt, a = clipping.inside(C.default_target(), 1.0)
    # default target: mean (0.5, -1), variances (1, 0.5): max(0.5 + 5, 1 + 5 sqrt(0.5)) = 5.5
    assert a == pytest.approx(1 / 5.5)
    sd = np.sqrt(np.diag(tgt.cov))
    assert np.max(np.abs(tgt.mean) + 5 * sd) == pytest.approx(1.0)
    assert np.allclose(tgt.cov, C.default_target().cov / 5.5**2)


def test_default_ddim_names_clip_sample_in_every_check_and_holds():
    import diffusers

    rep = _check(
        diffusers.DDIMScheduler(), "ddim", checks=("consistency", "step-law", "gamma"), eta=0.0
    )
    assert rep.verdict == "holds", rep.summary()
    for name, c in rep.checks.items():
        assert "clip_sample=True" in c.reason and "clipping" in c.data, (name, c.reason)
    assert "run with clip_sample=False (a copy)" in rep.checks["step-law"].reason
    assert "scaled by 0.182" in rep.checks["consistency"].reason


def test_a_harmful_clip_inside_the_range_still_fails_consistency():
    """The consistency check runs the scheduler as configured: a scheduler that clamps its
    sample to [-0.05, 0.05] (far inside the target's spread, sd about 0.13-0.18) fails."""
    import diffusers

    class ClampsSample(diffusers.DDIMScheduler):
        def step(self, *a, **k):
            out = super().step(*a, **k)
            return (out[0].clamp(-0.05, 0.05),) + tuple(out[1:])

    rep = _check(ClampsSample(), "ddim", checks=("consistency",), eta=0.0)
    c = rep.checks["consistency"]
    assert c.verdict == "fails" and "clip_sample=True" in c.reason, rep.summary()


def test_thresholding_is_named_and_runs_on_two_dimensional_samples():
    """``thresholding=True`` reshapes to (batch, channels * prod(rest)); on an (n, d) sample
    diffusers' ``np.prod(())`` is a float and reshape raises: the kit passes (n, d, 1)."""
    import diffusers

    rep = _check(
        diffusers.DPMSolverMultistepScheduler(thresholding=True),
        "dpmpp_2m",
        checks=("consistency", "step-law"),
    )
    assert rep.verdict == "holds", rep.summary()
    assert all("thresholding=True" in c.reason for c in rep.checks.values())
    assert "TypeError" not in rep.checks["consistency"].reason


def test_no_clipping_no_note():
    import diffusers

    ad = C._setup(
        diffusers.DDIMScheduler(clip_sample=False),
        "diffusers",
        C.default_target(),
        None,
        "auto",
        True,
        None,
        {},
    )[0]
    assert clipping.clip_option(ad) is None
    assert clipping.split(ad, ad.data)[2] == {}
    assert math.isfinite(ad.nodes(5)[0])
