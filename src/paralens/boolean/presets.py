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

from paralens.boolean import layers
from paralens.boolean.classifier import CircuitClassifier, bake, one_hot_binary
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder, ThresholdEncoder
from paralens.boolean.train import fit_groups, lut_groups, rda_learner
from paralens.data.splits import iris_paper_split, load_split

# the RDA paper's MNIST split: the first 11,400 of the 12,665 training 0/1 digits train, the rest validate
PAPER_MNIST_TRAIN_FRACTION = 11400 / 12665
PAPER_SCORE_STEPS = 1000  # the parameters of the first 1,000 steps (p_0 .. p_999) are scored


@dataclass(frozen=True)
class BooleanPreset:
    name: str
    description: str
    dataset: str
    method: str  # "rda-paper", "vote" or "gatenet" (a recipe of paralens.boolean.recipes)
    epochs: int
    options: dict = field(default_factory=dict)
    build: Callable | None = None  # (train bits, n_classes, seed) -> ParaCircuit, for rda-paper / vote


# -- data ------------------------------------------------------------------------------------------------

def load_integer_data(dataset: str, data_dir=None, seed: int = 0):
    """``(X_train, y_train, X_test, y_test)`` with integer features, for a Boolean preset's data set.

    The one split policy, :func:`paralens.data.splits.load_split` with ``integer=True``:
    ``"iris"`` / ``"iris2"`` (versicolor vs virginica): a stratified 80/20 split from ``seed``;
    ``"iris-paper"`` / ``"iris2-paper"`` (setosa vs versicolor): :func:`iris_paper_split`;
    ``"mnist01"``: the 0 and 1 digits of each split, in data order; ``"mnist"``: all digits.
    """
    return load_split(dataset, data_dir=data_dir, seed=seed, integer=True).arrays()


def minmax_half_thresholds(X) -> np.ndarray:
    """The RDA paper's Iris binarisation as thresholds: ``(x - min) / (max - min) > 0.5`` is
    ``x > (min + max) / 2``, min and max over the rows of ``X`` (the paper: the whole data set).

    On the bundled Iris (integer millimetres) this gives the paper's bits exactly: where a value
    lies exactly at the midpoint, the paper's double-precision quotient is 0.5 or just below, never
    above, and ``x > t`` is false there too (checked in the tests)."""
    X = np.asarray(X, dtype=np.float64)
    return (X.min(axis=0) + X.max(axis=0)) / 2


def label_bits(labels, n_classes: int, encoding: str) -> np.ndarray:
    """The RDA paper's label vectors: ``"binary"`` (the class index in ``ceil(log2 n_classes)`` bits,
    least significant first; one bit for two classes) or ``"one-hot"`` (``n_classes`` bits)."""
    labels = np.asarray(labels, dtype=np.int64)
    if encoding == "one-hot":
        return np.eye(n_classes, dtype=np.int64)[labels]
    if encoding == "binary":
        width = max(1, (n_classes - 1).bit_length())
        return (labels[:, None] >> np.arange(width)) & 1
    raise ValueError(f"label encoding must be 'binary' or 'one-hot', got {encoding!r}")


# -- the paper's training procedure ------------------------------------------------------------------------


def rda_scan(model, bits, target_bits, *, params=None, passes: int = 1, score=None,
             score_steps: int | None = None) -> tuple[dict, dict]:
    """Reverse derivative ascent as the RDA paper runs it: batch 1, the training list in its order,
    ``passes`` times, from ``params`` (default: all zeros).

    Without ``score``, returns the final parameters.  With ``score`` (``params -> number``), the
    parameters ``p_0, p_1, ..`` of the scan (``p_0`` the initial ones) are scored, only the first
    ``score_steps`` of them when given (the paper: 1,000), and the best is returned; ties go to the
    later parameters, as the paper's ``keepMaxBy`` does.  Returns ``(params, info)``.
    """
    learner = rda_learner(model)
    bits = np.asarray(bits, dtype=np.int64)
    target_bits = np.asarray(target_bits, dtype=np.int64)
    if params is None:
        params = {n: np.zeros(s.shape, dtype=np.int64) for n, s in model.params.items()}
    state = learner.init(0, params={k: np.asarray(v, dtype=np.int64).copy() for k, v in params.items()})
    t0 = time.perf_counter()
    best, best_step, scored = None, None, 0

    def consider(step):
        nonlocal best, best_step, scored
        if score is None or (score_steps is not None and scored >= score_steps):
            return
        sc = score(state.params)
        scored += 1
        if best is None or sc >= best[0]:
            best, best_step = (sc, {k: v.copy() for k, v in state.params.items()}), step

    consider(0)
    step = 0
    for _ in range(passes):
        for i in range(len(bits)):
            if score is not None and score_steps is not None and scored >= score_steps:
                break  # the later parameters are never candidates: stop
            state, _ = learner.step(state, bits[i: i + 1], target_bits[i: i + 1])
            step += 1
            consider(step)
    info = {"steps": step, "seconds": time.perf_counter() - t0}
    if score is None:
        return state.params, info
    info.update(score=best[0], best_step=best_step, scored=scored)
    return best[1], info


