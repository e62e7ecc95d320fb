"""Raw features as the exact integers that a classifier and its hardware both compute with.

A Boolean classifier compares its inputs with thresholds; for the software and the
hardware to give the same bits on *every* input, both must compare the same integers.
An :class:`InputFormat` says, for each feature (one :class:`FeatureFormat`), how a raw
value becomes the integer on the hardware port:

* a **number** with ``decimals = d`` is the integer ``q = round(x * 10**d)`` (round half to
  even), *saturated* to the port's range: ``0 .. 2**w - 1`` for an unsigned ``w``-bit port,
  ``-2**(w-1) .. 2**(w-1) - 1`` (two's complement) for a signed one.  Integer features keep
  ``d = 0``; a feature with decimals gets the fewest decimals that hold its training values
  exactly (``13.2`` -> ``d = 1``), or enough for 10,000 levels over its training range;
* a **category** (a string column) is its index in ``categories`` (the training values,
  sorted); an unseen value is the index ``len(categories)``, whose one-hot bits are all 0.

The width is the fewest bits that hold the training range, signed where a training value is
negative.  :meth:`InputFormat.integers` is what ``predict`` uses and what the testbench
feeds, so a value outside the range behaves the same in both: saturated.  NaN or infinity
is an error naming the feature.

>>> fmt = fit_inputs([[1.5, 300], [-2.25, 1680]], names=["a", "b"])
>>> [(f.name, f.decimals, f.width, f.signed) for f in fmt.features]
[('a', 2, 9, True), ('b', 0, 11, False)]
>>> fmt.integers([[1.5, 300], [9.0, 5000]]).tolist()
[[150, 300], [255, 2047]]
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from paralens.errors import DataError, DataTypeError, ShapeError

#: the widest port: int64 holds every saturated value and every threshold
MAX_WIDTH = 62
#: the most decimals a value may have to be kept exactly
MAX_DECIMALS = 6
#: the most decimals chosen for values without a short decimal form
MAX_AUTO_DECIMALS = 9
#: levels over the training range when a feature's values have no short decimal form
AUTO_LEVELS = 10_000
_FLOAT_EXACT = 2**53


def _bits_for(lo: int, hi: int) -> tuple[int, bool]:
    """The fewest bits (and signedness) whose range holds ``lo .. hi``."""
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    return max((-lo - 1).bit_length(), int(max(hi, 0)).bit_length()) + 1, True


@dataclass(frozen=True)
class FeatureFormat:
    """How one raw feature becomes the integer its hardware port carries (see the module)."""

    name: str
    kind: str = "number"  # "number" or "category"
    decimals: int = 0
    width: int = 8
    signed: bool = False
    categories: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in ("number", "category"):
            raise DataError(f"feature {self.name!r}: kind must be 'number' or 'category', not {self.kind!r}")
        for key, lo, hi in (("decimals", 0, 18), ("width", 1, MAX_WIDTH)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not lo <= v <= hi:
                raise DataError(f"feature {self.name!r}: {key} must be an integer in {lo} .. {hi}, not {v!r}")
        if self.kind == "category":
            cats = tuple(self.categories)
            if not all(isinstance(c, str) for c in cats) or len(set(cats)) != len(cats):
                raise DataError(f"feature {self.name!r}: categories must be distinct strings")
            if self.decimals or self.signed or len(cats) > self.hi:
                raise DataError(f"feature {self.name!r}: a category port is unsigned, without decimals, and "
                                f"holds the index {len(cats)} of an unseen value")
            object.__setattr__(self, "categories", cats)

    @property
    def scale(self) -> int:
        """``10**decimals``: the port carries ``round(x * scale)``."""
        return 10**self.decimals

    @property
    def lo(self) -> int:
        return -(2 ** (self.width - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return 2 ** (self.width - 1) - 1 if self.signed else 2**self.width - 1

    def integers(self, column, where: str = "") -> np.ndarray:
        """The port's integers (int64) for a column of raw values, saturated to ``lo .. hi``."""
        if self.kind == "category":
            index = {c: i for i, c in enumerate(self.categories)}
            return np.array([index.get(_category(v), len(self.categories)) for v in column], dtype=np.int64)
        col = _numbers(column, self.name)
        if col.dtype.kind in "iub":  # exact: never through float
            c = np.minimum(col, self.hi).astype(np.int64) if col.dtype.kind == "u" else col.astype(np.int64)
            q = np.clip(c, self.lo // self.scale - 1, self.hi // self.scale + 1) * self.scale
        else:
            q = np.rint(np.clip(col * float(self.scale), self.lo - 1.0, self.hi + 1.0))
        return np.clip(q, self.lo, self.hi).astype(np.int64)

    def describe(self) -> str:
        """One line for a Verilog header: the port's meaning."""
        sign = "signed" if self.signed else "unsigned"
        if self.kind == "category":
            table = ", ".join(f"{i}={c}" for i, c in enumerate(self.categories))
            return f"{self.width}-bit unsigned category index ({table}; {len(self.categories)} = any other value)"
        value = "x" if self.decimals == 0 else f"round(x * {self.scale})"
        return f"{self.width}-bit {sign} integer {value}, saturated to {self.lo} .. {self.hi}"

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "width": self.width}
        if self.kind == "number":
            d.update(decimals=self.decimals, signed=self.signed)
        else:
            d["categories"] = list(self.categories)
        return d

    @staticmethod
    def from_dict(d) -> FeatureFormat:
        if not isinstance(d, Mapping) or not isinstance(d.get("name"), str):
            raise DataError(f"an input feature must be an object with a 'name', got {d!r:.80}")
        extra = set(d) - {"name", "kind", "width", "decimals", "signed", "categories"}
        if extra:
            raise DataError(f"input feature {d['name']!r}: unknown entries {sorted(extra)}")
        signed = d.get("signed", False)
        if not isinstance(signed, bool):
            raise DataError(f"input feature {d['name']!r}: 'signed' must be true or false")
        cats = d.get("categories", [])
        if not isinstance(cats, list):
            raise DataError(f"input feature {d['name']!r}: 'categories' must be a list")
        return FeatureFormat(d["name"], d.get("kind", "number"), d.get("decimals", 0), d.get("width"), signed,
                             tuple(cats))


