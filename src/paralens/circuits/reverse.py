"""The reverse derivative as a circuit transformation: ``reverse(c) = R[c] : A x B -> A``.

Polynomial circuits form a Cartesian reverse derivative category that is closed
under R: the reverse derivative of a circuit is again a circuit over the same
field.  :func:`reverse` builds it by the chain rule (RD.5), one bundled
operation at a time, from each generator's reverse rule:

* ``R[mul]((x, y), d) = (y d, x d)``, ``R[add](_, d) = (d, d)``, ``R[neg](_, d) = -d``,
  ``R[const] = discard``;
* copy (a wire read by several gates) reverses to add: the changes a wire
  receives are summed, pairwise, in ``ceil(log2 fan-out)`` bundled rounds;
* discard (a wire no one reads) reverses to zero;
* a gate reverses by its own rule, or by the reverse of its definition, inlined.

The rules are the table :data:`RULES` (``{generator: rule(b, xs, dys, data) -> dxs}``), read by the one
loop of :func:`reverse` (ops of at most :data:`SMALL` gates run the same rules of ``add``, ``mul`` and
``neg`` and of gates by definition inline, on Python ints); a gate with no rule uses its
``reverse_rule`` if it has one, else the reverse of its definition (:func:`_by_definition`).

The result contains ``c`` itself (its inputs are ``x0 .. x{n-1}`` followed by the
changes ``dy0 .. dy{m-1}``), so the backward part reads the forward values
instead of recomputing them, and ``size(R[c])`` is linear in ``size(c)``.
``rc.n_forward_ops`` is the number of leading operations that are ``c``'s; a
lens runs those in its forward pass and the rest in its backward pass.

The time is linear in ``size(c)`` with a small constant for bundled layers and for circuits
traced gate by gate alike: ops of up to :data:`SMALL` gates (where NumPy calls on tiny index
arrays would cost ~50 us each) are reversed on Python ints, emitting the same rules.

R follows the *formal* derivative of the polynomials, as the CRDC requires:
over GF(2), ``x * x`` (copy, then multiply) is the function ``x`` but its
reverse derivative is ``2 x d = 0``; see :mod:`paralens.circuits.symbolic`.

    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace
    >>> c = trace(GF(5), 2, lambda x, y: [x * y + 2 * x, y * y * y])
    >>> r = reverse(c)
    >>> r.n_inputs, r.n_outputs
    (4, 2)
    >>> r.evaluate([[1, 2, 1, 0]]).tolist()   # (y + 2, x) * dy0 + (0, 3 y^2) * dy1
    [[4, 1]]
"""

from __future__ import annotations

import contextlib
import gc
from bisect import bisect_right

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.rules import Meaning, provide
from paralens.circuits.syntax import Builder, Circuit, Op
from paralens.circuits.transform import prune

SMALL = 16  # ops of at most this many gates are reversed gate by gate on Python ints (see reverse)


