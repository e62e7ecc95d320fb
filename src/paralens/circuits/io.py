"""Saving and reading circuits: versioned, human-readable JSON (never pickle).

A circuit file is one JSON object::

    {
      "format": "paralens-circuit",
      "version": 1,
      "name": "adder",
      "field": {"kind": "finite", "order": 256, "irreducible": [1, 0, 0, 0, 1, 1, 0, 1, 1]},
      "n_inputs": 2,
      "outputs": [5, 4],
      "gates": {"maj": {"kind": "sympy", "exprs": ["x*y + y*z + x*z"], "symbols": ["x", "y", "z"]}},
      "ops": [
        {"gen":"mul","k":1,"args":[[0],[1]],"out":2},
        {"gen":"const","k":1,"args":[],"out":3,"data":[7]},
        ...
      ]
    }

with one operation per line.  ``field`` is :meth:`Field.describe` (an extension
field's irreducible polynomial is checked when read, since elements are
integers in galois' representation); ``gen`` names a built-in generator
(``add``, ``mul``, ``neg``, ``const``) or gate (``xor``, ``and``, ``or``, ...) or a
user gate described in ``gates`` (rebuilt with
:func:`paralens.circuits.symbolic.gate_from_sympy`); ``args`` and ``out`` are the
bundle's wires as in :class:`~paralens.circuits.syntax.Op`; ``data`` holds a
const bundle's values (decimal strings for fields above 2^62 elements).

    >>> import tempfile, os
    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace
    >>> c = trace(GF(5), 2, lambda x, y: [x * y + 2 * x, y ** 3], name="demo")
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.json")
    >>> save_circuit(c, path)
    >>> d = load_circuit(path)
    >>> d.evaluate([[1, 2], [3, 4]]).tolist() == c.evaluate([[1, 2], [3, 4]]).tolist()
    True

Reading checks everything a circuit needs (format, version, field, generator
names and arities, every wire in range) and raises :class:`CircuitFileError`
with a message naming the file and what is wrong.  :func:`save_circuit` writes
a temporary file next to the target and renames it over the target, so a
failure while writing leaves the previous file intact.
"""

from __future__ import annotations

import json
import os

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.expressions import NAME
from paralens.circuits.syntax import Circuit, Op
from paralens.errors import (
    CircuitFileError,  # noqa: F401 - importable from here too
    ParalensError,
)
from paralens.fields.field import Field, FieldError, as_field, field_from_description
from paralens.files import atomic_write

FORMAT = "paralens-circuit"
VERSION = 1
_BIG = 2**62  # fields above this many elements write constants as decimal strings


def _builtin(name: str):
    if name in G.PRIMITIVES:
        return G.PRIMITIVES[name]
    return G.BOOLEAN_GATES.get(name)


def _json_source(name: str, source) -> dict:
    """A user gate's source as JSON-ready data (sympy expressions and symbols as text)."""
    if not isinstance(source, dict) or "kind" not in source:
        raise CircuitFileError(f"gate {name!r}: its source {source!r} is not a description with a 'kind'")
    out = {}
    for key, value in source.items():
        if key in ("exprs", "symbols"):
            value = [v if isinstance(v, str) else str(v) for v in (value if isinstance(value, list | tuple)
                                                                   else [value])]
        out[key] = value
    try:
        json.dumps(out)
    except (TypeError, ValueError) as e:
        raise CircuitFileError(f"gate {name!r}: its source cannot be written as JSON ({e})") from None
    return out


# -- writing -------------------------------------------------------------------------------------


def circuit_to_dict(c: Circuit) -> dict:
    """The JSON-ready description of ``c`` (see the module docstring).

    Raises :class:`CircuitFileError` for a gate that cannot be rebuilt from a file (a user
    gate without a ``source``, or two different gates of one name).
    """
    if not isinstance(c, Circuit):
        raise CircuitFileError(f"can only save a Circuit, got {type(c).__name__}")
    F = c.field
    big = F.is_finite and F.order > _BIG
    gates: dict[str, dict] = {}
    seen: dict[str, G.Generator] = {}
    ops = []
    for i, op in enumerate(c.ops):
        gen = op.gen
        name = gen.name
        if name in seen and seen[name] is not gen:
            raise CircuitFileError(f"op {i}: two different generators are both named {name!r}; "
                                   f"a file names gates, so give them distinct names")
        seen[name] = gen
        if _builtin(name) is not gen:
            if _builtin(name) is not None:
                raise CircuitFileError(f"op {i}: the gate {name!r} is not the built-in {name!r} "
                                       f"but has its name; rename it before saving")
            source = getattr(gen, "source", None)
            if source is None:
                raise CircuitFileError(
                    f"cannot save gate {name!r} (op {i}): it has no source to rebuild it from; "
                    f"define it with paralens.circuits.symbolic.gate_from_sympy to make it savable")
            if name not in gates:
                gates[name] = _json_source(name, source)
        entry = {"gen": name, "k": int(op.k), "args": [np.asarray(a).tolist() for a in op.args],
                 "out": int(op.out)}
        if op.data is not None:
            try:
                vals = F.as_elements(op.data, f"op {i}: constants").reshape(-1)
            except FieldError as e:
                raise CircuitFileError(str(e)) from None
            if big:
                entry["data"] = [str(int(v)) for v in vals]
            else:
                entry["data"] = vals.tolist()
        ops.append(entry)
    d = {
        "format": FORMAT,
        "version": VERSION,
        "name": c.name,
        "field": F.describe(),
        "n_inputs": c.n_inputs,
        "outputs": np.asarray(c.outputs).tolist(),
        "gates": gates,
        "ops": ops,
    }
    n_forward = getattr(c, "n_forward_ops", None)
    if n_forward is not None:
        d["n_forward_ops"] = int(n_forward)
    return d


