"""Hostile samplers: every user sampler gets a verdict or a clear one-line error, in bounded time.

Issue 25 ("The kit with a user's sampler"). Each hostile input is one case below; ``HOSTILE``
counts them (the number quoted in the branch's report). The checks are narrowed to one or two
(``checks=``) and the hang tests get a 1 s limit so that the file runs in seconds.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

from analytic import Gaussian
from verify.kit import conformance as C
from verify.kit import guard as G
from verify.kit import references as R

EA = R.sample_euler_ancestral
ONE = ("step-law",)


def _kd(make):
    """A k-diffusion-style sampler returning ``make(x, sigmas, model, noise_sampler)``."""

    def sampler(model, x, sigmas, *, eta=1.0, noise_sampler=None):
        return make(x, sigmas, model, noise_sampler)

    sampler.__name__ = sampler.__qualname__ = getattr(make, "__name__", "hostile")
    return sampler


def _check(sampler, checks=ONE, **kw):
    return C.check_sampler(sampler, "k-diffusion", "euler_ancestral", checks=checks, **kw)


def _good(x, sigmas, model, ns):
    return EA(model, x, sigmas, eta=1.0, noise_sampler=ns)


# --------------------------------------------------------------- raises, exits, hangs
class Boom(RuntimeError):
    pass


def _raiser(exc):
    def make(x, sigmas, model, ns):
        raise exc

    return make


@pytest.mark.parametrize(
    "exc",
    [Boom("boom"), TypeError("bad operand"), ValueError("no good")],
    ids=lambda e: type(e).__name__,
)
def test_a_sampler_that_raises_is_an_error_naming_its_exception(exc):
    rep = _check(_kd(_raiser(exc)))
    assert rep.verdict == "error", rep.summary()
    check = rep.checks["step-law"]
    assert f"raised {type(exc).__name__}: {exc}" in check.reason
    assert "Traceback" in check.data["traceback"] and "raise exc" in check.data["traceback"]
    with pytest.raises(type(exc), match=str(exc)):  # assert_ok raises the sampler's own error
        rep.assert_ok()


class NeedsTwo(Exception):
    def __init__(self, a, b):  # pickles, but does not unpickle: the worker sends its text
        super().__init__(f"{a}-{b}")


def _local_exception():
    class Local(Exception):  # a class pickle cannot find
        pass

    return Local("local one")


def _with_a_lock():
    import threading

    exc = RuntimeError("with a lock")
    exc.lock = threading.Lock()  # does not pickle
    return exc


@pytest.mark.parametrize(
    "exc", [NeedsTwo(1, 2), _local_exception(), _with_a_lock()], ids=["init", "local", "lock"]
)
def test_an_exception_that_cannot_cross_from_the_worker_keeps_its_name_and_text(exc):
    rep = _check(_kd(_raiser(exc)))
    assert rep.verdict == "error"
    assert f"raised {type(exc).__name__}: {exc}" in rep.checks["step-law"].reason
    # assert_ok raises the sampler's own exception where it could be rebuilt here, else a
    # SamplerError carrying its name, text and traceback (which one can depend on whether the
    # check ran in the worker process or in this one)
    with pytest.raises((G.SamplerError, type(exc))) as info:
        rep.assert_ok()
    if isinstance(info.value, G.SamplerError):
        assert f"{type(exc).__name__}: {exc}" in str(info.value)
        assert "raise exc" in "".join(getattr(info.value, "__notes__", [])) + str(info.value)
    else:
        assert str(info.value) == str(exc) and info.value.__traceback__ is not None


@pytest.mark.parametrize(
    "exc", [SystemExit(4), KeyboardInterrupt()], ids=lambda e: type(e).__name__
)
def test_systemexit_and_keyboardinterrupt_inside_the_sampler_are_errors_not_exits(exc):
    rep = _check(_kd(_raiser(exc)))
    assert rep.verdict == "error"
    assert f"raised {type(exc).__name__}" in rep.checks["step-law"].reason
    with pytest.raises(G.SamplerError, match=type(exc).__name__):
        rep.assert_ok()


def test_a_numpy_samplers_typeerror_is_not_retried_on_torch():
    def make(x, sigmas, model, ns):
        return x * len(5)  # a TypeError of the sampler's own (no torch in it)

    rep = _check(_kd(make))
    assert rep.verdict == "error"
    reason = rep.checks["step-law"].reason
    assert "raised TypeError" in reason and "torch" not in reason.lower()


def test_os_exit_inside_the_sampler_ends_only_the_worker():
    def make(x, sigmas, model, ns):
        os._exit(3)

    rep = _check(_kd(make), timeout=30)
    assert rep.verdict == "error"
    assert "exit status 3" in rep.checks["step-law"].reason


def test_a_hang_is_an_error_within_the_time_limit():
    def make(x, sigmas, model, ns):
        time.sleep(600)

    t0 = time.monotonic()
    rep = _check(_kd(make), timeout=1.0)
    assert time.monotonic() - t0 < 60  # bounded (the limit is 1 s; the slack is for load)
    assert rep.verdict == "error"
    reason = rep.checks["step-law"].reason
    assert "no answer within 1 s" in reason and "make" in reason


def test_a_hang_in_the_middle_keeps_the_checks_already_done():
    calls = {"n": 0}

    def make(x, sigmas, model, ns):
        calls["n"] += 1
        if len(sigmas) > 12:  # the weak-order sweep's longer grids (step-law uses short ones)
            time.sleep(600)
        return _good(x, sigmas, model, ns)

    rep = _check(_kd(make), checks=("step-law", "weak-order"), timeout=1.0, order_steps=[8, 16])
    assert rep.checks["weak-order"].verdict == "error", rep.summary()
    assert rep.verdict == "error"


# ------------------------------------------------------------------- wrong outputs
WRONG = {
    "1-D": lambda x: x[:, 0],
    "scalar": lambda x: np.float64(1.0),
    "None": lambda x: None,
    "transposed": lambda x: x.T.copy(),
    "extra column": lambda x: np.hstack([x, x[:, :1]]),
    "fewer rows": lambda x: x[:-1],
    "generator": lambda x: (r for r in x),
    "dict": lambda x: {"x": x},
    "tuple": lambda x: (x,),
    "list": lambda x: x.tolist(),
    "int array": lambda x: np.rint(x).astype(np.int64),
    "bool array": lambda x: x > 0,
    "python float": lambda x: 1.0,
    "string": lambda x: "x",
}


@pytest.mark.parametrize("kind", list(WRONG))
def test_a_wrong_output_is_an_error_saying_what_was_expected_and_what_came_back(kind):
    wrong = WRONG[kind]
    # a non-square batch: transposed is then never the right shape by accident
    rep = _check(_kd(lambda x, s, m, ns: wrong(_good(x, s, m, ns))))
    assert rep.verdict == "error", rep.summary()
    reason = rep.checks["step-law"].reason
    assert "expected an array of shape (n, d) of real floats" in reason
    assert "\n" not in reason
    if kind == "transposed":
        assert "(transposed)" in reason
    with pytest.raises((TypeError, ValueError)):
        rep.assert_ok()


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["NaN", "inf"])
def test_nan_or_inf_output_fails_naming_the_check_and_the_step(bad):
    def make(x, sigmas, model, ns):
        out = _good(x, sigmas, model, ns)
        out[0, 0] = bad
        return out

    rep = _check(_kd(make))
    assert rep.verdict == "fails", rep.summary()
    reason = rep.checks["step-law"].reason
    assert ("NaN" if math.isnan(bad) else "inf") in reason
    assert "final update" in reason and "step grid" in reason


def test_nan_reaching_the_denoiser_names_the_call_and_sigma():
    def make(x, sigmas, model, ns):
        d = model(x, sigmas[0] * np.ones(len(x)))  # call 1: fine
        return model(d * np.nan, sigmas[0] * np.ones(len(x)))  # call 2: NaN goes in

    rep = _check(_kd(make))
    assert rep.verdict == "fails"
    assert "first reached the denoiser at call 2" in rep.checks["step-law"].reason


def test_complex_output_fails_with_the_imaginary_part_named():
    rep = _check(_kd(lambda x, s, m, ns: _good(x, s, m, ns) + 1e-3j))
    assert rep.verdict == "fails"
    assert "complex numbers with imaginary part up to 0.001" in rep.checks["step-law"].reason


@pytest.mark.parametrize("bad", [-1.0, math.nan], ids=["negative", "NaN"])
def test_a_bad_sigma_passed_to_the_denoiser_fails(bad):
    def make(x, sigmas, model, ns):
        model(x, bad * np.ones(len(x)))
        return _good(x, sigmas, model, ns)

    rep = _check(_kd(make))
    assert rep.verdict == "fails"
    assert "called the denoiser with sigma" in rep.checks["step-law"].reason


def test_a_bad_sigma_swallowed_by_the_sampler_still_fails():
    def make(x, sigmas, model, ns):
        try:
            model(x, -np.ones(len(x)))
        except Exception:
            pass
        return _good(x, sigmas, model, ns)

    rep = _check(_kd(make))
    assert rep.verdict == "fails" and "negative" in rep.checks["step-law"].reason


def test_writing_into_the_input_in_place_fails():
    def make(x, sigmas, model, ns):
        out = _good(x, sigmas, model, ns)
        x[...] = out
        return x

    rep = _check(_kd(make))
    assert rep.verdict == "fails"
    assert "wrote into its input array x in place" in rep.checks["step-law"].reason


def test_writing_into_the_sigmas_it_was_handed_fails():
    """An identity sampler that zeroes its sigmas got 'holds (exact sampler)' before."""

    def make(x, sigmas, model, ns):
        sigmas[...] = 0.0
        return x.copy()

    rep = _check(_kd(make), checks=("weak-order", "output-kl"))
    assert rep.verdict == "fails"
    assert "wrote into the sigmas array" in rep.checks["weak-order"].reason


def test_writing_into_the_grid_fails_in_our_convention():
    def sampler(score, x, grid, rng):
        grid[...] = 0.0
        return x.copy()

    rep = C.check_sampler(sampler, "ours", "euler", checks=("weak-order",))
    assert rep.verdict == "fails"
    assert "wrote into the grid array" in rep.checks["weak-order"].reason


# ------------------------------------------------------------------------ own noise
def _global_noise(x, sigmas, model, ns):
    return _good(x, sigmas, model, lambda s, t: np.random.standard_normal(x.shape))  # noqa: NPY002


def _own_generator(x, sigmas, model, ns):
    g = np.random.default_rng()
    return _good(x, sigmas, model, lambda s, t: g.standard_normal(x.shape))


@pytest.mark.parametrize("make", [_global_noise, _own_generator], ids=["np.random", "Generator"])
def test_a_sampler_drawing_its_own_noise_is_told_so_with_the_fix(make):
    rep = _check(_kd(make))
    check = rep.checks["step-law"]
    assert check.verdict == "inconclusive", rep.summary()
    assert "noise of its own" in check.reason or "global np.random" in check.reason
    assert "noise_sampler" in check.reason


# --------------------------------------------------------------- rng use, ours
def _ours_euler(draw):
    """Our convention, EDM sigma = t: Euler-Maruyama of the reverse SDE with ``gamma = 1``."""

    def sampler(score, x, grid, rng):
        x = x.copy()
        for t, s in zip(grid[:-1], grid[1:], strict=True):
            h = 2 * t * (t - s)  # g(t)^2 dt, g^2 = 2 t (EDM)
            x = x + h * score(x, t) + math.sqrt(h) * draw(rng, x)
        return x

    sampler.__name__ = "ours_euler"
    return sampler


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, x: rng.standard_normal(x.shape),
        lambda rng, x: rng.normal(np.zeros(x.shape), 1.0),
        lambda rng, x: rng.spawn(1)[0].standard_normal(x.shape),
        lambda rng, x: rng.standard_normal(size=list(x.shape)),
    ],
    ids=["shape", "normal(zeros)", "spawn", "list size"],
)
def test_ordinary_rng_use_in_our_convention_is_probed(draw):
    rep = C.check_sampler(_ours_euler(draw), "ours", "euler", checks=ONE, gamma=1.0)
    assert rep.checks["step-law"].verdict == "holds", rep.summary()


@pytest.mark.parametrize(
    "draw",
    [lambda rng, x: rng.standard_normal(), lambda rng, x: rng.standard_normal(len(x))[:, None]],
    ids=["scalar", "(n,)"],
)
def test_rng_draws_the_kit_cannot_control_say_what_to_draw(draw):
    rep = C.check_sampler(_ours_euler(draw), "ours", "euler", checks=ONE, gamma=1.0)
    reason = rep.checks["step-law"].reason
    assert rep.verdict == "error" and "NoiseShapeError" in reason
    assert "rng.standard_normal(x.shape)" in reason


# ---------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kw, word",
    [
        ({"order": math.nan}, "order"),
        ({"order": -1.0}, "order"),
        ({"level": 0}, "level"),
        ({"level": 1.5}, "level"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"eta": math.nan}, "eta"),
        ({"eta": -1.0}, "eta"),
        ({"bogus": 1.0}, "bogus"),
        ({"order_steps": [100000, 200000]}, "order_steps"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_nonsense_arguments_are_rejected_naming_them(kw, word):
    with pytest.raises(ValueError, match=word):
        C.check_sampler(EA, "k-diffusion", "euler_ancestral", **kw)


@pytest.mark.parametrize(
    "sampler, convention, word",
    [
        (5, "k-diffusion", "callable"),
        (R.DDIMScheduler, "k-diffusion", "convention='diffusers'"),
        (EA, "ours", "convention 'ours' calls sampler"),
        (lambda score, x, grid, rng: x, "k-diffusion", "our convention"),
    ],
    ids=["not callable", "scheduler", "kd in ours", "ours in kd"],
)
def test_a_sampler_of_the_wrong_kind_is_named(sampler, convention, word):
    with pytest.raises(ValueError, match=word):
        C.check_sampler(sampler, convention, None, checks=("weak-order",))


def _duck(**attrs):
    s = R.DDIMScheduler()
    for k, v in attrs.items():
        setattr(s, k, v)
    return s


@pytest.mark.parametrize(
    "attrs, word",
    [
        ({"step": None}, "step"),
        ({"set_timesteps": None}, "set_timesteps"),
        ({"alphas_cumprod": None}, "alphas_cumprod"),
        ({"alphas_cumprod": np.array([])}, "alphas_cumprod"),
        ({"alphas_cumprod": -np.linspace(0.1, 0.9, 1000)}, "alphas_cumprod"),
        ({"alphas_cumprod": np.zeros(1000)}, "alphas_cumprod"),
    ],
)
def test_duck_typed_schedulers_with_bad_attributes_are_named(attrs, word):
    with pytest.raises(ValueError, match=word):
        C.check_sampler(_duck(**attrs), "diffusers", None, checks=("weak-order",))


def test_a_scheduler_whose_timesteps_are_none_is_named():
    s = R.DDIMScheduler()
    orig = s.set_timesteps

    def set_timesteps(n):
        orig(n)
        s.timesteps = None

    s.set_timesteps = set_timesteps
    with pytest.raises(ValueError, match="timesteps"):
        C.check_sampler(s, "diffusers", None, checks=("weak-order",))


# ------------------------------------------------------------- the data's scale
@pytest.mark.parametrize("mean, std", [(1e5, 1.0), (1e8, 1.0), (0.0, 0.01), (3.0, 0.003)], ids=str)
def test_the_reference_sampler_holds_at_large_means_and_small_scales(mean, std):
    data = Gaussian(np.array([mean, -mean]), np.diag([std**2, (2 * std) ** 2]))
    rep = C.check_sampler(EA, "k-diffusion", "euler_ancestral", data=data, eta=1.0)
    assert rep.verdict == "holds", rep.summary()  # every check (main failed 1e8 and std <= 0.01)


@pytest.mark.parametrize("mean, std", [(1e8, 1.0), (0.0, 0.01)], ids=str)
def test_a_planted_bug_still_fails_at_large_means_and_small_scales(mean, std):
    """The scale-relative tolerance is not so loose that a wrong noise scale passes."""
    data = Gaussian(np.array([mean, -mean]), np.diag([std**2, (2 * std) ** 2]))
    rep = C.check_sampler(
        R._mut_noise_sqrt2, "k-diffusion", "euler_ancestral", data=data, eta=1.0, checks=ONE
    )
    assert rep.checks["step-law"].verdict == "fails", rep.summary()


def test_the_grid_reaches_below_the_datas_smallest_scale():
    data = Gaussian(np.zeros(2), np.diag([1e-4, 1.0]))
    ad = C._SigmaAdapter(EA, "k-diffusion", data, {})
    assert ad.nodes(8)[-1] < 0.01 * 0.1  # below the smallest std, 0.01


# --------------------------------------------------------------------- the CLI
HOSTILE_MODULE = """
import numpy as np, time
def raises(model, x, sigmas, *, noise_sampler=None):
    raise RuntimeError("my sampler broke")
