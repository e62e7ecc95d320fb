"""Steady-state seconds per epoch on the bundled MNIST subset (6,000 digits, batch 128).

Runs, in one process and interleaved, paralens (NumPy backend; JAX too with
``--jax``) and the peers a user would otherwise pick: a hand-written NumPy loop
(the MLP), a hand-written PyTorch eager loop, and (``--jax``) a hand-written
JAX + Optax step, jitted.  Prints each time and the ratio paralens / peer.

    python benchmarks/bench_mnist.py [--epochs 5] [--jax [--jax-steps]] [--only mlp-sgd,mlp-adam,cnn-adam]

The first epoch (warm-up) is reported separately and excluded; the JAX runners
are compiled ahead of time and their compile times (one step, the whole epoch)
printed apart.  The figure is the median of the remaining epochs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from paralens import data
from paralens.files import atomic_open
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner, train_step
from paralens.models import mnist_cnn, mnist_mlp
from paralens.training.fit import prepare_targets

BATCH = 128


def load():
    train = data.load_mnist(data.mnist_subset_path(), "train")
    x = np.ascontiguousarray(train.features, dtype=np.float32)
    t = prepare_targets(None, train.labels, 10)
    return x, t


def batches(n, epoch):
    order = np.random.default_rng(epoch).permutation(n)
    return [order[i : i + BATCH] for i in range(0, n, BATCH)]


def time_epochs(run_epoch, epochs):
    times = []
    for e in range(epochs):
        t0 = time.perf_counter()
        run_epoch(e)
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times[1:])


# -- paralens -------------------------------------------------------------------------


def paralens_numpy(kind, opt, x, t):
    model = mnist_mlp() if kind == "mlp" else mnist_cnn()
    o = optimisers.sgd(0.1) if opt == "sgd" else optimisers.adam(1e-3)
    learner = Learner(model, losses.softmax_cross_entropy(), o, learning_rates.unit())
    state = [learner.init(0)]

    def run(e):
        s = state[0]
        for idx in batches(len(x), e):
            s, _ = train_step(learner, s, x[idx], t[idx])
        state[0] = s

    return run


def paralens_jax(kind, opt, x, t):
    """paralens on JAX: the whole epoch in one compiled ``lax.scan`` (compile_epoch)."""
    import jax
    import jax.numpy as jnp

    from paralens.backend.jax_backend import compile_epoch, compile_train_step

    model = mnist_mlp() if kind == "mlp" else mnist_cnn()
    o = optimisers.sgd(0.1) if opt == "sgd" else optimisers.adam(1e-3)
    learner = Learner(model, losses.softmax_cross_entropy(), o, learning_rates.unit())
    state = [learner.init(0, backend="jax")]
    xj, tj = jnp.asarray(x), jnp.asarray(t)
    n = len(x) // BATCH * BATCH
    order0 = jnp.arange(n)
    # compile ahead of time, to report the compile times apart from the epochs
    t0 = time.perf_counter()
    compile_train_step(learner).lower(state[0], xj[:BATCH], tj[:BATCH], None).compile()
    t1 = time.perf_counter()
    epoch_fn = compile_epoch(learner, BATCH).lower(state[0], xj, tj, order0).compile()
    t2 = time.perf_counter()

    def run(e):
        order = jnp.asarray(np.random.default_rng(e).permutation(len(x))[:n])
        s, losses_ = epoch_fn(state[0], xj, tj, order)
        jax.block_until_ready(losses_)
        state[0] = s

    run.compile_s = {"step": t1 - t0, "epoch": t2 - t1}
    return run


def paralens_jax_step(kind, opt, x, t):
    """paralens on JAX: the jitted step (compile_train_step, no non-finite guard) in a host loop."""
    import jax
    import jax.numpy as jnp

    from paralens.backend.jax_backend import compile_train_step

    model = mnist_mlp() if kind == "mlp" else mnist_cnn()
    o = optimisers.sgd(0.1) if opt == "sgd" else optimisers.adam(1e-3)
    learner = Learner(model, losses.softmax_cross_entropy(), o, learning_rates.unit())
    state = [learner.init(0, backend="jax")]
    xj, tj = jnp.asarray(x), jnp.asarray(t)
    n = len(x) // BATCH * BATCH
    t0 = time.perf_counter()
    step = compile_train_step(learner, guard=False).lower(state[0], xj[:BATCH], tj[:BATCH], None).compile()
    compile_s = time.perf_counter() - t0

    def run(e):
        order = jnp.asarray(np.random.default_rng(e).permutation(len(x))[:n])
        xs, ts = xj[order].reshape((-1, BATCH) + x.shape[1:]), tj[order].reshape(-1, BATCH, t.shape[1])
        s = state[0]
        for b in range(n // BATCH):
            s, m = step(s, xs[b], ts[b], None)
        jax.block_until_ready(m["loss"])
        state[0] = s

    run.compile_s = {"step": compile_s, "epoch": 0.0}
    return run


# -- hand-written NumPy (the MLP) -------------------------------------------------------


def numpy_mlp(opt, x, t):
    rng = np.random.default_rng(0)
    xf = x.reshape(len(x), -1)
    w1 = (rng.standard_normal((784, 128)) * np.sqrt(2 / 784)).astype(np.float32)
    b1 = np.zeros(128, np.float32)
    w2 = (rng.standard_normal((128, 10)) * np.sqrt(1 / 128)).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    params = [w1, b1, w2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = [0]

    def run(e):
        for idx in batches(len(x), e):
            xb, tb = xf[idx], t[idx]
            h = xb @ params[0] + params[1]
            a = np.maximum(h, 0)
            z = a @ params[2] + params[3]
            z = z - z.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            dz = (p - tb) / len(idx)
            gw2 = a.T @ dz
            gb2 = dz.sum(0)
            da = dz @ params[2].T
            dh = da * (h > 0)
            gw1 = xb.T @ dh
            gb1 = dh.sum(0)
            grads = [gw1, gb1, gw2, gb2]
            step[0] += 1
            for i, g in enumerate(grads):
                if opt == "sgd":
                    params[i] -= 0.1 * g
                else:
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    mh = m[i] / (1 - 0.9 ** step[0])
                    vh = v[i] / (1 - 0.999 ** step[0])
                    params[i] -= 1e-3 * mh / (np.sqrt(vh) + 1e-8)

    return run


# -- PyTorch eager -------------------------------------------------------------------


def torch_loop(kind, opt, x, t):
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    if kind == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))
    o = torch.optim.SGD(net.parameters(), lr=0.1) if opt == "sgd" else torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(t.argmax(1))
    lossf = nn.CrossEntropyLoss()

    def run(e):
        for idx in batches(len(x), e):
            ii = torch.from_numpy(idx)
            o.zero_grad()
            loss = lossf(net(xt[ii]), yt[ii])
            loss.backward()
            o.step()

    return run


# -- JAX + Optax, jitted (each step returns its loss, as paralens's does) ------------------------------------


def jax_optax(kind, opt, x, t, step_loop=False):
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(0)
    k = jax.random.split(key, 4)
    if kind == "mlp":
        params = {"w1": jax.random.normal(k[0], (784, 128)) * np.sqrt(2 / 784), "b1": jnp.zeros(128),
                  "w2": jax.random.normal(k[1], (128, 10)) * np.sqrt(1 / 128), "b2": jnp.zeros(10)}

        def apply(p, xb):
            h = jax.nn.relu(xb.reshape(xb.shape[0], -1) @ p["w1"] + p["b1"])
            return h @ p["w2"] + p["b2"]
    else:
        # channels-last (NHWC / HWIO), the layout XLA's CPU convolutions are fast in, as a JAX
        # user tuning for the CPU would write it (NCHW inside lax.scan is several times slower)
        params = {"c1": jax.random.normal(k[0], (3, 3, 1, 8)) * 0.3, "cb1": jnp.zeros(8),
                  "c2": jax.random.normal(k[1], (3, 3, 8, 16)) * 0.1, "cb2": jnp.zeros(16),
                  "w": jax.random.normal(k[2], (400, 10)) * 0.05, "b": jnp.zeros(10)}

        def conv(xb, w, b):
            y = jax.lax.conv_general_dilated(xb, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
            return y + b

        def pool(xb):
            return jax.lax.reduce_window(xb, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        def apply(p, xb):
            h = pool(jax.nn.relu(conv(xb, p["c1"], p["cb1"])))
            h = pool(jax.nn.relu(conv(h, p["c2"], p["cb2"])))
            return h.reshape(h.shape[0], -1) @ p["w"] + p["b"]

    tx = optax.sgd(0.1) if opt == "sgd" else optax.adam(1e-3)
    st = tx.init(params)

    def loss_fn(p, xb, tb):
        return optax.softmax_cross_entropy(apply(p, xb), tb).mean()

    # like paralens's compiled epoch, each step also returns its batch's mean loss
    def step(p, s, xb, tb):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, tb)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    def epoch(p, s, xs, ts, order):
        def body(carry, idx):
            p, s, loss = step(*carry, xs[idx], ts[idx])
            return (p, s), loss

        (p, s), losses_ = jax.lax.scan(body, (p, s), order.reshape(-1, BATCH))
        return p, s, losses_

    xj, tj = jnp.asarray(x if kind == "mlp" else x.transpose(0, 2, 3, 1)), jnp.asarray(t)
    box = [params, st]
    n = len(x) // BATCH * BATCH
    t0 = time.perf_counter()
    jax.jit(step, donate_argnums=(0, 1)).lower(params, st, xj[:BATCH], tj[:BATCH]).compile()
    t1 = time.perf_counter()
    epoch_c = jax.jit(epoch, donate_argnums=(0, 1)).lower(params, st, xj, tj, jnp.arange(n)).compile()
    t2 = time.perf_counter()

    def run(e):
        order = jnp.asarray(np.random.default_rng(e).permutation(len(x))[:n])
        p, s, losses_ = epoch_c(box[0], box[1], xj, tj, order)
        jax.block_until_ready(losses_)
        box[0], box[1] = p, s

    run.compile_s = {"step": t1 - t0, "epoch": t2 - t1}
    if not step_loop:
        return run
    step_c = jax.jit(step, donate_argnums=(0, 1)).lower(params, st, xj[:BATCH], tj[:BATCH]).compile()

    def run_steps(e):
        order = jnp.asarray(np.random.default_rng(e).permutation(len(x))[:n])
        xs, ts = xj[order].reshape((-1, BATCH) + xj.shape[1:]), tj[order].reshape(-1, BATCH, t.shape[1])
        p, s = box
        for b in range(n // BATCH):
            p, s, loss = step_c(p, s, xs[b], ts[b])
        jax.block_until_ready(loss)
        box[0], box[1] = p, s

    run_steps.compile_s = {"step": t1 - t0, "epoch": 0.0}
    return run_steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--jax", action="store_true", help="also paralens on JAX and JAX + Optax")
    ap.add_argument("--jax-steps", action="store_true",
                    help="with --jax, also both as a jitted step in a host loop (no lax.scan)")
    ap.add_argument("--only", default="mlp-sgd,mlp-adam,cnn-adam")
    ap.add_argument("--json", default=None, help="write the results to this file")
    args = ap.parse_args()
    x, t = load()
    results = {}
    for case in args.only.split(","):
        kind, opt = case.split("-")
        runners = {"paralens-numpy": paralens_numpy(kind, opt, x, t)}
        if kind == "mlp":
            runners["numpy-hand"] = numpy_mlp(opt, x, t)
        try:
            runners["torch-eager"] = torch_loop(kind, opt, x, t)
        except ImportError:
            pass
        if args.jax:
            runners["paralens-jax"] = paralens_jax(kind, opt, x, t)
            runners["jax-optax"] = jax_optax(kind, opt, x, t)
            if args.jax_steps:
                runners["paralens-jax-step"] = paralens_jax_step(kind, opt, x, t)
                runners["jax-optax-step"] = jax_optax(kind, opt, x, t, step_loop=True)
        row = {}
        for name, run in runners.items():
            first, steady = time_epochs(run, args.epochs)
            row[name] = {"first_epoch_s": first, "epoch_s": steady}
            if hasattr(run, "compile_s"):
                row[name]["compile_s"] = run.compile_s
        results[case] = row
        print(f"\n{case}: steady-state s/epoch (first epoch; JAX runners are compiled before it)")
        for name, r in row.items():
            extra = ""
            if "compile_s" in r:
                extra = f"  compile: step {r['compile_s']['step']:.2f} s, epoch {r['compile_s']['epoch']:.2f} s"
            print(f"  {name:<15} {r['epoch_s']:.4f}  ({r['first_epoch_s']:.3f}){extra}")
        base = row["paralens-numpy"]["epoch_s"]
        for peer in ("numpy-hand", "torch-eager"):
            if peer in row:
                print(f"  ratio paralens-numpy / {peer}: {base / row[peer]['epoch_s']:.2f}")
        if "paralens-jax" in row:
            print(f"  ratio paralens-jax / jax-optax: {row['paralens-jax']['epoch_s'] / row['jax-optax']['epoch_s']:.2f}"
                  " (whole epoch in lax.scan)")
        if "paralens-jax-step" in row:
            print(f"  ratio paralens-jax-step / jax-optax-step: "
                  f"{row['paralens-jax-step']['epoch_s'] / row['jax-optax-step']['epoch_s']:.2f} (jitted step, host loop)")
            best_ours = min(row[k]["epoch_s"] for k in ("paralens-jax", "paralens-jax-step"))
            best_peer = min(row[k]["epoch_s"] for k in ("jax-optax", "jax-optax-step"))
            print(f"  ratio best paralens-jax / best jax-optax: {best_ours / best_peer:.2f} "
                  "(each side's faster configuration)")
    if args.json:
        with atomic_open(args.json) as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
