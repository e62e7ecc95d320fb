"""Reading a user's table (CSV, .npz) and splitting it by the one split policy."""

import numpy as np
import pytest

from paralens.data.datasets import Dataset
from paralens.data.splits import holdout
from paralens.data.tables import read_table, split_table
from paralens.errors import DataError


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_csv_numbers_text_and_labels(tmp_path):
    p = write(tmp_path, "t.csv", "\ufeffa,b,kind\n1,x,0\n-2.5,y,1\n1e3,x,1\n")
    t = read_table(p, "kind")
    assert t.feature_names == ["a", "b"] and t.target == "kind"
    assert t.X[:, 0].tolist() == [1.0, -2.5, 1000.0] and t.X[:, 1].tolist() == ["x", "y", "x"]
    assert t.y.dtype == np.int64 and t.y.tolist() == [0, 1, 1]
    assert read_table(p).y is None and read_table(p).feature_names == ["a", "b", "kind"]


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2,3\n", "line 2 has 3 fields, the header 2"),
    ("a,a\n1,2\n", "the column name 'a' is used twice"),
    ("a,b\n1,\n", "line 2, column 'b': missing value"),
    ("a,b\n", "needs a header row and at least one row"),
    ("a,\n1,2\n", "column 2 of the header has no name"),
])
def test_csv_problems_are_one_error_naming_the_place(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path, "bad.csv", text))


def test_missing_target_wrong_kind_and_missing_file(tmp_path):
    p = write(tmp_path, "t.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"no column 'label' \(the columns: a, b\)"):
        read_table(p, "label")
    with pytest.raises(DataError, match="name the label column with --target"):
        read_table(p, require_target=True)
    with pytest.raises(DataError, match="no such data file"):
        read_table(tmp_path / "none.csv")
    (tmp_path / "t.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="give a .csv file"):
        read_table(tmp_path / "t.xlsx")
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_table(tmp_path / "bin.csv")


def test_npz_with_names_and_without_pickle(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.arange(6).reshape(3, 2), y=np.array(["a", "b", "a"]), feature_names=np.array(["u", "v"]))
    t = read_table(p)
    assert t.feature_names == ["u", "v"] and t.y.tolist() == ["a", "b", "a"] and t.target == "y"
    q = tmp_path / "obj.npz"
    np.savez(q, X=np.array([[1, {"x": 1}]], dtype=object))
    with pytest.raises(DataError, match="only pickle could read"):
        read_table(q)
    with pytest.raises(DataError, match="--target 'k' does not apply"):
        read_table(p, "k")


def test_the_split_is_the_one_policy_for_text_labels_too():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 100)
    from paralens.data.tables import Table

    names = np.array(["a", "b", "c"], dtype=object)
    t = Table(np.arange(100.0)[:, None], ["x"], names[y], "label", "mem")
    train, test = split_table(t, 0.2, seed=4)
    ds_train, ds_test = holdout(Dataset(np.arange(100.0)[:, None], y, 3), 0.2, seed=4)
    np.testing.assert_array_equal(test.X[:, 0], ds_test.features[:, 0])
    np.testing.assert_array_equal(train.X[:, 0], ds_train.features[:, 0])
    assert split_table(t, 0.0)[1] is None
