"""The IDX file format (MNIST's), and MNIST itself.

An IDX file is a header and an array, both big-endian::

    bytes 0-1   0x00 0x00                      magic
    byte  2     dtype code                     0x08 ubyte, 0x09 byte, 0x0B short,
                                               0x0C int, 0x0D float, 0x0E double
    byte  3     number of dimensions n
    4n bytes    the n dimensions, int32 each
    the rest    prod(dims) values of that dtype, row-major

:func:`read_idx` reads one (raw or gzip-compressed, told apart by content, not by
name); :func:`write_idx` writes one; :func:`load_mnist` reads a folder holding the
four standard MNIST files; :func:`mnist_subset` is the folder of the 6,000 + 2,000
digits bundled with paralens.

>>> train = load_mnist(mnist_subset(), "train")
>>> train.features.shape, train.features.dtype, train.labels.dtype
((6000, 1, 28, 28), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

import gzip
import os
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from paralens.data.datasets import Dataset
from paralens.errors import DataError
from paralens.files import atomic_write

#: IDX dtype code -> (big-endian NumPy dtype, name used in messages)
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

#: the standard MNIST file names (without ``.gz``), per split
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror or e}") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt gzip data ({e or type(e).__name__}); download the file again") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a NumPy array of native byte order.

    Compression is told by the gzip magic number, not by the file name. The
    array has the file's dtype (``uint8`` for MNIST) and shape.

    Raises:
      DataError: naming the file and what is wrong: missing file, corrupt gzip,
        wrong magic number, unknown dtype code, truncated header, or a data
        length that is not what the dimensions imply.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.idx")
    >>> write_idx(p, np.arange(6, dtype=np.int16).reshape(2, 3))
    >>> read_idx(p)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=int16)
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX header: {len(data)} bytes, an IDX file starts with at least 4")
    if data[0] != 0 or data[1] != 0:
        hint = " (a gzip file whose header is damaged?)" if data[0] == 0x1F else ""
        raise DataError(
            f"{path}: not an IDX file: magic number starts 0x{data[0]:02x} 0x{data[1]:02x}, expected 0x00 0x00{hint}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {dt.newbyteorder('=').name}" for c, dt in IDX_DTYPES.items())
        raise DataError(f"{path}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header} header bytes, the file has {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if any(d >= 2**31 for d in dims):
        raise DataError(f"{path}: IDX dimensions {dims} do not fit int32 (corrupt header?)")
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    present = len(data) - header
    if present != expected:
        what = "truncated IDX data" if present < expected else "IDX data longer than its dimensions"
        raise DataError(
            f"{path}: {what}: dimensions {dims} of {dtype.newbyteorder('=').name} need {expected} bytes "
            f"after the header, the file has {present}"
        )
    flat = np.frombuffer(data, dtype=dtype, offset=header)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``, default: the name ends in ``.gz``).

    The dtype must be one IDX has: uint8, int8, int16, int32, float32 or float64.
    """
    path = Path(path)
    a = np.asarray(array)
    code = _CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"{path}: IDX cannot store dtype {a.dtype} (it has uint8, int8, int16, int32, float32, float64)")
    if a.ndim > 255:
        raise DataError(f"{path}: IDX stores at most 255 dimensions, got {a.ndim}")
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()
    if compress if compress is not None else path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    atomic_write(path, payload)


def mnist_subset() -> Path:
    """The folder of the MNIST subset bundled with paralens (6,000 train, 2,000 test digits).

    See ``README.md`` in that folder for the source, licence and checksums.

    >>> sorted(p.name for p in mnist_subset().glob("*.gz"))[:2]
    ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']
    """
    folder = resources.files("paralens.data").joinpath("files", "mnist-subset")
    if not isinstance(folder, Path):
        raise DataError(
            f"the bundled MNIST subset is inside an archive ({folder}); install paralens unzipped to use it"
        )
    return folder


#: another name for :func:`mnist_subset`
mnist_subset_path = mnist_subset


def _find(folder: Path, name: str, what: str) -> Path:
    candidates = [name + ".gz", name, name.replace("-idx", ".idx") + ".gz", name.replace("-idx", ".idx")]
    for c in candidates:
        if (folder / c).is_file():
            return folder / c
    raise DataError(f"{folder}: no MNIST {what} file: looked for {', '.join(candidates)}")


def load_mnist(
    directory: str | os.PathLike | None = None,
    split: str = "train",
    *,
    flat: bool = False,
    limit: int | None = None,
) -> Dataset:
    """Load an MNIST split from a folder holding the standard IDX files.

    Args:
      directory: a folder with ``train-images-idx3-ubyte`` and friends, each
        raw or ``.gz``; ``None`` is the bundled subset (:func:`mnist_subset`).
        Fashion-MNIST, which uses the same names and format, loads too.
      split: ``"train"`` or ``"test"`` (the ``t10k-*`` files).
      flat: images as ``(N, 784)`` instead of ``(N, 1, 28, 28)``.
      limit: keep only the first ``limit`` samples.

    Returns:
      A :class:`Dataset`: features float32 in ``[0, 1]`` of shape ``(N, 1, 28, 28)``
      (or ``(N, 784)``), labels int64 in ``0..9``, ``n_classes=10``.

    Raises:
      DataError: missing folder or files, a malformed IDX file (see
        :func:`read_idx`), images that are not ``uint8`` of shape ``(N, H, W)``,
        labels that are not ``uint8`` of shape ``(N,)``, a different number of
        images and labels, labels outside ``0..9``, or an empty split.
    """
    folder = mnist_subset() if directory is None else Path(directory)
    if split not in MNIST_FILES:
        raise DataError(f"unknown MNIST split {split!r}: use 'train' or 'test'")
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected the MNIST IDX files there)")
    image_file = _find(folder, MNIST_FILES[split][0], f"{split} images")
    label_file = _find(folder, MNIST_FILES[split][1], f"{split} labels")
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{image_file}: MNIST images must be uint8 of shape (N, H, W), got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{label_file}: MNIST labels must be uint8 of shape (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{folder}: {len(images)} images in {image_file.name} but {len(labels)} labels in {label_file.name}"
        )
    if len(images) == 0:
        raise DataError(f"{image_file}: the MNIST {split} split is empty (0 images)")
    if labels.max() >= 10:
        bad = int(np.flatnonzero(labels >= 10)[0])
        raise DataError(f"{label_file}: label {int(labels[bad])} at index {bad} is not a digit 0..9")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = images.astype(np.float32) / np.float32(255.0)
    x = x.reshape(len(x), -1) if flat else x[:, None, :, :]
    return Dataset(x, labels.astype(np.int64), 10, name=f"mnist-{split}", class_names=tuple("0123456789"))
