"""The JAX backend: kernels, agreement with NumPy, compiled steps and epochs, several devices.

Float64 checks run inside ``jax.enable_x64(True)`` (a context manager: other tests keep
JAX's 32-bit default).  The multi-device check runs in a subprocess, because the
number of host devices must be set before JAX is imported.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from paralens import data
from paralens.backend import backend_of, get_backend
from paralens.categories.lens import Context
from paralens.categories.para import Para, chain
from paralens.instances import smooth as S
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner, train_step
from paralens.models import mnist_cnn, mnist_mlp
from paralens.training.compile import (
    compile_epoch,
    compile_train_step,
    data_parallel_train_step,
    device_copy,
)
from paralens.training.fit import NonFiniteError, fit, prepare_targets

NP, JX = get_backend("numpy"), get_backend("jax")
TREE = jax.tree_util


@pytest.fixture
def x64():
    """Float64 JAX inside the test only."""
    with jax.enable_x64(True):
        yield


def _mnist(n):
    train = data.load_mnist(data.mnist_subset_path(), "train")
    return np.asarray(train.features[:n], np.float32), prepare_targets(None, train.labels[:n], 10)


@pytest.fixture(scope="module")
def mnist():
    return _mnist(1600)


def _j(tree, dtype=None):
    return TREE.tree_map(lambda v: jnp.asarray(v, dtype), tree)


# -- the backend and its kernels ------------------------------------------------------------------


def test_backend_is_found_from_jax_arrays_and_tracers():
    assert get_backend("jax").name == "jax" and JX.xp is jnp
    assert backend_of(jnp.zeros(2)) is JX
    assert jax.jit(lambda v: jnp.float32(backend_of(v) is JX))(jnp.zeros(2)) == 1.0
    assert backend_of(np.zeros(2)) is NP


CONV_CASES = [  # (h, w, kernel, stride, padding): ragged strides included
    (7, 7, 3, 1, 0), (8, 9, 3, 2, 1), (10, 11, 4, 3, 2), (6, 7, 3, 2, 0), (5, 5, 1, 1, 0), (9, 6, 2, 2, 0),
]


@pytest.mark.parametrize("h,w,k,s,p", CONV_CASES)
def test_conv2d_and_its_reverse_derivative_match_numpy(h, w, k, s, p):
    rng = np.random.default_rng(h * 100 + w)
    x, wt = rng.standard_normal((2, 3, h, w)).astype(np.float32), rng.standard_normal((4, 3, k, k)).astype(np.float32)
    y = NP.conv2d(x, wt, s, p)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw = NP.conv2d_backward(x, wt, dy, s, p)
    yj, (dxj, dwj) = jax.jit(lambda a, b, d: (JX.conv2d(a, b, s, p), JX.conv2d_backward(a, b, d, s, p)))(
        jnp.asarray(x), jnp.asarray(wt), jnp.asarray(dy))
    np.testing.assert_allclose(yj, y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dxj, dx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dwj, dw, rtol=1e-5, atol=1e-5)
    none, dw_only = JX.conv2d_backward(jnp.asarray(x), jnp.asarray(wt), jnp.asarray(dy), s, p, need_dx=False)
    assert none is None
    np.testing.assert_allclose(dw_only, dwj, rtol=1e-6, atol=1e-6)


def _conv_reference(x, w, s, p):
    """Cross-correlation by explicit windows (independent of lax convolutions), differentiable by JAX."""
    kh, kw = w.shape[2], w.shape[3]
    xp_ = jnp.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (xp_.shape[2] - kh) // s + 1, (xp_.shape[3] - kw) // s + 1
    out = 0.0
    for i in range(kh):
        for j in range(kw):
            patch = xp_[:, :, i : i + s * (oh - 1) + 1 : s, j : j + s * (ow - 1) + 1 : s]
            out = out + jnp.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return out


@pytest.mark.parametrize("h,w,k,s,p", CONV_CASES)
def test_conv2d_reverse_derivative_is_jax_vjp_of_an_independent_conv_float64(x64, h, w, k, s, p):
    rng = np.random.default_rng(7 + h)
    x, wt = jnp.asarray(rng.standard_normal((2, 3, h, w))), jnp.asarray(rng.standard_normal((4, 3, k, k)))
    dy = jnp.asarray(rng.standard_normal(JX.conv2d(x, wt, s, p).shape))

    @jax.jit
    def both(x, wt, dy):
        y_ref, vjp = jax.vjp(lambda a, b: _conv_reference(a, b, s, p), x, wt)
        return (y_ref,) + vjp(dy), (JX.conv2d(x, wt, s, p),) + JX.conv2d_backward(x, wt, dy, s, p)

    ref, ours = both(x, wt, dy)
    assert ours[0].dtype == jnp.float64
    for u, v in zip(ours, ref):  # y, dx, dw
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)


POOL_CASES = [(8, 8, 2, 2), (7, 9, 2, 2), (7, 7, 3, 2), (9, 9, 3, 3), (6, 6, 2, 1)]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("h,w,size,stride", POOL_CASES)
def test_pooling_matches_numpy_including_first_argmax_on_ties(kind, h, w, size, stride):
    rng = np.random.default_rng(h + w + size)
    x = rng.integers(0, 3, (2, 3, h, w)).astype(np.float32)  # many ties: routing must pick the first argmax
    y, r = NP.pool2d(x, kind, size, stride)
    dy = rng.standard_normal(y.shape).astype(np.float32)

    @jax.jit
    def run(x, dy):
        yj, rj = JX.pool2d(x, kind, size, stride)
        return yj, JX.pool2d_backward(x.shape, rj, dy, kind, size, stride)

    yj, dxj = run(jnp.asarray(x), jnp.asarray(dy))
    np.testing.assert_allclose(yj, y, rtol=1e-6)
    np.testing.assert_allclose(dxj, NP.pool2d_backward(x.shape, r, dy, kind, size, stride), rtol=1e-6, atol=1e-7)


def test_max_pool_routes_ties_to_the_first_argmax_by_hand():
    """An oracle independent of both kernels: ties worked out by hand, row-major first window entry wins."""
    x = np.array([[1, 3, 3, 0],
                  [3, 2, 0, 3],
                  [0, 0, 1, 1],
                  [1, 1, 1, 1]], np.float32)[None, None]
    dy = np.array([[1, 2], [3, 4]], np.float32)[None, None]
    want = np.zeros((4, 4), np.float32)
    want[0, 1], want[0, 2], want[3, 0], want[2, 2] = 1, 2, 3, 4  # windows' first maxima (row-major)
    # overlapping windows (size 2, stride 1) on a constant image: each window's first entry is its top-left
    c = np.ones((1, 1, 3, 3), np.float32)
    dyc = np.array([[10, 20], [30, 40]], np.float32)[None, None]
    want_c = np.zeros((3, 3), np.float32)
    want_c[:2, :2] = [[10, 20], [30, 40]]
    for B, conv in ((NP, np.asarray), (JX, jnp.asarray)):
        y, r = B.pool2d(conv(x), "max", 2, 2)
        np.testing.assert_array_equal(np.asarray(y)[0, 0], [[3, 3], [1, 1]])
        np.testing.assert_array_equal(np.asarray(B.pool2d_backward(x.shape, r, conv(dy), "max", 2, 2))[0, 0], want,
                                      err_msg=B.name)
        _, r = B.pool2d(conv(c), "max", 2, 1)
        np.testing.assert_array_equal(np.asarray(B.pool2d_backward(c.shape, r, conv(dyc), "max", 2, 1))[0, 0], want_c,
                                      err_msg=B.name)


@pytest.mark.parametrize("h,w,size,stride", POOL_CASES)
def test_pooling_reverse_derivative_is_jax_vjp_of_reduce_window_float64(x64, h, w, size, stride):
    rng = np.random.default_rng(3 + h)
    x = jnp.asarray(rng.standard_normal((2, 3, h, w)))  # no ties
    win, st = (1, 1, size, size), (1, 1, stride, stride)
    refs = {"max": lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, win, st, "VALID"),
            "avg": lambda v: jax.lax.reduce_window(v, 0.0, jax.lax.add, win, st, "VALID") / (size * size)}
    for kind, ref in refs.items():
        dy = jnp.asarray(rng.standard_normal(ref(x).shape))

        @jax.jit
        def both(x, dy, kind=kind, ref=ref):
            y_ref, vjp = jax.vjp(ref, x)
            y, r = JX.pool2d(x, kind, size, stride)
            return (y_ref, vjp(dy)[0]), (y, JX.pool2d_backward(x.shape, r, dy, kind, size, stride))

        ref_out, ours = both(x, dy)
        for u, v in zip(ours, ref_out):
            np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-15)


def test_erf_keys_and_masks():
    from scipy.special import erf

    v = np.linspace(-3, 3, 13).astype(np.float32)
    np.testing.assert_allclose(JX.erf(jnp.asarray(v)), erf(v), rtol=1e-6, atol=1e-7)
    k = JX.key(3)
    a = JX.bernoulli_mask(JX.fold_in(k, 5), 0.7, (200, 50), jnp.float32)
    b = JX.bernoulli_mask(JX.fold_in(JX.key(3), 5), 0.7, (200, 50), jnp.float32)
    c = JX.bernoulli_mask(JX.fold_in(k, 6), 0.7, (200, 50), jnp.float32)
    assert a.dtype == jnp.float32 and a.shape == (200, 50)
    assert bool(jnp.all(a == b)) and not bool(jnp.all(a == c))
    assert set(np.unique(np.asarray(a))) <= {0.0, 1.0} and abs(float(a.mean()) - 0.7) < 0.02
    # fold_in accepts a traced step counter inside jit
    m = jax.jit(lambda s: JX.bernoulli_mask(JX.fold_in(k, s), 0.7, (200, 50), jnp.float32))(jnp.int32(5))
    assert bool(jnp.all(m == a))
    assert JX.asarray(np.arange(3), "float32").dtype == jnp.float32


# -- every layer and loss under jit ----------------------------------------------------------------


def _layer_cases():
    cases = [
        (S.linear(4, 3), (5, 4)), (S.bias(4), (5, 4)), (S.dense(4, 3, "gelu"), (5, 4)),
        (S.conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 7, 7)), (S.conv2d(2, 3, 2, use_bias=False), (2, 2, 5, 5)),
        (S.max_pool2d(2), (2, 2, 7, 7)), (S.max_pool2d(3, 2), (2, 2, 7, 7)), (S.avg_pool2d(2), (2, 2, 6, 6)),
        (S.avg_pool2d(3, 1), (2, 2, 6, 6)), (S.flatten(), (2, 2, 3, 3)), (S.reshape(9, 2), (2, 2, 3, 3)),
        (S.dropout(0.0), (4, 6)), (S.add2(), "pair"), (S.multiply(), "pair"), (S.scale(2.0), (3, 4)),
        (S.matmul(2, 3, 4), "matmul"), (S.exp(), (3, 4)), (S.log(), (3, 4)), (S.sin(), (3, 4)), (S.square(), (3, 4)),
        (S.gelu(True), (3, 5)),
    ]
    cases += [(f(), (3, 5)) for f in S.ACTIVATIONS.values()]
    return cases


def test_every_smooth_layer_runs_under_jit_and_matches_numpy():
    rng = np.random.default_rng(0)
    for f, shape in _layer_cases():
        P = Para.lift(f)
        if shape == "pair":
            a = (rng.random((3, 4)), rng.random((3, 4)))
        elif shape == "matmul":
            a = (rng.random((3, 2, 3)), rng.random((3, 3, 4)))
        else:
            a = rng.random(shape) + 0.1
        p = {k: rng.standard_normal(s.shape) for k, s in P.params.items()}
        a, p = TREE.tree_map(lambda v: np.asarray(v, np.float32), (a, p))

        def run(p, a, P=P):
            b, r = P.forward(p, a)
            return b, P.backward(r, TREE.tree_map(jnp.ones_like if isinstance(b, jax.Array) else np.ones_like, b))

        want = run(p, a)
        got = jax.jit(run)(_j(p), _j(a))
        for u, v in zip(TREE.tree_leaves(got), TREE.tree_leaves(want)):
            assert isinstance(u, jax.Array), P.label()
            np.testing.assert_allclose(u, v, rtol=2e-5, atol=2e-6, err_msg=P.label())


def test_dropout_under_jit_uses_the_context_key():
    P = Para.lift(S.dropout(0.5))
    x = jnp.ones((64, 32))

    def run(x, key):
        y, r = P.forward({}, x, Context(True, key, JX))
        return y, P.backward(r, jnp.ones_like(y))[1]

    y, dx = jax.jit(run)(x, JX.key(0))
    np.testing.assert_array_equal(y, dx)  # put multiplies by the same mask
    assert set(np.unique(np.asarray(y))) == {0.0, 2.0}
    assert not np.array_equal(np.asarray(jax.jit(run)(x, JX.key(1))[0]), np.asarray(y))


def test_every_loss_runs_under_jit_and_matches_numpy():
    rng = np.random.default_rng(1)
    for name, make in losses.LOSSES.items():
        loss = make()
        if name == "xor":
            bt, bp = rng.integers(0, 2, (4, 3)), rng.integers(0, 2, (4, 3))
        else:
            bt, bp = rng.random((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)

        def run(bt, bp, loss=loss):
            v, r = loss.forward({"label": bt}, bp)
            return v, loss.backward(r, v * 0 + 1)

        want, got = run(bt, bp), jax.jit(run)(jnp.asarray(bt), jnp.asarray(bp))
        for u, v in zip(TREE.tree_leaves(got), TREE.tree_leaves(want)):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6, err_msg=name)


# -- agreement: the same training on NumPy and on JAX --------------------------------------------


def _numpy_losses(learner, x, t, bs, steps, dtype):
    s, out = learner.init(0, dtype=dtype), []
    for i in range(steps):
        s, m = train_step(learner, s, x[i * bs : (i + 1) * bs].astype(dtype), t[i * bs : (i + 1) * bs].astype(dtype))
        out.append(float(m["loss"]))
    return np.array(out), s


def _jax_losses(learner, x, t, bs, steps, dtype):
    s = learner.init(0, dtype=dtype, backend="jax")
    s, losses_ = compile_epoch(learner, bs)(s, jnp.asarray(x, dtype), jnp.asarray(t, dtype), jnp.arange(bs * steps))
    return np.asarray(losses_, np.float64), s


def _lr(name):
    return 1e-3 if name in ("adam", "adamw", "rmsprop", "adagrad") else 0.01


def _agree(learner, mnist, bs, steps, dtype, rtol):
    x, t = mnist
    a, sa = _numpy_losses(learner, x, t, bs, steps, dtype)
    b, sb = _jax_losses(learner, x, t, bs, steps, dtype)
    assert sb.params[next(iter(sb.params))].dtype == np.dtype(dtype)
    np.testing.assert_allclose(b, a, rtol=rtol)
    assert int(sb.step) == int(sa.step) == steps


@pytest.mark.parametrize("name", sorted(optimisers.OPTIMISERS))
def test_mlp_training_agrees_with_numpy_float64(x64, mnist, name):
    learner = Learner(mnist_mlp(), losses.softmax_cross_entropy(), optimisers.get_optimiser(name, lr=_lr(name)))
    _agree(learner, mnist, 16, 100, "float64", 1e-10)


@pytest.mark.parametrize("name", sorted(optimisers.OPTIMISERS))
def test_mlp_training_agrees_with_numpy_float32(mnist, name):
    learner = Learner(mnist_mlp(), losses.softmax_cross_entropy(), optimisers.get_optimiser(name, lr=_lr(name)))
    _agree(learner, mnist, 16, 100, "float32", 1e-5)


def test_cnn_training_agrees_with_numpy_float64(x64, mnist):
    learner = Learner(mnist_cnn(), losses.softmax_cross_entropy(), optimisers.adam(1e-3))
    _agree(learner, mnist, 16, 100, "float64", 1e-10)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_cnn_training_agrees_with_numpy_float32(mnist, opt):
    # Adam's bias correction is computed as -expm1(t log b) so that float32 JAX does not lose
    # digits in 1 - 0.999**t; with it both float32 runs agreed at the 1e-5 on an idle
    # machine.  On 2026-11-30 the same commit (a53022f) measured 1.8e-4 for Adam here, with the
    # XLA CPU thread pool under load: float32 reductions reorder, and Adam's division by sqrt(v)
    # amplifies it over 100 steps.  The float64 test above keeps the tight check (1e-10).
    rtol = 1e-5 if opt == "sgd" else 1e-3
    learner = Learner(mnist_cnn(), losses.softmax_cross_entropy(), optimisers.get_optimiser(opt, lr=_lr(opt)))
    _agree(learner, mnist, 16, 100, "float32", rtol)


# -- compiled step and epoch --------------------------------------------------------------------------


def _small_learner(opt=None, rate=0.0):
    layers = [S.dense(4, 8, "tanh")] + ([S.dropout(rate)] if rate else []) + [S.dense(8, 3, None)]
    return Learner(_chain(layers), losses.softmax_cross_entropy(), opt or optimisers.adam(0.01))


def _chain(layers):
    return chain(*layers)


def _toy(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]


def test_jitted_step_equals_unjitted_step_and_donates():
    learner = _small_learner(rate=0.25)
    x, t = _toy()
    s_eager = learner.init(0, backend="jax")
    s_jit = device_copy(s_eager)
    step = compile_train_step(learner)
    for i in range(4):
        key = JX.fold_in(JX.key(0), i)
        xb, tb = jnp.asarray(x[i * 16 : (i + 1) * 16]), jnp.asarray(t[i * 16 : (i + 1) * 16])
        s_eager, m_eager = train_step(learner, s_eager, xb, tb, key)
        old = s_jit
        s_jit, m_jit = step(s_jit, xb, tb, key)
        assert int(m_jit["nonfinite"]) == -1
        np.testing.assert_allclose(m_jit["loss"], m_eager["loss"], rtol=1e-6)
        for u, v in zip(TREE.tree_leaves(s_jit), TREE.tree_leaves(s_eager)):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)
    assert isinstance(s_jit.step, jax.Array) and s_jit.step.dtype == jnp.int32 and int(s_jit.step) == 4
    assert all(a.is_deleted() for a in TREE.tree_leaves(old.params))  # donated: updated in place


def test_compile_epoch_equals_looping_the_step_with_dropout():
    learner = _small_learner(rate=0.25)
    x, t = _toy(96)
    order = np.random.default_rng(0).permutation(96)[:80]
    key = JX.key(5)
    s_loop = learner.init(1, backend="jax")
    s_epoch = device_copy(s_loop)
    step = compile_train_step(learner)
    loop_losses = []
    for b in range(5):
        idx = order[b * 16 : (b + 1) * 16]
        s_loop, m = step(s_loop, jnp.asarray(x[idx]), jnp.asarray(t[idx]), JX.fold_in(key, int(s_loop.step)))
        loop_losses.append(float(m["loss"]))
    s_epoch, ep_losses = compile_epoch(learner, 16)(s_epoch, jnp.asarray(x), jnp.asarray(t), jnp.asarray(order), key)
    np.testing.assert_allclose(ep_losses, loop_losses, rtol=1e-6)
    for u, v in zip(TREE.tree_leaves(s_epoch), TREE.tree_leaves(s_loop)):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="multiple of batch_size"):
        compile_epoch(learner, 16)(s_epoch, jnp.asarray(x), jnp.asarray(t), jnp.arange(20))


def test_compiled_step_and_fit_trace_the_step_once(monkeypatch):
    """The step is traced and compiled on the first call only: the state it returns has the types it takes,
    so later calls neither retrace nor compile (with dropout keys, a look-ahead optimiser, a scheduled rate)."""
    from jax import monitoring

    from paralens.training import compile as jax_compile

    traces, compiles = [], []
    real = jax_compile._train_step

    def counting(*args):
        traces.append(1)  # runs only while JAX traces the step
        return real(*args)

    def on_event(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    monkeypatch.setattr(jax_compile, "_train_step", counting)
    monitoring.register_event_duration_secs_listener(on_event)
    try:
        for learner, keyed in ((_small_learner(rate=0.25), True), (_small_learner(optimisers.nesterov(0.1, 0.9)), False),
                               (Learner(_chain([S.dense(4, 3, "sigmoid")]), losses.mse(),
                                        optimisers.gradient_update(), learning_rates.scheduled(0.1)), False)):
            x, t = _toy(48)
            batches = [(jnp.asarray(x[i * 16 : (i + 1) * 16]), jnp.asarray(t[i * 16 : (i + 1) * 16]),
                        JX.fold_in(JX.key(0), i) if keyed else None) for i in range(3)]
            step = compile_train_step(learner)
            s = learner.init(0, backend="jax")
            traces.clear()
            s, _ = step(s, *batches[0])
            assert len(traces) == 1
            compiles.clear()
            for b in batches[1:]:
                s, _ = step(s, *b)
            assert len(traces) == 1, f"{learner}: the step was traced again on a later call"
            assert compiles == [], f"{learner}: the step was compiled again on a later call"
        # fit (here with the scheduled rate): 2 epochs of 3 full batches, one trace
        traces.clear()
        fit(learner, x, t.argmax(1), epochs=2, batch_size=16, backend="jax", progress=False)
        assert len(traces) == 1, f"fit traced the step {len(traces)} times"
    finally:
        monitoring.unregister_event_duration_listener(on_event)


def test_guarded_step_keeps_the_state_when_an_update_is_not_finite():
    learner = Learner(_chain([S.linear(4, 3)]), losses.mse(), optimisers.sgd(1e30))
    x, t = _toy(8)
    s = learner.init(0, backend="jax")
    before = TREE.tree_map(np.asarray, s)
    s, m = compile_train_step(learner)(s, jnp.asarray(x * 1e30), jnp.asarray(t), None)
    assert int(m["nonfinite"]) == 0  # the first (only) parameter
    assert int(s.step) == 0
    np.testing.assert_array_equal(s.params["weight"], before.params["weight"])


# -- fit and the command line on JAX ---------------------------------------------------------------------


def test_fit_on_jax_matches_numpy_step_loop_and_whole_epoch(mnist):
    x, y = mnist[0][:300], mnist[1][:300].argmax(1)
    learner = Learner(mnist_mlp(), losses.softmax_cross_entropy(), optimisers.adam(1e-3))
    kw = {"epochs": 2, "batch_size": 64, "progress": False, "seed": 3}
    s_np, h_np = fit(learner, x, y, **kw)
    s_j, h_j = fit(learner, x, y, backend="jax", **kw)
    s_w, h_w = fit(learner, x, y, backend="jax", whole_epoch=True, **kw)
    for h in (h_j, h_w):
        np.testing.assert_allclose(h["loss"], h_np["loss"], rtol=1e-5)
        np.testing.assert_allclose(h["accuracy"], h_np["accuracy"], atol=1e-9)
    assert int(s_j.step) == int(s_w.step) == s_np.step == 10
    for k in s_np.params:
        np.testing.assert_allclose(s_w.params[k], s_j.params[k], rtol=1e-5, atol=1e-6)
    # a state handed in is copied, not donated
    s_more, _ = fit(learner, x, y, backend="jax", state=s_j, start_epoch=2, **{**kw, "epochs": 3})
    assert not any(a.is_deleted() for a in TREE.tree_leaves(s_j)) and int(s_more.step) == 15
    with pytest.raises(ValueError, match="needs backend='jax'"):
        fit(learner, x, y, whole_epoch=True, **kw)
    with pytest.raises(ValueError, match="jax_enable_x64"):  # not silently float32
        fit(learner, x, y, backend="jax", dtype="float64", **kw)


def test_fit_on_jax_skips_and_raises_on_nonfinite_like_numpy():
    x, t = _toy(32)
    x[8:16] *= 1e30  # the second batch blows up
    learner = Learner(_chain([S.linear(4, 3)]), losses.mse(), optimisers.sgd(1e10))
    kw = {"epochs": 1, "batch_size": 8, "progress": False, "shuffle": False}
    s_np, h_np = fit(learner, x, t, on_nonfinite="skip", **kw)
    s_j, h_j = fit(learner, x, t, on_nonfinite="skip", backend="jax", **kw)
    assert h_j.skipped_steps == h_np.skipped_steps >= 1 and int(s_j.step) == s_np.step
    np.testing.assert_allclose(s_j.params["weight"], s_np.params["weight"], rtol=1e-5)
    with pytest.raises(NonFiniteError, match="weight"):
        fit(learner, x, t, backend="jax", **kw)
    with pytest.raises(NonFiniteError, match="whole-epoch"):
        fit(learner, x, t, backend="jax", whole_epoch=True, **kw)


def test_cli_train_with_jax_backend(capsys):
    from paralens.cli import main

    rc = main(["train", "--model", "mnist-mlp", "--backend", "jax", "--epochs", "1", "--no-progress", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and out["backend"] == "jax" and out["train_accuracy"] > 0.7


# -- several devices ---------------------------------------------------------------------------------------

MULTI_DEVICE = textwrap.dedent(
    """
    import json, numpy as np, jax, jax.numpy as jnp
    from paralens.training.compile import (compile_epoch, compile_train_step, data_parallel_train_step,
                                              device_copy, make_mesh)
    from paralens.instances.smooth import dense, conv2d, max_pool2d, relu, flatten
    from paralens.categories.para import chain
    from paralens.learning import losses, optimisers
    from paralens.learning.supervised import Learner
    assert jax.device_count() == 4, jax.devices()
    model = chain(conv2d(1, 4, 3), relu(), max_pool2d(2), flatten(), dense(36, 3, None))
    learner = Learner(model, losses.softmax_cross_entropy(), optimisers.adam(0.01))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 8, 8)).astype(np.float32)
    t = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 64)]
    one = learner.init(0, backend="jax")
    many = device_copy(one)
    ep = device_copy(one)
    step1, stepn = compile_train_step(learner), data_parallel_train_step(learner)
    out = {"diff": 0.0, "loss_diff": 0.0}
    for i, bs in enumerate([16, 16, 16, 10]):  # the last batch does not split in 4: it runs replicated
        xb, tb = jnp.asarray(x[i * 16 : i * 16 + bs]), jnp.asarray(t[i * 16 : i * 16 + bs])
        one, m1 = step1(one, xb, tb, None)
        many, mn = stepn(many, xb, tb, None)
        out["loss_diff"] = max(out["loss_diff"], abs(float(m1["loss"]) - float(mn["loss"])))
    for u, v in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(many)):
        out["diff"] = max(out["diff"], float(jnp.max(jnp.abs(u - v))))
    w = many.params["0.weight"]
    out["replicated"] = bool(w.sharding.is_fully_replicated) and len(w.sharding.device_set) == 4
    # the whole epoch over the mesh equals it on one device
    order = jnp.arange(64)
    e1, l1 = compile_epoch(learner, 16)(device_copy(ep), jnp.asarray(x), jnp.asarray(t), order)
    en, ln = compile_epoch(learner, 16, mesh=make_mesh())(ep, jnp.asarray(x), jnp.asarray(t), order)
    out["epoch_loss_diff"] = float(jnp.max(jnp.abs(l1 - ln)))
    print(json.dumps(out))
    """
)


def test_data_parallel_step_equals_single_device_step_on_four_host_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", MULTI_DEVICE], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicated"]
    assert out["diff"] < 1e-5 and out["loss_diff"] < 1e-5 and out["epoch_loss_diff"] < 1e-5, out


def test_data_parallel_on_one_device_is_the_plain_step():
    learner = _small_learner()
    x, t = _toy(16)
    a = learner.init(0, backend="jax")
    b = device_copy(a)
    before = TREE.tree_map(np.asarray, a)
    plain, parallel = compile_train_step(learner), data_parallel_train_step(learner)
    for _ in range(2):  # the second step starts from an updated state: the update itself is compared
        a, ma = plain(a, jnp.asarray(x), jnp.asarray(t), None)
        b, mb = parallel(b, x, t, None)
        np.testing.assert_allclose(ma["loss"], mb["loss"], rtol=1e-6)
    assert TREE.tree_structure(a) == TREE.tree_structure(b) and int(a.step) == int(b.step) == 2
    for path, u, v in zip(TREE.tree_flatten_with_path(a)[0], TREE.tree_leaves(a), TREE.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(v), np.asarray(u), rtol=1e-6, atol=1e-7, err_msg=str(path[0]))
    # parameters and optimiser state (Adam's moments and count) moved
    assert not np.allclose(np.asarray(a.params["0.weight"]), before.params["0.weight"])
    assert any(not np.array_equal(np.asarray(u), np.asarray(v))
               for u, v in zip(TREE.tree_leaves(a.opt_state), TREE.tree_leaves(before.opt_state)))