class _Adjoints:
    """Pending changes of wires, bucketed by the operation that produced each wire.

    Contributions to the wires of large ops (and of the inputs) are kept as index arrays per op
    (``buckets``, with single ones as ``(dst, src)`` pairs in ``pairs``); contributions to the wires of
    small ops as Python lists per wire (``wires``), so that a circuit of one gate per op pays no NumPy
    call per contribution."""

    def __init__(self, c: Circuit, small=None):
        starts = [op.out for op in c.ops]
        self.starts = np.array(starts, dtype=np.int64)
        self.starts_list = starts
        self.n_inputs = c.n_inputs
        self.buckets: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.pairs: dict[int, list[tuple[int, int]]] = {}
        self.wires: dict[int, list[int]] = {}
        # per wire of c: 1 where its changes are summed by `take` (inputs, wires of large ops)
        vector = np.ones(c.n_wires, dtype=np.uint8)
        if small is not None and any(small):
            sel = np.flatnonzero(small)
            lo = self.starts[sel]
            size = np.array([c.ops[i].n_wires for i in sel.tolist()], dtype=np.int64)
            first = np.repeat(lo - np.concatenate([[0], np.cumsum(size)[:-1]]), size)
            vector[first + np.arange(int(size.sum()), dtype=np.int64)] = 0
        self.vector = bytearray(vector.tobytes())

    def add(self, dst: np.ndarray, src: np.ndarray) -> None:
        """Record ``src`` (change wires of R[c]) as contributions to the changes of ``dst`` (wires of c)."""
        if len(dst) == 0:
            return
        if len(dst) <= 4:
            for d, s in zip(dst.tolist(), src.tolist()):
                self.add_one(d, s)
            return
        owner = np.searchsorted(self.starts, dst, side="right") - 1  # -1: an input wire
        if len(owner) and owner.min() == owner.max():
            self.buckets.setdefault(int(owner[0]), []).append((dst, src))
            return
        order = np.argsort(owner, kind="stable")
        owner, dst, src = owner[order], dst[order], src[order]
        cut = np.flatnonzero(np.diff(owner)) + 1
        for o, d, s in zip(np.split(owner, cut), np.split(dst, cut), np.split(src, cut)):
            self.buckets.setdefault(int(o[0]), []).append((d, s))

    def add_one(self, dst: int, src: int) -> None:
        """One contribution, as Python ints."""
        if self.vector[dst]:
            owner = bisect_right(self.starts_list, dst) - 1
            lst = self.pairs.get(owner)
            if lst is None:
                self.pairs[owner] = [(dst, src)]
            else:
                lst.append((dst, src))
            return
        lst = self.wires.get(dst)
        if lst is None:
            self.wires[dst] = [src]
        else:
            lst.append(src)

    def discard(self, owner: int, start: int, size: int) -> None:
        self.buckets.pop(owner, None)
        self.pairs.pop(owner, None)
        if not self.vector[start]:
            for w in range(start, start + size):
                self.wires.pop(w, None)

    def take(self, owner: int, start: int, size: int, b: Builder) -> np.ndarray:
        """The summed change of wires ``start .. start + size - 1`` (-1 where none arrived)."""
        chunks = self.buckets.pop(owner, None)
        pairs = self.pairs.pop(owner, None)
        if pairs:
            chunks = (chunks or []) + [tuple(np.array(v, dtype=np.int64) for v in zip(*pairs))]
        adj = np.full(size, -1, dtype=np.int64)
        if not chunks:
            return adj
        dst = np.concatenate([d for d, _ in chunks]) - start
        src = np.concatenate([s for _, s in chunks])
        order = np.argsort(dst, kind="stable")
        dst, src = dst[order], src[order]
        while True:
            # rank of each entry within its group of equal dst
            first = np.ones(len(dst), dtype=bool)
            first[1:] = dst[1:] != dst[:-1]
            group_start = np.maximum.accumulate(np.where(first, np.arange(len(dst)), 0))
            rank = np.arange(len(dst)) - group_start
            has_partner = np.zeros(len(dst), dtype=bool)
            has_partner[:-1] = (rank[:-1] % 2 == 0) & (dst[1:] == dst[:-1])
            if not has_partner.any():
                break
            left = np.flatnonzero(has_partner)
            summed = b.add(src[left], src[left + 1])  # R[copy] = add, one bundle per round
            keep = (rank % 2 == 0)
            src = src.copy()
            src[left] = summed
            dst, src = dst[keep], src[keep]
        adj[dst] = src
        return adj

    def take_small(self, owner: int, start: int, size: int, b: Builder):
        """:meth:`take` for a small op, in Python ints: a list of the summed changes of its wires (None
        where none arrived), or None when none did; the same pairwise rounds, one bundled ``add`` each."""
        wires = self.wires
        if size == 1:
            srcs = wires.pop(start, None)
            if owner not in self.buckets:  # the common case: one wire, summed in rounds
                if srcs is None:
                    return None
                while len(srcs) > 1:
                    h = len(srcs) // 2
                    out = _emit2(b, G.ADD, srcs[0: 2 * h: 2], srcs[1: 2 * h: 2])
                    srcs = list(range(out, out + h)) + srcs[2 * h:]
                return srcs
            groups = None if srcs is None else {0: srcs}
        else:
            groups = {}
            for i in range(size):
                srcs = wires.pop(start + i, None)
                if srcs is not None:
                    groups[i] = srcs
        if owner in self.buckets:  # a large op read this one's wires: sum them all with arrays
            for i, srcs in (groups or {}).items():
                self.pairs.setdefault(owner, []).extend((start + i, s) for s in srcs)
            return [v if v >= 0 else None for v in self.take(owner, start, size, b).tolist()]
        if not groups:
            return None
        while True:
            lefts, rights = [], []
            for srcs in groups.values():
                if len(srcs) > 1:
                    lefts += srcs[0: len(srcs) - 1: 2]
                    rights += srcs[1::2]
            if not lefts:
                break
            out = _emit2(b, G.ADD, lefts, rights)  # R[copy] = add, one bundle per round
            for i, srcs in groups.items():
                h = len(srcs) // 2
                if h:
                    groups[i] = list(range(out, out + h)) + srcs[2 * h:]
                    out += h
        if size == 1:
            return [groups[0][0]]
        res = [None] * size
        for i, srcs in groups.items():
            res[i] = srcs[0]
        return res