def _category(v) -> str:
    return v if isinstance(v, str) else str(v)


def _numbers(column, name: str) -> np.ndarray:
    """A column of raw values as a numeric array, checked: numbers (or text that reads as one), finite."""
    col = np.asarray(column)
    if col.dtype.kind in "OUS":
        try:
            col = col.astype(np.float64)
        except TypeError as e:  # not a number nor text (scikit-learn's wording: "argument must be ...")
            raise DataTypeError(f"feature {name!r}: {e}") from None
        except ValueError:
            bad = next(v for v in np.asarray(column).ravel() if not _reads_as_number(v))
            raise DataError(f"feature {name!r} holds the text {_category(bad)!r:.60}, but it is a number "
                            "(it was one in training)") from None
    elif col.dtype.kind not in "biuf":
        raise DataError(f"feature {name!r}: values must be numbers, got dtype {col.dtype}")
    if col.dtype.kind == "f":
        bad = ~np.isfinite(col)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            kind = "NaN" if np.isnan(col[row]) else "infinity"
            raise DataError(f"feature {name!r} is {kind} in sample {row} ({int(bad.sum())} non-finite values); "
                            "a Boolean classifier needs finite values")
    return col


def _reads_as_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def columns_of(X) -> tuple[list, list[str] | None]:
    """The columns of a 2-D table (NumPy array, nested lists, or a pandas DataFrame) and its column
    names (a DataFrame's, else ``None``)."""
    names = None
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame, without importing pandas
        names = [str(c) for c in X.columns]
        cols = [np.asarray(X.iloc[:, j]) for j in range(X.shape[1])]
        return cols, names
    a = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if a.ndim != 2:
        hint = " (one sample? use x[None])" if a.ndim == 1 else ""
        raise ShapeError(f"expected a 2-D array (n_samples, n_features), got shape {a.shape}{hint}")
    return [a[:, j] for j in range(a.shape[1])], names


