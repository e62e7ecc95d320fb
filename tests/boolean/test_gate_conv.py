"""Logic-tree convolutions and OR pooling: reverse derivatives, hardening, weight sharing, backends, learning."""

from __future__ import annotations

import numpy as np
import pytest

from paralens.boolean.gate_conv import OrPool, TreeConv, conv_network
from paralens.boolean.gate_hardening import harden
from paralens.boolean.gate_layers import run_hard_gates
from paralens.boolean.gate_training import circuit_accuracy, train_gate_network
from paralens.circuits.truth import TRUTH
from paralens.errors import CompositionError, ParameterError, ShapeError

# ----------------------------------------------------------------------------- references


def _fd_check(layer, p, x, rng, tol=1e-6):
    """The hand-written reverse derivative against central finite differences (float64)."""
    y, res = layer.forward(p, x)
    dy = rng.normal(size=y.shape)
    dp, dx = layer.backward(res, dy)
    f = lambda q, a: float((layer.forward(q, a)[0] * dy).sum())
    eps = 1e-6
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num[i] = (f(p, xp) - f(p, xm)) / (2 * eps)
    np.testing.assert_allclose(dx, num, atol=tol)
    for k in p:
        num = np.zeros_like(p[k])
        for i in np.ndindex(p[k].shape):
            qp, qm = {k: p[k].copy()}, {k: p[k].copy()}
            qp[k][i] += eps
            qm[k][i] -= eps
            num[i] = (f(qp, x) - f(qm, x)) / (2 * eps)
        np.testing.assert_allclose(dp[k], num, atol=tol)
        np.testing.assert_allclose(layer.backward_params(res, dy)[k], dp[k], atol=1e-12)
    return dp, dx


def _image(bits, layer):
    return bits.reshape(len(bits), layer.height, layer.width, layer.channels)


def _tree_reference(layer, logits, bits):
    """A TreeConv's hardened outputs by a direct loop over positions and kernels: the leaves read from the
    image at ``(i * stride + dy - pad, j * stride + dx - pad, c)`` (0 outside), the tree evaluated by truth
    tables level by level (gate ``j`` of a level of ``m`` reads ``j`` and ``j + m``)."""
    img = _image(np.asarray(bits, dtype=np.int64), layer)
    n, r, C, s = len(img), layer.receptive, layer.channels, layer.stride
    pad = (r - 1) // 2 if layer.padding == "same" else layer.padding  # the tests use odd r, stride 1 for "same"
    codes = np.argmax(logits, axis=-1)
    out = np.zeros((n, layer.out_height, layer.out_width, layer.kernels), dtype=np.int64)
    for i in range(layer.out_height):
        for j in range(layer.out_width):
            for k in range(layer.kernels):
                v = []
                for f in layer.offsets[k]:
                    dy, dx, c = f // (r * C), (f // C) % r, f % C
                    y, x = i * s + dy - pad, j * s + dx - pad
                    inside = 0 <= y < layer.height and 0 <= x < layer.width
                    v.append(img[:, y, x, c] if inside else np.zeros(n, dtype=np.int64))
                g = 0
                while len(v) > 1:
                    m = len(v) // 2
                    v = [TRUTH[codes[k, g + t]][2 * v[t] + v[t + m]] for t in range(m)]
                    g += m
                out[:, i, j, k] = v[0]
    return out.reshape(n, -1)


def _or_reference(pool, bits):
    img = _image(np.asarray(bits, dtype=np.int64), pool)
    s, h, w = pool.size, pool.out_height, pool.out_width
    win = img[:, : h * s, : w * s].reshape(len(img), h, s, w, s, pool.channels)
    return win.max(axis=(2, 4)).reshape(len(img), -1)


# ----------------------------------------------------------------------------- reverse derivatives


@pytest.mark.parametrize("kw", [dict(depth=2, padding=0), dict(depth=3, padding="same"),
                                dict(depth=1, padding=1, stride=2), dict(depth=2, receptive=2, padding="same")])
def test_tree_conv_reverse_derivative_vs_finite_differences(kw):
    rng = np.random.default_rng(0)
    layer = TreeConv(4, 5, 2, 3, seed=1, **kw)
    p = {"logits": rng.normal(size=(3, layer.n_tree, 16))}
    x = rng.uniform(0, 1, (3, layer.n_in))
    dp, dx = _fd_check(layer, p, x, rng)
    # weight sharing: the change of each gate's logits is the sum over positions, so not zero, and every
    # image wire the trees read gets a change
    assert np.abs(dp["logits"]).min() > 0
    read = np.zeros(layer.n_in, dtype=bool)
    read[layer.leaf_index[layer.leaf_index < layer.n_in]] = True
    assert (np.abs(dx[:, read]) > 0).all() and (dx[:, ~read] == 0).all()


