"""The bundled Wisconsin Diagnostic Breast Cancer data and its loader."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from paralens.data import (
    BREAST_CANCER_FEATURES,
    Dataset,
    breast_cancer_path,
    load_breast_cancer,
    stratified_split,
)
from paralens.errors import DataError

SHA256 = "43584b3806cc61afce3c9b3158dd8e56bc7fd734507f95639126fcd572dc7233"


@pytest.fixture(scope="module")
def bc() -> Dataset:
    return load_breast_cancer()


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return breast_cancer_path().read_text(encoding="utf-8").splitlines()


def test_file_is_the_recorded_one():
    assert hashlib.sha256(breast_cancer_path().read_bytes()).hexdigest() == SHA256
    readme = (breast_cancer_path().parent / "README.md").read_text(encoding="utf-8")
    assert f"breast_cancer.csv {SHA256}" in readme


def test_shape_counts_and_names(bc):
    assert bc.features.shape == (569, 30) and bc.features.dtype == np.float32
    assert bc.labels.shape == (569,) and bc.labels.dtype == np.int64
    assert bc.n_classes == 2 and bc.class_names == ("malignant", "benign")
    assert bc.class_counts().tolist() == [212, 357]
    assert len(BREAST_CANCER_FEATURES) == 30 and len(set(BREAST_CANCER_FEATURES)) == 30
    assert BREAST_CANCER_FEATURES[0] == "mean radius"
    assert BREAST_CANCER_FEATURES[10] == "radius error"
    assert BREAST_CANCER_FEATURES[29] == "worst fractal dimension"


def test_known_values(bc):
    # first row of the file: 17.99,10.38,122.8,1001,...,0.1189, label 0 (malignant)
    assert bc.features[0, 0] == np.float32(17.99)
    np.testing.assert_array_equal(bc.features[0, :4], np.array([17.99, 10.38, 122.8, 1001], np.float32))
    assert bc.features[0, 29] == np.float32(0.1189) and bc.labels[0] == 0
    # last row: 7.76,24.54,...,0.07039, label 1 (benign)
    assert bc.features[-1, 0] == np.float32(7.76) and bc.features[-1, 29] == np.float32(0.07039)
    assert bc.labels[-1] == 1
    # summary ranges from scikit-learn's description of the data
    assert bc.features[:, 0].min() == np.float32(6.981) and bc.features[:, 0].max() == np.float32(28.11)
    assert bc.features[:, 3].max() == np.float32(2501.0) and bc.features[:, 23].max() == np.float32(4254.0)


def test_values_equal_the_text(bc, lines):
    table = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    np.testing.assert_array_equal(bc.features, table[:, :30].astype(np.float32))
    np.testing.assert_array_equal(bc.labels, table[:, 30].astype(np.int64))


def test_header(lines):
    assert lines[0].split(",") == [*BREAST_CANCER_FEATURES, "label"]


def test_stratified_split_is_seeded_and_stratified(bc):
    train, test = stratified_split(bc, 0.8, seed=3)
    assert train.class_counts().tolist() == [170, 286] and test.class_counts().tolist() == [42, 71]
    again, _ = stratified_split(bc, 0.8, seed=3)
    np.testing.assert_array_equal(train.features, again.features)
    other, _ = stratified_split(bc, 0.8, seed=4)
    assert not np.array_equal(train.features, other.features)


# ----------------------------------------------------------------------------- corrupt files


def write_variant(tmp_path, lines, edit):
    rows = list(lines)
    edit(rows)
    path = tmp_path / "bc.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_copy_loads_the_same(tmp_path, lines, bc):
    path = write_variant(tmp_path, lines, lambda rows: None)
    copy = load_breast_cancer(path)
    np.testing.assert_array_equal(copy.features, bc.features)
    assert copy.name == str(path)


def replace_field(row: int, col: int, value: str):
    def edit(rows):
        fields = rows[row].split(",")
        fields[col] = value
        rows[row] = ",".join(fields)
    return edit


@pytest.mark.parametrize(("edit", "message"), [
    (lambda rows: rows.__setitem__(5, rows[5].rsplit(",", 1)[0]),
     r"bc\.csv, line 6 \(sample 4\): expected 30 features and a label, got 30 fields"),
    (lambda rows: rows.__setitem__(5, rows[5] + ",1"),
     r"line 6 \(sample 4\): expected 30 features and a label, got 32 fields"),
    (replace_field(10, 3, "abc"), r"line 11 \(sample 9\): feature 3 \(mean area\) 'abc' is not a number"),
    (replace_field(10, 0, "nan"), r"line 11 \(sample 9\): feature 0 \(mean radius\) is 'nan', not a finite"),
    (replace_field(10, 1, "1e39"), r"line 11 \(sample 9\): feature 1 \(mean texture\) is '1e39', not a finite"),
    (replace_field(20, 30, "2"), r"line 21 \(sample 19\): label '2' is not 0 \(malignant\) or 1 \(benign\)"),
    (replace_field(20, 30, "-1"), r"line 21 \(sample 19\): label '-1' is not 0"),
    (replace_field(20, 30, "0.5"), r"line 21 \(sample 19\): label '0.5' is not 0"),
    (lambda rows: rows.__delitem__(slice(300, None)), r"bc\.csv: 299 samples, expected 569 \(truncated"),
    (lambda rows: rows.__setitem__(569, rows[569][:16]),
     r"line 570 \(sample 568\): expected 30 features and a label, got 3 fields"),
    (lambda rows: rows.__setitem__(0, rows[0].replace("mean texture", "mean textur")),
     r"line 1: not the breast cancer header: column 2 is 'mean textur', expected 'mean texture'"),
    (lambda rows: rows.__setitem__(0, rows[0].rsplit(",", 1)[0]),
     r"line 1: not the breast cancer header: 30 columns, expected 31"),
    (lambda rows: rows.__delitem__(0), r"line 1: not the breast cancer header: column 1 is '17\.99'"),
])
def test_corrupt_csv_names_the_row(tmp_path, lines, edit, message):
    path = write_variant(tmp_path, lines, edit)
    with pytest.raises(DataError, match=message):
        load_breast_cancer(path)


def test_missing_empty_and_binary_files(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.csv: no such file"):
        load_breast_cancer(tmp_path / "nothere.csv")
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(DataError, match=r"empty\.csv: empty file"):
        load_breast_cancer(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match=r"bin\.csv: cannot read as UTF-8"):
        load_breast_cancer(tmp_path / "bin.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_breast_cancer(tmp_path)
