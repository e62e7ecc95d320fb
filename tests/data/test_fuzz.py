"""Fuzzing: damaged IDX files and checkpoints raise paralens's own errors, nothing else.

Each test mutates a valid file (overwritten bytes, a truncation, inserted bytes)
and reads it back. Reading may succeed (a mutation can be harmless, e.g. in a
label value) but may only fail with :class:`DataError` or :class:`CheckpointError`.
A checkpoint that loads after a mutation must equal the original: its CRCs
catch damaged tensors and metadata.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paralens.data import load_mnist, read_idx, write_idx
from paralens.errors import CheckpointError, DataError
from paralens.training.checkpoint import load_checkpoint, save_checkpoint

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def mutations(draw, size: int):
    """A recipe for damaging a file of ``size`` bytes: overwrites, then a cut or an insertion."""
    flips = draw(st.lists(st.tuples(st.integers(0, max(size - 1, 0)), st.integers(0, 255)), max_size=6))
    cut = draw(st.one_of(st.none(), st.integers(0, size)))
    insert = draw(st.one_of(st.none(), st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=8))))
    return flips, cut, insert


def mutate(data: bytes, recipe) -> bytes:
    flips, cut, insert = recipe
    out = bytearray(data)
    for pos, byte in flips:
        if pos < len(out):
            out[pos] = byte
    if cut is not None:
        del out[cut:]
    if insert is not None:
        pos, extra = insert
        out[pos:pos] = extra
    return bytes(out)


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


# ----------------------------------------------------------------------------- IDX

IMAGES = np.random.default_rng(0).integers(0, 256, (3, 4, 4), dtype=np.uint8)


def idx_bytes(array, gz: bool) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x"
        write_idx(p, array, compress=gz)
        return p.read_bytes()


VALID = {gz: idx_bytes(IMAGES, gz) for gz in (False, True)}


@FUZZ
@given(gz=st.booleans(), recipe=st.data())
def test_damaged_idx_raises_only_data_error(workdir, gz, recipe):
    data = VALID[gz]
    damaged = mutate(data, recipe.draw(mutations(len(data))))
    p = workdir / "images.idx"
    p.write_bytes(damaged)
    try:
        a = read_idx(p)
    except DataError as e:
        assert str(p) in str(e)
        return
    raw = gzip.decompress(damaged) if damaged[:2] == b"\x1f\x8b" else damaged
    assert a.size * a.itemsize == len(raw) - 4 - 4 * a.ndim  # what loads is exactly what the header says


@FUZZ
@given(recipe=st.data(), which=st.sampled_from(["images", "labels"]))
def test_damaged_mnist_folder_raises_only_data_error(workdir, recipe, which):
    folder = workdir / "mnist"
    folder.mkdir(exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", np.array([1, 2, 3], np.uint8))
    target = folder / f"train-{which}-idx{3 if which == 'images' else 1}-ubyte"
    data = target.read_bytes()
    target.write_bytes(mutate(data, recipe.draw(mutations(len(data)))))
    try:
        ds = load_mnist(folder)
    except DataError:
        return
    assert ds.features.shape == (len(ds), 1, 28, 28) and ds.labels.max() < 10


# ----------------------------------------------------------------------------- checkpoints


def checkpoint_bytes():
    params = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1.5, -2.0])}
    state = ({"count": np.array(3, np.int32)}, [np.ones(2, np.float16), None, 4])
    with tempfile.TemporaryDirectory() as d:
        p = save_checkpoint(Path(d) / "c.safetensors", params, state, step=9, epoch=1, model="toy", extra={"a": 1})
        data = p.read_bytes()
        return data, load_checkpoint(p)


CKPT, ORIGINAL = checkpoint_bytes()


@FUZZ
@given(recipe=st.data())
def test_damaged_checkpoint_raises_only_checkpoint_error(workdir, recipe):
    damaged = mutate(CKPT, recipe.draw(mutations(len(CKPT))))
    p = workdir / "c.safetensors"
    p.write_bytes(damaged)
    try:
        ckpt = load_checkpoint(p, expect_params={"w": (2, 3), "b": (2,)})
    except CheckpointError as e:
        assert str(p) in str(e)
        return
    assert (ckpt.step, ckpt.epoch, ckpt.model, ckpt.extra) == (9, 1, "toy", {"a": 1})
    for k in ORIGINAL.params:
        assert ckpt.params[k].tobytes() == ORIGINAL.params[k].tobytes()
    assert ckpt.opt_state[0]["count"] == 3 and ckpt.opt_state[0]["count"].dtype == np.int32
    assert ckpt.opt_state[1][0].tobytes() == ORIGINAL.opt_state[1][0].tobytes()
    assert ckpt.opt_state[1][1:] == [None, 4]
