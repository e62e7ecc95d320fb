"""Polynomial expressions from text, by a restricted grammar: text never reaches ``eval``.

sympy's ``parse_expr`` and ``sympify`` run Python's ``eval`` on their input, so a file
that held ``__import__('os').system(...)`` as a gate's formula would run it when read.
Gate formulas in files (and strings given to :func:`gate_from_sympy`) are parsed here
instead, by a small recursive-descent parser that knows exactly this grammar::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*        "/" only by a non-zero integer
    unary  := ("+" | "-") unary | power
    power  := atom ("**" exponent)?
    exponent := INTEGER | "(" INTEGER ")"       a non-negative integer
    atom   := INTEGER | NAME | "(" expr ")"

``NAME`` must be one of the variables the caller allows (the gate's inputs, and ``a``
for the generator of GF(p^m)); anything else (attribute access, calls, subscripts,
lambdas, strings, dunder names, floats) is refused with one :class:`ExpressionError`
naming the position.  Sizes are bounded so that a hostile file cannot exhaust memory
or time: the text's length, the nesting depth, the digits of an integer, the exponent,
and the number of terms the expanded polynomial could have.

    >>> parse_polynomial("x*y + 3*x**2 - y/2", ["x", "y"])
    3*x**2 + x*y - y/2
    >>> parse_polynomial("os.system('true')", ["x"])
    Traceback (most recent call last):
    paralens.errors.ExpressionError: "os.system('true')": character '.' at position 2 is not part of a polynomial (allowed: variables, integers, + - * / ** and parentheses)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from math import comb

import numpy as np

from paralens.errors import ExpressionError  # noqa: F401 - importable from here too

MAX_LENGTH = 100_000  # characters of one expression
MAX_DEPTH = 100  # nested parentheses and unary signs (each level is a few Python frames)
MAX_DIGITS = 400  # digits of one integer (elements of fields up to about 2^1300)
MAX_EXPONENT = 2**20
MAX_TERMS = 100_000  # terms the expansion could have (a bound computed before expanding)

_TOKEN = re.compile(r"\s*(?:(?P<int>\d+)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/()]))")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos, n = [], 0, len(text)
    while pos < n:
        if text[pos:].isspace():
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            j = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExpressionError(f"{text[:60]!r}: character {text[j]!r} at position {j} is not part of a polynomial "
                                  f"(allowed: variables, integers, + - * / ** and parentheses)")
        kind = m.lastgroup
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over the tokens; builds sympy expressions and a bound on their terms."""

    def __init__(self, text: str, names: set[str]):
        self.text, self.names = text, names
        self.toks = _tokens(text)
        self.i, self.depth = 0, 0
        import sympy

        self.sp = sympy

    def fail(self, why: str, at: int | None = None):
        if at is None:
            at = self.toks[self.i][2] if self.i < len(self.toks) else len(self.text)
        raise ExpressionError(f"{self.text[:60]!r}: {why} (at position {at})")

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str, int] | None:
        t = self.peek()
        if t is not None and (value is None or t[1] == value) and (value is None or t[0] == "op"):
            self.i += 1
            return t
        return None

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested more than {MAX_DEPTH} deep")

    def parse(self):
        if not self.toks:
            raise ExpressionError("an empty expression")
        e, _ = self.expr()
        if self.peek() is not None:
            self.fail(f"unexpected {self.peek()[1]!r}")
        return e

    def expr(self):
        e, t = self.term()
        while (op := self.take("+") or self.take("-")) is not None:
            f, u = self.term()
            e, t = (e + f if op[1] == "+" else e - f), t + u
            self.bound(t)
        return e, t

    def term(self):
        e, t = self.unary()
        while (op := self.take("*") or self.take("/")) is not None:
            if op[1] == "*":
                f, u = self.unary()
                e, t = e * f, t * u
                self.bound(t)
            else:
                f, _ = self.unary()
                if not f.is_Integer or f == 0:
                    self.fail("'/' divides only by a non-zero integer", op[2])
                e = e / f
        return e, t

    def unary(self):
        op = self.take("-") or self.take("+")
        if op is None:
            return self.power()
        self.enter()
        e, t = self.unary()
        self.depth -= 1
        return (-e if op[1] == "-" else e), t

    def power(self):
        e, t = self.atom()
        op = self.take("**")
        if op is None:
            return e, t
        paren = self.take("(") is not None
        tok = self.peek()
        if tok is None or tok[0] != "int":
            self.fail("an exponent must be a non-negative integer")
        self.i += 1
        k = self.integer(tok)
        if paren and self.take(")") is None:
            self.fail("expected ')'")
        if k > MAX_EXPONENT:
            self.fail(f"the exponent {k} is above {MAX_EXPONENT}", tok[2])
        t = 1 if t == 1 or k == 0 else comb(t + k - 1, k)  # terms of a t-term polynomial to the k (at most)
        self.bound(t)
        return e ** k, t

    def atom(self):
        tok = self.peek()
        if tok is None:
            self.fail("the expression ends too early")
        kind, value, at = tok
        if kind == "int":
            self.i += 1
            return self.sp.Integer(self.integer(tok)), 1
        if kind == "name":
            self.i += 1
            if value not in self.names:
                allowed = ", ".join(sorted(self.names - {"a"})) or "none"
                self.fail(f"{value!r} is not a variable of this gate (allowed: {allowed})", at)
            nxt = self.peek()
            if nxt is not None and nxt[1] == "(":
                self.fail(f"{value!r} is called like a function; only polynomials are allowed", nxt[2])
            return self.sp.Symbol(value), 1
        if value == "(":
            self.i += 1
            self.enter()
            e, t = self.expr()
            self.depth -= 1
            if self.take(")") is None:
                self.fail("expected ')'")
            return e, t
        self.fail(f"unexpected {value!r}", at)

    def integer(self, tok) -> int:
        if len(tok[1]) > MAX_DIGITS:
            self.fail(f"an integer of {len(tok[1])} digits (at most {MAX_DIGITS})", tok[2])
        return int(tok[1])

    def bound(self, t: int):
        if t > MAX_TERMS:
            self.fail(f"the polynomial could have {t} terms or more (at most {MAX_TERMS})")


def parse_polynomial(text: str, names: Iterable[str]):
    """The sympy expression of the polynomial ``text`` in the variables ``names`` (see the grammar above)."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"an expression of {len(text)} characters (at most {MAX_LENGTH})")
    names = set(names)
    bad = [n for n in names if not isinstance(n, str) or not NAME.match(n)]
    if bad:
        raise ExpressionError(f"{bad[0]!r} is not a variable name (letters, digits and '_', starting with a letter)")
    return _Parser(text, names).parse()


def as_expression(e, names: Iterable[str] | None = None):
    """A sympy expression from a sympy object, an integer, or text (parsed by :func:`parse_polynomial`
    with ``names`` as the allowed variables; with ``names=None``, any variable name)."""
    import sympy

    if isinstance(e, sympy.Basic):
        return e
    if isinstance(e, bool):
        raise ExpressionError(f"{e!r} is not a polynomial")
    if isinstance(e, int | np.integer):
        return sympy.Integer(int(e))
    if isinstance(e, float | np.floating):
        return sympy.Float(float(e))
    if isinstance(e, str):
        if names is None:
            names = {t[1] for t in _tokens(e) if t[0] == "name"} if len(e) <= MAX_LENGTH else set()
        return parse_polynomial(e, names)
    raise ExpressionError(f"{type(e).__name__} is not a polynomial expression (give sympy expressions or text)")
