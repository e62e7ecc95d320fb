"""GF(2) training throughput: bit-packed passes against one byte per example, side by side in one run.

    python benchmarks/bench_training.py [--quick] [--json] [--rounds 3]

The models are the MNIST LUT presets' (``mnist-vote``: 10 x 128 learned LUT8 on the bundled MNIST
subset's thresholded pixels, the vote optimiser with batches of 32; ``mnist-rda``: 10 x 64 LUT6,
plain reverse derivative ascent, batch 1), trained for a fixed number of steps by
:func:`paralens.boolean.train.train_circuit` from zero parameters, once with the parametric
circuit run bit-packed (64 examples to a ``uint64`` word: the default over GF(2)) and once with
``packed=False`` (one byte per example, what paralens did before).  Both must end with the same
parameters (checked).  Reported: examples per second of each (the best of ``--rounds`` rounds that
run both, by this process's CPU time) and their ratio, measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import time


def _setup(name: str, n_steps: int, per_class: int | None):
    import numpy as np

    from paralens.boolean.presets import _encoder, get_preset, load_integer_data
    from paralens.boolean.train import targets

    preset = get_preset(name)
    Xtr, ytr, _, _ = load_integer_data(preset.dataset)
    bits = _encoder(preset.options["encoder"], Xtr).transform(Xtr).astype(np.int64)
    opts = {"per_class": per_class} if per_class else {}
    model = preset.build(bits, 10, 0, **opts)
    batch = preset.options.get("batch_size", 1)
    n = min(len(bits), n_steps * batch)
    tgt = targets(ytr, 10, model.circuit.n_outputs // 10)
    return preset, model, bits[:n], tgt[:n], batch


def _train(model, preset, bits, tgt, batch):
    import numpy as np

    from paralens.boolean.train import train_circuit
    from paralens.learning import optimisers

    opts = preset.options
    opt = None if opts.get("rda") else optimisers.vote(opts.get("threshold", 1), decay=opts.get("decay", 0.0))
    init = {k: np.zeros(s.shape, dtype=np.int64) for k, s in model.params.items()}
    t0, c0 = time.perf_counter(), time.process_time()
    _, info = train_circuit(model, bits, tgt, epochs=1, batch_size=batch, seed=0, optimiser=opt, params=init,
                            score=lambda p: 0.0)
    return info["final_params"], time.perf_counter() - t0, time.process_time() - c0


def bench(name: str, n_steps: int, rounds: int, per_class: int | None = None) -> dict:
    import numpy as np

    from paralens.circuits.lens import ParaCircuit

    preset, model, bits, tgt, batch = _setup(name, n_steps, per_class)
    models = {"packed": ParaCircuit(model.circuit, model.params, packed=True),
              "unpacked": ParaCircuit(model.circuit, model.params, packed=False)}
    best = {k: None for k in models}
    finals = {}
    for _ in range(rounds):
        for k, m in models.items():
            params, wall, cpu = _train(m, preset, bits, tgt, batch)
            finals[k] = params
            if best[k] is None or cpu < best[k][1]:
                best[k] = (wall, cpu)
    same = all(np.array_equal(finals["packed"][p], finals["unpacked"][p]) for p in finals["packed"])
    res = {"model": name, "gates": model.circuit.n_gates, "batch_size": batch, "examples": len(bits),
           "same_parameters": bool(same)}
    for k, (wall, cpu) in best.items():
        res[k] = {"examples_per_second": len(bits) / cpu, "wall_examples_per_second": len(bits) / wall,
                  "cpu_seconds": cpu}
    res["ratio"] = res["packed"]["examples_per_second"] / res["unpacked"]["examples_per_second"]
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps, smaller vote model, one round")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    runs = [bench("mnist-vote", 20 if args.quick else 60, rounds, per_class=16 if args.quick else None),
            bench("mnist-rda", 100 if args.quick else 600, rounds)]
    if args.json:
        print(json.dumps(runs, indent=1))
    else:
        for r in runs:
            print(f"{r['model']} ({r['gates']:,} gates, batch {r['batch_size']}, {r['examples']} examples): "
                  f"packed {r['packed']['examples_per_second']:,.0f}/s, unpacked "
                  f"{r['unpacked']['examples_per_second']:,.0f}/s, ratio {r['ratio']:.1f}; "
                  f"same parameters: {r['same_parameters']}")
    return 0 if all(r["same_parameters"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
