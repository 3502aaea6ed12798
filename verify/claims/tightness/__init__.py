"""Claims of the tightness search (``tightness.*``): how tight is each bound the claims check.

Each ``tightness.<key>`` claim runs the adversarial search of ``verify.tightness`` on one bound
of ``verify.tightness.bounds.BOUNDS`` (its space covers data scale and anisotropy, horizon,
schedule, stochasticity, error sizes and step counts, as the bound has them): it holds if no
certified counterexample is found within the budget, and, for a bound its source says is
attained, if the worst ratio bound/truth reaches 1 within the truth's resolution.
``tightness.table`` collects every bound's worst ratio, setting and best constant next to the
theorem's constant. The mathematics: docs/claims/tightness.md.

Each claim is one file of this package, named after its id (``tightness.lsi-rate`` is
``lsi_rate.py``): a bound claim's file holds its spec (statement, source, setting, whether the
bound is attained), built into a claim by ``_common.bound_claim``, which holds the search,
decide and present they share; ``table.py`` lists the bound files in report order. A new bound
is a new file and its line in ``table.BOUND_FILES``.
"""

from __future__ import annotations

from verify.claims.base import Claim
from verify.claims.tightness import table

CLAIMS: list[Claim] = [*(m.CLAIM for m in table.BOUND_FILES), table.CLAIM]
"""The claims, in report order (one file each, named after the id)."""