def _emit2(b: Builder, gen, xs: list, ys: list) -> int:
    """Append one op of the two-input ``gen`` on wire lists ``xs``, ``ys`` (Python ints, known to exist),
    without :meth:`Builder.op`'s checks; returns its first output wire."""
    out = b.n_wires
    k = len(xs)
    b.ops.append(Op(gen, (np.array(xs), np.array(ys)), out, k, None))
    b.n_wires = out + k * gen.n_out
    return out


def _emit(b: Builder, gen, args, data=None) -> int:
    """:func:`_emit2` for any generator: ``args`` is one list of wires per input port; returns the first
    output wire (port ``j`` of gate ``i`` is ``out + j * k + i``)."""
    k = len(args[0]) if args else len(data)
    out = b.n_wires
    b.ops.append(Op(gen, tuple(np.array(a, dtype=np.int64) for a in args), out, k, data))
    b.n_wires = out + k * gen.n_out
    return out


_FLAT: dict[int, tuple] = {}  # id(circuit) -> (circuit, its ops on Python lists, its outputs)


def _inline_small(b: Builder, d: Circuit, inputs: list[int]) -> list[int]:
    """:meth:`Builder.inline` of one copy of ``d`` on Python ints (one op per op of ``d``)."""
    hit = _FLAT.get(id(d))
    if hit is None or hit[0] is not d:
        hit = _FLAT[id(d)] = (d, [(op.gen, [a.tolist() for a in op.args], op.out, op.k, op.data) for op in d.ops],
                              d.outputs.tolist())
    m = dict(enumerate(inputs))
    for gen, args, out, k, data in hit[1]:
        o = _emit(b, gen, [[m[w] for w in a] for a in args], data)
        for j in range(k * gen.n_out):
            m[out + j] = o + j
    return [m[w] for w in hit[2]]


def reverse_definition(gate: G.Gate, field) -> Circuit:
    """``reverse(definition)``: the circuit R[gate] is inlined from (cached per field on the gate).

    Pruned: R[definition] starts with a copy of the definition, whose values the backward part
    mostly does not read; inlined unpruned, every gate would recompute them as dead gates."""
    key = ("R", field)
    d = gate._definitions.get(key)
    if d is None:
        d = gate._definitions[key] = prune(reverse(gate.definition(field)))
    return d


def _by_definition(gate: G.Gate):
    """The reverse rule of a gate with none in :data:`RULES`: its ``reverse_rule`` (unless that returns
    ``NotImplemented``), else the reverse of its definition, inlined."""
    def rule(b, xs, dys, data):
        if gate.reverse_rule is not None:
            r = gate.reverse_rule(b, xs, dys)
            if r is not NotImplemented:
                return r
        return b.inline(reverse_definition(gate, b.field), list(xs) + list(dys))
    return rule


#: the reverse derivative: ``RULES[gen](b, xs, dys, data)`` emits R of a bundle into builder ``b`` from
#: the wires ``xs`` (inputs) and ``dys`` (changes of outputs); returns the changes of the inputs
#: (wire arrays, or None for zero)
RULES = Meaning("reverse", _by_definition)
RULES[G.ADD] = lambda b, xs, dys, data: [dys[0], dys[0]]                              # R[add] = copy
RULES[G.MUL] = lambda b, xs, dys, data: [b.mul(xs[1], dys[0]), b.mul(xs[0], dys[0])]
RULES[G.NEG] = lambda b, xs, dys, data: [dys[0]] if b.field.characteristic == 2 else [b.neg(dys[0])]
RULES[G.CONST] = lambda b, xs, dys, data: []                                            # R[const] = discard


def _scalar_rule(gen) -> bool:
    """Whether :func:`_reverse_small` runs ``gen``'s reverse rule inline (else the bundled path runs it):
    the rules of add, mul and neg, and gates by definition (no rule of their own, no ``reverse_rule``)."""
    if gen is G.ADD or gen is G.MUL or gen is G.NEG:
        return True
    return isinstance(gen, G.Gate) and gen.reverse_rule is None and not RULES.has_rule(gen)


