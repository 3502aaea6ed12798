"""The noise the kit hands a sampler: recorded, zero, unit probe vectors or given draws
(``_Source``), and a ``numpy.random.Generator`` drawing from it (``_SourceGenerator``)."""

from __future__ import annotations

import numpy as np

from verify.kit import guard_call


# ----------------------------------------------------------------------------- noise
class _Source:
    """Noise draws: ``random`` (an rng), ``record`` (random, kept in ``arrays``), ``zero``,
    ``probe`` (unit vectors) or ``given``."""

    def __init__(self, mode, rng=None, d=0, base=0, arrays=None):
        self.mode, self.rng, self.d, self.base, self.arrays = mode, rng, d, base, arrays
        self.calls = 0

    def draw(self, shape):
        c = self.calls
        self.calls += 1
        if self.mode == "random":
            return self.rng.standard_normal(shape)
        if self.mode == "record":
            z = self.rng.standard_normal(shape)
            self.arrays = [] if self.arrays is None else self.arrays
            self.arrays.append(z)
            return z
        z = np.zeros(shape)
        if self.mode == "probe":
            rows = self.base + c * self.d + np.arange(self.d)
            ok = rows < shape[0]
            z[rows[ok], np.arange(self.d)[ok]] = 1.0
        elif self.mode == "given":
            z[...] = self.arrays[c]
        return z


class _SourceGenerator(np.random.Generator):
    """A ``numpy.random.Generator`` whose normals come from a ``_Source`` (for probing).

    ``shape``: the shape of the sampler's ``x``; normals of another shape (a scalar, one per
    row) cannot be probed and raise ``verify.kit.guard.NoiseShapeError`` saying so.
    ``normal(loc_array, scale)`` draws the broadcast shape; ``spawn(n)`` gives generators
    drawing from the same source."""

    def __init__(self, source, shape=None):
        super().__init__(np.random.PCG64(0))
        self._source, self._shape = source, shape

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        if out is not None:
            out[...] = guard_call.controlled_normals(self._source, out.shape, self._shape)
            return out
        shape = () if size is None else tuple(np.atleast_1d(size).tolist())
        return guard_call.controlled_normals(self._source, shape, self._shape)

    def normal(self, loc=0.0, scale=1.0, size=None):
        if size is None:
            size = np.broadcast_shapes(np.shape(loc), np.shape(scale))
        return loc + scale * self.standard_normal(size)

    def spawn(self, n_children):
        return [type(self)(self._source, self._shape) for _ in range(int(n_children))]
