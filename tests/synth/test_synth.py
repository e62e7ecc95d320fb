"""Hardware (paralens.synth): PyRTL designs of circuits, simulated, written as BLIF and CNF, and the
learner as a synchronous design.  References: ``circuit.evaluate`` and, for the learner, paralens'
software reverse derivative ascent.  The external tools (Icarus, Yosys) are in test_synth_tools.py.
"""

from __future__ import annotations

import io
import itertools
import shutil

import numpy as np
import pyrtl
import pytest

from paralens.circuits import BOOLEAN_GATES, Circuit, trace
from paralens.fields import GF
from paralens.synth import (
    PortLayout,
    cnf_clauses,
    gf2_netlist,
    hardware_stats,
    rda_learner,
    rda_reference,
    register_hardware_rule,
    simulate,
    simulate_learner,
    to_pyrtl,
    verilog_identifier,
    verilog_text,
    write_blif,
    write_cnf,
    write_gate_verilog,
)
from paralens.synth.pyrtl_design import HARDWARE_RULES

F2 = GF(2)

from support import HALF, MAJ, icarus_as_in_readme, ints, lut2, needs_icarus, needs_yosys, random_gf2_circuit, rows  # noqa: F401

# -- GF(2) designs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_gf2_circuits_simulate_like_evaluate(seed):
    c = random_gf2_circuit(24, 300, 16, seed)
    assert c.n_gates >= 300 and any(op.k > 1 for op in c.ops)
    d = to_pyrtl(c)
    X = rows(2, 24, 256, seed)
    want = ints(c.evaluate(X))
    np.testing.assert_array_equal(simulate(d, X), want)
    np.testing.assert_array_equal(gf2_netlist(c).evaluate(X), want)
    # one PyRTL operation per GF(2) gate (ports and constants aside): bundles were expanded
    ops = [n.op for n in d.block.logic if n.op not in "w"]
    assert len(ops) >= c.n_gates - c.gate_counts().get("neg", 0)


def test_every_boolean_gate_and_primitive_exhaustively():
    for name in list(BOOLEAN_GATES) + ["add", "mul", "neg"]:
        c = Circuit.generator(F2, name, n=2)
        X = np.array(list(itertools.product([0, 1], repeat=c.n_inputs)))
        np.testing.assert_array_equal(simulate(to_pyrtl(c), X), ints(c.evaluate(X)), err_msg=name)


def test_designs_get_their_own_blocks_and_leave_pyrtls_global_block_alone():
    pyrtl.reset_working_block()
    glob = pyrtl.working_block()
    with pyrtl.set_working_block(glob):
        keep = pyrtl.Input(1, "user_wire")  # a user's own design in progress
    c1, c2 = random_gf2_circuit(8, 60, 4, 10), random_gf2_circuit(8, 60, 4, 11)
    d1 = to_pyrtl(c1)
    d2 = to_pyrtl(c2)
    assert pyrtl.working_block() is glob
    assert glob.wirevector_set == {keep} and not glob.logic
    assert d1.block is not d2.block and d1.block is not glob
    assert not (d1.block.wirevector_set & d2.block.wirevector_set)
    assert all(w in d1.block.wirevector_set for n in d1.block.logic for w in n.args + n.dests)
    d1.block.sanity_check()
    d2.block.sanity_check()
    X = rows(2, 8, 64, 0)
    np.testing.assert_array_equal(simulate(d1, X), ints(c1.evaluate(X)))
    np.testing.assert_array_equal(simulate(d2, X), ints(c2.evaluate(X)))
    hardware_stats(d1, yosys=False)  # timing and area analysis read d1's block only
    assert pyrtl.working_block() is glob and not glob.logic
    pyrtl.reset_working_block()


def test_simulators_agree():
    c = random_gf2_circuit(12, 120, 6, 3)
    d = to_pyrtl(c)
    X = rows(2, 12, 40, 1)
    want = ints(c.evaluate(X))
    for sim in ("fast", "python"):
        np.testing.assert_array_equal(simulate(d, X, simulator=sim), want)
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("PyRTL's CompiledSimulation needs a C compiler (apt-get install -y gcc)")
    np.testing.assert_array_equal(simulate(d, X, simulator="compiled"), want)


