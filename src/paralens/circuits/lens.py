"""Circuits as lenses and parametric lenses, so that the learning code trains them unchanged.

``lens(c)`` is the image of a circuit under the functor R : C -> Lens(C)
(paper Prop 2.7): get is ``c`` and put is ``R[c]``, both circuits.  At run time
the forward pass runs the forward part of :func:`~paralens.circuits.reverse`
and keeps every wire's value as the residual; the backward pass writes the
changes ``dy`` into that wire array and runs the rest of ``R[c]``, so no forward
value is computed twice.

``parametric(c, params={"w": 16})`` is a morphism of Para(Lens(C)) (Def 2.5):
the first wires of ``c`` are parameter wires, grouped and named, and the rest
are the data input.  The parameters are shared by every example of a batch
(copied), so their change is the *sum* of the per-example changes (the reverse
of copy is addition).  That sum is returned as an integer array (the sum of the
integer representatives, a lift to Z of the sum in GF(p); for primes so large
that the sum could overflow int64 it is reduced mod p instead): field-aware
optimisers reduce it mod p (``optimisers.gradient_update(modulus=p)`` gives exactly
``p + sum_i p'_i`` in GF(p), i.e. reverse derivative ascent over GF(2)), and the
GF(2) vote optimiser reads it as a count of examples asking for a flip.

Values are integer arrays (batch, wires) in galois' integer representation.
Over GF(2) both passes run bit-packed inside for batches of 8 examples or more (64
examples to a ``uint64`` word, each gate one bitwise operation for all of them); the
parameters' change is then the popcount of their packed rows, the same integers as
the unpacked sum.

    >>> import numpy as np
    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace
    >>> L = lens(trace(GF(2), 2, lambda x, y: x * y))
    >>> L.get(np.array([[1, 1], [1, 0]]))
    array([[1],
           [0]])
    >>> L.put(np.array([[1, 1], [1, 0]]), np.array([[1], [1]]))   # R[and]((x, y), d) = (y d, x d)
    array([[1, 1],
           [0, 1]])
"""

from __future__ import annotations

import numpy as np

from paralens.categories.lens import Lens
from paralens.categories.para import Para, ParamSpec
from paralens.categories.types import ArrayType
from paralens.circuits.evaluate import run_into
from paralens.circuits.reverse import reverse
from paralens.circuits.syntax import Builder, Circuit
from paralens.errors import CompositionError, ParameterError, ShapeError
from paralens.fields.kernels import pack_bits, unpack_bits

#: GF(2) batches of at least this many examples run bit-packed (``packed=None``, the default)
PACK_FROM = 8


