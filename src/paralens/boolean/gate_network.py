"""A gate network: layers of relaxed two-input gates with fixed random wiring and a group-sum head."""

from __future__ import annotations

import copy

import numpy as np

from paralens.boolean.gate_layers import GateLayer, GroupSum
from paralens.boolean.gate_wiring import local_wiring, local_wiring_next, permutation_wiring, random_wiring
from paralens.categories.para import Para, chain
from paralens.errors import ParameterError, ShapeError


class GateNetwork:
    """``L`` layers of relaxed two-input gates with fixed random wiring and a group-sum head.

    Args:
      n_inputs: input bits.
      widths: gates per layer; the last must be a multiple of ``n_classes``.
      n_classes: classes of the group-sum head.
      seed: seeds the wiring (the logits are drawn by :meth:`init`).
      tau: the head's temperature (class score = group sum / tau).
      init: logits initialiser (:func:`gate_init`), or a list of them, one per layer.
      local: ``(channels, height, width, radius)``: the first layer reads nearby pixels
        (:func:`local_wiring`); ``None``: random wiring everywhere.
      inputs: optional indices of the input bits the first layer may read (e.g. the non-constant
        ones); the circuit still takes all ``n_inputs`` bits.
    """

    def __init__(self, n_inputs: int, widths, n_classes: int, seed: int = 0, tau: float = 1.0, init=None,
                 local: tuple | None = None, inputs=None, local_layers: int = 1):
        widths = [int(w) for w in widths]
        if not widths or min(widths) < 1:
            raise ValueError(f"GateNetwork: widths must be positive, got {widths}")
        if widths[-1] % n_classes:
            raise ShapeError(f"GateNetwork: the last width {widths[-1]} is not a multiple of {n_classes} classes")
        self.n_inputs, self.widths, self.n_classes = int(n_inputs), widths, int(n_classes)
        self.seed, self.tau, self.local, self.local_layers = int(seed), float(tau), local, int(local_layers)
        inits = init if isinstance(init, list | tuple) else [init] * len(widths)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7]))
        self.layers: list[GateLayer] = []
        n_in = self.n_inputs
        for i, w in enumerate(widths):
            if i == 0 and local is not None:
                ch, h, wd, r = local
                if ch * h * wd != self.n_inputs:
                    raise ShapeError(f"GateNetwork: local={local} describes {ch * h * wd} bits, not {self.n_inputs}")
                pix = None if inputs is None else np.unique(np.asarray(inputs, dtype=np.int64) // ch)
                ia, ib = local_wiring(ch, h, wd, w, r, rng, pixels=pix)
                positions = ia // ch
            elif i < local_layers and local is not None:
                ch, h, wd, r = local
                ia, ib, positions = local_wiring_next(positions, w, r, h, wd, rng)
            elif i == 0 and inputs is not None:
                sel = np.asarray(inputs, dtype=np.int64)
                ia, ib = random_wiring(len(sel), w, rng)
                ia, ib = sel[ia], sel[ib]
            elif w == n_in and w >= 2:
                ia, ib = permutation_wiring(w, rng)
            else:
                ia, ib = random_wiring(n_in, w, rng)
            self.layers.append(GateLayer(n_in, ia, ib, init=inits[i], name=f"gates({n_in}->{w})"))
            n_in = w
        self._finish()

    @classmethod
    def from_layers(cls, layers, n_classes: int, *, seed: int = 0, tau: float = 1.0) -> GateNetwork:
        """A network of any relaxed layers, each a parametric lens ``R^n_in -> R^n_out`` with ``n_gates``,
        ``forward(p, x, hard=...)`` and ``hard_gates(p)`` (its hardened form, a list of
        :class:`~paralens.boolean.gate_layers.HardGates`): :class:`GateLayer`, a learned-connection layer, a
        logic-tree convolution, OR pooling.  Each layer reads the one before; the head groups the last's outputs."""
        layers = list(layers)
        if not layers:
            raise ValueError("GateNetwork.from_layers: no layers")
        for i in range(1, len(layers)):
            if layers[i].n_in != layers[i - 1].n_out:
                raise ShapeError(f"GateNetwork.from_layers: layer {i} reads {layers[i].n_in} wires, "
                                 f"layer {i - 1} gives {layers[i - 1].n_out}")
        if layers[-1].n_out % n_classes:
            raise ShapeError(f"GateNetwork: the last width {layers[-1].n_out} is not a multiple of {n_classes} classes")
        net = cls.__new__(cls)
        net.n_inputs, net.n_classes, net.seed, net.tau = int(layers[0].n_in), int(n_classes), int(seed), float(tau)
        net.widths = [int(layer.n_out) for layer in layers]
        net.local, net.local_layers = None, 0
        net.layers = layers
        net._finish()
        return net

    def straight_through(self) -> GateNetwork:
        """The same network (same parameter names) with every layer straight through: the forward pass runs
        the hardened layers, the reverse pass the relaxed ones (each layer's ``straight_through`` flag)."""
        layers = []
        for layer in self.layers:
            if not hasattr(layer, "straight_through"):
                raise ValueError(f"{layer.label()} has no straight-through form")
            layer = copy.copy(layer)
            layer.straight_through = True
            layers.append(layer)
        net = GateNetwork.from_layers(layers, self.n_classes, seed=self.seed, tau=self.tau)
        net.local, net.local_layers = self.local, self.local_layers
        return net

    def _finish(self):
        self.head = GroupSum(self.widths[-1], self.n_classes, self.tau)
        self._para = chain(*[layer.named(str(i)) for i, layer in enumerate(self.layers)], self.head)

    @property
    def n_gates(self) -> int:
        """Learned gates of the network (difflogic's count: one per learned two-input gate; a layer says its own)."""
        return sum(int(layer.n_gates) for layer in self.layers)

    def para(self) -> Para:
        """The relaxed network as one parametric lens: layers ``0.logits .. {L-1}.logits``, then the head."""
        return self._para

    def body(self) -> Para:
        """The layers without the head (outputs: the last layer's relaxed bits)."""
        return chain(*[layer.named(str(i)) for i, layer in enumerate(self.layers)], label="gate layers")

    def init(self, seed: int = 0, dtype="float32", backend="numpy") -> dict:
        return self._para.init(seed, dtype=dtype, backend=backend)

    def param_names(self) -> list[str]:
        return list(self._para.params)

    def _layer_params(self, params: dict) -> list[dict]:
        """Each layer's parameters, without the ``"{i}."`` prefix the chain gives them."""
        out = []
        for i, layer in enumerate(self.layers):
            p = {}
            for name in layer.params:
                try:
                    p[name] = params[f"{i}.{name}"]
                except KeyError:
                    raise ParameterError(f"missing parameter {i}.{name!r}; got {sorted(params)}") from None
            out.append(p)
        return out

    def forward_bits(self, params: dict, x, *, hard: bool = False) -> np.ndarray:
        """The last layer's outputs ``(batch, widths[-1])`` (float), relaxed or with one-hot gates (``hard``)."""
        x = np.asarray(x, dtype=np.float32 if not hard else np.float64)
        for layer, p in zip(self.layers, self._layer_params(params)):
            x, _ = layer.forward({k: np.asarray(v).astype(x.dtype) for k, v in p.items()}, x, hard=hard)
            x = np.asarray(x)
        return x

    def predict_bits(self, params: dict, bits, batch_size: int = 4096) -> np.ndarray:
        """The argmax-hardened network's output bits, by the NumPy forward with one-hot gate weights (int64)."""
        bits = np.asarray(bits)
        outs = [self.forward_bits(params, bits[i: i + batch_size], hard=True) for i in range(0, len(bits), batch_size)]
        return np.rint(np.concatenate(outs)).astype(np.int64) if outs else np.zeros((0, self.widths[-1]), np.int64)

    def hard_gates(self, params: dict) -> list:
        """The hardened network as fixed-wire two-input gate layers (:class:`~paralens.boolean.gate_layers.HardGates`)."""
        out = []
        for layer, p in zip(self.layers, self._layer_params(params)):
            out.extend(layer.hard_gates(p))
        return out

    def decoder(self):
        from paralens.boolean.encoders import GroupSumDecoder

        return GroupSumDecoder(self.n_classes, self.widths[-1] // self.n_classes)

    def choices(self, params: dict) -> list[np.ndarray]:
        """The hardened function code (0..15, :data:`~paralens.circuits.truth.GATE_NAMES`) of every gate, per hardened layer."""
        return [h.codes for h in self.hard_gates(params)]


__all__ = ["GateNetwork"]
