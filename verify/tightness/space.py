"""Search spaces: parameter ranges and choices mapped to and from the unit cube.

A space is a mapping ``name -> spec``; each spec is one of

* ``(low, high)``: a float range, uniform coordinates;
* ``(low, high, "log")``: a float range in log coordinates (``0 < low``);
* ``(low, high, "int")`` or ``(low, high, "log", "int")``: integers in the range (rounded);
* ``{"low": ..., "high": ..., "log": bool, "integer": bool}``: the same as a dict;
* ``{"choices": [...]}`` or a ``list`` of values: a finite set of choices (a ``list`` is
  always choices, a ``tuple`` always a range);
* a plain number or string: a fixed value (not searched; passed through to the callables).

Every searched parameter has one coordinate ``u`` in ``[0, 1]``. A float range maps
``u -> low + u (high - low)`` (log: ``exp(log low + u log(high / low))``), an integer range
rounds that value, a choice ``c_0 .. c_{n-1}`` is ``c_min(floor(u n), n - 1)``. Only float
coordinates are moved by the local refinement; integer and choice coordinates are searched by
the space-filling start, the corners and the discrete polish (:mod:`verify.tightness.search`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np

__all__ = ["Param", "Space"]

_KINDS = ("float", "int", "choice", "fixed")


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``"float"``, ``"int"``, ``"choice"`` or ``"fixed"``."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple = ()

    @property
    def searched(self) -> bool:
        return self.kind != "fixed"

    def values(self, u: np.ndarray) -> np.ndarray:
        """The parameter's values at unit coordinates ``u`` (any shape)."""
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        if self.kind == "choice":
            idx = np.minimum((u * len(self.choices)).astype(int), len(self.choices) - 1)
            out = np.empty(idx.shape, dtype=object)
            for i, c in enumerate(self.choices):
                out[idx == i] = c
            if all(isinstance(c, Real) and not isinstance(c, bool) for c in self.choices):
                return out.astype(np.float64)
            return out
        if self.log:
            x = np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        x = np.clip(x, self.low, self.high)  # exp(log) may overshoot by an ulp
        if self.kind == "int":
            x = np.clip(np.rint(x), math.ceil(self.low), math.floor(self.high))
        return x

    def unit(self, value: float | str) -> float:
        """The unit coordinate of ``value`` (inverse of :meth:`values`; choices: the bin centre)."""
        if self.kind == "choice":
            i = self.choices.index(value)
            return (i + 0.5) / len(self.choices)
        v = float(value)
        if self.log:
            return (math.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (v - self.low) / (self.high - self.low)

    def python(self, value: object) -> object:
        """``value`` as a plain Python scalar (``int`` for integer parameters)."""
        if isinstance(value, np.generic):
            value = value.item()
        if self.kind == "int":
            return int(round(float(value)))
        return value


def _number(x, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(float(x)):
        raise ValueError(f"{what} must be a finite real number, got {x!r}")
    return float(x)


def _parse(name: str, spec) -> Param:
    if isinstance(spec, Mapping):
        if "choices" in spec:
            return _parse(name, list(spec["choices"]))
        unknown = set(spec) - {"low", "high", "log", "integer"}
        if unknown or "low" not in spec or "high" not in spec:
            raise ValueError(
                f"space[{name!r}]: a dict needs 'low' and 'high' (optional 'log', 'integer') "
                f"or 'choices'; got keys {sorted(spec)}"
            )
        flags = (("log",) if spec.get("log") else ()) + (("int",) if spec.get("integer") else ())
        return _parse(name, (spec["low"], spec["high"], *flags))
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"space[{name!r}]: an empty list of choices")
        if len(spec) == 1:
            return Param(name, "fixed", choices=(spec[0],))
        return Param(name, "choice", choices=tuple(spec))
    if isinstance(spec, tuple):
        if len(spec) < 2:
            raise ValueError(f"space[{name!r}]: a range is (low, high[, 'log'][, 'int'])")
        low = _number(spec[0], f"space[{name!r}] low")
        high = _number(spec[1], f"space[{name!r}] high")
        flags = set(spec[2:])
        bad = flags - {"log", "int"}
        if bad:
            raise ValueError(f"space[{name!r}]: unknown range flags {sorted(map(str, bad))}")
        if not low <= high:
            raise ValueError(f"space[{name!r}]: need low <= high, got ({low:g}, {high:g})")
        log = "log" in flags
        if log and low <= 0:
            raise ValueError(f"space[{name!r}]: a log range needs low > 0, got {low:g}")
        kind = "int" if "int" in flags else "float"
        if kind == "int" and math.ceil(low) > math.floor(high):
            raise ValueError(f"space[{name!r}]: no integer in [{low:g}, {high:g}]")
        if low == high or (kind == "int" and math.ceil(low) == math.floor(high)):
            value = int(math.ceil(low)) if kind == "int" else low
            return Param(name, "fixed", choices=(value,))
        return Param(name, kind, low, high, log)
    if isinstance(spec, Real | str) or spec is None:
        return Param(name, "fixed", choices=(spec,))
    raise ValueError(
        f"space[{name!r}] must be (low, high[, 'log'][, 'int']), a dict, a list of choices "
        f"or a fixed value; got {spec!r}"
    )


class Space:
    """A parsed search space (module docstring): its parameters in the order given."""

    def __init__(self, space: Mapping) -> None:
        if not isinstance(space, Mapping) or not space:
            raise ValueError("space must be a non-empty mapping of parameter name -> range")
        for key in space:
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(f"space keys must be keyword names, got {key!r}")
        self.params = [_parse(k, v) for k, v in space.items()]
        self.searched = [p for p in self.params if p.searched]
        if not self.searched:
            raise ValueError("space has no searched parameter (every entry is a fixed value)")
        self.dim = len(self.searched)
        self.float_idx = [i for i, p in enumerate(self.searched) if p.kind == "float"]
        self.discrete_idx = [i for i, p in enumerate(self.searched) if p.kind != "float"]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.searched]

    def columns(self, U: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter arrays ``name -> (n,)`` at unit points ``U`` of shape ``(n, dim)``."""
        U = np.atleast_2d(np.asarray(U, dtype=np.float64))
        n = U.shape[0]
        cols = {}
        j = 0
        for p in self.params:
            if p.searched:
                cols[p.name] = p.values(U[:, j])
                j += 1
            else:
                value = p.choices[0]
                col = np.empty(n, dtype=object) if not isinstance(value, Real) else None
                if col is None:
                    cols[p.name] = np.full(n, float(value))
                else:
                    col[:] = [value] * n
                    cols[p.name] = col
        return cols

    def settings(self, U: np.ndarray) -> list[dict]:
        """One dict of plain Python values per row of ``U``."""
        cols = self.columns(U)
        n = np.atleast_2d(U).shape[0]
        by_name = {p.name: p for p in self.params}
        fixed = {p.name: p.choices[0] for p in self.params if not p.searched}
        out = []
        for i in range(n):
            s = {}
            for name, col in cols.items():
                s[name] = fixed[name] if name in fixed else by_name[name].python(col[i])
            out.append(s)
        return out

    def unit(self, setting: Mapping) -> np.ndarray:
        """Unit coordinates of a setting (inverse of :meth:`settings`)."""
        return np.array([p.unit(setting[p.name]) for p in self.searched])

    def snap(self, U: np.ndarray) -> np.ndarray:
        """``U`` with integer and choice coordinates moved to their value's coordinate."""
        U = np.array(np.atleast_2d(U), dtype=np.float64)
        for j in self.discrete_idx:
            p = self.searched[j]
            vals = p.values(U[:, j])
            U[:, j] = [p.unit(p.python(v)) for v in vals]
        return np.clip(U, 0.0, 1.0)
