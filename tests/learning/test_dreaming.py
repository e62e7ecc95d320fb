"""Deep dreaming (paper Ex 4.5): the optimiser on the input wires of a trained MNIST MLP."""

import numpy as np
import pytest

from paralens.data.idx import load_mnist
from paralens.learning import losses
from paralens.learning.dreaming import ascent, dream, l2_put, one_hot
from paralens.learning.optimisers import adam, gradient_update
from paralens.learning.supervised import Learner
from paralens.models import mnist_mlp
from paralens.training.fit import fit


@pytest.fixture(scope="module")
def trained():
    d = load_mnist(limit=1000)
    learner = Learner(mnist_mlp(), losses.softmax_cross_entropy(), adam(1e-3))
    state, _ = fit(learner, d.features, d.labels, epochs=3, batch_size=64, seed=0, progress=False)
    return learner.model, state.params


def _blank():
    return np.zeros((1, 1, 28, 28), np.float32)


@pytest.mark.parametrize("target", range(10))
def test_the_target_logit_rises_and_ends_above_every_other(trained, target):
    model, params = trained
    x, hist = dream(model, params, _blank(), target, steps=30, lr=0.05, clip=(0.0, 1.0), l2=0.01)
    logits = hist["logits"][-1, 0]
    assert hist["logit"].shape == (31, 1)
    assert hist["logit"][-1, 0] > hist["logit"][0, 0] + 1.0
    assert int(np.argmax(logits)) == target
    assert logits[target] > np.max(np.delete(logits, target))
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_one_step_is_ex_4_5_a_plus_alpha_times_the_reverse_derivative(trained):
    """put(a, p, b_t) = a + alpha R[f](p, a, b_t)_A, computed here through the model's own put."""
    model, params = trained
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0, 1, (2, 1, 28, 28)).astype(np.float32)
    x1, _ = dream(model, params, x0, 4, steps=1, lr=0.5)
    _, da = model.put(params, x0, one_hot(4, 10, 2, np.float32))
    np.testing.assert_allclose(x1, x0 + 0.5 * da, rtol=1e-5, atol=1e-6)


def test_adam_made_to_ascend_also_dreams(trained):
    model, params = trained
    _, hist = dream(model, params, _blank(), 3, steps=20, optimiser=ascent(adam(0.05)), lr=1.0, clip=(0.0, 1.0))
    assert int(np.argmax(hist["logits"][-1, 0])) == 3
    assert hist["logit"][-1, 0] > hist["logit"][0, 0] + 5.0


def test_the_l2_regulariser_keeps_the_input_smaller(trained):
    model, params = trained
    plain, _ = dream(model, params, _blank(), 7, steps=20, lr=0.05)
    small, _ = dream(model, params, _blank(), 7, steps=20, lr=0.05, l2=5.0)
    assert np.linalg.norm(small) < 0.8 * np.linalg.norm(plain)
    np.testing.assert_allclose(l2_put(np.array([[1.0, -2.0]]), np.array([0.5]), 2.0), [[-1.0, 2.0]])


def test_bad_arguments_are_errors(trained):
    model, params = trained
    with pytest.raises(ValueError, match="positive"):
        dream(model, params, _blank(), 1, steps=1, lr=-0.1)
    with pytest.raises(ValueError, match="0 .. 9"):
        dream(model, params, _blank(), 10, steps=1, optimiser=gradient_update())


# -- the command ---------------------------------------------------------------------------------------


def _run(argv):
    from paralens.cli.dream import parser

    args = parser().parse_args(["dream", *argv])
    return args.func(args)


def test_the_command_dreams_every_class_of_a_checkpoint(trained, tmp_path, capsys):
    from paralens.cli.common import UsageError
    from paralens.training.checkpoint import save_checkpoint

    _, params = trained
    ck = save_checkpoint(tmp_path / "mlp.safetensors", params, model={"preset": "mnist-mlp"})
    out = tmp_path / "dreams.png"
    assert _run([str(ck), "--target-class", "all", "--steps", "30", "--lr", "0.05", "--out", str(out), "--json"]) == 0
    import json

    r = json.loads(capsys.readouterr().out)
    assert r["predicted"] == "0 1 2 3 4 5 6 7 8 9" and r["dreamt_as_target"] == 10
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UsageError, match="--budget"):
        _run([str(ck), "--target-class", "1", "--budget", "3"])
    with pytest.raises(UsageError, match="0 .. 9"):
        _run([str(ck), "--target-class", "10"])
