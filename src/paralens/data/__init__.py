"""Layer 5 (use): data sets, their files, mini-batches and input-shape checks.

* :mod:`paralens.data.idx`: the IDX format, :func:`load_mnist` and the bundled
  MNIST subset (:func:`mnist_subset`);
* :mod:`paralens.data.iris`: Fisher's Iris data (:func:`load_iris`);
* :mod:`paralens.data.datasets`: :class:`Dataset`, :func:`one_hot`,
  :func:`stratified_split`, :func:`batches`, :func:`check_inputs`.

Every problem with a file or a data set raises :class:`DataError` naming the
file or set and what is wrong.
"""

from paralens.data.breast_cancer import BREAST_CANCER_FEATURES, breast_cancer_path, load_breast_cancer
from paralens.data.datasets import Dataset, batches, check_inputs, one_hot, stratified_split
from paralens.data.idx import MNIST_FILES, load_mnist, mnist_subset, mnist_subset_path, read_idx, write_idx
from paralens.data.iris import iris_path, load_iris
from paralens.errors import DataError

__all__ = [
    "BREAST_CANCER_FEATURES",
    "MNIST_FILES",
    "DataError",
    "Dataset",
    "batches",
    "breast_cancer_path",
    "check_inputs",
    "iris_path",
    "load_breast_cancer",
    "load_iris",
    "load_mnist",
    "mnist_subset",
    "mnist_subset_path",
    "one_hot",
    "read_idx",
    "stratified_split",
    "write_idx",
]
