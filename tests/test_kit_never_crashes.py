"""The kit never crashes on a published sampler (issue 21 item 1).

Every scheduler class diffusers exports, in its default config and in the configs users run
(SD-1.5 / SDXL style, every ``timestep_spacing``, Karras sigmas, ``final_sigmas_type``, every
``prediction_type``, ``algorithm_type`` and ``solver_order``), at step counts that do and do
not divide the training steps: ``check_sampler`` returns a report whose every check is
``holds``, ``fails`` with a reason, or ``n/a`` saying why; a scheduler's own exception or NaN
at some step count is a ``fails`` naming that step count. The same for every k-diffusion
sampler and torchsde method. The exhaustive product is ``slow``; the default run keeps a
representative subset (each config kind and each failure mode once).
"""

from __future__ import annotations

import importlib.util
import inspect
import warnings

import pytest

from verify.kit import conformance as C

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("diffusers") is None, reason="needs diffusers (peers extra)"
)

STEPS = (7, 11, 13, 25, 50, 1000)
SD15 = {
    "steps_offset": 1,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "set_alpha_to_one": False,
    "clip_sample": False,
}
CONFIGS = {
    "default": {},
    "sd15": SD15,
    "sdxl": {**SD15, "timestep_spacing": "leading", "interpolation_type": "linear"},
    "leading": {"timestep_spacing": "leading"},
    "trailing": {"timestep_spacing": "trailing"},
    "linspace": {"timestep_spacing": "linspace"},
    "karras": {"use_karras_sigmas": True},
    "final-zero": {"use_karras_sigmas": True, "final_sigmas_type": "zero"},
    "final-sigma_min": {"use_karras_sigmas": True, "final_sigmas_type": "sigma_min"},
    "sample": {"prediction_type": "sample"},
    "v": {"prediction_type": "v_prediction"},
    "dpmsolver": {"algorithm_type": "dpmsolver"},
    "sde-dpmsolver++": {"algorithm_type": "sde-dpmsolver++"},
    "order1": {"solver_order": 1},
    "order2": {"solver_order": 2},
    "order3": {"solver_order": 3},
    "dpmsolver++": {"algorithm_type": "dpmsolver++"},
    "sde-dpmsolver": {"algorithm_type": "sde-dpmsolver"},
    "sd15-clip": {k: v for k, v in SD15.items() if k != "clip_sample"},  # clip_sample default
    "thresholding": {"thresholding": True},
}
VERDICTS = {"holds", "fails", "inconclusive", "n/a"}


def _classes():
    if importlib.util.find_spec("diffusers") is None:
        return []
    import diffusers

    return sorted(n for n in dir(diffusers) if n.endswith("Scheduler") and not n.startswith("Flax"))


