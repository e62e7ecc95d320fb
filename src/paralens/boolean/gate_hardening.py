"""Hardening a gate network: each gate its argmax function, the network one GF(2) circuit.

Pass 1 (:func:`fold_layers`) folds constants, pass-throughs and degenerate gates into literals
(:func:`paralens.boolean.folding.fold_binary`, layer by layer); pass 2 (:func:`_polarities`) picks
a polarity per gate so that few NOTs are needed; :func:`harden` emits one bundled operation per
(layer, gate kind).
"""

from __future__ import annotations

import numpy as np

from paralens.boolean.folding import fold_binary
from paralens.boolean.gate_network import GateNetwork
from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder, Circuit
from paralens.circuits.truth import BUILTIN_CODES, FLIP_A, FLIP_B, XOR_FAMILY
from paralens.circuits.truth import code as table_code
from paralens.errors import ShapeError
from paralens.fields.field import GF

# the six named two-input gates, by code, in the order they are emitted (and, nand, or, nor, xor, xnor)
_NAMED = BUILTIN_CODES


def fold_layers(n_inputs: int, hard: list):
    """Pass 1 of :func:`harden`: constants, pass-throughs and degenerate gates folded into literals.

    Nodes are the inputs (``0 .. n_inputs - 1``) and the gates that stay binary (numbered on).
    Returns ``(bin_u, bin_v, bin_T, bin_layer, out_node, out_neg)``: each binary node's two source
    nodes, its truth table over their values and its layer; the last layer's literals (node, negated),
    node ``-1`` a constant whose value is ``out_neg``.  ``hard``: the hardened layers, a list of
    :class:`~paralens.boolean.gate_layers.HardGates` (:meth:`~paralens.boolean.gate_network.GateNetwork.hard_gates`).
    """
    node = np.arange(n_inputs, dtype=np.int64)
    neg = np.zeros(n_inputs, dtype=np.int64)
    n_nodes = n_inputs
    us, vs, Ts, layers = [], [], [], []
    for li, layer in enumerate(hard):
        if layer.n_in != len(node):
            raise ShapeError(f"fold_layers: hardened layer {li} reads {layer.n_in} wires, the one before gives {len(node)}")
        wa, wb = node[layer.ia], node[layer.ib]
        eff, binary, new_node, new_neg = fold_binary(layer.codes, wa, neg[layer.ia], wb, neg[layer.ib])
        g = np.flatnonzero(binary)
        new_node[g] = n_nodes + np.arange(len(g))
        new_neg[g] = 0
        n_nodes += len(g)
        us.append(wa[g])
        vs.append(wb[g])
        Ts.append(eff[g])
        layers.append(np.full(len(g), li))
        node, neg = new_node, new_neg
    cat = lambda parts, shape: np.concatenate(parts) if parts else np.zeros(shape, np.int64)
    return (cat(us, 0), cat(vs, 0), cat(Ts, (0, 4)).reshape(-1, 4), cat(layers, 0), node, neg)


def _polarities(n_inputs, bin_u, bin_v, bin_T, out_node, out_neg, rng, rounds: int = 60) -> np.ndarray:
    """Pass 2: a polarity per node (1: emit the complement gate, e.g. ``nand`` for ``and``), chosen by local
    search so that few AND-type gates see their inputs with the wrong relative polarity (an implication
    such as ``a and not b``, which needs a NOT) and few outputs come out negated.  Inputs keep polarity 0."""
    n_nodes = n_inputs + len(bin_u)
    pi = np.zeros(n_nodes, dtype=np.int64)
    andlike = ~np.isin(table_code(bin_T), XOR_FAMILY)
    U, V = bin_u[andlike], bin_v[andlike]
    D = (~np.isin(table_code(bin_T[andlike]), list(_NAMED))).astype(np.int64)  # 1: an implication at polarity 0
    lit = out_node >= 0
    O, ON = out_node[lit], out_neg[lit]
    free = np.zeros(n_nodes, dtype=bool)
    free[n_inputs:] = True

    def violations(p):
        return ((p[U] ^ p[V]) != D), (p[O] != ON)

    ve, vo = violations(pi)
    best, best_cost = pi.copy(), int(ve.sum() + vo.sum())
    for _ in range(rounds):
        s = np.where(ve, 1, -1)
        gain = np.bincount(U, s, n_nodes) + np.bincount(V, s, n_nodes) + np.bincount(O, np.where(vo, 1, -1), n_nodes)
        cand = free & (gain > 0) & (rng.random(n_nodes) < 0.5)
        if not cand.any():
            if not (free & (gain > 0)).any():
                break
            continue
        pi = pi ^ cand
        ve, vo = violations(pi)
        cost = int(ve.sum() + vo.sum())
        if cost < best_cost:
            best, best_cost = pi.copy(), cost
    return best


