"""The command line and the examples as the README documents them: ``paralens models -v``,
``--data DIR``, ``--checkpoint-every N``, ``--skip-nonfinite``, ``--resume`` refusals, and
``python -m paralens.examples.mnist_paper``.  Small settings (Iris, one epoch, a few dozen
MNIST digits written to a temporary folder), so the whole file runs in seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paralens import data
from paralens.cli import main
from paralens.data.idx import MNIST_FILES, read_idx, write_idx
from paralens.learning.supervised import Learner
from paralens.models import PRESETS, make_optimiser
from paralens.training import evaluate, load_checkpoint, load_train_state
from paralens.training import resume as resume_module


def _run(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """A folder of MNIST IDX files: the first 40 training and 20 test digits of the bundled subset."""
    folder = tmp_path_factory.mktemp("tiny-mnist")
    source = data.mnist_subset()
    for split, n in (("train", 40), ("test", 20)):
        for name in MNIST_FILES[split]:
            (path,) = [p for p in source.iterdir() if p.name.startswith(name)]
            write_idx(folder / (name + ".gz"), read_idx(path)[:n])
    return folder


def _learner(preset_name: str) -> Learner:
    p = PRESETS[preset_name]
    opt, rate = make_optimiser(p.optimizer, p.lr)
    return Learner(p.build(), p.loss(), opt, rate)


# -- paralens models -v ----------------------------------------------------------------------------


def test_models_lists_every_preset_and_verbose_adds_the_summaries(capsys):
    rc, short, _ = _run(capsys, "models")
    assert rc == 0
    listed = [line.split()[0] for line in short.splitlines() if line and not line.startswith(" ")]
    assert set(PRESETS) <= set(listed), listed
    for p in PRESETS.values():
        assert f"{p.name:<16} {p.description}" in short.splitlines()
    rc, verbose, _ = _run(capsys, "models", "-v")
    assert rc == 0
    for p in PRESETS.values():
        summary = p.build().summary()
        assert "\n".join("  " + line for line in summary.splitlines()) in verbose, p.name
        assert summary.splitlines()[-1].strip() not in short  # "total parameters: ..." only with -v
    assert main(["models", "--verbose"]) == 0 and capsys.readouterr().out == verbose


# -- --data DIR ------------------------------------------------------------------------------------------


def test_train_and_evaluate_read_the_data_folder(tiny_mnist, tmp_path, capsys):
    ck = tmp_path / "mlp.safetensors"
    rc, out, err = _run(capsys, "train", "--model", "mnist-mlp", "--data", str(tiny_mnist), "--epochs", "1",
                        "--batch-size", "8", "--save", str(ck), "--json")
    assert rc == 0, err
    result = _json(out)
    saved = load_checkpoint(ck)
    assert saved.step == 40 // 8 and saved.epoch == 1  # trained on the folder's 40 digits
    train = data.load_mnist(tiny_mnist, "train")
    test = data.load_mnist(tiny_mnist, "test")
    learner = _learner("mnist-mlp")
    on_test = evaluate(learner, saved.params, test.features, test.labels)
    on_train = evaluate(learner, saved.params, train.features, train.labels)
    assert result["test_loss"] == pytest.approx(on_test["loss"], rel=1e-6)
    assert result["test_accuracy"] == on_test["accuracy"]
    assert result["train_loss"] == pytest.approx(on_train["loss"], rel=1e-6)
    rc, out, err = _run(capsys, "evaluate", str(ck), "--data", str(tiny_mnist), "--json")
    assert rc == 0, err
    ev = _json(out)
    assert ev["test_loss"] == pytest.approx(on_test["loss"], rel=1e-6) and ev["epochs"] == 1
    # a folder without the files is reported, naming it, without a traceback
    rc, _, err = _run(capsys, "train", "--model", "mnist-mlp", "--data", str(tmp_path / "nowhere"), "--epochs", "1")
    assert rc == 2 and "nowhere" in err and "Traceback" not in err


# -- --checkpoint-every N -------------------------------------------------------------------------------


@pytest.mark.parametrize("every,saved_after", [(None, [3]), ("1", [1, 2, 3, 3]), ("2", [2, 3])])
def test_checkpoint_every_saves_after_every_n_epochs(tmp_path, capsys, monkeypatch, every, saved_after):
    saves = []
    real = resume_module.save_train_state

    def recording(path, state, *, epoch, seed, model=None):
        saves.append((epoch, int(state.step)))
        real(path, state, epoch=epoch, seed=seed, model=model)

    monkeypatch.setattr(resume_module, "save_train_state", recording)
    path = tmp_path / "iris.safetensors"
    argv = ["train", "--model", "iris-linear", "--epochs", "3", "--batch-size", "50", "--save", str(path), "--json"]
    rc, _, err = _run(capsys, *argv, *(["--checkpoint-every", every] if every else []))
    assert rc == 0, err
    assert [e for e, _ in saves] == saved_after
    assert all(step == 3 * epoch for epoch, step in saves)  # 150 / 50 steps per epoch: each save is that epoch's
    assert load_checkpoint(path).epoch == 3


def test_a_run_that_stops_leaves_the_last_checkpoint_untouched(tmp_path, capsys):
    """Two epochs saved every epoch, then a run resumed from it that diverges at once: the file is untouched."""
    path = tmp_path / "iris.safetensors"
    common = ["--model", "iris-linear", "--batch-size", "10", "--save", str(path), "--checkpoint-every", "1"]
    assert _run(capsys, "train", *common, "--epochs", "2", "--json")[0] == 0
    before = load_checkpoint(path)
    rc, _, err = _run(capsys, "train", *common, "--epochs", "4", "--resume", str(path), "--lr", "1e39")
    assert rc == 2 and "non-finite" in err and "step 30 (epoch 3, batch 1)" in err
    after = load_checkpoint(path)
    assert after.epoch == before.epoch == 2 and after.step == before.step == 30
    for k in before.params:
        np.testing.assert_array_equal(after.params[k], before.params[k])


# -- --skip-nonfinite -------------------------------------------------------------------------------------


def test_skip_nonfinite_drops_the_updates_instead_of_stopping(tmp_path, capsys):
    # a learning rate beyond float32 makes every update infinite
    argv = ["train", "--model", "iris-linear", "--epochs", "1", "--batch-size", "10", "--lr", "1e39", "--json"]
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == ""
    assert "step 0 (epoch 1, batch 1): parameter" in err and "--skip-nonfinite" in err and "Traceback" not in err
    path = tmp_path / "skipped.safetensors"
    rc, out, err = _run(capsys, *argv, "--skip-nonfinite", "--save", str(path))
    assert rc == 0, err
    result = _json(out)
    assert result["skipped_steps"] == 15  # all 150 / 10 batches
    assert np.isfinite(result["train_loss"])
    saved = load_checkpoint(path)
    assert saved.step == 0
    fresh = PRESETS["iris-linear"].build().init(0)
    for k, v in fresh.items():
        np.testing.assert_array_equal(saved.params[k], v)


# -- --resume refusals ----------------------------------------------------------------------------------


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path, capsys):
    path = tmp_path / "linear.safetensors"
    assert _run(capsys, "train", "--model", "iris-linear", "--epochs", "1", "--batch-size", "50",
                "--save", str(path))[0] == 0
    rc, out, err = _run(capsys, "train", "--model", "iris-hidden", "--epochs", "2", "--resume", str(path))
    assert rc == 2 and "Traceback" not in err
    assert str(path) in err and "does not fit the model" in err and "iris-linear" in err
    # same parameter shapes, but saved for another preset: refused by name
    learner = _learner("iris-linear")
    state, done, _ = load_train_state(path, learner)
    other = tmp_path / "other.safetensors"
    resume_module.save_train_state(other, state, epoch=done, seed=0, model={"preset": "iris-other"})
    rc, _, err = _run(capsys, "train", "--model", "iris-linear", "--epochs", "2", "--resume", str(other))
    assert rc == 2 and "is for model 'iris-other', not 'iris-linear'" in err


def test_resume_refuses_a_finished_run(tmp_path, capsys):
    path = tmp_path / "done.safetensors"
    assert _run(capsys, "train", "--model", "iris-linear", "--epochs", "2", "--batch-size", "50",
                "--save", str(path))[0] == 0
    for epochs in ("2", "1"):
        rc, out, err = _run(capsys, "train", "--model", "iris-linear", "--epochs", epochs, "--resume", str(path))
        assert rc == 2 and out == ""
        assert f"has already done 2 of {epochs} epochs" in err and "Traceback" not in err
    rc, _, err = _run(capsys, "train", "--model", "iris-linear", "--epochs", "3", "--batch-size", "50",
                      "--resume", str(path))
    assert rc == 0, err


# -- python -m paralens.examples.mnist_paper --------------------------------------------------------------


def test_mnist_paper_example_is_the_papers_preset(tiny_mnist, capsys):
    """The example trains the paper's CNN with the paper's closing: the same run as the mnist-paper-cnn preset."""
    from paralens.examples import mnist_paper

    train_m, test_m = mnist_paper.run(epochs=1, data_dir=tiny_mnist, seed=0)
    rc, out, err = _run(capsys, "train", "--model", "mnist-paper-cnn", "--data", str(tiny_mnist), "--epochs", "1",
                        "--seed", "0", "--json")
    assert rc == 0, err
    cli = _json(out)
    assert cli["batch_size"] == 1 and cli["optimizer"] == "paper-momentum"
    assert test_m["accuracy"] == cli["test_accuracy"] and train_m["accuracy"] == cli["train_accuracy"]
    assert test_m["loss"] == pytest.approx(cli["test_loss"], rel=1e-6)
    train = data.load_mnist(tiny_mnist, "train")
    learner = _learner("mnist-paper-cnn")
    untrained = evaluate(learner, learner.model.init(0), train.features, train.labels)
    assert train_m["loss"] < 0.9 * untrained["loss"]  # the 40 steps learned something
    mnist_paper.main(["--epochs", "1", "--data", str(tiny_mnist)])
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == (f"mnist-paper-cnn: train accuracy {train_m['accuracy']:.4f}, "
                       f"test accuracy {test_m['accuracy']:.4f}")


def test_an_unknown_model_lists_every_preset_real_and_boolean(capsys):
    from paralens.boolean.presets import PRESETS as BOOLEAN
    from paralens.models import PRESETS

    rc, _, err = _run(capsys, "train", "--model", "iris_gates")
    assert rc == 2 and "unknown model 'iris_gates'" in err
    for name in [*PRESETS, *BOOLEAN]:
        assert name in err