def _is_text_column(col) -> bool:
    """Text that does not all read as numbers (numbers written as text are numbers, as in a CSV file)."""
    col = np.asarray(col)
    if col.dtype.kind in "biuf" or len(col) == 0:
        return False
    if col.dtype.kind == "O" and not all(isinstance(v, str | bytes) for v in col):
        return False  # numbers, or objects that _numbers refuses with a message
    try:
        col.astype(np.float64)
    except (TypeError, ValueError):
        return True
    return False


def _auto_decimals(col: np.ndarray) -> int:
    """The fewest decimals (up to :data:`MAX_DECIMALS`) that hold every value (to 13 significant digits,
    the representation error of a float read from text), or enough for :data:`AUTO_LEVELS` levels over
    the range."""
    if col.dtype.kind in "iub" or np.all(col == np.rint(col)):
        return 0
    for d in range(1, MAX_DECIMALS + 1):
        s = col * 10.0**d
        if np.all(np.abs(s - np.rint(s)) <= 1e-13 * np.maximum(1.0, np.abs(s))):
            return d
    span = float(col.max() - col.min())
    return min(MAX_AUTO_DECIMALS, max(0, math.ceil(math.log10(AUTO_LEVELS / span)))) if span > 0 else 0


def _decimals_for(decimals, name: str, j: int):
    if isinstance(decimals, Mapping):
        return decimals.get(name, decimals.get(j))
    return decimals


def fit_number(col, name: str, decimals: int | None = None, width: int | None = None) -> FeatureFormat:
    """The format of a numeric feature from its training values: ``decimals`` (``None``: chosen, see the
    module) and ``width`` (``None``: the fewest bits that hold the training range)."""
    col = _numbers(col, name)
    if len(col) == 0:
        raise DataError(f"feature {name!r}: no training values")
    d = _auto_decimals(col) if decimals is None else decimals
    if isinstance(d, bool) or not isinstance(d, numbers.Integral) or not 0 <= d <= 18:
        raise DataError(f"feature {name!r}: decimals must be an integer in 0 .. 18, not {d!r}")
    if col.dtype.kind in "iub":
        lo, hi = int(col.min()) * 10**d, int(col.max()) * 10**d
    else:
        lo, hi = (int(np.rint(v * 10.0**d)) for v in (col.min(), col.max()))
        if max(abs(lo), abs(hi)) >= _FLOAT_EXACT:
            raise DataError(f"feature {name!r}: {d} decimals make its values reach {max(abs(lo), abs(hi)):.3g}, "
                            "beyond the 2**53 that a float holds exactly; use fewer decimals")
    need, signed = _bits_for(lo, hi)
    if width is None:
        width = need
    elif width < need:
        raise DataError(f"feature {name!r}: its training values {lo} .. {hi} need {need} bits, not {width}")
    if width > MAX_WIDTH:
        raise DataError(f"feature {name!r}: its values {lo} .. {hi} need {width} bits, more than {MAX_WIDTH}")
    return FeatureFormat(name, "number", int(d), int(width), signed)


def fit_category(col, name: str) -> FeatureFormat:
    """The format of a text feature: its sorted training values; the index ``len(categories)`` is any other."""
    cats = tuple(sorted({_category(v) for v in col}))
    return FeatureFormat(name, "category", 0, _bits_for(0, len(cats))[0], False, cats)


