"""Circuits as polynomials: their sympy meaning, formal reverse derivatives, and gates from sympy.

A circuit over a field computes a tuple of polynomials; :func:`to_sympy` reads
them off (in the symbols ``x0, x1, ...``) and :func:`symbolic_reverse` gives the
reverse derivative that :func:`~paralens.circuits.reverse` builds as a circuit,
``dx_i = sum_j (d f_j / d x_i) dy_j``, computed symbolically, in the symbols
``x0, ..`` and ``dy0, ..``.

    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace, reverse
    >>> c = trace(GF(5), 2, lambda x, y: [x * y + 2 * x, y * y * y])
    >>> to_sympy(c)
    [x0*x1 + 2*x0, x1**3]
    >>> symbolic_reverse(c)
    [dy0*(x1 + 2), dy0*x0 + 3*dy1*x1**2]
    >>> evaluate_sympy(symbolic_reverse(c), GF(5), [[1, 2, 1, 0]]).tolist()  # R[c] at x = (1, 2), dy = (1, 0)
    [[4, 1]]

Coefficients are field elements: over GF(p) the integers ``0 .. p-1`` (never
sympy's symmetric ``-1`` for ``p - 1``); over GF(p^m) polynomials of degree < m
in the generator ``a`` (the symbol ``a`` is reserved for it there), reduced by
the field's irreducible polynomial (``field.sympy_modulus()``); over the reals
rationals.  The polynomials are computed in sympy's sparse polynomial rings
(:mod:`sympy.polys.rings`), which multiply and differentiate polynomials in
hundreds of variables far faster than ``Poly`` or ``expand``.

Formal and functional derivatives
---------------------------------

The polynomials are *formal*: ``x ** p`` is not reduced to ``x``, although over
GF(p) the two are the same function.  Their derivatives differ:
``d/dx x^p = p x^(p-1) = 0`` formally, while the function ``x`` has derivative
``1``.  :func:`~paralens.circuits.reverse` follows the formal one, as a
Cartesian reverse derivative category requires (R is determined by the
syntax of the polynomial, and the chain rule holds for it):

    >>> cube = trace(GF(3), 1, lambda x: x ** 3)
    >>> to_sympy(cube), symbolic_reverse(cube)
    ([x0**3], [0])
    >>> reverse(cube).evaluate([[1, 1], [2, 1]]).tolist()    # R[x^3](x, dy) = 3 x^2 dy = 0
    [[0], [0]]

Over GF(2), copying a wire and multiplying the copies, ``x * x``, is the function
``x`` but its formal derivative is ``2 x = 0``:

    >>> sq = trace(GF(2), 1, lambda x: x * x)
    >>> to_sympy(sq), reverse(sq).evaluate([[0, 1], [1, 1]]).tolist()
    ([x0**2], [[0], [0]])

To get the *functional* derivative, first reduce the polynomial with ``x^q = x``
(``q`` the order of the field), which :func:`functional_reduce` does by taking
every exponent ``e >= 1`` to ``1 + (e - 1) mod (q - 1)``.  The reduced polynomial
(degree < q in each variable) is the only one of its kind that computes the same
function, and the formal derivative of the reduced polynomial is the functional
one: the derivative of the interpolating polynomial along each coordinate.

    >>> functional_reduce(to_sympy(cube), GF(3))
    [x0]
    >>> symbolic_reverse(functional_reduce(to_sympy(cube), GF(3)), field=GF(3))
    [dy0]

Over GF(2) the reduced polynomials are the multilinear ones, and the formal
derivative of a multilinear polynomial along ``x_i`` is the Boolean difference
``f(x) xor f(x xor e_i)``.  A gate built from the reduced polynomial
(:func:`gate_from_sympy`) reverses to it:

    >>> f = functional_reduce(to_sympy(sq), GF(2))
    >>> f
    [x0]
    >>> g = gate_from_sympy("sq_reduced", f, ["x0"])
    >>> reverse(Circuit.generator(GF(2), g)).evaluate([[0, 1], [1, 1]]).tolist()
    [[1], [1]]

Gates from sympy
----------------

:func:`gate_from_sympy` (also ``Gate.from_sympy``) makes a gate from polynomials
written in sympy: its definition is the polynomial built from the generators
(``+``, ``*`` and constants), so its reverse derivative, hardware and files come
from the circuit machinery.

    >>> import sympy
    >>> x, y, z = sympy.symbols("x y z")
    >>> maj = gate_from_sympy("maj", x * y + y * z + x * z, [x, y, z])
    >>> Circuit.generator(GF(2), maj).evaluate([[1, 1, 0], [1, 0, 0]]).tolist()
    [[1], [0]]
    >>> maj.source["exprs"]
    ['x*y + x*z + y*z']
"""

