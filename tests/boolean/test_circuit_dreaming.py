"""Deep dreaming of hardened Boolean classifiers: reverse derivative ascent on the input bits."""

import numpy as np
import pytest

from paralens.boolean import recipes
from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.dreaming import dream_bits, feature_levels, margins, moves
from paralens.boolean.encoders import GroupSumDecoder
from paralens.boolean.presets import load_integer_data, train_preset
from paralens.circuits.reverse import reverse


@pytest.fixture(scope="module")
def iris():
    clf, _ = train_preset("iris-gates", epochs=30)
    _, _, x, y = load_integer_data("iris", None, 0)
    return clf, reverse(clf.circuit), x, y


@pytest.fixture(scope="module")
def mnist():
    """A small MNIST gate network (2 x 2,000 gates, 2 epochs, 3 thermometer bits a pixel), seed 0."""
    cfg = recipes.mnist_gates_config().with_(widths=(2000, 2000), epochs=2, augment_copies=0, backend="numpy",
                                             schedule="constant")
    circuit, info = recipes.run_gates(cfg, integer=True)
    clf = CircuitClassifier(info["encoder"], circuit, GroupSumDecoder(10, circuit.n_outputs // 10), name="m",
                            info={"feature_bits": 8})
    _, _, x, y = load_integer_data("mnist", None, 0)
    return clf, reverse(clf.circuit), x[:1], y[:1]


def _check(clf, x0, target, d, budget):
    assert d.predicted == target
    assert int(clf.predict(np.asarray(d.features)[None], packed=False)[0]) == target
    assert d.bits_changed == int((d.bits != d.start_bits).sum()) <= budget
    np.testing.assert_array_equal(clf.bits(np.asarray(d.features)[None])[0], d.bits)  # a valid code of the features
    np.testing.assert_array_equal(clf.bits(np.asarray(x0)[None])[0], d.start_bits)
    assert all(b > a for a, b in zip(d.margins, d.margins[1:]))
    assert d.margins[-1] >= 0 and len(d.suggested) == len(d.margins) - 1


def test_every_iris_target_from_every_third_test_flower(iris):
    clf, rc, x, y = iris
    changed = []
    for k in range(0, 30, 3):
        for target in range(3):
            d = dream_bits(clf, x[k], target, budget=16, rc=rc)
            _check(clf, x[k], target, d, 16)
            changed.append(d.bits_changed)
            if int(clf.predict(x[k][None], packed=False)[0]) == target:
                assert d.bits_changed == 0 and d.margins == [d.margins[0]]
    assert max(changed) <= 16 and np.mean(changed) < 8


def test_mnist_every_digit_within_the_budget_mostly_by_the_reverse_derivative(mnist):
    clf, rc, x, _ = mnist
    suggested = []
    for target in range(10):
        d = dream_bits(clf, x[0], target, budget=60, rc=rc)
        _check(clf, x[0], target, d, 60)
        suggested += d.suggested
    assert np.mean(suggested) > 0.75


def test_a_zero_budget_changes_nothing_and_a_margin_asks_for_more(iris):
    clf, rc, x, _ = iris
    start = int(clf.predict(x[0][None], packed=False)[0])
    other = (start + 1) % 3
    d = dream_bits(clf, x[0], other, budget=0, rc=rc)
    assert d.bits_changed == 0 and d.predicted == start
    plain, more = dream_bits(clf, x[0], other, budget=32, rc=rc), dream_bits(clf, x[0], other, budget=32, margin=10, rc=rc)
    assert more.margins[-1] >= 10 > plain.margins[-1] and more.bits_changed >= plain.bits_changed


def test_the_pieces_on_small_numbers():
    np.testing.assert_array_equal(margins(np.array([[3, 3, 1], [2, 5, 5]]), 1), [-1, 0])
    np.testing.assert_array_equal(margins(np.array([[3, 3, 1]]), 0), [0])
    levels = [np.array([2, 5]), np.array([], dtype=np.int64)]
    np.testing.assert_array_equal(moves(np.array([4, 7]), levels), [[2, 7], [6, 7]])   # down to x <= 2, up past 5
    np.testing.assert_array_equal(moves(np.array([0, 7]), levels), [[3, 7], [6, 7]])


def test_levels_are_the_thresholds_the_ports_can_cross(iris):
    clf = iris[0]
    levels = feature_levels(clf)
    assert len(levels) == 4 and all(len(t) == 8 and (np.diff(t) > 0).all() for t in levels)


def test_bad_arguments_are_errors(iris):
    clf, rc, x, _ = iris
    with pytest.raises(ValueError, match="0 .. 2"):
        dream_bits(clf, x[0], 3, budget=4, rc=rc)
    with pytest.raises(ValueError, match="budget"):
        dream_bits(clf, x[0], 1, budget=-1, rc=rc)


# -- the command ---------------------------------------------------------------------------------------


def _run(argv):
    from paralens.cli.dream import parser

    args = parser().parse_args(["dream", *argv])
    return args.func(args)


def test_the_command_on_an_image_classifier_writes_both_images(mnist, tmp_path, capsys):
    clf = mnist[0]
    clf = CircuitClassifier(clf.encoder, clf.circuit, clf.decoder, name="m", info={"feature_bits": 8,
                                                                                   "dataset": "mnist"})
    clf.save(tmp_path / "m.plc")
    out = tmp_path / "dream.png"
    assert _run([str(tmp_path / "m.plc"), "--target-class", "7", "--budget", "60", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    lines = {k.strip(): v for k, v in (line.split(": ", 1) for line in text.strip().splitlines())}
    assert lines["predicted"].strip() == "7" and 0 < int(lines["bits_changed"]) <= 60
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_command_on_iris_prints_features_and_refuses_what_does_not_apply(iris, tmp_path, capsys):
    from paralens.cli.common import UsageError

    clf = iris[0]
    clf.save(tmp_path / "iris.plc")
    assert _run([str(tmp_path / "iris.plc"), "--target-class", "2", "--json"]) == 0
    import json

    r = json.loads(capsys.readouterr().out)
    assert r["predicted"] == 2 and r["bits_changed"] <= 200 and r["features_2"].startswith("x0=")
    with pytest.raises(UsageError, match="--steps"):
        _run([str(tmp_path / "iris.plc"), "--target-class", "2", "--steps", "5"])
    with pytest.raises(UsageError, match="not an image"):
        _run([str(tmp_path / "iris.plc"), "--target-class", "2", "--out", str(tmp_path / "x.png")])
    assert not (tmp_path / "x.png").exists()
