"""Layout of terms (:mod:`paralens.draw.terms`): a pure function from a term to a :class:`Layout`.

Every box sits in its own block; ``Seq`` places blocks left to right with a gap wide
enough for the labels of the wires crossing it (wires bend only inside gaps), ``Par``
stacks them (the first on top), ``Over`` puts the optimiser box above the parameter
wires of its body.  Parameter wires enter a box from the top of its block, extended to
the top of a sequence and up to an optimiser.  With ``backward`` each box has two
ports a side: the forward wire (upper, left to right) and the backward wire (lower,
right to left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paralens.draw.geometry import PAD, TEXT_H, Box, Layout, Rect, Text, Wire, centred_text, text_width
from paralens.draw.terms import Atom, Over, Par, Seq

BOX_H = TEXT_H + 2 * PAD + 4  # room for a wire label above the port at half height
PARAM_H = TEXT_H + 2 * PAD  # above a box with parameters: the wires and their labels
BEND = 8.0  # a wire bends this far before the port it enters
VGAP = 2 * PAD  # between stacked blocks
MIN_BOX_W = 40.0


@dataclass(frozen=True)
class Port:
    y: float
    label: str
    kind: str  # "forward" or "backward"


@dataclass
class Block:
    """A laid-out term in its own frame (0, 0 at the bottom left); ``tops`` index the parameter
    wires that reach the top edge (their first point), which an enclosing block may extend."""

    w: float
    h: float
    boxes: list = field(default_factory=list)
    wires: list = field(default_factory=list)
    ins: list = field(default_factory=list)
    outs: list = field(default_factory=list)
    tops: list = field(default_factory=list)


def _shift_wire(w: Wire, dx: float, dy: float) -> Wire:
    return Wire(tuple((x + dx, y + dy) for x, y in w.points), w.label, w.kind)


def _place(into: Block, b: Block, dx: float, dy: float) -> tuple[list, list, list]:
    """Copy ``b``'s boxes and wires into ``into`` shifted; returns its ports and top wires there."""
    into.boxes += [Box(x.rect.shifted(dx, dy), x.label, x.kind) for x in b.boxes]
    base = len(into.wires)
    into.wires += [_shift_wire(w, dx, dy) for w in b.wires]
    ins = [Port(p.y + dy, p.label, p.kind) for p in b.ins]
    outs = [Port(p.y + dy, p.label, p.kind) for p in b.outs]
    return ins, outs, [base + i for i in b.tops]


def _raise_top(block: Block, i: int, y: float) -> None:
    w = block.wires[i]
    block.wires[i] = Wire(((w.points[0][0], y),) + w.points[1:], w.label, w.kind)


# -- atoms ----------------------------------------------------------------------------


def _param_wires(params, backward: bool) -> list[tuple[str, str]]:
    if not backward:
        return [(p, "param") for p in params]
    return [w for p in params for w in ((p, "param"), (_prime(p), "param-back"))]


def _prime(label: str) -> str:
    name, _, typ = label.partition(": ")
    return f"{name}': {typ}" if typ else label + "'"


def _ports(types, y0: float, h: float, backward: bool) -> list[Port]:
    """One port per type (and, backward, one per primed type below them), evenly over the box's side."""
    fwd = [Port(0.0, t, "forward") for t in types]
    bwd = [Port(0.0, _prime(t), "backward") for t in types] if backward else []
    ps = fwd + bwd
    n = len(ps)
    return [Port(y0 + h * (n - i) / (n + 1), p.label, p.kind) for i, p in enumerate(ps)]


def atom_block(a: Atom, backward: bool) -> Block:
    pws = _param_wires(a.params, backward)
    slots = [text_width(lbl) + 2 * PAD for lbl, _ in pws]
    n_ports = max(len(a.dom), len(a.cod), 1) * (2 if backward else 1)
    w = max(text_width(a.name) + 2 * PAD, sum(slots) + PAD, MIN_BOX_W)
    h = max(BOX_H, n_ports * (TEXT_H + PAD) + PAD)
    top = h + (PARAM_H if pws else 0.0)
    b = Block(w, top, [Box(Rect(0.0, 0.0, w, h), a.name, a.kind)])
    x = PAD
    for (lbl, kind), slot in zip(pws, slots):
        b.tops.append(len(b.wires))
        b.wires.append(Wire(((x, top), (x, h)), lbl, kind))
        x += slot
    b.ins = _ports(a.dom, 0.0, h, backward)
    b.outs = _ports(a.cod, 0.0, h, backward)
    return b


# -- sequences ----------------------------------------------------------------------


def _axis(b: Block) -> float:
    ys = [p.y for p in b.ins + b.outs]
    return sum(ys) / len(ys) if ys else b.h / 2


def gap_for(ports) -> float:
    """The width of a gap whose wires carry ``ports``' labels, before the bends."""
    widest = max((text_width(p.label) for p in ports), default=0.0)
    return 2 * PAD + widest + BEND


def _link(xs: float, ys: float, xd: float, yd: float, label: str, kind: str) -> Wire:
    if ys == yd:
        return Wire(((xs, ys), (xd, yd)), label, kind)
    return Wire(((xs, ys), (xd - BEND, ys), (xd - BEND, yd), (xd, yd)), label, kind)