class _Runner:
    """Forward and backward passes of a circuit over its reverse derivative R[c].

    ``derivative="formal"`` uses :func:`~paralens.circuits.reverse.reverse`; ``"functional"`` uses
    :func:`~paralens.circuits.reverse.boolean_difference_reverse` (GF(2); built on first use,
    differentiating only the inputs ``wrt``).  Both start with ``c``'s forward operations laid out
    alike, so the forward pass (and its residual) is the same for either."""

    def __init__(self, c: Circuit, derivative: str = "formal", wrt=None, packed: bool | None = None):
        if derivative not in ("formal", "functional"):
            raise ValueError(f"derivative must be 'formal' or 'functional', got {derivative!r}")
        self.c = c
        self.derivative, self.wrt = derivative, wrt
        self._rc = reverse(c) if derivative == "formal" else None
        n, m = c.n_inputs, c.n_outputs
        self.out_wires = np.where(c.outputs < n, c.outputs, c.outputs + m)
        self.n_forward_wires = c.n_wires + m  # the wires the forward operations write
        # GF(2) batches of PACK_FROM examples or more run bit-packed: 64 examples per uint64 word,
        # one bitwise operation per gate for all of them (the interpreter's per-gate cost is the
        # gather of its input rows, up to 64 times smaller packed); the padding bits of the last
        # word are never read back.  Smaller batches gain nothing from packing and pay for it.
        binary = c.field.is_finite and c.field.order == 2
        if packed and not binary:
            raise ValueError(f"bit-packed runs are only for GF(2), not {c.field.name}")
        self._policy = None if packed is None and binary else bool(packed) and binary
        self.K = c.field.kernel()
        self.KP = c.field.kernel(packed=True) if binary else None

    def packs(self, batch: int) -> bool:
        """Whether a batch of ``batch`` examples runs bit-packed."""
        if self._policy is None:
            return batch >= PACK_FROM
        return self._policy

    def kernel(self, packed: bool):
        return self.KP if packed else self.K

    def rows_in(self, rows, packed: bool) -> np.ndarray:
        """Integer rows ``(wires, batch)`` -> kernel form (``(wires, words)`` when packed)."""
        rows = np.asarray(rows)
        if packed:
            return pack_bits(rows.T) if rows.size else np.zeros((rows.shape[0], 0), np.uint64)
        return self.K.from_ints(rows)

    def rows_out(self, rows, batch: int, packed: bool) -> np.ndarray:
        """Kernel form -> integer rows ``(wires, batch)``."""
        rows = rows.view(np.ndarray)
        if packed:
            return unpack_bits(rows, batch).T.astype(np.int64) if batch else np.zeros((rows.shape[0], 0), np.int64)
        return self.K.to_ints(rows)

    def row_sums(self, rows, batch: int, packed: bool) -> np.ndarray:
        """The integer sum over the batch of each row (the change of a copied parameter), int64."""
        rows = rows.view(np.ndarray)
        if packed:
            if batch % 64:  # clear the padding bits of the last word before counting
                rows = rows.copy()
                rows[:, -1] &= np.uint64((1 << (batch % 64)) - 1)
            return np.bitwise_count(rows).sum(axis=1, dtype=np.int64)
        return self.K.to_ints(rows).astype(np.int64).sum(axis=1)

    @property
    def rc(self) -> Circuit:
        if self._rc is None:
            from paralens.circuits.reverse import boolean_difference_reverse

            self._rc = boolean_difference_reverse(self.c, self.wrt)
        return self._rc

    def forward(self, cols: list, blocks: bool = False, packed: bool = False):
        """``cols``: n_inputs arrays (batch,) in kernel form (or, ``blocks=True``, arrays (rows, batch)
        stacking them; ``batch`` counts words when packed) -> outputs (n_out, batch) and the wire array."""
        c, K = self.c, self.kernel(packed)
        batch = np.shape(cols[0])[-1 if blocks else 0] if cols else 0
        V = K.empty((self.n_forward_wires, batch))
        i = 0
        for col in cols:
            if blocks:
                V[i: i + len(col)] = col
                i += len(col)
            else:
                V[i] = col
                i += 1
        run_into(c, K, V, self._forward_ops())
        return V[self.out_wires], V

    def _forward_ops(self):
        if self._rc is not None:
            return self._rc.ops[: self._rc.n_forward_ops]
        if not hasattr(self, "_fops"):  # c's ops, renumbered as in R[c] (past the m change wires)
            from paralens.circuits.reverse import G_op

            n, m = self.c.n_inputs, self.c.n_outputs
            remap = np.arange(self.c.n_wires, dtype=np.int64)
            remap[n:] += m
            self._fops = [G_op(op, remap, op.out + m) for op in self.c.ops]
        return self._fops

    def backward(self, V, dy_rows, packed: bool = False):
        """``dy_rows``: (n_out, batch) in kernel form -> dx (n_in, batch)."""
        n, m = self.c.n_inputs, self.c.n_outputs
        rc, K = self.rc, self.kernel(packed)
        W = K.empty((rc.n_wires,) + V.shape[1:])  # a residual may be read twice: keep V intact
        W[: len(V)] = V
        W[n: n + m] = dy_rows
        run_into(rc, K, W, rc.ops[rc.n_forward_ops:])
        return W[rc.outputs]


def _ints_in(F, a, who: str, width: int) -> np.ndarray:
    a = F.check_ints(a, f"values for {who}")
    if a.ndim != 2 or a.shape[1] != width:
        raise ShapeError(f"{who} expects an array (batch, {width}), got shape {np.shape(a)}")
    return a


def _check_batch(d, batch: int, who: str) -> None:
    if d.shape[0] != batch:
        raise ShapeError(f"the change of {who} has {d.shape[0]} rows, but its forward pass had a batch of {batch}")


def _field_type(c: Circuit, n: int) -> ArrayType:
    return ArrayType((n,), c.field.lens_field)


class CircuitLens(Lens):
    """``R(c)``: the lens (c, R[c]) of a circuit; values are integer arrays (batch, wires)."""

    def __init__(self, c: Circuit, packed: bool | None = None):
        self.circuit = c
        self._run = _Runner(c, packed=packed)
        self.dom = _field_type(c, c.n_inputs)
        self.cod = _field_type(c, c.n_outputs)
        self.name = c.label()

    def forward(self, a, ctx=None):
        run, F = self._run, self.circuit.field
        a = _ints_in(F, a, self.name, self.circuit.n_inputs)
        pk = run.packs(len(a))
        y, V = run.forward(list(run.rows_in(a.T, pk)), packed=pk)
        return run.rows_out(y, len(a), pk).T.copy(), (V, len(a))

    def backward(self, residual, dy):
        (V, batch), run, F = residual, self._run, self.circuit.field
        dy = _ints_in(F, dy, f"the change of {self.name}", self.circuit.n_outputs)
        _check_batch(dy, batch, self.name)
        pk = run.packs(batch)
        dx = run.backward(V, run.rows_in(dy.T, pk), packed=pk)
        return run.rows_out(dx, batch, pk).T.copy()


