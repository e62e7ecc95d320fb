"""Simulating PyRTL designs of circuits.

:func:`simulate` feeds one input vector per clock step to PyRTL's simulators and
reads the outputs back as circuit outputs.  ``simulator="auto"`` uses
``pyrtl.CompiledSimulation`` (the design compiled to C and run for the whole
batch in one call) when a C compiler works here and the batch is large enough to
pay for the compilation, and ``pyrtl.FastSimulation`` (the design compiled to
Python) otherwise, or when compilation fails.
"""

from __future__ import annotations

import numpy as np

from paralens.synth.pyrtl_base import pyrtl_module

_COMPILED_BROKEN: list[str] = []  # the reason, once CompiledSimulation failed here


def input_rows(design, X):
    n = design.n_inputs
    X = np.asarray(X, dtype=object)
    if X.ndim == 1:
        X = X.reshape(1, -1) if n else X.reshape(-1, 0)
    if X.shape[1] != n:
        raise ValueError(f"{design.name} takes {n} inputs per row, got {X.shape[1]}")
    F = design.circuit.field
    if X.size and (min(X.reshape(-1)) < 0 or max(X.reshape(-1)) >= F.order):
        raise ValueError(f"inputs must be integers in 0 .. {F.order - 1} ({F.name})")
    return X


def port_steps(design, X) -> list[dict]:
    vals = design.ports.pack_inputs(X) if len(design.inputs) else []
    names = design.input_names
    return [{nm: int(v[r]) for nm, v in zip(names, vals)} for r in range(X.shape[0])]


def _run_compiled(design, steps, register_values, outs) -> dict[str, list[int]]:
    """All steps in one call of PyRTL's compiled C simulation.

    PyRTL 1.0.3's ``CompiledSimulation.run`` runs many steps correctly but copies only the first
    step's values into its trace (its read loop resets the offset each step), so the outputs are
    read from the C output array here; without those internals, one ``run`` call per step."""
    import ctypes

    pyrtl = pyrtl_module()
    tracer = pyrtl.SimulationTrace(wires_to_track=list(design.outputs), block=design.block)
    sim = pyrtl.CompiledSimulation(tracer=tracer, block=design.block, register_value_map=register_values)
    n = len(steps)
    try:
        il, ol = sim._inputs_array_length, sim._outputs_array_length
        imeta, ometa, run_all = sim._inputs_metadata, sim._outputs_metadata, sim._sim_run_all
    except AttributeError:  # pragma: no cover - other PyRTL versions
        res = {nm: [] for nm in outs}
        for s in steps:
            sim.run([s])
            for nm in outs:
                res[nm].append(int(tracer.trace[nm][-1]))
        return res
    mask = (1 << 64) - 1
    in_arr = (ctypes.c_uint64 * max(1, n * il))()
    out_arr = (ctypes.c_uint64 * max(1, n * ol))()
    run_all.argtypes = [ctypes.c_uint64, type(in_arr), type(out_arr)]
    for t, s in enumerate(steps):
        for nm, v in s.items():
            md = imeta[nm]
            v = int(v)
            for pos in range(md.start + t * il, md.start + t * il + md.length):
                in_arr[pos] = v & mask
                v >>= 64
    run_all(n, in_arr, out_arr)
    res = {}
    for nm in outs:
        md = ometa[nm]
        vals = []
        for t in range(n):
            v = 0
            for idx in reversed(range(md.start + t * ol, md.start + t * ol + md.length)):
                v = (v << 64) | out_arr[idx]
            vals.append(v)
        res[nm] = vals
    return res


def run_steps(design, steps: list[dict], *, simulator: str = "auto", register_values=None,
              watch=None) -> dict[str, list[int]]:
    """Run the design for ``len(steps)`` clock steps (``steps[t]``: input port name -> value) and
    return, for every output port (and every wire named in ``watch``), its value at each step
    (combinational values of that cycle: a register reads as its value *before* the edge).
    ``register_values`` maps registers to their initial values (default: their reset values)."""
    pyrtl = pyrtl_module()
    outs = design.output_names
    watch = list(watch or [])
    n = len(steps)
    if n == 0:
        return {nm: [] for nm in outs + watch}
    kind = simulator
    if kind == "auto":
        ops = design.n_logic()
        # measured here: FastSimulation ~ (0.6 ms + 0.25 us x nets) a step; compiling ~ 0.35 s + 0.9 ms x nets
        fast_s = n * (6e-4 + 2.5e-7 * ops)
        compiled_s = 0.35 + 9e-4 * ops
        kind = "compiled" if (not _COMPILED_BROKEN and not watch and compiled_s < 0.7 * fast_s) else "fast"
    if kind == "compiled":
        try:
            return _run_compiled(design, steps, register_values, outs)
        except Exception as e:  # no C compiler, or PyRTL cannot compile this design
            if simulator == "compiled" or watch:
                raise
            _COMPILED_BROKEN.append(f"{type(e).__name__}: {e}")
            kind = "fast"
    if kind == "fast":
        sim = pyrtl.FastSimulation(block=design.block, tracer=None, register_value_map=register_values)
    elif kind == "python":
        sim = pyrtl.Simulation(block=design.block, tracer=None, register_value_map=register_values)
    else:
        raise ValueError(f"simulator is 'auto', 'compiled', 'fast' or 'python', not {simulator!r}")
    res: dict[str, list[int]] = {nm: [] for nm in outs + watch}
    for s in steps:
        sim.step(s)
        for nm in outs + watch:
            res[nm].append(int(sim.inspect(nm)))
    return res


def simulate(design, X, *, simulator: str = "auto") -> np.ndarray:
    """Simulate a combinational or pipelined design on each row of ``X`` (``(batch, n_inputs)``
    integers, the circuit's inputs) and return the circuit's outputs ``(batch, n_outputs)`` (int64).

    One input vector per simulation step; the outputs are read back from the ``Output`` ports
    and unpacked into circuit outputs.  A pipelined design (``design.latency = L``, from
    ``to_pyrtl(..., pipeline=K)``) starts from its reset state, is fed one row per cycle and then
    ``L`` cycles of zeros to drain the pipeline; row ``r`` is read in cycle ``r + L``, so the
    result is aligned with the rows.  ``simulator``: ``"auto"``, ``"compiled"``
    (``pyrtl.CompiledSimulation``, needs a C compiler), ``"fast"`` (``pyrtl.FastSimulation``) or
    ``"python"`` (``pyrtl.Simulation``).  Checked against ``circuit.evaluate`` in the tests.
    """
    latency = getattr(design, "latency", None) or 0
    if not design.is_combinational and getattr(design, "latency", None) is None:
        raise ValueError(f"{design.name} has registers: use run_steps (or simulate_learner)")
    X = input_rows(design, X)
    steps = port_steps(design, X)
    if latency and X.shape[0]:
        steps += [{nm: 0 for nm in design.input_names}] * latency
    res = run_steps(design, steps, simulator=simulator)
    if not design.outputs:
        return np.zeros((X.shape[0], 0), dtype=np.int64)
    return design.ports.unpack_outputs([res[nm][latency:] for nm in design.output_names], design.n_outputs)


_port_steps = port_steps  # the name learner.py imports
