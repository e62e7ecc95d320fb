"""Learned connections: a layer of relaxed two-input gates whose input wiring is learned too.

Each gate of a :class:`ConnectionLayer` has, for each of its two inputs, ``k`` candidate wires of the
layer before (drawn once, by a seeded rule: :func:`connection_candidates` at random, or
:func:`~paralens.boolean.gate_wiring.local_candidates` near a pixel on images) and learned logits over
them (parameters ``wires_a`` and ``wires_b``, ``(n_out, k)``).  The relaxed input is the softmax-weighted
mix of its candidates (softmax of ``logits / temperature``); the gate is
:class:`~paralens.boolean.gate_layers.GateLayer`'s softmax mixture of the sixteen functions (parameter
``gates``, ``(n_out, 16)``, the same code: :func:`~paralens.boolean.gate_layers.gate_mixture`).  With
``straight_through`` the forward pass reads the top-1 candidate of each input and runs the argmax gate
(the hardened layer), and the reverse pass is the relaxed one's at those activations.

Hardened (:meth:`ConnectionLayer.hard_gates`): each input its argmax candidate, each gate its argmax
function, a :class:`~paralens.boolean.gate_layers.HardGates` layer with fixed wires, folded and emitted
by :func:`~paralens.boolean.gate_hardening.harden` like every other layer.

:func:`connections_network` builds a :class:`~paralens.boolean.gate_network.GateNetwork` of them.
"""

from __future__ import annotations

import numpy as np

from paralens.backend import backend_of
from paralens.boolean.gate_layers import (
    HardGates,
    _rows,
    _softmax,
    gate_apply,
    gate_init,
    gate_mixture,
    gate_reverse,
    one_hot_argmax,
    per_layer,
)
from paralens.boolean.gate_tables import table_wiring
from paralens.boolean.gate_wiring import gather_table, local_candidates, reverse_gather
from paralens.categories.para import Para, ParamSpec
from paralens.categories.types import ArrayType
from paralens.errors import CompositionError, ParameterError, ShapeError

# ----------------------------------------------------------------------------- candidates and initialisers


