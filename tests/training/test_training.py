"""Supervised learning: the closed lens's step against PyTorch, the fit loop, the paper's Iris figure."""

import numpy as np
import pytest

from paralens import data
from paralens.backend import get_backend
from paralens.categories.lens import Context
from paralens.instances.smooth import bias, dense, dropout, linear
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner, loss_and_grads, train_step
from paralens.models import PRESETS, mnist_mlp
from paralens.training.fit import NonFiniteError, epoch_order, evaluate, fit, predict, prepare_targets


def _mlp_learner(opt=None):
    return Learner(dense(4, 8, "tanh") >> dense(8, 3, None), losses.softmax_cross_entropy(),
                   opt or optimisers.sgd(0.1))


def test_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    learner = _mlp_learner()
    params = learner.model.init(3, dtype="float64")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    loss, grads = loss_and_grads(learner, params, x, y)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.tanh(torch.tensor(x) @ tp["0.weight"].T + tp["0.bias"])
    z = h @ tp["1.weight"].T + tp["1.bias"]
    tl = torch.nn.functional.cross_entropy(z, torch.tensor(y))
    tl.backward()
    assert float(loss) == pytest.approx(tl.item(), rel=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k], tp[k].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_train_step_is_sgd_on_the_gradient():
    learner = _mlp_learner(optimisers.sgd(0.5))
    state = learner.init(1, dtype="float64")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 4)), np.eye(3)[rng.integers(0, 3, 5)]
    _, grads = loss_and_grads(learner, state.params, x, y)
    new, metrics = train_step(learner, state, x, y)
    for k in grads:
        np.testing.assert_allclose(new.params[k], state.params[k] - 0.5 * grads[k], rtol=1e-12)
    assert new.step == 1
    # the metrics are the batch's, at the parameters before the update
    pred = learner.model.get(state.params, x)
    assert metrics["accuracy"] == np.mean(pred.argmax(1) == y.argmax(1))
    assert metrics["loss"] == pytest.approx(np.mean(losses.softmax_cross_entropy().get({"label": y}, pred)),
                                            rel=1e-12)
    x20, y20 = rng.normal(size=(20, 4)), np.eye(3)[rng.integers(0, 3, 20)]  # an accuracy strictly inside (0, 1)
    _, m20 = train_step(learner, state, x20, y20)
    expected = np.mean(learner.model.get(state.params, x20).argmax(1) == y20.argmax(1))
    assert 0 < expected < 1 and m20["accuracy"] == expected


