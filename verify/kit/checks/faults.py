r"""A sampler's own failure as a finding, never a crash of the kit.

A scheduler that raises inside ``set_timesteps`` / ``scale_model_input`` / ``step``, or whose
sample becomes NaN / inf, at some step count ``N``, is reported as :class:`SamplerFault`
(``N``, the call, the scheduler's own error); each check that meets one returns ``fails`` with
that message (:func:`fault_result`). A scheduler the kit cannot drive at all (no
``alphas_cumprod`` / EDM preconditioning, an unsupported ``prediction_type``, a class that
needs constructor arguments) is :class:`NotDrivable`: every check is ``n/a`` with the reason.
"""

from __future__ import annotations

from verify.kit.checks.result import CheckResult

__all__ = ["NotDrivable", "SamplerFault", "fault_result", "guarded"]


class SamplerFault(RuntimeError):
    """The sampler itself failed: ``n_steps`` (the step count it was set to), ``call`` (the
    index of the step call, or the method name), ``cause`` (its exception or a description)."""

    def __init__(self, n_steps, call, cause):
        self.n_steps, self.call, self.cause = n_steps, call, cause
        what = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else cause
        where = f"call {call}" if isinstance(call, int) else str(call)
        super().__init__(f"the sampler itself fails at N = {n_steps} ({where}): {what}")


class NotDrivable(ValueError):
    """The kit cannot run this scheduler (the reason says why)."""


def fault_result(name, fault):
    """``fails`` for check ``name``, naming the step count and the sampler's own error."""
    return CheckResult(
        name,
        "fails",
        str(fault),
        ["N", "call", "error"],
        [[fault.n_steps, fault.call, str(fault.cause)]],
        {"fault": {"n": fault.n_steps, "call": str(fault.call), "error": str(fault.cause)}},
    )


def guarded(name, check, *args):
    """``check(*args)``, or ``fails`` naming the step count and the sampler's own error when the
    sampler itself raised or produced NaN / inf."""
    try:
        return check(*args)
    except SamplerFault as exc:
        return fault_result(name, exc)