def connection_candidates(n_in: int, n_out: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Candidate wires ``(cand_a, cand_b)``, each ``(n_out, k)``, of ``n_out`` gates on ``n_in`` wires, at random.

    With ``2 k <= n_in`` a gate's ``2 k`` candidates are distinct (so no hardened gate reads one wire twice) and
    the reads balanced (:func:`~paralens.boolean.gate_tables.table_wiring` of ``2 k`` inputs, its first ``k``
    columns port a's); with ``k <= n_in < 2 k`` each port's ``k`` are distinct, drawn apart."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"connection_candidates: candidates must be a positive integer, got {k!r}")
    k = int(k)
    if 2 * k <= n_in and 2 * k >= 2:
        W = table_wiring(n_in, n_out, 2 * k, rng)
        return W[:, :k].copy(), W[:, k:].copy()
    if k == 1 and n_in >= 1:
        return rng.integers(0, n_in, (n_out, 1)), rng.integers(0, n_in, (n_out, 1))
    if k <= n_in:
        return table_wiring(n_in, n_out, k, rng), table_wiring(n_in, n_out, k, rng)
    raise ValueError(f"connection_candidates: {k} candidates per input need at least {k} wires, got {n_in}")


def connection_init(scale: float = 1.0):
    """An initialiser ``(rng, shape, dtype) -> logits`` of a ``(n_out, k)`` candidate-logits array:
    ``scale * N(0, 1)`` (``scale = 0``: every candidate weighed alike, the first the hardened choice)."""
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"connection_init: scale must be a non-negative number, got {scale!r}")

    def init(rng, shape, dtype):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    init.__name__ = f"connection_init_{scale:g}"
    return init


# ----------------------------------------------------------------------------- the lens


class ConnectionLayer(Para):
    """``n_out`` relaxed two-input gates with learned connections, a parametric lens ``R^n_in -> R^n_out``.

    Args:
      n_in: wires of the layer before.
      cand_a, cand_b: ``(n_out, k)`` candidate wires of each gate's inputs a and b.
      init: the ``gates`` logits' initialiser (:func:`~paralens.boolean.gate_layers.gate_init`; default normal).
      wire_init: the ``wires_a`` / ``wires_b`` initialiser (:func:`connection_init`; default scale 1).
      temperature: input ``a = sum_j softmax(wires_a / temperature)_j x[cand_a[:, j]]`` (and ``b`` alike).
      straight_through: hardened forward (top-1 candidates, argmax gates), relaxed reverse.

    get ``(p, x) -> y``, ``y = a0 + a1 a + a2 b + a3 ab`` as :class:`~paralens.boolean.gate_layers.GateLayer`;
    put, by hand: the gate's (:func:`~paralens.boolean.gate_layers.gate_reverse`), then for each input
    ``dpa_j = sum_batch da * x[cand_a[:, j]]``, ``dwires_a = pa * (dpa - <pa, dpa>) / temperature`` and the
    reads' changes ``pa_j da``, added per wire (:func:`~paralens.boolean.gate_wiring.reverse_gather`).
    """

    def __init__(self, n_in: int, cand_a, cand_b, *, init=None, wire_init=None, temperature: float = 1.0,
                 straight_through: bool = False, name: str | None = None):
        ca, cb = np.asarray(cand_a, dtype=np.int64), np.asarray(cand_b, dtype=np.int64)
        if ca.ndim != 2 or ca.shape != cb.shape or ca.size == 0:
            raise ShapeError(f"ConnectionLayer: cand_a and cand_b must be two non-empty (n_out, k) arrays, "
                             f"got {ca.shape}, {cb.shape}")
        for arr in (ca, cb):
            if arr.min() < 0 or arr.max() >= n_in:
                bad = int(arr.max()) if arr.max() >= n_in else int(arr.min())
                raise CompositionError(f"ConnectionLayer: wire {bad} does not exist in an input of {n_in}")
        if not isinstance(temperature, int | float | np.floating) or not np.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"ConnectionLayer: temperature must be a positive number, got {temperature!r}")
        self.n_in, (self.n_out, self.k) = int(n_in), ca.shape
        self.cand_a, self.cand_b = ca, cb
        self.temperature = float(temperature)
        self.straight_through = bool(straight_through)
        self.fan = gather_table(self.n_in, np.concatenate([ca.ravel(), cb.ravel()]))
        wi = wire_init or connection_init(1.0)
        self.params = {"gates": ParamSpec((self.n_out, 16), init or gate_init("normal")),
                       "wires_a": ParamSpec((self.n_out, self.k), wi),
                       "wires_b": ParamSpec((self.n_out, self.k), wi)}
        self.dom, self.cod = ArrayType((self.n_in,)), ArrayType((self.n_out,))
        self.name = name or f"connections[k={self.k}]({self.n_in}->{self.n_out})"

    def output_type(self, dom):
        if self.dom.unify(dom) is None:
            raise CompositionError(f"{self.label()} cannot take input {dom}: its domain is {self.dom}")
        return self.cod

    @property
    def n_gates(self) -> int:
        """Learned gates (one per output)."""
        return self.n_out

    def _params(self, p):
        try:
            z, ua, ub = p["gates"], p["wires_a"], p["wires_b"]
        except (KeyError, TypeError):
            raise ParameterError(f"{self.label()} needs parameters 'gates', 'wires_a', 'wires_b'; "
                                 f"got {sorted(p) if isinstance(p, dict) else type(p).__name__}") from None
        for nm, v, shape in (("gates", z, (self.n_out, 16)), ("wires_a", ua, (self.n_out, self.k)),
                             ("wires_b", ub, (self.n_out, self.k))):
            if tuple(v.shape) != shape:
                raise ShapeError(f"{self.label()}: {nm} must have shape {shape}, got {tuple(v.shape)}")
        return z, ua, ub

    def choice_weights(self, u, hard: bool = False):
        """``(n_out, k)`` weights of the candidates: softmax of ``u / temperature``, or one-hot at the argmax."""
        xp = backend_of(u).xp
        return one_hot_argmax(xp, u) if hard else _softmax(xp, u * (1.0 / self.temperature))

    def forward(self, p, x, ctx=None, *, hard: bool = False):
        z, ua, ub = self._params(p)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"{self.label()}: expected input of shape (batch, {self.n_in}), got {tuple(x.shape)}")
        B = backend_of(x)
        xp = B.xp
        w, al, fw = gate_mixture(xp, z, x.dtype, hard=hard, straight_through=self.straight_through)
        pa, pb = self.choice_weights(ua, hard).astype(x.dtype), self.choice_weights(ub, hard).astype(x.dtype)
        top = self.straight_through and not hard
        fa = one_hot_argmax(xp, ua).astype(x.dtype) if top else pa
        fb = one_hot_argmax(xp, ub).astype(x.dtype) if top else pb
        xt = _rows(B, x)
        n = x.shape[0]
        Xa = xt[self.cand_a.ravel()].reshape(self.n_out, self.k, n)
        Xb = xt[self.cand_b.ravel()].reshape(self.n_out, self.k, n)
        a = xp.sum(fa[:, :, None] * Xa, axis=1)
        b = xp.sum(fb[:, :, None] * Xb, axis=1)
        return gate_apply(fw, a, b)[0].T, (w, al, pa, pb, Xa, Xb, a, b)

    def _backward(self, res, dy, need_dx: bool):
        w, al, pa, pb, Xa, Xb, a, b = res
        B = backend_of(dy)
        xp = B.xp
        dgates, da, db = gate_reverse(xp, w, al, a, b, _rows(B, dy), True)
        inv_t = 1.0 / self.temperature
        dwires = []
        for pw, X, d in ((pa, Xa, da), (pb, Xb, db)):
            dp = xp.sum(X * d[:, None, :], axis=2)
            pw = pw.astype(dp.dtype)
            dwires.append(pw * (dp - xp.sum(pw * dp, axis=1, keepdims=True)) * inv_t)
        grads = {"gates": dgates, "wires_a": dwires[0], "wires_b": dwires[1]}
        if not need_dx:
            return grads, None
        n = dy.shape[0]
        Da = (pa[:, :, None] * da[:, None, :]).reshape(self.n_out * self.k, n)
        Db = (pb[:, :, None] * db[:, None, :]).reshape(self.n_out * self.k, n)
        return grads, reverse_gather(xp, [Da, Db], self.fan).T

    def backward(self, res, dy):
        return self._backward(res, dy, True)

    def backward_params(self, res, dy):
        return self._backward(res, dy, False)[0]

    def wires(self, p) -> tuple[np.ndarray, np.ndarray]:
        """The hardened wires ``(ia, ib)``: each input's argmax candidate."""
        _, ua, ub = self._params(p)
        rows = np.arange(self.n_out)
        return (self.cand_a[rows, np.argmax(np.asarray(ua), axis=1)],
                self.cand_b[rows, np.argmax(np.asarray(ub), axis=1)])

    def hard_gates(self, p) -> list[HardGates]:
        """The hardened layer: argmax candidate per input, argmax function per gate, as fixed-wire gates."""
        z = self._params(p)[0]
        ia, ib = self.wires(p)
        return [HardGates(self.n_in, ia, ib, np.argmax(np.asarray(z), axis=1).astype(np.int64))]


