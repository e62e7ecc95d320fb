"""Evaluation of circuits: one vectorised step per bundled operation, never a loop per gate.

The interpreter keeps every wire's values in one array ``V`` of shape
``(n_wires, batch)`` in the field's internal representation (a kernel, see
:mod:`paralens.fields.kernels`) and runs each op on index arrays: ``V[args]``
gathers a bundle's inputs, the generator computes all its gates at once, and
the result is written to the op's output wires.  GF(2) circuits also run
bit-packed (``packed=True``): the batch axis holds ``uint64`` words of 64
samples, and every gate is one bitwise operation on 64 samples.

Large batches are cut into chunks so that ``V`` stays under ``budget`` bytes.
"""

from __future__ import annotations

import numpy as np

from paralens.categories.errors import ShapeError
from paralens.circuits import generators as G
from paralens.fields.kernels import pack_bits, unpack_bits

BUDGET = 256 * 2**20  # bytes of wire values per chunk


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
    for op in ops:
        if op.gen is G.CONST:
            V[op.out: op.out + op.k] = K.const(op.data, (op.k,) + trailing)
            continue
        xs = [V[a] for a in op.args]
        outs = op.gen.evaluate(K, xs, op.data)
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


def evaluate_ints(c, a: np.ndarray, *, packed: bool = False) -> np.ndarray:
    """Outputs ``(batch, n_outputs)`` as integers from checked integer inputs ``(batch, n_inputs)``."""
    F = c.field
    batch = a.shape[0]
    if packed:
        K = F.kernel(packed=True)
        words = pack_bits(a)
        per_word = max(1, c.n_wires * 8)
        step = max(1, BUDGET // per_word)
        outs = []
        for s in range(0, words.shape[1], step):
            chunk = words[:, s: s + step]
            outs.append(np.stack(run_ops(c, K, list(chunk), trailing=chunk.shape[1:])) if c.n_outputs
                        else np.zeros((0, min(step, words.shape[1] - s)), np.uint64))
        w = np.concatenate(outs, axis=1) if outs else np.zeros((c.n_outputs, 0), np.uint64)
        return unpack_bits(w, batch).astype(np.int64)
    K = F.kernel()
    per_sample = max(1, c.n_wires * K.dtype.itemsize)
    step = max(1, BUDGET // per_sample)
    res = []
    for s in range(0, max(batch, 1), step):
        chunk = a[s: s + step]
        xs = K.from_ints(chunk.T)
        outs = run_ops(c, K, list(xs), trailing=(len(chunk),))
        if c.n_outputs:
            res.append(K.to_ints(np.stack([o.view(np.ndarray) for o in outs])).T)
        else:
            res.append(np.zeros((len(chunk), 0), dtype=np.int64))
        if batch == 0:
            break
    return np.concatenate(res, axis=0)


def evaluate(c, x, *, packed: bool = False):
    """``c.evaluate(x)``: a FieldArray ``(batch, n_outputs)`` (floats over the reals)."""
    a, single = _as_batch(c, x)
    out = evaluate_ints(c, a, packed=packed)
    if single:
        out = out[0]
    return c.field.array(out) if c.field.is_finite else out