from __future__ import annotations

import functools
import re

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.expressions import as_expression
from paralens.circuits.rules import Meaning, provide
from paralens.circuits.syntax import Circuit
from paralens.circuits.trace import Wire
from paralens.errors import SymbolicTooLarge  # noqa: F401 - importable from here too
from paralens.fields.field import FieldError, as_field

__all__ = [
    "SymbolicTooLarge",
    "change_symbols",
    "circuit_polynomials",
    "evaluate_sympy",
    "functional_reduce",
    "gate_from_sympy",
    "input_symbols",
    "symbolic_reverse",
    "to_sympy",
]


def _sympy():
    import sympy

    return sympy


def input_symbols(n: int, prefix: str = "x") -> list:
    """The symbols ``x0 .. x{n-1}`` that stand for a circuit's inputs."""
    sp = _sympy()
    return [sp.Symbol(f"{prefix}{i}") for i in range(n)]


def change_symbols(m: int, prefix: str = "dy") -> list:
    """The symbols ``dy0 .. dy{m-1}`` that stand for the changes of a circuit's outputs."""
    return input_symbols(m, prefix)


# -- the polynomial ring of one field in some variables -----------------------------------------------


class _Ring:
    """Sparse polynomials over a field in ``symbols`` (plus the generator ``a`` for GF(p^m)).

    Over GF(p) the ring is sympy's ``GF(p)[symbols]``; over GF(p^m) it is
    ``GF(p)[symbols, a]`` with every product reduced by the irreducible polynomial in ``a``;
    over the reals ``QQ[symbols]``.
    """

    def __init__(self, field, symbols: tuple):
        from sympy.polys.rings import PolyRing

        sp = _sympy()
        self.field = field
        self.symbols = tuple(symbols)
        self.n = len(self.symbols)
        self.finite = field.is_finite
        self.p = field.characteristic if self.finite else None
        self.ext = self.finite and field.degree > 1
        gens = list(self.symbols)
        if self.ext:
            a = field.sympy_generator()
            if a in self.symbols:
                raise FieldError(f"over {field.name} the symbol 'a' is the generator of the field; "
                                 f"name the variables otherwise")
            gens.append(a)
        domain = sp.GF(self.p) if self.finite else sp.QQ
        self.ring = PolyRing(tuple(gens), domain)
        self.qq = PolyRing(tuple(gens), sp.QQ)  # for reading expressions (rationals)
        if self.ext:
            self.m = field.degree
            self.a = self.ring.gens[-1]
            self.modulus = self.ring.from_expr(field.sympy_modulus())
        else:
            self.modulus = None

    # elements
    def reduce(self, f):
        if self.modulus is not None and f and f.degree(self.n) >= self.m:
            return f.rem(self.modulus)
        return f

    def const(self, v):
        """The field element ``v`` (integer representation; a number over the reals)."""
        if not self.finite:
            sp = _sympy()
            if isinstance(v, int | np.integer) or float(v) == int(float(v)):
                r = sp.Integer(int(float(v)) if not isinstance(v, int | np.integer) else int(v))
            else:
                r = sp.nsimplify(float(v), rational=True)
            return self.ring.ground_new(self.ring.domain.from_sympy(r))
        # exact: an integer as it is (reduced below), anything else (a float, a FieldArray scalar)
        # through field.element, which refuses what is not exactly an element rather than rounding it
        v = int(v) if isinstance(v, int | np.integer) else self.field.element(v)
        if not self.ext:
            return self.ring.ground_new(v % self.p)
        terms, k = {}, 0
        while v:
            v, digit = divmod(v, self.p)
            if digit:
                terms[(0,) * self.n + (k,)] = digit
            k += 1
        return self.ring.from_dict(terms) if terms else self.ring.zero

    def from_expr(self, expr):
        """A sympy polynomial expression (integer or rational coefficients; ``a`` over GF(p^m))."""
        expr = as_expression(expr)
        extra = expr.free_symbols - set(self.qq.symbols)
        if extra:
            raise ValueError(f"the expression {expr} uses {sorted(map(str, extra))}, which are not among the "
                             f"variables {[str(s) for s in self.symbols]}")
        try:
            fq = self.qq.from_expr(expr)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{expr} is not a polynomial with rational coefficients in "
                             f"{[str(s) for s in self.qq.symbols]}: {e}") from None
        if not self.finite:
            return fq.set_ring(self.ring) if self.qq is not self.ring else fq
        terms = {}
        for mon, c in fq.terms():
            num, den = int(c.numerator), int(c.denominator)
            if den % self.p == 0:
                raise FieldError(f"{self.field.name}: the coefficient {num}/{den} of {expr} divides by "
                                 f"{self.p}, which is 0 in the field")
            v = num * pow(den, -1, self.p) % self.p
            if v:
                terms[mon] = v
        return self.reduce(self.ring.from_dict(terms) if terms else self.ring.zero)

    def coerce(self, v):
        """A ring element from an element of this ring, an integer constant or a sympy expression."""
        from sympy.polys.rings import PolyElement

        if isinstance(v, PolyElement):
            if v.ring == self.ring:
                return self.reduce(v)
            v = v.as_expr()
        if isinstance(v, bool | int | np.integer):
            return self.const(int(v))
        return self.from_expr(v)

    # back to expressions
    def coeff_expr(self, c):
        sp = _sympy()
        if self.finite:
            return sp.Integer(int(c) % self.p)
        return sp.Rational(int(c.numerator), int(c.denominator))

    def to_expr(self, f, symbols=None):
        """``f`` as a sympy expression in ``symbols`` (default: the ring's), coefficients in ``0 .. p-1``."""
        sp = _sympy()
        syms = self.symbols if symbols is None else tuple(symbols)
        if not f:
            return sp.Integer(0)

        def mono(exps):
            return sp.Mul(*[s**e for s, e in zip(syms, exps) if e])

        if not self.ext:
            return sp.Add(*[sp.Mul(self.coeff_expr(c), mono(mon)) for mon, c in f.terms()])
        a = self.field.sympy_generator()
        groups: dict = {}
        for mon, c in f.terms():
            groups.setdefault(mon[: self.n], []).append(self.coeff_expr(c) * a ** mon[self.n])
        return sp.Add(*[sp.Mul(sp.Add(*cs), mono(m)) for m, cs in groups.items()])


