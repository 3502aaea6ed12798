r"""The kit's guard around a user's sampler: every sampler gets a verdict, never a crash of the kit.

``verify.kit.conformance.check_sampler`` runs someone else's code. This module (the
decorator :func:`guarded` of ``check_sampler``, the reports) and its parts stand between that
code and the kit:

* **Arguments** (``verify.kit.guard_args``): nonsense (``seed=-1``, ``level=0``,
  ``order=nan``, ``eta=nan``, ``order_steps`` beyond :data:`MAX_ORDER_STEPS`, a knob the
  sampler does not take, a duck-typed scheduler with a bad attribute) is a ``ValueError``
  naming the argument, before anything runs.
* **One call** (``verify.kit.guard_call.SamplerCall``): copies of the input and the grid, a
  denoiser / score refusing a negative or NaN level, the output validated as an array of
  shape ``(n, d)`` of real floats; any exception of the sampler (``SystemExit`` and
  ``KeyboardInterrupt`` too) becomes a :class:`SamplerProblem`.
* **The run** (:func:`guarded`): a :class:`SamplerProblem` ends the run with a report whose
  check is ``error`` (the sampler raised, returned the wrong type or shape, or gave no answer
  in time) or ``fails`` (NaN / inf, complex, a bad sigma, an array written in place), the
  checks already done kept; ``report.assert_ok()`` raises the sampler's own exception (a
  :class:`SamplerError` for ``SystemExit`` / ``KeyboardInterrupt``).
* **A time limit per sampler call** (``timeout=``, ``verify.kit.guard_worker``): default
  ``"auto"``, :data:`TIMEOUT_FACTOR` times the kit's reference sampler on the same batch and
  grid, at least :data:`TIMEOUT_FLOOR` s. With a limit the check runs in a forked worker: a
  hang is an ``error`` "no answer within N s", an ``os._exit`` ends only the worker.
  ``timeout=None`` runs in process with no limit (for a debugger). Without ``os.fork``
  (Windows) the limit cannot be enforced: a ``RuntimeWarning`` says so.
* **The data's scale** (``verify.kit.guard_scale``): tolerances relative to it and a grid
  whose smallest noise level lies below the data's smallest standard deviation.
* **Own noise**: a sampler that draws noise the kit does not hand it (the global
  ``np.random``, its own ``Generator``) makes the exact checks inconclusive; the reason then
  says so and names the fix (take ``noise_sampler`` / draw from ``rng``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
import warnings

import numpy as np

from verify.kit import guard_call as _call
from verify.kit import guard_worker as _worker
from verify.kit.guard_args import MAX_ORDER_STEPS, scheduler_timesteps, validate_arguments
from verify.kit.guard_call import (
    NoiseShapeError,
    SamplerCall,
    SamplerError,
    SamplerProblem,
    controlled_normals,
    torch_type_failure,
)
from verify.kit.guard_scale import grid_sigma_min, probe_center, scale_tolerance
from verify.kit.guard_worker import TIMEOUT_FACTOR, TIMEOUT_FLOOR

__all__ = [
    "MAX_ORDER_STEPS",
    "TIMEOUT_FACTOR",
    "TIMEOUT_FLOOR",
    "NoiseShapeError",
    "SamplerCall",
    "SamplerError",
    "SamplerProblem",
    "controlled_normals",
    "grid_sigma_min",
    "guarded",
    "probe_center",
    "scale_tolerance",
    "scheduler_timesteps",
    "torch_type_failure",
    "validate_arguments",
]


# --------------------------------------------------------------------------- reports
def _report_class():
    from verify.kit.report import ConformanceReport

    @dataclasses.dataclass
    class _Guarded(ConformanceReport):
        error: BaseException | None = None
        traceback: str = ""

    return _Guarded


@functools.cache
def _guarded_class():
    cls = _report_class()
    cls.__name__ = cls.__qualname__ = "GuardedReport"
    cls.__module__ = __name__
    cls.verdict = property(_verdict)
    cls.assert_ok = _assert_ok
    return cls


def __getattr__(name):
    if name == "GuardedReport":
        return _guarded_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _verdict(self):
    if any(c.verdict == "error" for c in self.checks.values()):
        return "error"
    from verify.kit.report import ConformanceReport

    return ConformanceReport.verdict.fget(self)


def _assert_ok(self):
    if _verdict(self) != "error":
        from verify.kit.report import ConformanceReport

        return ConformanceReport.assert_ok(self)
    note = self.summary() + (
        "\nthe sampler's traceback:\n" + self.traceback if self.traceback else ""
    )
    exc = self.error
    if isinstance(exc, Exception) and not isinstance(exc, SamplerProblem):
        if note not in getattr(exc, "__notes__", []):
            exc.add_note(note)
        raise exc
    raise SamplerError(note) from exc


def _sampler_label(args):
    sampler = args.get("sampler")
    return args.get("name") or getattr(sampler, "__name__", type(sampler).__name__)


def _problem_report(args, problem, done):
    """The report of a run that ``problem`` ended: the checks done, then the one that was
    running (``error`` or ``fails``)."""
    from verify.kit.checks.result import CheckResult
    from verify.kit.registry import CHECKS

    check = _current_check_of(problem) or "sampler"
    want = tuple(args.get("checks") or CHECKS)
    checks = {k: v for k, v in done.items() if k != check}
    rest = [c for c in want if c not in checks and c != check]
    reason = problem.reason + (f" [{problem.where}]" if problem.where else "")
    if rest:
        reason += f" (not run: {', '.join(rest)})"
    data = {"traceback": problem.tb} if problem.tb else {}
    checks[check] = CheckResult(check, problem.verdict, reason, data=data)
    err = problem.exc
    if err is None and problem.verdict == "error":
        err = RuntimeError(problem.reason)
    return _guarded_class()(
        _sampler_label(args),
        args.get("convention", "k-diffusion"),
        args.get("method"),
        dict(args.get("knobs") or {}),
        checks,
        error=err,
        traceback=problem.tb,
    )


def _current_check_of(problem):
    if getattr(problem, "check", None):
        return problem.check
    tb = problem.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for f in reversed(frames):
        name = _call.current_check(f)
        if name:
            return name
    return None


def _done_checks(problem) -> dict:
    """Checks finished before ``problem``: the ``out`` dicts of the kit's frames it went
    through (``check_sampler`` and its exact-check driver)."""
    from verify.kit.checks.result import CheckResult

    done = {}
    tb = problem.__traceback__
    while tb is not None:
        out = tb.tb_frame.f_locals.get("out")
        if isinstance(out, dict) and tb.tb_frame.f_globals.get("__name__", "").startswith(
            "verify.kit"
        ):
            done.update({k: v for k, v in out.items() if isinstance(v, CheckResult)})
        tb = tb.tb_next
    return done


def _annotate_own_noise(report, args):
    """Exact checks that could not probe: say whether the sampler draws its own noise."""
    cannot = [c for c in report.checks.values() if c.reason.startswith("cannot probe")]
    if not cannot:
        return report
    why = _call.state().notes.get("global") or _own_noise(args)
    if why:
        conv = args.get("convention", "k-diffusion")
        fix = (
            "draw every normal from the rng argument (rng.standard_normal(x.shape))"
            if conv == "ours"
            else "take noise_sampler=(sigma, sigma_next) -> normals like x and draw from it"
        )
        for c in cannot:
            c.reason += f"; {why}, which the kit does not control: {fix}"
    return report


def _own_noise(args) -> str | None:
    """Run the sampler twice on the same input with the same kit noise: a different output
    means it draws noise of its own."""
    from verify.kit.adapters.sigma import _SigmaAdapter
    from verify.kit.denoisers import default_target
    from verify.kit.noise import _Source

    conv = args.get("convention", "k-diffusion")
    if conv == "diffusers":
        return None
    try:
        data = args.get("data") or default_target()
        knobs = {} if conv == "ours" else dict(args.get("knobs") or {})
        ad = _SigmaAdapter(
            args["sampler"], conv, data, knobs, args.get("sde"), args.get("backend", "auto")
        )
        seg = ad.nodes(4, zero=True)
        x = np.random.default_rng(3).standard_normal((8, data.dim))
        zs = [np.random.default_rng(4).standard_normal((8, data.dim)) for _ in range(64)]
        outs = [ad.run(x, seg, _Source("given", arrays=zs)) for _ in range(2)]
    except Exception:
        return None
    if not np.array_equal(outs[0], outs[1]):
        return (
            "the sampler draws noise of its own (two runs with the same input and the same "
            "kit noise differ)"
        )
    return None


def _run(check, args_tuple, kwargs, bound):
    """Run the kit; a :class:`SamplerProblem` becomes a report."""
    try:
        report = check(*args_tuple, **kwargs)
    except SamplerProblem as problem:
        return _problem_report(bound, problem, _done_checks(problem))
    return _annotate_own_noise(report, bound)


def _resolve_timeout(timeout):
    if timeout is None or timeout == "auto":
        return timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(float(timeout))
        or float(timeout) <= 0
    ):
        raise ValueError(f"timeout must be 'auto', None or a positive number of s, got {timeout!r}")
    return float(timeout)


def guarded(check):
    """Decorator of ``check_sampler``: argument validation, the time limit and the worker,
    reports for a sampler that misbehaves (module docstring). Adds ``timeout="auto"``."""
    sig = inspect.signature(check)

    @functools.wraps(check)
    def check_sampler(*args, timeout="auto", **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        named = dict(bound.arguments)
        validate_arguments(named)
        spec = _resolve_timeout(timeout)
        if spec is None or _call.state().heartbeat is not None:  # no limit, or in a worker already
            st = _call.state()
            with _call.run_state(spec if st.heartbeat is None else st.timeout, st.heartbeat):
                return _run(check, args, kwargs, named)
        if not hasattr(os, "fork"):
            warnings.warn(
                "no os.fork here: the sampler runs in this process without a time limit",
                RuntimeWarning,
                stacklevel=2,
            )
            with _call.run_state(None, None):
                return _run(check, args, kwargs, named)
        if spec == "auto":
            _worker.reference_cost()  # timed here, inherited by the worker
        try:
            return _worker.in_worker(lambda: _run(check, args, kwargs, named), spec)
        except SamplerProblem as problem:  # no answer in time, or the worker died
            return _problem_report(named, problem, {})

    check_sampler.__doc__ = (check.__doc__ or "") + (
        "\n    timeout : the time limit of one sampler call in s: ``'auto'`` (default: "
        f"{TIMEOUT_FACTOR:g} x the kit's\n        reference sampler on the same grid, at least "
        f"{TIMEOUT_FLOOR:g} s; the check runs in a forked worker), a number,\n        or "
        "``None`` (in process, no limit). See ``verify.kit.guard``.\n"
    )
    check_sampler.__signature__ = sig.replace(
        parameters=[
            *[p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD],
            inspect.Parameter("timeout", inspect.Parameter.KEYWORD_ONLY, default="auto"),
            *[p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD],
        ]
    )
    return check_sampler
