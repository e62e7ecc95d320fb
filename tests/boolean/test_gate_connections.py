"""Learned connections: reverse derivatives, hardening to fixed wires, straight-through, recipes, training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from paralens.boolean.gate_connections import ConnectionLayer, candidate_wires, connections_network
from paralens.boolean.gate_hardening import harden
from paralens.boolean.gate_layers import run_hard_gates
from paralens.boolean.gate_training import train_gate_network
from paralens.circuits.truth import COEFFS
from paralens.errors import CompositionError, ParameterError, ShapeError


def _layer(n_in=7, n_out=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return ConnectionLayer(n_in, candidate_wires(n_in, n_out, k, rng), candidate_wires(n_in, n_out, k, rng))


def _params(layer, rng, scale=2.0):
    return {"logits": scale * rng.normal(size=(layer.n_out, 16)),
            "wires_a": scale * rng.normal(size=(layer.n_out, layer.candidates)),
            "wires_b": scale * rng.normal(size=(layer.n_out, layer.candidates))}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _reference(layer, p, x):
    """The relaxed layer written out gate by gate: mixed inputs, then the 16 functions' mixture."""
    sa, sb, w = _softmax(p["wires_a"]), _softmax(p["wires_b"]), _softmax(p["logits"])
    out = np.zeros((x.shape[0], layer.n_out))
    for g in range(layer.n_out):
        a = x[:, layer.ca[g]] @ sa[g]
        b = x[:, layer.cb[g]] @ sb[g]
        c = w[g] @ COEFFS
        out[:, g] = c[0] + c[1] * a + c[2] * b + c[3] * a * b
    return out


def test_forward_is_the_mixture_of_candidates():
    rng = np.random.default_rng(1)
    layer = _layer()
    p, x = _params(layer, rng), rng.uniform(0, 1, (6, 7))
    np.testing.assert_allclose(layer.forward(p, x)[0], _reference(layer, p, x), atol=1e-12)


def test_reverse_derivative_vs_finite_differences():
    rng = np.random.default_rng(2)
    net = connections_network(9, [8, 6], 2, candidates=4, seed=3, tau=2.0)
    P = net.para()
    p = {k: 2.0 * rng.normal(size=v.shape) for k, v in net.init(0, dtype="float64").items()}
    x = rng.uniform(0, 1, (5, 9))
    y, res = P.forward(p, x)
    r = rng.normal(size=y.shape)
    dp, dx = P.backward(res, r)

    def f(q, xx):
        return float((P.forward(q, xx)[0] * r).sum())

    eps = 1e-6
    for name in p:
        for idx in [(0, 0), (3, 1), (5, 2)]:
            up, down = dict(p), dict(p)
            up[name], down[name] = p[name].copy(), p[name].copy()
            up[name][idx] += eps
            down[name][idx] -= eps
            assert dp[name][idx] == pytest.approx((f(up, x) - f(down, x)) / (2 * eps), abs=1e-7), (name, idx)
    for idx in [(0, 0), (2, 5), (4, 8)]:
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        assert dx[idx] == pytest.approx((f(p, up) - f(p, down)) / (2 * eps), abs=1e-7)


def test_reverse_derivative_vs_jax_vjp():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    try:
        jnp = jax.numpy
        rng = np.random.default_rng(4)
        layer = _layer(10, 6, 4, seed=5)
        p, x, dy = _params(layer, rng), rng.uniform(0, 1, (4, 10)), rng.normal(size=(4, 6))
        names = sorted(p)
        y, vjp = jax.vjp(lambda ps, xx: layer.forward(dict(zip(names, ps)), xx)[0],
                         [jnp.asarray(p[n]) for n in names], jnp.asarray(x))
        dps, dx_want = vjp(jnp.asarray(dy))
        dp, dx = layer.backward(layer.forward(p, x)[1], dy)
        for n, want in zip(names, dps):
            np.testing.assert_allclose(dp[n], np.asarray(want), atol=1e-10)
        np.testing.assert_allclose(dx, np.asarray(dx_want), atol=1e-10)
    finally:
        jax.config.update("jax_enable_x64", False)


def test_hardened_circuit_equals_hard_forward_on_every_input():
    """Exhaustively over 8 input bits: the hardened circuit, the fixed-wire gates and the one-hot forward agree,
    and the hardened wires are the argmax candidates."""
    rng = np.random.default_rng(6)
    net = connections_network(8, [12, 10, 6], 2, candidates=3, seed=7, tau=2.0)
    p = {k: 3.0 * rng.normal(size=v.shape) for k, v in net.init(0).items()}
    bits = np.array(list(itertools.product([0, 1], repeat=8)))
    hard = net.hard_gates(p)
    want = net.predict_bits(p, bits)
    np.testing.assert_array_equal(run_hard_gates(hard, bits), want)
    np.testing.assert_array_equal(harden(p, net).evaluate(bits).view(np.ndarray), want)
    layer = net.layers[0]
    np.testing.assert_array_equal(hard[0].ia, layer.ca[np.arange(12), np.argmax(p["0.wires_a"], axis=1)])
    np.testing.assert_array_equal(hard[0].ib, layer.cb[np.arange(12), np.argmax(p["0.wires_b"], axis=1)])


