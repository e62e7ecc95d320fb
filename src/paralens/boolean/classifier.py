"""A Boolean classifier: inputs (raw features -> exact integers), an encoder (integers -> bits), a
GF(2) circuit, and a decoder (bits -> class -> label).

This is the model that is saved, evaluated, predicted with and exported as
hardware (the scikit-learn estimator :class:`paralens.BooleanClassifier` trains one).  Its circuit has the learned parameters baked in as constants and
simplified away (:func:`bake`), so it is a plain circuit of logic gates; the
encoder and decoder travel with it, so a saved classifier takes raw features.

The file is versioned JSON (``"format": "paralens-boolean-classifier"``, version 2: the input
formats, class labels and target column too; version 1 files still load), written atomically; another kind of file, a newer version, or a truncated file is
refused with an error that names the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from paralens.boolean.encoders import GroupSumDecoder, encoder_from_dict
from paralens.boolean.inputs import InputFormat, integer_inputs
from paralens.circuits import generators as G
from paralens.circuits.arith import argmax_tree, carry_save_popcount, const_equal, const_greater
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
VERSION = 2


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


def _label(v):
    """A class label as a JSON scalar (int, float, str or bool), from NumPy's scalars too."""
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, bool | int | float | str):
        return v
    raise ShapeError(f"a class label must be a number or a string, got {type(v).__name__} {v!r:.40}")


