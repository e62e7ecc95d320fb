"""Initialisers: seeded, per layer, with the variances of their closed forms (PyTorch's fan convention)."""

import math

import numpy as np
import pytest

from paralens.instances import initialisers as I
from paralens.instances.smooth import conv2d, dense, linear


def _draw(init, shape, seed=0):
    return init(np.random.default_rng(seed), shape, "float64")


@pytest.mark.parametrize(
    "name,init,var",
    [
        ("glorot_uniform", I.glorot_uniform(), 2.0 / (300 + 200)),
        ("glorot_normal", I.glorot_normal(), 2.0 / (300 + 200)),
        ("he_uniform", I.he_uniform(), 2.0 / 300),
        ("he_normal", I.he_normal(), 2.0 / 300),
        ("normal", I.normal(0.01), 1e-4),
        ("uniform", I.uniform(-0.3, 0.3), 0.6**2 / 12),
        ("torch_default", I.torch_default(), 1.0 / (3 * 300)),
    ],
)
def test_variance_matches_the_closed_form(name, init, var):
    w = _draw(init, (200, 300))
    assert w.var() == pytest.approx(var, rel=0.05), name
    assert abs(w.mean()) < 4 * math.sqrt(var / w.size)


def test_uniform_bounds_and_conv_fans():
    w = _draw(I.glorot_uniform(), (16, 8, 3, 3))  # fan_in 72, fan_out 144
    bound = math.sqrt(6.0 / (72 + 144))
    assert w.max() <= bound and w.min() >= -bound and w.max() > 0.95 * bound
    # he_uniform uses the fan-in alone: bound sqrt(6 / 72), variance 2 / 72 (swapped fans: sqrt(6 / 144), 2 / 144)
    w = _draw(I.he_uniform(), (16, 8, 3, 3))
    bound = math.sqrt(6.0 / 72)
    assert np.abs(w).max() <= bound and w.max() > 0.95 * bound and w.min() < -0.95 * bound
    assert w.var() == pytest.approx(2.0 / 72, rel=0.1)


def test_constant_initialisers():
    assert np.all(_draw(I.zeros(), (3,)) == 0) and np.all(_draw(I.ones(), (3,)) == 1)
    assert np.all(_draw(I.constant(0.5), (2, 2)) == 0.5)


def test_initialisers_are_chosen_per_layer_and_seeded():
    m = dense(50, 40, "relu", init="he_normal", bias_init=I.constant(0.1)) >> linear(40, 10, init=I.zeros())
    p = m.init(seed=3, dtype="float64")
    assert np.all(p["0.bias"] == 0.1) and np.all(p["1.weight"] == 0)
    assert p["0.weight"].std() == pytest.approx(math.sqrt(2 / 50), rel=0.1)
    np.testing.assert_array_equal(m.init(seed=3, dtype="float64")["0.weight"], p["0.weight"])
    assert not np.array_equal(m.init(seed=4, dtype="float64")["0.weight"], p["0.weight"])
    c = conv2d(3, 4, 3, init="kaiming_uniform").init(0)
    assert c["weight"].dtype == np.float32 and c["weight"].shape == (4, 3, 3, 3)
    # kaiming_uniform is He uniform on the conv weight's fan-in 3 * 3 * 3 = 27 (fan-out 36 would give a
    # bound of sqrt(6 / 36) = 0.87 of it)
    bound = math.sqrt(6.0 / 27)
    w = conv2d(3, 4, 3, init="kaiming_uniform").init(0, dtype="float64")["weight"]
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert w.var() == pytest.approx(2.0 / 27, rel=0.25)
    big = conv2d(8, 16, 3, init="kaiming_uniform").init(1, dtype="float64")["weight"]  # fan-in 72, fan-out 144
    assert np.abs(big).max() <= math.sqrt(6.0 / 72) < 1.05 * np.abs(big).max()
    assert big.var() == pytest.approx(2.0 / 72, rel=0.1)


def test_unknown_initialiser_is_named():
    with pytest.raises(ValueError, match="unknown initialiser 'lecun'"):
        linear(3, 2, init="lecun")