@functools.lru_cache(maxsize=256)
def _ring(field, symbols: tuple) -> _Ring:
    return _Ring(field, symbols)


def _ring_of(field, ring) -> _Ring:
    a = field.sympy_generator() if field.is_finite else None
    syms = tuple(s for s in ring.symbols if s != a) if a is not None else tuple(ring.symbols)
    return _ring(field, syms)


def _sort_key(s):
    """Natural order of symbol names: x2 before x10, x before dy."""
    name = str(s)
    m = re.fullmatch(r"(.*?)(\d+)", name)
    return (m.group(1), int(m.group(2)), "") if m else (name, -1, name)


def _free_symbols(exprs, field) -> list:
    syms = set()
    for e in exprs:
        syms |= as_expression(e).free_symbols
    if field.is_finite and field.degree > 1:
        syms.discard(field.sympy_generator())
    return sorted(syms, key=_sort_key)


# -- a circuit's polynomials ----------------------------------------------------------------------------


def _by_definition(gate: G.Gate):
    """The polynomial rule of a gate: its definition's polynomials in the gate's inputs."""
    return lambda xs, c=None, field=None: circuit_polynomials(gate.definition(field), xs)


#: the polynomial meaning: ``RULES[gen](xs, c, field)`` is the list of output polynomials of one gate
#: in the expressions (or ring elements) ``xs`` (``c``: a constant gate's value)
RULES = Meaning("sympy", _by_definition)
RULES[G.ADD] = lambda xs, c=None, field=None: [xs[0] + xs[1]]
RULES[G.MUL] = lambda xs, c=None, field=None: [xs[0] * xs[1]]
RULES[G.NEG] = lambda xs, c=None, field=None: [-xs[0]]
RULES[G.CONST] = lambda xs, c=None, field=None: [c]


