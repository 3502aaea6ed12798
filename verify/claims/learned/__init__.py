"""Claims on learned score networks (``learned.*``; torch backend, :mod:`verify.torch`).

Small networks are trained by denoising score matching (:func:`verify.torch.train_score`,
cached between runs) on the toolkit's own targets, so their error field
``e = s_theta - grad log p_t`` can be measured against the exact score and fed to the same
samplers and divergences. The mathematics is in docs/claims/learned.md.

torch is needed only to train (``requires=("torch",)``: a missing torch gives
``inconclusive``): cached networks are evaluated in NumPy (:class:`verify.torch.NumpyScore`,
:func:`verify.torch.load_score`), so importing this module, and a run with every model
cached, never imports torch. Numerics live in
the library: the 1-D chain density and the quadrature KL in :mod:`verify.solvers.density_1d`,
the fitted error models in :mod:`verify.theory.fitted_errors`.

Each claim is one file of this package, named after its id (``learned.error-profile`` is
``error_profile.py``), holding its compute, decide and present; the settings and helpers that
several claims share are in ``_common.py``. A new claim is a new file, listed in ``CLAIMS``
below.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.learned import (
    error_peak,
    error_profile,
    horizon_optimum,
    init_steps_saved,
    stochasticity_corrects,
    stochasticity_tradeoff,
)

CLAIMS: list[Claim] = [
    error_profile.CLAIM,
    error_peak.CLAIM,
    stochasticity_tradeoff.CLAIM,
    stochasticity_corrects.CLAIM,
    init_steps_saved.CLAIM,
    horizon_optimum.CLAIM,
]
"""The claims, in report order (one file each, named after the id)."""
