"""Circuit-to-circuit transformations that keep the meaning: bundling and pruning.

* :func:`bundle` merges operations of one generator at one depth into one
  bundled operation (a traced circuit of 1,000 single gates becomes a handful of
  operations), renumbering wires.
* :func:`prune` drops gates that no output depends on.
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder, Circuit


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
        data = None if ops[0].data is None else np.concatenate([op.data for op in ops])
        outs = b.op(gen, *args, data=data)
        off = 0
        for op in ops:
            for j in range(gen.n_out):
                wmap[op.out + j * op.k: op.out + (j + 1) * op.k] = outs[j][off: off + op.k]
            off += op.k
    return b.build(wmap[c.outputs], name=c.name)


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
