"""Verilator: a second, compiling simulator for the testbenches of :mod:`paralens.synth.verilog`.

:func:`run_verilator` has :func:`~paralens.synth.verilog.run_icarus`'s contract: it builds the design
and the testbench (``verilator --binary --timing``, Verilator 5: the testbench's ``#`` delays run as
written), runs the program in the testbench's folder with ``plusargs`` and returns the lines the
testbench printed, exactly (Verilator's own ``$finish`` notice removed); :class:`ToolNotFound` when
Verilator 5 is not installed, :class:`ToolFailed` when the build fails or the run exits non-zero or
prints an ``%Error`` line (a ``$fatal``).  :func:`paralens.synth.verilog.run_testbench` runs either
simulator by name.

The testbenches are two-state safe (a short vector file is found without ``x`` values), so the same
file gives the same lines in both; tested on the parallel and stream forms.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from paralens.errors import ToolFailed, ToolNotFound
from paralens.synth.tools import run_tool

_FINISH = re.compile(r"^- .+:\d+: Verilog \$finish$")
_ERROR = re.compile(r"^(\[\d+\] )?%Error")


def verilator_version() -> tuple[int, int] | None:
    """Verilator's ``(major, minor)`` version, or None when it is not on the PATH."""
    if shutil.which("verilator") is None:
        return None
    r = run_tool(["verilator", "--version"], 60)
    m = re.search(r"Verilator (\d+)\.(\d+)", r.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else None


def verilator_available() -> bool:
    """Whether Verilator 5 or newer (``--binary --timing``) is on the PATH."""
    v = verilator_version()
    return v is not None and v >= (5, 0)


def _top_module(tb_path: Path) -> str:
    m = re.search(r"^\s*module\s+(\w+)", tb_path.read_text(), flags=re.M)
    if not m:
        raise ToolFailed(f"{tb_path} declares no module")
    return m.group(1)


def build_verilator(verilog_path, tb_path, out_dir, *, timeout: float = 1800, extra_files=(), jobs: int = 2,
                    opt: str = "-O1") -> Path:
    """Build the simulation program of ``verilog_path`` and the testbench in ``out_dir``; returns its path.
    ``opt``: the C++ compiler's optimisation flag (``-O1`` builds large netlists several times faster than
    ``-O3`` and runs them nearly as fast)."""
    if not verilator_available():
        raise ToolNotFound("Verilator 5 is not installed: apt-get install verilator")
    tb_path = Path(tb_path).resolve()
    srcs = [str(Path(verilog_path).resolve()), str(tb_path)] + [str(Path(p).resolve()) for p in extra_files]
    cmd = ["verilator", "--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module",
           _top_module(tb_path), "-Mdir", str(out_dir), "-o", "sim", "-j", str(int(jobs)),
           "-CFLAGS", opt, *srcs]
    r = run_tool(cmd, timeout)
    exe = Path(out_dir, "sim")
    if r.returncode != 0 or not exe.exists():
        tail = "\n".join((r.stdout + r.stderr).splitlines()[-30:])
        raise ToolFailed(f"verilator failed ({r.returncode}):\n{tail}")
    return exe


def run_built(exe, tb_path, *, timeout: float = 600, plusargs=()) -> list[str]:
    """Run a program of :func:`build_verilator` in the testbench's folder; the printed lines."""
    r = run_tool([str(exe), *map(str, plusargs)], timeout, cwd=Path(tb_path).resolve().parent)
    out = r.stdout + r.stderr
    bad = [s.strip() for s in out.splitlines() if _ERROR.match(s.strip())]
    if r.returncode != 0 or bad:
        tail = "\n".join(out.splitlines()[-20:])
        raise ToolFailed(f"the Verilator simulation of {Path(tb_path).name} failed (exit {r.returncode}): "
                         f"{'; '.join(bad[:3]) or 'no error line'}\n{tail}")
    return [line for line in r.stdout.splitlines() if not _FINISH.match(line.strip())]


def run_verilator(verilog_path, tb_path, *, timeout: float = 1800, extra_files=(), plusargs=(),
                  timings: dict | None = None) -> list[str]:
    """Build with Verilator and run the testbench (see the module); the lines it printed.  ``timings``
    (a dict) receives ``compile_seconds`` and ``run_seconds``."""
    with tempfile.TemporaryDirectory(prefix="paralens_verilator_") as tmp:
        t0 = time.perf_counter()
        exe = build_verilator(verilog_path, tb_path, os.path.join(tmp, "obj"), timeout=timeout,
                              extra_files=extra_files)
        t1 = time.perf_counter()
        lines = run_built(exe, tb_path, timeout=timeout, plusargs=plusargs)
        if timings is not None:
            timings.update(compile_seconds=t1 - t0, run_seconds=time.perf_counter() - t1)
    return lines


__all__ = ["build_verilator", "run_built", "run_verilator", "verilator_available",
           "verilator_version"]
