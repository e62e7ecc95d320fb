"""Training throughput on an accelerator: paralens on JAX against a hand-written JAX + Optax peer.

Trains ``mnist-mlp`` and ``mnist-cnn-large`` (the presets of :mod:`paralens.models`) with
Adam (lr 1e-3) and softmax cross-entropy, batch 128, on the bundled 6,000 training
digits replicated ``--replicate`` times (10: 60,000 samples, an MNIST-sized epoch), in
two modes each:

* ``scan``: the whole epoch in one compiled ``lax.scan`` (paralens: ``compile_epoch``);
* ``step``: a jitted step (paralens: ``compile_train_step``, no non-finite guard) in a
  host loop over batches already on the device.

It prints the device, the compile times, samples per second of both and their ratio
(paralens / peer: above 1 means paralens is faster).  Everything it needs is in the
repository::

    python benchmarks/gpu_bench.py                          # on the GPU: 60k samples, 3 epochs
    python benchmarks/gpu_bench.py --replicate 1 --epochs 1 # a quick check on a CPU

The first epoch of each run (warm-up) is excluded when there are several; the figure is
the median of the others.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from paralens.files import atomic_open

BATCH = 128


def load(replicate: int):
    from paralens import data
    from paralens.training.fit import prepare_targets

    train = data.load_mnist(data.mnist_subset_path(), "train")
    x = np.ascontiguousarray(np.tile(train.features.astype(np.float32), (replicate, 1, 1, 1)))
    t = np.tile(prepare_targets(None, train.labels, 10), (replicate, 1))
    return x, t


# -- paralens ------------------------------------------------------------------------------------------


def paralens_runner(model_name, mode, xj, tj, n):
    import jax

    from paralens.backend.jax_compile import compile_epoch, compile_train_step
    from paralens.learning import losses, optimisers
    from paralens.learning.supervised import Learner
    from paralens.models import get_preset

    learner = Learner(get_preset(model_name).build(), losses.softmax_cross_entropy(), optimisers.adam(1e-3))
    box = [learner.init(0, backend="jax")]
    t0 = time.perf_counter()
    if mode == "scan":
        fn = compile_epoch(learner, BATCH).lower(box[0], xj, tj, jax.numpy.arange(n)).compile()
    else:
        fn = compile_train_step(learner, guard=False).lower(box[0], xj[:BATCH], tj[:BATCH], None).compile()
    compile_s = time.perf_counter() - t0

    def run(order):
        if mode == "scan":
            box[0], out = fn(box[0], xj, tj, order)
        else:
            xs, ts = xj[order].reshape((-1, BATCH) + xj.shape[1:]), tj[order].reshape(-1, BATCH, tj.shape[1])
            s = box[0]
            for b in range(n // BATCH):
                s, m = fn(s, xs[b], ts[b], None)
            box[0], out = s, m["loss"]
        jax.block_until_ready(out)

    return run, compile_s


# -- JAX + Optax, written as a JAX user would ---------------------------------------------------------


def optax_runner(model_name, mode, xj, tj, n):
    import jax
    import jax.numpy as jnp
    import optax

    k = jax.random.split(jax.random.PRNGKey(0), 4)

    def he(key, shape, fan_in):
        return jax.random.normal(key, shape) * np.sqrt(2.0 / fan_in)

    if model_name == "mnist-mlp":
        params = {"w1": he(k[0], (784, 128), 784), "b1": jnp.zeros(128),
                  "w2": he(k[1], (128, 10), 128), "b2": jnp.zeros(10)}

        def apply(p, xb):
            h = jax.nn.relu(xb.reshape(xb.shape[0], -1) @ p["w1"] + p["b1"])
            return h @ p["w2"] + p["b2"]
    else:
        params = {"c1": he(k[0], (32, 1, 3, 3), 9), "cb1": jnp.zeros(32),
                  "c2": he(k[1], (64, 32, 3, 3), 288), "cb2": jnp.zeros(64),
                  "w1": he(k[2], (1600, 128), 1600), "b1": jnp.zeros(128),
                  "w2": he(k[3], (128, 10), 128), "b2": jnp.zeros(10)}

        def conv(xb, w, b):
            y = jax.lax.conv_general_dilated(xb, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return y + b[None, :, None, None]

        def pool(xb):
            return jax.lax.reduce_window(xb, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

        def apply(p, xb):
            h = pool(jax.nn.relu(conv(xb, p["c1"], p["cb1"])))
            h = pool(jax.nn.relu(conv(h, p["c2"], p["cb2"])))
            h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p["w1"] + p["b1"])
            return h @ p["w2"] + p["b2"]

    tx = optax.adam(1e-3)
    st = tx.init(params)

    def step(p, s, xb, tb):
        loss, g = jax.value_and_grad(lambda q: optax.softmax_cross_entropy(apply(q, xb), tb).mean())(p)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    def epoch(p, s, xs, ts, order):
        def body(carry, idx):
            p, s, loss = step(*carry, xs[idx], ts[idx])
            return (p, s), loss

        (p, s), losses = jax.lax.scan(body, (p, s), order.reshape(-1, BATCH))
        return p, s, losses

    box = [params, st]
    t0 = time.perf_counter()
    if mode == "scan":
        fn = jax.jit(epoch, donate_argnums=(0, 1)).lower(params, st, xj, tj, jnp.arange(n)).compile()
    else:
        fn = jax.jit(step, donate_argnums=(0, 1)).lower(params, st, xj[:BATCH], tj[:BATCH]).compile()
    compile_s = time.perf_counter() - t0

    def run(order):
        if mode == "scan":
            p, s, out = fn(box[0], box[1], xj, tj, order)
        else:
            xs, ts = xj[order].reshape((-1, BATCH) + xj.shape[1:]), tj[order].reshape(-1, BATCH, tj.shape[1])
            p, s = box
            for b in range(n // BATCH):
                p, s, out = fn(p, s, xs[b], ts[b])
        jax.block_until_ready(out)
        box[0], box[1] = p, s

    return run, compile_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicate", type=int, default=10, help="copies of the 6,000 bundled digits (10: 60k)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--models", default="mnist-mlp,mnist-cnn-large")
    ap.add_argument("--modes", default="scan,step")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp

    dev = jax.devices()[0]
    print(f"device: {dev.platform} {getattr(dev, 'device_kind', '')} (x{jax.device_count()}); jax {jax.__version__}")
    x, t = load(args.replicate)
    xj, tj = jnp.asarray(x), jnp.asarray(t)
    n = len(x) // BATCH * BATCH
    print(f"data: {len(x)} samples, {n // BATCH} steps of {BATCH} per epoch, Adam lr 1e-3")
    results = {"device": f"{dev.platform} {getattr(dev, 'device_kind', '')}", "samples": len(x), "runs": {}}
    for model_name in args.models.split(","):
        for mode in args.modes.split(","):
            row = {}
            runners = {"paralens": paralens_runner(model_name, mode, xj, tj, n),
                       "jax-optax": optax_runner(model_name, mode, xj, tj, n)}
            times = {name: [] for name in runners}
            for e in range(args.epochs):  # interleaved, so that both see the same machine state
                order = jnp.asarray(np.random.default_rng(e).permutation(len(x))[:n])
                for name, (run, _) in runners.items():
                    t0 = time.perf_counter()
                    run(order)
                    times[name].append(time.perf_counter() - t0)
            for name, (_, compile_s) in runners.items():
                ts = times[name][1:] if len(times[name]) > 1 else times[name]
                sec = statistics.median(ts)
                row[name] = {"epoch_s": sec, "samples_per_s": n / sec, "compile_s": compile_s}
            ratio = row["paralens"]["samples_per_s"] / row["jax-optax"]["samples_per_s"]
            row["ratio_paralens_over_peer"] = ratio
            results["runs"][f"{model_name}/{mode}"] = row
            print(f"\n{model_name}, {mode}:")
            for name in runners:
                r = row[name]
                print(f"  {name:<10} {r['samples_per_s']:>12,.0f} samples/s  ({r['epoch_s']:.3f} s/epoch, "
                      f"compile {r['compile_s']:.2f} s)")
            print(f"  throughput ratio paralens / jax-optax: {ratio:.2f}")
    if args.json:
        with atomic_open(args.json) as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
