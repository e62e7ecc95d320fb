"""Circuit speed, side by side: evaluation per field, ``reverse`` against size, and the sympy route.

    python benchmarks/bench_circuits.py [--quick] [--json] [--cap SECONDS] [--only eval,reverse,sympy,scaling]

(a) ``eval``: gate evaluations per second of one random layered circuit of two-input
    gates (half ``mul``, half ``add``: AND and XOR over GF(2)), 8 layers x 8,000 gates,
    batch 4,096, over GF(2) bit-packed, GF(2) one byte per element, GF(65521),
    GF(2^31 - 1) (both ``int64`` mod p) and GF(2^8) (galois).  Best of 3 after a warm-up.
(b) ``reverse``: the time of ``reverse(c)`` for layered random GF(2) circuits of
    ``mul``/``add``/``or`` gates, 10^3 .. 10^6 gates, per gate, with the fitted exponent
    of time against size (1 = linear); and the evaluation time of R[c] against c's
    (bit-packed, batch 4,096).
(c) ``sympy``: ``paralens.circuits.symbolic.symbolic_reverse`` (formal partial derivatives
    of the expanded polynomials) against ``reverse`` on the same traced GF(5) circuits of
    10, 30, 100, 300, 1,000 gates, each symbolic run in a child process killed after
    ``--cap`` seconds (default 20); sizes after the first that exceeds the cap are skipped.
    Where the symbolic route finishes, its result is evaluated on random points and
    compared with R[c].

(d) ``scaling``: the linearity of the two paths that used to grow faster than their size.
    Evaluation of one bundled layer of 10^4, 10^5, 10^6 ``mul`` gates, every gate an output, on a
    batch of 256 rows, over GF(2) and GF(65521): microseconds per gate (best of 2; 1 at the
    largest size), the peak of traced NumPy memory, and each size's time per gate over the
    smallest's (1.00 = linear).  And ``reverse`` of circuits traced gate by gate (a chain: each
    gate reads the last value, so nothing bundles and there is one op per gate), 20,000 and
    200,000 gates over GF(5): microseconds per op and the same ratio.

``--quick`` shrinks everything (a smoke run of a few tens of seconds).  ``--json`` prints
one JSON object instead of the tables.  The machine may be shared: numbers are noisy.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import platform
import queue
import random
import sys
import time
import tracemalloc

import numpy as np

from paralens.circuits import Builder, resolve, reverse, trace
from paralens.fields import GF

# -- helpers ---------------------------------------------------------------------------------------------


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def layered(F, n_inputs: int, layers: int, width: int, kinds, seed: int, n_outputs: int = 64,
            reduce: bool = False):
    """``layers`` layers of ``width`` gates (split evenly among ``kinds``), each reading the layer before
    (port 0 through a random permutation, so that every wire of a layer is read by the next).

    Outputs: the first ``n_outputs`` wires of the last layer; or, with ``reduce``, the last layer summed
    down to ``n_outputs`` wires by a tree of ``add`` bundles, so that every gate reaches an output (the
    reverse derivative then covers the whole circuit) while the outputs stay few (converting a batch of
    outputs to FieldArrays would otherwise cost more than the gates)."""
    rng = np.random.default_rng(seed)
    b = Builder(F, n_inputs)
    prev = np.arange(n_inputs)
    per = max(1, width // len(kinds))
    for _ in range(layers):
        outs = []
        perm = np.concatenate([rng.permutation(prev) for _ in range(-(-per * len(kinds) // len(prev)))])
        for i, kind in enumerate(kinds):
            g = resolve(kind)
            args = [perm[i * per: (i + 1) * per]] + [rng.choice(prev, per) for _ in range(g.n_in - 1)]
            outs += b.op(g, *args)
        prev = np.concatenate(outs)
    if reduce:
        while len(prev) > n_outputs:
            half = min(len(prev) // 2, len(prev) - n_outputs)
            prev = np.concatenate([b.add(prev[:half], prev[half: 2 * half]), prev[2 * half:]])
    return b.build(prev[:n_outputs])


def fmt_rate(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.2f} {unit}"
    return f"{x:.0f} "


def table(headers, rows) -> str:
    cols = list(zip(*([headers] + [[str(v) for v in r] for r in rows])))
    widths = [max(len(v) for v in col) for col in cols]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(str(v).rjust(w) for v, w in zip(r, widths)))
    return "\n".join(out)


# -- (a) evaluation throughput ------------------------------------------------------------------------------

EVAL_FIELDS = [
    ("GF(2) packed", 2, True),
    ("GF(2)", 2, False),
    ("GF(65521)", 65521, False),
    ("GF(2^31-1)", 2**31 - 1, False),
    ("GF(2^8)", 2**8, False),
]


def bench_eval(layers: int, width: int, batch: int, repeats: int, log) -> list[dict]:
    rows = []
    for label, order, packed in EVAL_FIELDS:
        F = GF(order)
        c = layered(F, 256, layers, width, ["mul", "add"], seed=0, n_outputs=64)
        X = F.random_ints((batch, c.n_inputs), np.random.default_rng(1))
        c.evaluate(X[:64], packed=packed)  # warm-up (galois compiles its ufuncs on first use)
        t = best_of(lambda c=c, X=X, packed=packed: c.evaluate(X, packed=packed), repeats)
        rate = c.n_gates * batch / t
        rows.append({"field": label, "kernel": F.kernel(packed=packed).name, "gates": c.n_gates, "batch": batch,
                     "seconds": t, "gate_evals_per_s": rate})
        log(f"  eval {label:<13} {t:8.3f} s  {fmt_rate(rate)}gate evals/s")
    return rows


# -- (b) reverse against size ---------------------------------------------------------------------------------


def bench_reverse(sizes, batch: int, log) -> dict:
    F = GF(2)
    rows = []
    for n in sizes:
        c = layered(F, 256, 10, n // 11, ["mul", "add", "or"], seed=n, n_outputs=256, reduce=True)
        reps = 3 if n <= 100_000 else 2
        t_rev = best_of(lambda c=c: reverse(c), reps)
        r = reverse(c)
        X = np.random.default_rng(0).integers(0, 2, (batch, c.n_inputs))
        XR = np.random.default_rng(1).integers(0, 2, (batch, r.n_inputs))
        c.evaluate(X[:64], packed=True)
        er = 2 if n <= 100_000 else 1
        t_c = best_of(lambda c=c, X=X: c.evaluate(X, packed=True), er)
        t_r = best_of(lambda r=r, XR=XR: r.evaluate(XR, packed=True), er)
        row = {"gates": c.n_gates, "ops": len(c.ops), "reverse_s": t_rev, "us_per_gate": 1e6 * t_rev / c.n_gates,
               "R_gates": r.n_gates, "R_ops": len(r.ops), "R_gates_per_gate": r.n_gates / c.n_gates,
               "eval_c_s": t_c, "eval_R_s": t_r, "eval_ratio": t_r / t_c}
        rows.append(row)
        log(f"  reverse {c.n_gates:>9,} gates: {t_rev:.4f} s ({row['us_per_gate']:.3f} us/gate), "
            f"eval R[c] / c = {row['eval_ratio']:.2f}")
    # the exponent of time against size, fitted on the large sizes (fixed costs per op dominate below)
    fit = [r for r in rows if r["gates"] >= 90_000]
    if len(fit) < 2:
        fit = [r for r in rows if r["gates"] >= 9_000] or rows
    if len(fit) >= 2:
        slope = float(np.polyfit(np.log([r["gates"] for r in fit]), np.log([r["reverse_s"] for r in fit]), 1)[0])
    else:
        slope = float("nan")
    return {"rows": rows, "exponent": slope, "fitted_on": [r["gates"] for r in fit], "batch": batch}


# -- (c) the sympy route ----------------------------------------------------------------------------------------


def traced_circuit(F, n_gates: int, n_inputs: int = 32, p_mul: float = 0.2, seed: int = 0):
    """A traced circuit of exactly ``n_gates`` gates: each gate reads the oldest value no gate has read
    yet and a recent value, so every gate is used; the values left unread are the outputs."""
    rng = random.Random(seed)

    def fn(*xs):
        vals, unread = list(xs), list(xs)
        for _ in range(n_gates):
            a = unread.pop(0) if unread else rng.choice(vals[-16:])
            b = rng.choice(vals[-2 * n_inputs:])
            u = rng.random()
            v = a * b if u < p_mul else (a + b if u < 0.9 else -a)
            vals.append(v)
            unread.append(v)
        return unread

    return trace(F, n_inputs, fn)


def _symbolic_child(c, X, expected, q):
    from paralens.circuits.symbolic import change_symbols, evaluate_sympy, input_symbols, symbolic_reverse

    t0 = time.perf_counter()
    exprs = symbolic_reverse(c)
    t = time.perf_counter() - t0
    size = sum(len(str(e)) for e in exprs)
    q.put(("time", t, size))
    syms = input_symbols(c.n_inputs) + change_symbols(c.n_outputs)
    got = evaluate_sympy(exprs, c.field, X, symbols=syms)
    q.put(("check", bool(np.array_equal(np.asarray(got.view(np.ndarray)).astype(object),
                                         np.asarray(expected).astype(object)))))


def bench_sympy(sizes, cap: float, log) -> dict:
    try:
        import paralens.circuits.symbolic as symbolic
    except ImportError as e:
        log(f"  sympy route skipped: paralens.circuits.symbolic is not available ({e})")
        return {"skipped": str(e), "rows": []}
    F = GF(5)
    # warm up in this process (sympy's imports and caches), so that children forked from it start warm
    symbolic.symbolic_reverse(traced_circuit(F, 5))
    ctx = mp.get_context("fork")
    rows = []
    stopped_at = None
    for n in sizes:
        c = traced_circuit(F, n)
        row = {"gates": c.n_gates, "outputs": c.n_outputs, "depth": c.depth()}
        row["reverse_s"] = best_of(lambda c=c: reverse(c), 3)
        r = reverse(c)
        rng = np.random.default_rng(n)
        X = F.random_ints((8, r.n_inputs), rng)
        expected = r.evaluate(X).view(np.ndarray)
        if stopped_at is not None:
            row.update(symbolic_s=None, status="skipped")
            rows.append(row)
            log(f"  sympy {c.n_gates:>5} gates: skipped (stopped at {stopped_at})")
            continue
        q = ctx.Queue()
        p = ctx.Process(target=_symbolic_child, args=(c, X, expected, q), daemon=True)
        t0 = time.perf_counter()
        p.start()
        try:
            _, t, size = q.get(timeout=cap)
            row.update(symbolic_s=t, status="ok", expr_chars=size)
            try:
                row["agrees_with_reverse"] = q.get(timeout=max(10.0, cap))[1]
            except queue.Empty:
                row["agrees_with_reverse"] = None
        except queue.Empty:
            row.update(symbolic_s=None, status=f"> {cap:g} s (killed)", waited_s=time.perf_counter() - t0)
            stopped_at = c.n_gates
        finally:
            if p.is_alive():
                p.terminate()
            p.join(5)
        if row.get("symbolic_s"):
            row["symbolic_over_reverse"] = row["symbolic_s"] / row["reverse_s"]
        rows.append(row)
        sym = f"{row['symbolic_s']:.3f} s" if row.get("symbolic_s") is not None else row["status"]
        log(f"  sympy {c.n_gates:>5} gates: symbolic_reverse {sym}, reverse {row['reverse_s'] * 1e3:.2f} ms")
    practical = [r["gates"] for r in rows if r["status"] == "ok"]
    return {"field": F.name, "cap_s": cap, "rows": rows, "largest_practical": max(practical) if practical else None,
            "stopped_at": stopped_at}


# -- (d) scaling ----------------------------------------------------------------------------------------------


def wide_layer(F, n_gates: int, n_inputs: int = 256, seed: int = 0):
    """One bundled op of ``n_gates`` ``mul`` gates on random pairs of inputs, every gate an output."""
    rng = np.random.default_rng(seed)
    b = Builder(F, n_inputs)
    return b.build(b.mul(rng.integers(0, n_inputs, n_gates), rng.integers(0, n_inputs, n_gates)))


def traced_chain(F, n_gates: int, n_inputs: int = 16, seed: int = 0):
    """A circuit traced gate by gate that no bundling can merge: each gate reads the last value and a
    recent one (30% mul, 60% add, 10% neg), so its depth is about its size."""

    def fn(*xs):
        rng = random.Random(seed)
        vals = list(xs)
        for _ in range(n_gates):
            a, b = vals[-1], vals[rng.randrange(max(0, len(vals) - 64), len(vals))]
            u = rng.random()
            vals.append(a * b if u < 0.3 else (a + b if u < 0.9 else -a))
        return vals[-n_inputs:]

    return trace(F, n_inputs, fn)


def bench_scaling(eval_sizes, rev_sizes, rows: int, log) -> dict:
    ev = []
    for order in (2, 65521):
        F = GF(order)
        for n in eval_sizes:
            c = wide_layer(F, n)
            X = F.random_ints((rows, c.n_inputs), np.random.default_rng(1))
            c.evaluate(X[:2])
            t = best_of(lambda c=c, X=X: c.evaluate(X), 2 if n < max(eval_sizes) else 1)
            tracemalloc.start()
            c.evaluate(X)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            ev.append({"field": F.name, "gates": n, "rows": rows, "seconds": t, "us_per_gate": 1e6 * t / n,
                       "peak_mib": peak / 2**20})
            log(f"  scaling eval {F.name:<9} {n:>9,} outputs x {rows} rows: {t:.3f} s "
                f"({1e6 * t / n:.2f} us/gate), peak {peak / 2**20:.0f} MiB")
    for r in ev:
        base = next(b for b in ev if b["field"] == r["field"])
        r["ratio"] = r["us_per_gate"] / base["us_per_gate"]
    rv = []
    F = GF(5)
    for n in rev_sizes:
        t0 = time.perf_counter()
        c = traced_chain(F, n)
        t_trace = time.perf_counter() - t0
        t = best_of(lambda c=c: reverse(c), 2)
        r = reverse(c)
        rv.append({"gates": c.n_gates, "ops": len(c.ops), "trace_s": t_trace, "reverse_s": t,
                   "us_per_op": 1e6 * t / len(c.ops), "R_ops": len(r.ops)})
        log(f"  scaling reverse {c.n_gates:>9,} traced gates ({len(c.ops):,} ops): {t:.3f} s "
            f"({1e6 * t / len(c.ops):.2f} us/op); trace {t_trace:.2f} s")
    for r in rv:
        r["ratio"] = r["us_per_op"] / rv[0]["us_per_op"]
    return {"eval": ev, "reverse": rv, "rows": rows}


# -- report ---------------------------------------------------------------------------------------------------------


def report(res: dict) -> str:
    out = [f"paralens circuit benchmark ({res['mode']}; {res['machine']}); total {res['total_s']:.1f} s", ""]
    if "eval" in res:
        e = res["eval"]
        out.append(f"(a) evaluation: random layered circuit, {e['rows'][0]['gates']:,} two-input gates "
                   f"(mul/add), batch {e['rows'][0]['batch']:,}, best of {e['repeats']}")
        base = e["rows"][0]["gate_evals_per_s"]
        out.append(table(["field", "kernel", "seconds", "gate evals/s", "vs packed"],
                         [[r["field"], r["kernel"], f"{r['seconds']:.3f}", fmt_rate(r["gate_evals_per_s"]),
                           f"{r['gate_evals_per_s'] / base:.3f}"] for r in e["rows"]]))
        out.append("")
    if "reverse" in res:
        rv = res["reverse"]
        out.append(f"(b) reverse(c) against size: GF(2) circuits of 10 random layers (mul/add/or), summed to 256 "
                   f"outputs by add trees; evaluation bit-packed, batch {rv['batch']:,}")
        out.append(table(["gates", "ops", "reverse s", "us/gate", "R gates", "R/c gates", "R ops", "eval c s",
                          "eval R s", "R/c eval"],
                         [[f"{r['gates']:,}", r["ops"], f"{r['reverse_s']:.4f}", f"{r['us_per_gate']:.3f}",
                           f"{r['R_gates']:,}", f"{r['R_gates_per_gate']:.2f}", r["R_ops"], f"{r['eval_c_s']:.4f}",
                           f"{r['eval_R_s']:.4f}", f"{r['eval_ratio']:.2f}"] for r in rv["rows"]]))
        out.append(f"time ~ size^{rv['exponent']:.2f} (fitted on {', '.join(f'{g:,}' for g in rv['fitted_on'])} "
                   f"gates; 1.00 = linear)")
        out.append("")
    if "sympy" in res:
        s = res["sympy"]
        if s.get("skipped"):
            out.append(f"(c) sympy route skipped: {s['skipped']}")
        else:
            out.append(f"(c) symbolic_reverse (sympy) vs reverse on traced {s['field']} circuits "
                       f"(32 inputs; cap {s['cap_s']:g} s)")
            rows = []
            for r in s["rows"]:
                sym = f"{r['symbolic_s']:.3f}" if r.get("symbolic_s") is not None else r["status"]
                ratio = f"{r['symbolic_over_reverse']:.0f}x" if r.get("symbolic_over_reverse") else "-"
                agree = {True: "yes", False: "NO", None: "-"}[r.get("agrees_with_reverse")]
                rows.append([r["gates"], r["depth"], sym, f"{r['reverse_s'] * 1e3:.2f}", ratio, agree])
            out.append(table(["gates", "depth", "symbolic s", "reverse ms", "sym/rev", "same values"], rows))
            if s["stopped_at"] is not None:
                out.append(f"the sympy route stops being practical at {s['stopped_at']} gates "
                           f"(> {s['cap_s']:g} s; largest finished: {s['largest_practical']} gates); "
                           f"reverse stays linear")
            else:
                out.append(f"the sympy route finished every size within {s['cap_s']:g} s")
    if "scaling" in res:
        sc = res["scaling"]
        out.append("")
        out.append(f"(d) scaling: one bundled layer of mul gates, every gate an output, {sc['rows']} rows "
                   f"(ratio: us/gate over the smallest size's; 1.00 = linear)")
        out.append(table(["field", "outputs", "seconds", "us/gate", "ratio", "peak MiB"],
                         [[r["field"], f"{r['gates']:,}", f"{r['seconds']:.3f}", f"{r['us_per_gate']:.2f}",
                           f"{r['ratio']:.2f}", f"{r['peak_mib']:.0f}"] for r in sc["eval"]]))
        out.append("reverse of GF(5) circuits traced gate by gate (one op per gate)")
        out.append(table(["gates", "ops", "trace s", "reverse s", "us/op", "ratio", "R ops"],
                         [[f"{r['gates']:,}", f"{r['ops']:,}", f"{r['trace_s']:.2f}", f"{r['reverse_s']:.3f}",
                           f"{r['us_per_op']:.2f}", f"{r['ratio']:.2f}", f"{r['R_ops']:,}"] for r in sc["reverse"]]))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--cap", type=float, default=None, help="seconds allowed to one symbolic_reverse (20; quick 5)")
    ap.add_argument("--only", default="eval,reverse,sympy,scaling", help="sections to run (comma-separated)")
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",")}
    quick = args.quick
    cap = args.cap if args.cap is not None else (5.0 if quick else 20.0)

    def log(msg):
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    res = {"mode": "quick" if quick else "full",
           "machine": f"{platform.machine()}, {mp.cpu_count()} CPUs, numpy {np.__version__}"}
    if "eval" in only:
        layers, width, batch, reps = (4, 2000, 1024, 1) if quick else (8, 8000, 4096, 3)
        res["eval"] = {"rows": bench_eval(layers, width, batch, reps, log), "repeats": reps,
                       "layers": layers, "width": width}
    if "reverse" in only:
        sizes = [10**3, 10**4, 10**5] if quick else [10**3, 10**4, 10**5, 10**6]
        res["reverse"] = bench_reverse(sizes, 1024 if quick else 4096, log)
    if "sympy" in only:
        sizes = [10, 30, 100, 300] if quick else [10, 30, 100, 300, 1000]
        res["sympy"] = bench_sympy(sizes, cap, log)
    if "scaling" in only:
        eval_sizes = [10**3, 10**4, 10**5] if quick else [10**4, 10**5, 10**6]
        rev_sizes = [2_000, 20_000] if quick else [20_000, 200_000]
        res["scaling"] = bench_scaling(eval_sizes, rev_sizes, 256, log)
    res["total_s"] = time.perf_counter() - t0
    if args.json:
        print(json.dumps(res, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))
    else:
        print(report(res))


if __name__ == "__main__":
    main()