@dataclass(frozen=True)
class CircuitClassifier:
    """``predict(X) = decoder(circuit(encoder(inputs(X))))``; ``circuit`` is a GF(2) circuit of gates.

    ``inputs`` (:class:`~paralens.boolean.inputs.InputFormat`) makes raw features the exact integers
    of the hardware ports (default: unsigned integers of ``info["feature_bits"]`` bits, 8 when not
    given); ``encoder`` compares them with integer thresholds; ``decoder`` is a
    :class:`~paralens.boolean.encoders.GroupSumDecoder` (output bits in groups per class, counted,
    argmax, ties to the lower class; a one-output binary circuit is read through
    :func:`one_hot_binary`); ``classes`` are the labels of the class indices (default ``0 .. n-1``)
    and ``target`` the name of the label column, when the data had one.
    """

    encoder: object
    circuit: Circuit
    decoder: GroupSumDecoder
    name: str = "classifier"
    info: dict = field(default_factory=dict)
    inputs: InputFormat | None = None
    classes: tuple | None = None
    target: str | None = None

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
        if self.inputs is None:
            fb = self.info.get("feature_bits", 8)
            if isinstance(fb, bool) or not isinstance(fb, int) or not 1 <= fb <= 62:
                raise ShapeError(f"{self.name}: its feature width {fb!r} is not a number of bits in 1 .. 62")
            object.__setattr__(self, "inputs", integer_inputs(self.encoder.n_features, fb))
        if self.inputs.n_features != self.encoder.n_features:
            raise ShapeError(f"{self.name}: {self.inputs.n_features} input formats for an encoder of "
                             f"{self.encoder.n_features} features")
        classes = tuple(range(self.decoder.n_classes)) if self.classes is None else \
            tuple(_label(c) for c in self.classes)
        if len(classes) != self.decoder.n_classes or len(set(classes)) != len(classes):
            raise ShapeError(f"{self.name}: {len(classes)} class labels (distinct: {len(set(classes))}) for "
                             f"{self.decoder.n_classes} classes")
        object.__setattr__(self, "classes", classes)
        if self.target is not None and not isinstance(self.target, str):
            raise ShapeError(f"{self.name}: the target column's name must be a string, not {self.target!r}")

    def decoder_width(self) -> int:
        return self.decoder.n_classes * self.decoder.bits_per_class

    @property
    def n_features(self) -> int:
        return self.encoder.n_features

    @property
    def n_classes(self) -> int:
        return self.decoder.n_classes

    @property
    def feature_names(self) -> list[str]:
        return self.inputs.names

    @property
    def gates(self) -> int:
        """Gates of the learned network (two-input equivalents, :func:`two_input_equivalents`)."""
        return two_input_equivalents(self.circuit)

    def whole_circuit(self) -> Circuit:
        """:func:`classifier_circuit` of this classifier, built once and kept on the instance."""
        c = self.__dict__.get("_whole")
        if c is None:
            c = classifier_circuit(self)
            object.__setattr__(self, "_whole", c)
        return c

    def figures(self) -> dict:
        """Gates and depth of the learned network and of the whole classifier circuit (port integers in,
        class index out: encoder comparators, network, class counts and argmax), measured the same way:
        two-input gate equivalents and logic levels (:meth:`~paralens.circuits.syntax.Circuit.depth`)."""
        whole = self.whole_circuit()
        return {"network_gates": self.gates, "network_depth": self.circuit.depth(),
                "classifier_gates": two_input_equivalents(whole), "classifier_depth": whole.depth()}

    def integers(self, X) -> np.ndarray:
        """The port integers of raw features ``X`` (quantised and saturated; see :mod:`~paralens.boolean.inputs`)."""
        return self.inputs.integers(X)

    def bits(self, X) -> np.ndarray:
        """The encoder's bits of raw features ``X`` (through the port integers)."""
        return self.encoder.transform(self.integers(X))

    def input_bits(self, X) -> np.ndarray:
        """The input bits of :func:`classifier_circuit` (and of the hardware) for raw features ``X``."""
        return self.inputs.port_bits(self.integers(X))

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

    def _byte_ports(self) -> bool:
        return all(f.kind == "number" and f.decimals == 0 and not f.signed and f.width <= 8
                   for f in self.inputs.features)

    def predict(self, X, *, packed: bool | None = None, threads: int | None = None) -> np.ndarray:
        """Class indices for raw features ``X`` (rows = samples); :meth:`predict_labels` gives the labels.

        ``packed`` (default for 256 samples or more, or when ``threads`` is given): the fused bit-packed kernel, which counts the class
        groups and takes the argmax itself (and encodes byte features itself, for threshold and
        thermometer encoders), in ``threads`` threads (``None``: every core; ``1``: one); ``False``: the
        NumPy interpreter on one byte per bit and the decoder.  All give the same classes."""
        d = self.decoder
        if packed is None:  # a thread count asks for the kernel
            packed = threads is not None or (len(X) if np.ndim(X) == 2 else 1) >= 256
        if not packed and threads is not None:
            raise ValueError(f"{self.name}: threads={threads!r} is for the packed kernel; packed=False runs the "
                             "NumPy interpreter in this thread")
        if packed:
            kernel, bytes_in = self.packed_circuit().with_threads(threads), self._byte_ports()
            if not (bytes_in and isinstance(X, np.ndarray) and X.dtype == np.uint8):  # bytes go in as they are
                q = self.integers(X)
                if not bytes_in:
                    return kernel.predict_groups(self.encoder.transform(q), d.n_classes, d.bits_per_class)
                X = q.astype(np.uint8)
            return kernel.predict_features(X, self.encoder, d.n_classes, d.bits_per_class)
        out = self.output_bits(X, packed=False)
        return np.asarray(d.predict(out), dtype=np.int64)

    def predict_labels(self, X, *, packed: bool | None = None, threads: int | None = None) -> np.ndarray:
        """The class labels (``classes``) of raw features ``X`` (``packed``, ``threads``: :meth:`predict`)."""
        return np.asarray(self.classes)[self.predict(X, packed=packed, threads=threads)]

    def scores(self, X) -> np.ndarray:
        """``(n, n_classes)``: each class's count of ones in its group of output bits."""
        return np.asarray(self.decoder.scores(self.output_bits(X)), dtype=np.int64)

    def label_indices(self, y) -> np.ndarray:
        """Class indices of labels ``y`` (values of ``classes``); an unknown label is an error naming it."""
        index = {c: i for i, c in enumerate(self.classes)}
        out = np.empty(len(y), dtype=np.int64)
        for k, v in enumerate(y):
            key = _label(v) if not isinstance(v, str) else v
            if key not in index and isinstance(key, str) and all(isinstance(c, int) for c in self.classes):
                key = int(key) if key.lstrip("-").isdigit() else key  # integer labels read from text
            if key not in index:
                raise ShapeError(f"{self.name}: label {v!r} of sample {k} is not one of its classes "
                                 f"{list(self.classes)[:20]}")
            out[k] = index[key]
        return out

    def accuracy(self, X, y) -> float:
        """The fraction of samples whose predicted class is ``y`` (class indices ``0 .. n_classes - 1``)."""
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
            "inputs": self.inputs.to_dict(),
            "encoder": self.encoder.to_dict(),
            "circuit": circuit_to_dict(self.circuit),
            "decoder": self.decoder.to_dict(),
            "classes": list(self.classes),
            "target": self.target,
            "info": self.info,
        }
        d["checksum"] = content_checksum(d)
        return d

    @staticmethod
    def from_dict(d: dict) -> CircuitClassifier:
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
        classes = d.get("classes")
        if classes is not None and not isinstance(classes, list):
            raise ModelFileError(f"'classes' must be a list of labels, got {type(classes).__name__}")
        inputs = InputFormat.from_dict(d["inputs"]) if d.get("inputs") is not None else None
        return CircuitClassifier(encoder=encoder_from_dict(d["encoder"]), circuit=circuit_from_dict(d["circuit"]),
                                 decoder=GroupSumDecoder.from_dict(d["decoder"]), name=name, info=info,
                                 inputs=inputs, classes=classes, target=d.get("target"))

    def save(self, path) -> None:
        """Write atomically (:func:`paralens.files.atomic_write`): a failure leaves any previous file intact."""
        atomic_write(path, json.dumps(self.to_dict(), separators=(",", ":")))

    @staticmethod
    def load(path) -> CircuitClassifier:
        """Read a saved classifier; anything but a valid one is one :class:`ModelFileError` naming ``path``."""
        path = os.fspath(path)
        try:
            return CircuitClassifier.from_dict(read_json(path))
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


