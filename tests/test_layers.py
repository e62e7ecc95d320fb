"""The architecture, enforced: arrows point one way, no import cycles, small files and functions.

Every ``import`` of a paralens module, at the top of a file or inside a function, is read
from the source (an AST scan, so a lazy import inside a function counts as much as one at
the top).  A module may import only from its own layer or below; the command line,
``compare`` and the package's top-level ``__init__`` are the top and may import anything.
"""

from __future__ import annotations

import ast
import pathlib
from collections import defaultdict

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"

# bottom to top: a module may import from its own rank or below (see the README's architecture)
RANKS = {
    "paralens.errors": 0,
    "paralens.files": 0,
    "paralens.backend": 1,
    "paralens.categories": 2,
    "paralens.fields": 3,
    "paralens.instances": 3,
    "paralens.circuits": 4,
    "paralens.learning": 5,
    "paralens.laws": 6,
    "paralens.data": 6,
    "paralens.training": 7,
    "paralens.synth": 8,
    "paralens.boolean": 9,
    "paralens.models": 10,
    "paralens.draw": 10,
    "paralens.examples": 11,
}
TOP = {"paralens", "paralens.__main__", "paralens.cli", "paralens.cli.common", "paralens.cli.boolean",
       "paralens.cli.real", "paralens.cli.draw", "paralens.cli.dream", "paralens.cli.gan", "paralens.cli.fpga", "paralens.compare"}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports() -> dict[str, set[str]]:
    """For every module of the package, the paralens modules it imports (anywhere in the file).

    ``from P import name`` imports the module ``P.name`` when there is one (``from paralens import
    data``), else the module ``P`` itself."""
    paths = {_module_name(p): p for p in SRC.joinpath("paralens").rglob("*.py")}
    out: dict[str, set[str]] = defaultdict(set)
    for mod, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(mod, node, path.name == "__init__.py")
                if not target:
                    continue
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in paths]
                targets = subs + ([target] if len(subs) < len(node.names) else [])
            else:
                continue
            out[mod].update(t for t in targets if t == "paralens" or t.startswith("paralens."))
        out.setdefault(mod, set())
    return out


def _rank(module: str) -> int | None:
    best = None
    for prefix, r in RANKS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, r)
    return None if best is None else best[1]


IMPORTS = _imports()


def test_every_module_has_a_layer():
    missing = sorted(m for m in IMPORTS if m not in TOP and _rank(m) is None)
    assert not missing, f"modules with no layer in RANKS: {missing}"


def test_no_module_imports_from_a_higher_layer():
    bad = []
    for mod, targets in sorted(IMPORTS.items()):
        if mod in TOP:
            continue
        mine = _rank(mod)
        for t in sorted(targets):
            if t == "paralens":
                bad.append(f"{mod} imports the top-level package paralens")
                continue
            theirs = _rank(t)
            if t in TOP or (theirs is not None and theirs > mine):
                bad.append(f"{mod} (layer {mine}) imports {t} (layer {theirs if t not in TOP else 'top'})")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_core_imports_nothing_above_it():
    """The issue's rule in its own words: circuits and fields import no learning, training, data,
    backend, synth or boolean."""
    banned = ("paralens.learning", "paralens.training", "paralens.data", "paralens.backend", "paralens.synth",
              "paralens.boolean")
    bad = [f"{m} imports {t}" for m, ts in IMPORTS.items() if m.startswith(("paralens.circuits", "paralens.fields"))
           for t in ts if t.startswith(banned)]
    assert not bad, "\n".join(sorted(bad))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles():
    # a package's __init__ re-exporting its modules is not a cycle of meaning: leave those edges out
    graph = {m: {t for t in ts if not (m == t.rsplit(".", 1)[0] or t == m.rsplit(".", 1)[0])}
             for m, ts in IMPORTS.items()}
    graph = {m: {t for t in ts if t in IMPORTS} for m, ts in graph.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_scan_sees_imports_inside_functions(tmp_path):
    tree = ast.parse("def f():\n    from paralens.training.fit import fit\n")
    found = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert found == ["paralens.training.fit"]
    assert _rank("paralens.training.fit") > _rank("paralens.circuits.syntax")


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 100
# long on purpose, each with its reason (a numba kernel is one loop nest; a table reads as one)
LONG_FUNCTION_OK = "long-function-ok:"


def _sources():
    return sorted(SRC.joinpath("paralens").rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_source_file_over_a_thousand_lines(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_FILE_LINES, f"{path.relative_to(SRC)} has {n} lines (at most {MAX_FILE_LINES})"


def test_no_function_over_a_hundred_lines_without_a_reason():
    bad = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n <= MAX_FUNCTION_LINES:
                    continue
                head = "\n".join(lines[max(0, node.lineno - 3): node.lineno + 1])
                if LONG_FUNCTION_OK not in head:
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} has {n} lines")
    assert not bad, "functions over 100 lines (mark a deliberate one with a '# long-function-ok: why' comment " \
                    "on the line above its def):\n" + "\n".join(bad)
