"""``output-kl`` (rung 2, exact consistency): ``KL(output law || data)`` of the full discretisation
ending at 0 for ``N = 10, 25, 50``; holds iff it falls by 4x."""

from __future__ import annotations

import math

from verify.kit.checks.result import CheckResult
from verify.kit.probing import _probe, _push, _safe_kl

__all__ = ["OUTPUT_KL_STEPS"]


OUTPUT_KL_STEPS = (10, 25, 50)


def _check_output_kl(ad, d, rng):
    """Exact consistency: the output law of the sampler's full discretisation (ending at 0) for
    ``N = 10, 25, 50``, started at the exact marginal of its first node, against the data."""
    rows, kls = [], []
    for n in OUTPUT_KL_STEPS:
        nodes, seg = ad.full(n, zero=True)
        maps = _probe(ad, seg, d, rng, verify=n == OUTPUT_KL_STEPS[-1])
        law = _push(maps, ad.marginal(nodes[0]))
        k = _safe_kl(law, ad.data)
        kls.append(k)
        rows.append([n, float(nodes[-1]), k])
    lo, hi = kls[-1], kls[0]
    ok = math.isfinite(lo) and lo <= max(hi / 4.0, 1e-12)
    return CheckResult(
        "output-kl",
        "holds" if ok else "fails",
        f"KL(output law || data) = {', '.join(f'{k:.2e}' for k in kls)} at N = "
        f"{', '.join(map(str, OUTPUT_KL_STEPS))} ({'falls' if ok else 'does not fall'} by "
        f"4x from N = {OUTPUT_KL_STEPS[0]} to {OUTPUT_KL_STEPS[-1]})",
        ["N", "last noise level", "KL(output law||data)"],
        rows,
        {"kl": kls, "n": list(OUTPUT_KL_STEPS)},
    )
