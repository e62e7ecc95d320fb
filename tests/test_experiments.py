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
    assert {r["method"] for r in d["curves"]} == {"relaxed gate network", "vote optimiser (LUT8 layer)",
                                                 "learned connections", "logic-tree convolutions"}
    assert set(d["baselines"]) == {"logistic", "mlp", "cnn"}
    png = tmp_path / "accuracy_vs_gates_quick.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_all_times_each_experiment(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / "run_all.py"), "--quick", "--only", "rda_table1",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads((tmp_path / "run_all_quick.json").read_text())
    assert [row["experiment"] for row in d["rows"]] == ["rda_table1"] and d["rows"][0]["returncode"] == 0
    assert 0 < d["rows"][0]["seconds"] <= d["seconds"] and d["cpus"] >= 1
    assert (tmp_path / "rda_table1_quick.json").exists()
    assert "| rda_table1 |" in (tmp_path / "run_all_quick.md").read_text()
    bad = subprocess.run([sys.executable, str(ROOT / "experiments" / "run_all.py"), "--only", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown experiments ['nope']" in bad.stderr


def test_accuracy_vs_gates_reuses_boolean_vs_real_runs(tmp_path):
    """The curves take boolean_vs_real's runs of the same recipes (every seed, marked with its source)."""
    sys.path.insert(0, str(ROOT))
    try:
        from experiments import accuracy_vs_gates as avg
    finally:
        sys.path.remove(str(ROOT))
    runs = [{"seed": s, "train_accuracy": 0.9, "test_accuracy": 0.8 + s / 100, "gates_or_params": 2000 + s,
             "train_seconds": 10.0} for s in range(3)]
    table = [{"method": "gates-S", "seeds": [0, 1, 2], "runs": runs, "gates_or_params": 2001.0, "test_accuracy": 0.81},
             {"method": "rda", "seeds": [0], "runs": runs[:1], "gates_or_params": 1.0, "test_accuracy": 0.5},
             {"method": "cnn", "seeds": [0, 1, 2], "runs": runs, "gates_or_params": 5258.0, "test_accuracy": 0.946,
              "test_accuracy_std": 0.002}]
    path = tmp_path / "boolean_vs_real.json"
    path.write_text(json.dumps({"quick": False, "tables": {"mnist": table}}))
    got = avg._reusable(path)
    assert set(got) == {("relaxed gate network", str([1000] * 4)), ("baseline", "cnn")}
    pts = got[("relaxed gate network", str([1000] * 4))]
    assert [p["seed"] for p in pts] == [0, 1, 2] and [p["gates"] for p in pts] == [2000, 2001, 2002]
    assert all(p["source"] == "boolean_vs_real.json" for p in pts)
    assert got[("baseline", "cnn")]["params"] == 5258 and got[("baseline", "cnn")]["epochs"] == 8
    # reused points are not trained again
    assert avg._gate_points([[1000] * 4], 1, (0,), got) == pts
    path.write_text(json.dumps({"quick": True, "tables": {}}))
    with pytest.raises(SystemExit, match="--quick run"):
        avg._reusable(path)


def _table_rows(text: str, first_header: str) -> dict:
    """Markdown table rows after the header line starting with ``first_header``: method -> cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].split(" (")[0]] = cells
    return rows


def test_readme_results_are_the_committed_experiment_outputs():
    """The README's MNIST table is experiments/results/boolean_vs_real.md's (the script's output), cell
    for cell, and its plot is the one accuracy_vs_gates.py writes."""
    readme = (ROOT / "README.md").read_text()
    results = (ROOT / "experiments" / "results" / "boolean_vs_real.md").read_text()
    mnist = results[results.index("## mnist"):]
    ours = _table_rows(readme[readme.index("## Results"):], "| method | kind |")
    theirs = _table_rows(mnist, "| method | kind |")
    assert set(ours) == set(theirs) and len(ours) == 8
    for method, cells in ours.items():
        assert cells[1:8] == theirs[method][1:8], method
    d = json.loads((ROOT / "experiments" / "results" / "accuracy_vs_gates.json").read_text())
    assert d["quick"] is False and "](experiments/results/" + d["plot"] + ")" in readme