def _compact(v) -> str:
    return json.dumps(v, separators=(",", ":"), allow_nan=False)


def dumps(d: dict) -> str:
    """The text of a circuit description: header keys one per line, then one op per line."""
    lines = [f"  {json.dumps(k)}: {_compact(v)}" for k, v in d.items() if k != "ops"]
    ops = d.get("ops", [])
    if ops:
        lines.append('  "ops": [\n    ' + ",\n    ".join(_compact(op) for op in ops) + "\n  ]")
    else:
        lines.append('  "ops": []')
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_circuit(c: Circuit, path) -> None:
    """Write ``c`` to ``path`` as JSON, atomically (:func:`paralens.files.atomic_write`)."""
    path = os.fspath(path)
    try:
        text = dumps(circuit_to_dict(c))
    except ValueError as e:  # a NaN or infinite constant over the reals
        if isinstance(e, CircuitFileError):
            raise CircuitFileError(f"{path}: {e}") from None
        raise CircuitFileError(f"{path}: cannot write the circuit as JSON ({e})") from None
    atomic_write(path, text)


# -- reading -------------------------------------------------------------------------------------


def _int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise CircuitFileError(f"{what} must be an integer, got {v!r}")
    return v


def _wire_list(v, what: str) -> np.ndarray:
    if not isinstance(v, list):
        raise CircuitFileError(f"{what} must be a list of wire numbers, got {type(v).__name__}")
    if not v:
        return np.zeros(0, dtype=np.int64)
    if not all(isinstance(w, int) and not isinstance(w, bool) for w in v):
        bad = next(w for w in v if not isinstance(w, int) or isinstance(w, bool))
        raise CircuitFileError(f"{what} must hold wire numbers (integers), got {bad!r}")
    try:
        return np.asarray(v, dtype=np.int64)
    except OverflowError:
        raise CircuitFileError(f"{what}: a wire number is out of range") from None


def _check_range(a: np.ndarray, n_wires: int, what: str) -> None:
    if len(a) and (a.min() < 0 or a.max() >= n_wires):
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise CircuitFileError(f"{what} reads wire {bad}, which is out of range "
                               f"(only wires 0 .. {n_wires - 1} exist there)")


def _short(v, n: int = 120) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."


def _rebuild_gate(name: str, source) -> G.Generator:
    if not isinstance(source, dict):
        raise CircuitFileError(f"gate {name!r}: its description must be an object, got {source!r}")
    kind = source.get("kind")
    if kind != "sympy":
        raise CircuitFileError(f"gate {name!r}: cannot rebuild a gate of source kind {kind!r} "
                               f"(this paralens reads 'sympy')")
    exprs, symbols = source.get("exprs"), source.get("symbols")
    if not isinstance(exprs, list) or not isinstance(symbols, list):
        raise CircuitFileError(f"gate {name!r}: a sympy gate needs lists 'exprs' and 'symbols'")
    if not exprs or not all(isinstance(e, str) for e in exprs):
        raise CircuitFileError(f"gate {name!r}: 'exprs' must be a non-empty list of formulas (text)")
    bad = next((s for s in symbols if not isinstance(s, str) or not NAME.match(s)), None)
    if bad is not None:
        raise CircuitFileError(f"gate {name!r}: {bad!r} is not a variable name")
    if len(symbols) > 64:
        raise CircuitFileError(f"gate {name!r}: {len(symbols)} inputs (a file's gates have at most 64)")
    from paralens.circuits.symbolic import gate_from_sympy

    kwargs = {}
    try:
        if source.get("field") is not None:  # the field the gate was checked over when made
            kwargs["field"] = field_from_description(source["field"])
        gate = gate_from_sympy(name, exprs, symbols, **kwargs)
    except (ParalensError, ValueError, TypeError, ArithmeticError, RecursionError) as e:
        raise CircuitFileError(f"gate {name!r}: cannot rebuild it from {_short(exprs)} in {symbols!r}: {e}") from None
    if getattr(gate, "source", None) is None:
        gate.source = source
    return gate