def lens(c: Circuit) -> CircuitLens:
    """The lens ``(c, R[c])`` of a circuit (the functor R on circuits)."""
    if not isinstance(c, Circuit):
        raise TypeError(f"lens() takes a Circuit, got {type(c).__name__}")
    return CircuitLens(c)


def random_init(field):
    """Uniform random field elements (as integers); over GF(2), fair coin flips."""
    def init(rng, shape, dtype):
        return field.random_ints(shape, rng)

    init.__name__ = "uniform"
    return init


def zeros_init(rng, shape, dtype):
    return np.zeros(shape, dtype=np.int64)


class ParaCircuit(Para):
    """A parametric circuit: a circuit whose first wires are named parameters (Para(Lens(C))).

    Args:
      circuit: the circuit; its inputs are the parameters (in the order of ``params``) then the data.
      params: ``{name: n_wires}`` or ``{name: ParamSpec}``; each parameter is a vector of field elements.
      init: ``{name: init}`` initialisers ``(rng, shape, dtype) -> ints`` (default: uniform random).
      name: printed name.
      derivative: ``"formal"`` (default): the backward pass is :func:`~paralens.circuits.reverse.reverse`,
        the formal reverse derivative of the circuit's polynomial (a CRDC); ``"functional"`` (GF(2)):
        :func:`~paralens.circuits.reverse.boolean_difference_reverse`, the Boolean differences
        ``f(x) + f(x + e_i)``, which the RDA paper's library computes (by brute force).  The
        parameters' change alone (``backward_params``, what a learner asks for) differentiates only
        the parameter wires.
      packed: over GF(2), run bit-packed (64 examples a word; default ``None``: batches of
        :data:`PACK_FROM` examples or more), ``True`` always, or ``False`` never (one byte per
        example: the same numbers).
    """

    def __init__(self, circuit: Circuit, params: dict, init: dict | None = None, name: str | None = None,
                 derivative: str = "formal", packed: bool | None = None):
        F = circuit.field
        self.circuit = circuit
        self.derivative = derivative
        self.params = {}
        init = init or {}
        for n, spec in params.items():
            if isinstance(spec, ParamSpec):
                self.params[n] = spec
            else:
                size = int(spec)
                self.params[n] = ParamSpec((size,), init.get(n, random_init(F)), F.lens_field)
        self.sizes = [int(np.prod(s.shape)) for s in self.params.values()]
        self.n_params = sum(self.sizes)
        if self.n_params > circuit.n_inputs:
            raise ParameterError(f"{circuit.label()} has {circuit.n_inputs} inputs, fewer than its "
                                 f"{self.n_params} parameter wires")
        self.n_data = circuit.n_inputs - self.n_params
        self.dom = _field_type(circuit, self.n_data)
        self.cod = _field_type(circuit, circuit.n_outputs)
        self.name = name or circuit.label()
        self._run = _Runner(circuit, derivative, packed=packed)
        # the change of the parameters alone: the functional derivative need not flip the data inputs
        self._run_params = self._run if derivative == "formal" else \
            _Runner(circuit, derivative, wrt=np.arange(self.n_params), packed=packed)

    # -- running --------------------------------------------------------------------
    def _param_rows(self, p: dict, batch: int, packed: bool = False) -> list:
        K, F = self._run.kernel(packed), self.circuit.field
        rows = []
        for (n, spec), size in zip(self.params.items(), self.sizes):
            if n not in p:
                raise ParameterError(f"{self.label()} needs parameter {n!r}; got {sorted(p)}")
            v = F.check_ints(p[n], f"parameter {n!r}").reshape(-1)
            if v.shape[0] != size:
                raise ParameterError(f"parameter {n!r} of {self.label()} has {v.shape[0]} elements, expected {size}")
            rows.append(np.broadcast_to(K.from_ints(v)[:, None], (size, batch)))
        return rows  # one block (size, batch) per parameter

    def forward(self, p: dict, a, ctx=None):
        run, F = self._run, self.circuit.field
        a = _ints_in(F, a, self.name, self.n_data)
        batch = a.shape[0]
        pk = run.packs(batch)
        data = run.rows_in(a.T, pk)
        y, V = run.forward(self._param_rows(p, data.shape[1], pk) + [data], blocks=True, packed=pk)
        return run.rows_out(y, batch, pk).T.copy(), (V, batch)

    def _dx(self, residual, db, run=None):
        (V, batch), F = residual, self.circuit.field
        run = run or self._run
        db = _ints_in(F, db, f"the change of {self.name}", self.circuit.n_outputs)
        _check_batch(db, batch, self.name)
        pk = run.packs(batch)
        return run.backward(V, run.rows_in(db.T, pk), packed=pk), batch

    def _dparams(self, dx, batch: int) -> dict:
        F, run = self.circuit.field, self._run
        out, start = {}, 0
        for (n, spec), size in zip(self.params.items(), self.sizes):
            block = dx[start: start + size]
            if F.is_finite and F.degree > 1:
                # sum in the field (no integer lift of GF(p^m) addition)
                s = np.add.reduce(F.galois(run.K.to_ints(block.view(np.ndarray))), axis=1)
                out[n] = np.asarray(s.view(np.ndarray), dtype=np.int64).reshape(spec.shape)
            elif F.is_finite and (F.order - 1) * max(1, batch) >= 2**62:
                # the integer sum would overflow int64: sum exactly and reduce mod p (no lift)
                ints = np.asarray(run.K.to_ints(block.view(np.ndarray)), dtype=object)
                out[n] = np.array([int(v) % F.order for v in ints.sum(axis=1)], dtype=object).reshape(spec.shape)
                if F.order < 2**63:
                    out[n] = out[n].astype(np.int64)
            else:  # over GF(2): the number of examples asking for a flip (popcounts of packed words)
                out[n] = run.row_sums(block, batch, run.packs(batch)).reshape(spec.shape)
            start += size
        return out

    def backward(self, residual, db):
        dx, batch = self._dx(residual, db)
        da = self._run.rows_out(dx[self.n_params:], batch, self._run.packs(batch)).T.copy()
        return self._dparams(dx, batch), da

    def backward_params(self, residual, db):
        return self._dparams(*self._dx(residual, db, self._run_params))

    def output_type(self, dom):
        if self.dom.unify(dom) is None:
            raise CompositionError(f"{self.label()} cannot take input {dom}: its domain is {self.dom}")
        return self.cod

    # -- composition at the level of circuits ------------------------------------------
    def then(self, other):
        if isinstance(other, ParaCircuit):
            return compose_parametric(self, other)
        return super().then(other)

    def as_circuit(self) -> Circuit:
        return self.circuit


