"""Learned connections: a gate layer whose input wiring is learned with its gates.

After the learned-connection logic networks (Mommen et al., arXiv 2507.06173; LILogicNet, arXiv
2511.12340): each gate of a :class:`ConnectionLayer` has, for each of its two inputs, ``candidates``
wires of the layer before (drawn once, seeded) and learned logits over them.  In the relaxed network
an input is the softmax-weighted mixture of its candidates, and the gate the softmax mixture of the
sixteen functions (:class:`~paralens.boolean.gate_layers.GateLayer`'s rule, shared); hardened, each
input is its argmax candidate and the gate its argmax function, so the layer becomes fixed-wire gates
(:class:`~paralens.boolean.gate_layers.HardGates`) and is exported, simulated and checked like every
other layer.  With ``straight_through`` the forward pass takes the argmax wires and gates, and the
reverse pass is the relaxed one's.

:func:`connections_network` stacks such layers under the group-sum head.
"""

from __future__ import annotations

import numpy as np

from paralens.backend import backend_of
from paralens.boolean.gate_layers import GateLayer, HardGates, _rows, _softmax, gate_init, one_hot_argmax
from paralens.boolean.gate_wiring import gather_table, reverse_gather
from paralens.categories.para import ParamSpec
from paralens.errors import CompositionError, ParameterError, ShapeError


