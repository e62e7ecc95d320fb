"""Layout of circuits: gate by gate when small, one box per bundled operation when large.

Every source (an input, or an output port of a gate) has its own row and runs along it
as a horizontal track; node ``i`` (a gate, or an operation) has column ``i`` and sits on
the rows of its own outputs, so no track passes through a box.  A wire leaves its
track inside the gap before the column it enters, each input port bending at its own
distance, and enters the box from the left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paralens.draw.geometry import PAD, TEXT_H, Box, Layout, Rect, Text, Wire, centred_text, text_width

ROW = TEXT_H + 2 * PAD + 4
BOX_FILL = 0.8  # of a row
BEND = 6.0
SMALL_CIRCUIT = 40  # gates: up to this many, drawn one by one


@dataclass(frozen=True)
class Node:
    """A box in column order: ``label``, the source rows of each input port, how many output rows."""

    label: str
    inputs: tuple[tuple[int, ...], ...]
    n_out: int


@dataclass(frozen=True)
class Dag:
    sources: tuple[str, ...]  # the labels of the input rows
    nodes: tuple[Node, ...]
    outputs: tuple[tuple[int, str], ...]  # (row, label) of each output
    title: str = ""


def _node_rows(dag: Dag) -> list[int]:
    first, r = [], len(dag.sources)
    for n in dag.nodes:
        first.append(r)
        r += n.n_out
    return first


@dataclass(frozen=True)
class _Grid:
    """Where columns and rows lie: ``left`` ends the input labels, node ``i`` starts at ``col_x[i]``."""

    n_rows: int
    left: float
    box_w: float
    col_x: tuple[float, ...]
    right_x: float

    def y(self, r: int) -> float:
        return PAD + (self.n_rows - r - 0.5) * ROW


def _grid(dag: Dag) -> _Grid:
    n_rows = len(dag.sources) + sum(n.n_out for n in dag.nodes)
    max_in = max((len(n.inputs) for n in dag.nodes), default=1)
    box_w = max([text_width(n.label) + 2 * PAD for n in dag.nodes] + [30.0])
    gap = BEND * (max_in + 1) + PAD
    left = max((text_width(s) for s in dag.sources), default=0.0) + 2 * PAD
    col_x = tuple(left + gap + i * (box_w + gap) for i in range(len(dag.nodes)))
    right_x = (col_x[-1] + box_w if col_x else left) + gap
    return _Grid(n_rows, left, box_w, col_x, right_x)


def _node_rect(g: _Grid, i: int, r0: int, n_out: int) -> Rect:
    top = g.y(r0) + BOX_FILL * ROW / 2
    bottom = g.y(r0 + n_out - 1) - BOX_FILL * ROW / 2
    return Rect(g.col_x[i], bottom, g.box_w, top - bottom)


def _in_wires(g: _Grid, node: Node, rect: Rect, src_x: list[float]) -> list[Wire]:
    """Each input port's wires: along the source's row, down (or up) in the gap, into the box."""
    wires, k = [], len(node.inputs)
    for j, rows in enumerate(node.inputs):
        yp = rect.y + rect.h * (k - j) / (k + 1)
        bx = rect.x - BEND * (j + 1)
        for s in rows:
            ys = g.y(s)
            pts = ((src_x[s], ys), (bx, ys), (bx, yp), (rect.x, yp)) if ys != yp else ((src_x[s], ys), (rect.x, yp))
            wires.append(Wire(pts))
    return wires


def dag_layout(dag: Dag) -> Layout:
    g = _grid(dag)
    first = _node_rows(dag)
    src_x = [g.left] * len(dag.sources)
    for i, n in enumerate(dag.nodes):
        src_x += [g.col_x[i] + g.box_w] * n.n_out
    boxes, wires, texts = [], [], []
    for i, n in enumerate(dag.nodes):
        rect = _node_rect(g, i, first[i], n.n_out)
        boxes.append(Box(rect, n.label, "gate"))
        texts.append(centred_text(rect, n.label, i))
        wires += _in_wires(g, n, rect, src_x)
    for r, label in enumerate(dag.sources):
        wires.append(Wire(((0.0, g.y(r)), (g.left, g.y(r)))))
        texts.append(Text(Rect(g.left - PAD - text_width(label), g.y(r) + 1, text_width(label), TEXT_H), label))
    for r, label in dag.outputs:
        wires.append(Wire(((src_x[r], g.y(r)), (g.right_x, g.y(r)))))
        texts.append(Text(Rect(g.right_x + PAD, g.y(r) - TEXT_H / 2, text_width(label), TEXT_H), label))
    out_w = max((text_width(lbl) for _, lbl in dag.outputs), default=0.0) + 2 * PAD
    return Layout(g.right_x + out_w, g.n_rows * ROW + 2 * PAD, tuple(boxes), tuple(wires), tuple(texts), dag.title)


# -- from circuits --------------------------------------------------------------------------


def _input_labels(c, groups) -> list[tuple[str, int, int]]:
    """``(label, first wire, count)`` for each input group (parameters by name, then the data)."""
    groups = list(groups or [])
    used = sum(n for _, n in groups)
    if used < c.n_inputs:
        groups.append(("x", c.n_inputs - used))
    out, start = [], 0
    for name, n in groups:
        out.append((name, start, n))
        start += n
    return out


def _gen_name(gen) -> str:
    return getattr(gen, "name", str(gen))


def _output_rows(outputs, row_of) -> tuple[tuple[int, str], ...]:
    by_row: dict[int, list[int]] = {}
    for j, w in enumerate(outputs):
        by_row.setdefault(row_of(int(w)), []).append(j)
    return tuple((r, _outs_label(js)) for r, js in sorted(by_row.items()))


def _outs_label(js: list[int]) -> str:
    if len(js) == 1:
        return f"y{js[0]}"
    if js == list(range(js[0], js[-1] + 1)):
        return f"y{js[0]}..y{js[-1]} ({len(js)})"
    return f"y{js[0]},... ({len(js)})"


def gate_dag(c, groups=None) -> Dag:
    """One node per gate; one row per input wire."""
    F = c.field
    sources = [f"{name}{i if n > 1 else ''}: {F.name}" if name != "x" else f"x{i}: {F.name}"
               for name, start, n in _input_labels(c, groups) for i in range(n)]
    row = np.arange(c.n_wires)  # gates in op order, port-major outputs of each
    nodes, r = [], c.n_inputs
    for op in c.ops:
        n_out = op.gen.n_out
        for i in range(op.k):
            for j in range(n_out):
                row[op.out + j * op.k + i] = r + j
            label = _gen_name(op.gen) if op.data is None else f"{_gen_name(op.gen)} {op.data[i]}"
            nodes.append(Node(label, tuple((int(row[a[i]]),) for a in op.args), n_out))
            r += n_out
    return Dag(tuple(sources), tuple(nodes), _output_rows(c.outputs, lambda w: int(row[w])), c.label())


def bundle_dag(c, groups=None) -> Dag:
    """One node per bundled operation; one row per input group and per output port of an operation."""
    F = c.field
    labels = _input_labels(c, groups)
    starts = [s for _, s, _ in labels]
    sources = [f"{name}: {F.name}^{n}" for name, _, n in labels]
    nodes = []
    for op in c.ops:
        base = len(starts)
        starts += [op.out + j * op.k for j in range(op.gen.n_out)]
        nodes.append((op, base))
    starts_a = np.asarray(starts)

    def row_of(wires):
        return tuple(int(r) for r in np.unique(np.searchsorted(starts_a, np.asarray(wires), side="right") - 1))

    out_nodes = [Node(f"{_gen_name(op.gen)} ×{op.k}", tuple(row_of(a) for a in op.args), op.gen.n_out)
                 for op, _ in nodes]
    return Dag(tuple(sources), tuple(out_nodes), _output_rows(c.outputs, lambda w: row_of([w])[0]), c.label())


def circuit_layout(c, groups=None, *, small: int = SMALL_CIRCUIT) -> Layout:
    """Gate by gate when ``c`` has at most ``small`` gates, else by bundled operation."""
    dag = gate_dag(c, groups) if sum(op.k for op in c.ops) <= small else bundle_dag(c, groups)
    return dag_layout(dag)