def connect(outs, ins, xs: float, xd: float) -> list[Wire]:
    """The wires from the output ports at ``xs`` to the input ports at ``xd``, forward to forward and
    backward to backward: one to one, or fanning out of (into) a single port; one label per source."""
    wires = []
    for kind in ("forward", "backward"):
        src = [p for p in outs if p.kind == kind]
        dst = [p for p in ins if p.kind == kind]
        if not src or not dst:
            continue
        if len(src) == len(dst):
            pairs = list(zip(src, dst))
        elif len(src) == 1:
            pairs = [(src[0], d) for d in dst]
        else:
            pairs = [(s, dst[min(i, len(dst) - 1)]) for i, s in enumerate(src)]
        seen = set()
        for s, d in pairs:
            wires.append(_link(xs, s.y, xd, d.y, "" if id(s) in seen else s.label, kind))
            seen.add(id(s))
    return wires


def seq_block(blocks: list[Block]) -> Block:
    axis = max(_axis(b) for b in blocks)
    offs = [axis - _axis(b) for b in blocks]
    out = Block(0.0, max(o + b.h for o, b in zip(offs, blocks)))
    x, prev_outs, tops = 0.0, None, []
    for b, dy in zip(blocks, offs):
        if prev_outs is not None:
            gap = gap_for(prev_outs)
            ins, outs, t = _place(out, b, x + gap, dy)
            out.wires += connect(prev_outs, ins, x, x + gap)
            x += gap
        else:
            ins, outs, t = _place(out, b, x, dy)
            out.ins = ins
        tops += t
        x += b.w
        prev_outs = outs
    out.w, out.outs = x, prev_outs
    for i in tops:
        _raise_top(out, i, out.h)
    out.tops = tops
    return out


# -- tensors and optimisers ---------------------------------------------------------------


def par_block(blocks: list[Block]) -> Block:
    w = max(b.w for b in blocks)
    out = Block(w, sum(b.h for b in blocks) + VGAP * (len(blocks) - 1))
    y = out.h
    for n, b in enumerate(blocks):
        y -= b.h
        dx = (w - b.w) / 2
        ins, outs, tops = _place(out, b, dx, y)
        if dx:
            out.wires += [Wire(((0.0, p.y), (dx, p.y)), "", p.kind) for p in ins]
            out.wires += [Wire(((dx + b.w, p.y), (w, p.y)), "", p.kind) for p in outs]
        out.ins += ins
        out.outs += outs
        if n == 0:
            out.tops = tops
        y -= VGAP
    return out


def over_block(top: Block, body: Block) -> Block:
    """``top`` (an optimiser box) above ``body``, whose parameter wires are raised to meet it."""
    w = max(top.w, body.w)
    gap = PARAM_H + PAD
    out = Block(w, body.h + gap + top.h)
    dx = (w - body.w) / 2
    out.ins, out.outs, body_tops = _place(out, body, dx, 0.0)
    for i in body_tops:
        _raise_top(out, i, body.h + gap)
    wide = Block(w, top.h, [Box(Rect(0.0, 0.0, w, top.boxes[0].rect.h), top.boxes[0].label, top.boxes[0].kind)],
                 list(top.wires), tops=list(top.tops))
    _, _, out.tops = _place(out, wide, 0.0, body.h + gap)
    return out


def block(term, backward: bool = False) -> Block:
    if isinstance(term, Atom):
        return atom_block(term, backward)
    if isinstance(term, Seq):
        return seq_block([block(p, backward) for p in term.parts])
    if isinstance(term, Par):
        return par_block([block(p, backward) for p in term.parts])
    if isinstance(term, Over):
        return over_block(atom_block(term.top, backward), block(term.body, backward))
    raise TypeError(f"cannot lay out {term!r}")


# -- the whole diagram ----------------------------------------------------------------------


def wire_text(w: Wire) -> Text | None:
    """Where a wire's label goes: right of a parameter wire's top end, or above (forward) or below
    (backward) the start of a horizontal wire."""
    if not w.label:
        return None
    (x0, y0) = w.points[0]
    tw = text_width(w.label)
    if w.kind.startswith("param"):
        return Text(Rect(x0 + 2, y0 - 1 - TEXT_H, tw, TEXT_H), w.label)
    y = y0 + 1 if w.kind == "forward" else y0 - 1 - TEXT_H
    return Text(Rect(x0 + PAD, y, tw, TEXT_H), w.label)


def finish(b: Block, title: str = "") -> Layout:
    """The block with the diagram's own input and output wires, margins and every label placed."""
    left = gap_for(b.ins) if b.ins else PAD
    right = gap_for(b.outs) if b.outs else PAD
    out = Block(left + b.w + right, b.h + 2 * PAD)
    ins, outs, _ = _place(out, b, left, PAD)
    out.wires += [Wire(((0.0, p.y), (left, p.y)), p.label, p.kind) for p in ins]
    out.wires += [Wire(((left + b.w, p.y), (out.w, p.y)), p.label, p.kind) for p in outs]
    texts = [centred_text(x.rect, x.label, i) for i, x in enumerate(out.boxes)]
    texts += [t for t in map(wire_text, out.wires) if t is not None]
    return Layout(out.w, out.h, tuple(out.boxes), tuple(out.wires), tuple(texts), title)


def layout(term, *, backward: bool = False, title: str = "") -> Layout:
    """The geometry of ``term``: boxes, wires (polylines) and labels, in points."""
    return finish(block(term, backward), title)
