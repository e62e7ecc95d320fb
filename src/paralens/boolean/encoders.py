"""Encoders from real features to bits, and decoders from a circuit's output bits to classes.

A Boolean circuit sees bits. An *encoder* turns a batch ``X`` of shape
``(n, n_features)`` (real or integer features) into bits, a ``uint8`` array of
shape ``(n, n_bits)`` holding 0 and 1; a *decoder* turns the circuit's output
bits into class scores and predictions.

* :class:`ThresholdEncoder`: one bit per feature, ``x_i > t_i``; ``t_i`` is the
  training median (or mean) of feature ``i``, or given.
* :class:`ThermometerEncoder`: ``k`` bits per feature, bit ``j`` of feature
  ``i`` is ``x_i > t_ij``, the thresholds at the training quantiles ``j/(k+1)``
  or evenly spaced between the training minimum and maximum.
* :class:`OneHotEncoder`: one bit per (feature, category), ``x_i == c``, for
  integer-valued (categorical) features.
* :class:`ColumnEncoder`: encoders on groups of columns, their bits concatenated.
* :class:`GroupSumDecoder`: output bits in ``n_classes`` groups; the score of a
  class is the number of ones in its group, the prediction the best class.

Bits are in *feature-major* order: the bits of feature 0 first, then those of
feature 1, and so on. Encoders are immutable: ``fit(X)`` returns a new, fitted
encoder and leaves the original alone. Each has ``transform``, ``n_features``,
``n_bits``, ``to_dict`` / ``from_dict`` (JSON-serialisable, with ``"kind"`` and
``"version"`` fields; :func:`encoder_from_dict` reads any kind) and, for
building the encoder in hardware, ``comparators()``: one ``(feature_index,
threshold)`` pair per output bit, ``bit = x[feature_index] > threshold``; and
``integer_thresholds()``: the same with the integer threshold ``T = floor(t)``,
which gives the same bits for integer inputs (``x > t`` if and only if
``x > floor(t)`` when ``x`` is an integer), such as 8-bit pixels.

>>> X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
>>> enc = ThermometerEncoder(3, method="uniform").fit(X)
>>> enc.thresholds.tolist()
[[1.0, 2.0, 3.0]]
>>> enc.transform(np.array([[0.5], [2.0], [3.5]])).tolist()
[[0, 0, 0], [1, 0, 0], [1, 1, 1]]
>>> enc.integer_thresholds()
((0, 1), (0, 2), (0, 3))
>>> dec = GroupSumDecoder(n_classes=2, bits_per_class=3)
>>> dec.scores(np.array([[1, 0, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0]])).tolist()
[[2, 1], [2, 2]]
>>> dec.predict(np.array([[1, 0, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0]])).tolist()
[0, 0]

Errors: :class:`NotFittedError` (transform before fit), :class:`EncoderError`
(bad settings or thresholds, an unknown category, a bad dictionary),
:class:`~paralens.errors.ShapeError` (wrong number of features or
bits), :class:`~paralens.errors.DataError` (NaN, infinity, non-numeric
input). All are :class:`~paralens.errors.ParalensError` and ``ValueError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import numpy as np

from paralens.errors import DataError, EncoderError, NotFittedError, ShapeError  # noqa: F401 - importable from here too

#: the version written into every ``to_dict()``; ``from_dict`` reads only this one
ENCODER_FORMAT_VERSION = 1


# ----------------------------------------------------------------------------- helpers


def _features(X, who: str, n_features: int | None = None, *, fitting: bool = False) -> np.ndarray:
    """``X`` as a float64 array ``(n, n_features)``, checked: numeric, 2-D, the right width, finite."""
    x = np.asarray(X)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{who}: features must be numeric, got dtype {x.dtype}")
    if x.ndim != 2:
        hint = " (one sample? use x[None])" if x.ndim == 1 else ""
        raise ShapeError(f"{who}: expected a 2-D array (n_samples, n_features), got shape {x.shape}{hint}")
    if n_features is not None and x.shape[1] != n_features:
        raise ShapeError(f"{who}: expected {n_features} features, got {x.shape[1]}")
    if fitting and (x.shape[0] == 0 or x.shape[1] == 0):
        raise DataError(f"{who}: cannot fit on an empty array of shape {x.shape}")
    x = x.astype(np.float64, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(x[row, col]) else "infinity"
        raise DataError(f"{who}: input holds {kind} at sample {row}, feature {col} "
                        f"({int(bad.sum())} non-finite entries); encoders need finite values")
    return x


def _count(value, name: str, who: str) -> int:
    """``value`` as an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise EncoderError(f"{who}: {name} must be an integer >= 1, got {value!r}")
    return int(value)


