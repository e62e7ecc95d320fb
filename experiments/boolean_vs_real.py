"""Boolean classifiers against real-valued baselines on Iris, breast cancer and MNIST.

    python experiments/boolean_vs_real.py [--quick] [--datasets iris,breast-cancer,mnist] [--seeds 3]

For each data set, every method of :mod:`paralens.compare` (reverse derivative
ascent, the vote optimiser, relaxed-then-hardened gate networks at three sizes;
logistic regression, an MLP and, for MNIST, a small CNN, all trained by paralens'
own real-valued lenses) runs on the same split for several seeds.  Writes
``experiments/results/boolean_vs_real.json`` (rows with the seeds) and
``boolean_vs_real.md`` (one Markdown table per data set).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from paralens.files import atomic_write

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small networks, few epochs, one seed")
    ap.add_argument("--datasets", default="iris,breast-cancer,mnist")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0 .. N-1 (default 3; 1 with --quick)")
    ap.add_argument("--hardware", action="store_true", help="LUT6 counts through Yosys (slow the first time)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    from paralens.compare import compare, markdown

    seeds = tuple(range(args.seeds if args.seeds is not None else (1 if args.quick else 3)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tables, md = {}, ["# Boolean classifiers against real-valued baselines", "",
                      f"Command: `python experiments/boolean_vs_real.py{' --quick' if args.quick else ''}`; "
                      f"mean ± spread (standard deviation) over seeds {list(seeds)}.", ""]
    for name in args.datasets.split(","):
        table = compare(name, seeds=seeds, quick=args.quick, hardware=args.hardware, progress=True)
        tables[name] = table
        md += [f"## {name}", "", markdown(table), ""]
        print(f"\n{name}\n{markdown(table)}", flush=True)
    result = {"experiment": "boolean_vs_real", "quick": args.quick, "seeds": list(seeds), "tables": tables,
              "seconds": time.perf_counter() - t0}
    atomic_write(out / "boolean_vs_real.json", json.dumps(result, indent=1))
    atomic_write(out / "boolean_vs_real.md", "\n".join(md))
    print(f"wrote {out / 'boolean_vs_real.json'} and .md in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
