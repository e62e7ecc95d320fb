"""Checkpoints: parameters, optimiser state and progress in one safetensors file.

A checkpoint is a `safetensors <https://github.com/huggingface/safetensors>`_
file (no pickle: loading runs no code from the file). Its tensors are

* ``params/<name>`` for each parameter (``"params/dense1.weight"``),
* ``opt/<path>`` for each array leaf of the optimiser state, the path made of
  dict keys and tuple positions (``"opt/1/mu/dense1.weight"``, ``"opt/0/count"``),

and its text metadata holds ``format`` (``"paralens-checkpoint"``),
``format_version`` and one JSON document with the step, epoch, random-number
state, model description, extra data, the optimiser state's nesting (dicts,
tuples, lists, named tuples, dataclasses, ``None``, Python numbers), and each
tensor's dtype, shape and CRC-32, so a damaged file is reported, not loaded.

Writes are atomic: the file is written in a temporary folder beside the target,
flushed to disk (``fsync``), renamed over the target (``os.replace``) and the
folder is synced. A crash at any moment leaves either the previous checkpoint or
the new one at ``path``, never a mixture.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> params = {"dense.weight": np.ones((2, 3), np.float32)}
>>> state = {"count": np.array(7, np.int32), "mu": {"dense.weight": np.zeros((2, 3), np.float32)}}
>>> _ = save_checkpoint(path, params, state, step=7, epoch=1, model="dense(3->2)")
>>> ckpt = load_checkpoint(path, expect_params={"dense.weight": (2, 3)})
>>> ckpt.step, ckpt.opt_state["count"], ckpt.model
(7, array(7, dtype=int32), 'dense(3->2)')
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import sys
import zlib
from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from paralens.errors import CheckpointError
from paralens.files import atomic_output

FORMAT = "paralens-checkpoint"
#: the format version this paralens writes (and the newest it reads)
FORMAT_VERSION = 1

_SUPPORTED_DTYPES = {
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64", "complex64", "bfloat16",
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
}


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes:
      params: parameter name -> NumPy array, in the order saved.
      opt_state: the optimiser state, with the nesting it was saved with.
      step, epoch: training progress.
      rng_state: the random-number state saved, or ``None``.
      model: the model description saved (a string or a JSON-able dict), or ``None``.
      extra: any other JSON-able data saved, or ``None``.
      format_version: the file's format version.
    """

    params: dict[str, np.ndarray]
    opt_state: Any
    step: int
    epoch: int
    rng_state: dict | None
    model: str | dict | None
    extra: dict | None
    format_version: int


# ----------------------------------------------------------------------------- trees


def _crc(a: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(a).reshape(-1).view(np.uint8))


def _escape(key: str) -> str:
    return key.replace("%", "%25").replace("/", "%2F")


def _class_ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _flatten(node, path: str, tensors: dict, where: str) -> dict:
    """The JSON spec of ``node``; its array leaves go into ``tensors`` under ``path``."""
    if node is None:
        return {"t": "none"}
    if isinstance(node, (bool, int, float)) and not isinstance(node, np.generic):
        return {"t": "py", "v": node}
    if isinstance(node, dict):
        keys = list(node)
        for k in keys:
            if not isinstance(k, str):
                raise CheckpointError(f"cannot save {where}: dict key {k!r} at '{path}' is not a string")
        return {"t": "dict", "keys": keys,
                "items": [_flatten(node[k], f"{path}/{_escape(k)}", tensors, where) for k in keys]}
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return {"t": "namedtuple", "cls": _class_ref(type(node)), "fields": list(node._fields),
                "items": [_flatten(v, f"{path}/{_escape(f)}", tensors, where) for f, v in zip(node._fields, node)]}
    if isinstance(node, (tuple, list)):
        return {"t": type(node).__name__ if type(node) in (tuple, list) else "tuple",
                "items": [_flatten(v, f"{path}/{i}", tensors, where) for i, v in enumerate(node)]}
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        names = [f.name for f in dataclasses.fields(node) if f.init]
        return {"t": "dataclass", "cls": _class_ref(type(node)), "fields": names,
                "items": [_flatten(getattr(node, f), f"{path}/{_escape(f)}", tensors, where) for f in names]}
    try:
        a = np.asarray(node)
    except Exception as e:  # noqa: BLE001 - anything that is not an array
        raise CheckpointError(f"cannot save {where}: '{path}' is a {type(node).__name__}, not an array ({e})") from None
    if a.dtype.name not in _SUPPORTED_DTYPES:
        raise CheckpointError(f"cannot save {where}: '{path}' has dtype {a.dtype}, which safetensors cannot store "
                              f"(supported: {', '.join(sorted(_SUPPORTED_DTYPES))})")
    tensors[path] = a if a.flags.c_contiguous else a.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
    return {"t": "array", "name": path, "scalar": isinstance(node, np.generic)}


