"""``paralens.BooleanClassifier``: a scikit-learn estimator that learns a Boolean circuit classifier.

It follows scikit-learn's estimator contract (``fit``/``predict``/``predict_proba``/``score``,
``get_params``/``set_params``, ``classes_``, ``n_features_in_``, ``feature_names_in_``) and passes
scikit-learn's own ``check_estimator``, so it works in ``Pipeline``, ``GridSearchCV`` and
``cross_val_score``.  What it learns is a :class:`~paralens.boolean.classifier.CircuitClassifier`
(``model_``): raw features become exact integers (:mod:`paralens.boolean.inputs`), the integers
bits (a thermometer code per number, one-hot per text column), the bits a GF(2) circuit, and the
circuit's class groups a label.  ``to_verilog`` writes hardware that computes exactly ``predict``.

>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = BooleanClassifier(gates=60, epochs=60, seed=0).fit(X, y)
>>> round(clf.score(X, y), 2) >= 0.9, clf.n_gates_ <= 120
(True, True)

Methods (``method``):

* ``"gates"`` (default): a network of ``layers`` layers of ``gates`` learned two-input gates (the
  last rounded up to a multiple of the number of classes), relaxed and trained with Adam
  (``epochs``, ``learning_rate``, ``batch_size``, temperature ``tau``), then hardened;
* ``"rda"``: ``luts`` learned ``lut_inputs``-input lookup tables per class, trained by reverse
  derivative ascent (``p + p'``, the paper's Boolean learner) from zeros;
* ``"vote"``: the same tables trained by the vote optimiser (``vote_threshold``).

A hyperparameter that the chosen method does not use must keep its default: setting it is an error.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from paralens.boolean.classifier import CircuitClassifier, bake
from paralens.boolean.encoders import ColumnEncoder, GroupSumDecoder, OneHotEncoder, ThermometerEncoder
from paralens.boolean.inputs import fit_inputs
from paralens.errors import ParalensError

METHODS = ("gates", "rda", "vote")
#: the hyperparameters each method uses (the others must keep their defaults)
USES = {
    "gates": {"layers", "gates", "learning_rate", "tau"},
    "rda": {"luts", "lut_inputs"},
    "vote": {"luts", "lut_inputs", "vote_threshold"},
}
#: per method: epochs and batch size when not given
DEFAULTS = {"gates": (200, 32), "rda": (4, 1), "vote": (16, 32)}


class BooleanClassifier(ClassifierMixin, BaseEstimator):
    """A classifier that is a Boolean circuit (see the module).

    Args:
      method: ``"gates"``, ``"rda"`` or ``"vote"``.
      layers, gates: the gate network (``method="gates"``): layers of ``gates`` gates each.
      luts, lut_inputs: the lookup tables per class and their inputs (``"rda"``, ``"vote"``).
      bits: thermometer bits per numeric feature; ``thresholds``: ``"quantile"`` or ``"uniform"``.
      decimals: the fixed-point scale of numeric features, ``round(x * 10**decimals)``: ``None``
        (from the training data), an integer, or a dict from feature name to integer.
      epochs, batch_size: ``None`` for the method's defaults (gates 200 and 32, rda 4 and 1, vote 16 and 32).
      learning_rate, tau: Adam's step and the temperature of the class sums (``"gates"``).
      vote_threshold: votes needed to flip a table entry (``"vote"``).
      seed: every random choice (wiring, initial values, batches).
      progress: a progress bar while training (on a terminal).

    Attributes after ``fit``: ``model_`` (the :class:`CircuitClassifier`), ``classes_``,
    ``n_features_in_``, ``feature_names_in_`` (for a DataFrame), ``circuit_`` (the learned GF(2)
    circuit), ``n_gates_`` and ``depth_`` (its two-input gates and logic levels),
    ``classifier_gates_`` and ``classifier_depth_`` (the whole classifier from port integers to
    class index: encoder comparators, network, class counts and argmax), ``fit_seconds_``.
    """

    def __init__(self, method: str = "gates", *, layers: int = 2, gates: int = 240, luts: int = 32,
                 lut_inputs: int = 6, bits: int = 8, thresholds: str = "quantile", decimals=None,
                 epochs: int | None = None, batch_size: int | None = None, learning_rate: float = 0.05,
                 tau: float = 10.0, vote_threshold: int = 4, seed: int = 0, progress: bool = False):
        self.method = method
        self.layers = layers
        self.gates = gates
        self.luts = luts
        self.lut_inputs = lut_inputs
        self.bits = bits
        self.thresholds = thresholds
        self.decimals = decimals
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.tau = tau
        self.vote_threshold = vote_threshold
        self.seed = seed
        self.progress = progress

    # -- checking the hyperparameters --------------------------------------------------------------
    def _checked(self) -> dict:
        """The hyperparameters, checked, with the method's defaults filled in."""
        if self.method not in METHODS:
            raise ValueError(f"BooleanClassifier: method must be one of {', '.join(METHODS)}, not {self.method!r}")
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        for name in set().union(*USES.values()) - USES[self.method]:
            if getattr(self, name) != defaults[name]:
                users = [m for m in METHODS if name in USES[m]]
                raise ValueError(f"BooleanClassifier: {name}={getattr(self, name)!r} applies to method "
                                 f"{' or '.join(map(repr, users))}, not {self.method!r}")
        p = self.get_params()
        for name in ("layers", "gates", "luts", "lut_inputs", "bits", "vote_threshold"):
            _require_int(name, p[name], 1)
        for name in ("epochs", "batch_size"):
            if p[name] is not None:
                _require_int(name, p[name], 1)
        _require_int("seed", p["seed"], 0)
        for name in ("learning_rate", "tau"):
            v = p[name]
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"BooleanClassifier: {name} must be a number above 0, not {v!r}")
        if self.thresholds not in ("quantile", "uniform"):
            raise ValueError(f"BooleanClassifier: thresholds must be 'quantile' or 'uniform', not {self.thresholds!r}")
        epochs, batch = DEFAULTS[self.method]
        p["epochs"] = epochs if p["epochs"] is None else p["epochs"]
        p["batch_size"] = batch if p["batch_size"] is None else p["batch_size"]
        return p

    # -- fit ---------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Learn a circuit classifier from ``X`` (n_samples, n_features: numbers, or text columns that are
        one-hot encoded) and labels ``y`` (any values: integers, strings)."""
        t0 = time.perf_counter()
        p = self._checked()
        X, y = validate_data(self, X, y, dtype=None, ensure_all_finite=False)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"BooleanClassifier: y holds only one class ({classes[0]!r}); a classifier needs "
                             "samples of at least two classes")
        names = list(getattr(self, "feature_names_in_", [f"x{j}" for j in range(X.shape[1])]))
        inputs = fit_inputs(X, names, decimals=self.decimals)
        q = inputs.integers(X)
        encoder = _encoder(inputs, p["bits"], p["thresholds"]).fit(q)
        bits = encoder.transform(q)
        circuit, decoder, info = _train(bits, y_idx.astype(np.int64), len(classes), p)
        info.update(method=self.method, params={k: v for k, v in self.get_params().items()
                                                if not isinstance(v, dict)})
        self.model_ = CircuitClassifier(encoder, circuit, decoder, name="boolean_classifier", info=info,
                                        inputs=inputs, classes=tuple(classes.tolist()))
        self.classes_ = classes
        self._set_figures()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _set_figures(self):
        self.circuit_ = self.model_.circuit
        self.n_gates_ = self.model_.gates
        self.depth_ = self.model_.circuit.depth()

    @property
    def classifier_gates_(self) -> int:
        check_is_fitted(self)
        return self.model_.figures()["classifier_gates"]

    @property
    def classifier_depth_(self) -> int:
        check_is_fitted(self)
        return self.model_.figures()["classifier_depth"]

    # -- predict -----------------------------------------------------------------------------------
    def _checked_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)

    def predict(self, X):
        """The predicted label of each row of ``X``."""
        X = self._checked_X(X)
        return self.classes_[self.model_.predict(X)]

    def predict_proba(self, X):
        """Class probabilities: the softmax of the class scores (each class's count of ones in its group of
        output bits) divided by ``tau`` for gate networks (the temperature they were trained with), by 1
        for lookup tables.  The most probable class is the predicted one (ties to the first class)."""
        X = self._checked_X(X)
        s = self.model_.scores(X).astype(np.float64) / (self.tau if self.method == "gates" else 1.0)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    # -- files and hardware --------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the fitted classifier as a ``.plc`` file (JSON, atomically), with its hyperparameters."""
        check_is_fitted(self)
        model = self.model_
        if hasattr(self, "feature_names_in_"):
            model = _with_info(model, feature_names_given=True)
        model.save(path)

    @classmethod
    def load(cls, path) -> BooleanClassifier:
        """A fitted estimator from a ``.plc`` file (one written by :meth:`save` or by ``paralens train``)."""
        model = CircuitClassifier.load(path)
        return cls.from_model(model)

    @classmethod
    def from_model(cls, model: CircuitClassifier) -> BooleanClassifier:
        """A fitted estimator around a :class:`CircuitClassifier` (its saved hyperparameters where known)."""
        params = model.info.get("params") if isinstance(model.info.get("params"), dict) else {}
        known = inspect.signature(cls.__init__).parameters
        est = cls(**{k: v for k, v in params.items() if k in known and k != "self"})
        est.model_ = model
        est.classes_ = np.asarray(model.classes)
        est.n_features_in_ = model.n_features
        if model.info.get("feature_names_given"):
            est.feature_names_in_ = np.asarray(model.feature_names, dtype=object)
        est._set_figures()
        return est

    def to_pyrtl(self, *, pipeline: int | None = None):
        """The whole classifier as a PyRTL design (ports named after the features)."""
        from paralens.boolean.hardware import classifier_design

        check_is_fitted(self)
        return classifier_design(self.model_, pipeline=pipeline)

    def to_verilog(self, path, testbench=None, X=None, *, pipeline: int | None = None, form: str = "parallel",
                   lanes: int | None = None) -> dict:
        """Write the classifier as Verilog (a header says what each port means); with ``testbench`` and
        ``X`` also a testbench that feeds every row of ``X`` and prints one label per line, exactly what
        :meth:`predict` returns.  ``form="stream"``: the features over a bus, ``lanes`` per cycle
        (:func:`paralens.boolean.hardware.export_verilog`).  Returns the figures (gates, depth, latency,
        pins, files)."""
        from paralens.boolean.hardware import export_verilog

        check_is_fitted(self)
        if (testbench is None) != (X is None):
            raise ValueError("to_verilog: a testbench needs the rows X to feed it, and X needs a testbench path")
        if X is not None:
            X = self._checked_X(X)
        return export_verilog(self.model_, path, testbench=testbench, X=X, pipeline=pipeline, form=form, lanes=lanes)

    # -- scikit-learn plumbing -------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __getstate__(self):
        """Pickled through the JSON description of the model (no circuit objects in the pickle)."""
        state = dict(super().__getstate__())
        state.pop("circuit_", None)  # rebuilt from model_
        if "model_" in state:
            state["model_"] = state["model_"].to_dict()
        return state

    def __setstate__(self, state):
        fitted = isinstance(state.get("model_"), dict)
        if fitted:
            state = dict(state, model_=CircuitClassifier.from_dict(state["model_"]))
        super().__setstate__(state)
        if fitted:
            self._set_figures()


