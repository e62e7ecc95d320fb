"""Fuzzing the readers of paralens' JSON files: saved classifiers (``.plc``) and circuits.

Every mutation of a valid file (a truncation, a flipped or inserted byte, a value
replaced by another JSON value, a key removed, deep nesting, huge numbers, a
hostile gate formula) must either load a valid object or raise one
:class:`ParalensError` whose message is one line naming the file: never another
exception, never code run, and for a ``.plc`` never another model loaded
silently (its checksum catches damaged contents).

The hostile formulas are a corpus of what ``eval`` would run: calls, attribute
access, dunder names, lambdas, subscripts, huge exponents and deep nesting.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paralens.boolean.classifier import CircuitClassifier, ModelFileError
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder
from paralens.circuits import Circuit, trace
from paralens.circuits.expressions import ExpressionError, parse_polynomial
from paralens.circuits.io import CircuitFileError, circuit_from_dict, circuit_to_dict, load_circuit, save_circuit
from paralens.circuits.symbolic import gate_from_sympy
from paralens.circuits.syntax import Builder
from paralens.errors import ParalensError
from paralens.fields import GF

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

CANARY = "PARALENS_FUZZ_CANARY"
HOSTILE = [
    f"__import__('os').system('touch {CANARY}')*0+1+x",
    f"__import__('os').environ.__setitem__('{CANARY}', '1') or x",
    "x.__class__.__mro__[1].__subclasses__()",
    "(lambda: x)()",
    "x if x else y",
    "[x for x in y]",
    "x[0]",
    "x.real",
    "open('/etc/passwd')",
    "exec('x=1')",
    "eval('x')",
    "getattr(x, 'a')",
    "Symbol('x')",
    "Integer(1)",
    "x; import os",
    "x\nimport os",
    "'x'",
    "b'x'",
    "x @ y",
    "x % 2",
    "x // 2",
    "x == y",
    "1e5 * x",
    "0x10 * x",
    "x**-1",
    "x**y",
    "x**(2**64)",
    "x**99999999999",
    "(x + y + 1)**1000",
    "(" * 5000 + "x" + ")" * 5000,
    "-" * 5000 + "x",
    "x" + "+x" * 60000,
    "9" * 5000,
    "x / 0",
    "x / y",
    "_x",
    "__builtins__",
    "",
    "   ",
    "x +",
    "* x",
    "x ** ",
    "(x",
    "x)",
]
HOSTILE_IDS = [f"{i}:{h[:24]}" for i, h in enumerate(HOSTILE)]


def _small_classifier(seed: int = 0) -> CircuitClassifier:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 50, size=(40, 3))
    enc = ThermometerEncoder(2).fit(X)
    F = GF(2)
    b = Builder(F, enc.n_bits)
    x = b.inputs()
    from paralens.circuits import generators as G

    a = b.op(G.BOOLEAN_GATES["and"], x[[0, 1, 2, 3]], x[[4, 5, 1, 2]])[0]
    o = b.op(G.BOOLEAN_GATES["xor"], a, x[[5, 3, 0, 4]])[0]
    n = b.op(G.BOOLEAN_GATES["not"], o[:2])[0]
    c = b.build(np.concatenate([o, n]), name="small")
    return CircuitClassifier(enc, c, GroupSumDecoder(2, 3), name="small", info={"dataset": "none"})


def _user_circuit() -> Circuit:
    maj = gate_from_sympy("maj", "x*y + y*z + x*z", ["x", "y", "z"])
    F = GF(5)
    b = Builder(F, 3)
    x = b.inputs()
    m = b.op(maj, x[[0]], x[[1]], x[[2]])[0]
    k = b.const([3])
    from paralens.circuits import generators as G

    y = b.op(G.PRIMITIVES["mul"], m, k)[0]
    return b.build(np.concatenate([y, m]), name="user")


CLF = _small_classifier()
CLF_TEXT = json.dumps(CLF.to_dict())
PROBE = np.random.default_rng(1).integers(0, 60, size=(64, 3))
WANT = CLF.predict(PROBE, packed=False)
CIRCUIT = _user_circuit()
CIRCUIT_TEXT = json.dumps(circuit_to_dict(CIRCUIT))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8) | st.sampled_from(HOSTILE),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):
            yield from _paths(v, prefix + (i,))


@st.composite
def structural(draw, text: str):
    """A JSON-level mutation of ``text``: a value replaced, a key removed, or a value wrapped deeply."""
    d = json.loads(text)
    paths = [p for p in _paths(d) if p]
    path = draw(st.sampled_from(paths))
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    how = draw(st.sampled_from(["replace", "remove", "nest", "hostile", "huge"]))
    key = path[-1]
    if how == "replace":
        parent[key] = draw(json_values)
    elif how == "remove" and isinstance(parent, dict):
        del parent[key]
    elif how == "nest":
        v = parent[key]
        for _ in range(draw(st.integers(1, 3000))):
            v = [v]
        parent[key] = v
    elif how == "hostile":
        parent[key] = draw(st.sampled_from(HOSTILE))
    else:
        parent[key] = draw(st.sampled_from([2**63, -(2**63) - 1, 10**400, 2**64 + 5, -1, 10**18]))
    try:
        return json.dumps(d)
    except RecursionError:
        return "[" * 100_000


@st.composite
def textual(draw, text: str):
    """A byte-level mutation: truncation, overwritten or inserted bytes."""
    raw = bytearray(text.encode())
    how = draw(st.sampled_from(["truncate", "flip", "insert"]))
    at = draw(st.integers(0, len(raw) - 1))
    if how == "truncate":
        return bytes(raw[:at])
    if how == "flip":
        raw[at] ^= 1 << draw(st.integers(0, 7))
        return bytes(raw)
    return bytes(raw[:at]) + draw(st.binary(min_size=1, max_size=4)) + bytes(raw[at:])


def _one_clean_line(e: Exception, path: str):
    msg = str(e)
    assert msg and "\n" not in msg, msg
    assert msg.startswith(path), msg
    assert "Traceback" not in msg


def _write(tmp_path, data, name) -> str:
    p = os.path.join(tmp_path, name)
    with open(p, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return p


def _check_plc(tmp_path, data):
    path = _write(tmp_path, data, "m.plc")
    try:
        back = CircuitClassifier.load(path)
    except ParalensError as e:
        assert isinstance(e, ModelFileError), type(e)
        _one_clean_line(e, path)
        return
    # it loaded: then it is the same model (the checksum refuses damaged contents)
    np.testing.assert_array_equal(back.predict(PROBE, packed=False), WANT)


def _check_circuit(tmp_path, data):
    path = _write(tmp_path, data, "c.json")
    try:
        c = load_circuit(path)
    except ParalensError as e:
        assert isinstance(e, CircuitFileError), type(e)
        _one_clean_line(e, path)
        return
    assert isinstance(c, Circuit)
    # a valid circuit: it evaluates on elements of its field without an error
    if c.field.is_finite and c.n_inputs <= 64 and c.n_gates <= 10_000:
        X = np.random.default_rng(0).integers(0, min(c.field.order, 2**62), size=(3, c.n_inputs))
        try:
            c.evaluate(X)
        except ParalensError:  # e.g. a gate that divides by zero in this field: a clear error is fine
            pass


@pytest.fixture(autouse=True)
def _no_canary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CANARY, raising=False)
    yield
    assert not os.path.exists(CANARY), "a file's contents ran as code"
    assert CANARY not in os.environ, "a file's contents ran as code"


@FUZZ
@given(data=st.one_of(structural(CLF_TEXT), textual(CLF_TEXT)))
def test_fuzzed_classifier_files_load_the_same_model_or_fail_cleanly(tmp_path, data):
    _check_plc(str(tmp_path), data)


@FUZZ
@given(data=st.one_of(structural(CIRCUIT_TEXT), textual(CIRCUIT_TEXT)))
def test_fuzzed_circuit_files_load_a_valid_circuit_or_fail_cleanly(tmp_path, data):
    _check_circuit(str(tmp_path), data)


@pytest.mark.parametrize("formula", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_gate_formulas_are_refused_in_circuit_files(tmp_path, formula):
    d = json.loads(CIRCUIT_TEXT)
    d["gates"]["maj"]["exprs"] = [formula]
    path = _write(str(tmp_path), json.dumps(d), "c.json")
    with pytest.raises(CircuitFileError) as e:
        load_circuit(path)
    _one_clean_line(e.value, path)
    assert "maj" in str(e.value)


@pytest.mark.parametrize("formula", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_gate_formulas_are_refused_in_classifier_files(tmp_path, formula):
    d = json.loads(CLF_TEXT)
    d["circuit"]["gates"]["evil"] = {"kind": "sympy", "exprs": [formula], "symbols": ["x"]}
    next(op for op in d["circuit"]["ops"] if op["gen"] == "not")["gen"] = "evil"
    d.pop("checksum")  # as if edited on purpose: the formula itself must be refused
    path = _write(str(tmp_path), json.dumps(d), "m.plc")
    with pytest.raises(ModelFileError, match="evil") as e:
        CircuitClassifier.load(path)
    _one_clean_line(e.value, path)


@pytest.mark.parametrize("formula", HOSTILE, ids=HOSTILE_IDS)
def test_the_parser_refuses_hostile_text(formula):
    with pytest.raises(ExpressionError) as e:
        parse_polynomial(formula, ["x", "y"])
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text, expected", [
    ("x*y + y*z + x*z", "x*y + x*z + y*z"),
    ("-x**2 + 3*x - 1", "-x**2 + 3*x - 1"),
    ("(x + 1)**3", "(x + 1)**3"),
    ("x/2 + 3*y/4", "x/2 + 3*y/4"),
    ("2*a*x + a**2", "a**2 + 2*a*x"),
    ("+x - -y", "x + y"),
    ("x**(3)", "x**3"),
])
def test_the_parser_reads_what_sympy_prints(text, expected):
    import sympy

    got = parse_polynomial(text, ["x", "y", "z", "a"])
    x, y, z, a = sympy.symbols("x y z a")
    assert sympy.expand(got - sympy.sympify(expected, locals={"x": x, "y": y, "z": z, "a": a})) == 0


def test_saved_user_gates_round_trip_through_the_parser(tmp_path):
    path = os.path.join(tmp_path, "c.json")
    save_circuit(CIRCUIT, path)
    back = load_circuit(path)
    X = np.array([[a, b, c] for a in range(5) for b in range(5) for c in range(5)])
    np.testing.assert_array_equal(np.asarray(back.evaluate(X)), np.asarray(CIRCUIT.evaluate(X)))
    # the majority polynomial, checked against plain integer arithmetic mod 5
    m = (X[:, 0] * X[:, 1] + X[:, 1] * X[:, 2] + X[:, 0] * X[:, 2]) % 5
    np.testing.assert_array_equal(np.asarray(back.evaluate(X))[:, 1], m)
    np.testing.assert_array_equal(np.asarray(back.evaluate(X))[:, 0], 3 * m % 5)


@pytest.mark.parametrize("name", ["not", "and", "xor", "mux", "add", "mul", "const"])
def test_a_file_cannot_redefine_a_built_in_gate(tmp_path, name):
    d = json.loads(CLF_TEXT)
    d["circuit"]["gates"][name] = {"kind": "sympy", "exprs": ["x"], "symbols": ["x"]}
    d.pop("checksum")
    path = _write(str(tmp_path), json.dumps(d), "m.plc")
    with pytest.raises(ModelFileError, match=f"redefines the built-in gate '{name}'"):
        CircuitClassifier.load(path)


@pytest.mark.parametrize("version", [None, -7, 0, "1", 1.0, True, 99])
def test_a_classifier_file_needs_a_known_version(tmp_path, version):
    d = json.loads(CLF_TEXT)
    if version is None:
        d.pop("version")
    else:
        d["version"] = version
    d.pop("checksum")
    path = _write(str(tmp_path), json.dumps(d), "m.plc")
    with pytest.raises(ModelFileError, match="version"):
        CircuitClassifier.load(path)


def test_a_classifier_over_another_field_is_refused(tmp_path):
    d = json.loads(CLF_TEXT)
    d["circuit"]["field"] = GF(3).describe()
    d.pop("checksum")
    path = _write(str(tmp_path), json.dumps(d), "m.plc")
    with pytest.raises(ParalensError, match="over GF\\(2\\), not GF\\(3\\)"):
        CircuitClassifier.load(path)


def test_an_edited_classifier_file_is_refused_unless_its_checksum_is_removed(tmp_path):
    d = json.loads(CLF_TEXT)
    d["decoder"]["bits_per_class"] = d["decoder"]["bits_per_class"]  # unchanged: loads
    ok = _write(str(tmp_path), json.dumps(d), "ok.plc")
    np.testing.assert_array_equal(CircuitClassifier.load(ok).predict(PROBE, packed=False), WANT)
    op = next(op for op in d["circuit"]["ops"] if op["gen"] == "and")
    op["gen"] = "or"
    bad = _write(str(tmp_path), json.dumps(d), "bad.plc")
    with pytest.raises(ModelFileError, match="checksum"):
        CircuitClassifier.load(bad)
    d.pop("checksum")
    edited = _write(str(tmp_path), json.dumps(d), "edited.plc")
    assert not np.array_equal(CircuitClassifier.load(edited).predict(PROBE, packed=False), WANT)


def test_a_deeply_nested_file_is_one_error(tmp_path):
    for name, loader, err in (("m.plc", CircuitClassifier.load, ModelFileError),
                              ("c.json", load_circuit, CircuitFileError)):
        path = _write(str(tmp_path), "[" * 100_000, name)
        with pytest.raises(err, match="nested too deeply"):
            loader(path)


def test_circuit_from_dict_refuses_a_gate_the_field_cannot_hold():
    d = json.loads(CIRCUIT_TEXT)
    d["gates"]["maj"]["exprs"] = ["a*x*y + y*z + x*z"]  # the generator a of GF(p^m): not in GF(5)
    with pytest.raises(CircuitFileError, match="maj"):
        circuit_from_dict(d)


def test_traced_gate_text_never_reaches_eval(monkeypatch):
    """``gate_from_sympy`` with text parses it by the restricted grammar, whatever sympy's parser does."""
    import sympy.parsing.sympy_parser as sp_parser

    def refuse(*a, **k):  # pragma: no cover - reached only if the code calls sympy's parser
        raise AssertionError("parse_expr was called")

    monkeypatch.setattr(sp_parser, "parse_expr", refuse)
    monkeypatch.setattr("sympy.sympify", refuse)
    g = gate_from_sympy("f", "x**2*y + 3", ["x", "y"])
    c = trace(GF(7), 2, lambda x, y: g(x, y))
    assert np.asarray(c.evaluate([[2, 3]])).tolist() == [[(4 * 3 + 3) % 7]]