def _make(cls_name, config):
    """An instance with the config keys the class accepts (others do not apply), or the class
    itself when it cannot be constructed without arguments (the kit must say n/a)."""
    import diffusers

    cls = getattr(diffusers, cls_name)
    params = inspect.signature(cls.__init__).parameters
    cfg = {k: v for k, v in config.items() if k in params}
    if config and not cfg:
        pytest.skip(f"{cls_name} takes none of {sorted(config)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cls(**cfg)
    except Exception as exc:  # noqa: BLE001 - a config the class rejects is the user's error
        if not config:
            return cls  # the kit must report this class as not drivable
        pytest.skip(f"{cls_name}({cfg}) rejected by diffusers: {exc}")


def _assert_verdict_with_reasons(rep, steps):
    assert rep.checks, rep.summary()
    for name, c in rep.checks.items():
        assert c.verdict in VERDICTS, (name, c.verdict)
        assert c.reason and isinstance(c.reason, str), (name, c)
        if "fault" in c.data:  # the scheduler's own failure: the step count is named
            assert c.verdict == "fails"
            # a count the test asked for, or one the kit chose (output-kl's N = 10, 25, 50)
            assert c.data["fault"]["n"] in (*steps, *C.OUTPUT_KL_STEPS), c.reason
            assert f"N = {c.data['fault']['n']}" in c.reason


def _run(cls_name, config, steps):
    sched = _make(cls_name, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = C.check_sampler(
            sched, "diffusers", None, checks=("weak-order", "output-kl"), order_steps=list(steps)
        )
    _assert_verdict_with_reasons(rep, steps)
    return rep


@pytest.mark.slow
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("cls_name", _classes())
def test_every_diffusers_scheduler_in_every_config_gets_a_verdict(cls_name, config):
    _run(cls_name, CONFIGS[config], STEPS)


FAST = [
    ("EulerDiscreteScheduler", "default", (7, 11, 13)),
    ("DDIMScheduler", "trailing", (7, 11, 13)),
    ("DPMSolverMultistepScheduler", "final-sigma_min", (7, 13)),
    ("UniPCMultistepScheduler", "default", (7, 13)),
    ("HeunDiscreteScheduler", "v", (7, 13)),
    ("FlowMatchEulerDiscreteScheduler", "default", (7, 13)),  # n/a: not drivable
    ("AmusedScheduler", "default", (7, 13)),  # n/a: needs constructor arguments
    ("RePaintScheduler", "default", (7, 13)),  # n/a: step needs inpainting inputs
    ("SCMScheduler", "default", (7, 13)),  # set_timesteps raises at N != 2: a finding
]


@pytest.mark.parametrize("cls_name, config, steps", FAST)
def test_representative_schedulers_get_a_verdict(cls_name, config, steps):
    _run(cls_name, CONFIGS[config], steps)


@pytest.mark.parametrize(
    "cls_name, config, cause",
    [
        ("DPMSolverMultistepScheduler", {}, "repeated timestep"),
        ("UniPCMultistepScheduler", {}, "NaN or inf"),
        ("DEISMultistepScheduler", {}, "NaN or inf"),
        ("DDIMScheduler", SD15, "IndexError: index 1000"),
    ],
)
def test_a_scheduler_failing_at_n_1000_is_a_finding_with_its_own_error(cls_name, config, cause):
    """The issue's crashes: linspace timesteps with a duplicate at N = 1000 (a zero-length
    step, NaN) and DDIM's SD config indexing alphas_cumprod[1000]."""
    import diffusers

    sched = getattr(diffusers, cls_name)(**config)
    rep = C.check_sampler(sched, "diffusers", None, checks=("weak-order",), order_steps=[7, 1000])
    c = rep.checks["weak-order"]
    assert c.verdict == "fails", rep.summary()
    assert c.data["fault"]["n"] == 1000
    assert cause in c.reason, c.reason


@pytest.mark.parametrize(
    "cls_name, config, cause",
    [
        ("DPMSolverMultistepScheduler", {}, "repeated timestep"),
        ("DDIMScheduler", SD15, "IndexError: index 1000"),
    ],
)
def test_the_issue_call_runs_consistency_at_a_supported_count_and_names_the_fault(
    cls_name, config, cause
):
    """``check_sampler(DPMSolverMultistepScheduler(), "diffusers", "dpmpp_2m")`` used to raise
    ``ValueError: samples contain NaN or inf`` from the consistency check (N = 1000). The kit
    chose N = 1000 itself: it now runs the check at N = 500, which the scheduler supports (its
    timesteps there have no repeat, computed below with NumPy, not by the kit), and names the
    failure at N = 1000 with the scheduler's own error as a finding."""
    import diffusers
    import numpy as np

    sched = getattr(diffusers, cls_name)(**config)
    for n, repeats in ((1000, cls_name != "DDIMScheduler"), (500, False)):
        s = getattr(diffusers, cls_name)(**config)
        s.set_timesteps(n)
        ts = s.timesteps.numpy()
        assert bool(np.any(ts[1:] == ts[:-1])) == repeats
    rep = C.check_sampler(sched, "diffusers", None, checks=("consistency",))
    c = rep.checks["consistency"]
    assert c.verdict == "holds", rep.summary()
    assert c.reason.startswith("N=500") and "instead of the kit's N = 1000" in c.reason
    assert c.data["finding"]["n"] == 1000 and cause in c.reason, c.reason


ISSUE_CALLS = [
    ("DPMSolverMultistepScheduler", {}, "dpmpp_2m", {}),
    ("UniPCMultistepScheduler", {}, "unipc", {}),
    ("DEISMultistepScheduler", {}, "deis", {}),
    ("DDIMScheduler", SD15, "ddim", {"eta": 0.0}),
    ("DDIMScheduler", {}, "ddim", {"eta": 0.0}),  # clip_sample=True (the default)
    ("DDIMScheduler", {"clip_sample": False, "set_alpha_to_one": False}, "ddim", {"eta": 1.0}),
]


@pytest.mark.parametrize("cls_name, config, method, knobs", ISSUE_CALLS)
def test_the_issue_calls_run_every_check_and_raise_no_false_alarm(cls_name, config, method, knobs):
    """Every check, as a user calls ``check_sampler``: a verdict with reasons; the consistency,
    step-law and gamma checks (the ones that crashed or raised false alarms in issue 21) do not
    fail on these correct schedulers."""
    import diffusers

    sched = getattr(diffusers, cls_name)(**config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = C.check_sampler(sched, "diffusers", method, **knobs)
    _assert_verdict_with_reasons(rep, ())
    for name in ("consistency", "step-law", "gamma"):
        assert rep.checks[name].verdict in ("holds", "n/a"), rep.summary()


@pytest.mark.skipif(importlib.util.find_spec("torchsde") is None, reason="needs torchsde")
@pytest.mark.parametrize("method", ["euler", "milstein", "srk", "reversible_heun"])
def test_every_torchsde_method_gets_a_verdict(method):
    from verify.kit.adapters.sdeint import check_sdeint

    rep = check_sdeint(method)
    _assert_verdict_with_reasons(rep, ())