def _find_class(ref: str, fields: list, kind: str):
    """The class ``module:qualname`` if it is loaded (or in paralens) and has these fields; else ``None``.

    Only modules already imported, or paralens's own, are looked at: a checkpoint
    never makes Python import arbitrary code.
    """
    module_name, _, qualname = ref.partition(":")
    module = sys.modules.get(module_name)
    if module is None and (module_name == "paralens" or module_name.startswith("paralens.")):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        return None
    if kind == "namedtuple" and issubclass(obj, tuple) and list(getattr(obj, "_fields", ())) == fields:
        return obj
    if kind == "dataclass" and dataclasses.is_dataclass(obj) and \
            [f.name for f in dataclasses.fields(obj) if f.init] == fields:
        return obj
    return None


def _unflatten(spec, tensors: dict, used: set):
    t = spec["t"]
    if t == "none":
        return None
    if t == "py":
        v = spec["v"]
        if not isinstance(v, (bool, int, float)):
            raise ValueError(f"bad Python number {v!r}")
        return v
    if t == "array":
        name = spec["name"]
        if name in used:
            raise ValueError(f"tensor {name!r} used twice")
        used.add(name)
        a = tensors[name]
        return a[()] if spec.get("scalar") else a
    items = [_unflatten(s, tensors, used) for s in spec["items"]]
    if t == "dict":
        keys = spec["keys"]
        if len(keys) != len(items) or not all(isinstance(k, str) for k in keys):
            raise ValueError("dict keys do not match its items")
        return dict(zip(keys, items))
    if t == "tuple":
        return tuple(items)
    if t == "list":
        return items
    if t in ("namedtuple", "dataclass"):
        fields = [str(f) for f in spec["fields"]]
        if len(fields) != len(items):
            raise ValueError(f"{t} fields do not match its items")
        cls = _find_class(str(spec["cls"]), fields, t)
        if t == "namedtuple":
            if cls is None:  # same name and fields, so equal as a tuple and by attribute
                name = re.split(r"[.:]", str(spec["cls"]))[-1]
                cls = namedtuple(name if name.isidentifier() else "State", fields, rename=True)
            return cls(*items)
        return cls(**dict(zip(fields, items))) if cls is not None else dict(zip(fields, items))
    raise ValueError(f"unknown node type {t!r}")


# ----------------------------------------------------------------------------- JSON values


class _Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, np.ndarray):
            return {"__ndarray__": o.tolist(), "dtype": o.dtype.str, "shape": list(o.shape)}
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, tuple):
            return list(o)
        if hasattr(o, "__array__"):  # JAX arrays, e.g. PRNG keys
            return self.default(np.asarray(o))
        return super().default(o)


def _decode_arrays(d: dict):
    if set(d) == {"__ndarray__", "dtype", "shape"}:
        return np.array(d["__ndarray__"], dtype=np.dtype(d["dtype"])).reshape(d["shape"])
    return d


def _to_json(value, what: str) -> str:
    try:
        return json.dumps(value, cls=_Encoder)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"cannot save {what}: it is not JSON-able ({e}); use str, numbers, lists, dicts "
                              f"and arrays") from None


# ----------------------------------------------------------------------------- atomic write


