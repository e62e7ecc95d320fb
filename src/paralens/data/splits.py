"""The one split policy: which samples train and which test, for every command, preset and comparison.

* The tabular sets (Iris, breast cancer): a stratified hold-out (:func:`holdout`), each class
  divided in the same proportion, chosen from ``seed`` (:func:`~paralens.data.stratified_split`);
  :data:`TEST_FRACTION` (a fifth) unless the caller asks for another fraction (``paralens train
  --holdout``, whose default 0 trains on every flower and tests on none).
* MNIST: the files' own training and test parts (``mnist01``: their 0 and 1 digits, in data order).
* ``iris-paper`` / ``iris2-paper``: the RDA paper's fixed split (the first 25 of each class train),
  :func:`iris_paper_split`.

:func:`load_split` gives one :class:`Split` for a data set's name; ``integer=True`` gives the integer
features a Boolean classifier and its hardware take (Iris in millimetres, MNIST pixels as bytes), with
the same samples on each side as the float features.

>>> s = load_split("iris")
>>> len(s.y_train), len(s.y_test), s.n_classes
(120, 30, 3)
>>> bool((load_split("iris", integer=True).y_test == s.y_test).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paralens.data.breast_cancer import load_breast_cancer
from paralens.data.datasets import Dataset, stratified_mask, stratified_split
from paralens.data.idx import load_mnist, mnist_subset_path
from paralens.data.iris import load_iris

TEST_FRACTION = 0.2  # the held-out fraction of the tabular sets
DATASETS = ("iris", "iris2", "iris-paper", "iris2-paper", "breast-cancer", "mnist", "mnist01")


@dataclass(frozen=True)
class Split:
    """Features and integer labels of one data set, split once for every method (``x_test`` may be None)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    n_classes: int

    def arrays(self) -> tuple:
        """``(x_train, y_train, x_test, y_test)``."""
        return self.x_train, self.y_train, self.x_test, self.y_test


def holdout(dataset: Dataset, fraction: float = TEST_FRACTION, seed: int = 0) -> tuple[Dataset, Dataset | None]:
    """``(train, test)``: ``fraction`` of each class held out, chosen from ``seed``; ``(dataset, None)`` for 0."""
    if not fraction:
        return dataset, None
    test, train = stratified_split(dataset, fraction, seed=seed)  # (held-out part, rest)
    return train, test


def holdout_mask(labels, fraction: float = TEST_FRACTION, seed: int = 0, name: str = "data") -> np.ndarray:
    """The test rows of :func:`holdout` for labels of any values (a user's table): a boolean mask, all
    ``False`` for ``fraction`` 0."""
    if not fraction:
        return np.zeros(len(labels), dtype=bool)
    return stratified_mask(labels, fraction, seed, name)


# UCI's iris.data differs from Fisher's published table (and the bundled copy) in two samples
# (1-based 35 and 38; UCI's iris.names gives the corrections): these are UCI's values, in millimetres
_UCI_IRIS = {34: (49, 31, 15, 1), 37: (49, 31, 15, 1)}


def _iris_mm() -> tuple[np.ndarray, np.ndarray]:
    ds = load_iris()
    return np.rint(ds.features * 10).astype(np.int64), ds.labels.astype(np.int64)  # exact for the bundled data


def iris_paper_split(two_class: bool = False, *, uci: bool = False):
    """The RDA paper's Iris split: ``(X_train, y_train, X_test, y_test)``, features in millimetres.

    The samples are sorted by class (stably: data order within a class); the first 25 of each
    class train, the other 25 test, the training list in that order (all of class 0, then class
    1, ...).  ``two_class``: setosa vs versicolor (virginica removed), as the paper.  ``uci``: UCI's
    copy of the data (two samples differ from the bundled, corrected one).
    """
    X, y = _iris_mm()
    if uci:
        X = X.copy()
        for i, row in _UCI_IRIS.items():
            X[i] = row
    if two_class:
        keep = y < 2
        X, y = X[keep], y[keep]
    order = np.argsort(y, kind="stable")
    train, test = [], []
    for c in np.unique(y):
        members = order[y[order] == c]
        train.extend(members[:25])
        test.extend(members[25:])
    train, test = np.array(train), np.array(test)
    return X[train], y[train], X[test], y[test]


def _tabular(name: str, fraction: float, seed: int, integer: bool) -> Split:
    if name == "breast-cancer":
        if integer:
            raise ValueError("the breast-cancer set has no integer features")
        ds = load_breast_cancer()
        to = np.float32
    elif integer:  # the Iris measurements in millimetres; the split is the same (it reads only the labels)
        X, y = _iris_mm()
        if name == "iris2":  # versicolor vs virginica
            keep = y > 0
            X, y = X[keep], y[keep] - 1
        ds = Dataset(X.astype(np.float32), y, n_classes=int(y.max()) + 1)
        to = None
    else:
        if name == "iris2":
            raise ValueError("'iris2' is split with integer=True (the Boolean presets' data)")
        ds = load_iris()
        to = np.float32
    train, test = holdout(ds, fraction, seed)

    def feats(part):
        return part.features.astype(to) if to is not None else np.rint(part.features).astype(np.int64)

    n_classes = int(ds.labels.max()) + 1
    if test is None:
        return Split(name, feats(train), train.labels.astype(np.int64), None, None, n_classes)
    return Split(name, feats(train), train.labels.astype(np.int64), feats(test), test.labels.astype(np.int64),
                 n_classes)


def _mnist(name: str, data_dir, integer: bool, flat: bool) -> Split:
    directory = data_dir or mnist_subset_path()
    tr, te = load_mnist(directory, "train", flat=flat), load_mnist(directory, "test", flat=flat)
    xtr, xte, ytr, yte = tr.features, te.features, tr.labels, te.labels
    if integer:
        xtr, xte = np.rint(xtr * 255).astype(np.int64), np.rint(xte * 255).astype(np.int64)
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
    if name == "mnist01":
        a, b = ytr < 2, yte < 2
        return Split(name, xtr[a], ytr[a], xte[b], yte[b], 2)
    return Split(name, xtr, ytr, xte, yte, 10)


def load_split(dataset: str, *, data_dir=None, seed: int = 0, fraction: float = TEST_FRACTION,
               integer: bool = False, flat: bool = True) -> Split:
    """The data set called ``dataset``, split by the one policy (see the module's documentation).

    Args:
      seed: the seed of the tabular sets' stratified hold-out.
      fraction: the held-out fraction of the tabular sets (0: no test part).
      integer: integer features (Iris in millimetres, MNIST pixels as bytes) and int64 labels.
      flat: MNIST images as rows of 784 pixels (else ``(1, 28, 28)``, as the CNN presets take them).
    """
    if dataset in ("iris-paper", "iris2-paper"):
        X, y, Xt, yt = iris_paper_split(dataset == "iris2-paper")
        return Split(dataset, X, y, Xt, yt, int(y.max()) + 1)
    if dataset in ("iris", "iris2", "breast-cancer"):
        return _tabular(dataset, fraction, seed, integer)
    if dataset in ("mnist", "mnist01"):
        return _mnist(dataset, data_dir, integer, flat)
    raise ValueError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")


__all__ = ["DATASETS", "TEST_FRACTION", "Split", "holdout", "iris_paper_split", "load_split"]
