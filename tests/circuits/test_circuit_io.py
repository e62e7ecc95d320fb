"""Circuit files: round trips, clear errors for broken files, atomic writes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from paralens.circuits import (
    BOOLEAN_GATES,
    Builder,
    Circuit,
    CircuitFileError,
    Gate,
    circuit_from_dict,
    circuit_to_dict,
    load_circuit,
    resolve,
    reverse,
    save_circuit,
    trace,
)
from paralens.circuits import io as cio
from paralens.errors import ParalensError
from paralens.fields import GF, REALS

M61 = 2**61 - 1


def sympy_gate():
    from paralens.circuits import symbolic

    return symbolic.gate_from_sympy("maj", ["x*y + y*z + x*z"], ["x", "y", "z"])


def mixed_circuit(F, with_user_gate=True, seed=0):
    """Every kind of op: primitives, Boolean gates, constants, a user gate, bundles of several gates."""
    rng = np.random.default_rng(seed)
    b = Builder(F, 4)
    hi = F.order if F.order <= 2**62 else 2**62
    consts = b.const(np.array([0, 1, int(rng.integers(0, hi)), F.order - 1], dtype=object))
    pool = np.concatenate([b.inputs(), consts])
    wires = [pool]
    for name in ["mul", "add", "neg", "xor", "or", "mux", "nand", "not"]:
        g = resolve(name)
        p = np.concatenate(wires)
        wires.append(b.op(g, *[rng.choice(p, 3) for _ in range(g.n_in)])[0])
    if with_user_gate:
        p = np.concatenate(wires)
        wires.append(b.op(sympy_gate(), *[rng.choice(p, 2) for _ in range(3)])[0])
    out = np.concatenate(wires[1:])
    return b.build(out[::2], name=f"mixed over {F.name}")


def same_ops(a: Circuit, b: Circuit):
    assert a.field == b.field and a.n_inputs == b.n_inputs and a.name == b.name
    assert a.outputs.tolist() == b.outputs.tolist()
    assert len(a.ops) == len(b.ops)
    for x, y in zip(a.ops, b.ops):
        assert x.gen.name == y.gen.name and (x.gen.n_in, x.gen.n_out) == (y.gen.n_in, y.gen.n_out)
        if not isinstance(x.gen, Gate) or x.gen.name in BOOLEAN_GATES:
            assert x.gen is y.gen  # built-ins come back as the same objects
        assert (x.k, x.out) == (y.k, y.out)
        assert [a_.tolist() for a_ in x.args] == [a_.tolist() for a_ in y.args]
        if x.data is None:
            assert y.data is None
        else:
            assert [int(v) for v in x.data] == [int(v) for v in y.data]


def ints(a):
    return np.asarray(a.view(np.ndarray)).tolist()


@pytest.mark.parametrize("order", [2, 5, 2**8, M61])
def test_round_trip(order, tmp_path):
    F = GF(order)
    c = mixed_circuit(F)
    path = tmp_path / "c.json"
    save_circuit(c, path)
    d = load_circuit(path)
    same_ops(c, d)
    X = F.random((70, 4), seed=1)
    assert ints(d.evaluate(X)) == ints(c.evaluate(X))
    if order == 2:
        assert d.evaluate(X, packed=True).tolist() == c.evaluate(X, packed=True).tolist()
    # reverse of the loaded circuit (its user gate rebuilt from sympy) agrees too
    DY = F.random((70, c.n_outputs), seed=2)
    XD = np.concatenate([ints(X), ints(DY)], axis=1)
    assert ints(reverse(d).evaluate(np.asarray(XD, dtype=object if order > 2**62 else np.int64))) == \
        ints(reverse(c).evaluate(np.asarray(XD, dtype=object if order > 2**62 else np.int64)))
    # saving the loaded circuit gives the same file
    save_circuit(d, tmp_path / "d.json")
    assert (tmp_path / "c.json").read_text() == (tmp_path / "d.json").read_text()


def test_file_layout(tmp_path):
    c = mixed_circuit(GF(2**8))
    path = tmp_path / "c.json"
    save_circuit(c, path)
    text = path.read_text()
    d = json.loads(text)
    assert d["format"] == "paralens-circuit" and d["version"] == 1
    assert d["field"] == {"kind": "finite", "order": 256, "irreducible": list(GF(2**8).irreducible)}
    assert d["name"] == "mixed over GF(2^8)" and d["n_inputs"] == 4
    assert d["gates"] == {"maj": sympy_gate().source}
    assert d["gates"]["maj"]["kind"] == "sympy" and d["gates"]["maj"]["symbols"] == ["x", "y", "z"]
    lines = text.splitlines()
    # one op per line
    op_lines = [ln for ln in lines if ln.strip().startswith('{"gen"')]
    assert len(op_lines) == len(c.ops)
    assert json.loads(op_lines[0].rstrip(",")) == {"gen": "const", "k": 4, "args": [], "out": 4,
                                                   "data": [0, 1, int(c.ops[0].data[2]), 255]}
    assert '"gen":"mux"' in text and "maj" in text


def test_huge_field_constants_are_decimal_strings(tmp_path):
    F = GF(2**127 - 1)
    big = 2**127 - 2
    c = trace(F, 1, lambda x: x * big + 3)
    path = tmp_path / "big.json"
    save_circuit(c, path)
    d = json.loads(path.read_text())
    consts = [op for op in d["ops"] if op["gen"] == "const"]
    assert sorted(v for op in consts for v in op["data"]) == sorted([str(big), "3"])
    back = load_circuit(path)
    X = np.array([[5], [2**126]], dtype=object)
    assert ints(back.evaluate(X)) == ints(c.evaluate(X)) == [[(5 * big + 3) % (2**127 - 1)],
                                                             [(2**126 * big + 3) % (2**127 - 1)]]


def test_reals_and_reversed_circuits(tmp_path):
    c = trace(GF(5), 2, lambda x, y: [x * y + 2 * x, y**3], name="demo")
    r = reverse(c)
    save_circuit(r, tmp_path / "r.json")
    back = load_circuit(tmp_path / "r.json")
    assert back.n_forward_ops == r.n_forward_ops and back.name == "R[demo]"
    X = GF(5).random((20, 4), seed=0)
    assert back.evaluate(X).tolist() == r.evaluate(X).tolist()
    real = c.over(REALS)
    save_circuit(real, tmp_path / "real.json")
    back = load_circuit(tmp_path / "real.json")
    assert back.field is REALS
    x = np.array([[0.5, 2.0]])
    assert back.evaluate(x).tolist() == real.evaluate(x).tolist()


def test_dict_round_trip_and_wiring_only():
    for c in (Circuit.identity(GF(5), 3), Circuit.discard(GF(5), 2), Circuit.copy(GF(5), 2, 3),
              Circuit.constant(GF(5), [2, 1]), Circuit.generator(GF(2), "mux", n=4)):
        d = circuit_to_dict(c)
        json.dumps(d)  # JSON-ready
        same_ops(c, circuit_from_dict(d))
    assert circuit_from_dict(circuit_to_dict(Circuit.generator(GF(5), "mul")), field=GF(5)).field is GF(5)


def test_large_circuit_round_trip_is_fast(tmp_path):
    import time

    rng = np.random.default_rng(0)
    b = Builder(GF(2), 64)
    prev = np.arange(64)
    for _ in range(10):
        prev = np.concatenate([b.op(resolve(k), *[rng.choice(prev, 3000) for _ in range(2)])[0]
                               for k in ("and", "xor", "or")])
    c = b.build(prev[:100])
    t0 = time.perf_counter()
    save_circuit(c, tmp_path / "big.json")
    d = load_circuit(tmp_path / "big.json")
    assert time.perf_counter() - t0 < 10
    same_ops(c, d)


# -- errors -----------------------------------------------------------------------------------------


def write(tmp_path, text, name="bad.json"):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


def good_dict():
    return circuit_to_dict(trace(GF(5), 2, lambda x, y: [x * y + 3, -x], name="g"))


def test_error_class():
    assert issubclass(CircuitFileError, ParalensError) and issubclass(CircuitFileError, ValueError)


def test_truncated_and_not_json(tmp_path):
    c = mixed_circuit(GF(5), with_user_gate=False)
    save_circuit(c, tmp_path / "ok.json")
    text = (tmp_path / "ok.json").read_text()
    for bad in (text[: len(text) // 2], "", "not json at all", b"\xff\xfe\x00garbage"):
        p = write(tmp_path, bad)
        with pytest.raises(CircuitFileError, match="truncated or not JSON") as e:
            load_circuit(p)
        assert str(p) in str(e.value)
    p = write(tmp_path, "[1, 2, 3]")
    with pytest.raises(CircuitFileError, match="expected a JSON object"):
        load_circuit(p)


def test_wrong_format_and_version(tmp_path):
    d = good_dict()
    d["format"] = "paralens-checkpoint"
    with pytest.raises(CircuitFileError, match=r"not a paralens circuit file.*'paralens-checkpoint'"):
        load_circuit(write(tmp_path, json.dumps(d)))
    d = good_dict()
    d["version"] = 2
    with pytest.raises(CircuitFileError, match=r"written by a newer paralens: version 2 > 1"):
        load_circuit(write(tmp_path, json.dumps(d)))
    d["version"] = "1"
    with pytest.raises(CircuitFileError, match="version"):
        circuit_from_dict(d)
    d = good_dict()
    del d["ops"]
    with pytest.raises(CircuitFileError, match="no 'ops'"):
        circuit_from_dict(d)


def test_unknown_generator_and_gate_sources(tmp_path):
    d = good_dict()
    d["ops"][-1]["gen"] = "frobnicate"
    with pytest.raises(CircuitFileError, match=r"op \d+: unknown generator 'frobnicate'") as e:
        load_circuit(write(tmp_path, json.dumps(d)))
    assert "bad.json" in str(e.value) and "xor" in str(e.value)
    d = good_dict()
    d["gates"] = {"weird": {"kind": "python", "code": "lambda x: x"}}
    d["ops"][-1]["gen"] = "weird"
    with pytest.raises(CircuitFileError, match="gate 'weird'.*source kind 'python'"):
        circuit_from_dict(d)
    d["gates"] = {"weird": {"kind": "sympy", "exprs": ["x +* y"], "symbols": ["x"]}}
    with pytest.raises(CircuitFileError, match="gate 'weird': cannot rebuild"):
        circuit_from_dict(d)


def test_arity_mismatch_of_a_user_gate():
    d = good_dict()
    # a 1-input op now named after a 2-input sympy gate
    neg = next(i for i, op in enumerate(d["ops"]) if op["gen"] == "neg")
    d["gates"] = {"two": {"kind": "sympy", "exprs": ["x*y"], "symbols": ["x", "y"]}}
    d["ops"][neg]["gen"] = "two"
    with pytest.raises(CircuitFileError, match="arity mismatch: two takes 2 inputs, the file gives 1"):
        circuit_from_dict(d)


def test_wires_out_of_range_and_shapes(tmp_path):
    d = good_dict()
    mul = next(op for op in d["ops"] if op["gen"] == "mul")
    mul["args"][1] = [999]
    with pytest.raises(CircuitFileError, match=r"op \d+ \(mul\): port 1 reads wire 999, which is out of range"):
        load_circuit(write(tmp_path, json.dumps(d)))
    d = good_dict()
    next(op for op in d["ops"] if op["gen"] == "mul")["args"][0] = [-1]
    with pytest.raises(CircuitFileError, match="reads wire -1"):
        circuit_from_dict(d)
    d = good_dict()
    # a wire produced later is out of range too (the ops are in topological order)
    first = next(op for op in d["ops"] if op["args"])
    first["args"][0] = [d["ops"][-1]["out"]]
    with pytest.raises(CircuitFileError, match="out of range"):
        circuit_from_dict(d)
    d = good_dict()
    mul = next(op for op in d["ops"] if op["gen"] == "mul")
    mul["args"] = mul["args"][:1]
    with pytest.raises(CircuitFileError, match="arity mismatch: mul takes 2 inputs, the file gives 1"):
        circuit_from_dict(d)
    d = good_dict()
    next(op for op in d["ops"] if op["gen"] == "mul")["k"] = 2
    with pytest.raises(CircuitFileError, match="port 0 has 1 wires for k = 2 gates"):
        circuit_from_dict(d)
    d = good_dict()
    d["outputs"] = [0, 10_000]
    with pytest.raises(CircuitFileError, match="outputs: wire 10000 is out of range"):
        circuit_from_dict(d)
    d = good_dict()
    d["ops"][1]["out"] += 1
    with pytest.raises(CircuitFileError, match="outputs start at wire"):
        circuit_from_dict(d)
    d = good_dict()
    next(op for op in d["ops"] if op["gen"] == "mul")["args"][0] = ["0"]
    with pytest.raises(CircuitFileError, match="wire numbers"):
        circuit_from_dict(d)


def test_bad_constants():
    d = good_dict()
    const = next(op for op in d["ops"] if op["gen"] == "const")
    const["data"] = [5]
    with pytest.raises(CircuitFileError, match=r"constant 5 is not an element of GF\(5\)"):
        circuit_from_dict(d)
    const["data"] = [1, 2]
    with pytest.raises(CircuitFileError, match="2 constants for k = 1 gates"):
        circuit_from_dict(d)
    del const["data"]
    with pytest.raises(CircuitFileError, match="needs 'data'"):
        circuit_from_dict(d)


def test_field_mismatch(tmp_path):
    c = Circuit.generator(GF(2**8), "mul")
    d = circuit_to_dict(c)
    d["field"]["irreducible"] = [1, 0, 0, 0, 1, 1, 0, 1, 1]  # AES's polynomial, not galois' default
    with pytest.raises(CircuitFileError, match="field description mismatch.*irreducible polynomial"):
        load_circuit(write(tmp_path, json.dumps(d)))
    d["field"] = {"kind": "finite", "order": 6}
    with pytest.raises(CircuitFileError, match="field description mismatch.*GF\\(6\\)"):
        circuit_from_dict(d)
    d["field"] = "GF(256)"
    with pytest.raises(CircuitFileError, match="field description mismatch"):
        circuit_from_dict(d)
    save_circuit(c, tmp_path / "c.json")
    with pytest.raises(CircuitFileError, match=r"over GF\(2\^8\), expected GF\(5\)"):
        load_circuit(tmp_path / "c.json", field=GF(5))
    assert load_circuit(tmp_path / "c.json", field=256).field is GF(2**8)


def test_unsavable_gates(tmp_path):
    anon = Gate("sq_plus", 1, lambda x: x * x + 1)
    c = Circuit.generator(GF(5), anon)
    with pytest.raises(CircuitFileError, match="cannot save gate 'sq_plus'.*no source") as e:
        save_circuit(c, tmp_path / "x.json")
    assert "x.json" in str(e.value)
    assert not os.listdir(tmp_path)  # nothing written, not even a temporary file
    fake_or = Gate("or", 2, lambda x, y: x * y)
    with pytest.raises(CircuitFileError, match="not the built-in 'or'"):
        circuit_to_dict(Circuit.generator(GF(5), fake_or))
    b = Builder(GF(5), 1)
    g1 = Gate("g", 1, lambda x: x, source={"kind": "sympy", "exprs": ["x"], "symbols": ["x"]})
    g2 = Gate("g", 1, lambda x: -x, source={"kind": "sympy", "exprs": ["-x"], "symbols": ["x"]})
    b.op(g1, [0])
    c2 = b.build(b.op(g2, [0])[0])
    with pytest.raises(CircuitFileError, match="two different generators are both named 'g'"):
        circuit_to_dict(c2)


# -- atomic writes ------------------------------------------------------------------------------------


def test_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    old = trace(GF(5), 1, lambda x: x * x, name="old")
    save_circuit(old, path)
    before = path.read_bytes()
    new = trace(GF(5), 1, lambda x: x + 1, name="new")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_circuit(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.json"]  # the temporary file is cleaned up

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_circuit(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.json"]

    monkeypatch.setattr(cio, "dumps", lambda d: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_circuit(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.json"]
    assert load_circuit(path).name == "old"

    save_circuit(new, path)  # and a good write replaces it
    assert load_circuit(path).name == "new" and os.listdir(tmp_path) == ["c.json"]


def test_written_file_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        save_circuit(Circuit.identity(GF(5), 1), tmp_path / "a.json")
        assert os.stat(tmp_path / "a.json").st_mode & 0o777 == 0o644  # not mkstemp's 0600
        os.chmod(tmp_path / "a.json", 0o640)
        save_circuit(Circuit.identity(GF(5), 2), tmp_path / "a.json")
        assert os.stat(tmp_path / "a.json").st_mode & 0o777 == 0o640  # a replaced file keeps its mode
    finally:
        os.umask(umask)


def test_missing_file(tmp_path):
    with pytest.raises(CircuitFileError, match=r"nope\.json: cannot read \(No such file or directory\)"):
        load_circuit(tmp_path / "nope.json")
