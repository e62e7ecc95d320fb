"""MNIST test accuracy against gate count, one curve per training method, real baselines as lines.

    python experiments/accuracy_vs_gates.py [--quick]

Curves: relaxed-then-hardened gate networks (:mod:`paralens.circuits.gatenet`,
the ``mnist-gates`` recipe at several widths) and the vote optimiser on layers of
learned 8-input lookup tables (the ``mnist-vote`` recipe with 16 to 128 tables per class); the
gate count is the hardened circuit's two-input-gate equivalents.  Horizontal
lines: logistic regression, an MLP and a small CNN trained by paralens' real
backend on the same split.  Writes ``experiments/results/accuracy_vs_gates.json``,
``.md`` and ``accuracy_vs_gates.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _gate_points(widths_list, epochs, seeds, quick):
    from paralens.circuits.classifier import two_input_equivalents
    from paralens.circuits.gatenet import mnist_gates_config, run_gates

    pts = []
    for widths in widths_list:
        for seed in seeds:
            cfg = mnist_gates_config().with_(widths=tuple(widths), epochs=epochs, seed=seed, augment_copies=0)
            t0 = time.perf_counter()
            circuit, info = run_gates(cfg)
            pts.append({"method": "relaxed gate network", "widths": list(widths), "seed": seed,
                        "gates": two_input_equivalents(circuit), "test_accuracy": info["hardened_test_accuracy"],
                        "relaxed_test_accuracy": info["relaxed_test_accuracy"],
                        "train_seconds": time.perf_counter() - t0})
            print(pts[-1], flush=True)
    return pts


def _vote_points(sizes, seeds, quick):
    from paralens.circuits.presets import train_preset

    pts = []
    for per_class in sizes:
        for seed in seeds:
            clf, res = train_preset("mnist-vote", seed=seed, model_options={"per_class": per_class})
            pts.append({"method": "vote optimiser (LUT8 layer)", "size": per_class, "seed": seed,
                        "gates": clf.gates, "test_accuracy": res["test_accuracy"], "train_seconds": res["seconds"]})
            print(pts[-1], flush=True)
    return pts


def _baselines(quick):
    from paralens.compare import _real, load_split

    split = load_split("mnist")
    out = {}
    for kind, epochs in (("logistic", 20), ("mlp", 20), ("cnn", 8)):
        r = _real(split, 0, kind=kind, epochs=2 if quick else epochs)
        out[kind] = {"test_accuracy": r["test_accuracy"], "params": r["gates_or_params"], "epochs": epochs}
        print(kind, out[kind], flush=True)
    return out


def _mean(points, key="gates"):
    groups = {}
    for p in points:
        groups.setdefault((p["method"], str(p.get("widths", p.get("size")))), []).append(p)
    rows = []
    for (method, _), ps in groups.items():
        import numpy as np

        acc = np.array([p["test_accuracy"] for p in ps])
        rows.append({"method": method, "gates": float(np.mean([p[key] for p in ps])), "test_accuracy": float(acc.mean()),
                     "test_accuracy_std": float(acc.std()), "seeds": [p["seed"] for p in ps],
                     "train_seconds": float(np.mean([p["train_seconds"] for p in ps]))})
    return sorted(rows, key=lambda r: (r["method"], r["gates"]))


def plot(rows, baselines, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method in sorted({r["method"] for r in rows}):
        rs = [r for r in rows if r["method"] == method]
        ax.errorbar([r["gates"] for r in rs], [100 * r["test_accuracy"] for r in rs],
                    yerr=[100 * r["test_accuracy_std"] for r in rs], marker="o", capsize=3, label=method)
    styles = {"logistic": ":", "mlp": "--", "cnn": "-."}
    for kind, b in baselines.items():
        ax.axhline(100 * b["test_accuracy"], color="grey", linestyle=styles.get(kind, "-"),
                   label=f"{kind} (real, {b['params']:,} params): {100 * b['test_accuracy']:.1f}%")
    ax.set_xscale("log")
    ax.set_xlabel("gates (two-input equivalents, hardened circuit)")
    ax.set_ylabel("MNIST test accuracy (%), bundled 2,000 digits")
    ax.set_title("Boolean classifiers vs real-valued baselines (paralens)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny networks, one epoch, one seed")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = tuple(range(args.seeds if args.seeds is not None else 1))
    t0 = time.perf_counter()
    if args.quick:
        widths_list, epochs, vote_sizes = [(200, 200, 200, 200), (400, 400, 400, 400)], 1, [4]
    else:
        widths_list, epochs, vote_sizes = [(1000,) * 4, (2000,) * 4, (4000,) * 4, (8000,) * 4, (16000,) * 4], 10, \
            [16, 32, 64, 128]
    points = _gate_points(widths_list, epochs, seeds, args.quick) + _vote_points(vote_sizes, seeds, args.quick)
    rows = _mean(points)
    baselines = _baselines(args.quick)
    png = out / ("accuracy_vs_gates_quick.png" if args.quick else "accuracy_vs_gates.png")
    plot(rows, baselines, png)
    result = {"experiment": "accuracy_vs_gates", "quick": args.quick, "seeds": list(seeds), "points": points,
              "curves": rows, "baselines": baselines, "seconds": time.perf_counter() - t0, "plot": png.name}
    stem = "accuracy_vs_gates_quick" if args.quick else "accuracy_vs_gates"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    md = ["# MNIST accuracy against gates", "", f"Command: `python experiments/accuracy_vs_gates.py"
          f"{' --quick' if args.quick else ''}`", "", "| method | gates | test acc. (%) | train s |", "|---|---|---|---|"]
    md += [f"| {r['method']} | {r['gates']:,.0f} | {100 * r['test_accuracy']:.1f} ± {100 * r['test_accuracy_std']:.1f} "
           f"| {r['train_seconds']:.0f} |" for r in rows]
    md += ["", "| real baseline | params | test acc. (%) |", "|---|---|---|"]
    md += [f"| {k} | {b['params']:,} | {100 * b['test_accuracy']:.1f} |" for k, b in baselines.items()]
    (out / f"{stem}.md").write_text("\n".join(md) + "\n")
    print(f"wrote {out / stem}.json, .md and {png.name} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