def _exact(model, params, bits, target_bits) -> float:
    out = model.get(params, np.asarray(bits, dtype=np.int64))
    return float(np.mean(np.all(out == target_bits, axis=1)))


def run_paper_iris(two_class: bool, encoding: str, *, uci: bool = False, passes: int = 1) -> dict:
    """The RDA paper's Iris experiment on the bundled data (or UCI's copy): ``{"accuracy", ...}``, the
    fraction of test samples whose output bits equal their label bits, and the trained pieces."""
    Xtr, ytr, Xte, yte = iris_paper_split(two_class, uci=uci)
    n_classes = 2 if two_class else 3
    enc = ThresholdEncoder(thresholds=minmax_half_thresholds(np.concatenate([Xtr, Xte])))
    tr, te = enc.transform(Xtr).astype(np.int64), enc.transform(Xte).astype(np.int64)
    ttr, tte = label_bits(ytr, n_classes, encoding), label_bits(yte, n_classes, encoding)
    model = layers.lut(4, n_out=ttr.shape[1])
    params, info = rda_scan(model, tr, ttr, passes=passes)
    return {"accuracy": _exact(model, params, te, tte), "train_accuracy": _exact(model, params, tr, ttr),
            "model": model, "params": params, "encoder": enc, "seconds": info["seconds"]}


def run_paper_mnist(data_dir=None, *, order=None, ratio: int = 4, pixel_threshold: int = 32,
                    score_steps: int | None = PAPER_SCORE_STEPS, passes: int = 1, model=None) -> dict:
    """The RDA paper's MNIST 0-vs-1 experiment on the bundled subset (or ``data_dir``).

    Pixels ``> 32`` (the paper's mean pixel value), label bit 1 for the digit 1; the 0/1 digits of
    the training split in data order, the first ``11400 / 12665`` of them train, the rest validate;
    ``rda_pseudo_linear(784, 4)`` from zeros with the functional derivative, one pass of RDA, batch
    1; the parameters after each of the first 1,000 steps are scored on the validation part and the
    best (ties to the later) is tested on the test split's 0/1 digits.  ``order`` permutes the
    training part (the paper: none).  Returns ``{"accuracy", "validation", "best_step", ...}``.
    """
    Xtr, ytr, Xte, yte = load_integer_data("mnist01", data_dir)
    enc = ThresholdEncoder(thresholds=np.full(Xtr.shape[1], float(pixel_threshold)))
    bits, tbits = enc.transform(Xtr).astype(np.int64), enc.transform(Xte).astype(np.int64)
    k = int(round(len(bits) * PAPER_MNIST_TRAIN_FRACTION))
    tr, ttr = bits[:k], ytr[:k, None]
    va, tva = bits[k:], ytr[k:, None]
    if order is not None:
        tr, ttr = tr[order], ttr[order]
    model = model or layers.rda_pseudo_linear(bits.shape[1], ratio)

    def score(p):
        return int(np.sum(model.get(p, va)[:, 0] == tva[:, 0]))

    params, info = rda_scan(model, tr, ttr, passes=passes, score=score, score_steps=score_steps)
    return {"accuracy": _exact(model, params, tbits, yte[:, None]), "validation": info["score"] / len(va),
            "best_step": info["best_step"], "steps": info["steps"], "n_train": k, "n_validation": len(va),
            "model": model, "params": params, "encoder": enc, "seconds": info["seconds"]}


# -- beyond the paper: a layer of LUT6 voting in groups -----------------------------------------------------


def _lut_groups(bits, n_classes, seed, *, per_class: int, k: int):
    return lut_groups(bits, n_classes, seed, per_class=per_class, k=k)


def _paper_iris_preset(two_class):
    def build(bits, n_classes, seed):
        return layers.lut(4, n_out=1 if two_class else n_classes)
    return build


