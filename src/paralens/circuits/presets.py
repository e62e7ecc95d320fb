"""Boolean classifier presets: data, encoder, model and training method, one name each.

Features are integers, so that a saved classifier is exactly what the hardware
computes: MNIST pixels as bytes (0-255), Iris measurements in millimetres.

=================  ============================================================
preset             what
=================  ============================================================
``iris-rda``       the RDA paper's Iris two-class experiment: setosa vs
                   versicolor, features > midpoint of their range (min-max
                   normalised > 0.5), a 4-input lookup table (16 parameter
                   bits, zeros), one RDA pass, first 25 of each class train
``iris3-rda``      the same for three classes, one-hot labels, LUT 4 -> 3
``mnist01-rda``    the RDA paper's MNIST 0 vs 1: pixels > 32, its pseudo-linear
                   unit ``[popcount(p & x) <= popcount(p) div 4]`` with the
                   functional derivative, one RDA pass in data order, the best of
                   the first 1,000 steps on a validation tenth
``mnist01-vote``   MNIST 0 vs 1, beyond the paper: pixels > 32, 2 x 64 learned
                   LUT6 (group sums), the vote optimiser, shuffled passes
``iris-gates``     Iris three classes, a learned gate network (relaxed, hardened)
=================  ============================================================

The ``*-rda`` presets follow the authors' code (statusfailed/act-2020-experiments)
step for step; their data differ: the bundled Iris is Fisher's corrected data
(UCI's copy differs in samples 35 and 38: :func:`iris_paper_split` with
``uci=True`` rebuilds it), and the bundled MNIST is a subset (1,270 training and
422 test digits 0 and 1, against 12,665 and 2,115).  The result dict of an
``*-rda`` preset adds ``exact_test_accuracy``, the paper's measure (the output
bits equal the label bits), beside the classifier's ``test_accuracy`` (group
sums, ties to the lower class; the same for one output bit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from paralens.circuits import layers
from paralens.circuits.classifier import BooleanClassifier, bake, one_hot_binary
from paralens.circuits.encoders import GroupSumDecoder, ThermometerEncoder, ThresholdEncoder
from paralens.circuits.train import rda_learner, targets, train_circuit

# the RDA paper's MNIST split: the first 11,400 of the 12,665 training 0/1 digits train, the rest validate
PAPER_MNIST_TRAIN_FRACTION = 11400 / 12665
PAPER_SCORE_STEPS = 1000  # the parameters of the first 1,000 steps (p_0 .. p_999) are scored


@dataclass(frozen=True)
class BooleanPreset:
    name: str
    description: str
    dataset: str
    method: str  # "rda", "vote" or "relaxed"
    epochs: int
    options: dict = field(default_factory=dict)
    build: Callable | None = None  # (n_bits, n_classes) -> ParaCircuit, for rda / vote


def load_integer_data(dataset: str, data_dir=None, seed: int = 0):
    """``(X_train, y_train, X_test, y_test)`` with integer features, for a Boolean preset's data set."""
    from paralens import data

    if dataset.startswith("iris"):
        ds = data.load_iris()
        X = np.rint(ds.features * 10).astype(np.int64)  # millimetres, exact for the bundled data
        y = ds.labels.astype(np.int64)
        if dataset == "iris2":
            keep = y > 0
            X, y = X[keep], y[keep] - 1
        full = data.Dataset(X.astype(np.float32), y, n_classes=int(y.max()) + 1)
        test, train = data.stratified_split(full, 0.2, seed=seed)
        return (np.rint(train.features).astype(np.int64), train.labels, np.rint(test.features).astype(np.int64),
                test.labels)
    directory = data_dir or data.mnist_subset_path()
    tr, te = data.load_mnist(directory, "train", flat=True), data.load_mnist(directory, "test", flat=True)
    Xtr, Xte = np.rint(tr.features * 255).astype(np.int64), np.rint(te.features * 255).astype(np.int64)
    ytr, yte = tr.labels.astype(np.int64), te.labels.astype(np.int64)
    if dataset == "mnist01":
        a, b = ytr < 2, yte < 2
        return Xtr[a], ytr[a], Xte[b], yte[b]
    return Xtr, ytr, Xte, yte


def _pseudo_linear(n_bits, n_classes):
    return layers.pseudo_linear(n_bits, 1 if n_classes == 2 else n_classes)