def _atomic_save(tensors: dict, metadata: dict, target: Path) -> None:
    """safetensors' file, written by :func:`paralens.files.atomic_output` (a private folder beside
    ``target``, fsync, rename over ``target``; a killed writer's folder is removed by the next save)."""
    with atomic_output(target) as tmp:
        save_file(tensors, tmp, metadata=metadata)


# ----------------------------------------------------------------------------- save / load


def save_checkpoint(path: str | os.PathLike, params: dict, opt_state: Any = None, *, step: int = 0, epoch: int = 0,
                    rng_state: dict | None = None, model: str | dict | None = None,
                    extra: dict | None = None) -> Path:
    """Save parameters, optimiser state and progress to ``path`` atomically; return the path.

    Args:
      path: the checkpoint file (conventionally ``*.safetensors``); its folder must exist.
      params: parameter name -> array (NumPy, JAX, or anything ``numpy.asarray`` takes).
      opt_state: the optimiser state: dicts (string keys), tuples, lists, named
        tuples, dataclasses, ``None``, Python numbers and arrays, nested freely.
        Dtypes and 0-d arrays are kept exactly.
      step, epoch: training progress.
      rng_state: random-number state (e.g. ``numpy.random.Generator.bit_generator.state``);
        JSON-able values and arrays.
      model: a description of the model (its ``str`` or a JSON-able dict), so a
        mismatched load can say what the checkpoint was for.
      extra: any other JSON-able data (metrics, hyperparameters, ...).

    Raises:
      CheckpointError: a value cannot be stored (dtype safetensors lacks, a
        non-string dict key, metadata that is not JSON-able); nothing is written then.
    """
    target = Path(path)
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise CheckpointError(f"cannot save {target}: params must be a dict of name -> array, "
                              f"got {type(params).__name__}")
    tensors: dict[str, np.ndarray] = {}
    for name, value in params.items():
        _flatten(value, f"params/{name}", tensors, f"{target}: parameter {name!r}")
    param_names = list(params)
    if len(tensors) != len(param_names) or any(f"params/{n}" not in tensors for n in param_names):
        raise CheckpointError(f"cannot save {target}: each parameter must be one array")
    opt_spec = _flatten(opt_state, "opt", tensors, f"{target}: optimiser state")
    meta = {
        "step": int(step), "epoch": int(epoch), "params": param_names, "opt_state": opt_spec,
        "tensors": {k: [v.dtype.name, list(v.shape), _crc(v)]
                    for k, v in tensors.items()},
    }
    for key, value in (("rng_state", rng_state), ("model", model), ("extra", extra)):
        _to_json(value, f"{target}: {key}")  # names the culprit
        meta[key] = value
    doc = _to_json(meta, f"{target}")
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "paralens": doc,
                "crc32": str(zlib.crc32(doc.encode()))}
    if not target.parent.is_dir():
        raise CheckpointError(f"cannot save {target}: folder {target.parent} does not exist")
    try:
        _atomic_save(tensors, metadata, target)
    except OSError as e:  # a FileWriteError names the target and the reason
        raise CheckpointError(str(e) if e.strerror is None else f"cannot save {target}: {e.strerror}") from None
    return target