def test_or_pool_reverse_derivative():
    rng = np.random.default_rng(1)
    pool = OrPool(7, 6, 2, 3)  # the seventh row is past the last whole window
    x = rng.permutation(3 * pool.n_in).reshape(3, pool.n_in) / (3.0 * pool.n_in)  # distinct: max is smooth
    y, res = pool.forward({}, x)
    dp, dx = _fd_check(pool, {}, x, rng)
    assert dp == {}
    # the change goes to each window's maximum, nothing else
    dy = rng.normal(size=y.shape)
    _, dx = pool.backward(res, dy)
    img = _image(x, pool)
    want = np.zeros_like(img)
    for b in range(3):
        for i in range(pool.out_height):
            for j in range(pool.out_width):
                for c in range(2):
                    win = img[b, 3 * i: 3 * i + 3, 3 * j: 3 * j + 3, c]
                    dyy, dxx = np.unravel_index(np.argmax(win), win.shape)
                    want[b, 3 * i + dyy, 3 * j + dxx, c] = dy[b, (i * pool.out_width + j) * 2 + c]
    np.testing.assert_array_equal(dx, want.reshape(3, -1))
    np.testing.assert_allclose(y, np.max(img[:, :6].reshape(3, 2, 3, 2, 3, 2), axis=(2, 4)).reshape(3, -1))


# ----------------------------------------------------------------------------- hardened forms


@pytest.mark.parametrize("kw", [dict(depth=2, padding=0), dict(depth=3, padding="same"), dict(depth=2, padding=1, stride=2),
                                dict(depth=4, padding=0)])
def test_tree_conv_hardened_equals_direct_loop(kw):
    rng = np.random.default_rng(2)
    layer = TreeConv(6, 5, 3, 4, seed=3, **kw)
    logits = rng.normal(size=(4, layer.n_tree, 16))
    bits = rng.integers(0, 2, (64, layer.n_in))
    want = _tree_reference(layer, logits, bits)
    np.testing.assert_array_equal(layer.forward({"logits": logits}, bits.astype(float), hard=True)[0], want)
    hard = layer.hard_gates({"logits": logits})
    assert len(hard) == layer.depth and hard[0].n_in == layer.n_in and hard[-1].n_out == layer.n_out
    assert sum(h.n_out for h in hard) == layer.n_gates == layer.n_positions * 4 * layer.n_tree
    np.testing.assert_array_equal(run_hard_gates(hard, bits), want)
    st = TreeConv(6, 5, 3, 4, seed=3, straight_through=True, **kw)
    np.testing.assert_array_equal(st.forward({"logits": logits}, bits.astype(float))[0], want)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_or_pool_hardened_is_or(size):
    rng = np.random.default_rng(4)
    pool = OrPool(7, 8, 3, size)
    bits = (rng.random((100, pool.n_in)) < 0.15).astype(np.int64)  # sparse: ORs of 0 and 1 both occur
    want = _or_reference(pool, bits)
    assert 0.05 < want.mean() < 0.95 or size == 1
    np.testing.assert_array_equal(pool.forward({}, bits.astype(float), hard=True)[0], want)
    hard = pool.hard_gates({})
    assert len(hard) == max(1, int(np.ceil(np.log2(size * size))))
    np.testing.assert_array_equal(run_hard_gates(hard, bits), want)


@pytest.mark.parametrize("seed, padding, pool", [(0, 0, 2), (1, "same", 2), (2, 1, 3), (3, "same", 0)])
def test_network_hardened_circuit_equals_forward(seed, padding, pool):
    rng = np.random.default_rng(seed)
    net = conv_network(11, 10, 2, 3, blocks=((5, 2), (4, 3)), pool=pool, dense=(24, 12), seed=seed, padding=padding)
    params = {k: 3 * v for k, v in net.init(seed, dtype="float64").items()}
    bits = rng.integers(0, 2, (200, 11 * 10 * 2))
    want = net.predict_bits(params, bits)
    np.testing.assert_array_equal(run_hard_gates(net.hard_gates(params), bits), want)
    c = harden(params, net)
    assert c.n_inputs == 220 and c.n_outputs == 12
    np.testing.assert_array_equal(c.evaluate(bits).view(np.ndarray), want)
    np.testing.assert_array_equal(c.evaluate(bits, packed=True).view(np.ndarray), want)
    np.testing.assert_array_equal(harden(params, net, prune=False).evaluate(bits).view(np.ndarray), want)
    # the straight-through network's forward pass is the hardened network
    st = net.straight_through()
    np.testing.assert_array_equal(st.forward_bits(params, bits), want)


