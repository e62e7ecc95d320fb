"""Training throughput: GF(2) LUT training (bit-packed against one byte per example), and with ``--gates``
relaxed gate-network training against a PyTorch difflogic step, side by side in one run.

    python benchmarks/bench_training.py [--quick] [--json] [--rounds 3]
    python benchmarks/bench_training.py --gates [--quick] [--json] [--rounds 7] [--steps 10] [--engines numpy,jax,jax-epoch,torch]

The models are the MNIST LUT presets' (``mnist-vote``: 10 x 128 learned LUT8 on the bundled MNIST
subset's thresholded pixels, the vote optimiser with batches of 32; ``mnist-rda``: 10 x 64 LUT6,
plain reverse derivative ascent, batch 1), trained for a fixed number of steps by
:func:`paralens.boolean.train.train_circuit` from zero parameters, once with the parametric
circuit run bit-packed (64 examples to a ``uint64`` word: the default over GF(2)) and once with
``packed=False`` (one byte per example, what paralens did before).  Both must end with the same
parameters (checked).  Reported: examples per second of each (the best of ``--rounds`` rounds that
run both, by this process's CPU time) and their ratio, measured in this one run.

``--gates``: the relaxed training step (forward, reverse, Adam) of a gate network, by default
6 layers x 8,000 gates (48,000) on 1,568 random input bits (MNIST's 784 pixels x 2 thresholds),
fixed random wiring, 16-way softmax gates, group-sum head (tau 10), batch 100, softmax
cross-entropy: paralens's step (``numpy``: ``train_step``; ``jax``: ``compile_train_step``, one call
per step; ``jax-epoch``: a round's steps in one compiled ``lax.scan``, as ``train_gate_network``
trains on JAX) and a PyTorch re-implementation of difflogic's step (``torch``: each gate the
softmax-weighted sum of the 16 functions' real relaxations, per sample; autograd;
``torch.optim.Adam``; optional ``torch4``: the same with the mixture read as four coefficients per
gate), every engine on one thread.  All start from the same logits and must give the same loss on the first two steps
(checked: the second compares the Adam updates).  Rounds interleave the engines; reported: the
median samples per second (by this process's CPU time, and by wall clock) and each engine's
ratio to PyTorch.
"""

from __future__ import annotations

import argparse
import json
import os
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


# ----------------------------------------------------------------------------- gate networks


