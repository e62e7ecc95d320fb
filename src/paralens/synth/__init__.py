"""Hardware: circuits as PyRTL designs, simulated, exported and checked by independent tools.

=================================  ==============================================================
``to_pyrtl(c)``                    a combinational PyRTL design in its own block (GF(2), GF(2^m),
                                   GF(p), small GF(p^m)); ``simulate(design, X)`` runs it;
                                   ``pipeline=K``: registers every K levels, ``design.latency``
``to_verilog(d, path)``            PyRTL's Verilog export; ``write_testbench`` + ``run_icarus``
                                   run it in Icarus Verilog
``run_verilator(v, tb)``            the same testbench in Verilator 5 (``run_testbench(..., simulator=)``)
``write_stream_verilog(plan, path)`` a streaming top level (bus, ``in_valid``, held bits, ``out_valid``)
``write_gate_verilog(c, path)``    paralens' own gate-level Verilog (GF(2)), for
                                   ``equivalence_check`` with Yosys against the PyRTL export
``synth_stats(path, top)``         Yosys cells, LUT6 and LUT4 counts
``hardware_stats(c)``              gates, depth, PyRTL timing and area, Yosys counts
``write_blif`` / ``write_cnf``     BLIF and Tseitin DIMACS CNF (GF(2))
``fpga.implement(v, top, dev, d)``  Yosys synth_ecp5/synth_ice40, nextpnr, a bitstream, the report
                                   and the routed netlist in Icarus (``paralens fpga``; paralens[fpga])
``rda_learner(c, n_params, ...)``  the learner as a synchronous design: reverse derivative ascent,
                                   one example per clock cycle; ``simulate_learner``
=================================  ==============================================================
"""

from paralens.synth.formats import cnf_clauses, write_blif, write_cnf
from paralens.synth.learner import rda_learner, rda_reference, simulate_learner
from paralens.synth.netlist import Netlist, PortLayout, gf2_netlist, verilog_identifier
from paralens.synth.pyrtl_design import HARDWARE_RULES, Design, arith_for, register_hardware_rule, to_pyrtl
from paralens.synth.simulation import run_steps, simulate
from paralens.synth.stats import hardware_stats
from paralens.synth.stream import StreamPlan, write_stream_testbench, write_stream_verilog
from paralens.synth.verilator import run_verilator, verilator_available
from paralens.synth.verilog import (
    ToolFailed,
    ToolNotFound,
    icarus_available,
    icarus_outputs,
    run_icarus,
    run_testbench,
    to_verilog,
    verilog_text,
    write_gate_verilog,
    write_testbench,
)
from paralens.synth.yosys import equivalence_check, find_yosys, synth_stats, yosys_available

__all__ = [
    "HARDWARE_RULES", "Design", "Netlist", "PortLayout", "StreamPlan", "ToolFailed", "ToolNotFound", "arith_for",
    "cnf_clauses", "equivalence_check", "find_yosys", "gf2_netlist", "hardware_stats", "icarus_available",
    "icarus_outputs", "rda_learner", "rda_reference", "register_hardware_rule", "run_icarus", "run_steps", "run_testbench", "run_verilator",
    "simulate", "simulate_learner", "synth_stats", "to_pyrtl", "to_verilog", "verilog_identifier",
    "verilator_available", "verilog_text", "write_blif", "write_cnf", "write_gate_verilog", "write_stream_testbench",
    "write_stream_verilog", "write_testbench", "yosys_available",
]