PRESETS = {p.name: p for p in [
    BooleanPreset("iris-rda", "Iris setosa vs versicolor (the RDA paper): bits x > (min + max) / 2, a LUT 4 -> 1 "
                  "from zeros, one RDA pass, the first 25 of each class train", "iris2-paper", "rda-paper", 1,
                  {"encoder": ("minmax-half",), "labels": "binary"}, _paper_iris_preset(True)),
    BooleanPreset("iris3-rda", "Iris 3 classes one-hot (the RDA paper): bits x > (min + max) / 2, a LUT 4 -> 3 "
                  "from zeros, one RDA pass, the first 25 of each class train", "iris-paper", "rda-paper", 1,
                  {"encoder": ("minmax-half",), "labels": "one-hot"}, _paper_iris_preset(False)),
    BooleanPreset("mnist01-rda", "MNIST 0 vs 1 (the RDA paper): pixels > 32, [popcount(p & x) <= popcount(p) div 4] "
                  "from zeros, functional derivative, one RDA pass in data order, best of the first 1,000 steps "
                  "on the last tenth", "mnist01", "rda-paper", 1,
                  {"encoder": ("threshold", 32), "labels": "binary"},
                  lambda bits, n_classes, seed: layers.rda_pseudo_linear(bits.shape[1], 4)),
    BooleanPreset("mnist01-vote", "MNIST 0 vs 1: pixels > 32, 2 x 64 learned LUT6 on seeded wiring (group sums), "
                  "vote optimiser (threshold 4, counters kept), batches of 32, 8 shuffled passes over the "
                  "paper's training part (the last tenth validates)", "mnist01", "vote", 8,
                  {"encoder": ("threshold", 32), "batch_size": 32, "threshold": 4, "decay": 1.0,
                   "validation": 1 - PAPER_MNIST_TRAIN_FRACTION, "keep": "final"},
                  lambda bits, n_classes, seed: _lut_groups(bits, n_classes, seed, per_class=64, k=6)),
    BooleanPreset("mnist-vote", "MNIST 10 classes: pixels > 32, 10 x 128 learned LUT8 on seeded wiring (group sums), "
                  "vote optimiser (threshold 16, counters kept), batches of 32, one shuffled pass over the first "
                  "nine tenths of the training split; the parameters that score best on the last tenth",
                  "mnist", "vote", 1,
                  {"encoder": ("threshold", 32), "batch_size": 32, "threshold": 16, "decay": 1.0, "validation": 0.1},
                  lambda bits, n_classes, seed, per_class=128: _lut_groups(bits, n_classes, seed, per_class=per_class, k=8)),
    BooleanPreset("mnist-rda", "MNIST 10 classes: pixels > 32, 10 x 64 learned LUT6 on seeded wiring (group sums), "
                  "plain reverse derivative ascent (batch 1, p + p'), one shuffled pass; the parameters that score "
                  "best on the last tenth of the training split", "mnist", "vote", 1,
                  {"encoder": ("threshold", 32), "batch_size": 1, "rda": True, "validation": 0.1},
                  lambda bits, n_classes, seed, per_class=64: _lut_groups(bits, n_classes, seed, per_class=per_class,
                                                                          k=6)),
    BooleanPreset("mnist-gates", "MNIST 10 classes: 3 thermometer bits per pixel, 4 x 16,000 learned two-input gates "
                  "(first layer local), relaxed (softmax over the 16 gates, Adam, JAX when installed) and hardened, "
                  "group sums; training images with shifted copies", "mnist", "gatenet", 10,
                  {"config": "mnist_gates_config"}),
    BooleanPreset("mnist-gates-small", "MNIST 10 classes: 3 thermometer bits per pixel, 4 x 3,000 learned two-input "
                  "gates whose wires are learned too (8 candidates an input, the first layer's local), trained "
                  "straight through; at most 8,000 gates after hardening; shifted copies", "mnist", "gatenet", 8,
                  {"config": "mnist_gates_small_config"}),
    BooleanPreset("mnist-conv", "MNIST 10 classes: 3 thermometer bits per pixel as channels; logic-tree "
                  "convolutions (32 and 64 kernels of 7 gates on 3 x 3 fields) with OR pooling, 2 x 8,000 dense "
                  "gates; straight-through last epochs; shifted copies", "mnist", "gatenet", 10,
                  {"config": "mnist_conv_config"}),
    BooleanPreset("iris-gates", "Iris 3 classes: thermometer 8 bits/feature (uniform), a learned network of "
                  "2 x 240 two-input gates (relaxed with Adam, hardened), group sums", "iris", "gatenet", 200,
                  {"config": "iris_gates_config"}),
]}


def _encoder(spec, X):
    kind, *args = spec
    if kind == "thermometer":
        return ThermometerEncoder(args[0]).fit(X)
    if kind == "thermometer-uniform":
        return ThermometerEncoder(args[0], method="uniform").fit(X)
    if kind == "threshold":
        return ThresholdEncoder(thresholds=np.full(X.shape[1], float(args[0])))
    if kind == "minmax-half":
        return ThresholdEncoder(thresholds=minmax_half_thresholds(X))
    raise ValueError(f"unknown encoder {kind!r}")