def test_paper_closing_equals_library_closing():
    """alpha = -eps with the gradient update p + p' is SGD with step eps (paper Ex 4.1)."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 4)), np.eye(3)[rng.integers(0, 3, 8)]
    paper = Learner(dense(4, 3, "sigmoid"), losses.mse(), optimisers.gradient_update(),
                    learning_rates.constant(-0.05))
    torch_like = Learner(dense(4, 3, "sigmoid"), losses.mse(), optimisers.sgd(0.05))
    s1, s2 = paper.init(0, dtype="float64"), torch_like.init(0, dtype="float64")
    for _ in range(5):
        s1, _ = train_step(paper, s1, x, y)
        s2, _ = train_step(torch_like, s2, x, y)
    for k in s1.params:
        np.testing.assert_allclose(s1.params[k], s2.params[k], rtol=1e-12)


def test_sum_reduction_adds_the_changes_of_the_examples():
    """reduction="sum" on a batch of n > 1: the step's change is the sum of the n single-example
    changes (n times the mean reduction's), in train_step and in fit; the reported loss stays the mean."""
    rng = np.random.default_rng(5)
    n = 7
    x, y = rng.normal(size=(2 * n, 4)), np.eye(3)[rng.integers(0, 3, 2 * n)]
    model = dense(4, 5, "tanh") >> dense(5, 3, "sigmoid")
    summed = Learner(model, losses.mse(reduction="sum"), optimisers.sgd(0.1))
    mean = Learner(model, losses.mse(), optimisers.sgd(0.1))
    state = summed.init(0, dtype="float64")
    per_example = [loss_and_grads(mean, state.params, x[i : i + 1], y[i : i + 1])[1] for i in range(n)]
    new, m_sum = train_step(summed, state, x[:n], y[:n])
    for k in state.params:
        total = sum(g[k] for g in per_example)
        np.testing.assert_allclose(new.params[k], state.params[k] - 0.1 * total, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(loss_and_grads(summed, state.params, x[:n], y[:n])[1][k], total, rtol=1e-12)
    _, m_mean = train_step(mean, state, x[:n], y[:n])
    assert float(m_sum["loss"]) == pytest.approx(float(m_mean["loss"]), rel=1e-15)
    # fit with batches of n: two such steps
    by_hand, _ = train_step(summed, new, x[n:], y[n:])
    fitted, _ = fit(summed, x, y, epochs=1, batch_size=n, shuffle=False, state=state, dtype="float64",
                    progress=False)
    for k in state.params:
        np.testing.assert_allclose(fitted.params[k], by_hand.params[k], rtol=1e-12)


def test_linear_regression_recovers_the_weights():
    rng = np.random.default_rng(0)
    w = np.array([[2.0, -1.0, 0.5]])
    x = rng.normal(size=(256, 3))
    y = x @ w.T
    learner = Learner(linear(3, 1), losses.mse(), optimisers.sgd(0.1))
    state, hist = fit(learner, x, y, epochs=30, batch_size=32, seed=0, progress=False, dtype="float64")
    np.testing.assert_allclose(state.params["weight"], w, atol=1e-4)
    assert hist["loss"][-1] < hist["loss"][0]


def test_epoch_order_is_a_seeded_permutation():
    a, b = epoch_order(1, 0, 50), epoch_order(1, 0, 50)
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(50))
    assert not np.array_equal(a, epoch_order(1, 1, 50))
    np.testing.assert_array_equal(epoch_order(1, 0, 5, shuffle=False), np.arange(5))


def test_fit_is_reproducible_and_validates():
    ds = data.load_iris()
    learner = _mlp_learner(optimisers.adam(0.01))
    kw = dict(epochs=3, batch_size=16, seed=5, progress=False, validation=(ds.features, ds.labels))
    s1, h1 = fit(learner, ds.features, ds.labels, **kw)
    s2, h2 = fit(learner, ds.features, ds.labels, **kw)
    for k in s1.params:
        np.testing.assert_array_equal(s1.params[k], s2.params[k])
    assert h1["val_accuracy"] == h2["val_accuracy"] and len(h1.epochs) == 3


def test_early_stopping_stops():
    ds = data.load_iris()
    learner = _mlp_learner(optimisers.sgd(0.0))  # no progress at all: patience runs out
    _, hist = fit(learner, ds.features, ds.labels, epochs=50, batch_size=50, seed=0, progress=False,
                  validation=(ds.features, ds.labels), early_stopping=2)
    assert len(hist.epochs) == 3


def test_nonfinite_training_stops_with_a_clear_message():
    """The error names the step, the batch and the first offending parameter (here the second one)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)).astype(np.float32) * 1e10
    y = rng.normal(size=(20, 3)).astype(np.float32)
    # bias(4) >> linear(4, 3): the first step's weight change (~|x|^2 lr) overflows float32, the bias's
    # (~|x| lr) and the loss (~|x|^2) do not
    learner = Learner(bias(4) >> linear(4, 3), losses.mse(), optimisers.sgd(1e20))
    assert list(learner.model.params) == ["bias", "weight"]
    kw = dict(epochs=2, batch_size=10, seed=0, shuffle=False, progress=False)
    with pytest.raises(NonFiniteError, match=r"step 0 \(epoch 1, batch 1\): parameter 'weight' is NaN or infinite"):
        fit(learner, x, y, **kw)
    # a loss that overflows first is named as the loss, with the first non-finite parameter
    with pytest.raises(NonFiniteError, match=r"step 0 .*: the loss \(first non-finite parameter: 'bias'\)"):
        fit(learner, x * 1e20, y, **kw)
    # skipping drops every such update: the parameters stay those of the initialisation
    state, hist = fit(learner, x, y, **{**kw, "epochs": 1}, on_nonfinite="skip")
    assert hist.skipped_steps == 2 and state.step == 0
    init = learner.init(0)
    for k in init.params:
        np.testing.assert_array_equal(state.params[k], init.params[k])
    # on real data: a learning rate far too large diverges within a few steps, and the message names the step
    ds = data.load_iris()
    big = Learner(linear(4, 3), losses.mse(), optimisers.sgd(1e3))
    with pytest.raises(NonFiniteError, match=r"step \d+ \(epoch \d+, batch \d+\): (the loss|parameter 'weight') is"):
        fit(big, ds.features, ds.labels, epochs=2, batch_size=10, seed=0, progress=False)
    state, hist = fit(big, ds.features, ds.labels, epochs=1, batch_size=10, seed=0, progress=False,
                      on_nonfinite="skip")
    assert hist.skipped_steps > 0
    assert all(np.all(np.isfinite(v)) for v in state.params.values())


def test_bad_inputs_are_reported_before_training():
    learner = Learner(mnist_mlp(), losses.softmax_cross_entropy(), optimisers.sgd(0.1))
    x = np.zeros((4, 784), np.float32)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(1, 28, 28\), got \(784,\): reshape"):
        fit(learner, x, np.zeros(4, int), epochs=1, progress=False)
    x = np.zeros((4, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="label 12 is outside the 10 classes"):
        fit(learner, x, np.array([0, 1, 12, 3]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="4 inputs but 3 targets"):
        fit(learner, x, np.array([0, 1, 2]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(learner, x[:0], np.zeros(0, int), epochs=1, progress=False)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(learner, x, np.zeros(4, int), epochs=1, progress=False)


def test_dropout_is_seeded_in_training_and_off_at_evaluation():
    """Dropout in fit draws the mask of step t from (seed, t); at evaluation it is the identity.

    Every run starts from the same initial state and sees the batches in the same order, so
    the seed changes nothing but the dropout masks: with dropout off in fit, seeds 3 and 4
    would give the same parameters.
    """
    model = dense(4, 16, "relu") >> dropout(0.5) >> dense(16, 3, None)
    learner = Learner(model, losses.softmax_cross_entropy(), optimisers.sgd(0.1))
    ds = data.load_iris()
    x, y = ds.features, ds.labels

    def run(seed):
        state, _ = fit(learner, x, y, epochs=2, batch_size=30, seed=seed, state=learner.init(0), shuffle=False,
                       progress=False)
        return state

    s1, s2, s3 = run(3), run(3), run(4)
    for k in s1.params:
        np.testing.assert_array_equal(s1.params[k], s2.params[k])
    assert not np.array_equal(s1.params["0.weight"], s3.params["0.weight"])

    # the same steps by hand: the key of step t is fold_in(key(seed), t); without a key, no dropout
    NP = get_backend("numpy")
    targets = prepare_targets(learner.model, y).astype(np.float32)
    by_hand, no_dropout = learner.init(0), learner.init(0)
    for t in range(2 * 5):
        b = t % 5
        xb, yb = x[b * 30 : (b + 1) * 30].astype(np.float32), targets[b * 30 : (b + 1) * 30]
        by_hand, _ = train_step(learner, by_hand, xb, yb, NP.fold_in(NP.key(3), t))
        no_dropout, _ = train_step(learner, no_dropout, xb, yb, None)
    for k in s1.params:
        np.testing.assert_array_equal(s1.params[k], by_hand.params[k])
    assert not np.array_equal(s1.params["0.weight"], no_dropout.params["0.weight"])

    # at evaluation dropout is the identity: the model equals the same model without it ...
    out1 = predict(learner, s1.params, x)
    plain = dense(4, 16, "relu") >> dense(16, 3, None)
    p = {k.replace("2.", "1."): v for k, v in s1.params.items()}
    np.testing.assert_allclose(out1, predict(plain, p, x), rtol=1e-6)
    # ... while in training mode it drops units
    xb = x.astype(np.float32)
    training, _ = learner.model.forward(s1.params, xb, Context(True, NP.key(0), NP))
    assert not np.allclose(training, out1, rtol=1e-3)


def test_prepare_targets_one_hot():
    t = prepare_targets(None, np.array([2, 0]), 3)
    np.testing.assert_array_equal(t, [[0, 0, 1], [1, 0, 0]])


def test_iris_hidden_reaches_the_paper_figure():
    """The paper's iris-hidden: MSE, alpha = -0.01, gradient update, 400 epochs, batch 1: >= 96.7% training."""
    from paralens.examples.iris import run

    train_m, _ = run("hidden", epochs=400, seed=0)
    assert train_m["accuracy"] >= 0.967


def test_presets_build_and_have_the_documented_shapes():
    sizes = {name: p.build().num_params() for name, p in PRESETS.items()}
    assert sizes["iris-hidden"] == 4 * 20 + 20 + 20 * 3 + 3
    assert sizes["mnist-paper-cnn"] == 3 * 9 + 5 * 3 * 16 + 125 * 10 + 10
    assert sizes["mnist-mlp"] == 784 * 128 + 128 + 1290
    for p in PRESETS.values():
        assert p.build().cod.shape == ((3,) if p.dataset == "iris" else (10,))


def test_evaluate_accuracy_is_the_fraction_correct():
    learner = Learner(linear(2, 2), losses.mse(), optimisers.sgd(0.1))
    params = {"weight": np.eye(2, dtype=np.float32)}
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 1.0]], np.float32)
    m = evaluate(learner, params, x, np.array([0, 1, 1, 0]))
    assert m["accuracy"] == 0.75


