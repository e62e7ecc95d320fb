"""MNIST gate network inference, one core: the fused numba kernel against a C reference, the memory, NumPy, the relaxed net.

    python benchmarks/bench_boolean.py [--quick] [--json] [--samples N] [--block-words W] [--no-c] [--c-opt -O1]

The network: :class:`paralens.boolean.gatenet.GateNetwork` of the MNIST shape, 784 x 3 thermometer
bits of the pixels (``ThermometerEncoder(3, "uniform")`` fitted on the bundled MNIST subset's
training images) -> 6 layers x 8,000 two-input gates (gatenet's balanced random wiring) -> group sum
over 10 classes (800 bits per class).  Its logits are random, with each gate's argmax drawn among the
10 functions that read both inputs (and, or, xor, nand, nor, xnor and the 4 implications), so that
:func:`~paralens.boolean.gatenet.harden` keeps all 48,000 gates (random logits over all 16 functions
would fold a third of them away into wiring and constants).  The hardened circuit is what a trained
network of this shape runs; a trained one only differs in which function each gate has.

Inputs are the 2,000 bundled MNIST test images, repeated to ``--samples`` (65,536; 8,192 with
``--quick``).  Timed on one thread (``threads=1``, ``NUMBA_NUM_THREADS=1``, BLAS threads 1), in rounds that run
every method once (5 rounds; 2 with ``--quick``; in each round the best of a few runs), the median round of
each by CPU time of this process (the machine may be shared: CPU time is what one core spent; wall-clock
rates are reported too):

* ``packed_pixels``: :meth:`PackedCircuit.predict_features`: pixel bytes in, classes out; the
  thermometer encoding, packing, the network and the class head, fused.
* ``packed_bits``: :meth:`PackedCircuit.predict_groups`: encoded bits (``(N, 2352)`` bytes) in.
* ``packed_words``: :meth:`PackedCircuit.predict_words`: bit-packed words in (the network and the head).
* ``gates_only``: the kernel's gate program alone (:func:`~paralens.boolean.packed_kernels` ``program``) over
  the blocks of the batch: no encoder, no packing, no class head.
* ``c_reference``: the same gates as C (``benchmarks/c_reference.py``: one statement per gate over
  ``uint64_t``, as difflogic's ``CompiledLogicNet`` generates it, ``gcc -O1 -march=native`` by default), the C
  function alone on words already packed and laid out for it; built once and cached (minutes for 48,000
  gates); ``--no-c`` skips it, and it is skipped with a note without gcc.
* ``read_limit``: the memory system: a numba sum over the pixel bytes (read as ``uint64``), in images per
  second: no engine that reads each image once can be faster; the fused kernel's fraction of it is printed.
* ``numpy_packed``: the NumPy interpreter, bit-packed (``evaluate_ints(..., packed=True)``, which packs
  with ``np.packbits`` and unpacks the 8,000 outputs to an ``(N, 8000)`` int64 array) and
  ``GroupSumDecoder.predict``, from bits: the path ``CircuitClassifier.predict`` took before.
* ``numpy_packed_gates``: the same interpreter's gates alone (``run_ops`` on packed words; no packing,
  unpacking or decoding).
* ``unpacked``: the NumPy interpreter on one byte per bit (``packed=False``) and the decoder, from bits.
* ``relaxed``: the relaxed network's real-valued inference (``GateNetwork.forward_bits``: per gate the
  softmax mixture of the 16 functions, float32) and the argmax of the group sums, from bits.

Also timed: the NumPy thermometer encoding (``encoder.transform``), and packing the bits to words with
``paralens.fields.pack_bits`` (``np.packbits`` and transposes) and with ``paralens.boolean.packed.pack_bits``
(the kernel's packer), for comparison with the fused kernel that encodes and packs.  All the exact
methods' predictions are checked equal (the C reference's outputs decoded by ``GroupSumDecoder``).  Ratios
are of rates measured in this one run.

Threads: the fused kernel from pixels with ``threads=1`` and ``threads=2``, interleaved, median wall-clock
rates and their ratio (on a shared machine the second core may be busy: the ratio is then noisy).
"""

from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from paralens import data  # noqa: E402
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder  # noqa: E402
from paralens.boolean.gatenet import GATE_NAMES, GateNetwork, harden  # noqa: E402
from paralens.boolean.packed import PackedCircuit, _aligned_slots  # noqa: E402
from paralens.boolean.packed import pack_bits as fast_pack_bits  # noqa: E402
from paralens.circuits.evaluate import evaluate_ints, run_ops  # noqa: E402
from paralens.fields import pack_bits  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c_reference import CReference  # noqa: E402