# ----------------------------------------------------------------------------- networks


def connections_network(n_inputs: int, widths, n_classes: int, *, candidates=8, seed: int = 0, tau: float = 1.0,
                        temperature: float = 1.0, straight_through: bool = False, init=None,
                        wire_scale: float = 1.0, inputs=None, local: tuple | None = None):
    """A :class:`~paralens.boolean.gate_network.GateNetwork` of :class:`ConnectionLayer` layers and a group-sum head.

    ``widths``: gates per layer (the last a multiple of ``n_classes``); ``candidates`` (``k``) and ``init``
    (:func:`~paralens.boolean.gate_layers.gate_init`): one for all layers or a sequence, one per layer;
    ``wire_scale``: the candidate logits' initial spread (:func:`connection_init`); ``inputs``: indices of the
    input bits the first layer may read (e.g. those that vary in training; the network still takes all
    ``n_inputs``); ``local = (channels, height, width, radius)``: the first layer's candidates lie within
    ``radius`` of a pixel (:func:`~paralens.boolean.gate_wiring.local_candidates`), the others' at random
    (:func:`connection_candidates`).  Layer ``i``'s candidates are drawn from ``(seed, i)``.
    """
    from paralens.boolean.gate_network import GateNetwork

    widths, opts = per_layer("connections_network", widths, candidates=candidates, init=init)
    ks, inits = opts["candidates"], opts["init"]
    sel = None
    if inputs is not None:
        sel = np.asarray(inputs, dtype=np.int64)
        if sel.ndim != 1 or len(sel) == 0 or sel.min() < 0 or sel.max() >= n_inputs:
            raise ValueError(f"connections_network: inputs must be indices into {n_inputs} bits")
    wire_init = connection_init(wire_scale)
    layers = []
    n_in = int(n_inputs)
    for i, (w, k, ini) in enumerate(zip(widths, ks, inits)):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 47, i]))
        if i == 0 and local is not None:
            ch, h, wd, r = local
            if ch * h * wd != n_in:
                raise ShapeError(f"connections_network: local={local} describes {ch * h * wd} bits, not {n_in}")
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
                raise ValueError(f"connections_network: candidates must be a positive integer, got {k!r}")
            C = local_candidates(ch, h, wd, w, 2 * int(k), r, rng, bits=sel)
            ca, cb = C[:, 0::2], C[:, 1::2]
        elif i == 0 and sel is not None:
            ca, cb = connection_candidates(len(sel), w, k, rng)
            ca, cb = sel[ca], sel[cb]
        else:
            ca, cb = connection_candidates(n_in, w, k, rng)
        layers.append(ConnectionLayer(n_in, ca, cb, init=ini, wire_init=wire_init, temperature=temperature,
                                      straight_through=straight_through, name=f"connections{i}({n_in}->{w})"))
        n_in = w
    return GateNetwork.from_layers(layers, n_classes, seed=seed, tau=tau)


__all__ = ["ConnectionLayer", "connection_candidates", "connection_init", "connections_network"]
