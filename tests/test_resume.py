"""Resumption is exact; checkpoints survive divergence; the CLI resumes and evaluates."""

import json

import numpy as np
import pytest

from paralens import data
from paralens.categories.errors import CheckpointError
from paralens.cli import main
from paralens.instances.smooth import dense, dropout, linear
from paralens.learning import losses, optimisers
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
