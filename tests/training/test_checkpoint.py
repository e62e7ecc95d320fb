"""Checkpoints: bit-exact round trips, mismatch and version errors, damaged files, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import NamedTuple

import numpy as np
import pytest
from safetensors.numpy import save_file

from paralens.errors import CheckpointError, ParalensError
from paralens.training import checkpoint as ck
from paralens.training.checkpoint import FORMAT_VERSION, Checkpoint, load_checkpoint, save_checkpoint


class AdamState(NamedTuple):
    count: np.ndarray
    mu: dict
    nu: dict


@dataclasses.dataclass(frozen=True)
class LrState:
    step: np.ndarray
    scale: float


def params():
    rng = np.random.default_rng(0)
    return {"dense1.weight": rng.standard_normal((4, 3)).astype(np.float32),
            "dense1.bias": rng.standard_normal(4).astype(np.float32),
            "out.weight": rng.standard_normal((2, 4))}


def nested_state(p):
    moments = {k: v * 0.5 for k, v in p.items()}
    return (
        {"count": np.array(12, dtype=np.int32)},                       # 0-d int
        AdamState(np.array(3, dtype=np.int64), moments, {k: v**2 for k, v in p.items()}),
        [np.float32(0.25), None, 7, 2.5, True, np.array(np.nan, np.float64)],
        LrState(np.array(5, np.uint64), 0.1),
        {"odd/key%": np.arange(6, dtype=np.int16).reshape(2, 3).T, "empty": np.zeros((0, 3), np.float16),
         "mask": np.array([True, False]), "nothing": (), "bytes": np.arange(3, dtype=np.uint8)},
    )


def assert_same(a, b, where="state"):
    """Same structure, types, dtypes, shapes and bytes (NaN included)."""
    assert type(a) is type(b) or (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)), (where, type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    elif dataclasses.is_dataclass(a):
        assert_same(dataclasses.astuple(a), dataclasses.astuple(b), where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, (where, a.dtype, b.dtype, a.shape, b.shape)
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    else:
        assert a == b, where


def test_round_trip_is_bit_exact(tmp_path):
    p = params()
    state = nested_state(p)
    rng = np.random.default_rng(42)
    rng.random(5)
    path = save_checkpoint(tmp_path / "c.safetensors", p, state, step=120, epoch=3,
                           rng_state=rng.bit_generator.state, model={"name": "mlp", "sizes": [3, 4, 2]},
                           extra={"loss": 0.125, "history": [1.0, 0.5], "keys": np.array([1, 2], np.uint32)})
    ckpt = load_checkpoint(path)
    assert isinstance(ckpt, Checkpoint)
    assert_same(ckpt.params, p, "params")
    assert_same(ckpt.opt_state, state)
    assert type(ckpt.opt_state[1]) is AdamState and type(ckpt.opt_state[3]) is LrState
    assert ckpt.opt_state[0]["count"].shape == () and ckpt.opt_state[0]["count"].dtype == np.int32
    assert (ckpt.step, ckpt.epoch, ckpt.format_version) == (120, 3, FORMAT_VERSION)
    assert ckpt.model == {"name": "mlp", "sizes": [3, 4, 2]}
    assert ckpt.extra["history"] == [1.0, 0.5] and ckpt.extra["keys"].dtype == np.uint32
    restored = np.random.default_rng(0)
    restored.bit_generator.state = ckpt.rng_state
    assert restored.random(3).tolist() == rng.random(3).tolist()


def test_tensor_names_are_paths(tmp_path):
    p = params()
    path = save_checkpoint(tmp_path / "c.safetensors", p, nested_state(p))
    from safetensors import safe_open
    with safe_open(path, framework="np") as f:
        names = set(f.keys())
        meta = f.metadata()
    assert "params/dense1.weight" in names and "opt/1/mu/dense1.weight" in names and "opt/0/count" in names
    assert "opt/4/odd%2Fkey%25" in names
    assert meta["format"] == "paralens-checkpoint" and meta["format_version"] == str(FORMAT_VERSION)
    json.loads(meta["paralens"])


def test_defaults_and_plain_states(tmp_path):
    for state in (None, {}, (), np.array(1.5, np.float64), [np.ones(2)]):
        path = save_checkpoint(tmp_path / "c.safetensors", {"w": np.ones(2)}, state)
        ckpt = load_checkpoint(path)
        assert_same(ckpt.opt_state, state)
        assert (ckpt.step, ckpt.epoch, ckpt.rng_state, ckpt.model, ckpt.extra) == (0, 0, None, None, None)


def test_unknown_classes_come_back_equal():
    """A named tuple whose class is not loaded comes back as an equal named tuple; a dataclass as a dict."""
    meta_cls = "some_module_that_is_not_loaded:AdamState"
    spec = ck._unflatten({"t": "namedtuple", "cls": meta_cls, "fields": ["count", "mu", "nu"],
                          "items": [{"t": "py", "v": 1}, {"t": "none"}, {"t": "none"}]}, {}, set())
    assert type(spec).__name__ == "AdamState" and spec.count == 1 and spec == (1, None, None)
    gone = ck._unflatten({"t": "dataclass", "cls": meta_cls, "fields": ["step"], "items": [{"t": "py", "v": 2}]},
                         {}, set())
    assert gone == {"step": 2}


def test_jax_arrays_save(tmp_path):
    jnp = pytest.importorskip("jax.numpy")
    p = {"w": jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3)}
    state = {"count": jnp.array(4, dtype=jnp.int32)}
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "c.safetensors", p, state))
    assert ckpt.params["w"].dtype == np.float32 and ckpt.params["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert ckpt.opt_state["count"].shape == () and ckpt.opt_state["count"] == 4


# ----------------------------------------------------------------------------- the wrong model


def test_expect_params_names_missing_unexpected_and_first_shape_mismatch(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", params(), model="mlp(3->4->2)")
    ok = load_checkpoint(path, expect_params={"dense1.weight": (4, 3), "dense1.bias": (4,), "out.weight": (2, 4)})
    assert list(ok.params) == ["dense1.weight", "dense1.bias", "out.weight"]
    load_checkpoint(path, expect_params=params())  # arrays with .shape work too
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, expect_params={"dense1.weight": (8, 3), "dense1.bias": (8,), "dense2.weight": (2, 8)})
    msg = str(e.value)
    assert "c.safetensors: checkpoint does not fit the model (it was saved for mlp(3->4->2))" in msg
    assert "missing parameters (the model has them, the checkpoint does not): ['dense2.weight']" in msg
    assert "unexpected parameters (in the checkpoint, not in the model): ['out.weight']" in msg
    assert "first shape mismatch: 'dense1.weight' is (4, 3) in the checkpoint, the model expects (8, 3)" in msg


def test_newer_format_version(tmp_path, monkeypatch):
    monkeypatch.setattr(ck, "FORMAT_VERSION", FORMAT_VERSION + 1)
    path = save_checkpoint(tmp_path / "new.safetensors", params())
    monkeypatch.setattr(ck, "FORMAT_VERSION", FORMAT_VERSION)
    with pytest.raises(CheckpointError, match=rf"new\.safetensors: checkpoint format version {FORMAT_VERSION + 1} "
                                              rf"is newer than this paralens reads \(version {FORMAT_VERSION}\)"):
        load_checkpoint(path)


# ----------------------------------------------------------------------------- damaged and foreign files


def corrupt_message(name):
    return rf"{name}: not a paralens checkpoint or corrupt: "


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", params(), nested_state(params()))
    data = path.read_bytes()
    for cut in (0, 4, 8, 20, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=corrupt_message("c.safetensors")):
            load_checkpoint(path)


def test_flipped_data_byte_fails_the_crc(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", {"w": np.zeros(1000, np.float32)})
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=corrupt_message("c.safetensors") + r"tensor 'params/w' fails its CRC"):
        load_checkpoint(path)


def test_foreign_files(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"PK\x03\x04 this is a zip, or a pickle, or anything")
    with pytest.raises(CheckpointError, match=corrupt_message("junk.bin")):
        load_checkpoint(junk)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": np.ones(2)}, plain)  # a safetensors file, but not ours
    with pytest.raises(CheckpointError, match=corrupt_message("plain.safetensors") + "metadata 'format' is None"):
        load_checkpoint(plain)
    with pytest.raises(CheckpointError, match=r"missing\.safetensors: no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_error_types():
    assert issubclass(CheckpointError, ParalensError)


# ----------------------------------------------------------------------------- what cannot be saved


def test_unsavable_values_write_nothing(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", {"w": np.ones(2)}, step=1)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"optimiser state: 'opt/m' has dtype complex128"):
        save_checkpoint(path, {"w": np.ones(2)}, {"m": np.ones(2, np.complex128)})
    with pytest.raises(CheckpointError, match=r"'opt/0' is a object|'opt/0' has dtype object"):
        save_checkpoint(path, {"w": np.ones(2)}, (object(),))
    with pytest.raises(CheckpointError, match=r"dict key 3 at 'opt' is not a string"):
        save_checkpoint(path, {"w": np.ones(2)}, {3: np.ones(1)})
    with pytest.raises(CheckpointError, match=r"extra: it is not JSON-able"):
        save_checkpoint(path, {"w": np.ones(2)}, extra={"f": print})
    with pytest.raises(CheckpointError, match="params must be a dict of name -> array"):
        save_checkpoint(path, [np.ones(2)])
    with pytest.raises(CheckpointError, match="folder .* does not exist"):
        save_checkpoint(tmp_path / "no" / "c.safetensors", {"w": np.ones(2)})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.safetensors"]


# ----------------------------------------------------------------------------- atomic writes


def test_no_temporary_files_left_and_stale_ones_removed(tmp_path):
    path = tmp_path / "c.safetensors"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".c.safetensors.{dead.pid}.0123456789ab.tmp"
    stale.mkdir()
    (stale / "c.safetensors").write_bytes(b"half a checkpoint")
    (stale / ".tmpAbC123").write_bytes(b"safetensors' own temporary file")
    mine = tmp_path / ".other.safetensors.1.0123456789ab.tmp"  # another target's: left alone
    mine.mkdir()
    save_checkpoint(path, {"w": np.ones(2)})
    save_checkpoint(path, {"w": np.zeros(2)})
    assert sorted(os.listdir(tmp_path)) == [mine.name, "c.safetensors"]
    assert load_checkpoint(path).params["w"].tolist() == [0, 0]


WRITER = textwrap.dedent("""
    import os, sys
    import numpy as np
    from paralens.training import checkpoint as ck

    path, phase = sys.argv[1], sys.argv[2]

    def save(step):
        big = np.full((200_000,), step, dtype=np.float64)
        state = {"mu": {"w": big + 0.5}, "count": np.array(step, np.int64)}
        ck.save_checkpoint(path, {"w": big}, state, step=step, extra={"tail": [step] * 3})

    def pause():  # the writer stops here, mid-save, until it is killed
        print("paused", phase, flush=True)
        sys.stdin.readline()
        sys.exit("not killed")

    save(0)
    print("saved 0", flush=True)
    real_save_file, real_replace = ck.save_file, os.replace

    def save_file(tensors, filename, metadata=None):
        real_save_file(tensors, filename, metadata=metadata)
        if phase == "writing":  # half of the temporary file is on disk
            size = os.path.getsize(filename)
            with open(filename, "r+b") as f:
                f.truncate(size // 2)
            pause()

    def replace(src, dst):
        if phase == "before-rename":  # the temporary file is complete and synced
            pause()
        real_replace(src, dst)
        if phase == "after-rename":  # renamed, its folder not yet removed nor synced
            pause()

    ck.save_file, ck.os.replace = save_file, replace
    save(1)
""")


@pytest.mark.parametrize("phase,survivor", [("writing", 0), ("before-rename", 0), ("after-rename", 1)])
def test_kill_during_save_leaves_a_complete_checkpoint(tmp_path, phase, survivor):
    """kill -9 a writer paused at a known point of its second save: the file at the path is one complete
    version, the previous one until the rename and the new one after it; the next save clears the
    killed writer's temporary folder.  (The writer pauses in a hook, so the kill lands mid-save every time.)
    """
    (tmp_path / "ckpt").mkdir()
    path = tmp_path / "ckpt" / "c.safetensors"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(path), phase], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved 0"
        assert proc.stdout.readline().strip() == f"paused {phase}"
        leftovers = [n for n in os.listdir(path.parent) if n != "c.safetensors"]
        assert len(leftovers) == 1 and leftovers[0].endswith(".tmp"), leftovers  # the kill lands mid-save
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    ckpt = load_checkpoint(path, expect_params={"w": (200_000,)})
    k = ckpt.step
    assert k == survivor
    assert np.all(ckpt.params["w"] == k)
    assert np.all(ckpt.opt_state["mu"]["w"] == k + 0.5)
    assert ckpt.opt_state["count"] == k and ckpt.extra == {"tail": [k] * 3}
    # the killed writer's temporary folder is the only leftover, and the next save clears it
    assert sorted(os.listdir(path.parent)) == sorted(["c.safetensors", *leftovers])
    save_checkpoint(path, {"w": np.ones(1)})
    assert os.listdir(path.parent) == ["c.safetensors"]
