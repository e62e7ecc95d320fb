"""Fisher's Iris data (150 samples, 4 features, 3 classes of 50), bundled as a CSV.

The file is scikit-learn's ``iris.csv``, unchanged: a header line
``n_samples,n_features,class names...``, then one line per sample with its
features and class index. See ``files/README.md`` for the provenance.

>>> iris = load_iris()
>>> iris.features[0].tolist(), int(iris.labels[0]), iris.class_names
([5.099999904632568, 3.5, 1.399999976158142, 0.20000000298023224], 0, ('setosa', 'versicolor', 'virginica'))
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from paralens.data.datasets import Dataset
from paralens.errors import DataError


def iris_path() -> Path:
    """The path of the bundled ``iris.csv``."""
    return Path(str(resources.files("paralens.data").joinpath("files", "iris.csv")))


def _parse_int(text: str, path: Path, line: int, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DataError(f"{path}, line {line}: {what} {text.strip()!r} is not an integer") from None


def load_iris(path: str | os.PathLike | None = None) -> Dataset:
    """Load the Iris data: features float32 ``(150, 4)`` (cm), labels int64 in ``0..2``.

    Args:
      path: a CSV in scikit-learn's layout (header ``n_samples,n_features,names...``);
        ``None`` is the bundled copy.

    Raises:
      DataError: a missing file, a bad header, a row with the wrong number of
        fields or a non-number, a row count differing from the header's, a
        label outside the classes the header names.
    """
    name = "iris" if path is None else str(path)
    path = iris_path() if path is None else Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read as UTF-8 text: {e}") from None
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not rows:
        raise DataError(f"{path}: empty file")
    head = rows[0][1].split(",")
    if len(head) < 3:
        raise DataError(f"{path}, line 1: header must be 'n_samples,n_features,class names...', got {rows[0][1]!r}")
    n_samples = _parse_int(head[0], path, 1, "number of samples")
    n_features = _parse_int(head[1], path, 1, "number of features")
    names = tuple(h.strip() for h in head[2:])
    body = rows[1:]
    if len(body) != n_samples:
        raise DataError(f"{path}: header promises {n_samples} samples, the file has {len(body)} rows")
    x = np.empty((len(body), n_features), dtype=np.float32)
    y = np.empty(len(body), dtype=np.int64)
    for r, (line, text) in enumerate(body):
        fields = text.split(",")
        if len(fields) != n_features + 1:
            raise DataError(f"{path}, line {line}: expected {n_features} features and a label, got {len(fields)} fields")
        try:
            x[r] = [float(f) for f in fields[:-1]]
        except ValueError:
            raise DataError(f"{path}, line {line}: a feature is not a number: {text!r}") from None
        y[r] = _parse_int(fields[-1], path, line, "label")
    return Dataset(x, y, len(names), name=name, class_names=names)
