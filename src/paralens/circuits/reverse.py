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


def reverse(c: Circuit) -> Circuit:
    """``R[c] : A x B -> A`` as a circuit over ``c.field``: inputs ``(x, dy)``, outputs ``dx``."""
    n, m = c.n_inputs, c.n_outputs
    b = Builder(c.field, n + m)
    # the forward circuit, its internal wires shifted past the m change inputs
    remap = np.arange(c.n_wires, dtype=np.int64)
    remap[n:] += m
    for op in c.ops:
        b.ops.append(G_op(op, remap, op.out + m))
    b.n_wires = c.n_wires + m
    n_forward = len(b.ops)

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
