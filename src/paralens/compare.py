"""Boolean classifiers against real-valued baselines, on the same data and the same splits.

``compare(dataset)`` trains each method over several seeds and returns one row
per method: train and test accuracy (mean and spread), parameters or gates,
training time, inference samples per second (bit-packed for circuits), and for
circuits the logic depth (and LUT6 count when Yosys is asked for).  The real
baselines are paralens' own lenses (logistic regression as one dense lens, an
MLP, and for MNIST a small CNN) trained by the same ``Learner`` and ``fit``; the
circuits are trained by reverse derivative ascent, the vote optimiser, or
relaxed with Adam and hardened (:mod:`paralens.boolean.gatenet`).

``paralens compare --dataset NAME [--json] [--quick]`` is the command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from paralens.data.splits import Split
from paralens.data.splits import load_split as _load_split
from paralens.errors import ParalensError

DATASETS = ("iris", "breast-cancer", "mnist")


def load_split(dataset: str, *, data_dir=None, split_seed: int = 0) -> Split:
    """The bundled data set, split as every method sees it: :func:`paralens.data.splits.load_split`
    (stratified 80/20 for the tabular sets, MNIST's own parts)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    return _load_split(dataset, data_dir=data_dir, seed=split_seed)


# -- timing inference ------------------------------------------------------------------------------


def _rate(fn, x, min_samples: int = 65536, min_seconds: float = 0.2) -> float:
    reps = max(1, -(-min_samples // max(1, len(x))))
    xx = np.concatenate([x] * reps) if reps > 1 else x
    fn(xx[: min(len(xx), 256)])  # warm up (compilation, caches)
    t0, n = time.perf_counter(), 0
    while True:
        fn(xx)
        n += len(xx)
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return n / dt


# -- Boolean methods ------------------------------------------------------------------------------


def _encoder(split: Split, bits: int):
    """``(inputs, encoder)`` for the split's float features: their exact fixed-point ports
    (:func:`paralens.boolean.inputs.fit_inputs`) and thermometer thresholds on those integers."""
    from paralens.boolean.encoders import ThermometerEncoder
    from paralens.boolean.inputs import fit_inputs

    inputs = fit_inputs(split.x_train)
    method = "uniform" if split.name == "mnist" else "quantile"
    return inputs, ThermometerEncoder(bits, method=method).fit(inputs.integers(split.x_train))


def _features(clf, split: Split, which: str):
    """The features a classifier takes: on MNIST pixel bytes (every Boolean method), else the split's own."""
    x = getattr(split, f"x_{which}")
    if split.name == "mnist":
        return np.rint(x * 255).astype(np.int64)
    return x


def _boolean_row(clf, split: Split, seconds: float, hardware: bool) -> dict:
    xtr, xte = _features(clf, split, "train"), _features(clf, split, "test")
    xb = clf.bits(xte).astype(np.uint8)
    kernel, d = clf.packed_circuit(), clf.decoder

    def infer(bits):  # the fused bit-packed kernel (encoded bits in, classes out), one core
        return kernel.predict_groups(bits, d.n_classes, d.bits_per_class)

    row = {
        "train_accuracy": clf.accuracy(xtr, split.y_train),
        "test_accuracy": clf.accuracy(xte, split.y_test),
        "gates_or_params": clf.gates,
        "train_seconds": seconds,
        "samples_per_second": _rate(infer, xb),
        "depth": clf.circuit.depth(),
        "classifier_gates": clf.figures()["classifier_gates"],
    }
    if hardware:
        from paralens.synth.yosys import yosys_available

        if yosys_available():
            import tempfile

            from paralens.synth.verilog import write_gate_verilog
            from paralens.synth.yosys import abc_effort, synth_stats

            with tempfile.TemporaryDirectory() as d:
                path = f"{d}/net.v"
                write_gate_verilog(clf.circuit, path, "net")
                row["lut6"] = synth_stats(path, "net", luts=(6,), effort=abc_effort(clf.circuit.n_gates)).get("lut6")
    return row


def _rda_like(split: Split, seed: int, *, vote: bool, epochs: int, bits: int) -> tuple:
    from paralens.boolean import layers
    from paralens.boolean.classifier import CircuitClassifier, bake
    from paralens.boolean.encoders import GroupSumDecoder
    from paralens.boolean.train import targets, train_circuit
    from paralens.learning import optimisers

    inputs, enc = _encoder(split, bits)
    xb = enc.transform(inputs.integers(split.x_train)).astype(np.int64)
    model = layers.pseudo_linear(xb.shape[1], split.n_classes)
    tgt = targets(split.y_train, split.n_classes, 1)
    t0 = time.perf_counter()
    opt = optimisers.vote(8) if vote else None

    def score(p):  # training accuracy of the classifier (argmax of the class bits, ties to the lowest)
        return float(np.mean(np.argmax(model.get(p, xb), axis=1) == split.y_train))

    params, _ = train_circuit(model, xb, tgt, epochs=epochs, batch_size=32 if vote else 1, seed=seed, optimiser=opt,
                              score=score)
    seconds = time.perf_counter() - t0
    clf = CircuitClassifier(enc, bake(model, params), GroupSumDecoder(split.n_classes, 1), name="rda", inputs=inputs)
    return clf, seconds


def _gates(split: Split, seed: int, *, widths, epochs: int, bits: int, tau: float, lr: float, batch_size: int):
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.encoders import GroupSumDecoder
    from paralens.boolean.gatenet import train_gate_network

    inputs, enc = _encoder(split, bits)
    t0 = time.perf_counter()
    circuit, info = train_gate_network(enc.transform(inputs.integers(split.x_train)), split.y_train, widths=widths,
                                       n_classes=split.n_classes, epochs=epochs, seed=seed, tau=tau, lr=lr,
                                       batch_size=batch_size, schedule="cosine")
    seconds = time.perf_counter() - t0
    clf = CircuitClassifier(enc, circuit, GroupSumDecoder(split.n_classes, circuit.n_outputs // split.n_classes),
                            name="gates", inputs=inputs)
    return clf, seconds


def _preset(split: Split, seed: int, name: str, epochs: int | None = None):
    from paralens.boolean.presets import train_preset

    clf, result = train_preset(name, seed=seed, epochs=epochs)
    return clf, result["seconds"]


def _mnist_gates(split: Split, seed: int, *, widths, epochs: int):
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.encoders import GroupSumDecoder
    from paralens.boolean.gatenet import mnist_gates_config, run_gates

    cfg = mnist_gates_config().with_(widths=tuple(widths), epochs=epochs, seed=seed, augment_copies=0)
    t0 = time.perf_counter()
    circuit, info = run_gates(cfg, integer=True)  # pixel bytes, as the presets and the hardware take them
    seconds = time.perf_counter() - t0
    clf = CircuitClassifier(info["encoder"], circuit, GroupSumDecoder(10, circuit.n_outputs // 10), name="gates")
    return clf, seconds


# -- real-valued baselines --------------------------------------------------------------------------


def _real(split: Split, seed: int, *, kind: str, epochs: int) -> dict:
    from paralens.categories.lens import identity
    from paralens.categories.types import reals
    from paralens.instances.smooth import dense
    from paralens.learning import losses, optimisers
    from paralens.learning.supervised import Learner
    from paralens.training.fit import evaluate, fit

    split = _numeric(split)
    mu, sd = split.x_train.mean(0), split.x_train.std(0) + 1e-6
    if split.name == "mnist":
        mu, sd = 0.0, 1.0
    xtr, xte = ((split.x_train - mu) / sd).astype(np.float32), ((split.x_test - mu) / sd).astype(np.float32)
    n, c = xtr.shape[1], split.n_classes
    if kind == "logistic":
        model = identity(reals(n)) >> dense(n, c, None)
    elif kind == "mlp":
        model = identity(reals(n)) >> dense(n, 128, "relu", init="he_uniform") >> dense(128, c, None)
    elif kind == "cnn":
        from paralens.models import mnist_cnn

        model = mnist_cnn()
        xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
    else:
        raise ValueError(kind)
    learner = Learner(model, losses.softmax_cross_entropy(), optimisers.adam(1e-2 if kind == "logistic" else 1e-3))
    t0 = time.perf_counter()
    backend = "jax" if kind == "cnn" and _has_jax() else "numpy"  # the CNN compiles whole steps on JAX when present
    state, _ = fit(learner, xtr, split.y_train, epochs=epochs, batch_size=32 if split.name != "mnist" else 128,
                   seed=seed, progress=False, n_classes=c, backend=backend)
    params = {k: np.asarray(v) for k, v in state.params.items()}
    seconds = time.perf_counter() - t0

    def infer(x):
        return np.argmax(learner.predict(params, x), axis=-1)

    return {
        "train_accuracy": evaluate(learner, params, xtr, split.y_train, n_classes=c)["accuracy"],
        "test_accuracy": evaluate(learner, params, xte, split.y_test, n_classes=c)["accuracy"],
        "gates_or_params": learner.model.num_params(),
        "train_seconds": seconds,
        "samples_per_second": _rate(infer, xte, min_samples=4096),
    }


def _numeric(split: Split) -> Split:
    """The split with text columns one-hot (the training values' categories) for the real baselines."""
    if split.x_train.dtype != object:
        return split
    parts_tr, parts_te = [], []
    for j in range(split.x_train.shape[1]):
        tr, te = split.x_train[:, j], split.x_test[:, j]
        if all(isinstance(v, str) for v in tr):
            cats = sorted(set(tr))
            parts_tr += [np.array([v == c for v in tr], dtype=np.float64) for c in cats]
            parts_te += [np.array([v == c for v in te], dtype=np.float64) for c in cats]
        else:
            parts_tr.append(tr.astype(np.float64))
            parts_te.append(te.astype(np.float64))
    from dataclasses import replace

    return replace(split, x_train=np.stack(parts_tr, axis=1), x_test=np.stack(parts_te, axis=1))


def _has_jax() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


# -- the comparison -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    name: str
    kind: str  # "boolean" or "real"
    run: Callable  # (split, seed, quick) -> row dict (boolean: (clf, seconds))


def methods_for(dataset: str, quick: bool = False) -> list[Method]:
    """The methods compared on ``dataset`` (``quick``: fewer epochs, smaller networks, for tests)."""
    mnist = dataset == "mnist"

    def ep(full, q):
        return q if quick else full

    if mnist:
        out = [
            Method("rda", "boolean", lambda s, seed: _preset(s, seed, "mnist-rda")),
            Method("vote", "boolean", lambda s, seed: _preset(s, seed, "mnist-vote")),
        ]
        sizes = [("gates-S", (1000,) * 4), ("gates-M", (4000,) * 4), ("gates-L", (16000,) * 4)]
        for name, widths in sizes:
            w = tuple(max(100, x // 20) for x in widths) if quick else widths
            out.append(Method(name, "boolean", lambda s, seed, w=w: _mnist_gates(s, seed, widths=w,
                                                                                 epochs=ep(10, 1))))
        if quick:
            out = out[2:]  # the LUT presets (10-30 s a run) are left to the full comparison
    else:
        bits = 8
        out = [
            Method("rda", "boolean", lambda s, seed: _rda_like(s, seed, vote=False, epochs=ep(20, 1), bits=bits)),
            Method("vote", "boolean", lambda s, seed: _rda_like(s, seed, vote=True, epochs=ep(40, 2), bits=bits)),
        ]
        for name, widths in [("gates-S", (60, 60)), ("gates-M", (240, 240)), ("gates-L", (960, 960, 960))]:
            w = tuple(max(30, x // 10) for x in widths) if quick else widths
            w = w[:-1] + (w[-1] - w[-1] % 6,)  # the last layer splits into class groups
            out.append(Method(name, "boolean", lambda s, seed, w=w: _gates(
                s, seed, widths=w, epochs=ep(200, 20), bits=bits, tau=10.0, lr=0.05, batch_size=32)))
    out.append(Method("logistic", "real", lambda s, seed: _real(s, seed, kind="logistic", epochs=ep(20 if mnist else 200, 2))))
    out.append(Method("mlp", "real", lambda s, seed: _real(s, seed, kind="mlp", epochs=ep(20 if mnist else 200, 2))))
    if mnist:
        out.append(Method("cnn", "real", lambda s, seed: _real(s, seed, kind="cnn", epochs=ep(8, 1))))
    return out


def _summarise(rows: list[dict]) -> dict:
    out = {}
    for key in rows[0]:
        vals = np.array([r[key] for r in rows if r.get(key) is not None], dtype=np.float64)
        if len(vals) == 0:
            continue
        out[key] = float(vals.mean())
        if key in ("train_accuracy", "test_accuracy", "train_seconds"):
            out[key + "_std"] = float(vals.std())
    return out


_RUN_KEYS = ("train_accuracy", "test_accuracy", "gates_or_params", "train_seconds")


def compare(dataset: str, *, seeds=(0, 1, 2), quick: bool = False, hardware: bool = False, methods=None,
            data_dir=None, progress: bool = False, seed_limit: float = 60.0) -> list[dict]:
    """One row per method: mean (and spread) over ``seeds`` of accuracy, size, training time, inference speed.

    A method whose first run trains for longer than ``seed_limit`` seconds runs once (its row's ``seeds``
    says which seeds were used; ``runs`` holds each seed's accuracies, size and training time)."""
    available = _chosen(methods_for(dataset, quick), methods, dataset + (" (--quick)" if quick else ""))
    return _run_all(dataset, load_split(dataset, data_dir=data_dir), available, seeds, hardware, progress, seed_limit)


def compare_table(table, *, seeds=(0, 1, 2), quick: bool = False, hardware: bool = False, methods=None,
                  fraction: float = 0.2, progress: bool = False, seed_limit: float = 60.0) -> list[dict]:
    """:func:`compare` on a user's table (:func:`paralens.data.tables.read_table`), split once by the one
    split policy: every Boolean method of :class:`paralens.BooleanClassifier` (gates, rda, vote) and the
    real baselines (logistic regression, an MLP; text columns one-hot, features standardised)."""
    from paralens.data.tables import split_table

    train, test = split_table(table, fraction or 0.2)
    classes = np.unique(table.y)
    split = Split(table.path, train.X, np.searchsorted(classes, train.y), test.X, np.searchsorted(classes, test.y),
                  len(classes))
    available = _chosen(table_methods(quick), methods, table.path)
    return _run_all(table.path, split, available, seeds, hardware, progress, seed_limit)


def table_methods(quick: bool = False) -> list[Method]:
    """The methods compared on a user's table: the estimator's three methods and two real baselines."""
    def est(method, **kw):
        return Method(method, "boolean", lambda s, seed: _estimator(s, seed, method, **kw))

    q = {"epochs": 20} if quick else {}
    return [est("gates", **q), est("rda", **({"epochs": 1} if quick else {})),
            est("vote", **({"epochs": 2} if quick else {})),
            Method("logistic", "real", lambda s, seed: _real(s, seed, kind="logistic", epochs=2 if quick else 200)),
            Method("mlp", "real", lambda s, seed: _real(s, seed, kind="mlp", epochs=2 if quick else 200))]


def _estimator(split: Split, seed: int, method: str, **kw):
    from paralens.boolean.estimator import BooleanClassifier

    est = BooleanClassifier(method, seed=seed, **kw).fit(split.x_train, split.y_train)
    return est.model_, est.fit_seconds_


def _chosen(available: list[Method], methods, where: str) -> list[Method]:
    if methods is None:
        return available
    unknown = [m for m in methods if m not in {a.name for a in available}]
    if unknown:
        raise ParalensError(f"unknown method {unknown[0]!r} for {where}; "
                            f"choose from {', '.join(a.name for a in available)}")
    return [m for m in available if m.name in methods]


def _run_all(dataset: str, split: Split, todo: list[Method], seeds, hardware: bool, progress: bool,
             seed_limit: float) -> list[dict]:
    seeds = tuple(seeds)
    if not seeds:
        raise ParalensError("compare needs at least one seed")
    runs = [(m, s) for m in todo for s in seeds]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runs), desc=f"compare {dataset}", leave=False)
    table = []
    for m in todo:
        rows, used = [], []
        for seed in seeds:
            if rows and rows[0]["train_seconds"] > seed_limit:
                break  # one seed only where a run takes longer than seed_limit (the spread is then not shown)
            used.append(seed)
            if m.kind == "boolean":
                clf, seconds = m.run(split, seed)
                rows.append(_boolean_row(clf, split, seconds, hardware and seed == seeds[0]))
            else:
                rows.append(m.run(split, seed))
            if bar is not None:
                bar.update(1)
        summary = _summarise(rows)
        summary.update(method=m.name, kind=m.kind, dataset=dataset, seeds=used)
        summary["runs"] = [{"seed": s, **{k: r[k] for k in _RUN_KEYS if k in r}} for s, r in zip(used, rows)]
        table.append(summary)
    if bar is not None:
        bar.close()
    return table


def markdown(table: list[dict]) -> str:
    """The comparison as a Markdown table (accuracy as mean ± spread over the seeds)."""
    head = ("| method | kind | train acc. | test acc. | gates / params | classifier gates | train s | samples/s "
            "| depth | LUT6 |")
    lines = [head, "|" + "---|" * 10]
    for r in table:
        def pm(k, r=r):
            if len(r.get("seeds", [])) < 2:
                return f"{100 * r[k]:.1f} (1 seed)"
            return f"{100 * r[k]:.1f} ± {100 * r.get(k + '_std', 0):.1f}"

        cg = f"{int(r['classifier_gates']):,}" if "classifier_gates" in r else ""
        lines.append(
            f"| {r['method']} | {r['kind']} | {pm('train_accuracy')} | {pm('test_accuracy')} | "
            f"{int(r['gates_or_params']):,} | {cg} | {r['train_seconds']:.1f} | {r['samples_per_second']:,.0f} | "
            f"{int(r['depth']) if 'depth' in r else ''} | {int(r['lut6']) if r.get('lut6') else ''} |")
    return "\n".join(lines)
