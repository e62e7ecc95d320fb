"""The same learning code trains a Boolean circuit (paper Ex 4.4, reverse derivative ascent)."""

import numpy as np

from paralens.circuits import elementwise as P
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner
from paralens.training.fit import fit


def test_reverse_derivative_ascent_learns_a_boolean_mask():
    rng = np.random.default_rng(0)
    target = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    x = rng.integers(0, 2, (64, 8))
    y = (x * target) % 2
    model = P.mask(8) >> P.not_(P.bits(8)) >> P.not_(P.bits(8))
    learner = Learner(model, losses.xor(8), optimisers.gradient_update(modulus=2), learning_rates.identity())
    state = learner.init(1)
    assert not np.array_equal(state.params["w"], target)
    state, hist = fit(learner, x, y, epochs=3, batch_size=1, seed=0, progress=False, dtype="int64",
                      state=state)
    np.testing.assert_array_equal(state.params["w"], target)
    assert hist["loss"][-1] == 0.0