def _reverse_small(b: Builder, adj: _Adjoints, idx: int, op, n: int, m: int, char2: bool) -> None:
    """The reverse of a small op (at most :data:`SMALL` gates), gate by gate on Python ints: the
    generators' own rules (``R[add] = copy``, ``R[mul] = (y d, x d)``, ``R[neg] = -d``, a gate by its
    reverse definition, inlined), without a NumPy call per contribution."""
    gen, k = op.gen, op.k
    d = adj.take_small(idx, op.out, op.n_wires, b)
    if d is None:
        return
    args = [a.tolist() for a in op.args]
    n_out = gen.n_out
    add_one = adj.add_one
    for i in range(k):
        if n_out == 1:
            dy = d[i]
            if dy is None:
                continue
            dys = [dy]
        else:
            dys = [d[j * k + i] for j in range(n_out)]
            if all(v is None for v in dys):
                continue
            if any(v is None for v in dys):
                z = b.zero_wire()
                dys = [z if v is None else v for v in dys]
            dy = dys[0]
        if gen is G.ADD:
            add_one(args[0][i], dy)
            add_one(args[1][i], dy)
        elif gen is G.MUL:
            x0, x1 = args[0][i], args[1][i]
            o = _emit2(b, G.MUL, [x1 if x1 < n else x1 + m, x0 if x0 < n else x0 + m], [dy, dy])
            add_one(x0, o)
            add_one(x1, o + 1)
        elif gen is G.NEG:
            add_one(args[0][i], dy if char2 else _emit(b, G.NEG, ([dy],)))
        else:
            xs = [a[i] for a in args]
            dxs = _inline_small(b, reverse_definition(gen, b.field), [w if w < n else w + m for w in xs] + dys)
            for w, dx in zip(xs, dxs):
                add_one(w, dx)


def _with_forward(c: Circuit):
    """A builder over inputs ``(x, dy)`` holding ``c``'s forward ops, its internal wires shifted past
    the ``m`` change inputs; returns ``(builder, remap of c's wires, number of forward ops)``."""
    n, m = c.n_inputs, c.n_outputs
    b = Builder(c.field, n + m)
    remap = np.arange(c.n_wires, dtype=np.int64)
    remap[n:] += m
    for op in c.ops:
        b.ops.append(G_op(op, remap, op.out + m))
    b.n_wires = c.n_wires + m
    return b, remap, len(b.ops)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while a large circuit is built: every object made is live
    and acyclic, so its collections (about a third of the time of a 200,000-op reverse) find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@provide("reverse")
def reverse(c: Circuit) -> Circuit:
    """``R[c] : A x B -> A`` as a circuit over ``c.field``: inputs ``(x, dy)``, outputs ``dx``.

    Ops of up to :data:`SMALL` gates (a circuit traced gate by gate, where nothing bundles) are reversed
    gate by gate on Python ints, larger ones bundle by bundle on index arrays; both emit the same rules,
    so the cost is linear in the size of ``c`` with a small constant either way."""
    if len(c.ops) > 1000:
        with _gc_paused():
            return _reverse(c)
    return _reverse(c)


def _reverse(c: Circuit) -> Circuit:
    n, m = c.n_inputs, c.n_outputs
    b, remap, n_forward = _with_forward(c)

    small = [op.k <= SMALL and (op.gen is G.CONST or _scalar_rule(op.gen)) for op in c.ops]
    adj = _Adjoints(c, small)
    adj.add(c.outputs, np.arange(n, n + m, dtype=np.int64))
    char2 = c.field.is_finite and c.field.characteristic == 2
    rule = RULES.rule
    for idx in range(len(c.ops) - 1, -1, -1):
        op = c.ops[idx]
        if op.gen is G.CONST:
            adj.discard(idx, op.out, op.n_wires)  # R[const] = discard
            continue
        if small[idx]:
            _reverse_small(b, adj, idx, op, n, m, char2)
            continue
        d = adj.take(idx, op.out, op.n_wires, b)
        if (d < 0).all():
            continue
        d = d.reshape(op.gen.n_out, op.k)
        live = np.flatnonzero((d >= 0).any(axis=0))  # gates whose outputs receive a change
        if op.gen.n_out > 1 and (d[:, live] < 0).any():
            z = b.zero_wire()
            d = np.where(d < 0, z, d)
        xs = [remap[a[live]] for a in op.args]
        dys = [d[j, live] for j in range(op.gen.n_out)]
        data = None if op.data is None else op.data[live]
        dxs = rule(op.gen)(b, xs, dys, data)
        for a, dx in zip(op.args, dxs):
            if dx is None:
                continue
            adj.add(a[live], np.asarray(dx, dtype=np.int64))
    dx = adj.take(-1, 0, n, b)
    if (dx < 0).any():
        dx = np.where(dx < 0, b.zero_wire(), dx)
    rc = b.build(dx, name=None if c.name is None else f"R[{c.name}]")
    rc.n_forward_ops = n_forward
    return rc


