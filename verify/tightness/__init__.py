"""Adversarial search for the tightest case of a bound (``from verify.tightness import search``).

* :mod:`verify.tightness.search`: :func:`search` (corners, Sobol start, bounded L-BFGS-B
  refinement, discrete polish; certified counterexamples; best constant), :func:`influence`,
  :func:`ratio_grid`, the :func:`vectorized` marker;
* :mod:`verify.tightness.space`: search spaces (ranges, log ranges, integers, choices);
* :mod:`verify.tightness.gaussian`: exact rungs for Gaussian data vectorised over settings
  (the Euler chain's KL, the continuous-time closed form (G) and its extension to scale and
  offset score errors, the LSI rate bound) with mpmath twins for certificates;
* :mod:`verify.tightness.bounds` / :mod:`verify.tightness.theory_bounds`: every bound the
  claims check as a search problem (:class:`verify.tightness.problem.Bound`), the latter wired
  to the ``verify.theory`` functions; :mod:`verify.tightness.runner`: one memoised run of a
  catalogued bound (search, influence, ratio map), for the ``tightness.*`` claims and
  ``diffusion-verify tighten``.

The mathematics: docs/claims/tightness.md.
"""

from .gaussian import (
    continuous_kl,
    continuous_kl_mp,
    euler_chain_kl,
    euler_chain_kl_mp,
    lsi_rate_bound,
    lsi_rate_bound_mp,
    reverse_family_kl,
    reverse_family_kl_mp,
    reverse_family_moments,
    schedule,
    schedule_mp,
)
from .search import (
    SKIP_REASONS,
    Certificate,
    SearchResult,
    influence,
    ratio_grid,
    search,
    vectorized,
)
from .space import Param, Space

__all__ = [
    "SKIP_REASONS",
    "Certificate",
    "Param",
    "SearchResult",
    "Space",
    "continuous_kl",
    "continuous_kl_mp",
    "euler_chain_kl",
    "euler_chain_kl_mp",
    "influence",
    "lsi_rate_bound",
    "lsi_rate_bound_mp",
    "ratio_grid",
    "reverse_family_kl",
    "reverse_family_kl_mp",
    "reverse_family_moments",
    "schedule",
    "schedule_mp",
    "search",
    "vectorized",
]
