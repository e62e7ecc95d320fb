"""Data: the IDX reader, MNIST and Iris loaders, Dataset, splits, batches, input checks."""

from __future__ import annotations

import gzip
import hashlib
import re

import numpy as np
import pytest

from paralens.data import (
    Dataset,
    batches,
    check_inputs,
    iris_path,
    load_iris,
    load_mnist,
    mnist_subset,
    one_hot,
    read_idx,
    stratified_split,
    write_idx,
)
from paralens.errors import DataError, ParalensError, ShapeError

# ----------------------------------------------------------------------------- helpers


def idx_bytes(code: int, dims, payload: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + payload


def write(path, data: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def mnist_dir(tmp_path, images, labels, split="train", gz=True):
    names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / (names[0] + suffix), images)
    write_idx(tmp_path / (names[1] + suffix), labels)
    return tmp_path


def digits(n, h=28, w=28, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


# ----------------------------------------------------------------------------- IDX: good files


def test_read_idx_reads_hand_written_big_endian_bytes(tmp_path):
    payload = np.array([[1, -2, 300], [4, 5, -32768]], dtype=">i2").tobytes()
    p = write(tmp_path / "a", idx_bytes(0x0B, (2, 3), payload))
    a = read_idx(p)
    assert a.dtype == np.int16 and a.dtype.isnative
    np.testing.assert_array_equal(a, [[1, -2, 300], [4, 5, -32768]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_write_then_read_idx_round_trips_every_dtype(tmp_path, dtype, gz):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    p = tmp_path / ("x.gz" if gz else "x")
    write_idx(p, a)
    b = read_idx(p)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_read_idx_tells_gzip_by_content_not_name(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    raw_named_gz = tmp_path / "raw.gz"
    write_idx(raw_named_gz, a, compress=False)
    gz_named_raw = tmp_path / "compressed.idx"
    write_idx(gz_named_raw, a, compress=True)
    assert gz_named_raw.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(raw_named_gz), a)
    np.testing.assert_array_equal(read_idx(gz_named_raw), a)


# ----------------------------------------------------------------------------- IDX: bad files, one by one


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.idx: no such file"):
        read_idx(tmp_path / "nothere.idx")


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic_number(tmp_path, gz):
    p = write(tmp_path / "bad.idx", b"\x01\x02" + idx_bytes(0x08, (2,), b"\x00\x01")[2:], gz)
    with pytest.raises(DataError, match=r"bad\.idx: not an IDX file: magic number starts 0x01 0x02"):
        read_idx(p)


def test_unknown_dtype_code(tmp_path):
    p = write(tmp_path / "bad.idx", idx_bytes(0x0A, (2,), b"\x00\x01"))
    with pytest.raises(DataError, match=r"bad\.idx: unknown IDX dtype code 0x0A"):
        read_idx(p)


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x08"])
def test_truncated_magic(tmp_path, data):
    p = write(tmp_path / "short.idx", data)
    with pytest.raises(DataError, match=r"short\.idx: truncated IDX header"):
        read_idx(p)


def test_truncated_dimensions(tmp_path):
    p = write(tmp_path / "short.idx", idx_bytes(0x08, (5, 28, 28), b"")[:10])
    with pytest.raises(DataError, match=r"short\.idx: truncated IDX header: 3 dimensions need 16 header bytes, "
                                        r"the file has 10"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, gz):
    p = write(tmp_path / "cut.idx", idx_bytes(0x0C, (3, 2), b"\x00" * 23), gz)
    with pytest.raises(DataError, match=r"cut\.idx: truncated IDX data: dimensions \(3, 2\) of int32 need 24 bytes "
                                        r"after the header, the file has 23"):
        read_idx(p)


def test_data_longer_than_dimensions(tmp_path):
    p = write(tmp_path / "long.idx", idx_bytes(0x08, (4,), b"\x00" * 5))
    with pytest.raises(DataError, match=r"long\.idx: IDX data longer than its dimensions"):
        read_idx(p)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    p = write(tmp_path / "bad.gz", good[:2] + b"\xff" * (len(good) - 2))
    with pytest.raises(DataError, match=r"bad\.gz: corrupt gzip data"):
        read_idx(p)


def test_truncated_gzip(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    p = write(tmp_path / "cut.gz", good[: len(good) // 2])
    with pytest.raises(DataError, match=r"cut\.gz: corrupt gzip data"):
        read_idx(p)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_idx(tmp_path)


def test_write_idx_rejects_dtypes_idx_lacks(tmp_path):
    with pytest.raises(DataError, match="IDX cannot store dtype int64"):
        write_idx(tmp_path / "x", np.arange(3))


# ----------------------------------------------------------------------------- MNIST: bad folders


def test_mnist_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"nope: no such folder"):
        load_mnist(tmp_path / "nope")


def test_mnist_missing_files(tmp_path):
    with pytest.raises(DataError, match=r"no MNIST train images file: looked for train-images-idx3-ubyte\.gz, "
                                        r"train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", digits(3)[0])
    with pytest.raises(DataError, match="no MNIST train labels file"):
        load_mnist(tmp_path)


def test_mnist_unknown_split(tmp_path):
    with pytest.raises(DataError, match="unknown MNIST split 'validation'"):
        load_mnist(tmp_path, "validation")


def test_mnist_reads_raw_files_and_dotted_names(tmp_path):
    x, y = digits(5)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", x)
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", y)
    ds = load_mnist(tmp_path, "test")
    np.testing.assert_array_equal(ds.features[:, 0] * 255, x)
    np.testing.assert_array_equal(ds.labels, y)


def test_mnist_count_mismatch(tmp_path):
    x, y = digits(5)
    mnist_dir(tmp_path, x, y[:4])
    with pytest.raises(DataError, match=r"5 images in train-images-idx3-ubyte\.gz but 4 labels in "
                                        r"train-labels-idx1-ubyte\.gz"):
        load_mnist(tmp_path)


def test_mnist_label_outside_classes(tmp_path):
    x, y = digits(5)
    y[3] = 10
    mnist_dir(tmp_path, x, y, "test")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: label 10 at index 3 is not a digit 0\.\.9"):
        load_mnist(tmp_path, "test")


def test_mnist_empty(tmp_path):
    mnist_dir(tmp_path, np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: the MNIST train split is empty"):
        load_mnist(tmp_path)


def test_mnist_wrong_image_dtype_or_rank(tmp_path):
    mnist_dir(tmp_path, np.zeros((2, 28, 28), np.float32), np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"images must be uint8 of shape \(N, H, W\), got float32 \(2, 28, 28\)"):
        load_mnist(tmp_path)
    mnist_dir(tmp_path, np.zeros((2, 784), np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"got uint8 \(2, 784\)"):
        load_mnist(tmp_path)
    mnist_dir(tmp_path, np.zeros((2, 28, 28), np.uint8), np.zeros((2, 1), np.uint8))
    with pytest.raises(DataError, match=r"labels must be uint8 of shape \(N,\)"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------- the bundled data


def test_bundled_mnist_loads():
    train, test = load_mnist(split="train"), load_mnist(mnist_subset(), "test")
    assert len(train) == 6000 and len(test) == 2000
    for ds in (train, test):
        assert ds.features.shape[1:] == (1, 28, 28) and ds.features.dtype == np.float32
        assert ds.labels.dtype == np.int64 and ds.n_classes == 10
        assert ds.features.min() == 0.0 and ds.features.max() == 1.0
        assert set(np.unique(ds.labels)) == set(range(10))
        counts = ds.class_counts()
        assert counts.min() > 0.8 * len(ds) / 10 and counts.max() < 1.2 * len(ds) / 10
    # pixels are exact multiples of 1/255: the bytes survive
    assert np.array_equal(np.round(train.features * 255) / 255, train.features)


def test_bundled_mnist_flat_and_limit():
    ds = load_mnist(flat=True, limit=100)
    assert ds.features.shape == (100, 784)
    np.testing.assert_array_equal(ds.features, load_mnist().features[:100].reshape(100, 784))


def test_bundled_mnist_checksums_match_readme():
    folder = mnist_subset()
    listed = dict(re.findall(r"^- (\S+\.gz) ([0-9a-f]{64})$", (folder / "README.md").read_text(), re.MULTILINE))
    assert len(listed) == 4
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_bundled_iris():
    iris = load_iris()
    assert iris.features.shape == (150, 4) and iris.features.dtype == np.float32
    assert iris.labels.dtype == np.int64 and iris.n_classes == 3
    assert iris.class_counts().tolist() == [50, 50, 50]
    np.testing.assert_array_equal(iris.features[0], np.array([5.1, 3.5, 1.4, 0.2], np.float32))
    assert iris.labels[0] == 0 and iris.class_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(iris.features[-1], np.array([5.9, 3.0, 5.1, 1.8], np.float32))
    assert iris.labels[-1] == 2
    digest = re.search(r"iris\.csv ([0-9a-f]{64})", (iris_path().parent / "README.md").read_text()).group(1)
    assert hashlib.sha256(iris_path().read_bytes()).hexdigest() == digest


def test_iris_bad_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_iris(tmp_path / "iris.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("3,2,a,b\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"bad\.csv: header promises 3 samples, the file has 2 rows"):
        load_iris(bad)
    bad.write_text("2,2,a,b\n1,2,0\n3,x,1\n")
    with pytest.raises(DataError, match=r"bad\.csv, line 3: a feature is not a number"):
        load_iris(bad)
    bad.write_text("2,2,a,b\n1,2,0\n3,4\n")
    with pytest.raises(DataError, match=r"bad\.csv, line 3: expected 2 features and a label, got 2 fields"):
        load_iris(bad)
    bad.write_text("2,2,a,b\n1,2,0\n3,4,2\n")
    with pytest.raises(DataError, match=r"label 2 at index 1 is outside 0\.\.1"):
        load_iris(bad)
    bad.write_text("2,2,a,b\n1,nan,0\n3,4,1\n")
    with pytest.raises(DataError, match="features contain NaN"):
        load_iris(bad)


# ----------------------------------------------------------------------------- Dataset checks


def test_dataset_rejects_bad_data():
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(DataError, match="toy: 4 feature rows but 3 labels"):
        Dataset(x, [0, 1, 0], 2, name="toy")
    with pytest.raises(DataError, match=r"toy: the data set is empty \(0 samples\)"):
        Dataset(x[:0], np.zeros(0, int), 2, name="toy")
    with pytest.raises(DataError, match=r"label 5 at index 2 is outside 0\.\.2 \(n_classes=3\)"):
        Dataset(x, [0, 1, 5, 0], 3)
    with pytest.raises(DataError, match=r"label -1 at index 0"):
        Dataset(x, [-1, 1, 1, 0], 3)
    with pytest.raises(DataError, match="integer class indices, got dtype float64"):
        Dataset(x, [0.0, 1.0, 1.0, 0.0], 2)
    with pytest.raises(DataError, match=r"shape \(N,\), got shape \(4, 2\) \(one-hot\?"):
        Dataset(x, np.eye(2)[[0, 1, 1, 0]], 2)
    with pytest.raises(DataError, match="features must be numeric"):
        Dataset(np.array([["a"], ["b"]]), [0, 1], 2)
    with pytest.raises(DataError, match="leading sample dimension"):
        Dataset(np.float32(1), [0], 1)


def test_dataset_rejects_nan_and_inf():
    x = np.zeros((4, 2, 2), np.float32)
    x[2, 1, 0] = np.nan
    with pytest.raises(DataError, match=r"toy: features contain NaN: 1 non-finite entries, the first in sample 2"):
        Dataset(x, [0, 1, 0, 1], 2, name="toy")
    x[2, 1, 0] = np.inf
    with pytest.raises(DataError, match="features contain infinite values"):
        Dataset(x, [0, 1, 0, 1], 2)
    with pytest.raises(DataError, match="labels contain NaN"):
        Dataset(np.zeros((2, 1)), [0.5, np.nan])  # regression targets


def test_dataset_is_a_paralens_error_and_immutable():
    assert issubclass(DataError, ParalensError) and issubclass(DataError, ValueError)
    ds = Dataset(np.zeros((3, 1)), [0, 1, 2], 3)
    with pytest.raises(AttributeError):
        ds.n_classes = 4
    assert len(ds[1:]) == 2 and ds[np.array([2])].labels.tolist() == [2] and len(ds[0]) == 1
    assert "3 samples" in repr(ds)


def test_one_hot():
    np.testing.assert_array_equal(one_hot([0, 2, 1], 3), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert one_hot([0], 2).dtype == np.float32
    with pytest.raises(DataError, match=r"label 3 at index 1 is outside 0\.\.2"):
        one_hot([0, 3], 3)


# ----------------------------------------------------------------------------- stratified split


def test_stratified_split_is_exact_per_class_and_disjoint():
    y = np.repeat(np.arange(4), [10, 7, 25, 1])
    ds = Dataset(np.arange(len(y), dtype=np.float32)[:, None], y, 4)
    a, b = stratified_split(ds, 0.3, seed=1)
    assert a.class_counts().tolist() == [3, 2, 8, 0]  # floor(0.3 n + 1/2): 3, 2.1->2, 7.5->8, 0.3->0
    assert b.class_counts().tolist() == [7, 5, 17, 1]
    ids_a, ids_b = a.features[:, 0], b.features[:, 0]
    assert not set(ids_a) & set(ids_b) and len(ids_a) + len(ids_b) == len(ds)
    assert np.all(np.diff(ids_a) > 0) and np.all(np.diff(ids_b) > 0)  # original order kept
    np.testing.assert_array_equal(ds.labels[ids_a.astype(int)], a.labels)


def test_stratified_split_is_seeded():
    iris = load_iris()
    a1, _ = stratified_split(iris, 0.8, seed=3)
    a2, _ = stratified_split(iris, 0.8, seed=3)
    a3, _ = stratified_split(iris, 0.8, seed=4)
    assert a1.class_counts().tolist() == [40, 40, 40]
    np.testing.assert_array_equal(a1.features, a2.features)
    assert not np.array_equal(a1.features, a3.features)


def test_stratified_split_bad_fraction():
    iris = load_iris()
    for f in (0, 1, 1.5, -0.1):
        with pytest.raises(DataError, match="fraction must be strictly between 0 and 1"):
            stratified_split(iris, f)
    with pytest.raises(DataError, match="leaves the first part empty"):
        stratified_split(iris, 0.001)


# ----------------------------------------------------------------------------- batches


def toy(n=23):
    return Dataset(np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32), np.arange(n) % 3, 3)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_sample_once(shuffle):
    ds = toy()
    got = list(batches(ds, 5, shuffle=shuffle, seed=0))
    assert [len(x) for x, _ in got] == [5, 5, 5, 5, 3]
    ids = np.concatenate([x[:, 0] for x, _ in got]).astype(int)
    assert sorted(ids) == list(range(len(ds)))
    for x, y in got:
        np.testing.assert_array_equal(y, x[:, 0].astype(int) % 3)  # features and labels stay paired
    if not shuffle:
        assert ids.tolist() == list(range(len(ds)))


def test_batches_drop_last_and_pairs():
    ds = toy()
    got = list(batches((ds.features, ds.labels), 5, drop_last=True))
    assert [len(x) for x, _ in got] == [5, 5, 5, 5]
    assert len(list(batches(toy(20), 5, drop_last=True))) == 4


def test_batches_reproducible_by_seed_and_rng_advances():
    ds = toy()
    order = lambda it: np.concatenate([x[:, 0] for x, _ in it]).tolist()
    assert order(batches(ds, 4, shuffle=True, seed=7)) == order(batches(ds, 4, shuffle=True, seed=7))
    assert order(batches(ds, 4, shuffle=True, seed=7)) != order(batches(ds, 4, shuffle=True, seed=8))
    rng = np.random.default_rng(0)
    e1, e2 = order(batches(ds, 4, shuffle=True, rng=rng)), order(batches(ds, 4, shuffle=True, rng=rng))
    assert e1 != e2 and sorted(e1) == sorted(e2)
    rng = np.random.default_rng(0)
    assert order(batches(ds, 4, shuffle=True, rng=rng)) == e1


def test_batches_bad_arguments():
    ds = toy()
    with pytest.raises(DataError, match="shuffle=True needs seed= or rng="):
        next(batches(ds, 4, shuffle=True))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DataError, match="batch_size must be a positive integer"):
            next(batches(ds, bad))
    with pytest.raises(DataError, match="3 feature rows but 2 labels"):
        next(batches((np.zeros((3, 1)), np.zeros(2)), 2))
    with pytest.raises(DataError, match="expected a Dataset or a pair"):
        next(batches(np.zeros((3, 1)), 2))


# ----------------------------------------------------------------------------- input shape checks


def test_check_inputs():
    x = np.zeros((2, 28, 28))
    assert check_inputs(x, (28, 28)) is x
    with pytest.raises(ShapeError, match=re.escape("model expects inputs of shape (784,), got (28, 28): "
                                                   "flatten the images or add a flatten() layer")):
        check_inputs(x, (784,))
    with pytest.raises(ShapeError, match=re.escape("mlp expects inputs of shape (1, 28, 28), got (784,): reshape "
                                                   "the inputs to (batch, 1, 28, 28) (e.g. load_mnist(flat=False))")):
        check_inputs(np.zeros((2, 784)), (1, 28, 28), who="mlp")
    with pytest.raises(ShapeError, match=re.escape("got a single sample of shape (784,): add a batch dimension")):
        check_inputs(np.zeros(784), (784,))
    with pytest.raises(ShapeError, match=re.escape("expects inputs of shape (4,), got (3,)") + "$"):
        check_inputs(np.zeros((5, 3)), (4,))


def test_one_split_policy_for_every_caller():
    """cli, compare, the Boolean presets and the gate recipes split Iris the same way (stratified, seeded)."""
    from paralens import compare
    from paralens.boolean.presets import load_integer_data
    from paralens.cli import real as cli
    from paralens.data.splits import TEST_FRACTION, load_split

    s = load_split("iris", seed=3)
    assert len(s.y_test) == 30 and TEST_FRACTION == 0.2
    c = compare.load_split("iris", split_seed=3)
    assert (c.y_test == s.y_test).all() and (c.x_test == s.x_test).all()
    _, _, xt, yt = cli._load_data("iris", None, TEST_FRACTION, 3)
    assert (xt == s.x_test).all() and (yt == s.y_test).all()
    _, _, Xt, Yt = load_integer_data("iris", None, 3)
    assert (Yt == s.y_test).all() and (Xt == np.rint(s.x_test * 10)).all()
    assert cli._load_data("iris", None, 0.0, 0)[2] is None
