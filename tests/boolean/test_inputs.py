"""Raw features as exact port integers: decimals, widths, signs, saturation, categories, errors."""

import numpy as np
import pytest

from paralens.boolean.classifier import CircuitClassifier, class_from_bits, classifier_circuit
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder
from paralens.boolean.inputs import FeatureFormat, InputFormat, fit_inputs, verilog_port_names
from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder
from paralens.errors import DataError
from paralens.fields import GF
from support import mixed_classifier


def test_decimals_are_the_fewest_that_hold_the_training_values():
    fmt = fit_inputs(np.array([[13.2, 1680.0, 0.125], [12.37, 278.0, -3.5]]), names=["a", "b", "c"])
    assert [f.decimals for f in fmt.features] == [2, 0, 3]
    assert [f.width for f in fmt.features] == [11, 11, 13]  # 1337 < 2^11; 1680 < 2^11; -3500 .. 125 signed
    assert [f.signed for f in fmt.features] == [False, False, True]
    assert fmt.integers([[13.2, 1680, 0.125]]).tolist() == [[1320, 1680, 125]]


def test_values_without_a_short_decimal_form_get_ten_thousand_levels():
    x = np.random.default_rng(0).uniform(0, 1, (100, 1))
    f = fit_inputs(x).features[0]
    assert f.decimals == 5 and (x.max() - x.min()) * f.scale >= 10_000


def test_saturation_to_the_port_range_is_what_predict_and_the_ports_see():
    f = FeatureFormat("t", "number", 1, 8, True)  # -128 .. 127, tenths
    col = np.array([-1e300, -12.8, -12.86, 0.04, 0.05, 0.15, 12.7, 12.76, 1e300])
    assert f.integers(col).tolist() == [-128, -128, -128, 0, 0, 2, 127, 127, 127]  # half to even: 0.5 -> 0
    g = FeatureFormat("u", "number", 0, 4, False)
    assert g.integers(np.array([-5, 0, 15, 16, 2**62], dtype=np.int64)).tolist() == [0, 0, 15, 15, 15]
    assert g.integers(np.array([2**64 - 1], dtype=np.uint64)).tolist() == [15]


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
def test_non_finite_values_name_the_feature(bad, word):
    fmt = fit_inputs(np.array([[1.0, 2.0], [3.0, 4.0]]), names=["height", "weight"])
    with pytest.raises(DataError, match=f"feature 'weight' is {word} in sample 1"):
        fmt.integers(np.array([[1.0, 2.0], [1.0, bad]]))


def test_text_columns_are_categories_and_unseen_values_are_the_extra_index():
    X = np.array([["red", 1.5], ["blue", 2.5], ["red", 3.0]], dtype=object)
    fmt = fit_inputs(X, names=["colour", "size"])
    c = fmt.features[0]
    assert c.kind == "category" and c.categories == ("blue", "red") and c.width == 2
    assert fmt.integers(np.array([["green", 1.0], ["blue", 1.0]], dtype=object))[:, 0].tolist() == [2, 0]
    with pytest.raises(TypeError, match="argument must be a string or a"):
        fmt.integers(np.array([["red", {"a": 1}]], dtype=object))
    with pytest.raises(DataError, match="feature 'size' holds the text 'big'"):
        fmt.integers(np.array([["red", "big"]], dtype=object))


def test_formats_round_trip_through_json_and_refuse_bad_entries():
    fmt = fit_inputs(np.array([["a", -1.25], ["b", 7.5]], dtype=object), names=["k", "v"])
    assert InputFormat.from_dict(fmt.to_dict()) == fmt
    bad = fmt.to_dict()
    bad[1]["width"] = 63
    with pytest.raises(DataError, match="width must be an integer in 1 .. 62"):
        InputFormat.from_dict(bad)
    with pytest.raises(DataError, match="used twice"):
        InputFormat((FeatureFormat("a"), FeatureFormat("a")))


def test_port_names_are_distinct_verilog_identifiers():
    assert verilog_port_names(["sepal length (cm)", "sepal-length-cm", "3d", "module", ""]) == [
        "sepal_length_cm", "sepal_length_cm_2", "x_3d", "module_f", "x4"]


def _mixed_classifier():
    """Three features: signed tenths (4 bits), unsigned integers (3 bits), a category of three values."""
    inputs = InputFormat((FeatureFormat("t", "number", 1, 4, True), FeatureFormat("n", "number", 0, 3, False),
                          FeatureFormat("c", "category", 0, 2, False, ("a", "b", "c"))))
    return mixed_classifier(inputs, ((-3.5, 0.0, 2.0), (1.0, 5.5)), ("p", "q", "r"))


def test_the_whole_circuit_equals_predict_on_every_port_value():
    """Exhaustive over all 16 x 8 x 4 port integers: signed offset comparators, equalities, the unseen
    category code 3, ties to the lower class."""
    clf = _mixed_classifier()
    t, n, c = np.meshgrid(np.arange(-8, 8), np.arange(8), np.arange(4), indexing="ij")
    q = np.stack([t.ravel(), n.ravel(), c.ravel()], axis=1)
    cats = np.array(["a", "b", "c", "zz"], dtype=object)
    X = np.empty((len(q), 3), dtype=object)
    X[:, 0], X[:, 1], X[:, 2] = q[:, 0] / 10, q[:, 1].astype(float), cats[q[:, 2]]
    np.testing.assert_array_equal(clf.integers(X), q)
    want = clf.predict(X, packed=False)
    np.testing.assert_array_equal(clf.predict(X, packed=True), want)
    got = class_from_bits(np.asarray(classifier_circuit(clf).evaluate(clf.input_bits(X))))
    np.testing.assert_array_equal(got, want)
    assert set(want.tolist()) == {0, 1, 2}  # every class occurs: the check sees the argmax at work
    assert clf.predict_labels(X[:3]).tolist() == [["p", "q", "r"][i] for i in want[:3]]


def test_version_1_files_load_with_the_feature_width_of_their_info():
    clf = _mixed_classifier()
    d = clf.to_dict()
    assert d["version"] == 2 and d["inputs"][0] == {"name": "t", "kind": "number", "width": 4, "decimals": 1,
                                                    "signed": True}
    again = CircuitClassifier.from_dict(d)
    assert again.inputs == clf.inputs and again.classes == ("p", "q", "r")
    enc = ThermometerEncoder(2, thresholds=[[1.0, 3.0], [2.0, 9.0]])
    b = Builder(GF(2), 4)
    c = b.build(b.op(G.BOOLEAN_GATES["and"], b.inputs()[[0, 1]], b.inputs()[[2, 3]])[0])
    old = CircuitClassifier(enc, c, GroupSumDecoder(2, 1), info={"feature_bits": 5}).to_dict()
    for key in ("inputs", "classes", "target", "checksum"):
        old.pop(key)
    old["version"] = 1
    v1 = CircuitClassifier.from_dict(old)
    assert v1.inputs.widths == [5, 5] and v1.classes == (0, 1) and v1.feature_names == ["x0", "x1"]