def test_word_ports():
    c = random_gf2_circuit(16, 80, 8, 4)
    d = to_pyrtl(c, word_inputs=8, word_outputs=[3, 5], name="classifier 1")
    assert d.name == "classifier_1"
    assert [(w.name, len(w)) for w in d.inputs] == [("x0", 8), ("x1", 8)]
    assert [(w.name, len(w)) for w in d.outputs] == [("y0", 3), ("y1", 5)]
    X = rows(2, 16, 64, 2)
    np.testing.assert_array_equal(simulate(d, X), ints(c.evaluate(X)))
    named = to_pyrtl(c, input_names=[f"pix{i}" for i in range(16)], output_names=[f"c{j}" for j in range(8)])
    assert named.input_names[3] == "pix3" and named.output_names[7] == "c7"
    np.testing.assert_array_equal(simulate(named, X), ints(c.evaluate(X)))
    with pytest.raises(ValueError, match="reserved"):
        to_pyrtl(c, input_names=["clk"] + [f"a{i}" for i in range(15)])
    with pytest.raises(ValueError, match="GF\\(2\\) wires"):
        to_pyrtl(Circuit.generator(GF(4), "mul"), word_inputs=2)


def test_port_packing_round_trip():
    c = random_gf2_circuit(10, 20, 7, 5)
    lay = PortLayout.make(c, word_inputs=[4, 6], word_outputs=3)
    X = rows(2, 10, 5, 0)
    v = lay.pack_inputs(X)
    assert v[0][0] == sum(int(X[0, i]) << i for i in range(4))
    Y = rows(2, 7, 5, 1)
    vals = [[sum(int(Y[r, i]) << k for k, i in enumerate(p.index)) for r in range(5)] for p in lay.outputs]
    np.testing.assert_array_equal(lay.unpack_outputs(vals, 7), Y)


def test_verilog_identifiers():
    assert verilog_identifier("R[mnist] 3-layer") == "R_mnist_3_layer"
    assert verilog_identifier("2bit") == "m_2bit"
    assert verilog_identifier("module") == "module_"
    assert verilog_identifier("") == "model"


def test_nand_is_written_without_pyrtls_nand_primitive():
    c = Circuit.generator(F2, "nand", n=3)
    d = to_pyrtl(c)
    assert "n" not in {n.op for n in d.block.logic}
    text = verilog_text(d)
    assert "assign y0 = ~((x0 & x3));" in text


def test_hardware_rule_registry_and_definition_fallback():
    c = trace(F2, 3, lambda a, b, s: [MAJ(a, b, s)] + HALF(a, b))
    X = np.array(list(itertools.product([0, 1], repeat=3)))
    fallback = to_pyrtl(c)  # MAJ and HALF expanded through their definitions
    np.testing.assert_array_equal(simulate(fallback, X), ints(c.evaluate(X)))
    try:
        register_hardware_rule("maj", lambda ar, xs: [(xs[0] & xs[1]) | (xs[0] & xs[2]) | (xs[1] & xs[2])], gen=MAJ)
        ruled = to_pyrtl(c)
        assert {n.op for n in ruled.block.logic} >= {"|"}  # the rule's OR gates, not the definition's XORs
        np.testing.assert_array_equal(simulate(ruled, X), ints(c.evaluate(X)))
    finally:
        HARDWARE_RULES["maj"].pop(0)


# -- other fields, exhaustively ------------------------------------------------------------------------

SMALL_FIELDS = [3, 4, 5, 7, 8, 9, 16]


@pytest.mark.parametrize("q", SMALL_FIELDS)
def test_small_fields_exhaustively(q):
    F = GF(q)
    for name in ("add", "mul", "neg"):
        c = Circuit.generator(F, name)
        X = np.array(list(itertools.product(range(q), repeat=c.n_inputs)))
        np.testing.assert_array_equal(simulate(to_pyrtl(c), X), ints(c.evaluate(X)), err_msg=f"{name} GF({q})")
    k1, k2, k3 = 2 % q, q - 1, 3 % q
    c = trace(F, 2, lambda x, y: [x * y + k1 * x + y * y * y - k2, x - y, (x + k2) * (y + k3) * k1, k3 * y])
    c = c @ Circuit.constant(F, [0, 1, q - 1])
    X = np.array(list(itertools.product(range(q), repeat=2)))
    d = to_pyrtl(c)
    assert all(len(w) == F.bits for w in d.inputs + d.outputs)
    np.testing.assert_array_equal(simulate(d, X), ints(c.evaluate(X)))


def test_boolean_gates_over_other_fields_use_their_definitions():
    F = GF(5)
    c = trace(F, 3, lambda s, x, y: [BOOLEAN_GATES["or"](x, y), BOOLEAN_GATES["mux"](s, x, y),
                                      BOOLEAN_GATES["nand"](x, y)])
    X = np.array(list(itertools.product(range(5), repeat=3)))
    np.testing.assert_array_equal(simulate(to_pyrtl(c), X), ints(c.evaluate(X)))


def test_a_larger_gf2m_circuit():
    F = GF(2**8)
    c = trace(F, 3, lambda a, b, s: [a * b + 29 * s, (a + 7) ** 3 * b, s * s + a])
    X = rows(256, 3, 200, 7)
    np.testing.assert_array_equal(simulate(to_pyrtl(c), X), ints(c.evaluate(X)))


