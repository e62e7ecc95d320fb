"""A Boolean classifier: encoder (real features -> bits), a GF(2) circuit, and a decoder (bits -> class).

This is the model that is saved, evaluated, predicted with and exported as
hardware.  Its circuit has the learned parameters baked in as constants and
simplified away (:func:`bake`), so it is a plain circuit of logic gates; the
encoder and decoder travel with it, so a saved classifier takes raw features.

The file is versioned JSON (``"format": "paralens-boolean-classifier"``), written
atomically; another kind of file, a newer version, or a truncated file is
refused with an error that names the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from paralens.boolean.encoders import GroupSumDecoder, encoder_from_dict
from paralens.circuits.arith import argmax_tree, carry_save_popcount, const_greater
from paralens.circuits.io import circuit_from_dict, circuit_to_dict, read_json
from paralens.circuits.lens import ParaCircuit
from paralens.circuits.syntax import Builder, Circuit
from paralens.circuits.transform import fold_constants, prune
from paralens.errors import (
    ModelFileError,  # noqa: F401 - importable from here too
    ParalensError,
    ShapeError,
)
from paralens.fields.field import FieldError
from paralens.files import atomic_write

FORMAT = "paralens-boolean-classifier"
VERSION = 1


def bake(model: ParaCircuit, params: dict) -> Circuit:
    """The circuit of ``model`` with its parameters fixed to ``params`` (constants folded, dead gates pruned)."""
    F = model.circuit.field
    b = Builder(F, model.n_data)
    vals = np.concatenate([F.check_ints(params[n], f"parameter {n!r}").reshape(-1) for n in model.params]) \
        if model.params else np.zeros(0, dtype=np.int64)
    cw = b.const(vals) if len(vals) else np.zeros(0, dtype=np.int64)
    blocks = [cw[i: i + 1] for i in range(len(vals))] + [np.array([i]) for i in range(model.n_data)]
    outs = b.inline(model.circuit, blocks)
    c = b.build(np.concatenate([o.reshape(-1) for o in outs]) if outs else np.zeros(0, np.int64),
                name=model.circuit.name)
    return prune(fold_constants(c))


def two_input_equivalents(c: Circuit) -> int:
    """Gates counted as two-input gates: a k-input gate counts k - 1 (at least 1); constants count 0."""
    total = 0
    for op in c.ops:
        if op.gen.name == "const":
            continue
        total += op.k * max(1, op.gen.n_in - 1)
    return total


def content_checksum(d: dict) -> str:
    """``"sha256:..."`` of a description's canonical JSON (sorted keys, no spaces), the ``"checksum"``
    entry left out: a damaged file is refused instead of loading another model silently."""
    body = {k: v for k, v in d.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class BooleanClassifier:
    """``predict(X) = decoder(circuit(encoder(X)))``; ``circuit`` is a GF(2) circuit of gates.

    ``decoder`` is a :class:`~paralens.boolean.encoders.GroupSumDecoder` (output bits in
    groups per class, counted, argmax; one bit per class is one-hot; a one-output binary
    circuit is read through :func:`one_hot_binary`).
    """

    encoder: object
    circuit: Circuit
    decoder: GroupSumDecoder
    name: str = "classifier"
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        F = self.circuit.field
        if not (F.is_finite and F.order == 2):
            raise FieldError(f"{self.name}: a Boolean classifier's circuit is over GF(2), not {F.name}")
        if self.encoder.n_bits != self.circuit.n_inputs:
            raise ShapeError(f"{self.name}: the encoder gives {self.encoder.n_bits} bits, the circuit takes "
                             f"{self.circuit.n_inputs}")
        if self.decoder_width() != self.circuit.n_outputs:
            raise ShapeError(f"{self.name}: the decoder reads {self.decoder_width()} bits, the circuit gives "
                             f"{self.circuit.n_outputs}")

    def decoder_width(self) -> int:
        return self.decoder.n_classes * self.decoder.bits_per_class

    @property
    def n_features(self) -> int:
        return self.encoder.n_features

    @property
    def n_classes(self) -> int:
        return self.decoder.n_classes

    @property
    def gates(self) -> int:
        return two_input_equivalents(self.circuit)

    def bits(self, X) -> np.ndarray:
        return self.encoder.transform(X)

    def packed_circuit(self):
        """The circuit compiled for the fused bit-packed kernel (:class:`~paralens.boolean.packed.PackedCircuit`),
        compiled once and kept on this instance (not a field: not saved, compared or printed)."""
        pc = self.__dict__.get("_packed")
        if pc is None:
            from paralens.boolean.packed import PackedCircuit

            pc = PackedCircuit(self.circuit)
            object.__setattr__(self, "_packed", pc)
        return pc

    def output_bits(self, X, *, packed: bool | None = None) -> np.ndarray:
        """The circuit's output bits ``(n, n_outputs)`` (int64) for raw features; ``packed``: the fused bit-packed
        kernel (default for 256 samples or more), ``False``: the NumPy interpreter, one byte per bit."""
        bits = self.bits(X)
        if packed is None:
            packed = len(bits) >= 256
        if packed:
            return self.packed_circuit().evaluate_bits(bits).astype(np.int64)
        from paralens.circuits.evaluate import evaluate_ints

        return evaluate_ints(self.circuit, bits.astype(np.int64), packed=False)

    def predict(self, X, *, packed: bool | None = None) -> np.ndarray:
        """Class indices for raw features ``X`` (rows = samples).

        ``packed`` (default for 256 samples or more): the fused bit-packed kernel, which counts the class
        groups and takes the argmax itself (and encodes ``uint8`` features itself, for threshold and
        thermometer encoders); ``False``: the NumPy interpreter on one byte per bit and the decoder.  Both
        give the same classes."""
        d = self.decoder
        if packed is None:
            packed = (len(X) if np.ndim(X) == 2 else 1) >= 256
        if packed:
            return self.packed_circuit().predict_features(X, self.encoder, d.n_classes, d.bits_per_class)
        out = self.output_bits(X, packed=False)
        return np.asarray(d.predict(out), dtype=np.int64)

    def accuracy(self, X, y) -> float:
        y = np.asarray(y)
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ShapeError(f"{self.name}: labels must lie in 0 .. {self.n_classes - 1}, got {int(y.min())} .. {int(y.max())}")
        return float(np.mean(self.predict(X) == y))

    # -- files ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON-ready description, with a ``"checksum"`` of the rest (see :func:`content_checksum`)."""
        d = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "encoder": self.encoder.to_dict(),
            "circuit": circuit_to_dict(self.circuit),
            "decoder": self.decoder.to_dict(),
            "info": self.info,
        }
        d["checksum"] = content_checksum(d)
        return d

    @staticmethod
    def from_dict(d: dict) -> BooleanClassifier:
        """The classifier a :meth:`to_dict` describes, every part checked; :class:`ModelFileError` otherwise."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ModelFileError(f"not a paralens Boolean classifier (format {got!r}, expected {FORMAT!r})")
        version = d.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelFileError(f"unreadable version {version!r} (expected an integer 1 .. {VERSION})")
        if version > VERSION:
            raise ModelFileError(f"written by a newer paralens: version {version} > {VERSION}; upgrade paralens")
        if "checksum" in d and d["checksum"] != content_checksum(d):
            raise ModelFileError("the contents do not match the file's checksum: the file was damaged or edited "
                                 "(remove the 'checksum' entry to load a file edited on purpose)")
        for key in ("encoder", "circuit", "decoder"):
            if not isinstance(d.get(key), dict):
                raise ModelFileError(f"the model has no {key!r} object")
        name = d.get("name", "classifier")
        if not isinstance(name, str):
            raise ModelFileError(f"'name' must be a string, got {type(name).__name__}")
        info = d.get("info", {})
        if not isinstance(info, dict):
            raise ModelFileError(f"'info' must be an object, got {type(info).__name__}")
        return BooleanClassifier(encoder=encoder_from_dict(d["encoder"]), circuit=circuit_from_dict(d["circuit"]),
                                 decoder=GroupSumDecoder.from_dict(d["decoder"]), name=name, info=info)

    def save(self, path) -> None:
        """Write atomically (:func:`paralens.files.atomic_write`): a failure leaves any previous file intact."""
        atomic_write(path, json.dumps(self.to_dict(), separators=(",", ":")))

    @staticmethod
    def load(path) -> BooleanClassifier:
        """Read a saved classifier; anything but a valid one is one :class:`ModelFileError` naming ``path``."""
        path = os.fspath(path)
        try:
            return BooleanClassifier.from_dict(read_json(path))
        except ParalensError as e:
            msg = str(e)
            raise ModelFileError(msg if msg.startswith(path) else f"{path}: {msg}") from None
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as e:
            raise ModelFileError(f"{path}: corrupt model file ({type(e).__name__}: {e})") from None
        except RecursionError:
            raise ModelFileError(f"{path}: nested too deeply to be a paralens model") from None


def one_hot_binary(c: Circuit) -> Circuit:
    """A one-output binary classifier circuit ``y`` as two outputs ``(not y, y)``, read by
    ``GroupSumDecoder(2, 1)`` (class = the bit)."""
    if c.n_outputs != 1:
        raise ShapeError(f"one_hot_binary takes a circuit with one output, got {c.n_outputs}")
    from paralens.circuits import generators as G

    b = Builder(c.field, c.n_inputs)
    b.ops, b.n_wires = list(c.ops), c.n_wires
    y = c.outputs
    return b.build(np.concatenate([b.op(G.NOT, y)[0], y]), name=c.name)


# -- the whole classifier as one GF(2) circuit (raw integer features in, class index out) -------------


def classifier_circuit(clf: BooleanClassifier, feature_bits: int = 8) -> Circuit:
    """The whole classifier as one GF(2) circuit: ``n_features * feature_bits`` input wires (feature
    ``i``'s integer value, LSB first, at wires ``i * feature_bits ...``), the encoder as comparators
    against the integer thresholds, the gate network, per-class popcounts (adder trees) and the argmax
    (ties to the lower class), and the class index out (``ceil(log2 n_classes)`` bits, LSB first).

    It computes exactly ``clf.predict`` on integer features in ``0 .. 2^feature_bits - 1``
    (tested), so anything made of it (PyRTL, Verilog) does too.
    """

    nf, w = clf.n_features, int(feature_bits)
    b = Builder(clf.circuit.field, nf * w)
    feat = np.arange(nf * w).reshape(nf, w)
    enc_bits = []
    for f, t in clf.encoder.integer_thresholds():
        enc_bits.append(const_greater(b, [feat[f, j: j + 1] for j in range(w)], int(t))[0])
    net = b.inline(clf.circuit, [np.array([e]) for e in enc_bits])
    out = np.array([o[0] for o in net])
    d = clf.decoder
    groups = out.reshape(d.n_classes, d.bits_per_class)
    counts = carry_save_popcount(b, groups) if d.bits_per_class > 1 else [groups[:, 0]]
    nums = [[bit[c: c + 1] for bit in counts] for c in range(d.n_classes)]
    idx_bits = max(1, (d.n_classes - 1).bit_length())
    idx = [[b.const([(c >> j) & 1])[0:1] for j in range(idx_bits)] for c in range(d.n_classes)]
    best_idx = argmax_tree(b, nums, idx)
    c = b.build(np.concatenate(best_idx), name=clf.name)
    return prune(fold_constants(c))


def class_from_bits(bits: np.ndarray) -> np.ndarray:
    """Class indices from the output bits of :func:`classifier_circuit` (LSB first)."""
    bits = np.asarray(bits, dtype=np.int64)
    return (bits * (1 << np.arange(bits.shape[1]))).sum(axis=1)


def feature_bits_of(X, feature_bits: int = 8) -> np.ndarray:
    """Integer features ``(N, n_features)`` as the input bits of :func:`classifier_circuit`."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ShapeError(f"features must be a 2-D array (samples, features), got shape {X.shape}")
    if X.dtype.kind not in "iub":
        Xf = np.asarray(X, dtype=np.float64)
        bad = ~np.isfinite(Xf) | (Xf != np.round(Xf))
        if bad.any():
            r, c = map(int, np.argwhere(bad)[0])
            raise ShapeError(f"feature {c} of sample {r} is {Xf[r, c].item()!r}, not an integer of {feature_bits} bits")
    hi = 2**feature_bits - 1
    if X.size and (X.min() < 0 or X.max() > hi):
        r, c = map(int, np.argwhere((X < 0) | (X > hi))[0])
        raise ShapeError(f"feature {c} of sample {r} is {X[r, c].item()!r}, outside 0 .. {hi} of {feature_bits}-bit inputs")
    X = X.astype(np.int64)
    return ((X[:, :, None] >> np.arange(feature_bits)) & 1).reshape(len(X), -1)
