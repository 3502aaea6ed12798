"""One way to accept randomness in every public function: an int seed or a Generator."""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator"]


def as_generator(
    rng: np.random.Generator | int | np.integer | None, *, default: int | None = None
) -> np.random.Generator | None:
    """``rng`` as a ``numpy.random.Generator``.

    A Generator is returned as is (its stream continues); a non-negative int seeds
    ``np.random.default_rng(seed)``; ``None`` gives ``default_rng(default)``, or ``None`` when
    ``default`` is ``None`` (the caller then decides whether randomness was required).
    Anything else (a bool, a negative or non-integer number, a legacy ``RandomState``) raises
    ``TypeError`` naming the value.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return None if default is None else np.random.default_rng(default)
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
        raise TypeError(f"rng must be a numpy Generator or a non-negative int seed, got {rng!r}")
    return np.random.default_rng(int(rng))