# -- BLIF and CNF -------------------------------------------------------------------------------------

def simulate_blif(text: str, X) -> np.ndarray:
    """A small BLIF reader and simulator (independent of paralens' writer): .inputs, .outputs,
    .names with ON-set cubes, evaluated in file order after a topological sort."""
    lines = [s.split("#")[0].strip() for s in text.splitlines()]
    lines = [s for s in lines if s]
    ins, outs, tables, cur = [], [], [], None
    for s in lines:
        if s.startswith(".inputs"):
            ins += s.split()[1:]
        elif s.startswith(".outputs"):
            outs += s.split()[1:]
        elif s.startswith(".names"):
            names = s.split()[1:]
            cur = (names[:-1], names[-1], [])
            tables.append(cur)
        elif s.startswith(".model") or s.startswith(".end"):
            cur = None
        else:
            cube, val = (s.split() + [""])[:2] if " " in s else ("", s)
            assert val == "1", s
            cur[2].append(cube)
    vals = [{n: int(v) for n, v in zip(ins, row)} for row in X]
    pending = list(tables)
    while pending:
        progress = []
        for t in pending:
            srcs, dst, cubes = t
            if all(s in vals[0] for s in srcs):
                for env in vals:
                    bits = "".join(str(env[s]) for s in srcs)
                    env[dst] = int(any(all(c == "-" or c == b for c, b in zip(cube, bits)) for cube in cubes)) \
                        if srcs else int(bool(cubes))
                progress.append(t)
        assert progress, "a cycle in the BLIF"
        pending = [t for t in pending if t not in progress]
    return np.array([[env[o] for o in outs] for env in vals], dtype=np.int64)


def test_blif_round_trip():
    c = random_gf2_circuit(12, 150, 8, 6)
    buf = io.StringIO()
    write_blif(c, buf, model="rand")
    text = buf.getvalue()
    assert text.startswith("#") and ".model rand" in text and text.rstrip().endswith(".end")
    X = rows(2, 12, 128, 3)
    np.testing.assert_array_equal(simulate_blif(text, X), ints(c.evaluate(X)))


def solve(n_vars: int, clauses: list) -> dict | None:
    """A tiny DPLL SAT solver (unit propagation, then branching); a model or None."""
    def propagate(cls, assign):
        while True:
            unit = None
            new = []
            for cl in cls:
                if any(assign.get(abs(v)) == (v > 0) for v in cl):
                    continue
                rest = [v for v in cl if abs(v) not in assign]
                if not rest:
                    return None
                if len(rest) == 1:
                    unit = rest[0]
                new.append(rest)
            if unit is None:
                return new
            assign[abs(unit)] = unit > 0
            cls = new

    def dpll(cls, assign):
        cls = propagate(cls, assign)
        if cls is None:
            return None
        if not cls:
            return assign
        v = abs(cls[0][0])
        for val in (True, False):
            a = dict(assign)
            a[v] = val
            r = dpll(cls, a)
            if r is not None:
                return r
        return None

    return dpll([list(c) for c in clauses], {})


def test_cnf_tseitin_encoding():
    c = random_gf2_circuit(10, 90, 6, 8)
    buf = io.StringIO()
    enc = write_cnf(c, buf)
    text = buf.getvalue()
    assert f"p cnf {enc['n_vars']} {len(enc['clauses'])}" in text
    assert "c input 0 1" in text and f"c output 0 {enc['outputs'][0]}" in text
    # parse it back from the text
    clauses = [[int(t) for t in s.split()[:-1]] for s in text.splitlines() if s and s[0] not in "cp"]
    assert clauses == enc["clauses"]
    X = rows(2, 10, 12, 4)
    Y = ints(c.evaluate(X))
    for x, y in zip(X, Y):
        units = [[v if b else -v] for v, b in zip(enc["inputs"], x)]
        model = solve(enc["n_vars"], clauses + units)
        assert model is not None
        assert [int(model.get(v, False)) for v in enc["outputs"]] == y.tolist()
        fixed = [[v if b else -v] for v, b in zip(enc["outputs"], y)]
        assert solve(enc["n_vars"], clauses + units + fixed) is not None
        j = int(np.random.default_rng(int(x.sum())).integers(len(y)))
        flipped = list(fixed)
        v = enc["outputs"][j]
        flipped[j] = [-v if y[j] else v]
        assert solve(enc["n_vars"], clauses + units + flipped) is None


