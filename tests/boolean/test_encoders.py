"""Encoders from real features to bits and the group-sum decoder: numbers worked by hand and checked against NumPy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from paralens.boolean.encoders import (
    ENCODER_FORMAT_VERSION,
    ColumnEncoder,
    EncoderError,
    GroupSumDecoder,
    NotFittedError,
    OneHotEncoder,
    ThermometerEncoder,
    ThresholdEncoder,
    encoder_from_dict,
)
from paralens.data import load_breast_cancer, stratified_split
from paralens.errors import DataError, ParalensError, ShapeError


def rng_data(seed=0, n=200, d=5):
    return np.random.default_rng(seed).normal(size=(n, d)) * np.arange(1, d + 1)


# ----------------------------------------------------------------------------- thermometer


def test_thermometer_hand_worked_quantile():
    # feature 0: 1..5, quartiles 2, 3, 4; feature 1: 10, 20, ..., 50, quartiles 20, 30, 40
    X = np.array([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]], dtype=float)
    enc = ThermometerEncoder(3).fit(X)
    np.testing.assert_array_equal(enc.thresholds, [[2, 3, 4], [20, 30, 40]])
    bits = enc.transform(np.array([[1.0, 45.0], [2.5, 30.0], [4.0, 30.5], [6.0, 0.0]]))
    assert bits.dtype == np.uint8 and bits.shape == (4, 6)
    assert bits.tolist() == [[0, 0, 0, 1, 1, 1],   # 1 > nothing; 45 > 20, 30, 40
                             [1, 0, 0, 1, 0, 0],   # 2.5 > 2; 30 > 20 only (strict)
                             [1, 1, 0, 1, 1, 0],   # 4 > 2, 3 (not > 4); 30.5 > 20, 30
                             [1, 1, 1, 0, 0, 0]]
    assert (enc.n_features, enc.n_bits) == (2, 6)
    assert enc.comparators() == ((0, 2.0), (0, 3.0), (0, 4.0), (1, 20.0), (1, 30.0), (1, 40.0))


@pytest.mark.parametrize("k", [1, 2, 3, 7, 16])
def test_quantile_thresholds_equal_np_quantile(k):
    X = rng_data(k)
    enc = ThermometerEncoder(k, method="quantile").fit(X)
    levels = np.arange(1, k + 1) / (k + 1)
    np.testing.assert_array_equal(enc.levels(), levels)
    np.testing.assert_array_equal(enc.thresholds, np.quantile(X, levels, axis=0).T)
    assert enc.thresholds.shape == (5, k)
    assert (np.diff(enc.thresholds, axis=1) >= 0).all()
    # bit i*k + j is x_i > t_ij, feature-major
    bits = enc.transform(X)
    for i in range(5):
        for j in range(k):
            np.testing.assert_array_equal(bits[:, i * k + j], (X[:, i] > enc.thresholds[i, j]).astype(np.uint8))
    # each quantile threshold splits the training set near its level
    frac_above = bits.reshape(len(X), 5, k).mean(axis=0)
    assert np.all(np.abs(frac_above - (1 - levels)) <= 1 / len(X) + 1e-12)


@pytest.mark.parametrize("k", [1, 3, 4])
def test_uniform_thresholds_closed_form(k):
    X = rng_data(10 + k)
    enc = ThermometerEncoder(k, method="uniform").fit(X)
    lo, hi = X.min(axis=0), X.max(axis=0)
    expected = np.array([[lo[i] + (hi[i] - lo[i]) * (j + 1) / (k + 1) for j in range(k)] for i in range(5)])
    np.testing.assert_allclose(enc.thresholds, expected, rtol=0, atol=1e-12)
    # hand-worked: range [0, 10], k = 4 -> 2, 4, 6, 8
    enc = ThermometerEncoder(4, method="uniform").fit(np.array([[0.0], [3.0], [10.0]]))
    np.testing.assert_allclose(enc.thresholds, [[2.0, 4.0, 6.0, 8.0]])
    assert enc.transform(np.array([[2.0], [9.0]])).tolist() == [[0, 0, 0, 0], [1, 1, 1, 1]]


def test_ties_keep_the_width():
    # a mostly-zero feature: quantile thresholds coincide, bits duplicate, width stays k per feature
    X = np.array([[0.0, 5.0]] * 8 + [[1.0, 5.0], [2.0, 5.0]])
    enc = ThermometerEncoder(4).fit(X)
    assert enc.n_bits == 8
    np.testing.assert_allclose(enc.thresholds[0], [0.0, 0.0, 0.0, 0.2], rtol=0, atol=1e-12)   # 0.8 * 9 = 7.2
    assert enc.thresholds[0, 0] == enc.thresholds[0, 1] == enc.thresholds[0, 2] == 0.0
    np.testing.assert_array_equal(enc.thresholds[1], [5.0] * 4)   # constant feature
    bits = enc.transform(X)
    assert bits[:, :4].tolist() == [[0, 0, 0, 0]] * 8 + [[1, 1, 1, 1]] * 2
    assert not bits[:, 4:].any()
    u = ThermometerEncoder(3, method="uniform").fit(X)
    np.testing.assert_array_equal(u.thresholds[1], [5.0, 5.0, 5.0])


def test_threshold_encoder_median_and_mean():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 4.0]])
    med = ThresholdEncoder().fit(X)
    np.testing.assert_array_equal(med.thresholds, [2.5, 0.0])
    assert med.transform(X).tolist() == [[0, 0], [0, 0], [1, 0], [1, 1]]
    mean = ThresholdEncoder(statistic="mean").fit(X)
    np.testing.assert_array_equal(mean.thresholds, [4.0, 1.0])
    assert mean.transform(X).tolist() == [[0, 0], [0, 0], [0, 0], [1, 1]]
    # median threshold encoder == 1-bit quantile thermometer
    Y = rng_data(3)
    np.testing.assert_array_equal(ThresholdEncoder().fit(Y).transform(Y), ThermometerEncoder(1).fit(Y).transform(Y))


def test_given_thresholds_are_fitted_and_used_as_given():
    enc = ThresholdEncoder(thresholds=[0.5, -1.0])
    assert enc.is_fitted and enc.n_bits == 2
    assert enc.transform(np.array([[1, -1], [0, 0]])).tolist() == [[1, 0], [0, 1]]
    t = ThermometerEncoder(2, thresholds=[[3.0, 1.0]])   # any order
    assert t.transform(np.array([[2.0]])).tolist() == [[0, 1]]
    with pytest.raises(EncoderError, match=r"thresholds of shape \(1, 2\) give 2 bits per feature, but bits_per_feature=3"):
        ThermometerEncoder(3, thresholds=[[3.0, 1.0]])
    with pytest.raises(EncoderError, match="thresholds must be finite"):
        ThresholdEncoder(thresholds=[0.0, np.inf])
    with pytest.raises(EncoderError, match=r"shape \(n_features,\)"):
        ThresholdEncoder(thresholds=[[0.0]])


def test_fit_returns_a_new_encoder_and_is_immutable():
    enc = ThermometerEncoder(2)
    fitted = enc.fit(rng_data())
    assert not enc.is_fitted and enc.thresholds is None and fitted.is_fitted
    with pytest.raises(AttributeError):
        fitted.thresholds = None
    with pytest.raises(ValueError):
        fitted.thresholds[0, 0] = 1.0
    t = np.array([1.0, 2.0])
    given = ThresholdEncoder(thresholds=t)
    t[0] = 99.0                       # the encoder holds its own copy
    assert given.thresholds.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make", [
    lambda: ThresholdEncoder(),
    lambda: ThermometerEncoder(3),
    lambda: ThermometerEncoder(5, method="uniform"),
])
def test_integer_thresholds_give_the_same_bits_on_integers(make):
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(300, 6))
    enc = make().fit(pixels)
    # also random real thresholds, including negative, integral and out-of-range ones
    k = enc.thresholds.shape[1] if enc.thresholds.ndim == 2 else None
    shape = (6, k) if k else (6,)
    randomised = [enc, type(enc)(**({"bits_per_feature": k} if k else {}),
                                 thresholds=np.sort(rng.uniform(-20, 280, size=shape), axis=-1))]
    randomised.append(type(enc)(**({"bits_per_feature": k} if k else {}),
                                thresholds=np.round(rng.uniform(-5, 260, size=shape))))
    for e in randomised:
        ints = e.integer_thresholds()
        assert len(ints) == e.n_bits and all(isinstance(T, int) for _, T in ints)
        assert [f for f, _ in ints] == [f for f, _ in e.comparators()]
        assert all(T == math.floor(t) for (_, T), (_, t) in zip(ints, e.comparators()))
        by_int = np.stack([(pixels[:, f] > T) for f, T in ints], axis=1).astype(np.uint8)
        by_real = np.stack([(pixels[:, f] > t) for f, t in e.comparators()], axis=1).astype(np.uint8)
        np.testing.assert_array_equal(by_int, e.transform(pixels))
        np.testing.assert_array_equal(by_real, e.transform(pixels))


def test_integer_thresholds_hand_worked():
    enc = ThresholdEncoder(thresholds=[127.5, 3.0, -0.5, -2.0])
    assert enc.integer_thresholds() == ((0, 127), (1, 3), (2, -1), (3, -2))


# ----------------------------------------------------------------------------- one-hot


def test_one_hot():
    X = np.array([[3, 0], [1, 0], [3, 2], [2, 2]])
    enc = OneHotEncoder().fit(X)
    assert enc.categories == ((1, 2, 3), (0, 2)) and enc.n_bits == 5 and enc.n_features == 2
    assert enc.transform(X).tolist() == [[0, 0, 1, 1, 0], [1, 0, 0, 1, 0], [0, 0, 1, 0, 1], [0, 1, 0, 0, 1]]
    assert enc.equalities() == ((0, 1), (0, 2), (0, 3), (1, 0), (1, 2))
    with pytest.raises(EncoderError, match=r"sample 1, feature 0: value 7\.0 is not one of the 3 categories"):
        enc.transform(np.array([[1, 0], [7, 0]]))
    ignore = OneHotEncoder(handle_unknown="ignore").fit(X)
    assert ignore.transform(np.array([[7, 2], [2, 1]])).tolist() == [[0, 0, 0, 0, 1], [0, 1, 0, 0, 0]]
    with pytest.raises(EncoderError, match="equalities"):
        enc.comparators()
    with pytest.raises(EncoderError, match="equalities"):
        enc.integer_thresholds()
    with pytest.raises(DataError, match=r"categories must be integers, but sample 0, feature 1 is 0\.5"):
        OneHotEncoder().fit(np.array([[1.0, 0.5]]))
    with pytest.raises(EncoderError, match="category 2 of feature 0 is listed twice"):
        OneHotEncoder(categories=[[2, 2]])
    with pytest.raises(EncoderError, match=r"category 1\.5 of feature 0 is not an integer"):
        OneHotEncoder(categories=[[1.5]])
    with pytest.raises(EncoderError, match="handle_unknown"):
        OneHotEncoder(handle_unknown="zeros")


# ----------------------------------------------------------------------------- column groups


def test_column_encoder():
    X = np.array([[0.0, 3, 1.0, 9.0], [2.0, 4, 3.0, 9.0], [4.0, 3, 5.0, 9.0]])
    enc = ColumnEncoder([((2, 0), ThermometerEncoder(2)), (1, OneHotEncoder())]).fit(X)
    assert enc.n_features == 4 and enc.n_bits == 6
    therm = ThermometerEncoder(2).fit(X[:, [2, 0]])
    np.testing.assert_array_equal(enc.transform(X)[:, :4], therm.transform(X[:, [2, 0]]))
    assert enc.transform(X)[:, 4:].tolist() == [[1, 0], [0, 1], [1, 0]]
    with pytest.raises(EncoderError, match="equalities"):
        enc.comparators()
    comp = ColumnEncoder([((3, 1), ThresholdEncoder())]).fit(X)
    assert comp.comparators() == ((3, 9.0), (1, 3.0))
    assert comp.integer_thresholds() == ((3, 9), (1, 3))
    with pytest.raises(ShapeError, match="ColumnEncoder.transform: expected 4 features, got 3"):
        comp.transform(X[:, :3])
    with pytest.raises(ShapeError, match="part 0 uses column 5, but X has 4 features"):
        ColumnEncoder([((5,), ThresholdEncoder())]).fit(X)
    with pytest.raises(EncoderError, match="columns must be distinct non-negative integers"):
        ColumnEncoder([((1, 1), ThresholdEncoder())])
    with pytest.raises(EncoderError, match="fitted for 2 features but is given 1 columns"):
        ColumnEncoder([((0,), ThresholdEncoder(thresholds=[0.0, 1.0]))])
    with pytest.raises(NotFittedError):
        ColumnEncoder([((0,), ThresholdEncoder())]).transform(X)


# ----------------------------------------------------------------------------- serialisation


def fitted_encoders():
    X = rng_data(5)
    ints = np.random.default_rng(1).integers(0, 4, size=(50, 3))
    return [
        (ThresholdEncoder().fit(X), X),
        (ThresholdEncoder(statistic="mean").fit(X), X),
        (ThermometerEncoder(4).fit(X), X),
        (ThermometerEncoder(3, method="uniform").fit(X), X),
        (OneHotEncoder(handle_unknown="ignore").fit(ints), ints),
        (ColumnEncoder([((0, 1), ThermometerEncoder(2)), ((4,), ThresholdEncoder())]).fit(X), X),
    ]


@pytest.mark.parametrize(("enc", "X"), fitted_encoders(), ids=lambda v: getattr(v, "kind", ""))
def test_round_trip_through_json(enc, X):
    d = enc.to_dict()
    assert d["kind"] == enc.kind and d["version"] == ENCODER_FORMAT_VERSION
    back = json.loads(json.dumps(d))
    for again in (type(enc).from_dict(back), encoder_from_dict(back)):
        assert type(again) is type(enc) and again == enc and hash(again) == hash(enc)
        np.testing.assert_array_equal(again.transform(X), enc.transform(X))
        assert again.n_bits == enc.n_bits


def test_unfitted_round_trip_and_dict_errors():
    enc = ThermometerEncoder(3, method="uniform")
    assert encoder_from_dict(json.loads(json.dumps(enc.to_dict()))) == enc
    d = ThermometerEncoder(2).fit(rng_data()).to_dict()
    with pytest.raises(EncoderError, match="of kind 'ThermometerEncoder', not 'ThresholdEncoder'"):
        ThresholdEncoder.from_dict(d)
    with pytest.raises(EncoderError, match="unsupported version 2"):
        encoder_from_dict({**d, "version": 2})
    with pytest.raises(EncoderError, match="unknown kind 'Magic'"):
        encoder_from_dict({**d, "kind": "Magic"})
    with pytest.raises(EncoderError, match="has no 'method' field"):
        encoder_from_dict({k: v for k, v in d.items() if k != "method"})
    dec = GroupSumDecoder(3, 4)
    assert encoder_from_dict(json.loads(json.dumps(dec.to_dict()))) == dec


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("enc", [ThresholdEncoder(), ThermometerEncoder(2), OneHotEncoder()])
def test_transform_before_fit(enc):
    with pytest.raises(NotFittedError, match=r"\.transform: the encoder is not fitted; call fit\(X_train\) first"):
        enc.transform(np.zeros((2, 3)))
    with pytest.raises(NotFittedError, match="n_bits"):
        enc.n_bits
    assert "unfitted" in repr(enc)


def test_input_errors():
    enc = ThermometerEncoder(3).fit(rng_data(d=30))
    with pytest.raises(ShapeError, match="ThermometerEncoder.transform: expected 30 features, got 29"):
        enc.transform(np.zeros((4, 29)))
    with pytest.raises(ShapeError, match=r"expected a 2-D array \(n_samples, n_features\), got shape \(30,\) "
                                         r"\(one sample\? use x\[None\]\)"):
        enc.transform(np.zeros(30))
    X = np.zeros((4, 30))
    X[2, 7] = np.nan
    with pytest.raises(DataError, match="holds NaN at sample 2, feature 7"):
        enc.transform(X)
    X[2, 7] = -np.inf
    with pytest.raises(DataError, match="holds infinity at sample 2, feature 7"):
        enc.transform(X)
    with pytest.raises(DataError, match="holds NaN"):
        ThermometerEncoder(2).fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(DataError, match=r"cannot fit on an empty array of shape \(0, 3\)"):
        ThresholdEncoder().fit(np.zeros((0, 3)))
    with pytest.raises(DataError, match="must be numeric"):
        ThresholdEncoder().fit(np.array([["a"]]))
    assert enc.transform(np.zeros((0, 30))).shape == (0, 90)
    for k in (0, -1, 2.5, True):
        with pytest.raises(EncoderError, match="bits_per_feature must be an integer >= 1"):
            ThermometerEncoder(k)
    with pytest.raises(EncoderError, match="method must be 'quantile' or 'uniform'"):
        ThermometerEncoder(2, method="kmeans")
    with pytest.raises(EncoderError, match="statistic must be 'median' or 'mean'"):
        ThresholdEncoder(statistic="mode")
    assert issubclass(EncoderError, ParalensError) and issubclass(NotFittedError, ValueError)


# ----------------------------------------------------------------------------- decoder


def test_group_sum_decoder():
    dec = GroupSumDecoder(n_classes=3, bits_per_class=2)
    bits = np.array([[1, 1, 0, 1, 1, 0],    # scores 2, 1, 1 -> 0
                     [0, 0, 1, 1, 1, 1],    # 0, 2, 2 -> tie, lowest: 1
                     [0, 0, 0, 0, 0, 0],    # all zero: 0
                     [1, 0, 0, 1, 1, 1],    # 1, 1, 2 -> 2
                     [0, 1, 1, 0, 1, 0]])   # 1, 1, 1 -> 0
    assert dec.n_bits == 6
    assert dec.scores(bits).tolist() == [[2, 1, 1], [0, 2, 2], [0, 0, 0], [1, 1, 2], [1, 1, 1]]
    assert dec.predict(bits).tolist() == [0, 1, 0, 2, 0]
    assert dec.predict(bits.astype(bool)).tolist() == [0, 1, 0, 2, 0]
    assert dec.scores(bits).dtype == np.int64
    # agrees with the reshape-and-sum of the usual group-sum layer on random bits
    rand = np.random.default_rng(0).integers(0, 2, size=(100, 3 * 2), dtype=np.uint8)
    np.testing.assert_array_equal(dec.scores(rand), rand.reshape(100, 3, 2).sum(-1))
    with pytest.raises(ShapeError, match=r"expected 6 bits \(3 classes x 2\), got 5"):
        dec.scores(bits[:, :5])
    with pytest.raises(DataError, match="bits must be 0 or 1, but sample 0, bit 1 is 2"):
        dec.scores(np.array([[0, 2, 0, 0, 0, 0]]))
    with pytest.raises(ShapeError, match="one sample"):
        dec.predict(bits[0])
    with pytest.raises(EncoderError, match="bits_per_class must be an integer >= 1"):
        GroupSumDecoder(2, 0)


# ----------------------------------------------------------------------------- on the bundled data


def test_thermometer_on_breast_cancer_train_split():
    train, test = stratified_split(load_breast_cancer(), 0.8, seed=0)
    enc = ThermometerEncoder(4).fit(train.features)
    assert enc.n_features == 30 and enc.n_bits == 120
    np.testing.assert_array_equal(enc.thresholds,
                                  np.quantile(train.features.astype(np.float64), [0.2, 0.4, 0.6, 0.8], axis=0).T)
    bits = enc.transform(test.features)
    assert bits.shape == (len(test), 120) and set(np.unique(bits)) <= {0, 1}
    # thermometer property: within each feature, bits are 1...10...0
    per_feature = bits.reshape(len(test), 30, 4).astype(int)
    assert (np.diff(per_feature, axis=2) <= 0).all()
    # a single median bit of "worst perimeter" alone separates the classes well on the test split
    worst_perimeter = 22
    pred = 1 - ThresholdEncoder().fit(train.features).transform(test.features)[:, worst_perimeter]
    assert (pred == test.labels).mean() > 0.8