def nan(model, x, sigmas, *, noise_sampler=None):
    return x * np.nan
def hangs(model, x, sigmas, *, noise_sampler=None):
    time.sleep(600)
"""


@pytest.mark.parametrize(
    "argv, code, text",
    [
        (["hostile_mod:raises"], 3, "raised RuntimeError: my sampler broke"),
        (["hostile_mod:nan"], 1, "contains NaN"),
        (["hostile_mod:hangs", "--timeout", "1"], 3, "no answer within 1 s"),
        (["verify.kit.references:sample_euler_ancestral", "--knob", "bogus=1"], 2, "bogus"),
        (["verify.kit.references:sample_euler_ancestral", "--seed", "-1"], 2, "seed"),
    ],
)
def test_the_command_line_shows_a_hostile_sampler_in_one_line(
    argv, code, text, tmp_path, monkeypatch, capsys
):
    from verify.app.cli import main

    (tmp_path / "hostile_mod.py").write_text(HOSTILE_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["conformance", *argv, "--method", "euler_ancestral"]) == code
    out = capsys.readouterr()
    both = out.out + out.err
    assert text in both and "Traceback" not in both
    lines = [ln for ln in both.splitlines() if text in ln]
    assert len(lines) == 1


def test_the_readme_quotes_the_time_limit_floor():
    from pathlib import Path

    from verify.kit.guard_worker import TIMEOUT_FLOOR

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"at least {TIMEOUT_FLOOR:g} s" in " ".join(readme.split())


# ------------------------------------------------------------------ torch samplers
def _t_inplace(model, x, sigmas, *, noise_sampler=None):
    x.mul_(2.0)
    return x


def _t_column(model, x, sigmas, *, noise_sampler=None):
    return x[:, :1]


def _t_nan(model, x, sigmas, *, noise_sampler=None):
    return x * float("nan")


def _t_negative_sigma(model, x, sigmas, *, noise_sampler=None):
    return model(x, -sigmas[0] * x.new_ones([x.shape[0]]))


def _t_writes_sigmas(model, x, sigmas, *, noise_sampler=None):
    sigmas.zero_()
    return x.clone()


def _t_complex(model, x, sigmas, *, noise_sampler=None):
    import torch

    return x.to(torch.complex128) + 1j


@pytest.mark.parametrize(
    "sampler, verdict, text",
    [
        (_t_inplace, "fails", "wrote into its input array x in place"),
        (_t_column, "error", "a tensor of dtype torch.float64 and shape (21, 1)"),
        (_t_nan, "fails", "never called the denoiser"),
        (_t_negative_sigma, "fails", "denoiser with sigma = -20"),
        (_t_writes_sigmas, "fails", "wrote into the sigmas array"),
        (_t_complex, "fails", "complex numbers with imaginary part up to 1"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_torch_samplers_get_the_same_verdicts(sampler, verdict, text):
    pytest.importorskip("torch")
    rep = C.check_sampler(sampler, "k-diffusion", "euler", checks=ONE, backend="torch")
    assert rep.verdict == verdict, rep.summary()
    assert text in rep.checks["step-law"].reason


# ------------------------------------------------------- duck-typed schedulers at run time
class _StepRaises(R.DDIMScheduler):
    def step(self, *args, **kwargs):
        raise RuntimeError("step broke")


class _StepNaN(R.DDIMScheduler):
    def step(self, *args, **kwargs):
        return (super().step(*args, **kwargs)[0] * np.nan,)


class _StepHangs(R.DDIMScheduler):
    def step(self, *args, **kwargs):
        time.sleep(600)


class _StepColumn(R.DDIMScheduler):
    def step(self, *args, **kwargs):
        return (super().step(*args, **kwargs)[0][:, :1],)


@pytest.mark.parametrize(
    "sched, verdict, text",
    [
        (_StepRaises, "error", "raised RuntimeError: step broke"),
        (_StepNaN, "fails", "contains NaN"),
        (_StepHangs, "error", "no answer within 1 s"),
        (_StepColumn, "error", "expected an array of shape (n, d) of real floats"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_a_duck_typed_scheduler_that_misbehaves_gets_a_verdict(sched, verdict, text):
    rep = C.check_sampler(sched(), "diffusers", "ddim", checks=ONE, timeout=1.0, eta=0.0)
    assert rep.verdict == verdict, rep.summary()
    assert text in rep.checks["step-law"].reason and "step call 0" in rep.checks["step-law"].reason
