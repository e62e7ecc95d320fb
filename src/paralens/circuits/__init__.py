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

One home per concept
--------------------

The syntax (:mod:`~paralens.circuits.generators`, :mod:`~paralens.circuits.syntax`) is data and
knows no interpreter.  Every meaning is a rule table keyed by generator
(:class:`~paralens.circuits.rules.Meaning`), owned by its module and read by that module's one
interpreter loop: ``evaluate.RULES``, ``reverse.RULES``, ``symbolic.RULES`` (sympy),
``relax.RULES``, and in :mod:`paralens.synth` ``netlist.RULES`` (the GF(2) netlist, whose
vocabulary ``netlist.VOCABULARY`` is closed: the Verilog, BLIF and CNF writers read only its
kinds, through their truth tables) and ``pyrtl_design.RULES``.  A gate with no rule in a table
falls back to its definition, in that table's one ``by_definition`` rule; a generator with neither
raises :class:`~paralens.errors.MissingRule`, naming the meaning and the generator.  The sixteen
two-input functions (codes, names, truth tables, polynomials) live in :mod:`~paralens.circuits.truth`.

So a new gate is its definition, in one place, and every meaning follows.  The 3-input majority
``maj(x, y, z) = xy + yz + xz`` (over GF(2)), through evaluate, reverse, sympy, PyRTL, Verilog,
BLIF, CNF and the packed kernel:

    >>> import io, itertools, os, tempfile
    >>> import numpy as np
    >>> from paralens.fields import GF
    >>> from paralens.circuits import Gate, reverse, to_sympy, trace
    >>> MAJ = Gate("maj", 3, lambda x, y, z: x * y + y * z + x * z, doc="the majority of three bits")
    >>> c = trace(GF(2), 3, lambda x, y, z: MAJ(x, y, z), name="maj3")
    >>> c
    <Circuit maj3: GF(2): 3 -> 1, 1 gates (maj 1)>
    >>> X = np.array(list(itertools.product((0, 1), repeat=3)))
    >>> c.evaluate(X).ravel().tolist()
    [0, 0, 0, 1, 0, 1, 1, 1]
    >>> reverse(c).evaluate([[1, 0, 1, 1]]).tolist()      # (y + z, x + z, x + y) d
    [[1, 0, 1]]
    >>> to_sympy(c)
    [x0*x1 + x0*x2 + x1*x2]
    >>> from paralens.synth import simulate, to_pyrtl, to_verilog
    >>> simulate(to_pyrtl(c), X).ravel().tolist()
    [0, 0, 0, 1, 0, 1, 1, 1]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     to_verilog(c, os.path.join(tmp, "maj3.v"))
    'maj3'
    >>> from paralens.synth.formats import write_blif, write_cnf
    >>> blif = io.StringIO()
    >>> write_blif(c, blif)
    'maj3'
    >>> blif.getvalue().count(".names")                   # 3 and, 2 xor (the definition), 1 output
    6
    >>> len(write_cnf(c, io.StringIO())["clauses"])       # 4 clauses per two-input gate
    20
    >>> from paralens.boolean.packed import PackedCircuit
    >>> PackedCircuit(c).evaluate_bits(X).ravel().tolist()
    [0, 0, 0, 1, 0, 1, 1, 1]

To make such a gate built in, add it to ``BOOLEAN_GATES`` in :mod:`~paralens.circuits.generators`
(the one file); fast paths are optional: a kernel method named by ``Gate(..., fast="gate_maj")``,
or a rule in any meaning's table (``netlist.RULES[MAJ] = ...``).  A generator that is no gate
and has no rule stops with the one error:

    >>> from paralens.circuits.generators import Generator
    >>> class Opaque(Generator):
    ...     name = "opaque"
    >>> Circuit.generator(GF(2), Opaque()).evaluate([[1]])
    Traceback (most recent call last):
    ...
    paralens.errors.MissingRule: the meaning 'evaluate' has no rule for the generator 'opaque' (and it has no definition to fall back to)
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
from paralens.circuits.rules import MEANINGS, Meaning
from paralens.circuits.syntax import Builder, Circuit, Op, resolve
from paralens.circuits.trace import Wire, trace
from paralens.circuits.transform import bundle, prune
from paralens.circuits.lens import CircuitLens, ParaCircuit, compose_parametric, lens, parametric
from paralens.circuits.io import CircuitFileError, circuit_from_dict, circuit_to_dict, load_circuit, save_circuit
from paralens.circuits.symbolic import circuit_polynomials, evaluate_sympy, functional_reduce, gate_from_sympy, symbolic_reverse, to_sympy