def get_preset(name: str) -> BooleanPreset:
    """The Boolean preset called ``name`` (every preset, real and Boolean: :func:`paralens.models.find_preset`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown Boolean preset {name!r}; choose one of {', '.join(PRESETS)} "
                         "(the real-valued presets: paralens.models.PRESETS)")
    return PRESETS[name]


def train_preset(name: str, *, data_dir=None, seed: int = 0, epochs: int | None = None,
                 progress: bool = False, verbose: bool = False, model_options: dict | None = None) -> tuple[CircuitClassifier, dict]:
    """Train a Boolean preset; returns the hardened classifier and a result dict (accuracies, gates, seconds).

    ``epochs`` is the number of passes (``rda-paper``: over the training list in its order; the
    deterministic paper procedures ignore ``seed``).  ``model_options`` go to the preset's model builder
    (e.g. ``{"per_class": 32}`` for the LUT presets)."""

    preset = get_preset(name)
    t0 = time.perf_counter()
    Xtr, ytr, Xte, yte = load_integer_data(preset.dataset, data_dir, seed)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    opts = preset.options
    epochs = preset.epochs if epochs is None else int(epochs)
    result = {"model": name, "method": "rda" if opts.get("rda") else preset.method, "epochs": epochs, "seed": seed}
    if preset.method == "gatenet":  # a recipe of paralens.boolean.gatenet (encoding, wiring, augmentation)
        from paralens.boolean import recipes

        cfg = getattr(recipes, opts["config"])().with_(seed=seed, split_seed=seed)
        backend = cfg.backend
        if backend == "jax":
            try:
                import jax  # noqa: F401
            except ImportError:  # the recipe compiles with JAX where it is installed; NumPy runs the same lenses
                backend = "numpy"
        circuit, info = recipes.run_gates(cfg, progress=progress, verbose=verbose, backend=backend, epochs=epochs, integer=True)
        enc = info["encoder"]
        decoder = GroupSumDecoder(n_classes, circuit.n_outputs // n_classes)
        result.update(relaxed_test_accuracy=info.get("relaxed_test_accuracy"), backend=backend,
                      train_seconds=info.get("seconds"), architecture=cfg.architecture,
                      hardening_gap=info["relaxed_test_accuracy"] - info["hardened_test_accuracy"])
    elif preset.method == "rda-paper":
        # fitted on the whole data set, as the paper normalises (a fixed threshold needs no fitting)
        enc = _encoder(opts["encoder"], np.concatenate([Xtr, Xte]))
        bits = enc.transform(Xtr).astype(np.int64)
        model = preset.build(bits, n_classes, seed, **(model_options or {}))
        if preset.dataset == "mnist01":
            r = run_paper_mnist(data_dir, passes=epochs, model=model)
            params = r["params"]
            result.update(validation_accuracy=r["validation"], best_step=r["best_step"])
        else:
            params, _ = rda_scan(model, bits, label_bits(ytr, n_classes, opts["labels"]), passes=epochs)
        tte = label_bits(yte, n_classes, opts["labels"])
        result["exact_test_accuracy"] = _exact(model, params, enc.transform(Xte).astype(np.int64), tte)
        circuit = bake(model, params)
        if circuit.n_outputs == 1:
            circuit = one_hot_binary(circuit)
        decoder = GroupSumDecoder(n_classes, 1)
    else:  # vote: a LUT layer voting in groups, batches, shuffled passes, best epoch on a validation part
        enc = _encoder(opts["encoder"], Xtr)
        bits = enc.transform(Xtr).astype(np.int64)
        model = preset.build(bits, n_classes, seed, **(model_options or {}))
        bpc = model.circuit.n_outputs // n_classes
        vote = None if opts.get("rda") else (opts.get("threshold", 1), opts.get("decay", 0.0))
        params, info = fit_groups(model, bits, ytr, n_classes, epochs=epochs, batch_size=opts.get("batch_size", 1),
                                  seed=seed, vote=vote, validation=opts.get("validation", 0.0),
                                  keep=opts.get("keep", "best"), progress=progress,
                                  verbose=verbose)
        if "validation_accuracy" in info:
            result["validation_accuracy"] = info["validation_accuracy"]
        circuit = bake(model, params)
        decoder = GroupSumDecoder(n_classes, bpc)
    clf = CircuitClassifier(enc, circuit, decoder, name=name.replace("-", "_"),
                            info={"preset": name, "dataset": preset.dataset, "seed": seed, "epochs": epochs,
                                  "feature_bits": 8})
    result.update(train_accuracy=clf.accuracy(Xtr, ytr), test_accuracy=clf.accuracy(Xte, yte), gates=clf.gates,
                  depth=clf.circuit.depth(), seconds=time.perf_counter() - t0)
    return clf, result
