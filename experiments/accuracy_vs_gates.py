"""MNIST test accuracy against gate count, one curve per training method, real baselines as lines.

    python experiments/accuracy_vs_gates.py [--quick] [--extend]

Curves: relaxed-then-hardened gate networks (:mod:`paralens.boolean.gatenet`,
the ``mnist-gates`` recipe at several widths), the same with learned connections (the
``mnist-gates-small`` recipe at several widths) and with logic-tree convolutions (the ``mnist-conv``
recipe at several widths), all without the shifted copies, and the vote optimiser on layers of
learned 8-input lookup tables (the ``mnist-vote`` recipe with 16 to 128 tables per class); the
gate count is the hardened circuit's two-input-gate equivalents.  Horizontal
lines: logistic regression, an MLP and a small CNN trained by paralens' real
backend on the same split.  Writes ``experiments/results/accuracy_vs_gates.json``,
``.md`` and ``accuracy_vs_gates.png``.

Each point is the mean over seeds 0, 1, 2 with the spread as error bars, where a run trains in
under a minute; a longer run is done once (as in ``paralens compare``).  ``--reuse
results/boolean_vs_real.json`` takes the runs that ``boolean_vs_real.py`` already made with the
same recipes (gate networks of 4 x 1,000, 4,000 and 16,000 gates, the vote optimiser with 128
LUT8 per class, the three baselines) instead of training them again; ``run_all.py`` does that,
and each reused point says so in the JSON (``"source"``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from paralens.files import atomic_output, atomic_write

RESULTS = Path(__file__).resolve().parent / "results"


SEED_LIMIT = 60.0  # seconds: a run that trains longer than this is done once

#: boolean_vs_real's MNIST methods that are points of these curves (same recipe, same seeds)
_REUSABLE = {"gates-S": ("relaxed gate network", [1000] * 4), "gates-M": ("relaxed gate network", [4000] * 4),
             "gates-L": ("relaxed gate network", [16000] * 4), "vote": ("vote optimiser (LUT8 layer)", 128)}


def _seeded(run, seeds):
    """``run(seed)`` for each seed, stopping after the first where it trained over SEED_LIMIT seconds."""
    pts = []
    for seed in seeds:
        if pts and pts[0]["train_seconds"] > SEED_LIMIT:
            break
        pts.append(run(seed))
        print(pts[-1], flush=True)
    return pts


def _gate_points(widths_list, epochs, seeds, reused):
    from paralens.boolean.classifier import two_input_equivalents
    from paralens.boolean.gatenet import mnist_gates_config, run_gates

    def run(widths, seed):
        cfg = mnist_gates_config().with_(widths=tuple(widths), epochs=epochs, seed=seed, augment_copies=0)
        t0 = time.perf_counter()
        circuit, info = run_gates(cfg)
        return {"method": "relaxed gate network", "widths": list(widths), "seed": seed,
                "gates": two_input_equivalents(circuit), "test_accuracy": info["hardened_test_accuracy"],
                "relaxed_test_accuracy": info["relaxed_test_accuracy"], "train_seconds": time.perf_counter() - t0}

    pts = []
    for widths in widths_list:
        got = reused.get(("relaxed gate network", str(list(widths))))
        pts += got if got else _seeded(lambda seed, w=widths: run(w, seed), seeds)
    return pts


def _recipe_points(method, config, sizes, epochs, seeds, reused):
    """Points of a gate-network preset's recipe (``config``: a :mod:`paralens.boolean.recipes` function) at
    several sizes, without the shifted copies (as the fixed-wiring curve): ``sizes`` are ``(widths, extra)``."""
    from paralens.boolean import recipes
    from paralens.boolean.classifier import two_input_equivalents

    def run(widths, extra, seed):
        base = getattr(recipes, config)()
        cfg = base.with_(widths=tuple(widths), epochs=epochs, seed=seed, augment_copies=0,
                         hard_epochs=min(base.hard_epochs, epochs), extra={**base.extra, **extra})
        t0 = time.perf_counter()
        circuit, info = recipes.run_gates(cfg)
        return {"method": method, "widths": list(widths), "extra": {k: str(v) for k, v in extra.items()}, "seed": seed,
                "gates": two_input_equivalents(circuit), "test_accuracy": info["hardened_test_accuracy"],
                "relaxed_test_accuracy": info["relaxed_test_accuracy"], "train_seconds": time.perf_counter() - t0}

    pts = []
    for widths, extra in sizes:
        got = reused.get((method, str(list(widths))))
        pts += got if got else _seeded(lambda seed, w=widths, e=extra: run(w, e, seed), seeds)
    return pts


def _kept(path) -> dict:
    """``--extend``: the points of an earlier results file, by (method, size), so only new curves are trained."""
    if not path.exists():
        return {}
    out = {}
    for pt in json.loads(path.read_text()).get("points", []):
        size = pt.get("widths", pt.get("size"))
        out.setdefault((pt["method"], str(size)), []).append({**pt, "source": pt.get("source", path.name)})
    return out


def _vote_points(sizes, seeds, reused):
    from paralens.boolean.presets import train_preset

    def run(per_class, seed):
        clf, res = train_preset("mnist-vote", seed=seed, model_options={"per_class": per_class})
        return {"method": "vote optimiser (LUT8 layer)", "size": per_class, "seed": seed,
                "gates": clf.gates, "test_accuracy": res["test_accuracy"], "train_seconds": res["seconds"]}

    pts = []
    for per_class in sizes:
        got = reused.get(("vote optimiser (LUT8 layer)", str(per_class)))
        pts += got if got else _seeded(lambda seed, k=per_class: run(k, seed), seeds)
    return pts


def _baselines(quick, reused):
    from paralens.compare import _real, load_split

    split = load_split("mnist")
    out = {}
    for kind, epochs in (("logistic", 20), ("mlp", 20), ("cnn", 8)):
        if ("baseline", kind) in reused:
            out[kind] = reused[("baseline", kind)]
        else:
            r = _real(split, 0, kind=kind, epochs=2 if quick else epochs)
            out[kind] = {"test_accuracy": r["test_accuracy"], "params": r["gates_or_params"], "epochs": epochs,
                         "seeds": [0]}
        print(kind, out[kind], flush=True)
    return out


def _reusable(path) -> dict:
    """The runs of ``boolean_vs_real.json`` (not ``--quick``) that are points or baselines here."""
    if not path:
        return {}
    d = json.loads(Path(path).read_text())
    if d.get("quick"):
        raise SystemExit(f"--reuse {path}: that file is from a --quick run; its runs are not these recipes")
    source = Path(path).name
    out = {}
    for row in d.get("tables", {}).get("mnist", []):
        m = row["method"]
        if m in _REUSABLE and row.get("runs"):
            method, size = _REUSABLE[m]
            key = "widths" if isinstance(size, list) else "size"
            out[(method, str(size))] = [
                {"method": method, key: size, "seed": r["seed"], "gates": r["gates_or_params"],
                 "test_accuracy": r["test_accuracy"], "train_seconds": r["train_seconds"], "source": source}
                for r in row["runs"]]
        elif m in ("logistic", "mlp", "cnn"):
            out[("baseline", m)] = {"test_accuracy": row["test_accuracy"], "params": int(row["gates_or_params"]),
                                    "epochs": {"logistic": 20, "mlp": 20, "cnn": 8}[m], "seeds": row["seeds"],
                                    "test_accuracy_std": row.get("test_accuracy_std", 0.0), "source": source}
    return out


def _mean(points, key="gates"):
    groups = {}
    for p in points:
        groups.setdefault((p["method"], str(p.get("widths", p.get("size")))), []).append(p)
    rows = []
    for (method, _), ps in groups.items():
        import numpy as np

        acc = np.array([p["test_accuracy"] for p in ps])
        size = ps[0].get("widths", ps[0].get("size"))
        size = " x ".join(map(str, size)) if isinstance(size, list) else f"{size} per class"
        rows.append({"method": method, "size": size, "gates": float(np.mean([p[key] for p in ps])),
                     "test_accuracy": float(acc.mean()),
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
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny networks, one epoch, one seed")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0 .. N-1 (default 3; 1 with --quick)")
    ap.add_argument("--reuse", default=None, metavar="BOOLEAN_VS_REAL_JSON",
                    help="take the runs boolean_vs_real.py made with the same recipes from this file")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--extend", action="store_true",
                    help="keep the points of the results file already in --out; train only what it lacks")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = tuple(range(args.seeds if args.seeds is not None else (1 if args.quick else 3)))
    reused = {} if args.quick else _reusable(args.reuse)
    if args.extend:
        reused = {**reused, **_kept(out / ("accuracy_vs_gates_quick.json" if args.quick else "accuracy_vs_gates.json"))}
    t0 = time.perf_counter()
    if args.quick:
        widths_list, epochs, vote_sizes = [(200, 200, 200, 200), (400, 400, 400, 400)], 1, [4]
        conn_sizes = [((200, 200, 200, 200), {})]
        conv_sizes = [((400, 400), {"blocks": ((4, 2),)})]
    else:
        widths_list, epochs, vote_sizes = [(1000,) * 4, (2000,) * 4, (4000,) * 4, (8000,) * 4, (16000,) * 4], 10, \
            [16, 32, 64, 128]
        conn_sizes = [((1500, 1500, 1500, 1000), {}), ((3000, 3000, 3000, 2000), {}), ((6000, 6000, 6000, 4000), {})]
        conv_sizes = [((2000, 2000), {"blocks": ((8, 3), (16, 3))}), ((4000, 4000), {"blocks": ((16, 3), (32, 3))}),
                      ((8000, 8000), {"blocks": ((32, 3), (64, 3))})]
    points = (_gate_points(widths_list, epochs, seeds, reused) + _vote_points(vote_sizes, seeds, reused)
              + _recipe_points("learned connections", "mnist_gates_small_config", conn_sizes, epochs, seeds, reused)
              + _recipe_points("logic-tree convolutions", "mnist_conv_config", conv_sizes, epochs, seeds, reused))
    rows = _mean(points)
    baselines = _baselines(args.quick, reused)
    png = out / ("accuracy_vs_gates_quick.png" if args.quick else "accuracy_vs_gates.png")
    plot(rows, baselines, png)
    result = {"experiment": "accuracy_vs_gates", "quick": args.quick, "seeds": list(seeds), "seed_limit": SEED_LIMIT,
              "reused_from": args.reuse and Path(args.reuse).name, "points": points,
              "curves": rows, "baselines": baselines, "seconds": time.perf_counter() - t0, "plot": png.name}
    stem = "accuracy_vs_gates_quick" if args.quick else "accuracy_vs_gates"
    atomic_write(out / f"{stem}.json", json.dumps(result, indent=1))
    def pm(acc, std, n):
        return f"{100 * acc:.1f} ± {100 * std:.1f}" if n > 1 else f"{100 * acc:.1f} (1 seed)"

    md = ["# MNIST accuracy against gates", "", f"Command: `python experiments/accuracy_vs_gates.py"
          f"{' --quick' if args.quick else ''}`; mean ± spread (standard deviation) over seeds {list(seeds)}, "
          f"one seed where a run trains for over {SEED_LIMIT:.0f} s"
          + (f"; runs with the same recipe taken from `{result['reused_from']}`" if result["reused_from"] else "")
          + ".", "", "| method | size | gates | test acc. (%) | train s |", "|---|---|---|---|---|"]
    md += [f"| {r['method']} | {r['size']} | {r['gates']:,.0f} | "
           f"{pm(r['test_accuracy'], r['test_accuracy_std'], len(r['seeds']))} | {r['train_seconds']:.0f} |"
           for r in rows]
    md += ["", "| real baseline | params | test acc. (%) |", "|---|---|---|"]
    md += [f"| {k} | {b['params']:,} | {pm(b['test_accuracy'], b.get('test_accuracy_std', 0.0), len(b['seeds']))} |"
           for k, b in baselines.items()]
    atomic_write(out / f"{stem}.md", "\n".join(md) + "\n")
    print(f"wrote {out / stem}.json, .md and {png.name} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