def test_straight_through_forward_is_the_hardened_network():
    rng = np.random.default_rng(8)
    net = connections_network(8, [12, 6], 2, candidates=3, seed=9, tau=2.0)
    p = {k: rng.normal(size=v.shape) for k, v in net.init(0).items()}
    st = net.straight_through()
    bits = rng.integers(0, 2, (40, 8))
    np.testing.assert_array_equal(np.rint(st.forward_bits(p, bits)).astype(np.int64), net.predict_bits(p, bits))
    # the reverse pass is the relaxed one's: same parameter changes as the relaxed layer at the same residuals
    layer = st.layers[0]
    lp = {k.split(".", 1)[1]: v.astype(np.float64) for k, v in p.items() if k.startswith("0.")}
    y, res = layer.forward(lp, bits.astype(np.float64))
    assert set(np.unique(y)) <= {0.0, 1.0}
    dp, _ = layer.backward(res, np.ones_like(y))
    assert all(np.abs(v).sum() > 0 for v in dp.values())


def test_candidates_cover_the_wires_and_are_distinct():
    rng = np.random.default_rng(10)
    c = candidate_wires(50, 40, 5, rng)
    assert c.shape == (40, 5)
    assert all(len(set(row)) == 5 for row in c)
    assert set(c.ravel()) == set(range(50))  # 200 reads cover all 50 wires
    sub = candidate_wires(50, 10, 3, rng, inputs=[1, 4, 9, 16, 25])
    assert set(sub.ravel()) <= {1, 4, 9, 16, 25}


def test_bad_input():
    rng = np.random.default_rng(11)
    with pytest.raises(ValueError, match="candidates must be"):
        candidate_wires(4, 3, 5, rng)
    with pytest.raises(ShapeError, match="non-empty"):
        ConnectionLayer(4, np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(CompositionError, match="does not exist"):
        ConnectionLayer(4, np.full((3, 2), 4), np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="wires_a"):
        _layer().forward({"logits": np.zeros((5, 16))}, np.zeros((2, 7)))


def _task(n, seed):
    x = np.random.default_rng(seed).integers(0, 2, (n, 16)).astype(np.uint8)
    y = ((x[:, 3] & x[:, 11]) ^ (x[:, 6] | x[:, 14])).astype(np.int64)
    return x, y


def test_learns_its_wiring():
    """A task on 4 of 16 bits that fixed random wiring of this size cannot see: with 16 candidates per input
    (every bit), the learned wiring finds the bits.  Widths 8, 8, 2, seeds 0..3: 100% each; fixed wiring of the
    same widths (same seeds, same training): 94.7, 57.2, 53.5, 63.5%."""
    from paralens.boolean.gate_network import GateNetwork

    xtr, ytr = _task(1024, 0)
    xte, yte = _task(512, 1)
    net = connections_network(16, [8, 8, 2], 2, candidates=16, seed=1, tau=1.0)
    c, info = train_gate_network(xtr, ytr, widths=None, n_classes=2, network=net, epochs=40, batch_size=32,
                                 lr=0.1, seed=1, validation=(xte, yte))
    assert info["hardened_test_accuracy"] == 1.0, {k: v for k, v in info.items() if "acc" in k}
    fixed = GateNetwork(16, [8, 8, 2], 2, seed=1, tau=1.0)
    _, base = train_gate_network(xtr, ytr, widths=None, n_classes=2, network=fixed, epochs=40, batch_size=32,
                                 lr=0.1, seed=1, validation=(xte, yte))
    assert base["hardened_test_accuracy"] < 0.8


def test_recipe_architecture_connections():
    from paralens.boolean.recipes import build_network, iris_gates_config, run_gates

    cfg = iris_gates_config().with_(architecture="connections", widths=(24, 12), epochs=30,
                                    extra={"candidates": 4}, hard_epochs=5)
    c, info = run_gates(cfg)
    assert info["hardened_test_accuracy"] >= 0.85
    bits = np.random.default_rng(0).integers(0, 2, (10, 32))
    with pytest.raises(ValueError, match="local_radius is for"):
        build_network(cfg.with_(local_radius=1), bits, 3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        build_network(cfg.with_(extra={"k": 3}), bits, 3)


def test_presets_build_their_networks():
    """mnist-gates-small: learned connections of 22,000 gates; mnist-conv: two TreeConv/OrPool blocks, 2 dense."""
    from paralens.boolean.presets import get_preset
    from paralens.boolean.recipes import build_network, mnist_conv_config, mnist_gates_small_config

    bits = np.random.default_rng(0).integers(0, 2, (20, 28 * 28 * 3))
    small = build_network(mnist_gates_small_config(), bits, 10)
    assert {type(layer).__name__ for layer in small.layers} == {"ConnectionLayer"}
    assert small.n_gates == 22_000 and all(layer.candidates == 8 for layer in small.layers)
    conv = build_network(mnist_conv_config(), bits, 10)
    assert [type(layer).__name__ for layer in conv.layers] == ["TreeConv", "OrPool", "TreeConv", "OrPool",
                                                               "GateLayer", "GateLayer"]
    for name, config in (("mnist-gates-small", "mnist_gates_small_config"), ("mnist-conv", "mnist_conv_config")):
        assert get_preset(name).options == {"config": config}