def parametric(c: Circuit, params: dict, init: dict | None = None, name: str | None = None,
               derivative: str = "formal", packed: bool | None = None) -> ParaCircuit:
    """``c`` as a parametric lens whose first input wires are the named parameters ``params``
    (``derivative``: ``"formal"`` or ``"functional"``; ``packed``: see :class:`ParaCircuit`)."""
    return ParaCircuit(c, params, init, name, derivative=derivative, packed=packed)


def compose_parametric(f: ParaCircuit, g: ParaCircuit) -> ParaCircuit:
    """``f >> g`` as one parametric circuit: parameters of both (prefixed ``0.``/``1.`` on a clash)."""
    if f.circuit.field != g.circuit.field:
        raise CompositionError(f"cannot compose {f.label()} over {f.circuit.field} with {g.label()} "
                               f"over {g.circuit.field}: two fields in one circuit")
    if f.circuit.n_outputs != g.n_data:
        raise CompositionError(
            f"cannot compose {f.label()} with {g.label()}: {f.circuit.n_outputs} output wires are not "
            f"{g.n_data} input wires")
    clash = set(f.params) & set(g.params)
    pf, pg = ("0.", "1.") if clash else ("", "")
    n = f.n_params + g.n_params + f.n_data
    b = Builder(f.circuit.field, n)
    fin = [np.array([i]) for i in range(f.n_params)] + \
          [np.array([f.n_params + g.n_params + i]) for i in range(f.n_data)]
    fout = np.concatenate([o.reshape(-1) for o in b.inline(f.circuit, fin)]) if f.circuit.n_outputs else []
    gin = [np.array([f.n_params + i]) for i in range(g.n_params)] + [np.array([w]) for w in fout]
    gout = b.inline(g.circuit, gin)
    c = b.build(np.concatenate([o.reshape(-1) for o in gout]) if gout else np.zeros(0, np.int64))
    params = {pf + k: v for k, v in f.params.items()}
    params.update({pg + k: v for k, v in g.params.items()})
    if f.derivative != g.derivative:
        raise CompositionError(f"cannot compose {f.label()} ({f.derivative} derivative) with {g.label()} "
                               f"({g.derivative} derivative) into one circuit")
    return ParaCircuit(c, params, name=f"{f.label()} >> {g.label()}", derivative=f.derivative)
