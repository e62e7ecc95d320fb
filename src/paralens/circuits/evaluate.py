"""Evaluation of circuits: one vectorised step per bundled operation, never a loop per gate.

The interpreter keeps every wire's values in one array ``V`` of shape
``(n_wires, batch)`` in the field's internal representation (a kernel, see
:mod:`paralens.fields.kernels`) and runs each op on index arrays: ``V[args]``
gathers a bundle's inputs, the generator computes all its gates at once, and
the result is written to the op's output wires.  GF(2) circuits also run
bit-packed (``packed=True``): the batch axis holds ``uint64`` words of 64
samples, and every gate is one bitwise operation on 64 samples.

Large batches are cut into chunks so that ``V`` stays under ``BUDGET`` bytes.

The meaning is the rule table :data:`RULES` (``{generator: rule(K, xs, data) -> outputs}``), read by
the one loop :func:`run_into`; a gate with no rule runs its kernel method ``gate.fast`` when the kernel
has one, else its definition (:func:`_by_definition`).

Outputs cost one pass, linear in ``n_outputs * batch``: each chunk gathers them with one fancy
index of the wire array (``V[outputs]``) into one preallocated ``(n_outputs, batch)`` array, and
``evaluate`` hands out its transpose as a view (Fortran-ordered), in the interpreter's dtype, as a
galois ``FieldArray`` made without galois' verifying copy (one range check instead).
``as_ints=True`` gives the same integers as a plain NumPy array.

    >>> from paralens.fields import GF
    >>> from paralens.circuits import Circuit
    >>> c = Circuit.generator(GF(5), "mul", 2)
    >>> y = evaluate(c, [[1, 2, 3, 4], [4, 4, 2, 2]])
    >>> y.tolist(), type(y).__name__.startswith("FieldArray")
    ([[3, 3], [3, 3]], True)
    >>> evaluate(c, [[1, 2, 3, 4]], as_ints=True)
    array([[3, 3]])
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.rules import Meaning, provide
from paralens.errors import ShapeError
from paralens.fields.kernels import pack_bits, unpack_words

BUDGET = 256 * 2**20  # bytes of wire values per chunk


def _by_definition(gate: G.Gate):
    """The evaluation rule of a gate with none of its own: one kernel call ``K.<gate.fast>`` when the
    kernel has that method, else the gate's definition run on the kernel."""
    fast = gate.fast

    def rule(K, xs, data):
        if fast is not None:
            f = getattr(K, fast, None)
            if f is not None:
                return [f(*xs)]
        return run_ops(gate.definition(K.field), K, list(xs))
    return rule


#: evaluation: ``RULES[gen](K, xs, data)`` is the list of ``gen.n_out`` output arrays of a bundle
RULES = Meaning("evaluate", _by_definition)
RULES[G.ADD] = lambda K, xs, data: [K.add(xs[0], xs[1])]
RULES[G.MUL] = lambda K, xs, data: [K.mul(xs[0], xs[1])]
RULES[G.NEG] = lambda K, xs, data: [K.neg(xs[0])]
RULES[G.CONST] = lambda K, xs, data, shape=(): [K.const(data, (len(data),) + tuple(shape))]


def run_ops(c, K, inputs: list, *, keep: bool = False, trailing=None):
    """Run circuit ``c`` on kernel ``K``: ``inputs`` are ``n_inputs`` arrays of one shape ``S``;
    returns the ``n_outputs`` arrays (or, with ``keep=True``, the whole wire array ``V``).
    ``trailing`` gives ``S`` when there are no inputs (a circuit of constants)."""
    if len(inputs) != c.n_inputs:
        raise ShapeError(f"{c.label()} takes {c.n_inputs} inputs, got {len(inputs)}")
    if inputs:
        trailing = np.shape(inputs[0])
    elif trailing is None:
        trailing = ()
    V = K.empty((c.n_wires,) + tuple(trailing))
    for i, x in enumerate(inputs):
        V[i] = x
    run_into(c, K, V, c.ops)
    if keep:
        return V
    return [V[o] for o in c.outputs]


def run_into(c, K, V, ops) -> None:
    """Run ``ops`` of circuit ``c`` in place on the wire array ``V``."""
    trailing = V.shape[1:]
    rule = RULES.rule
    for op in ops:
        if op.gen is G.CONST:  # the one rule that needs the batch shape
            V[op.out: op.out + op.k] = K.const(op.data, (op.k,) + trailing)
            continue
        xs = [V[a] for a in op.args]
        outs = rule(op.gen)(K, xs, op.data)
        for j, y in enumerate(outs):
            V[op.out + j * op.k: op.out + (j + 1) * op.k] = y


