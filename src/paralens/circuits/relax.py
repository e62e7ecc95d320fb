"""The relaxation functor: Boolean circuits (over GF(2)) to real circuits (over R).

``relax(c)`` reads every generator of a GF(2) circuit as the multilinear
polynomial that agrees with its Boolean function on ``{0, 1}``, and keeps the
wiring:

==================  ===============================  =========================================
GF(2)               over R                           in the relaxed circuit
==================  ===============================  =========================================
``add`` (XOR)       ``a + b - 2ab``                  the gate ``xor`` (its real definition)
``mul`` (AND)       ``ab``                           ``mul``
``neg``             ``a`` (``-a = a`` in char 2)     wiring (no gate)
``const c``         ``c`` in ``{0.0, 1.0}``          ``const``
``and``             ``ab``                           ``and``
``or``              ``a + b - ab``                   ``or``
``xor``             ``a + b - 2ab``                  ``xor``
``not``             ``1 - a``                        ``not``
``nand``            ``1 - ab``                       ``nand``
``nor``             ``1 - a - b + ab``               ``nor``
``xnor``            ``1 - a - b + 2ab``              ``xnor``
``mux(s, a, b)``    ``a + s (b - a)``                ``mux``
other gates         relax of their GF(2) definition  inlined
==================  ===============================  =========================================

The named Boolean gates of :mod:`paralens.circuits.generators` are defined by
exactly these multilinear polynomials, so over R they *are* their relaxations:
``relax`` maps them to themselves (``expand=True`` inlines their real
definitions instead, leaving only ``add``, ``mul``, ``neg`` and ``const``).
The transformation runs once per bundled operation (a 100,000-gate layer stays
one operation), and since it is defined generator by generator and keeps
wiring, it is a functor: ``relax(f >> g) == relax(f) >> relax(g)`` and
``relax(f @ g) == relax(f) @ relax(g)``, and ``relax(c)`` computes ``c``'s
function on inputs in ``{0, 1}``.

Composites are relaxed gate by gate, so ``relax(c)`` is in general *not* the
multilinear extension of ``c``'s function (``and(x, x)`` relaxes to ``x^2``);
it is the real circuit of the same shape, whose reverse derivative
(:func:`relaxed_lens`) gives gradients for training it.

    >>> import numpy as np
    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace
    >>> c = trace(GF(2), 2, lambda x, y: x + y)          # XOR
    >>> r = relax(c)
    >>> r
    <Circuit R: 2 -> 1, 1 gates (xor 1)>
    >>> r.evaluate(np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])).ravel().tolist()
    [1.0, 0.0, 0.5]
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.lens import CircuitLens
from paralens.circuits.rules import Meaning
from paralens.circuits.syntax import Builder, Circuit, _wires
from paralens.errors import ShapeError
from paralens.fields.field import GF, REALS, FieldError


def _check_boolean(c: Circuit) -> None:
    if not isinstance(c, Circuit):
        raise TypeError(f"relax() takes a Circuit, got {type(c).__name__}")
    F = c.field
    if not (F.is_finite and F.order == 2):
        raise FieldError(f"relax() takes a Boolean circuit (over GF(2)), got one over {F.name}")


def relax(c: Circuit, *, expand: bool = False, name: str | None = None) -> Circuit:
    """The real circuit of a GF(2) circuit: each generator read as its multilinear polynomial.

    Args:
      c: a circuit over GF(2).
      expand: inline the real definitions of the named gates (``xor``, ``or``, ...), so that the
        result uses only ``add``, ``mul``, ``neg`` and ``const``; by default they stay named gates.
      name: name of the result (default: ``"relax(<c's name>)"`` when ``c`` is named).

    Returns:
      A circuit over ``REALS`` with ``c``'s inputs and outputs; on inputs in ``{0, 1}`` it equals ``c``.
    """
    _check_boolean(c)
    b = Builder(REALS, c.n_inputs)
    wmap = np.full(c.n_wires, -1, dtype=np.int64)
    wmap[: c.n_inputs] = np.arange(c.n_inputs)
    for op in c.ops:
        args = [wmap[a] for a in op.args]
        outs = _relax_op(b, op, args, expand)
        for j, o in enumerate(outs):
            wmap[op.out + j * op.k: op.out + (j + 1) * op.k] = o
    if name is None and c.name:
        name = f"relax({c.name})"
    return b.build(wmap[c.outputs], name=name)


def _gate(b: Builder, gate: G.Gate, args, expand: bool) -> list[np.ndarray]:
    if expand:
        outs = b.inline(gate.definition(REALS), args)
        return [o.reshape(-1) for o in outs]
    return b.op(gate, *args)


def _builtin(gate: G.Gate):
    """Relaxation rule of a built-in Boolean gate: the same named gate over the reals (its real
    definition is the multilinear polynomial), or that definition inlined with ``expand``."""
    return lambda b, args, data, expand: _gate(b, gate, args, expand)


def _by_definition(gate: G.Gate):
    """Relaxation rule of a user gate: relax its GF(2) definition, then inline that (functoriality)."""
    def rule(b, args, data, expand):
        rdef = relax(gate.definition(GF(2)), expand=expand)
        outs = b.inline(rdef, [_wires(a) for a in args])
        return [o.reshape(-1) for o in outs]
    return rule


#: relaxation to the reals: ``RULES[gen](b, args, data, expand)`` emits the real reading of a bundle
RULES = Meaning("relax", _by_definition)
RULES[G.ADD] = lambda b, args, data, expand: _gate(b, G.XOR, args, expand)   # x + y over GF(2) is xor
RULES[G.MUL] = lambda b, args, data, expand: b.op(G.MUL, *args)
RULES[G.NEG] = lambda b, args, data, expand: [args[0]]  # -x = x in characteristic 2: wiring
RULES[G.CONST] = lambda b, args, data, expand: [b.const(np.asarray(data, dtype=np.float64))]
for _g in G.BOOLEAN_GATES.values():
    RULES[_g] = _builtin(_g)


def _relax_op(b: Builder, op, args, expand: bool) -> list[np.ndarray]:
    return RULES.rule(op.gen)(b, args, op.data, expand)


class RealCircuitLens(CircuitLens):
    """``(c, R[c])`` for a circuit over the reals: float64 arrays ``(batch, wires)`` in and out."""

    def _check(self, a, width: int, who: str) -> np.ndarray:
        a = REALS.array(a)
        if a.ndim != 2 or a.shape[1] != width:
            raise ShapeError(f"{who} expects an array (batch, {width}), got shape {np.shape(a)}")
        return a

    def forward(self, a, ctx=None):
        a = self._check(a, self.circuit.n_inputs, self.name)
        y, V = self._run.forward(list(a.T))
        return np.asarray(y, dtype=np.float64).T.copy(), V

    def backward(self, V, dy):
        dy = self._check(dy, self.circuit.n_outputs, f"the change of {self.name}")
        dx = self._run.backward(V, dy.T)
        return np.asarray(dx, dtype=np.float64).T.copy()


def relaxed_lens(c: Circuit) -> RealCircuitLens:
    """The lens ``(relax(c), R[relax(c)])`` of a GF(2) circuit (or of a circuit over R, as it is).

    Its put is the reverse derivative of the relaxed circuit: real gradients through Boolean logic.
    """
    r = c if not c.field.is_finite else relax(c)
    return RealCircuitLens(r)


__all__ = ["relax", "relaxed_lens", "RealCircuitLens"]
