"""Gate parametrisations and initialisations on MNIST bits, at a budget of hardened gates.

    python experiments/gate_bases.py [--quick] [--only softmax,ind2,...] [--inits normal,residual] [--seed 0]
                                     [--epochs N] [--out experiments/results]
    python -m experiments.gate_bases --quick        # about a minute: the same code on a smaller budget

The question (gate parametrisations and initialisation as options): at the same budget of *hardened*
two-input gates and the same epochs, how do these networks compare?

* ``softmax``: :class:`~paralens.boolean.gate_layers.GateLayer` (difflogic's 16-way softmax over the two-input
  functions, 16 parameters a gate; ``residual``: :func:`~paralens.boolean.gate_layers.gate_init` ``"residual"``);
* ``ind2``, ``walsh2``: :class:`~paralens.boolean.gate_tables.TableLayer` two-input nodes in the indicator
  (truth-table) and Walsh bases (4 parameters a node);
* ``lut4``, ``lut6``: four- and six-input indicator nodes (16 and 64 parameters), each hardened to a
  multiplexer tree of two-input gates.

Every network reads the same MNIST bits (``recipes.load_gates_data(mnist_gates_config().with_(augment_copies=0))``:
the bundled 6,000 training and 2,000 test images, 3 thermometer bits a pixel), its first layer only the bits
that vary in training, with random wiring (no locality, so the parametrisations are compared and not the
wiring).  ``normal`` draws every layer's parameters at random; ``residual`` draws the first layer so and
starts every later one near the copy of each node's first input (a first layer of copies would only select
input bits).  Training: Adam, cosine decay from ``LR``, batch 100, the same epochs for all
(``train_gate_network(..., network=net, backend="jax")``); the head's temperature is
``tau = 0.75 sqrt(outputs per class)`` (30 for the ``mnist-gates`` preset's 1,600).

The widths (:data:`CONFIGS`) were set from pilot runs (``--only``, seed 0) so that the hardened circuits
fall in the budget (:data:`BUDGET`: 8,000-16,000 gates after folding and pruning); the figure that counts
is the hardened gates each run reports, which the table gives.  One seed by default (``--seeds``): the
spread between seeds of one configuration is not measured by the default run.

Reported per run: hardened test accuracy, relaxed test accuracy and the gap (relaxed minus hardened, in
points), hardened gates, learned nodes and parameters, seconds of training (wall clock, with JAX's
compilation) and samples a second.  Writes ``gate_bases.json`` (every run) and ``gate_bases.md``
(``--quick``: ``gate_bases_quick.*``) and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script: make ``experiments`` importable like ``-m`` does
    sys.path.insert(0, str(HERE.parent))

from paralens.files import atomic_write  # noqa: E402

RESULTS = HERE / "results"
BUDGET = (8_000, 16_000)
LR = 0.1
BATCH = 100
EPOCHS = 8
#: name -> (layer kind, k, basis, widths, widths with --quick)
CONFIGS = {
    "softmax": ("softmax", 2, None, (4000, 4000, 4000, 4000), (1000, 1000)),
    "ind2": ("table", 2, "indicator", (4000, 4000, 4000, 4000), (1000, 1000)),
    "walsh2": ("table", 2, "walsh", (4000, 4000, 4000, 4000), (1000, 1000)),
    "lut4": ("table", 4, "indicator", (1000, 1000, 1000), (200, 200)),
    "lut6": ("table", 6, "indicator", (300, 300), (60, 60)),
}
INITS = ("normal", "residual")


def load_data():
    """``(bits_train, y_train, bits_test, y_test, informative)``: the bundled MNIST subset's thermometer bits and
    the indices of the bits that vary in training."""
    from paralens.boolean.recipes import load_gates_data, mnist_gates_config

    btr, ytr, bte, yte, _ = load_gates_data(mnist_gates_config().with_(augment_copies=0))
    informative = np.flatnonzero(btr.min(axis=0) != btr.max(axis=0))
    return btr, ytr, bte, yte, informative


def tau_for(last_width: int, n_classes: int = 10) -> float:
    """The head's temperature: ``0.75 sqrt(outputs per class)``."""
    return round(0.75 * math.sqrt(last_width // n_classes), 2)


def build(name: str, init: str, widths, n_bits: int, inputs, seed: int):
    """The network of configuration ``name`` with initialisation ``init`` (a GateNetwork)."""
    from paralens.boolean.gate_layers import gate_init
    from paralens.boolean.gate_network import GateNetwork
    from paralens.boolean.gate_tables import table_network

    kind, k, basis, _, _ = CONFIGS[name]
    tau = tau_for(widths[-1])
    inits = ["normal"] + [init] * (len(widths) - 1)
    if kind == "softmax":
        return GateNetwork(n_bits, list(widths), 10, seed=seed, tau=tau, inputs=inputs,
                           init=[gate_init(i) for i in inits])
    return table_network(n_bits, widths, 10, k=k, basis=basis, init=inits, seed=seed, tau=tau, inputs=inputs)


def run_one(name: str, init: str, data, *, quick: bool, epochs: int, seed: int) -> dict:
    """Train and harden one configuration; returns its record (figures, settings, history)."""
    from paralens.boolean.gate_training import train_gate_network

    btr, ytr, bte, yte, informative = data
    widths = CONFIGS[name][4] if quick else CONFIGS[name][3]
    net = build(name, init, widths, btr.shape[1], informative, seed)
    n_params = int(sum(np.prod(s.shape) for s in net.para().params.values()))
    circuit, info = train_gate_network(btr, ytr, widths=None, n_classes=10, network=net, epochs=epochs,
                                       batch_size=BATCH, lr=LR, schedule="cosine", seed=seed, backend="jax",
                                       validation=(bte, yte))
    hard, relaxed = info["hardened_test_accuracy"], info["relaxed_test_accuracy"]
    return {"config": name, "init": init, "kind": CONFIGS[name][0], "k": CONFIGS[name][1],
            "basis": CONFIGS[name][2] or "softmax16", "widths": list(widths), "tau": net.tau, "seed": seed,
            "epochs": epochs, "lr": LR, "batch_size": BATCH, "nodes": int(sum(widths)), "parameters": n_params,
            "hardened_test_accuracy": hard, "relaxed_test_accuracy": relaxed, "gap_points": 100 * (relaxed - hard),
            "hardened_train_accuracy": info["hardened_train_accuracy"],
            "relaxed_train_accuracy": info["relaxed_train_accuracy"], "gates": int(info["gates"]),
            "gates_per_node": info["gates"] / sum(widths), "depth": int(info["depth"]),
            "in_budget": BUDGET[0] <= info["gates"] <= BUDGET[1], "seconds": info["seconds"],
            "cpu_seconds": info["cpu_seconds"], "samples_per_second": epochs * len(btr) / info["seconds"],
            "history": [{k: v for k, v in row.items() if isinstance(v, int | float)} for row in info["history"]]}


def markdown(rows: list[dict], command: str, seconds: float, quick: bool) -> str:
    head = ("| network | init | widths | parameters | hardened test % | relaxed test % | gap (points) | "
            "hardened gates | gates / node | depth | train s | samples/s |")
    lines = ["# Gate parametrisations and initialisations on MNIST bits", "",
             f"Command: `{command}`; {seconds:.0f} s on {os.cpu_count()} cores (shared).  The bundled MNIST subset "
             "(6,000 train, 2,000 test, 3 thermometer bits a pixel, no augmentation), random wiring on the varying "
             f"bits, Adam {LR:g} with cosine decay, batch {BATCH}, JAX.  Budget: {BUDGET[0]:,}-{BUDGET[1]:,} hardened "
             "gates" + (" (not with --quick: smaller networks)" if quick else "") + "; gap: relaxed minus hardened "
             "test accuracy.  Settings: the docstring of experiments/gate_bases.py.", "",
             head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        gates = f"{r['gates']:,}" + ("" if r["in_budget"] or quick else " (out of budget)")
        lines.append(f"| {r['config']} ({r['basis']}, k={r['k']}) | {r['init']} | {'-'.join(map(str, r['widths']))} | "
                     f"{r['parameters']:,} | {100 * r['hardened_test_accuracy']:.2f} | "
                     f"{100 * r['relaxed_test_accuracy']:.2f} | {r['gap_points']:+.2f} | {gates} | "
                     f"{r['gates_per_node']:.2f} | {r['depth']} | {r['seconds']:.0f} | {r['samples_per_second']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small networks, 2 epochs (a check of the code)")
    ap.add_argument("--only", default=",".join(CONFIGS), help="comma-separated, from " + ", ".join(CONFIGS))
    ap.add_argument("--inits", default=",".join(INITS), help="comma-separated, from " + ", ".join(INITS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help=f"epochs (default {EPOCHS}; 2 with --quick)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    inits = [n for n in args.inits.split(",") if n]
    if set(names) - set(CONFIGS) or set(inits) - set(INITS):
        ap.error(f"unknown configurations {sorted(set(names) - set(CONFIGS))} or inits {sorted(set(inits) - set(INITS))}")
    epochs = args.epochs or (2 if args.quick else EPOCHS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = load_data()
    rows = []
    for name in names:
        for init in inits:
            r = run_one(name, init, data, quick=args.quick, epochs=epochs, seed=args.seed)
            rows.append(r)
            print(f"  {name} {init}: hardened {100 * r['hardened_test_accuracy']:.2f}% (relaxed "
                  f"{100 * r['relaxed_test_accuracy']:.2f}%), {r['gates']:,} gates, {r['seconds']:.0f} s", flush=True)
    seconds = time.perf_counter() - t0
    command = "python experiments/gate_bases.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    md = markdown(rows, command, seconds, args.quick)
    result = {"experiment": "gate_bases", "quick": args.quick, "command": command, "seconds": seconds,
              "budget": list(BUDGET), "lr": LR, "batch_size": BATCH, "epochs": epochs, "rows": rows,
              "cpus": os.cpu_count(), "python": platform.python_version()}
    stem = "gate_bases_quick" if args.quick else "gate_bases"
    atomic_write(out / f"{stem}.json", json.dumps(result, indent=1))
    atomic_write(out / f"{stem}.md", md)
    print("\n" + md)
    print(f"wrote {out / stem}.json and .md in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