@dataclass(frozen=True)
class InputFormat:
    """The formats of a classifier's features, in column order (see the module)."""

    features: tuple[FeatureFormat, ...]

    def __post_init__(self):
        object.__setattr__(self, "features", tuple(self.features))
        names = [f.name for f in self.features]
        if not names:
            raise DataError("a classifier takes at least one feature")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise DataError(f"the feature name {dup!r} is used twice")

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def widths(self) -> list[int]:
        return [f.width for f in self.features]

    def integers(self, X) -> np.ndarray:
        """``(n, n_features)`` int64: each feature's port integer (quantised and saturated)."""
        cols, _ = columns_of(X)
        if len(cols) != self.n_features:
            raise ShapeError(f"X has {len(cols)} features, but the classifier is expecting {self.n_features} "
                             "features as input")
        n = len(cols[0]) if cols else 0
        out = np.empty((n, self.n_features), dtype=np.int64)
        for j, (f, col) in enumerate(zip(self.features, cols)):
            out[:, j] = f.integers(col)
        return out

    def port_bits(self, integers) -> np.ndarray:
        """The input bits of the whole-classifier circuit for port integers: each feature's ``width``
        bits (two's complement where signed), LSB first, feature after feature."""
        q = np.asarray(integers, dtype=np.int64)
        parts = [((q[:, j, None] >> np.arange(f.width)) & 1) for j, f in enumerate(self.features)]
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(q), 0), dtype=np.int64)

    def to_dict(self) -> list:
        return [f.to_dict() for f in self.features]

    @staticmethod
    def from_dict(d) -> InputFormat:
        if not isinstance(d, list):
            raise DataError(f"'inputs' must be a list of features, got {type(d).__name__}")
        return InputFormat(tuple(FeatureFormat.from_dict(f) for f in d))


def integer_inputs(n_features: int, width: int = 8, names: Sequence[str] | None = None) -> InputFormat:
    """``n_features`` unsigned integers of ``width`` bits (pixel bytes, millimetres), named ``x0 ..``."""
    names = list(names) if names is not None else [f"x{i}" for i in range(n_features)]
    return InputFormat(tuple(FeatureFormat(n, "number", 0, width, False) for n in names))


def fit_inputs(X, names: Sequence[str] | None = None, *, decimals=None, width=None) -> InputFormat:
    """The :class:`InputFormat` of training data ``X``: text columns are categories, the others numbers.

    ``names``: the features' names (default: a DataFrame's columns, else ``x0, x1, ...``);
    ``decimals``/``width``: ``None`` (chosen from the data), one integer for every numeric feature, or a
    mapping from feature name (or index) to one."""
    cols, frame_names = columns_of(X)
    names = list(names) if names is not None else frame_names or [f"x{j}" for j in range(len(cols))]
    if len(names) != len(cols):
        raise ShapeError(f"{len(names)} feature names for {len(cols)} features")
    feats = []
    for j, (name, col) in enumerate(zip(names, cols)):
        if _is_text_column(col):
            feats.append(fit_category(col, name))
        else:
            feats.append(fit_number(col, name, _decimals_for(decimals, name, j), _decimals_for(width, name, j)))
    return InputFormat(tuple(feats))


# Verilog keywords a feature could be called, and the classifier's own ports
_RESERVED = {"input", "output", "inout", "wire", "reg", "module", "endmodule", "assign", "always", "begin", "end",
             "if", "else", "case", "for", "integer", "signed", "unsigned", "parameter", "function", "task", "and",
             "or", "not", "xor", "nand", "nor", "xnor", "buf", "class", "initial", "clk", "rst", "logic", "bit",
             "byte", "int", "type", "default", "string"}


def verilog_port_names(names: Sequence[str]) -> list[str]:
    """Distinct Verilog identifiers for feature names (``sepal length (cm)`` -> ``sepal_length_cm``)."""
    out, seen = [], set()
    for i, n in enumerate(names):
        base = re.sub(r"[^A-Za-z0-9_]+", "_", n).strip("_") or f"x{i}"
        if not re.match(r"[A-Za-z_]", base):
            base = f"x_{base}"
        cand, k = base, 1
        if cand.lower() in _RESERVED:
            cand = base = f"{base}_f"
        while cand.lower() in seen:
            k += 1
            cand = f"{base}_{k}"
        seen.add(cand.lower())
        out.append(cand)
    return out


__all__ = ["FeatureFormat", "InputFormat", "columns_of", "fit_category", "fit_inputs", "fit_number",
           "integer_inputs", "verilog_port_names"]