# -- the whole classifier as one GF(2) circuit (port integers in, class index out) ------------------------


def _encoder_bits(b: Builder, clf: CircuitClassifier, ports: list[list[np.ndarray]]) -> list:
    """The encoder's bits as comparators on the port integers: ``x > T`` or ``x == T``, unsigned, or signed
    through offset binary (the sign bit negated, ``T + 2**(w-1)``)."""
    offset_ports = {}
    out = []
    for f, op, t in clf.encoder.bit_tests():
        fmt = clf.inputs.features[f]
        num = ports[f]
        if fmt.signed:
            if f not in offset_ports:
                offset_ports[f] = num[:-1] + [b.op(G.NOT, num[-1])[0]]
            num, t = offset_ports[f], t + 2 ** (fmt.width - 1)
        out.append((const_greater if op == ">" else const_equal)(b, num, int(t))[0])
    return out


def _port_builder(clf: CircuitClassifier) -> tuple[Builder, list[list[np.ndarray]]]:
    """A builder whose inputs are the features' port integers (``width`` wires each, LSB first), and those wires."""
    widths = clf.inputs.widths
    b = Builder(clf.circuit.field, sum(widths))
    starts = np.cumsum([0] + widths)
    return b, [[np.array([starts[f] + j]) for j in range(w)] for f, w in enumerate(widths)]


def encoder_circuit(clf: CircuitClassifier, bits=None) -> Circuit:
    """The encoder alone as a GF(2) circuit: the port integers in (as :func:`classifier_circuit` takes
    them), the encoder's bits ``bits`` out (indices into :meth:`bit_tests`; default all of them), each a
    comparator as in :func:`classifier_circuit`."""
    b, ports = _port_builder(clf)
    enc_bits = _encoder_bits(b, clf, ports)
    keep = range(len(enc_bits)) if bits is None else [int(i) for i in bits]
    out = np.array([enc_bits[i] for i in keep], dtype=np.int64)
    return prune(fold_constants(b.build(out, name=f"{clf.name}_encoder")))


def classifier_circuit(clf: CircuitClassifier) -> Circuit:
    """The whole classifier as one GF(2) circuit: for each feature its port integer (``width`` wires,
    LSB first, two's complement where signed; :meth:`InputFormat.port_bits`), the encoder as comparators
    against the integer thresholds (:meth:`bit_tests`), the gate network, per-class popcounts (adder
    trees) and the argmax (ties to the lower class), and the class index out (``ceil(log2 n_classes)``
    bits, LSB first).

    It computes exactly ``clf.predict`` on every port integer (tested exhaustively on small ports and
    against an independent behavioural model by a Yosys proof), so anything made of it does too.
    """
    b, ports = _port_builder(clf)
    enc_bits = _encoder_bits(b, clf, ports)
    net = b.inline(clf.circuit, [np.array([e]) for e in enc_bits])
    best_idx = class_head(b, clf.decoder, np.array([o[0] for o in net]))
    c = b.build(np.concatenate(best_idx), name=clf.name)
    return prune(fold_constants(c))


def class_head(b: Builder, decoder: GroupSumDecoder, out: np.ndarray) -> list[np.ndarray]:
    """The class head on the network's output wires ``out`` (one per output bit): the count of ones in
    each class's group (a carry-save popcount) and the argmax over the counts (ties to the lower class);
    returns the class index bits (LSB first, ``ceil(log2 n_classes)`` of them, at least one)."""
    d = decoder
    groups = np.asarray(out).reshape(d.n_classes, d.bits_per_class)
    counts = carry_save_popcount(b, groups) if d.bits_per_class > 1 else [groups[:, 0]]
    nums = [[bit[c: c + 1] for bit in counts] for c in range(d.n_classes)]
    idx_bits = max(1, (d.n_classes - 1).bit_length())
    idx = [[b.const([(c >> j) & 1])[0:1] for j in range(idx_bits)] for c in range(d.n_classes)]
    return argmax_tree(b, nums, idx)


def class_from_bits(bits: np.ndarray) -> np.ndarray:
    """Class indices from the output bits of :func:`classifier_circuit` (LSB first)."""
    bits = np.asarray(bits, dtype=np.int64)
    return (bits * (1 << np.arange(bits.shape[1]))).sum(axis=1)