def test_padding_folds_into_the_circuit():
    """With 'same' padding, gates that read a zero fold: a tree of ORs and a tree of ANDs at the border."""
    layer = TreeConv(4, 4, 1, 2, depth=1, padding="same", seed=0)
    from paralens.boolean.gate_network import GateNetwork

    z = np.full((2, 1, 16), -9.0)
    z[0, 0, 7] = z[1, 0, 1] = 9.0  # kernel 0: or; kernel 1: and
    net = GateNetwork.from_layers([layer], 2)
    c = harden({"0.logits": z}, net)
    bits = np.array(list(np.ndindex(*(2,) * 16)))[::97]
    np.testing.assert_array_equal(c.evaluate(bits).view(np.ndarray), _tree_reference(layer, z, bits))
    # an AND reading the padding is the constant 0; an OR reading it is its other wire: no gate for either
    pad_b = (layer.leaf_index[:, :, 0] == layer.n_in) | (layer.leaf_index[:, :, 1] == layer.n_in)
    assert c.n_gates == int((~pad_b).sum())


# ----------------------------------------------------------------------------- weight sharing


@pytest.mark.parametrize("stride", [1, 2])
def test_moving_the_image_by_a_stride_moves_the_output(stride):
    rng = np.random.default_rng(5)
    layer = TreeConv(7, 9, 2, 3, depth=2, stride=stride, seed=6)
    p = {"logits": rng.normal(size=(3, 3, 16))}
    img = rng.uniform(0, 1, (4, 7, 9, 2))
    moved = np.zeros_like(img)
    moved[:, :, stride:] = img[:, :, :-stride]  # one stride to the right
    y = layer.forward(p, img.reshape(4, -1))[0].reshape(4, layer.out_height, layer.out_width, 3)
    y2 = layer.forward(p, moved.reshape(4, -1))[0].reshape(4, layer.out_height, layer.out_width, 3)
    np.testing.assert_allclose(y2[:, :, 1:], y[:, :, :-1], atol=1e-12)
    assert np.abs(y2[:, :, 0] - y[:, :, 0]).max() > 1e-3  # the first column sees the zeros moved in
    moved = np.zeros_like(img)
    moved[:, stride:] = img[:, :-stride]  # one stride down
    y3 = layer.forward(p, moved.reshape(4, -1))[0].reshape(4, layer.out_height, layer.out_width, 3)
    np.testing.assert_allclose(y3[:, 1:], y[:, :-1], atol=1e-12)


# ----------------------------------------------------------------------------- JAX


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


def test_reverse_derivatives_vs_jax_vjp(jax):
    """The hand-written put equals JAX's autodiff of the same forward pass (run on JAX arrays)."""
    jax.config.update("jax_enable_x64", True)
    try:
        jnp = jax.numpy
        rng = np.random.default_rng(7)
        layer = TreeConv(5, 6, 2, 3, depth=3, padding="same", seed=2)
        z = rng.normal(size=(3, 7, 16))
        x = rng.uniform(0, 1, (4, layer.n_in))
        dy = rng.normal(size=(4, layer.n_out))
        y, vjp = jax.vjp(lambda zz, xx: layer.forward({"logits": zz}, xx)[0], jnp.asarray(z), jnp.asarray(x))
        dz_want, dx_want = vjp(jnp.asarray(dy))
        y_np, res = layer.forward({"logits": z}, x)
        dp, dx = layer.backward(res, dy)
        np.testing.assert_allclose(np.asarray(y), y_np, atol=1e-12)
        np.testing.assert_allclose(dp["logits"], np.asarray(dz_want), atol=1e-10)
        np.testing.assert_allclose(dx, np.asarray(dx_want), atol=1e-10)
        pool = OrPool(6, 6, 2, 2)
        x = rng.uniform(0, 1, (4, pool.n_in))
        dy = rng.normal(size=(4, pool.n_out))
        _, vjp = jax.vjp(lambda xx: pool.forward({}, xx)[0], jnp.asarray(x))
        _, dx = pool.backward(pool.forward({}, x)[1], dy)
        np.testing.assert_allclose(dx, np.asarray(vjp(jnp.asarray(dy))[0]), atol=1e-12)
    finally:
        jax.config.update("jax_enable_x64", False)


