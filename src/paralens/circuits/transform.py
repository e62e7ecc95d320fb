"""Circuit-to-circuit transformations that keep the meaning: bundling and pruning.

* :func:`bundle` merges operations of one generator at one depth into one
  bundled operation (a traced circuit of 1,000 single gates becomes a handful of
  operations), renumbering wires.
* :func:`prune` drops gates that no output depends on.
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.evaluate import RULES as EVALUATE
from paralens.circuits.rules import provide
from paralens.circuits.syntax import Builder, Circuit
from paralens.fields.field import GF


def _op_levels(c: Circuit) -> list[int]:
    wl = np.zeros(c.n_wires, dtype=np.int64)
    levels = []
    for op in c.ops:
        if op.gen is G.CONST:
            lvl = 0
        else:
            lvl = 1 + max((int(wl[a].max()) for a in op.args if len(a)), default=0)
        wl[op.out: op.out + op.n_wires] = lvl
        levels.append(lvl)
    return levels


def _join_elements(F, parts: list) -> np.ndarray:
    """Constants of several ops as one array of the field's exact element dtype.  Each part is
    converted first: ``np.concatenate`` of uint64 and int64 arrays would give float64."""
    return np.concatenate([F.as_elements(p, "constants").reshape(-1) for p in parts]) if parts else \
        F.as_elements(np.zeros(0, dtype=np.int64), "constants")


def bundle(c: Circuit) -> Circuit:
    """The same circuit with the operations of one generator at one depth merged into one."""
    levels = _op_levels(c)
    groups: dict[tuple, list[int]] = {}
    for i, (op, lvl) in enumerate(zip(c.ops, levels)):
        groups.setdefault((lvl, id(op.gen)), []).append(i)
    if len(groups) == len(c.ops):
        return c
    wmap = np.arange(c.n_wires, dtype=np.int64)
    b = Builder(c.field, c.n_inputs)
    for key in sorted(groups, key=lambda k: (k[0], groups[k][0])):
        ops = [c.ops[i] for i in groups[key]]
        gen = ops[0].gen
        args = [np.concatenate([wmap[op.args[j]] for op in ops]) for j in range(gen.n_in)]
        data = None if ops[0].data is None else _join_elements(c.field, [op.data for op in ops])
        outs = b.op(gen, *args, data=data)
        off = 0
        for op in ops:
            for j in range(gen.n_out):
                wmap[op.out + j * op.k: op.out + (j + 1) * op.k] = outs[j][off: off + op.k]
            off += op.k
    return b.build(wmap[c.outputs], name=c.name)


@provide("prune")
def prune(c: Circuit) -> Circuit:
    """Drop every gate whose outputs no output of ``c`` depends on."""
    live = np.zeros(c.n_wires, dtype=bool)
    live[c.outputs] = True
    keep = [None] * len(c.ops)
    for i in range(len(c.ops) - 1, -1, -1):
        op = c.ops[i]
        g = live[op.out: op.out + op.n_wires].reshape(op.gen.n_out, op.k).any(axis=0)
        keep[i] = np.flatnonzero(g)
        for a in op.args:
            live[a[g]] = True
    wmap = np.full(c.n_wires, -1, dtype=np.int64)
    wmap[: c.n_inputs] = np.arange(c.n_inputs)
    b = Builder(c.field, c.n_inputs)
    for op, sel in zip(c.ops, keep):
        if len(sel) == 0:
            continue
        outs = b.op(op.gen, *[wmap[a[sel]] for a in op.args], data=None if op.data is None else op.data[sel])
        for j in range(op.gen.n_out):
            wmap[op.out + j * op.k + sel] = outs[j]
    return b.build(wmap[c.outputs], name=c.name)


def _gf2_fold(gen, vals: list[np.ndarray]):
    """Per gate of a GF(2) bundle: the constant output (0/1), or -1 when not constant.
    ``vals`` are the inputs' constants (-1 where unknown)."""
    known = np.all([v >= 0 for v in vals], axis=0) if vals else np.ones(0, bool)
    out = np.full(len(vals[0]) if vals else 0, -1, dtype=np.int64)
    if gen.n_in == 0 or gen.n_out != 1:
        return out, None
    if known.any():
        K = GF(2).kernel()
        xs = [np.where(v >= 0, v, 0).astype(np.uint8)[known] for v in vals]
        out[known] = EVALUATE.rule(gen)(K, xs, None)[0]
    return out, known


def fold_constants(c: Circuit) -> Circuit:
    """Propagate constants through a GF(2) circuit and simplify: ``x * 0 = 0``, ``x * 1 = x``,
    ``x + 0 = x``, ``x + 1 = not x``, gates with all-constant inputs become constants.
    Other fields are returned unchanged."""
    if not (c.field.is_finite and c.field.is_binary):
        return c
    cval = np.full(c.n_wires, -1, dtype=np.int64)   # known constant value
    new = np.full(c.n_wires, -1, dtype=np.int64)    # wire of the new circuit
    new[: c.n_inputs] = np.arange(c.n_inputs)
    b = Builder(c.field, c.n_inputs)
    consts: dict[int, int] = {}

    def const_wire(v: int) -> int:
        if v not in consts:
            consts[v] = int(b.const([v])[0])
        return consts[v]

    def wires_of(a: np.ndarray) -> np.ndarray:
        w = new[a].copy()
        cv = cval[a]
        for v in (0, 1):
            sel = cv == v
            if sel.any():
                w[sel] = const_wire(v)
        return w

    for op in c.ops:
        outs = np.arange(op.out, op.out + op.n_wires)
        if op.gen is G.CONST:
            cval[outs] = c.field.as_elements(op.data, "constants")
            continue
        vals = [cval[a] for a in op.args]
        folded, _ = _gf2_fold(op.gen, vals)
        rest = np.ones(op.k, dtype=bool) if op.gen.n_out != 1 else folded < 0
        if op.gen.n_out == 1:
            cval[outs[~rest]] = folded[~rest]
        if op.gen in (G.ADD, G.MUL) or getattr(op.gen, "name", "") in ("xor", "and"):
            v0, v1 = vals
            is_add = op.gen is G.ADD or op.gen.name == "xor"
            for this, other in ((v0, op.args[1]), (v1, op.args[0])):
                # exactly one input constant (the all-constant case is folded above)
                sel = rest & (this >= 0)
                if not sel.any():
                    continue
                if is_add:
                    alias = sel & (this == 0)
                    negate = sel & (this == 1)
                else:
                    alias = sel & (this == 1)
                    negate = np.zeros_like(sel)
                    zero = sel & (this == 0)
                    cval[outs[zero]] = 0
                    rest &= ~zero
                src = other
                cval[outs[alias]] = cval[src[alias]]
                new[outs[alias]] = new[src[alias]]
                rest &= ~alias
                if negate.any():
                    idx = np.flatnonzero(negate)
                    new[outs[idx]] = b.op(G.NOT, wires_of(src[idx]))[0]
                    rest &= ~negate
        elif op.gen is G.NEG:
            new[outs[rest]] = wires_of(op.args[0][rest])
            cval[outs[rest]] = cval[op.args[0][rest]]
            continue
        sel = np.flatnonzero(rest)
        if len(sel):
            res = b.op(op.gen, *[wires_of(a[sel]) for a in op.args], data=None if op.data is None else op.data[sel])
            for j in range(op.gen.n_out):
                new[op.out + j * op.k + sel] = res[j]
    return prune(b.build(wires_of(c.outputs), name=c.name))
