"""Every Python block of the README runs as written, and prints what its comments say it prints.

Output comments: in a ```python block, a top-level ``print(...)   # expected`` or a bare
expression statement ``expr   # expected`` whose comment looks like output (it starts
with a bracket, a quote, a number, ``True``/``False``/``None``, ``array(`` or
``name(``) is compared with what the line prints (``print``) or with the ``repr`` or
``str`` of its value (an expression).  Whitespace is normalised (numpy pads and wraps
its arrays), ``...`` in the comment stands for any text, and a number shown with
decimals may be the actual value rounded to them.  Prose comments are not compared.

Interactive sessions (a block of ``>>>`` lines, in any fence) are run too, in a
namespace holding the imports of the README's Python blocks, and their shown output
compared the same way; an exception is shown as ``Type: message`` (first lines).

The library itself never calls ``jax.grad`` (the README's promise that JAX is only an
array library and a compiler here): checked on the source.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SESSIONS = [b for b in re.findall(r"```[^\n]*\n(.*?)```", TEXT, flags=re.S) if b.lstrip().startswith(">>> ")]

# -- comparing a shown output with an actual one --------------------------------------------------

_OUTPUT_LIKE = re.compile(r"""^(?:[\[({'"<]|[-+]?\.?\d|(?:True|False|None)\b|array\(|[A-Za-z_][\w.]*\()""")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


def output_comment(comment: str | None) -> str | None:
    """The expected output a comment shows, or ``None`` for a prose comment."""
    if comment is None:
        return None
    text = comment.lstrip("#").strip()
    return text if _OUTPUT_LIKE.match(text) else None


def _normalise(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"([\[(]) | ([\])])", r"\1\2", s)


def _decimals(num: str) -> int:
    mantissa = re.split(r"[eE]", num)[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _same_number(shown: str, actual: str) -> bool:
    if shown == actual:
        return True
    a, b = float(shown), float(actual)
    d = _decimals(shown)
    if d and _decimals(actual) > d and "e" not in shown.lower() and "e" not in actual.lower():
        return round(b, d) == a  # shown rounded to its decimals
    return a == b


def matches(shown: str, actual: str) -> bool:
    """Whether ``actual`` output is what ``shown`` (a README comment or session output) shows."""
    shown, actual = _normalise(shown), _normalise(actual)
    pattern, numbers = "", []
    for m in re.finditer(rf"(\.\.\.)|({_NUMBER})|(.)", shown, flags=re.S):
        if m.group(1):
            pattern += ".*?"
        elif m.group(2):
            pattern += f"({_NUMBER})"
            numbers.append(m.group(2))
        else:
            pattern += re.escape(m.group(3))
    hit = re.fullmatch(pattern, actual, flags=re.S)
    return bool(hit) and all(_same_number(s, a) for s, a in zip(numbers, hit.groups()))


# -- running a block statement by statement --------------------------------------------------------


def _comments(code: str) -> dict[int, str]:
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string
    return out


def _is_print(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "print")


def _candidates(value) -> list[str]:
    return [repr(value), str(value)]


def run_block(code: str, namespace: dict | None = None, filename: str = str(README)) -> tuple[list[str], int]:
    """Run ``code`` statement by statement: ``(one message per output comment that does not match,
    the number of output comments compared)``."""
    ns = {"__name__": "readme"} if namespace is None else namespace
    comments = _comments(code)
    mismatches, checked = [], 0
    for node in ast.parse(code, filename).body:
        shown = output_comment(comments.get(node.end_lineno))
        line = code.splitlines()[node.end_lineno - 1].strip()
        if shown is not None and _is_print(node):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(ast.Module([node], []), filename, "exec"), ns)
            actual = [buf.getvalue().rstrip("\n")]
        elif shown is not None and isinstance(node, ast.Expr):
            actual = _candidates(eval(compile(ast.Expression(node.value), filename, "eval"), ns))
        else:
            exec(compile(ast.Module([node], []), filename, "exec"), ns)
            continue
        checked += 1
        if not any(matches(shown, a) for a in actual):
            mismatches.append(f"{line!r}: the README shows {shown!r}, it gives {actual[0]!r}")
    return mismatches, checked


def _session_steps(session: str) -> list[tuple[str, str]]:
    """``(source, shown output)`` for each ``>>>`` prompt of a session."""
    steps: list[tuple[list[str], list[str]]] = []
    for line in session.rstrip("\n").splitlines():
        if line.startswith(">>> "):
            steps.append(([line[4:]], []))
        elif line.startswith("... ") and steps and not steps[-1][1]:
            steps[-1][0].append(line[4:])
        elif steps:
            steps[-1][1].append(line)
    return [("\n".join(src), "\n".join(out).strip()) for src, out in steps]


def _readme_imports() -> dict:
    ns = {"__name__": "readme"}
    for code in BLOCKS:
        for node in ast.parse(code).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], []), str(README), "exec"), ns)
    return ns


def run_session(session: str, namespace: dict) -> list[str]:
    mismatches = []
    for src, shown in _session_steps(session):
        try:
            tree = ast.parse(src, mode="single")
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
                    value = eval(compile(ast.Expression(tree.body[0].value), str(README), "eval"), namespace)
                    if value is not None:
                        print(repr(value))
                else:
                    exec(compile(src, str(README), "exec"), namespace)
            actual = buf.getvalue().rstrip("\n")
        except Exception as exc:  # noqa: BLE001 - a session may show an error
            message = f"{type(exc).__name__}: {exc}".splitlines()
            actual = "\n".join(message[: max(1, len(shown.splitlines()))])
        if (shown or actual) and not matches(shown, actual):
            mismatches.append(f">>> {src}: the README shows {shown!r}, it gives {actual!r}")
    return mismatches


# -- the README ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs_and_prints_what_it_shows(code, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the files a block writes (iris.plc, iris.v) go to a fresh folder
    mismatches, _ = run_block(code)
    assert mismatches == []


@pytest.mark.parametrize("session", SESSIONS, ids=[f"session{i}" for i in range(len(SESSIONS))])
def test_readme_session_gives_what_it_shows(session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_session(session, _readme_imports()) == []


def test_readme_shows_outputs_that_are_compared():
    """The README's comments are found and compared (a parser that finds nothing would pass anything)."""
    checked = 0
    for code in BLOCKS:
        comments = _comments(code)
        for node in ast.parse(code).body:
            if isinstance(node, ast.Expr) and output_comment(comments.get(node.end_lineno)) is not None:
                checked += 1
    assert checked >= 1, "no output comment found in the README's Python blocks"


# -- the comparison itself can fail --------------------------------------------------------------------


def test_output_comment_tells_outputs_from_prose():
    for shown in ["# [[ 3. 12.]]", "# ['a', 'b']", "# (1, 2)", "# {'x': 1}", "# 0.75", "# -1", "# True",
                  "# array([1, 2])", "# dense(784->128, relu) >> dense(128->10, identity)", "# 'text'"]:
        assert output_comment(shown) == shown[2:], shown
    for prose in ["# finite differences, RD.2, RD.5", "# the put: changes of P and A", "# @: the product",
                  "# >>: composition in Para(Lens(C))", None]:
        assert output_comment(prose) is None, prose


def test_matches_normalises_whitespace_rounds_numbers_and_honours_ellipsis():
    import numpy as np

    assert matches("[[ 3. 12.]]", str(np.array([[3.0, 12.0]])))
    assert matches("[[3. 12.]]", "[[ 3.  12.]]")
    assert matches("[1 2 3]", "[1\n 2 3]")
    assert matches("0.967", "0.9666666666666667")  # shown rounded
    assert matches("{'loss': ..., 'accuracy': 0.75}", "{'loss': 0.1234, 'accuracy': 0.75}")
    assert not matches("0.966", "0.9666666666666667")
    assert not matches("[[ 3. 12.]]", "[[ 3. 13.]]")
    assert not matches("3.", "3.4")  # no decimals shown: the value itself
    assert not matches("['0.bias', 'w']", "['0.bias', '1.bias', 'w']")
    assert not matches("True", "False")


def test_a_wrong_output_comment_is_caught(capsys):
    good = (
        "import numpy as np\n"
        "x = np.array([[1.0, 2.0]])   # the input: prose, not compared\n"
        "print(x * 3)                 # [[3. 6.]]\n"
        "sorted({'b': 1, 'a': 2})     # ['a', 'b']\n"
        "len(x)                       # the length: prose\n"
    )
    assert run_block(good, filename="<good>") == ([], 2)
    wrong_print = good.replace("# [[3. 6.]]", "# [[3. 7.]]")
    (msg,), _ = run_block(wrong_print, filename="<wrong print>")
    assert "[[3. 7.]]" in msg and "[[3. 6.]]" in msg
    wrong_expr = good.replace("# ['a', 'b']", "# ['b', 'a']")
    assert len(run_block(wrong_expr, filename="<wrong expression>")[0]) == 1
    with pytest.raises(ZeroDivisionError):  # a block that fails still fails
        run_block("1 / 0   # 1\n", filename="<error>")


def test_a_wrong_session_output_is_caught():
    ns = {"__name__": "readme"}
    session = ">>> 1 + 1\n2\n>>> int('x')\nValueError: invalid literal for int() with base 10: 'x'\n"
    assert run_session(session, ns) == []
    assert len(run_session(session.replace("2\n", "3\n"), ns)) == 1
    assert len(run_session(session.replace("ValueError", "TypeError"), ns)) == 1
    assert _session_steps(">>> def f():\n...     return 1\n>>> f()\n1\n") == [("def f():\n    return 1", ""),
                                                                            ("f()", "1")]


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_one():
    text = README.read_text()
    test_cmd = 'python -m pip install -e ".[dev]" && python -m pytest'
    assert test_cmd in text
    assert test_cmd in (README.parent / ".ci" / "run").read_text()
    assert "python -m pip install . && paralens train" in text


# -- "jax.grad serves only the tests" --------------------------------------------------------------------

AUTODIFF = {"grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"}


def autodiff_calls(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` uses JAX's autodiff (``jax.grad(...)``, ``from jax import grad``, ``jax.vjp``, ...)."""
    tree = ast.parse(source, filename)
    jax_names = {"jax"}  # names bound to the jax module
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "jax":
                    jax_names.add(a.asname or "jax")
        elif isinstance(node, ast.ImportFrom) and node.module in ("jax", "jax._src.api"):
            found += [f"{filename}:{node.lineno}: from {node.module} import {a.name}"
                      for a in node.names if a.name in AUTODIFF]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in AUTODIFF and isinstance(node.value, ast.Name)
                and node.value.id in jax_names):
            found.append(f"{filename}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_library_never_calls_jax_autodiff():
    sources = sorted((ROOT / "src" / "paralens").rglob("*.py"))
    assert len(sources) > 20
    found = [hit for path in sources for hit in autodiff_calls(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], "the library's reverse derivatives are its own; JAX autodiff is for the tests:\n" + \
        "\n".join(found)


def test_the_autodiff_scan_finds_calls():
    assert autodiff_calls("import jax\ny = jax.grad(f)(x)\n")
    assert autodiff_calls("import jax as J\nv, g = J.value_and_grad(f)(x)\n")
    assert autodiff_calls("from jax import vjp\n")
    assert autodiff_calls("import jax\nf = jax.vjp\n")
    assert not autodiff_calls("import jax\ny = jax.jit(f)(x)\nz = jax.lax.scan(g, 0, xs)\n")