TWO_INPUT = [i for i, n in enumerate(GATE_NAMES) if n not in ("false", "true", "a", "b", "not_a", "not_b")]


def timed(fn, repeats: int):
    """``(result, best CPU seconds, wall seconds of that run)`` over ``repeats`` runs."""
    best, wall, out = None, None, None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        c, w = time.process_time() - c0, time.perf_counter() - w0
        if best is None or c < best:
            best, wall = c, w
    return out, max(best, 1e-9), max(wall, 1e-9)


def _read_sum():
    """A numba sum over ``uint64`` words: the memory-read limit (compiled once, cached)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def read_sum(x):
        s = np.uint64(0)
        for i in range(x.shape[0]):
            s += x[i]
        return s

    return read_sum


def gates_only(pc, words):
    """``run()``: the gate program alone over the blocks of ``words`` (copied into the input slots once)."""
    K, p, W = pc.kernels, pc.program, pc.block_words
    V = _aligned_slots(max(p.n_slots, p.out_first + p.n_outputs), W)
    used = p.in_slot >= 0
    V[p.in_slot[used]] = words[used, :W] if words.shape[1] >= W else 0
    flat, proto = V.reshape(-1), (np.uint64(0),) * W
    n_blocks = -(-words.shape[1] // W)

    def run():
        for _ in range(n_blocks):
            K.program(flat, p.runs, p.instr, proto)
        return V[p.out_first]

    return run


def network(bits_per_feature: int, layers: int, width: int, n_classes: int, seed: int):
    net = GateNetwork(784 * bits_per_feature, [width] * layers, n_classes, seed=seed)
    rng = np.random.default_rng(seed)
    params = {}
    for name, layer in zip(net.param_names(), net.layers):
        z = rng.standard_normal((layer.n_out, 16)).astype(np.float32)
        z[np.arange(layer.n_out), rng.choice(TWO_INPUT, layer.n_out)] += 8.0
        params[name] = z
    return net, params


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and repeats (a smoke run)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--samples", type=int, default=None, help="images for the packed kernel (65,536; quick 8,192)")
    ap.add_argument("--block-words", type=int, default=None, help="words of 64 samples per block (default: the kernel's)")
    ap.add_argument("--bits-per-feature", type=int, default=3)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--width", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-c", action="store_true", help="skip the C reference (its first build takes minutes)")
    ap.add_argument("--c-opt", default="-O1", choices=["-O1", "-O2", "-O3"], help="gcc optimisation of the C reference")
    args = ap.parse_args(argv)
    quick = args.quick
    N = args.samples or (8192 if quick else 65536)
    reps = 2 if quick else 5
    n_numpy_packed = 2048 if quick else 8192
    n_unpacked = 256 if quick else 1024
    n_relaxed = 128 if quick else 512
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))

    # data: pixel bytes of the bundled MNIST test images, repeated
    train = data.load_mnist(data.mnist_subset(), "train", flat=True)
    test = data.load_mnist(data.mnist_subset(), "test", flat=True)
    px_train = np.rint(train.features * 255).astype(np.uint8)
    px_test = np.rint(test.features * 255).astype(np.uint8)
    X = np.ascontiguousarray(np.resize(px_test, (N, 784)))
    enc = ThermometerEncoder(args.bits_per_feature, method="uniform").fit(px_train)
    n_classes = 10

    t0 = time.perf_counter()
    net, params = network(args.bits_per_feature, args.layers, args.width, n_classes, args.seed)
    circuit = harden(params, net)
    t_harden = time.perf_counter() - t0
    dec = GroupSumDecoder(n_classes, args.width // n_classes)
    m = dec.bits_per_class
    t0 = time.perf_counter()
    kw = {} if args.block_words is None else {"block_words": args.block_words}
    pc = PackedCircuit(circuit, threads=1, **kw)
    pc2 = pc.with_threads(2)
    t_compile = time.perf_counter() - t0
    say(f"network (paralens.boolean.gatenet, hardened): {net.n_inputs} bits -> {args.layers} x {args.width} gates "
        f"-> {n_classes} classes; circuit of {circuit.n_gates} gates "
        f"({', '.join(f'{k} {v}' for k, v in circuit.stats()['by_kind'].items())}), depth {circuit.depth()} "
        f"(harden {t_harden:.1f} s)")
    say(f"kernel: {pc} (compiled in {t_compile:.2f} s, numba code cached on disk)")

    # warm up the kernels (numba compiles or loads them on the first call)
    pc.predict_features(X[:100], enc, n_classes, m)
    bits = enc.transform(X)
    pc.predict_groups(bits[:100], n_classes, m)
    words = pack_bits(bits)
    pc.predict_words(words[:, :2], 100, n_classes, m)
    gates_run = gates_only(pc, words)
    gates_run()
    read_sum = _read_sum()
    X64 = X.reshape(-1).view(np.uint64) if X.size % 8 == 0 else X.reshape(-1)[: X.size // 8 * 8].view(np.uint64)
    read_sum(X64[:8])
    clib = None if args.no_c else CReference.build(circuit, opt=args.c_opt, say=say)
    if clib is not None:
        say(f"C reference: {clib.path} ({'cached' if clib.cached else f'compiled in {clib.compile_seconds:.0f} s'})")
        c_rows = np.ascontiguousarray(words.T)

    results: dict = {}

    def record(name, n, cpu, wall):
        results[name] = {"samples": n, "cpu_seconds": cpu, "wall_seconds": wall,
                         "samples_per_second": n / cpu, "wall_samples_per_second": n / wall}
        say(f"  {name:<18} {n / cpu:>12,.0f} samples/s   ({n:,} samples, {cpu * 1e3:9.1f} ms CPU, "
            f"{wall * 1e3:9.1f} ms wall)")

    sub = bits[:n_numpy_packed].astype(np.int64)
    sub_u = bits[:n_unpacked].astype(np.int64)
    sub_words = pack_bits(sub)
    K2 = circuit.field.kernel(packed=True)
    sub_r = bits[:n_relaxed].astype(np.float32)

    def relaxed():
        y = net.forward_bits(params, sub_r)
        return y.reshape(len(y), n_classes, m).sum(axis=2).argmax(axis=1)

    methods = {  # name: (samples, function, runs per round)
        "packed_pixels": (N, lambda: pc.predict_features(X, enc, n_classes, m), 3),
        "packed_bits": (N, lambda: pc.predict_groups(bits, n_classes, m), 3),
        "packed_words": (N, lambda: pc.predict_words(words, N, n_classes, m), 3),
        "gates_only": (-(-N // (64 * pc.block_words)) * 64 * pc.block_words, gates_run, 3),
        "read_limit": (N, lambda: read_sum(X64), 3),
        "numpy_packed": (n_numpy_packed, lambda: dec.predict(evaluate_ints(circuit, sub, packed=True)), 1),
        "numpy_packed_gates": (n_numpy_packed, lambda: run_ops(circuit, K2, list(sub_words)), 1),
        "unpacked": (n_unpacked, lambda: dec.predict(evaluate_ints(circuit, sub_u, packed=False)), 1),
        "relaxed": (n_relaxed, relaxed, 1),
    }
    if clib is not None:
        methods["c_reference"] = (N, lambda: clib.run_rows(c_rows), 3)
    # rounds: every method once per round, so that all see the same machine (it may be shared)
    rounds: dict = {name: [] for name in methods}
    preds: dict = {}
    walls: dict = {1: [], 2: []}
    for _ in range(reps):
        for name, (_n, fn, k) in methods.items():
            preds[name], c, w = timed(fn, k)
            rounds[name].append((c, w))
        for t, kern in ((1, pc), (2, pc2)):  # threads: wall-clock time
            w0 = time.perf_counter()
            preds[f"threads_{t}"] = kern.predict_features(X, enc, n_classes, m)
            walls[t].append(time.perf_counter() - w0)
    say(f"one core, median of {reps} rounds by CPU time:")
    for name, (n, _, _) in methods.items():
        record(name, n, *sorted(rounds[name])[len(rounds[name]) // 2])
    wall1, wall2 = float(np.median(walls[1])), float(np.median(walls[2]))
    say(f"threads (wall clock, median of {reps}): 1 thread {N / wall1:,.0f} images/s, 2 threads {N / wall2:,.0f} "
        f"images/s: {wall1 / wall2:.2f} times (a shared machine makes this noisy)")
    p_px, p_bits, p_words = preds["packed_pixels"], preds["packed_bits"], preds["packed_words"]
    p_np, p_un, p_rel = preds["numpy_packed"], preds["unpacked"], preds["relaxed"]
    # the NumPy steps the fused kernel replaces
    _, c_enc, _ = timed(lambda: enc.transform(X), 2)
    _, c_pack, _ = timed(lambda: pack_bits(bits), 2)
    w_fast, c_fast_pack, _ = timed(lambda: fast_pack_bits(bits), 3)
    say(f"  NumPy steps the fused kernel replaces: ThermometerEncoder.transform {N / c_enc:,.0f} images/s; "
        f"packing {N:,} images of {bits.shape[1]} bits: fields.pack_bits (np.packbits) {c_pack * 1e3:.0f} ms, "
        f"packed.pack_bits (numba) {c_fast_pack * 1e3:.1f} ms")

    # agreement: every exact method gives the same classes
    agree = bool(np.array_equal(p_px, p_bits) and np.array_equal(p_bits, p_words) and np.array_equal(w_fast, words)
                 and np.array_equal(p_bits[:n_numpy_packed], p_np) and np.array_equal(p_bits[:n_unpacked], p_un)
                 and np.array_equal(preds["threads_1"], p_px) and np.array_equal(preds["threads_2"], p_px))
    if clib is not None:
        from paralens.fields.kernels import unpack_bits

        c_out = unpack_bits(np.ascontiguousarray(preds["c_reference"].T), N)
        agree = agree and bool(np.array_equal(dec.predict(c_out), p_bits))
    relaxed_agreement = float(np.mean(p_rel == p_bits[:n_relaxed]))
    if not agree:
        say("ERROR: the exact methods disagree")

    base = results["packed_pixels"]["samples_per_second"]
    ratios = {k: base / v["samples_per_second"] for k, v in results.items() if k != "packed_pixels"}
    read_limit = results["read_limit"]["samples_per_second"]
    say(f"fused kernel from pixels: {base / read_limit:.1%} of the memory-read limit ({read_limit:,.0f} images/s)"
        + ("" if clib is None else f"; {base / results['c_reference']['samples_per_second']:.2f} times the C reference"))
    say("ratios (rate of packed_pixels / rate of each):")
    for k, r in ratios.items():
        say(f"  {k:<18} {r:>9,.2f}")
    say(f"exact methods agree: {agree}; hardened vs relaxed predictions agree on {relaxed_agreement:.1%} "
        "(random logits: the relaxed mixture is not the argmax gate)")

    two_input = sum(op.k for op in circuit.ops if op.gen.n_in == 2)
    out = {
        "gates": int(two_input),
        "circuit_gates": int(circuit.n_gates),
        "not_gates": int(circuit.gate_counts().get("not", 0)),
        "network_gates": int(net.n_gates),
        "network": "paralens.boolean.gatenet GateNetwork, random logits with two-input argmax, hardened",
        "inputs": int(circuit.n_inputs),
        "outputs": int(circuit.n_outputs),
        "depth": int(circuit.depth()),
        "instructions": pc.stats.get("instructions"),
        "slots": pc.stats.get("slots"),
        "block_words": pc.block_words,
        "samples": N,
        "packed_samples_per_second": results["packed_pixels"]["samples_per_second"],
        "packed_pixels_samples_per_second": results["packed_pixels"]["samples_per_second"],
        "packed_bits_samples_per_second": results["packed_bits"]["samples_per_second"],
        "packed_words_samples_per_second": results["packed_words"]["samples_per_second"],
        "numpy_packed_samples_per_second": results["numpy_packed"]["samples_per_second"],
        "numpy_packed_gates_samples_per_second": results["numpy_packed_gates"]["samples_per_second"],
        "unpacked_samples_per_second": results["unpacked"]["samples_per_second"],
        "relaxed_samples_per_second": results["relaxed"]["samples_per_second"],
        "gates_only_samples_per_second": results["gates_only"]["samples_per_second"],
        "read_limit_samples_per_second": read_limit,
        "fraction_of_read_limit": base / read_limit,
        "c_reference_samples_per_second": None if clib is None else results["c_reference"]["samples_per_second"],
        "c_reference_flags": None if clib is None else " ".join(clib.flags[:2]),
        "vs_c_reference": None if clib is None else base / results["c_reference"]["samples_per_second"],
        "threads_1_wall_samples_per_second": N / wall1,
        "threads_2_wall_samples_per_second": N / wall2,
        "thread_scaling_1_to_2": wall1 / wall2,
        "encode_numpy_samples_per_second": N / c_enc,
        "pack_bits_numpy_samples_per_second": N / c_pack,
        "pack_bits_numba_samples_per_second": N / c_fast_pack,
        "ratios_vs_packed_pixels": ratios,
        "results": results,
        "agree": agree,
        "relaxed_agreement": relaxed_agreement,
        "compile_seconds": t_compile,
        "quick": quick,
        "timer": "process CPU time, one thread, median of the rounds (threads: wall clock)",
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
    }
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