def test_iris_hidden_held_out_split():
    """Trained on the stratified 80%, the paper's iris-hidden classifies the held-out 20% well."""
    from paralens.examples.iris import run

    train_m, test_m = run("hidden", epochs=400, holdout=0.2, seed=0)
    assert test_m["accuracy"] >= 0.9 and train_m["accuracy"] >= 0.95


def test_optimiser_attached_as_a_reparametrisation_is_the_training_step():
    """Paper Fig. 4/6: stacking the optimiser lens on the parameter wires and running put gives train_step."""
    from paralens.learning.supervised import OptimiserLens

    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    opt = optimisers.nesterov_lookahead(0.1, 0.9)  # a non-trivial get: the model sees p + gamma s
    learner = Learner(dense(4, 5, "tanh") >> dense(5, 3, None), losses.softmax_cross_entropy(), opt)
    state = learner.init(0, dtype="float64")
    state, _ = train_step(learner, state, x, y)  # a non-zero velocity
    expected, _ = train_step(learner, state, x, y)
    q = {"state": state.opt_state, "params": state.params}
    stacked = learner.model.reparametrise(OptimiserLens(opt, learner.model))
    y_pred, r = stacked.forward(q, x)
    vals, r_loss = learner.loss.forward({"label": y}, y_pred)
    _, dy = learner.loss.backward(r_loss, np.ones_like(vals) / len(x))
    new_q, _ = stacked.backward(r, dy)
    for k in expected.params:
        np.testing.assert_allclose(new_q["params"][k], expected.params[k], rtol=1e-12)