def test_every_gate_kind_has_correct_tseitin_clauses():
    for name in BOOLEAN_GATES:
        c = Circuit.generator(F2, name) @ Circuit.constant(F2, [0, 1])
        enc = cnf_clauses(c)
        for x in itertools.product([0, 1], repeat=c.n_inputs):
            y = ints(c.evaluate([list(x)]))[0]
            units = [[v if b else -v] for v, b in zip(enc["inputs"], x)]
            bad = [[-v if b else v] for v, b in zip(enc["outputs"][:1], y[:1])]
            assert solve(enc["n_vars"], enc["clauses"] + units) is not None
            assert solve(enc["n_vars"], enc["clauses"] + units + bad) is None, (name, x)


def test_gate_level_verilog_text():
    c = random_gf2_circuit(6, 30, 3, 9)
    buf = io.StringIO()
    mod = write_gate_verilog(c, buf, "gates")
    text = buf.getvalue()
    assert mod == "gates" and "module gates(x0," in text and "clk" not in text  # combinational: no clock
    assert text.count("assign n") == len(gf2_netlist(c).gates)


# -- statistics ----------------------------------------------------------------------------------------

def test_hardware_stats_without_yosys():
    c = random_gf2_circuit(16, 200, 8, 12)
    s = hardware_stats(c, yosys=False)
    assert s["gates"] == c.n_gates and s["depth"] == c.depth() and s["by_kind"] == c.stats()["by_kind"]
    assert s["pyrtl_nets"] > 0 and s["max_delay_ps"] > 0 and s["max_freq_mhz"] > 0
    assert s["area_mm2"]["logic"] > 0 and "yosys" not in s
    assert "area_mm2" not in hardware_stats(c, yosys=False, area=False)


# -- the learner as hardware -------------------------------------------------------------------------

def learner_reference(c, n_params, init, X, Y):
    """paralens' own learning code, batch size 1: Learner(parametric(c), xor loss, RDA update)."""
    from paralens.circuits import parametric
    from paralens.learning import learning_rates, losses, optimisers
    from paralens.learning.supervised import Learner

    model = parametric(c, params={"w": n_params})
    learner = Learner(model, losses.xor(c.n_outputs), optimisers.gradient_update(modulus=2),
                      learning_rates.identity())
    state = learner.init(0, dtype="int64", params={"w": np.asarray(init, dtype=np.int64)})
    hist = []
    for x, y in zip(X, Y):
        state, _ = learner.step(state, x[None], y[None])
        hist.append(np.asarray(state.params["w"], dtype=np.int64).copy())
    return np.array(hist)


def test_learner_on_a_lookup_table():
    c = trace(F2, 6, lut2)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (40, 2))
    table = np.array([1, 0, 0, 1])  # xnor
    Y = table[X[:, 0] + 2 * X[:, 1]][:, None]
    init = [0, 1, 1, 0]
    d = rda_learner(c, 4, init_params=init, name="lut2")
    assert d.meta["forward_shared"] and not d.is_combinational
    params, preds = simulate_learner(d, X, Y, return_predictions=True)
    ref = rda_reference(c, 4, init, X, Y)
    np.testing.assert_array_equal(params, ref)
    np.testing.assert_array_equal(params, learner_reference(c, 4, init, X, Y))
    np.testing.assert_array_equal(params[-1], table)  # the LUT learned the table
    # predictions are made with the parameters before each step
    before = np.vstack([init, params[:-1]])
    want = np.array([ints(c.evaluate([list(p) + list(x)]))[0] for p, x in zip(before, X)])
    np.testing.assert_array_equal(preds, want)
    # another start, without rebuilding
    np.testing.assert_array_equal(simulate_learner(d, X, Y, init_params=[1, 1, 1, 1]),
                                  rda_reference(c, 4, [1, 1, 1, 1], X, Y))


def test_learner_on_a_random_gate_network():
    n_params, n_data = 8, 6
    c = random_gf2_circuit(n_params + n_data, 70, 3, 21, user_gates=True)
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (48, n_data))
    Y = rng.integers(0, 2, (48, 3))
    init = rng.integers(0, 2, n_params)
    d = rda_learner(c, n_params, init_params=init)
    params = simulate_learner(d, X, Y)
    ref = rda_reference(c, n_params, init, X, Y)
    assert len({tuple(p) for p in ref}) > 1, "the reference never moved: a vacuous test"
    np.testing.assert_array_equal(params, ref)
    np.testing.assert_array_equal(params, learner_reference(c, n_params, init, X, Y))


def test_learner_rejects_bad_arguments():
    c = trace(F2, 6, lut2)
    with pytest.raises(ValueError, match="4 bits"):
        rda_learner(c, 4, init_params=[0, 1])
    with pytest.raises(ValueError, match="GF\\(2\\)"):
        rda_learner(Circuit.generator(GF(3), "mul"), 1, init_params=[0])
