"""Resumption is exact; checkpoints survive divergence; the CLI resumes and evaluates."""

import json

import numpy as np
import pytest

from paralens import data
from paralens.cli import main
from paralens.errors import CheckpointError
from paralens.instances.smooth import dense, dropout, linear
from paralens.learning import learning_rates, losses, optimisers, schedules
from paralens.learning.supervised import Learner
from paralens.training import NonFiniteError, checkpointer, fit, load_checkpoint, load_train_state


def _learner(opt):
    model = dense(4, 16, "relu") >> dropout(0.2) >> dense(16, 3, None)
    return Learner(model, losses.softmax_cross_entropy(), opt)


@pytest.mark.parametrize("opt", [optimisers.adam(0.01), optimisers.nesterov(0.05, 0.9), optimisers.rmsprop(0.01)],
                         ids=["adam", "nesterov", "rmsprop"])
def test_resuming_gives_bit_identical_parameters(tmp_path, opt):
    ds = data.load_iris()
    learner = _learner(opt)
    kw = dict(batch_size=16, seed=7, progress=False)
    full, _ = fit(learner, ds.features, ds.labels, epochs=5, **kw)
    path = tmp_path / "ck.safetensors"
    fit(learner, ds.features, ds.labels, epochs=2, checkpoint=checkpointer(path, seed=7), checkpoint_every=2, **kw)
    state, done, _ = load_train_state(path, learner)
    assert done == 2
    resumed, _ = fit(learner, ds.features, ds.labels, epochs=5, state=state, start_epoch=done, **kw)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])
    assert int(resumed.step) == int(full.step)


SCHEDULED = {
    # the paper's closing with a scheduled learning-rate lens: its state (the step) is in the checkpoint
    "paper_scheduled_rate": lambda: Learner(
        dense(4, 16, "relu") >> dropout(0.2) >> dense(16, 3, "sigmoid"), losses.mse(), optimisers.gradient_update(),
        learning_rates.scheduled(schedules.step_decay(0.5, step_size=7, gamma=0.5))),
    # a library optimiser with a scheduled step size: the schedule's count is in the optimiser state
    "adam_cosine": lambda: _learner(optimisers.adam(schedules.cosine_decay(0.05, T_max=40, eta_min=0.001))),
    "momentum_warmup": lambda: _learner(optimisers.momentum(schedules.linear_warmup(0.1, 15, start_value=0.001), 0.9)),
}


@pytest.mark.parametrize("case", sorted(SCHEDULED))
def test_resuming_with_a_scheduled_learning_rate_is_exact(tmp_path, case):
    ds = data.load_iris()
    learner = SCHEDULED[case]()
    kw = dict(batch_size=16, seed=7, progress=False)
    full, _ = fit(learner, ds.features, ds.labels, epochs=5, **kw)
    path = tmp_path / "ck.safetensors"
    fit(learner, ds.features, ds.labels, epochs=2, checkpoint=checkpointer(path, seed=7), checkpoint_every=2, **kw)
    state, done, _ = load_train_state(path, learner)
    resumed, _ = fit(learner, ds.features, ds.labels, epochs=5, state=state, start_epoch=done, **kw)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])
    # the schedule's position was restored: restarting it from step 0 would train differently
    restarted = state._replace(lr_state=learner.learning_rate.init(), opt_state=learner.optimiser.init(state.params))
    other, _ = fit(learner, ds.features, ds.labels, epochs=5, state=restarted, start_epoch=done, **kw)
    assert not np.array_equal(other.params["0.weight"], full.params["0.weight"])


