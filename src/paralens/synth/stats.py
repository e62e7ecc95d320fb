"""Hardware statistics of a circuit: gates, depth, PyRTL area and timing, Yosys cells and LUTs."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path


def hardware_stats(circuit_or_design, *, area: bool = True, timing: bool = True, yosys: bool | None = None,
                   ice40: bool = False, tech_in_nm: float = 130) -> dict:
    """Statistics of a circuit (or its design) as hardware.

    * ``gates`` (by kind), ``depth``, ``inputs``, ``outputs``: from the circuit;
    * ``pyrtl_nets`` and ``pyrtl_ops`` (PyRTL logic nets by operator);
    * ``timing=True``: ``max_delay_ps`` and ``max_freq_mhz`` from ``pyrtl.TimingAnalysis``;
    * ``area=True``: ``area_mm2`` (logic, memory) from ``pyrtl.area_estimation`` at ``tech_in_nm``
      (turn it off for very large designs);
    * ``yosys=True`` (``None``: when Yosys is installed): ``yosys`` = :func:`~paralens.synth.synth_stats`
      of the PyRTL Verilog export (``cells``, ``lut6``, ``lut4``, with ``ice40``: ``ice40_lut4``), with
      ABC's fast scripts for circuits above :data:`~paralens.synth.yosys.FAST_ABOVE` gates.
    """
    import pyrtl

    from paralens.synth.pyrtl_design import Design, to_pyrtl

    d = circuit_or_design if isinstance(circuit_or_design, Design) else to_pyrtl(circuit_or_design)
    c = d.circuit
    st = c.stats()
    res = {
        "name": d.name,
        "field": st["field"],
        "inputs": st["inputs"],
        "outputs": st["outputs"],
        "gates": st["gates"],
        "by_kind": st["by_kind"],
        "constants": st["constants"],
        "depth": st["depth"],
        "registers": sum(len(r) for r in d.registers),
        "pyrtl_nets": len(d.block.logic),
        "pyrtl_ops": dict(Counter(net.op for net in d.block.logic)),
    }
    if timing:
        t0 = time.perf_counter()
        ta = pyrtl.TimingAnalysis(block=d.block)
        res["max_delay_ps"] = float(ta.max_length())
        res["max_freq_mhz"] = float(ta.max_freq())
        res["timing_seconds"] = time.perf_counter() - t0
    if area:
        logic, mem = pyrtl.area_estimation(tech_in_nm=tech_in_nm, block=d.block)
        res["area_mm2"] = {"logic": float(logic), "memory": float(mem), "tech_nm": tech_in_nm}
    from paralens.synth.yosys import abc_effort, synth_stats, yosys_available

    if yosys is None:
        yosys = yosys_available()
    if yosys:
        from paralens.synth.verilog import to_verilog

        with tempfile.TemporaryDirectory(prefix="paralens_stats_") as tmp:
            v = Path(tmp, "design.v")
            top = to_verilog(d, v)
            res["yosys"] = synth_stats(v, top, ice40=ice40, effort=abc_effort(c.n_gates))
    return res
