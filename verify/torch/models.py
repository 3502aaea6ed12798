"""Learned score networks on demand: from the cache in NumPy, trained with torch only when missing.

Sits above :mod:`verify.torch.cache` (lookups, no torch) and :mod:`verify.torch.train`
(training, imports torch), so neither of those needs the other's caller.
"""

from __future__ import annotations

from verify.torch.cache import TrainConfig, cached_score

__all__ = ["load_score"]


def load_score(sde, data, config: TrainConfig | None = None, *, root=None):
    """The network for ``(sde, data, config)`` as a :class:`~verify.torch.numpy_net.NumpyScore`:
    from the cache without torch when its NumPy weights are there, else trained (or loaded
    from its torch checkpoint) by :func:`verify.torch.train_score`, which imports torch and
    writes the NumPy weights. The same weights give the same numbers either way."""
    found = cached_score(sde, data, config, root=root)
    if found is not None:
        return found
    from verify.torch.train import to_numpy_score, train_score

    return to_numpy_score(train_score(sde, data, config, root=root), sde)
