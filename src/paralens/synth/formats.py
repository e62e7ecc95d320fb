"""GF(2) circuits in the interchange formats of logic synthesis and SAT: BLIF and DIMACS CNF.

Both are written from :func:`~paralens.synth.netlist.gf2_netlist` (single Boolean
gates), independently of PyRTL.

* :func:`write_blif`: ``.model``, ``.inputs``, ``.outputs``, one ``.names`` per
  gate with its ON-set cubes, a buffer ``.names`` per output.  Checked by Yosys
  (``read_blif``, then equivalence with the PyRTL Verilog export) and by a BLIF
  simulator in the tests.
* :func:`write_cnf`: the Tseitin encoding (one variable per net, clauses saying
  each gate's output equals its function) in DIMACS, with comment lines mapping
  circuit inputs and outputs to variables.  Fixing the inputs by unit clauses
  leaves exactly one model, the circuit's outputs.
"""

from __future__ import annotations

from paralens.synth.netlist import VOCABULARY, gf2_netlist, minterms, verilog_identifier
from paralens.synth.verilog import opened


def _port_names(circuit, input_names, output_names):
    ins = [verilog_identifier(s) for s in input_names] if input_names else [f"x{i}" for i in range(circuit.n_inputs)]
    outs = [verilog_identifier(s) for s in output_names] if output_names else [f"y{j}" for j in range(circuit.n_outputs)]
    if len(ins) != circuit.n_inputs or len(outs) != circuit.n_outputs:
        raise ValueError("one name per input and per output")
    return ins, outs


def write_blif(circuit, path_or_file, *, model: str | None = None, input_names=None, output_names=None,
               clock: bool = False) -> str:
    """Write a GF(2) circuit as BLIF; returns the model name.

    Inputs ``x0 ..`` and outputs ``y0 ..`` (or the given names) as in :func:`~paralens.synth.to_pyrtl`,
    so that the ports line up with the Verilog export of the combinational design for a Yosys
    equivalence check (neither has a ``clk``: :func:`~paralens.synth.verilog.control_ports`);
    ``clock=True`` adds an unused ``clk`` input.  Constants are ``.names`` with the single cube ``1``
    (true) or no cube (false).
    """
    name = verilog_identifier(model or circuit.name or "model")
    net = gf2_netlist(circuit)
    ins, outs = _port_names(circuit, input_names, output_names)
    names = {i: ins[i] for i in range(circuit.n_inputs)}
    for _, o, _ in net.gates:
        names[o] = f"n{o}"
    with opened(path_or_file) as f:
        f.write(f"# {circuit.label()} over GF(2), written by paralens: {len(net.gates)} gates\n")
        f.write(f".model {name}\n")
        f.write(".inputs " + " ".join((["clk"] if clock else []) + ins) + "\n")
        f.write(".outputs " + " ".join(outs) + "\n")
        for kind, o, a in net.gates:
            f.write(".names " + " ".join([names[i] for i in a] + [names[o]]) + "\n")
            for row in minterms(VOCABULARY[kind]):  # the ON-set, from the kind's truth table
                f.write("".join(map(str, row)) + (" " if row else "") + "1\n")
        for j, o in enumerate(net.outputs):
            f.write(f".names {names[o]} {outs[j]}\n1 1\n")
        f.write(".end\n")
    return name


def _tseitin(kind: str, o: int, a: tuple) -> list[list[int]]:
    """Clauses for ``o <-> kind(a)`` (DIMACS variables, positive), one per row of the kind's truth
    table: "the inputs are not this row, or ``o`` is its value"."""
    k = VOCABULARY[kind]
    n = len(a)
    out = []
    for r, v in enumerate(k.truth):
        bits = [(r >> (n - 1 - i)) & 1 for i in range(n)]
        out.append([-x if b else x for x, b in zip(a, bits)] + [o if v else -o])
    return out


def cnf_clauses(circuit) -> dict:
    """The Tseitin encoding of a GF(2) circuit: ``{"n_vars", "clauses", "inputs", "outputs"}``
    (``inputs[i]`` / ``outputs[j]``: the DIMACS variable of circuit input ``i`` / output ``j``)."""
    net = gf2_netlist(circuit)
    clauses = []
    for kind, o, a in net.gates:
        clauses += _tseitin(kind, o + 1, tuple(i + 1 for i in a))
    return {"n_vars": net.n_nets, "clauses": clauses, "inputs": list(range(1, circuit.n_inputs + 1)),
            "outputs": [o + 1 for o in net.outputs]}


def write_cnf(circuit, path_or_file) -> dict:
    """Write the Tseitin encoding of a GF(2) circuit in DIMACS CNF; returns :func:`cnf_clauses`.

    The header comments name the variables: ``c input I V`` (circuit input ``I`` is variable
    ``V``) and ``c output J V``.  Every assignment of the inputs extends to exactly one model,
    whose output variables are the circuit's outputs; checked in the tests by a small DPLL
    solver (satisfiable with the outputs fixed to ``circuit.evaluate``, unsatisfiable with one
    output flipped).
    """
    enc = cnf_clauses(circuit)
    with opened(path_or_file) as f:
        f.write(f"c {circuit.label()} over GF(2): Tseitin encoding written by paralens\n")
        for i, v in enumerate(enc["inputs"]):
            f.write(f"c input {i} {v}\n")
        for j, v in enumerate(enc["outputs"]):
            f.write(f"c output {j} {v}\n")
        f.write(f"p cnf {enc['n_vars']} {len(enc['clauses'])}\n")
        for cl in enc["clauses"]:
            f.write(" ".join(map(str, cl)) + " 0\n")
    return enc