def _require_int(name: str, v, lo: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
        raise ValueError(f"BooleanClassifier: {name} must be an integer >= {lo}, not {v!r}")


def _with_info(model: CircuitClassifier, **extra) -> CircuitClassifier:
    from dataclasses import replace

    return replace(model, info={**model.info, **extra})


def _encoder(inputs, bits: int, method: str) -> ColumnEncoder:
    """Thermometer bits for numbers, one-hot bits for categories (an unseen value: all zero)."""
    parts = []
    for j, f in enumerate(inputs.features):
        if f.kind == "category":
            parts.append(((j,), OneHotEncoder(categories=(tuple(range(len(f.categories))),),
                                              handle_unknown="ignore")))
        else:
            parts.append(((j,), ThermometerEncoder(bits, method=method)))
    return ColumnEncoder(parts)


def _train(bits, y, n_classes: int, p: dict):
    """``(circuit, decoder, info)`` by the method of the checked hyperparameters ``p``."""
    if p["method"] == "gates":
        from paralens.boolean.gate_training import train_gate_network

        last = -(-p["gates"] // n_classes) * n_classes
        widths = [p["gates"]] * (p["layers"] - 1) + [last]
        circuit, info = train_gate_network(bits, y, widths=widths, n_classes=n_classes, epochs=p["epochs"],
                                           batch_size=p["batch_size"], lr=p["learning_rate"], seed=p["seed"],
                                           tau=p["tau"], progress=p["progress"])
        decoder = GroupSumDecoder(n_classes, circuit.n_outputs // n_classes)
        return circuit, decoder, {"train_seconds": info["seconds"], "widths": widths}
    from paralens.boolean.train import fit_groups, lut_groups

    order = np.random.default_rng(np.random.SeedSequence([p["seed"], 3])).permutation(len(bits))
    model = lut_groups(bits, n_classes, p["seed"], per_class=p["luts"], k=p["lut_inputs"])
    vote = (p["vote_threshold"], 1.0) if p["method"] == "vote" else None
    t0 = time.perf_counter()
    params, _ = fit_groups(model, bits[order], y[order], n_classes, epochs=p["epochs"], batch_size=p["batch_size"],
                           seed=p["seed"], vote=vote, progress=p["progress"])
    circuit = bake(model, params)
    return circuit, GroupSumDecoder(n_classes, p["luts"]), {"train_seconds": time.perf_counter() - t0}


__all__ = ["BooleanClassifier", "METHODS", "ParalensError"]
