"""experiments/tabular.py in --quick mode on Iris: the table it writes, and a gate network that learns."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tabular():
    sys.path.insert(0, str(ROOT))
    try:
        from experiments import tabular
    finally:
        sys.path.remove(str(ROOT))
    return tabular


def test_tabular_quick_iris(tmp_path, capsys):
    tabular = _tabular()
    assert tabular.main(["--quick", "--datasets", "iris", "--no-lut", "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "tabular_quick.json").read_text())
    assert d["quick"] is True and d["folds"] == 3 and list(d["datasets"]) == ["iris"]
    iris = d["datasets"]["iris"]
    rows = {r["method"]: r for r in iris["rows"]}
    assert list(rows) == ["gates-S", "gates", "gates-L", "rda", "vote", "logistic", "mlp", "hgb"]
    for r in rows.values():
        assert [run["fold"] for run in r["runs"]] == [0, 1, 2]
        assert 0.0 < r["test_accuracy"] <= 1.0 and r["test_accuracy_std"] >= 0.0 and r["seconds"] > 0
        boolean = r["kind"] == "boolean"
        assert boolean == (r["method"] in ("gates-S", "gates", "gates-L", "rda", "vote"))
        if boolean:
            # the whole classifier contains the learned network, and no LUT count was asked for
            assert 0 < r["gates"] <= r["classifier_gates"] and 0 < r["depth"] <= r["classifier_depth"]
            assert "lut6" not in r
    assert rows["gates"]["test_accuracy"] > 0.85
    v = iris["verdict"]
    assert v["best_real"] in ("logistic", "mlp", "hgb") and set(v["gaps_points"]) == set(list(rows)[:5])
    best = max(rows[m]["test_accuracy"] for m in ("logistic", "mlp", "hgb"))
    assert abs(v["gaps_points"]["gates"] - 100 * (rows["gates"]["test_accuracy"] - best)) < 1e-9
    md = (tmp_path / "tabular_quick.md").read_text()
    assert "| method | settings | test acc. % | vs best real |" in md and "| gates-L |" in md and "## iris" in md
    assert md in capsys.readouterr().out  # the table is printed as written