def _data(v, k: int, F: Field, what: str) -> np.ndarray:
    if not isinstance(v, list):
        raise CircuitFileError(f"{what}: 'data' must be a list, got {type(v).__name__}")
    if len(v) != k:
        raise CircuitFileError(f"{what}: {len(v)} constants for k = {k} gates")
    if F.is_finite:
        vals = []
        for x in v:
            if isinstance(x, str):
                try:
                    x = int(x, 10)
                except ValueError:
                    raise CircuitFileError(f"{what}: constant {x!r} is not a decimal integer") from None
            elif isinstance(x, bool) or not isinstance(x, int):
                raise CircuitFileError(f"{what}: constants must be integers, got {x!r}")
            if not 0 <= x < F.order:
                raise CircuitFileError(f"{what}: constant {x} is not an element of {F.name} "
                                       f"(0 .. {F.order - 1})")
            vals.append(x)
        box = np.empty(len(vals), dtype=object)
        box[:] = vals
        return F.as_elements(box, f"{what}: constants")  # the field's exact dtype (int64 or Python ints)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v):
        raise CircuitFileError(f"{what}: constants over the reals must be numbers")
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        raise CircuitFileError(f"{what}: constants must be finite")
    return a


def _header(d, field) -> tuple[Field, int, str | None]:
    """The checked header of a description: its field, number of inputs and name."""
    if not isinstance(d, dict):
        raise CircuitFileError(f"not a paralens circuit: expected a JSON object, got {type(d).__name__}")
    fmt = d.get("format")
    if fmt != FORMAT:
        raise CircuitFileError(f"not a paralens circuit file: format {fmt!r}, expected {FORMAT!r}")
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CircuitFileError(f"unreadable version {version!r} (expected an integer >= 1)")
    if version > VERSION:
        raise CircuitFileError(f"written by a newer paralens: version {version} > {VERSION}; "
                               f"upgrade paralens to read it")
    for key in ("field", "n_inputs", "outputs", "ops"):
        if key not in d:
            raise CircuitFileError(f"the circuit description has no {key!r}")
    try:
        F = field_from_description(d["field"]) if isinstance(d["field"], dict) else None
    except (FieldError, TypeError, ValueError) as e:
        raise CircuitFileError(f"field description mismatch: {e}") from None
    if F is None:
        raise CircuitFileError(f"field description mismatch: {d['field']!r} is not a field description")
    if field is not None:
        want = as_field(field)
        if want != F:
            raise CircuitFileError(f"field description mismatch: the circuit is over {F.name}, expected {want.name}")
    n_inputs = _int(d["n_inputs"], "n_inputs")
    if n_inputs < 0:
        raise CircuitFileError(f"n_inputs must be >= 0, got {n_inputs}")
    name = d.get("name")
    if name is not None and not isinstance(name, str):
        raise CircuitFileError(f"name must be a string or null, got {name!r}")
    return F, n_inputs, name


class _Generators:
    """The generators a file names: built-ins, and its own gates (rebuilt once, over its field)."""

    def __init__(self, gate_descs, F: Field):
        if not isinstance(gate_descs, dict):
            raise CircuitFileError("'gates' must be an object mapping gate names to descriptions")
        clash = sorted(n for n in gate_descs if _builtin(n) is not None)
        if clash:
            raise CircuitFileError(f"the file redefines the built-in gate {clash[0]!r}; a file may only add gates "
                                   f"of new names")
        self.descs, self.F, self.user = gate_descs, F, {}

    def __call__(self, gname, i: int) -> G.Generator:
        if not isinstance(gname, str):
            raise CircuitFileError(f"op {i}: 'gen' must be a generator name, got {gname!r}")
        if gname in self.descs:
            if gname not in self.user:
                gate = _rebuild_gate(gname, self.descs[gname])
                try:  # build its definition over this circuit's field now: errors belong to reading
                    gate.definition(self.F)
                except (ParalensError, ValueError, TypeError, ArithmeticError, RecursionError) as e:
                    raise CircuitFileError(f"gate {gname!r} is not a gate over {self.F.name}: {e}") from None
                self.user[gname] = gate
            return self.user[gname]
        g = _builtin(gname)
        if g is None:
            known = sorted(set(G.PRIMITIVES) | set(G.BOOLEAN_GATES) | set(self.descs))
            raise CircuitFileError(f"op {i}: unknown generator {gname!r} (known: {', '.join(known)})")
        return g