def G_op(op, remap: np.ndarray, out: int):
    """``op`` with its argument wires renumbered by ``remap`` and its outputs starting at ``out``."""
    return Op(op.gen, tuple(remap[a] for a in op.args), out, op.k, op.data)


# -- the functional (Boolean-difference) reverse derivative ------------------------------------------


def boolean_difference_reverse(c: Circuit, wrt=None, *, shared: bool = True) -> Circuit:
    """``R_f[c] : A x B -> A`` over GF(2): ``dx_i = sum_j dy_j (f_j(x) + f_j(x + e_i))``, as a circuit.

    This is the reverse derivative of the *functional* (multilinear) polynomial of ``c``, the
    one :func:`~paralens.circuits.symbolic.functional_reduce` gives: for ``f = x_i g + h`` with
    ``g, h`` free of ``x_i``, ``f(x + e_i) + f(x) = g = d f / d x_i``.  It is what the RDA
    library computes by brute force (its ``rdiffB``: one extra forward pass per input), and it
    differs from :func:`reverse` (the formal derivative of the circuit's own polynomial) on
    circuits that are not multilinear, such as adder trees and comparators.  Being the formal
    reverse derivative of another polynomial (the multilinear one), it satisfies the CRDC laws
    *for that polynomial*; it does not satisfy the chain rule with respect to ``c``'s syntax
    (``R_f[g . f]`` is the Boolean difference of the composite, not ``R_f[f] . R_f[g]``).

    The circuit takes ``(x, dy)`` and returns ``dx``, like :func:`reverse`.  It starts with
    ``c``'s forward operations laid out exactly as in :func:`reverse` (so ``rc.n_forward_ops``
    splits it the same way for a lens), then evaluates ``c`` again on ``x + e_i`` for every
    ``i`` in ``wrt``, all copies bundled: one operation per operation of ``c``.

    Args:
      c: a circuit over GF(2).
      wrt: the inputs to differentiate (default: all); the others get the change 0.  A
        parametric lens only needs the parameters' changes.
      shared: ``True`` (default) recomputes in copy ``i`` only the gates that depend on input
        ``i`` (the fan-out cone of ``i``), reading every other gate's value from the forward
        pass: the same function, ``sum_i |cone(i)|`` gates instead of ``n |c|``.  ``False``
        inlines ``len(wrt)`` whole copies of ``c`` (:meth:`Builder.inline`), which costs
        ``n_inputs`` forward passes like the brute-force definition.
    """
    F = c.field
    if not (F.is_finite and F.order == 2):
        raise ValueError(f"boolean_difference_reverse: Boolean differences are defined over GF(2), "
                         f"not {F.name}")
    n, m = c.n_inputs, c.n_outputs
    wrt = np.arange(n, dtype=np.int64) if wrt is None else np.unique(np.asarray(wrt, dtype=np.int64).reshape(-1))
    if len(wrt) and (wrt.min() < 0 or wrt.max() >= n):
        raise ValueError(f"boolean_difference_reverse: wrt names input {int(wrt.max())}, but {c.label()} "
                         f"has {n} inputs")
    Q = len(wrt)
    b, remap, n_forward = _with_forward(c)
    fwd_out = remap[c.outputs]  # f(x), read from the forward pass
    flipped = b.op(G.BOOLEAN_GATES["not"], wrt)[0] if Q else np.zeros(0, np.int64)  # x_i + 1

    if shared:
        q_of, val_of = _cone_copies(b, c, remap, wrt, flipped)  # per output j: copies q, wires f_j(x + e_wrt[q])
    else:
        q_of, val_of = [], []
        if Q:
            blocks = [np.full(Q, i, dtype=np.int64) for i in range(n)]
            for q, i in enumerate(wrt):
                blocks[i] = blocks[i].copy()
                blocks[i][q] = flipped[q]
            outs = b.inline(c, blocks)
            for j in range(m):
                q_of.append(np.arange(Q, dtype=np.int64))
                val_of.append(outs[j].reshape(-1))
    dx = np.full(n, -1, dtype=np.int64)
    qs = np.concatenate(q_of) if q_of else np.zeros(0, np.int64)
    if len(qs):
        js = np.concatenate([np.full(len(q), j, dtype=np.int64) for j, q in enumerate(q_of)])
        vals = np.concatenate(val_of)
        diff = b.add(vals, fwd_out[js])  # f_j(x + e_i) + f_j(x)
        prods = b.mul(diff, n + js)  # times dy_j
        adj = _Adjoints(Circuit(F, n, (), np.zeros(0, np.int64)))
        adj.add(wrt[qs], prods)
        dx = adj.take(-1, 0, n, b)  # the sum over j, per input
    if (dx < 0).any():
        dx = np.where(dx < 0, b.zero_wire(), dx)
    rc = b.build(dx, name=None if c.name is None else f"Rf[{c.name}]")
    rc.n_forward_ops = n_forward
    return rc


