"""The command line's error boundary: every subcommand, bad arguments and bad files.

Each case must exit with status 2, print exactly one line on stderr that names what is
wrong, print no traceback, and leave every file the user had as it was.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder
from paralens.boolean.presets import load_integer_data
from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder
from paralens.cli import main
from paralens.fields import GF


def _iris_classifier() -> CircuitClassifier:
    """A small classifier of Iris' four integer features (not trained: the boundary is what is tested)."""
    Xtr, _, _, _ = load_integer_data("iris", seed=0)
    enc = ThermometerEncoder(2).fit(Xtr)
    b = Builder(GF(2), enc.n_bits)
    x = b.inputs()
    a = b.op(G.BOOLEAN_GATES["and"], x[[0, 2, 4]], x[[1, 3, 5]])[0]
    o = b.op(G.BOOLEAN_GATES["xor"], a, x[[6, 7, 0]])[0]
    c = b.build(o, name="iris_small")
    return CircuitClassifier(enc, c, GroupSumDecoder(3, 1), name="iris_small",
                             info={"dataset": "iris", "seed": 0, "feature_bits": 8})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_errors")
    clf = _iris_classifier()
    good = d / "good.plc"
    clf.save(good)
    body = json.loads(good.read_text())
    body.pop("checksum")

    def variant(name, edit):
        v = json.loads(json.dumps(body))
        edit(v)
        (d / name).write_text(json.dumps(v))
        return str(d / name)

    def hostile(v):
        v["circuit"]["gates"]["evil"] = {"kind": "sympy", "symbols": ["x", "y"],
                                         "exprs": ["__import__('os').system('touch PWNED')*0+1+x*y"]}
        next(op for op in v["circuit"]["ops"] if op["gen"] == "and")["gen"] = "evil"

    out = {
        "dir": str(d),
        "good": str(good),
        "hostile": variant("hostile.plc", hostile),
        "redefine": variant("redefine.plc", lambda v: v["circuit"]["gates"].update(
            {"xor": {"kind": "sympy", "exprs": ["x"], "symbols": ["x", "y"]}})),
        "width0": variant("width0.plc", lambda v: v["inputs"][2].update(width=0)),
        "width0_v1": variant("width0_v1.plc", lambda v: (v.pop("inputs"), v.update(version=1),
                                                          v["info"].update(feature_bits=0))),
        "no_version": variant("noversion.plc", lambda v: v.pop("version")),
        "version-7": variant("v7.plc", lambda v: v.update(version=-7)),
        "gf3": variant("gf3.plc", lambda v: v["circuit"].update(field=GF(3).describe())),
        "empty": str(d / "empty.plc"),
        "brackets": str(d / "brackets.plc"),
        "binary": str(d / "binary.plc"),
        "missing": str(d / "missing.plc"),
    }
    (d / "empty.plc").write_text("")
    (d / "brackets.plc").write_text("[" * 100_000)
    (d / "binary.plc").write_bytes(bytes(range(256)) * 4)
    return out


def run(capsys, argv) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def assert_one_line_error(code, err, *needles):
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("paralens"), lines[0]
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])


