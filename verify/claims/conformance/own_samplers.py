"""``conformance.own-samplers``: Our own samplers pass every check of the conformance kit.

Its compute, decide and present; the mathematics: docs/claims/conformance.md#own-samplers.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.conformance._common import (
    CONFORMING_TOLERANCE,
    DOC,
    OWN,
    _compute_group,
    decide_conforming,
    present_conforming,
)

CLAIM = Claim(
    "conformance.own-samplers",
    "Our own samplers (reverse_sample: euler, exponential, ancestral, heun, ddpm), wrapped "
    "in our convention sampler(score, x, grid, rng), pass every check of the conformance "
    "kit: consistent, observed weak order within 0.3 of the method records' orders, "
    "each step equal to the exact chain law, gamma equal to the knob.",
    "standard (Song et al. 2021 §4, App. D; Karras et al. 2022 Alg. 1)",
    "2-D correlated Gaussian; EDM sigma in [0.02, 20] Karras rho=7 (ddpm: VP(0.1, 20))",
    compute=_compute_group("own", lambda: list(OWN), "our samplers through the kit"),
    decide=decide_conforming,
    present=present_conforming,
    rung=2,
    tolerance=CONFORMING_TOLERANCE,
    doc=f"{DOC}#own-samplers",
)