def test_resuming_on_jax(tmp_path):
    """On JAX (dropout keys, Adam with a cosine schedule) a resumed run continues the uninterrupted one."""
    jax = pytest.importorskip("jax")
    from paralens.training.compile import compile_train_step

    ds = data.load_iris()
    learner = _learner(optimisers.adam(schedules.cosine_decay(0.05, T_max=40)))
    # one compiled step for the three runs (150 / 15: no partial batch), so that the test compiles once
    kw = dict(batch_size=15, seed=7, progress=False, backend="jax", step_fn=compile_train_step(learner))
    full, _ = fit(learner, ds.features, ds.labels, epochs=4, **kw)
    path = tmp_path / "ck.safetensors"
    fit(learner, ds.features, ds.labels, epochs=2, checkpoint=checkpointer(path, seed=7), checkpoint_every=2, **kw)
    state, done, _ = load_train_state(path, learner, backend="jax")
    assert done == 2 and int(state.step) == 20
    assert all(isinstance(v, jax.Array) for v in jax.tree_util.tree_leaves(state))
    resumed, _ = fit(learner, ds.features, ds.labels, epochs=4, state=state, start_epoch=done, **kw)
    assert int(resumed.step) == int(full.step) == 40
    for u, v in zip(jax.tree_util.tree_leaves(resumed), jax.tree_util.tree_leaves(full)):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-6, atol=1e-7)
    # the restored optimiser state matters: resuming with a fresh one is another run
    _, _, ck = load_train_state(path, learner, backend="jax")
    fresh_opt = jax.tree_util.tree_map(jax.numpy.asarray, learner.optimiser.init(ck.params))
    state, _, _ = load_train_state(path, learner, backend="jax")
    other, _ = fit(learner, ds.features, ds.labels, epochs=4, state=state._replace(opt_state=fresh_opt),
                   start_epoch=done, **kw)
    assert not np.allclose(np.asarray(other.params["0.weight"]), np.asarray(full.params["0.weight"]), atol=1e-4)


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    ds = data.load_iris()
    path = tmp_path / "ck.safetensors"
    learner = Learner(linear(4, 3), losses.mse(), optimisers.sgd(0.01))
    fit(learner, ds.features, ds.labels, epochs=2, batch_size=10, seed=0, progress=False,
        checkpoint=checkpointer(path, seed=0), checkpoint_every=1)
    good = load_checkpoint(path)
    state, done, _ = load_train_state(path, learner)
    bad = Learner(linear(4, 3), losses.mse(), optimisers.sgd(1e3))
    with pytest.raises(NonFiniteError, match="step"):
        fit(bad, ds.features, ds.labels, epochs=5, batch_size=10, seed=0, progress=False, state=state,
            start_epoch=done, checkpoint=checkpointer(path, seed=0), checkpoint_every=1)
    after = load_checkpoint(path)
    assert after.epoch == good.epoch == 2
    np.testing.assert_array_equal(after.params["weight"], good.params["weight"])


def test_a_checkpoint_for_another_model_or_optimiser_is_refused(tmp_path):
    ds = data.load_iris()
    path = tmp_path / "ck.safetensors"
    learner = _learner(optimisers.adam(0.01))
    fit(learner, ds.features, ds.labels, epochs=1, batch_size=50, seed=0, progress=False,
        checkpoint=checkpointer(path, seed=0), checkpoint_every=1)
    other_model = Learner(dense(4, 8, "relu") >> dense(8, 3, None), losses.mse(), optimisers.adam(0.01))
    with pytest.raises(CheckpointError, match="0.weight|shape"):
        load_train_state(path, other_model)
    other_opt = _learner(optimisers.sgd(0.1, momentum=0.9))
    with pytest.raises(CheckpointError, match="optimiser"):
        load_train_state(path, other_opt)


def test_cli_train_resume_evaluate(tmp_path, capsys):
    path = str(tmp_path / "runs" / "iris.safetensors")
    common = ["--model", "iris-dense", "--batch-size", "10", "--seed", "3", "--json"]
    assert main(["train", *common, "--epochs", "6", "--save", str(tmp_path / "full.safetensors")]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(["train", *common, "--epochs", "3", "--save", path]) == 0
    capsys.readouterr()
    assert main(["train", *common, "--epochs", "6", "--resume", path, "--save", path]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["train_accuracy"] == full["train_accuracy"]
    a = load_checkpoint(path).params
    b = load_checkpoint(tmp_path / "full.safetensors").params
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert main(["evaluate", path, "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["train_accuracy"] == pytest.approx(full["train_accuracy"]) and ev["epochs"] == 6


def test_cli_reports_bad_checkpoints_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "broken.safetensors" in err and "Traceback" not in err