def _threshold_array(values, ndim: int, who: str) -> np.ndarray:
    """A read-only float64 copy of given thresholds, checked: ``ndim`` dimensions, not empty, finite."""
    try:
        t = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise EncoderError(f"{who}: thresholds must be numbers: {e}") from None
    if t.ndim != ndim or 0 in t.shape:
        want = "(n_features,)" if ndim == 1 else "(n_features, bits_per_feature)"
        raise EncoderError(f"{who}: thresholds must be a non-empty array of shape {want}, got shape {t.shape}")
    if not np.isfinite(t).all():
        raise EncoderError(f"{who}: thresholds must be finite, got {t[~np.isfinite(t)][0]}")
    t.setflags(write=False)
    return t


def _check_header(d, kind: str) -> None:
    if not isinstance(d, Mapping):
        raise EncoderError(f"{kind}.from_dict: expected a dict, got {type(d).__name__}")
    if d.get("kind") != kind:
        raise EncoderError(f"{kind}.from_dict: the dict is of kind {d.get('kind')!r}, not {kind!r}")
    if d.get("version") != ENCODER_FORMAT_VERSION:
        raise EncoderError(f"{kind}.from_dict: unsupported version {d.get('version')!r} "
                           f"(this paralens reads version {ENCODER_FORMAT_VERSION})")


def _get(d: Mapping, key: str, kind: str):
    try:
        return d[key]
    except KeyError:
        raise EncoderError(f"{kind}.from_dict: the dict has no {key!r} field") from None