def candidate_wires(n_in: int, n_out: int, candidates: int, rng: np.random.Generator, inputs=None) -> np.ndarray:
    """``(n_out, candidates)`` distinct wires per row, drawn uniformly from ``inputs`` (default all ``n_in``),
    every wire among someone's candidates where ``n_out * candidates`` allows (a shuffled cycle of the wires)."""
    pool = np.arange(n_in) if inputs is None else np.unique(np.asarray(inputs, dtype=np.int64))
    if len(pool) == 0 or pool.min() < 0 or pool.max() >= n_in:
        raise CompositionError(f"candidate_wires: inputs must be wires of 0..{n_in - 1}")
    if candidates < 1 or candidates > len(pool):
        raise ValueError(f"candidate_wires: candidates must be 1..{len(pool)} (the wires to choose from), got {candidates}")
    rows = np.empty((n_out, candidates), dtype=np.int64)
    stream = np.concatenate([rng.permutation(pool) for _ in range(-(-n_out * candidates // len(pool)) + 1)])
    at = 0
    for g in range(n_out):  # the next `candidates` distinct wires of the stream
        row = []
        while len(row) < candidates:
            w = stream[at % len(stream)]
            at += 1
            if w not in row:
                row.append(w)
        rows[g] = row
    return rows


def wire_init(scale: float = 0.1):
    """An initialiser of ``(n_out, candidates)`` wire logits: ``scale * N(0, 1)`` (near-uniform mixtures)."""

    def init(rng, shape, dtype):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    init.__name__ = "wire_init"
    return init


class ConnectionLayer(GateLayer):
    """``n_out`` relaxed two-input gates whose input wires are learned among ``candidates`` per input.

    Parameters: ``logits`` ``(n_out, 16)`` (the gate, as in :class:`GateLayer`) and ``wires_a``, ``wires_b``
    ``(n_out, candidates)`` (softmax weights ``s`` over the candidate wires ``ca``, ``cb``).  Gate ``g``
    reads ``a = sum_j s_a[g, j] x[ca[g, j]]`` (likewise ``b``) and computes ``a0 + a1 a + a2 b + a3 ab``.

    Reverse derivative, by hand: the gate's part is :class:`GateLayer`'s (``dalpha``, ``da``, ``db``);
    ``ds_a[g, j] = sum_batch da[g] x[ca[g, j]]`` through the softmax's reverse derivative gives
    ``dwires_a``; ``dx`` adds ``da[g] s_a[g, j]`` at wire ``ca[g, j]`` over every read (a gather over the
    candidates' fan-out table, :func:`~paralens.boolean.gate_wiring.gather_table`).
    """

    def __init__(self, n_in: int, ca, cb, init=None, wires=None, name: str | None = None,
                 straight_through: bool = False):
        ca, cb = np.asarray(ca, dtype=np.int64), np.asarray(cb, dtype=np.int64)
        if ca.ndim != 2 or ca.shape != cb.shape or ca.shape[0] == 0 or ca.shape[1] == 0:
            raise ShapeError(f"ConnectionLayer: ca and cb must be two non-empty (n_out, candidates) arrays, "
                             f"got {ca.shape}, {cb.shape}")
        super().__init__(n_in, ca[:, 0], cb[:, 0], init=init, straight_through=straight_through,
                         name=name or f"connections({int(n_in)}->{len(ca)}, {ca.shape[1]} candidates)")
        for arr in (ca, cb):
            if arr.min() < 0 or arr.max() >= n_in:
                raise CompositionError(f"ConnectionLayer: wire {int(arr.max())} does not exist in an input of {n_in}")
        self.ca, self.cb, self.candidates = ca, cb, int(ca.shape[1])
        self.b_inverse = None
        self.a_prefix = False
        self.cand_fan = gather_table(self.n_in, np.concatenate([ca.ravel(), cb.ravel()]))
        spec = ParamSpec((self.n_out, self.candidates), wires or wire_init())
        self.params = {"logits": self.params["logits"], "wires_a": spec, "wires_b": spec}

    def _select(self, xp, z, hard: bool):
        """Candidate weights ``(relaxed, used in the forward pass)``: softmax, or one-hot at the argmax."""
        soft = _softmax(xp, z)
        return soft, (one_hot_argmax(xp, z) if hard or self.straight_through else soft)

    def forward(self, p, x, ctx=None, *, hard: bool = False):
        try:
            z, za, zb = p["logits"], p["wires_a"], p["wires_b"]
        except KeyError:
            raise ParameterError(f"{self.label()} needs parameters 'logits', 'wires_a', 'wires_b'; got {sorted(p)}") from None
        B = backend_of(x)
        xp = B.xp
        xt = _rows(B, x)
        XA, XB = xt[self.ca], xt[self.cb]  # (n_out, candidates, batch)
        sa, fa = self._select(xp, za.astype(x.dtype), hard)
        sb, fb = self._select(xp, zb.astype(x.dtype), hard)
        a = xp.sum(fa[:, :, None] * XA, axis=1)
        b = xp.sum(fb[:, :, None] * XB, axis=1)
        w = self.weights(z, hard)
        C = self._C(xp, z.dtype)
        al = (w @ C).astype(x.dtype)
        fw = (one_hot_argmax(xp, z) @ C).astype(x.dtype) if self.straight_through and not hard else al
        yt = fw[:, 0:1] + a * (fw[:, 1:2] + fw[:, 3:4] * b) + fw[:, 2:3] * b
        return yt.T, (w, al, a, b, sa, sb, XA, XB)

    def hard_gates(self, p) -> list[HardGates]:
        """The hardened layer: each input its argmax candidate wire, each gate its argmax function."""
        rows = np.arange(self.n_out)
        ia = self.ca[rows, np.argmax(np.asarray(p["wires_a"]), axis=1)]
        ib = self.cb[rows, np.argmax(np.asarray(p["wires_b"]), axis=1)]
        return [HardGates(self.n_in, ia, ib, np.argmax(np.asarray(p["logits"]), axis=1).astype(np.int64))]

    def _backward(self, res, dy, need_dx: bool):
        w, al, a, b, sa, sb, XA, XB = res
        B = backend_of(dy)
        xp = B.xp
        dyt = _rows(B, dy)
        t = dyt * a
        dalpha = xp.stack([xp.sum(dyt, axis=1), xp.sum(t, axis=1), xp.sum(dyt * b, axis=1),
                           xp.sum(t * b, axis=1)], axis=1)
        dlogits = self._dparams(xp, w.astype(dalpha.dtype), dalpha)
        da = dyt * (al[:, 1:2] + al[:, 3:4] * b)
        db = dyt * (al[:, 2:3] + al[:, 3:4] * a)
        grads = {"logits": dlogits}
        for key, s, d, X in (("wires_a", sa, da, XA), ("wires_b", sb, db, XB)):
            ds = xp.sum(d[:, None, :] * X, axis=2)
            grads[key] = s * (ds - xp.sum(s * ds, axis=1, keepdims=True))
        if not need_dx:
            return grads, None
        k, n = self.candidates, self.n_out
        parts = [(da[:, None, :] * sa[:, :, None]).reshape(n * k, -1), (db[:, None, :] * sb[:, :, None]).reshape(n * k, -1)]
        return grads, reverse_gather(xp, parts, self.cand_fan).T

    def backward(self, res, dy):
        grads, dx = self._backward(res, dy, True)
        return grads, dx

    def backward_params(self, res, dy):
        return self._backward(res, dy, False)[0]


def connections_network(n_inputs: int, widths, n_classes: int, *, candidates: int = 8, seed: int = 0,
                        tau: float = 10.0, inputs=None, init=None, wire_scale: float = 0.1):
    """A network of :class:`ConnectionLayer` layers of ``widths`` (``candidates`` wires per input, or every
    wire of a narrower layer before, drawn with seed ``seed``; the first layer's from ``inputs`` when given, e.g. only the bits that vary) and the
    group-sum head.  ``init``: the gates' initialiser (:func:`gate_init` or one of its kinds' names)."""
    from paralens.boolean.gate_network import GateNetwork

    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"connections_network: widths must be positive, got {widths}")
    init = gate_init(init) if isinstance(init, str) else init
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 47]))
    layers, n_in = [], int(n_inputs)
    for i, w in enumerate(widths):
        pool = inputs if i == 0 else None
        k = min(int(candidates), n_in if pool is None else len(np.unique(pool)))  # at most every wire
        ca = candidate_wires(n_in, w, k, rng, pool)
        cb = candidate_wires(n_in, w, k, rng, pool)
        layers.append(ConnectionLayer(n_in, ca, cb, init=init, wires=wire_init(wire_scale)))
        n_in = w
    return GateNetwork.from_layers(layers, n_classes, seed=seed, tau=tau)


__all__ = ["ConnectionLayer", "candidate_wires", "connections_network", "wire_init"]