PRESETS = {p.name: p for p in [
    BooleanPreset("iris-rda", "Iris versicolor vs virginica: thermometer 8 bits/feature, pseudo-linear unit, RDA",
                  "iris2", "rda", 30, {"encoder": ("thermometer", 8)}, _pseudo_linear),
    BooleanPreset("iris3-rda", "Iris 3 classes one-hot: thermometer 8 bits/feature, 3 pseudo-linear units, RDA",
                  "iris", "rda", 30, {"encoder": ("thermometer", 8)}, _pseudo_linear),
    BooleanPreset("mnist01-rda", "MNIST 0 vs 1: pixels > 127, pseudo-linear 784+784 -> 1, one RDA pass in data "
                  "order, best on a validation part (the RDA paper's procedure)", "mnist01", "rda", 1,
                  {"encoder": ("threshold", 127), "shuffle": False, "validation": 0.2}, _pseudo_linear),
    BooleanPreset("mnist01-vote", "MNIST 0 vs 1: pixels > 127, pseudo-linear 784+784 -> 1, vote optimiser, "
                  "batches of 16, shuffled", "mnist01", "vote", 5,
                  {"encoder": ("threshold", 127), "batch_size": 16, "threshold": 8, "validation": 0.2},
                  _pseudo_linear),
    BooleanPreset("iris-gates", "Iris 3 classes: thermometer 8 bits/feature (uniform), a learned network of "
                  "2 x 240 two-input gates (relaxed with Adam, hardened), group sums", "iris", "relaxed", 200,
                  {"encoder": ("thermometer-uniform", 8),
                   "network": {"widths": (240, 240), "tau": 10.0, "batch_size": 32, "lr": 0.05}}),
]}


def _encoder(spec, X):
    kind, arg = spec
    if kind == "thermometer":
        return ThermometerEncoder(arg).fit(X)
    if kind == "thermometer-uniform":
        return ThermometerEncoder(arg, method="uniform").fit(X)
    if kind == "threshold":
        return ThresholdEncoder(thresholds=np.full(X.shape[1], float(arg)))
    raise ValueError(f"unknown encoder {kind!r}")


def get_preset(name: str) -> BooleanPreset:
    if name not in PRESETS:
        raise KeyError(name)
    return PRESETS[name]


def train_preset(name: str, *, data_dir=None, seed: int = 0, epochs: int | None = None,
                 progress: bool = False) -> tuple[BooleanClassifier, dict]:
    """Train a Boolean preset; returns the hardened classifier and a result dict (accuracies, gates, seconds)."""
    from paralens.learning import optimisers

    preset = get_preset(name)
    t0 = time.perf_counter()
    Xtr, ytr, Xte, yte = load_integer_data(preset.dataset, data_dir, seed)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    opts = preset.options
    epochs = preset.epochs if epochs is None else int(epochs)
    result = {"model": name, "method": preset.method, "epochs": epochs, "seed": seed}
    if preset.method == "relaxed":
        from paralens.circuits.gatenet import train_gate_network

        enc = _encoder(opts["encoder"], Xtr)
        circuit, info = train_gate_network(enc.transform(Xtr), ytr, n_classes=n_classes, epochs=epochs, seed=seed,
                                           validation=(enc.transform(Xte), yte), progress=progress,
                                           **opts.get("network", {}))
        bpc = circuit.n_outputs // n_classes
        decoder = GroupSumDecoder(n_classes, bpc)
        result["relaxed_test_accuracy"] = info.get("relaxed_test_accuracy")
    else:
        enc = _encoder(opts["encoder"], Xtr)
        bits = enc.transform(Xtr).astype(np.int64)
        model = preset.build(bits.shape[1], n_classes)
        tgt = targets(ytr, n_classes, 0 if n_classes == 2 else 1)
        validation = None
        if opts.get("validation"):
            k = int(len(bits) * (1 - opts["validation"]))
            validation = (bits[k:], tgt[k:])
            bits, tgt = bits[:k], tgt[:k]
        opt = optimisers.vote(opts.get("threshold", 1)) if preset.method == "vote" else None
        init = {n: np.zeros(s.shape, dtype=np.int64) for n, s in model.params.items()} if opts.get("zeros") else None
        params, info = train_circuit(model, bits, tgt, epochs=epochs, batch_size=opts.get("batch_size", 1), seed=seed,
                                     optimiser=opt, shuffle=opts.get("shuffle", True), validation=validation,
                                     params=init, progress=progress)
        circuit = bake(model, params)
        if n_classes == 2:
            circuit = one_hot_binary(circuit)
        decoder = GroupSumDecoder(n_classes, 1)
    clf = BooleanClassifier(enc, circuit, decoder, name=name.replace("-", "_"),
                            info={"preset": name, "dataset": preset.dataset, "seed": seed, "epochs": epochs,
                                  "feature_bits": 8})
    result.update(train_accuracy=clf.accuracy(Xtr, ytr), test_accuracy=clf.accuracy(Xte, yte), gates=clf.gates,
                  depth=clf.circuit.depth(), seconds=time.perf_counter() - t0)
    return clf, result
