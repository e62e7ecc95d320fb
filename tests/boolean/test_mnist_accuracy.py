"""The accuracy figures of issue 3, reached by the command-line commands the README lists.

Marked ``slow`` (minutes on two cores); CI runs them.
"""

import json

import pytest

from paralens.cli import main

pytestmark = pytest.mark.slow


def _train(capsys, *args):
    assert main(["train", *args, "--json", "--seed", "0"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_mnist_paper_cnn(capsys):
    r = _train(capsys, "--model", "mnist-paper-cnn", "--epochs", "4", "--batch-size", "1")
    assert r["test_accuracy"] >= 0.93, r


def test_mnist_mlp(capsys):
    r = _train(capsys, "--model", "mnist-mlp", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128",
               "--epochs", "20")
    assert r["test_accuracy"] >= 0.935, r


def test_mnist_cnn(capsys):
    r = _train(capsys, "--model", "mnist-cnn", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128",
               "--epochs", "20")
    assert r["test_accuracy"] >= 0.955, r


def test_mnist_cnn_large(capsys):
    r = _train(capsys, "--model", "mnist-cnn-large", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128",
               "--epochs", "10")
    assert r["test_accuracy"] >= 0.975, r
