"""A safe parser for the coefficient expressions of ``LinearSDE`` (docs/analytic.md,
"Expression grammar").

``parse_expression(text, name)`` turns a string such as ``"-0.5*(0.1 + 19.9*t)"`` into a sympy
expression in the symbol ``t`` *without ever evaluating Python*: the string is split into
tokens by a small hand-written scanner and read by a recursive-descent parser that builds the
sympy tree itself from a whitelist. Nothing is passed to ``eval``, ``exec``, ``compile``,
``sympy.sympify`` or ``sympy.parse_expr``. The grammar (Python precedence)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("+" | "-") unary | power
    power   := atom (("**" | "^") unary)?          # right-associative; -t**2 = -(t**2)
    atom    := NUMBER | "t" | CONSTANT | FUNCTION "(" expr ")" | "(" expr ")"
    NUMBER  := digits ["." digits] [("e" | "E") ["+" | "-"] digits]   (also ".5", "2.")
    CONSTANT:= "pi" | "E" | "e"

``^`` is accepted as a synonym of ``**`` (as in most calculators); there is no implicit
multiplication (``2t`` is an error) and no bitwise or comparison operator. Numbers are read
as the exact rationals they denote (``0.1`` is 1/10). Functions (one argument each):
``exp log sqrt sin cos tan sinh cosh tanh asin acos atan asinh acosh atanh erf erfc abs``.

Numeric exponents are limited to ``|p| <= 1024`` (rationals with a denominator above 1e4 are
rounded to 15-digit floats) and no rational built by the parser may exceed ~420 digits.

Anything else -- another name (``__import__``, ``os``, ``x``), a string, a comma, ``[``,
``.``-attribute access, ``;``, a newline, ``=``, ``:``, ``lambda``, an f-string -- raises a
``ValueError`` that names the offending token, its position and the argument (``f``, ``g``
or ``g2``). Inputs are capped at ``MAX_LENGTH`` characters and ``MAX_DEPTH`` levels of
nesting, numbers at ``|exponent| <= 400`` and powers of two numbers at ``|result| < 1e400``
(so that sympy never builds a gigantic integer such as ``9**9**9``).

``as_expression(value, name)`` is the single entry point used by ``LinearSDE``: strings go
through the parser; plain real numbers become exact rationals; sympy expressions are checked
(only the symbol ``t``, no undefined functions, nothing complex or infinite).
"""

from __future__ import annotations

import math
import numbers
import re
from fractions import Fraction

import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = ["parse_expression", "as_expression", "t_sym", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH"]

t_sym = sp.Symbol("t", nonnegative=True, real=True)

MAX_LENGTH = 1000
MAX_DEPTH = 40
_MAX_EXPONENT_DIGITS = 400  # |e| in "1e<e>"
_MAX_POWER_LOG10 = 400.0  # |log10| of a number ** number
_MAX_EXPONENT = 1024  # |p| of a numeric exponent t**p
_MAX_BITS = 1400  # ~420 decimal digits in any rational the parser builds

FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
    "erf": sp.erf,
    "erfc": sp.erfc,
    "abs": sp.Abs,
}
_CONSTANTS = {"t": t_sym, "pi": sp.pi, "E": sp.E, "e": sp.E}

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("**", "*", "/", "+", "-", "^", "(", ")")
_ALLOWED = "names t, pi, E, e; functions " + ", ".join(FUNCTIONS)


def _fail(name: str, text: str, pos: int, what: str) -> ValueError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return ValueError(
        f"{name}: {what} at position {pos} of {shown!r}; an expression may use numbers, "
        f"+ - * / ** ^ ( ), {_ALLOWED}"
    )


