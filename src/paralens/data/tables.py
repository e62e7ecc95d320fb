"""A user's table of data: a CSV file with a header row, or a NumPy ``.npz`` file with arrays ``X`` and ``y``.

:func:`read_table` reads either into a :class:`Table`: the feature columns (a column whose every
value reads as a number is numeric, float64; any other column is text), their names, and the target
column when one is named (or, for ``.npz``, when the file has ``y``).  Nothing read can run code:
CSV is parsed by Python's ``csv`` module, ``.npz`` is opened with ``allow_pickle=False``.  Every
problem is one :class:`~paralens.errors.DataError` naming the file and, where there is one, the line
and column.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> _ = open(path, "w").write("size,colour,label\\n1.5,red,yes\\n2,blue,no\\n")
>>> t = read_table(path, target="label")
>>> t.feature_names, t.X[:, 0].tolist(), t.X[:, 1].tolist(), t.y.tolist()
(['size', 'colour'], [1.5, 2.0], ['red', 'blue'], ['yes', 'no'])
"""

from __future__ import annotations

import csv
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from paralens.errors import DataError

#: the largest CSV field (characters): a corrupt file fails fast instead of filling memory
MAX_FIELD = 1 << 20


@dataclass(frozen=True)
class Table:
    """Features ``X`` (``(n, n_features)``: float64, or object with text columns), their names, and the
    labels ``y`` of the ``target`` column (``None`` when the table has none)."""

    X: np.ndarray
    feature_names: list[str]
    y: np.ndarray | None
    target: str | None
    path: str

    def __len__(self) -> int:
        return len(self.X)


def read_table(path, target: str | None = None, *, require_target: bool = False) -> Table:
    """The table in ``path`` (``.csv`` or ``.npz``); ``target`` names the label column (CSV) — for
    ``.npz`` the labels are the array ``y``.  ``require_target``: a table without labels is an error."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file (give a .csv or .npz file)")
    if not os.path.exists(path):
        raise DataError(f"{path}: no such data file")
    if path.lower().endswith(".npz"):
        table = _read_npz(path, target)
    elif path.lower().endswith((".csv", ".txt", ".tsv")):
        table = _read_csv(path, target)
    else:
        raise DataError(f"{path}: give a .csv file with a header row or a .npz file with arrays X and y")
    if require_target and table.y is None:
        raise DataError(f"{path}: the table has no labels: name the label column with --target"
                        if not path.lower().endswith(".npz") else f"{path}: the file has no array 'y' of labels")
    if len(table) == 0:
        raise DataError(f"{path}: the table has no rows")
    return table


def _read_csv(path: str, target: str | None) -> Table:
    rows = _csv_rows(path)
    header, body = rows[0], rows[1:]
    names = [h.strip() for h in header]
    if any(not n for n in names):
        raise DataError(f"{path}: line 1: column {names.index('') + 1} of the header has no name")
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise DataError(f"{path}: line 1: the column name {dup!r} is used twice")
    for i, r in enumerate(body):
        if len(r) != len(names):
            raise DataError(f"{path}: line {i + 2} has {len(r)} fields, the header {len(names)}")
    cols = [[r[j].strip() for r in body] for j in range(len(names))]
    for j, col in enumerate(cols):
        if "" in col:
            raise DataError(f"{path}: line {col.index('') + 2}, column {names[j]!r}: missing value "
                            "(fill it in or drop the row)")
    y = None
    if target is not None:
        if target not in names:
            raise DataError(f"{path}: no column {target!r} (the columns: {', '.join(names)})")
        j = names.index(target)
        y = _labels(cols.pop(j))
        names.pop(j)
    if not names:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    X = _feature_matrix([_column(c) for c in cols])
    return Table(X, names, y, target, path)


def _csv_rows(path: str) -> list[list[str]]:
    """The rows of a CSV file (comma, or tab for .tsv), UTF-8 (a byte-order mark allowed), blank lines skipped."""
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    old = csv.field_size_limit(MAX_FIELD)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = [r for r in csv.reader(f, delimiter=delimiter, strict=True) if any(x.strip() for x in r)]
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start}): save the table as UTF-8 CSV") from None
    except csv.Error as e:
        raise DataError(f"{path}: not a readable CSV file ({e})") from None
    finally:
        csv.field_size_limit(old)
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    return rows


def _as_number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _column(col: list[str]):
    """Numbers (float64) when every value reads as one, else the text itself."""
    nums = [_as_number(v) for v in col]
    if all(v is not None for v in nums):
        return np.array(nums, dtype=np.float64)
    return np.array(col, dtype=object)


def _labels(col: list[str]) -> np.ndarray:
    """Labels as integers when they all are (``0``, ``1``, ``2``), else the text."""
    try:
        ints = [int(v, 10) for v in col]
    except ValueError:
        return np.array(col, dtype=object)
    return np.array(ints, dtype=np.int64)


def _feature_matrix(cols: list[np.ndarray]) -> np.ndarray:
    if all(c.dtype.kind == "f" for c in cols):
        return np.stack(cols, axis=1)
    X = np.empty((len(cols[0]), len(cols)), dtype=object)
    for j, c in enumerate(cols):
        X[:, j] = c
    return X


def _read_npz(path: str, target: str | None) -> Table:
    if target not in (None, "y"):
        raise DataError(f"{path}: a .npz file's labels are its array 'y'; --target {target!r} does not apply")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as e:  # an object array needs pickle, which is refused
        raise DataError(f"{path}: holds an array that only pickle could read ({e}); save numbers or text") from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    if "X" not in arrays:
        raise DataError(f"{path}: no array 'X' (it has {', '.join(sorted(arrays)) or 'none'})")
    X = arrays["X"]
    if X.ndim != 2:
        raise DataError(f"{path}: X must be 2-D (samples, features), it has shape {X.shape}")
    if X.dtype.kind not in "biufU":
        raise DataError(f"{path}: X must hold numbers or text, it is of dtype {X.dtype}")
    names = [f"x{j}" for j in range(X.shape[1])]
    if "feature_names" in arrays:
        fn = arrays["feature_names"]
        if fn.shape != (X.shape[1],) or fn.dtype.kind != "U":
            raise DataError(f"{path}: feature_names must be {X.shape[1]} strings, one per column of X")
        names = [str(n) for n in fn]
    y = arrays.get("y")
    if y is not None:
        if y.shape != (len(X),):
            raise DataError(f"{path}: y must have one label per row of X: shape ({len(X)},), not {y.shape}")
        if y.dtype.kind not in "biuU":
            raise DataError(f"{path}: labels y must be integers or text, not of dtype {y.dtype}")
        y = y.astype(object) if y.dtype.kind == "U" else y.astype(np.int64)
    if X.dtype.kind == "U":
        X = _feature_matrix([_column(list(X[:, j])) for j in range(X.shape[1])])
    return Table(X, names, y, "y" if y is not None else None, path)


def split_table(table: Table, fraction: float, seed: int = 0) -> tuple[Table, Table | None]:
    """``(train, test)`` by the one split policy (:func:`paralens.data.splits.holdout_mask`: each label
    divided in the same proportion, from ``seed``); ``(table, None)`` for ``fraction`` 0."""
    from paralens.data.splits import holdout_mask

    test = holdout_mask(table.y, fraction, seed, table.path)
    if not test.any():
        return table, None

    def part(mask):
        return Table(table.X[mask], table.feature_names, table.y[mask], table.target, table.path)

    return part(~test), part(test)


__all__ = ["Table", "read_table", "split_table"]