def one_thread() -> None:
    """Every engine on one thread: must run before NumPy, JAX or PyTorch is imported."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def gate_setup(n_bits: int, layers: int, width: int, batch: int, n_batches: int, tau: float, seed: int = 0):
    """The network (paralens :class:`GateNetwork`), its initial logits, and ``n_batches`` batches of random bits
    with random labels (the speed of a step does not depend on the data)."""
    import numpy as np

    from paralens.boolean.gate_network import GateNetwork

    net = GateNetwork(n_bits, [width] * layers, 10, seed=seed, tau=tau)
    params = {k: np.asarray(v, dtype=np.float32) for k, v in net.init(seed).items()}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 19]))
    xs = rng.integers(0, 2, (n_batches, batch, n_bits)).astype(np.float32)
    ys = rng.integers(0, 10, (n_batches, batch))
    return net, params, xs, ys


ENGINES = ("numpy", "jax", "jax-epoch", "torch", "torch4")


def paralens_engine(net, params, engine: str, lr: float):
    """``run(xs, ys) -> losses``: paralens's training steps on batches ``xs[i], ys[i]`` in turn, from ``params``.

    ``numpy``: :func:`~paralens.learning.supervised.train_step`; ``jax``: the step compiled
    (:func:`~paralens.training.compile.compile_train_step`, what ``fit(backend="jax")`` runs per batch);
    ``jax-epoch``: all the batches in one compiled ``lax.scan`` (:func:`~paralens.training.compile.compile_epoch`,
    ``fit(..., whole_epoch=True)``, what :func:`~paralens.boolean.gate_training.train_gate_network` runs on JAX).
    """
    import numpy as np

    from paralens.learning import losses, optimisers
    from paralens.learning.supervised import Learner, train_step

    learner = Learner(net.para(), losses.softmax_cross_entropy(), optimisers.adam(lr))
    eye = np.eye(net.n_classes, dtype=np.float32)
    if engine == "numpy":
        state = [learner.init(0, params={k: v.copy() for k, v in params.items()})]

        def run(xs, ys):
            out = []
            for x, y in zip(xs, ys):
                state[0], m = train_step(learner, state[0], x, eye[y])
                out.append(float(m["loss"]))
            return out

        return run
    import jax.numpy as jnp

    from paralens.training.compile import compile_epoch, compile_train_step, device_copy

    state = [learner.init(0, backend="jax", params=device_copy(params))]
    if engine == "jax":
        jitted = compile_train_step(learner)

        def run(xs, ys):
            out = []
            for x, y in zip(xs, ys):
                state[0], m = jitted(state[0], jnp.asarray(x), jnp.asarray(eye[y]))
                out.append(float(m["loss"]))
            return out

        return run
    epochs = {}  # one compiled scan per batch size

    def run(xs, ys):
        n, b = xs.shape[0], xs.shape[1]
        if b not in epochs:
            epochs[b] = compile_epoch(learner, b, with_metrics=True)
        state[0], m = epochs[b](state[0], jnp.asarray(xs.reshape(n * b, -1)), jnp.asarray(eye[ys.reshape(-1)]),
                                jnp.arange(n * b))
        return [float(v) for v in m["loss"]]

    return run


def torch_engine(net, params, lr: float, collapsed: bool = False):
    """``run(xs, ys) -> losses``: difflogic's training step re-implemented in PyTorch (eager, autograd, Adam).

    A logic layer reads ``a = x[:, ia]``, ``b = x[:, ib]`` and outputs ``sum_k softmax(w)_k f_k(a, b)`` with
    ``f_k`` the real relaxation of the ``k``-th two-input function (difflogic's order, as
    :data:`paralens.circuits.truth.GATE_NAMES`), computed for every sample; the head sums groups of outputs
    over ``tau``; the loss is cross-entropy.  The wiring and initial logits are ``net``'s and ``params``'s.
    ``collapsed``: the mixture read as its four multilinear coefficients ``softmax(w) @ COEFFS`` per gate
    (paralens's formulation, in PyTorch: how much of the difference is the formulation).
    """
    import torch

    from paralens.circuits.truth import COEFFS

    torch.set_num_threads(1)
    coeffs = torch.as_tensor(COEFFS, dtype=torch.float32)

    def relaxations(a, b):
        ab = a * b
        return (torch.zeros_like(a), ab, a - ab, a, b - ab, b, a + b - 2 * ab, a + b - ab, 1 - (a + b - ab),
                1 - (a + b - 2 * ab), 1 - b, 1 - b + ab, 1 - a, 1 - a + ab, 1 - ab, torch.ones_like(a))

    class LogicLayer(torch.nn.Module):
        def __init__(self, ia, ib, logits):
            super().__init__()
            self.ia, self.ib = torch.as_tensor(ia), torch.as_tensor(ib)
            self.weights = torch.nn.Parameter(torch.as_tensor(logits).clone())

        def forward(self, x):
            a, b = x[:, self.ia], x[:, self.ib]
            w = torch.softmax(self.weights, dim=-1)
            if collapsed:
                c = w @ coeffs
                return c[:, 0] + a * (c[:, 1] + c[:, 3] * b) + c[:, 2] * b
            return sum(w[:, k] * f for k, f in enumerate(relaxations(a, b)))

    model = torch.nn.Sequential(*[LogicLayer(layer.ia, layer.ib, params[f"{i}.logits"])
                                  for i, layer in enumerate(net.layers)])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    k, tau = net.n_classes, net.tau

    def step(x, y):
        out = model(torch.from_numpy(x))
        scores = out.reshape(out.shape[0], k, -1).sum(-1) / tau
        loss = torch.nn.functional.cross_entropy(scores, torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return lambda xs, ys: [step(x, y) for x, y in zip(xs, ys)]


def bench_gates(engines, rounds: int, steps: int, n_bits: int = 1568, layers: int = 6, width: int = 8000,
                batch: int = 100, tau: float = 10.0, lr: float = 0.01) -> dict:
    """Every engine from the same logits: the first two steps' losses compared, one untimed round (JAX
    compiles), then ``rounds`` rounds of ``steps`` steps, the engines in turn within each round."""
    import contextlib

    import numpy as np

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables of one_thread() still hold
        threadpool_limits = contextlib.nullcontext
    net, params, xs, ys = gate_setup(n_bits, layers, width, batch, steps + 2, tau)
    with threadpool_limits(1):
        runs = {e: torch_engine(net, params, lr, collapsed=e == "torch4") if e.startswith("torch")
                else paralens_engine(net, params, e, lr) for e in engines}
        first = {e: run(xs[:2], ys[:2]) for e, run in runs.items()}
        ref = first[engines[0]]
        same = all(np.allclose(v, ref, rtol=1e-4, atol=1e-5) for v in first.values())
        times = {e: [] for e in engines}
        for r in range(rounds + 1):
            for e, run in runs.items():
                t0, c0 = time.perf_counter(), time.process_time()
                run(xs[2:], ys[2:])
                if r:
                    times[e].append((time.perf_counter() - t0, time.process_time() - c0))
    n = steps * batch
    res = {"network": f"{layers} x {width} gates on {n_bits} bits", "gates": layers * width, "batch_size": batch,
           "steps_per_round": steps, "rounds": rounds, "tau": tau, "threads": 1,
           "first_two_losses": first, "same_losses": bool(same)}
    for e in engines:
        wall, cpu = np.array(times[e]).T
        res[e] = {"samples_per_second": float(np.median(n / cpu)),
                  "wall_samples_per_second": float(np.median(n / wall)),
                  "ms_per_step": float(np.median(cpu)) * 1000 / steps}
    if "torch" in engines:
        for e in engines:
            res[e]["ratio_to_torch"] = res[e]["samples_per_second"] / res["torch"]["samples_per_second"]
    return res


def _print_gates(r: dict) -> None:
    print(f"relaxed training step, {r['network']} ({r['gates']:,}), batch {r['batch_size']}, one thread, "
          f"median of {r['rounds']} rounds x {r['steps_per_round']} steps; same losses: {r['same_losses']}")
    for e, v in r.items():
        if isinstance(v, dict) and "samples_per_second" in v:
            ratio = f", {v['ratio_to_torch']:.2f}x torch" if "ratio_to_torch" in v else ""
            print(f"  {e:9s} {v['samples_per_second']:9,.0f} samples/s (CPU time; wall {v['wall_samples_per_second']:,.0f}),"
                  f" {v['ms_per_step']:.1f} ms/step{ratio}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps, smaller vote model, one round")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--gates", action="store_true", help="relaxed gate-network training against a PyTorch difflogic step")
    ap.add_argument("--engines", default="numpy,jax,jax-epoch,torch",
                    help="with --gates: comma-separated, of " + ", ".join(ENGINES))
    ap.add_argument("--steps", type=int, default=None, help="with --gates: steps per engine per round")
    args = ap.parse_args(argv)
    if args.gates:
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        bad = sorted(set(engines) - set(ENGINES))
        if bad or not engines:
            ap.error(f"--engines: unknown {bad or 'empty list'}; choose from {', '.join(ENGINES)}")
        one_thread()
        r = bench_gates(engines, args.rounds or (2 if args.quick else 7), args.steps or (3 if args.quick else 10))
        print(json.dumps(r, indent=1)) if args.json else _print_gates(r)
        return 0 if r["same_losses"] else 1
    if args.steps is not None or args.engines != ap.get_default("engines"):
        ap.error("--steps and --engines go with --gates")
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
