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

The result contains ``c`` itself (its inputs are ``x0 .. x{n-1}`` followed by the
changes ``dy0 .. dy{m-1}``), so the backward part reads the forward values
instead of recomputing them, and ``size(R[c])`` is linear in ``size(c)``.
``rc.n_forward_ops`` is the number of leading operations that are ``c``'s; a
lens runs those in its forward pass and the rest in its backward pass.

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

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder, Circuit


class _Adjoints:
    """Pending changes of wires, bucketed by the operation that produced each wire."""

    def __init__(self, c: Circuit):
        self.starts = np.array([op.out for op in c.ops], dtype=np.int64)
        self.n_inputs = c.n_inputs
        self.buckets: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(self, dst: np.ndarray, src: np.ndarray) -> None:
        """Record ``src`` (change wires of R[c]) as contributions to the changes of ``dst`` (wires of c)."""
        if len(dst) == 0:
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

    def take(self, owner: int, start: int, size: int, b: Builder) -> np.ndarray:
        """The summed change of wires ``start .. start + size - 1`` (-1 where none arrived)."""
        chunks = self.buckets.pop(owner, None)
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


def reverse(c: Circuit) -> Circuit:
    """``R[c] : A x B -> A`` as a circuit over ``c.field``: inputs ``(x, dy)``, outputs ``dx``."""
    n, m = c.n_inputs, c.n_outputs
    b, remap, n_forward = _with_forward(c)

    adj = _Adjoints(c)
    adj.add(c.outputs, np.arange(n, n + m, dtype=np.int64))
    for idx in range(len(c.ops) - 1, -1, -1):
        op = c.ops[idx]
        if op.gen is G.CONST:
            adj.buckets.pop(idx, None)  # R[const] = discard
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
        dxs = op.gen.reverse(b, xs, dys, data)
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
    from paralens.circuits.syntax import Op

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