def _corrupt(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: not a paralens checkpoint or corrupt: {why}")


def _read(path: Path) -> tuple[dict, dict]:
    """The metadata and tensors of a safetensors file, any failure as a CheckpointError."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    except Exception as e:  # noqa: BLE001 - safetensors raises several types, all meaning "bad file"
        raise _corrupt(path, f"{type(e).__name__}: {e}") from None
    return metadata, tensors


def _check_version(path: Path, metadata: dict) -> int:
    if metadata.get("format") != FORMAT:
        raise _corrupt(path, f"metadata 'format' is {metadata.get('format')!r}, expected {FORMAT!r}")
    try:
        version = int(metadata.get("format_version", ""))
    except ValueError:
        raise _corrupt(path, f"format_version {metadata.get('format_version')!r} is not an integer") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version} is newer than this paralens reads "
                              f"(version {FORMAT_VERSION}); upgrade paralens to load it")
    if version < 1:
        raise _corrupt(path, f"format_version {version} is not a version paralens ever wrote")
    return version


def _check_tensors(path: Path, described: dict, tensors: dict) -> None:
    if set(described) != set(tensors):
        odd = sorted(set(described) ^ set(tensors))
        raise _corrupt(path, f"tensors and their description differ: {odd[:5]}")
    for name, (dtype, shape, crc) in described.items():
        a = tensors[name]
        if a.dtype.name != dtype or list(a.shape) != shape:
            raise _corrupt(path, f"tensor {name!r} is {a.dtype}{list(a.shape)}, described as {dtype}{shape}")
        if _crc(a) != crc:
            raise _corrupt(path, f"tensor {name!r} fails its CRC-32 check (the file is damaged)")


def _shape_of(v) -> tuple[int, ...]:
    v = getattr(v, "shape", v)
    return (int(v),) if isinstance(v, (int, np.integer)) else tuple(int(d) for d in v)


def _check_expected(path: Path, params: dict, expect: dict, model) -> None:
    shapes = {k: _shape_of(v) for k, v in expect.items()}
    missing = [k for k in shapes if k not in params]
    unexpected = [k for k in params if k not in shapes]
    mismatch = next(((k, params[k].shape, s) for k, s in shapes.items() if k in params and params[k].shape != s),
                    None)
    if not (missing or unexpected or mismatch):
        return
    lines = [f"{path}: checkpoint does not fit the model"
             + (f" (it was saved for {json.dumps(model) if isinstance(model, dict) else model})" if model else "")]
    if missing:
        lines.append(f"  missing parameters (the model has them, the checkpoint does not): {missing}")
    if unexpected:
        lines.append(f"  unexpected parameters (in the checkpoint, not in the model): {unexpected}")
    if mismatch:
        k, got, want = mismatch
        lines.append(f"  first shape mismatch: {k!r} is {tuple(got)} in the checkpoint, the model expects {want}")
    raise CheckpointError("\n".join(lines))


def load_checkpoint(path: str | os.PathLike, *, expect_params: dict | None = None) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Args:
      path: the checkpoint file.
      expect_params: parameter name -> shape (a tuple, or anything with ``.shape``,
        such as the model's current parameters); when given, the checkpoint's
        parameters must have exactly these names and shapes.

    Returns:
      A :class:`Checkpoint`; arrays are NumPy, with the dtypes and shapes saved,
      and the optimiser state has its saved nesting. Named tuples and dataclasses
      come back as their own class when it is already imported (or part of
      paralens); otherwise as an equal named tuple, or a dict of the fields.

    Raises:
      CheckpointError: no file; a truncated, damaged or non-paralens file
        ("not a paralens checkpoint or corrupt: ..."); a format version newer
        than this paralens reads (both versions named); parameters that do not
        match ``expect_params`` (missing and unexpected names, the first shape
        mismatch).
    """
    path = Path(path)
    metadata, tensors = _read(path)
    version = _check_version(path, metadata)
    doc = metadata.get("paralens", "")
    if str(zlib.crc32(doc.encode())) != metadata.get("crc32"):
        raise _corrupt(path, "its metadata fails its CRC-32 check (the file is damaged)")
    try:
        meta = json.loads(doc, object_hook=_decode_arrays)
        _check_tensors(path, meta["tensors"], tensors)
        params = {}
        for name in meta["params"]:
            params[str(name)] = tensors[f"params/{name}"]
        used = {f"params/{n}" for n in params}
        opt_state = _unflatten(meta["opt_state"], tensors, used)
        if used != set(tensors):
            raise ValueError(f"tensors not in the structure: {sorted(set(tensors) - used)[:5]}")
        ckpt = Checkpoint(params=params, opt_state=opt_state, step=int(meta["step"]), epoch=int(meta["epoch"]),
                          rng_state=meta.get("rng_state"), model=meta.get("model"), extra=meta.get("extra"),
                          format_version=version)
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - any inconsistency in the metadata means a damaged or foreign file
        raise _corrupt(path, f"bad metadata ({type(e).__name__}: {e})") from None
    if expect_params is not None:
        _check_expected(path, ckpt.params, expect_params, ckpt.model)
    return ckpt
