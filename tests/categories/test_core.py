"""The category layer: build-time errors, no recomputation, Para naming and reparametrisation,
and the smooth layers' puts against JAX autodiff of independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paralens import CompositionError, Map, Para, ParameterError, R, identity, laws, reals
from paralens.categories.lens import PrimitiveLens, compose
from paralens.categories.para import ParaLens, ParamSpec, chain
from paralens.categories.types import Product
from paralens.instances import initialisers
from paralens.instances import smooth as S

# -- build-time errors ---------------------------------------------------------------------------------


def _assert_laws_hold(report, *must_have: str):
    """All passed and each named law really ran (a report with no check is ``ok`` too)."""
    assert report.ok, str(report)
    ran = {r.law for r in report if r.checks > 0}
    assert ran and set(must_have) <= ran, f"laws {sorted(set(must_have) - ran)} were not checked: {report}"


def test_composition_error_names_both_sides():
    with pytest.raises(CompositionError) as info:
        S.linear(784, 128) >> S.linear(100, 10)
    assert "cannot compose linear(784->128) with linear(100->10): output (128,) is not input (100,)" in str(info.value)


def test_lens_composition_errors():
    with pytest.raises(CompositionError, match=r"cannot compose scale\(2.0\) with matmul: output \(3,\)"):
        S.scale(2.0, reals(3)) >> S.matmul(2, 2, 2)
    with pytest.raises(CompositionError, match=r"cannot compose flatten with linear\(100->10\): output \(144,\)"):
        S.reshape(1, 8, 8) >> S.conv2d(1, 4, 3) >> S.flatten() >> S.linear(100, 10)


def test_tensor_composition_errors():
    f = S.scale(2.0, reals(3)) @ S.scale(2.0, reals(4))
    with pytest.raises(CompositionError) as info:
        f >> S.add2(reals(3))
    assert "cannot compose scale(2.0) @ scale(2.0) with add: output ((3,) x (4,)) is not input ((3,) x (3,))" in str(
        info.value)
    with pytest.raises(CompositionError, match=r"output \(\(2,\) x \(5,\)\) is not input \(\(2,\) x \(4,\)\)"):
        (S.linear(3, 2) @ S.linear(4, 5)) >> (S.linear(2, 1) @ S.linear(4, 1))
    with pytest.raises(CompositionError, match=r"cannot compose linear\(3->2\) with sin @ sin: output \(2,\) is not "
                                               r"input \(any shape x any shape\)"):
        S.linear(3, 2) >> (S.sin() @ S.sin())
    # the fitting pair composes and computes componentwise
    ok = (S.scale(2.0, reals(3)) @ S.scale(3.0, reals(3))) >> S.add2(reals(3))
    a, b = np.ones((1, 3)), np.full((1, 3), 2.0)
    np.testing.assert_allclose(ok.get((a, b)), 2 * a + 3 * b)


def test_para_chain_conv_pool_errors():
    with pytest.raises(CompositionError, match=r"conv2d\(3->8, 3x3\) needs input \(channels=3, height, width\), "
                                               r"got \(1, 28, 28\)"):
        S.reshape(1, 28, 28) >> S.conv2d(3, 8, 3)
    with pytest.raises(CompositionError, match=r"max_pool2d\(5\) needs input \(channels, height>=5, width>=5\), "
                                               r"got \(4, 2, 2\)"):
        S.reshape(1, 4, 4) >> S.conv2d(1, 4, 3) >> S.max_pool2d(5)
    with pytest.raises(CompositionError, match="smaller than the kernel"):
        S.reshape(1, 2, 2) >> S.conv2d(1, 1, 3)
    # the right sizes compose, and the codomain is computed when built
    net = S.reshape(1, 8, 8) >> S.conv2d(1, 4, 3, padding=1) >> S.relu() >> S.avg_pool2d(2) >> S.flatten() >> \
        S.linear(64, 10)
    assert net.cod == reals(10)
    p = net.init(0, dtype="float64")
    assert net.get(p, np.zeros((2, 64))).shape == (2, 10)


# -- no recomputation: a depth-n chain runs n forwards and n backwards ---------------------------------


class Counts:
    def __init__(self):
        self.forward = 0
        self.backward = 0


def counting_lens(counts: Counts, c: float, name: str):
    def fwd(a):
        counts.forward += 1
        return c * a, None

    def bwd(_, d):
        counts.backward += 1
        return c * d

    return PrimitiveLens(fwd, bwd, reals(2), reals(2), name)


@pytest.mark.parametrize("n", [10, 50])
def test_lens_chain_calls_each_part_once(n):
    counts = Counts()
    parts = [counting_lens(counts, 1.0 + 0.01 * i, f"c{i}") for i in range(n)]
    left = parts[0]
    for p in parts[1:]:  # built by >>, left-nested: ((c0 >> c1) >> c2) ...
        left = left >> p
    a, d = np.array([[1.0, -2.0]]), np.array([[0.5, 3.0]])
    scale = math.prod(1.0 + 0.01 * i for i in range(n))
    da = left.put(a, d)
    assert (counts.forward, counts.backward) == (n, n)
    np.testing.assert_allclose(da, scale * d)
    # right-nested and tree-shaped composites too
    counts.forward = counts.backward = 0
    right = parts[-1]
    for p in reversed(parts[:-1]):
        right = p >> right
    np.testing.assert_allclose(right.put(a, d), scale * d)
    assert (counts.forward, counts.backward) == (n, n)
    counts.forward = counts.backward = 0
    half = n // 2
    tree = compose(*parts[:half]) >> compose(*parts[half:])
    tree.put(a, d)
    assert (counts.forward, counts.backward) == (n, n)


@pytest.mark.parametrize("n", [10, 50])
def test_para_chain_calls_each_part_once(n):
    counts = Counts()

    def fn(a):
        counts.forward += 1
        (w,), x = a
        return w * x

    def rev(a, d):
        counts.backward += 1
        (w,), x = a
        return ((d * x).sum(axis=0),), d * w

    def part():
        m = R(Map(fn, rev, Product((Product((reals(2),)), reals(2))), reals(2), "wx"))
        return ParaLens(m, {"w": ParamSpec((2,), initialisers.get("ones"))})

    model = part()
    for _ in range(n - 1):
        model = model >> part()
    assert sorted(model.params) == sorted(f"{i}.w" for i in range(n))
    rng = np.random.default_rng(0)
    p = {f"{i}.w": rng.uniform(0.9, 1.1, 2) for i in range(n)}
    x, d = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    counts.forward = counts.backward = 0
    dp, dx = model.put(p, x, d)
    assert (counts.forward, counts.backward) == (n, n)
    # y = (prod_i w_i) x: dx = prod w * d and dw_i = sum_batch d x prod_{j != i} w_j
    W = np.prod([p[f"{i}.w"] for i in range(n)], axis=0)
    np.testing.assert_allclose(dx, W * d)
    for i in (0, n // 2, n - 1):
        np.testing.assert_allclose(dp[f"{i}.w"], (d * x).sum(0) * W / p[f"{i}.w"])
    # a tensor runs each side once as well
    counts.forward = counts.backward = 0
    (part() @ part()).put({"0.w": np.ones(2), "1.w": np.ones(2)}, (x, x), (d, d))
    assert (counts.forward, counts.backward) == (2, 2)


# -- Para: names, tensor, reparametrisation, tying, lifting, init, printing --------------------------------


def test_para_names():
    no_clash = S.linear(4, 3) >> S.bias(3) >> S.relu()
    assert list(no_clash.params) == ["weight", "bias"]
    clash = S.linear(4, 8) >> S.bias(8) >> S.relu() >> S.linear(8, 3) >> S.bias(3)
    assert list(clash.params) == ["0.weight", "1.bias", "3.weight", "4.bias"]
    assert clash.params["3.weight"].shape == (3, 8)
    named = S.linear(4, 8).named("enc") >> S.linear(8, 4).named("dec")
    assert list(named.params) == ["enc.weight", "dec.weight"]
    assert list(S.linear(2, 2, name="fc1").params) == ["fc1.weight"]
    assert list(S.dense(3, 2, name="d").params) == ["d.weight", "d.bias"]
    with pytest.raises(ParameterError, match="needs parameter 'weight'"):
        S.linear(2, 2).get({"w": np.ones((2, 2))}, np.ones((1, 2)))


def test_named_parameters_route_to_the_right_parts():
    model = S.linear(3, 2).named("a") >> S.linear(2, 2).named("b")
    rng = np.random.default_rng(1)
    p = {"a.weight": rng.normal(size=(2, 3)), "b.weight": rng.normal(size=(2, 2))}
    x, d = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    y = model.get(p, x)
    np.testing.assert_allclose(y, x @ p["a.weight"].T @ p["b.weight"].T)
    dp, dx = model.put(p, x, d)
    h = x @ p["a.weight"].T
    np.testing.assert_allclose(dp["b.weight"], d.T @ h)
    np.testing.assert_allclose(dp["a.weight"], (d @ p["b.weight"]).T @ x)
    np.testing.assert_allclose(dx, d @ p["b.weight"] @ p["a.weight"])


def test_para_tensor():
    t = S.linear(3, 2) @ S.linear(4, 5)
    assert list(t.params) == ["0.weight", "1.weight"]
    assert t.dom == Product((reals(3), reals(4))) and t.cod == Product((reals(2), reals(5)))
    rng = np.random.default_rng(2)
    p = {"0.weight": rng.normal(size=(2, 3)), "1.weight": rng.normal(size=(5, 4))}
    x, z = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    dy, dw = rng.normal(size=(2, 2)), rng.normal(size=(2, 5))
    y0, y1 = t.get(p, (x, z))
    np.testing.assert_allclose(y0, x @ p["0.weight"].T)
    np.testing.assert_allclose(y1, z @ p["1.weight"].T)
    dp, (dx, dz) = t.put(p, (x, z), (dy, dw))
    np.testing.assert_allclose(dp["0.weight"], dy.T @ x)
    np.testing.assert_allclose(dp["1.weight"], dw.T @ z)
    np.testing.assert_allclose(dx, dy @ p["0.weight"])
    np.testing.assert_allclose(dz, dw @ p["1.weight"])
    # no clash: names kept; a lens on either side is lifted
    mixed = S.bias(3) @ S.sin()
    assert list(mixed.params) == ["bias"]
    _assert_laws_hold(laws.check_laws(S.linear(2, 2) @ S.tanh(), shape=(3,)), "R preserves @",
                      "reverse derivative in parameters")


def test_reparametrise_by_a_lens_per_parameter():
    """W = exp(Q): the reparametrised gradient is dW * exp(Q), and finite differences agree."""
    base = S.linear(3, 2)
    rep = base.reparametrise({"weight": S.exp()})
    assert list(rep.params) == ["weight"] and rep.params["weight"].shape == (2, 3)
    rng = np.random.default_rng(3)
    q = {"weight": rng.normal(size=(2, 3))}
    x, d = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(rep.get(q, x), x @ np.exp(q["weight"]).T)
    dq, dx = rep.put(q, x, d)
    np.testing.assert_allclose(dq["weight"], (d.T @ x) * np.exp(q["weight"]))
    np.testing.assert_allclose(dx, d @ np.exp(q["weight"]))
    report = laws.check_laws(rep)
    _assert_laws_hold(report, "reverse derivative in parameters", "reverse derivative in input")
    with pytest.raises(ParameterError, match="cannot reparametrise"):
        base.reparametrise({"nope": S.exp()})


def test_tie_sums_gradients():
    model = S.linear(3, 3) >> S.tanh() >> S.linear(3, 3)
    tied = model.tie({"w": ["0.weight", "2.weight"]})
    assert list(tied.params) == ["w"]
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 3)) * 0.5
    x, d = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    y = tied.get({"w": w}, x)
    np.testing.assert_allclose(y, np.tanh(x @ w.T) @ w.T)
    dq, dx = tied.put({"w": w}, x, d)
    dp, dx_untied = model.put({"0.weight": w, "2.weight": w}, x, d)
    np.testing.assert_allclose(dq["w"], dp["0.weight"] + dp["2.weight"])
    np.testing.assert_allclose(dx, dx_untied)
    # and against finite differences of the tied function in w
    eps, v = 1e-6, rng.normal(size=(3, 3))
    fd = (np.sum(tied.get({"w": w + eps * v}, x) * d) - np.sum(tied.get({"w": w - eps * v}, x) * d)) / (2 * eps)
    assert abs(fd - np.sum(dq["w"] * v)) < 1e-6 * max(1.0, abs(fd))
    _assert_laws_hold(laws.check_laws(tied), "reverse derivative in parameters", "backward_params = dp of put")
    with pytest.raises(ParameterError, match="shapes differ"):
        (S.linear(3, 2) >> S.linear(2, 2)).tie({"w": ["0.weight", "1.weight"]})
    with pytest.raises(ParameterError, match="cannot tie"):
        model.tie({"w": ["0.weight", "9.weight"]})


def test_lift_a_lens():
    lifted = Para.lift(S.sigmoid())
    assert lifted.params == {} and lifted.label() == "sigmoid"
    x, d = np.array([[0.0, 2.0]]), np.array([[1.0, 1.0]])
    dp, dx = lifted.put({}, x, d)
    s = 1 / (1 + np.exp(-x))
    assert dp == {}
    np.testing.assert_allclose(dx, s * (1 - s))
    assert Para.lift(lifted) is lifted
    assert list(chain(S.sin(), S.linear(2, 2)).params) == ["weight"]


def test_init_is_reproducible_and_seeded():
    model = S.linear(4, 8) >> S.bias(8) >> S.relu() >> S.linear(8, 3)
    p0, p0b, p1 = model.init(0), model.init(0), model.init(1)
    assert sorted(p0) == sorted(model.params)
    for n in p0:
        np.testing.assert_array_equal(p0[n], p0b[n])
        assert p0[n].shape == model.params[n].shape
    assert not np.array_equal(p0["0.weight"], p1["0.weight"])
    assert not np.array_equal(p0["0.weight"][:3, :3], p0["3.weight"][:3, :3])  # each parameter its own stream
    np.testing.assert_array_equal(p0["1.bias"], np.zeros(8))  # bias init zeros
    bound = math.sqrt(6.0 / (4 + 8))  # glorot uniform
    assert np.abs(p0["0.weight"]).max() <= bound and np.abs(p0["0.weight"]).max() > bound / 2
    assert p0["0.weight"].dtype == np.float32 and model.init(0, dtype="float64")["0.weight"].dtype == np.float64


def test_printing():
    model = S.linear(4, 8) >> S.bias(8) >> S.relu() >> S.linear(8, 3)
    assert str(model) == "linear(4->8) >> bias(8) >> relu >> linear(8->3)"
    summary = model.summary()
    assert "0.weight" in summary and "R[8, 4]" in summary and "3.weight" in summary
    assert f"total parameters: {4 * 8 + 8 + 8 * 3}" in summary
    assert model.num_params() == 4 * 8 + 8 + 8 * 3
    assert repr(model).startswith("<Para linear(4->8)")
    assert str(S.dense(3, 2, "tanh")) == "dense(3->2, tanh)"
    assert str(S.sin() >> S.exp()) == "sin >> exp"
    assert str(S.sin() @ (S.exp() >> S.tanh())) == "sin @ (exp >> tanh)"
    assert str(S.linear(2, 2).named("fc")) == "fc: linear(2->2)"


def test_identity_laws_and_unit():
    f = S.tanh()
    x, d = np.array([[0.3, -1.0]]), np.array([[2.0, 1.0]])
    for g in (identity() >> f, f >> identity()):
        np.testing.assert_allclose(g.get(x), np.tanh(x))
        np.testing.assert_allclose(g.put(x, d), (1 - np.tanh(x) ** 2) * d)
    np.testing.assert_allclose(identity().put(x, d), d)


# -- the smooth layers against JAX autodiff ----------------------------------------------------------------


@pytest.fixture(scope="module")
def jx():
    jax = pytest.importorskip("jax")
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", before)


def _vjp(jax, fn, args, ct):
    out, pull = jax.vjp(fn, *args)
    return np.asarray(out), [np.asarray(g) for g in pull(ct)]


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cfg", [
    {"cin": 1, "cout": 2, "k": 3, "stride": 1, "padding": 0, "bias": True, "hw": (5, 6)},
    {"cin": 2, "cout": 3, "k": 3, "stride": 2, "padding": 1, "bias": True, "hw": (7, 5)},
    {"cin": 3, "cout": 2, "k": 2, "stride": 2, "padding": 0, "bias": False, "hw": (5, 5)},
    {"cin": 2, "cout": 2, "k": (2, 3), "stride": 1, "padding": 2, "bias": True, "hw": (4, 4)},
])
def test_conv2d_against_jax(jx, cfg):
    jnp = jx.numpy
    layer = S.conv2d(cfg["cin"], cfg["cout"], cfg["k"], cfg["stride"], cfg["padding"], cfg["bias"])
    rng = np.random.default_rng(5)
    p = {n: rng.normal(size=s.shape) for n, s in layer.params.items()}
    x = rng.normal(size=(2, cfg["cin"]) + cfg["hw"])
    y = layer.get(p, x)
    dy = rng.normal(size=y.shape)
    pad = cfg["padding"]

    def ref(w, b, x):
        out = jx.lax.conv_general_dilated(x, w, (cfg["stride"],) * 2, [(pad, pad), (pad, pad)],
                                          dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return out + b[None, :, None, None]

    b = p.get("bias", np.zeros(cfg["cout"]))
    out, (gw, gb, gx) = _vjp(jx, ref, (jnp.asarray(p["weight"]), jnp.asarray(b), jnp.asarray(x)), jnp.asarray(dy))
    _close(y, out)
    dp, dx = layer.put(p, x, dy)
    _close(dx, gx)
    _close(dp["weight"], gw)
    if cfg["bias"]:
        _close(dp["bias"], gb)


@pytest.mark.parametrize("kind,size,stride,hw", [
    ("max", 2, 2, (4, 6)), ("max", 2, 2, (5, 5)), ("max", 3, 1, (5, 4)), ("max", 2, 3, (7, 7)),
    ("avg", 2, 2, (4, 6)), ("avg", 3, 2, (7, 6)), ("avg", 2, 1, (3, 3)),
])
def test_pooling_against_jax(jx, kind, size, stride, hw):
    jnp, lax = jx.numpy, jx.lax
    lens = (S.max_pool2d if kind == "max" else S.avg_pool2d)(size, stride)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3) + hw)  # continuous: no ties inside a window
    y = lens.get(x)
    dy = rng.normal(size=y.shape)

    def ref(x):
        if kind == "max":
            return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, size, size), (1, 1, stride, stride), "VALID")
        return lax.reduce_window(x, 0.0, lax.add, (1, 1, size, size), (1, 1, stride, stride), "VALID") / size**2

    out, (gx,) = _vjp(jx, ref, (jnp.asarray(x),), jnp.asarray(dy))
    _close(y, out)
    _close(lens.put(x, dy), gx)


ACTIVATION_REFS = {
    "relu": (S.relu, lambda jx: jx.nn.relu),
    "leaky_relu": (lambda: S.leaky_relu(0.1), lambda jx: lambda x: jx.nn.leaky_relu(x, 0.1)),
    "sigmoid": (S.sigmoid, lambda jx: jx.nn.sigmoid),
    "tanh": (S.tanh, lambda jx: jx.numpy.tanh),
    "gelu": (lambda: S.gelu(approximate=False), lambda jx: lambda x: jx.nn.gelu(x, approximate=False)),
    "gelu_tanh": (lambda: S.gelu(approximate=True), lambda jx: lambda x: jx.nn.gelu(x, approximate=True)),
    "softmax": (S.softmax, lambda jx: lambda x: jx.nn.softmax(x, axis=-1)),
    "log_softmax": (S.log_softmax, lambda jx: lambda x: jx.nn.log_softmax(x, axis=-1)),
    "exp": (S.exp, lambda jx: jx.numpy.exp),
    "sin": (S.sin, lambda jx: jx.numpy.sin),
    "square": (S.square, lambda jx: jx.numpy.square),
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_REFS))
def test_activations_against_jax(jx, name):
    make, ref = ACTIVATION_REFS[name]
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 5)) * 3  # includes large |x| for the stable sigmoid and softmax
    dy = rng.normal(size=(3, 5))
    lens = make()
    out, (gx,) = _vjp(jx, ref(jx), (jx.numpy.asarray(x),), jx.numpy.asarray(dy))
    _close(lens.get(x), out)
    _close(lens.put(x, dy), gx)


def test_linear_bias_dense_matmul_against_jax(jx):
    jnp = jx.numpy
    rng = np.random.default_rng(8)
    model = S.dense(4, 3, "tanh") >> S.linear(3, 2) >> S.bias(2) >> S.softmax()
    p = {n: rng.normal(size=s.shape) for n, s in model.params.items()}
    x = rng.normal(size=(5, 4))
    y = model.get(p, x)
    dy = rng.normal(size=y.shape)
    names = sorted(p)

    def ref(*args):
        q = dict(zip(names, args[:-1]))
        h = jnp.tanh(args[-1] @ q["0.weight"].T + q["0.bias"])
        return jx.nn.softmax(h @ q["1.weight"].T + q["2.bias"], axis=-1)

    out, grads = _vjp(jx, ref, [jnp.asarray(p[n]) for n in names] + [jnp.asarray(x)], jnp.asarray(dy))
    _close(y, out)
    dp, dx = model.put(p, x, dy)
    for n, g in zip(names, grads[:-1]):
        _close(dp[n], g)
    _close(dx, grads[-1])
    # matmul
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 2))
    dc = rng.normal(size=(2, 3, 2))
    out, (ga, gb) = _vjp(jx, jnp.matmul, (jnp.asarray(a), jnp.asarray(b)), jnp.asarray(dc))
    lens = S.matmul(3, 4, 2)
    _close(lens.get((a, b)), out)
    da, db = lens.put((a, b), dc)
    _close(da, ga)
    _close(db, gb)


def test_flatten_reshape_against_numpy():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 3, 4))
    f = S.flatten()
    assert f.get(x).shape == (2, 12)
    np.testing.assert_array_equal(f.put(x, np.arange(24.0).reshape(2, 12)), np.arange(24.0).reshape(2, 3, 4))
    r = S.reshape(4, 3)
    np.testing.assert_array_equal(r.get(x), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(r.put(x, x.reshape(2, 4, 3)), x)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=st.integers(0, 1000))
def test_dropout_evaluation_is_identity(seed):
    x = np.random.default_rng(seed).normal(size=(2, 4))
    lens = S.dropout(0.3)
    np.testing.assert_array_equal(lens.get(x), x)
    np.testing.assert_array_equal(lens.put(x, 2 * x), 2 * x)


def test_the_one_pytree_module_maps_flattens_and_rebuilds():
    from collections import namedtuple

    import numpy as np

    from paralens.categories.pytree import flatten, tree_leaves, tree_map, unflatten
    from paralens.learning.optimisers import tree_map as optimiser_tree_map

    assert optimiser_tree_map is tree_map
    Pair = namedtuple("Pair", "a b")
    t = {"z": [np.ones(2), None], "a": Pair(np.zeros(1), (np.full(3, 2.0),))}
    doubled = tree_map(lambda x: 2 * x, t)
    assert isinstance(doubled["a"], Pair) and doubled["z"][1] is None and isinstance(doubled["z"], list)
    assert [x.tolist() for x in tree_leaves(doubled)] == [[2.0, 2.0], [0.0], [4.0, 4.0, 4.0]]
    assert [x.size for x in tree_leaves(t, sort_keys=True)] == [1, 3, 2]
    leaves, treedef = flatten(t)
    back = unflatten(treedef, leaves)
    assert isinstance(back["a"], Pair) and back["z"][1] is None and back["a"].b[0] is t["a"].b[0]
    pairs = tree_map(lambda x: (x, -x), {"p": np.ones(1)})
    assert tree_map(lambda p: p[1], pairs, is_leaf=lambda p: isinstance(p, tuple))["p"].tolist() == [-1.0]
