"""Type aliases shared by the solvers' signatures (annotations only; nothing here runs).

* ``Gamma``: the stochasticity, a number ``>= 0`` or a function of forward time ``t``.
* ``Score``: a score function ``(x (n, d), t) -> (n, d)``.
* ``ScoreError``: an affine score error, an object with ``affine_parts(t, dim) -> (K, A, b)``
  (``verify.tightness.theory_bounds.ScaleOffset`` and the claims' error models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Gamma", "Score", "ScoreError"]

Gamma: TypeAlias = float | Callable[[float], float]
Score: TypeAlias = Callable[[np.ndarray, ArrayLike], np.ndarray]


class ScoreError(Protocol):
    """An affine score error (``verify.errors``): ``affine_parts(t, dim) -> (K, A, b)``."""

    def affine_parts(self, t: float, dim: int) -> tuple[ArrayLike, ArrayLike, ArrayLike]: ...