BAD_ARGUMENTS = [
    (["train", "--model", "iris-gates", "--epochs", "-1"], "--epochs"),
    (["train", "--model", "iris-linear", "--epochs", "-2"], "--epochs"),
    (["train", "--model", "iris-linear", "--epochs", "two"], "--epochs"),
    (["train", "--model", "iris-linear", "--batch-size", "0"], "--batch-size"),
    (["train", "--model", "iris-linear", "--lr", "-0.1"], "--lr"),
    (["train", "--model", "iris-linear", "--lr", "nan"], "--lr"),
    (["train", "--model", "iris-linear", "--holdout", "1.5"], "--holdout"),
    (["train", "--model", "iris-linear", "--seed", "-3"], "--seed"),
    (["train", "--model", "iris-linear", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["train", "--model", "iris-linear", "--backend", "cuda"], "--backend"),
    (["train", "--model", "no-such-model"], "no-such-model"),
    (["export", "X.plc", "--pipeline", "0"], "--pipeline"),
    (["export", "X.plc", "--pipeline", str(10**30)], "--pipeline"),
    (["export", "X.plc", "--yosys-timeout", "-5"], "--yosys-timeout"),
    (["export", "X.plc", "--yosys-effort", "max"], "--yosys-effort"),
    (["compare", "--dataset", "iris", "--seeds", "0"], "--seeds"),
    (["compare", "--dataset", "iris", "--methods", "bogus", "--quick"], "bogus"),
    (["compare", "--dataset", "iris", "--methods", ",", "--quick"], "--methods"),
    (["compare", "--dataset", "wine"], "--dataset"),
    (["predict", "X.plc", "--split", "validation"], "--split"),
    (["models", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
    ([], "command"),
]


@pytest.mark.parametrize("argv, needle", BAD_ARGUMENTS, ids=[" ".join(a) or "nothing" for a, _ in BAD_ARGUMENTS])
def test_bad_arguments_are_one_line(capsys, argv, needle):
    code, _, err = run(capsys, argv)
    assert_one_line_error(code, err, needle)


BAD_FILES = [
    ("missing", "No such file"),
    ("dir", "directory"),
    ("empty", "not JSON"),
    ("brackets", "nested too deeply"),
    ("binary", "not JSON"),
    ("hostile", "evil"),
    ("redefine", "redefines the built-in gate 'xor'"),
    ("no_version", "version"),
    ("version-7", "version"),
    ("gf3", "GF(2)"),
]


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
@pytest.mark.parametrize("key, needle", BAD_FILES, ids=[k for k, _ in BAD_FILES])
def test_bad_model_files_are_one_line(files, capsys, monkeypatch, tmp_path, command, key, needle):
    monkeypatch.chdir(tmp_path)
    argv = [command, files[key]] + (["--verilog", str(tmp_path / "out.v")] if command == "export" else [])
    code, out, err = run(capsys, argv)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "out.v").exists()


def test_a_stored_feature_width_of_zero_is_one_line(files, capsys, tmp_path):
    code, _, err = run(capsys, ["export", files["width0"], "--verilog", str(tmp_path / "o.v")])
    assert_one_line_error(code, err, "feature 'x2': width must be an integer in 1 .. 62, not 0")
    code, _, err = run(capsys, ["export", files["width0_v1"], "--verilog", str(tmp_path / "o.v")])
    assert_one_line_error(code, err, "feature width 0")


def test_export_to_a_directory_or_a_missing_folder_is_one_line(files, capsys, tmp_path):
    code, _, err = run(capsys, ["export", files["good"], "--verilog", str(tmp_path)])
    assert_one_line_error(code, err, "is a directory")
    code, _, err = run(capsys, ["export", files["good"], "--blif", str(tmp_path / "no" / "such" / "x.blif")])
    assert code == 0  # a missing folder of an export is made, as for the Verilog
    assert (tmp_path / "no" / "such" / "x.blif").exists()


@pytest.mark.parametrize("where", ["verilog", "blif", "testbench"])
def test_a_full_disk_leaves_the_old_file_intact(files, capsys, monkeypatch, tmp_path, where):
    """``export`` onto an existing file when the disk is full: one line, and the file is as it was."""
    import paralens.files

    target = tmp_path / f"out.{where}"
    target.write_text("the user's previous file\n")
    real = os.fsync

    def full(fd):
        real(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(paralens.files.os, "fsync", full)
    argv = ["export", files["good"], f"--{where}", str(target)]
    if where == "testbench":
        argv += ["--verilog", str(tmp_path / "design.v")]
    code, _, err = run(capsys, argv)
    assert_one_line_error(code, err, "No space left on device", str(tmp_path))
    assert ".tmp" not in err  # the message names the target, not the temporary file
    assert target.read_text() == "the user's previous file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary file left


def test_a_read_only_folder_is_one_line(files, capsys, monkeypatch, tmp_path):
    """As a user without write permission sees it (simulated: CI runs as root, which may write anywhere)."""
    real = os.mkdir
    out = tmp_path / "read-only"
    out.mkdir()

    def denied(path, mode=0o777, **kw):
        if str(path).startswith(str(out)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real(path, mode, **kw)

    monkeypatch.setattr(os, "mkdir", denied)
    code, _, err = run(capsys, ["export", files["good"], "--verilog", str(out / "x.v")])
    assert_one_line_error(code, err, "Permission denied", "x.v")
    code, _, err = run(capsys, ["train", "--model", "iris-gates", "--epochs", "1", "--no-progress",
                                "--save", str(out / "m.plc")])
    assert_one_line_error(code, err, "Permission denied", "m.plc")
    assert list(out.iterdir()) == []


def test_saving_under_a_file_is_one_line_before_training(capsys, tmp_path):
    (tmp_path / "afile").write_text("")
    for model in ("iris-linear", "iris-gates"):
        code, out, err = run(capsys, ["train", "--model", model, "--no-progress",
                                      "--save", str(tmp_path / "afile" / "ck")])
        assert_one_line_error(code, err, "afile")
        assert out == ""  # nothing trained, nothing reported


def test_resume_from_a_missing_or_damaged_checkpoint_is_one_line(files, capsys, tmp_path):
    code, _, err = run(capsys, ["train", "--model", "iris-linear", "--resume", str(tmp_path / "none.st")])
    assert_one_line_error(code, err, "none.st")
    code, _, err = run(capsys, ["train", "--model", "iris-linear", "--resume", files["binary"]])
    assert_one_line_error(code, err, "binary.plc")


def test_saved_files_get_the_users_default_permissions(tmp_path):
    from paralens.files import default_mode

    clf = _iris_classifier()
    clf.save(tmp_path / "m.plc")
    assert os.stat(tmp_path / "m.plc").st_mode & 0o777 == default_mode()
    os.chmod(tmp_path / "m.plc", 0o640)
    clf.save(tmp_path / "m.plc")  # a replaced file keeps its mode
    assert os.stat(tmp_path / "m.plc").st_mode & 0o777 == 0o640


def test_the_hostile_file_through_the_installed_command_runs_nothing(files, tmp_path):
    """End to end, as the issue's reproducer: ``paralens predict`` on the hostile file."""
    r = subprocess.run([sys.executable, "-m", "paralens", "predict", files["hostile"]], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "evil" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "PWNED").exists()


def test_an_input_beyond_the_ports_is_saturated_the_same_in_predict_and_the_ports(files):
    from paralens.boolean.classifier import CircuitClassifier

    clf = CircuitClassifier.load(files["good"])
    X = np.array([[1.0, 2.0, 1e20, 3.0], [1.0, 2.0, 255.0, 3.0], [-1e20, 2.0, 3.0, 3.0], [0.0, 2.0, 3.0, 3.0]])
    q = clf.integers(X)
    assert q[:, 2].tolist() == [255, 255, 3, 3] and q[:, 0].tolist() == [1, 1, 0, 0]
    assert clf.predict(X[:1]).tolist() == clf.predict(X[1:2]).tolist()
    assert clf.predict(X[2:3]).tolist() == clf.predict(X[3:4]).tolist()
    bits = clf.input_bits(X)
    np.testing.assert_array_equal(bits[0], bits[1])
