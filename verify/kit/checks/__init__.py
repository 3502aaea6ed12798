"""The kit's checks, one module each (its probe, rule, tolerance and message).

``faults``: what a sampler's own failure (an exception, NaN / inf) becomes; ``final_step``,
``start_law``, ``bookkeeping``: the checks of issue 21 item 3 (run by :func:`run_boundary_checks`).
``consistency``, ``weak_order``, ``step_law``, ``gamma``, ``output_kl``: the
checks ``verify.kit.conformance.check_sampler`` runs first; ``precision``, ``clipping``,
``step_counts``: tolerances and settings they share.
"""

from __future__ import annotations

BOUNDARY_CHECKS = ("final-step", "start-law", "bookkeeping")


def run_boundary_checks(want, ad, make_adapter, data, d, rng, quick) -> dict:
    """The checks of ``BOUNDARY_CHECKS`` in ``want``: a sampler's own failure is ``fails``
    naming it; a sampler that is not affine leaves them ``inconclusive``."""
    from verify.kit.checks.bookkeeping import check_bookkeeping
    from verify.kit.checks.faults import SamplerFault, fault_result
    from verify.kit.checks.final_step import check_final_step
    from verify.kit.checks.result import CheckResult
    from verify.kit.checks.start_law import check_start_law
    from verify.kit.probing import NotAffineError

    run = {
        "final-step": lambda: check_final_step(ad, make_adapter, d, rng),
        "start-law": lambda: check_start_law(ad, d),
        "bookkeeping": lambda: check_bookkeeping(make_adapter, data, d, rng),
    }
    out = {}
    for name in BOUNDARY_CHECKS:
        if name not in want:
            continue
        try:
            out[name] = run[name]()
        except SamplerFault as exc:
            out[name] = fault_result(name, exc)
        except NotAffineError as exc:
            out[name] = CheckResult(name, "inconclusive", f"cannot probe: {exc}")
    return out