def test_jax_and_numpy_agree(jax):
    from paralens.backend import get_backend
    from paralens.learning import losses, optimisers
    from paralens.learning.supervised import Learner, train_step
    from paralens.training import compile as jax_compile

    rng = np.random.default_rng(8)
    net = conv_network(8, 8, 2, 2, blocks=((6, 2), (4, 2)), pool=2, dense=(20,), seed=1, padding="same", tau=2.0)
    P = net.para()
    p = P.init(0)
    x = rng.integers(0, 2, (16, 128)).astype(np.float32)
    y, res = P.forward(p, x)
    dy = rng.normal(size=y.shape).astype(np.float32)
    dp, dx = P.backward(res, dy)
    J = get_backend("jax")
    yj, rj = P.forward({k: J.asarray(v) for k, v in p.items()}, J.asarray(x))
    dpj, dxj = P.backward(rj, J.asarray(dy))
    np.testing.assert_allclose(np.asarray(yj), y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(dxj), dx, rtol=1e-4, atol=1e-5)
    for k in dp:
        np.testing.assert_allclose(np.asarray(dpj[k]), dp[k], rtol=1e-4, atol=1e-5)
    learner = Learner(P, losses.softmax_cross_entropy(), optimisers.adam(0.05))
    onehot = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 16)]
    s_np, m_np = train_step(learner, learner.init(0), x, onehot)
    s_j, m_j = jax_compile.compile_train_step(learner)(learner.init(0, backend=J), J.asarray(x), J.asarray(onehot), None)
    assert abs(float(m_np["loss"]) - float(m_j["loss"])) < 1e-5
    for k in s_np.params:
        np.testing.assert_allclose(np.asarray(s_j.params[k]), s_np.params[k], rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- learning


def _bars(n, rng, side=8):
    """8x8 one-channel images of noise (5%) with a 3-long horizontal (class 0) or vertical (class 1) bar."""
    img = (rng.random((n, side, side)) < 0.05).astype(np.uint8)
    y = rng.integers(0, 2, n)
    for t in range(n):
        i, j = rng.integers(0, side - 2, 2)
        if y[t] == 0:
            img[t, i, j: j + 3] = 1
        else:
            img[t, i: i + 3, j] = 1
    return img.reshape(n, -1), y


def test_learns_bar_orientation():
    """A conv network (shared trees, OR pooling) learns a bar's orientation anywhere in an 8x8 image."""
    rng = np.random.default_rng(9)
    xtr, ytr = _bars(1200, rng)
    xte, yte = _bars(400, rng)
    net = conv_network(8, 8, 1, 2, blocks=((8, 3),), pool=2, dense=(256, 128), seed=0, tau=4.0, padding="same")
    c, info = train_gate_network(xtr, ytr, widths=None, n_classes=2, network=net, epochs=20, batch_size=50, lr=0.1,
                                 backend="numpy", validation=(xte, yte))
    # measured: 93.8% hardened (seed 1: 95.3%); a shared depth-3 tree over 3x3, 2x2 OR pooling
    assert info["hardened_test_accuracy"] >= 0.9, {k: v for k, v in info.items() if "acc" in k}
    assert circuit_accuracy(c, info["decoder"], xte, yte) == info["hardened_test_accuracy"]


# ----------------------------------------------------------------------------- errors


def test_bad_input_raises_one_clear_error():
    with pytest.raises(ValueError, match="kernels"):
        TreeConv(5, 5, 1, 0)
    with pytest.raises(ValueError, match="padding"):
        TreeConv(5, 5, 1, 2, padding="valid")
    with pytest.raises(ShapeError, match="does not fit"):
        TreeConv(2, 5, 1, 2, receptive=3)
    with pytest.raises(ShapeError, match="window"):
        OrPool(3, 5, 1, 4)
    layer = TreeConv(5, 5, 1, 2)
    with pytest.raises(ParameterError, match="logits"):
        layer.forward({}, np.zeros((1, 25)))
    with pytest.raises(ShapeError, match="logits"):
        layer.forward({"logits": np.zeros((2, 2, 16))}, np.zeros((1, 25)))
    with pytest.raises(ShapeError, match="input"):
        layer.forward({"logits": np.zeros((2, 3, 16))}, np.zeros((1, 24)))
    with pytest.raises(CompositionError):
        layer.output_type(OrPool(4, 4, 1).cod)
    with pytest.raises(ShapeError, match="multiple"):
        conv_network(8, 8, 1, 3, blocks=((4, 2),), dense=(10,))
