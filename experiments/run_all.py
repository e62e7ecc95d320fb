"""Every experiment, one after the other, with the wall-clock time of each.

    python experiments/run_all.py [--quick] [--only rda_table1,boolean_vs_real] [--out DIR]

Runs each experiment script's ``main`` in this process (in the order below) and
writes ``results/run_all.json`` and ``run_all.md``: the seconds of each and the
total, with the machine's core count and load average, so the figure "the whole
set in N minutes" can be regenerated.  ``accuracy_vs_gates`` reuses the MNIST runs
that ``boolean_vs_real`` has just made with the same recipes (``--reuse``).  ``--quick`` runs the reduced modes
(``run_all_quick.*``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from paralens.files import atomic_write

RESULTS = Path(__file__).resolve().parent / "results"
EXPERIMENTS = ("rda_table1", "polycirc_iris", "vote_vs_rda", "boolean_vs_real", "accuracy_vs_gates", "tabular")


def _load(name: str):
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # as a script, the repository root is not on the path
        sys.path.insert(0, root)
    return importlib.import_module(f"experiments.{name}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="each experiment's --quick mode")
    ap.add_argument("--only", default=",".join(EXPERIMENTS), help="comma-separated experiments")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(EXPERIMENTS))
    if unknown:
        ap.error(f"unknown experiments {unknown}; choose from {', '.join(EXPERIMENTS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, t_all = [], time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        extra = []
        if name == "accuracy_vs_gates" and not args.quick and "boolean_vs_real" in names:
            extra = ["--reuse", str(out / "boolean_vs_real.json")]  # its MNIST runs are points of the curves
        where = [] if out.resolve() == RESULTS.resolve() else ["--out", str(out)]  # commands printed as typed
        rc = _load(name).main((["--quick"] if args.quick else []) + where + extra)
        rows.append({"experiment": name, "seconds": time.perf_counter() - t0, "returncode": rc})
        print(f"== {name}: {rows[-1]['seconds']:.0f} s", flush=True)
        if rc:
            break
    total = time.perf_counter() - t_all
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result = {"experiment": "run_all", "quick": args.quick, "rows": rows, "seconds": total,
              "cpus": os.cpu_count(), "load_average": load, "python": platform.python_version()}
    stem = "run_all_quick" if args.quick else "run_all"
    atomic_write(out / f"{stem}.json", json.dumps(result, indent=1))
    md = ["# The whole experiment set", "", f"Command: `python experiments/run_all.py{' --quick' if args.quick else ''}`"
          f" on {os.cpu_count()} cores (load average at the end: "
          f"{', '.join(f'{x:.1f}' for x in load) if load else 'n/a'}).", "",
          "| experiment | seconds |", "|---|---|"]
    md += [f"| {r['experiment']} | {r['seconds']:.0f} |" for r in rows]
    md += [f"| **all** | **{total:.0f}** ({total / 60:.1f} min) |"]
    atomic_write(out / f"{stem}.md", "\n".join(md) + "\n")
    print(f"wrote {out / stem}.json and .md: {total:.0f} s in all")
    return max((r["returncode"] or 0 for r in rows), default=0)


if __name__ == "__main__":
    raise SystemExit(main())
