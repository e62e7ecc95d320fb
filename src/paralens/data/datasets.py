"""Labelled data sets, splits, one-hot labels, mini-batches and input-shape checks.

A :class:`Dataset` is checked once, when it is made (same length, not empty,
finite features, labels in range), so that a bad file fails before training
starts rather than as a NaN loss an hour later.

>>> ds = Dataset(np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 0, 1]), 2)
>>> [y.tolist() for _, y in batches(ds, 4)]
[[0, 1, 0, 1], [0, 1]]
>>> one_hot(np.array([2, 0]), 3)
array([[0., 0., 1.],
       [1., 0., 0.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from paralens.errors import DataError, ShapeError


class Dataset:
    """Features and labels of ``N`` samples, checked once on construction.

    Args:
      features: array of shape ``(N, ...)``, numeric; no NaN or infinity.
      labels: array of shape ``(N,)`` of class indices when ``n_classes`` is
        given (integers in ``0..n_classes-1``); any numeric array ``(N, ...)``
        of targets when ``n_classes`` is ``None`` (regression, bit vectors).
      n_classes: number of classes, or ``None``.
      name: used in error messages and ``repr``.
      class_names: optional names of the classes, ``n_classes`` of them.

    ``len(ds)`` is ``N``; ``ds[i]`` (an index array, a slice or a Boolean mask)
    is the sub-dataset of those samples.

    Raises:
      DataError: lengths differ, the set is empty, features are not numeric or
        hold NaN or infinity, labels are not integers or out of range.
    """

    __slots__ = ("class_names", "features", "labels", "n_classes", "name")

    def __init__(self, features, labels, n_classes: int | None = None, *, name: str = "dataset",
                 class_names: Sequence[str] | None = None):
        x, y = np.asarray(features), np.asarray(labels)
        if x.ndim == 0 or y.ndim == 0:
            raise DataError(f"{name}: features and labels need a leading sample dimension, "
                            f"got shapes {x.shape} and {y.shape}")
        if len(x) != len(y):
            raise DataError(f"{name}: {len(x)} feature rows but {len(y)} labels")
        if len(x) == 0:
            raise DataError(f"{name}: the data set is empty (0 samples)")
        _check_numeric(x, f"{name}: features")
        _check_numeric(y, f"{name}: labels")
        _check_finite(x, f"{name}: features")
        if n_classes is not None:
            _check_class_labels(y, int(n_classes), f"{name}: labels")
            n_classes = int(n_classes)
        else:
            _check_finite(y, f"{name}: labels")
        if class_names is not None:
            class_names = tuple(class_names)
            if n_classes is None or len(class_names) != n_classes:
                raise DataError(f"{name}: {len(class_names)} class names for n_classes={n_classes}")
        values = {"features": x, "labels": y, "n_classes": n_classes, "name": name, "class_names": class_names}
        for slot, value in values.items():
            object.__setattr__(self, slot, value)

    def __setattr__(self, key, value):
        raise AttributeError(f"Dataset is immutable; make a new one instead of setting {key!r}")

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index) -> Dataset:
        if isinstance(index, (int, np.integer)):
            index = [index]
        return Dataset(self.features[index], self.labels[index], self.n_classes,
                       name=self.name, class_names=self.class_names)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample's features (without the batch dimension)."""
        return self.features.shape[1:]

    def class_counts(self) -> np.ndarray:
        """Number of samples of each class, shape ``(n_classes,)``."""
        if self.n_classes is None:
            raise DataError(f"{self.name}: class_counts needs n_classes")
        return np.bincount(self.labels, minlength=self.n_classes)

    def __repr__(self) -> str:
        classes = "" if self.n_classes is None else f", n_classes={self.n_classes}"
        return (f"Dataset({self.name!r}, {len(self)} samples, features {self.features.dtype}{list(self.sample_shape)}, "
                f"labels {self.labels.dtype}{list(self.labels.shape[1:])}{classes})")


def _check_numeric(a: np.ndarray, what: str) -> None:
    if a.dtype.kind not in "biuf":
        raise DataError(f"{what} must be numeric, got dtype {a.dtype}")


def _check_finite(a: np.ndarray, what: str) -> None:
    if a.dtype.kind != "f":
        return
    bad = ~np.isfinite(a)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(len(a), -1).any(axis=1))[0])
        kind = "NaN" if np.isnan(a).any() else "infinite values"
        raise DataError(f"{what} contain {kind}: {int(bad.sum())} non-finite entries, the first in sample {first}")


def _check_class_labels(y: np.ndarray, n_classes: int, what: str) -> None:
    if n_classes < 1:
        raise DataError(f"{what}: n_classes must be at least 1, got {n_classes}")
    if y.ndim != 1:
        raise DataError(f"{what} must be class indices of shape (N,), got shape {y.shape}"
                        + (" (one-hot? use labels.argmax(axis=1))" if y.ndim == 2 else ""))
    if y.dtype.kind not in "biu":
        raise DataError(f"{what} must be integer class indices, got dtype {y.dtype} (convert with .astype(int))")
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{what}: label {int(y[i])} at index {i} is outside 0..{n_classes - 1} "
                        f"(n_classes={n_classes}); {int(bad.sum())} labels are out of range")


