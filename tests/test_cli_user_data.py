"""The command line on a user's own table: train, evaluate, predict, export, compare, and the hardware
(Icarus) printing exactly what ``paralens predict`` prints; every option that does not apply is an error."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from paralens.cli import main
from paralens.data.tables import read_table, split_table
from support import needs_icarus, needs_yosys

FAST = ["--gates", "60", "--epochs", "40"]


def write_csv(path, names, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        w.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """scikit-learn's wine as a CSV a user would have: 13 float features up to 1,680, string labels."""
    from sklearn.datasets import load_wine

    d = tmp_path_factory.mktemp("wine")
    data = load_wine()
    labels = np.array(["barolo", "grignolino", "barbera"])[data.target]
    names = [n.replace("/", " per ") for n in data.feature_names] + ["cultivar"]
    path = write_csv(d / "wine.csv", names, [[repr(float(v)) for v in x] + [lab] for x, lab in zip(data.data, labels)])
    return d, path


@pytest.fixture(scope="module")
def integers(tmp_path_factory):
    """Integer features wider than 8 bits, and negative: -5000 .. 5000, 0 .. 3000, -40 .. 40."""
    d = tmp_path_factory.mktemp("ints")
    rng = np.random.default_rng(1)
    a, b, c = rng.integers(-5000, 5001, 240), rng.integers(0, 3001, 240), rng.integers(-40, 41, 240)
    y = np.where(a > 1200, "high", np.where(b + 40 * c < 900, "low", "mid"))
    return d, write_csv(d / "ints.csv", ["a", "b", "c", "level"], [[int(p), int(q), int(r), s]
                                                                    for p, q, r, s in zip(a, b, c, y)])


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    code, out, _ = run(capsys, ["--version"])
    assert code == 0 and out.startswith("paralens 0.")


def trained(capsys, d, path, target, name, extra=()):
    model = str(d / f"{name}.plc")
    code, out, err = run(capsys, ["train", "--data", path, "--target", target, "--save", model, "--json", *FAST,
                                  *extra])
    assert code == 0, err
    import json

    return model, json.loads(out)


def test_train_evaluate_predict_on_wine(capsys, wine):
    d, path = wine
    model, res = trained(capsys, d, path, "cultivar", "wine")
    assert res["test_samples"] == 36 and res["train_samples"] == 142 and res["classes"] == 3
    assert res["test_accuracy"] >= 0.85 and res["classifier_gates"] > res["network_gates"]
    code, out, _ = run(capsys, ["predict", model, "--data", path])
    labels = out.split()
    assert code == 0 and len(labels) == 178 and set(labels) <= {"barolo", "grignolino", "barbera"}
    for n in ("1", "3"):  # the kernel in n threads: the same labels
        code, out_n, _ = run(capsys, ["predict", model, "--data", path, "--threads", n])
        assert code == 0 and out_n.split() == labels
    code, _, err = run(capsys, ["predict", model, "--data", path, "--threads", "0"])
    assert code != 0 and "--threads" in err
    code, _, err = run(capsys, ["predict", model, "--data", path, "--threads", "2", "--backend", "jax"])
    assert code != 0 and "--threads" in err
    want = read_table(path, "cultivar").y
    code, out, _ = run(capsys, ["evaluate", model, "--data", path, "--json"])
    import json

    acc = json.loads(out)["accuracy"]
    assert code == 0 and acc == pytest.approx(np.mean(np.array(labels) == want))


def _test_split_csv(d, path, target, seed=0):
    """The rows ``train`` held out (the same split policy), as a CSV, with the table's header."""
    table = read_table(path, target)
    _, test = split_table(table, 0.2, seed)
    rows = [list(x) + [lab] for x, lab in zip(test.X, test.y)]
    return write_csv(d / "test.csv", table.feature_names + [target], rows), len(rows)