def _as_batch(c, x):
    """Integers of shape ``(batch, n_inputs)`` from ints or a FieldArray; checked against the field."""
    F = c.field
    raw = x
    if F.is_finite:
        a = F.check_ints(raw, f"inputs of {c.label()}")
    else:
        a = F.array(raw)
    single = a.ndim == 1
    if single:
        a = a.reshape(1, -1)
    if a.ndim != 2 or a.shape[1] != c.n_inputs:
        raise ShapeError(f"{c.label()} takes {c.n_inputs} input wires: give an array (batch, {c.n_inputs}), "
                         f"got shape {np.shape(raw)}")
    return a, single


def wire_outputs(c, a: np.ndarray, *, packed: bool = False) -> np.ndarray:
    """Outputs ``(n_outputs, batch)``, wires-major, in the interpreter's representation, from checked
    integer inputs ``(batch, n_inputs)``: ``uint8`` over GF(2) (also bit-packed), ``int64`` over GF(p),
    galois' dtype over other finite fields, ``float64`` over the reals.

    Each chunk of the batch gathers its outputs with one fancy index of the wire array (``V[outputs]``)
    into one preallocated array, so the cost is linear in ``n_outputs * batch`` with no per-output
    arrays, stacks or transposing copies: the callers return ``.T`` of it, a view.
    """
    F = c.field
    batch = a.shape[0]
    n_in, outs = c.n_inputs, c.outputs
    if packed:
        K = F.kernel(packed=True)
        words = pack_bits(a)  # (n_inputs, n_words)
        n_words = words.shape[1]
        step = max(1, BUDGET // max(1, c.n_wires * 8))
        Y = np.empty((c.n_outputs, n_words), dtype=np.uint64)
        for s in range(0, n_words, step):
            chunk = words[:, s: s + step]
            V = K.empty((c.n_wires, chunk.shape[1]))
            V[:n_in] = chunk
            run_into(c, K, V, c.ops)
            Y[:, s: s + chunk.shape[1]] = V[outs]
        return unpack_words(Y, batch)
    K = F.kernel()
    step = max(1, BUDGET // max(1, c.n_wires * K.dtype.itemsize))
    Y = np.empty((c.n_outputs, batch), dtype=K.dtype)
    for s in range(0, batch, step):
        chunk = a[s: s + step]
        V = K.empty((c.n_wires, len(chunk)))
        if n_in:
            V[:n_in] = K.from_ints(chunk.T)
        run_into(c, K, V, c.ops)
        Y[:, s: s + len(chunk)] = V[outs].view(np.ndarray)
    return Y


def evaluate_ints(c, a: np.ndarray, *, packed: bool = False) -> np.ndarray:
    """Outputs ``(batch, n_outputs)`` as integers from checked integer inputs ``(batch, n_inputs)``:
    ``int64`` (Python ints in an object array above 2^62, ``float64`` over the reals).

    The result is the transpose (a view, Fortran-ordered) of the wires-major outputs of
    :func:`wire_outputs`, widened to ``int64`` in one pass."""
    Y = wire_outputs(c, a, packed=packed)
    if packed:
        return Y.astype(np.int64).T
    return np.asarray(c.field.kernel().to_ints(Y)).T


def field_view(F, ints: np.ndarray):
    """``ints`` (outputs of the interpreter, elements of the finite field ``F``) as a galois FieldArray
    without copying: one range check (a ``max``, and a ``min`` for signed dtypes) instead of galois'
    verifying constructor (two comparisons and two temporaries), then galois' unverified view."""
    G = F.galois
    a = np.asarray(ints)
    if a.dtype not in G.dtypes:
        a = a.astype(G.dtypes[-1])
    if a.size and (int(a.max()) >= F.order or (a.dtype.kind in "iO" and int(a.min()) < 0)):
        raise ValueError(f"{F.name}: internal error: an interpreter produced a value out of range")
    view = getattr(G, "_view", None)  # galois' view without re-verifying (values checked just above)
    return view(a) if view is not None else a.view(G)


@provide("evaluate")
def evaluate(c, x, *, packed: bool = False, as_ints: bool = False):
    """``c.evaluate(x)``: a FieldArray ``(batch, n_outputs)`` (floats over the reals).

    The conversion is linear and lazy: the outputs are gathered wires-major with one fancy index per
    chunk, and the result is a view of them, transposed (so it is Fortran-ordered), in the interpreter's
    dtype (``uint8`` over GF(2) and small galois fields, ``int64`` over GF(p)).  ``as_ints=True``
    returns the same integers as a plain NumPy array, without the FieldArray view.
    """
    a, single = _as_batch(c, x)
    out = wire_outputs(c, a, packed=packed).T
    if single:
        out = out[0]
    if as_ints or not c.field.is_finite:
        return out
    return field_view(c.field, out)