def harden(params: dict, network: GateNetwork, *, prune: bool = True, name: str | None = None,
           polarity: bool = True) -> Circuit:
    """The hardened network as one GF(2) circuit: each gate its argmax function.

    ``n_inputs`` inputs (the encoder's bits), ``widths[-1]`` outputs (the last layer's bits, for
    :class:`~paralens.boolean.encoders.GroupSumDecoder`).  Per layer: one ``not`` operation (the negated
    wires its gates need, shared), then one operation per named gate (``and``, ``or``, ``xor``, ``nand``,
    ``nor``, ``xnor``).  Constants and pass-throughs become wiring (``false``, ``true``, ``a``, ``b``, a
    gate whose inputs are constants or one wire, are folded into its consumers, as are the learned
    ``not a`` / ``not b``); with ``polarity`` each gate may be emitted as its complement (``nand`` for
    ``and``, ...) where that saves the NOT an implication (``a and not b``, ...) needs; ``prune`` drops
    gates no output depends on.  Equal to :meth:`GateNetwork.predict_bits` on every input.
    """
    F = GF(2)
    hard = network.hard_gates(params)
    bin_u, bin_v, bin_T, bin_layer, out_node, out_neg = fold_layers(network.n_inputs, hard)
    n_in = network.n_inputs
    n_nodes = n_in + len(bin_u)
    if polarity:
        pi = _polarities(n_in, bin_u, bin_v, bin_T, out_node, out_neg,
                         np.random.default_rng(np.random.SeedSequence([network.seed, 13])))
    else:
        pi = np.zeros(n_nodes, dtype=np.int64)
    # which input of each binary gate is fed negated (one NOT per node, shared by its consumers)
    sig_u, sig_v = pi[bin_u], pi[bin_v]
    T_emit = bin_T[np.arange(len(bin_T))[:, None], 2 * ((np.arange(4) // 2)[None, :] ^ sig_u[:, None])
                   + ((np.arange(4) % 2)[None, :] ^ sig_v[:, None])]
    bad = ~np.isin(table_code(T_emit), list(_NAMED))
    demand = np.bincount(bin_u[bad], minlength=n_nodes) + np.bincount(bin_v[bad], minlength=n_nodes)
    neg_u = bad & (demand[bin_u] >= demand[bin_v])
    neg_v = bad & ~neg_u
    T_emit = np.where(neg_u[:, None], T_emit[:, FLIP_A], T_emit)
    T_emit = np.where(neg_v[:, None], T_emit[:, FLIP_B], T_emit)
    own = pi[n_in:]
    T_emit = T_emit ^ own[:, None]  # a node of polarity 1 is emitted as its complement
    codes = table_code(T_emit)
    if len(codes) and not np.isin(codes, list(_NAMED)).all():  # pragma: no cover - by construction
        raise AssertionError("harden: a gate is left without a named form")
    b = Builder(F, n_in)
    wire = np.full(n_nodes, -1, dtype=np.int64)  # the emitted wire of each node (its value xor its polarity)
    wire[:n_in] = np.arange(n_in)
    not_wire = np.full(n_nodes, -1, dtype=np.int64)

    def nots(nodes):
        nodes = np.unique(nodes[not_wire[nodes] < 0])
        if len(nodes):
            not_wire[nodes] = b.op(G.NOT, wire[nodes])[0]

    for li in range(len(hard)):
        g = np.flatnonzero(bin_layer == li)
        if not len(g):
            continue
        nots(np.concatenate([bin_u[g][neg_u[g]], bin_v[g][neg_v[g]]]))
        a_in = np.where(neg_u[g], not_wire[bin_u[g]], wire[bin_u[g]])
        b_in = np.where(neg_v[g], not_wire[bin_v[g]], wire[bin_v[g]])
        for code, gname in _NAMED.items():
            sel = np.flatnonzero(codes[g] == code)
            if len(sel):
                wire[n_in + g[sel]] = b.op(G.BOOLEAN_GATES[gname], a_in[sel], b_in[sel])[0]
    # outputs: the node's wire, its NOT where the literal's negation and the node's polarity differ, constants
    out = np.zeros(len(out_node), dtype=np.int64)
    lit = out_node >= 0
    flip = np.zeros(len(out_node), dtype=bool)
    flip[lit] = (out_neg[lit] ^ pi[out_node[lit]]) == 1
    if flip.any():
        nots(out_node[flip])
    out[lit & ~flip] = wire[out_node[lit & ~flip]]
    out[flip] = not_wire[out_node[flip]]
    for v in (0, 1):
        sel = ~lit & (out_neg == v)
        if sel.any():
            out[sel] = b.const([v])[0]
    c = b.build(out, name=name or f"gatenet[{network.n_inputs}->{len(out)}]")
    return c.prune() if prune else c


__all__ = ["fold_layers", "harden"]