def _icarus_labels(tmp_path, verilog, tb):
    """Run the testbench with Icarus from ANOTHER folder than the testbench's: it must find its vectors."""
    sim = tmp_path / "sim.vvp"
    subprocess.run(["iverilog", "-g2012", "-o", str(sim), tb, verilog], check=True, capture_output=True, text=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    r = subprocess.run(["vvp", "-n", str(sim)], cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith(("VCD", "WARNING"))]


@needs_icarus
@pytest.mark.hardware
@pytest.mark.parametrize("which, target", [("wine", "cultivar"), ("integers", "level")])
def test_icarus_prints_exactly_what_predict_prints(capsys, request, tmp_path, which, target):
    d, path = request.getfixturevalue(which)
    model, _ = trained(capsys, d, path, target, which)
    test_csv, n = _test_split_csv(tmp_path, path, target)
    code, predicted, err = run(capsys, ["predict", model, "--data", test_csv])
    assert code == 0, err
    v, tb = str(tmp_path / "m.v"), str(tmp_path / "tb.v")
    code, out, err = run(capsys, ["export", model, "--verilog", v, "--testbench", tb, "--data", test_csv])
    assert code == 0, err
    head = open(v, encoding="utf-8").read().split("module", 1)[0]
    assert "class_index" in head and "0 = " in head and "saturated" in head
    assert _icarus_labels(tmp_path, v, tb) == predicted.split() and len(predicted.split()) == n


@needs_icarus
@pytest.mark.hardware
@pytest.mark.parametrize("which, target, lanes", [("wine", "cultivar", "1"), ("integers", "level", "2")])
def test_the_stream_form_prints_exactly_what_predict_prints(capsys, request, tmp_path, which, target, lanes):
    """Features of different widths and signs share the stream form's bus."""
    import json

    d, path = request.getfixturevalue(which)
    model, _ = trained(capsys, d, path, target, f"{which}_s")
    test_csv, n = _test_split_csv(tmp_path, path, target)
    code, predicted, err = run(capsys, ["predict", model, "--data", test_csv])
    assert code == 0, err
    v, tb = str(tmp_path / "s.v"), str(tmp_path / "stb.v")
    code, out, err = run(capsys, ["export", model, "--verilog", v, "--testbench", tb, "--data", test_csv,
                                  "--form", "stream", "--lanes", lanes, "--simulate", "icarus", "--json"])
    assert code == 0, err
    res = json.loads(out)
    assert res["simulation_equal"] and res["lanes"] == int(lanes)
    assert _icarus_labels(tmp_path, v, tb) == predicted.split() and len(predicted.split()) == n


def test_integer_ports_have_their_real_width_and_sign(capsys, integers):
    from paralens.boolean.classifier import CircuitClassifier

    d, path = integers
    model, _ = trained(capsys, d, path, "level", "ints_w")
    f = CircuitClassifier.load(model).inputs.features
    assert [(x.width, x.signed, x.decimals) for x in f] == [(14, True, 0), (12, False, 0), (7, True, 0)]


@needs_yosys
@pytest.mark.hardware
def test_export_stats_proves_the_verilog_against_the_independent_model(capsys, integers, tmp_path):
    d, path = integers
    model, _ = trained(capsys, d, path, "level", "ints_f")
    code, out, err = run(capsys, ["export", model, "--verilog", str(tmp_path / "m.v"), "--stats", "--json"])
    import json

    res = json.loads(out)
    assert code == 0 and res["formal_equivalence"] == "proved", err + out
    assert "independent behavioural model of predict" in res["formal_method"]


# -- options that do not apply are errors ------------------------------------------------------------


def one_line(code, err, needle):
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


@pytest.mark.parametrize("argv, needle", [
    (["train", "--model", "iris-gates", "--data", "WINE"], "--model 'iris-gates' is a preset that brings its own data"),
    (["train", "--model", "iris-gates", "--data", "."], "--data does not apply to 'iris-gates'"),
    (["train", "--model", "iris-gates", "--holdout", "0.2"], "--holdout does not apply to the Boolean preset"),
    (["train", "--model", "iris-gates", "--optimizer", "adam"], "--optimizer does not apply"),
    (["train", "--model", "iris-gates", "--lr", "0.1"], "--lr does not apply"),
    (["train", "--model", "iris-gates", "--batch-size", "8"], "--batch-size does not apply"),
    (["train", "--model", "iris-gates", "--resume", "x.safetensors"], "--resume does not apply"),
    (["train", "--model", "iris-gates", "--target", "x"], "--target does not apply to the preset"),
    (["train", "--model", "iris-dense", "--method", "rda"], "--method does not apply to the real-valued preset"),
    (["train", "--model", "iris_gates"], "did you mean 'iris-gates'?"),
    (["train", "--data", "WINE", "--target", "cultivar", "--model", "iris-gates"], "leave out --model"),
    (["train", "--data", "WINE", "--target", "cultivar", "--optimizer", "adam"], "--optimizer does not apply"),
    (["train", "--data", "WINE", "--target", "cultivar", "--method", "rda", "--gates", "9"],
     "--gates does not apply to --method rda"),
    (["train", "--data", "WINE", "--target", "cultivar", "--luts", "9"], "--luts does not apply to --method gates"),
    (["train", "--data", "WINE"], "name the label column with --target"),
    (["train", "--data", "WINE", "--target", "nope"], "no column 'nope'"),
    (["train", "--data", "no/such.csv", "--target", "x"], "--data no/such.csv: no such file or folder"),
    (["train", "--model", "mnist-gates", "--data", "no/such/folder"], "no such file or folder"),
])
def test_options_that_do_not_apply_are_one_line_errors(capsys, wine, argv, needle):
    argv = [a.replace("WINE", wine[1]) for a in argv]
    code, out, err = run(capsys, argv)
    one_line(code, err, needle)
    assert out == ""


def test_plain_train_says_what_to_do(capsys):
    code, out, err = run(capsys, ["train"])
    assert code == 2 and "paralens train --data FILE.csv --target COLUMN" in err and out == ""


def test_model_commands_without_what_they_need(capsys, wine, tmp_path):
    d, path = wine
    model, _ = trained(capsys, d, path, "cultivar", "wine_e")
    code, _, err = run(capsys, ["evaluate", model])
    one_line(code, err, "was trained on your own data (wine.csv): give a table with --data FILE.csv")
    code, _, err = run(capsys, ["export", model])
    one_line(code, err, "export has nothing to write")
    code, _, err = run(capsys, ["export", model, "--verilog", str(tmp_path / "m.v"), "--data", path])
    one_line(code, err, "--data does not apply without --testbench")
    code, _, err = run(capsys, ["export", model, "--verilog", str(tmp_path / "m.v"), "--no-formal"])
    one_line(code, err, "--no-formal does not apply without --stats")
    code, _, err = run(capsys, ["predict", model, "--data", path, "--split", "train"])
    one_line(code, err, "--split does not apply to a table")
    headless = write_csv(tmp_path / "h.csv", ["alcohol", "x"], [[1, 2]])
    code, _, err = run(capsys, ["predict", model, "--data", headless])
    one_line(code, err, "no column 'malic_acid'")


def test_compare_on_a_users_table(capsys, integers):
    _, path = integers
    code, out, err = run(capsys, ["compare", "--data", path, "--target", "level", "--quick", "--seeds", "1",
                                  "--methods", "gates,vote,logistic", "--json"])
    import json

    rows = {r["method"]: r for r in json.loads(out)}
    assert code == 0 and set(rows) == {"gates", "vote", "logistic"}, err
    assert rows["gates"]["classifier_gates"] > rows["gates"]["gates_or_params"]
    assert all(0 <= r["test_accuracy"] <= 1 for r in rows.values())


def test_the_readme_route_with_python(tmp_path):
    """The README's Python route: the estimator, save, load, predict, in a fresh process."""
    code = (
        "from sklearn.datasets import load_wine\n"
        "from paralens import BooleanClassifier\n"
        "X, y = load_wine(return_X_y=True)\n"
        "clf = BooleanClassifier(gates=60, epochs=30).fit(X, y)\n"
        "clf.save('w.plc')\n"
        "print((BooleanClassifier.load('w.plc').predict(X) == clf.predict(X)).all())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr
