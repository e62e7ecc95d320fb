"""A classifier as a streaming circuit: features arrive over a narrow bus, ``lanes`` per cycle.

The all-parallel forms (:func:`~paralens.boolean.hardware.classifier_design`) take every feature at
once: a 784-pixel classifier needs 6,272 input pins.  The stream form takes the features of one sample
in order, ``lanes`` per cycle (features ``j * lanes .. j * lanes + lanes - 1`` in cycle ``j`` of the
sample, the *group* ``j``), and is built of three GF(2) circuits, so that gates are counted one way and
every part is exported by PyRTL:

* ``front`` (the encoder of the stream form): for each lane, the comparators of ONE feature, their
  thresholds selected by the group counter (a ROM as a reduced decision diagram of multiplexers over the
  counter bits, states that never occur and bits the network never reads left free), so the comparator
  hardware is ``lanes x`` one feature's comparators, not every feature's.  A lane's value is made the
  feature's offset-binary integer (its own width masked, the sign bit of a signed feature negated) before
  the comparison, so features of different widths and signs share the bus;
* ``control``: the group counter's next value (it counts ``in_valid`` cycles and wraps after the last
  group), the write enable of each group's registers, and ``done`` (the last group is in);
* ``core``: the learned network and the class head (:func:`~paralens.boolean.classifier.class_head`) on
  the held bits, combinational or pipelined like the parallel form.

:func:`stream_plan` builds them and says where each encoder bit is held;
:func:`paralens.synth.stream.write_stream_verilog` writes the top module and
:func:`paralens.synth.stream.write_stream_testbench` its testbench.  Only the encoder bits the network
reads are held (the others would be registers without a reader, which synthesis removes anyway).
"""

from __future__ import annotations

import numpy as np

from paralens.boolean.classifier import CircuitClassifier, class_head
from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder, Circuit
from paralens.circuits.transform import fold_constants, prune
from paralens.errors import ShapeError
from paralens.synth.stream import StreamPlan


def read_inputs(c: Circuit) -> np.ndarray:
    """The inputs of ``c`` that some output depends on (sorted indices)."""
    p = prune(c)
    used = np.zeros(p.n_inputs, dtype=bool)
    for op in p.ops:
        for a in op.args:
            used[a[a < p.n_inputs]] = True
    out = p.outputs[p.outputs < p.n_inputs]
    used[out] = True
    return np.flatnonzero(used)


# -- a builder of single gates with constants and sharing -------------------------------------------------

class _Logic:
    """Single two-input gates on a :class:`Builder`, simplified where an argument is a constant (Python
    ``True`` / ``False``) or both are the same wire, and each distinct gate made once (structural hashing)."""

    def __init__(self, b: Builder):
        self.b, self.memo, self.roms = b, {}, {}

    def _gate(self, gen, *args):
        key = (gen.name, *args)
        if key not in self.memo:
            self.memo[key] = int(self.b.op(gen, *[np.array([a]) for a in args])[0][0])
        return self.memo[key]

    def not_(self, x):
        return (not x) if type(x) is bool else self._gate(G.NOT, x)

    def and_(self, x, y):
        if type(x) is bool or type(y) is bool:
            c, o = (x, y) if type(x) is bool else (y, x)
            return o if c else False
        return x if x == y else self._gate(G.AND, min(x, y), max(x, y))

    def or_(self, x, y):
        if type(x) is bool or type(y) is bool:
            c, o = (x, y) if type(x) is bool else (y, x)
            return True if c else o
        return x if x == y else self._gate(G.OR, min(x, y), max(x, y))

    def xor_(self, x, y):
        if type(x) is bool or type(y) is bool:
            c, o = (x, y) if type(x) is bool else (y, x)
            return self.not_(o) if c else o
        return False if x == y else self._gate(G.XOR, min(x, y), max(x, y))

    def mux(self, s, lo, hi):
        """``hi if s else lo``."""
        if type(s) is bool:
            return hi if s else lo
        if lo == hi and type(lo) is type(hi):
            return lo
        if type(lo) is bool and type(hi) is bool:
            return s if hi else self.not_(s)
        if type(lo) is bool:
            return self.or_(self.not_(s), hi) if lo else self.and_(s, hi)
        if type(hi) is bool:
            return self.or_(s, lo) if hi else self.and_(self.not_(s), lo)
        return self._gate(G.MUX, s, lo, hi)

    def rom(self, table, sel):
        """The value of ``table[n]`` for the number ``n`` on the wires ``sel`` (LSB first); ``table`` has
        ``2 ** len(sel)`` entries, each 0, 1 or None (free: a state that never occurs or a bit nobody
        reads).  A reduced decision diagram: halves that agree share one node, equal tables one wire."""
        table = tuple(table)
        if table in self.roms:
            return self.roms[table]
        vals = {v for v in table if v is not None}
        if len(vals) <= 1:
            r = bool(vals.pop()) if vals else False
        else:
            half = len(table) // 2
            lo, hi = table[:half], table[half:]
            merged = _merge(lo, hi)
            r = self.rom(merged, sel[:-1]) if merged is not None else \
                self.mux(sel[-1], self.rom(lo, sel[:-1]), self.rom(hi, sel[:-1]))
        self.roms[table] = r
        return r

    def wire(self, x) -> int:
        """The wire of a value (a constant gets its own constant wire, made once)."""
        if type(x) is not bool:
            return x
        key = ("const", int(x))
        if key not in self.memo:
            self.memo[key] = int(self.b.const([int(x)])[0])
        return self.memo[key]

    def build(self, outs, name: str) -> Circuit:
        c = self.b.build(np.array([self.wire(o) for o in outs], dtype=np.int64), name=name)
        return prune(fold_constants(c))


def _merge(lo, hi):
    """``lo`` and ``hi`` as one table when they agree wherever both are given, else None."""
    out = []
    for a, b in zip(lo, hi):
        if a is not None and b is not None and a != b:
            return None
        out.append(a if a is not None else b)
    return tuple(out)


# -- the plan ------------------------------------------------------------------------------------------

def check_lanes(lanes, n_features: int) -> int:
    if isinstance(lanes, bool) or not isinstance(lanes, int | np.integer) or not 1 <= int(lanes) <= n_features:
        raise ShapeError(f"lanes is the number of features per cycle, an integer in 1 .. {n_features} (the "
                         f"classifier's features), not {lanes!r}")
    return int(lanes)


def stream_plan(clf: CircuitClassifier, lanes: int = 1) -> StreamPlan:
    """The three circuits and the register map of ``clf``'s stream form with ``lanes`` features per cycle."""
    n = clf.n_features
    lanes = check_lanes(lanes, n)
    feats = clf.inputs.features
    tests = clf.encoder.bit_tests()
    if not tests:
        raise ShapeError(f"{clf.name}: its encoder gives no bits, so there is nothing to stream")
    rank, per_feature = [], [0] * n
    for f, _, _ in tests:
        rank.append(per_feature[f])
        per_feature[f] += 1
    slots = max(per_feature)
    width = max(f.width for f in feats)
    groups = -(-n // lanes)
    cw = (groups - 1).bit_length()
    used = set(read_inputs(clf.circuit).tolist())
    # entry[(k, s)][j]: the comparison of lane k's slot s in group j (None: free)
    entry = {(k, s): [None] * (1 << cw) for k in range(lanes) for s in range(slots)}
    for bit, (f, op, t) in enumerate(tests):
        if bit in used:
            entry[(f % lanes, rank[bit])][f // lanes] = _comparison(feats[f], op, int(t))
    held = tuple((bit, f // lanes, (f % lanes) * slots + rank[bit])
                 for bit, (f, _, _) in enumerate(tests) if bit in used)
    front = _front(clf, lanes, slots, width, cw, entry, groups)
    control = _control(clf.circuit.field, groups, cw)
    core = _core(clf)
    return StreamPlan(lanes, width, groups, slots, cw, len(tests), core.n_outputs, held, front, control, core)


def _comparison(fmt, op: str, t: int):
    """``(kind, T)`` of one encoder bit on the feature's offset-binary integer ``u`` (``0 .. 2**w - 1``):
    ``("gt", T)`` for ``u > T``, ``("eq", T)`` for ``u == T``, ``("one", 0)`` / ``("zero", 0)`` for a
    constant, the rules of the parallel form's comparators (``const_greater``, ``const_equal``)."""
    if fmt.signed:
        t += 2 ** (fmt.width - 1)
    top = 2 ** fmt.width
    if op == ">":
        return ("one", 0) if t < 0 else ("zero", 0) if t >= top - 1 else ("gt", t)
    return ("eq", t) if 0 <= t < top else ("zero", 0)


def _front(clf, lanes, slots, width, cw, entry, groups) -> Circuit:
    b = Builder(clf.circuit.field, cw + lanes * width)
    lg = _Logic(b)
    cnt = list(range(cw))
    feats = clf.inputs.features
    outs = []
    for k in range(lanes):
        x = [cw + k * width + i for i in range(width)]
        live = [j for j in range(groups) if any(entry[(k, s)][j] is not None for s in range(slots))]
        mask, flip = [[None] * (1 << cw) for _ in range(width)], [[None] * (1 << cw) for _ in range(width)]
        for j in live:
            fmt = feats[j * lanes + k]
            for i in range(width):
                mask[i][j] = int(i < fmt.width)
                flip[i][j] = int(fmt.signed and i == fmt.width - 1)
        u = [lg.xor_(lg.and_(x[i], lg.rom(mask[i], cnt)), lg.rom(flip[i], cnt)) for i in range(width)]
        for s in range(slots):
            col = entry[(k, s)]
            sel = {kind: lg.rom([None if e is None else int(e[0] == kind) for e in col], cnt)
                   for kind in ("gt", "eq", "one")}
            thr = [lg.rom([None if e is None or e[0] in ("one", "zero") else (e[1] >> i) & 1 for e in col], cnt)
                   for i in range(width)]
            gt, eq = False, True
            for i in range(width):  # from the LSB: u > T, u == T
                gt = lg.mux(thr[i], lg.or_(u[i], gt), lg.and_(u[i], gt))
            if sel["eq"] is not False:
                for i in range(width):
                    eq = lg.and_(eq, lg.not_(lg.xor_(u[i], thr[i])))
            outs.append(lg.or_(lg.or_(lg.and_(sel["gt"], gt), lg.and_(sel["eq"], eq)), sel["one"]))
    return lg.build(outs, f"{clf.name}_encode")


def _control(field, groups: int, cw: int) -> Circuit:
    b = Builder(field, cw + 1)
    lg = _Logic(b)
    cnt, valid = list(range(cw)), cw
    free = [None] * ((1 << cw) - groups)
    last = lg.rom([int(j == groups - 1) for j in range(groups)] + free, cnt)
    inc, carry = [], True
    for c in cnt:
        inc.append(lg.xor_(c, carry))
        carry = lg.and_(c, carry)
    nxt = [lg.mux(valid, c, lg.and_(lg.not_(last), s)) for c, s in zip(cnt, inc)]
    we = [lg.and_(valid, lg.rom([int(i == j) for i in range(groups)] + free, cnt)) for j in range(groups)]
    return lg.build(nxt + [lg.and_(valid, last)] + we, "control")


def _core(clf: CircuitClassifier) -> Circuit:
    n_bits = clf.encoder.n_bits
    b = Builder(clf.circuit.field, n_bits)
    net = b.inline(clf.circuit, [np.array([i]) for i in range(n_bits)])
    idx = class_head(b, clf.decoder, np.array([o[0] for o in net]))
    return prune(fold_constants(b.build(np.concatenate(idx), name=f"{clf.name}_core")))


def stream_words(clf: CircuitClassifier, plan: StreamPlan, X) -> list[int]:
    """One integer per sample of raw features ``X``: feature ``f``'s port integer (two's complement in its
    width) at bits ``f * lane_width ..``, so group ``j`` is bits ``j * bus_width ..`` (what the bus
    carries in the sample's cycle ``j``; lanes past the last feature are 0)."""
    q = clf.integers(X)
    w = plan.lane_width
    masks = [(1 << f.width) - 1 for f in clf.inputs.features]
    words = []
    for row in q.tolist():
        v = 0
        for f, (x, m) in enumerate(zip(row, masks)):
            v |= (int(x) & m) << (f * w)
        words.append(v)
    return words


__all__ = ["check_lanes", "read_inputs", "stream_plan", "stream_words"]
