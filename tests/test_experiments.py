"""The comparison experiments run in --quick mode and write what their READMEs promise."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paralens.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_compare_json_rows(capsys):
    assert main(["compare", "--dataset", "iris", "--quick", "--seeds", "1", "--methods", "gates-S,logistic",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["gates-S", "logistic"]
    for r in rows:
        assert {"method", "test_accuracy", "gates_or_params", "train_seconds", "samples_per_second"} <= set(r)
        assert 0.0 < r["test_accuracy"] <= 1.0 and r["gates_or_params"] > 0 and r["samples_per_second"] > 0
        assert r["seeds"] == [0]
    assert rows[0]["kind"] == "boolean" and "depth" in rows[0]


def test_boolean_vs_real_quick(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / "boolean_vs_real.py"), "--quick", "--datasets", "iris",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    d = json.loads((tmp_path / "boolean_vs_real.json").read_text())
    methods = [r["method"] for r in d["tables"]["iris"]]
    assert methods == ["rda", "vote", "gates-S", "gates-M", "gates-L", "logistic", "mlp"]
    assert d["seeds"] == [0] and d["quick"] is True
    assert "| gates-M | boolean |" in (tmp_path / "boolean_vs_real.md").read_text()


@pytest.mark.slow
def test_accuracy_vs_gates_quick(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / "accuracy_vs_gates.py"), "--quick", "--out",
                    str(tmp_path)], check=True, capture_output=True)
    d = json.loads((tmp_path / "accuracy_vs_gates_quick.json").read_text())
    assert {r["method"] for r in d["curves"]} == {"relaxed gate network", "vote optimiser (LUT8 layer)"}
    assert set(d["baselines"]) == {"logistic", "mlp", "cnn"}
    png = tmp_path / "accuracy_vs_gates_quick.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