class _Serialisable:
    """Equality, hashing and ``from_dict`` through ``to_dict``."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def _from_fields(cls, d: Mapping) -> Self:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: Mapping) -> Self:
        """The object ``to_dict()`` describes (checks its ``"kind"`` and ``"version"``)."""
        _check_header(d, cls.kind)
        return cls._from_fields(d)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))


class _Encoder(_Serialisable):
    """What every encoder has: ``fit``, ``transform``, ``is_fitted``, ``n_features``, ``n_bits``."""

    def fit(self, X) -> Self:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def transform(self, X) -> np.ndarray:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def is_fitted(self) -> bool:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def n_features(self) -> int:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def n_bits(self) -> int:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _not_fitted(self, what: str) -> NotFittedError:
        return NotFittedError(f"{self.kind}.{what}: the encoder is not fitted; call fit(X_train) first "
                              f"(it returns the fitted encoder)")

    def comparators(self) -> tuple[tuple[int, float], ...]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def integer_thresholds(self) -> tuple[tuple[int, int], ...]:
        """For each output bit, ``(feature_index, T)`` with ``T = floor(t)`` of :meth:`comparators`.

        For integer inputs ``x`` (8-bit pixels, counts), ``x > t`` exactly when
        ``x > T``, so a hardware comparator of integers gives the same bit as
        :meth:`transform`. ``T`` may lie outside the inputs' range (then the
        bit is constant). For non-integer inputs use :meth:`comparators`.
        """
        return tuple((i, math.floor(t)) for i, t in self.comparators())

    def bit_tests(self) -> tuple[tuple[int, str, int], ...]:
        """For each output bit, in order, ``(feature_index, op, T)``: the bit is ``x > T`` (``op == ">"``)
        or ``x == T`` (``"=="``) for integer inputs ``x``; what hardware builds for the encoder."""
        return tuple((i, ">", t) for i, t in self.integer_thresholds())


# ----------------------------------------------------------------------------- threshold encoders


class _ComparatorEncoder(_Encoder):
    """An encoder whose bit ``i * k + j`` is ``x_i > t_ij`` for a table ``t`` of shape ``(n_features, k)``."""

    def _table(self) -> np.ndarray | None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _fitted_table(self, what: str) -> np.ndarray:
        t = self._table()
        if t is None:
            raise self._not_fitted(what)
        return t

    @property
    def is_fitted(self) -> bool:
        """Whether the thresholds are known (fitted or given)."""
        return self._table() is not None

    @property
    def n_features(self) -> int:
        """The number of input features."""
        return self._fitted_table("n_features").shape[0]

    @property
    def n_bits(self) -> int:
        """The number of output bits, ``n_features * bits_per_feature``."""
        return self._fitted_table("n_bits").size

    def transform(self, X) -> np.ndarray:
        """The bits of ``X`` (``(n, n_features)``, finite): ``uint8`` ``(n, n_bits)``, bit ``i*k + j`` is ``x_i > t_ij``."""
        t = self._fitted_table("transform")
        x = _features(X, f"{self.kind}.transform", t.shape[0])
        return (x[:, :, None] > t[None, :, :]).reshape(len(x), t.size).astype(np.uint8)

    def comparators(self) -> tuple[tuple[int, float], ...]:
        """For each output bit, in order, ``(feature_index, threshold)``: the bit is ``x[feature_index] > threshold``."""
        t = self._fitted_table("comparators")
        return tuple((i, float(t[i, j])) for i in range(t.shape[0]) for j in range(t.shape[1]))


@dataclass(frozen=True, eq=False, repr=False)
class ThresholdEncoder(_ComparatorEncoder):
    """One bit per feature: bit ``i`` is ``x_i > t_i``.

    Args:
      thresholds: ``t``, shape ``(n_features,)``, finite; given thresholds make
        the encoder fitted already. ``None`` until :meth:`fit`.
      statistic: how :meth:`fit` chooses ``t_i`` from the training values of
        feature ``i``: ``"median"`` (``np.median``; the default, so that about
        half the training samples have each bit set) or ``"mean"``.

    :meth:`fit` always recomputes the thresholds from its data, replacing given ones.

    >>> enc = ThresholdEncoder().fit(np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]]))
    >>> enc.thresholds.tolist(), enc.transform(np.array([[2.5, 20.0]])).tolist()
    ([2.0, 20.0], [[1, 0]])
    """

    thresholds: np.ndarray | None = None
    statistic: str = "median"

    kind: ClassVar[str] = "ThresholdEncoder"

    def __post_init__(self):
        if self.statistic not in ("median", "mean"):
            raise EncoderError(f"ThresholdEncoder: statistic must be 'median' or 'mean', got {self.statistic!r}")
        if self.thresholds is not None:
            object.__setattr__(self, "thresholds", _threshold_array(self.thresholds, 1, "ThresholdEncoder"))

    def _table(self):
        return None if self.thresholds is None else self.thresholds[:, None]

    def fit(self, X) -> ThresholdEncoder:
        """A copy with ``t_i`` the median (or mean) of column ``i`` of ``X`` ``(n, n_features)``."""
        x = _features(X, "ThresholdEncoder.fit", fitting=True)
        t = np.median(x, axis=0) if self.statistic == "median" else np.mean(x, axis=0)
        return replace(self, thresholds=t)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": ENCODER_FORMAT_VERSION, "statistic": self.statistic,
                "thresholds": None if self.thresholds is None else self.thresholds.tolist()}

    @classmethod
    def _from_fields(cls, d):
        return cls(thresholds=_get(d, "thresholds", cls.kind), statistic=_get(d, "statistic", cls.kind))

    def __repr__(self) -> str:
        state = f"n_features={self.n_features}" if self.is_fitted else "unfitted"
        return f"ThresholdEncoder(statistic={self.statistic!r}, {state})"


@dataclass(frozen=True, eq=False, repr=False)
class ThermometerEncoder(_ComparatorEncoder):
    """``k`` bits per feature (a thermometer code): bit ``i*k + j`` is ``x_i > t_ij``, ``j = 0..k-1``.

    Args:
      bits_per_feature: ``k >= 1``.
      method: how :meth:`fit` places the thresholds, from the training values
        of each feature (fit on the training split only):

        * ``"quantile"`` (default): ``t_ij = np.quantile(x_i, (j + 1) / (k + 1))``
          (NumPy's default, linear interpolation), so the ``k`` thresholds cut
          the training values into ``k + 1`` groups of about equal size;
        * ``"uniform"``: ``t_ij = min_i + (max_i - min_i) * (j + 1) / (k + 1)``,
          ``k`` evenly spaced thresholds strictly inside ``[min_i, max_i]``
          (unless the feature is constant).
      thresholds: ``t``, shape ``(n_features, k)``, finite; given thresholds
        make the encoder fitted already and are used as given (in any order).
        ``None`` until :meth:`fit`.

    Fitted thresholds are non-decreasing in ``j``, so the bits of a feature read
    ``1...10...0``: the number of ones says how many thresholds ``x_i`` exceeds.

    Ties: nothing is deduplicated, so the width is always ``n_features * k``.
    Thresholds of a feature can coincide: quantiles do where many training
    values are equal (a feature that is mostly 0), uniform ones where the
    feature is constant on the training data (all ``k`` thresholds are then
    that constant). Equal thresholds give identical bits; a later step may
    prune them.

    :meth:`fit` always recomputes the thresholds from its data, replacing given ones.

    >>> enc = ThermometerEncoder(3).fit(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]))
    >>> enc.thresholds.tolist(), enc.transform(np.array([[2.5], [4.5]])).tolist()
    ([[2.0, 3.0, 4.0]], [[1, 0, 0], [1, 1, 1]])
    """

    bits_per_feature: int
    method: str = "quantile"
    thresholds: np.ndarray | None = None

    kind: ClassVar[str] = "ThermometerEncoder"

    def __post_init__(self):
        k = _count(self.bits_per_feature, "bits_per_feature", "ThermometerEncoder")
        object.__setattr__(self, "bits_per_feature", k)
        if self.method not in ("quantile", "uniform"):
            raise EncoderError(f"ThermometerEncoder: method must be 'quantile' or 'uniform', got {self.method!r}")
        if self.thresholds is not None:
            t = _threshold_array(self.thresholds, 2, "ThermometerEncoder")
            if t.shape[1] != k:
                raise EncoderError(f"ThermometerEncoder: thresholds of shape {t.shape} give {t.shape[1]} bits per "
                                   f"feature, but bits_per_feature={k}")
            object.__setattr__(self, "thresholds", t)

    def _table(self):
        return self.thresholds

    def levels(self) -> np.ndarray:
        """The fractions ``(j + 1) / (k + 1)``, ``j = 0..k-1``, of the quantiles (or of the range, for ``"uniform"``)."""
        k = self.bits_per_feature
        return np.arange(1, k + 1, dtype=np.float64) / (k + 1)

    def fit(self, X) -> ThermometerEncoder:
        """A copy with thresholds placed by ``method`` on the columns of ``X`` ``(n, n_features)``."""
        x = _features(X, "ThermometerEncoder.fit", fitting=True)
        q = self.levels()
        if self.method == "quantile":
            t = np.quantile(x, q, axis=0).T
        else:
            lo, hi = x.min(axis=0), x.max(axis=0)
            t = lo[:, None] + (hi - lo)[:, None] * q[None, :]
        return replace(self, thresholds=t)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": ENCODER_FORMAT_VERSION, "bits_per_feature": self.bits_per_feature,
                "method": self.method, "thresholds": None if self.thresholds is None else self.thresholds.tolist()}

    @classmethod
    def _from_fields(cls, d):
        return cls(_get(d, "bits_per_feature", cls.kind), method=_get(d, "method", cls.kind),
                   thresholds=_get(d, "thresholds", cls.kind))

    def __repr__(self) -> str:
        state = f"n_features={self.n_features}" if self.is_fitted else "unfitted"
        return f"ThermometerEncoder(bits_per_feature={self.bits_per_feature}, method={self.method!r}, {state})"


# ----------------------------------------------------------------------------- one-hot


@dataclass(frozen=True, eq=False, repr=False)
class OneHotEncoder(_Encoder):
    """One bit per (feature, category): the bits of feature ``i`` are ``x_i == c`` for its categories ``c``.

    For integer-valued (categorical) features; the values are compared as
    float64, so categories are exact up to ``2**53``.

    Args:
      categories: per feature, its categories (distinct integers), in bit
        order; given categories make the encoder fitted already. ``None``
        until :meth:`fit`, which takes the distinct training values of each
        feature, in increasing order (training values must be integers).
      handle_unknown: what :meth:`transform` does with a value that is not a
        category of its feature: ``"error"`` (default) raises
        :class:`EncoderError` naming the sample, feature and value;
        ``"ignore"`` encodes it as all zeros for that feature.

    The bits are equalities, not comparisons: :meth:`equalities` lists them
    (``(feature_index, category)``); :meth:`comparators` raises. For integer
    ``x``, ``x == c`` is ``(x > c - 1) and not (x > c)``.

    >>> enc = OneHotEncoder().fit(np.array([[0, 5], [2, 5], [1, 7]]))
    >>> enc.categories, enc.transform(np.array([[2, 7]])).tolist()
    (((0, 1, 2), (5, 7)), [[0, 0, 1, 0, 1]])
    """

    categories: tuple[tuple[int, ...], ...] | None = None
    handle_unknown: str = "error"

    kind: ClassVar[str] = "OneHotEncoder"

    def __post_init__(self):
        if self.handle_unknown not in ("error", "ignore"):
            raise EncoderError(f"OneHotEncoder: handle_unknown must be 'error' or 'ignore', "
                               f"got {self.handle_unknown!r}")
        if self.categories is not None:
            object.__setattr__(self, "categories", self._check_categories(self.categories))

    @staticmethod
    def _check_categories(categories) -> tuple[tuple[int, ...], ...]:
        if isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence) or not categories:
            raise EncoderError(f"OneHotEncoder: categories must be a non-empty sequence (one per feature) of "
                               f"sequences of integers, got {categories!r}")
        out = []
        for i, cats in enumerate(categories):
            if isinstance(cats, (str, bytes)) or not isinstance(cats, (Sequence, np.ndarray)) or len(cats) == 0:
                raise EncoderError(f"OneHotEncoder: the categories of feature {i} must be a non-empty sequence of "
                                   f"integers, got {cats!r}")
            ints = []
            for c in cats:
                if isinstance(c, (bool, np.bool_)) or not (isinstance(c, (int, np.integer))
                                                            or (isinstance(c, (float, np.floating))
                                                                and math.isfinite(c) and c == int(c))):
                    raise EncoderError(f"OneHotEncoder: category {c!r} of feature {i} is not an integer")
                ints.append(int(c))
            if len(set(ints)) != len(ints):
                dup = next(c for c in ints if ints.count(c) > 1)
                raise EncoderError(f"OneHotEncoder: category {dup} of feature {i} is listed twice")
            out.append(tuple(ints))
        return tuple(out)

    @property
    def is_fitted(self) -> bool:
        """Whether the categories are known (fitted or given)."""
        return self.categories is not None

    def _fitted(self, what: str) -> tuple[tuple[int, ...], ...]:
        if self.categories is None:
            raise self._not_fitted(what)
        return self.categories

    @property
    def n_features(self) -> int:
        """The number of input features."""
        return len(self._fitted("n_features"))

    @property
    def n_bits(self) -> int:
        """The number of output bits, the total number of categories."""
        return sum(len(c) for c in self._fitted("n_bits"))

    def fit(self, X) -> OneHotEncoder:
        """A copy whose categories are the distinct values of each column of ``X`` (integers), increasing."""
        x = _features(X, "OneHotEncoder.fit", fitting=True)
        frac = x != np.round(x)
        if frac.any():
            row, col = (int(v) for v in np.argwhere(frac)[0])
            raise DataError(f"OneHotEncoder.fit: categories must be integers, but sample {row}, feature {col} "
                            f"is {x[row, col].item()!r}")
        return replace(self, categories=tuple(tuple(int(v) for v in np.unique(col)) for col in x.T))

    def transform(self, X) -> np.ndarray:
        """The bits of ``X``: ``uint8`` ``(n, n_bits)``, for each feature in turn one bit per category, ``x_i == c``.

        Raises:
          EncoderError: a value is not a category of its feature and ``handle_unknown="error"``.
        """
        cats = self._fitted("transform")
        x = _features(X, "OneHotEncoder.transform", len(cats))
        parts = []
        for i, c in enumerate(cats):
            eq = x[:, i, None] == np.asarray(c, dtype=np.float64)[None, :]
            if self.handle_unknown == "error":
                unknown = ~eq.any(axis=1)
                if unknown.any():
                    row = int(np.flatnonzero(unknown)[0])
                    raise EncoderError(f"OneHotEncoder.transform: sample {row}, feature {i}: "
                                       f"value {x[row, i].item()!r} is not one of the {len(c)} categories seen in fit "
                                       f"({int(unknown.sum())} unknown values in this feature); "
                                       f"handle_unknown='ignore' encodes unknown values as all zeros")
            parts.append(eq)
        return np.concatenate(parts, axis=1).astype(np.uint8)

    def equalities(self) -> tuple[tuple[int, int], ...]:
        """For each output bit, in order, ``(feature_index, category)``: the bit is ``x[feature_index] == category``."""
        return tuple((i, c) for i, cats in enumerate(self._fitted("equalities")) for c in cats)

    def bit_tests(self) -> tuple[tuple[int, str, int], ...]:
        return tuple((i, "==", c) for i, c in self.equalities())

    def comparators(self):
        """Not available: one-hot bits are equalities ``x_i == c``; see :meth:`equalities`. Always raises EncoderError."""
        raise EncoderError("OneHotEncoder: its bits are equalities x_i == c, not comparisons x_i > t; "
                           "use equalities() (for integer x, x == c is (x > c - 1) and not (x > c))")

    def integer_thresholds(self):
        """Not available: one-hot bits are equalities ``x_i == c``; see :meth:`equalities`. Always raises EncoderError."""
        return self.comparators()

    def to_dict(self) -> dict[str, Any]:
        cats = None if self.categories is None else [list(c) for c in self.categories]
        return {"kind": self.kind, "version": ENCODER_FORMAT_VERSION, "handle_unknown": self.handle_unknown,
                "categories": cats}

    @classmethod
    def _from_fields(cls, d):
        return cls(categories=_get(d, "categories", cls.kind), handle_unknown=_get(d, "handle_unknown", cls.kind))

    def __repr__(self) -> str:
        state = f"n_features={self.n_features}, n_bits={self.n_bits}" if self.is_fitted else "unfitted"
        return f"OneHotEncoder(handle_unknown={self.handle_unknown!r}, {state})"


# ----------------------------------------------------------------------------- column groups


@dataclass(frozen=True, eq=False, repr=False)
class ColumnEncoder(_Encoder):
    """Encoders applied to groups of columns; the bits are the groups' bits, concatenated in order.

    Args:
      parts: pairs ``(columns, encoder)``: the column indices (distinct, in the
        order the encoder sees them) and an encoder for them. Columns in no
        group are dropped; a column may be in several groups.
      n_columns: the number of columns of the input; ``None`` until :meth:`fit`,
        which takes it from its data.

    >>> X = np.array([[0.0, 3, 1.0], [2.0, 4, 3.0], [4.0, 3, 5.0]])
    >>> enc = ColumnEncoder([((0, 2), ThresholdEncoder()), ((1,), OneHotEncoder())]).fit(X)
    >>> enc.transform(X).tolist()
    [[0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 0]]
    """

    parts: tuple[tuple[tuple[int, ...], _Encoder], ...]
    n_columns: int | None = None

    kind: ClassVar[str] = "ColumnEncoder"

    def __post_init__(self):
        if self.n_columns is not None:
            object.__setattr__(self, "n_columns", _count(self.n_columns, "n_columns", "ColumnEncoder"))
        if isinstance(self.parts, (str, bytes)) or not isinstance(self.parts, Sequence) or not self.parts:
            raise EncoderError(f"ColumnEncoder: parts must be a non-empty sequence of (columns, encoder) pairs, "
                               f"got {self.parts!r}")
        parts = []
        for p, part in enumerate(self.parts):
            if not isinstance(part, Sequence) or len(part) != 2:
                raise EncoderError(f"ColumnEncoder: part {p} must be a pair (columns, encoder), got {part!r}")
            columns, encoder = part
            if not isinstance(encoder, _Encoder):
                raise EncoderError(f"ColumnEncoder: part {p}: {encoder!r} is not an encoder")
            if isinstance(columns, (int, np.integer)):
                columns = (columns,)
            try:
                cols = tuple(int(c) for c in columns if not isinstance(c, bool) and c == int(c))
            except (TypeError, ValueError):
                cols = ()
            if not cols or len(cols) != len(columns) or min(cols) < 0 or len(set(cols)) != len(cols):
                raise EncoderError(f"ColumnEncoder: part {p}: columns must be distinct non-negative integers, "
                                   f"got {columns!r}")
            if self.n_columns is not None and max(cols) >= self.n_columns:
                raise EncoderError(f"ColumnEncoder: part {p}: column {max(cols)} is out of range for "
                                   f"n_columns={self.n_columns}")
            if encoder.is_fitted and encoder.n_features != len(cols):
                raise EncoderError(f"ColumnEncoder: part {p}: the encoder is fitted for {encoder.n_features} "
                                   f"features but is given {len(cols)} columns")
            parts.append((cols, encoder))
        object.__setattr__(self, "parts", tuple(parts))

    @property
    def is_fitted(self) -> bool:
        """Whether ``n_columns`` is known and every part's encoder is fitted."""
        return self.n_columns is not None and all(enc.is_fitted for _, enc in self.parts)

    def _check_fitted(self, what: str) -> None:
        if not self.is_fitted:
            raise self._not_fitted(what)

    @property
    def n_features(self) -> int:
        """The number of input columns."""
        self._check_fitted("n_features")
        return self.n_columns

    @property
    def n_bits(self) -> int:
        """The number of output bits, the sum over the parts."""
        self._check_fitted("n_bits")
        return sum(enc.n_bits for _, enc in self.parts)

    def fit(self, X) -> ColumnEncoder:
        """A copy with each part's encoder fitted on its columns of ``X``, and ``n_columns`` its width."""
        x = _features(X, "ColumnEncoder.fit", self.n_columns, fitting=True)
        for p, (cols, _) in enumerate(self.parts):
            if max(cols) >= x.shape[1]:
                raise ShapeError(f"ColumnEncoder.fit: part {p} uses column {max(cols)}, but X has "
                                 f"{x.shape[1]} features")
        parts = tuple((cols, enc.fit(x[:, list(cols)])) for cols, enc in self.parts)
        return replace(self, parts=parts, n_columns=x.shape[1])

    def transform(self, X) -> np.ndarray:
        """The bits of ``X``: each part's bits of its columns, concatenated, ``uint8`` ``(n, n_bits)``."""
        self._check_fitted("transform")
        x = _features(X, "ColumnEncoder.transform", self.n_columns)
        return np.concatenate([enc.transform(x[:, list(cols)]) for cols, enc in self.parts], axis=1)

    def comparators(self) -> tuple[tuple[int, float], ...]:
        """As for the parts, with feature indices of the full input; raises if a part's bits are not comparisons."""
        self._check_fitted("comparators")
        return tuple((cols[i], t) for cols, enc in self.parts for i, t in enc.comparators())

    def bit_tests(self) -> tuple[tuple[int, str, int], ...]:
        """As for the parts, with feature indices of the full input."""
        self._check_fitted("bit_tests")
        return tuple((cols[i], op, t) for cols, enc in self.parts for i, op, t in enc.bit_tests())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": ENCODER_FORMAT_VERSION, "n_columns": self.n_columns,
                "parts": [{"columns": list(cols), "encoder": enc.to_dict()} for cols, enc in self.parts]}

    @classmethod
    def _from_fields(cls, d):
        parts = _get(d, "parts", cls.kind)
        if not isinstance(parts, Sequence):
            raise EncoderError(f"ColumnEncoder.from_dict: 'parts' must be a list, got {type(parts).__name__}")
        pairs = []
        for p in parts:
            if not isinstance(p, Mapping):
                raise EncoderError(f"ColumnEncoder.from_dict: each part must be a dict, got {type(p).__name__}")
            enc = encoder_from_dict(_get(p, "encoder", cls.kind))
            if not isinstance(enc, _Encoder):
                raise EncoderError(f"ColumnEncoder.from_dict: a part's encoder is a {enc.kind}, not an encoder")
            pairs.append((_get(p, "columns", cls.kind), enc))
        return cls(pairs, n_columns=_get(d, "n_columns", cls.kind))

    def __repr__(self) -> str:
        inner = ", ".join(f"{list(cols)}: {enc!r}" for cols, enc in self.parts)
        return f"ColumnEncoder(n_columns={self.n_columns}, parts=[{inner}])"


