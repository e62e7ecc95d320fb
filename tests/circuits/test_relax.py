"""relax: GF(2) circuits read over the reals, gate by gate (the functor from Boolean to real circuits)."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

import support
from paralens.circuits import Builder, Circuit, Gate, lens, trace
from paralens.circuits import generators as G
from paralens.circuits.relax import RealCircuitLens, relax, relaxed_lens
from paralens.fields import GF, REALS
from paralens.fields.field import FieldError

F2 = GF(2)
TWO_INPUT = ["add", "mul", "and", "or", "xor", "nand", "nor", "xnor"]


# bundles of 1-3 gates of every generator and Boolean gate, and constants
random_circuit = functools.partial(support.random_circuit, field=F2, n_ops=12, n_outputs=3, bundle=3,
                                   kinds=[*TWO_INPUT, "neg", "not", "mux", "const"])


def all_bits(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int64)


@pytest.mark.parametrize("seed", range(8))
def test_relax_equals_boolean_on_bits(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    c = random_circuit(rng, n_inputs=n)
    r = relax(c)
    assert r.field == REALS and r.n_inputs == c.n_inputs and r.n_outputs == c.n_outputs
    x = all_bits(n)
    want = c.evaluate(x).view(np.ndarray)
    got = r.evaluate(x.astype(np.float64))
    np.testing.assert_array_equal(got, want.astype(np.float64))  # exactly, not approximately
    rx = relax(c, expand=True)
    assert set(rx.gate_counts()) <= {"add", "mul", "neg", "const"}
    np.testing.assert_array_equal(rx.evaluate(x.astype(np.float64)), want.astype(np.float64))


def test_relax_keeps_bundles_and_maps_generators():
    b = Builder(F2, 4)
    b.add([0, 1, 2], [1, 2, 3])          # one bundle of 3 XORs
    b.mul([0, 1], [2, 3])
    n = b.neg([0, 1, 2, 3])              # identity in characteristic 2: wiring
    b.op(G.OR, n[:2], [2, 3])
    c = b.build(np.arange(4, b.n_wires))
    r = relax(c)
    assert r.gate_counts() == {"xor": 3, "mul": 2, "or": 2}
    assert len(r.ops) == 3                # one relaxed op per op (neg vanished)


@pytest.mark.parametrize("name, form", [
    ("add", lambda a, b: a + b - 2 * a * b),
    ("mul", lambda a, b: a * b),
    ("and", lambda a, b: a * b),
    ("or", lambda a, b: a + b - a * b),
    ("xor", lambda a, b: a + b - 2 * a * b),
    ("nand", lambda a, b: 1 - a * b),
    ("nor", lambda a, b: 1 - a - b + a * b),
    ("xnor", lambda a, b: 1 - a - b + 2 * a * b),
    ("not", lambda a: 1 - a),
    ("neg", lambda a: a),
    ("mux", lambda s, a, b: s * (b - a) + a),
])
def test_relaxed_gates_are_multilinear_forms(name, form):
    gen = G.PRIMITIVES.get(name) or G.BOOLEAN_GATES[name]
    c = Circuit.generator(F2, gen)
    x = np.random.default_rng(0).uniform(-2, 2, (50, gen.n_in))
    for expand in (False, True):
        np.testing.assert_allclose(relax(c, expand=expand).evaluate(x)[:, 0], form(*x.T), rtol=1e-12, atol=1e-12)


def test_relax_constants_and_user_gates():
    maj = Gate("maj3", 3, lambda x, y, z: x * y + y * z + x * z)
    c = trace(F2, 3, lambda x, y, z: [maj(x, y, z), x + 1, 0 * x + 1])
    r = relax(c)
    x = all_bits(3)
    np.testing.assert_array_equal(r.evaluate(x.astype(float)), c.evaluate(x).view(np.ndarray).astype(float))
    assert "maj3" not in r.gate_counts()  # inlined: relax of its GF(2) definition


@pytest.mark.parametrize("seed", range(4))
def test_relax_is_a_functor(seed):
    rng = np.random.default_rng(100 + seed)
    f = random_circuit(rng, n_inputs=4, n_outputs=3)
    g = random_circuit(rng, n_inputs=3, n_outputs=2)
    h = random_circuit(rng, n_inputs=2, n_outputs=2)
    x = rng.uniform(-1.5, 1.5, (40, 4))
    np.testing.assert_allclose(relax(f >> g).evaluate(x), (relax(f) >> relax(g)).evaluate(x), rtol=1e-12)
    xy = rng.uniform(-1.5, 1.5, (40, 6))
    np.testing.assert_allclose(relax(f @ h).evaluate(xy), (relax(f) @ relax(h)).evaluate(xy), rtol=1e-12)
    ident = Circuit.identity(F2, 4)
    np.testing.assert_allclose(relax(ident >> f).evaluate(x), relax(f).evaluate(x), rtol=1e-12)


def test_relax_rejects_other_fields():
    with pytest.raises(FieldError):
        relax(trace(GF(3), 2, lambda x, y: x * y))
    with pytest.raises(TypeError):
        relax("not a circuit")


def _finite_differences(L, x, dy, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = ((L.get(xp) - L.get(xm)) * dy).sum() / (2 * eps)
    return g


@pytest.mark.parametrize("seed", range(3))
def test_relaxed_lens_reverse_derivative_vs_finite_differences(seed):
    rng = np.random.default_rng(200 + seed)
    c = random_circuit(rng, n_inputs=4, n_outputs=3)
    L = relaxed_lens(c)
    assert isinstance(L, RealCircuitLens)
    x = rng.uniform(0, 1, (3, 4))
    dy = rng.normal(size=(3, 3))
    np.testing.assert_allclose(L.put(x, dy), _finite_differences(L, x, dy), rtol=1e-5, atol=1e-6)


def _jax_eval(c, x):
    """An independent interpreter of a relaxed circuit with jax.numpy (for jax.vjp)."""
    import jax.numpy as jnp

    forms = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "neg": lambda a: -a,
             "xor": lambda a, b: a + b - 2 * a * b, "and": lambda a, b: a * b, "or": lambda a, b: a + b - a * b,
             "nand": lambda a, b: 1 - a * b, "nor": lambda a, b: 1 - a - b + a * b,
             "xnor": lambda a, b: 1 - a - b + 2 * a * b, "not": lambda a: 1 - a,
             "mux": lambda s, a, b: a + s * (b - a)}
    wires = [x[:, i] for i in range(c.n_inputs)]
    for op in c.ops:
        if op.gen.name == "const":
            outs = [jnp.full(x.shape[0], float(v)) for v in op.data]
        else:
            outs = [forms[op.gen.name](*[wires[a[i]] for a in op.args]) for i in range(op.k)]
        wires.extend(outs)
    return jnp.stack([wires[o] for o in c.outputs], axis=1)


@pytest.mark.parametrize("seed", range(3))
def test_relaxed_reverse_derivative_vs_jax_vjp(seed):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(300 + seed)
        c = random_circuit(rng, n_inputs=5, n_outputs=4)
        r = relax(c)
        x = rng.uniform(-1, 1, (6, 5))
        dy = rng.normal(size=(6, 4))
        y, vjp = jax.vjp(lambda a: _jax_eval(r, a), jax.numpy.asarray(x))
        np.testing.assert_allclose(np.asarray(y), r.evaluate(x), rtol=1e-12, atol=1e-12)
        (want,) = vjp(jax.numpy.asarray(dy))
        np.testing.assert_allclose(relaxed_lens(c).put(x, dy), np.asarray(want), rtol=1e-10, atol=1e-12)
    finally:
        jax.config.update("jax_enable_x64", False)


def test_library_lens_of_relaxed_circuit():
    """``lens(relax(c))`` through paralens.circuits.lens equals the relaxed lens."""
    rng = np.random.default_rng(7)
    c = random_circuit(rng, n_inputs=3, n_outputs=2)
    x = rng.uniform(0, 1, (4, 3))
    dy = rng.normal(size=(4, 2))
    got = lens(relax(c)).put(x, dy)
    np.testing.assert_allclose(got, relaxed_lens(c).put(x, dy), rtol=1e-12)