def _tokenize(text: str, name: str) -> list[tuple[str, str, int]]:
    """``[(kind, token, position)]`` with kind in number/name/op, ending with ("end", "", n)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m:
            j = m.end()
            if j < n and (text[j].isalnum() or text[j] in "_."):
                k = _NAME.match(text, j)
                bad = text[m.start() : (k.end() if k else j + 1)]
                raise _fail(name, text, i, f"malformed number {bad!r} (no implicit products)")
            out.append(("number", m.group(0), i))
            i = j
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(("name", m.group(0), i))
            i = m.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is None:
            shown = {"\n": "newline", "\r": "carriage return"}.get(c, repr(c))
            raise _fail(name, text, i, f"forbidden character {shown}")
        out.append(("op", op, i))
        i += len(op)
    out.append(("end", "", n))
    return out


def _number(tok: str, name: str, text: str, pos: int) -> sp.Expr:
    mant, _, expo = tok.lower().partition("e")
    if expo and abs(int(expo)) > _MAX_EXPONENT_DIGITS:
        raise _fail(name, text, pos, f"number {tok!r} out of range")
    if not math.isfinite(float(tok)):
        raise _fail(name, text, pos, f"number {tok!r} overflows float64")
    q = Fraction(tok)
    return sp.Rational(q.numerator, q.denominator)


class _Parser:
    def __init__(self, text: str, name: str):
        self.text, self.name = text, name
        self.toks = _tokenize(text, name)
        self.i = 0
        self.depth = 0

    def peek(self):
        return self.toks[self.i]

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, tok, what):
        return _fail(self.name, self.text, tok[2], what)

    def enter(self, tok):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(tok, f"expression nested deeper than {MAX_DEPTH} levels")

    def parse(self) -> sp.Expr:
        if self.peek()[0] == "end":
            raise _fail(self.name, self.text, 0, "empty expression")
        e = self.expr()
        tok = self.peek()
        if tok[0] != "end":
            raise self.error(tok, f"unexpected token {tok[1]!r}")
        return e

    def expr(self):
        e = self.term()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            rhs = self.term()
            e = e + rhs if op == "+" else e - rhs
        return e

    def term(self):
        e = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            tok = self.take()
            rhs = self.unary()
            if tok[1] == "*":
                e = e * rhs
            else:
                if rhs == 0:
                    raise self.error(tok, "division by zero")
                e = e / rhs
        return e

    def unary(self):
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("+", "-"):
            self.take()
            self.enter(tok)
            e = self.unary()
            self.depth -= 1
            return -e if tok[1] == "-" else e
        return self.power()

    def power(self):
        base = self.atom()
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("**", "^"):
            self.take()
            self.enter(tok)
            ex = self.unary()
            self.depth -= 1
            return self._pow(base, ex, tok)
        return base

    def _pow(self, base, ex, tok):
        if isinstance(ex, sp.Number):
            x = float(ex)
            if abs(x) > _MAX_EXPONENT:
                raise self.error(
                    tok, f"exponent {x:g} out of range (|exponent| <= {_MAX_EXPONENT})"
                )
            if isinstance(ex, sp.Rational) and ex.q > 10**4:
                ex = sp.Float(x, 15)  # no exact roots of huge order (2**(1/10**300))
            if isinstance(base, sp.Number):
                b = float(base)
                if b == 0 and x < 0:
                    raise self.error(tok, "zero to a negative power")
                if b != 0 and abs(x) * abs(math.log10(abs(b))) > _MAX_POWER_LOG10:
                    raise self.error(tok, f"power {base}**{ex} out of range")
        out = sp.Pow(base, ex)
        if any(max(abs(r.p), r.q).bit_length() > _MAX_BITS for r in out.atoms(sp.Rational)):
            raise self.error(tok, "a number in the expanded power is out of range")
        return out

    def atom(self):
        tok = self.take()
        kind, text, _ = tok
        if kind == "number":
            return _number(text, self.name, self.text, tok[2])
        if kind == "op" and text == "(":
            self.enter(tok)
            e = self.expr()
            self.depth -= 1
            close = self.take()
            if close[1] != ")" or close[0] != "op":
                raise self.error(close, f"expected ')' but found {close[1] or 'the end'!r}")
            return e
        if kind == "name":
            nxt = self.peek()
            if text in FUNCTIONS:
                if nxt[1] != "(" or nxt[0] != "op":
                    raise self.error(tok, f"function {text!r} must be called as {text}(...)")
                self.take()
                self.enter(tok)
                arg = self.expr()
                self.depth -= 1
                close = self.take()
                if close[1] != ")" or close[0] != "op":
                    found = close[1] or "the end"
                    raise self.error(
                        close, f"{text}(...) takes one argument; expected ')' but found {found!r}"
                    )
                return FUNCTIONS[text](arg)
            if text in _CONSTANTS:
                if nxt[0] == "op" and nxt[1] == "(":
                    raise self.error(tok, f"{text!r} is not a function")
                return _CONSTANTS[text]
            raise self.error(
                tok, f"unknown name {text!r} (the only variable is t: free symbols are not allowed)"
            )
        if kind == "end":
            raise self.error(tok, "unexpected end of expression")
        raise self.error(tok, f"unexpected token {text!r}")


def _check_expression(expr: sp.Expr, name: str) -> sp.Expr:
    """Reject complex, infinite or undefined values in a (parsed or given) expression."""
    if expr.has(sp.I):
        raise ValueError(f"{name} = {expr} is complex; coefficients must be real")
    bad = next((v for v in (sp.nan, sp.zoo, sp.oo, -sp.oo) if expr.has(v)), None)
    if bad is not None:
        raise ValueError(f"{name} = {expr} contains {bad}; coefficients must be finite")
    return expr


def parse_expression(text: str, name: str = "expression") -> sp.Expr:
    """The sympy expression denoted by ``text`` (module docstring); never evaluates Python."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"{name}: expression longer than {MAX_LENGTH} characters")
    return _check_expression(_Parser(text, name).parse(), name)


def as_expression(value: str | float | sp.Expr, name: str) -> sp.Expr:
    """``value`` (a string, a real number or a sympy expression in ``t``) as a sympy expression.

    Strings go through :func:`parse_expression`; ints and floats become the exact rational of
    their shortest decimal form (``0.1 -> 1/10``); any symbol called ``t`` is identified with
    ``t_sym``; other symbols and undefined functions are rejected.
    """
    if isinstance(value, str):
        return parse_expression(value, name)
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, a string or a sympy expression, not a bool")
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{name} = {x} is not finite")
        q = Fraction(repr(x))
        return sp.Rational(q.numerator, q.denominator)
    if isinstance(value, numbers.Complex):
        raise TypeError(f"{name} = {value!r} is complex; coefficients must be real")
    if not isinstance(value, sp.Expr):
        raise TypeError(
            f"{name} must be a string, a real number or a sympy expression in t, "
            f"got {type(value).__name__}"
        )
    undef = value.atoms(AppliedUndef)
    if undef:
        raise ValueError(f"{name} uses undefined functions {sorted(map(str, undef))}")
    foreign = [f for f in value.atoms(sp.Function) if not type(f).__module__.startswith("sympy.")]
    if foreign:  # a user-defined Function subclass: lambdify would print its name as code
        raise ValueError(f"{name} uses functions not from sympy: {sorted(map(str, foreign))}")
    if value.atoms(sp.Dummy):
        raise ValueError(f"{name} contains dummy symbols; pass an expression in t")
    subs = {}
    for s in value.free_symbols:
        if s.name != "t" or not isinstance(s, sp.Symbol):
            raise ValueError(f"{name} may only depend on t; found free symbols {{{s}}}")
        if s != t_sym:
            subs[s] = t_sym
    return _check_expression(value.xreplace(subs) if subs else value, name)