# ----------------------------------------------------------------------------- decoders


@dataclass(frozen=True, eq=False)
class GroupSumDecoder(_Serialisable):
    """Class scores from output bits: bits ``c*m .. c*m + m - 1`` (``m = bits_per_class``) vote for class ``c``.

    :meth:`scores` counts the ones of each class's group; :meth:`predict` is
    the class of the highest count, ties going to the lowest class index.

    Args:
      n_classes: number of classes, ``>= 1``.
      bits_per_class: ``m >= 1``; the circuit has ``n_bits = n_classes * m`` outputs.
    """

    n_classes: int
    bits_per_class: int

    kind: ClassVar[str] = "GroupSumDecoder"

    def __post_init__(self):
        object.__setattr__(self, "n_classes", _count(self.n_classes, "n_classes", "GroupSumDecoder"))
        object.__setattr__(self, "bits_per_class", _count(self.bits_per_class, "bits_per_class", "GroupSumDecoder"))

    @property
    def n_bits(self) -> int:
        """The number of bits decoded, ``n_classes * bits_per_class``."""
        return self.n_classes * self.bits_per_class

    def scores(self, bits) -> np.ndarray:
        """The number of ones in each class's group: int64 ``(n, n_classes)`` from bits ``(n, n_bits)`` of 0 and 1."""
        b = np.asarray(bits)
        if b.dtype.kind not in "biuf":
            raise DataError(f"GroupSumDecoder: bits must be numeric 0/1 or bool, got dtype {b.dtype}")
        if b.ndim != 2:
            hint = " (one sample? use bits[None])" if b.ndim == 1 else ""
            raise ShapeError(f"GroupSumDecoder: expected a 2-D array (n_samples, n_bits), got shape {b.shape}{hint}")
        if b.shape[1] != self.n_bits:
            raise ShapeError(f"GroupSumDecoder: expected {self.n_bits} bits ({self.n_classes} classes x "
                             f"{self.bits_per_class}), got {b.shape[1]}")
        if b.dtype.kind != "b":
            bad = (b != 0) & (b != 1)
            if bad.any():
                row, col = (int(v) for v in np.argwhere(bad)[0])
                raise DataError(f"GroupSumDecoder: bits must be 0 or 1, but sample {row}, bit {col} "
                                f"is {b[row, col].item()!r}")
        return (b != 0).reshape(len(b), self.n_classes, self.bits_per_class).sum(axis=2, dtype=np.int64)

    def predict(self, bits) -> np.ndarray:
        """The class of the highest score, ties to the lowest class index: int64 ``(n,)``."""
        return self.scores(bits).argmax(axis=1).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": ENCODER_FORMAT_VERSION, "n_classes": self.n_classes,
                "bits_per_class": self.bits_per_class}

    @classmethod
    def _from_fields(cls, d):
        return cls(_get(d, "n_classes", cls.kind), _get(d, "bits_per_class", cls.kind))


_KINDS: dict[str, type[_Serialisable]] = {
    c.kind: c for c in (ThresholdEncoder, ThermometerEncoder, OneHotEncoder, ColumnEncoder, GroupSumDecoder)
}


def encoder_from_dict(d: Mapping):
    """The encoder or decoder a ``to_dict()`` describes, whatever its ``"kind"``.

    >>> enc = ThermometerEncoder(2).fit(np.array([[0.0], [3.0], [6.0]]))
    >>> encoder_from_dict(json.loads(json.dumps(enc.to_dict()))) == enc
    True
    """
    if not isinstance(d, Mapping):
        raise EncoderError(f"encoder_from_dict: expected a dict, got {type(d).__name__}")
    cls = _KINDS.get(d.get("kind"))
    if cls is None:
        raise EncoderError(f"encoder_from_dict: unknown kind {d.get('kind')!r}; known: {', '.join(sorted(_KINDS))}")
    return cls.from_dict(d)
