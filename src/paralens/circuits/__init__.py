"""Polynomial circuits over finite fields: the CRDC of circuits, its reverse derivative and its meanings.

A :class:`Circuit` is syntax (typed open DAGs of bundled generators, composed
with ``>>`` and ``@``); everything else is a meaning of that syntax:

=========================  =========================================================
``c.evaluate(x)``          batched arrays; GF(2) also bit-packed, 64 samples a word
``reverse(c)``             the reverse derivative R[c] : A x B -> A, again a circuit
``to_sympy(c)``            the output polynomials; ``symbolic_reverse(c)`` their
                           transposed formal Jacobian applied to the changes
``lens(c)``                a paralens Lens, so Learner and fit train circuits
=========================  =========================================================
"""

from paralens.circuits.generators import (
    ADD,
    AND,
    BOOLEAN_GATES,
    CONST,
    MUL,
    MUX,
    NAND,
    NEG,
    NOR,
    NOT,
    OR,
    XNOR,
    XOR,
    Gate,
    Generator,
)
from paralens.circuits.reverse import boolean_difference_reverse, reverse
from paralens.circuits.syntax import Builder, Circuit, Op, resolve
from paralens.circuits.trace import Wire, trace
from paralens.circuits.transform import bundle, prune
from paralens.circuits.lens import CircuitLens, ParaCircuit, compose_parametric, lens, parametric
from paralens.circuits.io import CircuitFileError, circuit_from_dict, circuit_to_dict, load_circuit, save_circuit
from paralens.circuits.symbolic import circuit_polynomials, evaluate_sympy, functional_reduce, gate_from_sympy, symbolic_reverse, to_sympy
