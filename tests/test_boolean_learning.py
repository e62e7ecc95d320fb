"""The same learning code trains a Boolean circuit (paper Ex 4.4, reverse derivative ascent)."""

import numpy as np

from paralens import Map, Para, R, Zp
from paralens.categories.para import ParaLens, ParamSpec
from paralens.categories.types import Product
from paralens.instances import poly as P
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner
from paralens.training.fit import fit


def mask_gate(n: int) -> Para:
    """y = w AND x with a learned bit mask w (a parametric Boolean circuit)."""
    t = P.bits(n)

    def fn(a):
        (w,), x = a
        return (w * x) % 2

    def rev(a, d):
        (w,), x = a
        return ((d * x).sum(axis=0) % 2,), (d * w) % 2

    return ParaLens(R(Map(fn, rev, Product((Product((t,)), t)), t, "mask")),
                    {"w": ParamSpec((n,), lambda rng, s, dt: rng.integers(0, 2, s), Zp(2))})


def test_reverse_derivative_ascent_learns_a_boolean_mask():
    rng = np.random.default_rng(0)
    target = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    x = rng.integers(0, 2, (64, 8))
    y = (x * target) % 2
    model = mask_gate(8) >> P.not_(P.bits(8)) >> P.not_(P.bits(8))
    learner = Learner(model, losses.xor(8), optimisers.gradient_update(modulus=2), learning_rates.identity())
    state = learner.init(1)
    assert not np.array_equal(state.params["w"], target)
    state, hist = fit(learner, x, y, epochs=3, batch_size=1, seed=0, progress=False, dtype="int64",
                      state=state)
    np.testing.assert_array_equal(state.params["w"], target)
    assert hist["loss"][-1] == 0.0