@provide("gate_sympy")
def gate_sympy(gen, xs, field=None) -> list:
    """``gen``'s output polynomials in ``xs`` (``Gate.sympy``): its rule in :data:`RULES`."""
    return RULES.rule(gen)(xs, None, field)


def _polys(c: Circuit, R: _Ring, xs: list, max_terms: int | None = None) -> list:
    """Run ``c`` on ring elements ``xs``: one polynomial per output (ring elements of ``R``)."""
    from sympy.polys.rings import PolyElement

    V: list = [None] * c.n_wires
    V[: c.n_inputs] = list(xs)
    F = c.field
    for op in c.ops:
        gen = op.gen
        if gen is G.CONST:
            for i in range(op.k):
                V[op.out + i] = R.const(op.data[i])
            continue
        rule = RULES.rule(gen)
        for i in range(op.k):
            ins = [V[int(a[i])] for a in op.args]
            outs = rule(ins, None, F)
            for j, y in enumerate(outs):
                if not (isinstance(y, PolyElement) and y.ring == R.ring):
                    y = R.coerce(y)
                elif gen is not G.ADD and gen is not G.NEG:
                    y = R.reduce(y)
                if max_terms is not None and len(y) > max_terms:
                    raise SymbolicTooLarge(f"{c.label()}: a polynomial has {len(y)} terms, more than "
                                           f"max_terms={max_terms}")
                V[op.out + j * op.k + i] = y
    return [V[int(o)] for o in c.outputs]


def circuit_polynomials(c: Circuit, xs, *, max_terms: int | None = None) -> list:
    """The output polynomials of ``c`` with the inputs replaced by ``xs``.

    ``xs`` are sympy expressions (the result: sympy expressions in their free symbols, with
    coefficients reduced in the field), or elements of one sympy sparse polynomial ring (the
    result: elements of that ring; this is how gates read their definitions, see
    :meth:`~paralens.circuits.generators.Gate.sympy`).  Bundled operations are unrolled gate by
    gate: this is the symbolic path, for small circuits.  ``max_terms`` raises
    :class:`SymbolicTooLarge` when a polynomial grows beyond that many terms.

        >>> import sympy
        >>> from paralens.fields import GF
        >>> from paralens.circuits import trace
        >>> c = trace(GF(7), 2, lambda x, y: x - y)
        >>> circuit_polynomials(c, sympy.symbols("u v"))
        [u + 6*v]
    """
    from sympy.polys.rings import PolyElement

    xs = list(xs)
    if len(xs) != c.n_inputs:
        raise ValueError(f"{c.label()} has {c.n_inputs} inputs, got {len(xs)} expressions")
    F = c.field
    ring = next((x.ring for x in xs if isinstance(x, PolyElement)), None)
    if ring is not None:
        R = _ring_of(F, ring)
        return _polys(c, R, [R.coerce(x) for x in xs], max_terms)
    R = _ring(F, tuple(_free_symbols(xs, F)))
    return [R.to_expr(f) for f in _polys(c, R, [R.coerce(x) for x in xs], max_terms)]


def to_sympy(c: Circuit, *, max_terms: int | None = None) -> list:
    """The output polynomials of ``c`` in the symbols ``x0 .. x{n-1}`` (coefficients in the field)."""
    R = _ring(c.field, tuple(input_symbols(c.n_inputs)))
    return [R.to_expr(f) for f in _polys(c, R, list(R.ring.gens[: c.n_inputs]), max_terms)]


