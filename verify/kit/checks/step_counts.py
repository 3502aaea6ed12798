r"""Step counts the scheduler supports, for the checks whose count the kit chooses.

The consistency check of a diffusers scheduler runs $N = 1000$ steps (one per training
timestep). Several schedulers cannot: DPMSolverMultistep / UniPC / DEIS with ``linspace``
spacing round ``linspace(0, 999, 1001)`` to a list with repeated timesteps, and the zero-length
step divides by ``h = 0`` (NaN); DDIM with ``steps_offset=1`` indexes ``alphas_cumprod[1000]``.
That failure is the scheduler's own finding (the count, the call, its error: a
:class:`~verify.kit.checks.faults.SamplerFault`), reported in the check's reason and in
``data["finding"]``; the check itself then runs at the largest of ``N/2, N/4, ...`` that the
scheduler runs (``SchedulerAdapter.supported_steps``), saying so. Step counts the user asked
for (``order_steps``) are never replaced: a fault there is the check's ``fails``.
"""

from __future__ import annotations

__all__ = ["at_supported_steps"]


def at_supported_steps(check):
    """``check(ad, n, *args)`` at ``n``, or at the count ``ad.supported_steps(n)`` gives when
    the scheduler fails at ``n`` (the fault named in the reason; ``fails`` only when no count
    runs: the ``SamplerFault`` propagates)."""

    def run(ad, n, *args):
        if not hasattr(ad, "supported_steps"):
            return check(ad, n, *args)
        m, fault = ad.supported_steps(n)
        res = check(ad, m, *args)
        if fault is not None:
            res.reason = (
                f"{res.reason}; run at N = {m} (a step count the scheduler supports) instead "
                f"of the kit's N = {n}, because {fault} (a finding about the scheduler)"
            )
            res.data = {
                **res.data,
                "finding": {"n": fault.n_steps, "call": str(fault.call), "error": str(fault.cause)},
            }
        return res

    run.__name__ = getattr(check, "__name__", "check")
    return run
