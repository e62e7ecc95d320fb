"""The vote optimiser against reverse derivative ascent (RDA) on deep gate networks and LUT layers.

    python experiments/vote_vs_rda.py            # the full comparison (a few minutes on one core)
    python -m experiments.vote_vs_rda --quick    # a short check of the same code (under 30 s)

Over GF(2) the reverse derivative of copy is XOR, so with plain RDA (``gradient_update(modulus=2)``,
XOR loss, identity learning rate) the per-example changes of a parameter shared by a batch cancel in
pairs: a bit that 6 of 8 examples want flipped is not flipped.  :func:`~paralens.learning.optimisers.vote`
reads the batch's change as a count and flips a bit when the count (kept across steps with ``decay``)
reaches ``threshold``.  This script measures whether that helps, on

* (a) deep networks of learnable two-input gates (``layers.gate_layer``: ANF coefficients
  ``c0 + c1 a + c2 b + c3 ab``) stacked 2, 4 and 6 layers deep (and 1, for reference), on the Wisconsin breast cancer data
  (thermometer bits, quantiles of the training part; a seeded stratified 80/20 split), two output bits
  per class read by group sums, so that an output sees at most ``2^depth`` of the 120 input bits (one
  layer, 4 bits per class, is too few; the question is whether either optimiser makes use of more);
* (b) LUT layers: the same networks with two-input truth tables (``layers.lut_layer(k=2)``: the same
  16 functions per gate, parametrised by their truth table instead of their ANF), and one layer of
  2 x 64 six-input LUTs (the ``mnist01-vote`` model) on MNIST 0 vs 1 of the bundled subset.

Every method starts from the same parameters (random for the gate networks, zeros for the LUT6 layer,
as the preset), sees the same shuffled batches, and keeps the parameters that score best on the
*training* data (checked ten times in the first pass and after every pass), so the test data are never
used for any choice.  Mean ± standard deviation over the recorded seeds (five for the gate networks,
three for the LUT6 layer; the seed draws the split, the wiring, the initial parameters and the order);
the verdicts (:func:`verdict`) pair the runs by seed.  CPU seconds are the process's (``time.process_time``).

Writes ``experiments/results/vote_vs_rda.json`` and ``.md`` (``--quick``: ``vote_vs_rda_quick.*``;
``--out DIR`` elsewhere) and prints the Markdown.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script: make ``experiments`` importable like ``-m`` does
    sys.path.insert(0, str(HERE.parent))

from paralens import data  # noqa: E402
from paralens.boolean import layers  # noqa: E402
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder  # noqa: E402
from paralens.boolean.presets import load_integer_data  # noqa: E402
from paralens.boolean.train import (  # noqa: E402
    active_wiring,  # noqa: E402
    targets,
    train_circuit,
)
from paralens.files import atomic_write  # noqa: E402
from paralens.learning import optimisers  # noqa: E402

#: the smallest mean paired difference (percentage points) that a verdict counts as a win or a loss
MIN_MARGIN = 1.0


# -- methods ---------------------------------------------------------------------------------------------------


def methods(batch: int) -> list[dict]:
    """RDA with batch 1 and ``batch``; vote with batch ``batch``: threshold 1, a quarter of the batch,
    a strict majority (counters forgotten every step, decay 0), and a quarter with counters kept (decay 1)."""
    q, maj = max(1, batch // 4), batch // 2 + 1
    return [
        {"name": "RDA, batch 1", "kind": "rda", "batch": 1},
        {"name": f"RDA, batch {batch}", "kind": "rda", "batch": batch},
        {"name": f"vote, batch {batch}, threshold 1", "kind": "vote", "batch": batch, "threshold": 1, "decay": 0.0},
        {"name": f"vote, batch {batch}, threshold {q}", "kind": "vote", "batch": batch, "threshold": q, "decay": 0.0},
        {"name": f"vote, batch {batch}, threshold {maj} (majority)", "kind": "vote", "batch": batch,
         "threshold": maj, "decay": 0.0},
        {"name": f"vote, batch {batch}, threshold {q}, counters kept", "kind": "vote", "batch": batch,
         "threshold": q, "decay": 1.0},
    ]


def optimiser_of(m: dict):
    if m["kind"] == "rda":
        return optimisers.gradient_update(modulus=2)
    return optimisers.vote(m["threshold"], decay=m["decay"])


# -- tasks -----------------------------------------------------------------------------------------------------


def gate_network(n_in: int, depth: int, width: int, n_out: int, seed: int, kind: str = "anf"):
    """``depth`` layers of two-input gates (``kind``: ``"anf"``, :func:`layers.gate_layer`; ``"lut2"``,
    ``layers.lut_layer(k=2)``), ``width`` wide, the last ``n_out``; random wiring from ``seed``."""
    model = None
    for i in range(depth):
        a = n_in if i == 0 else width
        b = n_out if i == depth - 1 else width
        if kind == "anf":
            layer = layers.gate_layer(a, b, seed=1000 * seed + i, name=f"anf{i}")
        else:
            layer = layers.lut_layer(a, b, 2, seed=1000 * seed + i, name=f"table{i}")
        model = layer if model is None else model >> layer
    return model


def breast_cancer_bits(seed: int, bits: int = 4):
    """The breast cancer data as thermometer bits (quantiles of the training part), split 80/20 from ``seed``."""
    test, train = data.stratified_split(data.load_breast_cancer(), 0.2, seed=seed)
    enc = ThermometerEncoder(bits).fit(train.features)
    return (enc.transform(train.features).astype(np.int64), train.labels.astype(np.int64),
            enc.transform(test.features).astype(np.int64), test.labels.astype(np.int64))


@functools.lru_cache(maxsize=1)
def _mnist01():
    Xtr, ytr, Xte, yte = load_integer_data("mnist01")
    return (Xtr > 32).astype(np.int64), ytr, (Xte > 32).astype(np.int64), yte


def mnist01_bits(seed: int):
    """MNIST 0 vs 1 of the bundled subset, pixels > 32 (the ``mnist01-vote`` encoding); the split is fixed."""
    return _mnist01()


def run_one(model, tr, ytr, te, yte, n_classes: int, per_class: int, method: dict, *, seed: int, epochs: int,
            init: dict) -> dict:
    dec = GroupSumDecoder(n_classes, per_class)

    def acc(p, X, y):
        return float(np.mean(dec.predict(model.get(p, X)) == y))

    t0, c0 = time.perf_counter(), time.process_time()
    params, info = train_circuit(model, tr, targets(ytr, n_classes, per_class), epochs=epochs,
                                 batch_size=method["batch"], seed=seed, optimiser=optimiser_of(method),
                                 score=lambda p: acc(p, tr, ytr), params={k: v.copy() for k, v in init.items()})
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"train": acc(params, tr, ytr), "test": acc(params, te, yte),
            "final_train": acc(info["final_params"], tr, ytr), "wall_s": wall, "cpu_s": cpu}


def _stats(values, scale: float = 100.0, digits: int = 2) -> dict:
    v = np.asarray(values, dtype=np.float64) * scale
    return {"mean": round(float(v.mean()), digits), "std": round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, digits),
            "runs": [round(float(x), digits) for x in v]}


def run_task(task: dict, seeds, epochs: int, log) -> dict:
    """All methods on one task (one network on one data set) over ``seeds``."""
    rows = {m["name"]: {"method": m, "runs": []} for m in task["methods"]}
    baseline = []
    for s in seeds:
        tr, ytr, te, yte = task["data"](s)
        model = task["model"](tr, s)
        init = task["init"](model, s)
        dec = GroupSumDecoder(task["n_classes"], task["per_class"])
        baseline.append(float(np.mean(dec.predict(model.get(init, te)) == yte)))
        for m in task["methods"]:
            r = run_one(model, tr, ytr, te, yte, task["n_classes"], task["per_class"], m, seed=s, epochs=epochs,
                        init=init)
            rows[m["name"]]["runs"].append(r)
            log(f"  {task['name']} | {m['name']} | seed {s}: train {100 * r['train']:.1f} test {100 * r['test']:.1f} "
                f"({r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU)")
    out = []
    for name, row in rows.items():
        runs = row["runs"]
        out.append({"method": name, **{k: v for k, v in row["method"].items() if k != "name"},
                    "train": _stats([r["train"] for r in runs]), "test": _stats([r["test"] for r in runs]),
                    "final_train": _stats([r["final_train"] for r in runs]),
                    "wall_s": _stats([r["wall_s"] for r in runs], 1.0), "cpu_s": _stats([r["cpu_s"] for r in runs], 1.0)})
    return {"task": task["name"], "part": task["part"], "data": task["data_name"], "model": task["model_name"],
            "depth": task.get("depth"), "epochs": epochs, "seeds": list(seeds),
            "initial_test": _stats(baseline), "majority_class_test": task["majority"], "methods": out,
            "verdict": verdict(out)}


def compare(a: dict, b: dict, key: str) -> dict:
    """``a`` against ``b`` (two method rows of one task) on ``key`` (``"train"`` or ``"test"``), paired by seed:
    ``"wins"`` when the per-seed differences average at least :data:`MIN_MARGIN` points and more than twice
    their standard error, ``"loses"`` the other way round, else ``"ties"``."""
    d = np.asarray(a[key]["runs"]) - np.asarray(b[key]["runs"])
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    mean = float(d.mean())
    if len(d) < 2:
        word = "no verdict (one seed)"
    else:
        word = "wins" if mean >= MIN_MARGIN and mean > 2 * se else \
            "loses" if mean <= -MIN_MARGIN and -mean > 2 * se else "ties"
    return {"vote": word, "vote_method": a["method"], "rda_method": b["method"], "difference": round(mean, 2),
            "standard_error": round(se, 2)}


def verdict(rows: list[dict]) -> dict:
    """Vote against RDA on training and on test accuracy, paired by seed (:func:`compare`): ``"best"``, the
    vote variant with the best mean against the RDA variant with the best mean (a choice that favours vote:
    four variants against two); ``"fixed_*"``, one fixed pair with no choice among variants: the threshold a
    quarter of the batch with counters forgotten, against RDA with batch 1 (the paper's procedure)."""
    out = {}
    for key in ("train", "test"):
        rda = max((r for r in rows if r["kind"] == "rda"), key=lambda r: r[key]["mean"])
        vote = max((r for r in rows if r["kind"] == "vote"), key=lambda r: r[key]["mean"])
        out[key] = compare(vote, rda, key)
        fixed = next(r for r in rows if r["kind"] == "vote" and r["decay"] == 0.0
                     and r["threshold"] == max(1, r["batch"] // 4))
        out["fixed_" + key] = compare(fixed, next(r for r in rows if r["kind"] == "rda" and r["batch"] == 1), key)
    return out


def tasks(depths, gate_width: int, gate_batch: int, lut_batch: int, mnist_limit: int | None = None) -> list[dict]:
    out = []
    bc = {"data": breast_cancer_bits, "data_name": "breast cancer, thermometer 4 bits/feature (120 bits), 80/20",
          "n_classes": 2, "per_class": 2, "majority": round(100 * 357 / 569, 2),
          "init": lambda model, s: model.init(s, dtype="int64")}
    for kind, part, label in (("anf", "a", "gate_layer (ANF gates)"), ("lut2", "b", "lut_layer k=2 (truth-table gates)")):
        for d in depths:
            out.append({**bc, "name": f"{label}, depth {d}", "part": part, "depth": d,
                        "model_name": f"{d} x {label}, width {gate_width}, last layer 2 x 2 (group sums)",
                        "model": lambda tr, s, d=d, kind=kind: gate_network(tr.shape[1], d, gate_width, 4, s, kind),
                        "methods": methods(gate_batch)})
    tr, ytr, te, yte = mnist01_bits(0)
    n_tr = len(tr) if mnist_limit is None else min(len(tr), mnist_limit)

    def mnist_data(s):
        return tr[:n_tr], ytr[:n_tr], te, yte

    out.append({"name": "LUT6 layer, MNIST 0 vs 1", "part": "b", "depth": 1, "data": mnist_data,
                "data_name": f"MNIST 0 vs 1 of the bundled subset ({n_tr:,} train / {len(te)} test), pixels > 32",
                "model_name": "2 x 64 LUT6 on seeded wiring over the active pixels, from zeros (as mnist01-vote)",
                "n_classes": 2, "per_class": 64, "majority": round(100 * max(np.mean(yte == 0), np.mean(yte == 1)), 2),
                "model": lambda tr, s: layers.lut_layer(tr.shape[1], 128, 6, wiring=active_wiring(tr, 128, 6, s)),
                "init": lambda model, s: {n: np.zeros(sp.shape, dtype=np.int64) for n, sp in model.params.items()},
                "methods": methods(lut_batch), "lut": True})
    return out


# -- report ----------------------------------------------------------------------------------------------------


def _diff(c: dict) -> str:
    return f"{c['difference']:+.1f} ± {c['standard_error']:.1f}"


def _pm(s: dict) -> str:
    return f"{s['mean']:.1f} ± {s['std']:.1f}"


def markdown(result: dict) -> str:
    lines = ["## Vote vs reverse derivative ascent (RDA) on GF(2) circuits", "",
             f"Seeds {', '.join(map(str, result['seeds']['gates']))} (gate networks), "
             f"{', '.join(map(str, result['seeds']['lut6']))} (LUT6 layer); accuracy in percent, mean ± standard "
             "deviation over the seeds; parameters kept where the training accuracy is best (the test data choose nothing).  "
             f"{'Quick mode (shortened runs): ' if result['quick'] else ''}{result['seconds']:.0f} s wall, "
             f"{result['cpu_seconds']:.0f} s CPU in all.", ""]
    for t in result["tasks"]:
        lines += [f"### ({t['part']}) {t['task']}", "",
                  f"{t['model']}; {t['data']}; {t['epochs']} pass{'es' if t['epochs'] != 1 else ''}.  Initial parameters: test "
                  f"{_pm(t['initial_test'])}" + (f"; majority class {t['majority_class_test']:.1f}" if
                                                t['majority_class_test'] else "") + ".", "",
                  "| method | train | test | final train | seconds (wall) | seconds (CPU) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in t["methods"]:
            lines.append(f"| {r['method']} | {_pm(r['train'])} | {_pm(r['test'])} | {_pm(r['final_train'])} | "
                         f"{r['wall_s']['mean']:.2f} | {r['cpu_s']['mean']:.2f} |")
        v = t["verdict"]
        lines += ["", f"Best against best: vote **{v['train']['vote']}** on training accuracy ({v['train']['vote_method']} "
                  f"vs {v['train']['rda_method']}: {_diff(v['train'])}) and **{v['test']['vote']}** on test accuracy "
                  f"({v['test']['vote_method']} vs {v['test']['rda_method']}: {_diff(v['test'])}).  Fixed pair "
                  f"({v['fixed_test']['vote_method']} vs RDA, batch 1): **{v['fixed_train']['vote']}** on training "
                  f"({_diff(v['fixed_train'])}), **{v['fixed_test']['vote']}** on test ({_diff(v['fixed_test'])}).", ""]
    lines += ["### Summary", "", "Vote against RDA, paired by seed (difference in points ± standard error):", "",
              "| task | best vs best, train | best vs best, test | quarter-batch threshold vs RDA batch 1, train "
              "| same, test |", "|---|---|---|---|---|"]
    for t in result["tasks"]:
        v = t["verdict"]
        lines.append(f"| ({t['part']}) {t['task']} | " + " | ".join(
            f"{v[k]['vote']} ({_diff(v[k])})" for k in ("train", "test", "fixed_train", "fixed_test")) + " |")
    lines += ["", "A verdict pairs the runs by seed (same split, wiring, initial parameters and order): vote wins "
              f"(loses) when the differences average at least {MIN_MARGIN:.0f} point in its favour (against it) and "
              "more than twice their standard error; otherwise it ties.  \"Best vs best\" picks the best of four vote "
              "variants against the best of two RDA variants, which favours vote; the fixed pair (threshold a quarter "
              "of the batch, counters forgotten, against RDA with batch 1) involves no such choice.  "
              "\"final train\" is the training accuracy of the last parameters (not the kept ones).", "",
              "Why the two gate parametrisations differ: an ANF gate's output is linear in its coefficients, and a "
              "batch-1 RDA step flips every coefficient whose derivative is 1, which changes the output by "
              "1 + a + b + ab = (1 + a)(1 + b) (mod 2): the step fixes the wrong example only when both inputs are 0 "
              "(16 of the 64 cases of a lone gate); a truth table's step flips exactly the entry the example reads "
              "and always fixes it (tests/test_vote.py checks both).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shortened runs (a check of the code, under 30 s)")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for vote_vs_rda.json and .md")
    ap.add_argument("--quiet", action="store_true", help="print only the Markdown")
    args = ap.parse_args(argv)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    t0, c0 = time.perf_counter(), time.process_time()
    if args.quick:
        seeds, lut_seeds, depths, gate_epochs, lut_epochs, limit = [0], [0], [2], 2, 1, 400
    else:
        seeds, lut_seeds, depths, gate_epochs, lut_epochs, limit = [0, 1, 2, 3, 4], [0, 1, 2], [1, 2, 4, 6], 10, 3, None
    results = []
    for task in tasks(depths, 32, 16, 32, limit):
        epochs = lut_epochs if task.get("lut") else gate_epochs
        results.append(run_task(task, lut_seeds if task.get("lut") else seeds, epochs, log))
    result = {
        "experiment": "vote optimiser vs reverse derivative ascent (GF(2))", "quick": bool(args.quick),
        "seeds": {"gates": seeds, "lut6": lut_seeds}, "tasks": results, "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(time.process_time() - c0, 1),
        "environment": {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count()},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "vote_vs_rda_quick" if args.quick else "vote_vs_rda"
    atomic_write(out / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    atomic_write(out / f"{stem}.md", text)
    print(text)
    print(f"wrote {out / (stem + '.json')} and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