def _circuit_ring_polys(c: Circuit, max_terms=None):
    R = _ring(c.field, tuple(input_symbols(c.n_inputs)))
    return R, _polys(c, R, list(R.ring.gens[: c.n_inputs]), max_terms)


def symbolic_reverse(c, *, field=None, symbols=None, changes=None, max_terms: int | None = None) -> list:
    """The reverse derivative ``dx_i = sum_j (d f_j / d x_i) dy_j`` by formal partial derivatives.

    ``c`` is a :class:`Circuit` (the result is in the symbols ``x0 ..`` and ``dy0 ..``, and
    evaluates like ``reverse(c)`` on rows ``(x, dy)``), or a list of sympy expressions over
    ``field`` in the variables ``symbols`` (default: their free symbols in natural order; the
    changes are ``changes``, default ``dy0, dy1, ...``).
    """
    sp = _sympy()
    if isinstance(c, Circuit):
        R, polys = _circuit_ring_polys(c, max_terms)
        dys = list(changes) if changes is not None else change_symbols(c.n_outputs)
    else:
        if field is None:
            raise ValueError("symbolic_reverse of expressions needs field=")
        F = as_field(field)
        exprs = [c] if not isinstance(c, list | tuple) else list(c)
        syms = tuple(sp.Symbol(s) if isinstance(s, str) else s for s in symbols) if symbols is not None \
            else tuple(_free_symbols(exprs, F))
        R = _ring(F, syms)
        polys = [R.from_expr(e) for e in exprs]
        dys = list(changes) if changes is not None else change_symbols(len(exprs))
    return _reverse_exprs(R, polys, dys)


def _reverse_exprs(R: _Ring, polys: list, dys: list) -> list:
    """``dx_i = sum_j (d f_j / d x_i) dy_j`` as expressions, from ring polynomials."""
    sp = _sympy()
    gens = R.ring.gens
    out = []
    for i in range(R.n):
        terms = []
        for f, dy in zip(polys, dys):
            d = f.diff(gens[i])
            if d:
                terms.append(sp.Mul(R.to_expr(d), dy))
        out.append(sp.Add(*terms))
    return out


def functional_reduce(exprs, field, symbols=None) -> list:
    """Reduce polynomials with ``x^q = x`` (``q`` the field's order): the same functions, degree < q
    in each variable.  ``exprs`` is a list of sympy expressions (or a :class:`Circuit`, read with
    :func:`to_sympy`).  The formal derivative of the result is the functional derivative (over GF(2):
    the Boolean difference).  Over the reals the polynomials come back expanded and unchanged.
    """
    F = as_field(field)
    if isinstance(exprs, Circuit):
        exprs = to_sympy(exprs)
    single = not isinstance(exprs, list | tuple)
    exprs = [exprs] if single else list(exprs)
    sp = _sympy()
    syms = tuple(sp.Symbol(s) if isinstance(s, str) else s for s in symbols) if symbols is not None \
        else tuple(_free_symbols(exprs, F))
    R = _ring(F, syms)
    out = []
    for e in exprs:
        f = R.from_expr(e)
        if F.is_finite:
            q = F.order
            terms: dict = {}
            for mon, coeff in f.terms():
                red = tuple(1 + (k - 1) % (q - 1) if k else 0 for k in mon[: R.n]) + tuple(mon[R.n:])
                terms[red] = terms.get(red, 0) + int(coeff)
            f = R.ring.from_dict({k: v % R.p for k, v in terms.items() if v % R.p}) if terms else R.ring.zero
        out.append(R.to_expr(f))
    return out[0] if single else out


# -- exact evaluation of expressions -----------------------------------------------------------------------


def _default_symbols(exprs, field, k: int) -> list:
    free = _free_symbols(exprs, field)
    dys = [s for s in free if re.fullmatch(r"dy\d+", str(s))]
    if not dys:
        return input_symbols(k)
    m = 1 + max(int(str(s)[2:]) for s in dys)
    return input_symbols(k - m) + change_symbols(m)


