r"""Interval arithmetic certificates for the coefficients of a linear SDE.

A check on a fixed grid of ``[0, T]`` cannot see a feature narrower than the grid spacing:
``g2 = 1 - 10^6 exp(-10^10 (t - 0.3)^2)`` is ``-10^6`` near ``t = 0.3`` and positive at every
one of 4097 grid points. :func:`first_negative` decides the sign over the *whole* interval:
it evaluates the expression in interval arithmetic (``mpmath.iv``), which gives for each
sub-interval ``[a, b]`` a range guaranteed to contain ``{g2(t) : a <= t <= b}``. A
sub-interval whose lower bound is ``>= -tol`` is certified; one that is not is bisected,
and its midpoint evaluated in floating point: a midpoint with ``g2 < -tol`` is a
counterexample. The dependency problem of interval arithmetic can only make ranges wider,
never miss a negative value, so a certified interval is certain; an interval that stays
undecided down to width ``T 2^-40`` with non-negative point values is accepted (a touching
zero, like ``g2 = t`` at 0), as is everything when the evaluation budget runs out.

Only expressions built from ``+ - * /``, powers, ``exp``, ``log``, ``sin``, ``cos``, ``tan``,
``sqrt`` and the constants are evaluated; :class:`Unsupported` is raised for anything else
(the caller then keeps its grid check).
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import sympy as sp

__all__ = ["Unsupported", "interval_eval", "first_negative"]

_iv = mpmath.iv
_FUNCTIONS = {sp.exp: _iv.exp, sp.log: _iv.log, sp.sin: _iv.sin, sp.cos: _iv.cos, sp.tan: _iv.tan}


class Unsupported(ValueError):
    """The expression uses an operation the interval evaluator does not implement."""


def interval_eval(expr: sp.Expr, t: sp.Symbol, a: float, b: float) -> mpmath.ctx_iv.ivmpf:
    """An ``mpmath.iv`` interval containing ``expr(u)`` for every ``u`` in ``[a, b]``."""
    return _eval(expr, t, _iv.mpf([a, b]))


def _eval(expr, t, interval):
    if expr == t:
        return interval
    if expr.is_Number:
        if expr.is_Rational:
            return _iv.mpf(int(expr.p)) / _iv.mpf(int(expr.q))
        return _iv.mpf(float(expr))  # a float literal is exact in binary
    if expr is sp.pi:
        return _iv.pi
    if expr is sp.E:
        return _iv.e
    if expr.is_Add or expr.is_Mul:
        args = [_eval(x, t, interval) for x in expr.args]
        out = args[0]
        for x in args[1:]:
            out = out + x if expr.is_Add else out * x
        return out
    if expr.is_Pow:
        base, exponent = expr.args
        if exponent.is_Integer:
            return _eval(base, t, interval) ** int(exponent)
        if exponent == sp.Rational(1, 2):
            return _iv.sqrt(_eval(base, t, interval))
        return _iv.exp(_eval(exponent, t, interval) * _iv.log(_eval(base, t, interval)))
    fn = _FUNCTIONS.get(expr.func)
    if fn is not None and len(expr.args) == 1:
        return fn(_eval(expr.args[0], t, interval))
    raise Unsupported(f"no interval form for {expr.func}")


def first_negative(
    expr: sp.Expr,
    t: sp.Symbol,
    T: float,
    point: Callable[[float], float],
    tol: float,
    *,
    pieces: int = 64,
    budget: int = 4000,
) -> float | None:
    """A time in ``[0, T]`` where ``expr < -tol``, or ``None`` if none was found.

    ``point(u)`` evaluates the expression in floating point (the counterexample's value).
    ``None`` means: certified ``>= -tol`` on ``[0, T]``, up to undecided intervals narrower
    than ``T 2^-40`` with non-negative midpoints, or until ``budget`` interval evaluations.
    Raises :class:`Unsupported` for an expression outside the evaluator's operations.
    """
    todo = [(T * k / pieces, T * (k + 1) / pieces) for k in range(pieces)]
    min_width = T * 2.0**-40
    evaluations = 0
    while todo and evaluations < budget:
        a, b = todo.pop()
        evaluations += 1
        try:
            lower = float(interval_eval(expr, t, a, b).a)
        except Unsupported:
            raise
        except (ArithmeticError, ValueError):
            lower = float("-inf")  # e.g. a division by an interval containing 0: undecided
        if lower >= -tol:
            continue
        mid = 0.5 * (a + b)
        value = point(mid)
        if not value >= -tol:
            return mid
        if b - a > min_width:
            todo += [(a, mid), (mid, b)]
    return None