def _read_op(e, i: int, generator: _Generators, n_wires: int, F: Field) -> Op:
    """Op ``i`` of a description, checked against the ``n_wires`` wires before it."""
    if not isinstance(e, dict):
        raise CircuitFileError(f"op {i}: expected an object, got {type(e).__name__}")
    gen = generator(e.get("gen"), i)
    what = f"op {i} ({gen.name})"
    k = _int(e.get("k"), f"{what}: k")
    if k < 0:
        raise CircuitFileError(f"{what}: k must be >= 0, got {k}")
    raw_args = e.get("args", [])
    if not isinstance(raw_args, list):
        raise CircuitFileError(f"{what}: 'args' must be a list of {gen.n_in} wire lists")
    if len(raw_args) != gen.n_in:
        raise CircuitFileError(f"{what}: arity mismatch: {gen.name} takes {gen.n_in} inputs, "
                               f"the file gives {len(raw_args)} argument lists")
    args = []
    for j, a in enumerate(raw_args):
        w = _wire_list(a, f"{what}: port {j}")
        if len(w) != k:
            raise CircuitFileError(f"{what}: port {j} has {len(w)} wires for k = {k} gates")
        _check_range(w, n_wires, f"{what}: port {j}")
        args.append(w)
    out = _int(e.get("out"), f"{what}: out")
    if out != n_wires:
        raise CircuitFileError(f"{what}: its outputs start at wire {out}, expected {n_wires} "
                               f"(ops number their output wires consecutively)")
    data = None
    if "data" in e and e["data"] is not None:
        data = _data(e["data"], k, F, what)
    elif gen.has_data:
        raise CircuitFileError(f"{what}: a {gen.name} op needs 'data' (one value per gate)")
    return Op(gen, tuple(args), out, k, data)


def circuit_from_dict(d: dict, *, field=None) -> Circuit:
    """The circuit a description (from :func:`circuit_to_dict` or a file) stands for, checked.

    ``field`` (optional): the field the circuit must be over; a file over another field is an error.
    """
    F, n_inputs, name = _header(d, field)
    generator = _Generators(d.get("gates", {}) or {}, F)
    raw_ops = d["ops"]
    if not isinstance(raw_ops, list):
        raise CircuitFileError("'ops' must be a list")
    ops = []
    n_wires = n_inputs
    for i, e in enumerate(raw_ops):
        op = _read_op(e, i, generator, n_wires, F)
        ops.append(op)
        n_wires += op.n_wires
    outputs = _wire_list(d["outputs"], "outputs")
    if len(outputs) and (outputs.min() < 0 or outputs.max() >= n_wires):
        bad = int(outputs.min()) if outputs.min() < 0 else int(outputs.max())
        raise CircuitFileError(f"outputs: wire {bad} is out of range (the circuit has {n_wires} wires)")
    c = Circuit(F, n_inputs, tuple(ops), outputs, name=name)
    if "n_forward_ops" in d and d["n_forward_ops"] is not None:
        nf = _int(d["n_forward_ops"], "n_forward_ops")
        if not 0 <= nf <= len(ops):
            raise CircuitFileError(f"n_forward_ops = {nf} is not in 0 .. {len(ops)}")
        c.n_forward_ops = nf
    return c


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes | str, what: str, error: type[Exception] = CircuitFileError):
    """JSON text as Python data, or one ``error`` naming ``what`` and why: invalid UTF-8 or JSON, a
    truncated file, nesting too deep for the reader, an integer of more digits than Python parses,
    or ``NaN``/``Infinity`` (not JSON).  Nothing in the text is ever evaluated."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        return json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise error(f"{what}: truncated or not JSON (not UTF-8 text: a binary or corrupt file)") from None
    except json.JSONDecodeError as e:
        raise error(f"{what}: truncated or not JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise error(f"{what}: nested too deeply to be a paralens file") from None
    except ValueError as e:  # an integer of over 4,300 digits, or NaN / Infinity
        raise error(f"{what}: not a valid paralens file ({e})") from None


def read_json(path, error: type[Exception] = CircuitFileError):
    """The JSON data in the file ``path`` (see :func:`parse_json`); a file that cannot be read is one ``error``."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror or type(e).__name__})") from None
    return parse_json(raw, path, error)


def load_circuit(path, *, field=None) -> Circuit:
    """Read a circuit written by :func:`save_circuit`; :class:`CircuitFileError` says what is wrong.

    ``field`` (optional): the field the circuit must be over.
    """
    path = os.fspath(path)
    d = read_json(path)
    try:
        return circuit_from_dict(d, field=field)
    except CircuitFileError as e:
        raise CircuitFileError(f"{path}: {e}") from None