def evaluate_sympy(exprs, field, X, symbols=None):
    """Evaluate sympy polynomials exactly on the rows of ``X`` (integers in the field's representation).

    Field arithmetic on galois arrays (no ``lambdify``, which would drop the modulus and
    overflow int64); over GF(p^m) the symbol ``a`` is the generator.  Column ``i`` of ``X`` is
    ``symbols[i]``; by default ``x0, x1, ...``, or ``x0 .. x{n-1}, dy0 .. dy{m-1}`` when the
    expressions use changes ``dy`` (``m`` = 1 + the largest index; pass ``symbols`` when that
    can be wrong).  Returns a FieldArray ``(batch, len(exprs))`` (floats over the reals), or
    ``(batch,)`` for a single expression.
    """
    sp = _sympy()
    F = as_field(field)
    single = not isinstance(exprs, list | tuple)
    exprs = [as_expression(exprs)] if single else [as_expression(e) for e in exprs]
    if F.is_finite:
        A = F.check_ints(X, "inputs")
    else:
        A = np.asarray(X, dtype=np.float64)
    if A.ndim == 1:
        A = A.reshape(1, -1)
    batch, k = A.shape
    syms = _default_symbols(exprs, F, k) if symbols is None else \
        [sp.Symbol(s) if isinstance(s, str) else s for s in symbols]
    if len(syms) != k:
        raise ValueError(f"{k} columns for {len(syms)} symbols")
    if F.is_finite:
        GFc = F.galois
        cols = F.array(A)
        env = {s: cols[:, i] for i, s in enumerate(syms)}
        p = F.characteristic

        def const(v):
            return F.array(np.full(batch, v, dtype=F.element_dtype))

        def number(e):
            if e.is_Integer:
                return const(int(e) % p)
            if e.is_Rational:
                num, den = int(e.p), int(e.q)
                if den % p == 0:
                    raise FieldError(f"{F.name}: {e} divides by {p}")
                return const(num * pow(den, -1, p) % p)
            raise FieldError(f"{F.name}: {e} is not an element (integers, rationals, and 'a' for GF(p^m))")

        if F.degree > 1:
            env.setdefault(F.sympy_generator(), const(p))  # a = the integer p in galois' representation
        zero, one = const(0), const(1)
    else:
        GFc = None
        env = {s: A[:, i].astype(np.float64) for i, s in enumerate(syms)}

        def number(e):
            return np.full(batch, float(e))

        zero, one = np.zeros(batch), np.ones(batch)
    memo: dict = {}

    def ev(e):
        if e in env:
            return env[e]
        if e in memo:
            return memo[e]
        if e.is_Number:
            r = number(e)
        elif e.is_Symbol:
            raise ValueError(f"no value for the symbol {e}: give symbols= (columns of X)")
        elif e.is_Add:
            r = zero
            for t in e.args:
                r = r + ev(t)
        elif e.is_Mul:
            r = one
            for t in e.args:
                r = r * ev(t)
        elif e.is_Pow and e.exp.is_Integer:
            r = ev(e.base) ** int(e.exp)
        else:
            raise ValueError(f"cannot evaluate {e} over {F}: polynomials only (+, *, integer powers)")
        memo[e] = r
        return r

    outs = [ev(e) for e in exprs]
    if GFc is not None:
        res = F.array(np.stack([np.asarray(o.view(np.ndarray)) for o in outs], axis=1)) if outs else \
            F.array(np.zeros((batch, 0), dtype=np.int64))
    else:
        res = np.stack(outs, axis=1) if outs else np.zeros((batch, 0))
    return res[:, 0] if single else res


# -- gates from sympy ---------------------------------------------------------------------------------------


def _parse(e, names):
    """A gate's formula: sympy objects as they are, text by the restricted grammar (never ``eval``)."""
    return as_expression(e, list(names) + ["a"])