def one_hot(labels, n_classes: int, dtype=np.float32) -> np.ndarray:
    """The one-hot encoding ``(N,) -> (N, n_classes)`` of class indices.

    >>> one_hot([1], 2, dtype=int)
    array([[0, 1]])

    Raises:
      DataError: labels are not integers in ``0..n_classes-1``.
    """
    y = np.asarray(labels)
    _check_class_labels(y, int(n_classes), "one_hot: labels")
    out = np.zeros((len(y), int(n_classes)), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def stratified_split(dataset: Dataset, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split ``dataset`` in two so that each class is divided in the same proportion.

    Of the ``n_c`` samples of class ``c``, ``floor(fraction * n_c + 1/2)`` go to the
    first part, chosen at random from ``seed`` (deterministic: same seed, same
    split); the rest go to the second. Both parts keep the original sample order.
    Classes are the labels' distinct values, so ``n_classes`` may be ``None``
    as long as labels are one-dimensional.

    >>> ds = Dataset(np.zeros((10, 1)), np.array([0] * 6 + [1] * 4), 2)
    >>> a, b = stratified_split(ds, 0.5, seed=0)
    >>> a.class_counts().tolist(), b.class_counts().tolist()
    ([3, 2], [3, 2])

    Raises:
      DataError: ``fraction`` is not strictly between 0 and 1, or a part would be empty.
    """
    y = dataset.labels
    if y.ndim != 1:
        raise DataError(f"{dataset.name}: stratified_split needs labels of shape (N,), got {y.shape}")
    take = stratified_mask(y, fraction, seed, dataset.name)
    return dataset[take], dataset[~take]


def stratified_mask(labels, fraction: float, seed: int = 0, name: str = "data") -> np.ndarray:
    """The first part of :func:`stratified_split` as a boolean mask over ``labels`` (any values, 1-D)."""
    if not 0.0 < float(fraction) < 1.0:
        raise DataError(f"stratified_split: fraction must be strictly between 0 and 1, got {fraction}")
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    first = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = int(np.floor(fraction * len(members) + 0.5))
        first.append(rng.permutation(members)[:k])
    take = np.zeros(len(y), dtype=bool)
    take[np.concatenate(first)] = True
    for part, mask in (("first", take), ("second", ~take)):
        if not mask.any():
            raise DataError(f"{name}: stratified_split with fraction={fraction} leaves the {part} part "
                            f"empty ({len(y)} samples)")
    return take


def _as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return Dataset(data[0], data[1], None, name="batches")
    raise DataError(f"batches: expected a Dataset or a pair (features, labels), got {type(data).__name__}")


def batches(data, batch_size: int, *, shuffle: bool = False, seed=None, rng: np.random.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Mini-batches ``(x, y)`` of ``data`` (a :class:`Dataset` or a pair of arrays), one epoch.

    Every sample appears exactly once, in order or, with ``shuffle``, in a random
    order drawn from ``seed`` (an int) or ``rng`` (a ``numpy.random.Generator``,
    which advances, so successive epochs differ). The last batch is smaller
    unless ``drop_last``.

    Raises:
      DataError: ``batch_size`` is not a positive integer, ``shuffle`` without
        ``seed`` or ``rng`` (paralens has no global random state), or bad data.
    """
    ds = _as_dataset(data)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DataError(f"batches: batch_size must be a positive integer, got {batch_size!r}")
    n = len(ds)
    if shuffle:
        if rng is None and seed is None:
            raise DataError("batches: shuffle=True needs seed= or rng= (paralens has no global random state)")
        gen = rng if rng is not None else np.random.default_rng(seed)
        order = gen.permutation(n)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            yield ds.features[start:end], ds.labels[start:end]
        else:
            idx = order[start:end]
            yield ds.features[idx], ds.labels[idx]


def check_inputs(x, expected_shape: Sequence[int], who: str = "model"):
    """Check that a batch ``x`` has sample shape ``expected_shape`` (without the batch dimension); return ``x``.

    >>> check_inputs(np.zeros((2, 28, 28)), (784,))
    Traceback (most recent call last):
    ...
    paralens.errors.ShapeError: model expects inputs of shape (784,), got (28, 28): flatten the images or add a flatten() layer

    Raises:
      ShapeError: the shapes differ; the message says how to fix the usual cases.
    """
    shape = tuple(np.shape(x))
    expected = tuple(int(d) for d in expected_shape)
    got = shape[1:]
    if got == expected:
        return x
    if shape == expected:
        raise ShapeError(f"{who} expects a batch of inputs of shape (batch, {', '.join(map(str, expected))}), "
                         f"got a single sample of shape {shape}: add a batch dimension (x[None])")
    msg = f"{who} expects inputs of shape {expected}, got {got}"
    if int(np.prod(got)) == int(np.prod(expected)):
        if len(expected) == 1:
            msg += ": flatten the images or add a flatten() layer"
        else:
            msg += f": reshape the inputs to (batch, {', '.join(map(str, expected))})"
            if len(got) == 1 and len(expected) == 3:
                msg += " (e.g. load_mnist(flat=False))"
    elif not shape:
        msg += " (a scalar, not a batch)"
    raise ShapeError(msg)