def _ranges(keys: np.ndarray, lo_keys: np.ndarray, hi_keys: np.ndarray):
    """For each i, the positions of ``keys`` (sorted) in ``[lo_keys[i], hi_keys[i])``: (owner i, position)."""
    lo = np.searchsorted(keys, lo_keys)
    hi = np.searchsorted(keys, hi_keys)
    counts = hi - lo
    owner = np.repeat(np.arange(len(lo_keys), dtype=np.int64), counts)
    start = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) if len(counts) else lo
    pos = start + np.arange(int(counts.sum()), dtype=np.int64)
    return owner, pos


def _cone_copies(b: Builder, c: Circuit, remap: np.ndarray, wrt: np.ndarray, flipped: np.ndarray):
    """Emit ``c`` on ``x + e_wrt[q]`` for every copy ``q``, recomputing only the gates in input ``wrt[q]``'s
    fan-out cone (one bundled op per op of ``c``); returns, per output ``j``, the copies where output ``j``
    depends on the flipped input and the wires of its value there.

    Sparse map from (wire of ``c``, copy) to wire of the result, keyed ``wire * Q + q`` in a sorted buffer:
    every op appends larger keys than those before it, so the buffer stays sorted."""
    Q = len(wrt)
    keys = np.empty(max(16, 2 * Q), dtype=np.int64)
    vals = np.empty_like(keys)
    size = 0

    def append(k, v):
        nonlocal keys, vals, size
        if size + len(k) > len(keys):
            cap = max(2 * len(keys), size + len(k))
            keys = np.resize(keys, cap)
            vals = np.resize(vals, cap)
        keys[size: size + len(k)] = k
        vals[size: size + len(k)] = v
        size += len(k)

    append(wrt * Q + np.arange(Q, dtype=np.int64), flipped)  # input wrt[q], flipped in copy q

    def lookup(w, q):
        """Wires of (wire w of c, copy q): the copy's own gate where there is one, else the forward value."""
        k = w * Q + q
        pos = np.searchsorted(keys[:size], k)
        pos_c = np.minimum(pos, size - 1)
        found = (pos < size) & (keys[pos_c] == k)
        return np.where(found, vals[pos_c], remap[w])

    for op in c.ops:
        if op.gen is G.CONST or not op.args:
            continue
        pairs = []
        for a in op.args:
            owner, pos = _ranges(keys[:size], a * Q, a * Q + Q)
            if len(owner):
                pairs.append(owner * Q + (keys[pos] - a[owner] * Q))
        if not pairs:
            continue
        gq = np.unique(np.concatenate(pairs))  # (gate, copy), sorted by gate then copy
        g, q = gq // Q, gq % Q
        args = [lookup(a[g], q) for a in op.args]
        outs = b.op(op.gen, *args, data=None if op.data is None else op.data[g])
        for j, o in enumerate(outs):
            append((op.out + j * op.k + g) * Q + q, o)

    q_of, val_of = [], []
    for o in c.outputs:
        owner, pos = _ranges(keys[:size], np.array([o * Q]), np.array([o * Q + Q]))
        q_of.append(keys[pos] - o * Q)
        val_of.append(vals[pos])
    return q_of, val_of
