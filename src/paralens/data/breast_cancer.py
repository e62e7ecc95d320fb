"""The Wisconsin Diagnostic Breast Cancer data (569 samples, 30 real features, 2 classes), bundled as a CSV.

The file ``files/breast_cancer.csv`` holds scikit-learn's copy of the UCI data
set with a plain header: the 30 feature names (scikit-learn's, in its order:
the mean, the standard error and the worst value of ten measurements of the
cell nuclei) and ``label``; then one line per sample, the 30 features and the
class, 0 malignant (212 samples) or 1 benign (357), as in scikit-learn. See
``files/README.md`` for the provenance.

There is no fixed train/test split; make one, seeded and stratified, with
:func:`~paralens.data.datasets.stratified_split`:

>>> from paralens.data.datasets import stratified_split
>>> bc = load_breast_cancer()
>>> bc.features.shape, bc.features.dtype, bc.class_counts().tolist(), bc.class_names
((569, 30), dtype('float32'), [212, 357], ('malignant', 'benign'))
>>> BREAST_CANCER_FEATURES[:3]
('mean radius', 'mean texture', 'mean perimeter')
>>> train, test = stratified_split(bc, 0.8, seed=0)
>>> train.class_counts().tolist(), test.class_counts().tolist()
([170, 286], [42, 71])
"""

from __future__ import annotations

import math
import os
from importlib import resources
from pathlib import Path

import numpy as np

from paralens.data.datasets import Dataset
from paralens.errors import DataError

_MEASUREMENTS = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
                 "concave points", "symmetry", "fractal dimension")

#: the 30 feature names, in column order (scikit-learn's): 10 means, 10 standard errors, 10 worst values
BREAST_CANCER_FEATURES: tuple[str, ...] = (tuple(f"mean {m}" for m in _MEASUREMENTS)
                                           + tuple(f"{m} error" for m in _MEASUREMENTS)
                                           + tuple(f"worst {m}" for m in _MEASUREMENTS))

#: the class names, indexed by label
BREAST_CANCER_CLASSES: tuple[str, ...] = ("malignant", "benign")

#: the number of samples the bundled file holds
BREAST_CANCER_SAMPLES = 569

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def breast_cancer_path() -> Path:
    """The path of the bundled ``breast_cancer.csv``."""
    return Path(str(resources.files("paralens.data").joinpath("files", "breast_cancer.csv")))


def load_breast_cancer(path: str | os.PathLike | None = None) -> Dataset:
    """Load the Wisconsin Diagnostic Breast Cancer data: features float32 ``(569, 30)``, labels int64 in ``0..1``.

    Label 0 is malignant, 1 benign (``class_names`` says so); the feature names
    are :data:`BREAST_CANCER_FEATURES` (a :class:`Dataset` carries no feature
    names).

    Args:
      path: a CSV in the bundled layout (header of the 30 feature names and
        ``label``, then 569 rows of 30 numbers and a label 0 or 1); ``None`` is
        the bundled copy.

    Raises:
      DataError: naming the file, and the line for a bad row: a missing or
        unreadable file, a header other than the expected one, a row with the
        wrong number of fields, a feature that is not a finite number, a label
        that is not 0 or 1, or a number of rows other than 569 (a truncated file).
    """
    name = "breast_cancer" if path is None else str(path)
    path = breast_cancer_path() if path is None else Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read as UTF-8 text: {e}") from None
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not rows:
        raise DataError(f"{path}: empty file")
    expected = (*BREAST_CANCER_FEATURES, "label")
    head = tuple(h.strip() for h in rows[0][1].split(","))
    if head != expected:
        if len(head) != len(expected):
            why = f"{len(head)} columns, expected {len(expected)} (30 features and 'label')"
        else:
            k = next(i for i, (a, b) in enumerate(zip(head, expected)) if a != b)
            why = f"column {k + 1} is {head[k]!r}, expected {expected[k]!r}"
        raise DataError(f"{path}, line {rows[0][0]}: not the breast cancer header: {why}")
    body = rows[1:]
    n_features = len(BREAST_CANCER_FEATURES)
    x = np.empty((len(body), n_features), dtype=np.float32)
    y = np.empty(len(body), dtype=np.int64)
    for r, (line, text) in enumerate(body):
        where = f"{path}, line {line} (sample {r})"
        fields = text.split(",")
        if len(fields) != n_features + 1:
            raise DataError(f"{where}: expected {n_features} features and a label, got {len(fields)} fields")
        for c, field in enumerate(fields[:-1]):
            try:
                v = float(field)
            except ValueError:
                raise DataError(f"{where}: feature {c} ({BREAST_CANCER_FEATURES[c]}) "
                                f"{field.strip()!r} is not a number") from None
            if not math.isfinite(v) or abs(v) > _FLOAT32_MAX:
                raise DataError(f"{where}: feature {c} ({BREAST_CANCER_FEATURES[c]}) is {field.strip()!r}, "
                                f"not a finite float32 number")
            x[r, c] = v
        label = fields[-1].strip()
        if label not in ("0", "1"):
            raise DataError(f"{where}: label {label!r} is not 0 (malignant) or 1 (benign)")
        y[r] = int(label)
    if len(body) != BREAST_CANCER_SAMPLES:
        raise DataError(f"{path}: {len(body)} samples, expected {BREAST_CANCER_SAMPLES} (truncated or padded file?)")
    return Dataset(x, y, 2, name=name, class_names=BREAST_CANCER_CLASSES)