@provide("gate_from_sympy")
def gate_from_sympy(name: str, exprs, symbols, *, field=None, doc: str = "") -> G.Gate:
    """A gate whose outputs are the polynomials ``exprs`` in the inputs ``symbols``.

    ``exprs``: one sympy expression or a list (strings are parsed), polynomials with integer
    (over finite fields, also rational) coefficients, meaning elements of the prime subfield
    (``2`` is ``1 + 1``); over GF(p^m) they may also use the generator ``a``.  ``symbols``:
    the input variables, in port order (Symbols or names).  The gate's definition builds each
    polynomial from the generators (monomials by ``*`` and ``**``, coefficients as constants),
    so its reverse derivative is the formal one; ``source`` records the expressions so that a
    file can rebuild the gate.  With ``field``, the definition over that field is built now
    (errors surface here) and recorded in ``source``.

        >>> import sympy
        >>> from paralens.fields import GF
        >>> from paralens.circuits import reverse
        >>> x, y = sympy.symbols("x y")
        >>> g = gate_from_sympy("f", x**2 * y + 3, [x, y])
        >>> c = Circuit.generator(GF(5), g)
        >>> c.evaluate([[2, 1]]).tolist(), reverse(c).evaluate([[2, 1, 1]]).tolist()   # (2xy, x^2)
        ([[2]], [[4, 4]])
    """
    sp = _sympy()
    names = [str(s) for s in symbols]
    if len(set(names)) != len(names):
        raise ValueError(f"gate {name}: repeated input symbols {names}")
    syms = tuple(sp.Symbol(n) for n in names)
    single = not isinstance(exprs, list | tuple)
    exprs = [exprs] if single else list(exprs)
    parsed = [_parse(e, names) for e in exprs]
    allowed = set(syms) | {sp.Symbol("a")}
    for e in parsed:
        extra = e.free_symbols - allowed
        if extra:
            raise ValueError(f"gate {name}: {e} uses {sorted(map(str, extra))}, not among the inputs {names}")
        if e.free_symbols and not e.is_polynomial(*e.free_symbols):
            raise ValueError(f"gate {name}: {e} is not a polynomial")
    uses_a = any(sp.Symbol("a") in e.free_symbols for e in parsed) and "a" not in names

    def define(*wires):
        b = next((w.b for w in wires if isinstance(w, Wire)), None)
        if b is None:
            raise ValueError(f"gate {name} has no inputs to read its field from")
        F = b.field
        if uses_a and not (F.is_finite and F.degree > 1):
            raise FieldError(f"gate {name} uses the generator a of an extension field; {F.name} has none")
        R = _ring(F, syms)
        outs = []
        for e in parsed:
            outs.append(_build(R, R.from_expr(e), wires, name))
        return outs

    src = {"kind": "sympy", "exprs": [str(e) for e in parsed], "symbols": names}
    if field is not None:
        src["field"] = as_field(field).describe()
    gate = G.Gate(name, len(names), define, n_out=len(parsed), source=src,
                  doc=doc or f"{name}({', '.join(names)}) = " + ", ".join(str(e) for e in parsed))
    if field is not None:
        gate.definition(as_field(field))
    return gate


def _build(R: _Ring, f, wires, name: str):
    """The wire computing the ring element ``f`` from the input wires (formal: no x^q = x)."""
    F = R.field
    groups: dict = {}
    for mon, c in f.terms():
        groups.setdefault(mon[: R.n], []).append((mon[R.n:], c))
    acc = None
    for mon, cs in sorted(groups.items(), reverse=True):
        if R.finite:
            coef = 0
            for rest, c in cs:
                coef += (int(c) % R.p) * (R.p ** rest[0] if rest else 1)
            if not R.ext:
                coef %= R.p
        else:
            (_, c), = cs
            if int(c.denominator) != 1:
                raise FieldError(f"gate {name}: over {F.name} coefficients must be integers, got {c}")
            coef = int(c.numerator)
        term = None
        for w, e in zip(wires, mon):
            if e:
                t = w ** int(e)
                term = t if term is None else term * t
        if term is None:
            term = coef
        elif coef != 1:
            term = term * coef
        acc = term if acc is None else acc + term
    return 0 if acc is None else acc
